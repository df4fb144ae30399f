//! PostgreSQL queries for friends and the harvest's reads: ball facts, live balls, steals, feed.
//! Energy itself only moves through the writer.

use crate::error::StoreError;
use crate::model::{BallState, FeedEntry, FriendRequestResult};
use openforest_core::{AccountKind, Ball, BallFacts, BallId, Grams, PartnerId, Timestamp, UserId};
use sqlx::{PgConnection, PgPool, Row};
use std::collections::HashSet;
use uuid::Uuid;

/// `(item_id, kind, actor_id, ball_id, grams, at_ms)`.
type FeedRow = (
    Uuid,
    String,
    Option<Uuid>,
    Option<Uuid>,
    i64,
    i64,
    Option<String>,
);

fn grams(raw: i64) -> Grams {
    Grams::new(u64::try_from(raw).unwrap_or(0))
}

/// The immutable facts of these balls (the writer loads them with the batch's takes).
pub(super) async fn ball_facts(
    conn: &mut PgConnection,
    balls: &[openforest_core::BallRef],
) -> Result<Vec<BallFacts>, sqlx::Error> {
    let rows: Vec<(Uuid, Uuid, i64, i64, i64)> = sqlx::query_as(
        "SELECT b.user_id, b.ball_id, b.grams, b.ripens_at_ms, b.expires_at_ms
         FROM balls b
         JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(user_id, ball_id)
           ON b.user_id = k.user_id AND b.ball_id = k.ball_id",
    )
    .bind(
        balls
            .iter()
            .map(|ball| ball.owner_id.uuid())
            .collect::<Vec<_>>(),
    )
    .bind(
        balls
            .iter()
            .map(|ball| ball.ball_id.uuid())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(owner, ball, full, ripens, expires)| BallFacts {
            owner_id: UserId(owner),
            ball_id: BallId(ball),
            full: grams(full),
            ripens_at: Timestamp(ripens),
            expires_at: Timestamp(expires),
        })
        .collect())
}

/// Which of these `(user, friend)` pairs are friends.
pub(super) async fn friendships(
    conn: &mut PgConnection,
    pairs: &[(UserId, UserId)],
) -> Result<Vec<(UserId, UserId)>, sqlx::Error> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT f.user_id, f.friend_id FROM friendships f
         JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(user_id, friend_id)
           ON f.user_id = k.user_id AND f.friend_id = k.friend_id",
    )
    .bind(
        pairs
            .iter()
            .map(|(user, _)| user.uuid())
            .collect::<Vec<_>>(),
    )
    .bind(
        pairs
            .iter()
            .map(|(_, friend)| friend.uuid())
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, friend)| (UserId(user), UserId(friend)))
        .collect())
}

const LIVE_BALL_COLUMNS: &str =
    "b.user_id, b.ball_id, b.grams, b.ripens_at_ms, b.expires_at_ms, b.partner_id,
     b.action, b.methodology, b.methodology_version, b.created_at_ms, bal.grams AS remaining";

fn to_ball_state(row: &sqlx::postgres::PgRow) -> Result<BallState, StoreError> {
    Ok(BallState {
        ball: Ball {
            ball_id: BallId(row.try_get("ball_id")?),
            user_id: UserId(row.try_get("user_id")?),
            grams: grams(row.try_get("grams")?),
            ripens_at: Timestamp(row.try_get("ripens_at_ms")?),
            expires_at: Timestamp(row.try_get("expires_at_ms")?),
            partner_id: PartnerId(row.try_get("partner_id")?),
            action: row.try_get("action")?,
            methodology: row.try_get("methodology")?,
            methodology_version: u32::try_from(row.try_get::<i64, _>("methodology_version")?)
                .unwrap_or(0),
            created_at: Timestamp(row.try_get("created_at_ms")?),
        },
        remaining: grams(row.try_get("remaining")?),
    })
}

/// Balls of these users that have not expired and still hold energy, oldest ripening first.
pub(super) async fn live_balls(
    pool: &PgPool,
    users: &[UserId],
    now: Timestamp,
) -> Result<Vec<BallState>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {LIVE_BALL_COLUMNS}
         FROM balls b
         JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $3 AND bal.account_id = b.ball_id
         WHERE b.user_id = ANY($1) AND b.expires_at_ms > $2 AND bal.grams > 0
         ORDER BY b.ripens_at_ms"
    ))
    .bind(users.iter().map(|user| user.uuid()).collect::<Vec<_>>())
    .bind(now.millis())
    .bind(AccountKind::Ball.code())
    .fetch_all(pool)
    .await?;
    rows.iter().map(to_ball_state).collect()
}

