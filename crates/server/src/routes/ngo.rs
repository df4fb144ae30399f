//! The NGO portal's API: an NGO sees only its own orders, records planting batches with
//! evidence (date, GPS point or polygon, count, photos stored by content hash), and a second
//! person (another NGO user, or an admin) verifies them.

use crate::auth::{CurrentAdmin, NgoActor, NgoCaller};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::geo;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openforest_core::{BatchId, CatalogItemId, NgoId, OrderId};
use openforest_store::planting::sha256_hex;
use openforest_store::{BatchRefusal, NewBatch, Order, Photo, PlantingBatch};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// The image types evidence photos may have, as sniffed from their bytes.
pub const PHOTO_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineView {
    pub item_id: Uuid,
    pub item_name: String,
    pub pledges: u64,
    pub units: u64,
    pub planted_units: u64,
    pub verified_units: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub order_id: Uuid,
    pub ngo_id: Uuid,
    pub site_id: Uuid,
    pub season: String,
    pub created_at: String,
    pub lines: Vec<OrderLineView>,
}

async fn order_view(state: &AppState, order: Order) -> ApiResult<OrderView> {
    let catalog = state.store.catalog().await?;
    let name = |item_id: CatalogItemId| {
        catalog
            .iter()
            .find(|item| item.item_id == item_id)
            .map(|item| item.name.clone())
            .unwrap_or_default()
    };
    Ok(OrderView {
        order_id: order.order_id.uuid(),
        ngo_id: order.ngo_id.uuid(),
        site_id: order.site_id.uuid(),
        season: order.season,
        created_at: rfc3339(order.created_at),
        lines: order
            .lines
            .into_iter()
            .map(|line| OrderLineView {
                item_id: line.item_id.uuid(),
                item_name: name(line.item_id),
                pledges: line.pledges,
                units: line.units,
                planted_units: line.planted_units,
                verified_units: line.verified_units,
            })
            .collect(),
    })
}

pub(crate) async fn order_views(
    state: &AppState,
    ngo_id: Option<NgoId>,
) -> ApiResult<Vec<OrderView>> {
    let mut views = Vec::new();
    for order in state.store.orders(ngo_id).await? {
        views.push(order_view(state, order).await?);
    }
    Ok(views)
}

/// My NGO's orders, newest first.
#[utoipa::path(get, path = "/v1/ngo/orders", tag = "ngo", security(("session" = []), ("ngo_key" = [])),
    responses((status = 200, body = Vec<OrderView>),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn orders(
    State(state): State<AppState>,
    caller: NgoCaller,
) -> ApiResult<Json<Vec<OrderView>>> {
    Ok(Json(order_views(&state, Some(caller.ngo_id)).await?))
}

/// Every NGO's orders (admins).
#[utoipa::path(get, path = "/v1/admin/orders", tag = "ngo", security(("session" = [])),
    responses((status = 200, body = Vec<OrderView>)))]
pub async fn all_orders(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
) -> ApiResult<Json<Vec<OrderView>>> {
    Ok(Json(order_views(&state, None).await?))
}

