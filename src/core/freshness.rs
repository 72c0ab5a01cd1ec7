//! How long a token may still be used, judged by the server's clock.
//!
//! Fauna refuses a token once its clock passes `exp`, with no leeway, and
//! before its clock passes `nbf`. The device's clock may be hours off, and a
//! token may arrive aged: Clerk's `getToken` hands back a template token from
//! its own cache until 5 s before `exp`. So neither "`exp` against the device
//! clock" nor "`exp - iat` counted from receipt" is safe.
//!
//! What is safe: bounds on the offset between the server's clock (Clerk
//! mints with it, Fauna checks with it: both are NTP-synchronised servers)
//! and the device's, learned from the tokens themselves ([`ServerClock`]).
//! A token minted for a `skipCache` call was minted after the call started
//! and before it returned, at a server time in `[iat, iat + 1 s)` (`iat` is
//! whole seconds), which bounds the offset from both sides. Any token at all
//! was minted before it arrived, which bounds it from below. A token is then
//! served only while `exp`, less the largest offset still possible, is at
//! least `minValiditySeconds` ahead of the device clock.
//!
//! Times are milliseconds on the device clock (`Date.now()` in the glue),
//! which keeps running while a laptop sleeps. The bounds widen by
//! [`DRIFT`] of the time since they were learned, and a clock that steps
//! back forgets them (a token must not look younger than it is).

use super::jwt::Claims;

/// How fast two clocks may drift apart: 100 ppm, ten times what a cheap
/// quartz oscillator does, so learned bounds stay true for hours.
pub const DRIFT: f64 = 1e-4;

/// A device clock that goes back by more than this forgets what it knew of
/// the server's clock (small steps are NTP slewing and jitter).
pub const STEP_BACK_TOLERANCE_MS: f64 = 1_000.0;

/// What to do with a cached token right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Freshness {
    /// Serve it.
    Fresh,
    /// Serve it, and start one background refresh.
    RefreshAhead,
    /// Never serve it: callers wait for a new token.
    Stale,
}

/// The two thresholds of the cache, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FreshnessPolicy {
    pub refresh_ahead_ms: f64,
    pub min_validity_ms: f64,
}

impl Default for FreshnessPolicy {
    fn default() -> Self {
        FreshnessPolicy {
            refresh_ahead_ms: 15_000.0,
            min_validity_ms: 5_000.0,
        }
    }
}

/// One bound on the offset, and the device time it was learned at (it
/// widens with [`DRIFT`] from then on).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Bound {
    offset_ms: f64,
    learned_at: f64,
}

/// Bounds on `server time - device time`, in milliseconds, learned from
/// tokens. Nothing known at first: a cache asks its first token with
/// `skipCache` to learn them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServerClock {
    /// The offset is at least this (`None`: unknown).
    lower: Option<Bound>,
    /// The offset is at most this (`None`: unknown).
    upper: Option<Bound>,
    /// The latest device time seen, to notice the clock stepping back.
    latest: f64,
}

impl Default for ServerClock {
    fn default() -> Self {
        ServerClock {
            lower: None,
            upper: None,
            latest: f64::NEG_INFINITY,
        }
    }
}

/// Where a token came from, as far as its age can tell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Minted {
    /// Asked with `skipCache`, in a call that started at this device time:
    /// minted after it.
    After(f64),
    /// From an ordinary call: perhaps from the issuer's own cache, minted at
    /// any time before it arrived.
    Earlier,
}

/// What one token says of the offset, learned at device time `at`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evidence {
    lower: f64,
    /// `None` for a token that may have been minted at any time before.
    upper: Option<f64>,
    at: f64,
}

impl Evidence {
    /// What a token with `iat` (seconds) that arrived at `received_at` says:
    /// it was minted at a server time in `[iat, iat + 1 s)`, before it
    /// arrived, and for a `skipCache` call after the call started.
    pub fn of(iat: f64, minted: Minted, received_at: f64) -> Evidence {
        Evidence {
            lower: iat * 1000.0 - received_at,
            upper: match minted {
                Minted::After(started_at) => Some((iat + 1.0) * 1000.0 - started_at),
                Minted::Earlier => None,
            },
            at: received_at,
        }
    }

    /// Whether two `skipCache` tokens tell of the same offset (both true
    /// bounds of it: their ranges meet).
    pub fn agrees_with(&self, other: &Evidence) -> bool {
        let upper = |e: &Evidence| e.upper.unwrap_or(f64::INFINITY);
        self.lower.max(other.lower) <= upper(self).min(upper(other))
    }
}

