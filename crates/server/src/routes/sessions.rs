//! Registration, login and logout for built-in accounts, and sessions an operator's backend
//! mints for its own users.

use crate::auth::{CurrentUser, Operator, Secret, hash_password, verify_password};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiJson;
use crate::routes::{UserView, rfc3339};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use openforest_core::{Handle, Role, UserId};
use openforest_store::{NewUser, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const PASSWORD_CHARS_MIN: usize = 8;
const PASSWORD_CHARS_MAX: usize = 256;
const EXTERNAL_ID_CHARS_MAX: usize = 128;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3 to 32 characters of a-z, 0-9, `_`, `.`, `-` (case-insensitive).
    pub handle: String,
    /// 8 to 256 characters.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// Send as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    pub expires_at: String,
    pub user: UserView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OperatorSessionRequest {
    /// The operator's own id for this user (1 to 128 characters). The same id always maps to
    /// the same openforest user.
    pub external_user_id: String,
    /// A handle for a user seen for the first time; generated when absent.
    #[serde(default)]
    pub handle: Option<String>,
}

fn parse_handle(raw: &str) -> ApiResult<Handle> {
    Handle::parse(raw).map_err(|err| ApiError::invalid("handle", err.to_string()))
}

fn check_password(password: &str) -> ApiResult<()> {
    let chars = password.chars().count();
    if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
        return Err(ApiError::invalid(
            "password",
            format!("a password has {PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters"),
        ));
    }
    Ok(())
}

/// Creates a session for `user` and answers it.
pub(crate) async fn open_session(state: &AppState, user: &User) -> ApiResult<SessionView> {
    let token = Secret::generate("ofs_");
    let ttl_ms = i64::from(state.config.auth.session_ttl_hours) * 3_600_000;
    let expires_at = state.clock.now().plus_millis(ttl_ms);
    state
        .store
        .create_session(token.sha256(), user.user_id, expires_at)
        .await?;
    Ok(SessionView {
        token: token.expose().to_string(),
        expires_at: rfc3339(expires_at),
        user: user.into(),
    })
}

/// Creates a built-in account (the API's registration and the web sign-up page).
pub(crate) async fn create_account(
    state: &AppState,
    handle: &str,
    password: String,
) -> ApiResult<User> {
    let handle = parse_handle(handle)?;
    check_password(&password)?;
    Ok(state
        .store
        .create_user(NewUser {
            user_id: UserId(openforest_store::new_id(state.clock.now())),
            handle,
            role: Role::User,
            password_hash: Some(hash_password(password).await?),
            created_at: state.clock.now(),
        })
        .await?)
}

/// The user behind a handle and password (the API's login and the web sign-in page).
pub(crate) async fn check_credentials(
    state: &AppState,
    handle: &str,
    password: String,
) -> ApiResult<User> {
    const WRONG: ApiError = ApiError::Unauthorized("the handle or the password is wrong");
    let handle = Handle::parse(handle).map_err(|_| WRONG)?;
    let (user, hash) = state
        .store
        .user_by_handle(handle.as_str())
        .await?
        .ok_or(WRONG)?;
    let hash = hash.ok_or(WRONG)?;
    if !verify_password(password, hash).await {
        return Err(WRONG);
    }
    Ok(user)
}

/// Registers a user with a handle and password.
#[utoipa::path(
    post,
    path = "/v1/users",
    tag = "users",
    request_body = Credentials,
    responses(
        (status = 201, body = UserView),
        (status = 409, description = "handle taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn register(
    State(state): State<AppState>,
    body: ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let credentials = body.value;
    let user = create_account(&state, &credentials.handle, credentials.password).await?;
    Ok((StatusCode::CREATED, Json((&user).into())))
}

/// Logs in with a handle and password.
#[utoipa::path(
    post,
    path = "/v1/sessions",
    tag = "users",
    request_body = Credentials,
    responses(
        (status = 201, body = SessionView),
        (status = 401, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn login(
    State(state): State<AppState>,
    body: ApiJson<Credentials>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    let credentials = body.value;
    let user = check_credentials(&state, &credentials.handle, credentials.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(open_session(&state, &user).await?),
    ))
}

/// Ends the current session.
#[utoipa::path(
    delete,
    path = "/v1/sessions/current",
    tag = "users",
    security(("session" = [])),
    responses((status = 204), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
pub async fn logout(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized("no session"))?;
    crate::auth::end_session(&state, token.trim()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An operator's backend creates a session for its own user (created on first sight).
#[utoipa::path(
    post,
    path = "/v1/operator/sessions",
    tag = "operator",
    request_body = OperatorSessionRequest,
    security(("operator_key" = [])),
    responses(
        (status = 201, body = SessionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn operator_session(
    State(state): State<AppState>,
    Operator(key): Operator,
    body: ApiJson<OperatorSessionRequest>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    let request = body.value;
    let external_id = request.external_user_id.trim();
    if external_id.is_empty() || external_id.chars().count() > EXTERNAL_ID_CHARS_MAX {
        return Err(ApiError::invalid(
            "external_user_id",
            format!("an external user id has 1 to {EXTERNAL_ID_CHARS_MAX} characters"),
        ));
    }
    let user_id = UserId(openforest_store::new_id(state.clock.now()));
    let handle = match &request.handle {
        Some(raw) => parse_handle(raw)?,
        // The random tail of the UUIDv7: 64 bits, so generated handles do not collide.
        None => parse_handle(&format!("u-{}", &user_id.uuid().simple().to_string()[16..]))?,
    };
    let user = state
        .store
        .user_for_external_id(
            &format!("{}:{external_id}", key.key_id),
            NewUser {
                user_id,
                handle,
                role: Role::User,
                password_hash: None,
                created_at: state.clock.now(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(open_session(&state, &user).await?),
    ))
}
