//! SQLite queries for props: inventory items, effects in force, task rewards.

use crate::error::StoreError;
use crate::model::{PropEffect, PropStock};
use openforest_core::{Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

fn effect_row(row: &Row<'_>) -> rusqlite::Result<PropEffect> {
    Ok(PropEffect {
        user_id: UserId(row.get(0)?),
        kind: row.get(1)?,
        active_from: Timestamp(row.get(2)?),
        active_until: Timestamp(row.get(3)?),
        multiplier_permille: row.get(4)?,
    })
}

pub(super) fn grant_props(
    conn: &mut Connection,
    user_id: UserId,
    kind: &str,
    count: u32,
    source: &str,
    expires_at: Timestamp,
    at: Timestamp,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO prop_items (user_id, item_id, kind, source, expires_at_ms, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for _ in 0..count {
            insert.execute(params![
                user_id.uuid(),
                crate::new_id(at),
                kind,
                source,
                expires_at.millis(),
                at.millis()
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn props(
    conn: &Connection,
    user_id: UserId,
    now: Timestamp,
) -> Result<(Vec<PropStock>, Vec<PropEffect>), StoreError> {
    let stock = conn
        .prepare_cached(
            "SELECT kind, count(*), min(expires_at_ms) FROM prop_items
             WHERE user_id = ?1 AND used_at_ms IS NULL AND expires_at_ms > ?2
             GROUP BY kind ORDER BY kind",
        )?
        .query_map(params![user_id.uuid(), now.millis()], |row| {
            Ok(PropStock {
                kind: row.get(0)?,
                count: row.get(1)?,
                next_expiry: Timestamp(row.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let effects = prop_effects(conn, &[user_id], now)?;
    Ok((stock, effects))
}

pub(super) fn prop_effects(
    conn: &Connection,
    users: &[UserId],
    now: Timestamp,
) -> Result<Vec<PropEffect>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, kind, active_from_ms, active_until_ms, multiplier_permille FROM prop_effects
         WHERE user_id = ?1 AND active_until_ms > ?2",
    )?;
    let mut effects = Vec::new();
    for user in users {
        for effect in stmt.query_map(params![user.uuid(), now.millis()], effect_row)? {
            effects.push(effect?);
        }
    }
    Ok(effects)
}

/// Every prop the user raised, whenever (one row per kind: the last one).
pub(super) fn raised_effects(conn: &Connection, user: UserId) -> rusqlite::Result<Vec<PropEffect>> {
    conn.prepare_cached(
        "SELECT user_id, kind, active_from_ms, active_until_ms, multiplier_permille FROM prop_effects
         WHERE user_id = ?1",
    )?
    .query_map(params![user.uuid()], effect_row)?
    .collect()
}

/// The soonest-expiring usable item of a kind.
fn next_item(
    conn: &Connection,
    user_id: UserId,
    kind: &str,
    now: Timestamp,
) -> rusqlite::Result<Option<Uuid>> {
    conn.prepare_cached(
        "SELECT item_id FROM prop_items
         WHERE user_id = ?1 AND kind = ?2 AND used_at_ms IS NULL AND expires_at_ms > ?3
         ORDER BY expires_at_ms, item_id LIMIT 1",
    )?
    .query_row(params![user_id.uuid(), kind, now.millis()], |row| {
        row.get(0)
    })
    .optional()
}

pub(super) fn use_prop(
    conn: &mut Connection,
    user_id: UserId,
    kind: &str,
    duration_ms: i64,
    multiplier_permille: u32,
    now: Timestamp,
) -> Result<Option<PropEffect>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(item) = next_item(&tx, user_id, kind, now)? else {
        return Ok(None);
    };
    tx.prepare_cached("UPDATE prop_items SET used_at_ms = ?3 WHERE user_id = ?1 AND item_id = ?2")?
        .execute(params![user_id.uuid(), item, now.millis()])?;
    let current: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT active_from_ms, active_until_ms FROM prop_effects WHERE user_id = ?1 AND kind = ?2",
        )?
        .query_row(params![user_id.uuid(), kind], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (from, until) = match current {
        Some((from, until)) if until > now.millis() => (from, until + duration_ms),
        _ => (now.millis(), now.millis() + duration_ms),
    };
    tx.prepare_cached(
        "INSERT INTO prop_effects (user_id, kind, active_from_ms, active_until_ms, multiplier_permille)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id, kind) DO UPDATE SET active_from_ms = excluded.active_from_ms,
             active_until_ms = excluded.active_until_ms, multiplier_permille = excluded.multiplier_permille",
    )?
    .execute(params![user_id.uuid(), kind, from, until, multiplier_permille])?;
    tx.commit()?;
    Ok(Some(PropEffect {
        user_id,
        kind: kind.to_string(),
        active_from: Timestamp(from),
        active_until: Timestamp(until),
        multiplier_permille,
    }))
}

pub(super) fn gift_prop(
    conn: &mut Connection,
    from: UserId,
    to: UserId,
    kind: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(item) = next_item(&tx, from, kind, now)? else {
        return Ok(false);
    };
    let expires_at: i64 = tx
        .prepare_cached("SELECT expires_at_ms FROM prop_items WHERE user_id = ?1 AND item_id = ?2")?
        .query_row(params![from.uuid(), item], |row| row.get(0))?;
    tx.prepare_cached("DELETE FROM prop_items WHERE user_id = ?1 AND item_id = ?2")?
        .execute(params![from.uuid(), item])?;
    tx.prepare_cached(
        "INSERT INTO prop_items (user_id, item_id, kind, source, expires_at_ms, created_at_ms)
         VALUES (?1, ?2, ?3, 'gift', ?4, ?5)",
    )?
    .execute(params![to.uuid(), item, kind, expires_at, now.millis()])?;
    tx.prepare_cached(
        "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
         VALUES (?1, ?2, 'prop_gifted', ?3, NULL, 0, ?4)",
    )?
    .execute(params![
        to.uuid(),
        crate::new_id(now),
        from.uuid(),
        now.millis()
    ])?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn reward_task(
    conn: &Connection,
    user_id: UserId,
    task: &str,
    period: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO task_rewards (user_id, task, period, created_at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![user_id.uuid(), task, period, at.millis()])?
        > 0)
}

pub(super) fn task_rewarded(
    conn: &Connection,
    user_id: UserId,
    task: &str,
    periods: &[String],
) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM task_rewards WHERE user_id = ?1 AND task = ?2 AND period = ?3",
    )?;
    for period in periods {
        if stmt.exists(params![user_id.uuid(), task, period])? {
            return Ok(true);
        }
    }
    Ok(false)
}
