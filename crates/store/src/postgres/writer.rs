//! A PostgreSQL writer lane: drains its queue in batches; each batch is a handful of
//! set-based statements (UNNEST arrays) whatever its size, so a batch of a thousand commands
//! costs about as many round trips as a batch of one.

use crate::batch::{self, ChangeSet, Loaded, Reply, StoredIdempotency};
use crate::error::CommandError;
use crate::model::{self, Envelope};
use crate::writer::{Job, observe_batch};
use openforest_core::methodology::DedupKey;
use openforest_core::{Account, BallId, Clock, StealKey, Timestamp, UsageKey, UserId};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Serialization failures and deadlocks between lanes (a steal touches two users) are retried
/// this many times before the batch is reported failed.
const RETRIES_MAX: u32 = 8;

pub(super) async fn run(
    mut conn: PgConnection,
    connect: PgConnectOptions,
    mut lane: mpsc::Receiver<Job>,
    batch_max: usize,
    clock: Arc<dyn Clock>,
    events_wanted: Arc<AtomicBool>,
    entry_ids: Arc<crate::EntryIds>,
) {
    let mut jobs = Vec::with_capacity(batch_max);
    while lane.recv_many(&mut jobs, batch_max).await > 0 {
        let started = Instant::now();
        let now = clock.now();
        let events = events_wanted.load(Ordering::Acquire);
        let envelopes: Vec<&Envelope> = jobs.iter().map(|job| &job.envelope).collect();
        let replies = match run_batch_retrying(&mut conn, &envelopes, now, events, &entry_ids).await
        {
            Ok(replies) => replies,
            Err(err) => {
                tracing::warn!(error = %err, commands = envelopes.len(), "writer batch failed; retrying one by one");
                reconnect_if_broken(&mut conn, &connect).await;
                let mut replies = Vec::with_capacity(envelopes.len());
                for envelope in &envelopes {
                    replies.push(
                        match run_batch_retrying(&mut conn, &[*envelope], now, events, &entry_ids)
                            .await
                        {
                            Ok(mut one) => one
                                .pop()
                                .unwrap_or_else(|| Err(CommandError::Storage("no reply".into()))),
                            Err(err) => Err(CommandError::Storage(err.to_string())),
                        },
                    );
                }
                replies
            }
        };
        drop(envelopes);
        observe_batch(jobs.len(), started);
        for (job, reply) in jobs.drain(..).zip(replies) {
            let _ = job.reply.send(reply);
        }
    }
}

async fn reconnect_if_broken(conn: &mut PgConnection, connect: &PgConnectOptions) {
    if conn.ping().await.is_ok() {
        return;
    }
    for attempt in 0..10u64 {
        match PgConnection::connect_with(connect).await {
            Ok(fresh) => {
                *conn = fresh;
                return;
            }
            Err(err) => {
                tracing::error!(error = %err, attempt, "writer cannot reconnect to PostgreSQL");
                tokio::time::sleep(Duration::from_millis(100 * (attempt + 1))).await;
            }
        }
    }
}

fn is_retryable(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "40001" || code == "40P01")
}

pub(super) async fn run_batch_retrying(
    conn: &mut PgConnection,
    envelopes: &[&Envelope],
    now: Timestamp,
    events_wanted: bool,
    entry_ids: &crate::EntryIds,
) -> Result<Vec<Reply>, sqlx::Error> {
    let mut attempt = 0;
    loop {
        match run_batch(conn, envelopes, now, events_wanted, entry_ids).await {
            Err(err) if is_retryable(&err) && attempt < RETRIES_MAX => {
                attempt += 1;
                metrics::counter!("openforest_writer_retries_total").increment(1);
            }
            result => return result,
        }
    }
}

fn corrupt(reason: String) -> sqlx::Error {
    sqlx::Error::Decode(reason.into())
}

/// Splits accounts into the three key columns UNNEST takes.
fn key_columns<'a>(
    accounts: impl Iterator<Item = &'a Account>,
) -> (Vec<Uuid>, Vec<i16>, Vec<Uuid>) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new());
    for account in accounts {
        let key = account.key();
        columns.0.push(key.owner);
        columns.1.push(key.kind.code());
        columns.2.push(key.id);
    }
    columns
}

