//! Friends: ask by handle, accept or decline, list, remove. Up to `game.friends_max` each.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openforest_core::{Handle, UserId};
use openforest_store::FriendRequestResult;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Whom to ask: by handle, or by the invite code they shared (exactly one of the two).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FriendInvite {
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default)]
    pub invite_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendshipView {
    pub user_id: Uuid,
    pub handle: String,
    /// `requested` (waiting for their answer) or `friends`.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendRequestView {
    pub user_id: Uuid,
    pub handle: String,
    pub requested_at: String,
}

fn too_many(limit: u32) -> ApiError {
    ApiError::GameRule {
        rule: "friends_max",
        detail: format!("one of you already has {limit} friends, the most allowed"),
    }
}

async fn handle_of(state: &AppState, user_id: UserId) -> ApiResult<String> {
    Ok(state
        .store
        .user(user_id)
        .await?
        .map(|user| user.handle.as_str().to_string())
        .unwrap_or_default())
}

/// Asks someone to be friends, by handle. If they had asked me first, we are friends at once.
#[utoipa::path(
    post,
    path = "/v1/me/friends",
    tag = "friends",
    request_body = FriendInvite,
    security(("session" = [])),
    responses(
        (status = 201, body = FriendshipView),
        (status = 404, description = "no such handle", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already friends, or the friend limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn invite(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: ApiJson<FriendInvite>,
) -> ApiResult<(StatusCode, Json<FriendshipView>)> {
    Ok((
        StatusCode::CREATED,
        Json(invite_friend(&state, me.user_id, &body.value).await?),
    ))
}

/// Asks someone to be friends (the API and the web's friends page).
pub(crate) async fn invite_friend(
    state: &AppState,
    me: UserId,
    invite: &FriendInvite,
) -> ApiResult<FriendshipView> {
    let (other, field) = match (&invite.handle, &invite.invite_code) {
        (Some(handle), None) => {
            let handle = Handle::parse(handle.trim())
                .map_err(|err| ApiError::invalid("handle", err.to_string()))?;
            let (other, _) = state
                .store
                .user_by_handle(handle.as_str())
                .await?
                .ok_or(ApiError::NotFound("user with that handle"))?;
            (other, "handle")
        }
        (None, Some(code)) => {
            let code = code.trim().to_ascii_uppercase();
            let user_id = state
                .store
                .user_by_invite_code(&code)
                .await?
                .ok_or(ApiError::NotFound("invite code"))?;
            let other = state
                .store
                .user(user_id)
                .await?
                .ok_or(ApiError::NotFound("invite code"))?;
            (other, "invite_code")
        }
        _ => {
            return Err(ApiError::invalid(
                "handle",
                "send either handle or invite_code",
            ));
        }
    };
    if other.user_id == me {
        return Err(ApiError::invalid(field, "you cannot befriend yourself"));
    }
    let limit = state.config.game.friends_max;
    let status = match state
        .store
        .request_friend(me, other.user_id, state.clock.now(), limit)
        .await?
    {
        FriendRequestResult::Requested => "requested",
        FriendRequestResult::BecameFriends => "friends",
        FriendRequestResult::AlreadyFriends => {
            return Err(ApiError::GameRule {
                rule: "already_friends",
                detail: "you are already friends".into(),
            });
        }
        FriendRequestResult::TooManyFriends => return Err(too_many(limit)),
        FriendRequestResult::Blocked => {
            return Err(ApiError::Forbidden("one of you blocked the other"));
        }
    };
    Ok(FriendshipView {
        user_id: other.user_id.uuid(),
        handle: other.handle.as_str().to_string(),
        status,
    })
}

/// My friends.
#[utoipa::path(get, path = "/v1/me/friends", tag = "friends", security(("session" = [])),
    responses((status = 200, body = Vec<FriendshipView>)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<Vec<FriendshipView>>> {
    Ok(Json(list_friends(&state, me.user_id).await?))
}

/// `me`'s friends by handle (the API and the web's friends page).
pub(crate) async fn list_friends(state: &AppState, me: UserId) -> ApiResult<Vec<FriendshipView>> {
    let ids = state.store.friends(me).await?;
    let mut handles = state.store.handles(&ids).await?;
    let mut friends: Vec<FriendshipView> = ids
        .into_iter()
        .map(|friend| FriendshipView {
            user_id: friend.uuid(),
            handle: handles.remove(&friend).unwrap_or_default(),
            status: "friends",
        })
        .collect();
    friends.sort_by(|a, b| a.handle.cmp(&b.handle));
    Ok(friends)
}

/// Requests waiting for my answer, oldest first.
#[utoipa::path(get, path = "/v1/me/friend-requests", tag = "friends", security(("session" = [])),
    responses((status = 200, body = Vec<FriendRequestView>)))]
pub async fn requests(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<Vec<FriendRequestView>>> {
    Ok(Json(friend_requests(&state, me.user_id).await?))
}

/// Requests waiting for `me`'s answer (the API and the web's friends page).
pub(crate) async fn friend_requests(
    state: &AppState,
    me: UserId,
) -> ApiResult<Vec<FriendRequestView>> {
    let mut views = Vec::new();
    for (from, at) in state.store.friend_requests(me).await? {
        views.push(FriendRequestView {
            user_id: from.uuid(),
            handle: handle_of(state, from).await?,
            requested_at: rfc3339(at),
        });
    }
    Ok(views)
}

/// Accepts or declines a friend request (the API and the web's friends page).
pub(crate) async fn answer(
    state: &AppState,
    me: UserId,
    from: Uuid,
    accept: bool,
) -> ApiResult<StatusCode> {
    let limit = state.config.game.friends_max;
    match state
        .store
        .answer_friend_request(me, UserId(from), accept, state.clock.now(), limit)
        .await?
    {
        None => Err(ApiError::NotFound("friend request")),
        Some(FriendRequestResult::TooManyFriends) => Err(too_many(limit)),
        Some(_) => Ok(StatusCode::NO_CONTENT),
    }
}

/// Accepts a friend request.
#[utoipa::path(post, path = "/v1/me/friend-requests/{user_id}/accept", tag = "friends",
    params(("user_id" = Uuid, Path, description = "who asked")), security(("session" = [])),
    responses((status = 204, description = "now friends"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the friend limit", body = Problem, content_type = "application/problem+json")))]
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(from): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    answer(&state, me.user_id, from, true).await
}

/// Declines a friend request.
#[utoipa::path(post, path = "/v1/me/friend-requests/{user_id}/decline", tag = "friends",
    params(("user_id" = Uuid, Path, description = "who asked")), security(("session" = [])),
    responses((status = 204, description = "declined"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn decline(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(from): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    answer(&state, me.user_id, from, false).await
}

/// Ends a friendship, for both.
#[utoipa::path(delete, path = "/v1/me/friends/{user_id}", tag = "friends",
    params(("user_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 204, description = "no longer friends"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(friend): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    remove_friend(&state, me.user_id, friend).await
}

/// Ends a friendship (the API and the web's friends page).
pub(crate) async fn remove_friend(
    state: &AppState,
    me: UserId,
    friend: Uuid,
) -> ApiResult<StatusCode> {
    if state.store.remove_friend(me, UserId(friend)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("friend"))
    }
}

/// The alphabet of invite codes: no 0/O or 1/I/L to misread.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LENGTH: usize = 8;

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteCodeView {
    /// Give it to a friend: they ask with `{"invite_code": …}`.
    pub invite_code: String,
}

/// My invite code (made on first ask, then always the same).
#[utoipa::path(get, path = "/v1/me/invite-code", tag = "friends", security(("session" = [])),
    responses((status = 200, body = InviteCodeView)))]
pub async fn invite_code(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<InviteCodeView>> {
    Ok(Json(InviteCodeView {
        invite_code: my_invite_code(&state, me.user_id).await?,
    }))
}

/// `me`'s invite code, made on first ask (the API and the web's friends page).
pub(crate) async fn my_invite_code(state: &AppState, me: UserId) -> ApiResult<String> {
    use rand::Rng;
    for _ in 0..8 {
        let candidate: String = {
            let mut rng = rand::thread_rng();
            (0..CODE_LENGTH)
                .map(|_| char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())]))
                .collect()
        };
        match state
            .store
            .invite_code(me, &candidate, state.clock.now())
            .await
        {
            Ok(invite_code) => return Ok(invite_code),
            Err(openforest_store::StoreError::Conflict(_)) => continue,
            Err(err) => return Err(err.into()),
        }
    }
    Err(ApiError::Internal(
        "no free invite code after 8 draws".into(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockRequest {
    pub user_id: Uuid,
}

/// Blocks someone: ends our friendship and pending requests, and neither of us can ask again.
#[utoipa::path(post, path = "/v1/me/blocks", tag = "friends", request_body = BlockRequest,
    security(("session" = [])),
    responses((status = 204, description = "blocked"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn block(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: ApiJson<BlockRequest>,
) -> ApiResult<StatusCode> {
    block_user(&state, me.user_id, UserId(body.value.user_id)).await
}

/// Blocks someone (the API and the web's friends page).
pub(crate) async fn block_user(
    state: &AppState,
    me: UserId,
    other: UserId,
) -> ApiResult<StatusCode> {
    if other == me {
        return Err(ApiError::invalid("user_id", "you cannot block yourself"));
    }
    state
        .store
        .user(other)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    state.store.block_user(me, other, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lifts a block I made.
#[utoipa::path(delete, path = "/v1/me/blocks/{user_id}", tag = "friends",
    params(("user_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 204, description = "unblocked"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn unblock(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(other): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    if state.store.unblock_user(me.user_id, UserId(other)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("block"))
    }
}
