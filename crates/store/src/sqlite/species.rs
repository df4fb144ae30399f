//! SQLite queries for Amazing Species: card counts, logged draws, set rewards. Each change is
//! one IMMEDIATE transaction, so SQLite's single write lock serialises concurrent gifts.

use crate::error::StoreError;
use crate::species::{
    CardGift, FEED_CARD_GIFTED, FEED_CARD_GIVEN, SetRewardGiven, SpeciesCard, SpeciesDraw, seed_of,
};
use openforest_core::{Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

const DRAW_COLUMNS: &str = "draw_id, user_id, reason, seed, species_id, pool, at_ms";

fn draw_row(row: &Row<'_>) -> rusqlite::Result<SpeciesDraw> {
    Ok(SpeciesDraw {
        draw_id: row.get(0)?,
        user_id: UserId(row.get(1)?),
        reason: row.get(2)?,
        seed: seed_of(&row.get::<_, Vec<u8>>(3)?),
        species_id: row.get(4)?,
        pool: row.get(5)?,
        at: Timestamp(row.get(6)?),
    })
}

fn add_card(
    tx: &Transaction<'_>,
    user_id: UserId,
    species_id: &str,
    at: Timestamp,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO species_cards (user_id, species_id, count, first_at_ms) VALUES (?1, ?2, 1, ?3)
         ON CONFLICT (user_id, species_id) DO UPDATE SET count = count + 1",
    )?
    .execute(params![user_id.uuid(), species_id, at.millis()])?;
    Ok(())
}

/// Draws that ride with the writer's batch (a planting's card): each logged once, and its card
/// added only if the log did not hold it yet.
pub(super) fn write_draws(
    tx: &rusqlite::Transaction<'_>,
    draws: &[SpeciesDraw],
) -> rusqlite::Result<()> {
    for draw in draws {
        if insert_draw(tx, draw)? {
            add_card(tx, draw.user_id, &draw.species_id, draw.at)?;
        }
    }
    Ok(())
}

fn insert_draw(tx: &rusqlite::Transaction<'_>, draw: &SpeciesDraw) -> rusqlite::Result<bool> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO species_draws (draw_id, user_id, reason, seed, species_id, pool, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            draw.draw_id,
            draw.user_id.uuid(),
            draw.reason,
            draw.seed.as_slice(),
            draw.species_id,
            draw.pool,
            draw.at.millis()
        ])?
        > 0)
}

pub(super) fn record_species_draw(
    conn: &mut Connection,
    draw: &SpeciesDraw,
) -> Result<(SpeciesDraw, bool), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = insert_draw(&tx, draw)?;
    if !inserted {
        let logged = draw_for(&tx, draw.user_id, &draw.reason)?
            .ok_or_else(|| StoreError::Database("a logged draw vanished".into()))?;
        return Ok((logged, false));
    }
    add_card(&tx, draw.user_id, &draw.species_id, draw.at)?;
    tx.commit()?;
    Ok((draw.clone(), true))
}

fn draw_for(
    conn: &Connection,
    user_id: UserId,
    reason: &str,
) -> rusqlite::Result<Option<SpeciesDraw>> {
    conn.prepare_cached(&format!(
        "SELECT {DRAW_COLUMNS} FROM species_draws WHERE user_id = ?1 AND reason = ?2"
    ))?
    .query_row(params![user_id.uuid(), reason], draw_row)
    .optional()
}

pub(super) fn species_draw(
    conn: &Connection,
    user_id: UserId,
    reason: &str,
) -> Result<Option<SpeciesDraw>, StoreError> {
    Ok(draw_for(conn, user_id, reason)?)
}

pub(super) fn species_draws(
    conn: &Connection,
    user_id: UserId,
    limit: u32,
) -> Result<Vec<SpeciesDraw>, StoreError> {
    let rows = conn
        .prepare_cached(&format!(
            "SELECT {DRAW_COLUMNS} FROM species_draws WHERE user_id = ?1
             ORDER BY at_ms DESC, draw_id DESC LIMIT ?2"
        ))?
        .query_map(params![user_id.uuid(), limit], draw_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn species_cards(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<SpeciesCard>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT species_id, count, first_at_ms FROM species_cards WHERE user_id = ?1
             ORDER BY species_id",
        )?
        .query_map(params![user_id.uuid()], |row| {
            Ok(SpeciesCard {
                species_id: row.get(0)?,
                count: row.get(1)?,
                first_at: Timestamp(row.get(2)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn feed_line(
    tx: &Transaction<'_>,
    user_id: UserId,
    kind: &str,
    actor: UserId,
    species_id: &str,
    now: Timestamp,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms, species_id)
         VALUES (?1, ?2, ?3, ?4, NULL, 0, ?5, ?6)",
    )?
    .execute(params![
        user_id.uuid(),
        crate::new_id(now),
        kind,
        actor.uuid(),
        now.millis(),
        species_id
    ])?;
    Ok(())
}

pub(super) fn gift_species_card(
    conn: &mut Connection,
    from: UserId,
    to: UserId,
    species_id: &str,
    now: Timestamp,
) -> Result<CardGift, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let held: Option<u32> = tx
        .prepare_cached("SELECT count FROM species_cards WHERE user_id = ?1 AND species_id = ?2")?
        .query_row(params![from.uuid(), species_id], |row| row.get(0))
        .optional()?;
    match held {
        None => return Ok(CardGift::NotOwned),
        Some(count) if count < 2 => return Ok(CardGift::LastCopy),
        Some(_) => {}
    }
    tx.prepare_cached(
        "UPDATE species_cards SET count = count - 1 WHERE user_id = ?1 AND species_id = ?2",
    )?
    .execute(params![from.uuid(), species_id])?;
    add_card(&tx, to, species_id, now)?;
    feed_line(&tx, to, FEED_CARD_GIFTED, from, species_id, now)?;
    feed_line(&tx, from, FEED_CARD_GIVEN, to, species_id, now)?;
    tx.commit()?;
    Ok(CardGift::Given)
}

pub(super) fn reward_species_set(
    conn: &mut Connection,
    user_id: UserId,
    reward: &SetRewardGiven,
    expires_at: Timestamp,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let first =
        tx.prepare_cached(
            "INSERT INTO species_set_rewards (user_id, set_id, prop, count, at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            user_id.uuid(),
            reward.set_id,
            reward.prop,
            reward.count,
            reward.at.millis()
        ])? > 0;
    if !first {
        return Ok(false);
    }
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO prop_items (user_id, item_id, kind, source, expires_at_ms, created_at_ms)
             VALUES (?1, ?2, ?3, 'species_set', ?4, ?5)",
        )?;
        for _ in 0..reward.count {
            insert.execute(params![
                user_id.uuid(),
                crate::new_id(reward.at),
                reward.prop,
                expires_at.millis(),
                reward.at.millis()
            ])?;
        }
    }
    tx.commit()?;
    Ok(true)
}

pub(super) fn species_set_rewards(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<SetRewardGiven>, StoreError> {
    let rows = conn
        .prepare_cached(
            "SELECT set_id, prop, count, at_ms FROM species_set_rewards WHERE user_id = ?1
             ORDER BY at_ms, set_id",
        )?
        .query_map(params![user_id.uuid()], |row| {
            Ok(SetRewardGiven {
                set_id: row.get(0)?,
                prop: row.get(1)?,
                count: row.get(2)?,
                at: Timestamp(row.get(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
