//! Event streams (`/stream/1`) and feeds (`/feed/1`) of the Fauna stand-in, over
//! real HTTP on ephemeral ports; stream bodies are read chunk by chunk as they arrive.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Longest wait for one stream event; only a failing test waits this long.
const EVENT_WAIT: Duration = Duration::from_secs(20);

/// What reading a stream body gave.
#[derive(Debug)]
enum Next {
    Event(Value),
    /// The body ended cleanly.
    End,
    /// The connection broke mid-body.
    Broken,
}

impl Next {
    fn event(self) -> Value {
        match self {
            Next::Event(e) => e,
            other => panic!("expected an event, got {other:?}"),
        }
    }
}

/// An open `/stream/1` response, split into `\r\n`-separated events as the driver does.
struct Stream {
    res: reqwest::Response,
    buf: Vec<u8>,
}

impl Stream {
    async fn next(&mut self) -> Next {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..at + 2).collect();
                let event = serde_json::from_slice(&line[..at]).expect("each event is JSON");
                return Next::Event(event);
            }
            match tokio::time::timeout(EVENT_WAIT, self.res.chunk()).await {
                Err(_) => panic!("no stream event within {EVENT_WAIT:?}"),
                Ok(Ok(Some(chunk))) => self.buf.extend_from_slice(&chunk),
                Ok(Ok(None)) => {
                    assert!(self.buf.is_empty(), "trailing bytes without \\r\\n");
                    return Next::End;
                }
                Ok(Err(_)) => return Next::Broken,
            }
        }
    }

    async fn event(&mut self) -> Value {
        self.next().await.event()
    }

    /// Reads `n` data events, skipping status events.
    async fn data(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            let e = self.event().await;
            assert_ne!(e["type"], "error", "unexpected error event {e}");
            if e["type"] != "status" {
                out.push(e);
            }
        }
        out
    }
}

async fn post(h: &Harness, path: &str, secret: &str, body: Value) -> reqwest::Response {
    h.http
        .post(h.fauna(path))
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .expect("request sent")
}

/// Opens a stream; panics unless the server accepts it.
async fn open(h: &Harness, secret: &str, body: Value) -> Stream {
    let res = post(h, "/stream/1", secret, body).await;
    assert_eq!(res.status(), 200, "stream refused");
    assert_eq!(res.headers()["content-type"], "application/json");
    assert!(res.headers().contains_key("x-fauna-stream-id"));
    Stream {
        res,
        buf: Vec::new(),
    }
}

