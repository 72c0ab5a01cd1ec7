//! The Clerk stand-in's Frontend API as clerk-js 6 calls it (PROTOCOLS.md 1b),
//! over real HTTP: form bodies, `?_method=` verbs, a client per browser
//! (cookie or `__clerk_db_jwt`), ticket sign-ins, tokens, sign-out, errors,
//! and the request log tests count token requests with.

mod common;

use common::{decode_payload as payload, Harness, Reply, ALICE, BOB};
use serde_json::{json, Value};

/// A sign-in form, and the status and error code it must get.
type BadSignIn<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);

/// The query clerk-js adds to every request.
const CLERK_JS: &str = "__clerk_api_version=2025-11-10&_clerk_js_version=6.40.0";

/// One browser: its `__client` cookie (none until the first sign-in) or its dev browser id.
#[derive(Default, Clone)]
struct Browser {
    cookie: Option<String>,
    db_jwt: Option<String>,
}

impl Browser {
    /// A request as clerk-js sends it: POST for every verb but GET, the verb in
    /// `_method`, a form body, the browser's cookie.
    async fn fapi(&mut self, h: &Harness, verb: &str, path: &str, form: &[(&str, &str)]) -> Reply {
        let mut url = format!("{}?{CLERK_JS}", h.clerk(path));
        if let Some((p, q)) = path.split_once('?') {
            url = format!("{}?{q}&{CLERK_JS}", h.clerk(p));
        }
        if verb != "GET" && verb != "POST" {
            url.push_str(&format!("&_method={verb}"));
        }
        if let Some(db) = &self.db_jwt {
            url.push_str(&format!("&__clerk_db_jwt={db}"));
        }
        let mut req = if verb == "GET" {
            h.http.get(url)
        } else {
            h.http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(form).unwrap())
        };
        req = req.header("origin", "http://127.0.0.1:5173");
        if let Some(cookie) = &self.cookie {
            req = req.header("cookie", cookie.clone());
        }
        let reply = h.send(req).await;
        if let Some(set) = reply.headers.get("set-cookie") {
            let set = set.to_str().unwrap();
            let pair = set.split(';').next().unwrap().to_owned();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        reply
    }

    /// A `fauna` template token request for session `sid`.
    async fn template_token(&mut self, h: &Harness, sid: &str) -> Reply {
        let path = format!("/v1/client/sessions/{sid}/tokens/fauna");
        self.fapi(h, "POST", &path, &[]).await
    }

