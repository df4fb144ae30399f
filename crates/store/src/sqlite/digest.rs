//! Forest digests on SQLite: loaded and written by the writer, read by forest home, checked by
//! the audit (see `crate::digest`).

use crate::batch::DigestChange;
use crate::digest::{DigestBall, ForestDigest};
use crate::error::StoreError;
use crate::model::FriendDigest;
use openforest_core::{AccountKind, BallId, Grams, Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;

/// The digest of every owner, empty when there is no row; a row that does not decode is left
/// out so that the writer rebuilds it.
pub(super) fn load(
    conn: &Connection,
    owners: &[UserId],
) -> rusqlite::Result<HashMap<UserId, ForestDigest>> {
    let mut select = conn.prepare_cached("SELECT balls FROM forest_digests WHERE user_id = ?1")?;
    let mut digests = HashMap::with_capacity(owners.len());
    for owner in owners {
        let bytes: Option<Vec<u8>> = select
            .query_row(params![owner.uuid()], |row| row.get(0))
            .optional()?;
        match bytes.map(|bytes| ForestDigest::decode(&bytes)) {
            None => {
                digests.insert(*owner, ForestDigest::default());
            }
            Some(Ok(digest)) => {
                digests.insert(*owner, digest);
            }
            Some(Err(reason)) => {
                tracing::warn!(user_id = %owner.uuid(), %reason, "forest digest unreadable; rebuilding it");
            }
        }
    }
    Ok(digests)
}

pub(super) fn write(conn: &Connection, changes: &[DigestChange]) -> rusqlite::Result<()> {
    for change in changes {
        match change {
            DigestChange::Write(owner, bytes) => put(conn, *owner, bytes)?,
            DigestChange::Delete(owner) => delete(conn, *owner)?,
            DigestChange::Rebuild(owner) => {
                let digest = rebuild(conn, *owner)?;
                if digest.is_empty() {
                    delete(conn, *owner)?;
                } else {
                    put(conn, *owner, &digest.encode())?;
                }
            }
        }
    }
    Ok(())
}

fn put(conn: &Connection, owner: UserId, bytes: &[u8]) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO forest_digests (user_id, balls) VALUES (?1, ?2)
         ON CONFLICT (user_id) DO UPDATE SET balls = excluded.balls",
    )?
    .execute(params![owner.uuid(), bytes])?;
    Ok(())
}

fn delete(conn: &Connection, owner: UserId) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM forest_digests WHERE user_id = ?1")?
        .execute(params![owner.uuid()])?;
    Ok(())
}

/// What the owner's balls and balances say their digest is.
pub(super) fn rebuild(conn: &Connection, owner: UserId) -> rusqlite::Result<ForestDigest> {
    let mut select = conn.prepare_cached(
        "SELECT b.ball_id, b.grams, bal.grams, b.ripens_at_ms, b.expires_at_ms
         FROM balls b
         JOIN balances bal ON bal.account_id = b.ball_id AND bal.kind = ?2 AND bal.owner_id = b.user_id
         WHERE b.user_id = ?1 AND bal.grams > 0",
    )?;
    let balls = select
        .query_map(params![owner.uuid(), AccountKind::Ball.code()], |row| {
            Ok(DigestBall {
                ball_id: BallId(row.get(0)?),
                grams: grams(row.get(1)?),
                remaining: grams(row.get(2)?),
                ripens_at: Timestamp(row.get(3)?),
                expires_at: Timestamp(row.get(4)?),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ForestDigest::of(balls))
}

fn grams(stored: i64) -> Grams {
    Grams::new(u64::try_from(stored).unwrap_or(0))
}

/// Every friend of `user_id` with their digest (empty when they hold no energy) and their
/// shield's window, if they ever raised one: one short row per friend.
pub(super) fn friends_digests(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<FriendDigest>, StoreError> {
    let mut select = conn.prepare_cached(
        "SELECT f.friend_id, d.balls, s.active_from_ms, s.active_until_ms
         FROM friendships f
         LEFT JOIN forest_digests d ON d.user_id = f.friend_id
         LEFT JOIN prop_effects s ON s.user_id = f.friend_id AND s.kind = 'shield'
         WHERE f.user_id = ?1",
    )?;
    let mut rows = select.query(params![user_id.uuid()])?;
    let mut friends = Vec::new();
    while let Some(row) = rows.next()? {
        let friend = UserId(row.get(0)?);
        let bytes: Option<Vec<u8>> = row.get(1)?;
        let digest = match bytes {
            Some(bytes) => ForestDigest::decode(&bytes).map_err(StoreError::Database)?,
            None => ForestDigest::default(),
        };
        let from: Option<i64> = row.get(2)?;
        let until: Option<i64> = row.get(3)?;
        friends.push(FriendDigest {
            user_id: friend,
            digest,
            shield: from
                .zip(until)
                .map(|(from, until)| (Timestamp(from), Timestamp(until))),
        });
    }
    Ok(friends)
}

/// Users whose stored digest differs from what their balls and balances say (the audit).
pub(super) fn mismatches(conn: &Connection) -> rusqlite::Result<Vec<UserId>> {
    let mut select = conn.prepare(&format!(
        "WITH derived AS ({DERIVED})
         SELECT coalesce(d.user_id, s.user_id) FROM derived d
         FULL OUTER JOIN forest_digests s ON s.user_id = d.user_id
         WHERE d.balls IS NOT s.balls"
    ))?;
    select
        .query_map(params![AccountKind::Ball.code()], |row| {
            Ok(UserId(row.get(0)?))
        })?
        .collect()
}

/// Every user's digest, built in SQL with the same bytes as `ForestDigest::encode` (also in
/// the migration that made `forest_digests`): `?1` is the ball account kind.
const DERIVED: &str = "
    SELECT b.user_id AS user_id,
           unhex(group_concat(
               hex(b.ball_id) || printf('%016X%016X%016X%016X', b.grams, bal.grams,
                                        b.ripens_at_ms, b.expires_at_ms),
               '' ORDER BY b.ripens_at_ms, b.ball_id)) AS balls
    FROM balls b
    JOIN balances bal ON bal.account_id = b.ball_id AND bal.kind = ?1 AND bal.owner_id = b.user_id
    WHERE bal.grams > 0
    GROUP BY b.user_id";
