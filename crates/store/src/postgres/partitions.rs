//! The day partitions of `balls` (migration 0016): one per UTC day of ripening, a range of
//! ball ids (UUIDv7 stamped with the ripening instant, see `crate::new_ball_id`). The store
//! makes today's and the next days' partitions when it opens and then every hour, so a ball is
//! written to its day's partition; one whose day has none yet lands in `balls_default`.

use crate::error::StoreError;
use openforest_core::{Clock, Timestamp};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Days after today whose partitions exist ahead of their balls (a report's ball ripens the
/// next morning; a fixed ripening delay may be longer).
const DAYS_AHEAD: i64 = 7;
/// How often the store checks that the coming days have their partitions.
const CHECK_EVERY: Duration = Duration::from_secs(3_600);
const DAY_MS: i64 = 86_400_000;

/// The smallest ball id of a UTC day: its first millisecond, then zeros.
fn day_start_id(day_start_ms: i64) -> Uuid {
    let millis = u128::from(u64::try_from(day_start_ms).unwrap_or(0)) & ((1 << 48) - 1);
    Uuid::from_u128(millis << 80)
}

/// The partition name of the UTC day starting at `day_start_ms`: `balls_20261205`.
fn partition_name(day_start_ms: i64) -> String {
    let day = chrono::DateTime::from_timestamp_millis(day_start_ms)
        .map(|at| at.format("%Y%m%d").to_string())
        .unwrap_or_else(|| "19700101".into());
    format!("balls_{day}")
}

/// Makes the partitions of the UTC day of `now` and of the `DAYS_AHEAD` days after it that
/// do not exist yet; answers how many it made. A day the partition of the earlier balls
/// covers, or one whose balls already went to the default partition, keeps them there.
pub(super) async fn ensure_ball_days(pool: &PgPool, now: Timestamp) -> Result<u32, StoreError> {
    let today_ms = now.millis().div_euclid(DAY_MS) * DAY_MS;
    let mut made = 0;
    for day in 0..=DAYS_AHEAD {
        let start_ms = today_ms + day * DAY_MS;
        let name = partition_name(start_ms);
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(&name)
            .fetch_one(pool)
            .await?;
        if exists.is_some() {
            continue;
        }
        // Names and bounds are made here from numbers, never from input: DDL takes no binds.
        let create = format!(
            "CREATE TABLE {name} PARTITION OF balls FOR VALUES FROM ('{}') TO ('{}')",
            day_start_id(start_ms),
            day_start_id(start_ms + DAY_MS)
        );
        match sqlx::query(&create).execute(pool).await {
            Ok(_) => made += 1,
            // 42P17: the range overlaps the partition of the balls from before partitioning.
            Err(err) if sql_state(&err).as_deref() == Some("42P17") => {}
            // 23514: balls of that day are in the default partition already; they stay there.
            Err(err) if sql_state(&err).as_deref() == Some("23514") => {
                tracing::warn!(partition = %name, "balls of this day are in balls_default; the day gets no partition of its own");
            }
            Err(err) => return Err(err.into()),
        }
    }
    Ok(made)
}

fn sql_state(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|db| db.code())
        .map(|code| code.into_owned())
}

/// Keeps the coming days' partitions made, every hour, until the store shuts down.
pub(super) fn spawn_upkeep(pool: PgPool, clock: Arc<dyn Clock>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + CHECK_EVERY, CHECK_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match ensure_ball_days(&pool, clock.now()).await {
                Ok(0) => {}
                Ok(made) => {
                    tracing::info!(partitions = made, "made the coming days' ball partitions")
                }
                Err(err) => {
                    tracing::warn!(error = %err, "making ball partitions failed; retrying in an hour")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_days_partition_spans_the_ball_ids_stamped_in_that_utc_day() {
        // 2026-12-05T00:00:00Z.
        let start_ms = 1_796_428_800_000;
        assert_eq!(partition_name(start_ms), "balls_20261205");
        let from = day_start_id(start_ms);
        let to = day_start_id(start_ms + DAY_MS);
        let morning = crate::new_ball_id(Timestamp(start_ms + 7 * 3_600_000));
        let last = crate::new_ball_id(Timestamp(start_ms + DAY_MS - 1));
        assert!(from <= morning && morning < to);
        assert!(from <= last && last < to);
        assert!(crate::new_ball_id(Timestamp(start_ms + DAY_MS)) >= to);
        assert!(crate::new_ball_id(Timestamp(start_ms - 1)) < from);
    }
}
