//! Fault injection for the Fauna stand-in: the next N matching requests get
//! an error status, a delay, a raw body, or a dropped connection, so client
//! retry and error paths can be tested without a flaky network.

use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::sync::Mutex;

/// `POST /__admin/faults` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// How many matching requests this fault answers.
    #[serde(default = "one")]
    pub count: u32,
    /// Status to answer with; without one (and without `drop`) the request is only delayed.
    pub status: Option<u16>,
    /// Fauna error code; defaults from the status and the path's protocol
    /// (v10 429 -> `limit_exceeded`, v4 429 -> `too many requests`, ...).
    pub code: Option<String>,
    pub message: Option<String>,
    /// Seconds, sent as `Retry-After`. Fauna never sends it: this plays a
    /// gateway in front of Fauna (and browsers do not see it: it is not an
    /// `x-` header, so Fauna's CORS answer does not expose it).
    pub retry_after: Option<u64>,
    /// v10 429 only: whether the body carries `stats`. The ops-limit 429s do
    /// (the default); "too many pending requests" 429s do not.
    pub stats: Option<bool>,
    pub delay_ms: Option<u64>,
    /// Close the connection without answering.
    #[serde(default)]
    pub drop: bool,
    /// Raw text sent instead of a JSON body.
    pub body: Option<String>,
    /// Paths the fault applies to; all query paths when absent.
    pub paths: Option<Vec<String>>,
    /// A fault inside an accepted `/stream/1` response (only matches that path).
    pub stream: Option<StreamFault>,
    /// Data events a `drop` or `error` stream fault lets through first.
    pub after_events: Option<u64>,
}

/// What an injected stream fault does to an open event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StreamFault {
    /// Abort the connection mid-body.
    Drop,
    /// Send an error event (`code`, `message`) and end the body.
    Error,
    /// Hold each data event back for `delay_ms`.
    Delay,
}

/// The event stream endpoint; the only path stream faults match.
pub const STREAM_PATH: &str = "/stream/1";
/// The event feed endpoint.
pub const FEED_PATH: &str = "/feed/1";

fn one() -> u32 {
    1
}

impl FaultSpec {
    fn matches(&self, path: &str) -> bool {
        if self.stream.is_some() && path != STREAM_PATH {
            return false;
        }
        self.paths
            .as_ref()
            .is_none_or(|paths| paths.iter().any(|p| p == path))
    }

    /// The error code and message, defaulting from the status as the
    /// server sends them on `path`: v10 `ProtocolError` codes
    /// (ext/api/src/main/scala/api/fql2/FQL2Response.scala), v4 `ErrorResponse`
    /// codes on `/` (ext/api/src/main/scala/api/fql1/APIResponse.scala), and
    /// on `/stream/1` and `/feed/1` the v10 codes with their own 401 message.
    pub fn code_and_message(&self, path: &str) -> (String, String) {
        let status = self.status.unwrap_or(500);
        let (code, message) = match path {
            "/" => v4_default(status),
            STREAM_PATH | FEED_PATH => stream_default(status),
            _ => v10_default(status),
        };
        (
            self.code.clone().unwrap_or_else(|| code.to_owned()),
            self.message.clone().unwrap_or_else(|| message.to_owned()),
        )
    }

    /// A body in the shape the path's protocol uses.
    pub fn json_body(&self, path: &str) -> Json {
        let (code, message) = self.code_and_message(path);
        match path {
            "/" => json!({ "errors": [{ "code": code, "description": message }] }),
            "/graphql" => {
                json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
            }
            _ => {
                let mut body = json!({ "error": { "code": code, "message": message } });
                // The ops-limit 429s carry stats, so drivers can report the limit hit.
                if self.status == Some(429) && self.stats != Some(false) {
                    body["stats"] = json!({
                        "compute_ops": 0, "read_ops": 0, "write_ops": 0, "query_time_ms": 0,
                        "contention_retries": 0, "storage_bytes_read": 0, "storage_bytes_write": 0,
                        "rate_limits_hit": ["read"]
                    });
                }
                body
            }
        }
    }
}

const DISABLED: &str =
    "Your account has been disabled. Please create a ticket at https://support.fauna.com";

fn v10_default(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("invalid_request", "Invalid request."),
        401 => ("unauthorized", "Access token required"),
        403 => ("forbidden", "Access denied"),
        404 => ("not_found", "Not Found"),
        405 => ("method_not_allowed", "Method not allowed."),
        409 => (
            "contended_transaction",
            "Transaction was aborted due to detection of concurrent modification.",
        ),
        410 => ("forbidden", DISABLED),
        413 => ("request_size_exceeded", "Request entity is too large."),
        429 => ("limit_exceeded", "Rate limit exceeded"),
        440 | 503 => ("time_out", "Query timed out."),
        _ => ("internal_error", "Injected fault (devserver)."),
    }
}

