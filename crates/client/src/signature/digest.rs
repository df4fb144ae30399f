//! `Content-Digest` (RFC 9530): the SHA-256 of the exact body bytes, which the signature covers
//! so that the signature covers the body.

use super::{CONTENT_DIGEST, SignatureError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sfv::{Dictionary, ListEntry, Parser};
use sha2::{Digest, Sha256};

/// The `Content-Digest` value for `body`: `sha-256=:<standard base64 of SHA-256(body)>:`.
/// A bodiless request (GET) has the digest of zero bytes,
/// `sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:`.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// Checks a received `Content-Digest` against the body. Only `sha-256` is checked; other
/// algorithms in the same field are ignored (RFC 9530 lets the recipient choose), and a field
/// without `sha-256` is refused.
pub(crate) fn check_content_digest(field_value: &str, body: &[u8]) -> Result<(), SignatureError> {
    let malformed = |reason: String| SignatureError::MalformedHeader {
        header: CONTENT_DIGEST,
        reason,
    };
    let dictionary: Dictionary = Parser::new(field_value)
        .parse()
        .map_err(|error| malformed(format!("not a structured dictionary ({error})")))?;
    let claimed = match dictionary.get("sha-256") {
        Some(ListEntry::Item(item)) => item.bare_item.as_byte_sequence().ok_or_else(|| {
            malformed("sha-256 must be a byte sequence, `sha-256=:<base64>:`".to_owned())
        })?,
        Some(ListEntry::InnerList(_)) => {
            return Err(malformed("sha-256 must be a byte sequence".to_owned()));
        }
        None => return Err(malformed("it has no sha-256 digest".to_owned())),
    };
    if claimed != Sha256::digest(body).as_slice() {
        return Err(SignatureError::DigestMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_matches_the_rfc_9530_example() {
        assert_eq!(
            content_digest(br#"{"hello": "world"}"#),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            content_digest(b""),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
    }

    #[test]
    fn a_digest_field_is_checked_by_its_sha_256_member() {
        let body = b"{}";
        let both = format!("sha-512=:AAAA:, {}", content_digest(body));
        assert_eq!(check_content_digest(&both, body), Ok(()));
        assert_eq!(
            check_content_digest(&content_digest(b"other"), body),
            Err(SignatureError::DigestMismatch)
        );
        assert!(matches!(
            check_content_digest("sha-512=:AAAA:", body),
            Err(SignatureError::MalformedHeader { .. })
        ));
        assert!(matches!(
            check_content_digest("sha-256=abc", body),
            Err(SignatureError::MalformedHeader { .. })
        ));
    }
}