/// The balls the user took from since `since` (through the thief's index).
pub(super) async fn balls_taken(
    pool: &PgPool,
    user_id: UserId,
    since: Timestamp,
) -> Result<HashSet<BallId>, StoreError> {
    let balls: Vec<Uuid> =
        sqlx::query_scalar("SELECT ball_id FROM steals WHERE thief_id = $1 AND at_ms > $2")
            .bind(user_id.uuid())
            .bind(since.millis())
            .fetch_all(pool)
            .await?;
    Ok(balls.into_iter().map(BallId).collect())
}

async fn friend_count(conn: &mut PgConnection, user_id: UserId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM friendships WHERE user_id = $1")
        .bind(user_id.uuid())
        .fetch_one(conn)
        .await
}

async fn befriend(
    conn: &mut PgConnection,
    a: UserId,
    b: UserId,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO friendships (user_id, friend_id, created_at_ms)
         VALUES ($1, $2, $3), ($2, $1, $3) ON CONFLICT DO NOTHING",
    )
    .bind(a.uuid())
    .bind(b.uuid())
    .bind(at.millis())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM friend_requests WHERE (to_user_id = $1 AND from_user_id = $2)
                                         OR (to_user_id = $2 AND from_user_id = $1)",
    )
    .bind(a.uuid())
    .bind(b.uuid())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn are_friends(pool: &PgPool, a: UserId, b: UserId) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM friendships WHERE user_id = $1 AND friend_id = $2)",
    )
    .bind(a.uuid())
    .bind(b.uuid())
    .fetch_one(pool)
    .await?)
}

/// Both users' friendship rows are locked in id order for the duration, so two requests
/// racing past the friend limit cannot both pass.
async fn lock_pair(conn: &mut PgConnection, a: UserId, b: UserId) -> Result<(), sqlx::Error> {
    let (first, second) = if a.uuid() < b.uuid() { (a, b) } else { (b, a) };
    for user in [first, second] {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 7))")
            .bind(user.uuid().to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub(super) async fn request_friend(
    pool: &PgPool,
    from: UserId,
    to: UserId,
    at: Timestamp,
    limit: u32,
) -> Result<FriendRequestResult, StoreError> {
    let mut tx = pool.begin().await?;
    lock_pair(&mut tx, from, to).await?;
    if is_blocked(&mut tx, from, to).await? {
        return Ok(FriendRequestResult::Blocked);
    }
    let friends: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM friendships WHERE user_id = $1 AND friend_id = $2)",
    )
    .bind(from.uuid())
    .bind(to.uuid())
    .fetch_one(&mut *tx)
    .await?;
    if friends {
        return Ok(FriendRequestResult::AlreadyFriends);
    }
    if friend_count(&mut tx, from).await? >= i64::from(limit)
        || friend_count(&mut tx, to).await? >= i64::from(limit)
    {
        return Ok(FriendRequestResult::TooManyFriends);
    }
    let they_asked: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM friend_requests WHERE to_user_id = $1 AND from_user_id = $2)",
    )
    .bind(from.uuid())
    .bind(to.uuid())
    .fetch_one(&mut *tx)
    .await?;
    let result = if they_asked {
        befriend(&mut tx, from, to, at).await?;
        FriendRequestResult::BecameFriends
    } else {
        sqlx::query(
            "INSERT INTO friend_requests (to_user_id, from_user_id, created_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(to.uuid())
        .bind(from.uuid())
        .bind(at.millis())
        .execute(&mut *tx)
        .await?;
        FriendRequestResult::Requested
    };
    tx.commit().await?;
    Ok(result)
}

pub(super) async fn friend_requests(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<(UserId, Timestamp)>, StoreError> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT from_user_id, created_at_ms FROM friend_requests WHERE to_user_id = $1 ORDER BY created_at_ms",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(from, at)| (UserId(from), Timestamp(at)))
        .collect())
}

pub(super) async fn answer_friend_request(
    pool: &PgPool,
    user_id: UserId,
    from: UserId,
    accept: bool,
    at: Timestamp,
    limit: u32,
) -> Result<Option<FriendRequestResult>, StoreError> {
    let mut tx = pool.begin().await?;
    lock_pair(&mut tx, user_id, from).await?;
    let pending: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM friend_requests WHERE to_user_id = $1 AND from_user_id = $2)",
    )
    .bind(user_id.uuid())
    .bind(from.uuid())
    .fetch_one(&mut *tx)
    .await?;
    if !pending {
        return Ok(None);
    }
    let result = if !accept {
        sqlx::query("DELETE FROM friend_requests WHERE to_user_id = $1 AND from_user_id = $2")
            .bind(user_id.uuid())
            .bind(from.uuid())
            .execute(&mut *tx)
            .await?;
        FriendRequestResult::Requested
    } else if friend_count(&mut tx, user_id).await? >= i64::from(limit)
        || friend_count(&mut tx, from).await? >= i64::from(limit)
    {
        return Ok(Some(FriendRequestResult::TooManyFriends));
    } else {
        befriend(&mut tx, user_id, from, at).await?;
        FriendRequestResult::BecameFriends
    };
    tx.commit().await?;
    Ok(Some(result))
}

