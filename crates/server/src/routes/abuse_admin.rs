//! The anti-abuse review queue: suspicious patterns recorded for an admin, never dropped.

use crate::auth::CurrentAdmin;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiPath;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openforest_store::AbuseReport;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AbuseQuery {
    /// Only reports not reviewed yet (default true).
    pub pending: Option<bool>,
    /// 1 to 500 (default 100), newest first.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AbuseReportView {
    pub report_id: Uuid,
    pub user_id: Uuid,
    /// e.g. `collect_rate`.
    pub kind: String,
    pub detail: String,
    pub at: String,
    pub reviewed_at: Option<String>,
}

/// Suspicious patterns to review, newest first.
#[utoipa::path(get, path = "/v1/admin/abuse-reports", tag = "admin", params(AbuseQuery),
    security(("session" = [])),
    responses((status = 200, body = Vec<AbuseReportView>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<AbuseQuery>,
) -> ApiResult<Json<Vec<AbuseReportView>>> {
    let limit = crate::extract::page_limit(query.limit, 100, 500)?;
    Ok(Json(
        review_queue(&state, query.pending.unwrap_or(true), limit)
            .await?
            .into_iter()
            .map(|report| AbuseReportView {
                report_id: report.report_id,
                user_id: report.user_id.uuid(),
                kind: report.kind,
                detail: report.detail,
                at: rfc3339(report.at),
                reviewed_at: report.reviewed_at.map(rfc3339),
            })
            .collect(),
    ))
}

/// The queue, newest first: pending reports only, or all (the API's and the admin console's
/// way).
pub(crate) async fn review_queue(
    state: &AppState,
    pending: bool,
    limit: u32,
) -> ApiResult<Vec<AbuseReport>> {
    Ok(state.store.abuse_reports(pending, limit).await?)
}

/// Marks a report reviewed.
#[utoipa::path(post, path = "/v1/admin/abuse-reports/{report_id}/review", tag = "admin",
    params(("report_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 204, description = "reviewed"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn review(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    ApiPath(report_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    mark_reviewed(&state, report_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks a pending report reviewed.
pub(crate) async fn mark_reviewed(state: &AppState, report_id: Uuid) -> ApiResult<()> {
    if state
        .store
        .review_abuse_report(report_id, state.clock.now())
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound("pending abuse report"))
    }
}
