//! The one application error type and its RFC 9457 `application/problem+json` rendering.
//! Every failure the API answers goes through here: a stable `type`, a human `detail`, and the
//! offending `field` where there is one. Internals are logged, never shown.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use openforest_core::{LedgerError, Rejection};
use openforest_store::{CommandError, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of problem, e.g. `/problems/invalid-field`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault, as a path (`items[3].grams`), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The 1-based line at fault in an uploaded file (a methodology's TOML), where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The game rule that refused the request (`once_per_ball`, `daily_steal_cap`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{detail}")]
    MalformedJson { detail: String },
    #[error("{detail}")]
    InvalidField { field: String, detail: String },
    #[error("send the body as {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// An uploaded methodology file that cannot be used: the line to fix and why.
    #[error("line {line}: {reason}")]
    InvalidMethodology { line: usize, reason: String },
    #[error("the body is larger than the limit of {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{detail}")]
    SignatureRejected {
        detail: String,
        field: Option<String>,
    },
    #[error("{detail}")]
    ForbiddenField { field: &'static str, detail: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this path does not take that method")]
    MethodNotAllowed,
    #[error("{what} is already taken")]
    Conflict {
        what: &'static str,
        field: &'static str,
    },
    /// A change refused because of what is already there, explained in `detail`.
    #[error("{detail}")]
    ConflictExplained { field: &'static str, detail: String },
    #[error("{0}")]
    InsufficientEnergy(String),
    /// A game rule refused the move; `rule` names it.
    #[error("{detail}")]
    GameRule { rule: &'static str, detail: String },
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyConflict,
    #[error("the server is busy; retry after a second")]
    Overloaded,
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the server is shutting down; retry shortly")]
    ShuttingDown,
    #[error("internal error")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::InvalidField {
            field: field.into(),
            detail: detail.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidField { .. }
            | ApiError::InvalidMethodology { .. }
            | ApiError::InsufficientEnergy(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::ForbiddenField { .. } => StatusCode::FORBIDDEN,
            ApiError::SignatureRejected { .. } => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. }
            | ApiError::ConflictExplained { .. }
            | ApiError::GameRule { .. }
            | ApiError::IdempotencyConflict => StatusCode::CONFLICT,
            ApiError::Overloaded | ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable slug behind `/problems/…`. Clients may branch on it; never rename one.
    fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedJson { .. } => "malformed-json",
            ApiError::InvalidField { .. } => "invalid-field",
            ApiError::UnsupportedMediaType { .. } => "unsupported-media-type",
            ApiError::InvalidMethodology { .. } => "invalid-methodology",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) | ApiError::ForbiddenField { .. } => "forbidden",
            ApiError::SignatureRejected { .. } => "signature-rejected",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Conflict { .. } | ApiError::ConflictExplained { .. } => "conflict",
            ApiError::InsufficientEnergy(_) => "insufficient-energy",
            ApiError::GameRule { .. } => "game-rule",
            ApiError::IdempotencyConflict => "idempotency-conflict",
            ApiError::Overloaded => "overloaded",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::ShuttingDown => "shutting-down",
            ApiError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::InvalidField { field, .. } => Some(field.clone()),
            ApiError::Conflict { field, .. } | ApiError::ConflictExplained { field, .. } => {
                Some((*field).to_string())
            }
            ApiError::InvalidMethodology { .. } => Some("body".to_string()),
            ApiError::SignatureRejected { field, .. } => field.clone(),
            ApiError::ForbiddenField { field, .. } => Some((*field).to_string()),
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            kind: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: self.to_string(),
            field: self.field(),
            line: match self {
                ApiError::InvalidMethodology { line, .. } => Some(*line),
                _ => None,
            },
            rule: match self {
                ApiError::GameRule { rule, .. } => Some((*rule).to_string()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let retry_after = match &self {
            ApiError::Overloaded | ApiError::ShuttingDown => Some(1),
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict(what) => ApiError::Conflict {
                what,
                field: match what {
                    "handle" => "handle",
                    "key id" => "key_id",
                    _ => "name",
                },
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        match err {
            CommandError::Rejected(Rejection::Invalid { field, reason }) => {
                ApiError::invalid(field, reason)
            }
            CommandError::Rejected(Rejection::Rule { rule, detail }) => {
                ApiError::GameRule { rule, detail }
            }
            CommandError::Rejected(Rejection::NotFound { what }) => ApiError::NotFound(what),
            CommandError::Rejected(Rejection::NotFriends) => {
                ApiError::Forbidden("only friends can do this")
            }
            CommandError::Rejected(Rejection::Ledger(ledger)) => match ledger {
                LedgerError::InvalidAmount { .. } => ApiError::invalid("grams", ledger.to_string()),
                LedgerError::InsufficientEnergy { .. } => {
                    ApiError::InsufficientEnergy(ledger.to_string())
                }
                other => ApiError::Internal(other.to_string()),
            },
            CommandError::IdempotencyConflict => ApiError::IdempotencyConflict,
            CommandError::Overloaded => ApiError::Overloaded,
            CommandError::ShuttingDown => ApiError::ShuttingDown,
            CommandError::Storage(cause) => ApiError::Internal(cause),
        }
    }
}
