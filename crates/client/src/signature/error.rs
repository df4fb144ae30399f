//! `SignatureError`: every reason a partner request is refused, worded for a problem+json
//! `detail` that tells the partner what to fix.

/// Why a request could not be signed or its signature was refused.
///
/// The `Display` text is meant for the `detail` of an RFC 9457 problem; [`code`](Self::code) is
/// a stable slug for its `type`, and [`header`](Self::header) names the header at fault (the
/// problem's `field`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no {header} header")]
    MissingHeader { header: &'static str },
    #[error("the {header} header is malformed: {reason}")]
    MalformedHeader {
        header: &'static str,
        reason: String,
    },
    #[error("the signature must cover the {component} component")]
    MissingComponent { component: &'static str },
    #[error("the signature covers {component}, which this server does not support")]
    UnsupportedComponent { component: String },
    #[error("the signature covers the {header} header, but the request has none")]
    MissingCoveredHeader { header: String },
    #[error("Signature-Input has no {parameter} parameter")]
    MissingParameter { parameter: &'static str },
    #[error("the {parameter} parameter of Signature-Input is invalid: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
    #[error("the signature algorithm {alg:?} is not supported; use alg=\"ed25519\"")]
    UnsupportedAlgorithm { alg: String },
    #[error(
        "the signature was created at {created_unix}, more than {window_secs} s before the \
         server's time {now_unix}; sign again with a fresh `created`"
    )]
    TooOld {
        created_unix: i64,
        now_unix: i64,
        window_secs: u32,
    },
    #[error(
        "the signature was created at {created_unix}, more than {window_secs} s after the \
         server's time {now_unix}; check the partner's clock"
    )]
    FromTheFuture {
        created_unix: i64,
        now_unix: i64,
        window_secs: u32,
    },
    #[error("the signature expired at {expires_unix}; the server's time is {now_unix}")]
    Expired { expires_unix: i64, now_unix: i64 },
    #[error("Content-Digest does not match the body: the body was changed or the digest is wrong")]
    DigestMismatch,
    #[error("no partner key has the id {key_id:?}")]
    UnknownKeyId { key_id: String },
    #[error("the signature does not verify with the key {key_id:?}")]
    BadSignature { key_id: String },
    #[error("the request cannot be signed: {reason}")]
    InvalidRequest { reason: String },
}

impl SignatureError {
    /// A stable, URL-safe name for the kind of failure, e.g. for a problem `type` of
    /// `/problems/signature/{code}`.
    pub fn code(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader { .. } => "missing-header",
            SignatureError::MalformedHeader { .. } => "malformed-header",
            SignatureError::MissingComponent { .. } => "missing-component",
            SignatureError::UnsupportedComponent { .. } => "unsupported-component",
            SignatureError::MissingCoveredHeader { .. } => "missing-covered-header",
            SignatureError::MissingParameter { .. } => "missing-parameter",
            SignatureError::InvalidParameter { .. } => "invalid-parameter",
            SignatureError::UnsupportedAlgorithm { .. } => "unsupported-algorithm",
            SignatureError::TooOld { .. } => "too-old",
            SignatureError::FromTheFuture { .. } => "from-the-future",
            SignatureError::Expired { .. } => "expired",
            SignatureError::DigestMismatch => "digest-mismatch",
            SignatureError::UnknownKeyId { .. } => "unknown-key-id",
            SignatureError::BadSignature { .. } => "bad-signature",
            SignatureError::InvalidRequest { .. } => "invalid-request",
        }
    }

    /// The request header at fault, as it is usually written; `None` when the fault is in the
    /// method or path.
    pub fn header(&self) -> Option<&'static str> {
        let header = match self {
            SignatureError::MissingHeader { header }
            | SignatureError::MalformedHeader { header, .. } => header,
            SignatureError::DigestMismatch => super::CONTENT_DIGEST,
            SignatureError::BadSignature { .. } => super::SIGNATURE,
            SignatureError::InvalidRequest { .. } => return None,
            SignatureError::MissingComponent { .. }
            | SignatureError::UnsupportedComponent { .. }
            | SignatureError::MissingCoveredHeader { .. }
            | SignatureError::MissingParameter { .. }
            | SignatureError::InvalidParameter { .. }
            | SignatureError::UnsupportedAlgorithm { .. }
            | SignatureError::TooOld { .. }
            | SignatureError::FromTheFuture { .. }
            | SignatureError::Expired { .. }
            | SignatureError::UnknownKeyId { .. } => super::SIGNATURE_INPUT,
        };
        Some(header)
    }
}
