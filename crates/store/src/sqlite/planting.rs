//! SQLite queries for planting: NGOs, sites, the catalog, orders, batches, photos, pledges and
//! a user's history for lineage.

use crate::error::StoreError;
use crate::planting::{
    BatchRefusal, CatalogItem, History, NewBatch, Ngo, NgoKey, Order, OrderLine, Photo,
    PlantingBatch, PledgeRecord, Site, seasons_from_json, seasons_json,
};
use openforest_core::log::{LogRecord, PlantingEvent, PlantingRecord};
use openforest_core::planting::{Holder, ItemKind, Pledge, quota_key};
use openforest_core::{
    Account, AccountKind, BallId, BatchId, CatalogItemId, Entry, EntryId, EntryKind, Grams,
    GroupId, NgoId, OrderId, Outcome, PledgeId, SiteId, Timestamp, UserId,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unique_violation(err: rusqlite::Error, what: &'static str) -> StoreError {
    match err {
        rusqlite::Error::SqliteFailure(code, _)
            if code.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(what)
        }
        other => other.into(),
    }
}

pub(super) fn create_ngo(conn: &Connection, ngo: &Ngo) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO ngos (ngo_id, name, about, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![
            ngo.ngo_id.uuid(),
            ngo.name,
            ngo.about,
            ngo.created_at.millis()
        ],
    )
    .map_err(|err| unique_violation(err, "ngo name"))?;
    Ok(())
}

pub(super) fn ngos(conn: &Connection) -> Result<Vec<Ngo>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT ngo_id, name, about, created_at_ms FROM ngos ORDER BY name")?
        .query_map([], |row| {
            Ok(Ngo {
                ngo_id: NgoId(row.get(0)?),
                name: row.get(1)?,
                about: row.get(2)?,
                created_at: Timestamp(row.get(3)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn add_ngo_member(
    conn: &Connection,
    ngo_id: NgoId,
    user_id: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO ngo_members (user_id, ngo_id, added_at_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET ngo_id = excluded.ngo_id",
        params![user_id.uuid(), ngo_id.uuid(), at.millis()],
    )?;
    Ok(())
}

pub(super) fn ngo_of_member(
    conn: &Connection,
    user_id: UserId,
) -> Result<Option<NgoId>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT ngo_id FROM ngo_members WHERE user_id = ?1")?
        .query_row(params![user_id.uuid()], |row| Ok(NgoId(row.get(0)?)))
        .optional()?)
}

pub(super) fn create_ngo_key(
    conn: &Connection,
    key_hash: [u8; 32],
    key: &NgoKey,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO ngo_keys (key_hash, key_id, ngo_id, name, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key_hash.as_slice(),
            key.key_id,
            key.ngo_id.uuid(),
            key.name,
            key.created_at.millis()
        ],
    )?;
    Ok(())
}

pub(super) fn ngo_key(conn: &Connection, key_hash: [u8; 32]) -> Result<Option<NgoKey>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT key_id, ngo_id, name, created_at_ms, revoked_at_ms FROM ngo_keys WHERE key_hash = ?1",
        )?
        .query_row(params![key_hash.as_slice()], |row| {
            Ok(NgoKey {
                key_id: row.get(0)?,
                ngo_id: NgoId(row.get(1)?),
                name: row.get(2)?,
                created_at: Timestamp(row.get(3)?),
                revoked_at: row.get::<_, Option<i64>>(4)?.map(Timestamp),
            })
        })
        .optional()?)
}

pub(super) fn create_site(conn: &Connection, site: &Site) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sites (site_id, ngo_id, name, region, latitude, longitude, polygon, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            site.site_id.uuid(),
            site.ngo_id.uuid(),
            site.name,
            site.region,
            site.latitude,
            site.longitude,
            site.polygon,
            site.created_at.millis()
        ],
    )?;
    Ok(())
}

