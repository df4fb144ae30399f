//! The SQLite writer thread: drains its lane in batches and applies each batch in one
//! `BEGIN IMMEDIATE` transaction.

use crate::batch::{self, ChangeSet, Loaded, Reply, StoredIdempotency};
use crate::error::CommandError;
use crate::model::Envelope;
use crate::writer::{Job, observe_batch};
use openforest_core::{Clock, Timestamp};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::mpsc;

pub(super) fn spawn(
    conn: Connection,
    lane: mpsc::Receiver<Job>,
    batch_max: usize,
    clock: Arc<dyn Clock>,
    events_wanted: Arc<AtomicBool>,
    entry_ids: Arc<crate::EntryIds>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("openforest-writer".into())
        .spawn(move || run(conn, lane, batch_max, clock, events_wanted, &entry_ids))
}

/// Runs until the lane is closed and empty: every queued command is committed and answered.
fn run(
    mut conn: Connection,
    mut lane: mpsc::Receiver<Job>,
    batch_max: usize,
    clock: Arc<dyn Clock>,
    events_wanted: Arc<AtomicBool>,
    entry_ids: &crate::EntryIds,
) {
    let mut jobs = Vec::with_capacity(batch_max);
    while lane.blocking_recv_many(&mut jobs, batch_max) > 0 {
        let started = Instant::now();
        let now = clock.now();
        let events = events_wanted.load(Ordering::Acquire);
        let envelopes: Vec<&Envelope> = jobs.iter().map(|job| &job.envelope).collect();
        let replies = match run_batch(&mut conn, &envelopes, now, events, entry_ids) {
            Ok(replies) => replies,
            // A database fault (not a rejection) sinks the whole transaction; retry each
            // command alone so one poison command cannot fail the others.
            Err(err) => {
                tracing::warn!(error = %err, commands = envelopes.len(), "writer batch failed; retrying one by one");
                envelopes
                    .iter()
                    .map(|envelope| {
                        match run_batch(&mut conn, &[*envelope], now, events, entry_ids) {
                            Ok(mut replies) => replies
                                .pop()
                                .unwrap_or_else(|| Err(CommandError::Storage("no reply".into()))),
                            Err(err) => Err(CommandError::Storage(err.to_string())),
                        }
                    })
                    .collect()
            }
        };
        drop(envelopes);
        observe_batch(jobs.len(), started);
        for (job, reply) in jobs.drain(..).zip(replies) {
            // The caller may have gone away (client disconnected); the effect stands.
            let _ = job.reply.send(reply);
        }
    }
}

fn corrupt(reason: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, reason.into())
}

/// Loads, decides and writes one batch in one transaction, returning one reply per command.
pub(super) fn run_batch(
    conn: &mut Connection,
    envelopes: &[&Envelope],
    now: Timestamp,
    events_wanted: bool,
    entry_ids: &crate::EntryIds,
) -> rusqlite::Result<Vec<Reply>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let plan = batch::plan(envelopes);
    let loaded = load(&tx, plan)?;
    let (changes, replies) = batch::decide(envelopes, loaded, now, events_wanted, || {
        entry_ids.next(now)
    });
    write(&tx, &changes)?;
    tx.commit()?;
    Ok(replies)
}

