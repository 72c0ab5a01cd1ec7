//! Properties of the core that must hold for every input, checked with
//! proptest: freshness only ever worsens with time, the cache never serves a
//! token with less than `minValiditySeconds` left whatever the device clock
//! says, backoff stays within its bounds, and no request carries a header
//! value the protocol forbids.

use proptest::prelude::*;

use super::backoff::{after_throttle, backoff_ms, Throttle};
use super::freshness::{Expiry, FreshnessPolicy};
use super::jwt::tests::{serde_reader, token};
use super::jwt::Claims;
use super::options::{QueryOptions, RawQueryOptions};
use super::request;
use super::token_store::{Completion, Demand, EntryKey, Lookup, TokenStore};

fn expiry() -> impl Strategy<Value = Expiry> {
    prop_oneof![
        (-1e12f64..1e13, -1e7f64..1e8).prop_map(|(received_at, lifetime_ms)| Expiry::Relative {
            received_at,
            lifetime_ms
        }),
        (-1e12f64..1e13).prop_map(|expires_at| Expiry::Absolute { expires_at }),
        Just(Expiry::Never),
    ]
}

fn policy() -> impl Strategy<Value = FreshnessPolicy> {
    (0f64..1e6, 0f64..1e6).prop_map(|(refresh_ahead_ms, min_validity_ms)| FreshnessPolicy {
        refresh_ahead_ms,
        min_validity_ms,
    })
}

/// A header value fetch would accept and Fauna's protocol allows: visible
/// ASCII and spaces, nothing that could end the header line.
fn header_value_is_safe(v: &str) -> bool {
    v.bytes()
        .all(|b| b == b' ' || b == b'\t' || (0x21..=0x7e).contains(&b))
}

