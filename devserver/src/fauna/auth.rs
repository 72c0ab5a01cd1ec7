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

/// How the server answers a refused credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401 `unauthorized`: every ordinary failure looks the same.
    Unauthorized,
    /// 500: a claim of the wrong JSON type makes the server's own parsing
    /// throw (`JWT.getAlgorithm` / `getAudience` use `.as[String]`,
    /// ext/net/src/main/scala/security/JWT.scala) instead of refusing.
    ServerError,
    /// 503 `time_out`: the credential lookup, JWKS included, outlived its
    /// 5 s bound (`AuthLookupTimeout`, ext/api/src/main/scala/api/CoreApplication.scala).
    TimedOut,
}

/// A refused secret: why (for the request log only), and the unverified
/// `sub`/`jti` when the secret looked like a JWT, so tests can tell tokens apart.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub reason: &'static str,
    pub refusal: Refusal,
    pub sub: Option<String>,
    pub jti: Option<String>,
}

impl Rejection {
    fn new(reason: &'static str) -> Self {
        Rejection {
            reason,
            refusal: Refusal::Unauthorized,
            sub: None,
            jti: None,
        }
    }
}

/// The whole credential lookup is bounded at 5 s (`CoreApplication.AuthLookupTimeout`).
const AUTH_LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks secrets against the configuration, fetching JWKS over HTTP.
pub struct Authenticator {
    config: Arc<Config>,
    jwks: JwksCache,
}

/// The credentials of an `Authorization` header, as the server splits it
/// (`AuthType.fromHeaders`, ext/net/src/main/scala/http/HttpClient.scala):
/// the scheme must be exactly `Bearer` or `Basic`.
#[derive(Debug, PartialEq, Eq)]
enum Credentials {
    Bearer(String),
    Basic(String),
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
        let credentials = credentials(headers).ok_or(Rejection::new("missing_secret"))?;
        let secret = match credentials {
            // Only `Bearer` reaches JWT checking (`Auth.fromInfo`,
            // ext/model/src/main/scala/auth/Auth.scala); a JWT in Basic
            // credentials is looked up as a key secret, and fails.
            Credentials::Bearer(token) if is_jwt(&token) => {
                let lookup = self.authenticate_jwt(&token);
                return match tokio::time::timeout(AUTH_LOOKUP_TIMEOUT, lookup).await {
                    Ok(result) => result,
                    Err(_) => {
                        let payload = unverified_payload(&token);
                        let claim = |name| {
                            payload
                                .as_ref()
                                .and_then(|p| p.get(name)?.as_str().map(str::to_owned))
                        };
                        Err(Rejection {
                            reason: "jwks_timeout",
                            refusal: Refusal::TimedOut,
                            sub: claim("sub"),
                            jti: claim("jti"),
                        })
                    }
                };
            }
            Credentials::Bearer(secret) | Credentials::Basic(secret) => secret,
        };
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

    /// The checks of `JWTToken.fromToken` (ext/model/src/main/scala/auth/JWTToken.scala),
    /// in its order: algorithm family and time claims, audience, issuer, key, signature, roles.
    async fn authenticate_jwt(&self, token: &str) -> Result<Principal, Rejection> {
        let header = unverified_header(token).ok_or(Rejection::new("malformed_token"))?;
        let payload = unverified_payload(token).ok_or(Rejection::new("malformed_token"))?;
        let sub = payload.get("sub").and_then(Json::as_str).map(str::to_owned);
        let jti = payload.get("jti").and_then(Json::as_str).map(str::to_owned);
        let reject = |reason| Rejection {
            reason,
            refusal: Refusal::Unauthorized,
            sub: sub.clone(),
            jti: jti.clone(),
        };
        let server_error = |reason| Rejection {
            refusal: Refusal::ServerError,
            ..reject(reason)
        };

        let Some(alg) = header.get("alg").and_then(Json::as_str) else {
            return Err(server_error("missing_alg"));
        };
        let alg = match alg {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            _ => return Err(reject("unsupported_alg")),
        };
        check_times(&payload, now_secs_f64()).map_err(reject)?;
        let db_id = database_from_aud(&payload).map_err(|reason| match reason {
            "bad_claim_type" => server_error(reason),
            _ => reject(reason),
        })?;
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

        let kid = header.get("kid").and_then(Json::as_str);
        let key = self
            .jwks
            .key_for(&provider.jwks_uri, kid)
            .await
            .map_err(reject)?;
        let decoding =
            DecodingKey::from_rsa_components(&key.n, &key.e).map_err(|_| reject("bad_jwks_key"))?;
        let mut validation = Validation::new(alg);
        // Time claims and audience are checked above, with Fauna's exact rules.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::new();
        validation.leeway = 0;
        jsonwebtoken::decode::<Json>(token, &decoding, &validation)
            .map_err(|_| reject("bad_signature"))?;

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

/// `Bearer <secret>`, or Basic `<secret>:` (the colon optional); any other
/// scheme, or another spelling of these (`bearer`), is no credential at all.
fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, rest) = value.split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    match scheme {
        "Bearer" => Some(Credentials::Bearer(rest.to_owned())).filter(|_| !rest.is_empty()),
        "Basic" => {
            let encoded = rest.strip_suffix(':').unwrap_or(rest);
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()?;
            let text = String::from_utf8(decoded).ok()?;
            let text = text.trim();
            let user = text.strip_suffix(':').unwrap_or(text);
            Some(Credentials::Basic(user.to_owned())).filter(|_| !user.is_empty())
        }
        _ => None,
    }
}

