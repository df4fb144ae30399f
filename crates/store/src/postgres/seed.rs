//! Bulk seeding on PostgreSQL: one transaction per chunk, one `INSERT … SELECT FROM UNNEST`
//! per table whatever the chunk's size, and `ANALYZE` after the last chunk so the first queries
//! on the grown tables get the plans they would get in production.

use crate::digest::ForestDigest;
use crate::error::StoreError;
use crate::seed::{SeedChunk, SeedMovementKind, SeedReport, SequentialIds, Settlement};
use openforest_core::{AccountKind, EntryKind};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub(super) async fn seed_world(pool: &PgPool, chunk: &SeedChunk) -> Result<SeedReport, StoreError> {
    let settlement = chunk.settle()?;
    let mut report = SeedReport::default();
    // A world of past days: each day's balls go to their day's partition, as they would have.
    super::partitions::ensure_days_of_balls(
        pool,
        chunk.balls.iter().map(|ball| ball.ball_id.uuid()),
    )
    .await?;
    let mut tx = pool.begin().await?;
    write_users(&mut tx, chunk, &mut report).await?;
    write_friendships(&mut tx, chunk, &mut report).await?;
    write_balls(&mut tx, chunk, &settlement, &mut report).await?;
    write_journal(&mut tx, chunk, &mut report).await?;
    write_takes(&mut tx, chunk, &settlement, &mut report).await?;
    write_digests(&mut tx, chunk, &settlement).await?;
    tx.commit().await?;

    if chunk.last {
        sqlx::query(
            "ANALYZE users, user_handles, sessions, friendships, balls, balances, journal, steals,
                     feed, usage, forest_digests",
        )
        .execute(pool)
        .await?;
    }
    Ok(report)
}

/// The chunk's balls added to their owners' forest digests.
async fn write_digests(
    tx: &mut Transaction<'_, Postgres>,
    chunk: &SeedChunk,
    settlement: &Settlement,
) -> Result<(), StoreError> {
    let mut digests = settlement.digests(chunk);
    let owners: Vec<Uuid> = digests.iter().map(|(owner, _)| owner.uuid()).collect();
    let stored: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT user_id, balls FROM forest_digests WHERE user_id = ANY($1) FOR UPDATE",
    )
    .bind(&owners)
    .fetch_all(&mut **tx)
    .await?;
    let mut stored: std::collections::HashMap<Uuid, Vec<u8>> = stored.into_iter().collect();
    let mut bytes = Vec::with_capacity(digests.len());
    for (owner, digest) in digests.drain(..) {
        let digest = match stored.remove(&owner.uuid()) {
            Some(old) => ForestDigest::decode(&old)
                .map_err(StoreError::Database)?
                .merged(digest),
            None => digest,
        };
        bytes.push(digest.encode());
    }
    sqlx::query(
        "INSERT INTO forest_digests (user_id, balls) SELECT * FROM UNNEST($1::uuid[], $2::bytea[])
         ON CONFLICT (user_id) DO UPDATE SET balls = EXCLUDED.balls",
    )
    .bind(owners)
    .bind(bytes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_users(
    tx: &mut Transaction<'_, Postgres>,
    chunk: &SeedChunk,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let created_at = chunk.created_at.millis();
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
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO user_handles (handle, user_id)
         SELECT handle, user_id FROM UNNEST($1::text[], $2::uuid[]) AS t(handle, user_id)",
    )
    .bind(&handles)
    .bind(&user_ids)
    .execute(&mut **tx)
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
    .execute(&mut **tx)
    .await?;
    report.sessions = user_ids.len() as u64;
    Ok(())
}

