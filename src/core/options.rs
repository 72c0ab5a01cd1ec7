//! The options of `TokenCache` and `FaunaClient`: their defaults, per-query
//! overrides laid over the client's, and the check that no request can carry
//! a header value Fauna's protocol forbids.
//!
//! The typed layer reads the caller's objects (`readOptions` in
//! ts/options.ts), checking each value's type and the form or range its
//! option allows (URLs, whole numbers in range, `format`); the values arrive
//! here in the `Raw*` structs. The two that go into headers as free text, query tags and
//! `traceparent`, are checked here.

use super::error::Error;
use super::freshness::FreshnessPolicy;

pub const DEFAULT_ENDPOINT: &str = "https://db.fauna.com";
pub const DEFAULT_GRAPHQL_ENDPOINT: &str = "https://graphql.fauna.com/graphql";
pub const DEFAULT_TEMPLATE: &str = "fauna";

/// `TokenCache` options as read from JS (`None` = not given): a non-empty
/// template, seconds zero or more, a positive timeout.
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
    /// `raw` with the defaults filled in.
    pub fn from_raw(raw: RawCacheOptions) -> Self {
        CacheOptions {
            template: raw.template.unwrap_or_else(|| DEFAULT_TEMPLATE.into()),
            organization_id: raw.organization_id,
            policy: FreshnessPolicy {
                refresh_ahead_ms: raw.refresh_ahead_seconds.unwrap_or(15.0) * 1000.0,
                min_validity_ms: raw.min_validity_seconds.unwrap_or(5.0) * 1000.0,
            },
            get_token_timeout_ms: raw.get_token_timeout_ms.unwrap_or(10_000.0),
        }
    }
}

/// A template name passed to `peek`, `claims` or `invalidate`.
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
    /// The format named `name`; `invalid_option` for any other name.
    pub fn named(name: &str) -> Result<Format, Error> {
        match name {
            "simple" => Ok(Format::Simple),
            "tagged" => Ok(Format::Tagged),
            _ => Err(Error::invalid_option(
                "format must be \"simple\" or \"tagged\".",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Simple => "simple",
            Format::Tagged => "tagged",
        }
    }
}

/// `FaunaClient` options, and per-query overrides, as read from JS (see the
/// module's note for what is already checked).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawQueryOptions {
    /// http(s), without a trailing slash.
    pub endpoint: Option<String>,
    pub graphql_endpoint: Option<String>,
    pub format: Option<Format>,
    /// 1 to 600,000.
    pub query_timeout_ms: Option<u32>,
    /// 1 to 100.
    pub max_attempts: Option<u32>,
    /// Zero or more.
    pub max_backoff_ms: Option<f64>,
    pub typecheck: Option<bool>,
    pub linearized: Option<bool>,
    /// 0 to 7.
    pub max_contention_retries: Option<u32>,
    /// In the caller's order, as `[key, value]` pairs; checked here.
    pub query_tags: Option<Vec<(String, String)>>,
    /// Checked here.
    pub traceparent: Option<String>,
}

/// Options ready for requests: every value here is safe to put in a header.
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
    /// How long to wait for an answer before abandoning a request:
    /// `queryTimeoutMs` plus 5 s for the network.
    pub fn deadline_ms(&self) -> f64 {
        f64::from(self.query_timeout_ms) + 5_000.0
    }

    /// These options with `raw`'s values laid over them; fails for query
    /// tags or a traceparent that Fauna's protocol does not allow.
    pub fn merged(&self, raw: RawQueryOptions) -> Result<QueryOptions, Error> {
        let o = self.clone();
        Ok(QueryOptions {
            endpoint: raw.endpoint.unwrap_or(o.endpoint),
            graphql_endpoint: raw.graphql_endpoint.unwrap_or(o.graphql_endpoint),
            format: raw.format.unwrap_or(o.format),
            query_timeout_ms: raw.query_timeout_ms.unwrap_or(o.query_timeout_ms),
            max_attempts: raw.max_attempts.unwrap_or(o.max_attempts),
            max_backoff_ms: raw.max_backoff_ms.unwrap_or(o.max_backoff_ms),
            typecheck: raw.typecheck.or(o.typecheck),
            linearized: raw.linearized.or(o.linearized),
            max_contention_retries: raw.max_contention_retries.or(o.max_contention_retries),
            query_tags: match raw.query_tags {
                Some(tags) => Some(query_tags(&tags)?),
                None => o.query_tags,
            },
            traceparent: match raw.traceparent {
                Some(t) => Some(traceparent(&t)?),
                None => o.traceparent,
            },
        })
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
        let o = CacheOptions::from_raw(RawCacheOptions::default());
        assert_eq!(o.template, "fauna");
        assert_eq!(o.policy, FreshnessPolicy::default());
        assert_eq!(o.get_token_timeout_ms, 10_000.0);
        let o = CacheOptions::from_raw(RawCacheOptions {
            refresh_ahead_seconds: Some(0.0),
            min_validity_seconds: Some(2.5),
            ..Default::default()
        });
        assert_eq!(
            (o.policy.refresh_ahead_ms, o.policy.min_validity_ms),
            (0.0, 2_500.0)
        );
        assert_eq!(
            check_template("").unwrap_err().code,
            ErrorCode::InvalidOption
        );
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
    fn formats_by_name_and_the_deadline() {
        assert_eq!(Format::named("tagged"), Ok(Format::Tagged));
        assert_eq!(Format::named("simple"), Ok(Format::Simple));
        assert_eq!(
            Format::named("Tagged").unwrap_err().code,
            ErrorCode::InvalidOption
        );
        assert_eq!(QueryOptions::default().deadline_ms(), 10_000.0);
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
