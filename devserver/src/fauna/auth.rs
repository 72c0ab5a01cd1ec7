//! How Fauna authenticates a request's secret, following the open-sourced
//! server (see PROTOCOLS.md section 6): the root key, or a third-party JWT
//! checked against the access providers of the database its `aud` names.
//! Every failure looks the same to the client (401); the reason is only logged.

use crate::config::{AccessProvider, Config};
use crate::util::now_secs_f64;
use axum::http::HeaderMap;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Fauna dev node's default root secret.
pub const ROOT_SECRET: &str = "secret";
/// Audience prefix naming a database.
pub const AUD_PREFIX: &str = "https://db.fauna.com/db/";
/// How long a fetched JWKS is trusted.
const JWKS_TTL: Duration = Duration::from_secs(3600);
/// Minimum gap between reloads forced by an unknown `kid`.
const JWKS_MIN_RELOAD: Duration = Duration::from_millis(500);

/// Who a request runs as.
#[derive(Debug, Clone)]
pub enum Principal {
    /// The root key; it works in the first configured database.
    Admin {
        database: String,
    },
    Jwt(JwtIdentity),
}

#[derive(Debug, Clone)]
pub struct JwtIdentity {
    /// The verified payload (what `Query.token()` returns).
    pub payload: Json,
    pub sub: Option<String>,
    pub jti: Option<String>,
    /// Roles whose predicates matched.
    pub roles: Vec<String>,
    /// Global id of the database named by `aud`.
    pub database: String,
}

impl Principal {
    pub fn database(&self) -> &str {
        match self {
            Principal::Admin { database } => database,
            Principal::Jwt(id) => &id.database,
        }
    }

    pub fn sub(&self) -> Option<&str> {
        match self {
            Principal::Admin { .. } => None,
            Principal::Jwt(id) => id.sub.as_deref(),
        }
    }
}

/// A refused secret: why (for the request log only), and the unverified
/// `sub`/`jti` when the secret looked like a JWT, so tests can tell tokens apart.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub reason: &'static str,
    pub sub: Option<String>,
    pub jti: Option<String>,
}

impl Rejection {
    fn new(reason: &'static str) -> Self {
        Rejection {
            reason,
            sub: None,
            jti: None,
        }
    }
}

/// Checks secrets against the configuration, fetching JWKS over HTTP.
pub struct Authenticator {
    config: Arc<Config>,
    jwks: JwksCache,
}

impl Authenticator {
    pub fn new(config: Arc<Config>) -> Self {
        Authenticator {
            config,
            jwks: JwksCache::new(),
        }
    }

    /// Authenticates the request's `Authorization` header.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Rejection> {
        let secret = secret_from_headers(headers).ok_or(Rejection::new("missing_secret"))?;
        if is_jwt(&secret) {
            return self.authenticate_jwt(&secret).await;
        }
        if secret == ROOT_SECRET {
            let database = self
                .config
                .fauna
                .databases
                .first()
                .map(|d| d.id.clone())
                .unwrap_or_default();
            return Ok(Principal::Admin { database });
        }
        Err(Rejection::new("invalid_secret"))
    }

    async fn authenticate_jwt(&self, token: &str) -> Result<Principal, Rejection> {
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| Rejection::new("malformed_token"))?;
        let payload = unverified_payload(token).ok_or(Rejection::new("malformed_token"))?;
        let sub = payload.get("sub").and_then(Json::as_str).map(str::to_owned);
        let jti = payload.get("jti").and_then(Json::as_str).map(str::to_owned);
        let reject = |reason| Rejection {
            reason,
            sub: sub.clone(),
            jti: jti.clone(),
        };

        if !matches!(
            header.alg,
            Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
        ) {
            return Err(reject("unsupported_alg"));
        }
        let db_id = database_from_aud(&payload).map_err(reject)?;
        let database = self
            .config
            .database_by_id(&db_id)
            .ok_or_else(|| reject("unknown_database"))?;
        let iss = payload
            .get("iss")
            .and_then(Json::as_str)
            .ok_or_else(|| reject("bad_iss"))?;
        // The issuer must match exactly: no trailing-slash or case normalisation.
        let provider = self
            .config
            .fauna
            .access_providers
            .iter()
            .find(|p| p.database == database.name && p.issuer == iss)
            .ok_or_else(|| reject("bad_iss"))?;

        let key = self
            .jwks
            .key_for(&provider.jwks_uri, header.kid.as_deref())
            .await
            .map_err(reject)?;
        let decoding =
            DecodingKey::from_rsa_components(&key.n, &key.e).map_err(|_| reject("bad_jwks_key"))?;
        let mut validation = Validation::new(header.alg);
        // Time claims and audience are checked below, with Fauna's exact rules.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::new();
        validation.leeway = 0;
        jsonwebtoken::decode::<Json>(token, &decoding, &validation)
            .map_err(|_| reject("bad_signature"))?;

        check_times(&payload, now_secs_f64()).map_err(reject)?;
        let roles = matching_roles(provider, &payload);
        if roles.is_empty() {
            return Err(reject("no_role"));
        }
        Ok(Principal::Jwt(JwtIdentity {
            payload,
            sub,
            jti,
            roles,
            database: db_id,
        }))
    }
}

