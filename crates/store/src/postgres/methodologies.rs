//! PostgreSQL queries for stored methodology versions and the active one.

use crate::error::StoreError;
use crate::methodologies::{
    Activation, MethodologyAdded, MethodologyRecord, NewMethodologyVersion, StoredMethodology,
};
use openforest_core::{Timestamp, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use uuid::Uuid;

/// A record's columns; `v.toml` follows them where the text is read.
const RECORD_COLUMNS: &str = "v.name, v.version, v.sha256, v.uploaded_at_ms, v.uploaded_by, \
     v.activated_at_ms, v.activated_by, a.singleton IS NOT NULL AS active";
const FROM: &str = "methodology_versions v \
     LEFT JOIN methodology_active a ON a.name = v.name AND a.version = v.version";

fn record(row: &PgRow) -> Result<MethodologyRecord, StoreError> {
    let version: i64 = row.try_get("version")?;
    let activated_at: Option<i64> = row.try_get("activated_at_ms")?;
    let activated_by: Option<Uuid> = row.try_get("activated_by")?;
    Ok(MethodologyRecord {
        name: row.try_get("name")?,
        version: u32::try_from(version).map_err(|_| {
            StoreError::Database(format!(
                "methodology_versions.version {version} is out of range"
            ))
        })?,
        sha256: row.try_get("sha256")?,
        uploaded_at: Timestamp(row.try_get("uploaded_at_ms")?),
        uploaded_by: row.try_get::<Option<Uuid>, _>("uploaded_by")?.map(UserId),
        activated: activated_at.map(|at| Activation {
            at: Timestamp(at),
            by: activated_by.map(UserId),
        }),
        active: row.try_get("active")?,
    })
}

fn stored(row: &PgRow) -> Result<StoredMethodology, StoreError> {
    Ok(StoredMethodology {
        record: record(row)?,
        toml: row.try_get("toml")?,
    })
}

pub(super) async fn add_methodology(
    pool: &PgPool,
    new: &NewMethodologyVersion,
) -> Result<MethodologyAdded, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO methodology_versions
             (name, version, toml, sha256, uploaded_at_ms, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(&new.name)
    .bind(i64::from(new.version))
    .bind(&new.toml)
    .bind(&new.sha256)
    .bind(new.uploaded_at.millis())
    .bind(new.uploaded_by.map(|user| user.uuid()))
    .execute(pool)
    .await?
    .rows_affected()
        > 0;
    let stored = methodology(pool, &new.name, new.version)
        .await?
        .ok_or_else(|| {
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

pub(super) async fn methodologies(pool: &PgPool) -> Result<Vec<MethodologyRecord>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM {FROM} ORDER BY v.uploaded_at_ms DESC, v.name, v.version DESC"
    ))
    .fetch_all(pool)
    .await?;
    rows.iter().map(record).collect()
}

pub(super) async fn methodology(
    pool: &PgPool,
    name: &str,
    version: u32,
) -> Result<Option<StoredMethodology>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS}, v.toml FROM {FROM} WHERE v.name = $1 AND v.version = $2"
    ))
    .bind(name)
    .bind(i64::from(version))
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(stored).transpose()
}

pub(super) async fn active_methodology(
    pool: &PgPool,
) -> Result<Option<StoredMethodology>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS}, v.toml FROM methodology_active a
         JOIN methodology_versions v ON v.name = a.name AND v.version = a.version"
    ))
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(stored).transpose()
}

pub(super) async fn activate_methodology(
    pool: &PgPool,
    name: &str,
    version: u32,
    activation: Activation,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let known = sqlx::query(
        "UPDATE methodology_versions SET activated_at_ms = $3, activated_by = $4
         WHERE name = $1 AND version = $2",
    )
    .bind(name)
    .bind(i64::from(version))
    .bind(activation.at.millis())
    .bind(activation.by.map(|user| user.uuid()))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if !known {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO methodology_active (singleton, name, version) VALUES (1, $1, $2)
         ON CONFLICT (singleton) DO UPDATE SET name = excluded.name, version = excluded.version",
    )
    .bind(name)
    .bind(i64::from(version))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}
