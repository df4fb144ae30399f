//! Planting: a user (or a co-planting group from its pot) redeems energy for a tree or land;
//! certificates show where each pledge stands and which actions funded it. Anyone can look up
//! a certificate by its number.

use crate::auth::{CurrentAdmin, CurrentUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath, IdempotencyKeyHeader};
use crate::routes::catalog::{ItemView, NgoView, SiteView, directory, item_view};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Datelike;
use openforest_core::lineage::{Lineage, Source, lineage_of};
use openforest_core::planting::{Plant, PlantSource, parse_certificate_no, season_label};
use openforest_core::{CatalogItemId, Command, Outcome, PledgeId, UserId};
use openforest_store::{CatalogItem, Envelope, IdempotencyKey, PledgeRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlantRequest {
    pub item_id: Uuid,
    /// Trees (always 1) or m² of land (1 to 10,000). Default 1.
    #[serde(default)]
    pub units: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PledgedView {
    pub pledge_id: Uuid,
    pub certificate_no: String,
    pub item_id: Uuid,
    pub units: u64,
    pub grams: u64,
    /// Always `pledged` at first: `pledged → ordered → planted → verified`.
    pub status: String,
    pub season: String,
    pub holders: Vec<HolderView>,
    /// The planter's wallet after the pledge.
    pub wallet_grams: u64,
    /// The Amazing Species card every holder gets with a planting: the planter's.
    pub card_species_id: Option<String>,
    /// True when this answers a repeated Idempotency-Key.
    pub replayed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HolderView {
    pub user_id: Uuid,
    pub handle: String,
    pub grams: u64,
    /// The holder's share of the pledge in thousandths.
    pub share_permille: u64,
}

async fn holder_views(
    state: &AppState,
    holders: &[openforest_core::Holder],
    total: u64,
) -> ApiResult<Vec<HolderView>> {
    let ids: Vec<UserId> = holders.iter().map(|holder| holder.user_id).collect();
    let handles = state.store.handles(&ids).await?;
    Ok(holders
        .iter()
        .map(|holder| HolderView {
            user_id: holder.user_id.uuid(),
            handle: handles.get(&holder.user_id).cloned().unwrap_or_default(),
            grams: holder.grams.get(),
            share_permille: (holder.grams.get() * 1000).checked_div(total).unwrap_or(0),
        })
        .collect())
}

async fn plant_item(state: &AppState, item_id: Uuid) -> ApiResult<CatalogItem> {
    state
        .store
        .catalog_item(CatalogItemId(item_id))
        .await?
        .ok_or(ApiError::NotFound("catalog item"))
}

/// Runs a pledge through the writer and answers it (the API and the planting page).
pub(crate) async fn pledge(
    state: &AppState,
    me: UserId,
    request: PlantRequest,
    source: PlantSource,
    idempotency: Option<IdempotencyKey>,
) -> ApiResult<PledgedView> {
    let item = plant_item(state, request.item_id).await?;
    let now = state.clock.now();
    let local = chrono::DateTime::from_timestamp_millis(now.millis())
        .unwrap_or_default()
        .with_timezone(&state.energy.current().timezone);
    let pledge_id = PledgeId(openforest_store::new_id(now));
    // My card for this planting is drawn now and logged by the writer with the pledge, in its
    // transaction (a second durable write per pledge was what held planting back). The pledge
    // stands even if no card can be drawn.
    let card = state
        .species
        .draw_for(
            me,
            &crate::species::CardReason::Planting { pledge: pledge_id },
            now,
        )
        .inspect_err(|err| tracing::warn!(error = %err, "no species card for a planting"))
        .ok();
    let card_drawn = card.as_ref().map(|draw| draw.species_id.clone());
    let command = Command::Plant(Box::new(Plant {
        planter_id: me,
        pledge_id,
        item_id: item.item_id,
        kind: item.kind,
        unit_grams: item.unit_grams,
        units: request.units.unwrap_or(1),
        quota_units: item.quota_units,
        source,
        season: season_label(
            &item.seasons,
            local.year(),
            u8::try_from(local.month()).unwrap_or(1),
        ),
        card,
    }));
    let executed = state
        .store
        .execute(Envelope {
            command,
            idempotency,
        })
        .await?;
    let Outcome::Pledged {
        pledge,
        wallet_grams,
        ..
    } = executed.outcome
    else {
        return Err(ApiError::Internal(format!(
            "a pledge answered {:?}",
            executed.outcome
        )));
    };
    // A card with each planting, for every holder (one per pledge and holder, so a replay
    // answers the same card). Mine came with the pledge unless the pledge was a replay (its
    // card was logged the first time: award_card answers it again); other holders' (a pot's
    // members) are awarded here. The pledge stands even if a card cannot be drawn now.
    let mut card_species_id = None;
    for holder in &pledge.holders {
        if holder.user_id == me
            && !executed.replayed
            && let Some(species_id) = &card_drawn
        {
            card_species_id = Some(species_id.clone());
            if let Err(err) = state
                .species
                .reward_completed_sets(state.store.as_ref(), me, now)
                .await
            {
                tracing::warn!(error = %err, "set rewards after a planting card");
            }
            continue;
        }
        let reason = crate::species::CardReason::Planting {
            pledge: pledge.pledge_id,
        };
        match crate::species::award_card(state, holder.user_id, reason).await {
            Ok(award) if holder.user_id == me => card_species_id = Some(award.draw.species_id),
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "no species card for a planting"),
        }
    }
    Ok(PledgedView {
        card_species_id,
        pledge_id: pledge.pledge_id.uuid(),
        certificate_no: pledge.certificate_no.clone(),
        item_id: pledge.item_id.uuid(),
        units: pledge.units,
        grams: pledge.grams.get(),
        status: "pledged".into(),
        season: pledge.season.clone(),
        holders: holder_views(state, &pledge.holders, pledge.grams.get()).await?,
        wallet_grams: wallet_grams.get(),
        replayed: executed.replayed,
    })
}

/// Plants a tree (or protects m² of land) with energy from my wallet. Send an
/// `Idempotency-Key` header to make retries safe.
#[utoipa::path(post, path = "/v1/me/plantings", tag = "planting", request_body = PlantRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key and body answer the same pledge")),
    security(("session" = [])),
    responses((status = 201, body = PledgedView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "sold out (`rule`: quota_sold_out) or not enough energy (`rule`: insufficient_energy)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn plant(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    body: ApiJson<PlantRequest>,
) -> ApiResult<(StatusCode, Json<PledgedView>)> {
    let idempotency = key.map(|key| IdempotencyKey {
        scope: format!("plant:{}", me.user_id),
        key,
        fingerprint: body.body_sha256,
    });
    let pledged = pledge(
        &state,
        me.user_id,
        body.value,
        PlantSource::Wallet,
        idempotency,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(pledged)))
}

/// Plants from a co-planting group's pot: every member's share pays in proportion to its
/// size, and each becomes a holder of the certificate with that share (members only).
#[utoipa::path(post, path = "/v1/groups/{group_id}/plantings", tag = "planting",
    params(("group_id" = Uuid, Path),
        ("Idempotency-Key" = Option<String>, Header, description = "The same key and body answer the same pledge")),
    request_body = PlantRequest, security(("session" = [])),
    responses((status = 201, body = PledgedView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "sold out or the pot holds too little (`rule`)", body = Problem, content_type = "application/problem+json")))]
