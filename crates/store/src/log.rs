//! The transparency log's rows (leaves and signed heads) and the log audit behind
//! `openforest verify`, written once over the [`Store`] trait for both backends.

use crate::{Progress, Store, StoreError};
use openforest_core::Timestamp;
use openforest_core::log::{
    CHUNK_LEAVES, ChunkMismatch, Chunks, Hash, LogAuditReport, LogKey, LogProblem, LogRecord,
    ProofError, RecordKind, SignedTreeHead, Tree, verify_head, window_floor,
};
use std::collections::HashMap;
use std::ops::Deref;
use uuid::Uuid;

/// The server secret the log's Ed25519 signing key is made from.
pub const SIGNING_KEY_SECRET: &str = "log-signing-key";
/// Leaves read per page when rebuilding the tree or auditing.
pub const LEAF_PAGE: u32 = 5_000;
/// Records not in the log that the audit names one by one (per kind); beyond, it counts.
const NAMED_NOT_LOGGED_MAX: u32 = 100;

/// One leaf of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredLeaf {
    pub leaf_index: u64,
    pub record_kind: RecordKind,
    pub record_id: Uuid,
    pub leaf_hash: Hash,
    pub integrated_at: Timestamp,
}

/// Records of one kind the log does not hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnloggedSummary {
    pub total: u64,
    /// Of those, how many have ids below the window floor.
    pub below_floor: u64,
    /// The first of those, in id order.
    pub first_below_floor: Vec<Uuid>,
}

/// The log's key, made from its server secret (created on first use).
pub async fn signing_key(store: &dyn Store) -> Result<LogKey, StoreError> {
    let secret = store.server_secret(SIGNING_KEY_SECRET, 32).await?;
    let seed = <[u8; 32]>::try_from(secret.as_slice())
        .map_err(|_| StoreError::Database("the log signing secret is not 32 bytes".into()))?;
    Ok(LogKey::from_seed(seed))
}

/// Where the sequencer starts looking for records of `kind`: `grace_ms` before the newest
/// record of that kind already logged (ids are UUIDv7, so they sort by time), or from the
/// start when none is.
pub async fn window_start(
    store: &dyn Store,
    kind: RecordKind,
    grace_ms: u64,
) -> Result<Uuid, StoreError> {
    Ok(store
        .newest_logged_record(kind)
        .await?
        .map_or(Uuid::nil(), |newest| window_floor(newest, grace_ms)))
}

/// Answers `ask` from a tree that may have pruned the chunks the answer reaches into: reads
/// each chunk it asks for from the stored leaves, checks them against the tree's hash of the
/// chunk, and asks again. `read` gives the tree (a lock guard may be held only while asking,
/// never across a read from storage). A proof needs at most two chunks.
pub async fn with_pruned_chunks<T, G: Deref<Target = Tree>>(
    store: &dyn Store,
    read: impl Fn() -> G,
    ask: impl Fn(&Tree, &Chunks) -> Result<T, ProofError>,
) -> Result<Result<T, ProofError>, StoreError> {
    let mut chunks = Chunks::default();
    loop {
        let chunk = match ask(&read(), &chunks) {
            Err(ProofError::ChunkPruned { chunk }) if !chunks.contains(chunk) => chunk,
            answer => return Ok(answer),
        };
        let first = chunk.saturating_mul(CHUNK_LEAVES);
        let leaves = store.log_leaves(first, CHUNK_LEAVES as u32).await?;
        let in_order = leaves
            .iter()
            .zip(first..)
            .all(|(leaf, index)| leaf.leaf_index == index);
        let restored = if in_order {
            read().restore_chunk(&mut chunks, chunk, leaves.iter().map(|leaf| leaf.leaf_hash))
        } else {
            Err(ChunkMismatch { chunk })
        };
        restored.map_err(|err| StoreError::Database(err.to_string()))?;
    }
}

/// Checks the log against the records and its signed head: every logged record still hashes
/// to its leaf, the leaves add up to the latest signed head, the head's signature verifies,
/// and no record older than the sequencer's window is missing from the log. Records inside the
/// window are counted as pending (lag), not problems.
pub async fn audit_log(
    store: &dyn Store,
    grace_ms: u64,
    progress: Progress,
) -> Result<LogAuditReport, StoreError> {
    let key = signing_key(store).await?;
    let head = store.latest_log_head().await?;
    let mut report = LogAuditReport {
        signed_tree_size: head.map_or(0, |head| head.head.tree_size),
        ..LogAuditReport::default()
    };
    let mut tree = Tree::new();
    loop {
        let leaves = store.log_leaves(tree.len(), LEAF_PAGE).await?;
        let Some(last) = leaves.last() else {
            break;
        };
        let last_index = last.leaf_index;
        check_leaves(store, &leaves, &mut tree, &mut report).await?;
        // Read back from storage: only the chunk hashes need to stay in memory.
        tree.prune_below(tree.len());
        progress(tree.len(), report.signed_tree_size.max(tree.len()));
        if leaves.len() < LEAF_PAGE as usize || tree.len() != last_index + 1 {
            break;
        }
    }
    report.leaves = tree.len();
    if let Some(head) = head {
        check_head(store, &head, &tree, &key, &mut report).await?;
    }
    for kind in RecordKind::ALL {
        let floor = window_start(store, kind, grace_ms).await?;
        let unlogged = store
            .unlogged_summary(kind, floor, NAMED_NOT_LOGGED_MAX)
            .await?;
        report.pending_records += unlogged.total - unlogged.below_floor;
        for record_id in &unlogged.first_below_floor {
            report.problems.push(LogProblem::RecordNotLogged {
                record_kind: kind,
                record_id: *record_id,
            });
        }
        let unnamed = unlogged.below_floor - unlogged.first_below_floor.len() as u64;
        if unnamed > 0 {
            report.problems.push(LogProblem::MoreRecordsNotLogged {
                record_kind: kind,
                count: unnamed,
            });
        }
    }
    Ok(report)
}

