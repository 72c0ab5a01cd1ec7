//! `POST /query/1`: FQL v10 over HTTP. Request headers are validated as the
//! server does, the query is parsed and evaluated against the caller's
//! database, and the result is rendered in the `simple` or `tagged` format.

pub mod eval;
pub mod lexer;
pub mod parser;
pub mod value;

use super::auth::Principal;
use super::{refused_v10, AuthOutcome, FaunaState};
use crate::util::{json_response, parse_json};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use eval::{Access, Evaluator, QueryFailure};
use serde_json::{json, Map, Value as Json};
use std::sync::Arc;
use std::time::Instant;
use value::Value;

/// Largest `X-Query-Timeout-Ms` the server accepts.
const MAX_QUERY_TIMEOUT_MS: i64 = 600_000;

/// The request headers that shape a query.
#[derive(Debug, Clone, Default)]
pub struct QueryHeaders {
    pub tagged: bool,
    /// Echoed back as `query_tags` (`k=v,k2=v2`).
    pub query_tags: Option<String>,
}

/// Validates the v10 headers; the error is the `invalid_request` message.
pub fn parse_headers(headers: &HeaderMap) -> Result<QueryHeaders, String> {
    let get = |name: &str| -> Result<Option<String>, String> {
        match headers.get(name) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|_| format!("Invalid header '{name}': not valid text.")),
        }
    };
    let invalid = |name: &str, why: String| format!("Invalid header '{name}': {why}");

    let tagged = match get("x-format")?.as_deref() {
        // `decorated` (FQL-literal text) is a valid format on the server; the
        // stand-in accepts it and answers in `simple` (see README).
        None | Some("simple") | Some("decorated") => false,
        Some("tagged") => true,
        Some(other) => return Err(invalid("x-format", format!("Invalid format {other}"))),
    };
    for name in ["x-typecheck", "x-linearized", "x-performance-hints"] {
        if let Some(v) = get(name)? {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                return Err(invalid(name, "Must be a boolean value.".into()));
            }
        }
    }
    if let Some(v) = get("x-query-timeout-ms")? {
        match v.parse::<i64>() {
            Err(_) => {
                return Err(invalid(
                    "x-query-timeout-ms",
                    format!("Invalid number '{v}'."),
                ))
            }
            Ok(n) if n <= 0 => {
                return Err(invalid(
                    "x-query-timeout-ms",
                    "Must be greater than 0.".into(),
                ))
            }
            Ok(n) if n > MAX_QUERY_TIMEOUT_MS => {
                return Err(invalid(
                    "x-query-timeout-ms",
                    format!("Must be less than or equal to {MAX_QUERY_TIMEOUT_MS}."),
                ));
            }
            Ok(_) => {}
        }
    }
    if let Some(v) = get("x-max-contention-retries")? {
        match v.parse::<i32>() {
            Err(_) => {
                return Err(invalid(
                    "x-max-contention-retries",
                    format!("Invalid number '{v}'."),
                ))
            }
            Ok(n) if !(0..=7).contains(&n) => {
                return Err(invalid(
                    "x-max-contention-retries",
                    "Must be between 0 and 7.".into(),
                ));
            }
            Ok(_) => {}
        }
    }
    if let Some(v) = get("x-last-txn-ts")? {
        if v.parse::<i64>().is_err() {
            return Err(invalid(
                "x-last-txn-ts",
                format!("Invalid timestamp '{v}'."),
            ));
        }
    }
    let query_tags = match get("x-query-tags")? {
        None => None,
        Some(v) => {
            parse_query_tags(&v).map_err(|why| invalid("x-query-tags", why.into()))?;
            Some(v).filter(|v| !v.is_empty())
        }
    };
    Ok(QueryHeaders { tagged, query_tags })
}

/// `k=v,k2=v2`: keys and values `[A-Za-z0-9_]+`, key <= 40 bytes, value <= 80, <= 25 pairs, no duplicates.
pub fn parse_query_tags(text: &str) -> Result<Vec<(String, String)>, &'static str> {
    if text.len() > 3000 {
        return Err("header is too long");
    }
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    let mut pairs: Vec<(String, String)> = Vec::new();
    for pair in text.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            return Err("invalid tags");
        };
        if !word(k) || !word(v) {
            return Err("invalid tags");
        }
        pairs.push((k.to_owned(), v.to_owned()));
    }
    if pairs.len() > 25 {
        return Err("too many tags");
    }
    for (i, (k, v)) in pairs.iter().enumerate() {
        if k.len() > 40 {
            return Err("invalid key");
        }
        if v.len() > 80 {
            return Err("invalid value");
        }
        if pairs[..i].iter().any(|(k2, _)| k2 == k) {
            return Err("duplicate key");
        }
    }
    Ok(pairs)
}

