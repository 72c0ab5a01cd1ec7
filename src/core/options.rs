//! The options of `FaunaClient`: their defaults, per-query overrides laid
//! over the client's, and the check that no request can carry a header value
//! Fauna's protocol forbids; and the check of a `TokenCache` template name
//! (the cache's other options are the typed layer's, but for the freshness
//! policy, `core::freshness`).
//!
//! The typed layer reads the caller's objects (`readOptions` in
//! ts/options.ts), checking each value's type and the form or range its
//! option allows (URLs, whole numbers in range, `format`); the values arrive
//! here in `RawQueryOptions`. The two that go into headers as free text, query tags and
//! `traceparent`, are checked here.

use super::error::Error;

pub const DEFAULT_ENDPOINT: &str = "https://db.fauna.com";
pub const DEFAULT_GRAPHQL_ENDPOINT: &str = "https://graphql.fauna.com/graphql";

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
    /// In the caller's order, as `key\0value\0key\0value` (empty: none);
    /// checked here.
    pub query_tags: Option<String>,
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
        // Checked first: a refused override costs no copy.
        let query_tags = raw.query_tags.map(|flat| query_tags(&flat)).transpose()?;
        if let Some(t) = &raw.traceparent {
            check_traceparent(t)?;
        }
        let mut o = self.clone();
        // Each given value replaces the set's.
        fn over<T>(value: &mut T, given: Option<T>) {
            if let Some(v) = given {
                *value = v;
            }
        }
        over(&mut o.endpoint, raw.endpoint);
        over(&mut o.graphql_endpoint, raw.graphql_endpoint);
        over(&mut o.format, raw.format);
        over(&mut o.query_timeout_ms, raw.query_timeout_ms);
        over(&mut o.max_attempts, raw.max_attempts);
        over(&mut o.max_backoff_ms, raw.max_backoff_ms);
        over(&mut o.typecheck, raw.typecheck.map(Some));
        over(&mut o.linearized, raw.linearized.map(Some));
        over(
            &mut o.max_contention_retries,
            raw.max_contention_retries.map(Some),
        );
        // No tags (`{}`): none sent, whatever the set had.
        over(
            &mut o.query_tags,
            query_tags.map(|t| Some(t).filter(|t| !t.is_empty())),
        );
        over(&mut o.traceparent, raw.traceparent.map(Some));
        Ok(o)
    }
}

/// Fauna's rules for `X-Query-Tags`: keys and values of `[a-zA-Z0-9_]`, keys
/// up to 40 bytes, values up to 80, at most 25 pairs. `flat` is
/// `key\0value\0...`; a key without a value has an empty one, refused.
fn query_tags(flat: &str) -> Result<String, Error> {
    if flat.is_empty() {
        return Ok(String::new());
    }
    // The same bytes with each separator made `=` or `,` in turn; the end
    // reads as one more 0, ending the last word.
    let mut out = String::with_capacity(flat.len());
    let (mut words, mut len, mut ok) = (0, 0, true);
    for at in 0..=flat.len() {
        let b = flat.as_bytes().get(at).copied().unwrap_or(0);
        ok &= match b {
            0 => {
                let max = if words % 2 == 0 { 40 } else { 80 };
                words += 1;
                out.push(if words % 2 == 1 { '=' } else { ',' });
                (1..=max).contains(&std::mem::take(&mut len))
            }
            _ => {
                len += 1;
                out.push(char::from(b));
                b.is_ascii_alphanumeric() || b == b'_'
            }
        };
    }
    // More than 25 pairs: more than 50 words (told before what is wrong in them).
    if words > 50 {
        return Err(Error::invalid_option("queryTags may hold at most 25 tags."));
    }
    if !ok || words % 2 == 1 {
        return Err(Error::invalid_option(
            "queryTags keys (up to 40 chars) and values (up to 80) may hold only letters, digits and _.",
        ));
    }
    out.pop();
    Ok(out)
}

/// W3C trace context: `version-traceid-parentid-flags`, lowercase hex.
fn check_traceparent(t: &str) -> Result<(), Error> {
    // 2, 32, 16 and 2 hex digits, dashes at 2, 35 and 52.
    let ok = t.len() == 55
        && t.bytes().enumerate().all(|(i, b)| match i {
            2 | 35 | 52 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        });
    if ok {
        Ok(())
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
    fn query_tags_are_validated_and_joined() {
        let tags = |pairs: &[(&str, &str)]| RawQueryOptions {
            query_tags: Some(
                pairs
                    .iter()
                    .flat_map(|(k, v)| [*k, *v])
                    .collect::<Vec<_>>()
                    .join("\0"),
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
        let many: Vec<String> = (0..26).map(|i| format!("k{i}\0v")).collect();
        let r = merged(RawQueryOptions {
            query_tags: Some(many.join("\0")),
            ..Default::default()
        });
        assert!(r.is_err());
        let most: Vec<String> = (0..25).map(|i| format!("k{i}\0v")).collect();
        let o = merged(RawQueryOptions {
            query_tags: Some(most.join("\0")),
            ..Default::default()
        });
        assert!(o.unwrap().query_tags.unwrap().ends_with(",k24=v"));
        // A key without its value; no tags at all.
        for flat in ["a", "a\0b\0c"] {
            let o = merged(RawQueryOptions {
                query_tags: Some(flat.into()),
                ..Default::default()
            });
            assert_eq!(o.unwrap_err().code, ErrorCode::InvalidOption);
        }
        // No tags: none at all, also over a set's own.
        let tagged = merged(RawQueryOptions {
            query_tags: Some("app\0demo".into()),
            ..Default::default()
        })
        .unwrap();
        let none = RawQueryOptions {
            query_tags: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(tagged.merged(none).unwrap().query_tags, None);
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
