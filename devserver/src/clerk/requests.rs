//! Two things every Clerk stand-in request goes through: clerk-js's verb
//! override (`POST ?_method=DELETE` means DELETE; it sends only GET and POST
//! so the browser skips a CORS preflight), and the request log tests read at
//! `GET /__admin/requests` to count Frontend API token requests.

use super::ClerkState;
use crate::util::json_response;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use serde::Serialize;
use std::sync::Arc;

/// The log keeps at most this many entries (a long test stays bounded).
const LOG_LIMIT: usize = 100_000;

/// One answered request (admin requests are not logged).
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Milliseconds since the epoch when the answer was ready.
    pub at: i64,
    /// The verb after `_method` was applied.
    pub method: String,
    pub path: String,
    pub status: u16,
    /// `template` (`/tokens/{name}`), `session` (`/tokens`), absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `?debug=skip_cache`: clerk-js was asked to bypass its own token cache.
    pub skip_cache: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The routes behind the verb override and the log. The outer router only
/// has a fallback: a method rewritten after routing would not reach its route.
pub fn wrap(routes: Router, state: Arc<ClerkState>) -> Router {
    let service = middleware::from_fn_with_state(state, override_and_log);
    Router::new().fallback_service(tower::Layer::layer(&service, routes))
}

async fn override_and_log(
    State(state): State<Arc<ClerkState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let query = req.uri().query().unwrap_or_default().to_owned();
    let params: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if req.method() == Method::POST {
        if let Some(verb) = param("_method") {
            match Method::from_bytes(verb.to_ascii_uppercase().as_bytes()) {
                Ok(method) => *req.method_mut() = method,
                Err(_) => {
                    return super::clerk_error(
                        StatusCode::BAD_REQUEST,
                        "form_param_value_invalid",
                        &format!("`_method` is not an HTTP method: {verb}"),
                    )
                }
            }
        }
    }
    let path = req.uri().path().to_owned();
    let method = req.method().to_string();
    let skip_cache = param("debug") == Some("skip_cache");
    let response = next.run(req).await;
    if path.starts_with("/__admin/") {
        return response;
    }
    let (token, template, sid) = token_route(&path);
    let entry = LogEntry {
        at: super::now_millis(),
        method,
        path,
        status: response.status().as_u16(),
        token,
        template,
        skip_cache,
        sid,
    };
    let mut inner = state.lock();
    if inner.log.len() < LOG_LIMIT {
        inner.log.push(entry);
    }
    response
}

/// For `/v1/client/sessions/{sid}/tokens[/{template}]`: its kind, template and session.
fn token_route(path: &str) -> (Option<&'static str>, Option<String>, Option<String>) {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["v1", "client", "sessions", sid, "tokens"] => {
            (Some("session"), None, Some((*sid).to_owned()))
        }
        ["v1", "client", "sessions", sid, "tokens", template] => (
            Some("template"),
            Some((*template).to_owned()),
            Some((*sid).to_owned()),
        ),
        ["v1", "client", "sessions", sid, ..] => (None, None, Some((*sid).to_owned())),
        _ => (None, None, None),
    }
}

/// `GET /__admin/requests`: the log, oldest first.
pub async fn admin_requests(State(state): State<Arc<ClerkState>>) -> Response {
    let log = state.lock().log.clone();
    json_response(StatusCode::OK, serde_json::json!(log))
}

#[cfg(test)]
mod tests {
    use super::token_route;

    #[test]
    fn token_routes_are_recognised() {
        assert_eq!(
            token_route("/v1/client/sessions/sess_1/tokens/fauna"),
            (
                Some("template"),
                Some("fauna".into()),
                Some("sess_1".into())
            )
        );
        assert_eq!(
            token_route("/v1/client/sessions/sess_1/tokens"),
            (Some("session"), None, Some("sess_1".into()))
        );
        assert_eq!(token_route("/v1/client"), (None, None, None));
    }
}
