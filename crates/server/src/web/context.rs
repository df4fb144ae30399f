//! What every page request knows about its browser: the language, the signed-in user (from
//! the session cookie), the CSRF binding, and the layout data every page renders with; and the
//! error page.

use super::csrf::{self, Binding, CSRF_COOKIE};
use super::i18n::{LANG_COOKIE, Lang};
use crate::auth::{Secret, user_for_session};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use openforest_core::Role;
use openforest_store::User;
use std::sync::Arc;

/// The cookie that holds the session token (the same tokens the API takes as bearer tokens).
pub const SESSION_COOKIE: &str = "of_session";

/// A cookie only our pages can use: not readable by scripts, not sent on cross-site
/// sub-requests or over plain HTTP (Chromium counts localhost as secure).
pub fn cookie(name: &'static str, value: String, max_age_seconds: i64) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .secure(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(::cookie::time::Duration::seconds(max_age_seconds))
        .build()
}

/// A cookie that tells the browser to forget `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    cookie(name, String::new(), 0)
}

pub struct PageContext {
    pub lang: Lang,
    pub user: Option<User>,
    pub session_token: Option<String>,
    /// The anonymous CSRF cookie's value, and whether it is new (so must be set).
    anonymous: (String, bool),
    csrf_key: Arc<Vec<u8>>,
    path: String,
}

const CSRF_COOKIE_SECONDS: i64 = 400 * 24 * 3_600;

impl FromRequestParts<AppState> for PageContext {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let jar = CookieJar::from_headers(&parts.headers);
        let accept_language = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok());
        let lang = Lang::negotiate(
            jar.get(LANG_COOKIE).map(|cookie| cookie.value()),
            accept_language,
        );
        let session_token = jar
            .get(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_string());
        let user = match &session_token {
            Some(token) => user_for_session(state, token)
                .await
                .map_err(|err| PageError::from_api(lang, err))?,
            None => None,
        };
        let anonymous = match jar.get(CSRF_COOKIE) {
            Some(cookie) if !cookie.value().is_empty() => (cookie.value().to_string(), false),
            _ => (Secret::generate("ofc_").expose().to_string(), true),
        };
        Ok(PageContext {
            lang,
            session_token: user.as_ref().and(session_token),
            user,
            anonymous,
            csrf_key: state.csrf_key.clone(),
            path: parts.uri.path().to_string(),
        })
    }
}

impl PageContext {
    fn binding(&self) -> Binding<'_> {
        match &self.session_token {
            Some(token) => Binding::Session(token),
            None => Binding::Anonymous(&self.anonymous.0),
        }
    }

    /// The token this browser's forms carry.
    pub fn csrf_token(&self) -> String {
        csrf::token(&self.csrf_key, &self.binding())
    }

    /// Refuses (403) a state-changing form without this browser's token.
    pub fn require_csrf(&self, presented: Option<&str>) -> Result<(), PageError> {
        match presented {
            Some(token) if csrf::verify(&self.csrf_key, &self.binding(), token) => Ok(()),
            _ => Err(PageError::new(
                self.lang,
                StatusCode::FORBIDDEN,
                "error-csrf",
            )),
        }
    }

    /// The cookies to send with a page: the anonymous CSRF cookie when it is new.
    pub fn jar(&self) -> CookieJar {
        let jar = CookieJar::new();
        if self.anonymous.1 {
            jar.add(cookie(
                CSRF_COOKIE,
                self.anonymous.0.clone(),
                CSRF_COOKIE_SECONDS,
            ))
        } else {
            jar
        }
    }

    /// What the layout shows: the language switch, the signed-in handle, sign out.
    pub fn layout(&self) -> Layout {
        Layout {
            lang: self.lang,
            csrf: self.csrf_token(),
            handle: self.user.as_ref().map(|user| user.handle.to_string()),
            asset_version: super::assets::version(),
            languages: Lang::ALL
                .into_iter()
                .map(|lang| LanguageChoice {
                    code: lang.code(),
                    name: lang.native_name(),
                    selected: lang == self.lang,
                })
                .collect(),
            nav: nav(self.user.as_ref(), &self.path),
            path: self.path.clone(),
        }
    }

    /// Where a signed-out browser goes: to sign in (with this browser's cookies).
    pub fn to_signin(&self) -> Response {
        (self.jar(), axum::response::Redirect::to("/signin")).into_response()
    }

    /// An API error shown as a page.
    pub fn error(&self, err: ApiError) -> PageError {
        PageError::from_api(self.lang, err)
    }
}

