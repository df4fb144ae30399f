//! The day partitions of `balls` (migration 0016): one per UTC day of ripening, a range of
//! ball ids (UUIDv7 stamped with the ripening instant, see `crate::new_ball_id`). The store
//! makes today's and the next days' partitions when it opens and then every hour, so a ball is
//! written to its day's partition; one whose day has none yet lands in `balls_default`.
//!
//! A day is dropped (`drop_settled_days`, run by the server's job) once every ball in it is
//! settled (holds 0 g: collected, stolen, expired) and it ended longer ago than the retention.
//! What is read of its balls afterwards is kept first, in the same transaction: each ball's
//! action for certificate lineage (`ball_origins`), the credited sums for the impact dashboard
//! (`credited_days`), and the drop itself (`dropped_ball_days`, so the day is never made again).
//! The balls' balance rows, all at 0 g, go with them (the audit counts an absent ball balance as
//! 0 g), and so do their expiry notices.

use crate::ball_days::{BallDaysCleanup, CleanupStopped, DroppedBallDay, HoldingBallDay};
use crate::error::StoreError;
use openforest_core::{AccountKind, Clock, Timestamp};
use sqlx::{PgConnection, PgPool};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Days after today whose partitions exist ahead of their balls (a report's ball ripens the
/// next morning; a fixed ripening delay may be longer).
const DAYS_AHEAD: i64 = 7;
/// How often the store checks that the coming days have their partitions.
const CHECK_EVERY: Duration = Duration::from_secs(3_600);
const DAY_MS: i64 = 86_400_000;
/// Held (per transaction) by the server dropping days, so two servers never drop at once.
const CLEANUP_LOCK: i64 = 0x6f66_6261_6c6c_6461; // "ofballda"
/// Detaching takes `balls` for itself for a moment: every reader and writer of balls waits
/// behind it, so it waits at most this long for theirs to finish…
const DETACH_LOCK_TIMEOUT_MS: u32 = 250;
/// …and tries this many times, pausing in between, before leaving the day for the next run.
const DETACH_ATTEMPTS: u32 = 20;
const DETACH_PAUSE: Duration = Duration::from_millis(250);

/// The smallest ball id of a UTC day: its first millisecond, then zeros.
fn day_start_id(day_start_ms: i64) -> Uuid {
    let millis = u128::from(u64::try_from(day_start_ms).unwrap_or(0)) & ((1 << 48) - 1);
    Uuid::from_u128(millis << 80)
}

/// The instant a ball id (or a partition bound) is stamped with: its first 48 bits.
fn id_millis(id: Uuid) -> i64 {
    i64::try_from(id.as_u128() >> 80).unwrap_or(i64::MAX)
}

/// The first millisecond of the UTC day of `at_ms`.
fn day_of(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS) * DAY_MS
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
    let today_ms = day_of(now.millis());
    ensure_days(pool, (0..=DAYS_AHEAD).map(|day| today_ms + day * DAY_MS)).await
}

/// Makes the partitions of the UTC days of these ball ids that do not exist yet (seeding a
/// world of past days writes balls of those days).
pub(super) async fn ensure_days_of_balls(
    pool: &PgPool,
    ball_ids: impl IntoIterator<Item = Uuid>,
) -> Result<u32, StoreError> {
    let days: BTreeSet<i64> = ball_ids
        .into_iter()
        .map(|ball_id| day_of(id_millis(ball_id)))
        .collect();
    ensure_days(pool, days).await
}

