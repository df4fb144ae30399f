//! PostgreSQL queries for props: inventory items, effects in force, task rewards.

use crate::error::StoreError;
use crate::model::{PropEffect, PropStock};
use openforest_core::{Timestamp, UserId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

type EffectRow = (Uuid, String, i64, i64, i64);

fn to_effect((user, kind, from, until, multiplier): EffectRow) -> PropEffect {
    PropEffect {
        user_id: UserId(user),
        kind,
        active_from: Timestamp(from),
        active_until: Timestamp(until),
        multiplier_permille: u32::try_from(multiplier).unwrap_or(1_000),
    }
}

pub(super) async fn grant_props(
    pool: &PgPool,
    user_id: UserId,
    kind: &str,
    count: u32,
    source: &str,
    expires_at: Timestamp,
    at: Timestamp,
) -> Result<(), StoreError> {
    let ids: Vec<Uuid> = (0..count).map(|_| crate::new_id(at)).collect();
    sqlx::query(
        "INSERT INTO prop_items (user_id, item_id, kind, source, expires_at_ms, created_at_ms)
         SELECT $1, item, $3, $4, $5, $6 FROM UNNEST($2::uuid[]) AS i(item)",
    )
    .bind(user_id.uuid())
    .bind(ids)
    .bind(kind)
    .bind(source)
    .bind(expires_at.millis())
    .bind(at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn props(
    pool: &PgPool,
    user_id: UserId,
    now: Timestamp,
) -> Result<(Vec<PropStock>, Vec<PropEffect>), StoreError> {
    let stock: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT kind, count(*), min(expires_at_ms) FROM prop_items
         WHERE user_id = $1 AND used_at_ms IS NULL AND expires_at_ms > $2
         GROUP BY kind ORDER BY kind",
    )
    .bind(user_id.uuid())
    .bind(now.millis())
    .fetch_all(pool)
    .await?;
    let effects = prop_effects(pool, &[user_id], now).await?;
    Ok((
        stock
            .into_iter()
            .map(|(kind, count, next)| PropStock {
                kind,
                count: u32::try_from(count).unwrap_or(u32::MAX),
                next_expiry: Timestamp(next),
            })
            .collect(),
        effects,
    ))
}

pub(super) async fn prop_effects(
    pool: &PgPool,
    users: &[UserId],
    now: Timestamp,
) -> Result<Vec<PropEffect>, StoreError> {
    let rows: Vec<EffectRow> = sqlx::query_as(
        "SELECT user_id, kind, active_from_ms, active_until_ms, multiplier_permille FROM prop_effects
         WHERE user_id = ANY($1) AND active_until_ms > $2",
    )
    .bind(users.iter().map(|user| user.uuid()).collect::<Vec<_>>())
    .bind(now.millis())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(to_effect).collect())
}

/// Every prop these users raised, whenever (one row per user and kind: the last one).
pub(super) async fn raised_effects(
    conn: &mut PgConnection,
    users: &[UserId],
) -> Result<Vec<PropEffect>, sqlx::Error> {
    let rows: Vec<EffectRow> = sqlx::query_as(
        "SELECT user_id, kind, active_from_ms, active_until_ms, multiplier_permille FROM prop_effects
         WHERE user_id = ANY($1)",
    )
    .bind(users.iter().map(|user| user.uuid()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(to_effect).collect())
}

/// The soonest-expiring usable item of a kind, locked.
async fn next_item(
    conn: &mut PgConnection,
    user_id: UserId,
    kind: &str,
    now: Timestamp,
) -> Result<Option<(Uuid, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT item_id, expires_at_ms FROM prop_items
         WHERE user_id = $1 AND kind = $2 AND used_at_ms IS NULL AND expires_at_ms > $3
         ORDER BY expires_at_ms, item_id LIMIT 1 FOR UPDATE",
    )
    .bind(user_id.uuid())
    .bind(kind)
    .bind(now.millis())
    .fetch_optional(conn)
    .await
}

pub(super) async fn use_prop(
    pool: &PgPool,
    user_id: UserId,
    kind: &str,
    duration_ms: i64,
    multiplier_permille: u32,
    now: Timestamp,
) -> Result<Option<PropEffect>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some((item, _)) = next_item(&mut tx, user_id, kind, now).await? else {
        return Ok(None);
    };
    sqlx::query("UPDATE prop_items SET used_at_ms = $3 WHERE user_id = $1 AND item_id = $2")
        .bind(user_id.uuid())
        .bind(item)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?;
    let row: EffectRow = sqlx::query_as(
        "INSERT INTO prop_effects (user_id, kind, active_from_ms, active_until_ms, multiplier_permille)
         VALUES ($1, $2, $3, $3 + $4, $5)
         ON CONFLICT (user_id, kind) DO UPDATE SET
             active_from_ms = CASE WHEN prop_effects.active_until_ms > $3
                                   THEN prop_effects.active_from_ms ELSE $3 END,
             active_until_ms = GREATEST(prop_effects.active_until_ms, $3) + $4,
             multiplier_permille = EXCLUDED.multiplier_permille
         RETURNING user_id, kind, active_from_ms, active_until_ms, multiplier_permille",
    )
    .bind(user_id.uuid())
    .bind(kind)
    .bind(now.millis())
    .bind(duration_ms)
    .bind(i64::from(multiplier_permille))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(to_effect(row)))
}

pub(super) async fn gift_prop(
    pool: &PgPool,
    from: UserId,
    to: UserId,
    kind: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let Some((item, expires_at)) = next_item(&mut tx, from, kind, now).await? else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM prop_items WHERE user_id = $1 AND item_id = $2")
        .bind(from.uuid())
        .bind(item)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO prop_items (user_id, item_id, kind, source, expires_at_ms, created_at_ms)
         VALUES ($1, $2, $3, 'gift', $4, $5)",
    )
    .bind(to.uuid())
    .bind(item)
    .bind(kind)
    .bind(expires_at)
    .bind(now.millis())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
         VALUES ($1, $2, 'prop_gifted', $3, NULL, 0, $4)",
    )
    .bind(to.uuid())
    .bind(crate::new_id(now))
    .bind(from.uuid())
    .bind(now.millis())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn reward_task(
    pool: &PgPool,
    user_id: UserId,
    task: &str,
    period: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO task_rewards (user_id, task, period, created_at_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(user_id.uuid())
    .bind(task)
    .bind(period)
    .bind(at.millis())
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}

pub(super) async fn task_rewarded(
    pool: &PgPool,
    user_id: UserId,
    task: &str,
    periods: &[String],
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM task_rewards WHERE user_id = $1 AND task = $2 AND period = ANY($3))",
    )
    .bind(user_id.uuid())
    .bind(task)
    .bind(periods)
    .fetch_one(pool)
    .await?)
}
