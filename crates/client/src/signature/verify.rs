//! Verifying a partner request: parse `Signature-Input` and `Signature`, check what the
//! signature covers, its algorithm, its age and the body's digest, rebuild the signature base and
//! check the Ed25519 signature with the partner's public key.

use super::base::{self, ALG, CREATED, EXPIRES, KEYID, NONCE, RequestParts, Target};
use super::digest::check_content_digest;
use super::{
    ALG_ED25519, CONTENT_DIGEST, CONTENT_DIGEST_COMPONENT, DEFAULT_WINDOW_SECS, KeyId, Nonce,
    SIGNATURE, SIGNATURE_INPUT, SignatureError, VerifyingKey,
};
use sfv::{BareItem, Dictionary, InnerList, KeyRef, ListEntry, Parser};

/// Longer `Signature-Input` or `Signature` fields are refused before parsing: ours are ~200
/// bytes.
pub const SIGNATURE_FIELD_LEN_MAX: usize = 4096;
/// More covered components than this are refused; ours cover 3 or 4.
pub const COVERED_COMPONENTS_MAX: usize = 16;

/// Where the verifier reads request headers. Names are passed in lowercase.
pub trait HeaderLookup {
    /// Every instance of the header `name`, in the order received.
    fn values(&self, name: &str) -> Vec<&[u8]>;
}

impl HeaderLookup for http::HeaderMap {
    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.get_all(name)
            .iter()
            .map(http::HeaderValue::as_bytes)
            .collect()
    }
}

/// `(name, value)` pairs, names matched case-insensitively: handy in tests and for frameworks
/// other than `http`.
impl HeaderLookup for [(&str, &str)] {
    fn values(&self, name: &str) -> Vec<&[u8]> {
        self.iter()
            .filter(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_bytes())
            .collect()
    }
}

/// A header's value as a signature base uses it (RFC 9421 §2.1): each instance trimmed, the
/// instances joined by `", "`. `Err` carries the reason a value cannot be used.
fn field_value<H: HeaderLookup + ?Sized>(
    headers: &H,
    name: &str,
) -> Result<Option<String>, &'static str> {
    let values = headers.values(name);
    if values.is_empty() {
        return Ok(None);
    }
    let mut joined = String::new();
    for (index, value) in values.iter().enumerate() {
        // Visible ASCII, space and tab: anything else (CR, LF, obs-text) could not be one line
        // of the ASCII signature base.
        let plain = |byte: &u8| byte.is_ascii_graphic() || *byte == b' ' || *byte == b'\t';
        if !value.iter().all(plain) {
            return Err("its value is not plain visible ASCII");
        }
        let text = std::str::from_utf8(value).map_err(|_| "its value is not ASCII")?;
        if index > 0 {
            joined.push_str(", ");
        }
        joined.push_str(text.trim_matches([' ', '\t']));
    }
    Ok(Some(joined))
}

fn required_field<H: HeaderLookup + ?Sized>(
    headers: &H,
    header: &'static str,
) -> Result<String, SignatureError> {
    field_value(headers, &header.to_ascii_lowercase())
        .map_err(|reason| malformed(header, reason))?
        .ok_or(SignatureError::MissingHeader { header })
}

fn malformed(header: &'static str, reason: impl Into<String>) -> SignatureError {
    SignatureError::MalformedHeader {
        header,
        reason: reason.into(),
    }
}

/// Checks partner signatures. `window_secs` bounds how far `created` may be from the server's
/// time, either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verifier {
    window_secs: u32,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier::new(DEFAULT_WINDOW_SECS)
    }
}

/// What a valid signature establishes. The caller still has to refuse a `nonce` it has seen
/// before from the same `key_id`: remembering each one until `created_unix + window_secs` is
/// enough, since after that the signature is refused as too old anyway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub key_id: KeyId,
    pub nonce: Nonce,
    /// When the partner signed, in Unix seconds.
    pub created_unix: i64,
}

/// A request whose signature passed every check that needs no key: the caller looks up
/// [`key_id`](Self::key_id) (perhaps asynchronously, in a database) and calls
/// [`verify_with`](Self::verify_with).
#[derive(Clone, Debug)]
pub struct PendingSignature {
    key_id: KeyId,
    nonce: Nonce,
    created_unix: i64,
    base: String,
    signature: [u8; 64],
}