/// Fauna's rule: a secret starting with `ey` and containing `.` is a JWT.
pub fn is_jwt(secret: &str) -> bool {
    secret.starts_with("ey") && secret.contains('.')
}

fn unverified_segment(token: &str, index: usize) -> Option<Json> {
    let part = token.split('.').nth(index)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    let value: Json = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

fn unverified_header(token: &str) -> Option<Json> {
    unverified_segment(token, 0)
}

fn unverified_payload(token: &str) -> Option<Json> {
    unverified_segment(token, 1)
}

/// `aud` (string or array) must hold exactly one `https://db.fauna.com/db/<id>`
/// value. A non-string element of an array makes the server throw
/// (`bad_claim_type`, a 500); an `aud` of another type counts as none.
fn database_from_aud(payload: &Json) -> Result<String, &'static str> {
    let auds: Vec<&str> = match payload.get("aud") {
        Some(Json::String(s)) => vec![s.as_str()],
        Some(Json::Array(items)) => items
            .iter()
            .map(|a| a.as_str().ok_or("bad_claim_type"))
            .collect::<Result<_, _>>()?,
        _ => return Err("bad_aud"),
    };
    let mut dbs = auds.iter().filter_map(|a| a.strip_prefix(AUD_PREFIX));
    match (dbs.next(), dbs.next()) {
        (Some(id), None) if !id.is_empty() => Ok(id.to_owned()),
        _ => Err("bad_aud"),
    }
}

