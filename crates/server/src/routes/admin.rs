//! Admin actions. An audited grant is the only way besides partner actions that energy enters
//! the ledger.

use crate::auth::CurrentAdmin;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, IdempotencyKeyHeader};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openforest_core::{Command, Grams, Grant, Outcome, UserId};
use openforest_store::{Envelope, IdempotencyKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub user_id: Uuid,
    /// 1 g to 1,000,000,000,000 g.
    pub grams: u64,
    /// Why: kept in the journal for audit (1 to 200 characters).
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GrantView {
    pub entry_id: Uuid,
    pub user_id: Uuid,
    pub grams: u64,
    /// The wallet right after this grant.
    pub wallet_grams: u64,
    /// True when this answers a repeated Idempotency-Key.
    pub replayed: bool,
}

/// Grants energy to a user's wallet: an audited journal entry from the operator's issuance
/// account. Send an `Idempotency-Key` header to make retries safe.
#[utoipa::path(
    post,
    path = "/v1/admin/grants",
    tag = "admin",
    request_body = GrantRequest,
    security(("session" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body answer the same grant")),
    responses(
        (status = 201, body = GrantView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "key reused with another body", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "writer queue full; see Retry-After", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn grant(
    State(state): State<AppState>,
    CurrentAdmin(admin): CurrentAdmin,
    IdempotencyKeyHeader(key): IdempotencyKeyHeader,
    body: ApiJson<GrantRequest>,
) -> ApiResult<(StatusCode, Json<GrantView>)> {
    let request = body.value;
    let user_id = UserId(request.user_id);
    if state.store.user(user_id).await?.is_none() {
        return Err(ApiError::NotFound("user"));
    }
    let envelope = Envelope {
        command: Command::Grant(Grant {
            admin_id: admin.user_id,
            user_id,
            grams: Grams::new(request.grams),
            reason: request.reason,
        }),
        idempotency: key.map(|key| IdempotencyKey {
            scope: format!("grant:{}", admin.user_id),
            key,
            fingerprint: body.body_sha256,
        }),
    };
    let executed = state.store.execute(envelope).await?;
    match executed.outcome {
        Outcome::Granted {
            entry_id,
            user_id,
            grams,
            wallet_grams,
        } => Ok((
            StatusCode::CREATED,
            Json(GrantView {
                entry_id: entry_id.uuid(),
                user_id: user_id.uuid(),
                grams: grams.get(),
                wallet_grams: wallet_grams.get(),
                replayed: executed.replayed,
            }),
        )),
        other => Err(ApiError::Internal(format!("a grant answered {other:?}"))),
    }
}