pub(super) async fn remove_friend(
    pool: &PgPool,
    user_id: UserId,
    friend_id: UserId,
) -> Result<bool, StoreError> {
    let removed = sqlx::query(
        "DELETE FROM friendships WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
    )
    .bind(user_id.uuid())
    .bind(friend_id.uuid())
    .execute(pool)
    .await?
    .rows_affected();
    Ok(removed > 0)
}

pub(super) async fn friends(pool: &PgPool, user_id: UserId) -> Result<Vec<UserId>, StoreError> {
    let rows: Vec<Uuid> =
        sqlx::query_scalar("SELECT friend_id FROM friendships WHERE user_id = $1")
            .bind(user_id.uuid())
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(UserId).collect())
}

pub(super) async fn feed(
    pool: &PgPool,
    user_id: UserId,
    before: Option<Uuid>,
    limit: u32,
) -> Result<Vec<FeedEntry>, StoreError> {
    let rows: Vec<FeedRow> = sqlx::query_as(
        "SELECT item_id, kind, actor_id, ball_id, grams, at_ms, species_id FROM feed
         WHERE user_id = $1 AND ($2::uuid IS NULL OR item_id < $2) ORDER BY item_id DESC LIMIT $3",
    )
    .bind(user_id.uuid())
    .bind(before)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(item_id, kind, actor, ball, grams_raw, at, species_id)| FeedEntry {
                item_id,
                kind,
                actor_id: actor.map(UserId),
                ball_id: ball.map(BallId),
                grams: grams(grams_raw),
                at: Timestamp(at),
                species_id,
            },
        )
        .collect())
}

pub(super) async fn usage_totals(
    pool: &PgPool,
    users: &[UserId],
    action: &str,
    periods: &[String],
) -> Result<std::collections::HashMap<UserId, Grams>, StoreError> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT user_id, sum(grams)::int8 FROM usage
         WHERE user_id = ANY($1) AND action = $2 AND period = ANY($3) GROUP BY user_id",
    )
    .bind(users.iter().map(|user| user.uuid()).collect::<Vec<_>>())
    .bind(action)
    .bind(periods)
    .fetch_all(pool)
    .await?;
    let mut totals: std::collections::HashMap<UserId, Grams> =
        users.iter().map(|user| (*user, Grams::ZERO)).collect();
    for (user, total) in rows {
        totals.insert(UserId(user), grams(total));
    }
    Ok(totals)
}

async fn is_blocked(conn: &mut PgConnection, a: UserId, b: UserId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM blocks WHERE (user_id = $1 AND blocked_id = $2)
                                              OR (user_id = $2 AND blocked_id = $1))",
    )
    .bind(a.uuid())
    .bind(b.uuid())
    .fetch_one(conn)
    .await
}

pub(super) async fn invite_code(
    pool: &PgPool,
    user_id: UserId,
    candidate: &str,
    at: Timestamp,
) -> Result<String, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO invite_codes (code, user_id, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(candidate)
    .bind(user_id.uuid())
    .bind(at.millis())
    .execute(pool)
    .await?
    .rows_affected();
    let existing: Option<String> =
        sqlx::query_scalar("SELECT code FROM invite_codes WHERE user_id = $1")
            .bind(user_id.uuid())
            .fetch_optional(pool)
            .await?;
    match existing {
        Some(code) => Ok(code),
        None if inserted == 0 => Err(StoreError::Conflict("invite code")),
        None => Err(StoreError::Database("the invite code vanished".into())),
    }
}

pub(super) async fn user_by_invite_code(
    pool: &PgPool,
    code: &str,
) -> Result<Option<UserId>, StoreError> {
    let user: Option<Uuid> = sqlx::query_scalar("SELECT user_id FROM invite_codes WHERE code = $1")
        .bind(code)
        .fetch_optional(pool)
        .await?;
    Ok(user.map(UserId))
}

pub(super) async fn block_user(
    pool: &PgPool,
    user_id: UserId,
    other: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    lock_pair(&mut tx, user_id, other).await?;
    sqlx::query(
        "INSERT INTO blocks (user_id, blocked_id, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(user_id.uuid())
    .bind(other.uuid())
    .bind(at.millis())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM friendships WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)",
    )
    .bind(user_id.uuid())
    .bind(other.uuid())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM friend_requests WHERE (to_user_id = $1 AND from_user_id = $2)
                                         OR (to_user_id = $2 AND from_user_id = $1)",
    )
    .bind(user_id.uuid())
    .bind(other.uuid())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn unblock_user(
    pool: &PgPool,
    user_id: UserId,
    other: UserId,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query("DELETE FROM blocks WHERE user_id = $1 AND blocked_id = $2")
            .bind(user_id.uuid())
            .bind(other.uuid())
            .execute(pool)
            .await?
            .rows_affected()
            > 0,
    )
}

