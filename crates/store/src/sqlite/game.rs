//! SQLite queries for friends and the harvest's reads: ball facts, live balls, steals, feed.
//! Energy itself only moves through the writer.

use crate::error::StoreError;
use crate::model::{BallState, FeedEntry, FriendRequestResult};
use openforest_core::{AccountKind, Ball, BallFacts, BallId, Grams, PartnerId, Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::collections::HashSet;
use uuid::Uuid;

fn grams(raw: i64) -> Grams {
    Grams::new(u64::try_from(raw).unwrap_or(0))
}

/// A ball's immutable facts (the writer loads them with a take).
pub(super) fn ball_facts(
    conn: &Connection,
    owner_id: UserId,
    ball_id: BallId,
) -> rusqlite::Result<Option<BallFacts>> {
    conn.prepare_cached(
        "SELECT grams, ripens_at_ms, expires_at_ms FROM balls WHERE user_id = ?1 AND ball_id = ?2",
    )?
    .query_row(params![owner_id.uuid(), ball_id.uuid()], |row| {
        Ok(BallFacts {
            owner_id,
            ball_id,
            full: grams(row.get(0)?),
            ripens_at: Timestamp(row.get(1)?),
            expires_at: Timestamp(row.get(2)?),
        })
    })
    .optional()
}

/// Balls of these users that have not expired and still hold energy, oldest ripening first.
pub(super) fn live_balls(
    conn: &Connection,
    users: &[UserId],
    now: Timestamp,
) -> Result<Vec<BallState>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.ball_id, b.grams, b.ripens_at_ms, b.expires_at_ms, b.partner_id, b.action, b.methodology,
                b.methodology_version, b.created_at_ms, bal.grams
         FROM balls b
         JOIN balances bal ON bal.account_id = b.ball_id AND bal.kind = ?3 AND bal.owner_id = b.user_id
         WHERE b.user_id = ?1 AND b.expires_at_ms > ?2 AND bal.grams > 0
         ORDER BY b.ripens_at_ms",
    )?;
    let mut balls = Vec::new();
    for user_id in users {
        let rows = stmt.query_map(
            params![user_id.uuid(), now.millis(), AccountKind::Ball.code()],
            |row| {
                Ok(BallState {
                    ball: Ball {
                        ball_id: BallId(row.get(0)?),
                        user_id: *user_id,
                        grams: grams(row.get(1)?),
                        ripens_at: Timestamp(row.get(2)?),
                        expires_at: Timestamp(row.get(3)?),
                        partner_id: PartnerId(row.get(4)?),
                        action: row.get(5)?,
                        methodology: row.get(6)?,
                        methodology_version: row.get(7)?,
                        created_at: Timestamp(row.get(8)?),
                    },
                    remaining: grams(row.get(9)?),
                })
            },
        )?;
        for row in rows {
            balls.push(row?);
        }
    }
    Ok(balls)
}

