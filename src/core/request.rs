//! The HTTP requests sent to Fauna: URL, headers and body, as plain data.
//! The token is not among them: the caller adds `Authorization` last, so
//! the token never passes through the core's requests or their encoding.

use super::options::QueryOptions;
use super::text;

#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl HttpRequest {
    /// The request as lines: `url`, then each header's name and value, an
    /// empty line, and the body (which may hold line breaks of its own).
    /// No URL or header value holds a line break (see the options' checks).
    pub fn to_lines(&self) -> String {
        let mut out = self.url.clone();
        for (name, value) in &self.headers {
            for part in [name, value.as_str()] {
                out.push('\n');
                out.push_str(part);
            }
        }
        out.push_str("\n\n");
        out.push_str(&self.body);
        out
    }
}

/// A microsecond timestamp as digits. Formatting it as an integer keeps the
/// f64 formatting machinery (tens of KB) out of the WebAssembly.
fn whole(ts: f64) -> String {
    text::uint(ts.max(0.0) as u64)
}

/// `text` as a JSON string literal (RFC 8259 section 7: quote, backslash
/// and control characters escaped; everything else as it is).
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    // Byte-wise: every byte that needs escaping is ASCII, and the others are
    // copied in runs, whole characters included.
    let mut run = 0;
    for (i, b) in text.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run..i]);
        run = i + 1;
        if escaped.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&text[run..]);
    out.push('"');
    out
}

