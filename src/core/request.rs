//! The HTTP requests sent to Fauna: URL, headers and body, as plain data.
//! The token is not among them: the caller adds `Authorization` last, so
//! the token never passes through the core's requests or their encoding.

use super::options::QueryOptions;
use super::text;

// A request is plain text: `url`, then each header's name and value, an
// empty line, and the body (which may hold line breaks of its own), one
// string built in place rather than a list of owned headers joined later.
// No URL or header value holds a line break (see the options' checks).

/// The head of a request to `url` (its parts): the URL and `Content-Type`.
fn head(url: &[&str]) -> String {
    // Room for every header a v10 query may carry, so that the string grows
    // at most once more, for a long body (each growth copies it).
    let mut out = url.concat();
    out.reserve(512);
    header(&mut out, "Content-Type", "application/json");
    out
}

/// Appends a header's name and value to the request `out`.
fn header(out: &mut String, name: &str, value: &str) {
    out.push('\n');
    out.push_str(name);
    out.push('\n');
    out.push_str(value);
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
    push_json_string(&mut out, text);
    out
}

/// Appends `text` as a JSON string literal to `out`.
pub fn push_json_string(out: &mut String, text: &str) {
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
}

/// Appends the body `{"query": query, "<key>": json}` to the head `out`
/// (`json` already serialised, by `JSON.stringify` in the glue; without it,
/// no such member).
fn json_body(mut out: String, query: &str, key: &str, json: Option<&str>) -> String {
    out.push_str("\n\n{\"query\":");
    push_json_string(&mut out, query);
    if let Some(json) = json {
        out.push_str(",\"");
        out.push_str(key);
        out.push_str("\":");
        out.push_str(json);
    }
    out.push('}');
    out
}

/// FQL v10: `POST {endpoint}/query/1`, as lines (see above).
pub fn v10_query(
    o: &QueryOptions,
    last_txn_ts: Option<f64>,
    fql: &str,
    arguments_json: Option<&str>,
) -> String {
    let mut out = head(&[&o.endpoint, "/query/1"]);
    header(&mut out, "X-Format", o.format.as_str());
    header(
        &mut out,
        "X-Query-Timeout-Ms",
        &text::uint(o.query_timeout_ms.into()),
    );
    if let Some(ts) = last_txn_ts {
        header(&mut out, "X-Last-Txn-Ts", &whole(ts));
    }
    if let Some(b) = o.typecheck {
        header(&mut out, "X-Typecheck", text::boolean(b));
    }
    if let Some(b) = o.linearized {
        header(&mut out, "X-Linearized", text::boolean(b));
    }
    if let Some(n) = o.max_contention_retries {
        header(&mut out, "X-Max-Contention-Retries", &text::uint(n.into()));
    }
    if let Some(tags) = &o.query_tags {
        header(&mut out, "X-Query-Tags", tags);
    }
    if let Some(t) = &o.traceparent {
        header(&mut out, "traceparent", t);
    }
    json_body(out, fql, "arguments", arguments_json)
}

/// Legacy FQL v4: `POST {endpoint}/` with the wire expression as the body.
pub fn v4_query(o: &QueryOptions, last_txn_ts: Option<f64>, expr_json: &str) -> String {
    let mut out = head(&[&o.endpoint, "/"]);
    header(&mut out, "X-FaunaDB-API-Version", "4");
    header(
        &mut out,
        "X-Query-Timeout",
        &text::uint(o.query_timeout_ms.into()),
    );
    if let Some(ts) = last_txn_ts {
        header(&mut out, "X-Last-Seen-Txn", &whole(ts));
    }
    out.push_str("\n\n");
    out.push_str(expr_json);
    out
}

/// GraphQL: `POST {graphqlEndpoint}` with `{query, variables}`.
pub fn graphql(o: &QueryOptions, query: &str, variables_json: Option<&str>) -> String {
    json_body(
        head(&[&o.graphql_endpoint]),
        query,
        "variables",
        variables_json,
    )
}

