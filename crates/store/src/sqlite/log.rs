//! The transparency log's tables on SQLite, and the journal as a source of log records.

use crate::error::StoreError;
use crate::log::{StoredLeaf, UnloggedSummary};
use openforest_core::log::{AccountColumns, JournalRecord, LogRecord, RecordKind, SignedTreeHead};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

const JOURNAL_COLUMNS: &str = "j.entry_id, j.at_ms, j.kind, j.from_owner, j.from_kind, j.from_id,
     j.to_owner, j.to_kind, j.to_id, j.grams, j.reference";

const NOT_LOGGED: &str =
    "NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.record_kind = ?1 AND l.record_id = j.entry_id)";

fn journal_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogRecord> {
    Ok(LogRecord::JournalEntry(JournalRecord {
        entry_id: row.get(0)?,
        at_ms: row.get(1)?,
        kind: row.get(2)?,
        from: AccountColumns {
            owner: row.get(3)?,
            kind: row.get(4)?,
            id: row.get(5)?,
        },
        to: AccountColumns {
            owner: row.get(6)?,
            kind: row.get(7)?,
            id: row.get(8)?,
        },
        grams: row.get(9)?,
        reference: row.get(10)?,
    }))
}

/// The table each kind of record lives in, and its id column.
fn source(kind: RecordKind) -> (&'static str, &'static str) {
    match kind {
        RecordKind::JournalEntry => ("journal", "entry_id"),
        RecordKind::Planting => ("planting_records", "record_id"),
    }
}

pub(super) fn unlogged_records(
    conn: &Connection,
    kind: RecordKind,
    floor: Uuid,
    limit: u32,
) -> Result<Vec<LogRecord>, StoreError> {
    match kind {
        RecordKind::JournalEntry => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {JOURNAL_COLUMNS} FROM journal j
                 WHERE j.entry_id >= ?2 AND {NOT_LOGGED}
                 ORDER BY j.entry_id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![kind.code(), floor, limit], journal_record)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        }
        RecordKind::Planting => {
            let ids = conn
                .prepare_cached(
                    "SELECT r.record_id FROM planting_records r
                     WHERE r.record_id >= ?2 AND NOT EXISTS (SELECT 1 FROM log_leaves l
                           WHERE l.record_kind = ?1 AND l.record_id = r.record_id)
                     ORDER BY r.record_id LIMIT ?3",
                )?
                .query_map(params![kind.code(), floor, limit], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<Uuid>>>()?;
            super::planting::planting_records(conn, &ids)
        }
    }
}

pub(super) fn log_records(
    conn: &Connection,
    kind: RecordKind,
    ids: &[Uuid],
) -> Result<Vec<LogRecord>, StoreError> {
    match kind {
        RecordKind::JournalEntry => {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {JOURNAL_COLUMNS} FROM journal j WHERE j.entry_id = ?1"
            ))?;
            let mut records = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(record) = stmt.query_row(params![id], journal_record).optional()? {
                    records.push(record);
                }
            }
            Ok(records)
        }
        RecordKind::Planting => super::planting::planting_records(conn, ids),
    }
}

pub(super) fn unlogged_summary(
    conn: &mut Connection,
    kind: RecordKind,
    floor: Uuid,
    limit: u32,
) -> Result<UnloggedSummary, StoreError> {
    let tx = conn.transaction()?;
    let (table, id) = source(kind);
    let not_logged = format!(
        "NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.record_kind = ?1 AND l.record_id = j.{id})"
    );
    let (total, below_floor): (i64, i64) = tx
        .prepare_cached(&format!(
            "SELECT count(*), coalesce(sum(j.{id} < ?2), 0) FROM {table} j WHERE {not_logged}"
        ))?
        .query_row(params![kind.code(), floor], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let first_below_floor = tx
        .prepare_cached(&format!(
            "SELECT j.{id} FROM {table} j WHERE j.{id} < ?2 AND {not_logged}
             ORDER BY j.{id} LIMIT ?3"
        ))?
        .query_map(params![kind.code(), floor, limit], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<Uuid>>>()?;
    let summary = UnloggedSummary {
        total: u64::try_from(total).unwrap_or(0),
        below_floor: u64::try_from(below_floor).unwrap_or(0),
        first_below_floor,
    };
    tx.commit()?;
    Ok(summary)
}

pub(super) fn newest_logged_record(
    conn: &Connection,
    kind: RecordKind,
) -> Result<Option<Uuid>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT max(record_id) FROM log_leaves WHERE record_kind = ?1")?
        .query_row(params![kind.code()], |row| row.get(0))?)
}

pub(super) fn append_log(
    conn: &mut Connection,
    leaves: &[StoredLeaf],
    head: &SignedTreeHead,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO log_leaves (leaf_index, record_kind, record_id, leaf_hash, integrated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for leaf in leaves {
            insert.execute(params![
                to_i64(leaf.leaf_index)?,
                leaf.record_kind.code(),
                leaf.record_id,
                leaf.leaf_hash.0,
                leaf.integrated_at.millis(),
            ])?;
        }
        tx.prepare_cached(
            "INSERT INTO log_heads (tree_size, root_hash, timestamp_ms, key_id, signature)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            to_i64(head.head.tree_size)?,
            head.head.root.0,
            to_i64(head.head.timestamp_ms)?,
            head.key_id.0,
            head.signature.to_vec(),
        ])?;
    }
    tx.commit()?;
    Ok(())
}

pub(super) fn log_leaves(
    conn: &Connection,
    from_index: u64,
    limit: u32,
) -> Result<Vec<StoredLeaf>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT leaf_index, record_kind, record_id, leaf_hash, integrated_at_ms FROM log_leaves
         WHERE leaf_index >= ?1 ORDER BY leaf_index LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![to_i64(from_index)?, limit], leaf_row)?;
    rows.map(|row| to_leaf(row?)).collect()
}

pub(super) fn log_leaf_of(
    conn: &Connection,
    kind: RecordKind,
    record_id: Uuid,
) -> Result<Option<StoredLeaf>, StoreError> {
    conn.prepare_cached(
        "SELECT leaf_index, record_kind, record_id, leaf_hash, integrated_at_ms FROM log_leaves
         WHERE record_kind = ?1 AND record_id = ?2",
    )?
    .query_row(params![kind.code(), record_id], leaf_row)
    .optional()?
    .map(to_leaf)
    .transpose()
}

pub(super) fn log_head(
    conn: &Connection,
    tree_size: Option<u64>,
) -> Result<Option<SignedTreeHead>, StoreError> {
    let columns = "tree_size, root_hash, timestamp_ms, key_id, signature";
    let row = match tree_size {
        None => conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM log_heads ORDER BY tree_size DESC LIMIT 1"
            ))?
            .query_row([], head_row)
            .optional()?,
        Some(size) => conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM log_heads WHERE tree_size = ?1"
            ))?
            .query_row(params![to_i64(size)?], head_row)
            .optional()?,
    };
    row.map(to_head).transpose()
}

type LeafRow = (i64, i16, Uuid, Vec<u8>, i64);
type HeadRow = (i64, Vec<u8>, i64, Vec<u8>, Vec<u8>);

fn leaf_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LeafRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn head_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<HeadRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_leaf(raw: LeafRow) -> Result<StoredLeaf, StoreError> {
    crate::log::leaf_from_row(raw.0, raw.1, raw.2, &raw.3, raw.4)
}

fn to_head(raw: HeadRow) -> Result<SignedTreeHead, StoreError> {
    crate::log::head_from_row(raw.0, &raw.1, raw.2, &raw.3, &raw.4)
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Database(format!("{value} is out of range")))
}
