//! Bulk seeding on SQLite: one connection of its own, one `IMMEDIATE` transaction per chunk,
//! cached prepared statements, rows in key order so each B-tree grows at its end (or, for a
//! thief's wallet and counters, lands on pages the cache holds). The writer thread is idle
//! while a benchmark seeds; were it not, it would wait on the lock (busy timeout) rather than
//! fail.

use super::{configure, configure_writer};
use crate::digest::ForestDigest;
use crate::error::StoreError;
use crate::seed::{SeedChunk, SeedMovementKind, SeedReport, SequentialIds, Settlement};
use openforest_core::{Account, EntryKind};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use std::path::Path;
use uuid::Uuid;

pub(super) fn seed_world(path: &Path, chunk: &SeedChunk) -> Result<SeedReport, StoreError> {
    let settlement = chunk.settle()?;
    let mut conn = Connection::open(path)?;
    configure(&mut conn)?;
    configure_writer(&mut conn)?;
    // A chunk's rows touch more pages than the writer's cache holds; keep them all in memory
    // until the commit.
    conn.execute_batch("PRAGMA cache_size = -262144;")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = SeedReport::default();
    write_users(&tx, chunk, &mut report)?;
    write_friendships(&tx, chunk, &mut report)?;
    write_balls(&tx, chunk, &settlement, &mut report)?;
    write_journal(&tx, chunk, &mut report)?;
    write_takes(&tx, chunk, &settlement, &mut report)?;
    write_digests(&tx, chunk, &settlement)?;
    tx.commit()?;
    Ok(report)
}

fn write_users(
    tx: &Transaction<'_>,
    chunk: &SeedChunk,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let created_at = chunk.created_at.millis();
    let mut users = chunk.users.iter().collect::<Vec<_>>();
    users.sort_by_key(|user| user.user_id);
    let mut insert_user = tx.prepare_cached(
        "INSERT INTO users (user_id, handle, role, password_hash, created_at_ms)
         VALUES (?1, ?2, 'user', NULL, ?3)",
    )?;
    for user in &users {
        insert_user.execute(params![
            user.user_id.uuid(),
            user.handle.as_str(),
            created_at
        ])?;
    }
    users.sort_by(|a, b| a.handle.as_str().cmp(b.handle.as_str()));
    let mut insert_handle =
        tx.prepare_cached("INSERT INTO user_handles (handle, user_id) VALUES (?1, ?2)")?;
    for user in &users {
        insert_handle.execute(params![user.handle.as_str(), user.user_id.uuid()])?;
    }
    report.users = users.len() as u64;
    users.sort_by_key(|user| user.token_hash);
    let mut insert_session = tx.prepare_cached(
        "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for user in &users {
        insert_session.execute(params![
            &user.token_hash[..],
            user.user_id.uuid(),
            created_at,
            chunk.session_expires_at.millis()
        ])?;
    }
    report.sessions = users.len() as u64;
    Ok(())
}

fn write_friendships(
    tx: &Transaction<'_>,
    chunk: &SeedChunk,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let mut rows: Vec<(Uuid, Uuid)> = chunk
        .friendships
        .iter()
        .map(|(user, friend)| (user.uuid(), friend.uuid()))
        .collect();
    rows.sort_unstable();
    let mut befriend = tx.prepare_cached(
        "INSERT INTO friendships (user_id, friend_id, created_at_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for (user, friend) in rows {
        report.friendship_rows +=
            befriend.execute(params![user, friend, chunk.created_at.millis()])? as u64;
    }
    Ok(())
}

/// The balls and their balance rows, holding what the movements left.
fn write_balls(
    tx: &Transaction<'_>,
    chunk: &SeedChunk,
    settlement: &Settlement,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let mut balls: Vec<usize> = (0..chunk.balls.len()).collect();
    balls.sort_by_key(|&n| (chunk.balls[n].owner_id, chunk.balls[n].ball_id));
    let mut insert_ball = tx.prepare_cached(
        "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id,
                            action, methodology, methodology_version, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for &n in &balls {
        let ball = &chunk.balls[n];
        insert_ball.execute(params![
            ball.owner_id.uuid(),
            ball.ball_id.uuid(),
            ball.grams.as_i64(),
            ball.ripens_at.millis(),
            ball.expires_at.millis(),
            chunk.partner_id.uuid(),
            chunk.action,
            chunk.methodology,
            chunk.methodology_version,
            ball.created_at.millis()
        ])?;
        report.balls += 1;
        report.grams += ball.grams.get();
    }
    // Balances are keyed account first (migration 0005): ball ids order them.
    balls.sort_by_key(|&n| chunk.balls[n].ball_id);
    let mut insert_balance = tx.prepare_cached(
        "INSERT INTO balances (owner_id, kind, account_id, grams) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for &n in &balls {
        let ball = &chunk.balls[n];
        let key = Account::Ball {
            user_id: ball.owner_id,
            ball_id: ball.ball_id,
        }
        .key();
        insert_balance.execute(params![
            key.owner,
            key.kind.code(),
            key.id,
            settlement.ball_grams[n].as_i64()
        ])?;
    }
    Ok(())
}

/// The chunk's balls added to their owners' forest digests.
fn write_digests(
    tx: &Transaction<'_>,
    chunk: &SeedChunk,
    settlement: &Settlement,
) -> Result<(), StoreError> {
    let mut select = tx.prepare_cached("SELECT balls FROM forest_digests WHERE user_id = ?1")?;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO forest_digests (user_id, balls) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET balls = excluded.balls",
    )?;
    for (owner, digest) in settlement.digests(chunk) {
        let stored: Option<Vec<u8>> = select
            .query_row(params![owner.uuid()], |row| row.get(0))
            .optional()?;
        let digest = match stored {
            Some(bytes) => ForestDigest::decode(&bytes)
                .map_err(StoreError::Database)?
                .merged(digest),
            None => digest,
        };
        upsert.execute(params![owner.uuid(), digest.encode()])?;
    }
    Ok(())
}

