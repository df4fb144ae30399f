//! Ed25519 key pairs and their text forms: raw base64 for configuration and storage, PKCS#8 /
//! SPKI PEM for interchange with `openssl`.
//!
//! | key | base64 form | PEM form |
//! |---|---|---|
//! | [`SigningKey`] (partner's secret) | the 32-byte RFC 8032 private key (seed), standard base64 with padding (44 chars) | PKCS#8 `-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm ed25519` writes it |
//! | [`VerifyingKey`] (what the operator stores) | the 32-byte raw public key, standard base64 with padding (44 chars) | SPKI `-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes it |

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use std::fmt;
use std::str::FromStr;

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not standard base64")]
    NotBase64,
    #[error("an Ed25519 key is {expected} bytes, this one is {actual}")]
    WrongLength { expected: usize, actual: usize },
    #[error("the PEM is not an Ed25519 {expected} key: {reason}")]
    NotPem {
        expected: &'static str,
        reason: String,
    },
    #[error("the bytes are not a point on the Ed25519 curve")]
    NotOnCurve,
    #[error("the public key is weak (of small order) and would accept forged signatures")]
    Weak,
}

const PEM_PREFIX: &str = "-----BEGIN";

fn decode_32_bytes(text: &str) -> Result<[u8; 32], KeyError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| KeyError::NotBase64)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::WrongLength {
        expected: 32,
        actual: bytes.len(),
    })
}

/// A partner's secret Ed25519 key. `Debug` shows only the public half.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// From the 32-byte private key (seed) in standard base64.
    pub fn from_base64(text: &str) -> Result<SigningKey, KeyError> {
        let seed = decode_32_bytes(text)?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// From a PKCS#8 PEM document (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<SigningKey, KeyError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map(SigningKey)
            .map_err(|error| KeyError::NotPem {
                expected: "private (PKCS#8)",
                reason: error.to_string(),
            })
    }

    /// From either text form: PEM if it starts with `-----BEGIN`, base64 otherwise.
    pub fn parse(text: &str) -> Result<SigningKey, KeyError> {
        if text.trim_start().starts_with(PEM_PREFIX) {
            SigningKey::from_pkcs8_pem(text)
        } else {
            SigningKey::from_base64(text)
        }
    }

    /// The secret as standard base64 of the 32-byte seed. Handle it as a secret.
    pub fn expose_base64(&self) -> String {
        STANDARD.encode(self.0.to_bytes())
    }

    /// The secret as a PKCS#8 PEM document that `openssl pkeyutl -inkey` reads. Handle it as a
    /// secret.
    pub fn expose_pkcs8_pem(&self) -> String {
        // PKCS#8 v1, without the optional public key: the form `openssl genpkey` writes. The v2
        // form (with the public key) that ed25519-dalek writes by default is refused by
        // OpenSSL 3.0 ("unsupported").
        let v1 = KeypairBytes {
            secret_key: self.0.to_bytes(),
            public_key: None,
        };
        // Encoding 32 bytes into PKCS#8 has no failure case in practice; the empty string is
        // only there so that no panic is reachable.
        v1.to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .unwrap_or_default()
    }

    /// The public half, to register with the operator.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("secret", &"****")
            .field("public", &self.verifying_key().to_base64())
            .finish()
    }
}

/// A partner's public Ed25519 key: all the operator holds to verify its requests.
/// `Display` and `FromStr` use the base64 form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    /// From the 32 raw bytes of the public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<VerifyingKey, KeyError> {
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::NotOnCurve)?;
        VerifyingKey::checked(key)
    }

    /// From the 32-byte raw public key in standard base64.
    pub fn from_base64(text: &str) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::from_bytes(&decode_32_bytes(text)?)
    }

    /// From an SPKI PEM document (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_public_key_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
        let key =
            ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim()).map_err(|error| {
                KeyError::NotPem {
                    expected: "public (SPKI)",
                    reason: error.to_string(),
                }
            })?;
        VerifyingKey::checked(key)
    }

    /// From either text form: PEM if it starts with `-----BEGIN`, base64 otherwise.
    pub fn parse(text: &str) -> Result<VerifyingKey, KeyError> {
        if text.trim_start().starts_with(PEM_PREFIX) {
            VerifyingKey::from_public_key_pem(text)
        } else {
            VerifyingKey::from_base64(text)
        }
    }

    fn checked(key: ed25519_dalek::VerifyingKey) -> Result<VerifyingKey, KeyError> {
        if key.is_weak() {
            return Err(KeyError::Weak);
        }
        Ok(VerifyingKey(key))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The 32-byte raw public key in standard base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// The SPKI PEM document, as `openssl pkey -pubout` writes it.
    pub fn to_public_key_pem(&self) -> String {
        // As for the private key: encoding 32 bytes cannot fail in practice.
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Strict verification (RFC 8032 with the cofactorless check and no malleable `S`), which
    /// OpenSSL's and every conforming signer's signatures pass.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.to_base64())
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl FromStr for VerifyingKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<VerifyingKey, KeyError> {
        VerifyingKey::parse(text)
    }
}

/// RFC 9421 §B.1.4 `test-key-ed25519`, a published (so not secret) test key.
#[cfg(test)]
pub(crate) const RFC_TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
";

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_PUBLIC_PEM: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
";

    #[test]
    fn a_signing_key_never_shows_its_secret_in_debug() {
        let key = SigningKey::from_pkcs8_pem(RFC_TEST_KEY_PEM).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("****"), "{shown}");
        assert!(!shown.contains(&key.expose_base64()), "{shown}");
        assert!(shown.contains(&key.verifying_key().to_base64()), "{shown}");
    }

    #[test]
    fn the_rfc_test_key_reads_from_pem_and_matches_its_public_pem() {
        let key = SigningKey::from_pkcs8_pem(RFC_TEST_KEY_PEM).unwrap();
        let public = VerifyingKey::from_public_key_pem(RFC_PUBLIC_PEM).unwrap();
        assert_eq!(key.verifying_key(), public);
        assert_eq!(
            public.to_base64(),
            "JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="
        );
        assert_eq!(public.to_public_key_pem(), RFC_PUBLIC_PEM);
        // Written back in the v1 form OpenSSL reads, which is the RFC's own text.
        assert_eq!(key.expose_pkcs8_pem(), RFC_TEST_KEY_PEM);
    }

    #[test]
    fn keys_round_trip_through_base64_and_pem() {
        let key = SigningKey::generate();
        let from_base64 = SigningKey::parse(&key.expose_base64()).unwrap();
        let from_pem = SigningKey::parse(&key.expose_pkcs8_pem()).unwrap();
        assert_eq!(from_base64.expose_base64(), key.expose_base64());
        assert_eq!(from_pem.expose_base64(), key.expose_base64());

        let public = key.verifying_key();
        assert_eq!(public.to_base64().parse::<VerifyingKey>().unwrap(), public);
        assert_eq!(
            VerifyingKey::parse(&public.to_public_key_pem()).unwrap(),
            public
        );
    }

    #[test]
    fn a_verifying_key_must_be_32_bytes_of_base64() {
        assert_eq!(
            VerifyingKey::from_base64("not base64!"),
            Err(KeyError::NotBase64)
        );
        assert_eq!(
            VerifyingKey::from_base64("AAAA"),
            Err(KeyError::WrongLength {
                expected: 32,
                actual: 3
            })
        );
        // The identity point has small order: it would verify forged signatures.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(VerifyingKey::from_bytes(&identity), Err(KeyError::Weak));
        assert!(matches!(
            VerifyingKey::parse("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"),
            Err(KeyError::NotPem { .. })
        ));
    }
}
