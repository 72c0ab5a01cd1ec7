//! The options of `TokenCache` and `FaunaClient`, validated once so that no
//! request can carry a header value Fauna's protocol forbids.
//!
//! The glue reads raw values off JS objects into the `Raw*` structs; these
//! functions check them and fill in the defaults.

use super::error::Error;
use super::freshness::FreshnessPolicy;
use super::text;

pub const DEFAULT_ENDPOINT: &str = "https://db.fauna.com";
pub const DEFAULT_GRAPHQL_ENDPOINT: &str = "https://graphql.fauna.com/graphql";
pub const DEFAULT_TEMPLATE: &str = "fauna";

/// `TokenCache` options as read from JS (`None` = not given).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawCacheOptions {
    pub template: Option<String>,
    pub organization_id: Option<String>,
    pub refresh_ahead_seconds: Option<f64>,
    pub min_validity_seconds: Option<f64>,
    pub get_token_timeout_ms: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CacheOptions {
    pub template: String,
    pub organization_id: Option<String>,
    pub policy: FreshnessPolicy,
    pub get_token_timeout_ms: f64,
}

impl CacheOptions {
    pub fn from_raw(raw: RawCacheOptions) -> Result<Self, Error> {
        let template = raw.template.unwrap_or_else(|| DEFAULT_TEMPLATE.into());
        check_template(&template)?;
        let seconds = |v: Option<f64>, default: f64, name: &str| {
            let v = v.unwrap_or(default);
            if v.is_finite() && v >= 0.0 {
                Ok(v * 1000.0)
            } else {
                Err(Error::invalid_option(
                    [name, " must be a number of seconds, zero or more."].concat(),
                ))
            }
        };
        let timeout = raw.get_token_timeout_ms.unwrap_or(10_000.0);
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(Error::invalid_option(
                "getTokenTimeoutMs must be a positive number of milliseconds.",
            ));
        }
        Ok(CacheOptions {
            template,
            organization_id: raw.organization_id,
            policy: FreshnessPolicy {
                refresh_ahead_ms: seconds(raw.refresh_ahead_seconds, 15.0, "refreshAheadSeconds")?,
                min_validity_ms: seconds(raw.min_validity_seconds, 5.0, "minValiditySeconds")?,
            },
            get_token_timeout_ms: timeout,
        })
    }
}

pub fn check_template(template: &str) -> Result<(), Error> {
    if template.is_empty() {
        return Err(Error::invalid_option(
            "template must be a non-empty string.",
        ));
    }
    Ok(())
}

/// `X-Format`: how Fauna encodes values in answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Simple,
    Tagged,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Simple => "simple",
            Format::Tagged => "tagged",
        }
    }
}

/// `FaunaClient` options, and per-query overrides, as read from JS.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawQueryOptions {
    pub endpoint: Option<String>,
    pub graphql_endpoint: Option<String>,
    pub format: Option<String>,
    pub query_timeout_ms: Option<f64>,
    pub max_attempts: Option<f64>,
    pub max_backoff_ms: Option<f64>,
    pub typecheck: Option<bool>,
    pub linearized: Option<bool>,
    pub max_contention_retries: Option<f64>,
    /// In the caller's order, as `[key, value]` pairs.
    pub query_tags: Option<Vec<(String, String)>>,
    pub traceparent: Option<String>,
}

/// Validated options: every value here is safe to put in a header.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOptions {
    /// Without a trailing slash.
    pub endpoint: String,
    pub graphql_endpoint: String,
    pub format: Format,
    pub query_timeout_ms: u32,
    pub max_attempts: u32,
    pub max_backoff_ms: f64,
    pub typecheck: Option<bool>,
    pub linearized: Option<bool>,
    pub max_contention_retries: Option<u32>,
    /// Already in the `X-Query-Tags` form `k=v,k2=v2`.
    pub query_tags: Option<String>,
    pub traceparent: Option<String>,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions {
            endpoint: DEFAULT_ENDPOINT.into(),
            graphql_endpoint: DEFAULT_GRAPHQL_ENDPOINT.into(),
            format: Format::Simple,
            query_timeout_ms: 5_000,
            max_attempts: 3,
            max_backoff_ms: 20_000.0,
            typecheck: None,
            linearized: None,
            max_contention_retries: None,
            query_tags: None,
            traceparent: None,
        }
    }
}