/// Makes the partition of each UTC day (its first millisecond) that has none, unless the day
/// was dropped: its balls were settled and archived, and a new, empty partition would only
/// hide that.
async fn ensure_days(
    pool: &PgPool,
    days: impl IntoIterator<Item = i64>,
) -> Result<u32, StoreError> {
    let mut made = 0;
    for start_ms in days {
        let name = partition_name(start_ms);
        let present: bool = sqlx::query_scalar(
            "SELECT to_regclass($1) IS NOT NULL
                    OR EXISTS (SELECT 1 FROM dropped_ball_days WHERE partition_name = $1)",
        )
        .bind(&name)
        .fetch_one(pool)
        .await?;
        if present {
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
            // 42P07: another server made it a moment ago.
            Err(err) if sql_state(&err).as_deref() == Some("42P07") => {}
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

/// A partition of `balls` that holds one range of days: the day partitions and the partition
/// of the balls from before partitioning (never the default one, which may hold any day).
#[derive(Debug)]
struct BallDays {
    name: String,
    /// Its balls ripen before this instant.
    until_ms: i64,
}

/// The upper bound of a range partition, as `pg_get_expr` writes it:
/// `FOR VALUES FROM ('…') TO ('0197d1a0-8000-0000-0000-000000000000')`; `None` for the default
/// partition or anything else.
fn upper_bound(bound: &str) -> Option<Uuid> {
    let (_, to) = bound.split_once(" TO ('")?;
    let (id, _) = to.split_once("')")?;
    Uuid::parse_str(id).ok()
}

/// Every range partition of `balls`, oldest first.
async fn ball_days(pool: &PgPool) -> Result<Vec<BallDays>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, pg_get_expr(c.relpartbound, c.oid)
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'balls'::regclass",
    )
    .fetch_all(pool)
    .await?;
    let mut days: Vec<BallDays> = rows
        .into_iter()
        .filter_map(|(name, bound)| {
            Some(BallDays {
                until_ms: id_millis(upper_bound(&bound)?),
                name,
            })
        })
        .collect();
    days.sort_by_key(|days| days.until_ms);
    Ok(days)
}

/// A partition's name as an SQL identifier. Names come from the catalog, never from input,
/// and are quoted all the same.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Drops every partition of `balls` whose days ended `retention_ms` or longer before `now` and
/// whose balls are all settled, oldest first; a day with a ball still holding energy stays.
pub(super) async fn drop_settled_days(
    pool: &PgPool,
    now: Timestamp,
    retention_ms: i64,
) -> Result<BallDaysCleanup, StoreError> {
    let mut cleanup = BallDaysCleanup::default();
    let old_enough = now.millis().saturating_sub(retention_ms);
    for days in ball_days(pool).await? {
        if days.until_ms > old_enough {
            break;
        }
        match drop_if_settled(pool, &days, now).await? {
            Dropping::Dropped(dropped) => cleanup.dropped.push(dropped),
            Dropping::Holding(balls_holding) => cleanup.holding.push(HoldingBallDay {
                partition: days.name,
                balls_holding,
            }),
            Dropping::Gone => {}
            Dropping::Stopped(stopped) => {
                cleanup.stopped = Some(stopped);
                break;
            }
        }
    }
    Ok(cleanup)
}

enum Dropping {
    Dropped(DroppedBallDay),
    /// So many of its balls still hold energy.
    Holding(u64),
    /// No longer a partition of balls: another server dropped it.
    Gone,
    Stopped(CleanupStopped),
}

/// One day in one transaction: checked, archived, detached and dropped, or left as it was.
///
/// Locks, so that the writer lanes never stop for more than a moment:
/// - the day's partition in SHARE mode first: no ball can enter it while it is checked and
///   archived, while every read of balls (all of which take ACCESS SHARE) goes on. Writers only
///   insert balls that ripen now or later, never into a past day;
/// - `balls` itself only at the end: DETACH needs ACCESS EXCLUSIVE on the partitioned table
///   (DETACH … CONCURRENTLY would not, but PostgreSQL refuses it while a default partition
///   exists). Queued behind it, every read and write of balls waits, so it waits at most
///   `DETACH_LOCK_TIMEOUT_MS` for the transactions already on balls (writer batches take
///   milliseconds), and retries from a savepoint; once it has the lock, the detach is a change
///   of catalog rows and the drop and commit follow at once.
async fn drop_if_settled(
    pool: &PgPool,
    days: &BallDays,
    now: Timestamp,
) -> Result<Dropping, StoreError> {
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    let alone: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(CLEANUP_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !alone {
        return Ok(Dropping::Stopped(CleanupStopped::AnotherServer));
    }
    // Each ball is probed by key, so a day costs its own balls, whatever the world's size
    // (a hash join would read all of balances). No lock is waited for long: a day that cannot
    // be had now is tried again at the next run.
    for setting in [
        "SET LOCAL enable_hashjoin = off",
        "SET LOCAL enable_mergejoin = off",
        "SET LOCAL lock_timeout = '5s'",
    ] {
        sqlx::query(setting).execute(&mut *tx).await?;
    }
    let attached: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                        WHERE i.inhparent = 'balls'::regclass AND c.relname = $1)",
    )
    .bind(&days.name)
    .fetch_one(&mut *tx)
    .await?;
    if !attached {
        return Ok(Dropping::Gone);
    }
    let partition = quoted(&days.name);
    sqlx::query(&format!("LOCK TABLE {partition} IN SHARE MODE"))
        .execute(&mut *tx)
        .await?;
    let holding: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {partition} b
         JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $1 AND bal.account_id = b.ball_id
         WHERE bal.grams > 0"
    ))
    .bind(AccountKind::Ball.code())
    .fetch_one(&mut *tx)
    .await?;
    if holding > 0 {
        return Ok(Dropping::Holding(count(holding)));
    }
    let checked = started.elapsed();
    let (balls, grams): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), coalesce(sum(grams), 0)::int8 FROM {partition}"
    ))
    .fetch_one(&mut *tx)
    .await?;
    archive(&mut tx, &partition).await?;
    let archived = started.elapsed();
    let balances = sqlx::query(&format!(
        "DELETE FROM balances bal USING {partition} b
         WHERE bal.owner_id = b.user_id AND bal.kind = $1 AND bal.account_id = b.ball_id
           AND bal.grams = 0"
    ))
    .bind(AccountKind::Ball.code())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "DELETE FROM expiry_notices n USING {partition} b
         WHERE n.user_id = b.user_id AND n.ball_id = b.ball_id"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO dropped_ball_days (partition_name, until_ms, balls, grams, balances, dropped_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&days.name)
    .bind(days.until_ms)
    .bind(balls)
    .bind(grams)
    .bind(i64::try_from(balances).unwrap_or(i64::MAX))
    .bind(now.millis())
    .execute(&mut *tx)
    .await?;
    let cleared = started.elapsed();
    if !detach(&mut tx, &partition).await? {
        return Ok(Dropping::Stopped(CleanupStopped::BallsBusy {
            partition: days.name.clone(),
        }));
    }
    sqlx::query(&format!("DROP TABLE {partition}"))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let ms = |since: Duration, until: Duration| until.saturating_sub(since).as_millis();
    tracing::debug!(
        partition = %days.name,
        check_ms = checked.as_millis(),
        archive_ms = ms(checked, archived),
        balances_ms = ms(archived, cleared),
        detach_and_drop_ms = ms(cleared, started.elapsed()),
        "dropped a day of balls"
    );
    Ok(Dropping::Dropped(DroppedBallDay {
        partition: days.name.clone(),
        balls: count(balls),
        grams: count(grams),
        balances,
    }))
}

