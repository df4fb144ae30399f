//! Signed tree heads: the log's commitment to its size and root at a time, signed with the
//! log's Ed25519 key, in the byte layout of RFC 6962 §3.5 (`TreeHeadSignature`).

use crate::log::merkle::{Hash, hex_of};
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// The log's size and root at `timestamp_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    pub tree_size: u64,
    pub root: Hash,
    pub timestamp_ms: u64,
}

impl TreeHead {
    /// The 50 signed bytes: version v1 (0), signature type tree_hash (1), timestamp (u64 ms),
    /// tree size (u64), root (32 bytes); integers big-endian.
    pub fn signed_bytes(&self) -> [u8; 50] {
        let mut out = [0u8; 50];
        out[0] = 0;
        out[1] = 1;
        out[2..10].copy_from_slice(&self.timestamp_ms.to_be_bytes());
        out[10..18].copy_from_slice(&self.tree_size.to_be_bytes());
        out[18..50].copy_from_slice(&self.root.0);
        out
    }
}

/// A tree head with the log's signature and the id of the key that made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedTreeHead {
    pub head: TreeHead,
    pub key_id: Hash,
    pub signature: [u8; 64],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeadError {
    #[error("the head names key {named}, not this log's key {expected}")]
    UnknownKey { named: Hash, expected: Hash },
    #[error("the head's signature does not verify with the log's key")]
    BadSignature,
}

/// The log's key id (RFC 6962 §3.2 LogID): SHA-256 of the DER SubjectPublicKeyInfo.
pub fn key_id(key: &VerifyingKey) -> Hash {
    Hash(Sha256::digest(spki_der(key)).into())
}

/// The public key as DER SubjectPublicKeyInfo (RFC 8410).
pub fn spki_der(key: &VerifyingKey) -> Vec<u8> {
    key.to_public_key_der()
        .map(|der| der.as_bytes().to_vec())
        .unwrap_or_default()
}

/// The public key as a PEM `PUBLIC KEY` block.
pub fn spki_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap_or_default()
}

/// Checks that `signed` was made by `key` over its head.
pub fn verify_head(signed: &SignedTreeHead, key: &VerifyingKey) -> Result<(), HeadError> {
    let expected = key_id(key);
    if signed.key_id != expected {
        return Err(HeadError::UnknownKey {
            named: signed.key_id,
            expected,
        });
    }
    key.verify(
        &signed.head.signed_bytes(),
        &Signature::from_bytes(&signed.signature),
    )
    .map_err(|_| HeadError::BadSignature)
}

/// The log's signing key, made from a 32-byte seed kept by the server.
pub struct LogKey {
    signing: SigningKey,
    key_id: Hash,
}

impl LogKey {
    pub fn from_seed(seed: [u8; 32]) -> LogKey {
        let signing = SigningKey::from_bytes(&seed);
        let key_id = key_id(&signing.verifying_key());
        LogKey { signing, key_id }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn key_id(&self) -> Hash {
        self.key_id
    }

    pub fn sign(&self, head: TreeHead) -> SignedTreeHead {
        SignedTreeHead {
            head,
            key_id: self.key_id,
            signature: self.signing.sign(&head.signed_bytes()).to_bytes(),
        }
    }
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogKey({})", hex_of(&self.key_id.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::merkle::empty_root;

    fn head() -> TreeHead {
        TreeHead {
            tree_size: 7,
            root: empty_root(),
            timestamp_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_head_signed_by_the_log_verifies() {
        let key = LogKey::from_seed([7; 32]);
        let signed = key.sign(head());
        assert_eq!(verify_head(&signed, &key.verifying_key()), Ok(()));
    }

    #[test]
    fn a_head_signed_with_another_key_is_rejected() {
        let key = LogKey::from_seed([7; 32]);
        let impostor = LogKey::from_seed([8; 32]);
        let mut forged = impostor.sign(head());
        assert!(matches!(
            verify_head(&forged, &key.verifying_key()),
            Err(HeadError::UnknownKey { .. })
        ));
        forged.key_id = key.key_id();
        assert_eq!(
            verify_head(&forged, &key.verifying_key()),
            Err(HeadError::BadSignature)
        );
    }

    #[test]
    fn a_changed_head_no_longer_verifies() {
        let key = LogKey::from_seed([7; 32]);
        let mut signed = key.sign(head());
        signed.head.tree_size += 1;
        assert_eq!(
            verify_head(&signed, &key.verifying_key()),
            Err(HeadError::BadSignature)
        );
    }

    #[test]
    fn the_signed_bytes_follow_rfc_6962() {
        let bytes = head().signed_bytes();
        assert_eq!(&bytes[..2], &[0, 1]);
        assert_eq!(&bytes[10..18], &7u64.to_be_bytes());
        assert_eq!(&bytes[18..], &empty_root().0);
    }
}