pub(super) fn sites(conn: &Connection) -> Result<Vec<Site>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT site_id, ngo_id, name, region, latitude, longitude, polygon, created_at_ms
             FROM sites ORDER BY name",
        )?
        .query_map([], |row| {
            Ok(Site {
                site_id: SiteId(row.get(0)?),
                ngo_id: NgoId(row.get(1)?),
                name: row.get(2)?,
                region: row.get(3)?,
                latitude: row.get(4)?,
                longitude: row.get(5)?,
                polygon: row.get(6)?,
                created_at: Timestamp(row.get(7)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn create_catalog_item(
    conn: &mut Connection,
    item: &CatalogItem,
) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO catalog_items (item_id, kind, name, scientific_name, ngo_id, site_id, unit_grams,
                                    quota_units, seasons, about, demo_values, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            item.item_id.uuid(),
            item.kind.as_str(),
            item.name,
            item.scientific_name,
            item.ngo_id.uuid(),
            item.site_id.uuid(),
            item.unit_grams.as_i64(),
            signed(item.quota_units),
            seasons_json(&item.seasons),
            item.about,
            item.demo_values,
            item.created_at.millis()
        ],
    )?;
    let key = quota_key(item.item_id);
    tx.execute(
        "INSERT INTO usage (period, action, user_id, actions, quantity_milli, grams)
         VALUES (?1, ?2, ?3, 0, 0, 0) ON CONFLICT DO NOTHING",
        params![key.period.as_str(), key.action.as_str(), key.user_id.uuid()],
    )?;
    tx.commit()?;
    Ok(())
}

const ITEM_COLUMNS: &str = "item_id, kind, name, scientific_name, ngo_id, site_id, unit_grams,
    quota_units, seasons, about, demo_values, created_at_ms";

fn item_row(row: &Row<'_>) -> rusqlite::Result<CatalogItem> {
    let kind: String = row.get(1)?;
    Ok(CatalogItem {
        item_id: CatalogItemId(row.get(0)?),
        kind: ItemKind::parse(&kind).unwrap_or(ItemKind::Tree),
        name: row.get(2)?,
        scientific_name: row.get(3)?,
        ngo_id: NgoId(row.get(4)?),
        site_id: SiteId(row.get(5)?),
        unit_grams: Grams::new(unsigned(row.get(6)?)),
        quota_units: unsigned(row.get(7)?),
        seasons: seasons_from_json(&row.get::<_, String>(8)?),
        about: row.get(9)?,
        demo_values: row.get(10)?,
        created_at: Timestamp(row.get(11)?),
        taken_units: 0,
    })
}

/// Fills in what the writer's quota counter says was pledged of the item.
fn with_taken(conn: &Connection, mut item: CatalogItem) -> rusqlite::Result<CatalogItem> {
    let key = quota_key(item.item_id);
    let taken: Option<i64> = conn
        .prepare_cached(
            "SELECT quantity_milli FROM usage WHERE period = ?1 AND action = ?2 AND user_id = ?3",
        )?
        .query_row(
            params![key.period.as_str(), key.action.as_str(), key.user_id.uuid()],
            |row| row.get(0),
        )
        .optional()?;
    item.taken_units = unsigned(taken.unwrap_or(0)) / 1000;
    Ok(item)
}

pub(super) fn catalog(conn: &Connection) -> Result<Vec<CatalogItem>, StoreError> {
    let items = conn
        .prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM catalog_items ORDER BY kind DESC, name"
        ))?
        .query_map([], item_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items
        .into_iter()
        .map(|item| with_taken(conn, item))
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn catalog_item(
    conn: &Connection,
    item_id: CatalogItemId,
) -> Result<Option<CatalogItem>, StoreError> {
    let item = conn
        .prepare_cached(&format!(
            "SELECT {ITEM_COLUMNS} FROM catalog_items WHERE item_id = ?1"
        ))?
        .query_row(params![item_id.uuid()], item_row)
        .optional()?;
    Ok(item.map(|item| with_taken(conn, item)).transpose()?)
}

pub(super) fn place_orders(
    conn: &mut Connection,
    at: Timestamp,
) -> Result<Vec<OrderId>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let open: Vec<(Uuid, Uuid, Uuid, String)> = tx
        .prepare_cached(
            "SELECT p.pledge_id, i.ngo_id, i.site_id, p.season FROM pledges p
             JOIN catalog_items i ON i.item_id = p.item_id
             WHERE p.order_id IS NULL ORDER BY p.created_at_ms",
        )?
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut orders: BTreeMap<(Uuid, Uuid, String), Vec<Uuid>> = BTreeMap::new();
    for (pledge_id, ngo_id, site_id, season) in open {
        orders
            .entry((ngo_id, site_id, season))
            .or_default()
            .push(pledge_id);
    }
    let mut placed = Vec::with_capacity(orders.len());
    for ((ngo_id, site_id, season), pledges) in orders {
        let order_id = crate::new_id(at);
        tx.execute(
            "INSERT INTO orders (order_id, ngo_id, site_id, season, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![order_id, ngo_id, site_id, season, at.millis()],
        )?;
        let mut assign =
            tx.prepare_cached("UPDATE pledges SET order_id = ?1 WHERE pledge_id = ?2")?;
        for pledge_id in pledges {
            assign.execute(params![order_id, pledge_id])?;
        }
        placed.push(OrderId(order_id));
    }
    tx.commit()?;
    Ok(placed)
}

fn order_lines(conn: &Connection, order_id: Uuid) -> rusqlite::Result<Vec<OrderLine>> {
    conn.prepare_cached(
        "SELECT p.item_id, count(*), sum(p.units),
                coalesce(sum(CASE WHEN p.batch_id IS NOT NULL THEN p.units END), 0),
                coalesce(sum(CASE WHEN b.verified_at_ms IS NOT NULL THEN p.units END), 0)
         FROM pledges p LEFT JOIN planting_batches b ON b.batch_id = p.batch_id
         WHERE p.order_id = ?1 GROUP BY p.item_id ORDER BY p.item_id",
    )?
    .query_map(params![order_id], |row| {
        Ok(OrderLine {
            item_id: CatalogItemId(row.get(0)?),
            pledges: unsigned(row.get(1)?),
            units: unsigned(row.get(2)?),
            planted_units: unsigned(row.get(3)?),
            verified_units: unsigned(row.get(4)?),
        })
    })?
    .collect()
}

fn order_row(conn: &Connection, row: (Uuid, Uuid, Uuid, String, i64)) -> rusqlite::Result<Order> {
    Ok(Order {
        order_id: OrderId(row.0),
        ngo_id: NgoId(row.1),
        site_id: SiteId(row.2),
        season: row.3,
        created_at: Timestamp(row.4),
        lines: order_lines(conn, row.0)?,
    })
}

pub(super) fn orders(conn: &Connection, ngo_id: Option<NgoId>) -> Result<Vec<Order>, StoreError> {
    let rows: Vec<(Uuid, Uuid, Uuid, String, i64)> = conn
        .prepare_cached(
            "SELECT order_id, ngo_id, site_id, season, created_at_ms FROM orders
             WHERE ?1 IS NULL OR ngo_id = ?1 ORDER BY created_at_ms DESC, order_id",
        )?
        .query_map(params![ngo_id.map(|ngo| ngo.uuid())], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|row| order_row(conn, row))
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn order(conn: &Connection, order_id: OrderId) -> Result<Option<Order>, StoreError> {
    let row: Option<(Uuid, Uuid, Uuid, String, i64)> = conn
        .prepare_cached(
            "SELECT order_id, ngo_id, site_id, season, created_at_ms FROM orders WHERE order_id = ?1",
        )?
        .query_row(params![order_id.uuid()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })
        .optional()?;
    Ok(row.map(|row| order_row(conn, row)).transpose()?)
}

pub(super) fn put_photo(
    conn: &Connection,
    sha256: [u8; 32],
    photo: &Photo,
    ngo_id: NgoId,
    at: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO photos (sha256, content_type, bytes, ngo_id, created_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO NOTHING",
        params![
            sha256.as_slice(),
            photo.content_type,
            photo.bytes,
            ngo_id.uuid(),
            at.millis()
        ],
    )?;
    Ok(())
}

pub(super) fn photo(conn: &Connection, sha256: [u8; 32]) -> Result<Option<Photo>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT content_type, bytes FROM photos WHERE sha256 = ?1")?
        .query_row(params![sha256.as_slice()], |row| {
            Ok(Photo {
                content_type: row.get(0)?,
                bytes: row.get(1)?,
            })
        })
        .optional()?)
}

const BATCH_COLUMNS: &str = "batch_id, order_id, ngo_id, item_id, units, planted_on, latitude,
    longitude, polygon, note, recorded_by, recorded_at_ms, verified_by, verified_at_ms";

fn batch_row(row: &Row<'_>) -> rusqlite::Result<PlantingBatch> {
    Ok(PlantingBatch {
        batch: NewBatch {
            batch_id: BatchId(row.get(0)?),
            order_id: OrderId(row.get(1)?),
            ngo_id: NgoId(row.get(2)?),
            item_id: CatalogItemId(row.get(3)?),
            units: unsigned(row.get(4)?),
            planted_on: row.get(5)?,
            latitude: row.get(6)?,
            longitude: row.get(7)?,
            polygon: row.get(8)?,
            note: row.get(9)?,
            photos: Vec::new(),
            recorded_by: row.get(10)?,
            recorded_at: Timestamp(row.get(11)?),
        },
        verified_by: row.get(12)?,
        verified_at: row.get::<_, Option<i64>>(13)?.map(Timestamp),
    })
}

fn with_photos(conn: &Connection, mut batch: PlantingBatch) -> rusqlite::Result<PlantingBatch> {
    batch.batch.photos = conn
        .prepare_cached("SELECT sha256 FROM batch_photos WHERE batch_id = ?1 ORDER BY sha256")?
        .query_map(params![batch.batch.batch_id.uuid()], |row| {
            let bytes: Vec<u8> = row.get(0)?;
            Ok(<[u8; 32]>::try_from(bytes.as_slice()).unwrap_or([0; 32]))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(batch)
}

fn load_batch(conn: &Connection, batch_id: Uuid) -> rusqlite::Result<Option<PlantingBatch>> {
    let batch = conn
        .prepare_cached(&format!(
            "SELECT {BATCH_COLUMNS} FROM planting_batches WHERE batch_id = ?1"
        ))?
        .query_row(params![batch_id], batch_row)
        .optional()?;
    batch.map(|batch| with_photos(conn, batch)).transpose()
}

pub(super) fn batch(
    conn: &Connection,
    batch_id: BatchId,
) -> Result<Option<PlantingBatch>, StoreError> {
    Ok(load_batch(conn, batch_id.uuid())?)
}

pub(super) fn batches(
    conn: &Connection,
    order_id: OrderId,
) -> Result<Vec<PlantingBatch>, StoreError> {
    let batches = conn
        .prepare_cached(&format!(
            "SELECT {BATCH_COLUMNS} FROM planting_batches WHERE order_id = ?1 ORDER BY recorded_at_ms, batch_id"
        ))?
        .query_map(params![order_id.uuid()], batch_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(batches
        .into_iter()
        .map(|batch| with_photos(conn, batch))
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn record_batch(
    conn: &mut Connection,
    batch: &NewBatch,
) -> Result<Result<PlantingBatch, BatchRefusal>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for sha256 in &batch.photos {
        let known: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM photos WHERE sha256 = ?1")?
            .query_row(params![sha256.as_slice()], |row| row.get(0))
            .optional()?;
        if known.is_none() {
            return Ok(Err(BatchRefusal::UnknownPhoto {
                sha256: crate::planting::sha256_hex(sha256),
            }));
        }
    }
    let open: Vec<(Uuid, i64)> = tx
        .prepare_cached(
            "SELECT pledge_id, units FROM pledges
             WHERE order_id = ?1 AND item_id = ?2 AND batch_id IS NULL
             ORDER BY created_at_ms, pledge_id",
        )?
        .query_map(
            params![batch.order_id.uuid(), batch.item_id.uuid()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<Result<Vec<_>, _>>()?;
    let covered = match crate::planting::cover(&open, batch.units) {
        Ok(covered) => covered,
        Err(refusal) => return Ok(Err(refusal)),
    };
    tx.execute(
        &format!("INSERT INTO planting_batches ({BATCH_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, NULL)"),
        params![
            batch.batch_id.uuid(),
            batch.order_id.uuid(),
            batch.ngo_id.uuid(),
            batch.item_id.uuid(),
            signed(batch.units),
            batch.planted_on,
            batch.latitude,
            batch.longitude,
            batch.polygon,
            batch.note,
            batch.recorded_by,
            batch.recorded_at.millis()
        ],
    )?;
    for sha256 in &batch.photos {
        tx.execute(
            "INSERT INTO batch_photos (batch_id, sha256) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![batch.batch_id.uuid(), sha256.as_slice()],
        )?;
    }
    for pledge_id in &covered {
        tx.execute(
            "UPDATE pledges SET batch_id = ?1 WHERE pledge_id = ?2",
            params![batch.batch_id.uuid(), pledge_id],
        )?;
    }
    let recorded = PlantingBatch {
        batch: batch.clone(),
        verified_by: None,
        verified_at: None,
    };
    notify(&tx, &recorded, "planted", batch.recorded_at)?;
    add_planting_record(&tx, batch.batch_id, "planted", batch.recorded_at)?;
    tx.commit()?;
    Ok(Ok(recorded))
}

pub(super) fn verify_batch(
    conn: &mut Connection,
    batch_id: BatchId,
    verified_by: &str,
    at: Timestamp,
) -> Result<Option<PlantingBatch>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(batch) = load_batch(&tx, batch_id.uuid())? else {
        return Ok(None);
    };
    if batch.verified_at.is_some() {
        return Ok(Some(batch));
    }
    tx.execute(
        "UPDATE planting_batches SET verified_by = ?1, verified_at_ms = ?2 WHERE batch_id = ?3",
        params![verified_by, at.millis(), batch_id.uuid()],
    )?;
    let verified = PlantingBatch {
        verified_by: Some(verified_by.to_string()),
        verified_at: Some(at),
        ..batch
    };
    notify(&tx, &verified, "verified", at)?;
    add_planting_record(&tx, batch_id, "verified", at)?;
    tx.commit()?;
    Ok(Some(verified))
}

/// Feed lines for every holder and one `tree.planted`/`tree.verified` event per pledge of a
/// batch, in the batch's transaction.
fn notify(
    tx: &Transaction<'_>,
    batch: &PlantingBatch,
    status: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let pledges: Vec<(Uuid, Uuid, String)> = tx
        .prepare_cached(
            "SELECT pledge_id, planter_id, certificate_no FROM pledges WHERE batch_id = ?1",
        )?
        .query_map(params![batch.batch.batch_id.uuid()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let (feed_kind, event_type) = crate::planting::notice_kinds(status);
    for (pledge_id, planter_id, certificate_no) in pledges {
        let holders: Vec<(Uuid, i64)> = tx
            .prepare_cached("SELECT user_id, grams FROM pledge_holders WHERE pledge_id = ?1")?
            .query_map(params![pledge_id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        for (user_id, grams) in holders {
            tx.execute(
                "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
                 VALUES (?1, ?2, ?3, NULL, NULL, ?4, ?5)",
                params![user_id, crate::new_id(at), feed_kind, grams, at.millis()],
            )?;
        }
        let outcome = Outcome::PlantingRecorded {
            pledge_id: PledgeId(pledge_id),
            certificate_no,
            batch_id: batch.batch.batch_id,
            item_id: batch.batch.item_id,
            status: status.to_string(),
            planted_on: batch.batch.planted_on.clone(),
        };
        let outcome =
            serde_json::to_string(&outcome).map_err(|err| StoreError::Database(err.to_string()))?;
        tx.execute(
            "INSERT INTO webhook_events (event_id, event_type, partner_id, user_id, occurred_at_ms, outcome)
             VALUES (?1, ?2, NULL, ?3, ?4, ?5)",
            params![crate::new_id(at), event_type, planter_id, at.millis(), outcome],
        )?;
    }
    Ok(())
}

const PLEDGE_COLUMNS: &str = "p.pledge_id, p.item_id, p.planter_id, p.group_id, p.units, p.grams,
    p.season, p.certificate_no, p.created_at_ms, p.order_id, p.batch_id";

type PledgeRow = (
    Uuid,
    Uuid,
    Uuid,
    Option<Uuid>,
    i64,
    i64,
    String,
    String,
    i64,
    Option<Uuid>,
    Option<Uuid>,
);

fn pledge_row(row: &Row<'_>) -> rusqlite::Result<PledgeRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn pledge_record(conn: &Connection, row: PledgeRow) -> rusqlite::Result<PledgeRecord> {
    let holders = conn
        .prepare_cached(
            "SELECT user_id, grams FROM pledge_holders WHERE pledge_id = ?1 ORDER BY grams DESC, user_id",
        )?
        .query_map(params![row.0], |holder| {
            Ok(Holder {
                user_id: UserId(holder.get(0)?),
                grams: Grams::new(unsigned(holder.get(1)?)),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let batch = match row.10 {
        Some(batch_id) => load_batch(conn, batch_id)?,
        None => None,
    };
    Ok(PledgeRecord {
        pledge: Pledge {
            pledge_id: PledgeId(row.0),
            item_id: CatalogItemId(row.1),
            planter_id: UserId(row.2),
            group_id: row.3.map(GroupId),
            units: unsigned(row.4),
            grams: Grams::new(unsigned(row.5)),
            season: row.6,
            certificate_no: row.7,
            holders,
            created_at: Timestamp(row.8),
        },
        order_id: row.9.map(OrderId),
        batch,
    })
}

fn pledge_records(
    conn: &Connection,
    sql: &str,
    param: &dyn rusqlite::ToSql,
) -> Result<Vec<PledgeRecord>, StoreError> {
    let rows = conn
        .prepare_cached(sql)?
        .query_map([param], pledge_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|row| pledge_record(conn, row))
        .collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn user_pledges(
    conn: &Connection,
    user_id: UserId,
) -> Result<Vec<PledgeRecord>, StoreError> {
    pledge_records(
        conn,
        &format!(
            "SELECT {PLEDGE_COLUMNS} FROM pledge_holders h JOIN pledges p ON p.pledge_id = h.pledge_id
             WHERE h.user_id = ?1 ORDER BY p.created_at_ms DESC, p.pledge_id"
        ),
        &user_id.uuid(),
    )
}

pub(super) fn order_pledges(
    conn: &Connection,
    order_id: OrderId,
) -> Result<Vec<PledgeRecord>, StoreError> {
    pledge_records(
        conn,
        &format!(
            "SELECT {PLEDGE_COLUMNS} FROM pledges p WHERE p.order_id = ?1 ORDER BY p.created_at_ms, p.pledge_id"
        ),
        &order_id.uuid(),
    )
}

pub(super) fn pledge_by_certificate(
    conn: &Connection,
    certificate_no: &str,
) -> Result<Option<PledgeRecord>, StoreError> {
    Ok(pledge_records(
        conn,
        &format!("SELECT {PLEDGE_COLUMNS} FROM pledges p WHERE p.certificate_no = ?1"),
        &certificate_no,
    )?
    .pop())
}

fn account(owner: Uuid, kind: i64, id: Uuid) -> Option<Account> {
    let kind = AccountKind::from_code(i16::try_from(kind).ok()?)?;
    Some(Account::from_key(openforest_core::account::AccountKey {
        owner,
        kind,
        id,
    }))
}

pub(super) fn history(conn: &Connection, user_id: UserId) -> Result<History, StoreError> {
    let mut entries: Vec<Entry> = conn
        .prepare_cached(
            "SELECT entry_id, at_ms, kind, from_owner, from_kind, from_id, to_owner, to_kind, to_id, grams
             FROM journal WHERE user_id = ?1 ORDER BY seq",
        )?
        .query_map(params![user_id.uuid()], |row| {
            Ok((
                row.get::<_, Uuid>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                (row.get::<_, Uuid>(3)?, row.get::<_, i64>(4)?, row.get::<_, Uuid>(5)?),
                (row.get::<_, Uuid>(6)?, row.get::<_, i64>(7)?, row.get::<_, Uuid>(8)?),
                row.get::<_, i64>(9)?,
            ))
        })?
        .filter_map(|row| {
            let (entry_id, at, kind, from, to, grams) = match row {
                Ok(row) => row,
                Err(err) => return Some(Err(err)),
            };
            Some(Ok(Entry {
                entry_id: EntryId(entry_id),
                user_id,
                at: Timestamp(at),
                kind: EntryKind::from_code(i16::try_from(kind).ok()?)?,
                from: account(from.0, from.1, from.2)?,
                to: account(to.0, to.1, to.2)?,
                grams: Grams::new(unsigned(grams)),
                reference: None,
            }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Steals are journaled in the owner's lane: take them from the steal records.
    let steals: Vec<(Uuid, Uuid, i64, i64)> = conn
        .prepare_cached(
            "SELECT owner_id, ball_id, grams, at_ms FROM steals WHERE thief_id = ?1 ORDER BY at_ms",
        )?
        .query_map(params![user_id.uuid()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (owner_id, ball_id, grams, at) in steals {
        entries.push(crate::planting::steal_entry(
            user_id, owner_id, ball_id, grams, at,
        ));
    }
    crate::planting::order_history(&mut entries);
    let mut ball_origins = HashMap::new();
    let mut origin =
        conn.prepare_cached("SELECT action FROM balls WHERE user_id = ?1 AND ball_id = ?2")?;
    for entry in &entries {
        if let Account::Ball { user_id, ball_id } = entry.from {
            if ball_origins.contains_key(&ball_id) {
                continue;
            }
            let action: Option<String> = origin
                .query_row(params![user_id.uuid(), ball_id.uuid()], |row| row.get(0))
                .optional()?;
            if let Some(action) = action {
                ball_origins.insert(BallId::from_uuid(ball_id.uuid()), action);
            }
        }
    }
    Ok(History {
        entries,
        ball_origins,
    })
}

/// Appends an immutable planting event for the transparency log, in the batch's transaction.
fn add_planting_record(
    tx: &Transaction<'_>,
    batch_id: BatchId,
    event: &str,
    at: Timestamp,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO planting_records (record_id, batch_id, event, at_ms) VALUES (?1, ?2, ?3, ?4)",
        params![crate::new_id(at), batch_id.uuid(), event, at.millis()],
    )?;
    Ok(())
}

/// Planting records as the log encodes them: each event with its batch as it stands now (so
/// a changed batch no longer matches its leaf). Records whose batch is gone are left out.
pub(super) fn planting_records(
    conn: &Connection,
    ids: &[Uuid],
) -> Result<Vec<LogRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.record_id, r.event, r.at_ms, b.batch_id, b.order_id, b.ngo_id, b.item_id, b.units,
                b.planted_on, b.latitude, b.longitude, b.polygon,
                CASE r.event WHEN 'verified' THEN coalesce(b.verified_by, '') ELSE b.recorded_by END
         FROM planting_records r JOIN planting_batches b ON b.batch_id = r.batch_id
         WHERE r.record_id = ?1",
    )?;
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        let found = stmt
            .query_row(params![id], |row| {
                let event: String = row.get(1)?;
                Ok(PlantingRecord {
                    record_id: row.get(0)?,
                    event: PlantingEvent::parse(&event).unwrap_or(PlantingEvent::Planted),
                    at_ms: row.get(2)?,
                    batch_id: row.get(3)?,
                    order_id: row.get(4)?,
                    ngo_id: row.get(5)?,
                    item_id: row.get(6)?,
                    units: row.get(7)?,
                    planted_on: row.get(8)?,
                    latitude: row.get(9)?,
                    longitude: row.get(10)?,
                    polygon: row.get(11)?,
                    photos: Vec::new(),
                    certificates: Vec::new(),
                    actor: row.get(12)?,
                })
            })
            .optional()?;
        let Some(mut record) = found else {
            continue;
        };
        record.photos = conn
            .prepare_cached("SELECT sha256 FROM batch_photos WHERE batch_id = ?1 ORDER BY sha256")?
            .query_map(params![record.batch_id], |row| {
                let bytes: Vec<u8> = row.get(0)?;
                Ok(openforest_core::log::merkle::hex_of(&bytes))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        record.certificates = conn
            .prepare_cached(
                "SELECT certificate_no FROM pledges WHERE batch_id = ?1 ORDER BY certificate_no",
            )?
            .query_map(params![record.batch_id], |row| row.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        records.push(LogRecord::Planting(record));
    }
    Ok(records)
}

pub(super) fn pledge_entry_ids(
    conn: &Connection,
    pledge: &Pledge,
) -> Result<Vec<Uuid>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT entry_id FROM journal WHERE user_id = ?1 AND to_kind = ?2 AND to_id = ?3 ORDER BY seq",
    )?;
    let mut ids = Vec::new();
    for holder in &pledge.holders {
        let found = stmt
            .query_map(
                params![
                    holder.user_id.uuid(),
                    AccountKind::Pledge.code(),
                    pledge.pledge_id.uuid()
                ],
                |row| row.get(0),
            )?
            .collect::<Result<Vec<Uuid>, _>>()?;
        ids.extend(found);
    }
    Ok(ids)
}

pub(super) fn planting_record_ids(
    conn: &Connection,
    batch_id: BatchId,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT record_id FROM planting_records WHERE batch_id = ?1 ORDER BY record_id",
        )?
        .query_map(params![batch_id.uuid()], |row| row.get(0))?
        .collect::<Result<Vec<_>, _>>()?)
}
