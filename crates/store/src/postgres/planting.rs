//! PostgreSQL queries for planting: NGOs, sites, the catalog, orders, batches, photos, pledges
//! and a user's history for lineage.

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
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

fn unsigned(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub(super) async fn create_ngo(pool: &PgPool, ngo: &Ngo) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ngos (ngo_id, name, about, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(ngo.ngo_id.uuid())
        .bind(&ngo.name)
        .bind(&ngo.about)
        .bind(ngo.created_at.millis())
        .execute(pool)
        .await
        .map_err(|err| {
            if super::is_unique_violation(&err) {
                StoreError::Conflict("ngo name")
            } else {
                err.into()
            }
        })?;
    Ok(())
}

pub(super) async fn ngos(pool: &PgPool) -> Result<Vec<Ngo>, StoreError> {
    let rows: Vec<(Uuid, String, String, i64)> =
        sqlx::query_as("SELECT ngo_id, name, about, created_at_ms FROM ngos ORDER BY name")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(ngo_id, name, about, created_at)| Ngo {
            ngo_id: NgoId(ngo_id),
            name,
            about,
            created_at: Timestamp(created_at),
        })
        .collect())
}

pub(super) async fn add_ngo_member(
    pool: &PgPool,
    ngo_id: NgoId,
    user_id: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ngo_members (user_id, ngo_id, added_at_ms) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET ngo_id = EXCLUDED.ngo_id",
    )
    .bind(user_id.uuid())
    .bind(ngo_id.uuid())
    .bind(at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn ngo_of_member(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Option<NgoId>, StoreError> {
    let ngo: Option<Uuid> = sqlx::query_scalar("SELECT ngo_id FROM ngo_members WHERE user_id = $1")
        .bind(user_id.uuid())
        .fetch_optional(pool)
        .await?;
    Ok(ngo.map(NgoId))
}

pub(super) async fn create_ngo_key(
    pool: &PgPool,
    key_hash: [u8; 32],
    key: &NgoKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ngo_keys (key_hash, key_id, ngo_id, name, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(key_hash.as_slice())
    .bind(key.key_id)
    .bind(key.ngo_id.uuid())
    .bind(&key.name)
    .bind(key.created_at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn ngo_key(
    pool: &PgPool,
    key_hash: [u8; 32],
) -> Result<Option<NgoKey>, StoreError> {
    let row: Option<(Uuid, Uuid, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT key_id, ngo_id, name, created_at_ms, revoked_at_ms FROM ngo_keys WHERE key_hash = $1",
    )
    .bind(key_hash.as_slice())
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map(|(key_id, ngo_id, name, created_at, revoked_at)| NgoKey {
            key_id,
            ngo_id: NgoId(ngo_id),
            name,
            created_at: Timestamp(created_at),
            revoked_at: revoked_at.map(Timestamp),
        }),
    )
}

pub(super) async fn create_site(pool: &PgPool, site: &Site) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sites (site_id, ngo_id, name, region, latitude, longitude, polygon, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(site.site_id.uuid())
    .bind(site.ngo_id.uuid())
    .bind(&site.name)
    .bind(&site.region)
    .bind(site.latitude)
    .bind(site.longitude)
    .bind(&site.polygon)
    .bind(site.created_at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

type SiteRow = (Uuid, Uuid, String, String, f64, f64, Option<String>, i64);

pub(super) async fn sites(pool: &PgPool) -> Result<Vec<Site>, StoreError> {
    let rows: Vec<SiteRow> = sqlx::query_as(
        "SELECT site_id, ngo_id, name, region, latitude, longitude, polygon, created_at_ms
         FROM sites ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(site_id, ngo_id, name, region, latitude, longitude, polygon, created_at)| Site {
                site_id: SiteId(site_id),
                ngo_id: NgoId(ngo_id),
                name,
                region,
                latitude,
                longitude,
                polygon,
                created_at: Timestamp(created_at),
            },
        )
        .collect())
}

pub(super) async fn create_catalog_item(
    pool: &PgPool,
    item: &CatalogItem,
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO catalog_items (item_id, kind, name, scientific_name, ngo_id, site_id, unit_grams,
                                    quota_units, seasons, about, demo_values, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(item.item_id.uuid())
    .bind(item.kind.as_str())
    .bind(&item.name)
    .bind(&item.scientific_name)
    .bind(item.ngo_id.uuid())
    .bind(item.site_id.uuid())
    .bind(item.unit_grams.as_i64())
    .bind(signed(item.quota_units))
    .bind(seasons_json(&item.seasons))
    .bind(&item.about)
    .bind(item.demo_values)
    .bind(item.created_at.millis())
    .execute(&mut *tx)
    .await?;
    // The quota counter exists before the first pledge, so every writer lane locks the same
    // row and concurrent pledges cannot both see the quota unused.
    let key = quota_key(item.item_id);
    sqlx::query(
        "INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams)
         VALUES ($1, $2, $3, 0, 0, 0) ON CONFLICT DO NOTHING",
    )
    .bind(key.user_id.uuid())
    .bind(key.action.as_str())
    .bind(key.period.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

type ItemRow = (
    Uuid,
    String,
    String,
    Option<String>,
    Uuid,
    Uuid,
    i64,
    i64,
    String,
    String,
    bool,
    i64,
);

const ITEM_COLUMNS: &str = "item_id, kind, name, scientific_name, ngo_id, site_id, unit_grams,
    quota_units, seasons, about, demo_values, created_at_ms";

async fn to_item(pool: &PgPool, row: ItemRow) -> Result<CatalogItem, StoreError> {
    let item_id = CatalogItemId(row.0);
    let key = quota_key(item_id);
    let taken: Option<i64> = sqlx::query_scalar(
        "SELECT quantity_milli FROM usage WHERE user_id = $1 AND action = $2 AND period = $3",
    )
    .bind(key.user_id.uuid())
    .bind(key.action.as_str())
    .bind(key.period.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(CatalogItem {
        item_id,
        kind: ItemKind::parse(&row.1).unwrap_or(ItemKind::Tree),
        name: row.2,
        scientific_name: row.3,
        ngo_id: NgoId(row.4),
        site_id: SiteId(row.5),
        unit_grams: Grams::new(unsigned(row.6)),
        quota_units: unsigned(row.7),
        seasons: seasons_from_json(&row.8),
        about: row.9,
        demo_values: row.10,
        created_at: Timestamp(row.11),
        taken_units: unsigned(taken.unwrap_or(0)) / 1000,
    })
}

pub(super) async fn catalog(pool: &PgPool) -> Result<Vec<CatalogItem>, StoreError> {
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM catalog_items ORDER BY kind DESC, name"
    ))
    .fetch_all(pool)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(to_item(pool, row).await?);
    }
    Ok(items)
}

pub(super) async fn catalog_item(
    pool: &PgPool,
    item_id: CatalogItemId,
) -> Result<Option<CatalogItem>, StoreError> {
    let row: Option<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} FROM catalog_items WHERE item_id = $1"
    ))
    .bind(item_id.uuid())
    .fetch_optional(pool)
    .await?;
    match row {
        Some(row) => Ok(Some(to_item(pool, row).await?)),
        None => Ok(None),
    }
}

pub(super) async fn place_orders(pool: &PgPool, at: Timestamp) -> Result<Vec<OrderId>, StoreError> {
    let mut tx = pool.begin().await?;
    let open: Vec<(Uuid, Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT p.pledge_id, i.ngo_id, i.site_id, p.season FROM pledges p
         JOIN catalog_items i ON i.item_id = p.item_id
         WHERE p.order_id IS NULL ORDER BY p.created_at_ms, p.pledge_id
         FOR UPDATE OF p",
    )
    .fetch_all(&mut *tx)
    .await?;
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
        sqlx::query(
            "INSERT INTO orders (order_id, ngo_id, site_id, season, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(order_id)
        .bind(ngo_id)
        .bind(site_id)
        .bind(&season)
        .bind(at.millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE pledges SET order_id = $1 WHERE pledge_id = ANY($2)")
            .bind(order_id)
            .bind(&pledges)
            .execute(&mut *tx)
            .await?;
        placed.push(OrderId(order_id));
    }
    tx.commit().await?;
    Ok(placed)
}

async fn order_lines(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<Vec<OrderLine>, sqlx::Error> {
    let rows: Vec<(Uuid, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT p.item_id, count(*)::int8, sum(p.units)::int8,
                coalesce(sum(CASE WHEN p.batch_id IS NOT NULL THEN p.units END), 0)::int8,
                coalesce(sum(CASE WHEN b.verified_at_ms IS NOT NULL THEN p.units END), 0)::int8
         FROM pledges p LEFT JOIN planting_batches b ON b.batch_id = p.batch_id
         WHERE p.order_id = $1 GROUP BY p.item_id ORDER BY p.item_id",
    )
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(item_id, pledges, units, planted, verified)| OrderLine {
            item_id: CatalogItemId(item_id),
            pledges: unsigned(pledges),
            units: unsigned(units),
            planted_units: unsigned(planted),
            verified_units: unsigned(verified),
        })
        .collect())
}

type OrderRow = (Uuid, Uuid, Uuid, String, i64);

async fn to_orders(pool: &PgPool, rows: Vec<OrderRow>) -> Result<Vec<Order>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut orders = Vec::with_capacity(rows.len());
    for (order_id, ngo_id, site_id, season, created_at) in rows {
        orders.push(Order {
            order_id: OrderId(order_id),
            ngo_id: NgoId(ngo_id),
            site_id: SiteId(site_id),
            season,
            created_at: Timestamp(created_at),
            lines: order_lines(&mut conn, order_id).await?,
        });
    }
    Ok(orders)
}

pub(super) async fn orders(pool: &PgPool, ngo_id: Option<NgoId>) -> Result<Vec<Order>, StoreError> {
    let rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT order_id, ngo_id, site_id, season, created_at_ms FROM orders
         WHERE $1::uuid IS NULL OR ngo_id = $1 ORDER BY created_at_ms DESC, order_id",
    )
    .bind(ngo_id.map(|ngo| ngo.uuid()))
    .fetch_all(pool)
    .await?;
    to_orders(pool, rows).await
}

pub(super) async fn order(pool: &PgPool, order_id: OrderId) -> Result<Option<Order>, StoreError> {
    let rows: Vec<OrderRow> = sqlx::query_as(
        "SELECT order_id, ngo_id, site_id, season, created_at_ms FROM orders WHERE order_id = $1",
    )
    .bind(order_id.uuid())
    .fetch_all(pool)
    .await?;
    Ok(to_orders(pool, rows).await?.pop())
}

pub(super) async fn put_photo(
    pool: &PgPool,
    sha256: [u8; 32],
    photo: &Photo,
    ngo_id: NgoId,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO photos (sha256, content_type, bytes, ngo_id, created_at_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha256.as_slice())
    .bind(&photo.content_type)
    .bind(&photo.bytes)
    .bind(ngo_id.uuid())
    .bind(at.millis())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn photo(pool: &PgPool, sha256: [u8; 32]) -> Result<Option<Photo>, StoreError> {
    let row: Option<(String, Vec<u8>)> =
        sqlx::query_as("SELECT content_type, bytes FROM photos WHERE sha256 = $1")
            .bind(sha256.as_slice())
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(content_type, bytes)| Photo {
        content_type,
        bytes,
    }))
}