async fn write_friendships(
    tx: &mut Transaction<'_, Postgres>,
    chunk: &SeedChunk,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let (users, friends): (Vec<Uuid>, Vec<Uuid>) = chunk
        .friendships
        .iter()
        .map(|(user, friend)| (user.uuid(), friend.uuid()))
        .unzip();
    report.friendship_rows = sqlx::query(
        "INSERT INTO friendships (user_id, friend_id, created_at_ms)
         SELECT user_id, friend_id, $3 FROM UNNEST($1::uuid[], $2::uuid[]) AS t(user_id, friend_id)
         ON CONFLICT DO NOTHING",
    )
    .bind(&users)
    .bind(&friends)
    .bind(chunk.created_at.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(())
}

/// The balls and their balance rows, holding what the movements left.
async fn write_balls(
    tx: &mut Transaction<'_, Postgres>,
    chunk: &SeedChunk,
    settlement: &Settlement,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let balls = &chunk.balls;
    let owners: Vec<Uuid> = balls.iter().map(|ball| ball.owner_id.uuid()).collect();
    let ball_ids: Vec<Uuid> = balls.iter().map(|ball| ball.ball_id.uuid()).collect();
    let grams: Vec<i64> = balls.iter().map(|ball| ball.grams.as_i64()).collect();
    let ripens_at: Vec<i64> = balls.iter().map(|ball| ball.ripens_at.millis()).collect();
    let expires_at: Vec<i64> = balls.iter().map(|ball| ball.expires_at.millis()).collect();
    let created_at: Vec<i64> = balls.iter().map(|ball| ball.created_at.millis()).collect();
    let held: Vec<i64> = settlement.ball_grams.iter().map(|g| g.as_i64()).collect();
    sqlx::query(
        "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id,
                            action, methodology, methodology_version, created_at_ms)
         SELECT user_id, ball_id, grams, ripens_at_ms, expires_at_ms, $7, $8, $9, $10, created_at_ms
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int8[], $5::int8[], $6::int8[])
              AS t(user_id, ball_id, grams, ripens_at_ms, expires_at_ms, created_at_ms)",
    )
    .bind(&owners)
    .bind(&ball_ids)
    .bind(&grams)
    .bind(&ripens_at)
    .bind(&expires_at)
    .bind(&created_at)
    .bind(chunk.partner_id.uuid())
    .bind(&chunk.action)
    .bind(&chunk.methodology)
    .bind(i64::from(chunk.methodology_version))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO balances (owner_id, kind, account_id, grams)
         SELECT owner_id, $4, account_id, grams
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[]) AS t(owner_id, account_id, grams)",
    )
    .bind(&owners)
    .bind(&ball_ids)
    .bind(&held)
    .bind(AccountKind::Ball.code())
    .execute(&mut **tx)
    .await?;
    report.balls = ball_ids.len() as u64;
    report.grams = balls.iter().map(|ball| ball.grams.get()).sum();
    Ok(())
}

/// Every ball's issuance entry and the entries of its movements, in one statement.
async fn write_journal(
    tx: &mut Transaction<'_, Postgres>,
    chunk: &SeedChunk,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let entries = chunk.entries();
    let mut ids = SequentialIds::new(chunk.created_at);
    let mut columns = JournalColumns::default();
    for entry in &entries {
        let (from, to) = (entry.from.key(), entry.to.key());
        columns.user_id.push(entry.user_id.uuid());
        columns.entry_id.push(ids.next_id());
        columns.at_ms.push(entry.at.millis());
        columns.kind.push(entry.kind.code());
        columns.from_owner.push(from.owner);
        columns.from_kind.push(from.kind.code());
        columns.from_id.push(from.id);
        columns.to_owner.push(to.owner);
        columns.to_kind.push(to.kind.code());
        columns.to_id.push(to.id);
        columns.grams.push(entry.grams.as_i64());
        match entry.kind {
            EntryKind::Collect => report.collects += 1,
            EntryKind::Steal => report.steals += 1,
            EntryKind::Expire => report.expiries += 1,
            _ => {}
        }
    }
    sqlx::query(
        "INSERT INTO journal (user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                              to_owner, to_kind, to_id, grams, reference)
         SELECT user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                to_owner, to_kind, to_id, grams, NULL
         FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::int2[], $5::uuid[], $6::int2[],
                     $7::uuid[], $8::uuid[], $9::int2[], $10::uuid[], $11::int8[])
              AS t(user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                   to_owner, to_kind, to_id, grams)",
    )
    .bind(&columns.user_id)
    .bind(&columns.entry_id)
    .bind(&columns.at_ms)
    .bind(&columns.kind)
    .bind(&columns.from_owner)
    .bind(&columns.from_kind)
    .bind(&columns.from_id)
    .bind(&columns.to_owner)
    .bind(&columns.to_kind)
    .bind(&columns.to_id)
    .bind(&columns.grams)
    .execute(&mut **tx)
    .await?;
    report.entries = entries.len() as u64;
    Ok(())
}

#[derive(Default)]
struct JournalColumns {
    user_id: Vec<Uuid>,
    entry_id: Vec<Uuid>,
    at_ms: Vec<i64>,
    kind: Vec<i16>,
    from_owner: Vec<Uuid>,
    from_kind: Vec<i16>,
    from_id: Vec<Uuid>,
    to_owner: Vec<Uuid>,
    to_kind: Vec<i16>,
    to_id: Vec<Uuid>,
    grams: Vec<i64>,
}

