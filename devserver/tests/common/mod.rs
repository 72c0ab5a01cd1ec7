//! Shared helpers: start both stand-ins in-process on ephemeral ports and talk
//! to them over real HTTP.
#![allow(dead_code)]

use clerk_fauna_devserver::Servers;
use serde_json::{json, Value};

pub const ALICE: &str = "user_2aLiCeQk7mXv9pR3sT5wY8zB1cD";
pub const BOB: &str = "user_2bObKp4nH6jG8fE0dC2aZ9yX7wV";
pub const DEMO_DB: &str = "ysjowue14yyr1";

pub struct Harness {
    pub servers: Servers,
    pub http: reqwest::Client,
}

/// A reply: status, headers and JSON body (null when the body is not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(&clerk_fauna_devserver::Options::default()).await
    }

    /// With `/graphql` served (an opt-in: Fauna's own server has none).
    pub async fn start_with_graphql() -> Harness {
        let options = clerk_fauna_devserver::Options {
            graphql: true,
            ..Default::default()
        };
        Self::start_with(&options).await
    }

    pub async fn start_with(options: &clerk_fauna_devserver::Options) -> Harness {
        let servers = clerk_fauna_devserver::start_demo_with(options)
            .await
            .expect("devserver starts");
        Harness {
            servers,
            http: reqwest::Client::new(),
        }
    }

    pub fn clerk(&self, path: &str) -> String {
        format!("{}{}", self.servers.clerk_origin(), path)
    }

    pub fn fauna(&self, path: &str) -> String {
        format!("{}{}", self.servers.fauna_origin(), path)
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body read");
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    pub async fn post_clerk(&self, path: &str, body: Value) -> Reply {
        self.send(self.http.post(self.clerk(path)).json(&body))
            .await
    }

    /// A token from `POST /__admin/mint`.
    pub async fn mint(&self, body: Value) -> String {
        let reply = self.post_clerk("/__admin/mint", body).await;
        assert_eq!(reply.status, 200, "mint: {}", reply.body);
        reply.body["jwt"].as_str().expect("jwt").to_owned()
    }

    pub async fn valid_token(&self, user: &str) -> String {
        self.mint(json!({ "user_id": user })).await
    }

    /// `POST /query/1` with a secret, plain-JSON body and extra headers.
    pub async fn query_with(&self, secret: &str, body: Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .http
            .post(self.fauna("/query/1"))
            .bearer_auth(secret)
            .json(&body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    pub async fn query(&self, secret: &str, fql: &str) -> Reply {
        self.query_with(secret, json!({ "query": fql }), &[]).await
    }

    /// The request log's last entry.
    pub async fn last_log(&self) -> Value {
        let reply = self
            .send(self.http.get(self.fauna("/__admin/requests")))
            .await;
        reply
            .body
            .as_array()
            .and_then(|a| a.last().cloned())
            .unwrap_or(Value::Null)
    }

    pub async fn clerk_stats(&self) -> Value {
        self.send(self.http.get(self.clerk("/__admin/stats")))
            .await
            .body
    }
}

/// The payload of a JWT, unchecked.
pub fn decode_payload(jwt: &str) -> Value {
    use base64::Engine;
    let part = jwt.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url payload"),
    )
    .expect("JSON payload")
}