const BATCH_COLUMNS: &str = "batch_id, order_id, ngo_id, item_id, units, planted_on, latitude,
    longitude, polygon, note, recorded_by, recorded_at_ms, verified_by, verified_at_ms";

#[derive(sqlx::FromRow)]
struct BatchRow {
    batch_id: Uuid,
    order_id: Uuid,
    ngo_id: Uuid,
    item_id: Uuid,
    units: i64,
    planted_on: String,
    latitude: f64,
    longitude: f64,
    polygon: Option<String>,
    note: String,
    recorded_by: String,
    recorded_at_ms: i64,
    verified_by: Option<String>,
    verified_at_ms: Option<i64>,
}

async fn to_batch(conn: &mut PgConnection, row: BatchRow) -> Result<PlantingBatch, sqlx::Error> {
    let photos: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT sha256 FROM batch_photos WHERE batch_id = $1 ORDER BY sha256")
            .bind(row.batch_id)
            .fetch_all(conn)
            .await?;
    Ok(PlantingBatch {
        batch: NewBatch {
            batch_id: BatchId(row.batch_id),
            order_id: OrderId(row.order_id),
            ngo_id: NgoId(row.ngo_id),
            item_id: CatalogItemId(row.item_id),
            units: unsigned(row.units),
            planted_on: row.planted_on,
            latitude: row.latitude,
            longitude: row.longitude,
            polygon: row.polygon,
            note: row.note,
            photos: photos
                .iter()
                .map(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).unwrap_or([0; 32]))
                .collect(),
            recorded_by: row.recorded_by,
            recorded_at: Timestamp(row.recorded_at_ms),
        },
        verified_by: row.verified_by,
        verified_at: row.verified_at_ms.map(Timestamp),
    })
}

