//! What an answer from Fauna means: success, refresh the token, back off and
//! retry, or a failure with a stable code. v10 answers are classed by `code`,
//! as the `fauna` driver does (fauna-js 2.5 `getServiceError`, src/errors.ts):
//! so 410 `forbidden` (account disabled) is `forbidden`, 540 `internal_error`
//! is `service_error`, and every 429 `limit_exceeded` is throttling, with or
//! without `stats`. v4 answers have codes of their own (the server's
//! `APIResponse`, ext/api/src/main/scala/api/fql1/APIResponse.scala in
//! fauna/faunadb) and are classed as the `faunadb` driver does, by status for
//! protocol errors: see [`v4_protocol_error`].

use super::backoff::{after_throttle, Throttle};
use super::error::{Error, ErrorCode};
use super::options::QueryOptions;
use super::text;

/// Which of Fauna's APIs answered: their bodies differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// FQL v10 `/query/1`: `{data, ...}` or `{error: {code, message}}`.
    V10,
    /// Legacy FQL v4: `{resource}` or `{errors: [{code, description}]}`.
    V4,
    /// GraphQL: `{data}` and/or `{errors: [...]}`.
    GraphQl,
}

/// The parts of an answer that decide its meaning, read off the parsed body
/// by the glue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Reply {
    pub status: u16,
    /// The body parsed as a JSON object.
    pub is_json_object: bool,
    /// v10 `data`, v4 `resource`, GraphQL `data` is present.
    pub has_result: bool,
    /// v10 `error.code`, v4 `errors[0].code`.
    pub error_code: Option<String>,
    /// v10 `error.message`, v4 `errors[0].description`, GraphQL `errors[0].message`.
    pub error_message: Option<String>,
    /// GraphQL: a non-empty `errors` array.
    pub has_graphql_errors: bool,
    /// The `Retry-After` header, as sent.
    pub retry_after: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    Success,
    /// 401: refresh the token and retry once.
    Unauthorized,
    /// 429 `limit_exceeded`: retry after a backoff, if attempts remain.
    Throttled {
        retry_after_ms: Option<f64>,
    },
    Failed(Error),
}

pub fn classify(api: Api, reply: &Reply) -> Verdict {
    let status = reply.status;
    let code = reply.error_code.as_deref();
    let fail = |kind: ErrorCode, what: &str| {
        let message = match &reply.error_message {
            Some(m) => [what, " (HTTP ", &text::uint(status.into()), "): ", m].concat(),
            None => [what, " (HTTP ", &text::uint(status.into()), ")."].concat(),
        };
        Verdict::Failed(
            Error::new(kind, message)
                .with_status(status)
                .with_fauna_code(reply.error_code.clone()),
        )
    };

    if status == 401 || code == Some("unauthorized") {
        return Verdict::Unauthorized;
    }
    if status == 429 || code == Some("limit_exceeded") || code == Some("too many requests") {
        return Verdict::Throttled {
            retry_after_ms: reply.retry_after.as_deref().and_then(parse_retry_after),
        };
    }
    if !reply.is_json_object {
        return match status {
            500..=599 => fail(ErrorCode::ServiceError, "Fauna or a gateway failed"),
            _ => fail(ErrorCode::ProtocolError, "The answer is not Fauna's JSON"),
        };
    }
    if api == Api::V4 {
        if let Some((kind, what)) = v4_protocol_error(status, code) {
            return fail(kind, what);
        }
    }
    match code {
        Some("forbidden") => return fail(ErrorCode::Forbidden, "Fauna refused access"),
        Some("contended_transaction") => {
            return fail(
                ErrorCode::ContendedTransaction,
                "The transaction was contended",
            )
        }
        Some("time_out") => return fail(ErrorCode::Timeout, "Fauna timed out"),
        Some("invalid_request" | "request_size_exceeded" | "not_found" | "method_not_allowed") => {
            return fail(ErrorCode::InvalidRequest, "Fauna refused the request")
        }
        Some("internal_error") => return fail(ErrorCode::ServiceError, "Fauna failed"),
        _ => {}
    }
    // Fauna's own server has no GraphQL: its `/graphql` is the v4 router's 404.
    if api == Api::GraphQl && status == 404 {
        return fail(
            ErrorCode::InvalidRequest,
            "No GraphQL endpoint at graphqlEndpoint (Fauna's own server has none)",
        );
    }
    if api == Api::GraphQl && reply.has_graphql_errors {
        return fail(ErrorCode::GraphqlError, "The GraphQL request failed");
    }
    match status {
        200..=299 if reply.has_result => Verdict::Success,
        200..=299 => fail(ErrorCode::ProtocolError, "Fauna's answer has no result"),
        // v4 reports query errors such as `instance not found` with 404.
        400 | 404 if api == Api::V4 && code.is_some() => {
            fail(ErrorCode::QueryFailed, "The query failed")
        }
        400 if code.is_some() => fail(ErrorCode::QueryFailed, "The query failed"),
        400 | 404 | 405 | 413 => fail(ErrorCode::InvalidRequest, "Fauna refused the request"),
        403 | 410 => fail(ErrorCode::Forbidden, "Fauna refused access"),
        409 => fail(
            ErrorCode::ContendedTransaction,
            "The transaction was contended",
        ),
        440 => fail(ErrorCode::Timeout, "Fauna timed out"),
        500..=599 => fail(ErrorCode::ServiceError, "Fauna or a gateway failed"),
        _ => fail(ErrorCode::ProtocolError, "Unexpected answer from Fauna"),
    }
}