impl QueryOptions {
    /// These options with `raw`'s values laid over them.
    pub fn merged(&self, raw: RawQueryOptions) -> Result<QueryOptions, Error> {
        let mut o = self.clone();
        if let Some(e) = raw.endpoint {
            o.endpoint = endpoint(&e, "endpoint")?;
        }
        if let Some(e) = raw.graphql_endpoint {
            o.graphql_endpoint = endpoint(&e, "graphqlEndpoint")?;
        }
        if let Some(f) = raw.format {
            o.format = match f.as_str() {
                "simple" => Format::Simple,
                "tagged" => Format::Tagged,
                _ => {
                    return Err(Error::invalid_option(
                        "format must be 'simple' or 'tagged'.",
                    ))
                }
            };
        }
        if let Some(ms) = raw.query_timeout_ms {
            o.query_timeout_ms = integer(ms, 1, 600_000, "queryTimeoutMs")?;
        }
        if let Some(n) = raw.max_attempts {
            o.max_attempts = integer(n, 1, 100, "maxAttempts")?;
        }
        if let Some(ms) = raw.max_backoff_ms {
            if !(ms.is_finite() && ms >= 0.0) {
                return Err(Error::invalid_option(
                    "maxBackoffMs must be a number of milliseconds, zero or more.",
                ));
            }
            o.max_backoff_ms = ms;
        }
        o.typecheck = raw.typecheck.or(o.typecheck);
        o.linearized = raw.linearized.or(o.linearized);
        if let Some(n) = raw.max_contention_retries {
            o.max_contention_retries = Some(integer(n, 0, 7, "maxContentionRetries")?);
        }
        if let Some(tags) = raw.query_tags {
            o.query_tags = Some(query_tags(&tags)?);
        }
        if let Some(t) = raw.traceparent {
            o.traceparent = Some(traceparent(&t)?);
        }
        Ok(o)
    }
}

fn endpoint(url: &str, name: &str) -> Result<String, Error> {
    let trimmed = text::trim_end_byte(url, b'/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        // No spaces or control characters anywhere.
        Some(host) if !host.is_empty() && url.bytes().all(|b| b > b' ' && b != 0x7f) => {
            Ok(trimmed.into())
        }
        _ => Err(Error::invalid_option(
            [
                name,
                " must be an http:// or https:// URL, e.g. https://db.fauna.com.",
            ]
            .concat(),
        )),
    }
}

fn integer(v: f64, min: u32, max: u32, name: &str) -> Result<u32, Error> {
    if v.fract() == 0.0 && v >= f64::from(min) && v <= f64::from(max) {
        Ok(v as u32)
    } else {
        Err(Error::invalid_option(
            [
                name,
                " must be a whole number from ",
                &text::uint(min.into()),
                " to ",
                &text::uint(max.into()),
                ".",
            ]
            .concat(),
        ))
    }
}

