//! The Frontend API as clerk-js 6 calls it (PROTOCOLS.md 1b): a client per
//! browser (an HttpOnly `__client` cookie, or the `__clerk_db_jwt` parameter
//! of dev-suffix keys), ticket sign-ins, touch, session tokens (with `sid`),
//! sign-out, in Clerk's JSON shapes. Template tokens are served by the
//! parent module's `template_token`, which checks a session's browser here.

use super::{clerk_error, now_millis, ClerkState, MintKind, MintRequest, Session};
use crate::config::{JwtTemplate, User};
use crate::util::{json_response, random_base62};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::sync::Arc;

/// The HttpOnly cookie naming a browser's client, as Clerk's `__client`.
pub const CLIENT_COOKIE: &str = "__client";
/// The query parameter clerk-js adds for dev-suffix keys (a "dev browser").
pub const DEV_BROWSER_PARAM: &str = "__clerk_db_jwt";
/// Session tokens live 60 s, as Clerk's.
const SESSION_TOKEN_LIFETIME: u64 = 60;
/// Clerk's session tokens allow 10 s of clock skew (`nbf = iat - 10`).
const SESSION_TOKEN_SKEW: u64 = 10;

/// A clerk-js client: the sessions a browser holds.
pub struct Client {
    id: String,
    /// Active sessions, in sign-in order.
    sessions: Vec<String>,
    last_active_session_id: Option<String>,
    created_at: i64,
}

type Params = Query<HashMap<String, String>>;

impl super::ClerkInner {
    fn end_sessions(&mut self, sids: &[String]) {
        for sid in sids {
            if let Some(session) = self.sessions.get_mut(sid) {
                session.ended = true;
            }
        }
    }
}

/// Adds the Frontend API routes clerk-js uses to `router`.
pub fn routes(router: Router<Arc<ClerkState>>) -> Router<Arc<ClerkState>> {
    router
        .route("/v1/environment", get(environment).patch(environment))
        .route("/v1/client", get(get_client).delete(destroy_client))
        .route("/v1/client/sessions", delete(remove_sessions))
        .route("/v1/client/sessions/{sid}/touch", post(touch))
        .route("/v1/client/sessions/{sid}/tokens", post(session_token))
        .route("/v1/dev_browser", post(dev_browser))
        .route("/v1/demo/sign_in_tokens", post(sign_in_token))
}

/// Which browser sent a request: its `__clerk_db_jwt`, else its `__client` cookie.
pub fn browser_key(headers: &HeaderMap, params: &HashMap<String, String>) -> Option<String> {
    if let Some(db) = params.get(DEV_BROWSER_PARAM).filter(|v| !v.is_empty()) {
        return Some(format!("db:{db}"));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == CLIENT_COOKIE && !value.is_empty())
        .map(|(_, value)| format!("cookie:{value}"))
}

fn signed_out() -> Response {
    clerk_error(
        StatusCode::UNAUTHORIZED,
        "signed_out",
        "You are signed out.",
    )
}

fn session_not_active() -> Response {
    clerk_error(
        StatusCode::UNAUTHORIZED,
        "authentication_invalid",
        "Session is not active.",
    )
}

/// `GET` or `PATCH /v1/environment`: clerk-js needs no more than an object here
/// (no captcha, no prebuilt UI settings).
async fn environment() -> Response {
    json_response(
        StatusCode::OK,
        json!({ "object": "environment", "id": "env_devserver" }),
    )
}

/// `GET /v1/client`: `{"response": client}`, `null` for a browser without one.
async fn get_client(
    State(state): State<Arc<ClerkState>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let client = browser_key(&headers, &params)
        .map(|key| client_json(&state, &key, &headers))
        .unwrap_or(Json::Null);
    json_response(StatusCode::OK, json!({ "response": client }))
}