pub async fn plant_from_pot(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(group_id): ApiPath<Uuid>,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    body: ApiJson<PlantRequest>,
) -> ApiResult<(StatusCode, Json<PledgedView>)> {
    let idempotency = key.map(|key| (key, body.body_sha256));
    let pledged = pledge_from_pot(&state, me.user_id, group_id, body.value, idempotency).await?;
    Ok((StatusCode::CREATED, Json(pledged)))
}

/// Plants from the pot of a group I am a member of (the API and the planting page);
/// `idempotency` is a key and the request's fingerprint.
pub(crate) async fn pledge_from_pot(
    state: &AppState,
    me: UserId,
    group_id: Uuid,
    request: PlantRequest,
    idempotency: Option<(String, [u8; 32])>,
) -> ApiResult<PledgedView> {
    let group = crate::routes::groups::my_group(state, me, group_id).await?;
    let members = state
        .store
        .group_members(group.group_id)
        .await?
        .into_iter()
        .map(|member| member.user_id)
        .collect();
    let idempotency = idempotency.map(|(key, fingerprint)| IdempotencyKey {
        scope: format!("plant:{}:{}", group.group_id, me),
        key,
        fingerprint,
    });
    pledge(
        state,
        me,
        request,
        PlantSource::Pot {
            group_id: group.group_id,
            members,
        },
        idempotency,
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineagePartView {
    /// `action` (with `action` naming it), `watering`, `grant` or `other`.
    pub source: String,
    /// The methodology's action key, for `action` parts.
    pub action: Option<String>,
    /// Actions (energy balls) that contributed.
    pub actions: u64,
    pub grams: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlantingView {
    pub batch_id: Uuid,
    /// `YYYY-MM-DD`.
    pub planted_on: String,
    pub latitude: f64,
    pub longitude: f64,
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
    /// Evidence photos: `/v1/photos/{sha256}`.
    pub photos: Vec<String>,
    pub recorded_at: String,
    pub verified_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateView {
    pub certificate_no: String,
    pub pledge_id: Uuid,
    /// `pledged`, `ordered`, `planted` or `verified`: never merged.
    pub status: String,
    pub units: u64,
    /// `tree` or `m2`.
    pub unit: String,
    pub grams: u64,
    pub season: String,
    pub pledged_at: String,
    pub ordered: bool,
    pub order_id: Option<Uuid>,
    pub item: ItemView,
    pub ngo: Option<NgoView>,
    pub site: Option<SiteView>,
    pub holders: Vec<HolderView>,
    /// Set once the NGO recorded the planting.
    pub planting: Option<PlantingView>,
    /// Which actions produced the energy that funded it, oldest energy spent first.
    pub lineage: Vec<LineagePartView>,
    /// The lineage in words: "3 metro_ride actions (120 g) + …".
    pub lineage_summary: String,
}

fn lineage_views(lineage: &Lineage) -> Vec<LineagePartView> {
    lineage
        .parts
        .iter()
        .map(|part| {
            let (source, action) = match &part.source {
                Source::Action { action } => ("action", Some(action.clone())),
                Source::Watering => ("watering", None),
                Source::Grant => ("grant", None),
                Source::Other => ("other", None),
            };
            LineagePartView {
                source: source.into(),
                action,
                actions: part.actions,
                grams: part.grams.get(),
            }
        })
        .collect()
}

pub fn lineage_summary(lineage: &Lineage) -> String {
    lineage
        .parts
        .iter()
        .map(|part| {
            let what = match &part.source {
                Source::Action { action } => format!("{} {action}", part.actions),
                Source::Watering => format!("{} waterings from friends", part.actions),
                Source::Grant => format!("{} operator grants", part.actions),
                Source::Other => "other energy".into(),
            };
            format!("{what} ({} g)", part.grams.get())
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Holders' histories, read once per request however many certificates they hold.
#[derive(Default)]
pub struct Histories(std::collections::HashMap<UserId, openforest_store::History>);

impl Histories {
    /// The lineage of a whole pledge: each holder's part, replayed from their history.
    pub async fn lineage(&mut self, state: &AppState, record: &PledgeRecord) -> ApiResult<Lineage> {
        let mut lineage = Lineage::default();
        for holder in &record.pledge.holders {
            let history = match self.0.entry(holder.user_id) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(state.store.history(holder.user_id).await?)
                }
            };
            lineage.merge(lineage_of(
                holder.user_id,
                &history.entries,
                &history.ball_origins,
                record.pledge.pledge_id,
            ));
        }
        Ok(lineage)
    }
}

pub async fn certificate_view(
    state: &AppState,
    record: &PledgeRecord,
    histories: &mut Histories,
) -> ApiResult<CertificateView> {
    let item = plant_item(state, record.pledge.item_id.uuid()).await?;
    let (ngos, sites) = directory(state).await?;
    let lineage = histories.lineage(state, record).await?;
    let pledge = &record.pledge;
    Ok(CertificateView {
        certificate_no: pledge.certificate_no.clone(),
        pledge_id: pledge.pledge_id.uuid(),
        status: record.status().as_str().into(),
        units: pledge.units,
        unit: item.kind.unit().into(),
        grams: pledge.grams.get(),
        season: pledge.season.clone(),
        pledged_at: rfc3339(pledge.created_at),
        ordered: record.order_id.is_some(),
        order_id: record.order_id.map(|order| order.uuid()),
        ngo: ngos.get(&item.ngo_id).map(NgoView::from),
        site: sites.get(&item.site_id).map(SiteView::from),
        item: item_view(&item, &ngos, &sites),
        holders: holder_views(state, &pledge.holders, pledge.grams.get()).await?,
        planting: record.batch.as_ref().map(|batch| PlantingView {
            batch_id: batch.batch.batch_id.uuid(),
            planted_on: batch.batch.planted_on.clone(),
            latitude: batch.batch.latitude,
            longitude: batch.batch.longitude,
            polygon: crate::geo::polygon_json(batch.batch.polygon.as_deref()),
            photos: batch
                .batch
                .photos
                .iter()
                .map(|sha| format!("/v1/photos/{}", openforest_store::planting::sha256_hex(sha)))
                .collect(),
            recorded_at: rfc3339(batch.batch.recorded_at),
            verified_at: batch.verified_at.map(rfc3339),
        }),
        lineage_summary: lineage_summary(&lineage),
        lineage: lineage_views(&lineage),
    })
}

/// My trees and land, newest first, each with its status kept apart.
#[utoipa::path(get, path = "/v1/me/certificates", tag = "planting", security(("session" = [])),
    responses((status = 200, body = Vec<CertificateView>)))]
pub async fn my_certificates(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<Vec<CertificateView>>> {
    Ok(Json(certificates_of(&state, me.user_id).await?))
}

/// A user's certificates, newest first (the API and the certificates page).
pub(crate) async fn certificates_of(
    state: &AppState,
    user_id: UserId,
) -> ApiResult<Vec<CertificateView>> {
    let records = state.store.user_pledges(user_id).await?;
    let mut views = Vec::with_capacity(records.len());
    let mut histories = Histories::default();
    for record in &records {
        views.push(certificate_view(state, record, &mut histories).await?);
    }
    Ok(views)
}

/// Looks a certificate up by its number (public: anyone may check a certificate).
#[utoipa::path(get, path = "/v1/certificates/{certificate_no}", tag = "planting",
    params(("certificate_no" = String, Path, description = "e.g. OF-7K3MQ-9QXD2")),
    responses((status = 200, body = CertificateView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn certificate(
    State(state): State<AppState>,
    ApiPath(certificate_no): ApiPath<String>,
) -> ApiResult<Json<CertificateView>> {
    let record = find_certificate(&state, &certificate_no).await?;
    Ok(Json(
        certificate_view(&state, &record, &mut Histories::default()).await?,
    ))
}

pub async fn find_certificate(state: &AppState, certificate_no: &str) -> ApiResult<PledgeRecord> {
    let number = parse_certificate_no(certificate_no).ok_or_else(|| {
        ApiError::invalid(
            "certificate_no",
            "a certificate number looks like OF-7K3MQ-9QXD2",
        )
    })?;
    state
        .store
        .pledge_by_certificate(&number)
        .await?
        .ok_or(ApiError::NotFound("certificate"))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrdersPlaced {
    pub orders: Vec<Uuid>,
}

/// Groups every pledge not yet ordered into orders per NGO, site and season now (the
/// ordering job does this every hour by default).
#[utoipa::path(post, path = "/v1/admin/orders", tag = "planting", security(("session" = [])),
    responses((status = 200, body = OrdersPlaced)))]
pub async fn place_orders(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
) -> ApiResult<Json<OrdersPlaced>> {
    let orders = state.store.place_orders(state.clock.now()).await?;
    Ok(Json(OrdersPlaced {
        orders: orders.into_iter().map(|order| order.uuid()).collect(),
    }))
}
