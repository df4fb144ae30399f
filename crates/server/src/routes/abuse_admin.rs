//! The anti-abuse review queue: suspicious patterns recorded for an admin, never dropped.

use crate::auth::CurrentAdmin;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiPath;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
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
    query: Result<Query<AbuseQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<AbuseReportView>>> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::invalid(
            "query",
            format!(
                "expected pending (true or false) and limit: {}",
                rejection.body_text()
            ),
        )
    })?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "limit is 1 to 500"));
    }
    let reports = state
        .store
        .abuse_reports(query.pending.unwrap_or(true), limit)
        .await?;
    Ok(Json(
        reports
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
    if state
        .store
        .review_abuse_report(report_id, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("pending abuse report"))
    }
}