/// The balls the user took from since `since` (through the thief's index).
pub(super) fn balls_taken(
    conn: &Connection,
    user_id: UserId,
    since: Timestamp,
) -> Result<HashSet<BallId>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT ball_id FROM steals WHERE thief_id = ?1 AND at_ms > ?2")?;
    let rows = stmt.query_map(params![user_id.uuid(), since.millis()], |row| {
        Ok(BallId(row.get(0)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn friend_count(conn: &Connection, user_id: UserId) -> rusqlite::Result<u32> {
    conn.prepare_cached("SELECT count(*) FROM friendships WHERE user_id = ?1")?
        .query_row(params![user_id.uuid()], |row| row.get(0))
}

fn befriend(conn: &Connection, a: UserId, b: UserId, at: Timestamp) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO friendships (user_id, friend_id, created_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?;
    insert.execute(params![a.uuid(), b.uuid(), at.millis()])?;
    insert.execute(params![b.uuid(), a.uuid(), at.millis()])?;
    let mut forget = conn.prepare_cached(
        "DELETE FROM friend_requests WHERE to_user_id = ?1 AND from_user_id = ?2",
    )?;
    forget.execute(params![a.uuid(), b.uuid()])?;
    forget.execute(params![b.uuid(), a.uuid()])?;
    Ok(())
}

pub(super) fn are_friends(conn: &Connection, a: UserId, b: UserId) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM friendships WHERE user_id = ?1 AND friend_id = ?2")?
        .exists(params![a.uuid(), b.uuid()])
}

pub(super) fn request_friend(
    conn: &mut Connection,
    from: UserId,
    to: UserId,
    at: Timestamp,
    limit: u32,
) -> Result<FriendRequestResult, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if is_blocked(&tx, from, to)? {
        return Ok(FriendRequestResult::Blocked);
    }
    if are_friends(&tx, from, to)? {
        return Ok(FriendRequestResult::AlreadyFriends);
    }
    if friend_count(&tx, from)? >= limit || friend_count(&tx, to)? >= limit {
        return Ok(FriendRequestResult::TooManyFriends);
    }
    let they_asked = tx
        .prepare_cached(
            "SELECT 1 FROM friend_requests WHERE to_user_id = ?1 AND from_user_id = ?2",
        )?
        .exists(params![from.uuid(), to.uuid()])?;
    let result = if they_asked {
        befriend(&tx, from, to, at)?;
        FriendRequestResult::BecameFriends
    } else {
        tx.prepare_cached(
            "INSERT INTO friend_requests (to_user_id, from_user_id, created_at_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![to.uuid(), from.uuid(), at.millis()])?;
        FriendRequestResult::Requested
    };
    tx.commit()?;
    Ok(result)
}

pub(super) fn friend_requests(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<(UserId, Timestamp)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT from_user_id, created_at_ms FROM friend_requests WHERE to_user_id = ?1 ORDER BY created_at_ms",
    )?;
    let rows = stmt.query_map(params![user_id.uuid()], |row| {
        Ok((UserId(row.get(0)?), Timestamp(row.get(1)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Accepts or declines a pending request; `None` when there is no such request, otherwise
/// whether it became a friendship (accepting can still meet the friend limit).
pub(super) fn answer_friend_request(
    conn: &mut Connection,
    user_id: UserId,
    from: UserId,
    accept: bool,
    at: Timestamp,
    limit: u32,
) -> Result<Option<FriendRequestResult>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let pending = tx
        .prepare_cached(
            "SELECT 1 FROM friend_requests WHERE to_user_id = ?1 AND from_user_id = ?2",
        )?
        .exists(params![user_id.uuid(), from.uuid()])?;
    if !pending {
        return Ok(None);
    }
    let result = if !accept {
        tx.prepare_cached(
            "DELETE FROM friend_requests WHERE to_user_id = ?1 AND from_user_id = ?2",
        )?
        .execute(params![user_id.uuid(), from.uuid()])?;
        FriendRequestResult::Requested
    } else if friend_count(&tx, user_id)? >= limit || friend_count(&tx, from)? >= limit {
        return Ok(Some(FriendRequestResult::TooManyFriends));
    } else {
        befriend(&tx, user_id, from, at)?;
        FriendRequestResult::BecameFriends
    };
    tx.commit()?;
    Ok(Some(result))
}

pub(super) fn remove_friend(
    conn: &mut Connection,
    user_id: UserId,
    friend_id: UserId,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut delete =
        tx.prepare_cached("DELETE FROM friendships WHERE user_id = ?1 AND friend_id = ?2")?;
    let removed = delete.execute(params![user_id.uuid(), friend_id.uuid()])? > 0;
    delete.execute(params![friend_id.uuid(), user_id.uuid()])?;
    drop(delete);
    tx.commit()?;
    Ok(removed)
}

pub(super) fn friends(conn: &Connection, user_id: UserId) -> Result<Vec<UserId>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT friend_id FROM friendships WHERE user_id = ?1")?;
    let rows = stmt.query_map(params![user_id.uuid()], |row| Ok(UserId(row.get(0)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn feed(
    conn: &Connection,
    user_id: UserId,
    before: Option<Uuid>,
    limit: u32,
) -> Result<Vec<FeedEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT item_id, kind, actor_id, ball_id, grams, at_ms, species_id FROM feed
         WHERE user_id = ?1 AND (?2 IS NULL OR item_id < ?2) ORDER BY item_id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user_id.uuid(), before, limit], |row| {
        Ok(FeedEntry {
            item_id: row.get(0)?,
            kind: row.get(1)?,
            actor_id: row.get::<_, Option<Uuid>>(2)?.map(UserId),
            ball_id: row.get::<_, Option<Uuid>>(3)?.map(BallId),
            grams: grams(row.get(4)?),
            at: Timestamp(row.get(5)?),
            species_id: row.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn usage_totals(
    conn: &Connection,
    users: &[UserId],
    action: &str,
    periods: &[String],
) -> Result<std::collections::HashMap<UserId, Grams>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT grams FROM usage WHERE period = ?1 AND action = ?2 AND user_id = ?3",
    )?;
    let mut totals = std::collections::HashMap::new();
    for user in users {
        let mut total = 0u64;
        for period in periods {
            let found: Option<i64> = stmt
                .query_row(params![period, action, user.uuid()], |row| row.get(0))
                .optional()?;
            total += u64::try_from(found.unwrap_or(0)).unwrap_or(0);
        }
        totals.insert(*user, Grams::new(total));
    }
    Ok(totals)
}

pub(super) fn is_blocked(conn: &Connection, a: UserId, b: UserId) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM blocks WHERE (user_id = ?1 AND blocked_id = ?2) OR (user_id = ?2 AND blocked_id = ?1)",
    )?
    .exists(params![a.uuid(), b.uuid()])
}

pub(super) fn invite_code(
    conn: &mut Connection,
    user_id: UserId,
    candidate: &str,
    at: Timestamp,
) -> Result<String, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing: Option<String> = tx
        .prepare_cached("SELECT code FROM invite_codes WHERE user_id = ?1")?
        .query_row(params![user_id.uuid()], |row| row.get(0))
        .optional()?;
    if let Some(code) = existing {
        return Ok(code);
    }
    let inserted = tx
        .prepare_cached(
            "INSERT INTO invite_codes (code, user_id, created_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?
        .execute(params![candidate, user_id.uuid(), at.millis()])?;
    if inserted == 0 {
        return Err(StoreError::Conflict("invite code"));
    }
    tx.commit()?;
    Ok(candidate.to_string())
}

pub(super) fn user_by_invite_code(
    conn: &Connection,
    code: &str,
) -> Result<Option<UserId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT user_id FROM invite_codes WHERE code = ?1")?
        .query_row(params![code], |row| Ok(UserId(row.get(0)?)))
        .optional()?)
}

pub(super) fn block_user(
    conn: &mut Connection,
    user_id: UserId,
    other: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO blocks (user_id, blocked_id, created_at_ms) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?
    .execute(params![user_id.uuid(), other.uuid(), at.millis()])?;
    for (a, b) in [(user_id, other), (other, user_id)] {
        tx.prepare_cached("DELETE FROM friendships WHERE user_id = ?1 AND friend_id = ?2")?
            .execute(params![a.uuid(), b.uuid()])?;
        tx.prepare_cached(
            "DELETE FROM friend_requests WHERE to_user_id = ?1 AND from_user_id = ?2",
        )?
        .execute(params![a.uuid(), b.uuid()])?;
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn unblock_user(
    conn: &Connection,
    user_id: UserId,
    other: UserId,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM blocks WHERE user_id = ?1 AND blocked_id = ?2")?
        .execute(params![user_id.uuid(), other.uuid()])?
        > 0)
}

pub(super) fn announce_expiring_balls(
    conn: &mut Connection,
    now: Timestamp,
    after: crate::DueCursor,
    horizon: Timestamp,
    limit: u32,
) -> Result<crate::AnnouncedPage, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let due = {
        let mut stmt = tx.prepare_cached(
            "SELECT b.user_id, b.ball_id, b.expires_at_ms, bal.grams FROM balls b
             JOIN balances bal ON bal.account_id = b.ball_id AND bal.kind = ?3 AND bal.owner_id = b.user_id
             WHERE (b.expires_at_ms, b.user_id, b.ball_id) > (?5, ?6, ?7)
               AND b.expires_at_ms > ?1 AND b.expires_at_ms <= ?2 AND bal.grams > 0
               AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.user_id = b.user_id AND n.ball_id = b.ball_id)
             ORDER BY b.expires_at_ms, b.user_id, b.ball_id LIMIT ?4",
        )?;
        stmt.query_map(
            params![
                now.millis(),
                horizon.millis(),
                AccountKind::Ball.code(),
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
                    grams(row.get(3)?),
                ))
            },
        )?
        .collect::<Result<Vec<_>, _>>()?
    };
    for (user_id, ball_id, expires_at, left) in &due {
        tx.prepare_cached(
            "INSERT INTO expiry_notices (user_id, ball_id, noticed_at_ms) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![user_id.uuid(), ball_id.uuid(), now.millis()])?;
        let outcome = serde_json::to_string(&openforest_core::Outcome::ExpiringSoon {
            ball_id: *ball_id,
            grams: *left,
            expires_at: *expires_at,
        })
        .map_err(|err| StoreError::Database(err.to_string()))?;
        tx.prepare_cached(
            "INSERT INTO webhook_events (event_id, event_type, partner_id, user_id, occurred_at_ms, outcome)
             VALUES (?1, ?2, NULL, ?3, ?4, ?5)",
        )?
        .execute(params![
            crate::new_id(now),
            crate::webhooks::BALL_EXPIRING,
            user_id.uuid(),
            now.millis(),
            outcome
        ])?;
    }
    tx.commit()?;
    Ok(crate::AnnouncedPage {
        announced: u32::try_from(due.len()).unwrap_or(u32::MAX),
        next: due.last().filter(|_| due.len() == limit as usize).map(
            |&(user_id, ball_id, expires_at, _)| {
                crate::DueCursor::after(user_id, ball_id, expires_at)
            },
        ),
    })
}

pub(super) fn report_abuse(
    conn: &Connection,
    user_id: UserId,
    kind: &str,
    detail: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO abuse_reports (report_id, user_id, kind, detail, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![crate::new_id(at), user_id.uuid(), kind, detail, at.millis()])?;
    Ok(())
}

pub(super) fn abuse_reports(
    conn: &Connection,
    pending_only: bool,
    limit: u32,
) -> Result<Vec<crate::model::AbuseReport>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT report_id, user_id, kind, detail, at_ms, reviewed_at_ms FROM abuse_reports
         WHERE (?1 = 0 OR reviewed_at_ms IS NULL) ORDER BY report_id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![pending_only, limit], |row| {
        Ok(crate::model::AbuseReport {
            report_id: row.get(0)?,
            user_id: UserId(row.get(1)?),
            kind: row.get(2)?,
            detail: row.get(3)?,
            at: Timestamp(row.get(4)?),
            reviewed_at: row.get::<_, Option<i64>>(5)?.map(Timestamp),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn review_abuse_report(
    conn: &Connection,
    report_id: Uuid,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE abuse_reports SET reviewed_at_ms = ?2 WHERE report_id = ?1 AND reviewed_at_ms IS NULL",
        )?
        .execute(params![report_id, at.millis()])?
        > 0)
}

pub(super) fn handles(
    conn: &Connection,
    users: &[UserId],
) -> Result<std::collections::HashMap<UserId, String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT handle FROM users WHERE user_id = ?1")?;
    let mut handles = std::collections::HashMap::with_capacity(users.len());
    for user in users {
        if let Some(handle) = stmt
            .query_row(params![user.uuid()], |row| row.get::<_, String>(0))
            .optional()?
        {
            handles.insert(*user, handle);
        }
    }
    Ok(handles)
}
