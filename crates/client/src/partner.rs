//! `PartnerClient`: an async HTTP client that signs every request it sends. The endpoint
//! methods (report an action, …) come with the endpoints; `send_signed` reaches any of them.

use crate::signature::{KeyId, RequestParts, SignatureError, SignedHeaders, Signer, SigningKey};
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;

pub use reqwest::{Method, Response};

/// Why a request could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    #[error("the base URL {url:?} is invalid: {reason}")]
    InvalidBaseUrl { url: String, reason: String },
    #[error("the path {path:?} is invalid: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("the body cannot be serialized as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the system clock is set before 1970")]
    Clock,
    #[error("the request failed: {0}")]
    Http(#[from] reqwest::Error),
}

/// A partner's signed connection to an openforest server.
#[derive(Clone, Debug)]
pub struct PartnerClient {
    base_url: Url,
    signer: Signer,
    http: reqwest::Client,
}

impl PartnerClient {
    /// A client for the server at `base_url` (`http://host:port`, optionally with a path
    /// prefix), signing as `key_id`.
    pub fn new(
        base_url: &str,
        key_id: KeyId,
        signing_key: SigningKey,
    ) -> Result<PartnerClient, PartnerError> {
        let invalid = |reason: &str| PartnerError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(base_url).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be http or https"));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("a base URL has no query or fragment"));
        }
        Ok(PartnerClient {
            base_url: parsed,
            signer: Signer::new(key_id, signing_key),
            http: reqwest::Client::new(),
        })
    }

    /// Uses `http` (timeouts, proxies, TLS settings…) instead of a default client.
    pub fn with_http_client(mut self, http: reqwest::Client) -> PartnerClient {
        self.http = http;
        self
    }

    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    pub fn key_id(&self) -> &KeyId {
        self.signer.key_id()
    }

    /// Sends `json_body` as JSON to `path` (`/v1/…`, with a query if needed), signed now.
    pub async fn send_signed<T: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        json_body: &T,
    ) -> Result<Response, PartnerError> {
        let body = serde_json::to_vec(json_body)?;
        let request = self.signed_request(method, path, body, now_unix()?)?;
        Ok(self.http.execute(request).await?)
    }

    /// Sends a bodiless request (GET, DELETE…) to `path`, signed now.
    pub async fn send_signed_without_body(
        &self,
        method: Method,
        path: &str,
    ) -> Result<Response, PartnerError> {
        let request = self.signed_request(method, path, Vec::new(), now_unix()?)?;
        Ok(self.http.execute(request).await?)
    }

    /// Builds, without sending, a request whose `body` (already serialized JSON, or empty) is
    /// signed as created at `created_unix`: for tests, and for load generators that prepare
    /// requests ahead. Send it with [`http_client`](Self::http_client).
    pub fn signed_request(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        created_unix: i64,
    ) -> Result<reqwest::Request, PartnerError> {
        let url = self.url(path)?;
        // Sign what goes on the wire: the URL's path and query after `Url` normalised them.
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let signed: SignedHeaders = self.signer.sign(
            &RequestParts {
                method: method.as_str(),
                path_and_query: &path_and_query,
                body: &body,
            },
            created_unix,
        )?;
        let mut builder = self.http.request(method, url);
        for (name, value) in signed.header_pairs() {
            builder = builder.header(name, value);
        }
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Ok(builder.body(body).build()?)
    }

    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    fn url(&self, path: &str) -> Result<Url, PartnerError> {
        let invalid = |reason: String| PartnerError::InvalidPath {
            path: path.to_owned(),
            reason,
        };
        if !path.starts_with('/') {
            return Err(invalid("a path starts with `/`".to_owned()));
        }
        let joined = format!("{}{path}", self.base_url.as_str().trim_end_matches('/'));
        let url = Url::parse(&joined).map_err(|error| invalid(error.to_string()))?;
        if url.fragment().is_some() {
            return Err(invalid("a fragment (`#…`) is never sent".to_owned()));
        }
        Ok(url)
    }
}

