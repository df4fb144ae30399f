//! PostgreSQL queries for partners, their keys, users' consent links, balls and server secrets.

use crate::batch;
use crate::error::StoreError;
use crate::model::{BallState, LinkStatus, Partner, PartnerKey};
use openforest_core::{AccountKind, Ball, BallId, Grams, Outcome, PartnerId, Timestamp, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

const PARTNER_COLUMNS: &str =
    "p.partner_id, p.name, p.allowed_actions, p.disabled_at_ms, p.created_at_ms";
const KEY_COLUMNS: &str = "k.key_id, k.partner_id AS key_partner_id, k.public_key, k.created_at_ms AS key_created_at_ms, k.revoked_at_ms";

fn to_partner(row: &PgRow) -> Result<Partner, StoreError> {
    let actions: String = row.try_get("allowed_actions")?;
    Ok(Partner {
        partner_id: PartnerId(row.try_get("partner_id")?),
        name: row.try_get("name")?,
        allowed_actions: serde_json::from_str(&actions)
            .map_err(|err| StoreError::Database(format!("partners.allowed_actions: {err}")))?,
        disabled_at: row
            .try_get::<Option<i64>, _>("disabled_at_ms")?
            .map(Timestamp),
        created_at: Timestamp(row.try_get("created_at_ms")?),
    })
}

fn to_key(row: &PgRow) -> Result<PartnerKey, StoreError> {
    Ok(PartnerKey {
        key_id: row.try_get("key_id")?,
        partner_id: PartnerId(row.try_get("key_partner_id")?),
        public_key: row.try_get("public_key")?,
        created_at: Timestamp(row.try_get("key_created_at_ms")?),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at_ms")?
            .map(Timestamp),
    })
}

pub(super) async fn create_partner(pool: &PgPool, partner: &Partner) -> Result<(), StoreError> {
    let actions = serde_json::to_string(&partner.allowed_actions)
        .map_err(|err| StoreError::Database(err.to_string()))?;
    let inserted = sqlx::query(
        "INSERT INTO partners (partner_id, name, allowed_actions, disabled_at_ms, created_at_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(partner.partner_id.uuid())
    .bind(&partner.name)
    .bind(actions)
    .bind(partner.disabled_at.map(Timestamp::millis))
    .bind(partner.created_at.millis())
    .execute(pool)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::Conflict("partner name"));
    }
    Ok(())
}

pub(super) async fn partner(
    pool: &PgPool,
    partner_id: PartnerId,
) -> Result<Option<Partner>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {PARTNER_COLUMNS} FROM partners p WHERE p.partner_id = $1"
    ))
    .bind(partner_id.uuid())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(to_partner).transpose()
}

pub(super) async fn partners(pool: &PgPool) -> Result<Vec<Partner>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {PARTNER_COLUMNS} FROM partners p ORDER BY p.name"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(to_partner).collect()
}

pub(super) async fn set_partner_disabled(
    pool: &PgPool,
    partner_id: PartnerId,
    at: Option<Timestamp>,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("UPDATE partners SET disabled_at_ms = $2 WHERE partner_id = $1")
            .bind(partner_id.uuid())
            .bind(at.map(Timestamp::millis))
            .execute(pool)
            .await?
            .rows_affected()
            > 0,
    )
}

pub(super) async fn add_partner_key(pool: &PgPool, key: &PartnerKey) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO partner_keys (key_id, partner_id, public_key, created_at_ms, revoked_at_ms)
         VALUES ($1, $2, $3, $4, NULL) ON CONFLICT DO NOTHING",
    )
    .bind(&key.key_id)
    .bind(key.partner_id.uuid())
    .bind(&key.public_key)
    .bind(key.created_at.millis())
    .execute(pool)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::Conflict("key id"));
    }
    Ok(())
}

pub(super) async fn revoke_partner_key(
    pool: &PgPool,
    partner_id: PartnerId,
    key_id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE partner_keys SET revoked_at_ms = $3
         WHERE key_id = $2 AND partner_id = $1 AND revoked_at_ms IS NULL",
    )
    .bind(partner_id.uuid())
    .bind(key_id)
    .bind(at.millis())
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}