async fn load_batch(
    conn: &mut PgConnection,
    batch_id: Uuid,
    lock: bool,
) -> Result<Option<PlantingBatch>, sqlx::Error> {
    let row: Option<BatchRow> = sqlx::query_as(&format!(
        "SELECT {BATCH_COLUMNS} FROM planting_batches WHERE batch_id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    ))
    .bind(batch_id)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(to_batch(conn, row).await?)),
        None => Ok(None),
    }
}

pub(super) async fn batch(
    pool: &PgPool,
    batch_id: BatchId,
) -> Result<Option<PlantingBatch>, StoreError> {
    let mut conn = pool.acquire().await?;
    Ok(load_batch(&mut conn, batch_id.uuid(), false).await?)
}

pub(super) async fn batches(
    pool: &PgPool,
    order_id: OrderId,
) -> Result<Vec<PlantingBatch>, StoreError> {
    let mut conn = pool.acquire().await?;
    let rows: Vec<BatchRow> = sqlx::query_as(&format!(
        "SELECT {BATCH_COLUMNS} FROM planting_batches WHERE order_id = $1 ORDER BY recorded_at_ms, batch_id"
    ))
    .bind(order_id.uuid())
    .fetch_all(&mut *conn)
    .await?;
    let mut batches = Vec::with_capacity(rows.len());
    for row in rows {
        batches.push(to_batch(&mut conn, row).await?);
    }
    Ok(batches)
}