/// Keeps what is read of the day's balls once they are gone: each ball's action for lineage,
/// and the credited sums per UTC day of crediting, partner and action for the impact dashboard
/// (added to what earlier dropped days left there for the same day).
async fn archive(tx: &mut PgConnection, partition: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO ball_origins (user_id, ball_id, action)
         SELECT user_id, ball_id, action FROM {partition}"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO credited_days (day, partner_id, action, grams, actions)
         SELECT created_at_ms / $1, partner_id, action, sum(grams)::int8, count(*)::int8
         FROM {partition} GROUP BY 1, 2, 3
         ON CONFLICT (day, partner_id, action) DO UPDATE
         SET grams = credited_days.grams + EXCLUDED.grams,
             actions = credited_days.actions + EXCLUDED.actions"
    ))
    .bind(DAY_MS)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Detaches the partition, waiting for `balls` in short bounded turns; `false` when the lock
/// was not had (the transaction is as it was before the attempt).
async fn detach(tx: &mut PgConnection, partition: &str) -> Result<bool, sqlx::Error> {
    sqlx::query(&format!(
        "SET LOCAL lock_timeout = '{DETACH_LOCK_TIMEOUT_MS}ms'"
    ))
    .execute(&mut *tx)
    .await?;
    for attempt in 1..=DETACH_ATTEMPTS {
        sqlx::query("SAVEPOINT detach").execute(&mut *tx).await?;
        match sqlx::query(&format!("ALTER TABLE balls DETACH PARTITION {partition}"))
            .execute(&mut *tx)
            .await
        {
            Ok(_) => return Ok(true),
            // 55P03: the lock was not had in time.
            Err(err) if sql_state(&err).as_deref() == Some("55P03") => {
                sqlx::query("ROLLBACK TO SAVEPOINT detach")
                    .execute(&mut *tx)
                    .await?;
                if attempt < DETACH_ATTEMPTS {
                    tokio::time::sleep(DETACH_PAUSE).await;
                }
            }
            Err(err) => return Err(err),
        }
    }
    Ok(false)
}

fn count(raw: i64) -> u64 {
    u64::try_from(raw).unwrap_or(0)
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
        assert_eq!(id_millis(morning), start_ms + 7 * 3_600_000);
        assert_eq!(id_millis(to), start_ms + DAY_MS);
    }

    #[test]
    fn a_partitions_days_end_is_read_from_its_bound() {
        let end = day_start_id(1_796_428_800_000);
        assert_eq!(
            upper_bound(&format!(
                "FOR VALUES FROM ('{}') TO ('{end}')",
                day_start_id(1_796_342_400_000)
            )),
            Some(end)
        );
        assert_eq!(
            upper_bound(&format!("FOR VALUES FROM (MINVALUE) TO ('{end}')")),
            Some(end)
        );
        assert_eq!(upper_bound("DEFAULT"), None);
        assert_eq!(upper_bound("FOR VALUES FROM ('x') TO (MAXVALUE)"), None);
    }
}
