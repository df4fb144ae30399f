//! PostgreSQL queries for co-planting groups: members, invitations, pot shares.

use crate::error::StoreError;
use crate::model::{GroupMember, JoinResult, PlantingGroup};
use openforest_core::{AccountKind, Grams, GroupId, Timestamp, UserId};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

type GroupRow = (Uuid, String, String, Uuid, i64);

fn to_group((group_id, name, kind, created_by, created_at): GroupRow) -> PlantingGroup {
    PlantingGroup {
        group_id: GroupId(group_id),
        name,
        kind,
        created_by: UserId(created_by),
        created_at: Timestamp(created_at),
    }
}

async fn add_member(
    conn: &mut PgConnection,
    group_id: GroupId,
    user_id: UserId,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO group_members (group_id, user_id, joined_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (group_id, user_id) DO UPDATE SET joined_at_ms = EXCLUDED.joined_at_ms, left_at_ms = NULL",
    )
    .bind(group_id.uuid())
    .bind(user_id.uuid())
    .bind(at.millis())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user_id.uuid())
    .bind(group_id.uuid())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn create_group(pool: &PgPool, group: &PlantingGroup) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO planting_groups (group_id, name, kind, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(group.group_id.uuid())
    .bind(&group.name)
    .bind(&group.kind)
    .bind(group.created_by.uuid())
    .bind(group.created_at.millis())
    .execute(&mut *tx)
    .await?;
    add_member(&mut tx, group.group_id, group.created_by, group.created_at).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn group(
    pool: &PgPool,
    group_id: GroupId,
) -> Result<Option<PlantingGroup>, StoreError> {
    let row: Option<GroupRow> = sqlx::query_as(
        "SELECT group_id, name, kind, created_by, created_at_ms FROM planting_groups WHERE group_id = $1",
    )
    .bind(group_id.uuid())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(to_group))
}

pub(super) async fn group_members(
    pool: &PgPool,
    group_id: GroupId,
) -> Result<Vec<GroupMember>, StoreError> {
    let rows: Vec<(Uuid, i64, Option<i64>)> = sqlx::query_as(
        "SELECT user_id, joined_at_ms, left_at_ms FROM group_members WHERE group_id = $1 ORDER BY joined_at_ms",
    )
    .bind(group_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, joined, left)| GroupMember {
            user_id: UserId(user),
            joined_at: Timestamp(joined),
            left_at: left.map(Timestamp),
        })
        .collect())
}

pub(super) async fn user_groups(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<PlantingGroup>, StoreError> {
    let rows: Vec<GroupRow> = sqlx::query_as(
        "SELECT g.group_id, g.name, g.kind, g.created_by, g.created_at_ms
         FROM user_groups u
         JOIN planting_groups g ON g.group_id = u.group_id
         JOIN group_members m ON m.group_id = u.group_id AND m.user_id = u.user_id
         WHERE u.user_id = $1 AND m.left_at_ms IS NULL ORDER BY g.created_at_ms",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(to_group).collect())
}

async fn is_member(
    conn: &mut PgConnection,
    group_id: GroupId,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2 AND left_at_ms IS NULL)",
    )
    .bind(group_id.uuid())
    .bind(user_id.uuid())
    .fetch_one(conn)
    .await
}

pub(super) async fn invite_to_group(
    pool: &PgPool,
    group_id: GroupId,
    user_id: UserId,
    invited_by: UserId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let mut conn = pool.acquire().await?;
    if is_member(&mut conn, group_id, user_id).await? {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO group_invites (group_id, user_id, invited_by, at_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(group_id.uuid())
    .bind(user_id.uuid())
    .bind(invited_by.uuid())
    .bind(at.millis())
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

pub(super) async fn join_group(
    pool: &PgPool,
    group_id: GroupId,
    user_id: UserId,
    at: Timestamp,
    max_members: u32,
) -> Result<JoinResult, StoreError> {
    let mut tx = pool.begin().await?;
    // One join at a time per group, so the member limit holds.
    sqlx::query("SELECT 1 FROM planting_groups WHERE group_id = $1 FOR UPDATE")
        .bind(group_id.uuid())
        .execute(&mut *tx)
        .await?;
    if is_member(&mut tx, group_id, user_id).await? {
        return Ok(JoinResult::AlreadyMember);
    }
    let invited: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM group_invites WHERE group_id = $1 AND user_id = $2)",
    )
    .bind(group_id.uuid())
    .bind(user_id.uuid())
    .fetch_one(&mut *tx)
    .await?;
    if !invited {
        return Ok(JoinResult::NotInvited);
    }
    let members: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM group_members WHERE group_id = $1 AND left_at_ms IS NULL",
    )
    .bind(group_id.uuid())
    .fetch_one(&mut *tx)
    .await?;
    if members >= i64::from(max_members) {
        return Ok(JoinResult::Full);
    }
    sqlx::query("DELETE FROM group_invites WHERE group_id = $1 AND user_id = $2")
        .bind(group_id.uuid())
        .bind(user_id.uuid())
        .execute(&mut *tx)
        .await?;
    add_member(&mut tx, group_id, user_id, at).await?;
    tx.commit().await?;
    Ok(JoinResult::Joined)
}

pub(super) async fn leave_group(
    pool: &PgPool,
    group_id: GroupId,
    user_id: UserId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "UPDATE group_members SET left_at_ms = $3 WHERE group_id = $1 AND user_id = $2 AND left_at_ms IS NULL",
    )
    .bind(group_id.uuid())
    .bind(user_id.uuid())
    .bind(at.millis())
    .execute(pool)
    .await?
    .rows_affected()
        > 0)
}

pub(super) async fn pot_shares(
    pool: &PgPool,
    group_id: GroupId,
    members: &[UserId],
) -> Result<Vec<(UserId, Grams)>, StoreError> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT account_id, grams FROM balances WHERE owner_id = $1 AND kind = $2 AND account_id = ANY($3)",
    )
    .bind(group_id.uuid())
    .bind(AccountKind::Pot.code())
    .bind(members.iter().map(|member| member.uuid()).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    let found: std::collections::HashMap<Uuid, i64> = rows.into_iter().collect();
    Ok(members
        .iter()
        .map(|member| {
            let grams = found.get(&member.uuid()).copied().unwrap_or(0);
            (*member, Grams::new(u64::try_from(grams).unwrap_or(0)))
        })
        .collect())
}
