//! Forest digests on PostgreSQL: loaded (locked) and written by the writer lanes, read by
//! forest home, checked by the audit (see `crate::digest`).
//!
//! Lanes are partitioned by user, but a watering ball is made in the giver's lane for the
//! receiver, so two lanes can write one owner's digest. Rows that exist are locked at load.
//! A row that did not exist at load is inserted only if still absent; if another lane made it
//! meanwhile, the owner is rebuilt under that row's lock, from the balls and balances as
//! committed then.

use crate::batch::DigestChange;
use crate::digest::{DigestBall, ForestDigest};
use crate::error::StoreError;
use crate::model::FriendDigest;
use openforest_core::{AccountKind, BallId, Grams, Timestamp, UserId};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The digests of these owners, locked, each empty when there is no row; a row that does not
/// decode is left out so that the writer rebuilds it. Also answers which owners had a row.
pub(super) async fn load(
    tx: &mut PgConnection,
    owners: &[UserId],
) -> Result<(HashMap<UserId, ForestDigest>, HashSet<UserId>), sqlx::Error> {
    let mut digests: HashMap<UserId, ForestDigest> = owners
        .iter()
        .map(|owner| (*owner, ForestDigest::default()))
        .collect();
    let mut stored = HashSet::new();
    if owners.is_empty() {
        return Ok((digests, stored));
    }
    let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT user_id, balls FROM forest_digests WHERE user_id = ANY($1)
         ORDER BY user_id FOR UPDATE",
    )
    .bind(owners.iter().map(|owner| owner.uuid()).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    for (owner, bytes) in rows {
        let owner = UserId(owner);
        stored.insert(owner);
        match ForestDigest::decode(&bytes) {
            Ok(digest) => {
                digests.insert(owner, digest);
            }
            Err(reason) => {
                tracing::warn!(user_id = %owner.uuid(), %reason, "forest digest unreadable; rebuilding it");
                digests.remove(&owner);
            }
        }
    }
    Ok((digests, stored))
}

