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
    /// A planting batch an NGO recorded, or its verification: what, where, when, by whom,
    /// which certificates it covers and the photos' hashes.
    Planting = 2,
}

impl RecordKind {
    /// Every kind, in the order the sequencer takes them in a round.
    pub const ALL: [RecordKind; 2] = [RecordKind::JournalEntry, RecordKind::Planting];

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::JournalEntry => "journal_entry",
            RecordKind::Planting => "planting",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// A journal row exactly as stored: the raw account columns rather than a decoded
/// [`crate::Account`], so a row that no longer decodes still hashes (and fails to match).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountColumns {
    pub owner: Uuid,
    pub kind: i16,
    pub id: Uuid,
}

/// What happened to a planting batch: recorded by the NGO, then verified by a second person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlantingEvent {
    Planted = 1,
    Verified = 2,
}

impl PlantingEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            PlantingEvent::Planted => "planted",
            PlantingEvent::Verified => "verified",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "planted" => Some(PlantingEvent::Planted),
            "verified" => Some(PlantingEvent::Verified),
            _ => None,
        }
    }
}

/// A planting record as stored: the event and the batch as it stood, with the certificates it
/// covers and its photos' hashes (both sorted), so a changed coordinate, date, count, photo or
/// covered certificate no longer matches its leaf.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlantingRecord {
    pub record_id: Uuid,
    pub event: PlantingEvent,
    pub at_ms: i64,
    pub batch_id: Uuid,
    pub order_id: Uuid,
    pub ngo_id: Uuid,
    pub item_id: Uuid,
    pub units: i64,
    /// `YYYY-MM-DD`.
    pub planted_on: String,
    pub latitude: f64,
    pub longitude: f64,
    /// GeoJSON Polygon text as stored.
    pub polygon: Option<String>,
    /// SHA-256 of each photo, hex, sorted.
    pub photos: Vec<String>,
    /// Certificate numbers the batch covers, sorted.
    pub certificates: Vec<String>,
    /// Who recorded (or verified) it: `user:<id>`, `key:<id>` or `admin:<id>`.
    pub actor: String,
}

/// One loggable record. In JSON (certificate documents) it is tagged by `record_kind`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record_kind", rename_all = "snake_case")]
pub enum LogRecord {
    JournalEntry(JournalRecord),
    Planting(PlantingRecord),
}

impl LogRecord {
    pub fn kind(&self) -> RecordKind {
        match self {
            LogRecord::JournalEntry(_) => RecordKind::JournalEntry,
            LogRecord::Planting(_) => RecordKind::Planting,
        }
    }

    /// The record's id within its kind (a journal entry's `entry_id`).
    pub fn record_id(&self) -> Uuid {
        match self {
            LogRecord::JournalEntry(entry) => entry.entry_id,
            LogRecord::Planting(planting) => planting.record_id,
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
            LogRecord::Planting(planting) => encode_planting(planting, &mut out),
        }
        out
    }

    /// `SHA-256(0x00 ‖ encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

/// A length-prefixed (u32, big-endian) UTF-8 string.
fn encode_text(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn encode_planting(record: &PlantingRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(record.record_id.as_bytes());
    out.push(record.event as u8);
    out.extend_from_slice(&record.at_ms.to_be_bytes());
    for id in [
        record.batch_id,
        record.order_id,
        record.ngo_id,
        record.item_id,
    ] {
        out.extend_from_slice(id.as_bytes());
    }
    out.extend_from_slice(&record.units.to_be_bytes());
    encode_text(&record.planted_on, out);
    // IEEE 754 bits: the exact stored double, not a decimal rendering of it.
    out.extend_from_slice(&record.latitude.to_bits().to_be_bytes());
    out.extend_from_slice(&record.longitude.to_bits().to_be_bytes());
    match &record.polygon {
        None => out.push(0),
        Some(polygon) => {
            out.push(1);
            encode_text(polygon, out);
        }
    }
    for list in [&record.photos, &record.certificates] {
        out.extend_from_slice(&u32::try_from(list.len()).unwrap_or(u32::MAX).to_be_bytes());
        for text in list {
            encode_text(text, out);
        }
    }
    encode_text(&record.actor, out);
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