/// `exp` refused when now >= exp (no leeway); `nbf` refused when now <= nbf;
/// `iat` unchecked. The server reads both with `asOpt[Long]`
/// (ext/net/src/main/scala/security/JWT.scala): a value that is not an
/// integer (a float, a string, null) is ignored, as if absent.
fn check_times(payload: &Json, now: f64) -> Result<(), &'static str> {
    let integer = |name| payload.get(name).and_then(Json::as_i64);
    if let Some(exp) = integer("exp") {
        if now >= exp as f64 {
            return Err("expired");
        }
    }
    if let Some(nbf) = integer("nbf") {
        if now <= nbf as f64 {
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

/// What is known of one JWKS URI (`JWKSLoadingValue` in
/// ext/net/src/main/scala/security/JWKProvider.scala).
#[derive(Default)]
struct JwksSlot {
    /// The keys of the last good download; `None` before one succeeded.
    keys: Option<Vec<RsaJwk>>,
    etag: Option<String>,
    /// When the last download ended (successful or not); `None`: never tried.
    fetched_at: Option<Instant>,
}

/// JWKS per URI, as the server keeps them: a first download that fails stays
/// failed until the hourly refresh; a failed refresh keeps the old keys; an
/// unknown `kid` forces a reload at most every 500 ms.
///
/// Downloads run in their own task, so a request that gives up at the 5 s
/// lookup bound does not cancel them: as on the server, the keys arrive for
/// later requests.
pub struct JwksCache {
    client: reqwest::Client,
    /// How long keys (or a failure) stand before a download: an hour.
    ttl: Duration,
    slots: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<JwksSlot>>>>,
}

impl Default for JwksCache {
    fn default() -> Self {
        Self::new()
    }
}

/// How long one JWKS download may take (`HttpClient`'s default response timeout).
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(60);

impl JwksCache {
    pub fn new() -> Self {
        // No redirects: the server's `HttpClient` does not follow them.
        let client = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        JwksCache {
            client,
            ttl: JWKS_TTL,
            slots: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, uri: &str) -> Arc<tokio::sync::Mutex<JwksSlot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(uri.to_owned()).or_default().clone()
    }

    /// The key for `kid` from the JWKS at `uri`.
    pub async fn key_for(&self, uri: &str, kid: Option<&str>) -> Result<RsaJwk, &'static str> {
        if !uri_allowed(uri) {
            return Err("jwks_uri_not_allowed");
        }
        // One lock per URI: concurrent requests share one download.
        let mut slot = self.slot(uri).lock_owned().await;
        let due = slot.fetched_at.is_none_or(|at| at.elapsed() >= self.ttl);
        if due {
            slot = self.download(uri, slot, false).await?;
        }
        let Some(keys) = &slot.keys else {
            return Err("jwks_unavailable");
        };
        if let Some(key) = select_key(keys, kid) {
            return Ok(key);
        }
        let recent = slot
            .fetched_at
            .is_some_and(|at| at.elapsed() < JWKS_MIN_RELOAD);
        let unmatched = if kid.is_some() {
            "unknown_kid"
        } else {
            "missing_kid"
        };
        if due || recent {
            return Err(unmatched);
        }
        // An unknown kid forces a reload that ignores the ETag.
        let slot = self.download(uri, slot, true).await?;
        slot.keys
            .as_deref()
            .and_then(|keys| select_key(keys, kid))
            .ok_or(unmatched)
    }

    /// Downloads the JWKS into `slot` in a task of its own and hands the slot back.
    async fn download(
        &self,
        uri: &str,
        mut slot: tokio::sync::OwnedMutexGuard<JwksSlot>,
        ignore_etag: bool,
    ) -> Result<tokio::sync::OwnedMutexGuard<JwksSlot>, &'static str> {
        let client = self.client.clone();
        let uri = uri.to_owned();
        let task = tokio::spawn(async move {
            let etag = if ignore_etag { None } else { slot.etag.clone() };
            match fetch_jwks(&client, &uri, etag.as_deref()).await {
                Ok(Fetched::Keys(keys, etag)) => {
                    slot.keys = Some(keys);
                    slot.etag = etag;
                }
                // 304 keeps what is there; before any keys it is a failure.
                Ok(Fetched::NotModified) => {}
                // A failed refresh keeps the old keys.
                Err(why) => eprintln!("[fauna] JWKS download from {uri} failed: {why}"),
            }
            slot.fetched_at = Some(Instant::now());
            slot
        });
        task.await.map_err(|_| "jwks_unavailable")
    }
}

enum Fetched {
    Keys(Vec<RsaJwk>, Option<String>),
    NotModified,
}

