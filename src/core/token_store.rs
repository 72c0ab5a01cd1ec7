//! The token cache's state machine, free of JS: which token to serve, when to
//! call `getToken`, who shares which call, and what a finished call changes.
//!
//! The glue owns the actual calls. It hands [`TokenStore::lookup`] a closure
//! that starts one and returns a handle `F` (a JS promise there, anything
//! cloneable in tests); the store keeps the handle so later callers can share
//! it, and the glue reports the outcome with [`TokenStore::complete`].

use std::rc::Rc;

use super::error::{Error, ErrorCode};
use super::freshness::{Evidence, Freshness, FreshnessPolicy, Minted, ServerClock, DRIFT};
use super::jwt::{self, DecodedJwt, ReadJsonObject};

/// After a failed background refresh, wait this long before trying another
/// one, so an offline `getToken` is not called on every request.
const BACKGROUND_RETRY_MS: f64 = 2_000.0;

/// One cache entry per (template, organization).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryKey {
    pub template: String,
    pub organization_id: Option<String>,
}

pub type FlightId = u64;

/// What a caller asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Demand<'a> {
    /// Any usable token (`get()`).
    Ordinary,
    /// A token fresh from the issuer (`get({ skipCache: true })`).
    Forced,
    /// Fauna rejected this token: anything but it, fresh from the issuer
    /// unless another caller already replaced it.
    Replacing(&'a str),
}

/// What the caller does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup<F> {
    /// Serve this token now.
    Hit(Rc<String>),
    /// Serve this token now; `F` is a background refresh just started, whose
    /// outcome nobody waits for.
    HitAndRefresh(Rc<String>, F),
    /// Wait for this `getToken` call (just started, or shared).
    Wait(F),
}

/// Why a `getToken` call produced no token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenFailure {
    /// It resolved `null`.
    SignedOut,
    /// It threw or rejected.
    Threw,
    /// It did not settle in time.
    TimedOut,
    /// It resolved something other than a string or `null`.
    NotAString,
    /// The cache was cleared while it ran.
    Cleared,
}

/// What a finished `getToken` call means for its waiters.
#[derive(Clone, Debug, PartialEq)]
pub enum Completion {
    /// Resolve the waiters with this token.
    Deliver(Rc<String>),
    /// Reject the waiters.
    Fail(Error),
    /// An ordinary call brought a token too old to serve (the issuer's own
    /// cache): call `getToken` again with `skipCache`, for the same waiters.
    RetryForced,
}

/// Counters exposed as `TokenCache.stats`. `misses + refreshes` is the number
/// of `getToken` calls made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Calls answered from the cache.
    pub hits: u64,
    /// `getToken` calls made because no usable token was cached.
    pub misses: u64,
    /// Calls that shared a `getToken` call already in flight.
    pub joins: u64,
    /// `getToken` calls made to replace a token: refresh-ahead in the
    /// background, `skipCache`, after Fauna rejected a token.
    pub refreshes: u64,
    /// `getToken` calls that ended without a usable token.
    pub failures: u64,
}

/// A token as cached. How long it may be served is judged at each lookup,
/// by the server's clock as the store knows it then.
#[derive(Clone, Debug)]
pub struct CachedToken {
    pub token: Rc<String>,
    pub decoded: DecodedJwt,
}

#[derive(Debug)]
struct Flight<F> {
    /// Issued in the order calls start: of two answers for different users,
    /// the call started later tells who is signed in now.
    id: FlightId,
    /// The epoch the call started in: an answer from an older epoch is never
    /// cached or served.
    epoch: u64,
    /// Called with `skipCache`: shared only with other forced callers.
    forced: bool,
    /// When the call started (device ms): a `skipCache` token was minted
    /// after it.
    started_at: f64,
    /// A `skipCache` token this call brought that contradicted what the store
    /// knew of the server's clock, and what it said: believed only if the
    /// next, asked again, agrees.
    suspect: Option<(Evidence, String)>,
    handle: F,
}

#[derive(Debug)]
struct Entry<F> {
    key: EntryKey,
    token: Option<CachedToken>,
    /// At most one ordinary and one forced call of the current epoch, and
    /// any number of older ones waiting to be told they are stale.
    flights: Vec<Flight<F>>,
    no_background_refresh_before: f64,
}

/// Whose tokens the store holds, and which call said so.
#[derive(Clone, Debug, PartialEq)]
struct SignedIn {
    sub: Option<String>,
    /// The latest-started call that brought this user's token.
    since: FlightId,
}

#[derive(Debug)]
pub struct TokenStore<F> {
    policy: FreshnessPolicy,
    read_json: ReadJsonObject,
    entries: Vec<Entry<F>>,
    next_flight: FlightId,
    stats: Stats,
    /// Bumped on every sign-out, `clear()` and change of user: a request or
    /// `getToken` call begun in an older epoch must not go on, nor leave its
    /// token behind.
    epoch: u64,
    /// The user of the tokens received since the last clear or sign-out.
    user: Option<SignedIn>,
    /// What the tokens have taught of the server's clock.
    clock: ServerClock,
}

