//! The one error type of the crate. Every failure a caller can see is an
//! [`Error`] with a stable [`ErrorCode`]; the glue turns it into a JS
//! `ClerkFaunaError` whose `code` is [`ErrorCode::as_str`].

use std::fmt;

use super::request::push_json_string;
use super::text::uint;

/// Stable, machine-readable error codes. Callers switch on these strings, so
/// they never change once published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// `getToken` resolved `null`: nobody is signed in.
    SignedOut,
    /// `getToken` threw or rejected (offline, network, not in a browser).
    TokenUnavailable,
    /// `getToken` did not settle within `getTokenTimeoutMs`.
    TokenTimeout,
    /// The token is not a decodable JWT.
    MalformedToken,
    /// The cache was cleared while the call waited for a token.
    Cleared,
    /// Fauna refused the token, even after one refresh.
    Unauthorized,
    /// Fauna answered 403 `forbidden`.
    Forbidden,
    /// Fauna ran the query and it failed (HTTP 400 with a query error code).
    QueryFailed,
    /// Fauna refused the request itself (bad header, wrong path, too large).
    InvalidRequest,
    /// Fauna kept answering 429 `limit_exceeded` after every allowed attempt.
    Throttled,
    /// Fauna answered 409 `contended_transaction`.
    ContendedTransaction,
    /// The request timed out on the client, or Fauna answered `time_out`.
    Timeout,
    /// Fauna or a gateway failed (5xx).
    ServiceError,
    /// The request never got an answer (connection refused, dropped, CORS).
    NetworkError,
    /// The answer was not what Fauna sends (not JSON, or missing its fields).
    ProtocolError,
    /// A GraphQL response carried `errors`.
    GraphqlError,
    /// An option or argument passed to this library is not valid.
    InvalidOption,
    /// The fetch wrapper was asked to send the token to an origin that is
    /// neither an endpoint nor in `allowedOrigins` (raised in ts/fetch.ts).
    OriginNotAllowed,
    /// The `FaunaClient` or its `TokenCache` was freed.
    Freed,
}

impl ErrorCode {
    /// Every code (a new variant goes here too, for [`ErrorCode::parse`]).
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::SignedOut,
        ErrorCode::TokenUnavailable,
        ErrorCode::TokenTimeout,
        ErrorCode::MalformedToken,
        ErrorCode::Cleared,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::QueryFailed,
        ErrorCode::InvalidRequest,
        ErrorCode::Throttled,
        ErrorCode::ContendedTransaction,
        ErrorCode::Timeout,
        ErrorCode::ServiceError,
        ErrorCode::NetworkError,
        ErrorCode::ProtocolError,
        ErrorCode::GraphqlError,
        ErrorCode::InvalidOption,
        ErrorCode::OriginNotAllowed,
        ErrorCode::Freed,
    ];

    /// The code whose [`ErrorCode::as_str`] is `code` (as the typed layer passes it back).
    pub fn parse(code: &str) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    /// The stable string that JS callers see as `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SignedOut => "signed_out",
            ErrorCode::TokenUnavailable => "token_unavailable",
            ErrorCode::TokenTimeout => "token_timeout",
            ErrorCode::MalformedToken => "malformed_token",
            ErrorCode::Cleared => "cleared",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::QueryFailed => "query_failed",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Throttled => "throttled",
            ErrorCode::ContendedTransaction => "contended_transaction",
            ErrorCode::Timeout => "timeout",
            ErrorCode::ServiceError => "service_error",
            ErrorCode::NetworkError => "network_error",
            ErrorCode::ProtocolError => "protocol_error",
            ErrorCode::GraphqlError => "graphql_error",
            ErrorCode::InvalidOption => "invalid_option",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::Freed => "freed",
        }
    }
}

/// A failure with everything the caller may need to act on it. It never holds
/// a token: messages and hints are built from claims, codes and statuses only.
#[derive(Clone, Debug, PartialEq)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
    pub http_status: Option<u16>,
    pub fauna_code: Option<String>,
    pub hint: Option<String>,
    /// For `throttled`: how long the server asked us to wait, when it said.
    pub retry_after_ms: Option<f64>,
}

// The builders are kept out of line (#[inline(never)], and a generic
// `impl Into<String>` only converts): inlined into their 50-odd callers,
// the copies of the struct's moves cost the module 170 B gzipped.
impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::with_message(code, message.into())
    }

    #[inline(never)]
    fn with_message(code: ErrorCode, message: String) -> Self {
        Error {
            code,
            message,
            http_status: None,
            fauna_code: None,
            hint: None,
            retry_after_ms: None,
        }
    }

    #[inline(never)]
    pub fn with_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    #[inline(never)]
    pub fn with_fauna_code(mut self, fauna_code: Option<String>) -> Self {
        self.fauna_code = fauna_code;
        self
    }

    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        self.with_hint_string(hint.into())
    }

    #[inline(never)]
    fn with_hint_string(mut self, hint: String) -> Self {
        self.hint = Some(hint);
        self
    }

    pub fn invalid_option(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidOption, message)
    }

    /// The error as the JSON object JS callers rebuild it from:
    /// `{"code","message","httpStatus"?,"faunaCode"?,"hint"?,"retryAfterMs"?}`,
    /// absent fields left out.
    pub fn to_json(&self) -> String {
        // Appended in place: no text built only to be copied in.
        let mut out = String::from(r#"{"code":""#);
        out.push_str(self.code.as_str());
        out.push_str(r#"","message":"#);
        push_json_string(&mut out, &self.message);
        if let Some(status) = self.http_status {
            out.push_str(r#","httpStatus":"#);
            out.push_str(&uint(status.into()));
        }
        if let Some(fauna_code) = &self.fauna_code {
            out.push_str(r#","faunaCode":"#);
            push_json_string(&mut out, fauna_code);
        }
        if let Some(hint) = &self.hint {
            out.push_str(r#","hint":"#);
            push_json_string(&mut out, hint);
        }
        // Whole milliseconds (Retry-After is whole seconds).
        if let Some(ms) = self.retry_after_ms {
            out.push_str(r#","retryAfterMs":"#);
            out.push_str(&uint(ms as u64));
        }
        out.push('}');
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_fields_that_are_set() {
        let plain = Error::new(ErrorCode::SignedOut, "no \"user\"");
        assert_eq!(
            plain.to_json(),
            r#"{"code":"signed_out","message":"no \"user\""}"#
        );
        let mut full = Error::new(ErrorCode::Throttled, "slow down")
            .with_status(429)
            .with_fauna_code(Some("limit_exceeded".into()))
            .with_hint("wait\n");
        full.retry_after_ms = Some(3_000.0);
        let v: serde_json::Value = serde_json::from_str(&full.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "code": "throttled",
                "message": "slow down",
                "httpStatus": 429,
                "faunaCode": "limit_exceeded",
                "hint": "wait\n",
                "retryAfterMs": 3000,
            })
        );
    }

    #[test]
    fn codes_are_snake_case_and_distinct() {
        let all = ErrorCode::ALL;
        for (i, a) in all.iter().enumerate() {
            let s = a.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            for b in &all[i + 1..] {
                assert_ne!(s, b.as_str());
            }
        }
    }

    #[test]
    fn parse_reads_back_each_code_and_nothing_else() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
        assert_eq!(ErrorCode::parse(""), None);
    }
}