/// The order, if it is the caller's NGO's. Another NGO's order is answered as not found, so
/// orders cannot be probed.
pub(crate) async fn own_order(
    state: &AppState,
    caller: &NgoCaller,
    order_id: Uuid,
) -> ApiResult<Order> {
    state
        .store
        .order(OrderId(order_id))
        .await?
        .filter(|order| order.ngo_id == caller.ngo_id)
        .ok_or(ApiError::NotFound("order"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPledgeView {
    pub certificate_no: String,
    pub item_id: Uuid,
    pub units: u64,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDetail {
    pub order: OrderView,
    pub pledges: Vec<OrderPledgeView>,
    pub batches: Vec<BatchView>,
}

/// One of my NGO's orders with its pledges and batches.
#[utoipa::path(get, path = "/v1/ngo/orders/{order_id}", tag = "ngo",
    params(("order_id" = Uuid, Path)), security(("session" = []), ("ngo_key" = [])),
    responses((status = 200, body = OrderDetail),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn order(
    State(state): State<AppState>,
    caller: NgoCaller,
    ApiPath(order_id): ApiPath<Uuid>,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(order_detail(&state, &caller, order_id).await?))
}

/// One of the caller's NGO's orders with its pledges and batches (another NGO's: not found).
pub(crate) async fn order_detail(
    state: &AppState,
    caller: &NgoCaller,
    order_id: Uuid,
) -> ApiResult<OrderDetail> {
    let order = own_order(state, caller, order_id).await?;
    let pledges = state.store.order_pledges(order.order_id).await?;
    let batches = state.store.batches(order.order_id).await?;
    Ok(OrderDetail {
        pledges: pledges
            .iter()
            .map(|record| OrderPledgeView {
                certificate_no: record.pledge.certificate_no.clone(),
                item_id: record.pledge.item_id.uuid(),
                units: record.pledge.units,
                status: record.status().as_str().into(),
            })
            .collect(),
        batches: batches.iter().map(BatchView::from).collect(),
        order: order_view(state, order).await?,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoStored {
    /// The SHA-256 of the bytes, hex: name it in a batch's `photos`.
    pub sha256: String,
    pub content_type: String,
    pub bytes: usize,
    pub url: String,
}

/// Uploads an evidence photo (JPEG, PNG or WebP as the raw body, 5 MiB by default). It is
/// stored by the SHA-256 of its bytes; uploading the same photo again answers the same.
#[utoipa::path(post, path = "/v1/ngo/photos", tag = "ngo",
    request_body(content = Vec<u8>, content_type = "image/jpeg", description = "The photo's bytes (image/jpeg, image/png or image/webp)"),
    security(("session" = []), ("ngo_key" = [])),
    responses((status = 201, body = PhotoStored),
        (status = 413, description = "larger than photo_bytes_max", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not a JPEG, PNG or WebP image", body = Problem, content_type = "application/problem+json")))]
pub async fn upload_photo(
    State(state): State<AppState>,
    caller: NgoCaller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<PhotoStored>)> {
    let limit = state.config.planting.photo_bytes_max;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    if !PHOTO_TYPES.contains(&declared.as_str()) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "image/jpeg, image/png or image/webp",
        });
    }
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit_bytes: limit })?;
    let stored = store_photo(&state, caller.ngo_id, declared, bytes.to_vec(), "body").await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Stores an evidence photo of at most `photo_bytes_max` bytes (the caller reads no more)
/// whose bytes are the declared type, one of `PHOTO_TYPES` (the API's upload and the NGO
/// page's form, where `field` names the file input).
pub(crate) async fn store_photo(
    state: &AppState,
    ngo_id: NgoId,
    declared: String,
    bytes: Vec<u8>,
    field: &str,
) -> ApiResult<PhotoStored> {
    if !PHOTO_TYPES.contains(&declared.as_str()) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "image/jpeg, image/png or image/webp",
        });
    }
    let sniffed = infer::get(&bytes).map(|kind| kind.mime_type());
    if sniffed != Some(declared.as_str()) {
        return Err(ApiError::invalid(
            field,
            format!(
                "the bytes are not a {declared} image (they look like {})",
                sniffed.unwrap_or("no known image type")
            ),
        ));
    }
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    let size = bytes.len();
    state
        .store
        .put_photo(
            sha256,
            &Photo {
                content_type: declared.clone(),
                bytes,
            },
            ngo_id,
            state.clock.now(),
        )
        .await?;
    let hex = sha256_hex(&sha256);
    Ok(PhotoStored {
        url: format!("/v1/photos/{hex}"),
        sha256: hex,
        content_type: declared,
        bytes: size,
    })
}

fn parse_sha256(text: &str, field: &str) -> Result<[u8; 32], ApiError> {
    openforest_core::log::Hash::from_hex(&text.trim().to_ascii_lowercase())
        .map(|hash| hash.0)
        .ok_or_else(|| {
            ApiError::invalid(
                field,
                "a photo is named by the 64 hex characters of its SHA-256",
            )
        })
}

/// An evidence photo (public: certificates link to them).
#[utoipa::path(get, path = "/v1/photos/{sha256}", tag = "ngo",
    params(("sha256" = String, Path)),
    responses((status = 200, description = "the photo", content_type = "image/jpeg"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn photo(
    State(state): State<AppState>,
    ApiPath(sha256): ApiPath<String>,
) -> ApiResult<Response> {
    let sha = parse_sha256(&sha256, "sha256")?;
    let photo = state
        .store
        .photo(sha)
        .await?
        .ok_or(ApiError::NotFound("photo"))?;
    Ok((
        [
            (header::CONTENT_TYPE, photo.content_type),
            // Named by content: it can never change.
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".to_string(),
            ),
        ],
        photo.bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GpsPoint {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBatchRequest {
    /// The order line's item.
    pub item_id: Uuid,
    /// Trees planted, or m² protected: whole pledges, oldest first.
    pub units: u64,
    /// `YYYY-MM-DD`, where it was planted: not later than today anywhere on earth (UTC+14).
    pub planted_on: String,
    /// Where: a GPS point (also required with a polygon, as its marker).
    pub location: GpsPoint,
    /// The planted area as a GeoJSON Polygon.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub polygon: Option<serde_json::Value>,
    /// Photos uploaded first (`POST /v1/ngo/photos`), by SHA-256.
    #[serde(default)]
    pub photos: Vec<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    pub batch_id: Uuid,
    pub order_id: Uuid,
    pub item_id: Uuid,
    pub units: u64,
    pub planted_on: String,
    pub latitude: f64,
    pub longitude: f64,
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
    pub photos: Vec<String>,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: String,
    /// `planted` until verified, then `verified`.
    pub status: String,
    pub verified_by: Option<String>,
    pub verified_at: Option<String>,
}

impl From<&PlantingBatch> for BatchView {
    fn from(batch: &PlantingBatch) -> Self {
        let recorded = &batch.batch;
        BatchView {
            batch_id: recorded.batch_id.uuid(),
            order_id: recorded.order_id.uuid(),
            item_id: recorded.item_id.uuid(),
            units: recorded.units,
            planted_on: recorded.planted_on.clone(),
            latitude: recorded.latitude,
            longitude: recorded.longitude,
            polygon: geo::polygon_json(recorded.polygon.as_deref()),
            photos: recorded.photos.iter().map(sha256_hex).collect(),
            note: recorded.note.clone(),
            recorded_by: recorded.recorded_by.clone(),
            recorded_at: rfc3339(recorded.recorded_at),
            status: if batch.verified_at.is_some() {
                "verified"
            } else {
                "planted"
            }
            .into(),
            verified_by: batch.verified_by.clone(),
            verified_at: batch.verified_at.map(rfc3339),
        }
    }
}

/// Records a planting batch for one of my NGO's orders with its evidence. The order's oldest
/// unplanted pledges of the item become `planted`; nothing is stored if anything is wrong.
#[utoipa::path(post, path = "/v1/ngo/orders/{order_id}/batches", tag = "ngo",
    params(("order_id" = Uuid, Path)), request_body = NewBatchRequest,
    security(("session" = []), ("ngo_key" = [])),
    responses((status = 201, body = BatchView),
        (status = 404, description = "no such order of this NGO", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "more than ordered, or a pledge would be split (`rule`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad date, coordinates, GeoJSON or photo", body = Problem, content_type = "application/problem+json")))]
pub async fn record_batch(
    State(state): State<AppState>,
    caller: NgoCaller,
    ApiPath(order_id): ApiPath<Uuid>,
    body: ApiJson<NewBatchRequest>,
) -> ApiResult<(StatusCode, Json<BatchView>)> {
    let recorded = record_planting_batch(&state, &caller, order_id, body.value).await?;
    Ok((StatusCode::CREATED, Json(recorded)))
}

/// Records a planting batch for one of the caller's NGO's orders (the API and the NGO page).
pub(crate) async fn record_planting_batch(
    state: &AppState,
    caller: &NgoCaller,
    order_id: Uuid,
    request: NewBatchRequest,
) -> ApiResult<BatchView> {
    let order = own_order(state, caller, order_id).await?;
    if request.units == 0 {
        return Err(ApiError::invalid("units", "a batch plants at least 1 unit"));
    }
    let planted_on = chrono::NaiveDate::parse_from_str(request.planted_on.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::invalid("planted_on", "a date written YYYY-MM-DD"))?;
    // The NGO writes the date where it planted, which may be a day ahead of the operator's
    // zone: the latest date anywhere on earth now (UTC+14) is the bound.
    let now = state.clock.now();
    const EASTERNMOST_OFFSET_MS: i64 = 14 * 3_600_000;
    let today_somewhere =
        chrono::DateTime::from_timestamp_millis(now.millis().saturating_add(EASTERNMOST_OFFSET_MS))
            .unwrap_or_default()
            .date_naive();
    if planted_on > today_somewhere {
        return Err(ApiError::invalid(
            "planted_on",
            "a planting date cannot be in the future",
        ));
    }
    geo::check_point(
        request.location.latitude,
        request.location.longitude,
        "location",
    )?;
    let polygon = request
        .polygon
        .as_ref()
        .map(|polygon| geo::parse_polygon(polygon, "polygon"))
        .transpose()?;
    let photos_max = state.config.planting.photos_per_batch_max;
    if request.photos.len() > photos_max {
        return Err(ApiError::invalid(
            "photos",
            format!("a batch names at most {photos_max} photos"),
        ));
    }
    let photos = request
        .photos
        .iter()
        .enumerate()
        .map(|(n, sha)| parse_sha256(sha, &format!("photos[{n}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let note = request.note.trim().to_string();
    if note.chars().count() > 1_000 {
        return Err(ApiError::invalid(
            "note",
            "a note has at most 1,000 characters",
        ));
    }
    let item_id = CatalogItemId(request.item_id);
    if !order.lines.iter().any(|line| line.item_id == item_id) {
        return Err(ApiError::invalid("item_id", "this order has no such item"));
    }
    let batch = NewBatch {
        batch_id: BatchId(openforest_store::new_id(now)),
        order_id: order.order_id,
        ngo_id: caller.ngo_id,
        item_id,
        units: request.units,
        planted_on: planted_on.format("%Y-%m-%d").to_string(),
        latitude: request.location.latitude,
        longitude: request.location.longitude,
        polygon,
        note,
        photos,
        recorded_by: caller.actor.label(),
        recorded_at: now,
    };
    match state.store.record_batch(&batch).await? {
        Ok(recorded) => Ok(BatchView::from(&recorded)),
        Err(BatchRefusal::MoreThanOrdered { left }) => Err(ApiError::GameRule {
            rule: "more_than_ordered",
            detail: format!("this order has {left} unplanted units of the item left"),
        }),
        Err(BatchRefusal::SplitsAPledge {
            covered,
            next_pledge_units,
        }) => Err(ApiError::GameRule {
            rule: "splits_a_pledge",
            detail: format!(
                "a batch covers whole pledges: {covered} units end on a pledge, the next pledge has {next_pledge_units}"
            ),
        }),
        Err(BatchRefusal::UnknownPhoto { sha256 }) => Err(ApiError::invalid(
            "photos",
            format!("photo {sha256} was not uploaded (POST /v1/ngo/photos first)"),
        )),
    }
}

async fn verify(state: &AppState, batch_id: Uuid, verified_by: String) -> ApiResult<BatchView> {
    let verified = state
        .store
        .verify_batch(BatchId(batch_id), &verified_by, state.clock.now())
        .await?
        .ok_or(ApiError::NotFound("batch"))?;
    Ok(BatchView::from(&verified))
}

/// Verifies a batch my NGO recorded: a second person checks the evidence, so the user who
/// recorded it cannot (an API key's batches are verified by a portal user or an admin).
#[utoipa::path(post, path = "/v1/ngo/batches/{batch_id}/verify", tag = "ngo",
    params(("batch_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = BatchView),
        (status = 403, description = "the recorder cannot verify their own batch", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn verify_batch(
    State(state): State<AppState>,
    caller: NgoCaller,
    ApiPath(batch_id): ApiPath<Uuid>,
) -> ApiResult<Json<BatchView>> {
    Ok(Json(verify_ngo_batch(&state, &caller, batch_id).await?))
}

/// A second person of the caller's NGO verifies one of its batches (the API and the NGO page).
pub(crate) async fn verify_ngo_batch(
    state: &AppState,
    caller: &NgoCaller,
    batch_id: Uuid,
) -> ApiResult<BatchView> {
    let batch = state
        .store
        .batch(BatchId(batch_id))
        .await?
        .filter(|batch| batch.batch.ngo_id == caller.ngo_id)
        .ok_or(ApiError::NotFound("batch"))?;
    if !matches!(caller.actor, NgoActor::User(_)) {
        return Err(ApiError::Forbidden(
            "verification is a person's check: sign in to the NGO portal",
        ));
    }
    if batch.batch.recorded_by == caller.actor.label() {
        return Err(ApiError::Forbidden(
            "a second person verifies a batch, not the one who recorded it",
        ));
    }
    verify(state, batch_id, caller.actor.label()).await
}

/// Verifies any NGO's batch (admins).
#[utoipa::path(post, path = "/v1/admin/batches/{batch_id}/verify", tag = "ngo",
    params(("batch_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = BatchView),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn admin_verify_batch(
    State(state): State<AppState>,
    CurrentAdmin(admin): CurrentAdmin,
    ApiPath(batch_id): ApiPath<Uuid>,
) -> ApiResult<Json<BatchView>> {
    Ok(Json(
        verify(&state, batch_id, format!("admin:{}", admin.user_id)).await?,
    ))
}
