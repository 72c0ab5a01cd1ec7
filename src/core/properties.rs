//! Properties of the core that must hold for every input, checked with
//! proptest: freshness only ever worsens with time, the cache never serves a
//! token with less than `minValiditySeconds` left whatever the device clock
//! says, backoff stays within its bounds, and no request carries a header
//! value the protocol forbids.

use proptest::prelude::*;

use super::backoff::{after_throttle, backoff_ms, Throttle};
use super::freshness::{Evidence, FreshnessPolicy, Minted, ServerClock};
use super::jwt::tests::{serde_reader, token};
use super::jwt::Claims;
use super::options::{QueryOptions, RawQueryOptions};
use super::request;
use super::stream::tests::{data, status};
use super::stream::{Action, Input, Machine, Options, Start, DEFAULT_MAX_BACKOFF_MS};
use super::token_store::{Completion, Demand, EntryKey, Lookup, TokenFailure, TokenStore};

/// A clock that learned from a few tokens, each minted at server time
/// `server + 1000 * k` and received `transit` ms later on a device `skew` ms
/// off, some asked with `skipCache` and some not.
fn learned_clock() -> impl Strategy<Value = (ServerClock, f64)> {
    (
        -1e10f64..1e10,
        prop::collection::vec((0u32..3_000, 0f64..5_000.0, any::<bool>()), 0..6),
    )
        .prop_map(|(skew, tokens)| {
            let mut clock = ServerClock::default();
            let mut server_ms = 1_700_000_000_000f64;
            for (advance, transit, forced) in tokens {
                server_ms += f64::from(advance) * 10.0;
                let started = server_ms + skew;
                let minted = if forced {
                    Minted::After(started)
                } else {
                    Minted::Earlier
                };
                clock.learn(Evidence::of(
                    (server_ms / 1000.0).floor(),
                    minted,
                    started + transit,
                ));
            }
            (clock, server_ms + skew + 5_000.0)
        })
}

