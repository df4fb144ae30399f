//! Admin management of methodology versions: upload a TOML file (stored as written, immutable
//! under its name and version), list and read the versions, and activate one. Activation takes
//! effect for the next report; balls already made keep the version they record.

use crate::auth::CurrentAdmin;
use crate::energy::{describe_orphans, orphaned_actions, sha256_hex};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::BodyLimit;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use openforest_core::{Methodology, UserId};
use openforest_store::{
    Activation, MethodologyAdded, MethodologyRecord, NewMethodologyVersion, StoredMethodology,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// The media type a methodology upload is sent as.
pub const TOML_MEDIA_TYPE: &str = "application/toml";

/// A stored methodology version.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodologyVersionView {
    pub name: String,
    pub version: u32,
    /// SHA-256 of the TOML as uploaded, lowercase hex.
    pub sha256: String,
    pub uploaded_at: String,
    /// The admin who uploaded it; null for the version the server's configuration named.
    pub uploaded_by: Option<Uuid>,
    /// True for the version that credits reports now.
    pub active: bool,
    /// Its latest activation, if it was ever activated.
    pub activated_at: Option<String>,
    /// The admin who activated it last; null when the server activated its configured one.
    pub activated_by: Option<Uuid>,
}

impl From<&MethodologyRecord> for MethodologyVersionView {
    fn from(record: &MethodologyRecord) -> Self {
        MethodologyVersionView {
            name: record.name.clone(),
            version: record.version,
            sha256: record.sha256.clone(),
            uploaded_at: rfc3339(record.uploaded_at),
            uploaded_by: record.uploaded_by.map(|user| user.uuid()),
            active: record.active,
            activated_at: record.activated.map(|activation| rfc3339(activation.at)),
            activated_by: record
                .activated
                .and_then(|activation| activation.by)
                .map(|user| user.uuid()),
        }
    }
}

/// One stored version: its record, its content as `GET /v1/methodology` shows it, and the TOML
/// exactly as uploaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodologyVersionDetail {
    #[serde(flatten)]
    pub version: MethodologyVersionView,
    /// The parsed methodology, in the shape of `GET /v1/methodology`.
    pub methodology: serde_json::Value,
    pub toml: String,
}

/// A methodology upload: the body as UTF-8 text, sent as `application/toml`.
pub struct TomlBody(pub String);

impl<S: Send + Sync> FromRequest<S> for TomlBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_toml = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(TOML_MEDIA_TYPE));
        if !is_toml {
            return Err(ApiError::UnsupportedMediaType {
                expected: TOML_MEDIA_TYPE,
            });
        }
        let limit_bytes = req
            .extensions()
            .get::<BodyLimit>()
            .map(|limit| limit.0)
            .unwrap_or_default();
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|err| match err {
                BytesRejection::FailedToBufferBody(inner)
                    if inner.body_text().contains("length limit") =>
                {
                    ApiError::PayloadTooLarge { limit_bytes }
                }
                other => ApiError::invalid("body", other.body_text()),
            })?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|err| {
            let line = 1 + bytes[..err.utf8_error().valid_up_to()]
                .iter()
                .filter(|byte| **byte == b'\n')
                .count();
            ApiError::InvalidMethodology {
                line,
                reason: "a methodology file is UTF-8 text".into(),
            }
        })?;
        Ok(TomlBody(text))
    }
}

fn detail(stored: &StoredMethodology) -> ApiResult<MethodologyVersionDetail> {
    let methodology = parse_stored(stored)?;
    Ok(MethodologyVersionDetail {
        version: (&stored.record).into(),
        methodology: serde_json::to_value(&methodology)
            .map_err(|err| ApiError::Internal(err.to_string()))?,
        toml: stored.toml.clone(),
    })
}

/// A stored version's text, checked again (it was checked at upload; a newer server may be
/// stricter).
fn parse_stored(stored: &StoredMethodology) -> ApiResult<Methodology> {
    Methodology::parse(&stored.toml).map_err(|err| ApiError::InvalidMethodology {
        line: err.line,
        reason: format!(
            "the stored methodology {} v{} no longer reads: {}",
            stored.record.name, stored.record.version, err.reason
        ),
    })
}

async fn existing_version(
    state: &AppState,
    name: &str,
    version: u32,
) -> ApiResult<StoredMethodology> {
    state
        .store
        .methodology(name, version)
        .await?
        .ok_or(ApiError::NotFound("methodology version"))
}

/// Uploads a methodology version: the TOML file as the body, `Content-Type: application/toml`
/// (`curl --data-binary @mine.toml -H 'content-type: application/toml'`). It is checked as the
/// server checks its configured file, and stored as written under the name and version it
/// declares; it does not become active until activated. A version never changes: the same
/// name and version with identical text answers 200 with the stored version, with other text
/// 409 (give the changed file a new version).
#[utoipa::path(
    post,
    path = "/v1/admin/methodologies",
    tag = "admin",
    request_body(content = String, content_type = "application/toml",
        description = "the methodology file (TOML): the format the `methodology` setting reads"),
    security(("session" = [])),
    responses(
        (status = 201, description = "stored (not active yet)", body = MethodologyVersionView),
        (status = 200, description = "this exact version was already stored", body = MethodologyVersionView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "this name and version are stored with other text", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "not sent as application/toml", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the file cannot be used: `line` and `detail` say where and why", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn upload_methodology(
    State(state): State<AppState>,
    CurrentAdmin(admin): CurrentAdmin,
    TomlBody(toml): TomlBody,
) -> ApiResult<(StatusCode, HeaderMap, Json<MethodologyVersionView>)> {
    let added = upload(&state, admin.user_id, toml).await?;
    let mut headers = HeaderMap::new();
    let location = format!(
        "/v1/admin/methodologies/{}/{}",
        added.stored.name, added.stored.version
    );
    if let Ok(location) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, location);
    }
    let status = if added.inserted {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, headers, Json((&added.stored).into())))
}