pub(super) async fn partner_keys(
    pool: &PgPool,
    partner_id: PartnerId,
) -> Result<Vec<PartnerKey>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS} FROM partner_keys k WHERE k.partner_id = $1 ORDER BY k.created_at_ms"
    ))
    .bind(partner_id.uuid())
    .fetch_all(pool)
    .await?;
    rows.iter().map(to_key).collect()
}

pub(super) async fn partner_key(
    pool: &PgPool,
    key_id: &str,
) -> Result<Option<(PartnerKey, Partner)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {KEY_COLUMNS}, {PARTNER_COLUMNS}
         FROM partner_keys k JOIN partners p ON p.partner_id = k.partner_id WHERE k.key_id = $1"
    ))
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    row.map(|row| Ok((to_key(&row)?, to_partner(&row)?)))
        .transpose()
}

pub(super) async fn link_partner(
    pool: &PgPool,
    user_id: UserId,
    partner_id: PartnerId,
    partner_user_id: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO user_partner_links (user_id, partner_id, partner_user_id, created_at_ms)
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, partner_id) DO UPDATE SET unlinked_at_ms = NULL",
    )
    .bind(user_id.uuid())
    .bind(partner_id.uuid())
    .bind(partner_user_id)
    .bind(at.millis())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO partner_links (partner_id, partner_user_id, user_id, created_at_ms)
         VALUES ($1, $2, $3, $4) ON CONFLICT (partner_id, partner_user_id) DO UPDATE SET unlinked_at_ms = NULL",
    )
    .bind(partner_id.uuid())
    .bind(partner_user_id)
    .bind(user_id.uuid())
    .bind(at.millis())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn unlink_partner(
    pool: &PgPool,
    user_id: UserId,
    partner_id: PartnerId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let withdrawn = sqlx::query(
        "UPDATE user_partner_links SET unlinked_at_ms = $3
         WHERE user_id = $1 AND partner_id = $2 AND unlinked_at_ms IS NULL",
    )
    .bind(user_id.uuid())
    .bind(partner_id.uuid())
    .bind(at.millis())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE partner_links SET unlinked_at_ms = $3 WHERE partner_id = $2 AND user_id = $1 AND unlinked_at_ms IS NULL")
        .bind(user_id.uuid())
        .bind(partner_id.uuid())
        .bind(at.millis())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(withdrawn > 0)
}

pub(super) async fn linked_user(
    pool: &PgPool,
    partner_id: PartnerId,
    partner_user_id: &str,
) -> Result<LinkStatus, StoreError> {
    let row: Option<(uuid::Uuid, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, unlinked_at_ms FROM partner_links WHERE partner_id = $1 AND partner_user_id = $2",
    )
    .bind(partner_id.uuid())
    .bind(partner_user_id)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((user_id, None)) => LinkStatus::Linked(UserId(user_id)),
        Some((_, Some(_))) => LinkStatus::Withdrawn,
        None => LinkStatus::Unknown,
    })
}

pub(super) async fn user_links(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<(PartnerId, String)>, StoreError> {
    let rows: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT partner_id, partner_user_id FROM user_partner_links
         WHERE user_id = $1 AND unlinked_at_ms IS NULL ORDER BY created_at_ms",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(partner, pseudonym)| (PartnerId(partner), pseudonym))
        .collect())
}

pub(super) async fn server_secret(
    pool: &PgPool,
    name: &str,
    len: usize,
) -> Result<Vec<u8>, StoreError> {
    let fresh: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
    sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(name)
        .bind(fresh)
        .execute(pool)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(pool)
            .await?,
    )
}

pub(super) async fn idempotent_outcome(
    pool: &PgPool,
    scope: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, Outcome)>, StoreError> {
    let row: Option<(Vec<u8>, String)> = sqlx::query_as(
        "SELECT fingerprint, outcome FROM idempotency WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    row.map(|(fingerprint, json)| {
        Ok((
            fingerprint,
            batch::stored_outcome(&json).map_err(StoreError::Database)?,
        ))
    })
    .transpose()
}

