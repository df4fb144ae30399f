//! SQLite queries for partners, their keys, users' consent links, balls and server secrets.

use crate::batch;
use crate::error::StoreError;
use crate::model::{BallState, LinkStatus, Partner, PartnerKey};
use openforest_core::{Ball, BallId, Grams, Outcome, PartnerId, Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

fn allowed_actions_from_json(json: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(json)
        .map_err(|err| StoreError::Database(format!("partners.allowed_actions: {err}")))
}

const PARTNER_COLUMNS: &str =
    "p.partner_id, p.name, p.allowed_actions, p.disabled_at_ms, p.created_at_ms";

fn partner_row(
    row: &Row<'_>,
    at: usize,
) -> rusqlite::Result<(Uuid, String, String, Option<i64>, i64)> {
    Ok((
        row.get(at)?,
        row.get(at + 1)?,
        row.get(at + 2)?,
        row.get(at + 3)?,
        row.get(at + 4)?,
    ))
}

fn to_partner(raw: (Uuid, String, String, Option<i64>, i64)) -> Result<Partner, StoreError> {
    Ok(Partner {
        partner_id: PartnerId(raw.0),
        name: raw.1,
        allowed_actions: allowed_actions_from_json(&raw.2)?,
        disabled_at: raw.3.map(Timestamp),
        created_at: Timestamp(raw.4),
    })
}

fn key_row(row: &Row<'_>) -> rusqlite::Result<PartnerKey> {
    Ok(PartnerKey {
        key_id: row.get(0)?,
        partner_id: PartnerId(row.get(1)?),
        public_key: row.get(2)?,
        created_at: Timestamp(row.get(3)?),
        revoked_at: row.get::<_, Option<i64>>(4)?.map(Timestamp),
    })
}

pub(super) fn create_partner(conn: &Connection, partner: &Partner) -> Result<(), StoreError> {
    let actions = serde_json::to_string(&partner.allowed_actions)
        .map_err(|err| StoreError::Database(err.to_string()))?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO partners (partner_id, name, allowed_actions, disabled_at_ms, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            partner.partner_id.uuid(),
            partner.name,
            actions,
            partner.disabled_at.map(Timestamp::millis),
            partner.created_at.millis()
        ])?;
    if inserted == 0 {
        return Err(StoreError::Conflict("partner name"));
    }
    Ok(())
}

pub(super) fn partner(
    conn: &Connection,
    partner_id: PartnerId,
) -> Result<Option<Partner>, StoreError> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {PARTNER_COLUMNS} FROM partners p WHERE p.partner_id = ?1"
        ))?
        .query_row(params![partner_id.uuid()], |row| partner_row(row, 0))
        .optional()?;
    raw.map(to_partner).transpose()
}

pub(super) fn partners(conn: &Connection) -> Result<Vec<Partner>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PARTNER_COLUMNS} FROM partners p ORDER BY p.name"
    ))?;
    let raws = stmt
        .query_map([], |row| partner_row(row, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter().map(to_partner).collect()
}

pub(super) fn set_partner_disabled(
    conn: &Connection,
    partner_id: PartnerId,
    at: Option<Timestamp>,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("UPDATE partners SET disabled_at_ms = ?2 WHERE partner_id = ?1")?
        .execute(params![partner_id.uuid(), at.map(Timestamp::millis)])?
        > 0)
}

pub(super) fn add_partner_key(conn: &Connection, key: &PartnerKey) -> Result<(), StoreError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO partner_keys (key_id, partner_id, public_key, created_at_ms, revoked_at_ms)
             VALUES (?1, ?2, ?3, ?4, NULL) ON CONFLICT DO NOTHING",
        )?
        .execute(params![key.key_id, key.partner_id.uuid(), key.public_key, key.created_at.millis()])?;
    if inserted == 0 {
        return Err(StoreError::Conflict("key id"));
    }
    Ok(())
}

