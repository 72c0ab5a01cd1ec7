//! Every token rule of Fauna's access-provider check, with tokens minted here.

mod common;

use common::*;
use serde_json::json;

/// Asserts Fauna's exact 401 and the logged reason.
async fn assert_rejected(h: &Harness, token: &str, reason: &str) {
    let reply = h.query(token, "Query.token().sub").await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"error": {"code": "unauthorized", "message": "Access token required"}})
    );
    assert_eq!(reply.headers["www-authenticate"], "Bearer");
    let log = h.last_log().await;
    assert_eq!(log["auth"], "rejected");
    assert_eq!(log["reason"], reason, "log: {log}");
}

#[tokio::test]
async fn valid_token_is_accepted_and_exposes_its_payload() {
    let h = Harness::start().await;
    let token = h.valid_token(ALICE).await;
    let reply = h
        .query(
            &token,
            "[Query.token().sub, Query.identity(), Query.token().aud]",
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.body["data"],
        json!([ALICE, null, format!("https://db.fauna.com/db/{DEMO_DB}")])
    );
    let log = h.last_log().await;
    assert_eq!(
        (log["auth"].as_str(), log["sub"].as_str()),
        (Some("ok"), Some(ALICE))
    );
    assert!(log["jti"].is_string());
}

#[tokio::test]
async fn time_claims_have_no_leeway() {
    let h = Harness::start().await;
    let expired = h.mint(json!({"user_id": ALICE, "kind": "expired"})).await;
    assert_rejected(&h, &expired, "expired").await;
    let not_yet = h
        .mint(json!({"user_id": ALICE, "kind": "not_yet_valid"}))
        .await;
    assert_rejected(&h, &not_yet, "not_yet_valid").await;
    // iat is not checked, even far in the future.
    let odd_iat = h
        .mint(json!({"user_id": ALICE, "claims": {"iat": 4_000_000_000u64}}))
        .await;
    assert_eq!(h.query(&odd_iat, "1").await.status, 200);
    // No exp and no nbf at all is fine: both are optional.
    let timeless = h
        .mint(json!({"user_id": ALICE, "claims": {"exp": null, "nbf": null}}))
        .await;
    assert_eq!(h.query(&timeless, "1").await.status, 200);
}

#[tokio::test]
async fn issuer_must_match_exactly() {
    let h = Harness::start().await;
    let slash = h
        .mint(json!({"user_id": ALICE, "kind": "trailing_slash_iss"}))
        .await;
    assert_rejected(&h, &slash, "bad_iss").await;
    let other = h.mint(json!({"user_id": ALICE, "kind": "wrong_iss"})).await;
    assert_rejected(&h, &other, "bad_iss").await;
}

#[tokio::test]
async fn audience_must_name_exactly_one_configured_database() {
    let h = Harness::start().await;
    let two = h
        .mint(json!({"user_id": ALICE, "claims": {"aud": [
            format!("https://db.fauna.com/db/{DEMO_DB}"), "https://db.fauna.com/db/yyyyyyyyyyyyr"
        ]}}))
        .await;
    assert_rejected(&h, &two, "bad_aud").await;
    let other_db = h.mint(json!({"user_id": ALICE, "kind": "wrong_aud"})).await;
    assert_rejected(&h, &other_db, "unknown_database").await;
    let missing = h
        .mint(json!({"user_id": ALICE, "template": "no-aud"}))
        .await;
    assert_rejected(&h, &missing, "bad_aud").await;
    // One Fauna audience among others is fine.
    let mixed = h
        .mint(json!({"user_id": ALICE, "claims": {"aud": ["https://api.example.com", format!("https://db.fauna.com/db/{DEMO_DB}")]}}))
        .await;
    assert_eq!(h.query(&mixed, "1").await.status, 200);
}

#[tokio::test]
async fn only_rsa_algorithms_are_accepted() {
    let h = Harness::start().await;
    let hs = h.mint(json!({"user_id": ALICE, "kind": "hs256"})).await;
    assert_rejected(&h, &hs, "unsupported_alg").await;
    let es = h.mint(json!({"user_id": ALICE, "kind": "es256"})).await;
    assert_rejected(&h, &es, "unsupported_alg").await;
}