impl PendingSignature {
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    pub fn nonce(&self) -> &Nonce {
        &self.nonce
    }

    pub fn created_unix(&self) -> i64 {
        self.created_unix
    }

    /// The signature base rebuilt from the request, for diagnosing a partner's signer.
    pub fn signature_base(&self) -> &str {
        &self.base
    }

    /// Checks the Ed25519 signature with the key registered for [`key_id`](Self::key_id).
    pub fn verify_with(self, key: &VerifyingKey) -> Result<Verified, SignatureError> {
        if !key.verify(self.base.as_bytes(), &self.signature) {
            return Err(SignatureError::BadSignature {
                key_id: self.key_id.as_str().to_owned(),
            });
        }
        Ok(Verified {
            key_id: self.key_id,
            nonce: self.nonce,
            created_unix: self.created_unix,
        })
    }
}

/// The signature parameters this protocol reads.
struct Params {
    key_id: KeyId,
    nonce: Nonce,
    created_unix: i64,
    expires_unix: Option<i64>,
}

impl Verifier {
    pub fn new(window_secs: u32) -> Verifier {
        Verifier { window_secs }
    }

    pub fn window_secs(&self) -> u32 {
        self.window_secs
    }

    /// Verifies a request in one go, looking its key up with `key_for`.
    pub fn verify<H: HeaderLookup + ?Sized>(
        &self,
        request: &RequestParts<'_>,
        headers: &H,
        now_unix: i64,
        key_for: impl FnOnce(&KeyId) -> Option<VerifyingKey>,
    ) -> Result<Verified, SignatureError> {
        let pending = self.check(request, headers, now_unix)?;
        let key = key_for(pending.key_id()).ok_or_else(|| SignatureError::UnknownKeyId {
            key_id: pending.key_id().as_str().to_owned(),
        })?;
        pending.verify_with(&key)
    }

    /// Every check that needs no key, cheapest first: the headers are there and well formed;
    /// the signature covers `@method`, `@path`, `content-digest` (and `@query` when the request
    /// has a query); `alg` is `ed25519`; `keyid` and `nonce` are present; `created` is within
    /// the window (and `expires`, if given, not past); the body matches `Content-Digest`.
    pub fn check<H: HeaderLookup + ?Sized>(
        &self,
        request: &RequestParts<'_>,
        headers: &H,
        now_unix: i64,
    ) -> Result<PendingSignature, SignatureError> {
        let target = request.target()?;
        let (label, covered) = signature_input(headers)?;
        let signature = signature_for(headers, &label)?;
        let names = covered_names(&covered, &target)?;
        let params = read_params(&covered)?;
        self.check_time(&params, now_unix)?;

        let digest = required_field(headers, CONTENT_DIGEST)?;
        check_content_digest(&digest, request.body)?;

        let query = base::query_value(target.query);
        let mut components = Vec::with_capacity(names.len());
        for name in &names {
            let value = match name.as_str() {
                base::METHOD => target.method.to_owned(),
                base::PATH => target.path.to_owned(),
                base::QUERY => query.clone(),
                derived if derived.starts_with('@') => {
                    return Err(SignatureError::UnsupportedComponent {
                        component: derived.to_owned(),
                    });
                }
                header => field_value(headers, header)
                    .map_err(|reason| SignatureError::UnsupportedComponent {
                        component: format!("{header} ({reason})"),
                    })?
                    .ok_or_else(|| SignatureError::MissingCoveredHeader {
                        header: header.to_owned(),
                    })?,
            };
            components.push((name.as_str(), value));
        }
        let components: Vec<(&str, &str)> = components
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect();
        let base = base::signature_base(&components, &base::serialize_params(&covered));

        Ok(PendingSignature {
            key_id: params.key_id,
            nonce: params.nonce,
            created_unix: params.created_unix,
            base,
            signature,
        })
    }