impl<F: Clone> TokenStore<F> {
    /// `read_json` is the platform's JSON parser (see [`jwt::ReadJsonObject`]).
    pub fn new(policy: FreshnessPolicy, read_json: ReadJsonObject) -> Self {
        TokenStore {
            policy,
            read_json,
            entries: Vec::new(),
            next_flight: 1,
            stats: Stats::default(),
            epoch: 0,
            user: None,
            clock: ServerClock::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Which signed-in user's era this is: it changes on sign-out, `clear()`
    /// and when a token for another user arrives. A call that began in an
    /// earlier epoch fails with `cleared` rather than retry with a token that
    /// may be another user's.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// How `key`'s cached token stands at `now` (`None`: nothing cached).
    pub fn freshness(&self, key: &EntryKey, now: f64) -> Option<Freshness> {
        Some(self.judge(self.cached(key)?, now))
    }

    fn judge(&self, cached: &CachedToken, now: f64) -> Freshness {
        self.policy
            .judge(self.clock.ms_left(&cached.decoded.claims, now))
    }

    /// Notes a device time at which the caller served a token without asking
    /// (see [`TokenStore::servable_until`]), so a clock that has since
    /// stepped back is seen.
    pub fn observe(&mut self, now: f64) {
        self.clock.observe(now);
    }

    /// Until which device time an [`Demand::Ordinary`] lookup of `key` would
    /// be a plain [`Lookup::Hit`] of the cached token, starting no call and
    /// changing nothing but `hits`, provided the clock does not go back and
    /// nothing else touches the store meanwhile; -1 if not even at `now`.
    /// A caller may serve the token itself until then.
    ///
    /// By then the token is judged `Fresh`, or `RefreshAhead` with a call in
    /// flight or a failed one too recent to retry. Its time left decreases
    /// at most at rate `1 + DRIFT` (the bounds widening), and a token past
    /// `nbf` stays past it.
    pub fn servable_until(&self, key: &EntryKey, now: f64) -> f64 {
        let Some(entry) = self.find(key).map(|i| &self.entries[i]) else {
            return -1.0;
        };
        let Some(cached) = &entry.token else {
            return -1.0;
        };
        let ms_left = self.clock.ms_left(&cached.decoded.claims, now);
        let policy = self.policy;
        if policy.judge(ms_left) == Freshness::Stale {
            return -1.0;
        }
        // The last device time before `ms_left` falls below `threshold`, a
        // millisecond early for rounding (`NaN` compares as neither below).
        let while_above =
            |threshold: f64| now + ((ms_left - threshold) / (1.0 + DRIFT)).floor() - 1.0;
        let fresh_until = while_above(policy.refresh_ahead_ms.max(policy.min_validity_ms));
        let served_until = while_above(policy.min_validity_ms);
        let quiet_until = if entry.flights.is_empty() {
            served_until.min(entry.no_background_refresh_before)
        } else {
            served_until
        };
        let until = fresh_until.max(quiet_until);
        if until > now {
            until
        } else {
            -1.0
        }
    }

    /// Decides how to answer a caller. `start(id, forced)` must start a
    /// `getToken` call (with `skipCache` when `forced`) and return its handle;
    /// it runs at most once, synchronously, and must not touch the store.
    pub fn lookup(
        &mut self,
        key: &EntryKey,
        demand: Demand<'_>,
        now: f64,
        start: impl FnOnce(FlightId, bool) -> F,
    ) -> Lookup<F> {
        self.clock.observe(now);
        let (policy, clock, epoch) = (self.policy, self.clock, self.epoch);
        let judge = |cached: &CachedToken| policy.judge(clock.ms_left(&cached.decoded.claims, now));
        // Until the server's clock is known, only a `skipCache` token can
        // teach it: an ordinary one may be of any age.
        let ordinary_can_be_judged = clock.knows_upper_bound();
        let index = self.entry_index(key);
        let entry = &mut self.entries[index];
        let stats = &mut self.stats;
        let next_flight = &mut self.next_flight;
        let start_flight = |entry: &mut Entry<F>, forced: bool| {
            let id = *next_flight;
            *next_flight += 1;
            let handle = start(id, forced);
            entry.flights.push(Flight {
                id,
                epoch,
                forced,
                started_at: now,
                suspect: None,
                handle: handle.clone(),
            });
            handle
        };

        if let Demand::Replacing(rejected) = demand {
            if let Some(cached) = &entry.token {
                if *cached.token == rejected {
                    entry.token = None;
                } else if judge(cached) != Freshness::Stale {
                    // Another caller already replaced the rejected token.
                    stats.hits += 1;
                    return Lookup::Hit(cached.token.clone());
                }
            }
        }

        if demand == Demand::Ordinary {
            if let Some(cached) = &entry.token {
                match judge(cached) {
                    Freshness::Fresh => {
                        stats.hits += 1;
                        return Lookup::Hit(cached.token.clone());
                    }
                    Freshness::RefreshAhead => {
                        stats.hits += 1;
                        let token = cached.token.clone();
                        if entry.flights.is_empty() && now >= entry.no_background_refresh_before {
                            stats.refreshes += 1;
                            // `skipCache`: the issuer's own cache would hand
                            // back the very token being refreshed.
                            let handle = start_flight(entry, true);
                            return Lookup::HitAndRefresh(token, handle);
                        }
                        return Lookup::Hit(token);
                    }
                    Freshness::Stale => {}
                }
            }
            // Any call of this epoch in flight brings a token at least as new
            // as we need.
            if let Some(flight) = entry.flights.iter().find(|f| f.epoch == epoch) {
                stats.joins += 1;
                return Lookup::Wait(flight.handle.clone());
            }
            stats.misses += 1;
            return Lookup::Wait(start_flight(entry, !ordinary_can_be_judged));
        }

        // Forced, or replacing a rejected token: share only a forced call, as
        // an ordinary one may bring back the very token being replaced.
        if let Some(flight) = entry.flights.iter().find(|f| f.forced && f.epoch == epoch) {
            stats.joins += 1;
            return Lookup::Wait(flight.handle.clone());
        }
        stats.refreshes += 1;
        Lookup::Wait(start_flight(entry, true))
    }

    /// Records the outcome of flight `id`. A flight the store no longer knows
    /// (the cache was cleared meanwhile), or one begun in an earlier epoch
    /// (a sign-out or another user since), fails with `cleared` and leaves
    /// the store untouched: its token is the previous user's.
    pub fn complete(
        &mut self,
        key: &EntryKey,
        id: FlightId,
        now: f64,
        outcome: Result<&str, TokenFailure>,
    ) -> Completion {
        self.clock.observe(now);
        let Some(index) = self.find(key) else {
            return Completion::Fail(cleared());
        };
        let Some(flight_at) = self.entries[index].flights.iter().position(|f| f.id == id) else {
            return Completion::Fail(cleared());
        };
        if self.entries[index].flights[flight_at].epoch != self.epoch {
            return self.refuse_as_outdated(index, flight_at);
        }
        // A call started before the one that last said who is signed in
        // speaks of an earlier session: it changes nothing.
        let outdated = self.user.as_ref().is_some_and(|u| id < u.since);

        let token = match outcome {
            Ok(token) => token,
            Err(TokenFailure::SignedOut) if outdated => {
                return self.refuse_as_outdated(index, flight_at);
            }
            Err(failure) => {
                self.finish_with_failure(index, flight_at, now);
                if failure == TokenFailure::SignedOut {
                    self.new_epoch();
                }
                return Completion::Fail(failure_error(failure));
            }
        };
        let decoded = match jwt::decode(token, self.read_json) {
            Ok(decoded) => decoded,
            Err(err) => {
                self.finish_with_failure(index, flight_at, now);
                return Completion::Fail(err);
            }
        };
        let sub = &decoded.claims.sub;
        let another_user = self.user.as_ref().is_some_and(|u| u.sub != *sub);
        if another_user && outdated {
            return self.refuse_as_outdated(index, flight_at);
        }

        let entry = &self.entries[index];
        let flight = &entry.flights[flight_at];
        // The token we already hold was not minted for this call, whatever
        // it was asked with.
        let held = entry.token.as_ref().is_some_and(|c| *c.token == token);
        if let Some(iat) = decoded.claims.iat {
            let minted = if flight.forced && !held {
                Minted::After(flight.started_at)
            } else {
                Minted::Earlier
            };
            let evidence = Evidence::of(iat, minted, now);
            if !self.clock.contradicted_by(&evidence) {
                self.clock.learn(evidence);
            } else {
                let flight = &mut self.entries[index].flights[flight_at];
                match flight.suspect.take() {
                    // Ask once more: a clock set forward shows in both
                    // tokens; a getToken that ignores skipCache hands back
                    // the same one.
                    None => {
                        flight.suspect = Some((evidence, token.to_owned()));
                        return self.ask_again(index, flight_at, now);
                    }
                    Some((first, first_token)) => {
                        if first_token != token && first.agrees_with(&evidence) {
                            self.clock.learn(evidence);
                        }
                        // Else believe neither: judged by what is known.
                    }
                }
            }
        }
        let ms_left = self.clock.ms_left(&decoded.claims, now);
        if self.policy.judge(ms_left) == Freshness::Stale {
            if !self.entries[index].flights[flight_at].forced {
                // Aged in the issuer's own cache: ask it to mint one.
                return self.ask_again(index, flight_at, now);
            }
            self.finish_with_failure(index, flight_at, now);
            return Completion::Fail(too_short(ms_left));
        }

        // Another user signed in: no entry may keep the previous user's token,
        // and no call begun for that user may go on with this one's.
        if another_user {
            self.new_epoch();
        }
        let since = self.user.as_ref().map_or(id, |u| u.since.max(id));
        self.user = Some(SignedIn {
            sub: sub.clone(),
            since,
        });
        let entry = &mut self.entries[index];
        entry.flights.remove(flight_at);
        if let Some(cached) = entry.token.as_ref().filter(|_| held) {
            return Completion::Deliver(cached.token.clone());
        }
        let token = Rc::new(token.to_owned());
        entry.token = Some(CachedToken {
            token: token.clone(),
            decoded,
        });
        Completion::Deliver(token)
    }

    /// Ends flight `flight_at` of entry `index` with `cleared`, the store as
    /// it was: its answer speaks of an earlier session.
    fn refuse_as_outdated(&mut self, index: usize, flight_at: usize) -> Completion {
        self.entries[index].flights.remove(flight_at);
        self.stats.failures += 1;
        Completion::Fail(cleared())
    }

    /// Calls `getToken` again for flight `flight_at` of entry `index`, with
    /// `skipCache`, for the same waiters.
    fn ask_again(&mut self, index: usize, flight_at: usize, now: f64) -> Completion {
        let flight = &mut self.entries[index].flights[flight_at];
        flight.forced = true;
        flight.started_at = now;
        self.stats.refreshes += 1;
        Completion::RetryForced
    }

    /// A sign-out or a change of user: every token goes, and every call in
    /// flight now belongs to the past (see [`TokenStore::drain_stale`]).
    fn new_epoch(&mut self) {
        self.epoch += 1;
        self.user = None;
        for entry in &mut self.entries {
            entry.token = None;
        }
    }

    /// Takes the `getToken` calls begun in an earlier epoch, so the glue can
    /// reject their waiters with `cleared` at once rather than when the call
    /// settles (their answers are refused either way).
    pub fn drain_stale(&mut self) -> Vec<F> {
        let mut handles = Vec::new();
        for entry in &mut self.entries {
            let mut i = 0;
            while i < entry.flights.len() {
                if entry.flights[i].epoch != self.epoch {
                    handles.push(entry.flights.remove(i).handle);
                } else {
                    i += 1;
                }
            }
        }
        handles
    }

    fn finish_with_failure(&mut self, index: usize, flight_at: usize, now: f64) {
        self.stats.failures += 1;
        let entry = &mut self.entries[index];
        entry.flights.remove(flight_at);
        entry.no_background_refresh_before = now + BACKGROUND_RETRY_MS;
    }

    /// A cached token that may still be served, without calling anything.
    pub fn peek(&self, key: &EntryKey, now: f64) -> Option<Rc<String>> {
        let cached = self.cached(key)?;
        (self.judge(cached, now) != Freshness::Stale).then(|| cached.token.clone())
    }

    /// The cached token for `key`, usable or not.
    pub fn cached(&self, key: &EntryKey) -> Option<&CachedToken> {
        self.entries[self.find(key)?].token.as_ref()
    }

    /// Drops the token of one entry; a call in flight still completes.
    pub fn invalidate(&mut self, key: &EntryKey) {
        if let Some(index) = self.find(key) {
            self.entries[index].token = None;
        }
    }

    /// Drops every token and forgets every call in flight; returns their
    /// handles so the glue can reject their waiters with `cleared` at once.
    pub fn clear(&mut self) -> Vec<F> {
        self.epoch += 1;
        self.user = None;
        // Plain loops: the iterator-adapter version costs 1 KB of the .wasm;
        // handles cloned, so the entries go by the one drop the store's own
        // drop uses.
        let mut handles = Vec::new();
        for entry in &self.entries {
            for flight in &entry.flights {
                handles.push(flight.handle.clone());
            }
        }
        self.entries.clear();
        handles
    }

    /// Where `key`'s entry is, if the store has one (one search, not one
    /// inlined per caller).
    #[inline(never)]
    fn find(&self, key: &EntryKey) -> Option<usize> {
        self.entries.iter().position(|e| &e.key == key)
    }

    fn entry_index(&mut self, key: &EntryKey) -> usize {
        match self.find(key) {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    key: key.clone(),
                    token: None,
                    flights: Vec::new(),
                    no_background_refresh_before: f64::NEG_INFINITY,
                });
                self.entries.len() - 1
            }
        }
    }
}

