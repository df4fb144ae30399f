//! `/admin/methodologies`: the stored methodology versions, one version's file, uploading a
//! new version (the TOML pasted into a form) and activating a version.

use super::{Done, Fields, Refusal, Section, admin_of, answer, done, refused, sections, when};
use crate::error::ApiError;
use crate::routes::methodologies_admin::{
    activate as activate_version, upload as upload_version, version_detail,
};
use crate::state::AppState;
use crate::web::context::{Layout, PageContext, PageError, render};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;

const PATH: &str = "/admin/methodologies";

pub struct VersionRow {
    pub name: String,
    pub version: u32,
    pub sha256: String,
    pub uploaded_at: String,
    pub active: bool,
    pub activated_at: Option<String>,
    pub path: String,
}

#[derive(Template)]
#[template(path = "admin_methodologies.html")]
struct MethodologiesPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<super::ShownOnce>,
    refusal: Refusal,
    versions: Vec<VersionRow>,
}

#[derive(Template)]
#[template(path = "admin_methodology.html")]
struct VersionPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<super::ShownOnce>,
    version: VersionRow,
    actions: usize,
    toml: String,
}

/// A version's page path (names are identifiers: letters, digits, `_` and `-`).
fn version_path(name: &str, version: u32) -> String {
    format!("{PATH}/{name}/{version}")
}

async fn show(
    state: &AppState,
    context: &PageContext,
    status: StatusCode,
    notice: Option<String>,
    refusal: Refusal,
) -> Result<Response, PageError> {
    let records = state
        .store
        .methodologies()
        .await
        .map_err(|err| context.error(err.into()))?;
    let page = MethodologiesPage {
        page: context.layout(),
        sections: sections(context.lang, PATH),
        notice,
        shown_once: None,
        refusal,
        versions: records
            .into_iter()
            .map(|record| VersionRow {
                path: version_path(&record.name, record.version),
                sha256: record.sha256,
                uploaded_at: when(record.uploaded_at),
                active: record.active,
                activated_at: record.activated.map(|activation| when(activation.at)),
                name: record.name,
                version: record.version,
            })
            .collect(),
    };
    answer(context, status, render(&page))
}

pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let notice = done.notice(context.lang);
    show(&state, &context, StatusCode::OK, notice, Refusal::default()).await
}

/// Stores a pasted methodology file as a new version (not active yet).
pub async fn upload(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    let admin = match admin_of(&context) {
        Ok(admin) => admin.user_id,
        Err(response) => return Ok(*response),
    };
    // Browsers send CRLF line ends from a textarea; the file is stored as LF text.
    let toml = fields.get("toml").replace("\r\n", "\n");
    match upload_version(&state, admin, toml).await {
        Ok(added) => Ok(done(
            &version_path(&added.stored.name, added.stored.version),
            "methodology-uploaded",
        )),
        Err(err) => {
            let refusal = refused(context.lang, "upload", err, "toml", fields)
                .map_err(|err| context.error(err))?;
            show(
                &state,
                &context,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                refusal,
            )
            .await
        }
    }
}

/// One stored version: its record and its file as uploaded.
pub async fn version(
    State(state): State<AppState>,
    context: PageContext,
    Path((name, version)): Path<(String, String)>,
    Query(done): Query<Done>,
) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let version: u32 = version
        .parse()
        .map_err(|_| context.error(ApiError::NotFound("methodology version")))?;
    let detail = version_detail(&state, &name, version)
        .await
        .map_err(|err| context.error(err))?;
    let actions = detail
        .methodology
        .get("actions")
        .and_then(|actions| actions.as_array())
        .map_or(0, Vec::len);
    let record = detail.version;
    let page = VersionPage {
        page: context.layout(),
        sections: sections(context.lang, PATH),
        notice: done.notice(context.lang),
        shown_once: None,
        version: VersionRow {
            path: version_path(&record.name, record.version),
            sha256: record.sha256,
            uploaded_at: record.uploaded_at,
            active: record.active,
            activated_at: record.activated_at,
            name: record.name,
            version: record.version,
        },
        actions,
        toml: detail.toml,
    };
    answer(&context, StatusCode::OK, render(&page))
}

/// Activates a stored version for the next report.
pub async fn activate(
    State(state): State<AppState>,
    context: PageContext,
    Path((name, version)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    let admin = match admin_of(&context) {
        Ok(admin) => admin.user_id,
        Err(response) => return Ok(*response),
    };
    let version: u32 = version
        .parse()
        .map_err(|_| context.error(ApiError::NotFound("methodology version")))?;
    match activate_version(&state, admin, &name, version).await {
        Ok(_) => Ok(done(PATH, "methodology-activated")),
        Err(ApiError::ConflictExplained { detail, .. }) => {
            let refusal =
                super::refusal(context.lang, "activate", "allowed_actions", &detail, fields);
            show(&state, &context, StatusCode::CONFLICT, None, refusal).await
        }
        Err(err) => Err(context.error(err)),
    }
}
