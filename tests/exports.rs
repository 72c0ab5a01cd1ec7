//! The module's exports (ts/core.ts) in headless Chromium (`wasm-pack test
//! --headless --chrome`): the token stores with `JSON.parse` reading the
//! tokens, the error JSON left for `lastError()`, options, requests and
//! answers, event streams and feeds. Times are
//! passed in, so tokens are minted for a fixed clock: at device time `T`
//! the server's clock reads `T` too.

#![cfg(target_arch = "wasm32")]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clerk_fauna::exports::*;
use serde_json::Value;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Device time of the tests, in ms.
const T: f64 = 1_700_000_000_000.0;
/// `now` for `store_token`: the cached token, usable or not.
const CACHED: f64 = f64::NAN;

// ts/core.ts's enums.
const ORDINARY: u32 = 0;
const FORCED: u32 = 1;
const HIT: f64 = 0.0;
const WAIT: f64 = 2.0;
const DELIVER_GIVEN: f64 = 0.0;
const FAIL: f64 = 1.0;
const SIGNED_OUT: u32 = 1;
const NONE: u32 = 0;
const V10: u32 = 0;
const V4: u32 = 1;
const GRAPHQL: u32 = 2;

fn segment(json: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(json)
}

/// A 60 s token for `sub`, minted at device time `at` (ms).
fn token(sub: &str, at: f64, n: u32) -> String {
    let iat = (at / 1000.0) as u64;
    let payload = format!(
        r#"{{"sub":"{sub}","iat":{iat},"nbf":{},"exp":{},"jti":"{n}"}}"#,
        iat - 5,
        iat + 60
    );
    format!(
        "{}.{}.c2ln",
        segment(r#"{"alg":"RS256"}"#),
        segment(&payload)
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// An answer that says the call failed, as the error `lastError()` holds.
fn result<T>(answer: Option<T>) -> Result<T, String> {
    answer.ok_or_else(last_error)
}

fn code(error_json: &str) -> String {
    json(error_json)["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn lookup(store: u32, template: &str, demand: u32, now: f64) -> Vec<f64> {
    store_lookup(store, template.into(), demand, None, now, 0.0)
}

fn complete(store: u32, template: &str, flight: f64, token: &str, now: f64) -> Vec<f64> {
    store_complete(
        store,
        template.into(),
        flight,
        Some(token.into()),
        NONE,
        now,
    )
}

/// A store holding user_a's token for `template`, received at `T`.
fn filled(template: &str) -> (u32, String) {
    let store = store_new(None, None, None);
    let t = token("user_a", T, 1);
    let flight = lookup(store, template, ORDINARY, T)[1];
    assert_eq!(
        complete(store, template, flight, &t, T + 50.0)[0],
        DELIVER_GIVEN
    );
    (store, t)
}

#[wasm_bindgen_test]
fn a_miss_starts_a_flight_whose_token_is_then_a_hit_until_servable_until() {
    let store = store_new(None, None, None);
    let first = lookup(store, "fauna", ORDINARY, T);
    // [action, flight, startedNew, forced, servableUntil, epoch]: the first
    // call asks with skipCache, to learn the server's clock.
    assert_eq!(first[0], WAIT);
    assert!(first[1] >= 1.0);
    assert_eq!(&first[2..], &[1.0, 1.0, -1.0, 0.0]);
    assert_eq!(store_token(store, "fauna".into(), CACHED), None);

    let t = token("user_a", T, 1);
    let done = complete(store, "fauna", first[1], &t, T + 50.0);
    assert_eq!(done[0], DELIVER_GIVEN);
    assert_eq!(done[1], 0.0, "epoch");
    // 60 s from iat + 1 s at the latest, less the 15 s refresh-ahead window.
    assert!(
        (T + 43_900.0..T + 44_000.0).contains(&done[2]),
        "{}",
        done[2] - T
    );
    assert_eq!(done.len(), 3, "no stale flights");

    let hit = lookup(store, "fauna", ORDINARY, T + 1_000.0);
    assert_eq!(hit[0], HIT);
    assert_eq!(hit[2], 0.0, "nothing started");
    assert_eq!(hit[4], done[2]);
    assert_eq!(store_token(store, "fauna".into(), CACHED), Some(t.clone()));
    assert_eq!(
        store_token(store, "fauna".into(), T + 2_000.0),
        Some(t.clone())
    );
    assert_eq!(store_token(store, "fauna".into(), T + 56_000.0), None);
    let claims = json(&store_claims(store, "fauna".into()).unwrap());
    assert_eq!(claims["sub"], "user_a");
    // [hits, misses, joins, refreshes, failures]
    assert_eq!(store_stats(store), [1.0, 1.0, 0.0, 0.0, 0.0]);

    // In the refresh-ahead window: served, and one background refresh.
    let refresh = lookup(store, "fauna", ORDINARY, T + 50_000.0);
    assert_eq!(refresh[0], 1.0, "HitAndRefresh");
    assert_eq!(&refresh[2..4], &[1.0, 1.0]);
    assert!(refresh[4] > T + 50_000.0, "served until it is stale");

    store_invalidate(store, "fauna".into());
    assert_eq!(store_token(store, "fauna".into(), CACHED), None);
    store_drop(store);
    assert_eq!(store_stats(store), Vec::<f64>::new());
}

#[wasm_bindgen_test]
fn concurrent_callers_join_one_flight_and_forced_ones_share_their_own() {
    let (store, _) = filled("warm-up");
    let first = lookup(store, "fauna", ORDINARY, T + 100.0);
    assert_eq!((first[0], first[2], first[3]), (WAIT, 1.0, 0.0));
    let joined = lookup(store, "fauna", ORDINARY, T + 100.0);
    assert_eq!((joined[0], joined[1], joined[2]), (WAIT, first[1], 0.0));

    let forced = lookup(store, "fauna", FORCED, T + 100.0);
    assert_ne!(
        forced[1], first[1],
        "a forced caller never shares an ordinary call"
    );
    assert_eq!(&forced[2..4], &[1.0, 1.0]);
    let forced_again = lookup(store, "fauna", FORCED, T + 100.0);
    assert_eq!((forced_again[1], forced_again[2]), (forced[1], 0.0));
    let stats = store_stats(store);
    assert_eq!((stats[1], stats[2], stats[3]), (2.0, 2.0, 1.0));
}

#[wasm_bindgen_test]
fn clear_returns_the_flights_in_flight_and_bumps_the_epoch() {
    let (store, _) = filled("warm-up");
    let a = lookup(store, "fauna", ORDINARY, T + 100.0)[1];
    let b = lookup(store, "other", FORCED, T + 100.0)[1];
    let mut cleared = store_clear(store);
    assert_eq!(cleared.remove(0), 1.0, "epoch");
    cleared.sort_by(f64::total_cmp);
    assert_eq!(cleared, [a, b]);
    assert_eq!(store_token(store, "warm-up".into(), CACHED), None);
    assert_eq!(
        lookup(store, "warm-up", ORDINARY, T + 100.0)[5],
        1.0,
        "epoch"
    );
    assert_refused_as_cleared(store, "fauna", a);
}

/// A token arriving for `flight` after it was made stale fails with `cleared`.
fn assert_refused_as_cleared(store: u32, template: &str, flight: f64) {
    let late = complete(store, template, flight, &token("user_a", T, 9), T + 200.0);
    assert_eq!(late[0], FAIL);
    assert_eq!(code(&last_error()), "cleared");
}

#[wasm_bindgen_test]
fn another_users_token_makes_earlier_flights_stale() {
    let (store, _) = filled("fauna");
    let earlier = lookup(store, "other", ORDINARY, T + 100.0)[1];
    let switch = lookup(store, "fauna", FORCED, T + 100.0)[1];
    let b = token("user_b", T + 100.0, 3);
    let done = complete(store, "fauna", switch, &b, T + 150.0);
    assert_eq!(done[0], DELIVER_GIVEN);
    assert_eq!(done[1], 1.0, "a new epoch");
    assert_eq!(&done[3..], &[earlier], "the flight begun for user_a");
    assert_eq!(lookup(store, "fauna", ORDINARY, T + 200.0)[5], 1.0, "epoch");
    assert_refused_as_cleared(store, "other", earlier);
}

#[wasm_bindgen_test]
fn a_sign_out_fails_with_last_error_as_json() {
    let (store, _) = filled("fauna");
    let flight = lookup(store, "other", ORDINARY, T + 100.0)[1];
    let done = store_complete(store, "other".into(), flight, None, SIGNED_OUT, T + 150.0);
    assert_eq!((done[0], done[1], done[2]), (FAIL, 1.0, -1.0));
    let error = json(&last_error());
    assert_eq!(error["code"], "signed_out");
    assert!(error["message"].as_str().unwrap().contains("null"));
    assert_eq!(error.as_object().unwrap().len(), 2, "{error}");
    assert_eq!(store_token(store, "fauna".into(), CACHED), None);
}

#[wasm_bindgen_test]
fn a_time_seen_without_asking_reveals_a_clock_that_stepped_back() {
    let (store, t) = filled("fauna");
    assert_eq!(lookup(store, "fauna", ORDINARY, T + 1_000.0)[0], HIT);
    // The typed layer served hits until T + 40 s; now the clock reads an
    // hour earlier: what was known of the server's clock is forgotten.
    let answer = store_lookup(
        store,
        "fauna".into(),
        ORDINARY,
        None,
        T - 3_600_000.0,
        T + 40_000.0,
    );
    assert_eq!(answer[0], WAIT);
    assert_eq!(&answer[2..4], &[1.0, 1.0], "asked with skipCache");
    assert_eq!(store_token(store, "fauna".into(), CACHED), Some(t));
}

#[wasm_bindgen_test]
fn claims_are_read_as_json_parse_reads_them() {
    // Escapes, an exponent, and a repeated member (the last one counts): a
    // token that is fresh only if `exp` is read as the last one.
    let (store, _) = filled("fauna");
    let payload = r#"{"sub":"user_\u0061","iat":1.7e9,"nbf":0,"exp":1,"exp":1700000060}"#;
    let t = format!(
        "{}.{}.c2ln",
        segment(r#"{"alg":"RS256"}"#),
        segment(payload)
    );
    let flight = lookup(store, "fauna", FORCED, T + 100.0)[1];
    let done = complete(store, "fauna", flight, &t, T + 150.0);
    assert_eq!(done[0], DELIVER_GIVEN, "{}", last_error());
    assert_eq!(done[1], 0.0, "the same user: user_\\u0061 is user_a");
    assert!(done[2] > T + 40_000.0);
}

#[wasm_bindgen_test]
fn jwts_decode_to_their_json_and_a_malformed_one_throws() {
    let t = token("user_a", T, 5);
    let decoded = jwt_decode(&t, false).unwrap();
    let parts: Vec<&str> = decoded.split('\0').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(json(parts[0])["alg"], "RS256");
    assert_eq!(json(parts[1])["sub"], "user_a");
    assert_eq!(parts[2], "");

    let fractional = format!(
        "{}.{}.c2ln",
        segment(r#"{"alg":"RS256"}"#),
        segment(r#"{"sub":"u","exp":1700000060.5}"#)
    );
    assert_eq!(
        code(&result(jwt_decode(&fractional, false)).unwrap_err()),
        "malformed_token"
    );
    let as_fauna = jwt_decode(&fractional, true).unwrap();
    assert!(as_fauna.ends_with("\0exp"), "{as_fauna:?}");

    for bad in ["abc", "a.b", "e30.e30.sig\r\n", ""] {
        let error = json(&result(jwt_decode(bad, true)).unwrap_err());
        assert_eq!(error["code"], "malformed_token", "{bad:?}");
        assert!(error["message"]
            .as_str()
            .unwrap()
            .starts_with("The token is not a valid JWT"));
    }
    // Not JSON objects as JSON.parse sees them, or not UTF-8.
    for payload in [&b"[1]"[..], b"null", b"{", b"{\"sub\":\"\xff\"}"] {
        let t = format!(
            "{}.{}.c2ln",
            segment(r#"{"alg":"RS256"}"#),
            segment(payload)
        );
        assert_eq!(
            code(&result(jwt_decode(&t, false)).unwrap_err()),
            "malformed_token",
            "{payload:?}"
        );
    }
    // The payload is handed back as it stands, escapes and all.
    let payload = r#"{"sub":"\u00fc\ud83d\ude00","aud":["a","b"]}"#;
    let escaped = format!(
        "{}.{}.c2ln",
        segment(r#"{"alg":"RS256"}"#),
        segment(payload)
    );
    let decoded = jwt_decode(&escaped, false).unwrap();
    assert_eq!(decoded.split('\0').nth(1), Some(payload));
}

fn options(
    base: u32,
    typecheck: Option<bool>,
    linearized: Option<bool>,
    query_tags: Option<&str>,
    traceparent: Option<&str>,
) -> Result<u32, String> {
    // NaN: not given.
    let flag = |b: Option<bool>| b.map_or(f64::NAN, f64::from);
    let id = options_new(
        base,
        None,
        None,
        None,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        flag(typecheck),
        flag(linearized),
        f64::NAN,
        query_tags.map(Into::into),
        traceparent.map(Into::into),
    );
    result((id != 0).then_some(id))
}

/// `request`'s answer: the URL, the headers in order, the body.
fn lines(encoded: &str) -> (String, Vec<(String, String)>, String) {
    let r = clerk_fauna::core::request::parse(encoded);
    (r.url, r.headers, r.body)
}

#[wasm_bindgen_test]
fn options_are_checked_and_merged_over_their_base() {
    for (tags, traceparent) in [
        (Some("a b\0c"), None),
        (Some("a\0b\0c"), None),
        (None, Some("00-abc-def-01")),
    ] {
        let error = json(&options(0, None, None, tags, traceparent).unwrap_err());
        assert_eq!(error["code"], "invalid_option", "{tags:?} {traceparent:?}");
    }
    let bad_format = options_new(
        0,
        None,
        None,
        Some("fancy".into()),
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        f64::NAN,
        None,
        None,
    );
    assert_eq!(bad_format, 0);
    assert_eq!(code(&last_error()), "invalid_option");

    let base = options(0, Some(true), None, Some("app\0demo\0tier\0pro"), None).unwrap();
    let query = options(base, None, Some(false), None, None).unwrap();
    assert_ne!(base, query);
    assert_eq!(options_deadline(query), 10_000.0);
    let (url, headers, body) = lines(
        &request(
            query,
            V10,
            Some(1234.0),
            "x \"q\"\n",
            Some(r#"{"a":1}"#.into()),
        )
        .unwrap(),
    );
    assert_eq!(url, "https://db.fauna.com/query/1");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("X-Typecheck"), Some("true"), "from the base");
    assert_eq!(header("X-Linearized"), Some("false"));
    assert_eq!(header("X-Query-Tags"), Some("app=demo,tier=pro"));
    assert_eq!(header("X-Last-Txn-Ts"), Some("1234"));
    assert_eq!(header("Authorization"), None, "the typed layer adds it");
    assert_eq!(
        json(&body),
        serde_json::json!({"query": "x \"q\"\n", "arguments": {"a": 1}})
    );

    options_drop(base);
    assert!(options_deadline(base).is_nan());
    assert_eq!(
        code(&result(request(base, V10, None, "1", None)).unwrap_err()),
        "invalid_option"
    );
    assert_eq!(
        code(&options(base, None, None, None, None).unwrap_err()),
        "invalid_option"
    );
}

#[wasm_bindgen_test]
fn requests_for_each_api() {
    let (url, headers, body) =
        lines(&request(0, V4, Some(5.0), r#"{"current_identity":null}"#, None).unwrap());
    assert_eq!(url, "https://db.fauna.com/");
    assert!(headers.contains(&("X-FaunaDB-API-Version".into(), "4".into())));
    assert!(headers.contains(&("X-Last-Seen-Txn".into(), "5".into())));
    assert_eq!(body, r#"{"current_identity":null}"#);
    let (url, headers, body) =
        lines(&request(0, GRAPHQL, Some(5.0), "{ whoami }", Some("{}".into())).unwrap());
    assert_eq!(url, "https://graphql.fauna.com/graphql");
    assert_eq!(
        headers,
        [("Content-Type".to_owned(), "application/json".to_owned())]
    );
    assert_eq!(body, r#"{"query":"{ whoami }","variables":{}}"#);
}

fn judge_v10(
    status: u16,
    code: Option<&str>,
    retry_after: Option<&str>,
    attempt: u32,
    refreshed: bool,
) -> Result<f64, String> {
    let next = judge(
        0,
        V10,
        status,
        true,
        status == 200,
        code.map(Into::into),
        code.map(|c| format!("about {c}")),
        false,
        retry_after.map(Into::into),
        attempt,
        refreshed,
        0.5,
    );
    result((next != -3.0).then_some(next))
}

#[wasm_bindgen_test]
fn answers_are_judged() {
    assert_eq!(judge_v10(200, None, None, 1, false), Ok(-1.0), "Done");
    assert_eq!(
        judge_v10(401, Some("unauthorized"), None, 1, false),
        Ok(-2.0),
        "Refresh"
    );
    let error = json(&judge_v10(401, Some("unauthorized"), None, 1, true).unwrap_err());
    assert_eq!(error["code"], "unauthorized");
    assert_eq!(error["httpStatus"], 401);
    assert_eq!(error["faunaCode"], "unauthorized");

    assert_eq!(
        judge_v10(429, Some("limit_exceeded"), Some("2"), 1, false),
        Ok(2_000.0)
    );
    assert_eq!(
        judge_v10(429, Some("limit_exceeded"), None, 2, false),
        Ok(1_000.0),
        "0.5 * 2 s"
    );
    let error = json(&judge_v10(429, Some("limit_exceeded"), Some("2"), 3, false).unwrap_err());
    assert_eq!(error["code"], "throttled");
    assert_eq!(error["retryAfterMs"], 2_000);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("after 3 attempt(s)"));

    let error = json(&judge_v10(400, Some("invalid_query"), None, 1, false).unwrap_err());
    assert_eq!(error["code"], "query_failed");
    assert_eq!(
        error["message"],
        "The query failed (HTTP 400): about invalid_query"
    );
    let not_json = judge(
        0, GRAPHQL, 502, false, false, None, None, false, None, 1, false, 0.5,
    );
    assert_eq!(not_json, -3.0, "Fail");
    assert_eq!(code(&last_error()), "service_error");
}

// ts/core.ts's `Input` and `Step`.
const TOKEN: u32 = 0;
const TOKEN_FAILED: u32 = 1;
const OPENED: u32 = 2;
const REFUSED: u32 = 3;
const EVENT: u32 = 4;
const ERROR_EVENT: u32 = 5;
const WAIT_OVER: u32 = 8;
const EPOCH: u32 = 9;
const CLOSE: u32 = 10;
const PAGE: u32 = 11;
const NEXT: u32 = 12;
const START: u32 = 13;
const GET_TOKEN: f64 = -1.0;
const GET_REPLACING_TOKEN: f64 = -2.0;
const CONNECT: f64 = -3.0;
const DELIVER: f64 = -4.0;
const IGNORE: f64 = -5.0;
const END: f64 = -6.0;
const END_FAILED: f64 = -7.0;

/// A stream of source `S` at epoch 3 (`cursor` or `start_ts`, NaN: none).
fn new_stream(cursor: Option<&str>, start_ts: f64, status_events: bool) -> u32 {
    stream_new(
        false,
        "S".into(),
        cursor.map(String::from),
        start_ts,
        status_events,
        0.0,
        f64::NAN,
        f64::NAN,
        3.0,
        42.0,
    )
}

fn on(id: u32, input: u32, a: Option<&str>, b: Option<&str>, n: f64) -> f64 {
    stream_on(
        id,
        input,
        a.map(String::from),
        b.map(String::from),
        n,
        false,
        None,
    )
}

fn stream_body(id: u32) -> String {
    stream_text(id, true).unwrap()
}

fn stream_cursor(id: u32) -> Option<String> {
    stream_text(id, false)
}

fn start(id: u32) -> f64 {
    on(id, START, None, None, f64::NAN)
}

fn event(id: u32, kind: &str, txn_ts: f64, cursor: &str) -> f64 {
    on(id, EVENT, Some(kind), Some(cursor), txn_ts)
}

#[wasm_bindgen_test]
fn a_stream_connects_delivers_once_and_resumes_after_permission_loss() {
    let s = new_stream(Some("c0"), f64::NAN, false);
    assert_ne!(s, 0, "{}", last_error());
    assert_eq!(start(s), GET_TOKEN);
    assert_eq!(start(s), IGNORE, "started once");
    assert_eq!(on(s, TOKEN, None, None, 3.0), CONNECT);
    assert_eq!(stream_body(s), r#"{"token":"S","cursor":"c0"}"#);
    assert_eq!(on(s, OPENED, None, None, f64::NAN), IGNORE);
    assert_eq!(event(s, "status", 10.0, "s10"), IGNORE);
    assert_eq!(event(s, "add", 11.0, "c1"), DELIVER);
    assert_eq!(stream_cursor(s).as_deref(), Some("c1"));
    // The token ran out: another, and the same events are not delivered twice.
    assert_eq!(
        on(
            s,
            ERROR_EVENT,
            Some("permission_loss"),
            Some("gone"),
            f64::NAN
        ),
        GET_REPLACING_TOKEN
    );
    assert_eq!(on(s, TOKEN, None, None, 3.0), CONNECT);
    assert_eq!(stream_body(s), r#"{"token":"S","cursor":"c1"}"#);
    on(s, OPENED, None, None, f64::NAN);
    assert_eq!(event(s, "status", 11.0, "s11"), IGNORE);
    assert_eq!(event(s, "add", 11.0, "c1"), IGNORE);
    assert_eq!(event(s, "update", 12.0, "c2"), DELIVER);
    // A refusal with Retry-After waits as asked, capped.
    let refused = stream_on(
        s,
        REFUSED,
        Some("limit_exceeded".into()),
        None,
        429.0,
        true,
        Some("2".into()),
    );
    assert_eq!(refused, IGNORE, "no refusal while the body is read");
    assert_eq!(on(s, CLOSE, None, None, f64::NAN), END);
    assert_eq!(stream_cursor(s).as_deref(), Some("c2"));
    stream_drop(s);
    // A dropped id: ended, `cleared`.
    assert_eq!(on(s, WAIT_OVER, None, None, f64::NAN), END_FAILED);
    assert_eq!(code(&last_error()), "cleared");
    assert_eq!(stream_cursor(s), None);
}

#[wasm_bindgen_test]
fn stream_endings_and_bad_options_are_errors_for_last_error() {
    assert_eq!(new_stream(Some("c"), 5.0, false), 0);
    assert_eq!(code(&last_error()), "invalid_option");
    let zero = stream_new(
        true,
        "S".into(),
        None,
        f64::NAN,
        false,
        16_001.0,
        f64::NAN,
        f64::NAN,
        0.0,
        1.0,
    );
    assert_eq!(zero, 0);
    assert_eq!(code(&last_error()), "invalid_option");

    let s = new_stream(None, f64::NAN, true);
    start(s);
    // Refused at connect: 400 is the source's fault.
    on(s, TOKEN, None, None, 3.0);
    let failed = stream_on(
        s,
        REFUSED,
        Some("invalid_request".into()),
        Some("bad cursor".into()),
        400.0,
        true,
        None,
    );
    assert_eq!(failed, END_FAILED);
    let e = json(&last_error());
    assert_eq!(
        (e["code"].as_str(), e["faunaCode"].as_str()),
        (Some("query_failed"), Some("invalid_request"))
    );

    // Another epoch: cleared; a sign-out: signed_out; a retryable token failure: a wait.
    let s = new_stream(None, 7.0, false);
    start(s);
    let wait = on(
        s,
        TOKEN_FAILED,
        Some("token_timeout"),
        Some("slow"),
        f64::NAN,
    );
    assert!((0.0..=1000.0).contains(&wait), "{wait}");
    assert_eq!(on(s, WAIT_OVER, None, None, f64::NAN), GET_TOKEN);
    assert_eq!(on(s, EPOCH, None, None, 4.0), END_FAILED);
    assert_eq!(code(&last_error()), "cleared");
    let s = new_stream(None, 7.0, false);
    start(s);
    assert_eq!(on(s, TOKEN, None, None, 3.0), CONNECT);
    assert_eq!(stream_body(s), r#"{"token":"S","start_ts":7}"#);
    on(s, OPENED, None, None, f64::NAN);
    assert_eq!(
        on(s, TOKEN_FAILED, Some("signed_out"), Some("null"), f64::NAN),
        END_FAILED
    );
    assert_eq!(code(&last_error()), "signed_out");
}

#[wasm_bindgen_test]
fn a_feed_pages_on_demand() {
    let f = stream_new(
        true,
        "S".into(),
        None,
        f64::NAN,
        false,
        2.0,
        3.0,
        100.0,
        0.0,
        1.0,
    );
    assert_eq!(start(f), GET_TOKEN);
    assert_eq!(on(f, TOKEN, None, None, 0.0), CONNECT);
    assert_eq!(stream_body(f), r#"{"token":"S","page_size":2}"#);
    let page = |cursor: &str, has_next: bool| {
        stream_on(f, PAGE, None, Some(cursor.into()), f64::NAN, has_next, None)
    };
    assert_eq!(page("p1", true), DELIVER);
    assert_eq!(stream_cursor(f).as_deref(), Some("p1"));
    assert_eq!(on(f, NEXT, None, None, f64::NAN), GET_TOKEN);
    on(f, TOKEN, None, None, 0.0);
    assert_eq!(
        stream_body(f),
        r#"{"token":"S","cursor":"p1","page_size":2}"#
    );
    assert_eq!(page("p2", false), DELIVER);
    assert_eq!(on(f, NEXT, None, None, f64::NAN), END);
    stream_drop(f);
}
