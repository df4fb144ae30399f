//! Props: shields, double-collect cards and steal multipliers. An inventory with counts and
//! expiry; using one starts its effect; friends can gift them; admins grant them; a 7-day
//! collecting streak earns a shield. Props move no energy: the steal reads the effects in
//! force and the writer applies them.

use crate::auth::{CurrentAdmin, CurrentUser};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
pub use openforest_core::props::{DOUBLE_COLLECT, KINDS, SHIELD, STEAL_MULTIPLIER};
use openforest_core::{Timestamp, UserId};
use openforest_store::PropEffect;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

const HOUR_MS: i64 = 3_600_000;
const GRANT_COUNT_MAX: u32 = 100;
/// The task a 7-day collecting streak completes.
pub const STREAK_TASK: &str = "collect_streak_7";

fn check_kind(kind: &str, field: &str) -> ApiResult<()> {
    if KINDS.contains(&kind) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            field,
            format!("a prop is one of {}", KINDS.join(", ")),
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropStockView {
    pub kind: String,
    pub count: u32,
    /// When the first of them expires unused.
    pub next_expiry: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropEffectView {
    pub kind: String,
    pub active_from: String,
    pub active_until: String,
    /// For `steal_multiplier`: the factor in thousandths (1500 = ×1.5).
    pub multiplier_permille: u32,
}

impl From<PropEffect> for PropEffectView {
    fn from(effect: PropEffect) -> Self {
        PropEffectView {
            kind: effect.kind,
            active_from: rfc3339(effect.active_from),
            active_until: rfc3339(effect.active_until),
            multiplier_permille: effect.multiplier_permille,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PropsView {
    pub inventory: Vec<PropStockView>,
    pub active: Vec<PropEffectView>,
}

/// My props: unused ones by kind, and those in force.
#[utoipa::path(get, path = "/v1/me/props", tag = "forest", security(("session" = [])),
    responses((status = 200, body = PropsView)))]
pub async fn mine(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<PropsView>> {
    Ok(Json(my_props(&state, me.user_id).await?))
}

/// `me`'s props (the API and the web's props page).
pub(crate) async fn my_props(state: &AppState, me: UserId) -> ApiResult<PropsView> {
    let (stock, effects) = state.store.props(me, state.clock.now()).await?;
    Ok(PropsView {
        inventory: stock
            .into_iter()
            .map(|stock| PropStockView {
                kind: stock.kind,
                count: stock.count,
                next_expiry: rfc3339(stock.next_expiry),
            })
            .collect(),
        active: effects.into_iter().map(Into::into).collect(),
    })
}

/// Uses one prop of a kind: a shield or double-collect card for 24 h, a multiplier for 3 days
/// (configurable); using one while the effect is up extends it.
#[utoipa::path(post, path = "/v1/me/props/{kind}/use", tag = "forest",
    params(("kind" = String, Path, description = "shield, double_collect or steal_multiplier")),
    security(("session" = [])),
    responses((status = 200, body = PropEffectView),
        (status = 409, description = "none left (`rule`: no_prop)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn use_prop(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(kind): ApiPath<String>,
) -> ApiResult<Json<PropEffectView>> {
    Ok(Json(use_prop_of_kind(&state, me.user_id, &kind).await?))
}

/// Uses one of `me`'s props of `kind` (the API and the web's props page).
pub(crate) async fn use_prop_of_kind(
    state: &AppState,
    me: UserId,
    kind: &str,
) -> ApiResult<PropEffectView> {
    check_kind(kind, "kind")?;
    let settings = &state.config.game.props;
    let (hours, multiplier) = match kind {
        SHIELD => (i64::from(settings.shield_hours), 1_000),
        DOUBLE_COLLECT => (i64::from(settings.double_collect_hours), 1_000),
        _ => (
            i64::from(settings.steal_multiplier_days) * 24,
            settings.steal_multiplier_permille,
        ),
    };
    let effect = state
        .store
        .use_prop(me, kind, hours * HOUR_MS, multiplier, state.clock.now())
        .await?
        .ok_or_else(|| ApiError::GameRule {
            rule: "no_prop",
            detail: format!("you have no {kind} left"),
        })?;
    Ok(effect.into())
}

/// Gives one of my props to a friend; their feed says so.
#[utoipa::path(post, path = "/v1/friends/{user_id}/props/{kind}/gift", tag = "forest",
    params(("user_id" = Uuid, Path, description = "the friend"), ("kind" = String, Path)),
    security(("session" = [])),
    responses((status = 204, description = "given"),
        (status = 403, description = "not a friend", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "none left (`rule`: no_prop)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn gift(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath((friend, kind)): ApiPath<(Uuid, String)>,
) -> ApiResult<StatusCode> {
    gift_prop(&state, me.user_id, UserId(friend), &kind).await
}

/// Gives one of `me`'s props to a friend (the API and the web's props page).
pub(crate) async fn gift_prop(
    state: &AppState,
    me: UserId,
    friend: UserId,
    kind: &str,
) -> ApiResult<StatusCode> {
    check_kind(kind, "kind")?;
    if friend == me || !state.store.are_friends(me, friend).await? {
        return Err(ApiError::Forbidden("props are gifted to friends"));
    }
    if state
        .store
        .gift_prop(me, friend, kind, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::GameRule {
            rule: "no_prop",
            detail: format!("you have no {kind} left"),
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropGrant {
    pub user_id: Uuid,
    /// shield, double_collect or steal_multiplier.
    pub kind: String,
    /// 1 to 100.
    pub count: u32,
}

/// Grants props to a user (campaigns, support).
#[utoipa::path(post, path = "/v1/admin/props/grants", tag = "admin", request_body = PropGrant,
    security(("session" = [])),
    responses((status = 201, description = "granted"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn grant(
    State(state): State<AppState>,
    _admin: CurrentAdmin,
    body: ApiJson<PropGrant>,
) -> ApiResult<StatusCode> {
    grant_props(&state, body.value).await?;
    Ok(StatusCode::CREATED)
}

/// Checks and grants props to a user (the API's and the admin console's way).
pub(crate) async fn grant_props(state: &AppState, request: PropGrant) -> ApiResult<()> {
    check_kind(&request.kind, "kind")?;
    if !(1..=GRANT_COUNT_MAX).contains(&request.count) {
        return Err(ApiError::invalid(
            "count",
            format!("grant 1 to {GRANT_COUNT_MAX} props at a time"),
        ));
    }
    let user = UserId(request.user_id);
    state
        .store
        .user(user)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let now = state.clock.now();
    state
        .store
        .grant_props(
            user,
            &request.kind,
            request.count,
            "admin",
            expiry(state, now),
            now,
        )
        .await?;
    Ok(())
}

fn expiry(state: &AppState, now: Timestamp) -> Timestamp {
    now.plus_millis(i64::from(state.config.game.props.inventory_days) * 24 * HOUR_MS)
}

/// Days in a row with energy collected that complete the streak task.
pub const STREAK_DAYS: u32 = 7;

/// After a collect: a 7-day collecting streak (the writer answers `streak_days`, the days in a
/// row with energy collected, on the first collect of a day) earns the configured shields and
/// species cards, once per 7 days. Anything shorter returns at once, reading nothing.
pub async fn reward_streak(
    state: &AppState,
    user: UserId,
    streak_days: u32,
    now: Timestamp,
) -> ApiResult<()> {
    let nothing_to_give = state.config.game.props.streak_reward_shields == 0
        && state.config.species.streak_reward_cards == 0;
    if streak_days < STREAK_DAYS || nothing_to_give {
        return Ok(());
    }
    // The last 7 local days, newest first.
    let days = crate::routes::forest::last_week(state, now);
    if days.len() < 7 {
        return Ok(());
    }
    if state
        .store
        .task_rewarded(user, STREAK_TASK, &days[1..])
        .await?
    {
        return Ok(());
    }
    if state
        .store
        .reward_task(user, STREAK_TASK, &days[0], now)
        .await?
    {
        state
            .store
            .grant_props(
                user,
                SHIELD,
                state.config.game.props.streak_reward_shields,
                "task",
                expiry(state, now),
                now,
            )
            .await?;
        for card in 0..state.config.species.streak_reward_cards {
            let period = match card {
                0 => days[0].clone(),
                _ => format!("{}#{card}", days[0]),
            };
            let reason = crate::species::CardReason::Task {
                task: STREAK_TASK.to_string(),
                period,
            };
            crate::species::award_card(state, user, reason).await?;
        }
    }
    Ok(())
}
