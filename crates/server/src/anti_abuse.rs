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
    /// One abuse report per user per 10 minutes, however fast they keep trying.
    reports: KeyedLimiter,
    checks: AtomicU64,
}

/// How often one user's refusals are recorded for review.
const REPORT_PERIOD: Duration = Duration::from_secs(600);

impl CollectLimits {
    /// One take per `interval` per user; a zero interval turns the limit off.
    pub fn new(interval: Duration) -> CollectLimits {
        let limiter = governor::Quota::with_period(interval).map(governor::RateLimiter::keyed);
        let reports = governor::RateLimiter::keyed(
            governor::Quota::with_period(REPORT_PERIOD)
                .unwrap_or_else(|| governor::Quota::per_hour(std::num::NonZeroU32::MIN)),
        );
        CollectLimits {
            limiter,
            reports,
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
            self.reports.retain_recent();
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

impl CollectLimits {
    /// Whether a refusal of this user should be recorded now (at most one per 10 minutes).
    pub fn should_report(&self, user_id: UserId) -> bool {
        self.reports.check_key(&user_id).is_ok()
    }
}

/// Checks the user's turn to take energy; a refusal is answered 429 and, at most once per
/// 10 minutes per user, recorded for an admin to review.
pub async fn take_turn(state: &crate::state::AppState, user_id: UserId) -> Result<(), ApiError> {
    let Err(refusal) = state.collect_limits.check(user_id) else {
        return Ok(());
    };
    if state.collect_limits.should_report(user_id)
        && let Err(err) = state
            .store
            .report_abuse(
                user_id,
                "collect_rate",
                "took energy faster than the collect rate limit allows",
                state.clock.now(),
            )
            .await
    {
        tracing::warn!(error = %err, "could not record an abuse report");
    }
    Err(refusal)
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