pub(super) async fn record_batch(
    pool: &PgPool,
    batch: &NewBatch,
) -> Result<Result<PlantingBatch, BatchRefusal>, StoreError> {
    let mut tx = pool.begin().await?;
    let photos: Vec<Vec<u8>> = batch.photos.iter().map(|sha| sha.to_vec()).collect();
    let known: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT sha256 FROM photos WHERE sha256 = ANY($1)")
            .bind(&photos)
            .fetch_all(&mut *tx)
            .await?;
    if let Some(missing) = batch
        .photos
        .iter()
        .find(|sha| !known.iter().any(|found| found.as_slice() == sha.as_slice()))
    {
        return Ok(Err(BatchRefusal::UnknownPhoto {
            sha256: crate::planting::sha256_hex(missing),
        }));
    }
    // Locks the order's open pledges so two batches cannot cover the same ones.
    let open: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT pledge_id, units FROM pledges
         WHERE order_id = $1 AND item_id = $2 AND batch_id IS NULL
         ORDER BY created_at_ms, pledge_id FOR UPDATE",
    )
    .bind(batch.order_id.uuid())
    .bind(batch.item_id.uuid())
    .fetch_all(&mut *tx)
    .await?;
    let covered = match crate::planting::cover(&open, batch.units) {
        Ok(covered) => covered,
        Err(refusal) => return Ok(Err(refusal)),
    };
    sqlx::query(&format!(
        "INSERT INTO planting_batches ({BATCH_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL)"
    ))
    .bind(batch.batch_id.uuid())
    .bind(batch.order_id.uuid())
    .bind(batch.ngo_id.uuid())
    .bind(batch.item_id.uuid())
    .bind(signed(batch.units))
    .bind(&batch.planted_on)
    .bind(batch.latitude)
    .bind(batch.longitude)
    .bind(&batch.polygon)
    .bind(&batch.note)
    .bind(&batch.recorded_by)
    .bind(batch.recorded_at.millis())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO batch_photos (batch_id, sha256)
         SELECT $1, sha FROM UNNEST($2::bytea[]) AS s(sha) ON CONFLICT DO NOTHING",
    )
    .bind(batch.batch_id.uuid())
    .bind(&photos)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE pledges SET batch_id = $1 WHERE pledge_id = ANY($2)")
        .bind(batch.batch_id.uuid())
        .bind(&covered)
        .execute(&mut *tx)
        .await?;
    let recorded = PlantingBatch {
        batch: batch.clone(),
        verified_by: None,
        verified_at: None,
    };
    notify(&mut tx, &recorded, "planted", batch.recorded_at).await?;
    add_planting_record(&mut tx, batch.batch_id, "planted", batch.recorded_at).await?;
    tx.commit().await?;
    Ok(Ok(recorded))
}

