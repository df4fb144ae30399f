//! `/admin/webhooks`: the webhook delivery log, newest first, with every attempt (status
//! code, error, duration), filtered by status; a delivery not delivered can be retried now.

use super::{Fields, Section, ShownOnce, admin_of, answer, done, sections, uuid_of, when};
use crate::routes::webhooks_admin::{delivery_log, retry as retry_delivery};
use crate::state::AppState;
use crate::web::context::{Layout, PageContext, PageError, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use openforest_store::{DeliveryFilter, DeliveryStatus};
use serde::Deserialize;
use std::collections::HashMap;

const PATH: &str = "/admin/webhooks";
/// Deliveries the page lists at most.
const DELIVERIES_SHOWN_MAX: u32 = 200;

pub struct AttemptRow {
    pub attempt: u32,
    pub at: String,
    pub outcome: String,
    pub duration_ms: u64,
}

pub struct DeliveryRow {
    pub delivery_id: String,
    pub event_type: String,
    pub endpoint: String,
    pub status: &'static str,
    pub status_text: String,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub retryable: bool,
    pub attempts: Vec<AttemptRow>,
}

pub struct StatusChoice {
    pub value: &'static str,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "admin_webhooks.html")]
struct WebhooksPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    statuses: Vec<StatusChoice>,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

const STATUSES: [DeliveryStatus; 3] = [
    DeliveryStatus::Pending,
    DeliveryStatus::Delivered,
    DeliveryStatus::Failed,
];

pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<LogQuery>,
) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let lang = context.lang;
    // An unknown status shows every delivery, as no filter does.
    let status = query.status.as_deref().and_then(DeliveryStatus::parse);
    let filter = DeliveryFilter {
        endpoint_id: None,
        status,
        limit: DELIVERIES_SHOWN_MAX,
    };
    let (deliveries, endpoints) = async {
        Ok::<_, crate::error::ApiError>((
            delivery_log(&state, &filter).await?,
            state.store.webhook_endpoints().await?,
        ))
    }
    .await
    .map_err(|err| context.error(err))?;
    let urls: HashMap<_, _> = endpoints
        .into_iter()
        .map(|endpoint| {
            (
                endpoint.endpoint_id,
                (endpoint.url, endpoint.disabled_at.is_none()),
            )
        })
        .collect();
    let done = super::Done { done: query.done };
    let page = WebhooksPage {
        page: context.layout(),
        sections: sections(lang, PATH),
        notice: done.notice(lang),
        shown_once: None,
        statuses: STATUSES
            .into_iter()
            .map(|choice| StatusChoice {
                value: choice.as_str(),
                label: lang.t(&format!("op-delivery-{}", choice.as_str())),
                selected: status == Some(choice),
            })
            .collect(),
        deliveries: deliveries
            .into_iter()
            .map(|delivery| {
                let (endpoint, enabled) = urls
                    .get(&delivery.endpoint_id)
                    .cloned()
                    .unwrap_or_else(|| (delivery.endpoint_id.to_string(), false));
                DeliveryRow {
                    delivery_id: delivery.delivery_id.to_string(),
                    event_type: delivery.event_type,
                    endpoint,
                    status: delivery.status.as_str(),
                    status_text: lang.t(&format!("op-delivery-{}", delivery.status.as_str())),
                    created_at: when(delivery.created_at),
                    next_attempt_at: delivery.next_attempt_at.map(when),
                    retryable: enabled && delivery.status != DeliveryStatus::Delivered,
                    attempts: delivery
                        .attempts
                        .into_iter()
                        .map(|attempt| AttemptRow {
                            attempt: attempt.attempt,
                            at: when(attempt.at),
                            outcome: match (attempt.status_code, attempt.error) {
                                (Some(code), _) => format!("HTTP {code}"),
                                (None, Some(error)) => error,
                                (None, None) => String::new(),
                            },
                            duration_ms: attempt.duration_ms,
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    answer(&context, StatusCode::OK, render(&page))
}

/// Schedules an undelivered delivery for another attempt now.
pub async fn retry(
    State(state): State<AppState>,
    context: PageContext,
    Path(delivery_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let delivery_id = uuid_of(&context, &delivery_id)?;
    retry_delivery(&state, delivery_id)
        .await
        .map_err(|err| context.error(err))?;
    Ok(done(PATH, "delivery-retried"))
}
