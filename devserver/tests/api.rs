//! The FQL subset, formats, v4, GraphQL, Clerk's FAPI subset, faults and CORS,
//! over real HTTP on ephemeral ports.

mod common;

use common::*;
use serde_json::{json, Value};

fn data(reply: &Reply) -> &Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    &reply.body["data"]
}

fn error_code(reply: &Reply) -> &str {
    assert_eq!(reply.status, 400, "{}", reply.body);
    reply.body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn fql_literals_variables_and_operators() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let reply = h
        .query_with(
            &t,
            json!({"query": "[1, 2.5, 'a', true, null, { k: [x] }, x == 3, x != 3, y?.z, { a: 1 }.a, !false && true || false]",
                   "arguments": {"x": 3, "y": null}}),
            &[],
        )
        .await;
    assert_eq!(
        data(&reply),
        &json!([1, 2.5, "a", true, null, {"k": [3]}, true, false, null, 1, true])
    );
    for key in ["summary", "txn_ts", "schema_version"] {
        assert!(reply.body.get(key).is_some(), "missing {key}");
    }
    for key in [
        "compute_ops",
        "read_ops",
        "write_ops",
        "query_time_ms",
        "contention_retries",
        "storage_bytes_read",
        "storage_bytes_write",
        "rate_limits_hit",
    ] {
        assert!(
            reply.body["stats"].get(key).is_some(),
            "missing stats.{key}"
        );
    }
    // v10 answers carry the time in `txn_ts` only, not in an `x-txn-time` header.
    assert!(reply.headers.get("x-txn-time").is_none());
    assert!(reply.body["txn_ts"].is_i64());
}

#[tokio::test]
async fn todo_crud_with_owner_isolation() {
    let h = Harness::start().await;
    let alice = h.valid_token(ALICE).await;
    let bob = h.valid_token(BOB).await;

    let created = h
        .query(&alice, "Todo.create({ title: 'milk', done: false })")
        .await;
    let doc = data(&created).clone();
    assert_eq!(
        (
            doc["coll"].as_str(),
            doc["owner"].as_str(),
            doc["title"].as_str()
        ),
        (Some("Todo"), Some(ALICE), Some("milk"))
    );
    let id = doc["id"].as_str().unwrap().to_owned();
    assert!(id.chars().all(|c| c.is_ascii_digit()));
    h.query(&alice, "Todo.create({ title: 'eggs', done: true })")
        .await;
    h.query(&bob, "Todo.create({ title: 'bob todo', done: false })")
        .await;

    let all = h.query(&alice, "Todo.all().map(.title).toArray()").await;
    assert_eq!(data(&all), &json!(["milk", "eggs"]));
    let open = h
        .query(
            &alice,
            "Todo.all().where(.done == false).toArray().map(t => t.title)",
        )
        .await;
    assert_eq!(data(&open), &json!(["milk"]));
    let lambda = h
        .query(
            &alice,
            "Todo.all().where(t => t.done == true).first().title",
        )
        .await;
    assert_eq!(data(&lambda), &json!("eggs"));
    let set = h.query(&bob, "Todo.all()").await;
    assert_eq!(data(&set)["data"].as_array().unwrap().len(), 1);

    let by_id = h
        .query_with(
            &alice,
            json!({"query": "Todo.byId(id)!.title", "arguments": {"id": id}}),
            &[],
        )
        .await;
    assert_eq!(data(&by_id), &json!("milk"));
    let denied = h
        .query_with(
            &bob,
            json!({"query": "Todo.byId(id)", "arguments": {"id": id}}),
            &[],
        )
        .await;
    assert_eq!(error_code(&denied), "permission_denied");
    assert_eq!(
        denied.body["error"]["message"],
        "Insufficient privileges to perform the action."
    );

    let updated = h
        .query_with(
            &alice,
            json!({"query": "Todo.byId(id)!.update({ done: true })", "arguments": {"id": id}}),
            &[],
        )
        .await;
    assert_eq!(data(&updated)["done"], json!(true));
    assert!(updated.body["txn_ts"].as_i64() > created.body["txn_ts"].as_i64());
    let owner_write = h
        .query_with(
            &alice,
            json!({"query": "Todo.byId(id)!.update({ owner: 'x' })", "arguments": {"id": id}}),
            &[],
        )
        .await;
    assert_eq!(error_code(&owner_write), "invalid_argument");
    let create_owner = h.query(&alice, "Todo.create({ owner: 'x' })").await;
    assert_eq!(error_code(&create_owner), "invalid_argument");

    let deleted = h
        .query_with(
            &alice,
            json!({"query": "Todo.byId(id)!.delete()", "arguments": {"id": id}}),
            &[],
        )
        .await;
    assert_eq!(data(&deleted), &json!(null));
    let gone = h
        .query_with(
            &alice,
            json!({"query": "Todo.byId(id)!", "arguments": {"id": id}}),
            &[],
        )
        .await;
    assert_eq!(error_code(&gone), "document_not_found");
    assert_eq!(
        gone.body["error"]["message"],
        format!("Collection `Todo` does not contain document with id {id}.")
    );
    let missing_update = h
        .query(&alice, "Todo.byId('123').update({ done: true })")
        .await;
    assert_eq!(error_code(&missing_update), "document_not_found");
    // The root key sees everyone's documents.
    let admin = h.query("secret", "Todo.all().count()").await;
    assert_eq!(data(&admin), &json!(2));
}

