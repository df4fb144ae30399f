//! Request extractors that turn every kind of bad input into a precise problem: the body must
//! be JSON, within the size limit, and parse field by field into the handler's type.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use sha2::{Digest, Sha256};

/// A JSON body parsed into `T`, with the path of the field at fault when it does not parse.
/// Keeps a SHA-256 of the raw body for idempotency fingerprints.
pub struct ApiJson<T> {
    pub value: T,
    pub body_sha256: [u8; 32],
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType {
                expected: "application/json",
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
                other => ApiError::MalformedJson {
                    detail: other.body_text(),
                },
            })?;
        parse_json(&bytes)
    }
}

/// Parses a JSON body field by field, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<ApiJson<T>, ApiError> {
    let body_sha256 = Sha256::digest(bytes).into();
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let field = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            Category::Data => ApiError::invalid(
                if field == "." { String::new() } else { field },
                inner.to_string(),
            ),
            Category::Syntax | Category::Eof | Category::Io => ApiError::MalformedJson {
                detail: format!("the body is not valid JSON: {inner}"),
            },
        }
    })?;
    Ok(ApiJson { value, body_sha256 })
}

/// The body limit in force, put into request extensions so the 413 problem can name it.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// The optional `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub struct IdempotencyKeyHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKeyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKeyHeader(None));
        };
        let key = value
            .to_str()
            .ok()
            .filter(|key| {
                (1..=255).contains(&key.len()) && key.chars().all(|c| c.is_ascii_graphic())
            })
            .ok_or_else(|| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "an idempotency key is 1 to 255 visible ASCII characters",
                )
            })?;
        Ok(IdempotencyKeyHeader(Some(key.to_string())))
    }
}

/// Path parameters parsed into `T`; one that does not parse (a malformed id) is a 422 problem
/// naming the parameter rather than axum's plain-text 400.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::Path;
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                let detail = err.body_text();
                Err(match err.into_kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. } => ApiError::invalid(key, detail),
                    _ => ApiError::invalid("path", detail),
                })
            }
            Err(other) => Err(ApiError::Internal(other.body_text())),
        }
    }
}

/// A query string parsed into `T`; one that does not parse is a 422 problem on `query` that
/// quotes the parser (which names the parameter), rather than axum's plain-text 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::invalid("query", rejection.body_text()))
    }
}

/// A page size from the query: `default` when absent, refused outside 1 to `max`.
pub fn page_limit(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::invalid("limit", format!("limit is 1 to {max}")))
    }
}
