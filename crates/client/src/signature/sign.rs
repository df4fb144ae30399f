//! Signing a partner request: the three headers a partner adds.

use super::base::{self, RequestParts};
use super::{KeyId, LABEL, Nonce, SignatureError, SigningKey, content_digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A partner's key id and secret key: everything needed to sign its requests.
#[derive(Clone, Debug)]
pub struct Signer {
    key_id: KeyId,
    key: SigningKey,
}

/// The headers that carry a signature, and the base they sign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `sha-256=:<base64>:`
    pub content_digest: String,
    /// `sig1=("@method" "@path" "content-digest");created=…;keyid="…";nonce="…";alg="ed25519"`
    pub signature_input: String,
    /// `sig1=:<base64 of the 64-byte Ed25519 signature>:`
    pub signature: String,
    /// The signed bytes (RFC 9421 §2.5). Not sent: it helps a partner compare its own
    /// implementation with this one.
    pub signature_base: String,
}

impl SignedHeaders {
    /// `(header name, value)` for the three headers to send.
    pub fn header_pairs(&self) -> [(&'static str, &str); 3] {
        [
            (super::CONTENT_DIGEST, &self.content_digest),
            (super::SIGNATURE_INPUT, &self.signature_input),
            (super::SIGNATURE, &self.signature),
        ]
    }
}

impl Signer {
    pub fn new(key_id: KeyId, key: SigningKey) -> Signer {
        Signer { key_id, key }
    }

    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs `request` as created at `created_unix` (Unix seconds) with a fresh nonce.
    pub fn sign(
        &self,
        request: &RequestParts<'_>,
        created_unix: i64,
    ) -> Result<SignedHeaders, SignatureError> {
        self.sign_with_nonce(request, created_unix, &Nonce::generate())
    }

    /// Signs with a given nonce: for tests and for reproducing a signature made elsewhere.
    /// Never reuse a nonce for two requests: the server refuses the second.
    pub fn sign_with_nonce(
        &self,
        request: &RequestParts<'_>,
        created_unix: i64,
        nonce: &Nonce,
    ) -> Result<SignedHeaders, SignatureError> {
        let target = request.target()?;
        let content_digest = content_digest(request.body);
        let query = base::query_value(target.query);
        // What is covered: `@method`, `@path`, `@query` when the request has a query (so that
        // the query cannot be changed), and `content-digest` (so that the body cannot be).
        let mut components = vec![(base::METHOD, target.method), (base::PATH, target.path)];
        if target.query.is_some() {
            components.push((base::QUERY, query.as_str()));
        }
        components.push((super::CONTENT_DIGEST_COMPONENT, content_digest.as_str()));

        let names: Vec<&str> = components.iter().map(|(name, _)| *name).collect();
        let params =
            base::signer_params(&names, created_unix, self.key_id.as_str(), nonce.as_str())?;
        let serialized_params = base::serialize_params(&params);
        let signature_base = base::signature_base(&components, &serialized_params);
        let signature = self.key.sign(signature_base.as_bytes());

        Ok(SignedHeaders {
            content_digest,
            signature_input: format!("{LABEL}={serialized_params}"),
            signature: format!("{LABEL}=:{}:", STANDARD.encode(signature)),
            signature_base,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_request_carries_the_three_documented_headers() {
        let key = SigningKey::from_pkcs8_pem(crate::signature::keys::RFC_TEST_KEY_PEM).unwrap();
        let signer = Signer::new(KeyId::parse("metro-2024").unwrap(), key);
        let nonce = Nonce::parse("bm9uY2Utbm9uY2Utbm9uY2U").unwrap();
        let request = RequestParts {
            method: "POST",
            path_and_query: "/v1/actions?dry_run=1",
            body: b"{}",
        };
        let signed = signer
            .sign_with_nonce(&request, 1_700_000_000, &nonce)
            .unwrap();

        let params = "(\"@method\" \"@path\" \"@query\" \"content-digest\");created=1700000000\
                      ;keyid=\"metro-2024\";nonce=\"bm9uY2Utbm9uY2Utbm9uY2U\";alg=\"ed25519\"";
        assert_eq!(
            signed.content_digest,
            "sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:"
        );
        assert_eq!(signed.signature_input, format!("sig1={params}"));
        assert_eq!(
            signed.signature_base,
            format!(
                "\"@method\": POST\n\
                 \"@path\": /v1/actions\n\
                 \"@query\": ?dry_run=1\n\
                 \"content-digest\": sha-256=:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o=:\n\
                 \"@signature-params\": {params}"
            )
        );
        let encoded = signed
            .signature
            .strip_prefix("sig1=:")
            .and_then(|rest| rest.strip_suffix(':'))
            .unwrap();
        assert_eq!(STANDARD.decode(encoded).unwrap().len(), 64);
    }

    #[test]
    fn a_request_without_a_query_covers_three_components() {
        let signer = Signer::new(KeyId::parse("metro-2024").unwrap(), SigningKey::generate());
        let request = RequestParts {
            method: "GET",
            path_and_query: "/v1/actions/a-1",
            body: b"",
        };
        let signed = signer.sign(&request, 1_700_000_000).unwrap();
        assert!(
            signed
                .signature_input
                .starts_with("sig1=(\"@method\" \"@path\" \"content-digest\");created=1700000000;")
        );
        assert_eq!(
            signed.content_digest,
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
    }
}
