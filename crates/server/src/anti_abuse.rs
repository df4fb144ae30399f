//! Anti-abuse: a per-user rate limit on taking energy (collect, steal, help), answered with 429
//! and Retry-After. Ant Forest users hit such limits daily; so do scripts.

use crate::error::ApiError;
use openforest_core::UserId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

type KeyedLimiter = governor::RateLimiter<
    UserId,
    governor::state::keyed::DefaultKeyedStateStore<UserId>,
    governor::clock::DefaultClock,
>;

/// Checks between two sweeps of users whose limit has fully recovered (keeps memory bounded
/// by the users active recently, not by every user ever seen).
const SWEEP_EVERY: u64 = 1 << 16;

pub struct CollectLimits {
    limiter: Option<KeyedLimiter>,
    checks: AtomicU64,
}

impl CollectLimits {
    /// One take per `interval` per user; a zero interval turns the limit off.
    pub fn new(interval: Duration) -> CollectLimits {
        let limiter = governor::Quota::with_period(interval).map(governor::RateLimiter::keyed);
        CollectLimits {
            limiter,
            checks: AtomicU64::new(0),
        }
    }

    pub fn check(&self, user_id: UserId) -> Result<(), ApiError> {
        use governor::clock::Clock as _;
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter.check_key(&user_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            metrics::counter!("openforest_collect_rate_limited_total").increment(1);
            ApiError::RateLimited {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_user_takes_at_most_once_per_interval_and_others_are_not_affected() {
        let limits = CollectLimits::new(Duration::from_secs(60));
        let ana = UserId(Uuid::from_u128(1));
        let ben = UserId(Uuid::from_u128(2));
        assert!(limits.check(ana).is_ok());
        assert!(matches!(
            limits.check(ana),
            Err(ApiError::RateLimited { retry_after_secs }) if retry_after_secs >= 1
        ));
        assert!(limits.check(ben).is_ok());
    }

    #[test]
    fn a_zero_interval_turns_the_limit_off() {
        let limits = CollectLimits::new(Duration::ZERO);
        let ana = UserId(Uuid::from_u128(1));
        assert!((0..10).all(|_| limits.check(ana).is_ok()));
    }
}