/// What the movements leave besides the journal: wallets, steals, the owners' feed, usage.
async fn write_takes(
    tx: &mut Transaction<'_, Postgres>,
    chunk: &SeedChunk,
    settlement: &Settlement,
    report: &mut SeedReport,
) -> Result<(), StoreError> {
    let (wallet_owners, wallet_grams): (Vec<Uuid>, Vec<i64>) = settlement
        .wallets
        .iter()
        .map(|(user_id, grams)| (user_id.uuid(), *grams))
        .unzip();
    sqlx::query(
        "INSERT INTO balances (owner_id, kind, account_id, grams)
         SELECT owner_id, $3, $4, grams FROM UNNEST($1::uuid[], $2::int8[]) AS t(owner_id, grams)
         ON CONFLICT (owner_id, kind, account_id)
         DO UPDATE SET grams = balances.grams + excluded.grams",
    )
    .bind(&wallet_owners)
    .bind(&wallet_grams)
    .bind(AccountKind::Wallet.code())
    // A wallet is its owner's only one: its account id is nil (`Account::key`).
    .bind(Uuid::nil())
    .execute(&mut **tx)
    .await?;

    let mut steals = StealColumns::default();
    for movement in &chunk.movements {
        if let SeedMovementKind::Steal { thief_id, take } = movement.kind {
            steals.owner_id.push(movement.owner_id.uuid());
            steals.ball_id.push(movement.ball_id.uuid());
            steals.thief_id.push(thief_id.uuid());
            steals.take.push(i16::from(take));
            steals.grams.push(movement.grams.as_i64());
            steals.at_ms.push(movement.at.millis());
        }
    }
    sqlx::query(
        "INSERT INTO steals (owner_id, ball_id, thief_id, take, grams, at_ms)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int2[], $5::int8[], $6::int8[])",
    )
    .bind(&steals.owner_id)
    .bind(&steals.ball_id)
    .bind(&steals.thief_id)
    .bind(&steals.take)
    .bind(&steals.grams)
    .bind(&steals.at_ms)
    .execute(&mut **tx)
    .await?;

    let feed = &settlement.feed;
    let users: Vec<Uuid> = feed.iter().map(|item| item.user_id.uuid()).collect();
    let items: Vec<Uuid> = feed.iter().map(|item| item.item_id).collect();
    let kinds: Vec<String> = feed.iter().map(|item| item.kind.to_string()).collect();
    let actors: Vec<Uuid> = feed.iter().map(|item| item.actor_id.uuid()).collect();
    let balls: Vec<Uuid> = feed.iter().map(|item| item.ball_id.uuid()).collect();
    let grams: Vec<i64> = feed.iter().map(|item| item.grams.as_i64()).collect();
    let at: Vec<i64> = feed.iter().map(|item| item.at.millis()).collect();
    sqlx::query(
        "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[],
                              $6::int8[], $7::int8[])",
    )
    .bind(&users)
    .bind(&items)
    .bind(&kinds)
    .bind(&actors)
    .bind(&balls)
    .bind(&grams)
    .bind(&at)
    .execute(&mut **tx)
    .await?;
    report.feed_items = feed.len() as u64;

    let usage = &settlement.usage;
    let users: Vec<Uuid> = usage.iter().map(|u| u.key.user_id.uuid()).collect();
    let actions: Vec<String> = usage.iter().map(|u| u.key.action.to_string()).collect();
    let periods: Vec<String> = usage.iter().map(|u| u.key.period.to_string()).collect();
    let counts: Vec<i64> = usage.iter().map(|u| i64::from(u.usage.actions)).collect();
    let quantities: Vec<i64> = usage
        .iter()
        .map(|u| i64::try_from(u.usage.quantity_milli).unwrap_or(i64::MAX))
        .collect();
    let grams: Vec<i64> = usage.iter().map(|u| u.usage.grams.as_i64()).collect();
    sqlx::query(
        "INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[])
         ON CONFLICT (user_id, action, period) DO UPDATE
         SET actions = usage.actions + excluded.actions,
             quantity_milli = usage.quantity_milli + excluded.quantity_milli,
             grams = usage.grams + excluded.grams",
    )
    .bind(&users)
    .bind(&actions)
    .bind(&periods)
    .bind(&counts)
    .bind(&quantities)
    .bind(&grams)
    .execute(&mut **tx)
    .await?;
    report.usage_rows = usage.len() as u64;
    Ok(())
}

#[derive(Default)]
struct StealColumns {
    owner_id: Vec<Uuid>,
    ball_id: Vec<Uuid>,
    thief_id: Vec<Uuid>,
    take: Vec<i16>,
    grams: Vec<i64>,
    at_ms: Vec<i64>,
}
