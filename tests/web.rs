//! Browser tests of the exported API, in headless Chromium (`wasm-pack test
//! --headless --chrome`). A JS issuer mints RS256-shaped JWTs; an injected
//! `fetch` plays Fauna's answers and records every request.

#![cfg(target_arch = "wasm32")]

use clerk_fauna::{decode_jwt, diagnose, FaunaClient, TokenCache};
use js_sys::{Array, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(module = "/tests/support.js")]
extern "C" {
    type Issuer;
    #[wasm_bindgen(constructor)]
    fn new(sub: &str, lifetime: f64) -> Issuer;
    #[wasm_bindgen(method, getter, js_name = getToken)]
    fn get_token(this: &Issuer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn count(this: &Issuer) -> u32;
    #[wasm_bindgen(method, getter, js_name = lastOptions)]
    fn last_options(this: &Issuer) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn calls(this: &Issuer) -> Array;
    #[wasm_bindgen(method, setter)]
    fn set_sub(this: &Issuer, sub: &str);
    #[wasm_bindgen(method, getter)]
    fn error(this: &Issuer) -> JsValue;
    #[wasm_bindgen(method)]
    fn script(this: &Issuer, steps: JsValue);
    #[wasm_bindgen(method)]
    fn release(this: &Issuer) -> u32;

    type FakeFauna;
    #[wasm_bindgen(constructor)]
    fn new() -> FakeFauna;
    #[wasm_bindgen(method, getter)]
    fn fetch(this: &FakeFauna) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn count(this: &FakeFauna) -> u32;
    #[wasm_bindgen(method)]
    fn request(this: &FakeFauna, i: u32) -> JsValue;
    #[wasm_bindgen(method)]
    fn script(this: &FakeFauna, answers: JsValue);
    #[wasm_bindgen(method)]
    fn reject(this: &FakeFauna, token: &str);
    #[wasm_bindgen(method, js_name = rejectAll)]
    fn reject_all(this: &FakeFauna);
    #[wasm_bindgen(method, js_name = releaseHeld)]
    fn release_held(this: &FakeFauna) -> u32;

    #[wasm_bindgen(js_name = mintToken)]
    fn mint_token(claims: JsValue, header: JsValue) -> String;
    #[wasm_bindgen(js_name = settlesWithin)]
    fn settles_within(p: &Promise, ms: f64) -> Promise;
    fn rejection(p: &Promise) -> Promise;
    #[wasm_bindgen(js_name = watchUnhandled)]
    fn watch_unhandled() -> Array;
    #[wasm_bindgen(variadic)]
    fn misuse(object: &JsValue, method: &str, args: &JsValue) -> Array;
    #[wasm_bindgen(js_name = skewClock)]
    fn skew_clock(ms: f64);
    #[wasm_bindgen(js_name = rawToken)]
    fn raw_token(payload_text: &str) -> String;
    #[wasm_bindgen(js_name = polluteSetters)]
    fn pollute_setters(names: JsValue) -> JsValue;
}

const ALICE: &str = "user_2alice0000000000000000000";
const BOB: &str = "user_2bob000000000000000000000";

fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn prop(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(name)).unwrap()
}

fn string(v: &JsValue, name: &str) -> String {
    prop(v, name).as_string().unwrap_or_default()
}

fn number(v: &JsValue, name: &str) -> f64 {
    prop(v, name).as_f64().unwrap_or(f64::NAN)
}

async fn ok(p: Promise) -> JsValue {
    JsFuture::from(p).await.expect("expected success")
}

/// The rejection of `p`, which must reject.
async fn err(p: Promise) -> JsValue {
    let e = JsFuture::from(rejection(&p)).await.unwrap();
    assert!(!e.is_null(), "expected a rejection");
    e
}

async fn settles(p: &Promise, ms: f64) -> bool {
    JsFuture::from(settles_within(p, ms))
        .await
        .unwrap()
        .as_bool()
        .unwrap()
}

/// Lets timers and microtasks run for `ms`.
async fn pause(ms: f64) {
    JsFuture::from(settles_within(&Promise::new(&mut |_, _| {}), ms))
        .await
        .unwrap();
}

async fn all(promises: Vec<Promise>) -> Array {
    let array: Array = promises.into_iter().collect();
    JsFuture::from(Promise::all_settled(&array))
        .await
        .unwrap()
        .into()
}

/// Constructor options as the JS caller passes them (`undefined`: none).
fn opts<T: JsCast>(value: JsValue) -> Option<T> {
    (!value.is_undefined()).then(|| value.unchecked_into())
}

fn cache(issuer: &Issuer, options: &str) -> TokenCache {
    TokenCache::new(issuer.get_token(), opts(json(options))).unwrap()
}

fn client(tokens: &TokenCache, fauna: &FakeFauna, options: &str) -> FaunaClient {
    let o = json(options);
    Reflect::set(&o, &"endpoint".into(), &"http://fauna.test".into()).unwrap();
    Reflect::set(
        &o,
        &"graphqlEndpoint".into(),
        &"http://fauna.test/graphql".into(),
    )
    .unwrap();
    Reflect::set(&o, &"fetch".into(), &fauna.fetch()).unwrap();
    // The fake Fauna answers through `fetch`: nothing crosses a network.
    Reflect::set(&o, &"allowInsecureHttp".into(), &JsValue::TRUE).unwrap();
    FaunaClient::new(tokens, opts(o)).unwrap()
}

fn stats(c: &TokenCache) -> [f64; 5] {
    let s = c.stats();
    ["hits", "misses", "joins", "refreshes", "failures"].map(|n| number(&s, n))
}

fn payload(token: &str) -> JsValue {
    prop(&decode_jwt(token.into()).unwrap(), "payload")
}

fn header(request: &JsValue, name: &str) -> JsValue {
    prop(&prop(request, "headers"), name)
}

// ---- token cache ----

#[wasm_bindgen_test]
async fn a_thousand_concurrent_gets_make_one_call() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let results = all((0..1000).map(|_| c.get(None)).collect()).await;
    assert_eq!(issuer.count(), 1);
    let first = prop(&results.get(0), "value");
    assert!(first.is_string());
    for r in results.iter() {
        assert_eq!(string(&r, "status"), "fulfilled");
        assert_eq!(prop(&r, "value"), first);
    }
    assert_eq!(stats(&c), [0.0, 1.0, 999.0, 0.0, 0.0]);
    assert_eq!(string(&issuer.last_options(), "template"), "fauna");
    // A new cache's first call asks for a newly minted token: one of unknown
    // age (from Clerk's own cache) could not be judged.
    assert_eq!(prop(&issuer.last_options(), "skipCache"), JsValue::TRUE);
    // Warm: served from the cache.
    assert_eq!(ok(c.get(None)).await, first);
    assert_eq!((issuer.count(), stats(&c)[0]), (1, 1.0));
}

