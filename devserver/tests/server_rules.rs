//! The open-sourced server's behaviour, case by case (issue #14): claims as
//! longs, v4 codes, the new v10 statuses, JWKS fetching and its time bound,
//! CORS, the exact `Bearer` scheme, non-integer time claims, the order of
//! checks, and the smaller points. JWKS cases use a JWKS endpoint served
//! here, on loopback, whose answers the test chooses.

mod common;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use clerk_fauna_devserver::keys::clerk_keys;
use common::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

// ------------------------------------------------------------ helpers

/// What the test JWKS endpoint answers.
#[derive(Clone)]
enum Jwks {
    Keys(Value),
    Status(u16),
    /// The keys, after a delay.
    Slow(Duration, Value),
    /// A redirect to a path that would serve the keys.
    Redirect,
}

/// A JWKS endpoint on loopback: its answer can change; it records each request's path and query.
struct JwksServer {
    origin: String,
    answer: Arc<Mutex<Jwks>>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl JwksServer {
    async fn start(answer: Jwks) -> JwksServer {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new(answer));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let (a, q) = (answer.clone(), asked.clone());
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (a, q) = (a.clone(), q.clone());
            async move {
                q.lock().unwrap().push(uri.to_string());
                let answer = a.lock().unwrap().clone();
                serve(answer, &uri).await
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        JwksServer {
            origin,
            answer,
            asked,
        }
    }

    fn set(&self, answer: Jwks) {
        *self.answer.lock().unwrap() = answer;
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

async fn serve(answer: Jwks, uri: &Uri) -> Response {
    match answer {
        // The redirect's target would serve good keys: following it would pass.
        Jwks::Redirect if uri.path() == "/moved" => axum::Json(jwks(&[Some("k1")])).into_response(),
        Jwks::Redirect => (StatusCode::FOUND, [("location", "/moved")]).into_response(),
        Jwks::Keys(body) => axum::Json(body).into_response(),
        Jwks::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Jwks::Slow(delay, body) => {
            tokio::time::sleep(delay).await;
            axum::Json(body).into_response()
        }
    }
}

const ISSUER: &str = "https://issuer.test";
const DB: &str = "rulesdb1";

/// A JWKS of the committed dev keys, `dev-1` then `dev-2`, with these kids (`None`: no `kid`).
fn jwks(kids: &[Option<&str>]) -> Value {
    let keys = clerk_keys().unwrap();
    let published: Vec<Value> = kids
        .iter()
        .zip(&keys)
        .map(|(kid, key)| {
            let mut jwk = key.jwk();
            match kid {
                Some(kid) => jwk["kid"] = json!(kid),
                None => {
                    jwk.as_object_mut().unwrap().remove("kid");
                }
            }
            jwk
        })
        .collect();
    json!({ "keys": published })
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims this test's access provider accepts.
fn claims() -> Value {
    json!({
        "sub": "user_rules",
        "iss": ISSUER,
        "aud": format!("https://db.fauna.com/db/{DB}"),
        "iat": now(),
        "exp": now() + 60,
    })
}

/// An RS256 token signed with dev-1, with `kid` in its header or none.
fn sign(kid: Option<&str>, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    let key = &clerk_keys().unwrap()[0].encoding;
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// A stand-in whose one access provider fetches its JWKS from `jwks_uri`.
async fn stand_in(jwks_uri: &str) -> Harness {
    let config = format!(
        r#"
[[fauna.databases]]
id = "{DB}"
name = "rules"

[[fauna.access_providers]]
name = "test"
database = "rules"
issuer = "{ISSUER}"
jwks_uri = "{jwks_uri}"
roles = [{{ role = "user" }}]
"#
    );
    let clerk = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let fauna = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let servers = clerk_fauna_devserver::start(clerk, fauna, &config, &[])
        .await
        .expect("devserver starts");
    Harness {
        servers,
        http: reqwest::Client::new(),
    }
}

async fn fault(h: &Harness, spec: Value) {
    let reply = h
        .send(h.http.post(h.fauna("/__admin/faults")).json(&spec))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
}

fn v4(h: &Harness, secret: &str, version: Option<&str>, body: Value) -> reqwest::RequestBuilder {
    let mut req = h.http.post(h.fauna("/")).bearer_auth(secret).json(&body);
    if let Some(v) = version {
        req = req.header("x-faunadb-api-version", v);
    }
    req
}

// ------------------------------------------------------------ 1. longs

#[tokio::test]
async fn integer_claims_of_a_jwt_are_tagged_longs() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let reply = h
        .query_with(
            &t,
            json!({"query": "Query.token()"}),
            &[("x-format", "tagged")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    for claim in ["iat", "exp", "nbf"] {
        let tagged = &reply.body["data"][claim];
        assert!(tagged["@long"].is_string(), "{claim}: {tagged}");
    }
    assert_eq!(reply.body["data"]["sub"], ALICE);
    // Simple format: plain numbers.
    let simple = h.query(&t, "Query.token().exp").await;
    assert!(simple.body["data"].is_i64(), "{}", simple.body);
}

// ------------------------------------------------------------ 2, 3. codes

#[tokio::test]
async fn injected_faults_use_each_protocols_codes() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    for (status, code) in [
        (503, "time out"),
        (429, "too many requests"),
        (440, "processing time limit exceeded"),
        (410, "permission denied"),
        (540, "operator error"),
    ] {
        fault(&h, json!({"status": status, "paths": ["/"]})).await;
        let reply = h
            .send(v4(&h, &t, Some("4"), json!({"current_identity": null})))
            .await;
        assert_eq!(reply.status, status);
        let error = &reply.body["errors"][0];
        assert_eq!(error["code"], code, "{status}");
        // Protocol errors carry no position.
        assert!(error.get("position").is_none(), "{error}");
    }
    for (status, code) in [
        (410, "forbidden"),
        (540, "internal_error"),
        (503, "time_out"),
    ] {
        fault(&h, json!({"status": status, "paths": ["/query/1"]})).await;
        let reply = h.query(&t, "1").await;
        assert_eq!(
            (reply.status, reply.body["error"]["code"].as_str()),
            (status, Some(code))
        );
    }
    // An ops-limit 429 carries stats; a "too many pending requests" one does not.
    fault(&h, json!({"status": 429})).await;
    assert!(h.query(&t, "1").await.body["stats"].is_object());
    fault(
        &h,
        json!({"status": 429, "stats": false, "message": "Too many pending requests."}),
    )
    .await;
    let pending = h.query(&t, "1").await;
    assert_eq!(pending.body["error"]["code"], "limit_exceeded");
    assert!(pending.body.get("stats").is_none(), "{}", pending.body);
}

// ------------------------------------------------------------ 4. JWKS

#[tokio::test]
async fn a_first_jwks_download_that_fails_stays_failed() {
    let jwks_server = JwksServer::start(Jwks::Status(500)).await;
    let h = stand_in(&format!("{}/jwks", jwks_server.origin)).await;
    let t = sign(Some("k1"), &claims());
    let reply = h.query(&t, "1").await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(h.last_log().await["reason"], "jwks_unavailable");
    // The JWKS recovers, but the provider stays failed until its hourly refresh.
    jwks_server.set(Jwks::Keys(jwks(&[Some("k1")])));
    for _ in 0..3 {
        assert_eq!(h.query(&t, "1").await.status, 401);
    }
    assert_eq!(
        jwks_server.asked().len(),
        1,
        "no download after the failed one"
    );
}

#[tokio::test]
async fn a_slow_jwks_is_a_503_time_out_and_the_download_goes_on() {
    // Slower than the 5 s bound on the credential lookup.
    let jwks_server =
        JwksServer::start(Jwks::Slow(Duration::from_secs(7), jwks(&[Some("k1")]))).await;
    let h = stand_in(&format!("{}/jwks", jwks_server.origin)).await;
    let t = sign(Some("k1"), &claims());
    let started = Instant::now();
    let (v10, v4_reply) = tokio::join!(
        h.query(&t, "1"),
        h.send(v4(&h, &t, Some("4"), json!({"current_identity": null})))
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert_eq!(v10.status, 503, "{}", v10.body);
    assert_eq!(v10.body["error"]["code"], "time_out");
    assert!(v10.headers.get("www-authenticate").is_none());
    assert_eq!(v4_reply.status, 503, "{}", v4_reply.body);
    assert_eq!(v4_reply.body["errors"][0]["code"], "time out");
    let log = h.send(h.http.get(h.fauna("/__admin/requests"))).await.body;
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["reason"] == "jwks_timeout"));
    // The download was not abandoned with the requests: the keys arrive.
    let reply = h.query(&t, "Query.token().sub").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(jwks_server.asked().len(), 1);
}

#[tokio::test]
async fn the_jwks_fetch_asks_for_the_path_only_and_takes_only_200() {
    let jwks_server = JwksServer::start(Jwks::Keys(jwks(&[Some("k1")]))).await;
    let h = stand_in(&format!("{}/jwks?v=1#frag", jwks_server.origin)).await;
    let t = sign(Some("k1"), &claims());
    assert_eq!(h.query(&t, "1").await.status, 200);
    assert_eq!(jwks_server.asked(), vec!["/jwks".to_owned()]);

    for answer in [Jwks::Status(201), Jwks::Status(304), Jwks::Status(404)] {
        let jwks_server = JwksServer::start(answer).await;
        let h = stand_in(&format!("{}/jwks", jwks_server.origin)).await;
        assert_eq!(h.query(&t, "1").await.status, 401);
        assert_eq!(h.last_log().await["reason"], "jwks_unavailable");
    }
}

#[tokio::test]
async fn the_jwks_fetch_does_not_follow_redirects() {
    let jwks_server = JwksServer::start(Jwks::Redirect).await;
    let h = stand_in(&format!("{}/jwks", jwks_server.origin)).await;
    let t = sign(Some("k1"), &claims());
    assert_eq!(h.query(&t, "1").await.status, 401);
    assert_eq!(h.last_log().await["reason"], "jwks_unavailable");
    assert_eq!(jwks_server.asked(), vec!["/jwks".to_owned()]);
}

// ------------------------------------------------------------ 5. CORS

#[tokio::test]
async fn cors_exposes_only_x_headers_except_for_a_gateways_retry_after() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let from_page = || {
        h.http
            .post(h.fauna("/query/1"))
            .bearer_auth(&t)
            .header("origin", "http://localhost:5173")
            .json(&json!({"query": "1"}))
    };
    fault(&h, json!({"status": 429, "paths": ["/query/1"]})).await;
    let fauna_429 = h.send(from_page()).await;
    assert_eq!(fauna_429.status, 429);
    assert!(fauna_429.headers.get("retry-after").is_none());
    assert_eq!(fauna_429.headers["access-control-expose-headers"], "");
    // A gateway in front of Fauna may send and expose Retry-After.
    fault(
        &h,
        json!({"status": 429, "retry_after": 2, "paths": ["/query/1"]}),
    )
    .await;
    let gateway_429 = h.send(from_page()).await;
    assert_eq!(gateway_429.headers["retry-after"], "2");
    assert_eq!(
        gateway_429.headers["access-control-expose-headers"],
        "retry-after"
    );
}

// ------------------------------------------------------------ 6. scheme

#[tokio::test]
async fn only_the_exact_bearer_scheme_reaches_jwt_checking() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let with_auth = |value: String| {
        h.http
            .post(h.fauna("/query/1"))
            .header("authorization", value)
            .json(&json!({"query": "1"}))
    };
    let lower = h.send(with_auth(format!("bearer {t}"))).await;
    assert_eq!(lower.status, 401);
    assert_eq!(h.last_log().await["reason"], "missing_secret");
    let basic_jwt = h
        .send(with_auth(format!(
            "Basic {}",
            STANDARD.encode(format!("{t}:"))
        )))
        .await;
    assert_eq!(basic_jwt.status, 401);
    assert_eq!(h.last_log().await["reason"], "invalid_secret");
    // A key secret in Basic credentials still works.
    let basic_key = h
        .send(with_auth(format!("Basic {}", STANDARD.encode("secret:"))))
        .await;
    assert_eq!(basic_key.status, 200, "{}", basic_key.body);
    assert_eq!(h.send(with_auth(format!("Bearer {t}"))).await.status, 200);
}

// ------------------------------------------------------------ 7. time claims

#[tokio::test]
async fn time_claims_that_are_not_integers_are_ignored() {
    let h = Harness::start().await;
    // Each would refuse the token if it were read: a past exp, a future nbf.
    for claims in [
        json!({"exp": 1.5}),
        json!({"exp": "1"}),
        json!({"exp": 1000.0}),
        json!({"nbf": 4e9}),
        json!({"nbf": "4000000000"}),
    ] {
        let t = h.mint(json!({"user_id": ALICE, "claims": claims})).await;
        let reply = h.query(&t, "Query.token().sub").await;
        assert_eq!(reply.status, 200, "{claims}: {}", reply.body);
    }
    // A null exp (Clerk's admin mint drops null claims, so sign one here).
    let jwks_server = JwksServer::start(Jwks::Keys(jwks(&[Some("k1")]))).await;
    let rules = stand_in(&format!("{}/jwks", jwks_server.origin)).await;
    let mut null_exp = claims();
    null_exp["exp"] = Value::Null;
    let reply = rules.query(&sign(Some("k1"), &null_exp), "1").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // An integer exp in the past is still refused.
    let expired = h
        .mint(json!({"user_id": ALICE, "claims": {"exp": 1000}}))
        .await;
    assert_eq!(h.query(&expired, "1").await.status, 401);
}

// ------------------------------------------------------------ 8. order

#[tokio::test]
async fn header_and_body_errors_come_before_the_credentials() {
    let h = Harness::start().await;
    let expired = h.mint(json!({"user_id": ALICE, "kind": "expired"})).await;
    let bad_body = h
        .send(
            h.http
                .post(h.fauna("/query/1"))
                .bearer_auth(&expired)
                .body("{not json"),
        )
        .await;
    assert_eq!(bad_body.status, 400);
    assert_eq!(bad_body.body["error"]["code"], "invalid_request");
    assert_eq!(h.last_log().await["auth"], "unchecked");
    for (name, value) in [("x-format", "fancy"), ("x-typecheck", "maybe")] {
        let reply = h
            .query_with(&expired, json!({"query": "1"}), &[(name, value)])
            .await;
        assert_eq!(reply.status, 400, "{name}");
    }
    let no_token = h
        .send(
            h.http
                .post(h.fauna("/query/1"))
                .json(&json!({"arguments": {}})),
        )
        .await;
    assert_eq!(no_token.status, 400);
    let v4_version = h
        .send(v4(
            &h,
            &expired,
            Some("4.0"),
            json!({"current_identity": null}),
        ))
        .await;
    assert_eq!(v4_version.status, 400);
    assert_eq!(
        v4_version.body["errors"][0],
        json!({"code": "bad request", "description": "Invalid header 'x-faunadb-api-version': Unsupported or invalid API version '4.0'."})
    );
}

// ------------------------------------------------------------ 9. smaller points

#[tokio::test]
async fn the_401_echoes_query_tags_and_decorated_is_a_format() {
    let h = Harness::start().await;
    let refused = h
        .query_with(
            "nope",
            json!({"query": "1"}),
            &[("x-query-tags", "app=demo")],
        )
        .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.body,
        json!({"error": {"code": "unauthorized", "message": "Access token required"}, "query_tags": "app=demo"})
    );
    let t = h.valid_token(ALICE).await;
    let decorated = h
        .query_with(&t, json!({"query": "1"}), &[("x-format", "decorated")])
        .await;
    assert_eq!(decorated.status, 200, "{}", decorated.body);
    // A traceparent that does not parse is replaced, not refused.
    let traced = h
        .query_with(&t, json!({"query": "1"}), &[("traceparent", "not-a-trace")])
        .await;
    assert_eq!(traced.status, 200, "{}", traced.body);
}

#[tokio::test]
async fn v4_api_versions_are_exact_and_default_to_2_1() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let identity = json!({"current_identity": null});
    for version in ["4", "5", "UNSTABLE"] {
        let reply = h.send(v4(&h, &t, Some(version), identity.clone())).await;
        assert_eq!(reply.body, json!({"resource": ALICE}), "{version}");
        assert!(reply.headers.get("x-txn-time").is_some());
    }
    for version in ["4.0", "v4", "6", "2.13"] {
        let reply = h.send(v4(&h, &t, Some(version), identity.clone())).await;
        assert_eq!(reply.status, 400, "{version}");
    }
    // No header: 2.1, where CurrentIdentity() does not exist yet; Identity() does.
    for version in [None, Some("2.1"), Some("3")] {
        let reply = h.send(v4(&h, &t, version, identity.clone())).await;
        assert_eq!(reply.status, 400, "{version:?}");
        assert_eq!(reply.body["errors"][0]["code"], "invalid expression");
        let old = h.send(v4(&h, &t, version, json!({"identity": null}))).await;
        assert_eq!(old.body, json!({"resource": ALICE}), "{version:?}");
    }
}

