//! The forest: home (my balls, wallet, friends by what I can take now), collecting my ripe
//! balls, stealing from friends', and my feed. Every movement goes through the writer.

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::ApiPath;
use crate::routes::rfc3339;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use futures_util::future::join_all;
use openforest_core::harvest::previous_day;
use openforest_core::methodology::{Tz, day_key};
use openforest_core::{
    BallId, BallRef, Collect, Command, Grams, Outcome, Steal, StealRules, Timestamp, UserId, Water,
};
use openforest_store::digest::DigestBall;
use openforest_store::{BallState, Envelope, ForestHomeRows};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;
use std::collections::{HashMap, HashSet};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Friends shown on the home screen at most, those with the most to take first.
const HOME_FRIENDS_MAX: usize = 50;
const FEED_LIMIT_MAX: u32 = 100;

#[derive(Debug, Serialize, ToSchema)]
pub struct ForestBallView {
    pub ball_id: Uuid,
    /// `ripening` or `ripe`.
    pub state: &'static str,
    pub grams: u64,
    pub remaining_grams: u64,
    pub ripens_at: String,
    pub expires_at: String,
    /// Milliseconds until it ripens (0 once ripe), for the countdown.
    pub ripens_in_ms: i64,
    pub action: String,
}

fn ball_view(ball: &BallState, now: Timestamp) -> ForestBallView {
    ForestBallView {
        ball_id: ball.ball.ball_id.uuid(),
        state: if now < ball.ball.ripens_at {
            "ripening"
        } else {
            "ripe"
        },
        grams: ball.ball.grams.get(),
        remaining_grams: ball.remaining.get(),
        ripens_at: rfc3339(ball.ball.ripens_at),
        expires_at: rfc3339(ball.ball.expires_at),
        ripens_in_ms: (ball.ball.ripens_at.millis() - now.millis()).max(0),
        action: ball.ball.action.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FriendHarvestView {
    pub user_id: Uuid,
    pub handle: String,
    /// Grams I could take from this friend's ripe balls right now.
    pub stealable_grams: u64,
    /// Their ripe balls I could still take from.
    pub stealable_balls: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TreeProgressView {
    /// What the next tree costs.
    pub goal_grams: u64,
    /// How far my wallet is towards it, 0 to 100.
    pub percent: u8,
    /// Trees my wallet could plant now.
    pub trees_ready: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ForestHomeView {
    pub wallet_grams: u64,
    pub tree: TreeProgressView,
    /// My balls that have not expired and still hold energy, ripening and ripe.
    pub balls: Vec<ForestBallView>,
    pub ripe_grams: u64,
    /// Friends I can take energy from now, most first (at most 50), then `friends_total`.
    pub friends: Vec<FriendHarvestView>,
    pub friends_total: usize,
    /// Energy my actions made today (operator-local day), by action, most first.
    pub today: Vec<ActionGramsView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionGramsView {
    /// The methodology's action key (`metro_ride`), or `watering`.
    pub action: String,
    pub grams: u64,
}

/// Grams made on `today` by action, most first: from the balls that still hold energy, which
/// are all of a day's balls until they ripen (the next morning).
fn made_today(balls: &[BallState], today: &str, zone: Tz) -> Vec<ActionGramsView> {
    let mut by_action: HashMap<&str, u64> = HashMap::new();
    for ball in balls
        .iter()
        .filter(|ball| day_key(ball.ball.created_at, zone).as_str() == today)
    {
        *by_action.entry(ball.ball.action.as_str()).or_default() += ball.ball.grams.get();
    }
    let mut today: Vec<ActionGramsView> = by_action
        .into_iter()
        .map(|(action, grams)| ActionGramsView {
            action: action.to_string(),
            grams,
        })
        .collect();
    today.sort_by(|a, b| b.grams.cmp(&a.grams).then_with(|| a.action.cmp(&b.action)));
    today
}

/// What I could take from a ball now under the rules (0 when nothing).
fn stealable(ball: &DigestBall, rules: &StealRules, now: Timestamp) -> Grams {
    if now < ball.ripens_at || now >= ball.expires_at {
        return Grams::ZERO;
    }
    let above_floor = ball
        .remaining
        .checked_sub(rules.owner_floor(ball.grams))
        .unwrap_or(Grams::ZERO);
    rules.share(ball.grams).min(above_floor)
}

/// Forest home: one read on every app open.
#[utoipa::path(get, path = "/v1/me/forest", tag = "forest", security(("session" = [])),
    responses((status = 200, body = ForestHomeView)))]
pub async fn home(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<ForestHomeView>> {
    Ok(Json(forest_home(&state, me.user_id).await?))
}

/// The forest home of `me` (the API's `/v1/me/forest` and the web's forest page).
pub(crate) async fn forest_home(state: &AppState, me: UserId) -> ApiResult<ForestHomeView> {
    let now = state.clock.now();
    let rules = state.config.game.steal;
    // A steal can only matter while its ball lives: 72 h after ripening, ripening at most a
    // couple of days after it was made.
    let steals_since = now.plus_millis(-7 * 24 * 3_600_000);
    // One short row per friend: the digest of the balls they hold energy in (see
    // openforest_store::digest), and their shield.
    let ForestHomeRows {
        friends,
        wallet,
        balls: mine,
        taken,
    } = state.reads.forest_home(me, now, steals_since).await?;
    let mut ranked: Vec<(UserId, Grams, Vec<Uuid>)> = Vec::new();
    for friend in &friends {
        let mut grams = Grams::ZERO;
        let mut balls = Vec::new();
        for ball in friend.digest.balls() {
            if taken.contains(&ball.ball_id)
                || openforest_core::props::shielded(friend.shield, ball.ripens_at, now)
            {
                continue;
            }
            let take = stealable(ball, &rules, now);
            if take > Grams::ZERO {
                grams = grams.checked_add(take).unwrap_or(grams);
                balls.push(ball.ball_id.uuid());
            }
        }
        if grams > Grams::ZERO {
            ranked.push((friend.user_id, grams, balls));
        }
    }
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(HOME_FRIENDS_MAX);
    let ids: Vec<UserId> = ranked.iter().map(|(user, _, _)| *user).collect();
    let mut handles = state.reads.handles(&ids).await?;
    let friend_views = ranked
        .into_iter()
        .map(|(user, grams, balls)| FriendHarvestView {
            user_id: user.uuid(),
            handle: handles.remove(&user).unwrap_or_default(),
            stealable_grams: grams.get(),
            stealable_balls: balls,
        })
        .collect();
    let ripe_grams = mine
        .iter()
        .filter(|ball| ball.ball.ripens_at <= now)
        .map(|ball| ball.remaining.get())
        .sum();
    let goal = state.config.game.tree_goal_grams.max(1);
    Ok(ForestHomeView {
        wallet_grams: wallet.get(),
        tree: TreeProgressView {
            goal_grams: goal,
            percent: u8::try_from((wallet.get() % goal) * 100 / goal).unwrap_or(100),
            trees_ready: wallet.get() / goal,
        },
        balls: mine.iter().map(|ball| ball_view(ball, now)).collect(),
        ripe_grams,
        friends: friend_views,
        friends_total: friends.len(),
        today: made_today(
            &mine,
            &local_day(state, now),
            state.energy.current().timezone,
        ),
    })
}

/// One of a friend's balls, as I see it.
#[derive(Debug)]
pub(crate) struct FriendBallView {
    pub ball: ForestBallView,
    /// Grams a steal would take now under the rules (0 when nothing).
    pub stealable_grams: u64,
    /// I took from this ball already (once per ball).
    pub stolen_by_me: bool,
    /// The owner's shield protects it (up now, or up when it ripened).
    pub shielded: bool,
    /// Ripe and in its last 24 hours: I can collect it for my friend.
    pub helpable: bool,
}

/// A friend's forest as I see it: their live balls and their props in force.
#[derive(Debug)]
pub(crate) struct FriendForestView {
    pub balls: Vec<FriendBallView>,
    pub effects: Vec<openforest_store::PropEffect>,
}

/// `friend`'s forest as `me` sees it (the web's friend forest page): what each ball would give
/// to a steal now, which I already took from, which I can help collect, and their props.
pub(crate) async fn friend_forest(
    state: &AppState,
    me: UserId,
    friend: UserId,
) -> ApiResult<FriendForestView> {
    require_friend(state, me, friend).await?;
    let now = state.clock.now();
    let rules = state.config.game.steal;
    let steals_since = now.plus_millis(-7 * 24 * 3_600_000);
    let friend_only = [friend];
    let (balls, taken, (_, effects)) = futures_util::try_join!(
        state.store.live_balls(&friend_only, now),
        state.store.balls_taken(me, steals_since),
        state.store.props(friend, now),
    )?;
    let help_window = openforest_core::harvest::HELP_WINDOW_MS;
    let shield = effects
        .iter()
        .filter(|effect| effect.user_id == friend && effect.kind == "shield")
        .map(|effect| (effect.active_from, effect.active_until))
        .max_by_key(|(_, until)| *until);
    Ok(FriendForestView {
        balls: balls
            .iter()
            .map(|ball| {
                let stolen_by_me = taken.contains(&ball.ball.ball_id);
                let ripe = ball.ball.ripens_at <= now;
                let shielded = openforest_core::props::shielded(shield, ball.ball.ripens_at, now);
                FriendBallView {
                    ball: ball_view(ball, now),
                    stealable_grams: if stolen_by_me || shielded {
                        0
                    } else {
                        stealable(&DigestBall::of(&ball.ball, ball.remaining), &rules, now).get()
                    },
                    stolen_by_me,
                    shielded,
                    helpable: ripe
                        && ball.remaining > Grams::ZERO
                        && now.millis() >= ball.ball.expires_at.millis() - help_window,
                }
            })
            .collect(),
        effects: effects
            .into_iter()
            .filter(|effect| effect.user_id == friend && effect.active_until > now)
            .collect(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectedView {
    pub ball_id: Uuid,
    pub grams: u64,
    pub wallet_grams: u64,
}

/// The operator-local day of `at`, for daily caps and rankings.
fn local_day(state: &AppState, at: Timestamp) -> SmolStr {
    day_key(at, state.energy.current().timezone).as_str().into()
}

/// The last 7 local days, today first (by the calendar, so a day of 23 or 25 hours is one day).
pub(crate) fn last_week(state: &AppState, now: Timestamp) -> Vec<String> {
    let mut days = vec![local_day(state, now).to_string()];
    while days.len() < 7 {
        let Some(day) = days.last().and_then(|day| previous_day(day)) else {
            break;
        };
        days.push(day);
    }
    days
}

/// Reads that show a friend's forest check the friendship first (takes leave it to the writer).
async fn require_friend(state: &AppState, me: UserId, friend: UserId) -> ApiResult<()> {
    if friend != me && !state.store.are_friends(me, friend).await? {
        return Err(ApiError::Forbidden("only friends can do this"));
    }
    Ok(())
}

fn collected(outcome: Outcome) -> ApiResult<CollectedView> {
    match outcome {
        Outcome::Collected {
            ball_id,
            grams,
            wallet_grams,
            ..
        } => Ok(CollectedView {
            ball_id: ball_id.uuid(),
            grams: grams.get(),
            wallet_grams: wallet_grams.get(),
        }),
        other => Err(ApiError::Internal(format!("a collect answered {other:?}"))),
    }
}

/// Collects one of my ripe balls into my wallet.
#[utoipa::path(post, path = "/v1/me/balls/{ball_id}/collect", tag = "forest",
    params(("ball_id" = Uuid, Path)), security(("session" = [])),
    responses((status = 200, body = CollectedView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not ripe, expired or already collected (`rule`)", body = Problem, content_type = "application/problem+json")))]
pub async fn collect(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(ball_id): ApiPath<Uuid>,
) -> ApiResult<Json<CollectedView>> {
    Ok(Json(collect_ball(&state, me.user_id, ball_id).await?))
}

/// Collects one of `me`'s ripe balls (the API and the web's forest page).
pub(crate) async fn collect_ball(
    state: &AppState,
    me: UserId,
    ball_id: Uuid,
) -> ApiResult<CollectedView> {
    crate::anti_abuse::take_turn(state, me).await?;
    let now = state.clock.now();
    let executed = state
        .store
        .execute(Envelope::new(Command::Collect(Collect {
            ball: BallRef {
                owner_id: me,
                ball_id: BallId(ball_id),
            },
            helper: None,
            day: local_day(state, now),
        })))
        .await?;
    if let Outcome::Collected { streak_days, .. } = executed.outcome {
        crate::routes::props::reward_streak(state, me, streak_days, now).await?;
    }
    collected(executed.outcome)
}

/// Helps a friend: collects their ripe ball that expires within 24 hours. The energy goes to
/// the friend, and their feed thanks me.
#[utoipa::path(post, path = "/v1/friends/{user_id}/balls/{ball_id}/help", tag = "forest",
    params(("user_id" = Uuid, Path, description = "the friend"), ("ball_id" = Uuid, Path)),
    security(("session" = [])),
    responses((status = 200, description = "collected into the friend's wallet", body = CollectedView),
        (status = 403, description = "not a friend", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a rule said no (`rule`: not_expiring_soon, not_ripe, expired, already_collected)", body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json")))]
pub async fn help_collect(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath((owner, ball_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<CollectedView>> {
    Ok(Json(
        help_collect_ball(&state, me.user_id, UserId(owner), ball_id).await?,
    ))
}

/// Collects a friend's expiring ball for them (the API and the web's friend forest page).
pub(crate) async fn help_collect_ball(
    state: &AppState,
    me: UserId,
    owner: UserId,
    ball_id: Uuid,
) -> ApiResult<CollectedView> {
    crate::anti_abuse::take_turn(state, me).await?;
    let day = local_day(state, state.clock.now());
    let executed = state
        .store
        .execute(Envelope::new(Command::Collect(Collect {
            ball: BallRef {
                owner_id: owner,
                ball_id: BallId(ball_id),
            },
            helper: Some(me),
            day,
        })))
        .await?;
    collected(executed.outcome)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Watering {
    /// 10, 18, 33 or 66.
    pub grams: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WateredView {
    pub friend_id: Uuid,
    /// The watering ball the friend receives, ripe at once.
    pub ball_id: Uuid,
    pub grams: u64,
    /// My wallet after watering.
    pub wallet_grams: u64,
}

/// Waters a friend: 10, 18, 33 or 66 g from my wallet arrive as a watering ball, ripe at once;
/// at most 3 times per friend per day.
#[utoipa::path(post, path = "/v1/friends/{user_id}/water", tag = "forest",
    params(("user_id" = Uuid, Path, description = "the friend")),
    request_body = Watering,
    security(("session" = [])),
    responses((status = 201, body = WateredView),
        (status = 403, description = "not a friend", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a rule said no (`rule`: daily_watering_cap, own_forest)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "another amount, or not enough in my wallet", body = Problem, content_type = "application/problem+json")))]
pub async fn water(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath(friend): ApiPath<Uuid>,
    body: crate::extract::ApiJson<Watering>,
) -> ApiResult<(axum::http::StatusCode, Json<WateredView>)> {
    let watered = water_friend(&state, me.user_id, UserId(friend), body.value.grams).await?;
    Ok((axum::http::StatusCode::CREATED, Json(watered)))
}

/// Waters a friend with `grams` from `me`'s wallet (the API and the web's friend forest page).
pub(crate) async fn water_friend(
    state: &AppState,
    me: UserId,
    friend: UserId,
    grams: u64,
) -> ApiResult<WateredView> {
    let now = state.clock.now();
    let command = Command::Water(Water {
        giver_id: me,
        receiver_id: friend,
        grams: Grams::new(grams),
        // A watering ball ripens at once.
        ball_id: BallId(openforest_store::new_ball_id(now)),
        day: local_day(state, now),
        daily_per_friend: state.config.game.waterings_per_friend_per_day,
    });
    match state.store.execute(Envelope::new(command)).await?.outcome {
        Outcome::Watered {
            receiver_id,
            ball_id,
            grams,
            wallet_grams,
            ..
        } => Ok(WateredView {
            friend_id: receiver_id.uuid(),
            ball_id: ball_id.uuid(),
            grams: grams.get(),
            wallet_grams: wallet_grams.get(),
        }),
        other => Err(ApiError::Internal(format!("watering answered {other:?}"))),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectedAllView {
    pub balls: Vec<CollectedView>,
    pub grams: u64,
    pub wallet_grams: u64,
}

/// Collects all my ripe balls in one tap.
#[utoipa::path(post, path = "/v1/me/balls/collect", tag = "forest", security(("session" = [])),
    responses((status = 200, body = CollectedAllView)))]
pub async fn collect_all(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> ApiResult<Json<CollectedAllView>> {
    Ok(Json(collect_all_balls(&state, me.user_id).await?))
}

/// Collects all of `me`'s ripe balls (the API and the web's forest page).
pub(crate) async fn collect_all_balls(state: &AppState, me: UserId) -> ApiResult<CollectedAllView> {
    crate::anti_abuse::take_turn(state, me).await?;
    let now = state.clock.now();
    let day = local_day(state, now);
    let ripe: Vec<BallState> = state
        .store
        .live_balls(&[me], now)
        .await?
        .into_iter()
        .filter(|ball| ball.ball.ripens_at <= now)
        .collect();
    let commands = ripe.iter().map(|ball| {
        state.store.execute(Envelope::new(Command::Collect(Collect {
            ball: BallRef {
                owner_id: me,
                ball_id: ball.ball.ball_id,
            },
            helper: None,
            day: day.clone(),
        })))
    });
    let mut balls = Vec::new();
    // The first collect of the day answers the streak; the others answer 0.
    let mut streak = 0;
    for result in join_all(commands).await {
        match result {
            Ok(executed) => {
                if let Outcome::Collected { streak_days, .. } = executed.outcome {
                    streak = streak.max(streak_days);
                }
                balls.push(collected(executed.outcome)?);
            }
            // Taken meanwhile (stolen to the floor and collected elsewhere, or just expired).
            Err(openforest_store::CommandError::Rejected(openforest_core::Rejection::Rule {
                ..
            })) => {}
            Err(err) => return Err(err.into()),
        }
    }
    crate::routes::props::reward_streak(state, me, streak, now).await?;
    let wallet_grams = state.store.wallet(me).await?.get();
    Ok(CollectedAllView {
        grams: balls.iter().map(|ball| ball.grams).sum(),
        balls,
        wallet_grams,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StolenView {
    pub owner_id: Uuid,
    pub ball_id: Uuid,
    pub grams: u64,
    /// My wallet after the steal.
    pub wallet_grams: u64,
}

/// Takes part of a friend's ripe ball: 30 % of it (at least 1 g), once per ball, while the
/// owner keeps 40 %; at most 20 steals a day (all configurable). The owner's feed says so.
#[utoipa::path(post, path = "/v1/friends/{user_id}/balls/{ball_id}/steal", tag = "forest",
    params(("user_id" = Uuid, Path, description = "the friend"), ("ball_id" = Uuid, Path)),
    security(("session" = [])),
    responses((status = 200, body = StolenView),
        (status = 403, description = "not a friend", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a rule said no (`rule`: not_ripe, expired, once_per_ball, owner_floor, daily_steal_cap)", body = Problem, content_type = "application/problem+json")))]
pub async fn steal(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ApiPath((owner, ball_id)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<Json<StolenView>> {
    Ok(Json(
        steal_ball(&state, me.user_id, UserId(owner), ball_id).await?,
    ))
}

/// Takes part of a friend's ripe ball for `me` (the API and the web's friend forest page).
pub(crate) async fn steal_ball(
    state: &AppState,
    me: UserId,
    owner: UserId,
    ball_id: Uuid,
) -> ApiResult<StolenView> {
    crate::anti_abuse::take_turn(state, me).await?;
    let now = state.clock.now();
    // The writer loads the ball's facts, the friendship and both users' props with the batch.
    let command = Command::Steal(Box::new(Steal {
        thief_id: me,
        ball: BallRef {
            owner_id: owner,
            ball_id: BallId(ball_id),
        },
        day: local_day(state, now),
        rules: state.config.game.steal,
    }));
    match state.store.execute(Envelope::new(command)).await?.outcome {
        Outcome::Stolen {
            owner_id,
            ball_id,
            grams,
            wallet_grams,
            ..
        } => Ok(StolenView {
            owner_id: owner_id.uuid(),
            ball_id: ball_id.uuid(),
            grams: grams.get(),
            wallet_grams: wallet_grams.get(),
        }),
        other => Err(ApiError::Internal(format!("a steal answered {other:?}"))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The `item_id` of the last item already shown: the page after it.
    pub before: Option<Uuid>,
    /// Items per page, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItemView {
    pub item_id: Uuid,
    /// `energy_stolen`: `actor` took `grams` from my ball; `helped_collect`: `actor` collected
    /// my expiring ball for me; `watered`: `actor` gave me a watering ball of `grams`;
    /// `card_gifted`: `actor` gave me a `species_id` card; `card_given`: I gave `actor` one.
    pub kind: String,
    pub actor_id: Option<Uuid>,
    pub actor_handle: Option<String>,
    pub ball_id: Option<Uuid>,
    pub grams: u64,
    pub at: String,
    /// The species card the line is about.
    pub species_id: Option<String>,
}

/// What happened to me, newest first.
#[utoipa::path(get, path = "/v1/me/feed", tag = "forest", params(FeedQuery),
    security(("session" = [])),
    responses((status = 200, body = Vec<FeedItemView>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn feed(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<FeedQuery>,
) -> ApiResult<Json<Vec<FeedItemView>>> {
    Ok(Json(feed_items(&state, me.user_id, query).await?))
}

/// A page of `me`'s feed (the API and the web's feed page).
pub(crate) async fn feed_items(
    state: &AppState,
    me: UserId,
    query: FeedQuery,
) -> ApiResult<Vec<FeedItemView>> {
    let limit = crate::extract::page_limit(query.limit, 20, FEED_LIMIT_MAX)?;
    let items = state.reads.feed(me, query.before, limit).await?;
    let actors: HashSet<UserId> = items.iter().filter_map(|item| item.actor_id).collect();
    let handles = state
        .reads
        .handles(&actors.into_iter().collect::<Vec<_>>())
        .await?;
    Ok(items
        .into_iter()
        .map(|item| FeedItemView {
            item_id: item.item_id,
            kind: item.kind,
            actor_id: item.actor_id.map(|actor| actor.uuid()),
            actor_handle: item.actor_id.and_then(|actor| handles.get(&actor).cloned()),
            ball_id: item.ball_id.map(|ball| ball.uuid()),
            grams: item.grams.get(),
            at: rfc3339(item.at),
            species_id: item.species_id,
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    /// `collected_today` (default), `collected_week` (the last 7 local days),
    /// `collected_all` (all time) or `stolen_today`.
    pub board: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RankView {
    pub rank: usize,
    pub user_id: Uuid,
    pub handle: String,
    pub grams: u64,
    pub me: bool,
}

/// Me and my friends ranked by energy collected (my own balls and what I took), or stolen.
#[utoipa::path(get, path = "/v1/me/rankings", tag = "forest", params(RankingQuery),
    security(("session" = [])),
    responses((status = 200, body = Vec<RankView>),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn rankings(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<RankingQuery>,
) -> ApiResult<Json<Vec<RankView>>> {
    Ok(Json(
        ranking(
            &state,
            me.user_id,
            query.board.as_deref().unwrap_or("collected_today"),
        )
        .await?,
    ))
}

/// Me and my friends on one board (the API and the web's rankings page).
pub(crate) async fn ranking(state: &AppState, me: UserId, board: &str) -> ApiResult<Vec<RankView>> {
    use openforest_core::harvest::{ALL_TIME, COLLECTED_USAGE_ACTION, STEAL_USAGE_ACTION};
    let now = state.clock.now();
    let today = local_day(state, now).to_string();
    let (action, periods) = match board {
        "collected_today" => (COLLECTED_USAGE_ACTION, vec![today]),
        "collected_week" => (COLLECTED_USAGE_ACTION, last_week(state, now)),
        "collected_all" => (COLLECTED_USAGE_ACTION, vec![ALL_TIME.to_string()]),
        "stolen_today" => (STEAL_USAGE_ACTION, vec![today]),
        _ => {
            return Err(ApiError::invalid(
                "board",
                "board is collected_today, collected_week, collected_all or stolen_today",
            ));
        }
    };
    let mut users = state.reads.friends(me).await?;
    users.push(me);
    let totals = state.reads.usage_totals(&users, action, &periods).await?;
    let mut ranked: Vec<(UserId, Grams)> = users
        .iter()
        .map(|user| (*user, totals.get(user).copied().unwrap_or(Grams::ZERO)))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut handles = state.reads.handles(&users).await?;
    Ok(ranked
        .into_iter()
        .enumerate()
        .map(|(index, (user, grams))| RankView {
            rank: index + 1,
            user_id: user.uuid(),
            handle: handles.remove(&user).unwrap_or_default(),
            grams: grams.get(),
            me: user == me,
        })
        .collect())
}
