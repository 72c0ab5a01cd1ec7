//! Retrying 429 `limit_exceeded` the way Fauna's JS driver does: after
//! attempt `n`, wait `min(random * 2^(n-1) s, maxBackoff)`, unless the server
//! said how long in `Retry-After`. Nothing else is retried: a query may not
//! be idempotent.

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Throttle {
    /// Wait this many milliseconds, then send attempt `n + 1`.
    RetryAfter(f64),
    /// No attempts left, or the server asked for a longer wait than
    /// `maxBackoffMs` allows.
    GiveUp,
}

/// Decides after attempt `attempt` (1-based) was throttled. `random` is in
/// `[0, 1)` (`Math.random()` in the glue; anything else is clamped).
pub fn after_throttle(
    attempt: u32,
    max_attempts: u32,
    retry_after_ms: Option<f64>,
    random: f64,
    max_backoff_ms: f64,
) -> Throttle {
    if attempt >= max_attempts {
        return Throttle::GiveUp;
    }
    match retry_after_ms {
        Some(ms) if ms > max_backoff_ms => Throttle::GiveUp,
        Some(ms) => Throttle::RetryAfter(ms),
        None => Throttle::RetryAfter(backoff_ms(attempt, random, max_backoff_ms)),
    }
}

/// `min(random * 2^(attempt-1) s, max_backoff_ms)`, always within
/// `[0, max_backoff_ms]`.
pub fn backoff_ms(attempt: u32, random: f64, max_backoff_ms: f64) -> f64 {
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let exponent = attempt.saturating_sub(1).min(30) as i32;
    (random * 2f64.powi(exponent) * 1000.0).min(max_backoff_ms.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_driver_formula() {
        assert_eq!(backoff_ms(1, 0.5, 20_000.0), 500.0);
        assert_eq!(backoff_ms(2, 0.5, 20_000.0), 1000.0);
        assert_eq!(backoff_ms(3, 0.5, 20_000.0), 2000.0);
        assert_eq!(backoff_ms(10, 0.5, 20_000.0), 20_000.0);
    }

    #[test]
    fn stays_within_bounds_for_any_input() {
        for attempt in [0, 1, 2, 5, 31, 1000, u32::MAX] {
            for random in [0.0, 0.3, 0.999_999, 1.0, -1.0, 7.0, f64::NAN, f64::INFINITY] {
                for max in [0.0, 1.0, 20_000.0] {
                    let d = backoff_ms(attempt, random, max);
                    assert!((0.0..=max).contains(&d), "{attempt} {random} {max} -> {d}");
                }
            }
        }
    }

    #[test]
    fn gives_up_after_max_attempts() {
        assert_eq!(
            after_throttle(1, 3, None, 0.5, 20_000.0),
            Throttle::RetryAfter(500.0)
        );
        assert_eq!(
            after_throttle(2, 3, None, 0.5, 20_000.0),
            Throttle::RetryAfter(1000.0)
        );
        assert_eq!(after_throttle(3, 3, None, 0.5, 20_000.0), Throttle::GiveUp);
        assert_eq!(after_throttle(1, 1, None, 0.5, 20_000.0), Throttle::GiveUp);
    }

    #[test]
    fn honours_retry_after_or_gives_up_if_it_is_too_long() {
        assert_eq!(
            after_throttle(1, 3, Some(3000.0), 0.5, 20_000.0),
            Throttle::RetryAfter(3000.0)
        );
        assert_eq!(
            after_throttle(1, 3, Some(0.0), 0.5, 20_000.0),
            Throttle::RetryAfter(0.0)
        );
        assert_eq!(
            after_throttle(1, 3, Some(60_000.0), 0.5, 20_000.0),
            Throttle::GiveUp
        );
    }
}
