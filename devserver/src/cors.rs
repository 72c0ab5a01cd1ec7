//! CORS for browsers calling the stand-ins from a demo page on another port.

use axum::extract::Request;
use axum::http::header::{ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Request headers Fauna's server allows cross-origin (its CORS allow-list;
/// note `x-driver` is not on it).
pub const FAUNA_ALLOWED_HEADERS: &[&str] = &[
    "accept-encoding",
    "authorization",
    "content-type",
    "x-driver-env",
    "x-faunadb-api-version",
    "x-fauna-driver",
    "x-fauna-source",
    "x-fauna-tags",
    "x-format",
    "x-last-seen-txn",
    "x-last-txn-ts",
    "x-linearized",
    "x-max-contention-retries",
    "x-max-retries-on-contention",
    "x-query-tags",
    "x-query-timeout",
    "x-query-timeout-ms",
    "x-runtime-environment",
    "x-runtime-environment-os",
    "x-nodejs-version",
    "traceparent",
    "x-typecheck",
    "x-performance-hints",
];

/// Response headers the Clerk stand-in lets a browser read. (The Fauna
/// stand-in exposes its answer's own `x-` headers instead, `x-fauna-stream-id`
/// included: see [`expose_x_headers`].)
const CLERK_EXPOSED_HEADERS: &[&str] = &["retry-after", "www-authenticate", "x-txn-time"];

/// Request headers the Clerk stand-in allows.
const CLERK_ALLOWED_HEADERS: &[&str] = &["authorization", "content-type"];

/// True for `http://127.0.0.1:*`, `http://localhost:*` and `http://[::1]:*`.
pub fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    ["127.0.0.1", "localhost", "[::1]"].iter().any(|host| {
        rest.strip_prefix(host).is_some_and(|port| {
            port.is_empty()
                || (port.starts_with(':') && port[1..].chars().all(|c| c.is_ascii_digit()))
        })
    })
}

fn layer(allowed_origins: &[String], headers: &[&'static str]) -> CorsLayer {
    let allowed: Arc<Vec<String>> = Arc::new(allowed_origins.to_vec());
    let origin = AllowOrigin::predicate(move |origin: &HeaderValue, _| {
        let origin = origin.to_str().unwrap_or_default();
        if allowed.is_empty() {
            is_loopback_origin(origin)
        } else {
            allowed.iter().any(|o| o == origin)
        }
    });
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(
            headers
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .allow_credentials(true)
        .max_age(std::time::Duration::from_secs(86_400))
}

/// CORS for the Fauna stand-in. With no configured origins, any loopback
/// origin is allowed. Exposed headers come from [`expose_x_headers`].
pub fn fauna_layer(allowed_origins: &[String]) -> CorsLayer {
    layer(allowed_origins, FAUNA_ALLOWED_HEADERS)
}

/// Marks an answer played by a gateway in front of Fauna (an injected fault
/// with `Retry-After`), whose own CORS answer exposes that header too.
#[derive(Debug, Clone, Copy)]
pub struct GatewayExposes(pub &'static str);

/// Fauna's CORS answer exposes the response's own `x-` headers and nothing
/// else (`HttpMessage.exposeHeaders`, ext/net/src/main/scala/http/HttpMessage.scala):
/// neither `Retry-After` (which the server never sends) nor `WWW-Authenticate`.
/// Goes outside [`fauna_layer`], so it sees the CORS headers already set.
pub async fn expose_x_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.headers().contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        let mut names: Vec<&str> = response
            .headers()
            .keys()
            .map(HeaderName::as_str)
            .filter(|name| name.starts_with("x-"))
            .collect();
        if let Some(GatewayExposes(name)) = response.extensions().get::<GatewayExposes>() {
            names.push(name);
        }
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            response
                .headers_mut()
                .insert(ACCESS_CONTROL_EXPOSE_HEADERS, value);
        }
    }
    response
}

/// CORS for the Clerk stand-in.
pub fn clerk_layer(allowed_origins: &[String]) -> CorsLayer {
    layer(allowed_origins, CLERK_ALLOWED_HEADERS).expose_headers(
        CLERK_EXPOSED_HEADERS
            .iter()
            .map(|h| HeaderName::from_static(h))
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins() {
        assert!(is_loopback_origin("http://127.0.0.1:5173"));
        assert!(is_loopback_origin("http://localhost:8080"));
        assert!(is_loopback_origin("http://[::1]:3000"));
        assert!(is_loopback_origin("http://localhost"));
        assert!(!is_loopback_origin("http://localhost.evil.example"));
        assert!(!is_loopback_origin("https://example.com"));
        assert!(!is_loopback_origin("null"));
    }
}