pub(super) async fn announce_expiring_balls(
    pool: &PgPool,
    now: Timestamp,
    after: crate::DueCursor,
    horizon: Timestamp,
    limit: u32,
) -> Result<crate::AnnouncedPage, StoreError> {
    let mut tx = pool.begin().await?;
    let due: Vec<(Uuid, Uuid, i64, i64)> = sqlx::query_as(
        "SELECT b.user_id, b.ball_id, b.expires_at_ms, bal.grams FROM balls b
         JOIN balances bal ON bal.owner_id = b.user_id AND bal.kind = $3 AND bal.account_id = b.ball_id
         WHERE (b.expires_at_ms, b.user_id, b.ball_id) > ($5, $6, $7)
           AND b.expires_at_ms > $1 AND b.expires_at_ms <= $2 AND bal.grams > 0
           AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.user_id = b.user_id AND n.ball_id = b.ball_id)
         ORDER BY b.expires_at_ms, b.user_id, b.ball_id LIMIT $4",
    )
    .bind(now.millis())
    .bind(horizon.millis())
    .bind(AccountKind::Ball.code())
    .bind(i64::from(limit))
    .bind(after.expires_at.millis())
    .bind(after.user_id.uuid())
    .bind(after.ball_id.uuid())
    .fetch_all(&mut *tx)
    .await?;
    let next = due.last().filter(|_| due.len() == limit as usize).map(
        |&(user_id, ball_id, expires_at, _)| {
            crate::DueCursor::after(UserId(user_id), BallId(ball_id), Timestamp(expires_at))
        },
    );
    let mut announced = 0u32;
    for (user_id, ball_id, expires_at, left) in due {
        let noticed = sqlx::query(
            "INSERT INTO expiry_notices (user_id, ball_id, noticed_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(ball_id)
        .bind(now.millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if noticed == 0 {
            continue;
        }
        let outcome = serde_json::to_string(&openforest_core::Outcome::ExpiringSoon {
            ball_id: BallId(ball_id),
            grams: grams(left),
            expires_at: Timestamp(expires_at),
        })
        .map_err(|err| StoreError::Database(err.to_string()))?;
        sqlx::query(
            "INSERT INTO webhook_events (event_id, event_type, partner_id, user_id, occurred_at_ms, outcome)
             VALUES ($1, $2, NULL, $3, $4, $5)",
        )
        .bind(crate::new_id(now))
        .bind(crate::webhooks::BALL_EXPIRING)
        .bind(user_id)
        .bind(now.millis())
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
        announced += 1;
    }
    tx.commit().await?;
    Ok(crate::AnnouncedPage { announced, next })
}

pub(super) async fn report_abuse(
    pool: &PgPool,
    user_id: UserId,
    kind: &str,
    detail: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO abuse_reports (report_id, user_id, kind, detail, at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::new_id(at))
    .bind(user_id.uuid())
    .bind(kind)
    .bind(detail)
    .bind(at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn abuse_reports(
    pool: &PgPool,
    pending_only: bool,
    limit: u32,
) -> Result<Vec<crate::model::AbuseReport>, StoreError> {
    let rows: Vec<(Uuid, Uuid, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT report_id, user_id, kind, detail, at_ms, reviewed_at_ms FROM abuse_reports
         WHERE (NOT $1 OR reviewed_at_ms IS NULL) ORDER BY report_id DESC LIMIT $2",
    )
    .bind(pending_only)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(report_id, user, kind, detail, at, reviewed)| crate::model::AbuseReport {
                report_id,
                user_id: UserId(user),
                kind,
                detail,
                at: Timestamp(at),
                reviewed_at: reviewed.map(Timestamp),
            },
        )
        .collect())
}

pub(super) async fn review_abuse_report(
    pool: &PgPool,
    report_id: Uuid,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE abuse_reports SET reviewed_at_ms = $2 WHERE report_id = $1 AND reviewed_at_ms IS NULL",
    )
    .bind(report_id)
    .bind(at.millis())
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}

pub(super) async fn handles(
    pool: &PgPool,
    users: &[UserId],
) -> Result<std::collections::HashMap<UserId, String>, StoreError> {
    let rows: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT user_id, handle FROM users WHERE user_id = ANY($1)")
            .bind(users.iter().map(|user| user.uuid()).collect::<Vec<_>>())
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(user, handle)| (UserId(user), handle))
        .collect())
}