/// `JWKUrlProvider.getJWKS`: GET the path only (no query string), with
/// `Accept: application/json` and `If-None-Match` when an ETag is known;
/// only 200 and 304 count.
async fn fetch_jwks(
    client: &reqwest::Client,
    uri: &str,
    etag: Option<&str>,
) -> Result<Fetched, String> {
    let mut url = reqwest::Url::parse(uri).map_err(|e| e.to_string())?;
    url.set_query(None);
    url.set_fragment(None);
    let mut request = client.get(url).header("accept", "application/json");
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200 => {
            let etag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body: Json = response.json().await.map_err(|e| e.to_string())?;
            Ok(Fetched::Keys(parse_jwks(&body), etag))
        }
        304 => Ok(Fetched::NotModified),
        code => Err(format!("HTTP code {code}")),
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

/// `JWKS.findJWK` (ext/net/src/main/scala/security/JWK.scala): one key and no
/// `kid`: use it. Otherwise the `kid` must equal the key's, absent included
/// (a token without `kid` matches a key without one).
fn select_key(keys: &[RsaJwk], kid: Option<&str>) -> Option<RsaJwk> {
    if kid.is_none() && keys.len() == 1 {
        return Some(keys[0].clone());
    }
    keys.iter().find(|k| k.kid.as_deref() == kid).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A JWKS endpoint answering from a list in turn (the last one for ever):
    /// `Some(kid)` serves one key with that kid, `None` a 500. Gives its URL.
    async fn scripted_jwks(answers: Vec<Option<&'static str>>) -> String {
        use axum::response::IntoResponse;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let app = axum::Router::new().fallback(move || {
            let i = served.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = answers[i.min(answers.len() - 1)];
            async move {
                match answer {
                    Some(kid) => axum::Json(
                        json!({"keys": [{"kty": "RSA", "kid": kid, "n": "n", "e": "AQAB"}]}),
                    )
                    .into_response(),
                    None => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_old_keys_and_a_failed_first_download_waits_for_the_next() {
        // A short time to live stands in for the hour; only "after it" is asserted.
        let ttl = Duration::from_millis(50);
        let cache = JwksCache {
            ttl,
            ..JwksCache::new()
        };
        let url = scripted_jwks(vec![Some("a"), None, Some("b")]).await;
        assert_eq!(
            cache.key_for(&url, Some("a")).await.unwrap().kid.as_deref(),
            Some("a")
        );
        tokio::time::sleep(ttl * 3).await;
        // The refresh fails: the old keys stay.
        assert_eq!(
            cache.key_for(&url, Some("a")).await.unwrap().kid.as_deref(),
            Some("a")
        );
        tokio::time::sleep(ttl * 3).await;
        // The next refresh succeeds and replaces them.
        assert_eq!(
            cache.key_for(&url, Some("b")).await.unwrap().kid.as_deref(),
            Some("b")
        );

        let cache = JwksCache {
            ttl,
            ..JwksCache::new()
        };
        let url = scripted_jwks(vec![None, Some("a")]).await;
        assert_eq!(
            cache.key_for(&url, Some("a")).await.unwrap_err(),
            "jwks_unavailable"
        );
        tokio::time::sleep(ttl * 3).await;
        assert!(cache.key_for(&url, Some("a")).await.is_ok());
    }

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
        assert_eq!(db(json!(7)), Err("bad_aud"));
        assert_eq!(
            db(json!(["https://db.fauna.com/db/abc", 7])),
            Err("bad_claim_type")
        );
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
        // Not integers: ignored, as the server's `asOpt[Long]` skips them.
        for odd in [json!("soon"), json!(1.5), json!(null), json!(true)] {
            assert_eq!(check_times(&json!({"exp": odd.clone()}), 5.0), Ok(()));
            assert_eq!(check_times(&json!({"nbf": odd}), 5.0), Ok(()));
        }
        assert_eq!(check_times(&json!({"exp": 4}), 5.0), Err("expired"));
    }

    #[test]
    fn jwks_parsing_ignores_non_rsa_and_selects_by_kid() {
        let keys = parse_jwks(&json!({"keys": [
            {"kty": "EC", "kid": "ec", "x": "", "y": ""},
            {"kty": "RSA", "kid": "a", "n": "n1", "e": "AQAB"},
        ]}));
        assert_eq!(keys.len(), 1);
        assert!(select_key(&keys, None).is_some());
        assert!(select_key(&keys, Some("a")).is_some());
        assert!(select_key(&keys, Some("b")).is_none());
        let two = [
            keys[0].clone(),
            RsaJwk {
                kid: Some("b".into()),
                n: "n2".into(),
                e: "AQAB".into(),
            },
        ];
        assert!(select_key(&two, None).is_none());
        // A token without kid matches a key without kid, among several.
        let kidless = RsaJwk {
            kid: None,
            n: "n3".into(),
            e: "AQAB".into(),
        };
        let three = [two[0].clone(), kidless, two[1].clone()];
        assert_eq!(select_key(&three, None).unwrap().n, "n3");
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
    fn credentials_need_the_exact_scheme() {
        let parse = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert("authorization", v.parse().unwrap());
            credentials(&h)
        };
        let bearer = |s: &str| Some(Credentials::Bearer(s.into()));
        assert_eq!(parse("Bearer secret"), bearer("secret"));
        assert_eq!(
            parse("Basic c2VjcmV0Og=="),
            Some(Credentials::Basic("secret".into()))
        );
        assert_eq!(parse("Bearer "), None);
        assert_eq!(parse("bearer secret"), None);
        assert_eq!(parse("BEARER secret"), None);
        assert_eq!(parse("Token secret"), None);
    }
}
