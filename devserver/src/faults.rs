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
    /// Fauna error code; defaults from the status (429 -> `limit_exceeded`, ...).
    pub code: Option<String>,
    pub message: Option<String>,
    /// Seconds, sent as `Retry-After`.
    pub retry_after: Option<u64>,
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

fn one() -> u32 {
    1
}

impl FaultSpec {
    fn matches(&self, path: &str) -> bool {
        if self.stream.is_some() && path != "/stream/1" {
            return false;
        }
        self.paths
            .as_ref()
            .is_none_or(|paths| paths.iter().any(|p| p == path))
    }

    /// The error code, defaulting from the status as Fauna uses them.
    pub fn code(&self) -> String {
        if let Some(code) = &self.code {
            return code.clone();
        }
        match self.status.unwrap_or(500) {
            400 => "invalid_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            409 => "contended_transaction",
            413 => "request_size_exceeded",
            429 => "limit_exceeded",
            440 | 503 => "time_out",
            _ => "internal_error",
        }
        .to_owned()
    }

    pub fn message(&self) -> String {
        if let Some(message) = &self.message {
            return message.clone();
        }
        match self.status.unwrap_or(500) {
            // The message of StreamResponse.Error.Unauthorized / FeedResponse.Error.Unauthorized.
            401 if self.stream_path() => "Invalid token, unable to authenticate request",
            401 => "Access token required",
            403 => "Access denied",
            429 => "Rate limit exceeded",
            440 | 503 => "Query timed out.",
            409 => "Transaction was aborted due to detection of concurrent modification.",
            _ => "Injected fault (devserver).",
        }
        .to_owned()
    }

    fn stream_path(&self) -> bool {
        self.paths
            .as_ref()
            .is_some_and(|paths| paths.iter().all(|p| p == "/stream/1" || p == "/feed/1"))
    }

    /// A body in the shape the path's protocol uses.
    pub fn json_body(&self, path: &str) -> Json {
        let (code, message) = (self.code(), self.message());
        match path {
            "/" => json!({ "errors": [{ "code": code, "description": message }] }),
            "/graphql" => {
                json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
            }
            _ => {
                let mut body = json!({ "error": { "code": code, "message": message } });
                // Fauna's 429 carries stats, so drivers can report the limit hit.
                if self.status == Some(429) {
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
        assert_eq!(s.json_body("/")["errors"][0]["code"], "limit_exceeded");
        assert_eq!(
            s.json_body("/graphql")["errors"][0]["extensions"]["code"],
            "limit_exceeded"
        );
    }
}