    fn check_time(&self, params: &Params, now_unix: i64) -> Result<(), SignatureError> {
        // i128: no overflow whatever the caller's clock says.
        let age_secs = i128::from(now_unix) - i128::from(params.created_unix);
        let window_secs = i128::from(self.window_secs);
        if age_secs > window_secs {
            return Err(SignatureError::TooOld {
                created_unix: params.created_unix,
                now_unix,
                window_secs: self.window_secs,
            });
        }
        if -age_secs > window_secs {
            return Err(SignatureError::FromTheFuture {
                created_unix: params.created_unix,
                now_unix,
                window_secs: self.window_secs,
            });
        }
        if let Some(expires_unix) = params.expires_unix
            && now_unix > expires_unix
        {
            return Err(SignatureError::Expired {
                expires_unix,
                now_unix,
            });
        }
        Ok(())
    }
}

/// The first signature in `Signature-Input` (the partner's; any later ones, e.g. added by a
/// proxy, are ignored): its label and its inner list of components with parameters.
fn signature_input<H: HeaderLookup + ?Sized>(
    headers: &H,
) -> Result<(String, InnerList), SignatureError> {
    let field = required_field(headers, SIGNATURE_INPUT)?;
    let dictionary = parse_dictionary(SIGNATURE_INPUT, &field)?;
    let Some((label, entry)) = dictionary.into_iter().next() else {
        return Err(malformed(SIGNATURE_INPUT, "it has no signature"));
    };
    match entry {
        ListEntry::InnerList(covered) => Ok((label.as_str().to_owned(), covered)),
        ListEntry::Item(_) => Err(malformed(
            SIGNATURE_INPUT,
            format!(
                "{} must be a list of components, `{}=(\"@method\" \"@path\" \"content-digest\");…`",
                label.as_str(),
                label.as_str()
            ),
        )),
    }
}

/// The 64 signature bytes under `label` in `Signature`.
fn signature_for<H: HeaderLookup + ?Sized>(
    headers: &H,
    label: &str,
) -> Result<[u8; 64], SignatureError> {
    let field = required_field(headers, SIGNATURE)?;
    let dictionary = parse_dictionary(SIGNATURE, &field)?;
    let entry = dictionary.get(label).ok_or_else(|| {
        malformed(
            SIGNATURE,
            format!("it has no {label}, the label in Signature-Input"),
        )
    })?;
    let bytes = match entry {
        ListEntry::Item(item) => item.bare_item.as_byte_sequence(),
        ListEntry::InnerList(_) => None,
    };
    bytes
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .ok_or_else(|| {
            malformed(
                SIGNATURE,
                format!("{label} must be the 64-byte Ed25519 signature, `{label}=:<base64>:`"),
            )
        })
}

fn parse_dictionary(header: &'static str, field: &str) -> Result<Dictionary, SignatureError> {
    if field.len() > SIGNATURE_FIELD_LEN_MAX {
        return Err(malformed(
            header,
            format!("it is longer than {SIGNATURE_FIELD_LEN_MAX} bytes"),
        ));
    }
    Parser::new(field)
        .parse()
        .map_err(|error| malformed(header, format!("not a structured dictionary ({error})")))
}