/// Writes the batch's digest changes; `stored` are the owners whose row existed (and was
/// locked) at load.
pub(super) async fn write(
    tx: &mut PgConnection,
    changes: &[DigestChange],
    stored: &HashSet<UserId>,
) -> Result<(), sqlx::Error> {
    let mut updates: (Vec<Uuid>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut inserts: (Vec<Uuid>, Vec<Vec<u8>>) = (Vec::new(), Vec::new());
    let mut deletes = Vec::new();
    let mut rebuilds = Vec::new();
    for change in changes {
        match change {
            DigestChange::Write(owner, bytes) if stored.contains(owner) => {
                updates.0.push(owner.uuid());
                updates.1.push(bytes.clone());
            }
            DigestChange::Write(owner, bytes) => {
                inserts.0.push(owner.uuid());
                inserts.1.push(bytes.clone());
            }
            DigestChange::Delete(owner) => deletes.push(owner.uuid()),
            DigestChange::Rebuild(owner) => rebuilds.push(*owner),
        }
    }
    if !updates.0.is_empty() {
        sqlx::query(
            "UPDATE forest_digests d SET balls = u.balls
             FROM UNNEST($1::uuid[], $2::bytea[]) AS u(user_id, balls) WHERE d.user_id = u.user_id",
        )
        .bind(&updates.0)
        .bind(&updates.1)
        .execute(&mut *tx)
        .await?;
    }
    if !deletes.is_empty() {
        sqlx::query("DELETE FROM forest_digests WHERE user_id = ANY($1)")
            .bind(&deletes)
            .execute(&mut *tx)
            .await?;
    }
    if !inserts.0.is_empty() {
        let inserted: Vec<Uuid> = sqlx::query_scalar(
            "INSERT INTO forest_digests (user_id, balls)
             SELECT * FROM UNNEST($1::uuid[], $2::bytea[])
             ON CONFLICT (user_id) DO NOTHING RETURNING user_id",
        )
        .bind(&inserts.0)
        .bind(&inserts.1)
        .fetch_all(&mut *tx)
        .await?;
        let inserted: HashSet<Uuid> = inserted.into_iter().collect();
        rebuilds.extend(
            inserts
                .0
                .iter()
                .filter(|owner| !inserted.contains(owner))
                .map(|owner| UserId(*owner)),
        );
    }
    rebuilds.sort();
    for owner in rebuilds {
        rebuild(tx, owner).await?;
    }
    Ok(())
}

/// Locks the owner's row (making it if absent), then writes what the balls and balances say,
/// read after the lock so that every other writer of this row has committed.
async fn rebuild(tx: &mut PgConnection, owner: UserId) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO forest_digests (user_id, balls) VALUES ($1, ''::bytea)
         ON CONFLICT (user_id) DO UPDATE SET balls = forest_digests.balls",
    )
    .bind(owner.uuid())
    .execute(&mut *tx)
    .await?;
    let digest = derive(&mut *tx, owner).await?;
    if digest.is_empty() {
        sqlx::query("DELETE FROM forest_digests WHERE user_id = $1")
            .bind(owner.uuid())
            .execute(&mut *tx)
            .await?;
    } else {
        sqlx::query("UPDATE forest_digests SET balls = $2 WHERE user_id = $1")
            .bind(owner.uuid())
            .bind(digest.encode())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn derive(tx: &mut PgConnection, owner: UserId) -> Result<ForestDigest, sqlx::Error> {
    let rows: Vec<(Uuid, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT b.ball_id, b.grams, bal.grams, b.ripens_at_ms, b.expires_at_ms
         FROM balls b
         JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $2 AND bal.account_id = b.ball_id
         WHERE b.user_id = $1 AND bal.grams > 0",
    )
    .bind(owner.uuid())
    .bind(AccountKind::Ball.code())
    .fetch_all(&mut *tx)
    .await?;
    Ok(ForestDigest::of(rows.into_iter().map(
        |(ball_id, grams, remaining, ripens_at, expires_at)| DigestBall {
            ball_id: BallId(ball_id),
            grams: Grams::new(u64::try_from(grams).unwrap_or(0)),
            remaining: Grams::new(u64::try_from(remaining).unwrap_or(0)),
            ripens_at: Timestamp(ripens_at),
            expires_at: Timestamp(expires_at),
        },
    )))
}

/// Every friend of `user_id` with their digest (empty when they hold no energy) and their
/// shield's window, if they ever raised one: one short row per friend.
pub(super) async fn friends_digests(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<FriendDigest>, StoreError> {
    // A probe of each friend's digest and shield by key. As plain joins, the planner reads all
    // of forest_digests into a hash table once a user has a few hundred friends (21 ms at
    // 100,000 users, against 2-4 ms this way).
    let rows = sqlx::query(
        "SELECT f.friend_id,
                (SELECT d.balls FROM forest_digests d WHERE d.user_id = f.friend_id) AS balls,
                s.active_from_ms, s.active_until_ms
         FROM friendships f
         LEFT JOIN LATERAL (
             SELECT p.active_from_ms, p.active_until_ms FROM prop_effects p
             WHERE p.user_id = f.friend_id AND p.kind = 'shield' LIMIT 1
         ) s ON true
         WHERE f.user_id = $1",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let bytes: Option<Vec<u8>> = row.try_get(1)?;
            let digest = match bytes {
                Some(bytes) => ForestDigest::decode(&bytes).map_err(StoreError::Database)?,
                None => ForestDigest::default(),
            };
            let from: Option<i64> = row.try_get(2)?;
            let until: Option<i64> = row.try_get(3)?;
            Ok(FriendDigest {
                user_id: UserId(row.try_get(0)?),
                digest,
                shield: from
                    .zip(until)
                    .map(|(from, until)| (Timestamp(from), Timestamp(until))),
            })
        })
        .collect()
}

/// Users whose stored digest differs from what their balls and balances say (the audit).
pub(super) async fn mismatches(conn: &mut PgConnection) -> Result<Vec<UserId>, sqlx::Error> {
    let users: Vec<Uuid> = sqlx::query_scalar(
        "WITH derived AS (
             SELECT b.user_id,
                    string_agg(uuid_send(b.ball_id) || int8send(b.grams) || int8send(bal.grams)
                               || int8send(b.ripens_at_ms) || int8send(b.expires_at_ms),
                               ''::bytea ORDER BY b.ripens_at_ms, b.ball_id) AS balls
             FROM balls b
             JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $1 AND bal.account_id = b.ball_id
             WHERE bal.grams > 0
             GROUP BY b.user_id)
         SELECT coalesce(d.user_id, s.user_id) FROM derived d
         FULL OUTER JOIN forest_digests s ON s.user_id = d.user_id
         WHERE d.balls IS DISTINCT FROM s.balls",
    )
    .bind(AccountKind::Ball.code())
    .fetch_all(&mut *conn)
    .await?;
    Ok(users.into_iter().map(UserId).collect())
}