/// What the caller does after an answer, when it is not a failure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Success: the call resolves with the body.
    Done,
    /// 401: get a token other than the one sent, and send once more.
    Refresh,
    /// Throttled: wait this many ms, then send attempt `attempt + 1`.
    Wait(f64),
}

/// The next step after attempt `attempt` (1-based) got `reply`; `refreshed`:
/// the token was already replaced once after a 401. `random` in `[0, 1)`
/// spreads the backoff. Fails with the call's error.
pub fn next_step(
    api: Api,
    reply: &Reply,
    attempt: u32,
    refreshed: bool,
    random: f64,
    o: &QueryOptions,
) -> Result<Step, Error> {
    match classify(api, reply) {
        Verdict::Success => Ok(Step::Done),
        Verdict::Unauthorized if !refreshed => Ok(Step::Refresh),
        Verdict::Unauthorized => Err(Error::new(
            ErrorCode::Unauthorized,
            "Fauna rejected the user's token.",
        )
        .with_status(reply.status)
        .with_fauna_code(reply.error_code.clone())),
        Verdict::Throttled { retry_after_ms } => match after_throttle(
            attempt,
            o.max_attempts,
            retry_after_ms,
            random,
            o.max_backoff_ms,
        ) {
            Throttle::RetryAfter(ms) => Ok(Step::Wait(ms)),
            Throttle::GiveUp => {
                let mut error = Error::new(
                    ErrorCode::Throttled,
                    [
                        "Fauna is rate limiting this database; gave up after ",
                        &text::uint(attempt.into()),
                        " attempt(s).",
                    ]
                    .concat(),
                )
                .with_status(reply.status)
                .with_fauna_code(reply.error_code.clone());
                error.retry_after_ms = retry_after_ms;
                Err(error)
            }
        },
        Verdict::Failed(error) => Err(error),
    }
}

