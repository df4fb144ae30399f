//! Admin management of partners: create with allowed action types, register and revoke
//! Ed25519 keys (rotation with overlap: add the new key, then revoke the old), disable.

use crate::auth::CurrentAdmin;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openforest_client::signature::{KeyId, VerifyingKey};
use openforest_core::PartnerId;
use openforest_store::{Partner, PartnerKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartner {
    /// 1 to 100 characters, unique.
    pub name: String,
    /// Methodology action keys the partner may report.
    pub allowed_actions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerView {
    pub partner_id: Uuid,
    pub name: String,
    pub allowed_actions: Vec<String>,
    pub disabled: bool,
    pub created_at: String,
}

impl From<&Partner> for PartnerView {
    fn from(partner: &Partner) -> Self {
        PartnerView {
            partner_id: partner.partner_id.uuid(),
            name: partner.name.clone(),
            allowed_actions: partner.allowed_actions.clone(),
            disabled: partner.disabled_at.is_some(),
            created_at: rfc3339(partner.created_at),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartnerKey {
    /// The id the partner's signatures name in `keyid` (1 to 128 visible ASCII characters).
    pub key_id: String,
    /// The Ed25519 public key: 32 bytes in standard base64, or a PEM public key.
    pub public_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerKeyView {
    pub key_id: String,
    pub public_key: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<&PartnerKey> for PartnerKeyView {
    fn from(key: &PartnerKey) -> Self {
        PartnerKeyView {
            key_id: key.key_id.clone(),
            public_key: key.public_key.clone(),
            created_at: rfc3339(key.created_at),
            revoked_at: key.revoked_at.map(rfc3339),
        }
    }
}

pub(crate) async fn existing_partner(state: &AppState, partner_id: Uuid) -> ApiResult<Partner> {
    state
        .store
        .partner(PartnerId(partner_id))
        .await?
        .ok_or(ApiError::NotFound("partner"))
}

/// Creates a partner allowed to report the given action types.
#[utoipa::path(
    post,
    path = "/v1/admin/partners",
    tag = "admin",
    request_body = NewPartner,
    security(("session" = [])),
    responses(
        (status = 201, body = PartnerView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create_partner(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    body: ApiJson<NewPartner>,
) -> ApiResult<(StatusCode, Json<PartnerView>)> {
    let request = body.value;
    let partner = new_partner(&state, &request.name, request.allowed_actions).await?;
    Ok((StatusCode::CREATED, Json((&partner).into())))
}

/// Checks and stores a new partner: the API's and the admin console's one way to make one.
pub(crate) async fn new_partner(
    state: &AppState,
    name: &str,
    allowed_actions: Vec<String>,
) -> ApiResult<Partner> {
    let name = name.trim().to_string();
    if !(1..=100).contains(&name.chars().count()) {
        return Err(ApiError::invalid(
            "name",
            "a partner's name has 1 to 100 characters",
        ));
    }
    if allowed_actions.is_empty() {
        return Err(ApiError::invalid(
            "allowed_actions",
            "name at least one action type",
        ));
    }
    // Checked and stored under the lock activations take, so an activation cannot slip in
    // between and leave this partner allowed an action the new version lacks.
    let _changes = state.energy.changes().await;
    let energy = state.energy.current();
    for (index, action) in allowed_actions.iter().enumerate() {
        if !energy.rules.contains_key(action) {
            return Err(ApiError::invalid(
                format!("allowed_actions[{index}]"),
                format!("the methodology has no action {action:?}"),
            ));
        }
    }
    let partner = Partner {
        partner_id: PartnerId(openforest_store::new_id(state.clock.now())),
        name,
        allowed_actions,
        disabled_at: None,
        created_at: state.clock.now(),
    };
    state.store.create_partner(&partner).await?;
    Ok(partner)
}

/// Every partner.
#[utoipa::path(get, path = "/v1/admin/partners", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<PartnerView>)))]
pub async fn list_partners(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
) -> ApiResult<Json<Vec<PartnerView>>> {
    Ok(Json(
        state
            .store
            .partners()
            .await?
            .iter()
            .map(PartnerView::from)
            .collect(),
    ))
}

/// Registers a public key for the partner's signatures.
#[utoipa::path(
    post,
    path = "/v1/admin/partners/{partner_id}/keys",
    tag = "admin",
    request_body = NewPartnerKey,
    params(("partner_id" = Uuid, Path)),
    security(("session" = [])),
    responses(
        (status = 201, body = PartnerKeyView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn add_key(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(partner_id): ApiPath<Uuid>,
    body: ApiJson<NewPartnerKey>,
) -> ApiResult<(StatusCode, Json<PartnerKeyView>)> {
    let request = body.value;
    let key = register_key(&state, partner_id, &request.key_id, &request.public_key).await?;
    Ok((StatusCode::CREATED, Json((&key).into())))
}

/// Checks and registers a partner's public key (the API's and the admin console's way).
pub(crate) async fn register_key(
    state: &AppState,
    partner_id: Uuid,
    key_id: &str,
    public_key: &str,
) -> ApiResult<PartnerKey> {
    let partner = existing_partner(state, partner_id).await?;
    let key_id = KeyId::parse(key_id).map_err(|reason| ApiError::invalid("key_id", reason))?;
    let public_key = VerifyingKey::parse(public_key)
        .map_err(|err| ApiError::invalid("public_key", err.to_string()))?;
    let key = PartnerKey {
        key_id: key_id.as_str().to_string(),
        partner_id: partner.partner_id,
        public_key: public_key.to_base64(),
        created_at: state.clock.now(),
        revoked_at: None,
    };
    state.store.add_partner_key(&key).await?;
    state.partner_keys.clear();
    Ok(key)
}

/// The partner's keys, revoked ones included.
#[utoipa::path(get, path = "/v1/admin/partners/{partner_id}/keys", tag = "admin",
    params(("partner_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = Vec<PartnerKeyView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn list_keys(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(partner_id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<PartnerKeyView>>> {
    let partner = existing_partner(&state, partner_id).await?;
    let keys = state.store.partner_keys(partner.partner_id).await?;
    Ok(Json(keys.iter().map(PartnerKeyView::from).collect()))
}

/// Revokes a key at once: signatures made with it are refused from now on.
#[utoipa::path(delete, path = "/v1/admin/partners/{partner_id}/keys/{key_id}", tag = "admin",
    params(("partner_id" = Uuid, Path), ("key_id" = String, Path)), security(("session" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revoke_key(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath((partner_id, key_id)): ApiPath<(Uuid, String)>,
) -> ApiResult<StatusCode> {
    revoke(&state, partner_id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes a partner's active key at once.
pub(crate) async fn revoke(state: &AppState, partner_id: Uuid, key_id: &str) -> ApiResult<()> {
    let revoked = state
        .store
        .revoke_partner_key(PartnerId(partner_id), key_id, state.clock.now())
        .await?;
    state.partner_keys.clear();
    if !revoked {
        return Err(ApiError::NotFound("active key of this partner"));
    }
    Ok(())
}

/// Disables (or enables again) a partner at once.
pub(crate) async fn set_disabled(
    state: &AppState,
    partner_id: Uuid,
    disabled: bool,
) -> ApiResult<Partner> {
    let at = disabled.then(|| state.clock.now());
    let changed = state
        .store
        .set_partner_disabled(PartnerId(partner_id), at)
        .await?;
    state.partner_keys.clear();
    if !changed {
        return Err(ApiError::NotFound("partner"));
    }
    existing_partner(state, partner_id).await
}

/// Disables a partner at once: its requests are refused until it is enabled again.
#[utoipa::path(post, path = "/v1/admin/partners/{partner_id}/disable", tag = "admin",
    params(("partner_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = PartnerView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn disable(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(partner_id): ApiPath<Uuid>,
) -> ApiResult<Json<PartnerView>> {
    Ok(Json(
        (&set_disabled(&state, partner_id, true).await?).into(),
    ))
}

/// Enables a disabled partner again.
#[utoipa::path(post, path = "/v1/admin/partners/{partner_id}/enable", tag = "admin",
    params(("partner_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = PartnerView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn enable(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(partner_id): ApiPath<Uuid>,
) -> ApiResult<Json<PartnerView>> {
    Ok(Json(
        (&set_disabled(&state, partner_id, false).await?).into(),
    ))
}