/// The secret from `Authorization: Bearer <secret>` or Basic `<secret>:`.
fn secret_from_headers(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned()).filter(|s| !s.is_empty());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let user = text.split(':').next().unwrap_or_default();
        return Some(user.to_owned()).filter(|s| !s.is_empty());
    }
    None
}

/// Fauna's rule: a secret starting with `ey` and containing `.` is a JWT.
pub fn is_jwt(secret: &str) -> bool {
    secret.starts_with("ey") && secret.contains('.')
}

fn unverified_payload(token: &str) -> Option<Json> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    let payload: Json = serde_json::from_slice(&bytes).ok()?;
    payload.is_object().then_some(payload)
}

/// `aud` (string or array) must hold exactly one `https://db.fauna.com/db/<id>` value.
fn database_from_aud(payload: &Json) -> Result<String, &'static str> {
    let auds: Vec<&str> = match payload.get("aud") {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_str).collect(),
        _ => return Err("bad_aud"),
    };
    let mut dbs = auds.iter().filter_map(|a| a.strip_prefix(AUD_PREFIX));
    match (dbs.next(), dbs.next()) {
        (Some(id), None) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err("bad_aud"),
    }
}

/// `exp` refused when now >= exp (no leeway); `nbf` refused when now <= nbf; `iat` unchecked.
fn check_times(payload: &Json, now: f64) -> Result<(), &'static str> {
    if let Some(exp) = payload.get("exp") {
        let exp = exp.as_f64().ok_or("malformed_token")?;
        if now >= exp {
            return Err("expired");
        }
    }
    if let Some(nbf) = payload.get("nbf") {
        let nbf = nbf.as_f64().ok_or("malformed_token")?;
        if now <= nbf {
            return Err("not_yet_valid");
        }
    }
    Ok(())
}

fn matching_roles(provider: &AccessProvider, payload: &Json) -> Vec<String> {
    provider
        .roles
        .iter()
        .filter(|r| r.predicate.as_ref().is_none_or(|p| p.matches(payload)))
        .map(|r| r.role.clone())
        .collect()
}

/// An RSA public key from a JWKS.
#[derive(Debug, Clone)]
pub struct RsaJwk {
    pub kid: Option<String>,
    pub n: String,
    pub e: String,
}

struct CachedJwks {
    keys: Vec<RsaJwk>,
    fetched_at: Instant,
}

/// JWKS per URI: cached an hour; an unknown `kid` forces a reload at most every 500 ms.
pub struct JwksCache {
    client: reqwest::Client,
    entries: tokio::sync::Mutex<HashMap<String, CachedJwks>>,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new()
    }
}

impl JwksCache {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        JwksCache {
            client,
            entries: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The key for `kid` from the JWKS at `uri`.
    pub async fn key_for(&self, uri: &str, kid: Option<&str>) -> Result<RsaJwk, &'static str> {
        if !uri_allowed(uri) {
            return Err("jwks_uri_not_allowed");
        }
        // One lock for all URIs: concurrent first requests share one fetch.
        let mut entries = self.entries.lock().await;
        let stale = entries
            .get(uri)
            .is_none_or(|e| e.fetched_at.elapsed() >= JWKS_TTL);
        if stale {
            let keys = self.fetch(uri).await?;
            entries.insert(
                uri.to_owned(),
                CachedJwks {
                    keys,
                    fetched_at: Instant::now(),
                },
            );
        }
        let Some(entry) = entries.get(uri) else {
            return Err("jwks_unavailable");
        };
        match select_key(&entry.keys, kid) {
            Selection::Found(key) => Ok(key),
            Selection::NoMatch
                if kid.is_some() && entry.fetched_at.elapsed() >= JWKS_MIN_RELOAD =>
            {
                let keys = self.fetch(uri).await?;
                let selected = select_key(&keys, kid);
                entries.insert(
                    uri.to_owned(),
                    CachedJwks {
                        keys,
                        fetched_at: Instant::now(),
                    },
                );
                match selected {
                    Selection::Found(key) => Ok(key),
                    _ => Err("unknown_kid"),
                }
            }
            Selection::NoMatch if kid.is_some() => Err("unknown_kid"),
            Selection::NoMatch => Err("missing_kid"),
        }
    }

    async fn fetch(&self, uri: &str) -> Result<Vec<RsaJwk>, &'static str> {
        let response = self
            .client
            .get(uri)
            .send()
            .await
            .map_err(|_| "jwks_unavailable")?;
        if !response.status().is_success() {
            return Err("jwks_unavailable");
        }
        let body: Json = response.json().await.map_err(|_| "jwks_invalid")?;
        Ok(parse_jwks(&body))
    }
}