fn now_unix() -> Result<i64, PartnerError> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| PartnerError::Clock)?;
    i64::try_from(since_epoch.as_secs()).map_err(|_| PartnerError::Clock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::{Verifier, VerifyingKey};
    use axum::Router;
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, Uri};

    /// A server on a loopback port that answers 200 `<key id> <nonce>` to requests signed by
    /// `key`, and 401 with the verifier's message otherwise.
    async fn verifying_server(key: VerifyingKey) -> String {
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| async move {
                let request = RequestParts {
                    method: method.as_str(),
                    path_and_query: uri.path_and_query().map_or("/", |target| target.as_str()),
                    body: &body,
                };
                let now = now_unix().unwrap();
                match Verifier::default().verify(&request, &headers, now, |_| Some(key)) {
                    Ok(verified) => (
                        StatusCode::OK,
                        format!("{} {}", verified.key_id, verified.nonce),
                    ),
                    Err(error) => (StatusCode::UNAUTHORIZED, error.to_string()),
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    fn client(base_url: &str, key: &SigningKey) -> PartnerClient {
        PartnerClient::new(base_url, KeyId::parse("metro-2024").unwrap(), key.clone()).unwrap()
    }

    #[tokio::test]
    async fn a_partner_client_request_verifies_at_a_server() {
        let key = SigningKey::generate();
        let base_url = verifying_server(key.verifying_key()).await;
        let client = client(&base_url, &key);

        let action = serde_json::json!({"user": "u-1", "action": "metro-ride", "grams": 120});
        let response = client
            .send_signed(Method::POST, "/v1/actions?dry_run=1", &action)
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(text.starts_with("metro-2024 "), "{text}");

        let response = client
            .send_signed_without_body(Method::GET, "/v1/actions/a-1")
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_request_changed_after_signing_is_refused_by_the_server() {
        let key = SigningKey::generate();
        let base_url = verifying_server(key.verifying_key()).await;
        let client = client(&base_url, &key);

        let mut request = client
            .signed_request(
                Method::POST,
                "/v1/actions",
                br#"{"grams":120}"#.to_vec(),
                now_unix().unwrap(),
            )
            .unwrap();
        *request.body_mut() = Some(br#"{"grams":999}"#.to_vec().into());
        let response = client.http_client().execute(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response
                .text()
                .await
                .unwrap()
                .starts_with("Content-Digest does not match the body")
        );

        let stale = client
            .signed_request(Method::GET, "/v1/actions", Vec::new(), 1_000_000_000)
            .unwrap();
        let response = client.http_client().execute(stale).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn a_base_url_with_a_prefix_is_signed_with_the_full_path() {
        let key = SigningKey::generate();
        let client = client("http://127.0.0.1:9/forest/", &key);
        let request = client
            .signed_request(
                Method::GET,
                "/v1/actions?after=a 1",
                Vec::new(),
                1_700_000_000,
            )
            .unwrap();
        assert_eq!(
            request.url().as_str(),
            "http://127.0.0.1:9/forest/v1/actions?after=a%201"
        );
        let signed_path_and_query = "/forest/v1/actions?after=a%201";
        let verified = Verifier::default().verify(
            &RequestParts {
                method: "GET",
                path_and_query: signed_path_and_query,
                body: b"",
            },
            request.headers(),
            1_700_000_000,
            |_| Some(key.verifying_key()),
        );
        assert!(verified.is_ok(), "{verified:?}");
    }

    #[test]
    fn bad_base_urls_and_paths_are_refused() {
        let key = SigningKey::generate();
        let key_id = || KeyId::parse("metro-2024").unwrap();
        for url in ["not a url", "ftp://host", "http://host/?q=1"] {
            assert!(matches!(
                PartnerClient::new(url, key_id(), key.clone()),
                Err(PartnerError::InvalidBaseUrl { .. })
            ));
        }
        let client = client("http://127.0.0.1:9", &key);
        for path in ["v1/actions", "/v1/actions#frag"] {
            assert!(matches!(
                client.signed_request(Method::GET, path, Vec::new(), 0),
                Err(PartnerError::InvalidPath { .. })
            ));
        }
    }
}