/// Status and JSON body of a refused stream, or of a feed poll.
async fn reply(h: &Harness, path: &str, secret: &str, body: Value) -> (u16, Value) {
    let res = post(h, path, secret, body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A feed page; panics unless the poll succeeds.
async fn poll(h: &Harness, secret: &str, body: Value) -> Value {
    let (status, page) = reply(h, "/feed/1", secret, body).await;
    assert_eq!(status, 200, "{page}");
    page
}

fn page_titles(page: &Value) -> Vec<&str> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(title)
        .collect()
}

/// A stream token from `fql` (run with `secret`, tagged format).
async fn token(h: &Harness, secret: &str, fql: &str) -> String {
    let reply = h
        .query_with(secret, json!({ "query": fql }), &[("x-format", "tagged")])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["data"]["@stream"]
        .as_str()
        .unwrap_or_else(|| panic!("not a stream: {}", reply.body))
        .to_owned()
}

/// A harness, Alice's token, and a stream token over every `Todo` she can read.
async fn alice_all() -> (Harness, String, String) {
    let h = Harness::start().await;
    let alice = h.valid_token(ALICE).await;
    let src = token(&h, &alice, "Todo.all().eventSource()").await;
    (h, alice, src)
}

async fn write(h: &Harness, secret: &str, fql: &str) -> Value {
    let reply = h.query(secret, fql).await;
    assert_eq!(reply.status, 200, "{fql}: {}", reply.body);
    reply.body["data"].clone()
}

/// Creates one `Todo` per title, all in one transaction.
async fn create_all(h: &Harness, secret: &str, titles: &[&str]) {
    let creates: Vec<String> = titles
        .iter()
        .map(|t| format!("Todo.create({{ title: '{t}' }})"))
        .collect();
    write(h, secret, &format!("[{}]", creates.join(", "))).await;
}

async fn settings(h: &Harness, body: Value) {
    let reply = h
        .send(h.http.post(h.fauna("/__admin/streams")).json(&body))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

async fn fault(h: &Harness, body: Value) {
    let reply = h
        .send(h.http.post(h.fauna("/__admin/faults")).json(&body))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// The request log's stream and feed entries.
async fn stream_log(h: &Harness) -> Vec<Value> {
    let log = h.send(h.http.get(h.fauna("/__admin/requests"))).await.body;
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["path"] == "/stream/1" || e["path"] == "/feed/1")
        .cloned()
        .collect()
}

/// Polls the log until the `index`th stream/feed entry has ended as `how`.
async fn wait_ended(h: &Harness, index: usize, how: &str) {
    let deadline = Instant::now() + EVENT_WAIT;
    loop {
        let log = stream_log(h).await;
        if log.get(index).is_some_and(|e| e["ended"] == how) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "entry {index} never ended as {how}: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn title(event: &Value) -> &str {
    event["data"]["@doc"]["title"].as_str().unwrap_or_default()
}

fn kinds_and_titles(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), title(e).to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Sleeps until the JWT's `exp` has passed.
async fn outlive(jwt: &str) {
    use base64::Engine;
    let part = jwt.split('.').nth(1).unwrap();
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap();
    let exp = payload["exp"].as_f64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64((exp - now).max(0.0) + 0.3)).await;
}

#[tokio::test]
async fn event_sources_are_stream_tokens_and_bad_requests_are_refused() {
    let h = Harness::start().await;
    let alice = h.valid_token(ALICE).await;
    let tagged = token(&h, &alice, "Todo.all().eventSource()").await;
    let simple = h
        .query(&alice, "Todo.where(.done == false).eventSource()")
        .await;
    assert!(simple.body["data"].is_string(), "{}", simple.body);
    token(
        &h,
        &alice,
        "Todo.all().where(x => x.done).eventsOn(.title, .meta.tag)",
    )
    .await;
    assert_eq!(
        h.query(&alice, "let s = Todo.all(); s.eventSource()")
            .await
            .body["error"]["code"],
        "invalid_query"
    );
    assert_eq!(
        h.query(&alice, "Todo.all().eventsOn(1)").await.body["error"]["code"],
        "invalid_argument"
    );
    assert_eq!(
        h.query(&alice, "Todo.create({ s: Todo.all().eventSource() })")
            .await
            .body["error"]["code"],
        "invalid_argument",
        "event sources cannot be stored"
    );

    let bad = |body: Value| reply(&h, "/stream/1", &alice, body);
    let (status, body) = bad(json!({"token": "bm9wZQ=="})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"],
        json!({"code": "invalid_request", "message": "Invalid request body: invalid event source provided"})
    );
    let (status, body) = bad(json!({"token": tagged, "cursor": "x", "start_ts": 1})).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("both `start_ts` and `cursor`"));
    let (status, body) = bad(json!({"token": tagged, "start_ts": 1})).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Invalid stream start time"));
    // The body is checked before the credentials; then a bad secret is a 401.
    let (status, _) = reply(&h, "/stream/1", "nope", json!({"token": "x"})).await;
    assert_eq!(status, 400);
    let (status, body) = reply(&h, "/stream/1", "nope", json!({"token": tagged})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"],
        json!({"code": "unauthorized", "message": "Invalid token, unable to authenticate request"})
    );
    let (status, body) = reply(
        &h,
        "/feed/1",
        &alice,
        json!({"token": tagged, "page_size": 16001}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Invalid request body: page size can not be greater than 16000."
    );
}

#[tokio::test]
async fn writes_from_any_client_reach_the_streams_whose_set_they_touch() {
    let h = Harness::start().await;
    let alice = h.valid_token(ALICE).await;
    let bob = h.valid_token(BOB).await;
    let all = token(&h, &alice, "Todo.all().eventSource()").await;
    let done = token(&h, &alice, "Todo.where(.done == true).eventSource()").await;
    let titles = token(&h, &alice, "Todo.all().eventsOn(.title)").await;
    let mut s_all = open(&h, &alice, json!({"token": all})).await;
    let mut s_done = open(&h, &alice, json!({"token": done})).await;
    let mut s_titles = open(&h, &alice, json!({"token": titles})).await;
    let first = s_all.event().await;
    assert_eq!(first["type"], "status");
    for key in ["txn_ts", "cursor", "stats"] {
        assert!(first.get(key).is_some(), "status without {key}: {first}");
    }

    let id = write(&h, &alice, "Todo.create({ title: 'a1', done: false }).id").await;
    write(&h, &bob, "Todo.create({ title: 'bob', done: true })").await;
    write(
        &h,
        "secret",
        &format!("Todo.create({{ title: 'root', owner: '{ALICE}', done: true }})"),
    )
    .await;
    let on = |op: &str| format!("Todo.byId('{}')!.{op}", id.as_str().unwrap());
    write(&h, &alice, &on("update({ done: true })")).await;
    write(&h, &alice, &on("update({ title: 'a2' })")).await;
    write(&h, "secret", &on("delete()")).await;

    let events = s_all.data(5).await;
    assert_eq!(
        kinds_and_titles(&events),
        pairs(&[
            ("add", "a1"),
            ("add", "root"),
            ("update", "a1"),
            ("update", "a2"),
            ("remove", "a2")
        ]),
        "Bob's document is not Alice's to see"
    );
    let e = &events[0];
    assert_eq!(e["data"]["@doc"]["coll"], json!({"@mod": "Todo"}));
    assert_eq!(e["data"]["@doc"]["owner"], ALICE);
    assert!(e["txn_ts"].is_i64() && e["cursor"].is_string());
    for key in [
        "read_ops",
        "storage_bytes_read",
        "compute_ops",
        "processing_time_ms",
        "rate_limits_hit",
    ] {
        assert!(e["stats"].get(key).is_some(), "stats without {key}");
    }
    let ts: Vec<i64> = events
        .iter()
        .map(|e| e["txn_ts"].as_i64().unwrap())
        .collect();
    assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "in commit order: {ts:?}"
    );

    assert_eq!(
        kinds_and_titles(&s_done.data(3).await),
        pairs(&[("add", "root"), ("add", "a1"), ("update", "a2")]),
        "a1 enters the set when it is done"
    );
    assert_eq!(s_done.data(1).await[0]["type"], "remove");
    assert_eq!(
        kinds_and_titles(&s_titles.data(3).await),
        pairs(&[("add", "a1"), ("add", "root"), ("update", "a2")]),
        "eventsOn(.title) skips the update of `done`"
    );
    assert_eq!(s_titles.data(1).await[0]["type"], "remove");

    // The root secret's stream sees every owner's writes.
    let root_all = token(&h, "secret", "Todo.all().eventSource()").await;
    let mut s_root = open(&h, "secret", json!({"token": root_all})).await;
    write(&h, &bob, "Todo.create({ title: 'bob2' })").await;
    assert_eq!(title(&s_root.data(1).await[0]), "bob2");
    // A token made by Alice streams Bob's documents to Bob (the caller's role
    // applies), replayed from the token's creation, then live.
    let mut s_bob = open(&h, &bob, json!({"token": all})).await;
    write(&h, &alice, "Todo.create({ title: 'a3' })").await;
    write(&h, &bob, "Todo.create({ title: 'bob3' })").await;
    assert_eq!(
        s_bob.data(3).await.iter().map(title).collect::<Vec<_>>(),
        vec!["bob", "bob2", "bob3"]
    );
}

#[tokio::test]
async fn resuming_replays_exactly_the_events_after_a_cursor() {
    let (h, alice, src) = alice_all().await;
    // Writes made before the connection are replayed from the token's creation.
    create_all(&h, &alice, &["n0", "n1"]).await;
    let mut s = open(&h, &alice, json!({"token": src})).await;
    let first = s.data(2).await;
    assert_eq!(
        kinds_and_titles(&first),
        pairs(&[("add", "n0"), ("add", "n1")])
    );
    assert_eq!(
        first[0]["txn_ts"], first[1]["txn_ts"],
        "one transaction, two ordinals"
    );
    assert_ne!(first[0]["cursor"], first[1]["cursor"]);
    drop(s);
    for i in 2..6 {
        write(&h, &alice, &format!("Todo.create({{ title: 'n{i}' }})")).await;
    }
    // From the first event's cursor: its transaction's second write, then the rest.
    let mut s = open(
        &h,
        &alice,
        json!({"token": src, "cursor": first[0]["cursor"]}),
    )
    .await;
    let status = s.event().await;
    assert_eq!(status["type"], "status");
    assert_eq!(status["txn_ts"], first[0]["txn_ts"]);
    let again = s.data(5).await;
    assert_eq!(
        again.iter().map(title).collect::<Vec<_>>(),
        vec!["n1", "n2", "n3", "n4", "n5"]
    );
    write(&h, &alice, "Todo.create({ title: 'live' })").await;
    assert_eq!(title(&s.data(1).await[0]), "live", "then live events");

    // start_ts skips every event of that transaction.
    let ts = again[1]["txn_ts"].as_i64().unwrap();
    let mut s = open(&h, &alice, json!({"token": src, "start_ts": ts})).await;
    assert_eq!(
        s.data(4).await.iter().map(title).collect::<Vec<_>>(),
        vec!["n3", "n4", "n5", "live"]
    );

    // The same through a feed, page by page.
    let page = poll(&h, &alice, json!({"token": src, "page_size": 4})).await;
    assert_eq!(page["has_next"], true);
    assert_eq!(page_titles(&page), vec!["n0", "n1", "n2", "n3"]);
    let body = json!({"token": src, "cursor": page["cursor"], "page_size": 4});
    let page = poll(&h, &alice, body).await;
    assert_eq!(page_titles(&page), vec!["n4", "n5", "live"]);
    assert_eq!(page["has_next"], false);
    for key in ["read_ops", "compute_ops", "processing_time_ms"] {
        assert!(page["stats"].get(key).is_some());
    }
    let empty = poll(&h, &alice, json!({"token": src, "cursor": page["cursor"]})).await;
    assert_eq!(empty["events"], json!([]));
    write(&h, &alice, "Todo.create({ title: 'after' })").await;
    let next = poll(&h, &alice, json!({"token": src, "cursor": empty["cursor"]})).await;
    assert_eq!(page_titles(&next), vec!["after"]);
    // Default page size is 16.
    create_all(&h, &alice, &["bulk"; 20]).await;
    let big = poll(&h, &alice, json!({"token": src, "cursor": next["cursor"]})).await;
    assert_eq!(big["events"].as_array().unwrap().len(), 16);
    assert_eq!(big["has_next"], true);
}

#[tokio::test]
async fn old_cursors_and_long_replays_end_with_the_servers_errors() {
    let h = Harness::start().await;
    let alice = h.valid_token(ALICE).await;
    settings(&h, json!({"replay_limit": 3})).await;
    let src = token(&h, &alice, "Todo.all().eventSource()").await;
    for i in 0..5 {
        write(&h, &alice, &format!("Todo.create({{ title: 'r{i}' }})")).await;
    }
    let mut s = open(&h, &alice, json!({"token": src})).await;
    assert_eq!(s.event().await["type"], "status");
    assert_eq!(s.data(3).await.len(), 3);
    let e = s.event().await;
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["code"], "stream_replay_volume_exceeded");
    assert!(matches!(s.next().await, Next::End));

    settings(&h, json!({"history_ms": 300, "replay_limit": 128})).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut s = open(&h, &alice, json!({"token": src})).await;
    assert_eq!(s.event().await["type"], "status");
    let e = s.event().await;
    assert_eq!(e["error"]["code"], "invalid_stream_start_time");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too far in the past"));
    assert!(matches!(s.next().await, Next::End));
    let (status, page) = reply(&h, "/feed/1", &alice, json!({"token": src})).await;
    assert_eq!(status, 200);
    assert_eq!(
        page["events"][0]["error"]["code"],
        "invalid_stream_start_time"
    );
    assert_eq!(page["has_next"], false);
    wait_ended(&h, 0, "error:stream_replay_volume_exceeded").await;
    wait_ended(&h, 1, "error:invalid_stream_start_time").await;
    assert_eq!(
        stream_log(&h).await[2]["ended"],
        "error:invalid_stream_start_time"
    );
}

