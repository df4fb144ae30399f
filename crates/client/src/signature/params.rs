//! The identifying parameters a signature carries: the partner's key id and the one-time nonce.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use std::fmt;

/// The longest key id accepted; ids are assigned by the operator and short in practice.
pub const KEY_ID_LEN_MAX: usize = 128;
/// 22 base64url characters carry 132 bits: at least the 16 random bytes the protocol asks.
pub const NONCE_LEN_MIN: usize = 22;
/// Bounds what the server's replay cache stores per request.
pub const NONCE_LEN_MAX: usize = 128;

/// The id under which the operator registered a partner's public key (`keyid`).
///
/// 1 to 128 visible ASCII characters other than `"` and `\`, so it needs no escaping inside
/// the `keyid="…"` parameter (or in a shell script).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    pub fn parse(text: &str) -> Result<KeyId, String> {
        if text.is_empty() || text.len() > KEY_ID_LEN_MAX {
            return Err(format!(
                "a key id has 1 to {KEY_ID_LEN_MAX} characters, this one {}",
                text.len()
            ));
        }
        let plain = |byte: u8| byte.is_ascii_graphic() && byte != b'"' && byte != b'\\';
        if !text.bytes().all(plain) {
            return Err(
                "a key id has only visible ASCII characters, and no `\"` or `\\`".to_owned(),
            );
        }
        Ok(KeyId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:?})", self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A one-time value (`nonce`) the server remembers for the time window to refuse replays.
///
/// 22 to 128 characters of the base64url alphabet (`A–Z a–z 0–9 - _`, no padding); generated
/// nonces are 16 random bytes, so 22 characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// 16 bytes from the operating system's random source, base64url without padding.
    pub fn generate() -> Nonce {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Nonce(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(text: &str) -> Result<Nonce, String> {
        if !(NONCE_LEN_MIN..=NONCE_LEN_MAX).contains(&text.len()) {
            return Err(format!(
                "a nonce has {NONCE_LEN_MIN} to {NONCE_LEN_MAX} base64url characters \
                 (16+ random bytes), this one {}",
                text.len()
            ));
        }
        let base64url = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
        if !text.bytes().all(base64url) {
            return Err("a nonce is base64url: A-Z a-z 0-9 - _ and no padding".to_owned());
        }
        Ok(Nonce(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({:?})", self.0)
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_nonce_is_16_random_bytes_in_base64url() {
        let nonce = Nonce::generate();
        assert_eq!(nonce.as_str().len(), NONCE_LEN_MIN);
        assert_eq!(Nonce::parse(nonce.as_str()), Ok(nonce.clone()));
        assert_ne!(Nonce::generate(), nonce);
    }

    #[test]
    fn a_short_or_non_base64url_nonce_is_refused() {
        assert!(Nonce::parse("abc").is_err());
        assert!(Nonce::parse("aaaaaaaaaaaaaaaaaaaaa+/=").is_err());
        assert!(Nonce::parse(&"a".repeat(NONCE_LEN_MAX + 1)).is_err());
    }

    #[test]
    fn a_key_id_is_short_visible_ascii_without_quotes() {
        assert!(KeyId::parse("metro-2024").is_ok());
        assert!(KeyId::parse("").is_err());
        assert!(KeyId::parse("with space").is_err());
        assert!(KeyId::parse("quo\"te").is_err());
        assert!(KeyId::parse(&"k".repeat(KEY_ID_LEN_MAX + 1)).is_err());
    }
}