#[tokio::test]
async fn single_key_without_kid_is_used() {
    let h = Harness::start().await;
    let no_kid = h.mint(json!({"user_id": ALICE, "kind": "no_kid"})).await;
    assert_eq!(h.query(&no_kid, "1").await.status, 200);
}

#[tokio::test]
async fn unknown_kid_forces_a_throttled_reload_then_rotation_is_picked_up() {
    let h = Harness::start().await;
    // Warm the JWKS cache.
    let token = h.valid_token(ALICE).await;
    assert_eq!(h.query(&token, "1").await.status, 200);
    assert_eq!(h.clerk_stats().await["jwks_requests"], 1);

    // Within 500 ms of the fetch an unknown kid does not reload.
    let unknown = h
        .mint(json!({"user_id": ALICE, "kind": "unknown_kid"}))
        .await;
    assert_rejected(&h, &unknown, "unknown_kid").await;
    assert_eq!(h.clerk_stats().await["jwks_requests"], 1);

    // After 500 ms it reloads once; a second try right away does not.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_rejected(&h, &unknown, "unknown_kid").await;
    assert_rejected(&h, &unknown, "unknown_kid").await;
    assert_eq!(h.clerk_stats().await["jwks_requests"], 2);

    // Clerk rotates to dev-2; a token with the new kid triggers a reload and passes.
    let rotated = h.post_clerk("/__admin/rotate_keys", json!({})).await;
    assert_eq!(rotated.body["active_kid"], "dev-2");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let new_token = h.valid_token(ALICE).await;
    let reply = h.query(&new_token, "Query.token().sub").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(h.clerk_stats().await["jwks_requests"], 3);

    // With two keys published, a token without kid matches none.
    let no_kid = h.mint(json!({"user_id": ALICE, "kind": "no_kid"})).await;
    assert_rejected(&h, &no_kid, "missing_kid").await;
}

#[tokio::test]
async fn a_role_predicate_must_match() {
    let h = Harness::start().await;
    let bot = h.valid_token("bot_123").await;
    assert_rejected(&h, &bot, "no_role").await;
}

#[tokio::test]
async fn tampered_signature_is_rejected() {
    let h = Harness::start().await;
    let token = h.valid_token(ALICE).await;
    let (head, _sig) = token.rsplit_once('.').unwrap();
    let other_sig = h
        .valid_token(BOB)
        .await
        .rsplit_once('.')
        .unwrap()
        .1
        .to_owned();
    assert_rejected(&h, &format!("{head}.{other_sig}"), "bad_signature").await;
}

#[tokio::test]
async fn root_secret_and_bad_secrets() {
    let h = Harness::start().await;
    let reply = h.query("secret", "Query.identity()").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["data"], json!(null));
    assert_rejected(&h, "not-a-key", "invalid_secret").await;
    assert_rejected(&h, "eyJnot.a.jwt", "malformed_token").await;
    let reply = h
        .send(
            h.http
                .post(h.fauna("/query/1"))
                .json(&json!({"query": "1"})),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(h.last_log().await["reason"], "missing_secret");
}

#[tokio::test]
async fn v4_and_graphql_reject_with_their_own_bodies() {
    let h = Harness::start_with_graphql().await;
    let expired = h.mint(json!({"user_id": ALICE, "kind": "expired"})).await;
    let reply = h
        .send(
            h.http
                .post(h.fauna("/"))
                .bearer_auth(&expired)
                .header("x-faunadb-api-version", "4")
                .json(&json!({"current_identity": null})),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body,
        json!({"errors": [{"code": "unauthorized", "description": "Unauthorized"}]})
    );
    let reply = h
        .send(
            h.http
                .post(h.fauna("/graphql"))
                .bearer_auth(&expired)
                .json(&json!({"query": "{ whoami }"})),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"],
        "unauthorized"
    );
}
