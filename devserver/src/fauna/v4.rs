//! `POST /`: the legacy FQL v4 wire protocol, only `CurrentIdentity()`,
//! `CurrentToken()` and the older `Identity()` - enough for code written
//! against the `faunadb` driver to check that a Clerk token is accepted.
//! Codes and statuses follow ext/api/src/main/scala/api/fql1/APIResponse.scala.

use super::auth::{Principal, Refusal, Rejection};
use super::{refusal_answer, AuthOutcome, FaunaState, Protocol};
use crate::util::{json_response, parse_json};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// A v4 query error: `{"errors":[{"position":[],"code","description"}]}`.
fn query_error(code: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({ "errors": [{ "position": [], "code": code, "description": description }] }),
    )
}

/// A v4 protocol error (`ErrorResponse`): no `position`.
pub fn protocol_error(status: StatusCode, code: &str, description: &str) -> Response {
    json_response(
        status,
        json!({ "errors": [{ "code": code, "description": description }] }),
    )
}

/// The v4 answer to a refused credential: 401 (`APIResponse.Unauthorized`),
/// 500 `internal server error`, or 503 `time out` past the lookup bound.
fn refused_v4(rejection: &Rejection) -> Response {
    let (status, code, description) = refusal_answer(rejection.refusal, Protocol::V4);
    let mut response = protocol_error(status, code, description);
    if rejection.refusal == Refusal::Unauthorized {
        response.headers_mut().insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"Unauthorized\""),
        );
    }
    response
}

/// Where a path matches no route: the v4 router's `NotFound`.
pub async fn not_found() -> Response {
    protocol_error(StatusCode::NOT_FOUND, "not found", "Not Found")
}

/// The API versions the server knows (`APIVersion`, ext/atoms/src/main/scala/APIVersion.scala),
/// as ordinals: only these exact strings.
fn api_version(text: &str) -> Option<u32> {
    ["2.0", "2.1", "2.7", "2.12", "3", "4", "5"]
        .iter()
        .position(|v| *v == text)
        .map(|i| i as u32 + 1)
        .or((text == "UNSTABLE").then_some(u32::MAX))
}

/// `2.1`, the version of a request without `X-FaunaDB-API-Version`.
const DEFAULT_API_VERSION: u32 = 2;
/// `4`, where `current_identity` and `current_token` were introduced.
const V4: u32 = 6;

/// Validates v4 headers; the error is a `bad request` description. Gives the API version.
fn check_headers(headers: &HeaderMap) -> Result<u32, String> {
    let get = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{fffd}").trim().to_owned())
    };
    let version = match get("x-faunadb-api-version") {
        None => DEFAULT_API_VERSION,
        Some(v) => api_version(&v).ok_or_else(|| {
            format!(
                "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version '{v}'."
            )
        })?,
    };
    if let Some(v) = get("x-last-seen-txn") {
        if v.parse::<i64>().is_err() {
            return Err(format!(
                "Invalid header 'x-last-seen-txn': Invalid timestamp '{v}'."
            ));
        }
    }
    if let Some(v) = get("x-query-timeout") {
        match v.parse::<i64>() {
            Ok(n) if (1..=600_000).contains(&n) => {}
            Ok(n) if n <= 0 => {
                return Err("Invalid header 'x-query-timeout': Must be greater than 0.".into())
            }
            Ok(_) => {
                return Err(
                    "Invalid header 'x-query-timeout': Must be less than or equal to 600000."
                        .into(),
                )
            }
            Err(_) => {
                return Err(format!(
                    "Invalid header 'x-query-timeout': Invalid number '{v}'."
                ))
            }
        }
    }
    Ok(version)
}

pub async fn endpoint(
    State(state): State<Arc<FaunaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Header and body errors are 400 whatever the token (see fql::query_endpoint).
    let read = check_headers(&headers).and_then(|version| {
        parse_json::<Json>(&body)
            .map(|expr| (version, expr))
            .map_err(|e| format!("Request body is not valid JSON: {e}"))
    });
    let mut response = match read {
        Err(description) => AuthOutcome::unchecked().attach(protocol_error(
            StatusCode::BAD_REQUEST,
            "bad request",
            &description,
        )),
        Ok((version, expr)) => {
            let auth = state.auth.authenticate(&headers).await;
            let outcome = AuthOutcome::from_result(&auth);
            let response = match auth {
                Err(rejection) => refused_v4(&rejection),
                Ok(principal) => evaluate(&principal, version, &expr),
            };
            outcome.attach(response)
        }
    };
    response
        .headers_mut()
        .insert("x-txn-time", HeaderValue::from(state.next_txn_ts()));
    response
}

fn evaluate(principal: &Principal, version: u32, expr: &Json) -> Response {
    let single_key = expr
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next());
    let introduced = |name: &str| match name {
        "current_identity" | "current_token" => version >= V4,
        // `Identity()`, deprecated by `CurrentIdentity()`, exists in every version.
        "identity" => true,
        _ => false,
    };
    match single_key.filter(|(k, v)| v.is_null() && introduced(k)) {
        Some((k, _)) if k == "current_identity" || k == "identity" => match principal.sub() {
            Some(sub) => json_response(StatusCode::OK, json!({ "resource": sub })),
            None => query_error(
                "missing identity",
                "Authentication does not contain an identity",
            ),
        },
        Some((k, _)) if k == "current_token" => match principal {
            Principal::Jwt(id) => json_response(StatusCode::OK, json!({ "resource": id.payload })),
            Principal::Admin { .. } => {
                query_error("invalid token", "Token metadata is not accessible.")
            }
        },
        _ => {
            let keys = match expr {
                Json::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
                other => other.to_string(),
            };
            query_error(
                "invalid expression",
                &format!("No form/function found, or invalid argument keys: {{ {keys} }}."),
            )
        }
    }
}