/// `DELETE /v1/client`: ends every session and forgets the client.
async fn destroy_client(
    State(state): State<Arc<ClerkState>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let Some(key) = browser_key(&headers, &params) else {
        return signed_out();
    };
    let id = {
        let mut inner = state.lock();
        let Some(client) = inner.clients.remove(&key) else {
            return signed_out();
        };
        inner.end_sessions(&client.sessions);
        client.id
    };
    let mut response = json_response(
        StatusCode::OK,
        json!({ "response": { "object": "client", "id": id, "deleted": true }, "client": null }),
    );
    if key.starts_with("cookie:") {
        set_cookie(
            &mut response,
            &format!("{CLIENT_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    response
}

/// `DELETE /v1/client/sessions` (clerk-js's `signOut()`): ends the client's sessions.
async fn remove_sessions(
    State(state): State<Arc<ClerkState>>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let Some(key) = browser_key(&headers, &params) else {
        return signed_out();
    };
    {
        let mut inner = state.lock();
        let Some(client) = inner.clients.get_mut(&key) else {
            return signed_out();
        };
        let ended = std::mem::take(&mut client.sessions);
        client.last_active_session_id = None;
        inner.end_sessions(&ended);
    }
    eprintln!("[clerk] sign-out (all sessions of a client)");
    let client = client_json(&state, &key, &headers);
    json_response(
        StatusCode::OK,
        json!({ "response": client, "client": client }),
    )
}

/// Ends one session of the browser `key` (`/end`, `/remove`); the caller
/// checked that the session is active and is this browser's.
pub fn end_client_session(state: &ClerkState, key: &str, sid: &str) -> Response {
    let ended = {
        let mut inner = state.lock();
        let Some(session) = inner.sessions.get_mut(sid) else {
            return session_not_active();
        };
        session.ended = true;
        let ended = (session.user_id.clone(), session.created_at);
        if let Some(client) = inner.clients.get_mut(key) {
            client.sessions.retain(|s| s != sid);
            if client.last_active_session_id.as_deref() == Some(sid) {
                client.last_active_session_id = client.sessions.last().cloned();
            }
        }
        ended
    };
    let headers = HeaderMap::new();
    let session = session_json(state, sid, &ended.0, ended.1, "ended", &headers);
    let client = client_json(state, key, &headers);
    json_response(
        StatusCode::OK,
        json!({ "response": session, "client": client }),
    )
}

/// The active session `sid` of the browser `key`, as `(user_id, created_at)`.
fn own_session(state: &ClerkState, key: Option<&String>, sid: &str) -> Option<(String, i64)> {
    let inner = state.lock();
    let session = inner.sessions.get(sid)?;
    (!session.ended && session.browser.as_ref() == key && key.is_some())
        .then(|| (session.user_id.clone(), session.created_at))
}

/// `POST /v1/client/sessions/{sid}/touch` (`setActive`): makes it the active session.
async fn touch(
    State(state): State<Arc<ClerkState>>,
    Path(sid): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    let key = browser_key(&headers, &params);
    let Some((user_id, created_at)) = own_session(&state, key.as_ref(), &sid) else {
        return session_not_active();
    };
    let key = key.unwrap_or_default();
    if let Some(client) = state.lock().clients.get_mut(&key) {
        client.last_active_session_id = Some(sid.clone());
    }
    let session = session_json(&state, &sid, &user_id, created_at, "active", &headers);
    let client = client_json(&state, &key, &headers);
    json_response(
        StatusCode::OK,
        json!({ "response": session, "client": client }),
    )
}

/// `POST /v1/client/sessions/{sid}/tokens`: a session token (`sid` claim).
async fn session_token(
    State(state): State<Arc<ClerkState>>,
    Path(sid): Path<String>,
    Query(params): Params,
    headers: HeaderMap,
) -> Response {
    state.lock().stats.session_token_requests += 1;
    let key = browser_key(&headers, &params);
    let Some((user_id, _)) = own_session(&state, key.as_ref(), &sid) else {
        return session_not_active();
    };
    match mint_session_token(&state, &sid, &user_id, &headers) {
        Ok(jwt) => json_response(StatusCode::OK, json!({ "object": "token", "jwt": jwt })),
        Err(e) => clerk_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_clerk_error",
            &e,
        ),
    }
}

/// `POST /v1/dev_browser`: a dev browser id; clerk-js then sends it as `__clerk_db_jwt`.
async fn dev_browser() -> Response {
    json_response(
        StatusCode::OK,
        json!({ "object": "dev_browser", "id": format!("dvb_{}", random_base62(27)) }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInTokenBody {
    user_id: String,
}

/// `POST /v1/demo/sign_in_tokens` `{"user_id"}`: a one-use ticket for a demo
/// user, what Clerk's Backend API `POST /v1/sign_in_tokens` gives an app's
/// server. Here the demo's sign-in screen asks for it (a stand-in has no secrets).
async fn sign_in_token(State(state): State<Arc<ClerkState>>, body: Bytes) -> Response {
    let body: SignInTokenBody = match super::parse_body(&body) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    if state.config.user(&body.user_id).is_none() {
        return clerk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_identifier_not_found",
            "Couldn't find your account.",
        );
    }
    let token = format!("tkt_{}", random_base62(32));
    state
        .lock()
        .tickets
        .insert(token.clone(), body.user_id.clone());
    json_response(
        StatusCode::OK,
        json!({
            "object": "sign_in_token",
            "id": format!("sit_{}", random_base62(27)),
            "user_id": body.user_id,
            "token": token,
            "status": "pending",
        }),
    )
}

/// `POST /v1/client/sign_ins` from clerk-js: a form, `strategy=ticket&ticket=..`.
/// The browser's client is created (and its cookie set) on its first sign-in.
pub fn ticket_sign_in(
    state: &ClerkState,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let form: HashMap<String, String> = match serde_urlencoded::from_bytes(body) {
        Ok(form) => form,
        Err(e) => {
            return clerk_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "form_param_format_invalid",
                &format!("The request body is not a form: {e}"),
            )
        }
    };
    match form.get("strategy").map(String::as_str) {
        Some("ticket") => {}
        None => {
            return clerk_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "form_param_missing",
                "strategy must be included.",
            )
        }
        Some(other) => {
            return clerk_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "strategy_for_user_invalid",
                &format!("The stand-in signs in with `ticket` only, not `{other}`."),
            )
        }
    }
    let Some(ticket) = form.get("ticket").filter(|t| !t.is_empty()) else {
        return clerk_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_missing",
            "ticket must be included.",
        );
    };
    let (existing, new_cookie) = match browser_key(headers, params) {
        Some(key) => (key, None),
        None => {
            let value = random_base62(40);
            (format!("cookie:{value}"), Some(value))
        }
    };
    let key = existing;
    let sid = format!("sess_{}", random_base62(27));
    let user_id = {
        let mut inner = state.lock();
        let Some(user_id) = inner.tickets.remove(ticket) else {
            return clerk_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "ticket_invalid",
                "The ticket is unknown or already used.",
            );
        };
        inner.stats.sign_ins += 1;
        inner.sessions.insert(
            sid.clone(),
            Session {
                user_id: user_id.clone(),
                ended: false,
                browser: Some(key.clone()),
                created_at: now_millis(),
            },
        );
        let client = inner.clients.entry(key.clone()).or_insert_with(|| Client {
            id: format!("client_{}", random_base62(27)),
            sessions: Vec::new(),
            last_active_session_id: None,
            created_at: now_millis(),
        });
        client.sessions.push(sid.clone());
        client.last_active_session_id = Some(sid.clone());
        user_id
    };
    eprintln!("[clerk] ticket sign-in {user_id} -> {sid}");
    let user = state.config.user(&user_id);
    let sign_in = json!({
        "object": "sign_in_attempt",
        "id": format!("sia_{}", random_base62(27)),
        "status": "complete",
        "identifier": user.map(|u| u.email.as_str()),
        "supported_identifiers": [],
        "supported_first_factors": [],
        "supported_second_factors": null,
        "first_factor_verification": null,
        "second_factor_verification": null,
        "user_data": user.map(|u| json!({ "first_name": u.first_name, "last_name": u.last_name })),
        "created_session_id": sid,
    });
    let client = client_json(state, &key, headers);
    let mut response = json_response(
        StatusCode::OK,
        json!({ "response": sign_in, "client": client }),
    );
    if let Some(value) = new_cookie {
        // Lax: the app and the Frontend API share the host (127.0.0.1), so
        // clerk-js's credentialed requests are same-site and carry it.
        set_cookie(
            &mut response,
            &format!("{CLIENT_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax"),
        );
    }
    response
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The client of browser `key` as Clerk renders it, `null` when it has none.
fn client_json(state: &ClerkState, key: &str, headers: &HeaderMap) -> Json {
    // Copied out first: minting session tokens takes the lock again.
    let (id, sessions, last_active, created_at) = {
        let inner = state.lock();
        let Some(client) = inner.clients.get(key) else {
            return Json::Null;
        };
        let sessions: Vec<(String, String, i64)> = client
            .sessions
            .iter()
            .filter_map(|sid| {
                let s = inner.sessions.get(sid)?;
                (!s.ended).then(|| (sid.clone(), s.user_id.clone(), s.created_at))
            })
            .collect();
        (
            client.id.clone(),
            sessions,
            client.last_active_session_id.clone(),
            client.created_at,
        )
    };
    let sessions: Vec<Json> = sessions
        .iter()
        .map(|(sid, user_id, created)| {
            session_json(state, sid, user_id, *created, "active", headers)
        })
        .collect();
    json!({
        "object": "client",
        "id": id,
        "sessions": sessions,
        "sign_in": null,
        "sign_up": null,
        "last_active_session_id": last_active,
        "cookie_expires_at": null,
        "created_at": created_at,
        "updated_at": now_millis(),
    })
}

