//! What `openforest verify` finds wrong with the transparency log, and where.

use crate::log::merkle::Hash;
use crate::log::record::RecordKind;
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum LogProblem {
    /// The logged record now hashes to something else: its row was changed, or the stored
    /// leaf hash was.
    LeafMismatch {
        leaf_index: u64,
        record_kind: RecordKind,
        record_id: Uuid,
        stored_leaf_hash: Hash,
        record_leaf_hash: Hash,
    },
    /// A logged record is gone from its table.
    RecordMissing {
        leaf_index: u64,
        record_kind: RecordKind,
        record_id: Uuid,
    },
    /// Leaf indices are not 0, 1, 2, … (a leaf was deleted or a row is unreadable).
    LeafGap {
        expected_index: u64,
        found_index: u64,
    },
    /// A record older than the sequencer's window that the log does not hold: the sequencer
    /// will never take it, so it was either suppressed or committed impossibly late.
    RecordNotLogged {
        record_kind: RecordKind,
        record_id: Uuid,
    },
    /// More such records than are named one by one.
    MoreRecordsNotLogged { record_kind: RecordKind, count: u64 },
    /// The stored leaves do not add up to the latest signed head.
    RootMismatch {
        tree_size: u64,
        signed_root: Hash,
        leaves_root: Hash,
    },
    /// The latest signed head covers more leaves than are stored.
    HeadBeyondLeaves { tree_size: u64, leaves: u64 },
    /// The latest head's signature or key id does not verify with the log's key.
    BadHeadSignature { tree_size: u64, reason: String },
    /// A stored row the store could not decode.
    Unreadable { location: String, reason: String },
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct LogAuditReport {
    /// Leaves stored.
    pub leaves: u64,
    /// The size of the latest signed head (0 when none was published yet).
    pub signed_tree_size: u64,
    /// Records not logged yet but recent enough that the sequencer will still take them (lag,
    /// not a problem).
    pub pending_records: u64,
    pub problems: Vec<LogProblem>,
}

impl LogAuditReport {
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The smallest UUIDv7 of the millisecond `grace_ms` before the time in `newest`: records
/// with ids from it on are still in the sequencer's window (ids sort by their time prefix).
pub fn window_floor(newest: Uuid, grace_ms: u64) -> Uuid {
    let bytes = newest.as_bytes();
    let mut millis = [0u8; 8];
    millis[2..].copy_from_slice(&bytes[..6]);
    let floor_ms = u64::from_be_bytes(millis).saturating_sub(grace_ms);
    let mut out = [0u8; 16];
    out[..6].copy_from_slice(&floor_ms.to_be_bytes()[2..]);
    Uuid::from_bytes(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_floor_is_grace_before_the_newest_id() {
        let newest = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_700_000_000,
            0,
        ));
        let floor = window_floor(newest, 10_000);
        let inside = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_699_999_990,
            0,
        ));
        let outside = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            1_699_999_989,
            999_000_000,
        ));
        assert!(floor <= inside);
        assert!(outside < floor);
        assert_eq!(window_floor(Uuid::nil(), 10_000), Uuid::nil());
    }
}
