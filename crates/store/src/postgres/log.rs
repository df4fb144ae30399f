//! The transparency log's tables on PostgreSQL, and the journal as a source of log records.

use crate::error::StoreError;
use crate::log::{StoredLeaf, UnloggedSummary};
use openforest_core::log::{AccountColumns, JournalRecord, LogRecord, RecordKind, SignedTreeHead};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

const JOURNAL_COLUMNS: &str = "j.entry_id, j.at_ms, j.kind, j.from_owner, j.from_kind, j.from_id,
     j.to_owner, j.to_kind, j.to_id, j.grams, j.reference";

const NOT_LOGGED: &str =
    "NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.record_kind = $1 AND l.record_id = j.entry_id)";

fn journal_record(row: &PgRow) -> Result<LogRecord, sqlx::Error> {
    Ok(LogRecord::JournalEntry(JournalRecord {
        entry_id: row.try_get(0)?,
        at_ms: row.try_get(1)?,
        kind: row.try_get(2)?,
        from: AccountColumns {
            owner: row.try_get(3)?,
            kind: row.try_get(4)?,
            id: row.try_get(5)?,
        },
        to: AccountColumns {
            owner: row.try_get(6)?,
            kind: row.try_get(7)?,
            id: row.try_get(8)?,
        },
        grams: row.try_get(9)?,
        reference: row.try_get(10)?,
    }))
}

/// The table each kind of record lives in, and its id column.
fn source(kind: RecordKind) -> (&'static str, &'static str) {
    match kind {
        RecordKind::JournalEntry => ("journal", "entry_id"),
        RecordKind::Planting => ("planting_records", "record_id"),
    }
}

pub(super) async fn unlogged_records(
    pool: &PgPool,
    kind: RecordKind,
    floor: Uuid,
    limit: u32,
) -> Result<Vec<LogRecord>, StoreError> {
    match kind {
        RecordKind::JournalEntry => {
            let rows = sqlx::query(&format!(
                "SELECT {JOURNAL_COLUMNS} FROM journal j
                 WHERE j.entry_id >= $2 AND {NOT_LOGGED}
                 ORDER BY j.entry_id LIMIT $3"
            ))
            .bind(kind.code())
            .bind(floor)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(journal_record).collect::<Result<_, _>>()?)
        }
        RecordKind::Planting => {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT r.record_id FROM planting_records r
                 WHERE r.record_id >= $2 AND NOT EXISTS (SELECT 1 FROM log_leaves l
                       WHERE l.record_kind = $1 AND l.record_id = r.record_id)
                 ORDER BY r.record_id LIMIT $3",
            )
            .bind(kind.code())
            .bind(floor)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            super::planting::planting_records(pool, &ids).await
        }
    }
}

pub(super) async fn log_records(
    pool: &PgPool,
    kind: RecordKind,
    ids: &[Uuid],
) -> Result<Vec<LogRecord>, StoreError> {
    match kind {
        RecordKind::JournalEntry => {
            let rows = sqlx::query(&format!(
                "SELECT {JOURNAL_COLUMNS} FROM journal j WHERE j.entry_id = ANY($1)"
            ))
            .bind(ids)
            .fetch_all(pool)
            .await?;
            Ok(rows.iter().map(journal_record).collect::<Result<_, _>>()?)
        }
        RecordKind::Planting => super::planting::planting_records(pool, ids).await,
    }
}

pub(super) async fn unlogged_summary(
    pool: &PgPool,
    kind: RecordKind,
    floor: Uuid,
    limit: u32,
) -> Result<UnloggedSummary, StoreError> {
    let mut tx = pool.begin().await?;
    // One snapshot for the count and the names.
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let (table, id) = source(kind);
    let not_logged = format!(
        "NOT EXISTS (SELECT 1 FROM log_leaves l WHERE l.record_kind = $1 AND l.record_id = j.{id})"
    );
    let (total, below_floor): (i64, i64) = sqlx::query_as(&format!(
        "SELECT count(*), count(*) FILTER (WHERE j.{id} < $2) FROM {table} j WHERE {not_logged}"
    ))
    .bind(kind.code())
    .bind(floor)
    .fetch_one(&mut *tx)
    .await?;
    let first_below_floor: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT j.{id} FROM {table} j WHERE j.{id} < $2 AND {not_logged}
         ORDER BY j.{id} LIMIT $3"
    ))
    .bind(kind.code())
    .bind(floor)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let summary = UnloggedSummary {
        total: u64::try_from(total).unwrap_or(0),
        below_floor: u64::try_from(below_floor).unwrap_or(0),
        first_below_floor,
    };
    tx.commit().await?;
    Ok(summary)
}