/// Fauna's protocol error body, `{error:{code,message}}`.
fn protocol_error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        json!({ "error": { "code": code, "message": message } }),
    )
}

/// The query text plus variables for template values.
fn query_source(body: &Json, tagged: bool) -> Result<(String, Vec<(String, Value)>), String> {
    let Some(map) = body.as_object() else {
        return Err("Invalid request body: expected a JSON object".into());
    };
    let mut args = Vec::new();
    if let Some(arguments) = map.get("arguments") {
        let Some(arguments) = arguments.as_object() else {
            return Err("Invalid request body: `arguments` must be an object".into());
        };
        for (k, v) in arguments {
            let value =
                Value::decode(v, tagged).map_err(|e| format!("Invalid argument '{k}': {e}"))?;
            args.push((k.clone(), value));
        }
    }
    let text = match map.get("query") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Object(template)) => {
            let mut text = String::new();
            flatten_template(template, tagged, &mut text, &mut args)?;
            text
        }
        Some(_) => {
            return Err("Invalid request body: `query` must be a string or a template".into())
        }
        None => return Err("Invalid request body: missing field `query`".into()),
    };
    Ok((text, args))
}

/// Turns `{"fql": ["text", {"value": v}, {"fql": [...]}]}` into text; values become variables.
fn flatten_template(
    template: &Map<String, Json>,
    tagged: bool,
    text: &mut String,
    args: &mut Vec<(String, Value)>,
) -> Result<(), String> {
    let Some(Json::Array(parts)) = template.get("fql") else {
        return Err("Invalid request body: a query template needs an `fql` array".into());
    };
    for part in parts {
        match part {
            Json::String(s) => text.push_str(s),
            Json::Object(obj) if obj.contains_key("value") => {
                let name = format!("__devserver_value_{}", args.len());
                let value = Value::decode(&obj["value"], tagged)
                    .map_err(|e| format!("Invalid template value: {e}"))?;
                args.push((name.clone(), value));
                text.push(' ');
                text.push_str(&name);
                text.push(' ');
            }
            Json::Object(obj) if obj.contains_key("fql") => {
                flatten_template(obj, tagged, text, args)?
            }
            _ => return Err("Invalid request body: invalid query template fragment".into()),
        }
    }
    Ok(())
}

/// The `stats` object of every query response.
fn stats(ev: Option<(u64, u64, u64)>, started: Instant) -> Json {
    let (compute, reads, writes) = ev.unwrap_or((0, 0, 0));
    json!({
        "compute_ops": 1 + compute / 50,
        "read_ops": reads,
        "write_ops": writes,
        "query_time_ms": started.elapsed().as_millis() as u64,
        "contention_retries": 0,
        "storage_bytes_read": reads * 128,
        "storage_bytes_write": writes * 128,
        "rate_limits_hit": [],
    })
}

pub async fn query_endpoint(
    State(state): State<Arc<FaunaState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    // Header and body errors are 400 whatever the token: the server reads
    // the request before it looks the credentials up.
    let request = match read_request(&headers, &body) {
        Ok(request) => request,
        Err(message) => {
            return AuthOutcome::unchecked().attach(protocol_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &message,
            ))
        }
    };
    let auth = state.auth.authenticate(&headers).await;
    let outcome = AuthOutcome::from_result(&auth);
    let response = match auth {
        Ok(principal) => answer(&state, request, &principal, started),
        Err(rejection) => refused_v10(&rejection, request.params.query_tags.as_deref()),
    };
    outcome.attach(response)
}

/// A request whose headers and body are valid.
struct QueryRequest {
    params: QueryHeaders,
    text: String,
    args: Vec<(String, Value)>,
}

/// Validates the headers and the body; the error is the `invalid_request` message.
fn read_request(headers: &HeaderMap, body: &[u8]) -> Result<QueryRequest, String> {
    let params = parse_headers(headers)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err("No request body provided".into());
    }
    let body: Json = parse_json(body).map_err(|e| format!("Invalid request body: {e}"))?;
    let (text, args) = query_source(&body, params.tagged)?;
    Ok(QueryRequest { params, text, args })
}

