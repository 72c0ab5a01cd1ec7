//! Small helpers shared by both stand-ins.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, with a fraction (for exact `exp`/`nbf` checks).
pub fn now_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Whole seconds since the Unix epoch (JWT `NumericDate`).
pub fn now_secs() -> i64 {
    now_secs_f64() as i64
}

/// Microseconds since the Unix epoch.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// `len` random base62 characters, as in Clerk ids (`user_…`, `sess_…`).
pub fn random_base62(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A JSON response with a status.
pub fn json_response(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// Parses a JSON request body; an empty body parses as `{}` so optional fields work.
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// Formats microseconds since the epoch as ISO-8601 UTC with microseconds,
/// as Fauna renders times (e.g. `2024-05-01T12:00:00.123456Z`).
pub fn iso_time(micros: i64) -> String {
    let nanos = i128::from(micros) * 1000;
    match time::OffsetDateTime::from_unix_timestamp_nanos(nanos) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        ),
        Err(_) => "1970-01-01T00:00:00Z".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_has_microseconds() {
        assert_eq!(
            iso_time(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
    }

    #[test]
    fn base62_ids_have_the_requested_length() {
        let id = random_base62(27);
        assert_eq!(id.len(), 27);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