#[tokio::test]
async fn expired_tokens_lose_the_stream_on_an_idle_tick_and_reconnects_get_401() {
    let h = Harness::start().await;
    settings(&h, json!({"idle_check_ms": 100})).await;
    let short = h.mint(json!({"user_id": ALICE, "lifetime": 4})).await;
    let src = token(&h, &short, "Todo.all().eventSource()").await;
    let mut s = open(&h, &short, json!({"token": src})).await;
    assert_eq!(s.event().await["type"], "status");
    // Idle: no write, only the tick notices the expiry.
    let e = s.event().await;
    assert_eq!(
        e["error"],
        json!({"code": "permission_loss", "message": "Stream authentication is no longer valid."})
    );
    assert!(e["stats"].is_object());
    assert!(
        matches!(s.next().await, Next::End),
        "the body ends after the error"
    );
    let (status, body) = reply(&h, "/stream/1", &short, json!({"token": src})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    // A fresh token resumes the same source.
    let fresh = h.valid_token(ALICE).await;
    let mut s = open(&h, &fresh, json!({"token": src})).await;
    write(&h, &fresh, "Todo.create({ title: 'still here' })").await;
    assert_eq!(title(&s.data(1).await[0]), "still here");

    let log = stream_log(&h).await;
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["sub"], ALICE);
    assert_eq!(log[0]["ended"], "permission_loss");
    assert_eq!(
        (log[1]["status"].as_u64(), log[1]["auth"].as_str()),
        (Some(401), Some("rejected"))
    );
    assert_eq!(log[2]["ended"], "open");
}