async fn run_batch(
    conn: &mut PgConnection,
    envelopes: &[&Envelope],
    now: Timestamp,
    events_wanted: bool,
    entry_ids: &crate::EntryIds,
) -> Result<Vec<Reply>, sqlx::Error> {
    let plan = batch::plan(envelopes);
    let mut tx = conn.begin().await?;
    let mut loaded = Loaded::default();
    if !plan.accounts.is_empty() {
        let (owners, kinds, ids) = key_columns(plan.accounts.iter());
        // Locked in key order, the same order in every lane, so lanes cannot deadlock here.
        let rows: Vec<(Uuid, i16, Uuid, i64)> = sqlx::query_as(
            "SELECT b.owner_id, b.kind, b.account_id, b.grams
             FROM balances b
             JOIN UNNEST($1::uuid[], $2::int2[], $3::uuid[]) AS k(owner_id, kind, account_id)
               ON b.owner_id = k.owner_id AND b.kind = k.kind AND b.account_id = k.account_id
             ORDER BY b.owner_id, b.kind, b.account_id
             FOR UPDATE OF b",
        )
        .bind(&owners)
        .bind(&kinds)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        for (owner, kind, id, grams) in rows {
            loaded.balances.push((
                model::account_from_row(owner, kind, id).map_err(corrupt)?,
                grams,
            ));
        }
    }
    if !plan.idempotency_keys.is_empty() {
        let (scopes, keys): (Vec<String>, Vec<String>) = plan.idempotency_keys.into_iter().unzip();
        let rows: Vec<(String, String, Vec<u8>, String)> = sqlx::query_as(
            "SELECT i.scope, i.key, i.fingerprint, i.outcome
             FROM idempotency i
             JOIN UNNEST($1::text[], $2::text[]) AS k(scope, key) ON i.scope = k.scope AND i.key = k.key",
        )
        .bind(&scopes)
        .bind(&keys)
        .fetch_all(&mut *tx)
        .await?;
        for (scope, key, fingerprint, json) in rows {
            let outcome = batch::stored_outcome(&json).map_err(corrupt)?;
            loaded.idempotency.insert(
                (scope, key),
                StoredIdempotency {
                    fingerprint,
                    outcome,
                },
            );
        }
    }
    load_game_rows(&mut tx, &plan.usage_keys, &plan.dedup_keys, &mut loaded).await?;
    let (digests, stored_digests) = super::digest::load(&mut tx, &plan.digest_owners).await?;
    loaded.digests = digests;
    if !plan.balls.is_empty() {
        loaded.balls = super::game::ball_facts(&mut tx, &plan.balls).await?;
    }
    if !plan.friend_pairs.is_empty() {
        loaded.friendships = super::game::friendships(&mut tx, &plan.friend_pairs).await?;
    }
    if !plan.prop_users.is_empty() {
        loaded.effects = super::props::raised_effects(&mut tx, &plan.prop_users).await?;
    }
    if !plan.steal_keys.is_empty() {
        let keys = &plan.steal_keys;
        let rows: Vec<(Uuid, Uuid, Uuid, i16)> = sqlx::query_as(
            "SELECT s.owner_id, s.ball_id, s.thief_id, s.take FROM steals s
             JOIN UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int2[]) AS k(owner_id, ball_id, thief_id, take)
               ON s.owner_id = k.owner_id AND s.ball_id = k.ball_id AND s.thief_id = k.thief_id
              AND s.take = k.take",
        )
        .bind(keys.iter().map(|key| key.owner_id.uuid()).collect::<Vec<_>>())
        .bind(keys.iter().map(|key| key.ball_id.uuid()).collect::<Vec<_>>())
        .bind(keys.iter().map(|key| key.thief_id.uuid()).collect::<Vec<_>>())
        .bind(keys.iter().map(|key| i16::from(key.take)).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await?;
        loaded.steals = rows
            .into_iter()
            .map(|(owner, ball, thief, take)| StealKey {
                owner_id: UserId(owner),
                ball_id: BallId(ball),
                thief_id: UserId(thief),
                take: u8::try_from(take).unwrap_or(0),
            })
            .collect();
    }
    let (changes, replies) = batch::decide(envelopes, loaded, now, events_wanted, || {
        entry_ids.next(now)
    });
    if !changes.entries.is_empty() {
        let entries = &changes.entries;
        let (from_owner, from_kind, from_id) = key_columns(entries.iter().map(|entry| &entry.from));
        let (to_owner, to_kind, to_id) = key_columns(entries.iter().map(|entry| &entry.to));
        sqlx::query(
            "INSERT INTO journal (user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                                  to_owner, to_kind, to_id, grams, reference)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int2[], $5::uuid[], $6::int2[],
                                  $7::uuid[], $8::uuid[], $9::int2[], $10::uuid[], $11::int8[], $12::text[])",
        )
        .bind(entries.iter().map(|entry| entry.user_id.uuid()).collect::<Vec<_>>())
        .bind(entries.iter().map(|entry| entry.entry_id.uuid()).collect::<Vec<_>>())
        .bind(entries.iter().map(|entry| entry.at.millis()).collect::<Vec<_>>())
        .bind(entries.iter().map(|entry| entry.kind.code()).collect::<Vec<_>>())
        .bind(from_owner)
        .bind(from_kind)
        .bind(from_id)
        .bind(to_owner)
        .bind(to_kind)
        .bind(to_id)
        .bind(entries.iter().map(|entry| entry.grams.as_i64()).collect::<Vec<_>>())
        .bind(entries.iter().map(|entry| entry.reference.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    let (credits, debits): (Vec<_>, Vec<_>) =
        changes.deltas.iter().partition(|(_, change)| *change > 0);
    if !credits.is_empty() {
        let (owners, kinds, ids) = key_columns(credits.iter().map(|(account, _)| account));
        sqlx::query(
            "INSERT INTO balances (owner_id, kind, account_id, grams)
             SELECT * FROM UNNEST($1::uuid[], $2::int2[], $3::uuid[], $4::int8[])
             ON CONFLICT (owner_id, kind, account_id) DO UPDATE SET grams = balances.grams + EXCLUDED.grams",
        )
        .bind(owners)
        .bind(kinds)
        .bind(ids)
        .bind(credits.iter().map(|(_, change)| *change).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !debits.is_empty() {
        // Debited rows were loaded and locked above: the book never debits an unloaded account.
        let (owners, kinds, ids) = key_columns(debits.iter().map(|(account, _)| account));
        sqlx::query(
            "UPDATE balances b SET grams = b.grams + d.change
             FROM UNNEST($1::uuid[], $2::int2[], $3::uuid[], $4::int8[]) AS d(owner_id, kind, account_id, change)
             WHERE b.owner_id = d.owner_id AND b.kind = d.kind AND b.account_id = d.account_id",
        )
        .bind(owners)
        .bind(kinds)
        .bind(ids)
        .bind(debits.iter().map(|(_, change)| *change).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !changes.idempotency.is_empty() {
        let records = &changes.idempotency;
        sqlx::query(
            "INSERT INTO idempotency (scope, key, fingerprint, outcome, created_at_ms)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::int8[])",
        )
        .bind(
            records
                .iter()
                .map(|record| record.scope.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|record| record.key.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|record| record.fingerprint.to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|record| record.outcome_json.clone())
                .collect::<Vec<_>>(),
        )
        .bind(
            records
                .iter()
                .map(|record| record.created_at.millis())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    write_game_rows(&mut tx, &changes).await?;
    // After the balances and balls: a rebuild reads what this batch wrote.
    super::digest::write(&mut tx, &changes.digests, &stored_digests).await?;
    tx.commit().await?;
    Ok(replies)
}

/// The usage counters and dedup keys a batch's credits read.
async fn load_game_rows(
    tx: &mut PgConnection,
    usage_keys: &[UsageKey],
    dedup_keys: &[DedupKey],
    loaded: &mut Loaded,
) -> Result<(), sqlx::Error> {
    if !usage_keys.is_empty() {
        // One user's usage rows always come through that user's lane; the lock only guards
        // against other writers of the same rows (the unbatched benchmark path).
        let rows: Vec<(Uuid, String, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT u.user_id, u.action, u.period, u.actions, u.quantity_milli, u.grams
             FROM usage u
             JOIN UNNEST($1::uuid[], $2::text[], $3::text[]) AS k(user_id, action, period)
               ON u.user_id = k.user_id AND u.action = k.action AND u.period = k.period
             ORDER BY u.user_id, u.action, u.period
             FOR UPDATE OF u",
        )
        .bind(
            usage_keys
                .iter()
                .map(|key| key.user_id.uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            usage_keys
                .iter()
                .map(|key| key.action.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            usage_keys
                .iter()
                .map(|key| key.period.as_str())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        for (user_id, action, period, actions, quantity_milli, grams) in rows {
            let key = UsageKey {
                user_id: UserId(user_id),
                action: action.into(),
                period: period.into(),
            };
            let actions = u32::try_from(actions).unwrap_or(0);
            loaded.usage.push((
                key,
                crate::model::usage_from_row(actions, quantity_milli, grams),
            ));
        }
    }
    if !dedup_keys.is_empty() {
        let found: Vec<String> =
            sqlx::query_scalar("SELECT dedup_key FROM dedup_keys WHERE dedup_key = ANY($1)")
                .bind(
                    dedup_keys
                        .iter()
                        .map(|key| key.as_str().to_string())
                        .collect::<Vec<_>>(),
                )
                .fetch_all(&mut *tx)
                .await?;
        loaded.dedup = found.into_iter().map(DedupKey::from_stored).collect();
    }
    Ok(())
}

/// Balls, usage counters and dedup keys a batch made: one statement each.
async fn write_game_rows(tx: &mut PgConnection, changes: &ChangeSet) -> Result<(), sqlx::Error> {
    if !changes.balls.is_empty() {
        let balls = &changes.balls;
        sqlx::query(
            "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id, action,
                                methodology, methodology_version, created_at_ms)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::int8[], $6::uuid[],
                                  $7::text[], $8::text[], $9::int8[], $10::int8[])",
        )
        .bind(balls.iter().map(|ball| ball.user_id.uuid()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.ball_id.uuid()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.grams.as_i64()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.ripens_at.millis()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.expires_at.millis()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.partner_id.uuid()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.action.clone()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.methodology.clone()).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| i64::from(ball.methodology_version)).collect::<Vec<_>>())
        .bind(balls.iter().map(|ball| ball.created_at.millis()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !changes.usage.is_empty() {
        let usage = &changes.usage;
        sqlx::query(
            "INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[])
             ON CONFLICT (user_id, action, period) DO UPDATE
             SET actions = EXCLUDED.actions, quantity_milli = EXCLUDED.quantity_milli, grams = EXCLUDED.grams",
        )
        .bind(usage.iter().map(|(key, _)| key.user_id.uuid()).collect::<Vec<_>>())
        .bind(usage.iter().map(|(key, _)| key.action.as_str()).collect::<Vec<_>>())
        .bind(usage.iter().map(|(key, _)| key.period.as_str()).collect::<Vec<_>>())
        .bind(usage.iter().map(|(_, usage)| i64::from(usage.actions)).collect::<Vec<_>>())
        .bind(usage.iter().map(|(_, usage)| i64::try_from(usage.quantity_milli).unwrap_or(i64::MAX)).collect::<Vec<_>>())
        .bind(usage.iter().map(|(_, usage)| usage.grams.as_i64()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !changes.dedup.is_empty() {
        let created_at = changes
            .entries
            .first()
            .map(|entry| entry.at.millis())
            .unwrap_or(0);
        sqlx::query(
            "INSERT INTO dedup_keys (dedup_key, user_id, created_at_ms)
             SELECT key, user_id, $3 FROM UNNEST($1::text[], $2::uuid[]) AS d(key, user_id)",
        )
        .bind(
            changes
                .dedup
                .iter()
                .map(|(key, _)| key.as_str().to_string())
                .collect::<Vec<_>>(),
        )
        .bind(
            changes
                .dedup
                .iter()
                .map(|(_, user_id)| user_id.uuid())
                .collect::<Vec<_>>(),
        )
        .bind(created_at)
        .execute(&mut *tx)
        .await?;
    }
    if !changes.steals.is_empty() {
        let steals = &changes.steals;
        sqlx::query(
            "INSERT INTO steals (owner_id, ball_id, thief_id, take, grams, at_ms)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int2[], $5::int8[], $6::int8[])",
        )
        .bind(
            steals
                .iter()
                .map(|(key, _, _)| key.owner_id.uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            steals
                .iter()
                .map(|(key, _, _)| key.ball_id.uuid())
                .collect::<Vec<_>>(),
        )
        .bind(
            steals
                .iter()
                .map(|(key, _, _)| key.thief_id.uuid())
                .collect::<Vec<_>>(),
        )
        .bind(steals.iter().map(|(key, _, _)| i16::from(key.take)).collect::<Vec<_>>())
        .bind(
            steals
                .iter()
                .map(|(_, grams, _)| grams.as_i64())
                .collect::<Vec<_>>(),
        )
        .bind(
            steals
                .iter()
                .map(|(_, _, at)| at.millis())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    }
    if !changes.pledges.is_empty() {
        write_pledges(tx, &changes.pledges).await?;
    }
    if !changes.species_draws.is_empty() {
        super::species::write_draws(tx, &changes.species_draws).await?;
    }
    if !changes.feed.is_empty() {
        let feed = &changes.feed;
        sqlx::query(
            "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::int8[], $7::int8[])",
        )
        .bind(feed.iter().map(|item| item.user_id.uuid()).collect::<Vec<_>>())
        .bind(feed.iter().map(|item| item.item_id).collect::<Vec<_>>())
        .bind(feed.iter().map(|item| item.kind).collect::<Vec<_>>())
        .bind(feed.iter().map(|item| item.actor_id.map(|user| user.uuid())).collect::<Vec<_>>())
        .bind(feed.iter().map(|item| item.ball_id.map(|ball| ball.uuid())).collect::<Vec<_>>())
        .bind(feed.iter().map(|item| item.grams.as_i64()).collect::<Vec<_>>())
        .bind(feed.iter().map(|item| item.at.millis()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !changes.events.is_empty() {
        let events = &changes.events;
        sqlx::query(
            "INSERT INTO webhook_events (event_id, event_type, partner_id, user_id, occurred_at_ms, outcome)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::int8[], $6::text[])",
        )
        .bind(events.iter().map(|event| event.event_id).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.event_type).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.partner_id.map(|partner| partner.uuid())).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.user_id.uuid()).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.occurred_at.millis()).collect::<Vec<_>>())
        .bind(events.iter().map(|event| event.outcome_json.clone()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Pledges and their holders, written with the entries that fund them.
async fn write_pledges(
    tx: &mut PgConnection,
    pledges: &[openforest_core::Pledge],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO pledges (pledge_id, item_id, planter_id, group_id, units, grams, season,
                              certificate_no, created_at_ms)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::int8[], $6::int8[],
                              $7::text[], $8::text[], $9::int8[])",
    )
    .bind(pledges.iter().map(|p| p.pledge_id.uuid()).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.item_id.uuid()).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.planter_id.uuid()).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.group_id.map(|group| group.uuid())).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| i64::try_from(p.units).unwrap_or(i64::MAX)).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.grams.as_i64()).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.season.clone()).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.certificate_no.clone()).collect::<Vec<_>>())
    .bind(pledges.iter().map(|p| p.created_at.millis()).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    let holders: Vec<(uuid::Uuid, uuid::Uuid, i64)> = pledges
        .iter()
        .flat_map(|p| {
            p.holders
                .iter()
                .map(|h| (h.user_id.uuid(), p.pledge_id.uuid(), h.grams.as_i64()))
        })
        .collect();
    sqlx::query(
        "INSERT INTO pledge_holders (user_id, pledge_id, grams)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[])",
    )
    .bind(holders.iter().map(|h| h.0).collect::<Vec<_>>())
    .bind(holders.iter().map(|h| h.1).collect::<Vec<_>>())
    .bind(holders.iter().map(|h| h.2).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;
    Ok(())
}
