//! The public transparency log: the latest signed tree head, the log's key, leaves, and Merkle
//! proofs anyone can check offline (docs/transparency.md). Hashes are lowercase hex; bytes
//! (records, keys, signatures) are standard base64.

use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openforest_core::Timestamp;
use openforest_core::log::{ProofError, RecordKind, SignedTreeHead, spki_der, spki_pem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct TreeHeadView {
    pub tree_size: u64,
    /// The Merkle root (hex).
    pub root_hash: String,
    pub timestamp: String,
    /// Milliseconds since the Unix epoch: the value that was signed.
    pub timestamp_ms: u64,
    /// SHA-256 of the key's DER SubjectPublicKeyInfo (hex), as `GET /v1/log/key` shows it.
    pub key_id: String,
    /// Ed25519 over the 50-byte RFC 6962 TreeHeadSignature (base64).
    pub signature: String,
}

impl From<&SignedTreeHead> for TreeHeadView {
    fn from(signed: &SignedTreeHead) -> Self {
        TreeHeadView {
            tree_size: signed.head.tree_size,
            root_hash: signed.head.root.to_hex(),
            timestamp: rfc3339(Timestamp::from_millis(
                i64::try_from(signed.head.timestamp_ms).unwrap_or(i64::MAX),
            )),
            timestamp_ms: signed.head.timestamp_ms,
            key_id: signed.key_id.to_hex(),
            signature: STANDARD.encode(signed.signature),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogKeyView {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// SHA-256 of `spki_der` (hex).
    pub key_id: String,
    /// The 32-byte public key (base64).
    pub public_key: String,
    /// DER SubjectPublicKeyInfo (base64).
    pub spki_der: String,
    /// The same as a PEM `PUBLIC KEY` block.
    pub pem: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeafView {
    pub leaf_index: u64,
    /// `journal_entry`.
    pub record_kind: String,
    pub record_id: Uuid,
    /// SHA-256(0x00 ‖ record) as stored in the log (hex).
    pub leaf_hash: String,
    pub integrated_at: String,
    /// The record's canonical bytes, encoded from its row as it is now (base64); a client
    /// checks that they hash to `leaf_hash`. Null when the row no longer exists.
    pub record: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofView {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// The leaf hash being proven (hex).
    pub leaf_hash: String,
    /// The root at `tree_size` (hex): compare it with a signed head of that size.
    pub root_hash: String,
    /// The audit path, nearest sibling first (hex).
    pub audit_path: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofView {
    pub first: u64,
    pub second: u64,
    pub first_root_hash: String,
    pub second_root_hash: String,
    /// RFC 6962 §2.1.2 order (hex).
    pub consistency_path: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The leaf to prove. Or give `record_id` instead.
    pub leaf_index: Option<u64>,
    /// The record to prove, instead of `leaf_index`: a journal entry's `entry_id`.
    pub record_id: Option<Uuid>,
    /// The kind of `record_id` (default `journal_entry`).
    pub record_kind: Option<String>,
    /// The size of the signed head to prove against (default: the latest head's).
    pub tree_size: Option<u64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size (at least 1).
    pub first: u64,
    /// The newer tree size (default: the latest head's).
    pub second: Option<u64>,
}

/// The latest signed tree head.
#[utoipa::path(get, path = "/v1/log/head", tag = "transparency",
    responses(
        (status = 200, body = TreeHeadView),
        (status = 404, description = "no head published yet", body = Problem, content_type = "application/problem+json")
    ))]
pub async fn head(State(state): State<AppState>) -> ApiResult<Json<TreeHeadView>> {
    let head = latest_head(&state).await?;
    Ok(Json(TreeHeadView::from(&head)))
}

/// The log's Ed25519 public key, raw and as SubjectPublicKeyInfo.
#[utoipa::path(get, path = "/v1/log/key", tag = "transparency",
    responses((status = 200, body = LogKeyView)))]
pub async fn key(State(state): State<AppState>) -> Json<LogKeyView> {
    Json(log_key(&state))
}

/// The log's public key in every form the API shows it.
pub(crate) fn log_key(state: &AppState) -> LogKeyView {
    let key = state.log.key();
    let public = key.verifying_key();
    LogKeyView {
        algorithm: "Ed25519".into(),
        key_id: key.key_id().to_hex(),
        public_key: STANDARD.encode(public.as_bytes()),
        spki_der: STANDARD.encode(spki_der(&public)),
        pem: spki_pem(&public),
    }
}

/// One leaf: what it logs and its hash.
#[utoipa::path(get, path = "/v1/log/leaves/{leaf_index}", tag = "transparency",
    params(("leaf_index" = u64, Path)),
    responses(
        (status = 200, body = LeafView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn leaf(
    State(state): State<AppState>,
    ApiPath(leaf_index): ApiPath<u64>,
) -> ApiResult<Json<LeafView>> {
    let leaf = state
        .store
        .log_leaves(leaf_index, 1)
        .await?
        .into_iter()
        .find(|leaf| leaf.leaf_index == leaf_index)
        .ok_or(ApiError::NotFound("log leaf"))?;
    let record = state
        .store
        .log_records(leaf.record_kind, &[leaf.record_id])
        .await?
        .into_iter()
        .next()
        .map(|record| STANDARD.encode(record.encode()));
    Ok(Json(LeafView {
        leaf_index,
        record_kind: leaf.record_kind.as_str().into(),
        record_id: leaf.record_id,
        leaf_hash: leaf.leaf_hash.to_hex(),
        integrated_at: rfc3339(leaf.integrated_at),
        record,
    }))
}

/// An inclusion proof for a leaf (by index, or by the record it logs) in the tree of a signed
/// head.
#[utoipa::path(get, path = "/v1/log/proofs/inclusion", tag = "transparency",
    params(InclusionQuery),
    responses(
        (status = 200, body = InclusionProofView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no such record in the log (yet), or no head yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn inclusion_proof(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> ApiResult<Json<InclusionProofView>> {
    let leaf_index = match (query.leaf_index, query.record_id) {
        (Some(index), None) => {
            if query.record_kind.is_some() {
                return Err(ApiError::invalid(
                    "record_kind",
                    "record_kind goes with record_id, not leaf_index",
                ));
            }
            index
        }
        (None, Some(record_id)) => {
            let kind = match query.record_kind.as_deref() {
                None => RecordKind::JournalEntry,
                Some(text) => RecordKind::parse(text).ok_or_else(|| {
                    ApiError::invalid("record_kind", "record_kind is journal_entry or planting")
                })?,
            };
            state
                .store
                .log_leaf_of(kind, record_id)
                .await?
                .ok_or(ApiError::NotFound("logged record"))?
                .leaf_index
        }
        _ => {
            return Err(ApiError::invalid(
                "leaf_index",
                "give either leaf_index or record_id",
            ));
        }
    };
    let tree_size = match query.tree_size {
        Some(size) => size,
        None => latest_head(&state).await?.head.tree_size,
    };
    state
        .log
        .ensure_size(state.store.as_ref(), tree_size)
        .await?;
    let store = state.store.as_ref();
    let audit_path = state
        .log
        .inclusion_proof(store, leaf_index, tree_size)
        .await?
        .map_err(|err| proof_error(err, "leaf_index"))?;
    let root = state
        .log
        .root_at(store, tree_size)
        .await?
        .map_err(|err| proof_error(err, "tree_size"))?;
    let leaf_hash = state
        .store
        .log_leaves(leaf_index, 1)
        .await?
        .into_iter()
        .find(|leaf| leaf.leaf_index == leaf_index)
        .ok_or(ApiError::NotFound("log leaf"))?
        .leaf_hash;
    Ok(Json(InclusionProofView {
        leaf_index,
        tree_size,
        leaf_hash: leaf_hash.to_hex(),
        root_hash: root.to_hex(),
        audit_path: audit_path.iter().map(|hash| hash.to_hex()).collect(),
    }))
}

/// A consistency proof: the tree of `first` leaves is a prefix of the tree of `second`.
#[utoipa::path(get, path = "/v1/log/proofs/consistency", tag = "transparency",
    params(ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyProofView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "no head yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    ))]
pub async fn consistency_proof(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> ApiResult<Json<ConsistencyProofView>> {
    let second = match query.second {
        Some(size) => size,
        None => latest_head(&state).await?.head.tree_size,
    };
    let first = query.first;
    state.log.ensure_size(state.store.as_ref(), second).await?;
    let store = state.store.as_ref();
    let path = state
        .log
        .consistency_proof(store, first, second)
        .await?
        .map_err(|err| proof_error(err, "first"))?;
    let first_root = state
        .log
        .root_at(store, first)
        .await?
        .map_err(|err| proof_error(err, "first"))?;
    let second_root = state
        .log
        .root_at(store, second)
        .await?
        .map_err(|err| proof_error(err, "second"))?;
    Ok(Json(ConsistencyProofView {
        first,
        second,
        first_root_hash: first_root.to_hex(),
        second_root_hash: second_root.to_hex(),
        consistency_path: path.iter().map(|hash| hash.to_hex()).collect(),
    }))
}

pub(crate) async fn latest_head(state: &AppState) -> ApiResult<SignedTreeHead> {
    state
        .store
        .latest_log_head()
        .await?
        .ok_or(ApiError::NotFound("signed tree head"))
}

fn proof_error(err: ProofError, field: &str) -> ApiError {
    let field = match err {
        ProofError::TreeTooLarge { .. } => "tree_size",
        ProofError::LeafOutOfRange { .. } => "leaf_index",
        ProofError::BadConsistencyRange { .. } => field,
        // `LogState` reads pruned chunks back itself; one still missing is the server's fault.
        ProofError::ChunkPruned { .. } => {
            return ApiError::Internal(format!("log proof: {err}"));
        }
    };
    ApiError::invalid(field, err.to_string())
}