/// A session as Clerk renders it. `last_active_token` is a fresh session
/// token: without one, clerk-js fails a reload while signed in ("Invalid state").
fn session_json(
    state: &ClerkState,
    sid: &str,
    user_id: &str,
    created_at: i64,
    status: &str,
    headers: &HeaderMap,
) -> Json {
    let now = now_millis();
    let token = if status == "active" {
        mint_session_token(state, sid, user_id, headers)
            .ok()
            .map(|jwt| json!({ "object": "token", "jwt": jwt }))
    } else {
        None
    };
    let user = state.config.user(user_id);
    json!({
        "object": "session",
        "id": sid,
        "status": status,
        "expire_at": now + 7 * 86_400_000,
        "abandon_at": created_at + 30 * 86_400_000,
        "last_active_at": now,
        "last_active_organization_id": null,
        "actor": null,
        "tasks": null,
        "factor_verification_age": null,
        "user": user_json(user, user_id, created_at),
        "public_user_data": {
            "first_name": user.map(|u| u.first_name.as_str()),
            "last_name": user.map(|u| u.last_name.as_str()),
            "image_url": "",
            "has_image": false,
            "identifier": user.map(|u| u.email.as_str()),
            "user_id": user_id,
        },
        "last_active_token": token,
        "created_at": created_at,
        "updated_at": now,
    })
}