pub(super) fn revoke_partner_key(
    conn: &Connection,
    partner_id: PartnerId,
    key_id: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE partner_keys SET revoked_at_ms = ?3
             WHERE key_id = ?2 AND partner_id = ?1 AND revoked_at_ms IS NULL",
        )?
        .execute(params![partner_id.uuid(), key_id, at.millis()])?
        > 0)
}

pub(super) fn partner_keys(
    conn: &Connection,
    partner_id: PartnerId,
) -> Result<Vec<PartnerKey>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key_id, partner_id, public_key, created_at_ms, revoked_at_ms FROM partner_keys
         WHERE partner_id = ?1 ORDER BY created_at_ms",
    )?;
    Ok(stmt
        .query_map(params![partner_id.uuid()], key_row)?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn partner_key(
    conn: &Connection,
    key_id: &str,
) -> Result<Option<(PartnerKey, Partner)>, StoreError> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT k.key_id, k.partner_id, k.public_key, k.created_at_ms, k.revoked_at_ms, {PARTNER_COLUMNS}
             FROM partner_keys k JOIN partners p ON p.partner_id = k.partner_id WHERE k.key_id = ?1"
        ))?
        .query_row(params![key_id], |row| Ok((key_row(row)?, partner_row(row, 5)?)))
        .optional()?;
    raw.map(|(key, partner)| Ok((key, to_partner(partner)?)))
        .transpose()
}

pub(super) fn link_partner(
    conn: &mut Connection,
    user_id: UserId,
    partner_id: PartnerId,
    partner_user_id: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO user_partner_links (user_id, partner_id, partner_user_id, created_at_ms)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        user_id.uuid(),
        partner_id.uuid(),
        partner_user_id,
        at.millis()
    ])?;
    tx.prepare_cached(
        "INSERT INTO partner_links (partner_id, partner_user_id, user_id, created_at_ms)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET unlinked_at_ms = NULL",
    )?
    .execute(params![
        partner_id.uuid(),
        partner_user_id,
        user_id.uuid(),
        at.millis()
    ])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn unlink_partner(
    conn: &mut Connection,
    user_id: UserId,
    partner_id: PartnerId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let withdrawn = tx
        .prepare_cached(
            "UPDATE user_partner_links SET unlinked_at_ms = ?3
             WHERE user_id = ?1 AND partner_id = ?2 AND unlinked_at_ms IS NULL",
        )?
        .execute(params![user_id.uuid(), partner_id.uuid(), at.millis()])?;
    tx.prepare_cached(
        "UPDATE partner_links SET unlinked_at_ms = ?3 WHERE partner_id = ?2 AND user_id = ?1 AND unlinked_at_ms IS NULL",
    )?
    .execute(params![user_id.uuid(), partner_id.uuid(), at.millis()])?;
    tx.commit()?;
    Ok(withdrawn > 0)
}

pub(super) fn linked_user(
    conn: &Connection,
    partner_id: PartnerId,
    partner_user_id: &str,
) -> Result<LinkStatus, StoreError> {
    let row: Option<(Uuid, Option<i64>)> = conn
        .prepare_cached(
            "SELECT user_id, unlinked_at_ms FROM partner_links WHERE partner_id = ?1 AND partner_user_id = ?2",
        )?
        .query_row(params![partner_id.uuid(), partner_user_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((user_id, None)) => LinkStatus::Linked(UserId(user_id)),
        Some((_, Some(_))) => LinkStatus::Withdrawn,
        None => LinkStatus::Unknown,
    })
}