#[wasm_bindgen_test]
async fn refresh_ahead_returns_the_old_token_and_refreshes_once() {
    // A 30 s token under a 45 s refresh-ahead window is due for refresh at once.
    let issuer = Issuer::new(ALICE, 30.0);
    let c = cache(&issuer, r#"{"refreshAheadSeconds":45}"#);
    let old = ok(c.get(None)).await;
    issuer.script(json(r#"["hold"]"#));
    for _ in 0..20 {
        assert_eq!(ok(c.get(None)).await, old);
    }
    assert_eq!(issuer.count(), 2, "exactly one background refresh");
    assert_eq!(prop(&issuer.last_options(), "skipCache"), JsValue::TRUE);
    assert_eq!(issuer.release(), 1);
    // Let the background refresh land.
    pause(20.0).await;
    let new = c.peek(None).unwrap();
    assert_ne!(JsValue::from_str(&new), old);
    assert_eq!(stats(&c)[3], 1.0);
}

#[wasm_bindgen_test]
async fn below_min_validity_callers_wait_for_a_new_token() {
    // 20 s tokens, an 18.5 s minimum: counted from `iat + 1 s` (whole
    // seconds), a new one has 19 s less the call's time; 0.7 s later it is
    // never served again.
    let issuer = Issuer::new(ALICE, 20.0);
    let c = cache(
        &issuer,
        r#"{"minValiditySeconds":18.5,"refreshAheadSeconds":20}"#,
    );
    let first = ok(c.get(None)).await;
    pause(700.0).await;
    assert_eq!(c.peek(None), None);
    issuer.script(json(r#"["hold"]"#));
    let waiting = c.get(None);
    assert!(
        !settles(&waiting, 50.0).await,
        "served a token below minValiditySeconds"
    );
    issuer.release();
    let second = ok(waiting).await;
    assert_ne!(first, second);
    // The held call was an ordinary one: its token is judged by the bound
    // learned from the first (up to 1 s of `iat` rounding), and when that
    // leaves it under 18.5 s it is asked again with skipCache: 2 or 3 calls,
    // depending on where in its second each token was minted.
    assert!(
        (2..=3).contains(&issuer.count()),
        "{} getToken calls",
        issuer.count()
    );
}

#[wasm_bindgen_test]
async fn skip_cache_shares_only_with_forced_calls() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    // Another template's token first: the cache has learned the server's
    // clock, so an ordinary miss takes getToken's own cache.
    ok(c.get(opts(json(r#"{"template":"other"}"#)))).await;
    issuer.script(json(r#"["hold","hold"]"#));
    let ordinary = c.get(None);
    let forced: Vec<Promise> = (0..3)
        .map(|_| c.get(opts(json(r#"{"skipCache":true}"#))))
        .collect();
    pause(0.0).await;
    assert_eq!(issuer.count(), 3);
    assert!(prop(&issuer.calls().get(1), "skipCache").is_undefined());
    assert_eq!(prop(&issuer.calls().get(2), "skipCache"), JsValue::TRUE);
    assert_eq!(issuer.release(), 2);
    let a = ok(ordinary).await;
    let results = all(forced).await;
    let b = prop(&results.get(0), "value");
    assert_ne!(a, b);
    for r in results.iter() {
        assert_eq!(prop(&r, "value"), b);
    }
    // The forced result replaced the entry.
    assert_eq!(JsValue::from(c.peek(None)), b);
    assert_eq!(stats(&c), [0.0, 2.0, 2.0, 1.0, 0.0]);
}

#[wasm_bindgen_test]
async fn signed_out_rejects_clears_and_is_not_cached() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(opts(json(r#"{"template":"other"}"#)))).await;
    assert!(c.peek(Some("other".into())).is_some());
    issuer.script(json(r#"["null"]"#));
    let e = err(c.get(None)).await;
    assert_eq!(string(&e, "code"), "signed_out");
    assert_eq!(string(&e, "name"), "ClerkFaunaError");
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(
        c.peek(Some("other".into())),
        None,
        "sign-out keeps no token"
    );
    // Not cached: the next call asks again and succeeds.
    assert!(ok(c.get(None)).await.is_string());
    assert_eq!(issuer.count(), 3);
}

#[wasm_bindgen_test]
async fn a_throwing_get_token_keeps_its_cause() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    issuer.script(json(r#"["throw"]"#));
    let e = err(c.get(None)).await;
    assert_eq!(string(&e, "code"), "token_unavailable");
    assert_eq!(prop(&e, "cause"), issuer.error());
    assert!(ok(c.get(None)).await.is_string());
    assert_eq!(stats(&c)[4], 1.0);
}

#[wasm_bindgen_test]
async fn a_hanging_get_token_times_out_and_the_next_call_retries() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, r#"{"getTokenTimeoutMs":100}"#);
    issuer.script(json(r#"["hang"]"#));
    let waiters: Vec<Promise> = (0..5).map(|_| c.get(None)).collect();
    for r in all(waiters).await.iter() {
        assert_eq!(string(&prop(&r, "reason"), "code"), "token_timeout");
    }
    assert!(ok(c.get(None)).await.is_string());
    assert_eq!(issuer.count(), 2);
}

#[wasm_bindgen_test]
async fn malformed_tokens_are_rejected() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    issuer.script(json(r#"["garbage","number"]"#));
    for _ in 0..2 {
        let e = err(c.get(None)).await;
        assert_eq!(string(&e, "code"), "malformed_token");
        assert!(
            !string(&e, "message").contains("not.a.jwt"),
            "the message repeats the token"
        );
    }
    assert_eq!(c.peek(None), None);
    let e = decode_jwt("a.b".into()).unwrap_err();
    assert_eq!(string(&e, "code"), "malformed_token");
    let e = decode_jwt(JsValue::from(5)).unwrap_err();
    assert_eq!(string(&e, "code"), "malformed_token");
    // Segments the platform's JSON reader must refuse: a payload of bytes
    // that are not UTF-8 (0xff 0xfe), and one starting with a BOM.
    for payload in ["__4", "77u_e30"] {
        let e = decode_jwt(format!("e30.{payload}.c2ln").into()).unwrap_err();
        assert_eq!(
            string(&e, "message"),
            "The token is not a valid JWT: its payload is not a JSON object."
        );
    }
    assert!(decode_jwt("e30.e30.c2ln".into()).is_ok());
}

#[wasm_bindgen_test]
async fn another_user_clears_every_other_entry() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    ok(c.get(opts(json(r#"{"template":"other"}"#)))).await;
    issuer.set_sub(BOB);
    let bob = ok(c.get(opts(json(r#"{"template":"other","skipCache":true}"#)))).await;
    assert_eq!(string(&payload(&bob.as_string().unwrap()), "sub"), BOB);
    assert_eq!(c.peek(None), None, "Alice's token survived Bob's sign-in");
    assert_eq!(string(&c.claims(Some("other".into())), "sub"), BOB);
}

#[wasm_bindgen_test]
async fn clear_during_a_call_rejects_its_waiters_at_once() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    issuer.script(json(r#"["hold"]"#));
    let waiters: Vec<Promise> = (0..3).map(|_| c.get(None)).collect();
    c.clear();
    for r in all(waiters).await.iter() {
        assert_eq!(string(&prop(&r, "reason"), "code"), "cleared");
    }
    issuer.release();
    pause(20.0).await;
    assert_eq!(
        c.peek(None),
        None,
        "a token minted before clear() was cached"
    );
}

#[wasm_bindgen_test]
async fn invalidate_claims_and_options() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, r#"{"template":"fauna","organizationId":"org_1"}"#);
    let t = ok(c.get(None)).await;
    assert_eq!(string(&issuer.last_options(), "organizationId"), "org_1");
    assert_eq!(JsValue::from(c.peek(None)), t);
    assert_eq!(string(&c.claims(None), "sub"), ALICE);
    assert!(c.claims(Some("never".into())).is_undefined());
    c.invalidate(None);
    assert_eq!(c.peek(None), None);
    for bad in [
        r#"{"refreshAheadSeconds":-1}"#,
        r#"{"template":""}"#,
        r#"{"getTokenTimeoutMs":"soon"}"#,
        "5",
    ] {
        let e = TokenCache::new(issuer.get_token(), opts(json(bad)))
            .err()
            .expect(bad);
        assert_eq!(string(&e, "code"), "invalid_option");
    }
    let e = TokenCache::new(JsValue::from("not a function"), None)
        .err()
        .unwrap();
    assert_eq!(string(&e, "code"), "invalid_option");
    let e = err(c.get(opts(json(r#"{"skipCache":"yes"}"#)))).await;
    assert_eq!(string(&e, "code"), "invalid_option");
    assert_eq!(
        string(&e, "message"),
        "get options.skipCache must be a boolean."
    );
    let e = TokenCache::new(
        issuer.get_token(),
        opts(json(r#"{"getTokenTimeoutMs":"soon"}"#)),
    )
    .err()
    .unwrap();
    assert_eq!(
        string(&e, "message"),
        "TokenCache options.getTokenTimeoutMs must be a number."
    );
    let e = TokenCache::new(issuer.get_token(), opts(json("5")))
        .err()
        .unwrap();
    assert_eq!(
        string(&e, "message"),
        "TokenCache options must be an object."
    );
}

// ---- user isolation: a call from an earlier session never leaves a token ----

/// The true time in whole seconds (the issuer's clock).
fn now_s() -> i64 {
    (js_sys::Date::now() / 1000.0).floor() as i64
}

fn get_with(c: &TokenCache, options: &str) -> Promise {
    c.get(opts(json(options)))
}

/// A rejection that has already happened (within 50 ms): a call begun in an
/// earlier session is ended at once, not when its getToken settles.
async fn rejected_at_once(p: Promise) -> String {
    assert!(
        settles(&p, 50.0).await,
        "still waiting for a getToken of an earlier session"
    );
    string(&err(p).await, "code")
}

#[wasm_bindgen_test]
async fn a_sign_out_ends_the_calls_in_flight_and_caches_none_of_their_tokens() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    // Another template's call and a forced call are slow; a third call hears
    // that the user signed out.
    issuer.script(json(r#"["hold","hold","null"]"#));
    let other = get_with(&c, r#"{"template":"other"}"#);
    let forced = get_with(&c, r#"{"skipCache":true}"#);
    let e = err(get_with(&c, r#"{"template":"third"}"#)).await;
    assert_eq!(string(&e, "code"), "signed_out");
    assert_eq!(rejected_at_once(other).await, "cleared");
    assert_eq!(rejected_at_once(forced).await, "cleared");
    // Their tokens (the signed-out user's) arrive late, and are dropped.
    assert_eq!(issuer.release(), 2);
    pause(20.0).await;
    for template in [None, Some("other"), Some("third")] {
        assert_eq!(c.peek(template.map(Into::into)), None, "{template:?}");
    }
    assert!(c.claims(Some("other".into())).is_undefined());
}

#[wasm_bindgen_test]
async fn clear_ends_other_templates_and_forced_calls_and_caches_nothing() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    issuer.script(json(r#"["hold","hold"]"#));
    let other = get_with(&c, r#"{"template":"other"}"#);
    let forced = get_with(&c, r#"{"skipCache":true}"#);
    pause(0.0).await;
    c.clear();
    assert_eq!(rejected_at_once(other).await, "cleared");
    assert_eq!(rejected_at_once(forced).await, "cleared");
    assert_eq!(issuer.release(), 2);
    pause(20.0).await;
    assert_eq!(c.peek(None), None);
    assert_eq!(c.peek(Some("other".into())), None);
}

#[wasm_bindgen_test]
async fn a_late_token_of_the_previous_user_never_evicts_the_new_users() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    // Alice's forced refresh is slow. Meanwhile Clerk switched to Bob, and
    // another template's call brings his token; then Alice's lands.
    issuer.script(json(&format!(r#"[{{"hold":true,"sub":"{ALICE}"}}]"#)));
    let slow = get_with(&c, r#"{"skipCache":true}"#);
    pause(0.0).await;
    issuer.set_sub(BOB);
    let bob = ok(get_with(&c, r#"{"template":"other"}"#)).await;
    assert_eq!(string(&payload(&bob.as_string().unwrap()), "sub"), BOB);
    assert_eq!(rejected_at_once(slow).await, "cleared");
    assert_eq!(issuer.release(), 1);
    pause(20.0).await;
    assert_eq!(
        JsValue::from(c.peek(Some("other".into()))),
        bob,
        "Bob's token was evicted"
    );
    assert_eq!(c.peek(None), None, "Alice's late token was cached");
    let next = ok(c.get(None)).await;
    assert_eq!(string(&payload(&next.as_string().unwrap()), "sub"), BOB);
}

// ---- freshness by the server's clock ----

#[wasm_bindgen_test]
async fn aged_tokens_from_get_tokens_own_cache_are_never_served() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    let now = now_s();
    // As clerk-js hands back: minted 58 s ago with 2 s left; one that
    // expired an hour ago (exp - iat = 60); one minted an hour from now.
    for (iat, what) in [
        (now - 58, "2 s left"),
        (now - 3660, "expired an hour ago"),
        (now + 3600, "from the future"),
    ] {
        c.invalidate(None);
        let bad = format!(r#"{{"iat":{iat},"exp":{},"nbf":{}}}"#, iat + 60, iat - 5);
        issuer.script(json(&format!("[{bad}]")));
        let before = issuer.count();
        let served = ok(c.get(None)).await.as_string().unwrap();
        let claims = payload(&served);
        assert!(
            number(&claims, "exp") - js_sys::Date::now() / 1000.0 >= 55.0,
            "{what}: served an aged token"
        );
        assert!(
            issuer.count() - before >= 2,
            "{what}: no new token asked for"
        );
        assert_eq!(
            prop(&issuer.last_options(), "skipCache"),
            JsValue::TRUE,
            "{what}"
        );
        assert!(number(&claims, "iat") as i64 >= now, "{what}");
    }
}

#[wasm_bindgen_test]
async fn a_get_token_that_ignores_skip_cache_gets_a_clear_error_not_an_aged_token() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    c.invalidate(None);
    let iat = now_s() - 58;
    issuer.script(json(&format!(
        r#"[{{"iat":{iat},"exp":{},"nbf":{}}},"repeat","repeat"]"#,
        iat + 60,
        iat - 5
    )));
    let e = err(c.get(None)).await;
    assert_eq!(string(&e, "code"), "token_unavailable");
    assert!(
        string(&e, "message").contains("skipCache"),
        "{}",
        string(&e, "message")
    );
    assert_eq!(c.peek(None), None);
}

#[wasm_bindgen_test]
async fn a_template_shorter_than_min_validity_is_a_clear_error() {
    // 3 s tokens under the default 5 s minValiditySeconds: Fauna would
    // refuse each within 5 s, so none is served.
    let issuer = Issuer::new(ALICE, 3.0);
    let c = cache(&issuer, "{}");
    let e = err(c.get(None)).await;
    assert_eq!(string(&e, "code"), "token_unavailable");
    assert!(string(&e, "message").contains("minValiditySeconds"));
    // Lowered to 1 s, the same tokens are served.
    let c = cache(&issuer, r#"{"minValiditySeconds":1}"#);
    assert!(ok(c.get(None)).await.is_string());
}

#[wasm_bindgen_test]
async fn a_device_clock_two_hours_off_serves_the_same_tokens() {
    for skew in [7_200_000.0, -7_200_000.0] {
        // The issuer keeps true time.
        let true_now = now_s();
        skew_clock(skew);
        let issuer = Issuer::new(ALICE, 60.0);
        let c = cache(&issuer, "{}");
        let first = ok(c.get(None)).await;
        assert_eq!(
            ok(c.get(None)).await,
            first,
            "skew {skew}: not served from the cache"
        );
        assert_eq!(JsValue::from(c.peek(None)), first);
        // An aged one is still refused: 2 s left by the server's clock.
        c.invalidate(None);
        let iat = true_now - 58;
        issuer.script(json(&format!(r#"[{{"iat":{iat},"exp":{}}}]"#, iat + 60)));
        let served = ok(c.get(None)).await.as_string().unwrap();
        assert!(
            number(&payload(&served), "iat") as i64 > iat,
            "skew {skew}: aged token served"
        );
        skew_clock(0.0);
    }
}

// ---- claims from untrusted tokens ----

#[wasm_bindgen_test]
async fn a_proto_claim_never_reaches_a_copys_prototype() {
    let token = mint_token(
        json(r#"{"__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}"#),
        JsValue::UNDEFINED,
    );
    let payload = payload(&token);
    let copy = js_sys::Object::assign(&js_sys::Object::new(), payload.unchecked_ref());
    assert!(
        prop(&copy, "polluted").is_undefined(),
        "Object.assign copied __proto__"
    );
    let nested = js_sys::Object::assign(
        &js_sys::Object::new(),
        prop(&payload, "nested").unchecked_ref(),
    );
    assert!(prop(&nested, "polluted").is_undefined());
    let issuer = Issuer::new(ALICE, 60.0);
    issuer.script(Array::of1(&JsValue::from_str(&token)).into());
    let c = cache(&issuer, "{}");
    ok(c.get(None)).await;
    let copy = js_sys::Object::assign(&js_sys::Object::new(), c.claims(None).unchecked_ref());
    assert!(prop(&copy, "polluted").is_undefined());
}

#[wasm_bindgen_test]
async fn a_setter_on_object_prototype_never_sees_the_token_or_what_is_built_around_it() {
    // Another library's bug leaves setters on Object.prototype: every object
    // the package builds (request headers, getToken's options, results,
    // decoded claims) is made of own members, so none is ever called.
    let names = json(
        r#"["Authorization","authorization","template","skipCache","data","txnTs","stats","header","payload","url","init","headers","body","method"]"#,
    );
    let pollution = pollute_setters(names);
    let issuer = Issuer::new(ALICE, 60.0);
    let fauna = FakeFauna::new();
    let c = cache(&issuer, "{}");
    let db = client(&c, &fauna, "{}");
    let outcome = async {
        assert_eq!(
            string(
                &ok(db.query("1".into(), JsValue::UNDEFINED, None)).await,
                "data"
            ),
            ALICE
        );
        assert_eq!(ok(db.current_identity()).await, ALICE);
        let token = ok(c.get(None)).await.as_string().unwrap();
        assert_eq!(string(&payload(&token), "sub"), ALICE);
        let sent = header(&fauna.request(0), "authorization").as_string();
        assert_eq!(sent, Some(format!("Bearer {token}")));
    };
    outcome.await;
    let restore: js_sys::Function = prop(&pollution, "restore").into();
    restore.call0(&JsValue::NULL).unwrap();
    let seen: Array = prop(&pollution, "seen").into();
    assert_eq!(
        seen.length(),
        0,
        "a setter on Object.prototype was called: {:?}",
        seen.iter()
            .map(|e| Array::from(&e).get(0).as_string())
            .collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn time_claims_that_are_not_whole_seconds_and_long_tokens_are_malformed() {
    let now = now_s();
    for (what, payload_text) in [
        (
            "exp 1e400",
            format!(r#"{{"sub":"a","iat":{now},"exp":1e400}}"#),
        ),
        (
            "exp a string",
            format!(r#"{{"sub":"a","iat":{now},"exp":"{}"}}"#, now + 60),
        ),
        (
            "exp a float",
            format!(r#"{{"sub":"a","iat":{now},"exp":{}.5}}"#, now + 60),
        ),
        (
            "iat a float",
            format!(r#"{{"sub":"a","iat":{now}.25,"exp":{}}}"#, now + 60),
        ),
        (
            "nbf negative",
            format!(r#"{{"sub":"a","nbf":-1,"exp":{}}}"#, now + 60),
        ),
        (
            "over 8 KiB",
            format!(
                r#"{{"sub":"a","exp":{},"pad":"{}"}}"#,
                now + 60,
                "x".repeat(9000)
            ),
        ),
    ] {
        let token = raw_token(&payload_text);
        let e = decode_jwt(token.clone().into()).expect_err(what);
        assert_eq!(string(&e, "code"), "malformed_token", "{what}");
        let issuer = Issuer::new(ALICE, 60.0);
        issuer.script(Array::of1(&JsValue::from_str(&token)).into());
        let c = cache(&issuer, "{}");
        assert_eq!(string(&err(c.get(None)).await, "code"), "malformed_token");
        assert_eq!(c.peek(None), None);
    }
}

// ---- Fauna requests ----

#[wasm_bindgen_test]
async fn query_sends_exactly_the_specified_request() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let result = ok(db.query("Query.token().sub".into(), json(r#"{"x":1}"#), None)).await;
    assert_eq!(string(&result, "data"), ALICE);
    assert_eq!(string(&result, "staticType"), "String");
    assert_eq!(number(&result, "schemaVersion"), 0.0);
    assert!(prop(&result, "stats").is_object());
    let first_ts = number(&result, "txnTs");
    assert_eq!(db.last_txn_ts(), Some(first_ts));

    let r = fauna.request(0);
    assert_eq!(string(&r, "url"), "http://fauna.test/query/1");
    assert_eq!(string(&r, "method"), "POST");
    assert_eq!(
        string(&r, "body"),
        r#"{"query":"Query.token().sub","arguments":{"x":1}}"#
    );
    let token = c.peek(None).unwrap();
    assert_eq!(header(&r, "authorization"), format!("Bearer {token}"));
    assert_eq!(header(&r, "x-format"), "simple");
    assert_eq!(header(&r, "x-query-timeout-ms"), "5000");
    assert_eq!(header(&r, "content-type"), "application/json");
    let names = js_sys::Object::keys(&prop(&r, "headers").into());
    assert_eq!(
        names.length(),
        4,
        "unexpected headers: {:?}",
        names.to_vec()
    );

    // The second query carries the first's txn_ts, and per-query options.
    let options = json(
        r#"{"format":"tagged","typecheck":true,"linearized":false,"maxContentionRetries":2,
            "queryTags":{"app":"demo"},"queryTimeoutMs":1000,
            "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}"#,
    );
    ok(db.query("1".into(), JsValue::UNDEFINED, opts(options))).await;
    let r = fauna.request(1);
    assert_eq!(string(&r, "body"), r#"{"query":"1"}"#);
    assert_eq!(header(&r, "x-last-txn-ts"), format!("{first_ts}"));
    assert_eq!(header(&r, "x-format"), "tagged");
    assert_eq!(header(&r, "x-typecheck"), "true");
    assert_eq!(header(&r, "x-linearized"), "false");
    assert_eq!(header(&r, "x-max-contention-retries"), "2");
    assert_eq!(header(&r, "x-query-tags"), "app=demo");
    assert_eq!(header(&r, "x-query-timeout-ms"), "1000");
    assert!(header(&r, "traceparent").is_string());
    assert_eq!(issuer.count(), 1, "one token for both queries");
}

#[wasm_bindgen_test]
async fn last_txn_ts_keeps_the_largest() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    fauna.script(json(
        r#"[{"body":{"data":1,"txn_ts":20,"stats":{}}},{"body":{"data":2,"txn_ts":10,"stats":{}}}]"#,
    ));
    ok(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    ok(db.query("2".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(db.last_txn_ts(), Some(20.0));
}

#[wasm_bindgen_test]
async fn a_hundred_queries_rejected_with_401_share_one_refresh() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let stale = ok(c.get(None)).await.as_string().unwrap();
    fauna.reject(&stale);
    let queries = (0..100).map(|_| db.query("1".into(), JsValue::UNDEFINED, None));
    for r in all(queries.collect()).await.iter() {
        assert_eq!(
            string(&r, "status"),
            "fulfilled",
            "{:?}",
            prop(&r, "reason")
        );
    }
    assert_eq!(issuer.count(), 2, "one token, one refresh");
    assert_eq!(stats(&c)[3], 1.0);
    assert_eq!(fauna.count(), 200);
    assert_eq!(prop(&issuer.last_options(), "skipCache"), JsValue::TRUE);
}

#[wasm_bindgen_test]
async fn a_second_401_is_unauthorized_with_a_hint_and_no_token() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let unauthorized = r#"{"status":401,"body":{"error":{"code":"unauthorized","message":"Access token required"}}}"#;
    fauna.script(json(&format!("[{unauthorized},{unauthorized}]")));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&e, "code"), "unauthorized");
    assert_eq!(number(&e, "httpStatus"), 401.0);
    assert_eq!(string(&e, "faunaCode"), "unauthorized");
    let hint = string(&e, "hint");
    assert!(hint.contains("iss https://clerk.example.test"), "{hint}");
    assert!(hint.contains("https://db.fauna.com/db/ytestdb"), "{hint}");
    assert!(hint.contains("trailing slash"), "{hint}");
    // The token itself looks right: the hint points at the access provider and its JWKS.
    assert!(hint.contains("check the access provider"), "{hint}");
    assert!(hint.contains("reachable from the Fauna server"), "{hint}");
    let token = c.peek(None).unwrap();
    let everything =
        JSON::stringify(&e).unwrap().as_string().unwrap() + &string(&e, "message") + &hint;
    assert!(!everything.contains(&token));
    assert_eq!((fauna.count(), issuer.count()), (2, 2));
}

#[wasm_bindgen_test]
async fn throttling_backs_off_and_retries() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, r#"{"maxBackoffMs":50}"#);
    let throttled = r#"{"status":429,"body":{"error":{"code":"limit_exceeded","message":"Rate limit exceeded"},"stats":{}}}"#;
    let honoured = r#"{"status":429,"headers":{"Retry-After":"0"},"body":{"error":{"code":"limit_exceeded","message":"Rate limit exceeded"}}}"#;
    fauna.script(json(&format!("[{throttled},{honoured}]")));
    let result = ok(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&result, "data"), ALICE);
    assert_eq!(fauna.count(), 3);

    fauna.script(json(&format!("[{throttled},{throttled},{throttled}]")));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&e, "code"), "throttled");
    assert_eq!(number(&e, "httpStatus"), 429.0);
    assert_eq!(fauna.count(), 6, "three attempts in all");

    // A server asking for longer than maxBackoffMs is not hammered.
    let long = r#"{"status":429,"headers":{"Retry-After":"30"},"body":{"error":{"code":"limit_exceeded","message":"x"}}}"#;
    fauna.script(json(&format!("[{long}]")));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(
        (string(&e, "code"), number(&e, "retryAfterMs")),
        ("throttled".into(), 30_000.0)
    );
    assert_eq!(fauna.count(), 7);
}

#[wasm_bindgen_test]
async fn every_failure_has_its_code_and_is_not_retried() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let cases = [
        (
            r#"{"status":400,"body":{"error":{"code":"invalid_query","message":"bad"},"summary":"error: bad","txn_ts":1,"stats":{}}}"#,
            "query_failed",
            Some("invalid_query"),
        ),
        (
            r#"{"status":400,"body":{"error":{"code":"abort","message":"aborted","abort":{"why":"no"}},"stats":{}}}"#,
            "query_failed",
            Some("abort"),
        ),
        (
            r#"{"status":400,"body":{"error":{"code":"constraint_failure","message":"c","constraint_failures":[{"paths":[["a"]],"message":"m"}]}}}"#,
            "query_failed",
            Some("constraint_failure"),
        ),
        (
            r#"{"status":400,"body":{"error":{"code":"invalid_request","message":"bad header"}}}"#,
            "invalid_request",
            Some("invalid_request"),
        ),
        (
            r#"{"status":403,"body":{"error":{"code":"forbidden","message":"no"}}}"#,
            "forbidden",
            Some("forbidden"),
        ),
        (
            r#"{"status":409,"body":{"error":{"code":"contended_transaction","message":"c"}}}"#,
            "contended_transaction",
            Some("contended_transaction"),
        ),
        (
            r#"{"status":440,"body":{"error":{"code":"time_out","message":"t"}}}"#,
            "timeout",
            Some("time_out"),
        ),
        (
            r#"{"status":503,"body":{"error":{"code":"time_out","message":"t"}}}"#,
            "timeout",
            Some("time_out"),
        ),
        (
            r#"{"status":500,"body":{"error":{"code":"internal_error","message":"i"}}}"#,
            "service_error",
            Some("internal_error"),
        ),
        // The account is disabled: the driver's AuthorizationError.
        (
            r#"{"status":410,"body":{"error":{"code":"forbidden","message":"Your account has been disabled."}}}"#,
            "forbidden",
            Some("forbidden"),
        ),
        (
            r#"{"status":540,"body":{"error":{"code":"internal_error","message":"operator"}}}"#,
            "service_error",
            Some("internal_error"),
        ),
        (
            r#"{"status":502,"body":"<html>Bad Gateway</html>"}"#,
            "service_error",
            None,
        ),
        (
            r#"{"status":200,"body":"not json"}"#,
            "protocol_error",
            None,
        ),
        (r#"{"status":200,"body":""}"#, "protocol_error", None),
        (
            r#"{"status":200,"body":{"nothing":true}}"#,
            "protocol_error",
            None,
        ),
        (r#"{"fail":true}"#, "network_error", None),
    ];
    for (i, (answer, code, fauna_code)) in cases.iter().enumerate() {
        fauna.script(json(&format!("[{answer}]")));
        let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
        assert_eq!(string(&e, "code"), *code, "{answer}");
        assert_eq!(
            prop(&e, "faunaCode").as_string().as_deref(),
            *fauna_code,
            "{answer}"
        );
        assert_eq!(fauna.count(), i as u32 + 1, "retried: {answer}");
    }
    fauna.script(json(
        r#"[{"status":400,"body":{"error":{"code":"abort","message":"a","abort":{"why":"no"}}}}]"#,
    ));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&prop(&e, "abort"), "why"), "no");
    fauna.script(json(r#"[{"status":400,"body":{"error":{"code":"constraint_failure","message":"c","constraint_failures":[{"message":"m"}]}}}]"#));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert!(Array::is_array(&prop(&e, "constraintFailures")));
    let e = err(db.query(JsValue::from(5), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&e, "code"), "invalid_option");
    let e = err(db.query("1".into(), json("[1]"), None)).await;
    assert_eq!(string(&e, "code"), "invalid_option");
    let e = err(db.query(
        "1".into(),
        JsValue::UNDEFINED,
        opts(json(r#"{"queryTags":{"a b":"c"}}"#)),
    ))
    .await;
    assert_eq!(string(&e, "code"), "invalid_option");
    let e = err(db.query(
        "1".into(),
        JsValue::UNDEFINED,
        opts(json(r#"{"queryTags":{"a":1}}"#)),
    ))
    .await;
    assert_eq!(
        string(&e, "message"),
        "query options.queryTags must be an object of strings."
    );
}

#[wasm_bindgen_test]
async fn a_request_with_no_answer_times_out() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    fauna.script(json(r#"[{"hang":true}]"#));
    // queryTimeoutMs 1: abandoned 5001 ms later.
    let e = err(db.query(
        "1".into(),
        JsValue::UNDEFINED,
        opts(json(r#"{"queryTimeoutMs":1}"#)),
    ))
    .await;
    assert_eq!(string(&e, "code"), "timeout");
    assert_eq!(fauna.count(), 1);
}

#[wasm_bindgen_test]
async fn token_errors_reach_query_callers() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    issuer.script(json(r#"["null"]"#));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&e, "code"), "signed_out");
    assert_eq!(fauna.count(), 0, "a request was sent without a token");
}

#[wasm_bindgen_test]
async fn v4_current_identity_and_errors() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    assert_eq!(ok(db.current_identity()).await, ALICE);
    let r = fauna.request(0);
    assert_eq!(string(&r, "url"), "http://fauna.test/");
    assert_eq!(header(&r, "x-faunadb-api-version"), "4");
    assert_eq!(string(&r, "body"), r#"{"current_identity":null}"#);
    fauna.script(json(r#"[{"status":400,"body":{"errors":[{"position":[],"code":"invalid expression","description":"No form/function found"}]}}]"#));
    let e = err(db.query_v4(json(r#"{"nope":1}"#))).await;
    assert_eq!(
        (string(&e, "code"), string(&e, "faunaCode")),
        ("query_failed".into(), "invalid expression".into())
    );
    // v4 protocol errors use codes of their own, and no position.
    let v4_cases = [
        (503, "time out", "service_error"),
        (440, "processing time limit exceeded", "timeout"),
        (410, "permission denied", "forbidden"),
        (409, "contended transaction", "contended_transaction"),
        (400, "bad request", "invalid_request"),
        (540, "operator error", "service_error"),
    ];
    for (status, fauna_code, code) in v4_cases {
        let answer = format!(
            r#"[{{"status":{status},"body":{{"errors":[{{"code":"{fauna_code}","description":"d"}}]}}}}]"#
        );
        fauna.script(json(&answer));
        let e = err(db.current_identity()).await;
        assert_eq!(
            (string(&e, "code"), string(&e, "faunaCode")),
            (code.into(), fauna_code.into()),
            "{answer}"
        );
    }
    let sent = fauna.count();
    fauna.script(json(
        r#"[{"status":429,"body":{"errors":[{"code":"too many requests","description":"Too many pending requests."}]}},{"status":200,"body":{"resource":"again"}}]"#,
    ));
    assert_eq!(ok(db.current_identity()).await, "again");
    assert_eq!(fauna.count(), sent + 2, "a v4 429 is retried");
    // v4 401 then success: one refresh.
    let token = c.peek(None).unwrap();
    fauna.reject(&token);
    assert_eq!(ok(db.current_identity()).await, ALICE);
    assert_eq!(issuer.count(), 2);
}

#[wasm_bindgen_test]
async fn graphql_data_and_errors() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let data = ok(db.graphql("{ whoami }".into(), json(r#"{"a":1}"#))).await;
    assert_eq!(string(&data, "whoami"), ALICE);
    let r = fauna.request(0);
    assert_eq!(string(&r, "url"), "http://fauna.test/graphql");
    assert_eq!(
        string(&r, "body"),
        r#"{"query":"{ whoami }","variables":{"a":1}}"#
    );
    fauna.script(json(
        r#"[{"body":{"data":null,"errors":[{"message":"Cannot query field"}]}}]"#,
    ));
    let e = err(db.graphql("{ nope }".into(), JsValue::UNDEFINED)).await;
    assert_eq!(string(&e, "code"), "graphql_error");
    assert_eq!(Array::from(&prop(&e, "errors")).length(), 1);
}

#[wasm_bindgen_test]
async fn authenticated_fetch_replaces_the_placeholder_and_retries_a_401_once() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let f: js_sys::Function = db.fetch();
    assert_eq!(
        JsValue::from(f.clone()),
        JsValue::from(db.fetch()),
        "a new function each time"
    );
    let init = json(
        r#"{"method":"POST","headers":{"Authorization":"Bearer placeholder","X-Format":"simple"},"body":"{\"query\":\"1\"}"}"#,
    );
    let response = ok(f
        .call2(&JsValue::NULL, &"http://fauna.test/query/1".into(), &init)
        .unwrap()
        .into())
    .await;
    assert_eq!(number(&response, "status"), 200.0);
    let token = c.peek(None).unwrap();
    let r = fauna.request(0);
    assert_eq!(header(&r, "authorization"), format!("Bearer {token}"));
    assert_eq!(header(&r, "x-format"), "simple");
    // Fauna refuses that token: one refresh, the same body replayed.
    fauna.reject(&token);
    let response = ok(f
        .call2(&JsValue::NULL, &"http://fauna.test/query/1".into(), &init)
        .unwrap()
        .into())
    .await;
    assert_eq!(number(&response, "status"), 200.0);
    assert_eq!(string(&fauna.request(2), "body"), r#"{"query":"1"}"#);
    assert_ne!(
        header(&fauna.request(2), "authorization"),
        format!("Bearer {token}")
    );
    // Always 401: the second 401 is returned as it is, like fetch would.
    fauna.reject_all();
    let before = (fauna.count(), issuer.count());
    let response = ok(f
        .call2(&JsValue::NULL, &"http://fauna.test/query/1".into(), &init)
        .unwrap()
        .into())
    .await;
    assert_eq!(number(&response, "status"), 401.0);
    assert_eq!(
        (fauna.count(), issuer.count()),
        (before.0 + 2, before.1 + 1)
    );
}

#[wasm_bindgen_test]
async fn one_cache_shared_by_two_clients() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let a = client(&c, &fauna, "{}");
    let b = client(&c, &fauna, "{}");
    ok(a.query("1".into(), JsValue::UNDEFINED, None)).await;
    ok(b.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(issuer.count(), 1);
    // Sign-out through the cache reaches both clients.
    c.clear();
    issuer.set_sub(BOB);
    let r = ok(b.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&r, "data"), BOB);
    // The clients keep working after the cache object itself is dropped (as
    // the garbage collector does; the caller's free() is in tests/security).
    drop(c);
    let r = ok(a.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&r, "data"), BOB);
}

#[wasm_bindgen_test]
async fn background_refresh_failures_are_not_unhandled() {
    let seen = watch_unhandled();
    let issuer = Issuer::new(ALICE, 30.0);
    let c = cache(&issuer, r#"{"refreshAheadSeconds":45}"#);
    ok(c.get(None)).await;
    issuer.script(json(r#"["throw"]"#));
    assert!(ok(c.get(None)).await.is_string());
    pause(50.0).await;
    assert_eq!(issuer.count(), 2);
    assert_eq!(stats(&c)[4], 1.0);
    assert_eq!(seen.length(), 0, "unhandled rejection: {:?}", seen.to_vec());
}

#[wasm_bindgen_test]
async fn misuse_across_the_js_boundary_throws_clear_errors_and_the_module_lives_on() {
    let issuer = Issuer::new(ALICE, 60.0);
    let fauna = FakeFauna::new();
    let c = cache(&issuer, "{}");
    let db = client(&c, &fauna, "{}");
    let db_js = JsValue::from(db);
    let c_js = JsValue::from(c);
    for (object, method) in [(&c_js, "peek"), (&db_js, "currentIdentity")] {
        // wasm-bindgen answers "Attempt to use a moved value" after free(),
        // and "null pointer passed to rust" to a second free(): JS errors.
        let outcomes: Vec<String> = misuse(object, method, &Array::new())
            .iter()
            .filter_map(|v| v.as_string())
            .collect();
        assert_eq!(outcomes.len(), 4);
        assert_eq!(outcomes[0], "ok", "the first free() must work");
        for outcome in &outcomes[1..] {
            if outcome != "ok" {
                assert!(outcome.starts_with("threw: "), "{method}: {outcome}");
            }
        }
        assert!(
            outcomes[1].starts_with("threw: "),
            "{method} after free() did not throw: {outcomes:?}"
        );
    }
    // The module is still usable: a new cache and client work.
    let c = cache(&issuer, "{}");
    let db = client(&c, &fauna, "{}");
    assert_eq!(ok(db.current_identity()).await, ALICE);
}

/// The codes `diagnose` finds in a token minted with these claims.
fn findings(claims: &str, header: &str, options: &str) -> Vec<String> {
    let token = mint_token(json(claims), json(header));
    let list: Array = diagnose(token.into(), json(options)).unwrap().into();
    list.iter()
        .map(|f| {
            assert!(!string(&f, "message").is_empty() && !string(&f, "fix").is_empty());
            string(&f, "code")
        })
        .collect()
}

#[wasm_bindgen_test]
fn diagnose_names_each_setup_mistake() {
    let expect = r#"{"issuer":"https://clerk.example.test","databaseId":"ytestdb","endpoint":"http://127.0.0.1:8443"}"#;
    let none: Vec<String> = Vec::new();
    assert_eq!(findings("{}", "{}", expect), none);
    let cases = [
        (r#"{"aud":null}"#, "{}", "aud_missing"),
        (r#"{"aud":"https://example.com"}"#, "{}", "aud_not_fauna"),
        (
            r#"{"aud":"https://db.fauna.com/db/otherdb"}"#,
            "{}",
            "aud_other_database",
        ),
        (
            r#"{"aud":["https://db.fauna.com/db/a","https://db.fauna.com/db/b"]}"#,
            "{}",
            "aud_several_fauna",
        ),
        (
            r#"{"iss":"https://clerk.example.test/"}"#,
            "{}",
            "iss_trailing_slash",
        ),
        (
            r#"{"iss":"https://elsewhere.example"}"#,
            "{}",
            "iss_mismatch",
        ),
        ("{}", r#"{"alg":"HS256"}"#, "alg_unsupported"),
        (r#"{"iat":1700000000,"exp":1700003600}"#, "{}", "expired"),
        (r#"{"nbf":4102444800}"#, "{}", "not_yet_valid"),
        (r#"{"lifetime":3}"#, "{}", "lifetime_too_short"),
        (r#"{"sub":null}"#, "{}", "sub_missing"),
        // Fauna ignores a time claim that is not a whole number: such a
        // token never expires there (and the cache refuses it).
        (r#"{"exp":4102444800.5}"#, "{}", "exp_ignored"),
        (r#"{"nbf":"soon"}"#, "{}", "nbf_ignored"),
    ];
    for (claims, header, code) in cases {
        assert_eq!(
            findings(claims, header, expect),
            [code],
            "{claims} {header}"
        );
    }
    let hosted = r#"{"endpoint":"https://db.fauna.com"}"#;
    assert_eq!(findings("{}", "{}", hosted), ["endpoint_hosted_closed"]);
    let bad: Array = diagnose("garbage".into(), JsValue::UNDEFINED)
        .unwrap()
        .into();
    assert_eq!(string(&bad.get(0), "code"), "malformed_token");
    let e = diagnose("x".into(), json(r#"{"issuer":5}"#)).unwrap_err();
    assert_eq!(string(&e, "code"), "invalid_option");
}

#[wasm_bindgen_test]
async fn the_unauthorized_hint_says_what_diagnose_finds() {
    // A token whose issuer has a trailing slash: Fauna refuses it every time.
    let issuer = Issuer::new(ALICE, 60.0);
    issuer.script(json(
        r#"[{"iss":"https://clerk.example.test/"},{"iss":"https://clerk.example.test/"}]"#,
    ));
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let unauthorized = r#"{"status":401,"body":{"error":{"code":"unauthorized","message":"Access token required"}}}"#;
    fauna.script(json(&format!("[{unauthorized},{unauthorized}]")));
    let e = err(db.query("1".into(), JsValue::UNDEFINED, None)).await;
    assert_eq!(string(&e, "code"), "unauthorized");
    let hint = string(&e, "hint");
    assert!(
        hint.contains("ends with a slash") && hint.contains("Fix: "),
        "{hint}"
    );
}

#[wasm_bindgen_test]
async fn http_client_for_the_fauna_driver() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    let http = db.http_client();
    let request = json(
        r#"{"client_timeout_ms":5000,"data":{"query":"Query.token().sub","arguments":{}},
            "headers":{"Authorization":"Bearer placeholder","X-Format":"tagged","X-Driver-Env":null},
            "method":"POST","path":"/query/1"}"#,
    );
    let send = |request: &JsValue| -> Promise {
        let f: js_sys::Function = prop(&http, "request").into();
        f.call1(&http, request).unwrap().into()
    };
    let call = || send(&request);
    let response = ok(call()).await;
    assert_eq!(number(&response, "status"), 200.0);
    let body: JsValue = JSON::parse(&string(&response, "body")).unwrap();
    assert_eq!(string(&body, "data"), ALICE);
    assert!(prop(&response, "headers").is_object());
    let sent = fauna.request(0);
    assert_eq!(string(&sent, "url"), "http://fauna.test/query/1");
    assert_eq!(
        header(&sent, "authorization"),
        format!("Bearer {}", c.peek(None).unwrap())
    );
    assert_eq!(header(&sent, "x-format"), "tagged");
    assert_eq!(
        string(&sent, "body"),
        r#"{"query":"Query.token().sub","arguments":{}}"#
    );
    // A 401 refreshes the token once.
    fauna.reject(&c.peek(None).unwrap());
    assert_eq!(number(&ok(call()).await, "status"), 200.0);
    assert_eq!(issuer.count(), 2);
    // No answer in time, or no answer at all: the package's own errors, which
    // the driver keeps as the `cause` of its ClientError.
    let impatient = json(
        r#"{"client_timeout_ms":30,"data":{"query":"1","arguments":{}},"headers":{},
            "method":"POST","path":"/query/1"}"#,
    );
    fauna.script(json(r#"[{"hang":true}]"#));
    let e = err(send(&impatient)).await;
    assert_eq!(string(&e, "code"), "timeout");
    assert_eq!(string(&e, "message"), "No answer from Fauna within 30 ms.");
    fauna.script(json(r#"[{"fail":true}]"#));
    let e = err(send(&impatient)).await;
    assert_eq!(string(&e, "code"), "network_error");
    assert_eq!(string(&prop(&e, "cause"), "name"), "TypeError");
    // Closed: further requests reject.
    let close: js_sys::Function = prop(&http, "close").into();
    close.call0(&http).unwrap();
    assert!(string(&err(call()).await, "message").contains("closed"));
}

const HELD_401: &str = r#"[{"hold":true,"status":401,"body":{"error":{"code":"unauthorized","message":"Access token required"}}}]"#;

#[wasm_bindgen_test]
async fn a_401_after_a_user_switch_is_not_retried_with_the_new_users_token() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    ok(c.get(None)).await;
    fauna.script(json(HELD_401));
    let alices = db.query("1".into(), JsValue::UNDEFINED, None);
    pause(20.0).await;
    // Alice signs out and Bob signs in while her query is out.
    c.clear();
    issuer.set_sub(BOB);
    ok(c.get(None)).await;
    assert_eq!(fauna.release_held(), 1);
    let e = err(alices).await;
    assert_eq!(string(&e, "code"), "cleared");
    assert_eq!(fauna.count(), 1, "Alice's query was retried");
    // The fetch wrapper holds to the same rule.
    let f: js_sys::Function = db.fetch();
    fauna.script(json(HELD_401));
    let init = json(r#"{"method":"POST","body":"{}"}"#);
    let fetched: Promise = f
        .call2(&JsValue::NULL, &"http://fauna.test/query/1".into(), &init)
        .unwrap()
        .into();
    pause(20.0).await;
    c.clear();
    issuer.set_sub(ALICE);
    ok(c.get(None)).await;
    fauna.release_held();
    assert_eq!(string(&err(fetched).await, "code"), "cleared");
    assert_eq!(fauna.count(), 2);
}

#[wasm_bindgen_test]
async fn sign_out_during_a_429_backoff_sends_nothing_more() {
    let issuer = Issuer::new(ALICE, 60.0);
    let c = cache(&issuer, "{}");
    let fauna = FakeFauna::new();
    let db = client(&c, &fauna, "{}");
    fauna.script(json(r#"[{"status":429,"headers":{"Retry-After":"1"},"body":{"error":{"code":"limit_exceeded","message":"x"}}}]"#));
    let waiting = db.query("1".into(), JsValue::UNDEFINED, None);
    pause(50.0).await;
    assert_eq!(fauna.count(), 1);
    c.clear();
    let e = err(waiting).await;
    assert_eq!(string(&e, "code"), "cleared");
    assert_eq!(fauna.count(), 1, "the retry went out after sign-out");
}
