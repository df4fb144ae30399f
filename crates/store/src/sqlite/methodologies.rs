//! SQLite queries for stored methodology versions and the active one.

use crate::error::StoreError;
use crate::methodologies::{
    Activation, MethodologyAdded, MethodologyRecord, NewMethodologyVersion, StoredMethodology,
};
use openforest_core::{Timestamp, UserId};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

/// A record's columns; `v.toml` follows them where the text is read.
const RECORD_COLUMNS: &str = "v.name, v.version, v.sha256, v.uploaded_at_ms, v.uploaded_by, \
     v.activated_at_ms, v.activated_by, a.singleton IS NOT NULL";
const FROM: &str = "methodology_versions v \
     LEFT JOIN methodology_active a ON a.name = v.name AND a.version = v.version";

fn record(row: &Row<'_>) -> rusqlite::Result<MethodologyRecord> {
    let version: i64 = row.get(1)?;
    let activated_at: Option<i64> = row.get(5)?;
    let activated_by: Option<Uuid> = row.get(6)?;
    Ok(MethodologyRecord {
        name: row.get(0)?,
        version: u32::try_from(version).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Integer, err.into())
        })?,
        sha256: row.get(2)?,
        uploaded_at: Timestamp(row.get(3)?),
        uploaded_by: row.get::<_, Option<Uuid>>(4)?.map(UserId),
        activated: activated_at.map(|at| Activation {
            at: Timestamp(at),
            by: activated_by.map(UserId),
        }),
        active: row.get(7)?,
    })
}

fn stored(row: &Row<'_>) -> rusqlite::Result<StoredMethodology> {
    Ok(StoredMethodology {
        record: record(row)?,
        toml: row.get(8)?,
    })
}

fn methodology_in(
    conn: &Connection,
    name: &str,
    version: u32,
) -> Result<Option<StoredMethodology>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS}, v.toml FROM {FROM} WHERE v.name = ?1 AND v.version = ?2"
        ))?
        .query_row(params![name, i64::from(version)], stored)
        .optional()?)
}

pub(super) fn add_methodology(
    conn: &Connection,
    new: &NewMethodologyVersion,
) -> Result<MethodologyAdded, StoreError> {
    let inserted =
        conn.prepare_cached(
            "INSERT INTO methodology_versions
                 (name, version, toml, sha256, uploaded_at_ms, uploaded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            new.name,
            i64::from(new.version),
            new.toml,
            new.sha256,
            new.uploaded_at.millis(),
            new.uploaded_by.map(|user| user.uuid()),
        ])? > 0;
    let stored = methodology_in(conn, &new.name, new.version)?.ok_or_else(|| {
        StoreError::Database(format!(
            "methodology {} v{} vanished after its insert",
            new.name, new.version
        ))
    })?;
    Ok(MethodologyAdded {
        inserted,
        stored: stored.record,
    })
}

pub(super) fn methodologies(conn: &Connection) -> Result<Vec<MethodologyRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM {FROM} ORDER BY v.uploaded_at_ms DESC, v.name, v.version DESC"
    ))?;
    Ok(stmt.query_map([], record)?.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn methodology(
    conn: &Connection,
    name: &str,
    version: u32,
) -> Result<Option<StoredMethodology>, StoreError> {
    methodology_in(conn, name, version)
}

pub(super) fn active_methodology(
    conn: &Connection,
) -> Result<Option<StoredMethodology>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {RECORD_COLUMNS}, v.toml FROM methodology_active a
             JOIN methodology_versions v ON v.name = a.name AND v.version = a.version"
        ))?
        .query_row([], stored)
        .optional()?)
}

pub(super) fn activate_methodology(
    conn: &mut Connection,
    name: &str,
    version: u32,
    activation: Activation,
) -> Result<bool, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let known =
        tx.prepare_cached(
            "UPDATE methodology_versions SET activated_at_ms = ?3, activated_by = ?4
             WHERE name = ?1 AND version = ?2",
        )?
        .execute(params![
            name,
            i64::from(version),
            activation.at.millis(),
            activation.by.map(|user| user.uuid()),
        ])? > 0;
    if !known {
        return Ok(false);
    }
    tx.prepare_cached(
        "INSERT INTO methodology_active (singleton, name, version) VALUES (1, ?1, ?2)
         ON CONFLICT (singleton) DO UPDATE SET name = excluded.name, version = excluded.version",
    )?
    .execute(params![name, i64::from(version)])?;
    tx.commit()?;
    Ok(true)
}