#[tokio::test]
async fn credentials_are_checked_before_each_batch() {
    let h = Harness::start().await;
    // The default idle tick is a minute: only the batch check can notice.
    let short = h.mint(json!({"user_id": ALICE, "lifetime": 4})).await;
    let src = token(&h, &short, "Todo.all().eventSource()").await;
    let mut s = open(&h, &short, json!({"token": src})).await;
    assert_eq!(s.event().await["type"], "status");
    outlive(&short).await;
    write(
        &h,
        "secret",
        &format!("Todo.create({{ title: 'late', owner: '{ALICE}' }})"),
    )
    .await;
    assert_eq!(s.event().await["error"]["code"], "permission_loss");
    assert!(matches!(s.next().await, Next::End));
    // The event was not lost: a new token replays it from the token's start.
    let fresh = h.valid_token(ALICE).await;
    let mut s = open(&h, &fresh, json!({"token": src})).await;
    assert_eq!(title(&s.data(1).await[0]), "late");
}

#[tokio::test]
async fn idle_streams_repeat_status_events() {
    let h = Harness::start().await;
    settings(&h, json!({"idle_check_ms": 50, "status_interval_ms": 100})).await;
    let alice = h.valid_token(ALICE).await;
    let src = token(&h, &alice, "Todo.all().eventSource()").await;
    let mut s = open(&h, &alice, json!({"token": src})).await;
    let first = s.event().await;
    let second = s.event().await;
    assert_eq!(second["type"], "status");
    assert!(second["txn_ts"].as_i64() > first["txn_ts"].as_i64());
    // A status cursor resumes after everything committed before it.
    write(&h, &alice, "Todo.create({ title: 'x' })").await;
    let data = s.data(1).await;
    let mut status = s.event().await;
    while status["type"] != "status" {
        status = s.event().await;
    }
    assert!(status["txn_ts"].as_i64() > data[0]["txn_ts"].as_i64());
    drop(s);
    write(&h, &alice, "Todo.create({ title: 'y' })").await;
    let mut s = open(
        &h,
        &alice,
        json!({"token": src, "cursor": status["cursor"]}),
    )
    .await;
    assert_eq!(title(&s.data(1).await[0]), "y");
}

