//! Co-planting groups (family, couple, class, organisation): create, invite, join, leave, and
//! feed the group's pot from my wallet within a daily cap. Each member's share of the pot is a
//! ledger account, so the tree it buys can name every contributor with their share.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use openforest_core::methodology::day_key;
use openforest_core::{Command, FeedPot, Grams, GroupId, Handle, Outcome, UserId};
use openforest_store::{Envelope, JoinResult, PlantingGroup};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const KINDS: [&str; 4] = ["family", "couple", "class", "organisation"];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// 1 to 60 characters.
    pub name: String,
    /// `family`, `couple`, `class` or `organisation`.
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub handle: String,
    /// What this member has put into the pot (their ledger share).
    pub share_grams: u64,
    pub joined_at: String,
    /// Set when the member left; their share stays in the pot.
    pub left_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub group_id: Uuid,
    pub name: String,
    pub kind: String,
    pub created_at: String,
    /// The pot: the sum of every member's share.
    pub pot_grams: u64,
    pub members: Vec<MemberView>,
}

async fn view(state: &AppState, group: PlantingGroup) -> ApiResult<GroupView> {
    let members = state.store.group_members(group.group_id).await?;
    let ids: Vec<UserId> = members.iter().map(|member| member.user_id).collect();
    let shares = state.store.pot_shares(group.group_id, &ids).await?;
    let mut views = Vec::with_capacity(members.len());
    let mut pot = 0u64;
    for (member, (_, share)) in members.into_iter().zip(shares) {
        pot += share.get();
        views.push(MemberView {
            user_id: member.user_id.uuid(),
            handle: state
                .store
                .user(member.user_id)
                .await?
                .map(|user| user.handle.as_str().to_string())
                .unwrap_or_default(),
            share_grams: share.get(),
            joined_at: rfc3339(member.joined_at),
            left_at: member.left_at.map(rfc3339),
        });
    }
    Ok(GroupView {
        group_id: group.group_id.uuid(),
        name: group.name,
        kind: group.kind,
        created_at: rfc3339(group.created_at),
        pot_grams: pot,
        members: views,
    })
}

/// The group, if I am a member now.
pub(crate) async fn my_group(
    state: &AppState,
    me: UserId,
    group_id: Uuid,
) -> ApiResult<PlantingGroup> {
    let group = state
        .store
        .group(GroupId(group_id))
        .await?
        .ok_or(ApiError::NotFound("group"))?;
    let member = state
        .store
        .group_members(group.group_id)
        .await?
        .iter()
        .any(|member| member.user_id == me && member.left_at.is_none());
    if !member {
        return Err(ApiError::Forbidden("only the group's members can do this"));
    }
    Ok(group)
}

/// Creates a co-planting group with me as its first member.
#[utoipa::path(post, path = "/v1/groups", tag = "groups", request_body = NewGroup,
    security(("session" = [])),
    responses((status = 201, body = GroupView),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: ApiJson<NewGroup>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let created = create_group(&state, me.user_id, body.value).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Creates a group with `me` as its first member (the API and the planting page).
pub(crate) async fn create_group(
    state: &AppState,
    me: UserId,
    request: NewGroup,
) -> ApiResult<GroupView> {
    let name = request.name.trim().to_string();
    if !(1..=60).contains(&name.chars().count()) {
        return Err(ApiError::invalid(
            "name",
            "a group's name has 1 to 60 characters",
        ));
    }
    if !KINDS.contains(&request.kind.as_str()) {
        return Err(ApiError::invalid(
            "kind",
            format!("a group is one of {}", KINDS.join(", ")),
        ));
    }
    let now = state.clock.now();
    let group = PlantingGroup {
        group_id: GroupId(openforest_store::new_id(now)),
        name,
        kind: request.kind,
        created_by: me,
        created_at: now,
    };
    state.store.create_group(&group).await?;
    view(state, group).await
}

/// My groups.
#[utoipa::path(get, path = "/v1/me/groups", tag = "groups", security(("session" = [])),
    responses((status = 200, body = Vec<GroupView>)))]