#[tokio::test]
async fn failed_queries_write_nothing_and_abort_carries_its_value() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let reply = h
        .query(&t, "Todo.create({ title: 'x' })\nabort({ reason: 'no' })")
        .await;
    assert_eq!(error_code(&reply), "abort");
    assert_eq!(reply.body["error"]["message"], "Query aborted.");
    assert_eq!(reply.body["error"]["abort"], json!({"reason": "no"}));
    for key in ["summary", "txn_ts", "stats", "schema_version"] {
        assert!(reply.body.get(key).is_some(), "missing {key}");
    }
    assert_eq!(data(&h.query(&t, "Todo.all().count()").await), &json!(0));
}

#[tokio::test]
async fn unsupported_parts_are_named_in_invalid_query() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    for (query, named) in [
        ("Todo.frobnicate()", "`frobnicate`"),
        ("Math.abs(1)", "`Math`"),
        ("nope(1)", "`nope`"),
        ("1 + 2", "`+`"),
        ("Todo.all(", "Expected"),
        ("if (true) 1", "`if`"),
        ("Todo.all().sortBy(.title)", "`sortBy`"),
        ("'a'.foo", "`foo`"),
    ] {
        let reply = h.query(&t, query).await;
        assert_eq!(error_code(&reply), "invalid_query", "{query}");
        let message = reply.body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("The query failed 1 validation check"),
            "{message}"
        );
        assert!(message.contains(named), "{query}: {message}");
    }
    let null_access = h.query(&t, "null.x").await;
    assert_eq!(error_code(&null_access), "invalid_null_access");
}

