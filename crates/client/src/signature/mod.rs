//! Partner request signatures: HTTP Message Signatures (RFC 9421) with Ed25519 over the method,
//! the path (and query) and the body's `Content-Digest` (RFC 9530). Pure: no I/O, time passed
//! in as Unix seconds.
//!
//! # The protocol
//!
//! A partner sends three headers with every request:
//!
//! ```text
//! Content-Digest: sha-256=:<base64 of SHA-256(body)>:
//! Signature-Input: sig1=("@method" "@path" "content-digest");created=<unix secs>;keyid="<key id>";nonce="<nonce>";alg="ed25519"
//! Signature: sig1=:<base64 of the 64-byte Ed25519 signature of the signature base>:
//! ```
//!
//! The signature base (RFC 9421 §2.5) is one line per covered component, then the parameters,
//! with `\n` between lines and none at the end:
//!
//! ```text
//! "@method": POST
//! "@path": /v1/actions
//! "content-digest": sha-256=:…:
//! "@signature-params": ("@method" "@path" "content-digest");created=…;keyid="…";nonce="…";alg="ed25519"
//! ```
//!
//! - **`@path`** is the request path exactly as sent (no percent-decoding, no query), as RFC 9421
//!   §2.2.6 says. **A query** is covered by `@query` (`?` and the query, §2.2.7), inserted after
//!   `@path`: a signer covers it whenever the request has a non-empty query, and the verifier
//!   refuses a request with a query that its signature does not cover, so a query can be neither
//!   added nor changed. (`/a?` counts as no query.)
//! - **The body** is always covered through `content-digest`, bodiless requests (GET) included:
//!   their digest is that of zero bytes. One rule for every method, nothing to forget.
//! - **`created`** must be within [`DEFAULT_WINDOW_SECS`] (300 s, configurable in [`Verifier`]) of
//!   the server's time, either way; an optional `expires` is honoured.
//! - **`nonce`** is 16+ random bytes in base64url ([`Nonce`]); refusing a nonce seen before is
//!   the server's job (it keeps a cache), so [`Verified`] hands it back.
//! - **`alg="ed25519"`** is required; the operator stores only public keys ([`VerifyingKey`]).
//! - The verifier reads the first signature of `Signature-Input` (a proxy may append its own)
//!   and re-serializes its parameters canonically (RFC 9651), so whitespace does not matter.
//!   A signature may cover more header fields than the required ones, in any order; derived
//!   components other than `@method`, `@path` and `@query`, and components with parameters
//!   (`;sf`, `;key`, …), are refused.

mod base;
mod digest;
mod error;
mod keys;
mod params;
mod sign;
mod verify;

#[cfg(test)]
mod openssl_interop;

pub use base::RequestParts;
pub use digest::content_digest;
pub use error::SignatureError;
pub use keys::{KeyError, SigningKey, VerifyingKey};
pub use params::{KEY_ID_LEN_MAX, KeyId, NONCE_LEN_MAX, NONCE_LEN_MIN, Nonce};
pub use sign::{SignedHeaders, Signer};
pub use verify::{
    COVERED_COMPONENTS_MAX, HeaderLookup, PendingSignature, SIGNATURE_FIELD_LEN_MAX, Verified,
    Verifier,
};

/// The label of the partner's signature in `Signature-Input` and `Signature`.
pub const LABEL: &str = "sig1";
/// The only algorithm accepted.
pub const ALG_ED25519: &str = "ed25519";
/// How far `created` may be from the server's time, either way: five minutes.
pub const DEFAULT_WINDOW_SECS: u32 = 300;

/// Header names, lowercase as HTTP/2 writes them (HTTP/1.1 ignores case).
pub const SIGNATURE_INPUT: &str = "signature-input";
pub const SIGNATURE: &str = "signature";
pub const CONTENT_DIGEST: &str = "content-digest";
/// The component identifier of the `Content-Digest` header.
pub(crate) const CONTENT_DIGEST_COMPONENT: &str = "content-digest";