/// Checks and stores an uploaded methodology version (not active yet): the API's and the
/// admin console's way. The same name and version with other text is a conflict.
pub(crate) async fn upload(
    state: &AppState,
    admin: UserId,
    toml: String,
) -> ApiResult<MethodologyAdded> {
    let methodology = Methodology::parse(&toml).map_err(|err| ApiError::InvalidMethodology {
        line: err.line,
        reason: err.reason,
    })?;
    let sha256 = sha256_hex(&toml);
    let added = state
        .store
        .add_methodology(&NewMethodologyVersion {
            name: methodology.name().to_string(),
            version: methodology.version(),
            toml,
            sha256: sha256.clone(),
            uploaded_at: state.clock.now(),
            uploaded_by: Some(admin),
        })
        .await?;
    if added.stored.sha256 != sha256 {
        return Err(ApiError::ConflictExplained {
            field: "version",
            detail: format!(
                "methodology {} version {} is already stored with other text (sha256 {}); a \
                 version never changes once stored, because balls record it: give the changed \
                 file a new version",
                added.stored.name, added.stored.version, added.stored.sha256
            ),
        });
    }
    Ok(added)
}

/// Every stored methodology version, newest upload first, with the active one marked.
#[utoipa::path(get, path = "/v1/admin/methodologies", tag = "admin", security(("session" = [])),
    responses((status = 200, body = Vec<MethodologyVersionView>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_methodologies(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
) -> ApiResult<Json<Vec<MethodologyVersionView>>> {
    Ok(Json(
        state
            .store
            .methodologies()
            .await?
            .iter()
            .map(MethodologyVersionView::from)
            .collect(),
    ))
}

/// One stored methodology version: its content and the TOML as uploaded.
#[utoipa::path(get, path = "/v1/admin/methodologies/{name}/{version}", tag = "admin",
    params(("name" = String, Path), ("version" = u32, Path)), security(("session" = [])),
    responses((status = 200, body = MethodologyVersionDetail), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn methodology_version(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    Path((name, version)): Path<(String, u32)>,
) -> ApiResult<Json<MethodologyVersionDetail>> {
    Ok(Json(version_detail(&state, &name, version).await?))
}

/// One stored version with its parsed content and TOML.
pub(crate) async fn version_detail(
    state: &AppState,
    name: &str,
    version: u32,
) -> ApiResult<MethodologyVersionDetail> {
    detail(&existing_version(state, name, version).await?)
}

/// Activates a stored version: reports checked from now on are credited under it; balls
/// already made keep the version they record. Refused (409) while a partner is allowed an
/// action type the version does not define, disabled partners included: keep the action in the
/// new version with `enabled = false` to stop crediting it. Activating the active version again
/// only records the activation.
#[utoipa::path(post, path = "/v1/admin/methodologies/{name}/{version}/activate", tag = "admin",
    params(("name" = String, Path), ("version" = u32, Path)), security(("session" = [])),
    responses(
        (status = 200, body = MethodologyVersionView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "partners are allowed action types this version lacks", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn activate_methodology(
    State(state): State<AppState>,
    CurrentAdmin(admin): CurrentAdmin,
    Path((name, version)): Path<(String, u32)>,
) -> ApiResult<Json<MethodologyVersionView>> {
    let record = activate(&state, admin.user_id, &name, version).await?;
    Ok(Json((&record).into()))
}

/// Activates a stored version for the next report (the API's and the admin console's way);
/// refused while partners are allowed action types it lacks.
pub(crate) async fn activate(
    state: &AppState,
    admin: UserId,
    name: &str,
    version: u32,
) -> ApiResult<MethodologyRecord> {
    let _changes = state.energy.changes().await;
    let stored = existing_version(state, name, version).await?;
    let methodology = parse_stored(&stored)?;
    let orphaned = orphaned_actions(state.store.as_ref(), &methodology).await?;
    if !orphaned.is_empty() {
        let partners = describe_orphans(&orphaned);
        return Err(ApiError::ConflictExplained {
            field: "allowed_actions",
            detail: format!(
                "methodology {name} v{version} lacks action types that partners are allowed to \
                 report: {partners}; keep them in the new version (enabled = false stops \
                 crediting them) before activating it"
            ),
        });
    }
    let activated = state
        .store
        .activate_methodology(
            name,
            version,
            Activation {
                at: state.clock.now(),
                by: Some(admin),
            },
        )
        .await?;
    if !activated {
        return Err(ApiError::NotFound("methodology version"));
    }
    let settings = state.energy.current().with_methodology(methodology);
    state.energy.replace(settings);
    tracing::info!(
        methodology = %name,
        version,
        admin = %admin.uuid(),
        "methodology activated by an admin"
    );
    let stored = existing_version(state, name, version).await?;
    Ok(stored.record)
}
