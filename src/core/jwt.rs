//! Reading a JWT's header and payload, without verifying its signature (that
//! is Fauna's job; the cache only needs the claims that say how long the token
//! lives and whose it is).
//!
//! Parsing the JSON itself (UTF-8 included) is left to the platform:
//! `JSON.parse` in the browser (a JSON parser compiled into the module would
//! double its size), serde_json in native tests. This module decides
//! everything else: the segments, base64url, which claims must have which
//! types.

use super::base64url;
use super::error::{Error, ErrorCode};
use super::text::split_at_byte;

/// A JSON member's value, as far as claims need to tell.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Number(f64),
    String(String),
    /// An array whose items are all strings.
    Strings(Vec<String>),
    /// Anything else (null, boolean, object, a mixed array).
    Other,
}

/// Parses `json` (UTF-8 bytes) as a JSON object and returns its members
/// `names`, in order (`None` for an absent one); `None` when `json` is not
/// a UTF-8 JSON object.
pub type ReadJsonObject = fn(json: &[u8], names: &[&str]) -> Option<Vec<Option<Json>>>;

/// The longest token accepted, in bytes: HTTP servers cap a request's
/// headers at 8 to 16 KB, and `Authorization: Bearer ` comes on top.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The largest time claim accepted: the largest integer a JS number holds
/// exactly (Fauna reads them as 64-bit longs).
pub const MAX_NUMERIC_DATE: f64 = 9_007_199_254_740_991.0;

/// The claims the cache and the error hints look at. Times are JWT
/// NumericDates: whole seconds since the epoch, from 0 to
/// [`MAX_NUMERIC_DATE`]. Fauna ignores a time claim that is anything else (a
/// fraction, a string, `null`), so [`decode`] refuses such a token: one
/// Fauna never expires is no token to cache. [`decode_as_fauna`] reads it
/// as Fauna does, for `diagnose` to say so.
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

/// A decoded token: both JSON segments as UTF-8 bytes (handed to JS to
/// parse) and the claims read from them.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    pub header_json: Vec<u8>,
    pub payload_json: Vec<u8>,
    pub claims: Claims,
    /// The first time claim present but not a whole number of seconds
    /// (left out of `claims`, as Fauna ignores it).
    pub ignored_time_claim: Option<&'static str>,
}

/// Decodes `token` as a compact JWS (`header.payload.signature`). The error
/// message names what is wrong but never repeats the token.
pub fn decode(token: &str, read: ReadJsonObject) -> Result<DecodedJwt, Error> {
    let decoded = decode_as_fauna(token, read)?;
    match decoded.ignored_time_claim {
        Some(name) => Err(malformed(
            &["its `", name, "` claim is not a whole number of seconds"].concat(),
        )),
        None => Ok(decoded),
    }
}

/// [`decode`], but with time claims read as Fauna reads them: one that is
/// not a whole number of seconds is ignored (and named in
/// `ignored_time_claim`).
pub fn decode_as_fauna(token: &str, read: ReadJsonObject) -> Result<DecodedJwt, Error> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(malformed("it is longer than 8 KiB"));
    }
    let three = split_at_byte(token, b'.')
        .and_then(|(header, rest)| Some((header, split_at_byte(rest, b'.')?)));
    let Some((header, (payload, signature))) = three else {
        return Err(malformed("it does not have three dot-separated segments"));
    };
    // The signature is not decoded, but it goes into a header: only base64url
    // characters may pass (no CR/LF smuggled into `Authorization`, and no
    // fourth segment).
    let base64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=';
    if !signature.bytes().all(base64url) {
        return Err(malformed("its signature is not base64url"));
    }
    // Both segments decoded and read before either may fail, so what was
    // built is dropped on one path; the first failure in this order is told.
    let header_json = base64url::decode(header);
    let payload_json = base64url::decode(payload);
    let header_members = header_json.as_deref().and_then(|j| read(j, &["alg"]));
    let payload_members = payload_json
        .as_deref()
        // Asked last to first, so that `pop` takes them first to last.
        .and_then(|j| read(j, &["aud", "iss", "sub", "nbf", "iat", "exp"]));
    let why = match (&header_json, &payload_json, &header_members) {
        (None, _, _) => "its header is not base64url",
        (_, None, _) => "its payload is not base64url",
        (_, _, None) => "its header is not a JSON object",
        _ => "its payload is not a JSON object",
    };
    let (
        Some(header_json),
        Some(payload_json),
        Some(mut header_members),
        Some(mut payload_members),
    ) = (header_json, payload_json, header_members, payload_members)
    else {
        return Err(malformed(why));
    };
    let mut next = || payload_members.pop().flatten();
    let mut ignored_time_claim = None;
    let mut time = |value: Option<Json>, name: &'static str| match value {
        Some(Json::Number(n)) if (0.0..=MAX_NUMERIC_DATE).contains(&n) && n.fract() == 0.0 => {
            Some(n)
        }
        None => None,
        Some(_) => {
            ignored_time_claim = ignored_time_claim.or(Some(name));
            None
        }
    };
    let (exp, iat, nbf) = (
        time(next(), "exp"),
        time(next(), "iat"),
        time(next(), "nbf"),
    );
    // The first claim of the wrong type, in this order, fails the token;
    // noted rather than returned at once, so the values read so far are
    // dropped on one path, not on one per claim.
    let mut wrong = None;
    let sub = string_claim(next(), "sub", &mut wrong);
    let iss = string_claim(next(), "iss", &mut wrong);
    let aud = match next() {
        None => Vec::new(),
        Some(Json::String(s)) => vec![s],
        Some(Json::Strings(items)) => items,
        Some(_) => {
            wrong = wrong.or(Some("aud"));
            Vec::new()
        }
    };
    let alg = string_claim(header_members.pop().flatten(), "alg", &mut wrong);
    match wrong {
        Some("aud") => Err(malformed(
            "its `aud` claim is not a string or an array of strings",
        )),
        Some(name) => Err(malformed(
            &["its `", name, "` claim is not a string"].concat(),
        )),
        None => Ok(DecodedJwt {
            header_json,
            payload_json,
            claims: Claims {
                exp,
                iat,
                nbf,
                sub,
                iss,
                aud,
                alg,
            },
            ignored_time_claim,
        }),
    }
}