pub(super) async fn balls(
    pool: &PgPool,
    user_id: UserId,
    limit: u32,
) -> Result<Vec<BallState>, StoreError> {
    let rows = sqlx::query(
        "SELECT b.ball_id, b.grams, b.ripens_at_ms, b.expires_at_ms, b.partner_id, b.action, b.methodology,
                b.methodology_version, b.created_at_ms, coalesce(bal.grams, 0) AS remaining
         FROM balls b
         LEFT JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $2 AND bal.account_id = b.ball_id
         WHERE b.user_id = $1 ORDER BY b.created_at_ms DESC, b.ball_id DESC LIMIT $3",
    )
    .bind(user_id.uuid())
    .bind(AccountKind::Ball.code())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(BallState {
                ball: Ball {
                    ball_id: BallId(row.try_get("ball_id")?),
                    user_id,
                    grams: Grams::new(u64::try_from(row.try_get::<i64, _>("grams")?).unwrap_or(0)),
                    ripens_at: Timestamp(row.try_get("ripens_at_ms")?),
                    expires_at: Timestamp(row.try_get("expires_at_ms")?),
                    partner_id: PartnerId(row.try_get("partner_id")?),
                    action: row.try_get("action")?,
                    methodology: row.try_get("methodology")?,
                    methodology_version: u32::try_from(
                        row.try_get::<i64, _>("methodology_version")?,
                    )
                    .unwrap_or(0),
                    created_at: Timestamp(row.try_get("created_at_ms")?),
                },
                remaining: Grams::new(
                    u64::try_from(row.try_get::<i64, _>("remaining")?).unwrap_or(0),
                ),
            })
        })
        .collect()
}

pub(super) async fn due_balls(
    pool: &PgPool,
    now: Timestamp,
    after: crate::DueCursor,
    limit: u32,
) -> Result<Vec<(UserId, BallId, Timestamp)>, StoreError> {
    // `balls_expires_at` is (expires_at_ms, user_id, ball_id): the row value walks it.
    let rows: Vec<(uuid::Uuid, uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT b.user_id, b.ball_id, b.expires_at_ms FROM balls b
         JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $2 AND bal.account_id = b.ball_id
         WHERE (b.expires_at_ms, b.user_id, b.ball_id) > ($4, $5, $6)
           AND b.expires_at_ms <= $1 AND bal.grams > 0
         ORDER BY b.expires_at_ms, b.user_id, b.ball_id LIMIT $3",
    )
    .bind(now.millis())
    .bind(AccountKind::Ball.code())
    .bind(i64::from(limit))
    .bind(after.expires_at.millis())
    .bind(after.user_id.uuid())
    .bind(after.ball_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, ball_id, expires_at)| {
            (UserId(user_id), BallId(ball_id), Timestamp(expires_at))
        })
        .collect())
}

pub(super) async fn linked_users(
    pool: &PgPool,
    partner_id: PartnerId,
    partner_user_ids: &[String],
) -> Result<std::collections::HashMap<String, LinkStatus>, StoreError> {
    let rows: Vec<(String, uuid::Uuid, Option<i64>)> = sqlx::query_as(
        "SELECT partner_user_id, user_id, unlinked_at_ms FROM partner_links
         WHERE partner_id = $1 AND partner_user_id = ANY($2)",
    )
    .bind(partner_id.uuid())
    .bind(partner_user_ids)
    .fetch_all(pool)
    .await?;
    let mut found: std::collections::HashMap<String, LinkStatus> = partner_user_ids
        .iter()
        .map(|id| (id.clone(), LinkStatus::Unknown))
        .collect();
    for (partner_user_id, user_id, unlinked_at) in rows {
        let status = match unlinked_at {
            None => LinkStatus::Linked(UserId(user_id)),
            Some(_) => LinkStatus::Withdrawn,
        };
        found.insert(partner_user_id, status);
    }
    Ok(found)
}