fn answer(
    state: &FaunaState,
    request: QueryRequest,
    principal: &Principal,
    started: Instant,
) -> Response {
    let QueryRequest { params, text, args } = request;
    // Times are taken under the store lock so commits (and stream events) follow time order.
    let mut store = state.lock_store();
    let txn_ts = state.next_txn_ts();
    let (result, counters) = match parser::parse(&text) {
        Err(e) => (Err(QueryFailure::invalid_query(e)), None),
        Ok(expr) => {
            let access = access_for(principal);
            let token = match principal {
                Principal::Jwt(id) => Some(&id.payload),
                Principal::Admin { .. } => None,
            };
            // Evaluate on a copy so a failed query writes nothing, as in a transaction.
            let mut todos = store.collection(principal.database()).clone();
            let mut ev = Evaluator {
                access: &access,
                token,
                todos: &mut todos,
                txn_ts,
                reads: 0,
                writes: 0,
                compute: 0,
            };
            let result = ev.run(&expr, args);
            let counters = (ev.compute, ev.reads, ev.writes);
            if result.is_ok() {
                let db = principal.database();
                if counters.2 > 0 {
                    state
                        .streams
                        .record(db, store.collection(db), &todos, txn_ts);
                }
                *store.collection(db) = todos;
            }
            (result, Some(counters))
        }
    };
    drop(store);

    let mut out = Map::new();
    let status = match result {
        Ok(value) => {
            out.insert("data".into(), value.encode(params.tagged));
            StatusCode::OK
        }
        Err(failure) => {
            let mut error = json!({ "code": failure.code, "message": failure.message });
            if let Some(abort) = &failure.abort {
                error["abort"] = abort.encode(params.tagged);
            }
            out.insert("error".into(), error);
            StatusCode::BAD_REQUEST
        }
    };
    let summary = match out.get("error") {
        Some(e) => format!("error: {}", e["message"].as_str().unwrap_or_default()),
        None => String::new(),
    };
    out.insert("summary".into(), json!(summary));
    out.insert("txn_ts".into(), json!(txn_ts));
    out.insert("stats".into(), stats(counters, started));
    if let Some(tags) = &params.query_tags {
        out.insert("query_tags".into(), json!(tags));
    }
    out.insert("schema_version".into(), json!(0));
    // No `x-txn-time` header: v10 answers carry the time in `txn_ts` only.
    json_response(status, Json::Object(out))
}

/// What a principal may touch: `user` role tokens are limited to their own documents.
pub fn access_for(principal: &Principal) -> Access {
    match principal {
        Principal::Admin { .. } => Access::Admin,
        Principal::Jwt(id) => match &id.sub {
            Some(sub) if id.roles.iter().any(|r| r == "user") => Access::Owner(sub.clone()),
            _ => Access::Nothing,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tags_rules() {
        assert_eq!(parse_query_tags("a=1,b_2=x").unwrap().len(), 2);
        assert!(parse_query_tags("").unwrap().is_empty());
        assert_eq!(parse_query_tags("a=1,a=2"), Err("duplicate key"));
        assert_eq!(parse_query_tags("a-b=1"), Err("invalid tags"));
        assert_eq!(parse_query_tags("a="), Err("invalid tags"));
        assert_eq!(
            parse_query_tags(&format!("{}=1", "k".repeat(41))),
            Err("invalid key")
        );
        assert_eq!(
            parse_query_tags(&format!("k={}", "v".repeat(81))),
            Err("invalid value")
        );
        let many: Vec<String> = (0..26).map(|i| format!("k{i}=v")).collect();
        assert_eq!(parse_query_tags(&many.join(",")), Err("too many tags"));
    }

    #[test]
    fn header_validation_messages() {
        let mut h = HeaderMap::new();
        h.insert("x-query-timeout-ms", "abc".parse().unwrap());
        assert_eq!(
            parse_headers(&h).unwrap_err(),
            "Invalid header 'x-query-timeout-ms': Invalid number 'abc'."
        );
        let mut h = HeaderMap::new();
        h.insert("x-max-contention-retries", "8".parse().unwrap());
        assert!(parse_headers(&h).unwrap_err().contains("between 0 and 7"));
        let mut h = HeaderMap::new();
        h.insert("x-format", "tagged".parse().unwrap());
        h.insert("x-typecheck", "false".parse().unwrap());
        assert!(parse_headers(&h).unwrap().tagged);
    }

    #[test]
    fn templates_become_text_and_variables() {
        let body = json!({"query": {"fql": ["Todo.byId(", {"value": {"@int": "5"}}, ")", {"fql": [".id"]}]}});
        let (text, args) = query_source(&body, true).unwrap();
        assert_eq!(text, "Todo.byId( __devserver_value_0 ).id");
        assert_eq!(args[0].1, Value::Int(5));
    }
}