proptest! {
    /// The FQL text and GraphQL query go into the body through `json_string`.
    #[test]
    fn any_text_survives_json_string(text in any::<String>()) {
        let back: String = serde_json::from_str(&request::json_string(&text)).unwrap();
        prop_assert_eq!(back, text);
    }

    #[test]
    fn freshness_only_worsens_as_time_passes(
        e in expiry(),
        p in policy(),
        t1 in -1e13f64..1e13,
        dt in 0f64..1e12,
    ) {
        prop_assert!(p.judge(&e, t1) <= p.judge(&e, t1 + dt));
    }

    /// The device clock is `skew` ms off true time, tokens arrive as they are
    /// minted (with `iat`), and the cache is asked at arbitrary later moments:
    /// no token it serves has less than `minValiditySeconds` of true life left.
    #[test]
    fn never_serves_a_token_below_min_validity_whatever_the_clock(
        skew in -86_400_000i64..86_400_000,
        lifetime in 1u64..7_200,
        min_validity in 0u64..120,
        refresh_ahead in 0u64..300,
        steps in prop::collection::vec((0u64..90_000, any::<bool>()), 1..40),
    ) {
        let policy = FreshnessPolicy {
            refresh_ahead_ms: refresh_ahead as f64 * 1000.0,
            min_validity_ms: min_validity as f64 * 1000.0,
        };
        let mut store: TokenStore<u64> = TokenStore::new(policy, serde_reader);
        let key = EntryKey { template: "fauna".into(), organization_id: None };
        let mut true_ms: u64 = 1_700_000_000_000;
        let mut minted = 0u32;
        for (advance, answer_now) in steps {
            true_ms += advance;
            let local = true_ms as f64 + skew as f64;
            let lookup = store.lookup(&key, Demand::Ordinary, local, |id, _| id);
            let served = match &lookup {
                Lookup::Hit(t) | Lookup::HitAndRefresh(t, _) => Some(t.clone()),
                Lookup::Wait(_) => None,
            };
            if let Some(t) = served {
                let exp = exp_of(&t);
                let true_left_ms = exp * 1000.0 - true_ms as f64;
                prop_assert!(true_left_ms >= policy.min_validity_ms,
                    "served with {true_left_ms} ms left (skew {skew} ms)");
            }
            // The issuer answers whichever call is in flight, minting at true time.
            if let Lookup::Wait(id) | Lookup::HitAndRefresh(_, id) = lookup {
                if answer_now {
                    minted += 1;
                    let iat = true_ms / 1000;
                    let t = token(r#"{"alg":"RS256"}"#, &format!(
                        r#"{{"sub":"user_a","iat":{iat},"exp":{},"jti":"{minted}"}}"#, iat + lifetime));
                    // Received in the same (true) second it was minted.
                    let received = (iat * 1000) as f64 + skew as f64;
                    prop_assert!(!matches!(store.complete(&key, id, received, Ok(&t)), Completion::Fail(_)));
                }
            }
        }
    }

    #[test]
    fn backoff_stays_within_its_bounds(
        attempt in 0u32..200,
        random in any::<f64>(),
        max in 0f64..1e7,
    ) {
        let d = backoff_ms(attempt, random, max);
        prop_assert!((0.0..=max).contains(&d));
        prop_assert!(d <= 2f64.powi(attempt.saturating_sub(1).min(30) as i32) * 1000.0);
    }

    #[test]
    fn throttling_never_outlasts_max_attempts_or_max_backoff(
        attempt in 1u32..20,
        max_attempts in 1u32..20,
        retry_after in prop::option::of(0f64..1e6),
        random in 0f64..1.0,
        max in 0f64..1e5,
    ) {
        match after_throttle(attempt, max_attempts, retry_after, random, max) {
            Throttle::RetryAfter(ms) => {
                prop_assert!(attempt < max_attempts);
                prop_assert!((0.0..=max).contains(&ms));
            }
            Throttle::GiveUp => prop_assert!(attempt >= max_attempts || retry_after.is_some_and(|r| r > max)),
        }
    }

    /// Any options that reach the core (numbers in the ranges readOptions
    /// lets through, any text) either are refused with `invalid_option` or
    /// yield requests whose every header value is safe.
    #[test]
    fn requests_never_carry_a_forbidden_header_value(
        endpoint in ".{0,40}",
        tags in prop::collection::vec((".{0,45}", ".{0,85}"), 0..30),
        traceparent in ".{0,60}",
        numbers in (1u32..=600_000, 0u32..=7, 0f64..1e9),
        fql in ".{0,40}",
        last_txn_ts in prop::option::of(any::<f64>()),
    ) {
        let raw = RawQueryOptions {
            endpoint: Some(format!("https://{endpoint}")),
            query_tags: Some(tags),
            traceparent: Some(traceparent),
            query_timeout_ms: Some(numbers.0),
            max_contention_retries: Some(numbers.1),
            max_backoff_ms: Some(numbers.2),
            ..RawQueryOptions::default()
        };
        if let Ok(o) = QueryOptions::default().merged(raw) {
            for r in [
                request::v10_query(&o, "ey.token.sig", last_txn_ts, &fql, None),
                request::v4_query(&o, "ey.token.sig", last_txn_ts, "{}"),
                request::graphql(&o, "ey.token.sig", &fql, None),
            ] {
                for (name, value) in &r.headers {
                    prop_assert!(header_value_is_safe(value), "{name}: {value:?}");
                }
            }
        }
    }

    /// Whatever getToken hands back, a token that decodes is safe to put in
    /// `Authorization`.
    #[test]
    fn decodable_tokens_are_safe_header_values(t in "[ -~\\r\\n\\t]{0,80}(\\.[ -~\\r\\n]{0,20}){0,3}") {
        if super::jwt::decode(&t, serde_reader).is_ok() {
            prop_assert!(header_value_is_safe(&t));
        }
    }
}

fn exp_of(t: &str) -> f64 {
    let claims: Claims = super::jwt::decode(t, serde_reader)
        .map(|d| d.claims)
        .unwrap_or_default();
    claims.exp.unwrap_or(f64::INFINITY)
}
