//! Bulk seeding on PostgreSQL: one transaction per chunk, one `INSERT … SELECT FROM UNNEST`
//! per table whatever the chunk's size, and `ANALYZE` after the last chunk so the first queries
//! on the grown tables get the plans they would get in production.

use crate::error::StoreError;
use crate::seed::{SeedChunk, SeedReport, SequentialIds};
use openforest_core::{Account, AccountKind, EntryKind};
use sqlx::PgPool;
use uuid::Uuid;

pub(super) async fn seed_world(pool: &PgPool, chunk: &SeedChunk) -> Result<SeedReport, StoreError> {
    let mut report = SeedReport::default();
    let created_at = chunk.created_at.millis();
    let mut tx = pool.begin().await?;

    let user_ids: Vec<Uuid> = chunk.users.iter().map(|user| user.user_id.uuid()).collect();
    let handles: Vec<String> = chunk
        .users
        .iter()
        .map(|user| user.handle.as_str().to_string())
        .collect();
    let token_hashes: Vec<Vec<u8>> = chunk
        .users
        .iter()
        .map(|user| user.token_hash.to_vec())
        .collect();
    sqlx::query(
        "INSERT INTO users (user_id, handle, role, password_hash, created_at_ms)
         SELECT user_id, handle, 'user', NULL, $3 FROM UNNEST($1::uuid[], $2::text[]) AS t(user_id, handle)",
    )
    .bind(&user_ids)
    .bind(&handles)
    .bind(created_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO user_handles (handle, user_id)
         SELECT handle, user_id FROM UNNEST($1::text[], $2::uuid[]) AS t(handle, user_id)",
    )
    .bind(&handles)
    .bind(&user_ids)
    .execute(&mut *tx)
    .await?;
    report.users = user_ids.len() as u64;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms)
         SELECT token_hash, user_id, $3, $4 FROM UNNEST($1::bytea[], $2::uuid[]) AS t(token_hash, user_id)",
    )
    .bind(&token_hashes)
    .bind(&user_ids)
    .bind(created_at)
    .bind(chunk.session_expires_at.millis())
    .execute(&mut *tx)
    .await?;
    report.sessions = user_ids.len() as u64;

    let (mut users, mut friends) = (Vec::new(), Vec::new());
    for (a, b) in &chunk.friendships {
        users.extend([a.uuid(), b.uuid()]);
        friends.extend([b.uuid(), a.uuid()]);
    }
    report.friendship_rows = sqlx::query(
        "INSERT INTO friendships (user_id, friend_id, created_at_ms)
         SELECT user_id, friend_id, $3 FROM UNNEST($1::uuid[], $2::uuid[]) AS t(user_id, friend_id)
         ON CONFLICT DO NOTHING",
    )
    .bind(&users)
    .bind(&friends)
    .bind(created_at)
    .execute(&mut *tx)
    .await?
    .rows_affected();

    let owners: Vec<Uuid> = chunk
        .balls
        .iter()
        .map(|ball| ball.owner_id.uuid())
        .collect();
    let ball_ids: Vec<Uuid> = chunk.balls.iter().map(|ball| ball.ball_id.uuid()).collect();
    let grams: Vec<i64> = chunk.balls.iter().map(|ball| ball.grams.as_i64()).collect();
    let mut ids = SequentialIds::new(chunk.created_at);
    let entry_ids: Vec<Uuid> = chunk.balls.iter().map(|_| ids.next_id()).collect();
    sqlx::query(
        "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id,
                            action, methodology, methodology_version, created_at_ms)
         SELECT user_id, ball_id, grams, $4, $5, $6, $7, $8, $9, $10
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[]) AS t(user_id, ball_id, grams)",
    )
    .bind(&owners)
    .bind(&ball_ids)
    .bind(&grams)
    .bind(chunk.ripens_at.millis())
    .bind(chunk.expires_at.millis())
    .bind(chunk.partner_id.uuid())
    .bind(&chunk.action)
    .bind(&chunk.methodology)
    .bind(i64::from(chunk.methodology_version))
    .bind(created_at)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO balances (owner_id, kind, account_id, grams)
         SELECT owner_id, $4, account_id, grams
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[]) AS t(owner_id, account_id, grams)",
    )
    .bind(&owners)
    .bind(&ball_ids)
    .bind(&grams)
    .bind(AccountKind::Ball.code())
    .execute(&mut *tx)
    .await?;
    let issuance = Account::Issuance {
        partner_id: chunk.partner_id,
    }
    .key();
    sqlx::query(
        "INSERT INTO journal (user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                              to_owner, to_kind, to_id, grams, reference)
         SELECT user_id, entry_id, $5, $6, $7, $8, $9, user_id, $10, ball_id, grams, NULL
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[])
              AS t(user_id, entry_id, ball_id, grams)",
    )
    .bind(&owners)
    .bind(&entry_ids)
    .bind(&ball_ids)
    .bind(&grams)
    .bind(created_at)
    .bind(EntryKind::Action.code())
    .bind(issuance.owner)
    .bind(issuance.kind.code())
    .bind(issuance.id)
    .bind(AccountKind::Ball.code())
    .execute(&mut *tx)
    .await?;
    report.balls = ball_ids.len() as u64;
    report.entries = entry_ids.len() as u64;
    report.grams = chunk.balls.iter().map(|ball| ball.grams.get()).sum();
    tx.commit().await?;

    if chunk.last {
        sqlx::query("ANALYZE users, user_handles, sessions, friendships, balls, balances, journal")
            .execute(pool)
            .await?;
    }
    Ok(report)
}