pub(super) async fn newest_logged_record(
    pool: &PgPool,
    kind: RecordKind,
) -> Result<Option<Uuid>, StoreError> {
    // PostgreSQL has no max(uuid); the (record_kind, record_id) key answers this directly.
    Ok(sqlx::query_scalar(
        "SELECT record_id FROM log_leaves WHERE record_kind = $1 ORDER BY record_id DESC LIMIT 1",
    )
    .bind(kind.code())
    .fetch_optional(pool)
    .await?)
}

pub(super) async fn append_log(
    pool: &PgPool,
    leaves: &[StoredLeaf],
    head: &SignedTreeHead,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let mut indices = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        indices.push(to_i64(leaf.leaf_index)?);
    }
    sqlx::query(
        "INSERT INTO log_leaves (leaf_index, record_kind, record_id, leaf_hash, integrated_at_ms)
         SELECT * FROM UNNEST($1::int8[], $2::int2[], $3::uuid[], $4::bytea[], $5::int8[])",
    )
    .bind(indices)
    .bind(
        leaves
            .iter()
            .map(|leaf| leaf.record_kind.code())
            .collect::<Vec<_>>(),
    )
    .bind(leaves.iter().map(|leaf| leaf.record_id).collect::<Vec<_>>())
    .bind(
        leaves
            .iter()
            .map(|leaf| leaf.leaf_hash.0.to_vec())
            .collect::<Vec<_>>(),
    )
    .bind(
        leaves
            .iter()
            .map(|leaf| leaf.integrated_at.millis())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO log_heads (tree_size, root_hash, timestamp_ms, key_id, signature)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(to_i64(head.head.tree_size)?)
    .bind(head.head.root.0.to_vec())
    .bind(to_i64(head.head.timestamp_ms)?)
    .bind(head.key_id.0.to_vec())
    .bind(head.signature.to_vec())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

const LEAF_COLUMNS: &str = "leaf_index, record_kind, record_id, leaf_hash, integrated_at_ms";

pub(super) async fn log_leaves(
    pool: &PgPool,
    from_index: u64,
    limit: u32,
) -> Result<Vec<StoredLeaf>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {LEAF_COLUMNS} FROM log_leaves WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2"
    ))
    .bind(to_i64(from_index)?)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(to_leaf).collect()
}

pub(super) async fn log_leaf_of(
    pool: &PgPool,
    kind: RecordKind,
    record_id: Uuid,
) -> Result<Option<StoredLeaf>, StoreError> {
    sqlx::query(&format!(
        "SELECT {LEAF_COLUMNS} FROM log_leaves WHERE record_kind = $1 AND record_id = $2"
    ))
    .bind(kind.code())
    .bind(record_id)
    .fetch_optional(pool)
    .await?
    .as_ref()
    .map(to_leaf)
    .transpose()
}

pub(super) async fn log_head(
    pool: &PgPool,
    tree_size: Option<u64>,
) -> Result<Option<SignedTreeHead>, StoreError> {
    let columns = "tree_size, root_hash, timestamp_ms, key_id, signature";
    let row = match tree_size {
        None => {
            sqlx::query(&format!(
                "SELECT {columns} FROM log_heads ORDER BY tree_size DESC LIMIT 1"
            ))
            .fetch_optional(pool)
            .await?
        }
        Some(size) => {
            sqlx::query(&format!(
                "SELECT {columns} FROM log_heads WHERE tree_size = $1"
            ))
            .bind(to_i64(size)?)
            .fetch_optional(pool)
            .await?
        }
    };
    row.as_ref().map(to_head).transpose()
}

fn to_leaf(row: &PgRow) -> Result<StoredLeaf, StoreError> {
    let hash: Vec<u8> = row.try_get(3)?;
    crate::log::leaf_from_row(
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        &hash,
        row.try_get(4)?,
    )
}

fn to_head(row: &PgRow) -> Result<SignedTreeHead, StoreError> {
    let (root, key_id, signature): (Vec<u8>, Vec<u8>, Vec<u8>) =
        (row.try_get(1)?, row.try_get(3)?, row.try_get(4)?);
    crate::log::head_from_row(row.try_get(0)?, &root, row.try_get(2)?, &key_id, &signature)
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Database(format!("{value} is out of range")))
}
