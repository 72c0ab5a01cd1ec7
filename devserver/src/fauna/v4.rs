//! `POST /`: the legacy FQL v4 wire protocol, only `CurrentIdentity()` and
//! `CurrentToken()` - enough for code written against the `faunadb` driver
//! to check that a Clerk token is accepted.

use super::auth::Principal;
use super::{AuthOutcome, FaunaState};
use crate::util::{json_response, parse_json};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// v4's error body: `{"errors":[{"position":[],"code","description"}]}`.
fn v4_error(status: StatusCode, code: &str, description: &str) -> Response {
    json_response(
        status,
        json!({ "errors": [{ "position": [], "code": code, "description": description }] }),
    )
}

/// v4's 401, exactly as the server sends it.
fn unauthorized_v4() -> Response {
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        json!({ "errors": [{ "code": "unauthorized", "description": "Unauthorized" }] }),
    );
    response.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static("Basic realm=\"Unauthorized\""),
    );
    response
}

/// Validates v4 headers; the error is a `bad request` description.
fn check_headers(headers: &HeaderMap) -> Result<(), String> {
    let get = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{fffd}").trim().to_owned())
    };
    if let Some(v) = get("x-faunadb-api-version") {
        if !matches!(v.as_str(), "4" | "4.0") {
            return Err(format!(
                "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version '{v}'."
            ));
        }
    }
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
    Ok(())
}

pub async fn endpoint(
    State(state): State<Arc<FaunaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = state.auth.authenticate(&headers).await;
    let outcome = AuthOutcome::from_result(&auth);
    let response = match (check_headers(&headers), auth) {
        (Err(description), _) => v4_error(StatusCode::BAD_REQUEST, "bad request", &description),
        (Ok(()), Err(_)) => unauthorized_v4(),
        (Ok(()), Ok(principal)) => evaluate(&principal, &body),
    };
    let mut response = outcome.attach(response);
    response
        .headers_mut()
        .insert("x-txn-time", HeaderValue::from(state.next_txn_ts()));
    response
}

fn evaluate(principal: &Principal, body: &[u8]) -> Response {
    let expr: Json = match parse_json(body) {
        Ok(e) => e,
        Err(e) => {
            return v4_error(
                StatusCode::BAD_REQUEST,
                "bad request",
                &format!("Request body is not valid JSON: {e}"),
            )
        }
    };
    let single_key = expr
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next());
    match single_key {
        Some((k, Json::Null)) if k == "current_identity" => match principal.sub() {
            Some(sub) => json_response(StatusCode::OK, json!({ "resource": sub })),
            None => v4_error(
                StatusCode::BAD_REQUEST,
                "missing identity",
                "Authentication does not contain an identity",
            ),
        },
        Some((k, Json::Null)) if k == "current_token" => match principal {
            Principal::Jwt(id) => json_response(StatusCode::OK, json!({ "resource": id.payload })),
            Principal::Admin { .. } => v4_error(
                StatusCode::BAD_REQUEST,
                "invalid token",
                "Token metadata is not accessible.",
            ),
        },
        _ => {
            let keys = match &expr {
                Json::Object(map) => map.keys().cloned().collect::<Vec<_>>().join(", "),
                other => other.to_string(),
            };
            v4_error(
                StatusCode::BAD_REQUEST,
                "invalid expression",
                &format!("No form/function found, or invalid argument keys: {{ {keys} }}."),
            )
        }
    }
}
