//! Reading a JWT's header and payload, without verifying its signature (that
//! is Fauna's job; the cache only needs the claims that say how long the token
//! lives and whose it is).

use base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT;
use base64::Engine;
use serde_json::{Map, Value};

use super::error::{Error, ErrorCode};

/// The claims the cache and the error hints look at. Times are JWT
/// NumericDates: seconds since the epoch, possibly fractional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    pub exp: Option<f64>,
    pub iat: Option<f64>,
    pub nbf: Option<f64>,
    pub sub: Option<String>,
    pub iss: Option<String>,
    /// `aud` as a list, whether the token carried a string or an array.
    pub aud: Vec<String>,
    /// The header's `alg`.
    pub alg: Option<String>,
}

/// A decoded token: both JSON segments as text (handed to JS as they are) and
/// the claims read from them.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    pub header_json: String,
    pub payload_json: String,
    pub claims: Claims,
}

/// Decodes `token` as a compact JWS (`header.payload.signature`). The error
/// message names what is wrong but never repeats the token.
pub fn decode(token: &str) -> Result<DecodedJwt, Error> {
    let mut segments = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed("it does not have three dot-separated segments"));
    };
    let (header_json, header) = json_object_segment(header, "header")?;
    let (payload_json, payload) = json_object_segment(payload, "payload")?;
    let claims = Claims {
        exp: number_claim(&payload, "exp")?,
        iat: number_claim(&payload, "iat")?,
        nbf: number_claim(&payload, "nbf")?,
        sub: string_claim(&payload, "sub")?,
        iss: string_claim(&payload, "iss")?,
        aud: audience(&payload)?,
        alg: string_claim(&header, "alg")?,
    };
    Ok(DecodedJwt {
        header_json,
        payload_json,
        claims,
    })
}

fn malformed(why: &str) -> Error {
    Error::new(
        ErrorCode::MalformedToken,
        format!("The token is not a valid JWT: {why}."),
    )
}

fn json_object_segment(segment: &str, name: &str) -> Result<(String, Map<String, Value>), Error> {
    let bytes = URL_SAFE_NO_PAD_INDIFFERENT
        .decode(segment)
        .map_err(|_| malformed(&format!("its {name} is not base64url")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| malformed(&format!("its {name} is not UTF-8")))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => Ok((text, map)),
        _ => Err(malformed(&format!("its {name} is not a JSON object"))),
    }
}

fn number_claim(payload: &Map<String, Value>, name: &str) -> Result<Option<f64>, Error> {
    match payload.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(malformed(&format!("its `{name}` claim is not a number"))),
    }
}

fn string_claim(object: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(&format!("its `{name}` claim is not a string"))),
    }
}

fn audience(payload: &Map<String, Value>) -> Result<Vec<String>, Error> {
    let not_strings = || malformed("its `aud` claim is not a string or an array of strings");
    match payload.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(not_strings))
            .collect(),
        Some(_) => Err(not_strings()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};

    /// Builds an unsigned-but-well-formed token from JSON texts (test helper,
    /// also used by the other core modules' tests).
    pub(crate) fn token(header: &str, payload: &str) -> String {
        format!(
            "{}.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    const HEADER: &str = r#"{"alg":"RS256","kid":"ins_1","typ":"JWT"}"#;

    #[test]
    fn reads_clerk_default_claims() {
        let t = token(
            HEADER,
            r#"{"azp":"http://localhost:5173","exp":1700000060,"iat":1700000000,"iss":"https://clerk.example.com","jti":"abc","nbf":1699999995,"sub":"user_2abc","aud":"https://db.fauna.com/db/ywx"}"#,
        );
        let d = decode(&t).unwrap();
        assert_eq!(d.claims.exp, Some(1_700_000_060.0));
        assert_eq!(d.claims.iat, Some(1_700_000_000.0));
        assert_eq!(d.claims.nbf, Some(1_699_999_995.0));
        assert_eq!(d.claims.sub.as_deref(), Some("user_2abc"));
        assert_eq!(d.claims.iss.as_deref(), Some("https://clerk.example.com"));
        assert_eq!(
            d.claims.aud,
            vec!["https://db.fauna.com/db/ywx".to_string()]
        );
        assert_eq!(d.claims.alg.as_deref(), Some("RS256"));
        assert_eq!(d.header_json, HEADER);
    }

    #[test]
    fn accepts_padded_and_unpadded_segments() {
        // Payload lengths 1, 2 and 3 mod 3 exercise every padding length.
        for payload in [r#"{"a":1}"#, r#"{"ab":1}"#, r#"{"abc":1}"#] {
            let unpadded = token(HEADER, payload);
            let padded = format!(
                "{}.{}.sig",
                URL_SAFE.encode(HEADER),
                URL_SAFE.encode(payload)
            );
            assert_eq!(decode(&unpadded).unwrap().payload_json, payload);
            assert_eq!(decode(&padded).unwrap().payload_json, payload);
        }
    }

    #[test]
    fn keeps_unicode_and_fractional_times() {
        let t = token(
            HEADER,
            r#"{"sub":"user_ünï😀","exp":1700000060.5,"aud":["a","b"]}"#,
        );
        let d = decode(&t).unwrap();
        assert_eq!(d.claims.sub.as_deref(), Some("user_ünï😀"));
        assert_eq!(d.claims.exp, Some(1_700_000_060.5));
        assert_eq!(d.claims.aud, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(d.claims.iat, None);
    }

    #[test]
    fn rejects_garbage_with_malformed_token_and_never_echoes_it() {
        let cases = [
            String::new(),
            "not a jwt".into(),
            "a.b".into(),
            "a.b.c.d".into(),
            "!!!.e30.sig".into(),
            token("[1,2]", "{}"),
            token(HEADER, "null"),
            token(HEADER, "\"text\""),
            token(HEADER, "{"),
            format!(
                "{}.{}.sig",
                URL_SAFE_NO_PAD.encode(HEADER),
                URL_SAFE_NO_PAD.encode([0xff, 0xfe])
            ),
            token(HEADER, r#"{"exp":"1700000060"}"#),
            token(HEADER, r#"{"iat":null}"#),
            token(HEADER, r#"{"sub":42}"#),
            token(HEADER, r#"{"aud":[1]}"#),
            token(HEADER, r#"{"aud":{}}"#),
            token(r#"{"alg":5}"#, "{}"),
        ];
        for t in cases {
            let err = decode(&t).unwrap_err();
            assert_eq!(err.code, ErrorCode::MalformedToken, "{t}");
            if !t.is_empty() {
                assert!(!err.message.contains(&t), "message repeats the token");
            }
        }
    }

    #[test]
    fn empty_signature_segment_is_still_three_segments() {
        // Unsigned JWTs (`alg: none`) end with a dot; decoding is not verifying.
        let t = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert!(decode(&t).is_ok());
    }
}
