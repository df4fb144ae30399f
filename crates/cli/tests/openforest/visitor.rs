//! A browser without JavaScript for the web tests: keeps cookies, follows no redirects, sends
//! forms (plain and multipart) and reads what the pages say.

use crate::support::TestApp;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, SET_COOKIE};
use std::collections::BTreeMap;

/// The password the test players are created with (`support::TestApp::user`).
pub const PASSWORD: &str = "correct horse battery";

/// One part of a multipart form: its name, the file's name and type if it is a file, the bytes.
pub type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

pub struct Visitor<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    pub accept_language: Option<&'static str>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        self.hidden("csrf")
    }

    /// The value of the first input named `name` with a value.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = self.body.find(&marker).expect("the input") + marker.len();
        let end = start + self.body[start..].find('"').unwrap();
        self.body[start..end].to_string()
    }

    /// Where a redirect sends the browser.
    pub fn location(&self) -> &str {
        self.headers["location"].to_str().unwrap()
    }

    /// Where a redirect sends the browser, if this is one.
    pub fn redirect(&self) -> Option<&str> {
        self.headers
            .get("location")
            .map(|value| value.to_str().unwrap())
    }

    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|value| value.to_str().unwrap().to_string())
            .find(|value| value.starts_with(&format!("{name}=")))
    }

    /// The text of the element with this id (up to its first tag).
    pub fn text_of(&self, id: &str) -> String {
        let marker = format!(r#"id="{id}""#);
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("#{id} in {}", self.body));
        let start = start + self.body[start..].find('>').unwrap() + 1;
        let end = start + self.body[start..].find('<').unwrap();
        self.body[start..end].trim().to_string()
    }

    /// The page is clean for the CSP: no inline script, style or handler.
    pub fn assert_strict(&self) {
        assert!(!self.body.contains("style="), "no inline styles");
        assert!(!self.body.contains("<script>"), "no inline scripts");
        assert!(!self.body.contains(" onclick="), "no inline handlers");
    }
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Visitor<'a> {
        Visitor {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
            accept_language: None,
        }
    }

    /// A cookie this browser holds.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Sets a cookie as if the site had (the language switch's, in tests).
    pub fn keep_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_string(), value.to_string());
    }

    async fn send(&mut self, mut request: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let cookies: Vec<String> = self
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            request = request.header("cookie", cookies.join("; "));
        }
        if let Some(language) = self.accept_language {
            request = request.header("accept-language", language);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let body = response.text().await.unwrap();
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(self.app.url(path));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(self.app.url(path)).form(form);
        self.send(request).await
    }

    /// Posts a multipart form; `parts` are (name, file name and type if a file, bytes).
    pub async fn post_multipart(&mut self, path: &str, parts: &[Part<'_>]) -> Page {
        let boundary = "----openforest-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, file, bytes) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some((file_name, content_type)) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(self.app.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(request).await
    }

    /// Signs in through the form with the test players' password; answers the forest page.
    pub async fn sign_in(&mut self, handle: &str) -> Page {
        self.sign_in_with(handle, PASSWORD).await;
        self.get("/").await
    }

    /// Signs in through the form; the answer must send the browser to the forest.
    pub async fn sign_in_with(&mut self, handle: &str, password: &str) {
        let csrf = self.get("/signin").await.csrf();
        let signed_in = self
            .post(
                "/signin",
                &[("csrf", &csrf), ("handle", handle), ("password", password)],
            )
            .await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.body
        );
        assert_eq!(signed_in.location(), "/");
    }

    /// Posts a form from `page_path` with that page's CSRF token.
    pub async fn submit_from(
        &mut self,
        page_path: &str,
        action: &str,
        form: &[(&str, &str)],
    ) -> Page {
        let csrf = self.get(page_path).await.csrf();
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    /// Posts a form with this browser's token; answers where it sends the browser back to.
    pub async fn submit(&mut self, action: &str, fields: &[(&str, &str)]) -> String {
        let answer = self.submit_from("/", action, fields).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        answer.location().to_string()
    }
}
