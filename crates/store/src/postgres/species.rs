//! PostgreSQL queries for Amazing Species: card counts, logged draws, set rewards. A gift
//! locks both users' rows for the species in user-id order, so two friends gifting each other
//! at once wait rather than deadlock, and the giver's count is checked under the lock.

use crate::error::StoreError;
use crate::species::{
    CardGift, FEED_CARD_GIFTED, FEED_CARD_GIVEN, SetRewardGiven, SpeciesCard, SpeciesDraw, seed_of,
};
use openforest_core::{Timestamp, UserId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

const DRAW_COLUMNS: &str = "draw_id, user_id, reason, seed, species_id, pool, at_ms";
type DrawRow = (Uuid, Uuid, String, Vec<u8>, String, String, i64);

fn to_draw((draw_id, user, reason, seed, species_id, pool, at): DrawRow) -> SpeciesDraw {
    SpeciesDraw {
        draw_id,
        user_id: UserId(user),
        reason,
        seed: seed_of(&seed),
        species_id,
        pool,
        at: Timestamp(at),
    }
}

fn count(raw: i64) -> u32 {
    u32::try_from(raw).unwrap_or(u32::MAX)
}

async fn add_card(
    conn: &mut PgConnection,
    user_id: UserId,
    species_id: &str,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO species_cards (user_id, species_id, count, first_at_ms) VALUES ($1, $2, 1, $3)
         ON CONFLICT (user_id, species_id) DO UPDATE SET count = species_cards.count + 1",
    )
    .bind(user_id.uuid())
    .bind(species_id)
    .bind(at.millis())
    .execute(conn)
    .await?;
    Ok(())
}

/// Draws that ride with the writer's batch (a planting's card), in one statement: each logged
/// once, and the cards of those the log did not hold yet added (in key order, as every lane
/// locks card rows).
pub(super) async fn write_draws(
    tx: &mut PgConnection,
    draws: &[SpeciesDraw],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "WITH drawn AS (
             INSERT INTO species_draws (draw_id, user_id, reason, seed, species_id, pool, at_ms)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::bytea[], $5::text[],
                                  $6::text[], $7::int8[])
             ON CONFLICT DO NOTHING
             RETURNING user_id, species_id, at_ms)
         INSERT INTO species_cards (user_id, species_id, count, first_at_ms)
         SELECT user_id, species_id, count(*), min(at_ms) FROM drawn
         GROUP BY user_id, species_id ORDER BY user_id, species_id
         ON CONFLICT (user_id, species_id)
         DO UPDATE SET count = species_cards.count + EXCLUDED.count",
    )
    .bind(draws.iter().map(|draw| draw.draw_id).collect::<Vec<_>>())
    .bind(
        draws
            .iter()
            .map(|draw| draw.user_id.uuid())
            .collect::<Vec<_>>(),
    )
    .bind(
        draws
            .iter()
            .map(|draw| draw.reason.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        draws
            .iter()
            .map(|draw| draw.seed.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(
        draws
            .iter()
            .map(|draw| draw.species_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        draws
            .iter()
            .map(|draw| draw.pool.clone())
            .collect::<Vec<_>>(),
    )
    .bind(
        draws
            .iter()
            .map(|draw| draw.at.millis())
            .collect::<Vec<_>>(),
    )
    .execute(tx)
    .await?;
    Ok(())
}

pub(super) async fn record_species_draw(
    pool: &PgPool,
    draw: &SpeciesDraw,
) -> Result<(SpeciesDraw, bool), StoreError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO species_draws (draw_id, user_id, reason, seed, species_id, pool, at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(draw.draw_id)
    .bind(draw.user_id.uuid())
    .bind(&draw.reason)
    .bind(draw.seed.as_slice())
    .bind(&draw.species_id)
    .bind(&draw.pool)
    .bind(draw.at.millis())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if !inserted {
        tx.rollback().await?;
        let logged = species_draw(pool, draw.user_id, &draw.reason)
            .await?
            .ok_or_else(|| StoreError::Database("a logged draw vanished".into()))?;
        return Ok((logged, false));
    }
    add_card(&mut tx, draw.user_id, &draw.species_id, draw.at).await?;
    tx.commit().await?;
    Ok((draw.clone(), true))
}

pub(super) async fn species_draw(
    pool: &PgPool,
    user_id: UserId,
    reason: &str,
) -> Result<Option<SpeciesDraw>, StoreError> {
    let row: Option<DrawRow> = sqlx::query_as(&format!(
        "SELECT {DRAW_COLUMNS} FROM species_draws WHERE user_id = $1 AND reason = $2"
    ))
    .bind(user_id.uuid())
    .bind(reason)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(to_draw))
}

pub(super) async fn species_draws(
    pool: &PgPool,
    user_id: UserId,
    limit: u32,
) -> Result<Vec<SpeciesDraw>, StoreError> {
    let rows: Vec<DrawRow> = sqlx::query_as(&format!(
        "SELECT {DRAW_COLUMNS} FROM species_draws WHERE user_id = $1
         ORDER BY at_ms DESC, draw_id DESC LIMIT $2"
    ))
    .bind(user_id.uuid())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(to_draw).collect())
}

pub(super) async fn species_cards(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<SpeciesCard>, StoreError> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT species_id, count, first_at_ms FROM species_cards WHERE user_id = $1
         ORDER BY species_id",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(species_id, held, first)| SpeciesCard {
            species_id,
            count: count(held),
            first_at: Timestamp(first),
        })
        .collect())
}

