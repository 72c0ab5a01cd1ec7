//! How long a token may still be used, judged from its own claims and the
//! local clock at the moment it arrived.
//!
//! The lifetime is `exp - iat`, counted from receipt: a device clock that is
//! minutes off changes nothing, because only elapsed local time is used. Times
//! are milliseconds on the local clock (`Date.now()` in the glue), which keeps
//! running while a laptop sleeps; a clock that steps backwards never makes a
//! token look younger than when it arrived.

use super::jwt::Claims;

/// When a cached token stops being usable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Expiry {
    /// `exp` and `iat` known: it lives `lifetime_ms` from `received_at`.
    Relative { received_at: f64, lifetime_ms: f64 },
    /// Only `exp` known: it can only be compared with the local clock.
    Absolute { expires_at: f64 },
    /// No `exp`: cached until invalidated.
    Never,
}

impl Expiry {
    pub fn from_claims(claims: &Claims, received_at: f64) -> Expiry {
        match (claims.exp, claims.iat) {
            (Some(exp), Some(iat)) => Expiry::Relative {
                received_at,
                lifetime_ms: (exp - iat) * 1000.0,
            },
            (Some(exp), None) => Expiry::Absolute {
                expires_at: exp * 1000.0,
            },
            (None, _) => Expiry::Never,
        }
    }

    /// Milliseconds of validity left at `now` (infinite for [`Expiry::Never`]).
    pub fn ms_left(&self, now: f64) -> f64 {
        match *self {
            Expiry::Relative {
                received_at,
                lifetime_ms,
            } => lifetime_ms - (now - received_at).max(0.0),
            Expiry::Absolute { expires_at } => expires_at - now,
            Expiry::Never => f64::INFINITY,
        }
    }
}

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

impl FreshnessPolicy {
    pub fn judge(&self, expiry: &Expiry, now: f64) -> Freshness {
        let left = expiry.ms_left(now);
        // NaN (nonsense claims) compares as neither: stale too.
        if left
            .partial_cmp(&self.min_validity_ms)
            .is_none_or(|o| o.is_lt())
        {
            Freshness::Stale
        } else if left < self.refresh_ahead_ms {
            Freshness::RefreshAhead
        } else {
            Freshness::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: f64 = 1_000_000.0;

    fn claims(exp: Option<f64>, iat: Option<f64>) -> Claims {
        Claims {
            exp,
            iat,
            ..Claims::default()
        }
    }

    fn judge_at(expiry: Expiry, seconds_after_receipt: f64) -> Freshness {
        FreshnessPolicy::default().judge(&expiry, T0 + seconds_after_receipt * 1000.0)
    }

    #[test]
    fn a_sixty_second_token_crosses_each_boundary_on_time() {
        let e = Expiry::from_claims(&claims(Some(1060.0), Some(1000.0)), T0);
        assert_eq!(judge_at(e, 0.0), Freshness::Fresh);
        assert_eq!(judge_at(e, 44.999), Freshness::Fresh);
        // Exactly 15 s left is not "less than 15 s": still fresh.
        assert_eq!(judge_at(e, 45.0), Freshness::Fresh);
        assert_eq!(judge_at(e, 45.001), Freshness::RefreshAhead);
        // Exactly 5 s left is still servable; a millisecond less is not.
        assert_eq!(judge_at(e, 55.0), Freshness::RefreshAhead);
        assert_eq!(judge_at(e, 55.001), Freshness::Stale);
        assert_eq!(judge_at(e, 60.0), Freshness::Stale);
        assert_eq!(judge_at(e, 3600.0), Freshness::Stale);
    }

    #[test]
    fn a_client_clock_hours_off_changes_nothing() {
        // The token says it was issued in 2023; the device thinks it is 2030.
        // Only time elapsed since receipt counts.
        let issued = 1_700_000_000.0;
        let device_now = 1_900_000_000_000.0;
        let e = Expiry::from_claims(&claims(Some(issued + 60.0), Some(issued)), device_now);
        let p = FreshnessPolicy::default();
        assert_eq!(p.judge(&e, device_now), Freshness::Fresh);
        assert_eq!(p.judge(&e, device_now + 50_000.0), Freshness::RefreshAhead);
        assert_eq!(p.judge(&e, device_now + 56_000.0), Freshness::Stale);
    }

    #[test]
    fn a_clock_stepping_back_never_extends_a_token() {
        let e = Expiry::from_claims(&claims(Some(1060.0), Some(1000.0)), T0);
        assert_eq!(e.ms_left(T0 - 3_600_000.0), 60_000.0);
    }

    #[test]
    fn without_iat_exp_is_compared_with_the_local_clock() {
        let e = Expiry::from_claims(&claims(Some(2000.0), None), T0);
        let p = FreshnessPolicy::default();
        assert_eq!(p.judge(&e, 1_980_000.0), Freshness::Fresh);
        assert_eq!(p.judge(&e, 1_990_000.0), Freshness::RefreshAhead);
        assert_eq!(p.judge(&e, 1_996_000.0), Freshness::Stale);
    }

    #[test]
    fn without_exp_a_token_never_goes_stale() {
        for iat in [None, Some(1000.0)] {
            let e = Expiry::from_claims(&claims(None, iat), T0);
            assert_eq!(e, Expiry::Never);
            assert_eq!(judge_at(e, 1e12), Freshness::Fresh);
        }
    }

    #[test]
    fn nonsense_lifetimes_are_stale_at_once() {
        for (exp, iat) in [(1000.0, 1060.0), (1000.0, 1000.0), (1003.0, 1000.0)] {
            let e = Expiry::from_claims(&claims(Some(exp), Some(iat)), T0);
            assert_eq!(judge_at(e, 0.0), Freshness::Stale, "exp {exp} iat {iat}");
        }
    }

    #[test]
    fn custom_thresholds() {
        let p = FreshnessPolicy {
            refresh_ahead_ms: 1000.0,
            min_validity_ms: 500.0,
        };
        let e = Expiry::from_claims(&claims(Some(1003.0), Some(1000.0)), T0);
        assert_eq!(p.judge(&e, T0 + 1900.0), Freshness::Fresh);
        assert_eq!(p.judge(&e, T0 + 2100.0), Freshness::RefreshAhead);
        assert_eq!(p.judge(&e, T0 + 2600.0), Freshness::Stale);
    }
}
