//! DEV-ONLY signing keys committed in `devserver/keys/` (see its README).
//! Committed rather than generated because RSA key generation is very slow
//! in debug builds, and tests need stable keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::EncodingKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value as Json};

/// PEM of the first Clerk signing key (kid `dev-1`).
pub const CLERK_DEV_1_PEM: &str = include_str!("../keys/clerk-dev-1.pem");
/// PEM of the second Clerk signing key (kid `dev-2`), published on rotation.
pub const CLERK_DEV_2_PEM: &str = include_str!("../keys/clerk-dev-2.pem");
/// PEM of a P-256 key, used only to mint ES256 tokens that Fauna must refuse.
pub const ES256_TEST_PEM: &str = include_str!("../keys/es256-test.pem");

/// An RSA key pair the Clerk stand-in signs with, plus its public JWK numbers.
#[derive(Clone)]
pub struct RsaSigningKey {
    pub kid: String,
    pub encoding: EncodingKey,
    /// Base64url modulus and exponent, as published in the JWKS.
    pub n: String,
    pub e: String,
}

impl RsaSigningKey {
    /// Loads a PKCS#8 PEM private key.
    pub fn from_pem(kid: &str, pem: &str) -> Result<Self, String> {
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())?;
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        Ok(RsaSigningKey {
            kid: kid.to_owned(),
            encoding,
            n: URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        })
    }

    /// The public key as a JWK, shaped like Clerk's.
    pub fn jwk(&self) -> Json {
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": self.n,
            "e": self.e,
        })
    }
}

/// The two committed Clerk keys, `dev-1` then `dev-2`.
pub fn clerk_keys() -> Result<Vec<RsaSigningKey>, String> {
    Ok(vec![
        RsaSigningKey::from_pem("dev-1", CLERK_DEV_1_PEM)?,
        RsaSigningKey::from_pem("dev-2", CLERK_DEV_2_PEM)?,
    ])
}

/// The committed ES256 test key.
pub fn es256_key() -> Result<EncodingKey, String> {
    EncodingKey::from_ec_pem(ES256_TEST_PEM.as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_keys_load() {
        let keys = clerk_keys().unwrap();
        assert_eq!(keys[0].jwk()["kid"], "dev-1");
        assert_eq!(keys[0].e, "AQAB");
        assert_ne!(keys[0].n, keys[1].n);
        assert!(es256_key().is_ok());
    }
}
