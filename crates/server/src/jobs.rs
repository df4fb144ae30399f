//! Background jobs. Expiry: balls 72 h past ripening give what they still hold to the expired
//! account, through the writer like every other movement (a journal entry, never a delete).
//! Cleanup of settled days: on PostgreSQL, a day of balls that all hold 0 g is dropped whole
//! once it is older than the retention (what lineage and the impact dashboard need is kept).

use futures_util::future::join_all;
use openforest_core::methodology::BALL_LIFETIME_MS;
use openforest_core::{Clock, Command, Expire, Grams, Outcome, Timestamp};
use openforest_store::{
    BallDaysCleanup, CleanupStopped, CommandError, DueCursor, Envelope, Store, StoreError,
};
use std::sync::Arc;
use std::time::Duration;

/// Balls expired per round: a full writer batch (`writer.batch_max` defaults to 4,096).
const EXPIRY_PAGE: u32 = 4_096;

/// What one expiry run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    pub balls: u64,
    pub grams: u64,
}

/// Expires every ball that is due now. Stops early, to retry at the next tick, when the writer
/// is busy or a round makes no progress.
pub async fn expire_due_balls(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
) -> Result<ExpiryRun, StoreError> {
    Expiry::default().run(store, clock).await
}

/// The expiry job between its runs: where the last complete run ended. Everything that
/// expired before that instant has been expired, and a ball made later expires later still,
/// so the next run starts there instead of walking every ball that ever expired.
#[derive(Debug, Default)]
pub struct Expiry {
    /// Balls expiring before this instant are done (`None`: walk from the first ball).
    done_before: Option<Timestamp>,
}

impl Expiry {
    /// Expires every ball that is due now, walking due balls page after page from where the
    /// last complete run ended. Stops early, to retry at the next tick, when the writer is busy;
    /// a run with a failure does not move the starting point, so its balls are tried again.
    pub async fn run(
        &mut self,
        store: &Arc<dyn Store>,
        clock: &Arc<dyn Clock>,
    ) -> Result<ExpiryRun, StoreError> {
        let now = clock.now();
        let mut run = ExpiryRun::default();
        let mut cursor = self.done_before.map_or(DueCursor::START, DueCursor::from);
        let mut failed = false;
        loop {
            let due = store.due_balls(now, cursor, EXPIRY_PAGE).await?;
            let page_was_full = due.len() == EXPIRY_PAGE as usize;
            if let Some(&(user_id, ball_id, expires_at)) = due.last() {
                cursor = DueCursor::after(user_id, ball_id, expires_at);
            }
            let expiries = due.into_iter().map(|(user_id, ball_id, expires_at)| {
                store.execute(Envelope::new(Command::Expire(Expire {
                    user_id,
                    ball_id,
                    expires_at,
                })))
            });
            for result in join_all(expiries).await {
                match result {
                    Ok(executed) => {
                        if let Outcome::Expired { grams, .. } = executed.outcome
                            && grams > Grams::ZERO
                        {
                            run.balls += 1;
                            run.grams += grams.get();
                        }
                    }
                    Err(CommandError::Overloaded | CommandError::ShuttingDown) => return Ok(run),
                    Err(err) => {
                        failed = true;
                        tracing::warn!(error = %err, "a ball could not expire; retrying at the next run");
                    }
                }
            }
            if !page_was_full {
                break;
            }
        }
        if !failed {
            self.done_before = Some(now);
        }
        Ok(run)
    }
}

/// Announces (as `ball.expiring` webhook events, once per ball) balls with energy left that
/// expire within `notice`; answers how many. Only while some webhook endpoint is enabled.
pub async fn announce_expiring_balls(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    notice: Duration,
) -> Result<u32, StoreError> {
    Notices::default().run(store, clock, notice).await
}

