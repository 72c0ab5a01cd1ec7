//! Tokens of every shape, signed with the stand-in's own Clerk key or not,
//! against the Fauna stand-in's JWT checks. Never a panic, and a token is
//! accepted only if it follows Fauna's rules (PROTOCOLS.md section 6),
//! restated here independently: RS256/384/512, the provider's exact issuer,
//! exactly one `https://db.fauna.com/db/` audience naming the demo database,
//! `exp` after now and `nbf` before it, and a `sub` the role accepts.
#![no_main]

use std::sync::{Arc, OnceLock};

use arbitrary::Arbitrary;
use axum::http::{HeaderMap, HeaderValue};
use clerk_fauna_devserver::config::{Config, DEMO_CONFIG};
use clerk_fauna_devserver::fauna::auth::Authenticator;
use clerk_fauna_devserver::keys::clerk_keys;
use jsonwebtoken::{encode, Algorithm, Header};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

struct World {
    runtime: tokio::runtime::Runtime,
    auth: Authenticator,
    issuer: String,
    database: String,
    keys: Vec<clerk_fauna_devserver::keys::RsaSigningKey>,
}

/// The stand-ins started once, on ephemeral loopback ports (the JWKS is
/// fetched from the real Clerk stand-in).
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().expect("tokio");
        let servers = runtime
            .block_on(clerk_fauna_devserver::start_demo())
            .expect("stand-ins start");
        let issuer = servers.clerk_origin();
        let config = Arc::new(Config::load(DEMO_CONFIG, &issuer).expect("demo config"));
        let database = config.fauna.databases[0].id.clone();
        let keys = clerk_keys().expect("dev keys");
        World {
            runtime,
            auth: Authenticator::new(config),
            issuer,
            database,
            keys,
        }
    })
}

#[derive(Arbitrary, Debug)]
struct Input {
    alg: u8,
    kid: u8,
    iss: u8,
    aud_count: u8,
    aud_kinds: [u8; 3],
    aud_as_string: bool,
    exp: Option<i16>,
    nbf: Option<i16>,
    sub: u8,
    /// 255: send `raw_text` as the token instead.
    raw: u8,
    raw_text: String,
}

fuzz_target!(|input: Input| {
    let w = world();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let issuer = match input.iss % 4 {
        0 | 1 => w.issuer.clone(),
        2 => format!("{}/", w.issuer),
        _ => "https://clerk.other.example".to_owned(),
    };
    let fauna_aud = |i: u8| match i % 4 {
        0 | 1 => format!("https://db.fauna.com/db/{}", w.database),
        2 => "https://db.fauna.com/db/yotherdbyyyy1".to_owned(),
        _ => "https://example.com/not-fauna".to_owned(),
    };
    let auds: Vec<String> = input.aud_kinds[..usize::from(input.aud_count % 4)]
        .iter()
        .map(|&i| fauna_aud(i))
        .collect();
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(issuer));
    if input.aud_as_string && auds.len() == 1 {
        payload.insert("aud".into(), json!(auds[0]));
    } else if !auds.is_empty() {
        payload.insert("aud".into(), json!(auds));
    }
    // Times at least 2 s from now, so the check and this oracle agree.
    let offset = |d: i16| now + i64::from(d) + if d >= 0 { 2 } else { -2 };
    if let Some(d) = input.exp {
        payload.insert("exp".into(), json!(offset(d)));
    }
    if let Some(d) = input.nbf {
        payload.insert("nbf".into(), json!(offset(d)));
    }
    let sub = if input.sub % 3 == 0 {
        "bot_1"
    } else {
        "user_2aLiCeQk7mXv9pR3sT5wY8zB1cD"
    };
    payload.insert("sub".into(), json!(sub));

    let keys = &w.keys;
    let alg = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::HS256,
    ][usize::from(input.alg % 4)];
    let mut header = Header::new(alg);
    header.kid = match input.kid % 3 {
        0 => Some(keys[0].kid.clone()),
        1 => Some("nope".into()),
        _ => None,
    };
    let raw = (input.raw == 255).then_some(&input.raw_text);
    let token = match raw {
        Some(raw) => raw.clone(),
        None if alg == Algorithm::HS256 => {
            let secret = jsonwebtoken::EncodingKey::from_secret(b"shared secret");
            encode(&header, &Value::Object(payload.clone()), &secret).expect("sign")
        }
        None => encode(&header, &Value::Object(payload.clone()), &keys[0].encoding).expect("sign"),
    };
    let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}")) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert("authorization", value);
    let accepted = w.runtime.block_on(w.auth.authenticate(&headers)).is_ok();

    if raw.is_some() {
        // Only the root secret can pass without a valid signature.
        assert!(!accepted || token == "secret", "accepted a raw token");
        return;
    }
    let fauna_auds = auds
        .iter()
        .filter(|a| a.starts_with("https://db.fauna.com/db/"))
        .count();
    let follows_rules = alg != Algorithm::HS256
        && input.kid % 3 != 1
        && issuer == w.issuer
        && fauna_auds == 1
        && auds.iter().any(|a| a.ends_with(&w.database))
        && input.exp.is_none_or(|d| d >= 0)
        && input.nbf.is_none_or(|d| d < 0)
        && sub.starts_with("user_");
    assert_eq!(
        accepted, follows_rules,
        "payload {payload:?}, alg {alg:?}, kid {:?}",
        header.kid
    );
});