fn claims() -> impl Strategy<Value = Claims> {
    let time = || prop::option::of((1_699_990_000u64..1_700_100_000).prop_map(|t| t as f64));
    (time(), time(), time()).prop_map(|(exp, iat, nbf)| Claims {
        exp,
        iat,
        nbf,
        ..Claims::default()
    })
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

    /// (`nbf` aside: a token not valid yet becomes valid.)
    #[test]
    fn freshness_only_worsens_as_time_passes(
        (clock, t1) in learned_clock(),
        c in claims(),
        p in policy(),
        dt in 0f64..1e12,
    ) {
        let c = Claims { nbf: None, ..c };
        let judge = |t| p.judge(clock.ms_left(&c, t));
        prop_assert!(judge(t1) <= judge(t1 + dt));
    }

    /// The device clock is `skew` ms off true time (up to a day either way).
    /// The issuer mints at true time during each call, or for an ordinary
    /// call may hand back a token from its own cache of any age, up to its
    /// lifetime and past it (as clerk-js does, and worse); a broken one
    /// ignores `skipCache` too. Whenever the cache serves or delivers a
    /// token, that token has at least `minValiditySeconds` of true life left
    /// by the server's clock.
    #[test]
    fn never_serves_a_token_below_min_validity_whatever_the_clock_or_age(
        skew in -86_400_000i64..86_400_000,
        ignores_skip_cache in any::<bool>(),
        lifetime in 1u64..7_200,
        min_validity in 0u64..120,
        refresh_ahead in 0u64..300,
        steps in prop::collection::vec(
            (0u64..90_000, any::<bool>(), 0u64..3_000, prop::option::of(0u64..20_000)),
            1..40,
        ),
    ) {
        let policy = FreshnessPolicy {
            refresh_ahead_ms: refresh_ahead as f64 * 1000.0,
            min_validity_ms: min_validity as f64 * 1000.0,
        };
        let mut store: TokenStore<u64> = TokenStore::new(policy, serde_reader);
        let key = EntryKey { template: "fauna".into(), organization_id: None };
        let mut true_ms: u64 = 1_700_000_000_000;
        let local = |true_ms: u64| true_ms as f64 + skew as f64;
        let mut minted = 0u32;
        // The issuer's own cache: its last token and when it was minted (s).
        let mut issuer_cache: Option<(String, u64)> = None;
        // Calls in flight: id -> forced.
        let mut flights: Vec<(u64, bool)> = Vec::new();
        let check = |t: &str, at_true_ms: u64| -> Result<(), TestCaseError> {
            let true_left_ms = exp_of(t) * 1000.0 - at_true_ms as f64;
            prop_assert!(true_left_ms >= policy.min_validity_ms,
                "served with {} ms left (skew {} ms)", true_left_ms, skew);
            Ok(())
        };
        for (advance, answer_now, transit, reuse_age) in steps {
            true_ms += advance;
            let lookup = store.lookup(&key, Demand::Ordinary, local(true_ms), |id, forced| {
                flights.push((id, forced));
                id
            });
            if let Lookup::Hit(t) | Lookup::HitAndRefresh(t, _) = &lookup {
                check(t, true_ms)?;
            }
            if !answer_now || flights.is_empty() {
                continue;
            }
            // The issuer answers the oldest call in flight, `transit` ms after
            // minting; a forced retry goes round again.
            let (id, mut forced) = flights.remove(0);
            loop {
                let token = match (forced, reuse_age, &issuer_cache) {
                    (true, _, Some((t, _))) if ignores_skip_cache => t.clone(),
                    // An ordinary call: a token minted `age` ms before now.
                    (false, Some(age), _) => {
                        let iat = true_ms.saturating_sub(age) / 1000;
                        minted += 1;
                        jwt(iat, lifetime, minted)
                    }
                    (false, None, Some((t, _))) => t.clone(),
                    _ => {
                        minted += 1;
                        let t = jwt(true_ms / 1000, lifetime, minted);
                        issuer_cache = Some((t.clone(), true_ms / 1000));
                        t
                    }
                };
                true_ms += transit;
                match store.complete(&key, id, local(true_ms), Ok(&token)) {
                    Completion::Deliver(t) => check(&t, true_ms)?,
                    Completion::RetryForced => {
                        forced = true;
                        continue;
                    }
                    Completion::Fail(_) => {}
                }
                break;
            }
        }
    }

    /// Sign-outs (`getToken` null), `clear()` and user switches, with calls
    /// of two templates, forced calls and background refreshes in flight and
    /// answering in any order: once the store has taken a newer session's
    /// word (a token it delivered, or a sign-out), it never serves or
    /// delivers an earlier session's token, and after `clear()` nothing
    /// delivered before it.
    #[test]
    fn a_token_from_an_earlier_session_is_never_cached_or_served(
        ops in prop::collection::vec((0u8..6, any::<bool>(), 0u8..3, 0usize..8), 1..60),
    ) {
        let mut store: TokenStore<u64> = TokenStore::new(FreshnessPolicy::default(), serde_reader);
        let keys = [
            EntryKey { template: "fauna".into(), organization_id: None },
            EntryKey { template: "other".into(), organization_id: None },
        ];
        let mut now = 1_700_000_000_000f64;
        // The issuer's session: its number (the user is `user_<n>`) and
        // whether anyone is signed in.
        let (mut session, mut signed_in) = (0u32, true);
        // Calls in flight: (entry, id, the session and sign-in when it started).
        let mut flights: Vec<(usize, u64, u32, bool)> = Vec::new();
        let mut newest_taken = 0u32;
        let mut clears = 0u32;
        // Token -> (session, clears before it was delivered).
        let mut delivered: std::collections::HashMap<String, (u32, u32)> = Default::default();
        let mut n = 0u32;
        for (op, which, demand, pick) in ops {
            now += 700.0;
            let k = usize::from(which);
            match op {
                0 | 1 => {
                    let demand = match demand {
                        0 => Demand::Ordinary,
                        _ => Demand::Forced,
                    };
                    let lookup = store.lookup(&keys[k], demand, now, |id, _| {
                        flights.push((k, id, session, signed_in));
                        id
                    });
                    if let Lookup::Hit(t) | Lookup::HitAndRefresh(t, _) = &lookup {
                        let (s, c) = delivered[&**t];
                        prop_assert!(s >= newest_taken, "served session {} after {}", s, newest_taken);
                        prop_assert_eq!(c, clears, "served a token from before clear()");
                    }
                }
                2 if !flights.is_empty() => {
                    let (k, id, s, was_signed_in) = flights.remove(pick % flights.len());
                    n += 1;
                    let outcome = if was_signed_in {
                        let iat = (now / 1000.0) as u64;
                        Ok(token(r#"{"alg":"RS256"}"#, &format!(
                            r#"{{"sub":"user_{s}","iat":{iat},"exp":{},"jti":"{n}"}}"#, iat + 60)))
                    } else {
                        Err(TokenFailure::SignedOut)
                    };
                    match store.complete(&keys[k], id, now, outcome.as_deref().map_err(|f| *f)) {
                        Completion::Deliver(t) => {
                            prop_assert!(s >= newest_taken, "delivered session {} after {}", s, newest_taken);
                            newest_taken = s;
                            delivered.insert(t.to_string(), (s, clears));
                        }
                        Completion::Fail(e) if e.code == super::error::ErrorCode::SignedOut => {
                            prop_assert!(s >= newest_taken, "took a sign-out of session {} after {}", s, newest_taken);
                            newest_taken = s;
                        }
                        _ => {}
                    }
                    // The glue rejects stale calls' waiters at once; the store
                    // must refuse their answers either way.
                    if pick % 2 == 0 {
                        store.drain_stale();
                    }
                }
                3 => session += 1,
                4 => {
                    session += 1;
                    signed_in = !signed_in;
                }
                _ => {
                    store.clear();
                    clears += 1;
                    flights.clear();
                }
            }
        }
    }

    /// Any history of lookups, answers (tokens of any age, lifetime and
    /// `nbf`, failures), clears and clock steps, on a device off the
    /// server's clock: at every time in `[now, servable_until)`, an ordinary
    /// lookup is a plain hit of the same token that starts no call and
    /// changes no counter but `hits`.
    #[test]
    fn a_token_is_a_plain_hit_until_servable_until(
        policy in policy(),
        skew in -86_400_000i64..86_400_000,
        ops in prop::collection::vec(
            (0u8..5, any::<bool>(), -3_000i64..120_000, 0u64..4_000, 0u8..4, any::<bool>()),
            1..40,
        ),
        ask_first in any::<bool>(),
        probes in prop::collection::vec(0f64..1.0, 1..20),
    ) {
        let mut store: TokenStore<u64> = TokenStore::new(policy, serde_reader);
        let keys = [
            EntryKey { template: "fauna".into(), organization_id: None },
            EntryKey { template: "other".into(), organization_id: None },
        ];
        let mut true_ms = 1_700_000_000_000f64;
        let local = |true_ms: f64| true_ms + skew as f64;
        let mut flights: Vec<(usize, u64)> = Vec::new();
        let mut n = 0u32;
        for (op, which, advance, lifetime, kind, nbf_ahead) in ops {
            true_ms += advance as f64;
            let k = usize::from(which);
            match op {
                0 | 1 => {
                    let demand = if op == 0 { Demand::Ordinary } else { Demand::Forced };
                    store.lookup(&keys[k], demand, local(true_ms), |id, _| {
                        flights.push((k, id));
                        id
                    });
                }
                2 | 3 if !flights.is_empty() => {
                    let (k, id) = flights.remove(usize::from(kind) % flights.len());
                    n += 1;
                    // Minted now, or aged in the issuer's cache (`kind` 3).
                    let iat = ((true_ms - if kind == 3 { lifetime as f64 * 500.0 } else { 0.0 }) / 1000.0).floor();
                    let nbf = if nbf_ahead { iat + 2.0 } else { iat - 5.0 };
                    let t = token(r#"{"alg":"RS256"}"#, &format!(
                        r#"{{"sub":"user_a","iat":{iat},"nbf":{nbf},"exp":{},"jti":"{n}"}}"#,
                        iat + lifetime as f64));
                    let outcome = if op == 3 && kind < 2 { Err(TokenFailure::Threw) } else { Ok(t.as_str()) };
                    if store.complete(&keys[k], id, local(true_ms), outcome) == Completion::RetryForced {
                        flights.push((k, id));
                    }
                }
                4 if kind == 0 => {
                    store.clear();
                    flights.clear();
                }
                _ => {}
            }
        }
        let now = local(true_ms);
        for key in &keys {
            if ask_first {
                store.lookup(key, Demand::Ordinary, now, |id, _| {
                    flights.push((0, id));
                    id
                });
            }
            let until = store.servable_until(key, now);
            if until < 0.0 {
                continue;
            }
            prop_assert!(until > now);
            let Some(token) = store.cached(key).map(|c| c.token.clone()) else {
                return Err(TestCaseError::fail("servable with no token cached"));
            };
            let (stats, epoch) = (store.stats(), store.epoch());
            // Times in [now, until) in order, the last just before `until`.
            let span = (until - now).min(1e13);
            let mut times: Vec<f64> = probes.iter().map(|p| now + p * span).collect();
            times.push(now + span - 1e-3);
            times.sort_by(f64::total_cmp);
            for t in times.into_iter().filter(|&t| t < until) {
                let mut started = false;
                let lookup = store.lookup(key, Demand::Ordinary, t, |id, _| {
                    started = true;
                    id
                });
                prop_assert!(!started, "a call started at {} (until {})", t - now, until - now);
                prop_assert_eq!(lookup, Lookup::Hit(token.clone()), "at {} of {}", t - now, until - now);
                let after = store.stats();
                prop_assert_eq!(
                    (after.misses, after.joins, after.refreshes, after.failures),
                    (stats.misses, stats.joins, stats.refreshes, stats.failures)
                );
                prop_assert_eq!(store.epoch(), epoch);
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
            query_tags: Some(tags.iter().flat_map(|(k, v)| [k.as_str(), v]).collect::<Vec<_>>().join("\0")),
            traceparent: Some(traceparent),
            query_timeout_ms: Some(numbers.0),
            max_contention_retries: Some(numbers.1),
            max_backoff_ms: Some(numbers.2),
            ..RawQueryOptions::default()
        };
        if let Ok(o) = QueryOptions::default().merged(raw) {
            for r in [
                request::v10_query(&o, last_txn_ts, &fql, None),
                request::v4_query(&o, last_txn_ts, "{}"),
                request::graphql(&o, &fql, None),
            ] {
                // `parse` checks each name is one the core sends.
                for (name, value) in &request::parse(&r).headers {
                    prop_assert!(header_value_is_safe(value), "{name}: {value:?}");
                }
            }
        }
    }

    /// However a stream's connections drop, lose their token, are refused
    /// once or replay events already sent, the caller sees every event of
    /// the history once, in order, and times that never go back.
    #[test]
    fn a_stream_delivers_every_event_once_in_order(
        transactions in prop::collection::vec(1usize..4, 0..12),
        start_ts in any::<bool>(),
        status_events in any::<bool>(),
        seed in any::<u64>(),
        ops in prop::collection::vec(fault(), 0..40),
    ) {
        let history: Vec<(i64, String)> = transactions
            .iter()
            .enumerate()
            .flat_map(|(t, &n)| (0..n).map(move |_| (10 * (t as i64 + 1), ())))
            .enumerate()
            .map(|(i, (ts, ()))| (ts, format!("c{i}")))
            .collect();
        let mut options = Options::new("S".into(), 0, seed);
        options.status_events = status_events;
        // Start after the first transaction: its events are not the caller's.
        let skipped = if start_ts {
            options.start = Start::Ts(10);
            history.iter().filter(|e| e.0 == 10).count()
        } else {
            0
        };
        let mut stream = Machine::stream(options).unwrap();
        let mut server = Server { history, ..Server::default() };
        let first = stream.start();
        server.settle(&mut stream, first)?;
        for op in ops {
            server.apply(&mut stream, op)?;
        }
        server.apply(&mut stream, Fault::Send(usize::MAX))?;
        let expected: Vec<&str> = server.history[skipped..].iter().map(|e| e.1.as_str()).collect();
        prop_assert_eq!(&server.delivered, &expected);
        prop_assert!(server.caller_ts.windows(2).all(|w| w[0] <= w[1]), "{:?}", server.caller_ts);
    }

    /// Any inputs in any order, however senseless: a stream or feed never
    /// panics, waits within its cap, and once ended ignores everything.
    #[test]
    fn any_inputs_keep_streams_and_feeds_sane(
        feed in any::<bool>(),
        max_attempts in 1u32..5,
        max_backoff_ms in 0f64..30_000.0,
        inputs in prop::collection::vec(any_input(), 0..60),
    ) {
        let errors = [
            super::error::Error::new(super::error::ErrorCode::SignedOut, "null"),
            super::error::Error::new(super::error::ErrorCode::TokenUnavailable, "threw"),
        ];
        let replies = [401u16, 429, 400, 503, 200].map(|status| super::classify::Reply {
            status,
            is_json_object: status != 503,
            error_code: Some("x".into()),
            ..Default::default()
        });
        let mut stream = Options::new("S".into(), 1, 3);
        stream.max_attempts = max_attempts;
        stream.max_backoff_ms = max_backoff_ms;
        let mut page = Options::new("S".into(), 1, 3);
        page.max_attempts = max_attempts;
        page.max_backoff_ms = max_backoff_ms;
        let (mut stream, mut page) = (Machine::stream(stream).unwrap(), Machine::feed(page).unwrap());
        let first = if feed { page.start() } else { stream.start() };
        prop_assert_eq!(first, Action::GetToken(super::stream::TokenDemand::Ordinary));
        let mut on = |input: Input<'_>| if feed { page.on(input) } else { stream.on(input) };
        let mut ended = false;
        for (n, ts, cursor, text) in inputs {
            let cursor = cursor.as_deref();
            let input = match n {
                0 => Input::Token { epoch: ts.rem_euclid(2) as u64 },
                1 => Input::TokenFailed(&errors[ts.rem_euclid(2) as usize]),
                2 => Input::Opened,
                3 => Input::Refused(&replies[ts.rem_euclid(5) as usize]),
                4 => Input::Event { kind: &text, txn_ts: Some(ts), cursor },
                5 => Input::Event { kind: "add", txn_ts: Some(ts), cursor },
                6 => Input::Event { kind: "status", txn_ts: Some(ts), cursor },
                7 => Input::ErrorEvent { code: &text, message: "m" },
                8 => Input::Dropped,
                9 => Input::BodyEnded,
                10 => Input::WaitOver,
                11 => Input::Epoch(ts.rem_euclid(2) as u64),
                12 => Input::Page { cursor, has_next: ts % 2 == 0 },
                13 => Input::Next,
                _ => Input::Close,
            };
            let action = on(input);
            if ended {
                prop_assert_eq!(action, Action::Ignore);
                continue;
            }
            match action {
                Action::Wait(ms) => prop_assert!((0.0..=max_backoff_ms).contains(&ms)),
                Action::End(_) => ended = true,
                _ => {}
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

/// A token minted at `iat` (s) living `lifetime` s; `n` makes it unique.
fn jwt(iat: u64, lifetime: u64, n: u32) -> String {
    token(
        r#"{"alg":"RS256"}"#,
        &format!(
            r#"{{"sub":"user_a","iat":{iat},"exp":{},"jti":"{n}"}}"#,
            iat + lifetime
        ),
    )
}

fn exp_of(t: &str) -> f64 {
    let claims: Claims = super::jwt::decode(t, serde_reader)
        .map(|d| d.claims)
        .unwrap_or_default();
    claims.exp.unwrap_or(f64::INFINITY)
}

fn any_input() -> impl Strategy<Value = (u8, i64, Option<String>, String)> {
    (
        0u8..15,
        -3i64..40,
        prop::option::of("[cs][0-9]"),
        prop::sample::select(vec!["add", "status", "start", "permission_loss", "x", ""])
            .prop_map(str::to_owned),
    )
}

/// What a stream's server does next.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Sends up to this many events of the history.
    Send(usize),
    Drop,
    BodyEnd,
    PermissionLoss,
    /// A status event on an idle tick, when between two transactions.
    IdleStatus,
    /// Answers the next connection with 401.
    Refuse,
    /// The next connection replays this many events before its cursor.
    Overlap(usize),
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => (1usize..4).prop_map(Fault::Send),
        1 => Just(Fault::Drop),
        1 => Just(Fault::BodyEnd),
        1 => Just(Fault::PermissionLoss),
        1 => Just(Fault::IdleStatus),
        1 => Just(Fault::Refuse),
        1 => (0usize..6).prop_map(Fault::Overlap),
    ]
}

/// A stand-in stream server over a fixed history `(txn_ts, cursor)`, with
/// transactions at multiples of 10; a status event's cursor is `s<ts>`.
#[derive(Default)]
struct Server {
    history: Vec<(i64, String)>,
    /// The next event the open connection sends.
    pos: usize,
    rewind: usize,
    refuse: bool,
    opened: bool,
    /// What the caller was handed: data cursors, and the times of all.
    delivered: Vec<String>,
    caller_ts: Vec<i64>,
}

impl Server {
    /// The first event after `cursor`, and the time the connection's
    /// status event repeats.
    fn resume(&self, cursor: Option<&str>) -> (usize, i64) {
        match cursor {
            None => (0, 0),
            Some(c) if c.starts_with('s') => {
                let ts: i64 = c[1..].parse().unwrap();
                (self.history.iter().filter(|e| e.0 <= ts).count(), ts)
            }
            Some(c) => {
                let i: usize = c[1..].parse().unwrap();
                (i + 1, self.history[i].0)
            }
        }
    }

    fn handed(
        &mut self,
        action: Action,
        ts: i64,
        cursor: Option<&str>,
    ) -> Result<(), TestCaseError> {
        match action {
            Action::Deliver => {
                self.caller_ts.push(ts);
                self.delivered.extend(cursor.map(str::to_owned));
            }
            other => prop_assert_eq!(other, Action::Ignore),
        }
        Ok(())
    }

    /// Carries out `action` and what follows until a connection is open.
    fn settle(&mut self, s: &mut Machine, mut action: Action) -> Result<(), TestCaseError> {
        let refused = super::classify::Reply {
            status: 401,
            is_json_object: true,
            error_code: Some("unauthorized".into()),
            ..Default::default()
        };
        loop {
            action = match action {
                Action::GetToken(_) => s.on(Input::Token { epoch: 0 }),
                Action::Wait(ms) => {
                    prop_assert!((0.0..=DEFAULT_MAX_BACKOFF_MS).contains(&ms));
                    s.on(Input::WaitOver)
                }
                Action::Connect if self.refuse && self.opened => {
                    self.refuse = false;
                    let body = s.body();
                    let prefix = body.starts_with(r#"{"token":"S""#);
                    prop_assert!(prefix, "{}", body);
                    s.on(Input::Refused(&refused))
                }
                Action::Connect => {
                    let body = s.body();
                    let (from, ts) = self.resume(s.cursor());
                    if let Some(c) = s.cursor() {
                        prop_assert!(body.contains(&request::json_string(c)));
                    }
                    self.pos = from.saturating_sub(self.rewind);
                    self.rewind = 0;
                    self.opened = true;
                    prop_assert_eq!(s.on(Input::Opened), Action::Ignore);
                    let cursor = format!("s{ts}");
                    let a = s.on(status(ts, &cursor));
                    return self.handed(a, ts, None);
                }
                other => {
                    prop_assert!(false, "the stream did {:?}", other);
                    unreachable!()
                }
            }
        }
    }

    fn apply(&mut self, s: &mut Machine, fault: Fault) -> Result<(), TestCaseError> {
        let next = match fault {
            Fault::Send(n) => {
                for _ in 0..n {
                    let Some((ts, cursor)) = self.history.get(self.pos).cloned() else {
                        break;
                    };
                    self.pos += 1;
                    let a = s.on(data(ts, &cursor));
                    self.handed(a, ts, Some(&cursor))?;
                }
                return Ok(());
            }
            Fault::IdleStatus => {
                let h = &self.history;
                let between =
                    self.pos == 0 || self.pos == h.len() || h[self.pos].0 != h[self.pos - 1].0;
                if between {
                    let ts = h
                        .get(self.pos)
                        .map_or(h.last().map_or(1, |e| e.0 + 1), |e| e.0 - 1);
                    let cursor = format!("s{ts}");
                    let a = s.on(status(ts, &cursor));
                    self.handed(a, ts, None)?;
                }
                return Ok(());
            }
            Fault::Refuse => {
                self.refuse = true;
                return Ok(());
            }
            Fault::Overlap(n) => {
                self.rewind = n;
                return Ok(());
            }
            Fault::Drop => s.on(Input::Dropped),
            Fault::BodyEnd => s.on(Input::BodyEnded),
            Fault::PermissionLoss => s.on(Input::ErrorEvent {
                code: "permission_loss",
                message: "Stream authentication is no longer valid.",
            }),
        };
        self.settle(s, next)
    }
}