#[tokio::test]
async fn tagged_and_simple_formats() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let tagged = [("x-format", "tagged")];
    h.query(&t, "Todo.create({ title: 'a', n: 1 })").await;
    let reply = h
        .query_with(
            &t,
            json!({"query": "[1, 2.5, Todo, Todo.all(), Todo.all().first()]"}),
            &tagged,
        )
        .await;
    let d = data(&reply);
    assert_eq!(d[0], json!({"@int": "1"}));
    assert_eq!(d[1], json!({"@double": "2.5"}));
    assert_eq!(d[2], json!({"@mod": "Todo"}));
    assert!(d[3]["@set"]["data"].is_array());
    let doc = &d[4]["@doc"];
    assert_eq!(doc["coll"], json!({"@mod": "Todo"}));
    assert!(doc["ts"]["@time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(doc["n"], json!({"@int": "1"}));
    let simple = h.query(&t, "Todo.all()").await;
    assert_eq!(data(&simple)["data"][0]["n"], json!(1));
    let missing = h
        .query_with(&t, json!({"query": "Todo.byId('5')"}), &tagged)
        .await;
    assert_eq!(data(&missing)["@ref"]["exists"], json!(false));

    // Tagged arguments, a driver-style template, and the plain-number rule.
    let args = h
        .query_with(&t, json!({"query": {"fql": ["[", {"value": {"@int": "7"}}, ", x]"]}, "arguments": {"x": {"@double": "1.5"}}}), &tagged)
        .await;
    assert_eq!(data(&args), &json!([{"@int": "7"}, {"@double": "1.5"}]));
    let plain = h
        .query_with(&t, json!({"query": "x", "arguments": {"x": 1}}), &tagged)
        .await;
    assert_eq!(plain.status, 400);
    assert_eq!(
        plain.body,
        json!({"error": {"code": "invalid_request", "message": "Invalid argument 'x': numbers must be tagged"}})
    );
}

#[tokio::test]
async fn request_headers_are_validated() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    for (name, value) in [
        ("x-query-timeout-ms", "abc"),
        ("x-query-timeout-ms", "0"),
        ("x-max-contention-retries", "9"),
        ("x-last-txn-ts", "soon"),
        ("x-query-tags", "a=b,c"),
        ("x-query-tags", "bad-key=1"),
        ("x-format", "fancy"),
        ("x-typecheck", "maybe"),
    ] {
        let reply = h
            .query_with(&t, json!({"query": "1"}), &[(name, value)])
            .await;
        assert_eq!(reply.status, 400, "{name}: {value}");
        assert_eq!(reply.body["error"]["code"], "invalid_request");
        assert!(reply.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("Invalid header '{name}'")));
    }
    let ok = h
        .query_with(
            &t,
            json!({"query": "1"}),
            &[
                ("x-query-tags", "app=demo,page_2=home"),
                ("x-query-timeout-ms", "5000"),
                ("x-last-txn-ts", "1"),
            ],
        )
        .await;
    assert_eq!(ok.body["query_tags"], "app=demo,page_2=home");
    let no_body = h
        .send(h.http.post(h.fauna("/query/1")).bearer_auth(&t))
        .await;
    assert_eq!(no_body.body["error"]["message"], "No request body provided");
}

#[tokio::test]
async fn v4_identity_and_token() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let post = |body: Value| {
        h.http
            .post(h.fauna("/"))
            .bearer_auth(&t)
            .header("x-faunadb-api-version", "4")
            .json(&body)
    };
    let identity = h.send(post(json!({"current_identity": null}))).await;
    assert_eq!(identity.body, json!({"resource": ALICE}));
    let token = h.send(post(json!({"current_token": null}))).await;
    assert_eq!(token.body["resource"]["sub"], ALICE);
    let other = h.send(post(json!({"add": [1, 2]}))).await;
    assert_eq!(other.status, 400);
    assert_eq!(other.body["errors"][0]["code"], "invalid expression");
    assert_eq!(other.body["errors"][0]["position"], json!([]));
    let root = h
        .send(
            h.http
                .post(h.fauna("/"))
                .bearer_auth("secret")
                .header("x-faunadb-api-version", "4")
                .json(&json!({"current_identity": null})),
        )
        .await;
    assert_eq!(root.body["errors"][0]["code"], "missing identity");
}

#[tokio::test]
async fn graphql_whoami_todos_and_create() {
    let h = Harness::start_with_graphql().await;
    let alice = h.valid_token(ALICE).await;
    let bob = h.valid_token(BOB).await;
    let gql = |t: &str, q: &str| {
        h.http
            .post(h.fauna("/graphql"))
            .bearer_auth(t)
            .json(&json!({"query": q}))
    };
    let created = h
        .send(gql(
            &alice,
            "mutation { createTodo(title: \"g\") { id title done owner } }",
        ))
        .await;
    assert_eq!(created.body["data"]["createTodo"]["owner"], ALICE);
    assert_eq!(created.body["data"]["createTodo"]["done"], false);
    let mine = h.send(gql(&alice, "{ whoami todos { title } }")).await;
    assert_eq!(
        mine.body["data"],
        json!({"whoami": ALICE, "todos": [{"title": "g"}]})
    );
    let theirs = h.send(gql(&bob, "{ todos { title } }")).await;
    assert_eq!(theirs.body["data"]["todos"], json!([]));
}