impl ServerClock {
    /// Whether the upper bound is known: until it is, no token with an `iat`
    /// can be judged, and misses ask with `skipCache`.
    pub fn knows_upper_bound(&self) -> bool {
        self.upper.is_some()
    }

    /// Notes the device time; a clock that stepped back forgets the bounds.
    pub fn observe(&mut self, now: f64) {
        if self.stepped_back(now) {
            *self = ServerClock::default();
        }
        if now > self.latest {
            self.latest = now;
        }
    }

    fn stepped_back(&self, now: f64) -> bool {
        now < self.latest - STEP_BACK_TOLERANCE_MS
    }

    /// The bounds at `now`, widened by drift; `None` each where unknown (or
    /// when the clock has stepped back since they were learned).
    fn at(&self, now: f64) -> (Option<f64>, Option<f64>) {
        if self.stepped_back(now) {
            return (None, None);
        }
        let drift = |b: &Bound| (now - b.learned_at).max(0.0) * DRIFT;
        (
            self.lower.map(|b| b.offset_ms - drift(&b)),
            self.upper.map(|b| b.offset_ms + drift(&b)),
        )
    }

    /// Whether a `skipCache` token contradicts what is known: minted before
    /// the server time its call is known to have started at (not minted for
    /// it: getToken ignored `skipCache`, or the device clock was set
    /// forward), or after the latest server time possible (the clock was
    /// set back, or the token is from the future). Either way it must be
    /// confirmed by another before it is believed.
    pub fn contradicted_by(&self, e: &Evidence) -> bool {
        let (lower, upper) = self.at(e.at);
        let Some(e_upper) = e.upper else {
            return false;
        };
        lower.is_some_and(|l| e_upper < l) || upper.is_some_and(|u| e.lower > u)
    }

    /// Learns from a token's evidence. From a `skipCache` token that
    /// contradicts what was known (see [`ServerClock::contradicted_by`]: the
    /// caller has had it confirmed), the newest evidence wins. A token from
    /// an ordinary call only bounds the offset from below; when that passes
    /// the upper bound, the upper one was wrong and is forgotten.
    pub fn learn(&mut self, e: Evidence) {
        self.observe(e.at);
        match e.upper {
            Some(upper) => {
                if self.contradicted_by(&e) {
                    *self = ServerClock {
                        latest: self.latest,
                        ..ServerClock::default()
                    };
                }
                self.tighten_lower(e.lower, e.at);
                self.tighten_upper(upper, e.at);
            }
            None => {
                if self.at(e.at).1.is_some_and(|u| e.lower > u) {
                    self.upper = None;
                }
                self.tighten_lower(e.lower, e.at);
            }
        }
    }

    fn tighten_lower(&mut self, offset_ms: f64, now: f64) {
        let (lower, _) = self.at(now);
        if lower.is_none_or(|l| offset_ms > l) {
            self.lower = Some(Bound {
                offset_ms,
                learned_at: now,
            });
        }
    }

    fn tighten_upper(&mut self, offset_ms: f64, now: f64) {
        let (_, upper) = self.at(now);
        if upper.is_none_or(|u| offset_ms < u) {
            self.upper = Some(Bound {
                offset_ms,
                learned_at: now,
            });
        }
    }

    /// Milliseconds the token with these claims still has at `now` by the
    /// server's clock, at the least: negative when Fauna would refuse it now
    /// (expired, or not yet valid by `nbf`), infinite without `exp`.
    ///
    /// A token without `iat` teaches nothing; while the upper bound is
    /// unknown it is judged by the device clock (Clerk's tokens all carry
    /// `iat`). One with `iat` is then worthless: it must be asked again with
    /// `skipCache`.
    pub fn ms_left(&self, claims: &Claims, now: f64) -> f64 {
        let (lower, upper) = self.at(now);
        let upper = match (upper, claims.iat) {
            (Some(u), _) => u,
            (None, None) if !self.stepped_back(now) => 0.0,
            (None, _) => return f64::NEG_INFINITY,
        };
        if let Some(nbf) = claims.nbf {
            // Fauna refuses while its clock is at or before `nbf`; its clock
            // is at least `now + lower` (the device's own when unknown and
            // the token has no `iat`).
            let lower = lower.unwrap_or(if claims.iat.is_none() {
                0.0
            } else {
                f64::NEG_INFINITY
            });
            if now + lower <= nbf * 1000.0 {
                return f64::NEG_INFINITY;
            }
        }
        match claims.exp {
            Some(exp) => exp * 1000.0 - upper - now,
            None => f64::INFINITY,
        }
    }
}