pub(super) fn user_links(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<(PartnerId, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT partner_id, partner_user_id FROM user_partner_links
         WHERE user_id = ?1 AND unlinked_at_ms IS NULL ORDER BY created_at_ms",
    )?;
    Ok(stmt
        .query_map(params![user_id.uuid()], |row| {
            Ok((PartnerId(row.get(0)?), row.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn server_secret(
    conn: &Connection,
    name: &str,
    len: usize,
) -> Result<Vec<u8>, StoreError> {
    let fresh: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
    conn.prepare_cached(
        "INSERT INTO server_secrets (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![name, fresh])?;
    Ok(conn
        .prepare_cached("SELECT value FROM server_secrets WHERE name = ?1")?
        .query_row(params![name], |row| row.get(0))?)
}

pub(super) fn idempotent_outcome(
    conn: &Connection,
    scope: &str,
    key: &str,
) -> Result<Option<(Vec<u8>, Outcome)>, StoreError> {
    let row: Option<(Vec<u8>, String)> = conn
        .prepare_cached(
            "SELECT fingerprint, outcome FROM idempotency WHERE scope = ?1 AND key = ?2",
        )?
        .query_row(params![scope, key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    row.map(|(fingerprint, json)| {
        Ok((
            fingerprint,
            batch::stored_outcome(&json).map_err(StoreError::Database)?,
        ))
    })
    .transpose()
}

pub(super) fn balls(
    conn: &Connection,
    user_id: UserId,
    limit: u32,
) -> Result<Vec<BallState>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.ball_id, b.grams, b.ripens_at_ms, b.expires_at_ms, b.partner_id, b.action, b.methodology,
                b.methodology_version, b.created_at_ms, coalesce(bal.grams, 0)
         FROM balls b
         LEFT JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = ?2 AND bal.account_id = b.ball_id
         WHERE b.user_id = ?1 ORDER BY b.created_at_ms DESC, b.ball_id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![
            user_id.uuid(),
            openforest_core::AccountKind::Ball.code(),
            limit
        ],
        |row| {
            Ok(BallState {
                ball: Ball {
                    ball_id: BallId(row.get(0)?),
                    user_id,
                    grams: Grams::new(row.get::<_, i64>(1)?.try_into().unwrap_or(0)),
                    ripens_at: Timestamp(row.get(2)?),
                    expires_at: Timestamp(row.get(3)?),
                    partner_id: PartnerId(row.get(4)?),
                    action: row.get(5)?,
                    methodology: row.get(6)?,
                    methodology_version: row.get(7)?,
                    created_at: Timestamp(row.get(8)?),
                },
                remaining: Grams::new(row.get::<_, i64>(9)?.try_into().unwrap_or(0)),
            })
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn due_balls(
    conn: &Connection,
    now: Timestamp,
    after: crate::DueCursor,
    limit: u32,
) -> Result<Vec<(UserId, BallId, Timestamp)>, StoreError> {
    // `balls_expires_at` holds (expires_at_ms, user_id, ball_id): the row value walks it.
    let mut stmt = conn.prepare_cached(
        "SELECT b.user_id, b.ball_id, b.expires_at_ms FROM balls b
         JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = ?2 AND bal.account_id = b.ball_id
         WHERE (b.expires_at_ms, b.user_id, b.ball_id) > (?4, ?5, ?6)
           AND b.expires_at_ms <= ?1 AND bal.grams > 0
         ORDER BY b.expires_at_ms, b.user_id, b.ball_id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![
            now.millis(),
            openforest_core::AccountKind::Ball.code(),
            limit,
            after.expires_at.millis(),
            after.user_id.uuid(),
            after.ball_id.uuid()
        ],
        |row| {
            Ok((
                UserId(row.get(0)?),
                BallId(row.get(1)?),
                Timestamp(row.get(2)?),
            ))
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn linked_users(
    conn: &Connection,
    partner_id: PartnerId,
    partner_user_ids: &[String],
) -> Result<std::collections::HashMap<String, LinkStatus>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, unlinked_at_ms FROM partner_links WHERE partner_id = ?1 AND partner_user_id = ?2",
    )?;
    let mut found = std::collections::HashMap::with_capacity(partner_user_ids.len());
    for partner_user_id in partner_user_ids {
        let row: Option<(Uuid, Option<i64>)> = stmt
            .query_row(params![partner_id.uuid(), partner_user_id], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let status = match row {
            Some((user_id, None)) => LinkStatus::Linked(UserId(user_id)),
            Some((_, Some(_))) => LinkStatus::Withdrawn,
            None => LinkStatus::Unknown,
        };
        found.insert(partner_user_id.clone(), status);
    }
    Ok(found)
}
