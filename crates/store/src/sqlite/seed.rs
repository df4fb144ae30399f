//! Bulk seeding on SQLite: one connection of its own, one `IMMEDIATE` transaction per chunk,
//! cached prepared statements, rows in key order so each B-tree grows at its end. The writer
//! thread is idle while a benchmark seeds; were it not, it would wait on the lock (busy
//! timeout) rather than fail.

use super::{configure, configure_writer};
use crate::error::StoreError;
use crate::seed::{SeedChunk, SeedReport, SequentialIds};
use openforest_core::{Account, EntryKind};
use rusqlite::{Connection, TransactionBehavior, params};
use std::path::Path;
use uuid::Uuid;

pub(super) fn seed_world(path: &Path, chunk: &SeedChunk) -> Result<SeedReport, StoreError> {
    let mut conn = Connection::open(path)?;
    configure(&mut conn)?;
    configure_writer(&mut conn)?;
    // A chunk's rows touch more pages than the writer's cache holds; keep them all in memory
    // until the commit.
    conn.execute_batch("PRAGMA cache_size = -262144;")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = SeedReport::default();
    let created_at = chunk.created_at.millis();

    {
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
    }

    {
        let mut rows: Vec<(Uuid, Uuid)> = chunk
            .friendships
            .iter()
            .flat_map(|(a, b)| [(a.uuid(), b.uuid()), (b.uuid(), a.uuid())])
            .collect();
        rows.sort_unstable();
        let mut befriend = tx.prepare_cached(
            "INSERT INTO friendships (user_id, friend_id, created_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?;
        for (user, friend) in rows {
            report.friendship_rows += befriend.execute(params![user, friend, created_at])? as u64;
        }
    }

    {
        let mut balls = chunk.balls.iter().collect::<Vec<_>>();
        balls.sort_by_key(|ball| (ball.owner_id, ball.ball_id));
        let mut insert_ball = tx.prepare_cached(
            "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id,
                                action, methodology, methodology_version, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?;
        for ball in &balls {
            insert_ball.execute(params![
                ball.owner_id.uuid(),
                ball.ball_id.uuid(),
                ball.grams.as_i64(),
                chunk.ripens_at.millis(),
                chunk.expires_at.millis(),
                chunk.partner_id.uuid(),
                chunk.action,
                chunk.methodology,
                chunk.methodology_version,
                created_at
            ])?;
        }
        // Balances are keyed account first (migration 0005): ball ids order them.
        balls.sort_by_key(|ball| ball.ball_id);
        let mut insert_balance = tx.prepare_cached(
            "INSERT INTO balances (owner_id, kind, account_id, grams) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut insert_entry = tx.prepare_cached(
            "INSERT INTO journal (user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                                  to_owner, to_kind, to_id, grams, reference)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL)",
        )?;
        let issuance = Account::Issuance {
            partner_id: chunk.partner_id,
        }
        .key();
        let mut entry_ids = SequentialIds::new(chunk.created_at);
        for ball in &balls {
            let to = Account::Ball {
                user_id: ball.owner_id,
                ball_id: ball.ball_id,
            }
            .key();
            insert_balance.execute(params![
                to.owner,
                to.kind.code(),
                to.id,
                ball.grams.as_i64()
            ])?;
            insert_entry.execute(params![
                ball.owner_id.uuid(),
                entry_ids.next_id(),
                created_at,
                EntryKind::Action.code(),
                issuance.owner,
                issuance.kind.code(),
                issuance.id,
                to.owner,
                to.kind.code(),
                to.id,
                ball.grams.as_i64()
            ])?;
            report.balls += 1;
            report.entries += 1;
            report.grams += ball.grams.get();
        }
    }
    tx.commit()?;
    Ok(report)
}