    /// Signs `user` in with a ticket, as `signIn.ticket()` does; returns the session id.
    async fn sign_in(&mut self, h: &Harness, user: &str) -> String {
        let ticket = ticket(h, user).await;
        let reply = self
            .fapi(
                h,
                "POST",
                "/v1/client/sign_ins",
                &[("strategy", "ticket"), ("ticket", &ticket)],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["response"]["created_session_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

async fn ticket(h: &Harness, user: &str) -> String {
    let reply = h
        .post_clerk("/v1/demo/sign_in_tokens", json!({ "user_id": user }))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["token"].as_str().unwrap().to_owned()
}

fn error_code(reply: &Reply) -> &str {
    reply.body["errors"][0]["code"].as_str().unwrap_or_default()
}

async fn clerk_log(h: &Harness) -> Vec<Value> {
    h.send(h.http.get(h.clerk("/__admin/requests")))
        .await
        .body
        .as_array()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn load_sign_in_tokens_and_sign_out_as_clerk_js_does() {
    let h = Harness::start().await;
    let mut browser = Browser::default();

    let env = browser.fapi(&h, "PATCH", "/v1/environment", &[]).await;
    assert_eq!(
        (env.status, env.body["object"].clone()),
        (200, json!("environment"))
    );
    let none = browser.fapi(&h, "GET", "/v1/client", &[]).await;
    assert_eq!(none.body, json!({ "response": null }));

    let ticket = ticket(&h, ALICE).await;
    let signed = browser
        .fapi(
            &h,
            "POST",
            "/v1/client/sign_ins",
            &[("strategy", "ticket"), ("ticket", &ticket)],
        )
        .await;
    assert_eq!(signed.status, 200, "{}", signed.body);
    let set_cookie = signed.headers["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("__client="), "{set_cookie}");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let attempt = &signed.body["response"];
    assert_eq!(attempt["object"], "sign_in_attempt");
    assert_eq!(attempt["status"], "complete");
    let sid = attempt["created_session_id"].as_str().unwrap().to_owned();
    let client = &signed.body["client"];
    assert_eq!(client["object"], "client");
    assert_eq!(client["last_active_session_id"], sid.as_str());
    let session = &client["sessions"][0];
    assert_eq!(session["object"], "session");
    assert_eq!(session["status"], "active");
    assert_eq!(session["user"]["id"], ALICE);
    assert_eq!(session["user"]["first_name"], "Alice");
    let last = payload(session["last_active_token"]["jwt"].as_str().unwrap());
    assert_eq!(
        (last["sid"].as_str(), last["sub"].as_str()),
        (Some(sid.as_str()), Some(ALICE))
    );

    // A ticket signs in once.
    let again = browser
        .fapi(
            &h,
            "POST",
            "/v1/client/sign_ins",
            &[("strategy", "ticket"), ("ticket", &ticket)],
        )
        .await;
    assert_eq!((again.status, error_code(&again)), (422, "ticket_invalid"));

    let touched = browser
        .fapi(
            &h,
            "POST",
            &format!("/v1/client/sessions/{sid}/touch"),
            &[("active_organization_id", "")],
        )
        .await;
    assert_eq!(touched.status, 200, "{}", touched.body);
    assert_eq!(touched.body["response"]["id"], sid.as_str());
    assert_eq!(touched.body["client"]["sessions"][0]["id"], sid.as_str());

    let session_token = browser
        .fapi(
            &h,
            "POST",
            &format!("/v1/client/sessions/{sid}/tokens"),
            &[("organization_id", "")],
        )
        .await;
    let claims = payload(session_token.body["jwt"].as_str().unwrap());
    assert_eq!(claims["sid"], sid.as_str());
    assert_eq!(claims["sub"], ALICE);
    assert_eq!(claims["azp"], "http://127.0.0.1:5173");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        60
    );

    let template = browser.template_token(&h, &sid).await;
    let jwt = template.body["jwt"].as_str().unwrap();
    assert!(
        payload(jwt).get("sid").is_none(),
        "template tokens carry no sid"
    );
    assert_eq!(h.query(jwt, "Query.token().sub").await.body["data"], ALICE);
    let forced = browser
        .fapi(
            &h,
            "POST",
            &format!("/v1/client/sessions/{sid}/tokens/fauna?debug=skip_cache"),
            &[],
        )
        .await;
    assert_eq!(forced.status, 200);

    // The reload: the cookie finds the client and its session.
    let reloaded = browser.fapi(&h, "GET", "/v1/client", &[]).await;
    assert_eq!(reloaded.body["response"]["sessions"][0]["id"], sid.as_str());

    // Another browser gets none of it.
    let mut other = Browser::default();
    let theirs = other.template_token(&h, &sid).await;
    assert_eq!(
        (theirs.status, error_code(&theirs)),
        (401, "authentication_invalid")
    );
    assert_eq!(
        other.fapi(&h, "GET", "/v1/client", &[]).await.body["response"],
        Value::Null
    );

    let out = browser.fapi(&h, "DELETE", "/v1/client/sessions", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(out.body["response"]["sessions"], json!([]));
    assert_eq!(out.body["client"]["last_active_session_id"], Value::Null);
    let after = browser.template_token(&h, &sid).await;
    assert_eq!(
        (after.status, error_code(&after)),
        (401, "authentication_invalid")
    );
    assert_eq!(
        browser.fapi(&h, "GET", "/v1/client", &[]).await.body["response"]["sessions"],
        json!([])
    );

    // Stats count template tokens only; the log has every FAPI request in order.
    let stats = h.clerk_stats().await;
    assert_eq!(stats["token_requests"], 4);
    assert_eq!(stats["skip_cache"], 1);
    assert_eq!(stats["session_token_requests"], 1);
    let log = clerk_log(&h).await;
    let tokens: Vec<(Value, Value, Value)> = log
        .iter()
        .filter(|e| e["token"] == "template")
        .map(|e| {
            (
                e["status"].clone(),
                e["skip_cache"].clone(),
                e["template"].clone(),
            )
        })
        .collect();
    assert_eq!(
        tokens,
        vec![
            (json!(200), json!(false), json!("fauna")),
            (json!(200), json!(true), json!("fauna")),
            (json!(401), json!(false), json!("fauna")),
            (json!(401), json!(false), json!("fauna")),
        ]
    );
    assert_eq!(log[0]["method"], "PATCH", "the _method verb is logged");
    assert!(log.iter().all(|e| e["at"].as_i64().unwrap() > 0));
    assert!(!log
        .iter()
        .any(|e| e["path"].as_str().unwrap().starts_with("/__admin")));
    h.post_clerk("/__admin/reset", json!({})).await;
    assert_eq!(clerk_log(&h).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_browser_switching_users_and_ending_one_session() {
    let h = Harness::start().await;
    let mut browser = Browser::default();
    let alice = browser.sign_in(&h, ALICE).await;
    let bob = browser.sign_in(&h, BOB).await;
    let client = browser.fapi(&h, "GET", "/v1/client", &[]).await.body["response"].clone();
    assert_eq!(client["sessions"].as_array().unwrap().len(), 2);
    assert_eq!(client["last_active_session_id"], bob.as_str());

    // Ending Alice's session (clerk-js `session.end()`) answers Clerk's shapes.
    let ended = browser
        .fapi(&h, "POST", &format!("/v1/client/sessions/{alice}/end"), &[])
        .await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.body["response"]["status"], "ended");
    assert_eq!(ended.body["client"]["sessions"][0]["id"], bob.as_str());
    let bob_token = browser.template_token(&h, &bob).await;
    assert_eq!(payload(bob_token.body["jwt"].as_str().unwrap())["sub"], BOB);

    // Another browser cannot end Bob's session.
    let mut other = Browser::default();
    let refused = other
        .fapi(&h, "POST", &format!("/v1/client/sessions/{bob}/end"), &[])
        .await;
    assert_eq!(refused.status, 401);

    // Destroying the client ends Bob's session and clears the cookie.
    let destroyed = browser.fapi(&h, "DELETE", "/v1/client", &[]).await;
    assert_eq!(destroyed.status, 200, "{}", destroyed.body);
    assert_eq!(destroyed.body["response"]["deleted"], true);
    assert_eq!(browser.cookie, None);
    let gone = h
        .send(
            h.http
                .post(h.clerk(&format!("/v1/client/sessions/{bob}/tokens/fauna"))),
        )
        .await;
    assert_eq!(gone.status, 401);
}

#[tokio::test]
async fn dev_browser_keys_the_client_without_a_cookie() {
    let h = Harness::start().await;
    let dvb = h.post_clerk("/v1/dev_browser", json!({})).await;
    let id = dvb.body["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("dvb_"));
    let mut browser = Browser {
        cookie: None,
        db_jwt: Some(id),
    };
    let sid = browser.sign_in(&h, BOB).await;
    assert_eq!(
        browser.cookie, None,
        "no cookie when the dev browser names the client"
    );
    let client = browser.fapi(&h, "GET", "/v1/client", &[]).await;
    assert_eq!(client.body["response"]["sessions"][0]["id"], sid.as_str());
    let mut stranger = Browser {
        cookie: None,
        db_jwt: Some("dvb_someoneelse".into()),
    };
    assert_eq!(
        stranger.fapi(&h, "GET", "/v1/client", &[]).await.body["response"],
        Value::Null
    );
}

#[tokio::test]
async fn bad_sign_ins_get_clerk_errors() {
    let h = Harness::start().await;
    let mut browser = Browser::default();
    let cases: [BadSignIn; 4] = [
        (&[], 422, "form_param_missing"),
        (
            &[
                ("strategy", "password"),
                ("identifier", "alice@example.com"),
            ],
            422,
            "strategy_for_user_invalid",
        ),
        (&[("strategy", "ticket")], 422, "form_param_missing"),
        (
            &[("strategy", "ticket"), ("ticket", "tkt_forged")],
            422,
            "ticket_invalid",
        ),
    ];
    for (form, status, code) in cases {
        let reply = browser.fapi(&h, "POST", "/v1/client/sign_ins", form).await;
        assert_eq!(
            (reply.status, error_code(&reply)),
            (status, code),
            "{form:?}"
        );
        assert!(reply.body["errors"][0]["long_message"].is_string());
    }
    assert_eq!(browser.cookie, None, "no client for failed sign-ins");
    let unknown = h
        .post_clerk(
            "/v1/demo/sign_in_tokens",
            json!({ "user_id": "user_nobody" }),
        )
        .await;
    assert_eq!(
        (unknown.status, error_code(&unknown)),
        (422, "form_identifier_not_found")
    );
    let touch = browser
        .fapi(&h, "POST", "/v1/client/sessions/sess_nope/touch", &[])
        .await;
    assert_eq!(touch.status, 401);
    let no_client = browser.fapi(&h, "DELETE", "/v1/client/sessions", &[]).await;
    assert_eq!(
        (no_client.status, error_code(&no_client)),
        (401, "signed_out")
    );
    let bad_verb = h
        .send(
            h.http
                .post(format!("{}?_method=%20", h.clerk("/v1/client"))),
        )
        .await;
    assert_eq!(bad_verb.status, 400);
}

#[tokio::test]
async fn cors_allows_credentials_for_loopback_origins() {
    let h = Harness::start().await;
    let reply = h
        .send(
            h.http
                .get(format!("{}?{CLERK_JS}", h.clerk("/v1/client")))
                .header("origin", "http://127.0.0.1:4173"),
        )
        .await;
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "http://127.0.0.1:4173"
    );
    assert_eq!(reply.headers["access-control-allow-credentials"], "true");
    let foreign = h
        .send(
            h.http
                .get(h.clerk("/v1/client"))
                .header("origin", "https://evil.example"),
        )
        .await;
    assert!(foreign.headers.get("access-control-allow-origin").is_none());
}