/// `jwks_uri` must be https; plain http is allowed only on loopback, for this devserver.
fn uri_allowed(uri: &str) -> bool {
    if uri.starts_with("https://") {
        return true;
    }
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host)
            .is_some_and(|after| after.is_empty() || after.starts_with([':', '/']))
    })
}

/// RSA keys of a JWKS document; other key types are ignored.
pub fn parse_jwks(body: &Json) -> Vec<RsaJwk> {
    let Some(keys) = body.get("keys").and_then(Json::as_array) else {
        return Vec::new();
    };
    keys.iter()
        .filter(|k| k.get("kty").and_then(Json::as_str) == Some("RSA"))
        .filter_map(|k| {
            Some(RsaJwk {
                kid: k.get("kid").and_then(Json::as_str).map(str::to_owned),
                n: k.get("n")?.as_str()?.to_owned(),
                e: k.get("e")?.as_str()?.to_owned(),
            })
        })
        .collect()
}

enum Selection {
    Found(RsaJwk),
    NoMatch,
}

/// One key and no `kid`: use it. Otherwise the `kid` must match.
fn select_key(keys: &[RsaJwk], kid: Option<&str>) -> Selection {
    match kid {
        None if keys.len() == 1 => Selection::Found(keys[0].clone()),
        None => Selection::NoMatch,
        Some(kid) => match keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
            Some(key) => Selection::Found(key.clone()),
            None => Selection::NoMatch,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jwt_shape_rule() {
        assert!(is_jwt("eyJ.a.b"));
        assert!(!is_jwt("fnAEsecret.x"));
        assert!(!is_jwt("secret"));
        assert!(!is_jwt("eyJabc"));
    }

    #[test]
    fn audience_rules() {
        let db = |aud: Json| database_from_aud(&json!({ "aud": aud }));
        assert_eq!(db(json!("https://db.fauna.com/db/abc")), Ok("abc".into()));
        assert_eq!(
            db(json!(["x", "https://db.fauna.com/db/abc"])),
            Ok("abc".into())
        );
        assert!(db(json!([
            "https://db.fauna.com/db/a",
            "https://db.fauna.com/db/b"
        ]))
        .is_err());
        assert!(db(json!("https://db.fauna.com/db/")).is_err());
        assert!(db(json!(7)).is_err());
        assert!(database_from_aud(&json!({})).is_err());
    }

    #[test]
    fn time_rules_have_no_leeway() {
        assert_eq!(check_times(&json!({"exp": 100}), 100.0), Err("expired"));
        assert_eq!(check_times(&json!({"exp": 100}), 99.9), Ok(()));
        assert_eq!(
            check_times(&json!({"nbf": 100}), 100.0),
            Err("not_yet_valid")
        );
        assert_eq!(check_times(&json!({"nbf": 100}), 100.1), Ok(()));
        assert_eq!(check_times(&json!({"iat": 1e12}), 5.0), Ok(()));
        assert_eq!(
            check_times(&json!({"exp": "soon"}), 5.0),
            Err("malformed_token")
        );
    }

    #[test]
    fn jwks_parsing_ignores_non_rsa_and_selects_by_kid() {
        let keys = parse_jwks(&json!({"keys": [
            {"kty": "EC", "kid": "ec", "x": "", "y": ""},
            {"kty": "RSA", "kid": "a", "n": "n1", "e": "AQAB"},
        ]}));
        assert_eq!(keys.len(), 1);
        assert!(matches!(select_key(&keys, None), Selection::Found(_)));
        assert!(matches!(select_key(&keys, Some("a")), Selection::Found(_)));
        assert!(matches!(select_key(&keys, Some("b")), Selection::NoMatch));
        let two = [
            keys[0].clone(),
            RsaJwk {
                kid: Some("b".into()),
                n: "n2".into(),
                e: "AQAB".into(),
            },
        ];
        assert!(matches!(select_key(&two, None), Selection::NoMatch));
    }

    #[test]
    fn jwks_uri_must_be_https_or_loopback() {
        assert!(uri_allowed(
            "https://clerk.example.com/.well-known/jwks.json"
        ));
        assert!(uri_allowed("http://127.0.0.1:8444/.well-known/jwks.json"));
        assert!(uri_allowed("http://localhost/x"));
        assert!(!uri_allowed("http://127.0.0.1.evil.example/x"));
        assert!(!uri_allowed("http://example.com/x"));
    }

    #[test]
    fn secrets_come_from_bearer_or_basic() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer secret".parse().unwrap());
        assert_eq!(secret_from_headers(&h).as_deref(), Some("secret"));
        h.insert("authorization", "Basic c2VjcmV0Og==".parse().unwrap());
        assert_eq!(secret_from_headers(&h).as_deref(), Some("secret"));
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(secret_from_headers(&h), None);
    }
}