impl FreshnessPolicy {
    /// What to do with a token that has `ms_left` (see [`ServerClock::ms_left`]).
    pub fn judge(&self, ms_left: f64) -> Freshness {
        // NaN (nonsense claims) compares as neither: stale too.
        if ms_left
            .partial_cmp(&self.min_validity_ms)
            .is_none_or(|o| o.is_lt())
        {
            Freshness::Stale
        } else if ms_left < self.refresh_ahead_ms {
            Freshness::RefreshAhead
        } else {
            Freshness::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's clock in these tests; the device is `skew` ms ahead.
    const SERVER_T0: f64 = 1_700_000_000_000.0;

    fn claims(iat: f64, lifetime: f64) -> Claims {
        Claims {
            iat: Some(iat),
            exp: Some(iat + lifetime),
            nbf: Some(iat - 5.0),
            ..Claims::default()
        }
    }

    /// A clock that learned from one `skipCache` token minted at server time
    /// `SERVER_T0` (a whole second), asked at device time `SERVER_T0 + skew`
    /// and answered 50 ms later.
    fn learned(skew: f64) -> (ServerClock, Claims) {
        let mut clock = ServerClock::default();
        let c = claims(SERVER_T0 / 1000.0, 60.0);
        let started = SERVER_T0 + skew;
        clock.learn(Evidence::of(
            c.iat.unwrap(),
            Minted::After(started),
            started + 50.0,
        ));
        (clock, c)
    }

    #[test]
    fn a_sixty_second_token_crosses_each_boundary_on_time_whatever_the_skew() {
        let p = FreshnessPolicy::default();
        for skew in [0.0, 7_200_000.0, -7_200_000.0, 123_456.0] {
            let (clock, c) = learned(skew);
            let at = |server_ms_after_mint: f64| {
                p.judge(clock.ms_left(&c, SERVER_T0 + skew + server_ms_after_mint))
            };
            // The mint may have been up to 1 s into `iat` (whole seconds):
            // the token is counted from `iat + 1 s` at the latest, less a
            // few ms of drift allowance.
            assert_eq!(at(0.0), Freshness::Fresh, "skew {skew}");
            assert_eq!(at(43_990.0), Freshness::Fresh, "skew {skew}");
            assert_eq!(at(44_000.0), Freshness::RefreshAhead, "skew {skew}");
            assert_eq!(at(53_990.0), Freshness::RefreshAhead, "skew {skew}");
            assert_eq!(at(54_000.0), Freshness::Stale, "skew {skew}");
            assert_eq!(at(3_600_000.0), Freshness::Stale, "skew {skew}");
        }
    }

    #[test]
    fn an_aged_token_counts_from_its_own_exp() {
        // Learned from a fresh token; then the issuer's cache hands back one
        // minted 58 s earlier: 2 s left, never served.
        let (mut clock, _) = learned(3_600_000.0);
        let now = SERVER_T0 + 3_600_000.0 + 1_000.0;
        let aged = claims(SERVER_T0 / 1000.0 - 58.0, 60.0);
        clock.learn(Evidence::of(aged.iat.unwrap(), Minted::Earlier, now));
        let left = clock.ms_left(&aged, now);
        assert!(left < 2_000.0, "{left}");
        assert_eq!(FreshnessPolicy::default().judge(left), Freshness::Stale);
        // One that expired an hour ago, with a 60 s lifetime: long stale.
        let old = claims(SERVER_T0 / 1000.0 - 3_660.0, 60.0);
        assert!(clock.ms_left(&old, now) < -3_500_000.0);
    }

    #[test]
    fn a_token_from_the_future_is_not_valid_yet() {
        // iat an hour ahead of the server's clock, nbf 5 s before it.
        let (clock, _) = learned(0.0);
        let future = claims(SERVER_T0 / 1000.0 + 3_600.0, 60.0);
        assert_eq!(
            clock.ms_left(&future, SERVER_T0 + 1_000.0),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn nothing_known_means_nothing_served() {
        let clock = ServerClock::default();
        assert!(!clock.knows_upper_bound());
        assert_eq!(
            clock.ms_left(&claims(1_000.0, 60.0), 0.0),
            f64::NEG_INFINITY
        );
        // Without iat nothing can be learned: the device clock decides.
        let no_iat = Claims {
            exp: Some(2_000.0),
            ..Claims::default()
        };
        assert_eq!(clock.ms_left(&no_iat, 1_990_000.0), 10_000.0);
    }

    #[test]
    fn without_exp_a_token_never_expires() {
        let (clock, _) = learned(0.0);
        let c = Claims {
            iat: Some(SERVER_T0 / 1000.0),
            ..Claims::default()
        };
        assert_eq!(clock.ms_left(&c, SERVER_T0 + 1e12), f64::INFINITY);
    }

    #[test]
    fn a_clock_stepping_back_forgets_what_it_learned() {
        let (mut clock, c) = learned(0.0);
        assert!(clock.ms_left(&c, SERVER_T0 + 10_000.0) > 0.0);
        clock.observe(SERVER_T0 + 10_000.0);
        // An hour back: the token would look an hour younger. Forget.
        assert_eq!(
            clock.ms_left(&c, SERVER_T0 - 3_600_000.0),
            f64::NEG_INFINITY
        );
        clock.observe(SERVER_T0 - 3_600_000.0);
        assert!(!clock.knows_upper_bound());
    }

    #[test]
    fn a_clock_stepping_forward_is_relearned_from_fresh_tokens_that_agree() {
        let (mut clock, _) = learned(0.0);
        // The device jumps an hour ahead: the next skipCache tokens
        // contradict the old bounds, agree with each other, and replace them.
        let jump = 3_600_000.0;
        let c = claims(SERVER_T0 / 1000.0 + 10.0, 60.0);
        let started = SERVER_T0 + 10_000.0 + jump;
        let first = Evidence::of(c.iat.unwrap(), Minted::After(started), started + 20.0);
        assert!(clock.contradicted_by(&first));
        let second = Evidence::of(
            c.iat.unwrap(),
            Minted::After(started + 30.0),
            started + 60.0,
        );
        assert!(first.agrees_with(&second));
        clock.learn(second);
        let left = clock.ms_left(&c, started + 60.0);
        assert!((58_900.0..=60_000.0).contains(&left), "{left}");
    }

    #[test]
    fn a_skip_cache_token_older_than_its_call_contradicts() {
        // getToken ignored skipCache: the token was minted 58 s before a
        // call that, by what is known, started at server time T0 + 60 s.
        let (clock, _) = learned(0.0);
        let started = SERVER_T0 + 60_000.0;
        let aged = Evidence::of(
            SERVER_T0 / 1000.0 + 2.0,
            Minted::After(started),
            started + 5.0,
        );
        assert!(clock.contradicted_by(&aged));
        // A fresh one does not; an ordinary one never does.
        let fresh = Evidence::of(
            SERVER_T0 / 1000.0 + 60.0,
            Minted::After(started),
            started + 5.0,
        );
        assert!(!clock.contradicted_by(&fresh));
        let ordinary = Evidence::of(SERVER_T0 / 1000.0 + 2.0, Minted::Earlier, started + 5.0);
        assert!(!clock.contradicted_by(&ordinary));
        assert!(!aged.agrees_with(&fresh));
    }

    #[test]
    fn bounds_widen_with_drift() {
        let (clock, c) = learned(0.0);
        let hour = 3_600_000.0;
        let later = clock.ms_left(
            &Claims {
                exp: Some(c.exp.unwrap() + 7_200.0),
                ..c.clone()
            },
            SERVER_T0 + hour,
        );
        // 60 s + 2 h of lifetime, 1 h passed, less the mint's second and
        // 360 ms of drift (the call's 50 ms were before the mint).
        let expected = 60_000.0 + hour - 1_000.0 - hour * DRIFT;
        assert!((later - expected).abs() < 1.0, "{later} vs {expected}");
    }

    #[test]
    fn thresholds() {
        let p = FreshnessPolicy {
            refresh_ahead_ms: 1000.0,
            min_validity_ms: 500.0,
        };
        assert_eq!(p.judge(1000.0), Freshness::Fresh);
        assert_eq!(p.judge(999.0), Freshness::RefreshAhead);
        assert_eq!(p.judge(500.0), Freshness::RefreshAhead);
        assert_eq!(p.judge(499.0), Freshness::Stale);
        assert_eq!(p.judge(f64::NAN), Freshness::Stale);
        assert_eq!(p.judge(f64::INFINITY), Freshness::Fresh);
    }
}