fn malformed(why: &str) -> Error {
    Error::new(
        ErrorCode::MalformedToken,
        ["The token is not a valid JWT: ", why, "."].concat(),
    )
}

/// A string claim's value; else `None`, and its name noted in `wrong`
/// unless an earlier claim was.
fn string_claim(
    value: Option<Json>,
    name: &'static str,
    wrong: &mut Option<&'static str>,
) -> Option<String> {
    match value {
        Some(Json::String(s)) => Some(s),
        None => None,
        Some(_) => {
            *wrong = wrong.or(Some(name));
            None
        }
    }
}

/// A [`ReadJsonObject`] on serde_json, for native code: the unit tests and
/// the fuzz targets (feature `serde-json-reader`). The browser's reader is
/// `JSON.parse` (glue), held to the same cases by the browser tests.
#[cfg(any(test, feature = "serde-json-reader"))]
pub mod serde_reader {
    use super::Json;
    use serde_json::Value;

    pub fn read(json: &[u8], names: &[&str]) -> Option<Vec<Option<Json>>> {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(json) else {
            return None;
        };
        let json = |v: &Value| match v {
            Value::Number(n) => n.as_f64().map_or(Json::Other, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map_or(Json::Other, Json::Strings),
            _ => Json::Other,
        };
        Some(names.iter().map(|n| map.get(*n).map(json)).collect())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    pub(crate) use super::serde_reader::read as serde_reader;
    use super::*;
    use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine;

    fn decode(token: &str) -> Result<DecodedJwt, Error> {
        super::decode(token, serde_reader)
    }

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
        assert_eq!(d.header_json, HEADER.as_bytes());
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
            assert_eq!(decode(&unpadded).unwrap().payload_json, payload.as_bytes());
            assert_eq!(decode(&padded).unwrap().payload_json, payload.as_bytes());
        }
    }

    #[test]
    fn keeps_unicode() {
        let t = token(
            HEADER,
            r#"{"sub":"user_ünï😀","exp":1700000060,"aud":["a","b"]}"#,
        );
        let d = decode(&t).unwrap();
        assert_eq!(d.claims.sub.as_deref(), Some("user_ünï😀"));
        assert_eq!(d.claims.exp, Some(1_700_000_060.0));
        assert_eq!(d.claims.aud, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(d.claims.iat, None);
    }

    #[test]
    fn time_claims_must_be_whole_seconds_in_range() {
        for claim in ["exp", "iat", "nbf"] {
            for bad in [
                "1700000060.5",
                "-1",
                "9007199254740992",
                "1e300",
                "\"1700000060\"",
                "null",
                "true",
            ] {
                let t = token(HEADER, &format!(r#"{{"{claim}":{bad}}}"#));
                let err = decode(&t).unwrap_err();
                assert_eq!(err.code, ErrorCode::MalformedToken, "{claim}: {bad}");
                assert!(err.message.contains(claim), "{}", err.message);
            }
            for good in ["0", "1700000060", "9007199254740991", "1.7e9"] {
                let t = token(HEADER, &format!(r#"{{"{claim}":{good}}}"#));
                assert!(decode(&t).is_ok(), "{claim}: {good}");
            }
        }
    }

    #[test]
    fn as_fauna_a_time_claim_that_is_not_whole_seconds_is_ignored() {
        let t = token(
            HEADER,
            r#"{"exp":1700000060.5,"nbf":"soon","iat":1700000000}"#,
        );
        let d = decode_as_fauna(&t, serde_reader).unwrap();
        assert_eq!((d.claims.exp, d.claims.nbf), (None, None));
        assert_eq!(d.claims.iat, Some(1_700_000_000.0));
        assert_eq!(d.ignored_time_claim, Some("exp"));
        assert_eq!(decode(&t).unwrap_err().code, ErrorCode::MalformedToken);
    }

    #[test]
    fn a_token_over_8_kib_is_malformed() {
        let fits = token(HEADER, &format!(r#"{{"pad":"{}"}}"#, "x".repeat(6000)));
        assert!(fits.len() <= MAX_TOKEN_BYTES && decode(&fits).is_ok());
        let long = token(HEADER, &format!(r#"{{"pad":"{}"}}"#, "x".repeat(6200)));
        assert!(long.len() > MAX_TOKEN_BYTES);
        let err = decode(&long).unwrap_err();
        assert_eq!(err.code, ErrorCode::MalformedToken);
        assert!(err.message.contains("8 KiB"));
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
            token(HEADER, "\u{feff}{}"),
            token(HEADER, r#"{"exp":"1700000060"}"#),
            token(HEADER, r#"{"iat":null}"#),
            token(HEADER, r#"{"sub":42}"#),
            token(HEADER, r#"{"aud":[1]}"#),
            token(HEADER, r#"{"aud":{}}"#),
            token(r#"{"alg":5}"#, "{}"),
            format!(
                "{}.{}.sig\r\nX-Injected: 1",
                URL_SAFE_NO_PAD.encode(HEADER),
                URL_SAFE_NO_PAD.encode("{}")
            ),
            format!(
                "{}.{}.s ig",
                URL_SAFE_NO_PAD.encode(HEADER),
                URL_SAFE_NO_PAD.encode("{}")
            ),
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