/// The pages in the navigation: path, message key, and who sees the link.
const NAV: &[(&str, &str, Audience)] = &[
    ("/", "nav-forest", Audience::Player),
    ("/friends", "nav-friends", Audience::Player),
    ("/plant", "nav-plant", Audience::Player),
    ("/certificates", "nav-certificates", Audience::Player),
    ("/feed", "nav-feed", Audience::Player),
    ("/rankings", "nav-rankings", Audience::Player),
    ("/props", "nav-props", Audience::Player),
    ("/album", "nav-album", Audience::Player),
    ("/impact", "nav-impact", Audience::Everyone),
    ("/verify", "nav-verify", Audience::Everyone),
    ("/ngo", "nav-ngo", Audience::Player),
    ("/admin", "nav-admin", Audience::Admin),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    Everyone,
    Player,
    Admin,
}

/// One link in the navigation.
pub struct NavLink {
    pub path: &'static str,
    pub key: &'static str,
    /// This page, or a page under it (`aria-current="page"`).
    pub current: bool,
}

fn nav(user: Option<&User>, path: &str) -> Vec<NavLink> {
    NAV.iter()
        .filter(|(_, _, audience)| match audience {
            Audience::Everyone => true,
            Audience::Player => user.is_some(),
            Audience::Admin => user.is_some_and(|user| user.role == Role::Admin),
        })
        .map(|&(link, key, _)| NavLink {
            path: link,
            key,
            current: if link == "/" {
                path == "/"
            } else {
                path == link || path.starts_with(&format!("{link}/"))
            },
        })
        .collect()
}

pub struct LanguageChoice {
    pub code: &'static str,
    pub name: String,
    pub selected: bool,
}

/// The data every page's layout (`base.html`) needs.
pub struct Layout {
    pub lang: Lang,
    pub csrf: String,
    pub handle: Option<String>,
    pub asset_version: &'static str,
    pub languages: Vec<LanguageChoice>,
    pub nav: Vec<NavLink>,
    /// This page's path, where the language switch comes back to.
    pub path: String,
}

impl Layout {
    pub fn t(&self, key: &str) -> String {
        self.lang.t(key)
    }
}

/// Renders a template, or the error page when it cannot be.
pub fn render(template: &impl Template) -> Result<Html<String>, ApiError> {
    template
        .render()
        .map(Html)
        .map_err(|err| ApiError::Internal(format!("rendering a page: {err}")))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Layout,
    message: String,
}

/// A page that went wrong: its status and a message in the browser's language.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    lang: Lang,
    key: &'static str,
}

impl PageError {
    pub fn new(lang: Lang, status: StatusCode, key: &'static str) -> PageError {
        PageError { status, lang, key }
    }

    pub fn from_api(lang: Lang, err: ApiError) -> PageError {
        let response = err.into_response();
        let status = response.status();
        let key = match status {
            StatusCode::UNAUTHORIZED => "error-signin",
            StatusCode::FORBIDDEN => "error-forbidden",
            StatusCode::NOT_FOUND => "error-not-found",
            StatusCode::CONFLICT => "error-conflict",
            StatusCode::TOO_MANY_REQUESTS => "error-too-fast",
            _ => "error-internal",
        };
        PageError { status, lang, key }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        // The error page has no forms that change anything, so it needs no CSRF binding.
        let page = ErrorPage {
            page: Layout {
                lang: self.lang,
                csrf: String::new(),
                handle: None,
                asset_version: super::assets::version(),
                languages: Vec::new(),
                nav: Vec::new(),
                path: "/".into(),
            },
            message: self.lang.t(self.key),
        };
        match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(err) => {
                tracing::error!(%err, "rendering the error page");
                self.status.into_response()
            }
        }
    }
}
