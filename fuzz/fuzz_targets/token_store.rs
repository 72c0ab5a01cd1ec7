//! Any sequence of cache operations at any times, with any answers from
//! getToken: the store never panics and never serves a stale token.
#![no_main]

use arbitrary::Arbitrary;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clerk_fauna::core::freshness::{Freshness, FreshnessPolicy};
use clerk_fauna::core::jwt::serde_reader;
use clerk_fauna::core::token_store::{Demand, EntryKey, Lookup, TokenFailure, TokenStore};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Get {
        entry: bool,
        demand: u8,
        advance_ms: u32,
    },
    Answer {
        flight: u8,
        outcome: Outcome,
        advance_ms: u32,
    },
    Invalidate {
        entry: bool,
    },
    Clear,
}

#[derive(Arbitrary, Debug)]
enum Outcome {
    Token {
        sub: bool,
        iat: Option<i32>,
        lifetime: Option<i32>,
    },
    Same,
    Raw(String),
    Failure(u8),
}

fuzz_target!(|input: (u16, u16, Vec<Op>)| {
    let policy = FreshnessPolicy {
        refresh_ahead_ms: f64::from(input.0) * 10.0,
        min_validity_ms: f64::from(input.1) * 10.0,
    };
    let mut store: TokenStore<u64> = TokenStore::new(policy, serde_reader::read);
    let keys = [
        EntryKey {
            template: "fauna".into(),
            organization_id: None,
        },
        EntryKey {
            template: "other".into(),
            organization_id: Some("org".into()),
        },
    ];
    let mut now = 1_700_000_000_000f64;
    let mut flights: Vec<(usize, u64)> = Vec::new();
    let mut last_token = String::new();
    for op in input.2 {
        match op {
            Op::Get {
                entry,
                demand,
                advance_ms,
            } => {
                now += f64::from(advance_ms);
                let k = usize::from(entry);
                let demand = match demand % 3 {
                    0 => Demand::Ordinary,
                    1 => Demand::Forced,
                    _ => Demand::Replacing(&last_token),
                };
                match store.lookup(&keys[k], demand, now, |id, _| id) {
                    Lookup::Hit(t) | Lookup::HitAndRefresh(t, _) => {
                        let cached = store.cached(&keys[k]).expect("a hit comes from the cache");
                        assert_eq!(&*cached.token, &*t);
                        assert_ne!(store.freshness(&keys[k], now), Some(Freshness::Stale));
                    }
                    Lookup::Wait(id) => flights.push((k, id)),
                }
            }
            Op::Answer {
                flight,
                outcome,
                advance_ms,
            } => {
                now += f64::from(advance_ms);
                if flights.is_empty() {
                    continue;
                }
                let (k, id) = flights.remove(usize::from(flight) % flights.len());
                let secs = (now / 1000.0) as i64;
                let token = match outcome {
                    Outcome::Token { sub, iat, lifetime } => {
                        let iat = iat.map_or(String::new(), |d| {
                            format!(r#","iat":{}"#, secs + i64::from(d))
                        });
                        let exp = lifetime.map_or(String::new(), |l| {
                            format!(r#","exp":{}"#, secs + i64::from(l))
                        });
                        let payload = format!(r#"{{"sub":"user_{}"{iat}{exp}}}"#, u8::from(sub));
                        Ok(format!(
                            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
                            URL_SAFE_NO_PAD.encode(payload)
                        ))
                    }
                    Outcome::Same => Ok(last_token.clone()),
                    Outcome::Raw(s) => Ok(s),
                    Outcome::Failure(f) => Err(match f % 5 {
                        0 => TokenFailure::SignedOut,
                        1 => TokenFailure::Threw,
                        2 => TokenFailure::TimedOut,
                        3 => TokenFailure::NotAString,
                        _ => TokenFailure::Cleared,
                    }),
                };
                if let Ok(t) = &token {
                    last_token = t.clone();
                }
                let _ = store.complete(&keys[k], id, now, token.as_deref().map_err(|f| *f));
            }
            Op::Invalidate { entry } => store.invalidate(&keys[usize::from(entry)]),
            Op::Clear => {
                store.clear();
            }
        }
    }
});