/// The expiry notices between their runs: the horizon the last complete run covered. Every
/// ball expiring by then was announced, and a ball made later expires at least
/// `BALL_LIFETIME_MS` after it was made, so when the notice is shorter than that, the next run
/// only looks past the old horizon.
#[derive(Debug, Default)]
pub struct Notices {
    covered_until: Option<Timestamp>,
}

impl Notices {
    pub async fn run(
        &mut self,
        store: &Arc<dyn Store>,
        clock: &Arc<dyn Clock>,
        notice: Duration,
    ) -> Result<u32, StoreError> {
        let now = clock.now();
        let notice_ms = i64::try_from(notice.as_millis()).unwrap_or(i64::MAX);
        let horizon = now.plus_millis(notice_ms);
        let mut cursor = match self.covered_until {
            Some(until) if notice_ms < BALL_LIFETIME_MS => DueCursor::from(until.plus_millis(1)),
            _ => DueCursor::START,
        };
        let mut announced = 0;
        loop {
            let page = store
                .announce_expiring_balls(now, cursor, horizon, EXPIRY_PAGE)
                .await?;
            announced += page.announced;
            match page.next {
                Some(next) => cursor = next,
                None => break,
            }
        }
        self.covered_until = Some(horizon);
        Ok(announced)
    }
}

/// Runs expiry (and the expiry notices) every `interval` until aborted.
pub fn spawn_expiry(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    notice: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut expiry = Expiry::default();
        let mut notices = Notices::default();
        loop {
            ticker.tick().await;
            match expiry.run(&store, &clock).await {
                Ok(run) if run.balls > 0 => {
                    tracing::info!(
                        balls = run.balls,
                        grams = run.grams,
                        "expired uncollected energy"
                    );
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "expiry run failed"),
            }
            if let Err(err) = notices.run(&store, &clock, notice).await {
                tracing::warn!(error = %err, "expiry notices failed");
            }
        }
    })
}

/// Drops the days of balls that are over: on PostgreSQL, each day partition that ended
/// `retention` ago and whose balls all hold 0 g. Logs what it dropped, the days it kept because
/// a ball still holds energy, and why it stopped early, if it did.
pub async fn drop_settled_ball_days(
    store: &Arc<dyn Store>,
    clock: &Arc<dyn Clock>,
    retention: Duration,
) -> Result<BallDaysCleanup, StoreError> {
    let cleanup = store.drop_settled_ball_days(clock.now(), retention).await?;
    for day in &cleanup.dropped {
        tracing::info!(
            partition = %day.partition,
            balls = day.balls,
            grams = day.grams,
            balances = day.balances,
            "dropped a settled day of balls"
        );
    }
    for day in &cleanup.holding {
        tracing::warn!(
            partition = %day.partition,
            balls_holding = day.balls_holding,
            "a day of balls past its retention still holds energy; it stays until expired"
        );
    }
    match &cleanup.stopped {
        Some(CleanupStopped::AnotherServer) => {
            tracing::info!("another server is dropping days of balls; trying at the next run")
        }
        Some(CleanupStopped::BallsBusy { partition }) => tracing::warn!(
            partition = %partition,
            "balls stayed busy, so the day was not detached; trying at the next run"
        ),
        None => {}
    }
    Ok(cleanup)
}

/// Drops settled days of balls every `interval` until aborted, the first an interval after the
/// start (a benchmark that starts a server runs without it).
pub fn spawn_ball_days_cleanup(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    interval: Duration,
    retention: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = drop_settled_ball_days(&store, &clock, retention).await {
                tracing::warn!(error = %err, "dropping settled days of balls failed");
            }
        }
    })
}

/// Groups new pledges into orders every `interval` until aborted.
pub fn spawn_ordering(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first orders an interval after the start, not at once: a pledge stays `pledged`
        // for a while after a restart too, as it does between two runs.
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match store.place_orders(clock.now()).await {
                Ok(orders) if !orders.is_empty() => {
                    tracing::info!(orders = orders.len(), "placed orders with NGOs");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "placing orders failed"),
            }
        }
    })
}