/// The covered component names, checked: quoted, unique, plain (no parameters), lowercase,
/// and including what this protocol requires.
fn covered_names(covered: &InnerList, target: &Target<'_>) -> Result<Vec<String>, SignatureError> {
    if covered.items.len() > COVERED_COMPONENTS_MAX {
        return Err(malformed(
            SIGNATURE_INPUT,
            format!("it covers more than {COVERED_COMPONENTS_MAX} components"),
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(covered.items.len());
    for item in &covered.items {
        let name = item.bare_item.as_string().map(sfv::StringRef::as_str);
        let Some(name) = name else {
            return Err(malformed(
                SIGNATURE_INPUT,
                "components are quoted strings, e.g. \"@method\"",
            ));
        };
        if !item.params.is_empty() {
            return Err(SignatureError::UnsupportedComponent {
                component: format!("{name} with parameters"),
            });
        }
        let name_char = |byte: u8| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&byte)
        };
        let bare = name.strip_prefix('@').unwrap_or(name);
        if bare.is_empty() || !bare.bytes().all(name_char) {
            return Err(malformed(
                SIGNATURE_INPUT,
                format!("{name:?} is not a lowercase component name"),
            ));
        }
        if names.iter().any(|seen| seen == name) {
            return Err(malformed(
                SIGNATURE_INPUT,
                format!("{name:?} is covered twice"),
            ));
        }
        names.push(name.to_owned());
    }
    let mut required = vec![base::METHOD, base::PATH, CONTENT_DIGEST_COMPONENT];
    if target.query.is_some() {
        required.push(base::QUERY);
    }
    for component in required {
        if !names.iter().any(|name| name == component) {
            return Err(SignatureError::MissingComponent { component });
        }
    }
    Ok(names)
}

fn read_params(covered: &InnerList) -> Result<Params, SignatureError> {
    let param = |key: &KeyRef| covered.params.get(key);
    let invalid = |parameter: &'static str, reason: String| SignatureError::InvalidParameter {
        parameter,
        reason,
    };

    let alg = param(ALG).ok_or(SignatureError::MissingParameter { parameter: "alg" })?;
    if alg.as_string().map(sfv::StringRef::as_str) != Some(ALG_ED25519) {
        return Err(SignatureError::UnsupportedAlgorithm { alg: shown(alg) });
    }
    let created_unix =
        integer(param(CREATED), "created")?.ok_or(SignatureError::MissingParameter {
            parameter: "created",
        })?;
    let expires_unix = integer(param(EXPIRES), "expires")?;
    let key_id = string(param(KEYID), "keyid")?
        .ok_or(SignatureError::MissingParameter { parameter: "keyid" })?;
    let key_id = KeyId::parse(key_id).map_err(|reason| invalid("keyid", reason))?;
    let nonce = string(param(NONCE), "nonce")?
        .ok_or(SignatureError::MissingParameter { parameter: "nonce" })?;
    let nonce = Nonce::parse(nonce).map_err(|reason| invalid("nonce", reason))?;
    Ok(Params {
        key_id,
        nonce,
        created_unix,
        expires_unix,
    })
}

fn integer(
    value: Option<&BareItem>,
    parameter: &'static str,
) -> Result<Option<i64>, SignatureError> {
    value
        .map(|value| {
            value
                .as_integer()
                .map(i64::from)
                .ok_or_else(|| SignatureError::InvalidParameter {
                    parameter,
                    reason: "it must be an integer of Unix seconds".to_owned(),
                })
        })
        .transpose()
}

fn string<'a>(
    value: Option<&'a BareItem>,
    parameter: &'static str,
) -> Result<Option<&'a str>, SignatureError> {
    value
        .map(|value| {
            value
                .as_string()
                .map(sfv::StringRef::as_str)
                .ok_or_else(|| SignatureError::InvalidParameter {
                    parameter,
                    reason: "it must be a quoted string".to_owned(),
                })
        })
        .transpose()
}