pub(super) async fn verify_batch(
    pool: &PgPool,
    batch_id: BatchId,
    verified_by: &str,
    at: Timestamp,
) -> Result<Option<PlantingBatch>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(batch) = load_batch(&mut tx, batch_id.uuid(), true).await? else {
        return Ok(None);
    };
    if batch.verified_at.is_some() {
        return Ok(Some(batch));
    }
    sqlx::query(
        "UPDATE planting_batches SET verified_by = $1, verified_at_ms = $2 WHERE batch_id = $3",
    )
    .bind(verified_by)
    .bind(at.millis())
    .bind(batch_id.uuid())
    .execute(&mut *tx)
    .await?;
    let verified = PlantingBatch {
        verified_by: Some(verified_by.to_string()),
        verified_at: Some(at),
        ..batch
    };
    notify(&mut tx, &verified, "verified", at).await?;
    add_planting_record(&mut tx, batch_id, "verified", at).await?;
    tx.commit().await?;
    Ok(Some(verified))
}

/// Feed lines for every holder and one `tree.planted`/`tree.verified` event per pledge of a
/// batch, in the batch's transaction.
async fn notify(
    tx: &mut PgConnection,
    batch: &PlantingBatch,
    status: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let pledges: Vec<(Uuid, Uuid, String)> = sqlx::query_as(
        "SELECT pledge_id, planter_id, certificate_no FROM pledges WHERE batch_id = $1",
    )
    .bind(batch.batch.batch_id.uuid())
    .fetch_all(&mut *tx)
    .await?;
    let (feed_kind, event_type) = crate::planting::notice_kinds(status);
    for (pledge_id, planter_id, certificate_no) in pledges {
        sqlx::query(
            "INSERT INTO feed (user_id, item_id, kind, actor_id, ball_id, grams, at_ms)
             SELECT h.user_id, gen_random_uuid(), $2, NULL, NULL, h.grams, $3
             FROM pledge_holders h WHERE h.pledge_id = $1",
        )
        .bind(pledge_id)
        .bind(feed_kind)
        .bind(at.millis())
        .execute(&mut *tx)
        .await?;
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
        sqlx::query(
            "INSERT INTO webhook_events (event_id, event_type, partner_id, user_id, occurred_at_ms, outcome)
             VALUES ($1, $2, NULL, $3, $4, $5)",
        )
        .bind(crate::new_id(at))
        .bind(event_type)
        .bind(planter_id)
        .bind(at.millis())
        .bind(outcome)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

const PLEDGE_COLUMNS: &str = "p.pledge_id, p.item_id, p.planter_id, p.group_id, p.units, p.grams,
    p.season, p.certificate_no, p.created_at_ms, p.order_id, p.batch_id";

#[derive(sqlx::FromRow)]
struct PledgeRow {
    pledge_id: Uuid,
    item_id: Uuid,
    planter_id: Uuid,
    group_id: Option<Uuid>,
    units: i64,
    grams: i64,
    season: String,
    certificate_no: String,
    created_at_ms: i64,
    order_id: Option<Uuid>,
    batch_id: Option<Uuid>,
}

async fn to_records(pool: &PgPool, rows: Vec<PledgeRow>) -> Result<Vec<PledgeRecord>, StoreError> {
    let mut conn = pool.acquire().await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let holders: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT user_id, grams FROM pledge_holders WHERE pledge_id = $1 ORDER BY grams DESC, user_id",
        )
        .bind(row.pledge_id)
        .fetch_all(&mut *conn)
        .await?;
        let batch = match row.batch_id {
            Some(batch_id) => load_batch(&mut conn, batch_id, false).await?,
            None => None,
        };
        records.push(PledgeRecord {
            pledge: Pledge {
                pledge_id: PledgeId(row.pledge_id),
                item_id: CatalogItemId(row.item_id),
                planter_id: UserId(row.planter_id),
                group_id: row.group_id.map(GroupId),
                units: unsigned(row.units),
                grams: Grams::new(unsigned(row.grams)),
                season: row.season,
                certificate_no: row.certificate_no,
                holders: holders
                    .into_iter()
                    .map(|(user_id, grams)| Holder {
                        user_id: UserId(user_id),
                        grams: Grams::new(unsigned(grams)),
                    })
                    .collect(),
                created_at: Timestamp(row.created_at_ms),
            },
            order_id: row.order_id.map(OrderId),
            batch,
        });
    }
    Ok(records)
}

