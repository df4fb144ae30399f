//! The signature base (RFC 9421 §2.5): the exact bytes that are signed, built from the request
//! parts, the covered components and the serialized signature parameters.

use super::SignatureError;
use sfv::{BareItem, InnerList, Item, KeyRef, ListSerializer, Parameters, StringRef, key_ref};

pub(crate) const CREATED: &KeyRef = key_ref("created");
pub(crate) const EXPIRES: &KeyRef = key_ref("expires");
pub(crate) const KEYID: &KeyRef = key_ref("keyid");
pub(crate) const NONCE: &KeyRef = key_ref("nonce");
pub(crate) const ALG: &KeyRef = key_ref("alg");

/// A request as its signature sees it.
#[derive(Clone, Copy, Debug)]
pub struct RequestParts<'a> {
    /// The method as sent, e.g. `POST` (case-sensitive).
    pub method: &'a str,
    /// The request target in origin form, exactly as sent on the wire (no percent-decoding, no
    /// normalisation): the path, then `?` and the query if there is one, e.g.
    /// `/v1/actions?dry_run=1`.
    pub path_and_query: &'a str,
    /// The exact body bytes; empty for a bodiless request.
    pub body: &'a [u8],
}

/// A request's method and target, checked so that no value can smuggle a line into the base.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Target<'a> {
    pub method: &'a str,
    /// The `@path` value: the path without the query.
    pub path: &'a str,
    /// The query without its `?`; `None` when absent or empty, which RFC 9421 §2.2.7 treats
    /// alike (`@query` is then `?`).
    pub query: Option<&'a str>,
}

impl<'a> RequestParts<'a> {
    pub(crate) fn target(&self) -> Result<Target<'a>, SignatureError> {
        let invalid = |reason: &str| SignatureError::InvalidRequest {
            reason: reason.to_owned(),
        };
        // A method is an HTTP token (RFC 9110 §5.6.2).
        let token_char =
            |byte: u8| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte);
        if self.method.is_empty() || !self.method.bytes().all(token_char) {
            return Err(invalid("the method is not an HTTP token"));
        }
        if !self.path_and_query.starts_with('/') {
            return Err(invalid(
                "the path must be in origin form, starting with `/`",
            ));
        }
        // Visible ASCII only: what a request line carries. A fragment is never sent.
        if !self
            .path_and_query
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && byte != b'#')
        {
            return Err(invalid(
                "the path may hold only visible ASCII (percent-encode the rest) and no `#`",
            ));
        }
        let (path, query) = match self.path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query).filter(|query| !query.is_empty())),
            None => (self.path_and_query, None),
        };
        Ok(Target {
            method: self.method,
            path,
            query,
        })
    }
}

/// The covered components a signature must (and, for `@query`, may) include.
pub(crate) const METHOD: &str = "@method";
pub(crate) const PATH: &str = "@path";
pub(crate) const QUERY: &str = "@query";

/// The `@query` component value (RFC 9421 §2.2.7): `?` and the query, or `?` alone.
pub(crate) fn query_value(query: Option<&str>) -> String {
    format!("?{}", query.unwrap_or_default())
}

/// The signer's signature parameters: the covered components, then `created`, `keyid`,
/// `nonce` and `alg`, in that order.
pub(crate) fn signer_params(
    components: &[&str],
    created_unix: i64,
    key_id: &str,
    nonce: &str,
) -> Result<InnerList, SignatureError> {
    let string = |value: &str| {
        StringRef::from_str(value)
            .map(|value| BareItem::String(value.to_owned()))
            .map_err(|_| SignatureError::InvalidRequest {
                reason: format!("{value:?} cannot be a structured-field string"),
            })
    };
    let created =
        sfv::Integer::try_from(created_unix).map_err(|_| SignatureError::InvalidRequest {
            reason: format!("created={created_unix} is out of the structured-field range"),
        })?;
    let items = components
        .iter()
        .map(|component| string(component).map(Item::new))
        .collect::<Result<Vec<Item>, SignatureError>>()?;
    let mut params = Parameters::new();
    params.insert(CREATED.to_owned(), BareItem::Integer(created));
    params.insert(KEYID.to_owned(), string(key_id)?);
    params.insert(NONCE.to_owned(), string(nonce)?);
    params.insert(ALG.to_owned(), string(super::ALG_ED25519)?);
    Ok(InnerList::with_params(items, params))
}