/// A `skipCache` token that Fauna would accept for less than
/// `minValiditySeconds`: the template's lifetime is too short, or getToken
/// ignores `skipCache`.
fn too_short(ms_left: f64) -> Error {
    let left = if ms_left > 0.0 {
        [&super::text::uint((ms_left / 1000.0) as u64), " s"].concat()
    } else {
        "no time".into()
    };
    Error::new(
        ErrorCode::TokenUnavailable,
        [
            "getToken gave a new token with ",
            &left,
            " left by the server's clock, less than minValiditySeconds: lengthen the template's lifetime, or check that getToken honours skipCache.",
        ]
        .concat(),
    )
}

pub fn cleared() -> Error {
    Error::new(
        ErrorCode::Cleared,
        "The token cache was cleared (sign-out or user switch) while this call waited for a token.",
    )
}

fn failure_error(failure: TokenFailure) -> Error {
    match failure {
        TokenFailure::SignedOut => Error::new(
            ErrorCode::SignedOut,
            "getToken returned null: no user is signed in.",
        ),
        TokenFailure::Threw => Error::new(
            ErrorCode::TokenUnavailable,
            "getToken failed; the original error is in `cause`.",
        ),
        TokenFailure::TimedOut => Error::new(
            ErrorCode::TokenTimeout,
            "getToken did not settle within getTokenTimeoutMs.",
        ),
        TokenFailure::NotAString => Error::new(
            ErrorCode::MalformedToken,
            "getToken resolved something that is neither a token string nor null.",
        ),
        TokenFailure::Cleared => cleared(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::jwt::tests::token;

    const HEADER: &str = r#"{"alg":"RS256"}"#;

    /// A 60 s token for `sub`, issued at `iat` (seconds); `n` makes it unique.
    fn jwt(sub: &str, iat: u64, n: u32) -> String {
        token(
            HEADER,
            &format!(
                r#"{{"sub":"{sub}","iat":{iat},"exp":{},"jti":"{n}"}}"#,
                iat + 60
            ),
        )
    }

    fn key(template: &str) -> EntryKey {
        EntryKey {
            template: template.into(),
            organization_id: None,
        }
    }

    /// Handles are (flight id, forced) so tests can see what was started.
    type Store = TokenStore<(FlightId, bool)>;

    fn store() -> Store {
        TokenStore::new(
            FreshnessPolicy::default(),
            crate::core::jwt::tests::serde_reader,
        )
    }

    fn get(s: &mut Store, k: &EntryKey, d: Demand<'_>, now: f64) -> Lookup<(FlightId, bool)> {
        s.lookup(k, d, now, |id, forced| (id, forced))
    }

    fn started(l: &Lookup<(FlightId, bool)>) -> (FlightId, bool) {
        match l {
            Lookup::Wait(h) | Lookup::HitAndRefresh(_, h) => *h,
            Lookup::Hit(_) => panic!("expected a flight, got a hit"),
        }
    }

    /// Fills `k` with `t`, received at `now`. In these tests the server's
    /// clock reads 1000 s at device time 0: tokens are minted with
    /// `iat = 1000 + now / 1000`.
    fn fill(s: &mut Store, k: &EntryKey, t: &str, now: f64) {
        let (id, _) = started(&get(s, k, Demand::Ordinary, now));
        assert_eq!(
            s.complete(k, id, now, Ok(t)),
            Completion::Deliver(Rc::new(t.into()))
        );
    }

    /// A store that has learned the server's clock (from another template).
    fn store_with_clock() -> Store {
        let mut s = store();
        fill(&mut s, &key("warm-up"), &jwt("user_a", 1000, 0), 0.0);
        s
    }

    #[test]
    fn the_first_call_asks_with_skip_cache_to_learn_the_servers_clock() {
        let mut s = store();
        let k = key("fauna");
        let (id, forced) = started(&get(&mut s, &k, Demand::Ordinary, 0.0));
        assert!(forced, "an ordinary token of unknown age cannot be judged");
        let t = jwt("user_a", 1000, 1);
        assert_eq!(
            s.complete(&k, id, 5.0, Ok(&t)),
            Completion::Deliver(t.clone().into())
        );
        // Known now: the next template's miss takes the issuer's cache.
        let (_, forced) = started(&get(&mut s, &key("other"), Demand::Ordinary, 6.0));
        assert!(!forced);
    }

    #[test]
    fn servable_until_ends_where_refresh_ahead_or_staleness_begins() {
        let mut s = store();
        let k = key("fauna");
        assert_eq!(s.servable_until(&k, 0.0), -1.0, "nothing cached");
        fill(&mut s, &k, &jwt("user_a", 1000, 1), 0.0);
        // 60 s, less the mint's second and the 15 s refresh-ahead window,
        // less drift and a millisecond.
        let until = s.servable_until(&k, 0.0);
        assert!((43_990.0..44_000.0).contains(&until), "{until}");
        // In the window with a refresh in flight: served until 5 s are left.
        assert!(matches!(
            get(&mut s, &k, Demand::Ordinary, 45_000.0),
            Lookup::HitAndRefresh(..)
        ));
        let until = s.servable_until(&k, 45_000.0);
        assert!((53_990.0..54_000.0).contains(&until), "{until}");
        assert_eq!(s.servable_until(&k, 54_000.0), -1.0, "stale");
        // A clock seen an hour ahead, then back: nothing is known.
        s.observe(3_645_000.0);
        assert_eq!(s.servable_until(&k, 45_000.0), -1.0);
    }

    #[test]
    fn concurrent_misses_share_one_call() {
        let mut s = store_with_clock();
        let k = key("fauna");
        let first = get(&mut s, &k, Demand::Ordinary, 0.0);
        for _ in 0..999 {
            assert_eq!(get(&mut s, &k, Demand::Ordinary, 0.0), first);
        }
        let stats = s.stats();
        assert_eq!((stats.misses, stats.joins, stats.refreshes), (2, 999, 0));
        let t = jwt("user_a", 1000, 1);
        let (id, forced) = started(&first);
        assert!(!forced);
        assert_eq!(
            s.complete(&k, id, 5.0, Ok(&t)),
            Completion::Deliver(t.clone().into())
        );
        assert_eq!(
            get(&mut s, &k, Demand::Ordinary, 6.0),
            Lookup::Hit(t.clone().into())
        );
        assert_eq!(s.stats().hits, 1);
    }

    #[test]
    fn an_aged_token_from_the_issuers_cache_is_asked_again_with_skip_cache() {
        let mut s = store_with_clock();
        let k = key("fauna");
        // 30 s on, the issuer's cache hands back a token minted 28 s ago
        // (iat 1002) with 60 s of lifetime: 32 s left, and it is served so.
        let (id, forced) = started(&get(&mut s, &k, Demand::Ordinary, 30_000.0));
        assert!(!forced);
        let aged = jwt("user_a", 1002, 1);
        assert_eq!(
            s.complete(&k, id, 30_000.0, Ok(&aged)),
            Completion::Deliver(aged.clone().into())
        );
        assert_eq!(s.freshness(&k, 30_000.0), Some(Freshness::Fresh));
        assert_eq!(s.freshness(&k, 47_001.0), Some(Freshness::RefreshAhead));
        assert_eq!(s.peek(&k, 57_001.0), None, "served with less than 5 s left");
        // One minted 58 s ago (2 s left) is never delivered: a forced call
        // follows, for the same waiters.
        let k2 = key("other");
        let (id, _) = started(&get(&mut s, &k2, Demand::Ordinary, 60_000.0));
        assert_eq!(
            s.complete(&k2, id, 60_000.0, Ok(&jwt("user_a", 1002, 2))),
            Completion::RetryForced
        );
        let fresh = jwt("user_a", 1060, 3);
        assert_eq!(
            s.complete(&k2, id, 60_050.0, Ok(&fresh)),
            Completion::Deliver(fresh.clone().into())
        );
    }

    #[test]
    fn refresh_ahead_serves_the_old_token_and_refreshes_once() {
        let mut s = store();
        let k = key("fauna");
        let old = jwt("user_a", 1000, 1);
        fill(&mut s, &k, &old, 0.0);
        // 50 s later: 10 s left, inside the 15 s window.
        let l = get(&mut s, &k, Demand::Ordinary, 50_000.0);
        let Lookup::HitAndRefresh(served, (id, true)) = l else {
            panic!("expected a forced background refresh, got {l:?}")
        };
        assert_eq!(*served, old);
        // Later callers keep getting the old token; no second refresh.
        for _ in 0..10 {
            assert_eq!(
                get(&mut s, &k, Demand::Ordinary, 51_000.0),
                Lookup::Hit(old.clone().into())
            );
        }
        assert_eq!(s.stats().refreshes, 1);
        let new = jwt("user_a", 1050, 2);
        assert_eq!(
            s.complete(&k, id, 52_000.0, Ok(&new)),
            Completion::Deliver(new.clone().into())
        );
        assert_eq!(
            get(&mut s, &k, Demand::Ordinary, 53_000.0),
            Lookup::Hit(new.clone().into())
        );
    }

    #[test]
    fn below_min_validity_callers_wait_and_join_a_running_refresh() {
        let mut s = store();
        let k = key("fauna");
        fill(&mut s, &k, &jwt("user_a", 1000, 1), 0.0);
        let background = started(&get(&mut s, &k, Demand::Ordinary, 50_000.0));
        // 4 s left: the token is no longer served; the background call is joined.
        assert_eq!(
            get(&mut s, &k, Demand::Ordinary, 56_000.0),
            Lookup::Wait(background)
        );
        assert_eq!(s.stats().joins, 1);
    }

    #[test]
    fn a_stale_token_with_nothing_in_flight_is_a_miss() {
        let mut s = store();
        let k = key("fauna");
        fill(&mut s, &k, &jwt("user_a", 1000, 1), 0.0);
        let l = get(&mut s, &k, Demand::Ordinary, 59_000.0);
        assert!(matches!(l, Lookup::Wait((_, false))));
        assert_eq!(s.stats().misses, 2);
    }

    #[test]
    fn forced_calls_never_share_an_ordinary_call() {
        let mut s = store_with_clock();
        let k = key("fauna");
        let ordinary = started(&get(&mut s, &k, Demand::Ordinary, 0.0));
        let forced = started(&get(&mut s, &k, Demand::Forced, 0.0));
        assert_ne!(ordinary, forced);
        assert!(forced.1);
        // Further forced callers share the forced call; ordinary ones the first.
        assert_eq!(get(&mut s, &k, Demand::Forced, 0.0), Lookup::Wait(forced));
        assert_eq!(
            get(&mut s, &k, Demand::Ordinary, 0.0),
            Lookup::Wait(ordinary)
        );
        // A forced call replaces a fresh cached token too.
        let t = jwt("user_a", 1000, 1);
        assert_eq!(
            s.complete(&k, forced.0, 1.0, Ok(&t)),
            Completion::Deliver(t.clone().into())
        );
        let again = started(&get(&mut s, &k, Demand::Forced, 2.0));
        assert!(again.1);
        let t2 = jwt("user_a", 1001, 2);
        s.complete(&k, again.0, 3.0, Ok(&t2));
        assert_eq!(s.peek(&k, 4.0).as_deref(), Some(&t2));
    }

    #[test]
    fn concurrent_rejections_share_one_refresh() {
        let mut s = store();
        let k = key("fauna");
        let rejected = jwt("user_a", 1000, 1);
        fill(&mut s, &k, &rejected, 0.0);
        let first = started(&get(&mut s, &k, Demand::Replacing(&rejected), 1.0));
        for _ in 0..99 {
            assert_eq!(
                get(&mut s, &k, Demand::Replacing(&rejected), 1.0),
                Lookup::Wait(first)
            );
        }
        let new = jwt("user_a", 1001, 2);
        s.complete(&k, first.0, 2.0, Ok(&new));
        // A 401 for the old token arriving after the refresh uses the new one.
        assert_eq!(
            get(&mut s, &k, Demand::Replacing(&rejected), 3.0),
            Lookup::Hit(new.clone().into())
        );
        let stats = s.stats();
        assert_eq!((stats.refreshes, stats.joins), (1, 99));
    }

    #[test]
    fn the_issuer_returning_the_stale_token_again_forces_one_more_call() {
        let mut s = store();
        let k = key("fauna");
        let old = jwt("user_a", 1000, 1);
        fill(&mut s, &k, &old, 0.0);
        let (id, forced) = started(&get(&mut s, &k, Demand::Ordinary, 58_000.0));
        assert!(!forced);
        assert_eq!(
            s.complete(&k, id, 58_100.0, Ok(&old)),
            Completion::RetryForced
        );
        // While retrying, forced callers share it.
        assert_eq!(
            get(&mut s, &k, Demand::Forced, 58_200.0),
            Lookup::Wait((id, false))
        );
        // If even the forced call returns it, the waiters get an error: it
        // has too little left for Fauna, and nothing newer exists.
        let Completion::Fail(e) = s.complete(&k, id, 58_300.0, Ok(&old)) else {
            panic!("a token with too little left was delivered")
        };
        assert_eq!(e.code, ErrorCode::TokenUnavailable);
        assert!(e.message.contains("skipCache"), "{}", e.message);
        assert!(s.peek(&k, 58_300.0).is_none());
    }

    #[test]
    fn the_same_fresh_token_again_keeps_its_age() {
        let mut s = store();
        let k = key("fauna");
        let t = jwt("user_a", 1000, 1);
        fill(&mut s, &k, &t, 0.0);
        let (id, _) = started(&get(&mut s, &k, Demand::Forced, 40_000.0));
        assert_eq!(
            s.complete(&k, id, 40_000.0, Ok(&t)),
            Completion::Deliver(t.clone().into())
        );
        assert_eq!(
            s.peek(&k, 56_000.0),
            None,
            "age restarted on a repeated token"
        );
    }

    #[test]
    fn failures_are_not_cached_and_signed_out_clears_everything() {
        let mut s = store();
        let (a, b) = (key("fauna"), key("other"));
        fill(&mut s, &a, &jwt("user_a", 1000, 1), 0.0);
        for failure in [
            TokenFailure::Threw,
            TokenFailure::TimedOut,
            TokenFailure::NotAString,
        ] {
            let (id, _) = started(&get(&mut s, &b, Demand::Ordinary, 1.0));
            let Completion::Fail(e) = s.complete(&b, id, 2.0, Err(failure)) else {
                panic!()
            };
            assert_ne!(e.code, ErrorCode::SignedOut);
            assert!(s.peek(&a, 3.0).is_some());
        }
        let (id, _) = started(&get(&mut s, &b, Demand::Ordinary, 4.0));
        let Completion::Fail(e) = s.complete(&b, id, 5.0, Err(TokenFailure::SignedOut)) else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::SignedOut);
        assert_eq!(s.peek(&a, 6.0), None);
        let stats = s.stats();
        assert_eq!((stats.misses, stats.failures), (5, 4));
    }

    #[test]
    fn error_codes_for_each_failure() {
        let cases = [
            (TokenFailure::SignedOut, ErrorCode::SignedOut),
            (TokenFailure::Threw, ErrorCode::TokenUnavailable),
            (TokenFailure::TimedOut, ErrorCode::TokenTimeout),
            (TokenFailure::NotAString, ErrorCode::MalformedToken),
            (TokenFailure::Cleared, ErrorCode::Cleared),
        ];
        for (failure, code) in cases {
            assert_eq!(failure_error(failure).code, code);
        }
    }

    #[test]
    fn a_malformed_token_is_a_failure() {
        let mut s = store();
        let k = key("fauna");
        let (id, _) = started(&get(&mut s, &k, Demand::Ordinary, 0.0));
        let Completion::Fail(e) = s.complete(&k, id, 1.0, Ok("garbage")) else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::MalformedToken);
        assert_eq!(s.stats().failures, 1);
        assert!(s.cached(&k).is_none());
    }

    #[test]
    fn a_failed_background_refresh_waits_before_the_next() {
        let mut s = store();
        let k = key("fauna");
        let t = jwt("user_a", 1000, 1);
        fill(&mut s, &k, &t, 0.0);
        let (id, _) = started(&get(&mut s, &k, Demand::Ordinary, 46_000.0));
        s.complete(&k, id, 46_100.0, Err(TokenFailure::Threw));
        assert_eq!(
            get(&mut s, &k, Demand::Ordinary, 47_000.0),
            Lookup::Hit(t.clone().into())
        );
        assert!(matches!(
            get(&mut s, &k, Demand::Ordinary, 48_200.0),
            Lookup::HitAndRefresh(..)
        ));
    }

    #[test]
    fn another_user_clears_the_other_entries() {
        let mut s = store();
        let (a, b) = (key("fauna"), key("other"));
        fill(&mut s, &a, &jwt("user_a", 1000, 1), 0.0);
        fill(&mut s, &b, &jwt("user_a", 1000, 2), 0.0);
        assert!(s.peek(&a, 1.0).is_some());
        // user_b signs in; a forced call for `b` brings their token.
        let (id, _) = started(&get(&mut s, &b, Demand::Forced, 1.0));
        s.complete(&b, id, 1.0, Ok(&jwt("user_b", 1000, 3)));
        assert_eq!(s.peek(&a, 2.0), None);
        assert!(s.peek(&b, 2.0).is_some());
    }

    #[test]
    fn the_epoch_changes_with_the_user_and_only_then() {
        let mut s = store();
        let (a, b) = (key("fauna"), key("other"));
        let e0 = s.epoch();
        fill(&mut s, &a, &jwt("user_a", 1000, 1), 0.0);
        fill(&mut s, &b, &jwt("user_a", 1000, 2), 0.0);
        let (id, _) = started(&get(&mut s, &a, Demand::Forced, 1.0));
        s.complete(&a, id, 1.0, Ok(&jwt("user_a", 1000, 3)));
        assert_eq!(
            s.epoch(),
            e0,
            "a new token for the same user is the same epoch"
        );
        // The same entry refreshed with another user's token: a new epoch.
        let (id, _) = started(&get(&mut s, &a, Demand::Forced, 2.0));
        s.complete(&a, id, 2.0, Ok(&jwt("user_b", 1000, 4)));
        assert_eq!(s.epoch(), e0 + 1);
        assert_eq!(s.peek(&b, 3.0), None);
        s.clear();
        assert_eq!(s.epoch(), e0 + 2);
        // The first token after a clear does not start yet another epoch.
        fill(&mut s, &a, &jwt("user_c", 1000, 5), 4.0);
        assert_eq!(s.epoch(), e0 + 2);
        let (id, _) = started(&get(&mut s, &b, Demand::Ordinary, 5.0));
        s.complete(&b, id, 5.0, Err(TokenFailure::SignedOut));
        assert_eq!(s.epoch(), e0 + 3);
    }

    #[test]
    fn clear_during_flight_discards_the_result() {
        let mut s = store();
        let k = key("fauna");
        let flight = started(&get(&mut s, &k, Demand::Ordinary, 0.0));
        let id = flight.0;
        assert_eq!(s.clear(), vec![flight]);
        let t = jwt("user_a", 1000, 1);
        let Completion::Fail(e) = s.complete(&k, id, 1.0, Ok(&t)) else {
            panic!()
        };
        assert_eq!(e.code, ErrorCode::Cleared);
        assert!(s.cached(&k).is_none());
        // The next call starts afresh.
        assert!(matches!(
            get(&mut s, &k, Demand::Ordinary, 2.0),
            Lookup::Wait((id2, _)) if id2 != id
        ));
    }

    #[test]
    fn invalidate_drops_one_entry_only() {
        let mut s = store();
        let (a, b) = (key("fauna"), key("other"));
        fill(&mut s, &a, &jwt("user_a", 1000, 1), 0.0);
        fill(&mut s, &b, &jwt("user_a", 1000, 2), 0.0);
        s.invalidate(&a);
        assert_eq!(s.peek(&a, 1.0), None);
        assert!(s.peek(&b, 1.0).is_some());
    }

    #[test]
    fn organizations_are_separate_entries() {
        let mut s = store();
        let a = key("fauna");
        let b = EntryKey {
            organization_id: Some("org_1".into()),
            ..key("fauna")
        };
        fill(&mut s, &a, &jwt("user_a", 1000, 1), 0.0);
        assert!(matches!(
            get(&mut s, &b, Demand::Ordinary, 1.0),
            Lookup::Wait(_)
        ));
    }
}