/// Stream and feed answers: the v10 codes, but a refused secret gets the
/// message of `StreamResponse.Error.Unauthorized` / `FeedResponse.Error.Unauthorized`
/// (ext/api/src/main/scala/api/fql2/StreamResponse.scala, FeedResponse.scala).
fn stream_default(status: u16) -> (&'static str, &'static str) {
    match status {
        401 => ("unauthorized", STREAM_UNAUTHORIZED),
        _ => v10_default(status),
    }
}

/// The message of a stream or feed request whose secret is refused.
pub const STREAM_UNAUTHORIZED: &str = "Invalid token, unable to authenticate request";

fn v4_default(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => ("bad request", "Bad Request"),
        401 => ("unauthorized", "Unauthorized"),
        403 => (
            "permission denied",
            "Insufficient privileges to perform the action.",
        ),
        410 => ("permission denied", DISABLED),
        404 => ("not found", "Not Found"),
        405 => ("method not allowed", "Allowed methods are POST."),
        408 => ("request timeout", "Request timed out."),
        409 => (
            "contended transaction",
            "Transaction was aborted due to detection of concurrent modification.",
        ),
        413 => ("request too large", "Request entity is too large."),
        429 => ("too many requests", "Too many pending requests."),
        440 => (
            "processing time limit exceeded",
            "Query processing time limit exceeded.",
        ),
        503 => ("time out", "Query timed out."),
        540 => ("operator error", "Injected fault (devserver)."),
        _ => ("internal server error", "Injected fault (devserver)."),
    }
}

/// Queued faults, consumed in order.
#[derive(Default)]
pub struct Faults {
    queue: Mutex<Vec<(FaultSpec, u32)>>,
}

impl Faults {
    pub fn push(&self, spec: FaultSpec) {
        let count = spec.count;
        if count > 0 {
            self.lock().push((spec, count));
        }
    }

    /// Takes one use of the first fault matching `path`.
    pub fn take(&self, path: &str) -> Option<FaultSpec> {
        let mut queue = self.lock();
        let index = queue.iter().position(|(spec, _)| spec.matches(path))?;
        let (spec, remaining) = &mut queue[index];
        let spec = spec.clone();
        *remaining -= 1;
        if *remaining == 0 {
            queue.remove(index);
        }
        Some(spec)
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Faults still queued and their remaining counts.
    pub fn pending(&self) -> usize {
        self.lock().iter().map(|(_, n)| *n as usize).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(FaultSpec, u32)>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: Json) -> FaultSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn faults_are_consumed_in_order_and_by_path() {
        let faults = Faults::default();
        faults.push(spec(
            json!({"count": 2, "status": 429, "paths": ["/query/1"]}),
        ));
        faults.push(spec(json!({"status": 503})));
        assert_eq!(faults.take("/").unwrap().status, Some(503));
        assert_eq!(faults.take("/query/1").unwrap().status, Some(429));
        assert_eq!(faults.take("/query/1").unwrap().status, Some(429));
        assert!(faults.take("/query/1").is_none());
    }

    #[test]
    fn bodies_follow_each_protocol() {
        let s = spec(json!({"status": 429}));
        assert_eq!(s.json_body("/query/1")["error"]["code"], "limit_exceeded");
        assert_eq!(
            s.json_body("/query/1")["error"]["message"],
            "Rate limit exceeded"
        );
        assert!(s.json_body("/query/1")["stats"].is_object());
        let pending = spec(json!({"status": 429, "stats": false}));
        assert!(pending.json_body("/query/1").get("stats").is_none());
        assert_eq!(s.json_body("/")["errors"][0]["code"], "too many requests");
        assert!(s.json_body("/")["errors"][0].get("position").is_none());
        assert_eq!(
            s.json_body("/graphql")["errors"][0]["extensions"]["code"],
            "limit_exceeded"
        );
    }

    #[test]
    fn stream_paths_take_v10_codes_and_their_own_401_message() {
        let s = spec(json!({"status": 401}));
        for path in [STREAM_PATH, FEED_PATH] {
            assert_eq!(
                s.code_and_message(path),
                ("unauthorized".into(), STREAM_UNAUTHORIZED.into())
            );
        }
        assert_eq!(s.code_and_message("/query/1").1, "Access token required");
        assert_eq!(s.code_and_message("/").1, "Unauthorized");
        let s = spec(json!({"status": 503, "paths": [STREAM_PATH]}));
        assert_eq!(s.code_and_message(STREAM_PATH).0, "time_out");
    }

    #[test]
    fn v4_and_v10_codes_differ_per_status() {
        for (status, v10, v4) in [
            (503, "time_out", "time out"),
            (440, "time_out", "processing time limit exceeded"),
            (410, "forbidden", "permission denied"),
            (540, "internal_error", "operator error"),
            (500, "internal_error", "internal server error"),
            (409, "contended_transaction", "contended transaction"),
        ] {
            let s = spec(json!({ "status": status }));
            assert_eq!(s.json_body("/query/1")["error"]["code"], v10, "{status}");
            assert_eq!(s.json_body("/")["errors"][0]["code"], v4, "{status}");
        }
    }
}
