//! The Clerk stand-in: the part of Clerk's Frontend API that clerk-js 6 uses
//! (`fapi`: clients kept per browser, ticket sign-ins, session and template
//! tokens, sign-out), a simpler JSON sign-in for tests that drive tokens by
//! hand, RS256 template JWTs with a published JWKS, and loopback admin
//! endpoints for tests (mint broken tokens on purpose, count and list token
//! requests, rotate keys).

mod fapi;
mod requests;

use crate::config::{Config, JwtTemplate, User};
use crate::keys::{self, RsaSigningKey};
use crate::util::{json_response, now_micros, now_secs, parse_json, random_base62};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// A database id that no demo config names: tokens for it must be refused.
pub const OTHER_DB_ID: &str = "yotherdbyyyy1";
/// An issuer that no demo access provider trusts.
pub const WRONG_ISSUER: &str = "https://clerk.wrong-issuer.example";
/// HMAC secret for the `hs256` admin token kind (Fauna must refuse HS256 anyway).
const HS256_SECRET: &[u8] = b"dev-only-hs256-secret";

/// Shared state of the Clerk stand-in.
pub struct ClerkState {
    origin: String,
    config: Arc<Config>,
    keys: Vec<RsaSigningKey>,
    es256: EncodingKey,
    inner: Mutex<ClerkInner>,
}

struct ClerkInner {
    sessions: HashMap<String, Session>,
    /// clerk-js clients, by the browser's key (its `__client` cookie or `__clerk_db_jwt`).
    clients: HashMap<String, fapi::Client>,
    /// Unused sign-in tokens (tickets) and the user each signs in.
    tickets: HashMap<String, String>,
    log: Vec<requests::LogEntry>,
    stats: Stats,
    /// Indexes into `keys` published in the JWKS.
    published: Vec<usize>,
    /// Index into `keys` used for signing.
    active: usize,
}

struct Session {
    user_id: String,
    ended: bool,
    /// The browser key of the clerk-js client holding it; `None` for a JSON sign-in.
    browser: Option<String>,
    /// Milliseconds since the epoch.
    created_at: i64,
}

#[derive(Default)]
struct Stats {
    /// Template token requests (`/tokens/{template}`); session tokens are counted apart.
    token_requests: u64,
    session_token_requests: u64,
    by_template: BTreeMap<String, u64>,
    skip_cache: u64,
    jwks_requests: u64,
    sign_ins: u64,
}

/// What kind of token `POST /__admin/mint` makes; all but `valid` must be refused by Fauna.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MintKind {
    Valid,
    Expired,
    NotYetValid,
    WrongAud,
    WrongIss,
    TrailingSlashIss,
    Hs256,
    Es256,
    UnknownKid,
    NoKid,
}

/// Everything that shapes one minted token.
pub struct MintRequest<'a> {
    pub user_id: &'a str,
    pub template: &'a JwtTemplate,
    pub azp: &'a str,
    pub kind: MintKind,
    pub lifetime: Option<u64>,
    /// Claims set last; a JSON null removes the claim.
    pub overrides: Option<&'a Map<String, Json>>,
}