/// A parameter value as the partner wrote it, for an error message.
fn shown(value: &BareItem) -> String {
    sfv::ItemSerializer::new().bare_item(value).finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{SignedHeaders, Signer, SigningKey};

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"user":"u-1","action":"metro-ride","grams":120}"#;

    fn partner(key_id: &str) -> Signer {
        Signer::new(KeyId::parse(key_id).unwrap(), SigningKey::generate())
    }

    fn post(body: &[u8]) -> RequestParts<'_> {
        RequestParts {
            method: "POST",
            path_and_query: "/v1/actions",
            body,
        }
    }

    fn pairs(signed: &SignedHeaders) -> Vec<(&str, &str)> {
        signed.header_pairs().to_vec()
    }

    /// Verifies with the one partner key `signer` registered under its key id.
    fn verify_at(
        request: &RequestParts<'_>,
        headers: &[(&str, &str)],
        now_unix: i64,
        signer: &Signer,
    ) -> Result<Verified, SignatureError> {
        Verifier::default().verify(request, headers, now_unix, |key_id| {
            (key_id == signer.key_id()).then(|| signer.signing_key().verifying_key())
        })
    }

    #[test]
    fn a_signed_request_verifies() {
        let signer = partner("metro-2024");
        for request in [
            post(BODY),
            RequestParts {
                method: "GET",
                path_and_query: "/v1/actions/a-1",
                body: b"",
            },
            RequestParts {
                method: "GET",
                path_and_query: "/v1/actions?after=a-1&limit=50",
                body: b"",
            },
        ] {
            let signed = signer.sign(&request, NOW).unwrap();
            let verified = verify_at(&request, &pairs(&signed), NOW, &signer).unwrap();
            assert_eq!(verified.key_id, *signer.key_id());
            assert_eq!(verified.created_unix, NOW);
            assert!(
                signed
                    .signature_input
                    .contains(&format!("nonce=\"{}\"", verified.nonce))
            );
        }
    }

    #[test]
    fn a_signed_request_verifies_through_an_http_header_map() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let mut headers = http::HeaderMap::new();
        for (name, value) in signed.header_pairs() {
            headers.insert(name, http::HeaderValue::from_str(value).unwrap());
        }
        let verified = Verifier::default()
            .verify(&post(BODY), &headers, NOW, |_| {
                Some(signer.signing_key().verifying_key())
            })
            .unwrap();
        assert_eq!(verified.created_unix, NOW);
    }

    #[test]
    fn a_changed_body_fails_the_digest() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let changed = br#"{"user":"u-1","action":"metro-ride","grams":999}"#;
        assert_eq!(
            verify_at(&post(changed), &pairs(&signed), NOW, &signer),
            Err(SignatureError::DigestMismatch)
        );

        // A digest recomputed for the new body no longer matches the signature.
        let mut headers = pairs(&signed);
        let forged_digest = crate::signature::content_digest(changed);
        headers[0] = (CONTENT_DIGEST, &forged_digest);
        assert!(matches!(
            verify_at(&post(changed), &headers, NOW, &signer),
            Err(SignatureError::BadSignature { .. })
        ));
    }

    #[test]
    fn a_changed_path_or_method_fails_the_signature() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let headers = pairs(&signed);
        let moved = RequestParts {
            path_and_query: "/v1/pledges",
            ..post(BODY)
        };
        let rewritten = RequestParts {
            method: "PUT",
            ..post(BODY)
        };
        for request in [moved, rewritten] {
            assert!(
                matches!(
                    verify_at(&request, &headers, NOW, &signer),
                    Err(SignatureError::BadSignature { .. })
                ),
                "{request:?}"
            );
        }

        // A query added to a request signed without one is not covered, so it is refused...
        let with_query = RequestParts {
            path_and_query: "/v1/actions?user=u-2",
            ..post(BODY)
        };
        assert_eq!(
            verify_at(&with_query, &headers, NOW, &signer),
            Err(SignatureError::MissingComponent {
                component: "@query"
            })
        );
        // ...and a signed query cannot be changed.
        let signed_query = signer.sign(&with_query, NOW).unwrap();
        let other_query = RequestParts {
            path_and_query: "/v1/actions?user=u-3",
            ..post(BODY)
        };
        assert!(matches!(
            verify_at(&other_query, &pairs(&signed_query), NOW, &signer),
            Err(SignatureError::BadSignature { .. })
        ));
    }

    #[test]
    fn a_signature_from_another_key_fails() {
        let signer = partner("metro-2024");
        let impostor = partner("metro-2024");
        let signed = impostor.sign(&post(BODY), NOW).unwrap();
        assert_eq!(
            verify_at(&post(BODY), &pairs(&signed), NOW, &signer),
            Err(SignatureError::BadSignature {
                key_id: "metro-2024".to_owned()
            })
        );
    }

    #[test]
    fn a_request_older_than_five_minutes_is_rejected() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let headers = pairs(&signed);
        assert!(verify_at(&post(BODY), &headers, NOW + 300, &signer).is_ok());
        assert_eq!(
            verify_at(&post(BODY), &headers, NOW + 301, &signer),
            Err(SignatureError::TooOld {
                created_unix: NOW,
                now_unix: NOW + 301,
                window_secs: 300
            })
        );
        // The window is the verifier's to choose.
        let strict = Verifier::new(60);
        let result = strict.verify(&post(BODY), &headers[..], NOW + 61, |_| {
            Some(signer.signing_key().verifying_key())
        });
        assert!(matches!(result, Err(SignatureError::TooOld { .. })));
    }

    #[test]
    fn a_request_from_the_future_beyond_the_window_is_rejected() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let headers = pairs(&signed);
        assert!(verify_at(&post(BODY), &headers, NOW - 300, &signer).is_ok());
        assert_eq!(
            verify_at(&post(BODY), &headers, NOW - 301, &signer),
            Err(SignatureError::FromTheFuture {
                created_unix: NOW,
                now_unix: NOW - 301,
                window_secs: 300
            })
        );
    }

    #[test]
    fn an_unknown_key_id_is_rejected() {
        let signer = partner("metro-2024");
        let stranger = partner("bus-2019");
        let signed = stranger.sign(&post(BODY), NOW).unwrap();
        let error = verify_at(&post(BODY), &pairs(&signed), NOW, &signer).unwrap_err();
        assert_eq!(
            error,
            SignatureError::UnknownKeyId {
                key_id: "bus-2019".to_owned()
            }
        );
        assert_eq!(error.to_string(), "no partner key has the id \"bus-2019\"");
    }

    /// A rewrite of a `Signature-Input` value.
    type EditInput = fn(&str) -> String;

    /// The signer's headers with `Signature-Input` rewritten by `edit`. The signature no longer
    /// matches, but every rule on `Signature-Input` is checked before the signature is.
    fn with_edited_input(signer: &Signer, edit: impl Fn(&str) -> String) -> Vec<(String, String)> {
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let input = edit(&signed.signature_input);
        vec![
            (CONTENT_DIGEST.to_owned(), signed.content_digest),
            (SIGNATURE_INPUT.to_owned(), input),
            (SIGNATURE.to_owned(), signed.signature),
        ]
    }

    fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn missing_or_malformed_headers_are_rejected_precisely() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let verify = |headers: &[(&str, &str)]| verify_at(&post(BODY), headers, NOW, &signer);
        let all = pairs(&signed);
        let without = |header: &str| -> Vec<(&str, &str)> {
            all.iter()
                .copied()
                .filter(|(name, _)| *name != header)
                .collect()
        };

        for header in [SIGNATURE_INPUT, SIGNATURE, CONTENT_DIGEST] {
            let error = verify(&without(header)).unwrap_err();
            assert_eq!(error, SignatureError::MissingHeader { header });
            assert_eq!(error.header(), Some(header));
        }

        let replaced = |header: &'static str, value: &'static str| -> Vec<(&str, &str)> {
            let mut headers = without(header);
            headers.push((header, value));
            headers
        };
        let malformed_cases = [
            (SIGNATURE_INPUT, "sig1=(\"@method\""),
            (SIGNATURE_INPUT, "sig1=\"@method\""),
            (SIGNATURE_INPUT, "sig1=(@method @path)"),
            (SIGNATURE, "sig1=:AAAA:"),
            (SIGNATURE, "other=:AAAA:"),
            (SIGNATURE, "sig1=\"not bytes\""),
            (CONTENT_DIGEST, "sha-256=not-bytes"),
            (CONTENT_DIGEST, "md5=:AAAA:"),
        ];
        for (header, value) in malformed_cases {
            let result = verify(&replaced(header, value));
            assert!(
                matches!(&result, Err(SignatureError::MalformedHeader { header: h, .. }) if *h == header),
                "{header}: {value} gave {result:?}"
            );
        }

        // Each rule on Signature-Input, all checked before the signature is.
        let cases: Vec<(EditInput, SignatureError)> = vec![
            (
                |input: &str| strip_param(input, "nonce"),
                SignatureError::MissingParameter { parameter: "nonce" },
            ),
            (
                |input: &str| strip_param(input, "created"),
                SignatureError::MissingParameter {
                    parameter: "created",
                },
            ),
            (
                |input: &str| strip_param(input, "keyid"),
                SignatureError::MissingParameter { parameter: "keyid" },
            ),
            (
                |input: &str| strip_param(input, "alg"),
                SignatureError::MissingParameter { parameter: "alg" },
            ),
            (
                |input: &str| input.replace("alg=\"ed25519\"", "alg=\"rsa-pss-sha512\""),
                SignatureError::UnsupportedAlgorithm {
                    alg: "\"rsa-pss-sha512\"".to_owned(),
                },
            ),
            (
                |input: &str| input.replace(" \"content-digest\"", ""),
                SignatureError::MissingComponent {
                    component: "content-digest",
                },
            ),
            (
                |input: &str| input.replace("\"@method\" ", ""),
                SignatureError::MissingComponent {
                    component: "@method",
                },
            ),
            (
                |input: &str| input.replace("(", "(\"@authority\" "),
                SignatureError::UnsupportedComponent {
                    component: "@authority".to_owned(),
                },
            ),
            (
                |input: &str| input.replace("(", "(\"content-type\" "),
                SignatureError::MissingCoveredHeader {
                    header: "content-type".to_owned(),
                },
            ),
            (
                |input: &str| input.replace("\"content-digest\"", "\"content-digest\";sf"),
                SignatureError::UnsupportedComponent {
                    component: "content-digest with parameters".to_owned(),
                },
            ),
        ];
        for (edit, expected) in cases {
            let headers = with_edited_input(&signer, edit);
            let headers = borrowed(&headers);
            assert_eq!(verify(&headers), Err(expected), "{headers:?}");
        }

        let invalid_cases: Vec<(EditInput, &str)> = vec![
            (
                |input: &str| replace_param(input, "nonce", "\"short\""),
                "nonce",
            ),
            (|input: &str| replace_param(input, "nonce", "1"), "nonce"),
            (
                |input: &str| replace_param(input, "keyid", "metro"),
                "keyid",
            ),
            (
                |input: &str| replace_param(input, "created", "\"now\""),
                "created",
            ),
        ];
        for (edit, parameter) in invalid_cases {
            let headers = with_edited_input(&signer, edit);
            let headers = borrowed(&headers);
            let result = verify(&headers);
            assert!(
                matches!(&result, Err(SignatureError::InvalidParameter { parameter: p, .. }) if *p == parameter),
                "{parameter}: {result:?}"
            );
        }

        for edit in [
            |input: &str| input.replace("(", "(\"@method\" "),
            |input: &str| input.replace("\"@path\"", "\"@PATH\""),
        ] {
            let headers = with_edited_input(&signer, edit);
            let headers = borrowed(&headers);
            assert!(matches!(
                verify(&headers),
                Err(SignatureError::MalformedHeader {
                    header: SIGNATURE_INPUT,
                    ..
                })
            ));
        }
    }

    #[test]
    fn an_expires_parameter_in_the_past_is_rejected() {
        let signer = partner("metro-2024");
        let headers = with_edited_input(&signer, |input| format!("{input};expires={}", NOW - 1));
        let headers = borrowed(&headers);
        assert_eq!(
            verify_at(&post(BODY), &headers, NOW, &signer),
            Err(SignatureError::Expired {
                expires_unix: NOW - 1,
                now_unix: NOW
            })
        );
    }

    #[test]
    fn the_two_step_check_lets_the_caller_look_the_key_up_itself() {
        let signer = partner("metro-2024");
        let signed = signer.sign(&post(BODY), NOW).unwrap();
        let pending = Verifier::default()
            .check(&post(BODY), &pairs(&signed)[..], NOW)
            .unwrap();
        assert_eq!(pending.key_id().as_str(), "metro-2024");
        assert_eq!(pending.signature_base(), signed.signature_base);
        let verified = pending
            .verify_with(&signer.signing_key().verifying_key())
            .unwrap();
        assert_eq!(verified.created_unix, NOW);
    }

    #[test]
    fn repeated_header_instances_are_joined_as_the_rfc_says() {
        let headers: &[(&str, &str)] = &[("X-A", " one "), ("x-a", "two\t")];
        assert_eq!(field_value(headers, "x-a"), Ok(Some("one, two".to_owned())));
        let bad: &[(&str, &str)] = &[("x-a", "line\r\nbreak")];
        assert!(field_value(bad, "x-a").is_err());
    }

    fn strip_param(input: &str, name: &str) -> String {
        input
            .split(';')
            .filter(|part| !part.starts_with(&format!("{name}=")))
            .collect::<Vec<_>>()
            .join(";")
    }

    fn replace_param(input: &str, name: &str, value: &str) -> String {
        input
            .split(';')
            .map(|part| {
                if part.starts_with(&format!("{name}=")) {
                    format!("{name}={value}")
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(";")
    }
}