pub(super) async fn user_pledges(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<PledgeRecord>, StoreError> {
    let rows: Vec<PledgeRow> = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledge_holders h JOIN pledges p ON p.pledge_id = h.pledge_id
         WHERE h.user_id = $1 ORDER BY p.created_at_ms DESC, p.pledge_id"
    ))
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    to_records(pool, rows).await
}

pub(super) async fn order_pledges(
    pool: &PgPool,
    order_id: OrderId,
) -> Result<Vec<PledgeRecord>, StoreError> {
    let rows: Vec<PledgeRow> = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges p WHERE p.order_id = $1 ORDER BY p.created_at_ms, p.pledge_id"
    ))
    .bind(order_id.uuid())
    .fetch_all(pool)
    .await?;
    to_records(pool, rows).await
}

pub(super) async fn pledge_by_certificate(
    pool: &PgPool,
    certificate_no: &str,
) -> Result<Option<PledgeRecord>, StoreError> {
    let rows: Vec<PledgeRow> = sqlx::query_as(&format!(
        "SELECT {PLEDGE_COLUMNS} FROM pledges p WHERE p.certificate_no = $1"
    ))
    .bind(certificate_no)
    .fetch_all(pool)
    .await?;
    Ok(to_records(pool, rows).await?.pop())
}

fn account(owner: Uuid, kind: i16, id: Uuid) -> Option<Account> {
    let kind = AccountKind::from_code(kind)?;
    Some(Account::from_key(openforest_core::account::AccountKey {
        owner,
        kind,
        id,
    }))
}

type JournalRow = (Uuid, i64, i16, Uuid, i16, Uuid, Uuid, i16, Uuid, i64);

pub(super) async fn history(pool: &PgPool, user_id: UserId) -> Result<History, StoreError> {
    let rows: Vec<JournalRow> = sqlx::query_as(
        "SELECT entry_id, at_ms, kind, from_owner, from_kind, from_id, to_owner, to_kind, to_id, grams
         FROM journal WHERE user_id = $1 ORDER BY entry_id",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    let mut entries: Vec<Entry> = rows
        .into_iter()
        .filter_map(|row| {
            Some(Entry {
                entry_id: EntryId(row.0),
                user_id,
                at: Timestamp(row.1),
                kind: EntryKind::from_code(row.2)?,
                from: account(row.3, row.4, row.5)?,
                to: account(row.6, row.7, row.8)?,
                grams: Grams::new(unsigned(row.9)),
                reference: None,
            })
        })
        .collect();
    // Steals are journaled in the owner's lane: take them from the steal records.
    let steals: Vec<(Uuid, Uuid, i64, i64)> = sqlx::query_as(
        "SELECT owner_id, ball_id, grams, at_ms FROM steals WHERE thief_id = $1 ORDER BY at_ms",
    )
    .bind(user_id.uuid())
    .fetch_all(pool)
    .await?;
    for (owner_id, ball_id, grams, at) in steals {
        entries.push(crate::planting::steal_entry(
            user_id, owner_id, ball_id, grams, at,
        ));
    }
    crate::planting::order_history(&mut entries);
    let (owners, balls): (Vec<Uuid>, Vec<Uuid>) = entries
        .iter()
        .filter_map(|entry| match entry.from {
            Account::Ball { user_id, ball_id } => Some((user_id.uuid(), ball_id.uuid())),
            _ => None,
        })
        .unzip();
    // A ball of a dropped day (postgres/partitions.rs) left its action in ball_origins, in the
    // transaction that dropped it: one statement sees it in one place or the other.
    let origins: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT b.ball_id, b.action FROM balls b
         JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(user_id, ball_id)
           ON b.user_id = k.user_id AND b.ball_id = k.ball_id
         UNION ALL
         SELECT o.ball_id, o.action FROM ball_origins o
         JOIN UNNEST($1::uuid[], $2::uuid[]) AS k(user_id, ball_id)
           ON o.user_id = k.user_id AND o.ball_id = k.ball_id",
    )
    .bind(&owners)
    .bind(&balls)
    .fetch_all(pool)
    .await?;
    let ball_origins: HashMap<BallId, String> = origins
        .into_iter()
        .map(|(ball_id, action)| (BallId(ball_id), action))
        .collect();
    Ok(History {
        entries,
        ball_origins,
    })
}