#[tokio::test]
async fn a_token_without_kid_matches_a_jwks_key_without_kid() {
    // Two keys: dev-1 without kid, dev-2 with one.
    let jwks_server = JwksServer::start(Jwks::Keys(jwks(&[None, Some("k2")]))).await;
    let h = stand_in(&format!("{}/jwks", jwks_server.origin)).await;
    let reply = h.query(&sign(None, &claims()), "Query.token().sub").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"], "user_rules");
    // dev-1 under dev-2's kid: the signature does not verify.
    assert_eq!(h.query(&sign(Some("k2"), &claims()), "1").await.status, 401);
}

#[tokio::test]
async fn malformed_claim_types_are_server_errors_not_401() {
    let h = Harness::start().await;
    let aud = format!("https://db.fauna.com/db/{DEMO_DB}");
    let odd_aud = h
        .mint(json!({"user_id": ALICE, "claims": {"aud": [aud, 7]}}))
        .await;
    let reply = h.query(&odd_aud, "1").await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(reply.body["error"]["code"], "internal_error");
    assert_eq!(h.last_log().await["reason"], "bad_claim_type");
    let reply = h
        .send(v4(
            &h,
            &odd_aud,
            Some("4"),
            json!({"current_identity": null}),
        ))
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body["errors"][0]["code"], "internal server error");

    // No `alg` in the header (the signature is never reached).
    let token = h.valid_token(ALICE).await;
    let (_, rest) = token.split_once('.').unwrap();
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","kid":"dev-1"}"#);
    let reply = h.query(&format!("{header}.{rest}"), "1").await;
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(h.last_log().await["reason"], "missing_alg");
    // An aud that is not a string or an array is no audience: 401.
    let number_aud = h
        .mint(json!({"user_id": ALICE, "claims": {"aud": 7}}))
        .await;
    assert_eq!(h.query(&number_aud, "1").await.status, 401);
}

// ------------------------------------------------------------ GraphQL

#[tokio::test]
async fn graphql_is_an_opt_in_and_otherwise_the_v4_routers_404() {
    let h = Harness::start().await;
    let t = h.valid_token(ALICE).await;
    let gql = |h: &Harness| {
        h.http
            .post(h.fauna("/graphql"))
            .bearer_auth(&t)
            .json(&json!({"query": "{ whoami }"}))
    };
    let absent = h.send(gql(&h)).await;
    assert_eq!(absent.status, 404);
    assert_eq!(
        absent.body,
        json!({"errors": [{"code": "not found", "description": "Not Found"}]})
    );
    let elsewhere = h
        .send(h.http.post(h.fauna("/nowhere")).bearer_auth(&t))
        .await;
    assert_eq!(elsewhere.status, 404);

    let with = Harness::start_with_graphql().await;
    let t2 = with.valid_token(ALICE).await;
    let reply = with
        .send(
            with.http
                .post(with.fauna("/graphql"))
                .bearer_auth(&t2)
                .json(&json!({"query": "{ whoami }"})),
        )
        .await;
    assert_eq!(reply.body["data"]["whoami"], ALICE);
}
