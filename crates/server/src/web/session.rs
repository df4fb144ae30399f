//! Signing in, signing up and out with forms, and the language switch. Sign-in opens the same
//! kind of session the API's login does and keeps its token in an HttpOnly cookie.

use super::context::{PageContext, PageError, SESSION_COOKIE, cookie, removal, render};
use super::i18n::{LANG_COOKIE, Lang};
use crate::error::ApiError;
use crate::routes::sessions::{check_credentials, create_account, open_session};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    page: super::context::Layout,
    /// What was typed, shown again after a mistake (escaped like everything else).
    handle: String,
    error: Option<String>,
    signup: bool,
}

#[derive(Debug, Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    password: String,
}

fn form_page(
    context: &PageContext,
    status: StatusCode,
    signup: bool,
    handle: String,
    error: Option<String>,
) -> Result<Response, PageError> {
    let page = SigninPage {
        page: context.layout(),
        handle,
        error,
        signup,
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((status, context.jar(), html).into_response())
}

/// Someone signed in goes to their forest instead.
pub async fn signin_page(context: PageContext) -> Result<Response, PageError> {
    if context.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    form_page(&context, StatusCode::OK, false, String::new(), None)
}

pub async fn signup_page(context: PageContext) -> Result<Response, PageError> {
    if context.user.is_some() {
        return Ok(Redirect::to("/").into_response());
    }
    form_page(&context, StatusCode::OK, true, String::new(), None)
}

/// Opens a session for `user` and goes to the forest with its cookie.
async fn start_session(
    state: &AppState,
    context: &PageContext,
    user: &openforest_store::User,
) -> Result<Response, PageError> {
    let session = open_session(state, user)
        .await
        .map_err(|err| context.error(err))?;
    let max_age = i64::from(state.config.auth.session_ttl_hours) * 3_600;
    let jar = context
        .jar()
        .add(cookie(SESSION_COOKIE, session.token, max_age));
    Ok((jar, Redirect::to("/")).into_response())
}

pub async fn signin(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<CredentialsForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    match check_credentials(&state, &form.handle, form.password).await {
        Ok(user) => start_session(&state, &context, &user).await,
        Err(ApiError::Unauthorized(_)) => {
            let error = Some(context.lang.t("signin-wrong"));
            form_page(
                &context,
                StatusCode::UNAUTHORIZED,
                false,
                form.handle,
                error,
            )
        }
        Err(err) => Err(context.error(err)),
    }
}

pub async fn signup(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<CredentialsForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let key = match create_account(&state, &form.handle, form.password).await {
        Ok(user) => return start_session(&state, &context, &user).await,
        Err(ApiError::InvalidField { field, .. }) if field == "password" => "signup-bad-password",
        Err(ApiError::InvalidField { .. }) => "signup-bad-handle",
        Err(ApiError::Conflict { .. }) => "signup-taken",
        Err(err) => return Err(context.error(err)),
    };
    let error = Some(context.lang.t(key));
    form_page(
        &context,
        StatusCode::UNPROCESSABLE_ENTITY,
        true,
        form.handle,
        error,
    )
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: Option<String>,
}

/// Ends the session behind the cookie and forgets the cookie.
pub async fn signout(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    if let Some(token) = &context.session_token {
        crate::auth::end_session(&state, token)
            .await
            .map_err(|err| context.error(err))?;
    }
    let jar = context.jar().add(removal(SESSION_COOKIE));
    Ok((jar, Redirect::to("/signin")).into_response())
}

#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

const LANG_COOKIE_SECONDS: i64 = 400 * 24 * 3_600;

/// Only our own pages are places to come back to: a path, never `//host` or a URL.
fn local_path(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.contains('\\');
    if local && next.chars().all(|c| c.is_ascii_graphic()) {
        next
    } else {
        "/"
    }
}

/// The language switch: remembers the choice in a cookie and goes back to the page.
pub async fn language(
    context: PageContext,
    Form(form): Form<LanguageForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let lang = Lang::from_code(&form.lang).ok_or(PageError::new(
        context.lang,
        StatusCode::UNPROCESSABLE_ENTITY,
        "error-language",
    ))?;
    let jar = context.jar().add(cookie(
        LANG_COOKIE,
        lang.code().to_string(),
        LANG_COOKIE_SECONDS,
    ));
    Ok((jar, Redirect::to(local_path(&form.next))).into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_language_switch_only_returns_to_our_own_pages() {
        assert_eq!(super::local_path("/signin"), "/signin");
        assert_eq!(super::local_path("//evil.example/"), "/");
        assert_eq!(super::local_path("https://evil.example/"), "/");
        assert_eq!(super::local_path("/\\evil.example"), "/");
        assert_eq!(super::local_path(""), "/");
    }
}