#[tokio::test]
async fn clerk_sessions_and_template_tokens() {
    let h = Harness::start().await;
    let users = h.send(h.http.get(h.clerk("/v1/demo/users"))).await;
    assert_eq!(users.body.as_array().unwrap().len(), 3);
    assert_eq!(users.body[0]["first_name"], "Alice");

    let unknown = h
        .post_clerk("/v1/client/sign_ins", json!({"user_id": "user_nobody"}))
        .await;
    assert_eq!(unknown.status, 422);
    assert!(unknown.body["errors"][0]["code"].is_string());

    let session = h
        .post_clerk("/v1/client/sign_ins", json!({"user_id": ALICE}))
        .await;
    let sid = session.body["session_id"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("sess_"));
    let token_url =
        |template: &str| h.clerk(&format!("/v1/client/sessions/{sid}/tokens/{template}"));

    let first = h
        .send(
            h.http
                .post(token_url("fauna"))
                .header("origin", "http://localhost:5173"),
        )
        .await;
    let second = h
        .send(
            h.http
                .post(format!("{}?debug=skip_cache", token_url("fauna"))),
        )
        .await;
    let (a, b) = (
        first.body["jwt"].as_str().unwrap(),
        second.body["jwt"].as_str().unwrap(),
    );
    assert_ne!(a, b, "every call mints a new token");
    let claims = decode_payload(a);
    assert_eq!(claims["azp"], "http://localhost:5173");
    assert_eq!(claims["iss"], h.servers.clerk_origin());
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );
    assert_eq!(
        claims["iat"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
        5
    );
    assert_eq!(decode_payload(b)["azp"], h.servers.clerk_origin());
    assert_eq!(h.query(a, "Query.token().sub").await.body["data"], ALICE);

    let short = h.send(h.http.post(token_url("fauna-short"))).await;
    let claims = decode_payload(short.body["jwt"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3
    );
    let no_aud = h.send(h.http.post(token_url("no-aud"))).await;
    let claims = decode_payload(no_aud.body["jwt"].as_str().unwrap());
    assert!(claims.get("aud").is_none());
    assert_eq!(claims["email"], "alice@example.com");

    let missing = h.send(h.http.post(token_url("nope"))).await;
    assert_eq!(missing.status, 404);

    let stats = h.clerk_stats().await;
    assert_eq!(stats["token_requests"], 5);
    assert_eq!(stats["by_template"]["fauna"], 2);
    assert_eq!(stats["skip_cache"], 1);
    h.post_clerk("/__admin/reset", json!({})).await;
    assert_eq!(h.clerk_stats().await["token_requests"], 0);

    let ended = h
        .post_clerk(&format!("/v1/client/sessions/{sid}/end"), json!({}))
        .await;
    assert_eq!(ended.body, json!({"ended": true}));
    let after = h.send(h.http.post(token_url("fauna"))).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.body["errors"][0]["code"], "authentication_invalid");
}