/// Every ball's issuance entry, then the entries of its movements in time order, user by user.
fn write_journal(
    tx: &Transaction<'_>,
    chunk: &SeedChunk,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let mut insert_entry = tx.prepare_cached(
        "INSERT INTO journal (user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                              to_owner, to_kind, to_id, grams, reference)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL)",
    )?;
    let mut entry_ids = SequentialIds::new(chunk.created_at);
    for entry in chunk.entries() {
        let (from, to) = (entry.from.key(), entry.to.key());
        insert_entry.execute(params![
            entry.user_id.uuid(),
            entry_ids.next_id(),
            entry.at.millis(),
            entry.kind.code(),
            from.owner,
            from.kind.code(),
            from.id,
            to.owner,
            to.kind.code(),
            to.id,
            entry.grams.as_i64()
        ])?;
        report.entries += 1;
        match entry.kind {
            EntryKind::Collect => report.collects += 1,
            EntryKind::Steal => report.steals += 1,
            EntryKind::Expire => report.expiries += 1,
            _ => {}
        }
    }
    Ok(())
}

/// What the movements leave besides the journal: wallets, steals, the owners' feed, usage.
fn write_takes(
    tx: &Transaction<'_>,
    chunk: &SeedChunk,
    settlement: &Settlement,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let mut credit = tx.prepare_cached(
        "INSERT INTO balances (owner_id, kind, account_id, grams) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (owner_id, kind, account_id) DO UPDATE SET grams = grams + excluded.grams",
    )?;
    for (user_id, grams) in &settlement.wallets {
        let key = Account::Wallet { user_id: *user_id }.key();
        credit.execute(params![key.owner, key.kind.code(), key.id, grams])?;
    }
    let mut steals: Vec<(Uuid, Uuid, Uuid, u8, i64, i64)> = chunk
        .movements
        .iter()
        .filter_map(|movement| match movement.kind {
            SeedMovementKind::Steal { thief_id, take } => Some((
                movement.owner_id.uuid(),
                movement.ball_id.uuid(),
                thief_id.uuid(),
                take,
                movement.grams.as_i64(),
                movement.at.millis(),
            )),
            _ => None,
        })
        .collect();
    steals.sort_unstable();
    let mut insert_steal = tx.prepare_cached(
        "INSERT INTO steals (owner_id, ball_id, thief_id, take, grams, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (owner, ball, thief, take, grams, at) in steals {
        insert_steal.execute(params![owner, ball, thief, take, grams, at])?;
    }
    let mut insert_feed = tx.prepare_cached(
        "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for item in &settlement.feed {
        insert_feed.execute(params![
            item.user_id.uuid(),
            item.item_id,
            item.kind,
            item.actor_id.uuid(),
            item.ball_id.uuid(),
            item.grams.as_i64(),
            item.at.millis()
        ])?;
        report.feed_items += 1;
    }
    // Usage is keyed period first (migration 0005).
    let mut usage: Vec<_> = settlement.usage.iter().collect();
    usage.sort_by(|a, b| {
        (&a.key.period, &a.key.action, a.key.user_id).cmp(&(
            &b.key.period,
            &b.key.action,
            b.key.user_id,
        ))
    });
    let mut count = tx.prepare_cached(
        "INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, action, period) DO UPDATE
         SET actions = actions + excluded.actions,
             quantity_milli = quantity_milli + excluded.quantity_milli,
             grams = grams + excluded.grams",
    )?;
    for seeded in usage {
        count.execute(params![
            seeded.key.user_id.uuid(),
            seeded.key.action.as_str(),
            seeded.key.period.as_str(),
            seeded.usage.actions,
            i64::try_from(seeded.usage.quantity_milli).unwrap_or(i64::MAX),
            seeded.usage.grams.as_i64()
        ])?;
        report.usage_rows += 1;
    }
    Ok(())
}