/// Appends an immutable planting event for the transparency log, in the batch's transaction.
async fn add_planting_record(
    tx: &mut PgConnection,
    batch_id: BatchId,
    event: &str,
    at: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO planting_records (record_id, batch_id, event, at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(crate::new_id(at))
    .bind(batch_id.uuid())
    .bind(event)
    .bind(at.millis())
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct PlantingRow {
    record_id: Uuid,
    event: String,
    at_ms: i64,
    batch_id: Uuid,
    order_id: Uuid,
    ngo_id: Uuid,
    item_id: Uuid,
    units: i64,
    planted_on: String,
    latitude: f64,
    longitude: f64,
    polygon: Option<String>,
    actor: String,
}

/// Planting records as the log encodes them: each event with its batch as it stands now (so
/// a changed batch no longer matches its leaf). Records whose batch is gone are left out.
pub(super) async fn planting_records(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<Vec<LogRecord>, StoreError> {
    let rows: Vec<PlantingRow> = sqlx::query_as(
        "SELECT r.record_id, r.event, r.at_ms, b.batch_id, b.order_id, b.ngo_id, b.item_id, b.units,
                b.planted_on, b.latitude, b.longitude, b.polygon,
                CASE r.event WHEN 'verified' THEN coalesce(b.verified_by, '') ELSE b.recorded_by END AS actor
         FROM planting_records r JOIN planting_batches b ON b.batch_id = r.batch_id
         WHERE r.record_id = ANY($1) ORDER BY r.record_id",
    )
    .bind(ids)
    .fetch_all(pool)
    .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let photos: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT sha256 FROM batch_photos WHERE batch_id = $1 ORDER BY sha256",
        )
        .bind(row.batch_id)
        .fetch_all(pool)
        .await?;
        let certificates: Vec<String> = sqlx::query_scalar(
            "SELECT certificate_no FROM pledges WHERE batch_id = $1 ORDER BY certificate_no",
        )
        .bind(row.batch_id)
        .fetch_all(pool)
        .await?;
        records.push(LogRecord::Planting(PlantingRecord {
            record_id: row.record_id,
            event: PlantingEvent::parse(&row.event).unwrap_or(PlantingEvent::Planted),
            at_ms: row.at_ms,
            batch_id: row.batch_id,
            order_id: row.order_id,
            ngo_id: row.ngo_id,
            item_id: row.item_id,
            units: row.units,
            planted_on: row.planted_on,
            latitude: row.latitude,
            longitude: row.longitude,
            polygon: row.polygon,
            photos: photos
                .iter()
                .map(|sha| openforest_core::log::merkle::hex_of(sha))
                .collect(),
            certificates,
            actor: row.actor,
        }));
    }
    Ok(records)
}

pub(super) async fn pledge_entry_ids(
    pool: &PgPool,
    pledge: &Pledge,
) -> Result<Vec<Uuid>, StoreError> {
    let holders: Vec<Uuid> = pledge
        .holders
        .iter()
        .map(|holder| holder.user_id.uuid())
        .collect();
    Ok(sqlx::query_scalar(
        "SELECT entry_id FROM journal
         WHERE user_id = ANY($1) AND to_kind = $2 AND to_id = $3 ORDER BY entry_id",
    )
    .bind(&holders)
    .bind(AccountKind::Pledge.code())
    .bind(pledge.pledge_id.uuid())
    .fetch_all(pool)
    .await?)
}

pub(super) async fn planting_record_ids(
    pool: &PgPool,
    batch_id: BatchId,
) -> Result<Vec<Uuid>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT record_id FROM planting_records WHERE batch_id = $1 ORDER BY record_id",
    )
    .bind(batch_id.uuid())
    .fetch_all(pool)
    .await?)
}