fn user_json(user: Option<&User>, user_id: &str, created_at: i64) -> Json {
    let email_id = format!("idn_{}", user_id.trim_start_matches("user_"));
    let emails: Vec<Json> = user
        .map(|u| {
            vec![json!({
                "object": "email_address",
                "id": email_id,
                "email_address": u.email,
                "verification": { "status": "verified", "strategy": "ticket" },
                "linked_to": [],
            })]
        })
        .unwrap_or_default();
    json!({
        "object": "user",
        "id": user_id,
        "first_name": user.map(|u| u.first_name.as_str()),
        "last_name": user.map(|u| u.last_name.as_str()),
        "image_url": "",
        "has_image": false,
        "primary_email_address_id": user.map(|_| email_id),
        "email_addresses": emails,
        "phone_numbers": [],
        "web3_wallets": [],
        "external_accounts": [],
        "passkeys": [],
        "enterprise_accounts": [],
        "organization_memberships": [],
        "public_metadata": {},
        "unsafe_metadata": {},
        "created_at": created_at,
        "updated_at": created_at,
    })
}

/// A session token: Clerk's default claims plus `sid` and `v`, 60 s.
fn mint_session_token(
    state: &ClerkState,
    sid: &str,
    user_id: &str,
    headers: &HeaderMap,
) -> Result<String, String> {
    let mut claims = Map::new();
    claims.insert("sid".into(), json!(sid));
    claims.insert("v".into(), json!(2));
    let template = JwtTemplate {
        name: "session".into(),
        lifetime: SESSION_TOKEN_LIFETIME,
        allowed_clock_skew: SESSION_TOKEN_SKEW,
        claims,
    };
    let azp = super::origin_of(headers).unwrap_or_else(|| state.origin.clone());
    state.mint(&MintRequest {
        user_id,
        template: &template,
        azp: &azp,
        kind: MintKind::Valid,
        lifetime: None,
        overrides: None,
    })
}
