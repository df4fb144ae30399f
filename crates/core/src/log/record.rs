//! Log records: what a leaf of the transparency log stands for, and the canonical bytes that
//! are hashed into it. The encoding is public (docs/transparency.md): anyone can recompute a
//! leaf hash from the record.
//!
//! To log a new kind of record: add a [`RecordKind`] variant (a new, never reused code), a
//! [`LogRecord`] variant with its encoder, and its source in the store (`unlogged_records`,
//! `log_records`).

use crate::log::merkle::{Hash, leaf_hash};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The first byte of every encoded record; bumped only if the layout of a kind changes.
pub const ENCODING_VERSION: u8 = 1;

/// What a leaf logs. The codes are persisted and hashed: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// One journal entry: grams moved from one account to another.
    JournalEntry = 1,
}

impl RecordKind {
    /// Every kind, in the order the sequencer takes them in a round.
    pub const ALL: [RecordKind; 1] = [RecordKind::JournalEntry];

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::JournalEntry => "journal_entry",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A journal row exactly as stored: the raw account columns rather than a decoded
/// [`crate::Account`], so a row that no longer decodes still hashes (and fails to match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    pub entry_id: Uuid,
    pub at_ms: i64,
    pub kind: i16,
    pub from: AccountColumns,
    pub to: AccountColumns,
    pub grams: i64,
    pub reference: Option<String>,
}

/// The three columns that name an account: owner, account kind code, account id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountColumns {
    pub owner: Uuid,
    pub kind: i16,
    pub id: Uuid,
}

/// One loggable record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogRecord {
    JournalEntry(JournalRecord),
}

impl LogRecord {
    pub fn kind(&self) -> RecordKind {
        match self {
            LogRecord::JournalEntry(_) => RecordKind::JournalEntry,
        }
    }

    /// The record's id within its kind (a journal entry's `entry_id`).
    pub fn record_id(&self) -> Uuid {
        match self {
            LogRecord::JournalEntry(entry) => entry.entry_id,
        }
    }

    /// The canonical bytes: version, kind code, then the kind's fields in a fixed order, all
    /// integers big-endian, UUIDs as their 16 bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.push(ENCODING_VERSION);
        out.push(u8::try_from(self.kind().code()).unwrap_or(u8::MAX));
        match self {
            LogRecord::JournalEntry(entry) => encode_journal_entry(entry, &mut out),
        }
        out
    }

    /// `SHA-256(0x00 ‖ encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

fn encode_journal_entry(entry: &JournalRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(entry.entry_id.as_bytes());
    out.extend_from_slice(&entry.at_ms.to_be_bytes());
    out.extend_from_slice(&entry.kind.to_be_bytes());
    for account in [&entry.from, &entry.to] {
        out.extend_from_slice(account.owner.as_bytes());
        out.extend_from_slice(&account.kind.to_be_bytes());
        out.extend_from_slice(account.id.as_bytes());
    }
    out.extend_from_slice(&entry.grams.to_be_bytes());
    match &entry.reference {
        None => out.push(0),
        Some(reference) => {
            out.push(1);
            let bytes = reference.as_bytes();
            out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(reference: Option<&str>) -> LogRecord {
        LogRecord::JournalEntry(JournalRecord {
            entry_id: Uuid::from_u128(0x0102),
            at_ms: 1_700_000_000_000,
            kind: 5,
            from: AccountColumns {
                owner: Uuid::from_u128(1),
                kind: 2,
                id: Uuid::from_u128(2),
            },
            to: AccountColumns {
                owner: Uuid::from_u128(1),
                kind: 3,
                id: Uuid::nil(),
            },
            grams: 42,
            reference: reference.map(str::to_string),
        })
    }

    #[test]
    fn a_journal_entry_encodes_field_by_field() {
        let bytes = entry(Some("hé")).encode();
        assert_eq!(bytes.len(), 1 + 1 + 16 + 8 + 2 + 34 + 34 + 8 + 1 + 4 + 3);
        assert_eq!(&bytes[..2], &[1, 1]);
        assert_eq!(&bytes[2..18], Uuid::from_u128(0x0102).as_bytes());
        assert_eq!(&bytes[18..26], &1_700_000_000_000i64.to_be_bytes());
        assert_eq!(&bytes[26..28], &[0, 5]);
        assert_eq!(&bytes[44..46], &[0, 2]);
        assert_eq!(&bytes[96..104], &42i64.to_be_bytes());
        assert_eq!(&bytes[104..], &[1, 0, 0, 0, 3, b'h', 0xc3, 0xa9]);
        assert_eq!(*entry(None).encode().last().unwrap(), 0);
    }

    #[test]
    fn no_reference_and_an_empty_reference_hash_differently() {
        assert_ne!(entry(None).leaf_hash(), entry(Some("")).leaf_hash());
    }

    #[test]
    fn kinds_round_trip_through_code_and_name() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_code(kind.code()), Some(kind));
            assert_eq!(RecordKind::parse(kind.as_str()), Some(kind));
        }
    }
}