#[tokio::test]
async fn faults_answer_429_drop_and_raw_bodies_then_recover() {
    let h = Harness::start_with_graphql().await;
    let t = h.valid_token(ALICE).await;
    let fault = |body: Value| h.http.post(h.fauna("/__admin/faults")).json(&body);
    h.send(fault(
        json!({"count": 2, "status": 429, "retry_after": 1, "paths": ["/query/1"]}),
    ))
    .await;
    for _ in 0..2 {
        let reply = h.query(&t, "1").await;
        assert_eq!(reply.status, 429);
        assert_eq!(reply.headers["retry-after"], "1");
        assert_eq!(
            reply.body["error"],
            json!({"code": "limit_exceeded", "message": "Rate limit exceeded"})
        );
        assert!(reply.body["stats"].is_object());
    }
    assert_eq!(h.query(&t, "1").await.status, 200);
    let log = h.send(h.http.get(h.fauna("/__admin/requests"))).await.body;
    let faulted: Vec<bool> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fault"].as_bool().unwrap())
        .collect();
    assert_eq!(faulted, vec![true, true, false]);
    assert_eq!(log[0]["sub"], ALICE);

    h.send(fault(json!({"drop": true}))).await;
    let dropped = h
        .http
        .post(h.fauna("/query/1"))
        .bearer_auth(&t)
        .json(&json!({"query": "1"}))
        .send()
        .await;
    assert!(
        dropped.is_err(),
        "connection should close without an answer"
    );

    h.send(fault(
        json!({"status": 503, "body": "upstream down", "paths": ["/"]}),
    ))
    .await;
    let raw = h
        .http
        .post(h.fauna("/"))
        .bearer_auth(&t)
        .json(&json!({"current_identity": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 503);
    assert_eq!(raw.text().await.unwrap(), "upstream down");

    h.send(fault(json!({"delay_ms": 300}))).await;
    let started = std::time::Instant::now();
    assert_eq!(h.query(&t, "1").await.status, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));

    h.send(fault(json!({"status": 429, "paths": ["/graphql"]})))
        .await;
    let gql = h
        .send(
            h.http
                .post(h.fauna("/graphql"))
                .bearer_auth(&t)
                .json(&json!({"query": "{ whoami }"})),
        )
        .await;
    assert_eq!(gql.status, 429);
    assert_eq!(
        gql.body["errors"][0]["extensions"]["code"],
        "limit_exceeded"
    );

    h.query(&t, "Todo.create({ title: 'x' })").await;
    h.send(h.http.post(h.fauna("/__admin/reset"))).await;
    assert_eq!(
        h.send(h.http.get(h.fauna("/__admin/requests"))).await.body,
        json!([])
    );
    assert_eq!(data(&h.query(&t, "Todo.all().count()").await), &json!(0));
}

#[tokio::test]
async fn cors_preflight_allows_fauna_headers_for_loopback_origins() {
    let h = Harness::start().await;
    let preflight = |origin: &str| {
        h.http
            .request(reqwest::Method::OPTIONS, h.fauna("/query/1"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type,x-format,x-query-timeout-ms,x-last-txn-ts",
            )
    };
    let ok = h.send(preflight("http://localhost:5173")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let allowed = ok.headers["access-control-allow-headers"].to_str().unwrap();
    for header in [
        "authorization",
        "x-format",
        "x-query-timeout-ms",
        "x-last-txn-ts",
        "x-query-tags",
        "traceparent",
    ] {
        assert!(allowed.contains(header), "{header} in {allowed}");
    }
    assert!(!allowed.split(',').any(|h| h.trim() == "x-driver"));
    let foreign = h.send(preflight("https://evil.example")).await;
    assert!(foreign.headers.get("access-control-allow-origin").is_none());

    let t = h.valid_token(ALICE).await;
    let from_page = |path: &str, secret: &str, body: Value| {
        h.http
            .post(h.fauna(path))
            .bearer_auth(secret)
            .header("origin", "http://127.0.0.1:8080")
            .header("x-faunadb-api-version", "4")
            .json(&body)
    };
    let actual = h
        .send(from_page("/query/1", &t, json!({"query": "1"})))
        .await;
    assert_eq!(
        actual.headers["access-control-allow-origin"],
        "http://127.0.0.1:8080"
    );
    // Only the answer's own `x-` headers are exposed: a v10 answer has none.
    assert_eq!(actual.headers["access-control-expose-headers"], "");
    let v4 = h
        .send(from_page("/", &t, json!({"current_identity": null})))
        .await;
    assert_eq!(v4.headers["access-control-expose-headers"], "x-txn-time");
    let refused = h
        .send(from_page("/query/1", "nope", json!({"query": "1"})))
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    assert_eq!(refused.headers["access-control-expose-headers"], "");

    let clerk = h
        .send(
            h.http
                .request(reqwest::Method::OPTIONS, h.clerk("/v1/client/sign_ins"))
                .header("origin", "http://localhost:5173")
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type"),
        )
        .await;
    assert_eq!(
        clerk.headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
}