#[tokio::test]
async fn feeds_authenticate_every_poll_and_apply_roles() {
    let h = Harness::start().await;
    let short = h.mint(json!({"user_id": ALICE, "lifetime": 4})).await;
    let bob = h.valid_token(BOB).await;
    let src = token(&h, &short, "Todo.all().eventSource()").await;
    write(&h, &short, "Todo.create({ title: 'mine' })").await;
    let (status, page) = reply(&h, "/feed/1", &short, json!({"token": src})).await;
    assert_eq!(status, 200);
    assert_eq!(page["events"][0]["type"], "add");
    let (_, bobs) = reply(&h, "/feed/1", &bob, json!({"token": src})).await;
    assert_eq!(
        bobs["events"],
        json!([]),
        "Bob cannot read Alice's document"
    );
    outlive(&short).await;
    let (status, body) = reply(
        &h,
        "/feed/1",
        &short,
        json!({"token": src, "cursor": page["cursor"]}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Invalid token, unable to authenticate request"
    );
    let log = stream_log(&h).await;
    assert_eq!(
        (log[0]["ended"].as_str(), log[0]["sub"].as_str()),
        (Some("page:1"), Some(ALICE))
    );
    assert_eq!(log[1]["ended"], "page:0");
    assert_eq!(log[2]["status"], 401);
}

#[tokio::test]
async fn injected_faults_drop_refuse_delay_and_fail_streams() {
    let (h, alice, src) = alice_all().await;
    create_all(&h, &alice, &["f0", "f1"]).await;

    fault(&h, json!({"stream": "drop", "after_events": 1})).await;
    let mut s = open(&h, &alice, json!({"token": src})).await;
    assert_eq!(title(&s.data(1).await[0]), "f0");
    assert!(
        matches!(s.next().await, Next::Broken),
        "the connection breaks mid-body"
    );

    fault(&h, json!({"status": 401, "paths": ["/stream/1"]})).await;
    let (status, body) = reply(&h, "/stream/1", &alice, json!({"token": src})).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Invalid token, unable to authenticate request"
    );

    fault(
        &h,
        json!({"stream": "error", "code": "internal_error", "message": "boom"}),
    )
    .await;
    let mut s = open(&h, &alice, json!({"token": src})).await;
    assert_eq!(s.event().await["type"], "status");
    assert_eq!(
        s.event().await["error"],
        json!({"code": "internal_error", "message": "boom"})
    );
    assert!(matches!(s.next().await, Next::End));

    fault(&h, json!({"stream": "delay", "delay_ms": 300})).await;
    let mut s = open(&h, &alice, json!({"token": src})).await;
    assert_eq!(s.data(2).await.len(), 2);
    let written = Instant::now();
    write(&h, &alice, "Todo.create({ title: 'slow' })").await;
    assert_eq!(title(&s.data(1).await[0]), "slow");
    assert!(
        written.elapsed() >= Duration::from_millis(300),
        "each event is held back"
    );
    // Stream faults never hit queries.
    fault(&h, json!({"stream": "error"})).await;
    assert_eq!(h.query(&alice, "1").await.status, 200);
    drop(s);

    let log = stream_log(&h).await;
    assert_eq!(log[0]["ended"], "dropped");
    assert_eq!(log[0]["fault"], true);
    assert_eq!(log[1]["status"], 401);
    assert_eq!(log[2]["ended"], "error:internal_error");
    // The delayed stream was closed by the client; the next write shows it.
    let deadline = Instant::now() + EVENT_WAIT;
    while stream_log(&h).await[3]["ended"] != "client_closed" {
        assert!(Instant::now() < deadline, "closed stream never noticed");
        write(&h, &alice, "Todo.create({ title: 'poke' })").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn stream_endpoints_answer_cors_for_loopback_origins() {
    let h = Harness::start().await;
    let origin = "http://127.0.0.1:5173";
    for path in ["/stream/1", "/feed/1"] {
        let pre = h
            .http
            .request(reqwest::Method::OPTIONS, h.fauna(path))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            pre.headers()["access-control-allow-origin"],
            origin,
            "{path}"
        );
        assert_eq!(pre.headers()["access-control-allow-credentials"], "true");
    }
    let alice = h.valid_token(ALICE).await;
    let src = token(&h, &alice, "Todo.all().eventSource()").await;
    let res = h
        .http
        .post(h.fauna("/stream/1"))
        .header("origin", origin)
        .bearer_auth(&alice)
        .json(&json!({"token": src}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["access-control-allow-origin"], origin);
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap();
    assert!(exposed.contains("x-fauna-stream-id"), "{exposed}");
    // Fauna's CORS rule: only the answer's own `x-` headers.
    assert!(
        exposed.split(',').all(|h| h.trim().starts_with("x-")),
        "{exposed}"
    );
}

#[tokio::test]
async fn stream_and_feed_refusals_follow_the_servers_order_and_statuses() {
    let (h, alice, src) = alice_all().await;
    for path in ["/stream/1", "/feed/1"] {
        // A bad body is a 400 whatever the secret, and the secret is never looked at.
        let (status, body) = reply(&h, path, "nope", json!({"token": "x"})).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (400, &json!("invalid_request"))
        );
        let entry = stream_log(&h).await.pop().unwrap();
        assert_eq!(
            (entry["auth"].as_str(), entry["status"].as_u64()),
            (Some("unchecked"), Some(400))
        );

        // An ordinary refusal: the endpoint's own 401, without a challenge.
        let res = post(&h, path, "nope", json!({"token": src})).await;
        assert_eq!(res.status(), 401, "{path}");
        assert!(!res.headers().contains_key("www-authenticate"), "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["error"]["message"],
            "Invalid token, unable to authenticate request"
        );
        assert_eq!(stream_log(&h).await.pop().unwrap()["auth"], "rejected");

        // A header without `alg` makes the server's parsing throw: 500, as for queries.
        let (_, rest) = alice.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","kid":"dev-1"}"#);
        let (status, body) =
            reply(&h, path, &format!("{header}.{rest}"), json!({"token": src})).await;
        assert_eq!(
            (status, &body["error"]["code"]),
            (500, &json!("internal_error")),
            "{path}"
        );
        assert_eq!(stream_log(&h).await.pop().unwrap()["reason"], "missing_alg");

        // An injected 401 on the path defaults to that endpoint's message, without a challenge.
        fault(&h, json!({"status": 401, "paths": [path]})).await;
        let res = post(&h, path, &alice, json!({"token": src})).await;
        assert_eq!(res.status(), 401, "{path}");
        assert!(!res.headers().contains_key("www-authenticate"), "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body["error"],
            json!({"code": "unauthorized", "message": "Invalid token, unable to authenticate request"})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_give_every_event_once_and_in_order_across_a_reconnect() {
    let (h, alice, src) = alice_all().await;
    let mut whole = open(&h, &alice, json!({"token": src})).await;
    // This one breaks after 30 events and resumes from its last cursor, as a client would.
    fault(&h, json!({"stream": "drop", "after_events": 30})).await;
    let mut broken = open(&h, &alice, json!({"token": src})).await;
    let writers = (0..4).map(|w| {
        let (h, alice) = (&h, &alice);
        async move {
            for i in 0..25 {
                let secret = if i % 2 == 0 { alice.as_str() } else { "secret" };
                let owner = format!("owner: '{ALICE}', ");
                let owner = if secret == "secret" {
                    owner.as_str()
                } else {
                    ""
                };
                write(
                    h,
                    secret,
                    &format!("Todo.create({{ {owner}title: 'w{w}-{i}' }})"),
                )
                .await;
            }
        }
    });
    futures_util::future::join_all(writers).await;

    let all = whole.data(100).await;
    let ts: Vec<i64> = all.iter().map(|e| e["txn_ts"].as_i64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "commit order");
    let mut titles: Vec<&str> = all.iter().map(title).collect();
    titles.sort_unstable();
    titles.dedup();
    assert_eq!(titles.len(), 100, "each write once");

    let mut resumed = broken.data(30).await;
    assert!(matches!(broken.next().await, Next::Broken));
    let cursor = resumed.last().unwrap()["cursor"].clone();
    let mut again = open(&h, &alice, json!({"token": src, "cursor": cursor})).await;
    resumed.extend(again.data(70).await);
    let resumed: Vec<&str> = resumed.iter().map(title).collect();
    let expected: Vec<&str> = all.iter().map(title).collect();
    assert_eq!(
        resumed, expected,
        "no gap and no repeat across the reconnect"
    );
}
