//! Any answer Fauna (or a proxy) could send, under any options that
//! readOptions (ts/options.ts) lets through: classifying it, reading Retry-After
//! and building the next request never panic, and the backoff stays within
//! its bounds.
#![no_main]

use arbitrary::Arbitrary;
use clerk_fauna::core::backoff::{after_throttle, Throttle};
use clerk_fauna::core::classify::{classify, parse_retry_after, Api, Reply, Verdict};
use clerk_fauna::core::options::{QueryOptions, RawQueryOptions};
use clerk_fauna::core::request;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    status: u16,
    is_json_object: bool,
    has_result: bool,
    error_code: Option<String>,
    error_message: Option<String>,
    has_graphql_errors: bool,
    retry_after: Option<String>,
    attempt: u32,
    random: f64,
    endpoint: Option<String>,
    /// `key\0value\0...`, as the typed layer flattens them.
    tags: Option<String>,
    traceparent: Option<String>,
    timeout: Option<u32>,
    max_attempts: Option<u32>,
    max_backoff: Option<f64>,
    fql: String,
}

fuzz_target!(|input: Input| {
    let reply = Reply {
        status: input.status,
        is_json_object: input.is_json_object,
        has_result: input.has_result,
        error_code: input.error_code,
        error_message: input.error_message,
        has_graphql_errors: input.has_graphql_errors,
        retry_after: input.retry_after.clone(),
    };
    // As readOptions's URL check lets it through: no space or control
    // character (the rest of that check, the scheme and host, the core
    // does not rely on).
    let endpoint = input
        .endpoint
        .filter(|e| !e.contains(|c: char| c <= ' ' || c == '\x7f'));
    let raw = RawQueryOptions {
        endpoint: endpoint.clone(),
        query_tags: input.tags,
        traceparent: input.traceparent,
        // As readOptions (ts/options.ts) lets them through: whole numbers in range, a
        // backoff of zero or more.
        query_timeout_ms: input.timeout.map(|t| t.clamp(1, 600_000)),
        max_attempts: input.max_attempts.map(|n| n.clamp(1, 100)),
        max_backoff_ms: input.max_backoff.filter(|m| m.is_finite() && *m >= 0.0),
        ..RawQueryOptions::default()
    };
    let Ok(options) = QueryOptions::default().merged(raw) else {
        return;
    };
    for api in [Api::V10, Api::V4, Api::GraphQl] {
        if let Verdict::Throttled { retry_after_ms } = classify(api, &reply) {
            let attempt = input.attempt.max(1);
            if let Throttle::RetryAfter(ms) = after_throttle(
                attempt,
                options.max_attempts,
                retry_after_ms,
                input.random,
                options.max_backoff_ms,
            ) {
                assert!((0.0..=options.max_backoff_ms).contains(&ms));
            }
        }
    }
    let _ = input.retry_after.as_deref().map(parse_retry_after);
    // `parse` panics on a line break in the URL or a header value.
    let r = request::parse(&request::v10_query(&options, None, &input.fql, Some("{}")));
    if let Some(endpoint) = endpoint {
        assert_eq!(r.url, endpoint + "/query/1");
    }
    for (_, value) in r.headers {
        assert!(!value.contains(['\r', '\0']));
    }
});
