//! The public transparency log (RFC 6962 style): the Merkle tree, the records its leaves
//! stand for, signed tree heads, and the problems `openforest verify` can find. Pure: the
//! sequencer (server) and the tables (store) live elsewhere; verifiers can use this offline.

pub mod audit;
pub mod head;
pub mod merkle;
pub mod record;

pub use audit::{LogAuditReport, LogProblem, window_floor};
pub use head::{
    HeadError, LogKey, SignedTreeHead, TreeHead, key_id, spki_der, spki_pem, verify_head,
};
pub use merkle::{
    CHUNK_LEAVES, ChunkMismatch, Chunks, Hash, ProofError, Tree, VerifyError, empty_root,
    leaf_hash, node_hash, verify_consistency, verify_inclusion,
};
pub use record::{
    AccountColumns, JournalRecord, LogRecord, PlantingEvent, PlantingRecord, RecordKind,
};