async fn feed_line(
    conn: &mut PgConnection,
    user_id: UserId,
    kind: &str,
    actor: UserId,
    species_id: &str,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms, species_id)
         VALUES ($1, $2, $3, $4, NULL, 0, $5, $6)",
    )
    .bind(user_id.uuid())
    .bind(crate::new_id(now))
    .bind(kind)
    .bind(actor.uuid())
    .bind(now.millis())
    .bind(species_id)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) async fn gift_species_card(
    pool: &PgPool,
    from: UserId,
    to: UserId,
    species_id: &str,
    now: Timestamp,
) -> Result<CardGift, StoreError> {
    let mut tx = pool.begin().await?;
    // Both rows, in user-id order: the same order for every gift, so no two gifts deadlock.
    let held: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT user_id, count FROM species_cards WHERE species_id = $1 AND user_id = ANY($2)
         ORDER BY user_id FOR UPDATE",
    )
    .bind(species_id)
    .bind(vec![from.uuid(), to.uuid()])
    .fetch_all(&mut *tx)
    .await?;
    let giver_holds = held
        .iter()
        .find(|(user, _)| *user == from.uuid())
        .map(|(_, held)| *held);
    match giver_holds {
        None => return Ok(CardGift::NotOwned),
        Some(held) if held < 2 => return Ok(CardGift::LastCopy),
        Some(_) => {}
    }
    sqlx::query(
        "UPDATE species_cards SET count = count - 1 WHERE user_id = $1 AND species_id = $2",
    )
    .bind(from.uuid())
    .bind(species_id)
    .execute(&mut *tx)
    .await?;
    add_card(&mut tx, to, species_id, now).await?;
    feed_line(&mut tx, to, FEED_CARD_GIFTED, from, species_id, now).await?;
    feed_line(&mut tx, from, FEED_CARD_GIVEN, to, species_id, now).await?;
    tx.commit().await?;
    Ok(CardGift::Given)
}

pub(super) async fn reward_species_set(
    pool: &PgPool,
    user_id: UserId,
    reward: &SetRewardGiven,
    expires_at: Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let first = sqlx::query(
        "INSERT INTO species_set_rewards (user_id, set_id, prop, count, at_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(user_id.uuid())
    .bind(&reward.set_id)
    .bind(&reward.prop)
    .bind(i64::from(reward.count))
    .bind(reward.at.millis())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if !first {
        tx.rollback().await?;
        return Ok(false);
    }
    let ids: Vec<Uuid> = (0..reward.count)
        .map(|_| crate::new_id(reward.at))
        .collect();
    sqlx::query(
        "INSERT INTO prop_items (user_id, item_id, kind, source, expires_at_ms, created_at_ms)
         SELECT $1, item, $3, 'species_set', $4, $5 FROM UNNEST($2::uuid[]) AS i(item)",
    )
    .bind(user_id.uuid())
    .bind(ids)
    .bind(&reward.prop)
    .bind(expires_at.millis())
    .bind(reward.at.millis())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn species_set_rewards(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<SetRewardGiven>, StoreError> {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT set_id, prop, count, at_ms FROM species_set_rewards WHERE user_id = $1
         ORDER BY at_ms, set_id",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(set_id, prop, given, at)| SetRewardGiven {
            set_id,
            prop,
            count: count(given),
            at: Timestamp(at),
        })
        .collect())
}