/// Recomputes each leaf of a page from its record's current row, and grows `tree` with the
/// stored leaf hashes (what the signed head was computed over).
async fn check_leaves(
    store: &dyn Store,
    leaves: &[StoredLeaf],
    tree: &mut Tree,
    report: &mut LogAuditReport,
) -> Result<(), StoreError> {
    let mut current: HashMap<(RecordKind, Uuid), LogRecord> = HashMap::new();
    for kind in RecordKind::ALL {
        let ids: Vec<Uuid> = leaves
            .iter()
            .filter(|leaf| leaf.record_kind == kind)
            .map(|leaf| leaf.record_id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        for record in store.log_records(kind, &ids).await? {
            current.insert((kind, record.record_id()), record);
        }
    }
    for leaf in leaves {
        if leaf.leaf_index != tree.len() {
            report.problems.push(LogProblem::LeafGap {
                expected_index: tree.len(),
                found_index: leaf.leaf_index,
            });
            return Ok(());
        }
        tree.push(leaf.leaf_hash);
        match current.get(&(leaf.record_kind, leaf.record_id)) {
            None => report.problems.push(LogProblem::RecordMissing {
                leaf_index: leaf.leaf_index,
                record_kind: leaf.record_kind,
                record_id: leaf.record_id,
            }),
            Some(record) => {
                let record_leaf_hash = record.leaf_hash();
                if record_leaf_hash != leaf.leaf_hash {
                    report.problems.push(LogProblem::LeafMismatch {
                        leaf_index: leaf.leaf_index,
                        record_kind: leaf.record_kind,
                        record_id: leaf.record_id,
                        stored_leaf_hash: leaf.leaf_hash,
                        record_leaf_hash,
                    });
                }
            }
        }
    }
    Ok(())
}

async fn check_head(
    store: &dyn Store,
    head: &SignedTreeHead,
    tree: &Tree,
    key: &LogKey,
    report: &mut LogAuditReport,
) -> Result<(), StoreError> {
    let tree_size = head.head.tree_size;
    if let Err(err) = verify_head(head, &key.verifying_key()) {
        report.problems.push(LogProblem::BadHeadSignature {
            tree_size,
            reason: err.to_string(),
        });
    }
    let root = with_pruned_chunks(
        store,
        || tree,
        |tree, chunks| tree.root_at_with(tree_size, chunks),
    )
    .await?;
    match root {
        Ok(leaves_root) if leaves_root != head.head.root => {
            report.problems.push(LogProblem::RootMismatch {
                tree_size,
                signed_root: head.head.root,
                leaves_root,
            })
        }
        Ok(_) => {}
        Err(_) => report.problems.push(LogProblem::HeadBeyondLeaves {
            tree_size,
            leaves: tree.len(),
        }),
    }
    Ok(())
}

/// A leaf from its columns, whatever the backend.
pub(crate) fn leaf_from_row(
    leaf_index: i64,
    record_kind: i16,
    record_id: Uuid,
    leaf_hash: &[u8],
    integrated_at_ms: i64,
) -> Result<StoredLeaf, StoreError> {
    let corrupt = |what: &str| StoreError::Database(format!("log leaf {leaf_index}: {what}"));
    Ok(StoredLeaf {
        leaf_index: u64::try_from(leaf_index).map_err(|_| corrupt("negative index"))?,
        record_kind: RecordKind::from_code(record_kind)
            .ok_or_else(|| corrupt(&format!("unknown record kind {record_kind}")))?,
        record_id,
        leaf_hash: Hash::from_slice(leaf_hash)
            .ok_or_else(|| corrupt("leaf hash is not 32 bytes"))?,
        integrated_at: Timestamp::from_millis(integrated_at_ms),
    })
}

/// A signed head from its columns, whatever the backend.
pub(crate) fn head_from_row(
    tree_size: i64,
    root: &[u8],
    timestamp_ms: i64,
    key_id: &[u8],
    signature: &[u8],
) -> Result<SignedTreeHead, StoreError> {
    let corrupt = |what: &str| StoreError::Database(format!("log head {tree_size}: {what}"));
    Ok(SignedTreeHead {
        head: openforest_core::log::TreeHead {
            tree_size: u64::try_from(tree_size).map_err(|_| corrupt("negative size"))?,
            root: Hash::from_slice(root).ok_or_else(|| corrupt("root is not 32 bytes"))?,
            timestamp_ms: u64::try_from(timestamp_ms).map_err(|_| corrupt("negative time"))?,
        },
        key_id: Hash::from_slice(key_id).ok_or_else(|| corrupt("key id is not 32 bytes"))?,
        signature: <[u8; 64]>::try_from(signature)
            .map_err(|_| corrupt("signature is not 64 bytes"))?,
    })
}
