//! `/admin/abuse`: the anti-abuse review queue (suspicious patterns recorded for an admin,
//! never dropped): pending reports, or all with `?all=1`, and marking one reviewed.

use super::{Fields, Section, ShownOnce, admin_of, answer, done, sections, uuid_of, when};
use crate::routes::abuse_admin::{mark_reviewed, review_queue};
use crate::state::AppState;
use crate::web::context::{Layout, PageContext, PageError, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

const PATH: &str = "/admin/abuse";
/// Reports the page lists at most, newest first.
const REPORTS_SHOWN_MAX: u32 = 200;

pub struct ReportRow {
    pub report_id: String,
    pub handle: String,
    pub kind: String,
    pub detail: String,
    pub at: String,
    pub reviewed_at: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_abuse.html")]
struct AbusePage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    all: bool,
    reports: Vec<ReportRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AbuseQuery {
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<AbuseQuery>,
) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let all = query.all.is_some();
    let reports = review_queue(&state, !all, REPORTS_SHOWN_MAX)
        .await
        .map_err(|err| context.error(err))?;
    let users: Vec<_> = reports.iter().map(|report| report.user_id).collect();
    let handles = state
        .store
        .handles(&users)
        .await
        .map_err(|err| context.error(err.into()))?;
    let done = super::Done { done: query.done };
    let page = AbusePage {
        page: context.layout(),
        sections: sections(context.lang, PATH),
        notice: done.notice(context.lang),
        shown_once: None,
        all,
        reports: reports
            .into_iter()
            .map(|report| ReportRow {
                report_id: report.report_id.to_string(),
                handle: handles
                    .get(&report.user_id)
                    .cloned()
                    .unwrap_or_else(|| report.user_id.uuid().to_string()),
                kind: report.kind,
                detail: report.detail,
                at: when(report.at),
                reviewed_at: report.reviewed_at.map(when),
            })
            .collect(),
    };
    answer(&context, StatusCode::OK, render(&page))
}

/// Marks a pending report reviewed.
pub async fn review(
    State(state): State<AppState>,
    context: PageContext,
    Path(report_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let report_id = uuid_of(&context, &report_id)?;
    mark_reviewed(&state, report_id)
        .await
        .map_err(|err| context.error(err))?;
    Ok(done(PATH, "report-reviewed"))
}
