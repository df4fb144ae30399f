//! Stored methodology versions: the TOML as uploaded, who uploaded and activated it, and which
//! one is active. Admin reads and writes, not energy movements: they bypass the writer.

use openforest_core::{Timestamp, UserId};

/// A methodology version to store: immutable once stored under its (name, version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMethodologyVersion {
    pub name: String,
    pub version: u32,
    /// The file exactly as uploaded.
    pub toml: String,
    /// SHA-256 of `toml`, lowercase hex.
    pub sha256: String,
    pub uploaded_at: Timestamp,
    /// The admin who uploaded it; `None` for the version the server's configuration named.
    pub uploaded_by: Option<UserId>,
}

/// A stored version, without its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodologyRecord {
    pub name: String,
    pub version: u32,
    pub sha256: String,
    pub uploaded_at: Timestamp,
    pub uploaded_by: Option<UserId>,
    /// Its latest activation, if it was ever activated.
    pub activated: Option<Activation>,
    /// True for the version that credits reports now.
    pub active: bool,
}

/// When a version was (last) activated, and by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Activation {
    pub at: Timestamp,
    /// The admin who activated it; `None` when the server activated its configured one at start.
    pub by: Option<UserId>,
}

/// A stored version with its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMethodology {
    pub record: MethodologyRecord,
    pub toml: String,
}

/// What storing a version did: stored it now, or found that (name, version) already stored —
/// with the same text (compare `sha256`) or another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodologyAdded {
    pub inserted: bool,
    pub stored: MethodologyRecord,
}
