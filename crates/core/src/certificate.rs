//! A certificate's proof document: what anyone needs to check a certificate offline with
//! nothing but the operator's public key. It carries the certificate's journal entries and
//! planting records, their inclusion proofs, and the signed tree head they are proven against.
//! `verify_document` is what `openforest verify-certificate` and the public page run.

use crate::log::{
    Hash, LogRecord, PlantingEvent, SignedTreeHead, TreeHead, verify_head, verify_inclusion,
};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The `format` of version 1 of the document.
pub const DOCUMENT_FORMAT: &str = "openforest-certificate/1";

/// The account kind code of pledges (see `AccountKind::Pledge`).
const PLEDGE_ACCOUNT: i16 = 5;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CertificateDocument {
    pub format: String,
    pub certificate_no: String,
    pub pledge_id: Uuid,
    /// Grams of energy pledged.
    pub grams: u64,
    /// `pledged`, `ordered`, `planted` or `verified` when the document was made.
    pub status: String,
    /// The public page that checks this certificate online.
    pub verification_url: String,
    pub log: LogEvidence,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEvidence {
    /// The log's Ed25519 public key (32 bytes, hex) as the document names it; a verifier
    /// compares it with the key it trusts.
    pub public_key: String,
    pub head: HeadEvidence,
    pub records: Vec<RecordEvidence>,
    /// Records of the certificate the log has not integrated yet (the sequencer runs every few
    /// seconds): the document cannot prove them yet.
    pub pending: Vec<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadEvidence {
    pub tree_size: u64,
    pub root_hash: String,
    pub timestamp_ms: u64,
    /// SHA-256 of the key's DER SubjectPublicKeyInfo (hex).
    pub key_id: String,
    /// Ed25519 signature (hex) over the RFC 6962 TreeHeadSignature.
    pub signature: String,
}

impl HeadEvidence {
    pub fn of(signed: &SignedTreeHead) -> HeadEvidence {
        HeadEvidence {
            tree_size: signed.head.tree_size,
            root_hash: signed.head.root.to_hex(),
            timestamp_ms: signed.head.timestamp_ms,
            key_id: signed.key_id.to_hex(),
            signature: crate::log::merkle::hex_of(&signed.signature),
        }
    }

    fn signed(&self) -> Option<SignedTreeHead> {
        let signature = hex_bytes(&self.signature)?;
        Some(SignedTreeHead {
            head: TreeHead {
                tree_size: self.tree_size,
                root: Hash::from_hex(&self.root_hash)?,
                timestamp_ms: self.timestamp_ms,
            },
            key_id: Hash::from_hex(&self.key_id)?,
            signature: signature.try_into().ok()?,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordEvidence {
    /// The record, field by field; its leaf hash is recomputed from these fields.
    pub record: LogRecord,
    pub leaf_index: u64,
    /// The audit path to `head`, nearest sibling first (hex).
    pub inclusion_proof: Vec<String>,
}

/// What a check found wrong, saying where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum CertificateProblem {
    #[error("this is not an {DOCUMENT_FORMAT} document")]
    UnknownFormat,
    #[error("the document names key {named}, not the operator's key {trusted}")]
    OtherKey { named: String, trusted: String },
    #[error("the signed tree head does not verify with the operator's key: {reason}")]
    BadHead { reason: String },
    #[error("record {record_id} ({kind}) at leaf {leaf_index} is not in the signed tree: {reason}")]
    NotIncluded {
        kind: String,
        record_id: Uuid,
        leaf_index: u64,
        reason: String,
    },
    #[error("record {record_id} does not belong to this certificate: {reason}")]
    Unrelated { record_id: Uuid, reason: String },
    #[error("the proven entries pledge {proven} g, the certificate says {claimed} g")]
    GramsDiffer { proven: u64, claimed: u64 },
    #[error("the certificate says {status} but the log holds no {event} record for it")]
    StatusUnproven { status: String, event: String },
    #[error("{count} record(s) are not in the log yet; check again in a few seconds")]
    Pending { count: usize },
}

/// What a sound document proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedCertificate {
    pub certificate_no: String,
    pub grams: u64,
    /// The furthest status the log proves: `pledged`, `planted` or `verified`.
    pub proven_status: String,
    pub records: usize,
    pub tree_size: u64,
    pub root_hash: String,
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|n| u8::from_str_radix(text.get(n..n + 2)?, 16).ok())
        .collect()
}

/// Parses a 32-byte Ed25519 public key from hex.
pub fn public_key_from_hex(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex_bytes(text.trim())?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Checks a document against the key the verifier trusts. Every problem is reported, each
/// naming the record at fault.
pub fn verify_document(
    document: &CertificateDocument,
    trusted: &VerifyingKey,
) -> Result<VerifiedCertificate, Vec<CertificateProblem>> {
    let mut problems = Vec::new();
    if document.format != DOCUMENT_FORMAT {
        return Err(vec![CertificateProblem::UnknownFormat]);
    }
    let trusted_hex = crate::log::merkle::hex_of(trusted.as_bytes());
    if !document
        .log
        .public_key
        .trim()
        .eq_ignore_ascii_case(&trusted_hex)
    {
        problems.push(CertificateProblem::OtherKey {
            named: document.log.public_key.clone(),
            trusted: trusted_hex,
        });
    }
    let head = document.log.head.signed();
    match &head {
        None => problems.push(CertificateProblem::BadHead {
            reason: "the head's hashes or signature are not well-formed hex".into(),
        }),
        Some(signed) => {
            if let Err(err) = verify_head(signed, trusted) {
                problems.push(CertificateProblem::BadHead {
                    reason: err.to_string(),
                });
            }
        }
    }
    let mut proven_grams = 0u64;
    let mut planted = false;
    let mut verified = false;
    for evidence in &document.log.records {
        let record_id = evidence.record.record_id();
        if let Some(signed) = &head
            && let Err(reason) = check_inclusion(evidence, signed)
        {
            problems.push(CertificateProblem::NotIncluded {
                kind: evidence.record.kind().as_str().into(),
                record_id,
                leaf_index: evidence.leaf_index,
                reason,
            });
        }
        match &evidence.record {
            LogRecord::JournalEntry(entry) => {
                if entry.to.kind != PLEDGE_ACCOUNT || entry.to.id != document.pledge_id {
                    problems.push(CertificateProblem::Unrelated {
                        record_id,
                        reason: "the entry does not pay into this certificate's pledge".into(),
                    });
                    continue;
                }
                proven_grams += u64::try_from(entry.grams).unwrap_or(0);
            }
            LogRecord::Planting(planting) => {
                if !planting.certificates.contains(&document.certificate_no) {
                    problems.push(CertificateProblem::Unrelated {
                        record_id,
                        reason: "the planting record does not cover this certificate".into(),
                    });
                    continue;
                }
                match planting.event {
                    PlantingEvent::Planted => planted = true,
                    PlantingEvent::Verified => verified = true,
                }
            }
        }
    }
    if proven_grams != document.grams {
        problems.push(CertificateProblem::GramsDiffer {
            proven: proven_grams,
            claimed: document.grams,
        });
    }
    for (status, event, proven) in [
        ("planted", "planted", planted),
        ("verified", "planted", planted),
        ("verified", "verified", verified),
    ] {
        if document.status == status && !proven {
            problems.push(CertificateProblem::StatusUnproven {
                status: status.into(),
                event: event.into(),
            });
        }
    }
    if !document.log.pending.is_empty() {
        problems.push(CertificateProblem::Pending {
            count: document.log.pending.len(),
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(VerifiedCertificate {
        certificate_no: document.certificate_no.clone(),
        grams: proven_grams,
        proven_status: if verified {
            "verified"
        } else if planted {
            "planted"
        } else {
            "pledged"
        }
        .into(),
        records: document.log.records.len(),
        tree_size: document.log.head.tree_size,
        root_hash: document.log.head.root_hash.clone(),
    })
}

fn check_inclusion(evidence: &RecordEvidence, signed: &SignedTreeHead) -> Result<(), String> {
    let proof = evidence
        .inclusion_proof
        .iter()
        .map(|hex| Hash::from_hex(hex))
        .collect::<Option<Vec<_>>>()
        .ok_or("the proof's hashes are not well-formed hex")?;
    verify_inclusion(
        &evidence.record.leaf_hash(),
        evidence.leaf_index,
        signed.head.tree_size,
        &proof,
        &signed.head.root,
    )
    .map_err(|err| err.to_string())
}
