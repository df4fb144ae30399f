//! The planting catalog: NGOs, their sites, tree species and protected land with costs and
//! quotas. Admins manage it; anyone may read it.

use crate::auth::{CurrentAdmin, NGO_KEY_PREFIX, Secret};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::geo;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openforest_core::planting::{ItemKind, Season};
use openforest_core::{CatalogItemId, Grams, Handle, NgoId, SiteId};
use openforest_store::{CatalogItem, Ngo, NgoKey, Site};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The most one tree may cost: a tonne of CO2e.
pub const TREE_GRAMS_MAX: u64 = 1_000_000;
/// Seasons one item may list.
pub const SEASONS_MAX: usize = 12;

fn text(value: &str, field: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let chars = trimmed.chars().count();
    if chars < min || chars > max {
        return Err(ApiError::invalid(
            field,
            format!("{field} has {min} to {max} characters"),
        ));
    }
    Ok(trimmed.to_string())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NgoView {
    pub ngo_id: Uuid,
    pub name: String,
    pub about: String,
    pub created_at: String,
}

impl From<&Ngo> for NgoView {
    fn from(ngo: &Ngo) -> Self {
        NgoView {
            ngo_id: ngo.ngo_id.uuid(),
            name: ngo.name.clone(),
            about: ngo.about.clone(),
            created_at: rfc3339(ngo.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNgo {
    /// 1 to 80 characters, unique.
    pub name: String,
    /// Up to 500 characters.
    #[serde(default)]
    pub about: String,
}

/// Adds an NGO that plants or protects land.
#[utoipa::path(post, path = "/v1/admin/ngos", tag = "catalog", request_body = NewNgo,
    security(("session" = [])),
    responses((status = 201, body = NgoView),
        (status = 409, description = "the name is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_ngo(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    body: ApiJson<NewNgo>,
) -> ApiResult<(StatusCode, Json<NgoView>)> {
    let ngo = new_ngo(&state, &body.value).await?;
    Ok((StatusCode::CREATED, Json(NgoView::from(&ngo))))
}

/// Checks and stores a new NGO (the API's and the admin console's way).
pub(crate) async fn new_ngo(state: &AppState, request: &NewNgo) -> ApiResult<Ngo> {
    let ngo = Ngo {
        ngo_id: NgoId(openforest_store::new_id(state.clock.now())),
        name: text(&request.name, "name", 1, 80)?,
        about: text(&request.about, "about", 0, 500)?,
        created_at: state.clock.now(),
    };
    state.store.create_ngo(&ngo).await?;
    Ok(ngo)
}

/// Every NGO.
#[utoipa::path(get, path = "/v1/ngos", tag = "catalog",
    responses((status = 200, body = Vec<NgoView>)))]
pub async fn ngos(State(state): State<AppState>) -> ApiResult<Json<Vec<NgoView>>> {
    Ok(Json(
        state
            .reads
            .ngos()
            .await?
            .iter()
            .map(NgoView::from)
            .collect(),
    ))
}

async fn known_ngo(state: &AppState, ngo_id: Uuid) -> ApiResult<NgoId> {
    let ngo_id = NgoId(ngo_id);
    if state
        .store
        .ngos()
        .await?
        .iter()
        .any(|ngo| ngo.ngo_id == ngo_id)
    {
        Ok(ngo_id)
    } else {
        Err(ApiError::NotFound("ngo"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NgoMemberRequest {
    /// The handle of a registered user who will sign in to the NGO portal.
    pub handle: String,
}

/// Lets a registered user sign in to the NGO portal for this NGO.
#[utoipa::path(post, path = "/v1/admin/ngos/{ngo_id}/members", tag = "catalog",
    params(("ngo_id" = Uuid, Path)), request_body = NgoMemberRequest, security(("session" = [])),
    responses((status = 204, description = "the user now signs in for the NGO"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn add_ngo_member(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(ngo_id): ApiPath<Uuid>,
    body: ApiJson<NgoMemberRequest>,
) -> ApiResult<StatusCode> {
    add_member(&state, ngo_id, &body.value.handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lets the user with `handle` sign in to the NGO portal for the NGO (the API's and the admin
/// console's way).
pub(crate) async fn add_member(state: &AppState, ngo_id: Uuid, handle: &str) -> ApiResult<()> {
    let ngo_id = known_ngo(state, ngo_id).await?;
    let handle =
        Handle::parse(handle.trim()).map_err(|err| ApiError::invalid("handle", err.to_string()))?;
    let (user, _) = state
        .store
        .user_by_handle(handle.as_str())
        .await?
        .ok_or(ApiError::NotFound("user with that handle"))?;
    state
        .store
        .add_ngo_member(ngo_id, user.user_id, state.clock.now())
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNgoKey {
    /// What the key is for, 1 to 60 characters.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NgoKeyCreated {
    pub key_id: Uuid,
    pub ngo_id: Uuid,
    pub name: String,
    /// The key itself (`ofn_…`): shown this once, stored only as a hash.
    pub key: String,
}

/// Issues an API key for an NGO's own system (send it as `Authorization: Bearer`).
#[utoipa::path(post, path = "/v1/admin/ngos/{ngo_id}/keys", tag = "catalog",
    params(("ngo_id" = Uuid, Path)), request_body = NewNgoKey, security(("session" = [])),
    responses((status = 201, body = NgoKeyCreated),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn create_ngo_key(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(ngo_id): ApiPath<Uuid>,
    body: ApiJson<NewNgoKey>,
) -> ApiResult<(StatusCode, Json<NgoKeyCreated>)> {
    let created = issue_ngo_key(&state, ngo_id, &body.value.name).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Issues an NGO API key; the answer holds the key itself, to be shown once (the API's and the
/// admin console's way).
pub(crate) async fn issue_ngo_key(
    state: &AppState,
    ngo_id: Uuid,
    name: &str,
) -> ApiResult<NgoKeyCreated> {
    let ngo_id = known_ngo(state, ngo_id).await?;
    let now = state.clock.now();
    let secret = Secret::generate(NGO_KEY_PREFIX);
    let key = NgoKey {
        key_id: openforest_store::new_id(now),
        ngo_id,
        name: text(name, "name", 1, 60)?,
        created_at: now,
        revoked_at: None,
    };
    state.store.create_ngo_key(secret.sha256(), &key).await?;
    Ok(NgoKeyCreated {
        key_id: key.key_id,
        ngo_id: ngo_id.uuid(),
        name: key.name,
        key: secret.expose().to_string(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SiteView {
    pub site_id: Uuid,
    pub ngo_id: Uuid,
    pub name: String,
    pub region: String,
    pub latitude: f64,
    pub longitude: f64,
    /// The site's outline as a GeoJSON Polygon, if known.
    #[schema(value_type = Option<Object>)]
    pub polygon: Option<serde_json::Value>,
}

impl From<&Site> for SiteView {
    fn from(site: &Site) -> Self {
        SiteView {
            site_id: site.site_id.uuid(),
            ngo_id: site.ngo_id.uuid(),
            name: site.name.clone(),
            region: site.region.clone(),
            latitude: site.latitude,
            longitude: site.longitude,
            polygon: geo::polygon_json(site.polygon.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSite {
    pub ngo_id: Uuid,
    /// 1 to 80 characters.
    pub name: String,
    /// Where it is, e.g. "Alxa League, Inner Mongolia".
    pub region: String,
    /// WGS 84 degrees.
    pub latitude: f64,
    pub longitude: f64,
    /// A GeoJSON Polygon of the outline (RFC 7946: `[longitude, latitude]` positions).
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub polygon: Option<serde_json::Value>,
}

/// Adds a planting or conservation site of an NGO.
#[utoipa::path(post, path = "/v1/admin/sites", tag = "catalog", request_body = NewSite,
    security(("session" = [])),
    responses((status = 201, body = SiteView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "bad coordinates or GeoJSON", body = Problem, content_type = "application/problem+json")))]
pub async fn create_site(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    body: ApiJson<NewSite>,
) -> ApiResult<(StatusCode, Json<SiteView>)> {
    let site = new_site(&state, body.value).await?;
    Ok((StatusCode::CREATED, Json(SiteView::from(&site))))
}

/// Checks and stores a new site (the API's and the admin console's way).
pub(crate) async fn new_site(state: &AppState, request: NewSite) -> ApiResult<Site> {
    geo::check_point(request.latitude, request.longitude, "site")?;
    let polygon = request
        .polygon
        .as_ref()
        .map(|polygon| geo::parse_polygon(polygon, "polygon"))
        .transpose()?;
    let site = Site {
        site_id: SiteId(openforest_store::new_id(state.clock.now())),
        ngo_id: known_ngo(state, request.ngo_id).await?,
        name: text(&request.name, "name", 1, 80)?,
        region: text(&request.region, "region", 1, 120)?,
        latitude: request.latitude,
        longitude: request.longitude,
        polygon,
        created_at: state.clock.now(),
    };
    state.store.create_site(&site).await?;
    Ok(site)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeasonView {
    /// e.g. `spring`.
    pub name: String,
    /// First month of the season, 1 to 12.
    pub from_month: u8,
    /// Last month, 1 to 12 (smaller than `from_month` for a season across the new year).
    pub to_month: u8,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ItemView {
    pub item_id: Uuid,
    /// `tree` or `land`.
    pub kind: String,
    pub name: String,
    pub scientific_name: Option<String>,
    /// `tree` or `m2`: what one unit is.
    pub unit: String,
    /// Grams of energy per tree, or per m² of land.
    pub unit_grams: u64,
    pub quota_units: u64,
    pub units_left: u64,
    pub seasons: Vec<SeasonView>,
    pub about: String,
    /// True when the cost is a demo value, not taken from a source.
    pub demo_values: bool,
    pub ngo: Option<NgoView>,
    pub site: Option<SiteView>,
}

pub fn item_view(
    item: &CatalogItem,
    ngos: &HashMap<NgoId, Ngo>,
    sites: &HashMap<SiteId, Site>,
) -> ItemView {
    ItemView {
        item_id: item.item_id.uuid(),
        kind: item.kind.as_str().into(),
        name: item.name.clone(),
        scientific_name: item.scientific_name.clone(),
        unit: item.kind.unit().into(),
        unit_grams: item.unit_grams.get(),
        quota_units: item.quota_units,
        units_left: item.units_left(),
        seasons: item
            .seasons
            .iter()
            .map(|season| SeasonView {
                name: season.name.clone(),
                from_month: season.from_month,
                to_month: season.to_month,
            })
            .collect(),
        about: item.about.clone(),
        demo_values: item.demo_values,
        ngo: ngos.get(&item.ngo_id).map(NgoView::from),
        site: sites.get(&item.site_id).map(SiteView::from),
    }
}

/// NGOs and sites by id, to name them in answers.
pub async fn directory(
    state: &AppState,
) -> ApiResult<(HashMap<NgoId, Ngo>, HashMap<SiteId, Site>)> {
    let ngos = state
        .store
        .ngos()
        .await?
        .into_iter()
        .map(|ngo| (ngo.ngo_id, ngo))
        .collect();
    let sites = state
        .store
        .sites()
        .await?
        .into_iter()
        .map(|site| (site.site_id, site))
        .collect();
    Ok((ngos, sites))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCatalogItem {
    /// `tree` (priced per tree) or `land` (priced per m²).
    pub kind: String,
    pub name: String,
    /// Required for trees.
    #[serde(default)]
    pub scientific_name: Option<String>,
    /// The site (and so the NGO) that plants or protects it.
    pub site_id: Uuid,
    /// Grams per tree (1 to 1,000,000) or per m².
    pub unit_grams: u64,
    /// How many trees or m² may be pledged in all.
    pub quota_units: u64,
    /// When it is planted; pledges are grouped into orders by season.
    #[serde(default)]
    pub seasons: Vec<SeasonView>,
    #[serde(default)]
    pub about: String,
    /// Mark costs that do not come from a source.
    #[serde(default)]
    pub demo_values: bool,
}

/// Adds a tree species or a conservation land offer to the catalog.
#[utoipa::path(post, path = "/v1/admin/catalog", tag = "catalog", request_body = NewCatalogItem,
    security(("session" = [])),
    responses((status = 201, body = ItemView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create_item(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    body: ApiJson<NewCatalogItem>,
) -> ApiResult<(StatusCode, Json<ItemView>)> {
    let item = new_item(&state, body.value).await?;
    let (ngos, sites) = directory(&state).await?;
    Ok((StatusCode::CREATED, Json(item_view(&item, &ngos, &sites))))
}

/// Checks and stores a new catalog item (the API's and the admin console's way).
pub(crate) async fn new_item(state: &AppState, request: NewCatalogItem) -> ApiResult<CatalogItem> {
    let kind = ItemKind::parse(&request.kind)
        .ok_or_else(|| ApiError::invalid("kind", "an item is a `tree` or `land`"))?;
    let scientific_name = request
        .scientific_name
        .as_deref()
        .map(|name| text(name, "scientific_name", 1, 120))
        .transpose()?;
    if kind == ItemKind::Tree && scientific_name.is_none() {
        return Err(ApiError::invalid(
            "scientific_name",
            "a tree species needs its scientific name",
        ));
    }
    if request.unit_grams == 0 || request.unit_grams > TREE_GRAMS_MAX {
        return Err(ApiError::invalid(
            "unit_grams",
            format!("a unit costs 1 to {TREE_GRAMS_MAX} g"),
        ));
    }
    if request.quota_units > 1_000_000_000 {
        return Err(ApiError::invalid(
            "quota_units",
            "a quota is at most 1,000,000,000 units",
        ));
    }
    if request.seasons.len() > SEASONS_MAX {
        return Err(ApiError::invalid(
            "seasons",
            format!("at most {SEASONS_MAX} seasons"),
        ));
    }
    let seasons: Vec<Season> = request
        .seasons
        .iter()
        .map(|season| Season {
            name: season.name.trim().to_string(),
            from_month: season.from_month,
            to_month: season.to_month,
        })
        .collect();
    if let Some(n) = seasons.iter().position(|season| !season.is_valid()) {
        return Err(ApiError::invalid(
            format!("seasons[{n}]"),
            "a season has a name of 1 to 40 characters and months from 1 to 12",
        ));
    }
    let (_, sites) = directory(state).await?;
    let site = sites
        .get(&SiteId(request.site_id))
        .ok_or(ApiError::NotFound("site"))?;
    let now = state.clock.now();
    let item = CatalogItem {
        item_id: CatalogItemId(openforest_store::new_id(now)),
        kind,
        name: text(&request.name, "name", 1, 80)?,
        scientific_name,
        ngo_id: site.ngo_id,
        site_id: site.site_id,
        unit_grams: Grams::new(request.unit_grams),
        quota_units: request.quota_units,
        taken_units: 0,
        seasons,
        about: text(&request.about, "about", 0, 500)?,
        demo_values: request.demo_values,
        created_at: now,
    };
    state.store.create_catalog_item(&item).await?;
    Ok(item)
}

/// The catalog: what can be planted or protected, what it costs, how much is left.
#[utoipa::path(get, path = "/v1/catalog", tag = "catalog",
    responses((status = 200, body = Vec<ItemView>)))]
pub async fn catalog(State(state): State<AppState>) -> ApiResult<Json<Vec<ItemView>>> {
    Ok(Json(catalog_views(&state).await?))
}

/// Every catalog item with its NGO and site (the API's catalog and the planting page).
pub(crate) async fn catalog_views(state: &AppState) -> ApiResult<Vec<ItemView>> {
    let (ngos, sites) = directory(state).await?;
    Ok(state
        .reads
        .catalog()
        .await?
        .iter()
        .map(|item| item_view(item, &ngos, &sites))
        .collect())
}