/// A v4 protocol error: the server's `ErrorResponse` codes, each with its
/// status. Query errors (`invalid expression`, `instance not found`, ...)
/// are not here: they are `query_failed`.
fn v4_protocol_error(status: u16, code: Option<&str>) -> Option<(ErrorCode, &'static str)> {
    Some(match (status, code?) {
        (400, "bad request")
        | (404, "not found")
        | (405, "method not allowed")
        | (412, "precondition failed")
        | (413, "request too large") => (ErrorCode::InvalidRequest, "Fauna refused the request"),
        // 403 for missing privileges, 410 for a disabled account (or v4 disabled).
        (403 | 410, "permission denied" | "forbidden") => {
            (ErrorCode::Forbidden, "Fauna refused access")
        }
        (409, "contended transaction") => (
            ErrorCode::ContendedTransaction,
            "The transaction was contended",
        ),
        // The query's own time limit ran out.
        (440, "processing time limit exceeded") | (408, "request timeout") => {
            (ErrorCode::Timeout, "Fauna timed out")
        }
        // `ServiceTimeout`: an unresponsive Fauna process, which the
        // `faunadb` driver reports as unavailable (503), not as the query's timeout.
        (503, "time out") => (ErrorCode::ServiceError, "Fauna is unavailable"),
        (500, _) | (540, "operator error") => (ErrorCode::ServiceError, "Fauna failed"),
        _ => return None,
    })
}

