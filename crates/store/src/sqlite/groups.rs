//! SQLite queries for co-planting groups: members, invitations, pot shares.

use crate::error::StoreError;
use crate::model::{GroupMember, JoinResult, PlantingGroup};
use openforest_core::{AccountKind, Grams, GroupId, Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

fn group_row(row: &Row<'_>) -> rusqlite::Result<PlantingGroup> {
    Ok(PlantingGroup {
        group_id: GroupId(row.get(0)?),
        name: row.get(1)?,
        kind: row.get(2)?,
        created_by: UserId(row.get(3)?),
        created_at: Timestamp(row.get(4)?),
    })
}

pub(super) fn create_group(conn: &mut Connection, group: &PlantingGroup) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO planting_groups (group_id, name, kind, created_by, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        group.group_id.uuid(),
        group.name,
        group.kind,
        group.created_by.uuid(),
        group.created_at.millis()
    ])?;
    add_member(&tx, group.group_id, group.created_by, group.created_at)?;
    tx.commit()?;
    Ok(())
}

fn add_member(
    conn: &Connection,
    group_id: GroupId,
    user_id: UserId,
    at: Timestamp,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO group_members (group_id, user_id, joined_at_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (group_id, user_id) DO UPDATE SET joined_at_ms = excluded.joined_at_ms, left_at_ms = NULL",
    )?
    .execute(params![group_id.uuid(), user_id.uuid(), at.millis()])?;
    conn.prepare_cached(
        "INSERT INTO user_groups (user_id, group_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![user_id.uuid(), group_id.uuid()])?;
    Ok(())
}

pub(super) fn group(
    conn: &Connection,
    group_id: GroupId,
) -> Result<Option<PlantingGroup>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT group_id, name, kind, created_by, created_at_ms FROM planting_groups WHERE group_id = ?1",
        )?
        .query_row(params![group_id.uuid()], group_row)
        .optional()?)
}

pub(super) fn group_members(
    conn: &Connection,
    group_id: GroupId,
) -> Result<Vec<GroupMember>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, joined_at_ms, left_at_ms FROM group_members WHERE group_id = ?1 ORDER BY joined_at_ms",
    )?;
    let rows = stmt.query_map(params![group_id.uuid()], |row| {
        Ok(GroupMember {
            user_id: UserId(row.get(0)?),
            joined_at: Timestamp(row.get(1)?),
            left_at: row.get::<_, Option<i64>>(2)?.map(Timestamp),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn user_groups(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<PlantingGroup>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT g.group_id, g.name, g.kind, g.created_by, g.created_at_ms
         FROM user_groups u
         JOIN planting_groups g ON g.group_id = u.group_id
         JOIN group_members m ON m.group_id = u.group_id AND m.user_id = u.user_id
         WHERE u.user_id = ?1 AND m.left_at_ms IS NULL ORDER BY g.created_at_ms",
    )?;
    let rows = stmt.query_map(params![user_id.uuid()], group_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn is_member(conn: &Connection, group_id: GroupId, user_id: UserId) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM group_members WHERE group_id = ?1 AND user_id = ?2 AND left_at_ms IS NULL",
    )?
    .exists(params![group_id.uuid(), user_id.uuid()])
}

pub(super) fn invite_to_group(
    conn: &Connection,
    group_id: GroupId,
    user_id: UserId,
    invited_by: UserId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    if is_member(conn, group_id, user_id)? {
        return Ok(false);
    }
    conn.prepare_cached(
        "INSERT INTO group_invites (group_id, user_id, invited_by, at_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        group_id.uuid(),
        user_id.uuid(),
        invited_by.uuid(),
        at.millis()
    ])?;
    Ok(true)
}

pub(super) fn join_group(
    conn: &mut Connection,
    group_id: GroupId,
    user_id: UserId,
    at: Timestamp,
    max_members: u32,
) -> Result<JoinResult, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if is_member(&tx, group_id, user_id)? {
        return Ok(JoinResult::AlreadyMember);
    }
    let invited = tx
        .prepare_cached("SELECT 1 FROM group_invites WHERE group_id = ?1 AND user_id = ?2")?
        .exists(params![group_id.uuid(), user_id.uuid()])?;
    if !invited {
        return Ok(JoinResult::NotInvited);
    }
    let members: u32 = tx
        .prepare_cached(
            "SELECT count(*) FROM group_members WHERE group_id = ?1 AND left_at_ms IS NULL",
        )?
        .query_row(params![group_id.uuid()], |row| row.get(0))?;
    if members >= max_members {
        return Ok(JoinResult::Full);
    }
    tx.prepare_cached("DELETE FROM group_invites WHERE group_id = ?1 AND user_id = ?2")?
        .execute(params![group_id.uuid(), user_id.uuid()])?;
    add_member(&tx, group_id, user_id, at)?;
    tx.commit()?;
    Ok(JoinResult::Joined)
}

pub(super) fn leave_group(
    conn: &Connection,
    group_id: GroupId,
    user_id: UserId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "UPDATE group_members SET left_at_ms = ?3 WHERE group_id = ?1 AND user_id = ?2 AND left_at_ms IS NULL",
        )?
        .execute(params![group_id.uuid(), user_id.uuid(), at.millis()])?
        > 0)
}

pub(super) fn pot_shares(
    conn: &Connection,
    group_id: GroupId,
    members: &[UserId],
) -> Result<Vec<(UserId, Grams)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT grams FROM balances WHERE account_id = ?1 AND kind = ?2 AND owner_id = ?3",
    )?;
    let mut shares = Vec::with_capacity(members.len());
    for member in members {
        let grams: Option<i64> = stmt
            .query_row(
                params![member.uuid(), AccountKind::Pot.code(), group_id.uuid()],
                |row| row.get(0),
            )
            .optional()?;
        shares.push((
            *member,
            Grams::new(u64::try_from(grams.unwrap_or(0)).unwrap_or(0)),
        ));
    }
    Ok(shares)
}