/// FQL v10: `POST {endpoint}/query/1`. `arguments_json` is the arguments
/// object already serialised (by `JSON.stringify` in the glue).
pub fn v10_query(
    o: &QueryOptions,
    last_txn_ts: Option<f64>,
    fql: &str,
    arguments_json: Option<&str>,
) -> HttpRequest {
    let mut headers = vec![
        ("Content-Type", "application/json".into()),
        ("X-Format", o.format.as_str().into()),
        ("X-Query-Timeout-Ms", text::uint(o.query_timeout_ms.into())),
    ];
    if let Some(ts) = last_txn_ts {
        headers.push(("X-Last-Txn-Ts", whole(ts)));
    }
    if let Some(b) = o.typecheck {
        headers.push(("X-Typecheck", text::boolean(b).into()));
    }
    if let Some(b) = o.linearized {
        headers.push(("X-Linearized", text::boolean(b).into()));
    }
    if let Some(n) = o.max_contention_retries {
        headers.push(("X-Max-Contention-Retries", text::uint(n.into())));
    }
    if let Some(tags) = &o.query_tags {
        headers.push(("X-Query-Tags", tags.clone()));
    }
    if let Some(t) = &o.traceparent {
        headers.push(("traceparent", t.clone()));
    }
    let body = match arguments_json {
        Some(args) => [
            r#"{"query":"#,
            &json_string(fql),
            r#","arguments":"#,
            args,
            "}",
        ]
        .concat(),
        None => [r#"{"query":"#, &json_string(fql), "}"].concat(),
    };
    HttpRequest {
        url: [&o.endpoint, "/query/1"].concat(),
        headers,
        body,
    }
}

/// Legacy FQL v4: `POST {endpoint}/` with the wire expression as the body.
pub fn v4_query(o: &QueryOptions, last_txn_ts: Option<f64>, expr_json: &str) -> HttpRequest {
    let mut headers = vec![
        ("Content-Type", "application/json".into()),
        ("X-FaunaDB-API-Version", "4".into()),
        ("X-Query-Timeout", text::uint(o.query_timeout_ms.into())),
    ];
    if let Some(ts) = last_txn_ts {
        headers.push(("X-Last-Seen-Txn", whole(ts)));
    }
    HttpRequest {
        url: [&o.endpoint, "/"].concat(),
        headers,
        body: expr_json.into(),
    }
}

/// GraphQL: `POST {graphqlEndpoint}` with `{query, variables}`.
pub fn graphql(o: &QueryOptions, query: &str, variables_json: Option<&str>) -> HttpRequest {
    let body = match variables_json {
        Some(vars) => [
            r#"{"query":"#,
            &json_string(query),
            r#","variables":"#,
            vars,
            "}",
        ]
        .concat(),
        None => [r#"{"query":"#, &json_string(query), "}"].concat(),
    };
    HttpRequest {
        url: o.graphql_endpoint.clone(),
        headers: vec![("Content-Type", "application/json".into())],
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::options::RawQueryOptions;

    fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn v10_defaults_send_only_the_required_headers() {
        let r = v10_query(&QueryOptions::default(), None, "Query.token()", None);
        assert_eq!(r.url, "https://db.fauna.com/query/1");
        let names: Vec<_> = r.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["Content-Type", "X-Format", "X-Query-Timeout-Ms"],
            "the caller adds Authorization"
        );
        assert_eq!(header(&r, "X-Format"), Some("simple"));
        assert_eq!(header(&r, "X-Query-Timeout-Ms"), Some("5000"));
        assert_eq!(r.body, r#"{"query":"Query.token()"}"#);
    }

    #[test]
    fn v10_sends_every_option_that_is_set() {
        let o = QueryOptions::default()
            .merged(RawQueryOptions {
                endpoint: Some("http://127.0.0.1:8443".into()),
                format: Some(crate::core::options::Format::Tagged),
                typecheck: Some(false),
                linearized: Some(true),
                max_contention_retries: Some(2),
                query_tags: Some(vec![("app".into(), "demo".into())]),
                traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
                ..Default::default()
            })
            .unwrap();
        let r = v10_query(
            &o,
            Some(1_700_000_000_123_456.0),
            "x \"quoted\"\n",
            Some(r#"{"a":1}"#),
        );
        assert_eq!(r.url, "http://127.0.0.1:8443/query/1");
        assert_eq!(header(&r, "X-Format"), Some("tagged"));
        assert_eq!(header(&r, "X-Last-Txn-Ts"), Some("1700000000123456"));
        assert_eq!(header(&r, "X-Typecheck"), Some("false"));
        assert_eq!(header(&r, "X-Linearized"), Some("true"));
        assert_eq!(header(&r, "X-Max-Contention-Retries"), Some("2"));
        assert_eq!(header(&r, "X-Query-Tags"), Some("app=demo"));
        assert!(header(&r, "traceparent").is_some());
        assert_eq!(r.body, r#"{"query":"x \"quoted\"\n","arguments":{"a":1}}"#);
    }

    #[test]
    fn as_lines_the_body_follows_the_first_empty_line() {
        let r = graphql(&QueryOptions::default(), "{\n a }", None);
        assert_eq!(
            r.to_lines(),
            "https://graphql.fauna.com/graphql\nContent-Type\napplication/json\n\n{\"query\":\"{\\n a }\"}"
        );
    }

    #[test]
    fn json_strings_match_serde_json() {
        let cases = [
            "",
            "plain",
            "quote \" and \\ backslash",
            "line\nbreak\r\ttab",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "ünïcödé 😀 \u{2028}",
            "</script>",
        ];
        for text in cases {
            assert_eq!(
                json_string(text),
                serde_json::to_string(text).unwrap(),
                "{text:?}"
            );
            let back: String = serde_json::from_str(&json_string(text)).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn v4_and_graphql() {
        let o = QueryOptions::default();
        let r = v4_query(&o, Some(5.0), r#"{"current_identity":null}"#);
        assert_eq!(r.url, "https://db.fauna.com/");
        assert_eq!(header(&r, "X-FaunaDB-API-Version"), Some("4"));
        assert_eq!(header(&r, "X-Last-Seen-Txn"), Some("5"));
        assert_eq!(r.body, r#"{"current_identity":null}"#);
        let g = graphql(&o, "{ whoami }", Some(r#"{"x":1}"#));
        assert_eq!(g.url, "https://graphql.fauna.com/graphql");
        assert_eq!(g.body, r#"{"query":"{ whoami }","variables":{"x":1}}"#);
        for r in [&r, &g] {
            assert_eq!(header(r, "Authorization"), None);
        }
    }
}