/// Reads every row the batch's commands name.
fn load(tx: &rusqlite::Transaction<'_>, plan: batch::Plan) -> rusqlite::Result<Loaded> {
    let mut loaded = Loaded::default();
    {
        let mut select = tx.prepare_cached(
            "SELECT grams FROM balances WHERE owner_id = ?1 AND kind = ?2 AND account_id = ?3",
        )?;
        for account in plan.accounts {
            let key = account.key();
            let grams: Option<i64> = select
                .query_row(params![key.owner, key.kind.code(), key.id], |row| {
                    row.get(0)
                })
                .optional()?;
            if let Some(grams) = grams {
                loaded.balances.push((account, grams));
            }
        }
    }
    {
        let mut select = tx.prepare_cached(
            "SELECT fingerprint, outcome FROM idempotency WHERE scope = ?1 AND key = ?2",
        )?;
        for (scope, key) in plan.idempotency_keys {
            let stored: Option<(Vec<u8>, String)> = select
                .query_row(params![scope, key], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()?;
            if let Some((fingerprint, json)) = stored {
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
    }
    {
        let mut select = tx.prepare_cached(
            "SELECT actions, quantity_milli, grams FROM usage WHERE user_id = ?1 AND action = ?2 AND period = ?3",
        )?;
        for key in plan.usage_keys {
            let row: Option<(u32, i64, i64)> = select
                .query_row(
                    params![key.user_id.uuid(), key.action.as_str(), key.period.as_str()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?;
            if let Some((actions, quantity_milli, grams)) = row {
                loaded.usage.push((
                    key,
                    crate::model::usage_from_row(actions, quantity_milli, grams),
                ));
            }
        }
    }
    {
        let mut select = tx.prepare_cached("SELECT 1 FROM dedup_keys WHERE dedup_key = ?1")?;
        for key in plan.dedup_keys {
            if select.exists(params![key.as_str()])? {
                loaded.dedup.push(key);
            }
        }
    }
    loaded.digests = super::digest::load(tx, &plan.digest_owners)?;
    for ball in &plan.balls {
        loaded
            .balls
            .extend(super::game::ball_facts(tx, ball.owner_id, ball.ball_id)?);
    }
    for (user, friend) in &plan.friend_pairs {
        if super::game::are_friends(tx, *user, *friend)? {
            loaded.friendships.push((*user, *friend));
        }
    }
    for user in &plan.prop_users {
        loaded
            .effects
            .extend(super::props::raised_effects(tx, *user)?);
    }
    if !plan.steal_keys.is_empty() {
        let mut select = tx.prepare_cached(
            "SELECT 1 FROM steals WHERE owner_id = ?1 AND ball_id = ?2 AND thief_id = ?3 AND take = ?4",
        )?;
        for key in plan.steal_keys {
            if select.exists(params![
                key.owner_id.uuid(),
                key.ball_id.uuid(),
                key.thief_id.uuid(),
                key.take
            ])? {
                loaded.steals.push(key);
            }
        }
    }
    Ok(loaded)
}

fn write(tx: &rusqlite::Transaction<'_>, changes: &ChangeSet) -> rusqlite::Result<()> {
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO journal (user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                                  to_owner, to_kind, to_id, grams, reference)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for entry in &changes.entries {
            let (from, to) = (entry.from.key(), entry.to.key());
            insert.execute(params![
                entry.user_id.uuid(),
                entry.entry_id.uuid(),
                entry.at.millis(),
                entry.kind.code(),
                from.owner,
                from.kind.code(),
                from.id,
                to.owner,
                to.kind.code(),
                to.id,
                entry.grams.as_i64(),
                entry.reference,
            ])?;
        }
        // Credits may create the row; debits always find it (the book refuses to debit an
        // account it did not load), and a negative proposed row would trip the CHECK.
        let mut credit = tx.prepare_cached(
            "INSERT INTO balances (owner_id, kind, account_id, grams) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (owner_id, kind, account_id) DO UPDATE SET grams = grams + excluded.grams",
        )?;
        let mut debit = tx.prepare_cached(
            "UPDATE balances SET grams = grams + ?4 WHERE owner_id = ?1 AND kind = ?2 AND account_id = ?3",
        )?;
        for (account, change) in &changes.deltas {
            let key = account.key();
            let statement = if *change < 0 { &mut debit } else { &mut credit };
            statement.execute(params![key.owner, key.kind.code(), key.id, change])?;
        }
        let mut remember = tx.prepare_cached(
            "INSERT INTO idempotency (scope, key, fingerprint, outcome, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for record in &changes.idempotency {
            remember.execute(params![
                record.scope,
                record.key,
                &record.fingerprint[..],
                record.outcome_json,
                record.created_at.millis()
            ])?;
        }
    }
    let mut insert_ball = tx.prepare_cached(
        "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id, action,
                            methodology, methodology_version, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for ball in &changes.balls {
        insert_ball.execute(params![
            ball.user_id.uuid(),
            ball.ball_id.uuid(),
            ball.grams.as_i64(),
            ball.ripens_at.millis(),
            ball.expires_at.millis(),
            ball.partner_id.uuid(),
            ball.action,
            ball.methodology,
            ball.methodology_version,
            ball.created_at.millis(),
        ])?;
    }
    let mut upsert_usage = tx.prepare_cached(
        "INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, action, period) DO UPDATE
         SET actions = excluded.actions, quantity_milli = excluded.quantity_milli, grams = excluded.grams",
    )?;
    for (key, usage) in &changes.usage {
        upsert_usage.execute(params![
            key.user_id.uuid(),
            key.action.as_str(),
            key.period.as_str(),
            usage.actions,
            i64::try_from(usage.quantity_milli).unwrap_or(i64::MAX),
            usage.grams.as_i64(),
        ])?;
    }
    let mut insert_dedup = tx.prepare_cached(
        "INSERT INTO dedup_keys (dedup_key, user_id, created_at_ms) VALUES (?1, ?2, ?3)",
    )?;
    for (key, user_id) in &changes.dedup {
        let created_at = changes
            .entries
            .first()
            .map(|entry| entry.at.millis())
            .unwrap_or(0);
        insert_dedup.execute(params![key.as_str(), user_id.uuid(), created_at])?;
    }
    if !changes.steals.is_empty() {
        let mut insert_steal = tx.prepare_cached(
            "INSERT INTO steals (owner_id, ball_id, thief_id, take, grams, at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (key, grams, at) in &changes.steals {
            insert_steal.execute(params![
                key.owner_id.uuid(),
                key.ball_id.uuid(),
                key.thief_id.uuid(),
                key.take,
                grams.as_i64(),
                at.millis()
            ])?;
        }
    }
    write_pledges(tx, &changes.pledges)?;
    super::species::write_draws(tx, &changes.species_draws)?;
    // After the balances and balls: a rebuild reads what this batch wrote.
    super::digest::write(tx, &changes.digests)?;
    if !changes.feed.is_empty() {
        let mut insert_feed = tx.prepare_cached(
            "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for item in &changes.feed {
            insert_feed.execute(params![
                item.user_id.uuid(),
                item.item_id,
                item.kind,
                item.actor_id.map(|user| user.uuid()),
                item.ball_id.map(|ball| ball.uuid()),
                item.grams.as_i64(),
                item.at.millis()
            ])?;
        }
    }
    let mut insert_event = tx.prepare_cached(
        "INSERT INTO webhook_events (event_id, event_type, partner_id, user_id, occurred_at_ms, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for event in &changes.events {
        insert_event.execute(params![
            event.event_id,
            event.event_type,
            event.partner_id.map(|partner| partner.uuid()),
            event.user_id.uuid(),
            event.occurred_at.millis(),
            event.outcome_json,
        ])?;
    }
    Ok(())
}

/// Pledges and their holders, written with the entries that fund them.
fn write_pledges(
    tx: &rusqlite::Transaction<'_>,
    pledges: &[openforest_core::Pledge],
) -> rusqlite::Result<()> {
    if pledges.is_empty() {
        return Ok(());
    }
    let mut insert_pledge = tx.prepare_cached(
        "INSERT INTO pledges (pledge_id, item_id, planter_id, group_id, units, grams, season,
                              certificate_no, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut insert_holder = tx.prepare_cached(
        "INSERT INTO pledge_holders (user_id, pledge_id, grams) VALUES (?1, ?2, ?3)",
    )?;
    for pledge in pledges {
        insert_pledge.execute(params![
            pledge.pledge_id.uuid(),
            pledge.item_id.uuid(),
            pledge.planter_id.uuid(),
            pledge.group_id.map(|group| group.uuid()),
            i64::try_from(pledge.units).unwrap_or(i64::MAX),
            pledge.grams.as_i64(),
            pledge.season,
            pledge.certificate_no,
            pledge.created_at.millis()
        ])?;
        for holder in &pledge.holders {
            insert_holder.execute(params![
                holder.user_id.uuid(),
                pledge.pledge_id.uuid(),
                holder.grams.as_i64()
            ])?;
        }
    }
    Ok(())
}