pub async fn mine(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<Vec<GroupView>>> {
    Ok(Json(groups_of(&state, me.user_id).await?))
}

/// The groups a user is a member of now, with every member's share.
pub(crate) async fn groups_of(state: &AppState, me: UserId) -> ApiResult<Vec<GroupView>> {
    let mut views = Vec::new();
    for group in state.store.user_groups(me).await? {
        views.push(view(state, group).await?);
    }
    Ok(views)
}

/// One of my groups, with every member's share.
#[utoipa::path(get, path = "/v1/groups/{group_id}", tag = "groups",
    params(("group_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = GroupView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn detail(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(group_id): ApiPath<Uuid>,
) -> ApiResult<Json<GroupView>> {
    let group = my_group(&state, me.user_id, group_id).await?;
    Ok(Json(view(&state, group).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInvite {
    pub handle: String,
}

/// Invites someone by handle (members only).
#[utoipa::path(post, path = "/v1/groups/{group_id}/invites", tag = "groups",
    params(("group_id" = Uuid, Path)), request_body = GroupInvite, security(("session" = [])),
    responses((status = 204, description = "invited"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already a member (`rule`: already_member)", body = Problem, content_type = "application/problem+json")))]
pub async fn invite(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(group_id): ApiPath<Uuid>,
    body: ApiJson<GroupInvite>,
) -> ApiResult<StatusCode> {
    invite_member(&state, me.user_id, group_id, &body.value.handle).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites the user with `handle` to a group of mine.
pub(crate) async fn invite_member(
    state: &AppState,
    me: UserId,
    group_id: Uuid,
    handle: &str,
) -> ApiResult<()> {
    let group = my_group(state, me, group_id).await?;
    let handle =
        Handle::parse(handle.trim()).map_err(|err| ApiError::invalid("handle", err.to_string()))?;
    let (user, _) = state
        .store
        .user_by_handle(handle.as_str())
        .await?
        .ok_or(ApiError::NotFound("user with that handle"))?;
    if state
        .store
        .invite_to_group(group.group_id, user.user_id, me, state.clock.now())
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::GameRule {
            rule: "already_member",
            detail: format!("{} is a member already", handle.as_str()),
        })
    }
}

/// Accepts an invitation to a group.
#[utoipa::path(post, path = "/v1/groups/{group_id}/join", tag = "groups",
    params(("group_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = GroupView),
        (status = 403, description = "not invited", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "full or already a member (`rule`)", body = Problem, content_type = "application/problem+json")))]
pub async fn join(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(group_id): ApiPath<Uuid>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(join_group(&state, me.user_id, group_id).await?))
}

/// Accepts my invitation to a group (the API and the planting page's "join by code").
pub(crate) async fn join_group(
    state: &AppState,
    me: UserId,
    group_id: Uuid,
) -> ApiResult<GroupView> {
    let group = state
        .store
        .group(GroupId(group_id))
        .await?
        .ok_or(ApiError::NotFound("group"))?;
    let max = state.config.game.group_members_max;
    match state
        .store
        .join_group(group.group_id, me, state.clock.now(), max)
        .await?
    {
        JoinResult::Joined => view(state, group).await,
        JoinResult::NotInvited => Err(ApiError::Forbidden("join a group when invited")),
        JoinResult::Full => Err(ApiError::GameRule {
            rule: "group_full",
            detail: format!("a group has at most {max} members"),
        }),
        JoinResult::AlreadyMember => Err(ApiError::GameRule {
            rule: "already_member",
            detail: "you are a member already".into(),
        }),
    }
}

/// Leaves a group; what I put into the pot stays there, under my name.
#[utoipa::path(post, path = "/v1/groups/{group_id}/leave", tag = "groups",
    params(("group_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 204, description = "left"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn leave(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(group_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    leave_group(&state, me.user_id, group_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leaves a group; my share stays in the pot.
pub(crate) async fn leave_group(state: &AppState, me: UserId, group_id: Uuid) -> ApiResult<()> {
    if state
        .store
        .leave_group(GroupId(group_id), me, state.clock.now())
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound("membership"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PotFeed {
    /// Grams from my wallet, at least 1.
    pub grams: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PotFedView {
    pub group_id: Uuid,
    pub grams: u64,
    /// My share of the pot now.
    pub share_grams: u64,
    pub wallet_grams: u64,
}

/// Puts grams from my wallet into the group's pot (500 g per member per day by default).
#[utoipa::path(post, path = "/v1/groups/{group_id}/pot", tag = "groups",
    params(("group_id" = Uuid, Path)), request_body = PotFeed, security(("session" = [])),
    responses((status = 201, body = PotFedView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "the daily cap (`rule`: daily_pot_cap)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "0 g or not enough in my wallet", body = Problem, content_type = "application/problem+json")))]
pub async fn feed_pot(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(group_id): ApiPath<Uuid>,
    body: ApiJson<PotFeed>,
) -> ApiResult<(StatusCode, Json<PotFedView>)> {
    let fed = feed_group_pot(&state, me.user_id, group_id, body.value.grams).await?;
    Ok((StatusCode::CREATED, Json(fed)))
}

/// Puts grams from my wallet into a group's pot, within the daily cap.
pub(crate) async fn feed_group_pot(
    state: &AppState,
    me: UserId,
    group_id: Uuid,
    grams: u64,
) -> ApiResult<PotFedView> {
    let group = my_group(state, me, group_id).await?;
    if grams == 0 {
        return Err(ApiError::invalid("grams", "put at least 1 g into the pot"));
    }
    let now = state.clock.now();
    let command = Command::FeedPot(FeedPot {
        member_id: me,
        group_id: group.group_id,
        grams: Grams::new(grams),
        day: day_key(now, state.energy.current().timezone)
            .as_str()
            .into(),
        daily_cap: Grams::new(state.config.game.pot_daily_grams_per_member),
    });
    match state.store.execute(Envelope::new(command)).await?.outcome {
        Outcome::PotFed {
            group_id,
            grams,
            share_grams,
            wallet_grams,
            ..
        } => Ok(PotFedView {
            group_id: group_id.uuid(),
            grams: grams.get(),
            share_grams: share_grams.get(),
            wallet_grams: wallet_grams.get(),
        }),
        other => Err(ApiError::Internal(format!(
            "feeding a pot answered {other:?}"
        ))),
    }
}