/// `Retry-After` as delay-seconds, a whole number (RFC 9110). An HTTP date
/// is not honoured: the backoff applies instead. However many digits: a
/// wait too long for any backoff must not read as no wait asked for.
pub fn parse_retry_after(value: &str) -> Option<f64> {
    let digits = value.trim_ascii();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = digits
        .bytes()
        .fold(0.0, |n, b| n * 10.0 + f64::from(b - b'0'));
    Some(seconds * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_refresh_once_and_back_off_until_attempts_run_out() {
        let o = QueryOptions::default();
        let ok = Reply {
            status: 200,
            is_json_object: true,
            has_result: true,
            ..Reply::default()
        };
        assert_eq!(next_step(Api::V10, &ok, 1, false, 0.5, &o), Ok(Step::Done));
        let denied = json(401, Some("unauthorized"));
        assert_eq!(
            next_step(Api::V10, &denied, 1, false, 0.5, &o),
            Ok(Step::Refresh)
        );
        let e = next_step(Api::V10, &denied, 1, true, 0.5, &o).unwrap_err();
        assert_eq!(
            (e.code, e.http_status, e.fauna_code.as_deref()),
            (ErrorCode::Unauthorized, Some(401), Some("unauthorized"))
        );
        let throttled = Reply {
            retry_after: Some("2".into()),
            ..json(429, Some("limit_exceeded"))
        };
        assert_eq!(
            next_step(Api::V10, &throttled, 1, false, 0.5, &o),
            Ok(Step::Wait(2_000.0))
        );
        let e = next_step(Api::V10, &throttled, 3, false, 0.5, &o).unwrap_err();
        assert_eq!(e.code, ErrorCode::Throttled);
        assert_eq!(e.retry_after_ms, Some(2_000.0));
        assert!(e.message.contains("after 3 attempt(s)"), "{}", e.message);
        let e = next_step(Api::V10, &json(403, Some("forbidden")), 1, false, 0.5, &o);
        assert_eq!(e.unwrap_err().code, ErrorCode::Forbidden);
    }

    fn json(status: u16, code: Option<&str>) -> Reply {
        Reply {
            status,
            is_json_object: true,
            error_code: code.map(str::to_owned),
            error_message: code.map(|c| format!("message for {c}")),
            ..Reply::default()
        }
    }

    fn failed(api: Api, reply: &Reply) -> Error {
        match classify(api, reply) {
            Verdict::Failed(e) => e,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn success_needs_a_result() {
        let ok = Reply {
            has_result: true,
            ..json(200, None)
        };
        assert_eq!(classify(Api::V10, &ok), Verdict::Success);
        assert_eq!(
            classify(
                Api::V4,
                &Reply {
                    status: 201,
                    ..ok.clone()
                }
            ),
            Verdict::Success
        );
        assert_eq!(
            failed(Api::V10, &json(200, None)).code,
            ErrorCode::ProtocolError
        );
    }

    #[test]
    fn every_v10_code_maps_to_a_stable_error() {
        let cases = [
            (400, "invalid_query", ErrorCode::QueryFailed),
            (400, "abort", ErrorCode::QueryFailed),
            (400, "document_not_found", ErrorCode::QueryFailed),
            (400, "permission_denied", ErrorCode::QueryFailed),
            (400, "constraint_failure", ErrorCode::QueryFailed),
            (400, "invalid_request", ErrorCode::InvalidRequest),
            (403, "forbidden", ErrorCode::Forbidden),
            (404, "not_found", ErrorCode::InvalidRequest),
            (
                409,
                "contended_transaction",
                ErrorCode::ContendedTransaction,
            ),
            (413, "request_size_exceeded", ErrorCode::InvalidRequest),
            (440, "time_out", ErrorCode::Timeout),
            (503, "time_out", ErrorCode::Timeout),
            (500, "internal_error", ErrorCode::ServiceError),
            (502, "bad_gateway", ErrorCode::ServiceError),
            (503, "unavailable", ErrorCode::ServiceError),
        ];
        for (status, code, expected) in cases {
            let e = failed(Api::V10, &json(status, Some(code)));
            assert_eq!(e.code, expected, "{status} {code}");
            assert_eq!(e.http_status, Some(status));
            assert_eq!(e.fauna_code.as_deref(), Some(code));
            assert!(e.message.contains(&format!("message for {code}")));
        }
    }

    #[test]
    fn statuses_decide_when_there_is_no_code() {
        for (status, expected) in [
            (400, ErrorCode::InvalidRequest),
            (403, ErrorCode::Forbidden),
            (409, ErrorCode::ContendedTransaction),
            (440, ErrorCode::Timeout),
            (504, ErrorCode::ServiceError),
            (302, ErrorCode::ProtocolError),
        ] {
            assert_eq!(
                failed(Api::V10, &json(status, None)).code,
                expected,
                "{status}"
            );
        }
    }

    #[test]
    fn bodies_that_are_not_json() {
        let html = |status| Reply {
            status,
            ..Reply::default()
        };
        assert_eq!(failed(Api::V10, &html(200)).code, ErrorCode::ProtocolError);
        assert_eq!(failed(Api::V10, &html(400)).code, ErrorCode::ProtocolError);
        assert_eq!(failed(Api::V10, &html(502)).code, ErrorCode::ServiceError);
        assert_eq!(classify(Api::V10, &html(401)), Verdict::Unauthorized);
        assert!(matches!(
            classify(Api::V10, &html(429)),
            Verdict::Throttled { .. }
        ));
    }

    #[test]
    fn unauthorized_and_throttled_are_retry_decisions() {
        assert_eq!(
            classify(Api::V10, &json(401, Some("unauthorized"))),
            Verdict::Unauthorized
        );
        assert_eq!(
            classify(Api::V4, &json(401, Some("unauthorized"))),
            Verdict::Unauthorized
        );
        let mut r = json(429, Some("limit_exceeded"));
        assert_eq!(
            classify(Api::V10, &r),
            Verdict::Throttled {
                retry_after_ms: None
            }
        );
        r.retry_after = Some("2".into());
        assert_eq!(
            classify(Api::V10, &r),
            Verdict::Throttled {
                retry_after_ms: Some(2000.0)
            }
        );
        r.retry_after = Some("Wed, 21 Oct 2015 07:28:00 GMT".into());
        assert_eq!(
            classify(Api::V10, &r),
            Verdict::Throttled {
                retry_after_ms: None
            }
        );
    }

    #[test]
    fn every_v4_code_maps_as_the_v4_server_means_it() {
        let cases = [
            (400, "invalid expression", ErrorCode::QueryFailed),
            (400, "missing identity", ErrorCode::QueryFailed),
            (404, "instance not found", ErrorCode::QueryFailed),
            (400, "bad request", ErrorCode::InvalidRequest),
            (404, "not found", ErrorCode::InvalidRequest),
            (405, "method not allowed", ErrorCode::InvalidRequest),
            (413, "request too large", ErrorCode::InvalidRequest),
            (403, "permission denied", ErrorCode::Forbidden),
            (410, "permission denied", ErrorCode::Forbidden),
            (
                409,
                "contended transaction",
                ErrorCode::ContendedTransaction,
            ),
            (440, "processing time limit exceeded", ErrorCode::Timeout),
            (503, "time out", ErrorCode::ServiceError),
            (500, "internal server error", ErrorCode::ServiceError),
            (540, "operator error", ErrorCode::ServiceError),
        ];
        for (status, code, expected) in cases {
            let e = failed(Api::V4, &json(status, Some(code)));
            assert_eq!(e.code, expected, "{status} {code}");
            assert_eq!(e.fauna_code.as_deref(), Some(code));
        }
        assert!(matches!(
            classify(Api::V4, &json(429, Some("too many requests"))),
            Verdict::Throttled { .. }
        ));
        assert_eq!(
            classify(Api::V4, &json(401, Some("unauthorized"))),
            Verdict::Unauthorized
        );
    }

    #[test]
    fn new_v10_statuses_are_judged_by_code_as_the_driver_does() {
        let e = failed(Api::V10, &json(410, Some("forbidden")));
        assert_eq!((e.code, e.http_status), (ErrorCode::Forbidden, Some(410)));
        let e = failed(Api::V10, &json(540, Some("internal_error")));
        assert_eq!(
            (e.code, e.http_status),
            (ErrorCode::ServiceError, Some(540))
        );
        // "Too many pending requests" 429s carry no stats: still throttling.
        let pending = Reply {
            error_message: Some("Too many pending requests.".into()),
            ..json(429, Some("limit_exceeded"))
        };
        assert_eq!(
            classify(Api::V10, &pending),
            Verdict::Throttled {
                retry_after_ms: None
            }
        );
        for (status, code) in [(405, "method_not_allowed"), (404, "not_found")] {
            assert_eq!(
                failed(Api::V10, &json(status, Some(code))).code,
                ErrorCode::InvalidRequest
            );
        }
        // A 410 or 540 without Fauna's JSON (a gateway's page).
        let html = |status| Reply {
            status,
            ..Reply::default()
        };
        assert_eq!(failed(Api::V10, &html(540)).code, ErrorCode::ServiceError);
        assert_eq!(
            failed(Api::V10, &json(410, None)).code,
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn v4_errors() {
        let e = failed(Api::V4, &json(400, Some("invalid expression")));
        assert_eq!(
            (e.code, e.fauna_code.as_deref()),
            (ErrorCode::QueryFailed, Some("invalid expression"))
        );
        let e = failed(Api::V4, &json(404, Some("instance not found")));
        assert_eq!(e.code, ErrorCode::QueryFailed);
        assert_eq!(
            failed(Api::V4, &json(403, Some("permission denied"))).code,
            ErrorCode::Forbidden
        );
    }

    #[test]
    fn graphql_errors() {
        let r = Reply {
            has_result: true,
            has_graphql_errors: true,
            ..json(200, None)
        };
        assert_eq!(failed(Api::GraphQl, &r).code, ErrorCode::GraphqlError);
        let ok = Reply {
            has_result: true,
            ..json(200, None)
        };
        assert_eq!(classify(Api::GraphQl, &ok), Verdict::Success);
        // The open-sourced server's answer to `/graphql`: the v4 router's 404.
        let not_found = Reply {
            has_graphql_errors: true,
            ..json(404, None)
        };
        let e = failed(Api::GraphQl, &not_found);
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("has none"), "{}", e.message);
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("0"), Some(0.0));
        assert_eq!(parse_retry_after(" 2 "), Some(2000.0));
        assert_eq!(parse_retry_after("1.5"), None);
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after("inf"), None);
        assert_eq!(parse_retry_after(""), None);
        assert_eq!(parse_retry_after("+5"), None);
        // Issue #10, point 9: longer than any backoff, not "no Retry-After".
        assert_eq!(parse_retry_after("1000000000"), Some(1e12));
        assert_eq!(parse_retry_after(&"9".repeat(400)), Some(f64::INFINITY));
        assert_eq!(parse_retry_after("12a"), None);
        assert_eq!(parse_retry_after("999999999"), Some(999_999_999_000.0));
        assert_eq!(parse_retry_after("4294967296"), Some(4_294_967_296_000.0));
    }
}