/// Fauna's rules for `X-Query-Tags`: keys and values of `[a-zA-Z0-9_]`, keys
/// up to 40 bytes, values up to 80, at most 25 pairs.
fn query_tags(tags: &[(String, String)]) -> Result<String, Error> {
    if tags.len() > 25 {
        return Err(Error::invalid_option("queryTags may hold at most 25 tags."));
    }
    let word = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    let mut out = String::new();
    for (k, v) in tags {
        if !word(k, 40) || !word(v, 80) {
            return Err(Error::invalid_option(
                "queryTags keys (up to 40 chars) and values (up to 80) may hold only letters, digits and _.",
            ));
        }
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    Ok(out)
}

/// W3C trace context: `version-traceid-parentid-flags`, lowercase hex.
fn traceparent(t: &str) -> Result<String, Error> {
    // 2, 32, 16 and 2 hex digits, dashes at 2, 35 and 52.
    let ok = t.len() == 55
        && t.bytes().enumerate().all(|(i, b)| match i {
            2 | 35 | 52 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    if ok {
        Ok(t.into())
    } else {
        Err(Error::invalid_option(
            "traceparent must be a W3C trace context, e.g. 00-<32 hex>-<16 hex>-01.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::error::ErrorCode;

    fn merged(raw: RawQueryOptions) -> Result<QueryOptions, Error> {
        QueryOptions::default().merged(raw)
    }

    #[test]
    fn cache_defaults() {
        let o = CacheOptions::from_raw(RawCacheOptions::default()).unwrap();
        assert_eq!(o.template, "fauna");
        assert_eq!(o.policy, FreshnessPolicy::default());
        assert_eq!(o.get_token_timeout_ms, 10_000.0);
    }

    #[test]
    fn cache_rejects_bad_numbers() {
        for raw in [
            RawCacheOptions {
                refresh_ahead_seconds: Some(-1.0),
                ..Default::default()
            },
            RawCacheOptions {
                min_validity_seconds: Some(f64::NAN),
                ..Default::default()
            },
            RawCacheOptions {
                get_token_timeout_ms: Some(0.0),
                ..Default::default()
            },
            RawCacheOptions {
                template: Some(String::new()),
                ..Default::default()
            },
        ] {
            assert_eq!(
                CacheOptions::from_raw(raw).unwrap_err().code,
                ErrorCode::InvalidOption
            );
        }
    }

    #[test]
    fn endpoints_lose_trailing_slashes_and_must_be_http() {
        let o = merged(RawQueryOptions {
            endpoint: Some("http://127.0.0.1:8443/".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(o.endpoint, "http://127.0.0.1:8443");
        for bad in ["db.fauna.com", "ftp://x", "https://", "https://a b", ""] {
            let r = merged(RawQueryOptions {
                endpoint: Some(bad.into()),
                ..Default::default()
            });
            assert_eq!(r.unwrap_err().code, ErrorCode::InvalidOption, "{bad}");
        }
    }

    #[test]
    fn numeric_ranges_follow_the_protocol() {
        let ok = merged(RawQueryOptions {
            query_timeout_ms: Some(600_000.0),
            max_contention_retries: Some(7.0),
            max_attempts: Some(1.0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (
                ok.query_timeout_ms,
                ok.max_contention_retries,
                ok.max_attempts
            ),
            (600_000, Some(7), 1)
        );
        for raw in [
            RawQueryOptions {
                query_timeout_ms: Some(0.0),
                ..Default::default()
            },
            RawQueryOptions {
                query_timeout_ms: Some(600_001.0),
                ..Default::default()
            },
            RawQueryOptions {
                query_timeout_ms: Some(1.5),
                ..Default::default()
            },
            RawQueryOptions {
                max_contention_retries: Some(8.0),
                ..Default::default()
            },
            RawQueryOptions {
                max_attempts: Some(0.0),
                ..Default::default()
            },
            RawQueryOptions {
                max_backoff_ms: Some(-1.0),
                ..Default::default()
            },
            RawQueryOptions {
                format: Some("json".into()),
                ..Default::default()
            },
        ] {
            assert_eq!(merged(raw).unwrap_err().code, ErrorCode::InvalidOption);
        }
    }

    #[test]
    fn query_tags_are_validated_and_joined() {
        let tags = |pairs: &[(&str, &str)]| RawQueryOptions {
            query_tags: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        let o = merged(tags(&[("app", "demo"), ("user_tier", "pro_1")])).unwrap();
        assert_eq!(o.query_tags.as_deref(), Some("app=demo,user_tier=pro_1"));
        let long_key = "k".repeat(41);
        let long_value = "v".repeat(81);
        for bad in [
            vec![("a b", "c")],
            vec![("a", "c,d=e")],
            vec![("a", "\r\nX-Injected: 1")],
            vec![("", "v")],
            vec![(long_key.as_str(), "v")],
            vec![("k", long_value.as_str())],
        ] {
            assert_eq!(
                merged(tags(&bad)).unwrap_err().code,
                ErrorCode::InvalidOption
            );
        }
        let many: Vec<(String, String)> = (0..26).map(|i| (format!("k{i}"), "v".into())).collect();
        let r = merged(RawQueryOptions {
            query_tags: Some(many),
            ..Default::default()
        });
        assert!(r.is_err());
    }

    #[test]
    fn traceparent_must_be_w3c() {
        let good = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let o = merged(RawQueryOptions {
            traceparent: Some(good.into()),
            ..Default::default()
        });
        assert_eq!(o.unwrap().traceparent.as_deref(), Some(good));
        for bad in [
            "",
            "00-abc-def-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        ] {
            let r = merged(RawQueryOptions {
                traceparent: Some(bad.into()),
                ..Default::default()
            });
            assert!(r.is_err(), "{bad}");
        }
    }

    #[test]
    fn overrides_keep_what_they_do_not_name() {
        let base = merged(RawQueryOptions {
            typecheck: Some(true),
            ..Default::default()
        })
        .unwrap();
        let o = base
            .merged(RawQueryOptions {
                linearized: Some(false),
                ..Default::default()
            })
            .unwrap();
        assert_eq!((o.typecheck, o.linearized), (Some(true), Some(false)));
    }
}