/// Every header name a request may carry (the typed layer adds
/// `Authorization`).
pub const HEADER_NAMES: [&str; 12] = [
    "Content-Type",
    "X-Format",
    "X-Query-Timeout-Ms",
    "X-Last-Txn-Ts",
    "X-Typecheck",
    "X-Linearized",
    "X-Max-Contention-Retries",
    "X-Query-Tags",
    "traceparent",
    "X-FaunaDB-API-Version",
    "X-Query-Timeout",
    "X-Last-Seen-Txn",
];

/// A request's lines read back (for the tests and fuzzing; the module's
/// exports never need it).
#[derive(Debug)]
pub struct HttpRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Reads a request's lines back; panics if they do not hold a URL and
/// whole name/value pairs of known names before the first empty line.
pub fn parse(lines: &str) -> HttpRequest {
    let (head, body) = lines.split_once("\n\n").expect("an empty line");
    let mut head = head.split('\n');
    let url = head.next().unwrap().to_owned();
    let rest: Vec<&str> = head.collect();
    assert_eq!(rest.len() % 2, 0, "{lines:?}");
    let headers: Vec<(String, String)> = rest
        .chunks(2)
        .map(|p| (p[0].to_owned(), p[1].to_owned()))
        .collect();
    // A line break in a value would show as a name of its own.
    for (name, _) in &headers {
        assert!(HEADER_NAMES.contains(&name.as_str()), "{lines:?}");
    }
    HttpRequest {
        url,
        headers,
        body: body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::options::RawQueryOptions;

    fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn v10_defaults_send_only_the_required_headers() {
        let r = parse(&v10_query(
            &QueryOptions::default(),
            None,
            "Query.token()",
            None,
        ));
        assert_eq!(r.url, "https://db.fauna.com/query/1");
        let names: Vec<_> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
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
    fn no_query_tags_send_no_header() {
        // `queryTags: {}` once made an empty header value, whose line break
        // ended the head early (found by fuzzing).
        let tagged = QueryOptions::default()
            .merged(RawQueryOptions {
                query_tags: Some("app\0demo".into()),
                ..RawQueryOptions::default()
            })
            .unwrap();
        let none = tagged
            .merged(RawQueryOptions {
                query_tags: Some(String::new()),
                ..RawQueryOptions::default()
            })
            .unwrap();
        let r = parse(&v10_query(&none, None, "1", None));
        assert_eq!(header(&r, "X-Query-Tags"), None);
        assert_eq!(r.body, r#"{"query":"1"}"#);
        let r = parse(&v10_query(&tagged, None, "1", None));
        assert_eq!(header(&r, "X-Query-Tags"), Some("app=demo"));
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
                query_tags: Some("app\0demo".into()),
                traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
                ..Default::default()
            })
            .unwrap();
        let r = parse(&v10_query(
            &o,
            Some(1_700_000_000_123_456.0),
            "x \"quoted\"\n",
            Some(r#"{"a":1}"#),
        ));
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
            r,
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
        let r = parse(&v4_query(&o, Some(5.0), r#"{"current_identity":null}"#));
        assert_eq!(r.url, "https://db.fauna.com/");
        assert_eq!(header(&r, "X-FaunaDB-API-Version"), Some("4"));
        assert_eq!(header(&r, "X-Last-Seen-Txn"), Some("5"));
        assert_eq!(r.body, r#"{"current_identity":null}"#);
        let g = parse(&graphql(&o, "{ whoami }", Some(r#"{"x":1}"#)));
        assert_eq!(g.url, "https://graphql.fauna.com/graphql");
        assert_eq!(g.body, r#"{"query":"{ whoami }","variables":{"x":1}}"#);
        for r in [&r, &g] {
            assert_eq!(header(r, "Authorization"), None);
        }
    }
}