/// The `@signature-params` value: the inner list and its parameters serialized per RFC 9651
/// (§2.3 of RFC 9421), which is also what follows `sig1=` in `Signature-Input`. A verifier
/// re-serializes what it parsed, so insignificant whitespace in the received field cannot
/// change the base.
pub(crate) fn serialize_params(params: &InnerList) -> String {
    let mut serialized = String::new();
    let mut list = ListSerializer::with_buffer(&mut serialized);
    let mut inner = list.inner_list();
    inner.items(&params.items);
    // The serializer writes into `serialized`; what `finish` hands back is the same buffer.
    let _ = inner.finish().parameters(&params.params);
    let _ = list.finish();
    serialized
}

/// The signature base (RFC 9421 §2.5): one line `"<component>": <value>` per covered component,
/// in the order of the signature parameters, each ended by `\n`, then
/// `"@signature-params": <serialized params>` with no newline after it.
///
/// The identifiers are plain lowercase names (checked when parsed); the values have no CR or
/// LF (checked where they come from), so every component is exactly one line.
pub(crate) fn signature_base(components: &[(&str, &str)], serialized_params: &str) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(serialized_params);
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{SigningKey, VerifyingKey};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use sfv::{FieldType, List, ListEntry, Parser};

    /// RFC 9421 §B.2.6, "Signing a Request Using ed25519", with the key of §B.1.4: Ed25519 is
    /// deterministic, so the base built here must give the RFC's signature byte for byte.
    #[test]
    fn the_rfc_9421_ed25519_example_is_reproduced_byte_for_byte() {
        let input = r#"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#;
        let dictionary: sfv::Dictionary = Parser::new(input).parse().unwrap();
        let Some(ListEntry::InnerList(params)) = dictionary.get("sig-b26") else {
            panic!("no inner list");
        };
        let base = signature_base(
            &[
                ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
                ("@method", "POST"),
                ("@path", "/foo"),
                ("@authority", "example.com"),
                ("content-type", "application/json"),
                ("content-length", "18"),
            ],
            &serialize_params(params),
        );
        assert_eq!(
            base,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\
             \"@method\": POST\n\
             \"@path\": /foo\n\
             \"@authority\": example.com\n\
             \"content-type\": application/json\n\
             \"content-length\": 18\n\
             \"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \
             \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\""
        );

        let key = SigningKey::from_pkcs8_pem(crate::signature::keys::RFC_TEST_KEY_PEM).unwrap();
        let signature = key.sign(base.as_bytes());
        assert_eq!(
            STANDARD.encode(signature),
            "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
        );
        let public =
            VerifyingKey::from_base64("JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=").unwrap();
        assert!(public.verify(base.as_bytes(), &signature));
    }

    #[test]
    fn parameters_are_re_serialized_canonically() {
        let loose = r#"sig1=(  "@method"   "@path" );created=1;keyid="k""#;
        let dictionary: sfv::Dictionary = Parser::new(loose).parse().unwrap();
        let Some(ListEntry::InnerList(params)) = dictionary.get("sig1") else {
            panic!("no inner list");
        };
        assert_eq!(
            serialize_params(params),
            r#"("@method" "@path");created=1;keyid="k""#
        );
        // The same serializer the structured-field crate uses for a whole list.
        let list: List = vec![ListEntry::InnerList(params.clone())];
        assert_eq!(
            list.serialize().as_deref(),
            Some(serialize_params(params).as_str())
        );
    }

    #[test]
    fn a_request_target_splits_into_path_and_query() {
        let target = |path_and_query| {
            RequestParts {
                method: "GET",
                path_and_query,
                body: b"",
            }
            .target()
        };
        assert_eq!(target("/a/b").unwrap().path, "/a/b");
        assert_eq!(target("/a/b").unwrap().query, None);
        assert_eq!(target("/a?").unwrap().query, None);
        assert_eq!(target("/a?x=1&y").unwrap().query, Some("x=1&y"));
        assert_eq!(target("/a?x=1?y").unwrap().query, Some("x=1?y"));
        for bad in [
            "",
            "a/b",
            "http://host/a",
            "/a b",
            "/a\n\"@path\": /b",
            "/a#frag",
            "*",
        ] {
            assert!(target(bad).is_err(), "{bad:?}");
        }
        let bad_method = RequestParts {
            method: "PO ST",
            path_and_query: "/",
            body: b"",
        };
        assert!(bad_method.target().is_err());
    }
}