impl ClerkState {
    pub fn new(origin: String, config: Arc<Config>) -> Result<Self, String> {
        Ok(ClerkState {
            origin,
            config,
            keys: keys::clerk_keys()?,
            es256: keys::es256_key()?,
            inner: Mutex::new(ClerkInner {
                sessions: HashMap::new(),
                clients: HashMap::new(),
                tickets: HashMap::new(),
                log: Vec::new(),
                stats: Stats::default(),
                published: vec![0],
                active: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, ClerkInner> {
        // A poisoned lock only means another request panicked; the data is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Signs a token as Clerk would for `template`, or broken on purpose per `kind`.
    pub fn mint(&self, req: &MintRequest<'_>) -> Result<String, String> {
        let user = self.config.user(req.user_id);
        let mut claims = match substitute(
            &Json::Object(req.template.claims.clone()),
            user,
            req.user_id,
        ) {
            Json::Object(map) => map,
            _ => Map::new(),
        };
        let now = now_secs();
        let lifetime = req.lifetime.unwrap_or(req.template.lifetime) as i64;
        let skew = req.template.allowed_clock_skew as i64;
        let (iat, nbf, exp) = match req.kind {
            MintKind::Expired => (now - 1 - lifetime, now - 1 - lifetime - skew, now - 1),
            MintKind::NotYetValid => (now, now + 60, now + 60 + lifetime),
            _ => (now, now - skew, now + lifetime),
        };
        let iss = match req.kind {
            MintKind::WrongIss => WRONG_ISSUER.to_owned(),
            MintKind::TrailingSlashIss => format!("{}/", self.origin),
            _ => self.origin.clone(),
        };
        // Default claims win over template claims, as in Clerk (they are reserved).
        claims.insert("azp".into(), json!(req.azp));
        claims.insert("exp".into(), json!(exp));
        claims.insert("iat".into(), json!(iat));
        claims.insert("iss".into(), json!(iss));
        claims.insert("jti".into(), json!(random_base62(20).to_ascii_lowercase()));
        claims.insert("nbf".into(), json!(nbf));
        claims.insert("sub".into(), json!(req.user_id));
        if req.kind == MintKind::WrongAud {
            claims.insert(
                "aud".into(),
                json!(format!("https://db.fauna.com/db/{OTHER_DB_ID}")),
            );
        }
        if let Some(overrides) = req.overrides {
            for (k, v) in overrides {
                if v.is_null() {
                    claims.remove(k);
                } else {
                    claims.insert(k.clone(), v.clone());
                }
            }
        }

        let (active_kid, active_key) = {
            let inner = self.lock();
            let key = &self.keys[inner.active];
            (key.kid.clone(), key.encoding.clone())
        };
        let (header, key) = match req.kind {
            MintKind::Hs256 => (
                header(Algorithm::HS256, Some(active_kid)),
                EncodingKey::from_secret(HS256_SECRET),
            ),
            MintKind::Es256 => (
                header(Algorithm::ES256, Some(active_kid)),
                self.es256.clone(),
            ),
            MintKind::UnknownKid => (
                header(
                    Algorithm::RS256,
                    Some(format!("unknown-{}", random_base62(8))),
                ),
                self.keys[1].encoding.clone(),
            ),
            MintKind::NoKid => (header(Algorithm::RS256, None), active_key),
            _ => (header(Algorithm::RS256, Some(active_kid)), active_key),
        };
        jsonwebtoken::encode(&header, &Json::Object(claims), &key).map_err(|e| e.to_string())
    }

    fn jwks(&self) -> Json {
        let mut inner = self.lock();
        inner.stats.jwks_requests += 1;
        let keys: Vec<Json> = inner
            .published
            .iter()
            .map(|&i| self.keys[i].jwk())
            .collect();
        json!({ "keys": keys })
    }
}

/// Milliseconds since the epoch, as Clerk's JSON dates are.
fn now_millis() -> i64 {
    now_micros() / 1000
}

fn header(alg: Algorithm, kid: Option<String>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid;
    header
}

/// Replaces `{{user.*}}` shortcodes inside every string of a claims value.
fn substitute(value: &Json, user: Option<&User>, user_id: &str) -> Json {
    match value {
        Json::String(s) => {
            let (first, last, email) = match user {
                Some(u) => (
                    u.first_name.as_str(),
                    u.last_name.as_str(),
                    u.email.as_str(),
                ),
                None => ("", "", ""),
            };
            Json::String(
                s.replace("{{user.id}}", user_id)
                    .replace("{{user.first_name}}", first)
                    .replace("{{user.last_name}}", last)
                    .replace("{{user.primary_email_address}}", email),
            )
        }
        Json::Array(items) => {
            Json::Array(items.iter().map(|v| substitute(v, user, user_id)).collect())
        }
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, user, user_id)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Clerk's error body: `{"errors":[{"code","message","long_message"}]}`.
fn clerk_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({ "errors": [{ "code": code, "message": message, "long_message": message }] }),
    )
}

/// A JSON body, or Clerk's 422 for one that does not parse.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response>> {
    parse_json(body).map_err(|e| {
        Box::new(clerk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_format_invalid",
            &e,
        ))
    })
}

/// Routes of the Clerk stand-in (CORS is added by the caller). Every request
/// first has its `?_method=` verb applied and is then logged (`requests`).
pub fn router(state: Arc<ClerkState>) -> Router {
    let routes = Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/demo/users", get(demo_users))
        .route("/v1/client/sign_ins", post(sign_in))
        .route("/v1/client/sessions/{sid}/end", post(end_session))
        .route("/v1/client/sessions/{sid}/remove", post(end_session))
        .route(
            "/v1/client/sessions/{sid}/tokens/{template}",
            post(template_token),
        )
        .route("/__admin/mint", post(admin_mint))
        .route("/__admin/stats", get(admin_stats))
        .route("/__admin/requests", get(requests::admin_requests))
        .route("/__admin/reset", post(admin_reset))
        .route("/__admin/rotate_keys", post(admin_rotate_keys));
    requests::wrap(fapi::routes(routes).with_state(state.clone()), state)
}

async fn jwks(State(state): State<Arc<ClerkState>>) -> Response {
    json_response(StatusCode::OK, state.jwks())
}

async fn demo_users(State(state): State<Arc<ClerkState>>) -> Response {
    json_response(StatusCode::OK, json!(state.config.clerk.users))
}

#[derive(Deserialize)]
struct SignInBody {
    user_id: Option<String>,
}

/// `POST /v1/client/sign_ins`: clerk-js sends a form (`strategy=ticket&ticket=..`);
/// tests that drive tokens by hand send JSON `{"user_id"}` and get a session
/// that belongs to no browser.
async fn sign_in(
    State(state): State<Arc<ClerkState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        return fapi::ticket_sign_in(&state, &query, &headers, &body);
    }
    let body: SignInBody = match parse_body(&body) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let Some(user) = body.user_id.as_deref().and_then(|id| state.config.user(id)) else {
        return clerk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_identifier_not_found",
            "Couldn't find your account.",
        );
    };
    let session_id = format!("sess_{}", random_base62(27));
    let mut inner = state.lock();
    inner.stats.sign_ins += 1;
    inner.sessions.insert(
        session_id.clone(),
        Session {
            user_id: user.id.clone(),
            ended: false,
            browser: None,
            created_at: now_millis(),
        },
    );
    eprintln!("[clerk] sign-in {} -> {}", user.id, session_id);
    json_response(
        StatusCode::OK,
        json!({ "session_id": session_id, "user_id": user.id }),
    )
}

/// `POST /v1/client/sessions/{sid}/end` (or `/remove`): a JSON sign-in's
/// session answers `{"ended":true}`; a clerk-js session (only from its own
/// browser) answers with the session and the client, as Clerk does.
async fn end_session(
    State(state): State<Arc<ClerkState>>,
    Path(sid): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let browser = {
        let mut inner = state.lock();
        match inner.sessions.get_mut(&sid) {
            Some(session) if !session.ended && session.browser.is_none() => {
                session.ended = true;
                return json_response(StatusCode::OK, json!({ "ended": true }));
            }
            Some(session) if !session.ended => session.browser.clone(),
            _ => None,
        }
    };
    match browser {
        Some(browser) if fapi::browser_key(&headers, &query).as_ref() == Some(&browser) => {
            fapi::end_client_session(&state, &browser, &sid)
        }
        _ => clerk_error(
            StatusCode::UNAUTHORIZED,
            "authentication_invalid",
            "Session is not active.",
        ),
    }
}

/// `POST /v1/client/sessions/{sid}/tokens/{template}[?debug=skip_cache]`: a
/// new token at every call. A clerk-js session's tokens go only to its own browser.
async fn template_token(
    State(state): State<Arc<ClerkState>>,
    Path((sid, template_name)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let browser = fapi::browser_key(&headers, &params);
    let user_id = {
        let mut inner = state.lock();
        inner.stats.token_requests += 1;
        *inner
            .stats
            .by_template
            .entry(template_name.clone())
            .or_default() += 1;
        if params.get("debug").map(String::as_str) == Some("skip_cache") {
            inner.stats.skip_cache += 1;
        }
        match inner.sessions.get(&sid) {
            Some(session)
                if !session.ended && (session.browser.is_none() || session.browser == browser) =>
            {
                session.user_id.clone()
            }
            _ => {
                return clerk_error(
                    StatusCode::UNAUTHORIZED,
                    "authentication_invalid",
                    "Session is not active.",
                );
            }
        }
    };
    mint_response(
        &state,
        &headers,
        &user_id,
        &template_name,
        MintKind::Valid,
        None,
        None,
    )
}

/// Mints a token of `template_name` for `user_id` and answers it as
/// `{"jwt": ...}`, with Clerk's error shapes for an unknown template or a
/// failure.
fn mint_response(
    state: &ClerkState,
    headers: &HeaderMap,
    user_id: &str,
    template_name: &str,
    kind: MintKind,
    lifetime: Option<u64>,
    overrides: Option<&Map<String, Json>>,
) -> Response {
    let Some(template) = state.config.template(template_name) else {
        return clerk_error(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            &format!("No JWT template exists with name: {template_name}"),
        );
    };
    let azp = origin_of(headers).unwrap_or_else(|| state.origin.clone());
    let req = MintRequest {
        user_id,
        template,
        azp: &azp,
        kind,
        lifetime,
        overrides,
    };
    match state.mint(&req) {
        Ok(jwt) => json_response(StatusCode::OK, json!({ "jwt": jwt })),
        Err(e) => clerk_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_clerk_error",
            &e,
        ),
    }
}

fn origin_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminMintBody {
    user_id: String,
    template: Option<String>,
    kind: Option<MintKind>,
    lifetime: Option<u64>,
    claims: Option<Map<String, Json>>,
}

async fn admin_mint(
    State(state): State<Arc<ClerkState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: AdminMintBody = match parse_body(&body) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let template_name = body.template.as_deref().unwrap_or("fauna");
    mint_response(
        &state,
        &headers,
        &body.user_id,
        template_name,
        body.kind.unwrap_or(MintKind::Valid),
        body.lifetime,
        body.claims.as_ref(),
    )
}

async fn admin_stats(State(state): State<Arc<ClerkState>>) -> Response {
    let inner = state.lock();
    let s = &inner.stats;
    json_response(
        StatusCode::OK,
        json!({
            "token_requests": s.token_requests,
            "by_template": s.by_template,
            "skip_cache": s.skip_cache,
            "session_token_requests": s.session_token_requests,
            "jwks_requests": s.jwks_requests,
            "sign_ins": s.sign_ins,
        }),
    )
}

/// Zeroes the stats and empties the request log; sessions and clients stay.
async fn admin_reset(State(state): State<Arc<ClerkState>>) -> Response {
    let mut inner = state.lock();
    inner.stats = Stats::default();
    inner.log.clear();
    json_response(StatusCode::OK, json!({ "reset": true }))
}

/// Publishes the next committed key and signs with it from now on (the old key stays published).
async fn admin_rotate_keys(State(state): State<Arc<ClerkState>>) -> Response {
    let mut inner = state.lock();
    let next = (inner.active + 1) % state.keys.len();
    if !inner.published.contains(&next) {
        inner.published.push(next);
    }
    inner.active = next;
    let published: Vec<&str> = inner
        .published
        .iter()
        .map(|&i| state.keys[i].kid.as_str())
        .collect();
    json_response(
        StatusCode::OK,
        json!({ "active_kid": state.keys[next].kid, "published": published }),
    )
}
