//! Admin endpoints for webhooks: the operator's and partners' endpoints with their event
//! filters, and the delivery log with every attempt.

use crate::auth::CurrentAdmin;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use openforest_core::PartnerId;
use openforest_store::webhooks::{EVENT_TYPES, PARTNER_EVENT_TYPES};
use openforest_store::{DeliveryFilter, DeliveryStatus, WebhookDelivery, WebhookEndpoint};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const URL_CHARS_MAX: usize = 2_000;
const DESCRIPTION_CHARS_MAX: usize = 200;
const DELIVERIES_LIMIT_MAX: u32 = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookEndpoint {
    /// Where events are POSTed: an absolute `https://` (or `http://`) URL.
    pub url: String,
    /// Event types to receive: `action.credited`, `ball.expired`, `energy.granted`. A partner's
    /// endpoint may take `action.credited` only, and hears only of its own reports.
    pub event_types: Vec<String>,
    /// The partner this endpoint belongs to; absent for the operator's own endpoint.
    #[serde(default)]
    pub partner_id: Option<Uuid>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    pub endpoint_id: Uuid,
    pub partner_id: Option<Uuid>,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub enabled: bool,
    pub created_at: String,
    pub disabled_at: Option<String>,
}

impl From<&WebhookEndpoint> for WebhookEndpointView {
    fn from(endpoint: &WebhookEndpoint) -> Self {
        WebhookEndpointView {
            endpoint_id: endpoint.endpoint_id,
            partner_id: endpoint.partner_id.map(|partner| partner.uuid()),
            url: endpoint.url.clone(),
            event_types: endpoint.event_types.clone(),
            description: endpoint.description.clone(),
            enabled: endpoint.disabled_at.is_none(),
            created_at: rfc3339(endpoint.created_at),
            disabled_at: endpoint.disabled_at.map(rfc3339),
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookEndpoint {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// The Standard Webhooks secret (`whsec_` + base64) the receiver verifies signatures with.
    /// It is not shown again.
    pub secret: String,
}

fn check_url(url: &str) -> ApiResult<()> {
    let invalid = |detail: &str| Err(ApiError::invalid("url", detail));
    if url.len() > URL_CHARS_MAX {
        return invalid("a webhook URL has at most 2000 characters");
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "https" | "http") && parsed.host().is_some() => {
            if parsed.username() != "" || parsed.password().is_some() {
                return invalid(
                    "put no credentials in a webhook URL; verify the signature instead",
                );
            }
            Ok(())
        }
        Ok(_) => invalid("a webhook URL is an absolute https:// or http:// URL with a host"),
        Err(err) => invalid(&format!("not a URL: {err}")),
    }
}

fn check_event_types(types: &[String], partner: bool) -> ApiResult<()> {
    if types.is_empty() {
        return Err(ApiError::invalid(
            "event_types",
            "name at least one event type",
        ));
    }
    let allowed = if partner {
        PARTNER_EVENT_TYPES
    } else {
        EVENT_TYPES
    };
    for (index, event_type) in types.iter().enumerate() {
        if !allowed.contains(&event_type.as_str()) {
            let whose = if partner {
                "a partner's endpoint"
            } else {
                "an endpoint"
            };
            return Err(ApiError::invalid(
                format!("event_types[{index}]"),
                format!(
                    "{whose} takes these event types: {}; not {event_type:?}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A Standard Webhooks secret: 32 random bytes, `whsec_` + base64.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Registers an endpoint for the operator or for a partner; answers its signing secret once.
#[utoipa::path(
    post,
    path = "/v1/admin/webhook-endpoints",
    tag = "admin",
    request_body = NewWebhookEndpoint,
    security(("session" = [])),
    responses(
        (status = 201, body = CreatedWebhookEndpoint),
        (status = 404, description = "no such partner", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create_endpoint(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    body: ApiJson<NewWebhookEndpoint>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookEndpoint>)> {
    let request = body.value;
    let url = request.url.trim().to_string();
    check_url(&url)?;
    check_event_types(&request.event_types, request.partner_id.is_some())?;
    if request.description.chars().count() > DESCRIPTION_CHARS_MAX {
        return Err(ApiError::invalid(
            "description",
            "a description has at most 200 characters",
        ));
    }
    if let Some(partner_id) = request.partner_id {
        state
            .store
            .partner(PartnerId(partner_id))
            .await?
            .ok_or(ApiError::NotFound("partner"))?;
    }
    let mut event_types = request.event_types;
    event_types.sort();
    event_types.dedup();
    let endpoint = WebhookEndpoint {
        endpoint_id: openforest_store::new_id(state.clock.now()),
        partner_id: request.partner_id.map(PartnerId),
        url,
        event_types,
        description: request.description,
        created_at: state.clock.now(),
        disabled_at: None,
    };
    let secret = new_secret();
    state
        .store
        .create_webhook_endpoint(&endpoint, &secret)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookEndpoint {
            endpoint: (&endpoint).into(),
            secret,
        }),
    ))
}

/// Every endpoint, enabled or not (secrets are never shown again).
#[utoipa::path(get, path = "/v1/admin/webhook-endpoints", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<WebhookEndpointView>)))]
pub async fn list_endpoints(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
) -> ApiResult<Json<Vec<WebhookEndpointView>>> {
    let endpoints = state.store.webhook_endpoints().await?;
    Ok(Json(endpoints.iter().map(Into::into).collect()))
}

/// Disables an endpoint at once: nothing more is sent to it, and its pending deliveries are
/// marked failed in the log.
#[utoipa::path(
    delete,
    path = "/v1/admin/webhook-endpoints/{endpoint_id}",
    tag = "admin",
    params(("endpoint_id" = Uuid, Path)),
    security(("session" = [])),
    responses(
        (status = 204, description = "disabled"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn disable_endpoint(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(endpoint_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if state
        .store
        .disable_webhook_endpoint(endpoint_id, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("enabled webhook endpoint"))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only this endpoint's deliveries.
    pub endpoint_id: Option<Uuid>,
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// At most this many (1 to 500, default 100), newest first.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptView {
    pub attempt: u32,
    pub at: String,
    /// The HTTP status the endpoint answered; absent when no answer came.
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    pub delivery_id: Uuid,
    pub endpoint_id: Uuid,
    /// The event's id, sent as `webhook-id`: the same on every attempt.
    pub event_id: Uuid,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub attempts: Vec<WebhookAttemptView>,
}

impl From<WebhookDelivery> for WebhookDeliveryView {
    fn from(delivery: WebhookDelivery) -> Self {
        WebhookDeliveryView {
            delivery_id: delivery.delivery_id,
            endpoint_id: delivery.endpoint_id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            status: delivery.status.as_str().into(),
            next_attempt_at: delivery.next_attempt_at.map(rfc3339),
            created_at: rfc3339(delivery.created_at),
            finished_at: delivery.finished_at.map(rfc3339),
            attempts: delivery
                .attempts
                .into_iter()
                .map(|attempt| WebhookAttemptView {
                    attempt: attempt.attempt,
                    at: rfc3339(attempt.at),
                    status_code: attempt.status_code,
                    error: attempt.error,
                    duration_ms: attempt.duration_ms,
                })
                .collect(),
        }
    }
}

/// The delivery log, newest first: every delivery with each of its attempts.
#[utoipa::path(
    get,
    path = "/v1/admin/webhook-deliveries",
    tag = "admin",
    params(DeliveryQuery),
    security(("session" = [])),
    responses(
        (status = 200, body = Vec<WebhookDeliveryView>),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<Vec<WebhookDeliveryView>>> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(DeliveryStatus::parse(text).ok_or_else(|| {
            ApiError::invalid("status", "status is pending, delivered or failed")
        })?),
    };
    let limit = crate::extract::page_limit(query.limit, 100, DELIVERIES_LIMIT_MAX)?;
    let filter = DeliveryFilter {
        endpoint_id: query.endpoint_id,
        status,
        limit,
    };
    let deliveries = delivery_log(&state, &filter).await?;
    Ok(Json(deliveries.into_iter().map(Into::into).collect()))
}

/// The delivery log, newest first, with every attempt (the API's and the admin console's way).
pub(crate) async fn delivery_log(
    state: &AppState,
    filter: &DeliveryFilter,
) -> ApiResult<Vec<WebhookDelivery>> {
    Ok(state.store.webhook_deliveries(filter).await?)
}

/// Schedules a delivery that has not succeeded (e.g. failed after every retry while the
/// receiver was down) for another attempt now.
#[utoipa::path(
    post,
    path = "/v1/admin/webhook-deliveries/{delivery_id}/retry",
    tag = "admin",
    params(("delivery_id" = Uuid, Path)),
    security(("session" = [])),
    responses(
        (status = 202, description = "scheduled"),
        (status = 404, description = "no undelivered delivery of an enabled endpoint", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn retry_delivery(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(delivery_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    retry(&state, delivery_id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Schedules an undelivered delivery of an enabled endpoint for another attempt now.
pub(crate) async fn retry(state: &AppState, delivery_id: Uuid) -> ApiResult<()> {
    if state
        .store
        .retry_webhook_delivery(delivery_id, state.clock.now())
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound("undelivered webhook delivery"))
    }
}
