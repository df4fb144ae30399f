//! My friends (`/friends`): those with the most energy I can take now first, each a link to
//! their forest; my invite code; asking someone by handle or invite code; requests to accept
//! or decline; removing and blocking. A friend's forest (`/friends/{handle}`): their balls to
//! steal from or help collect, watering them, their shield and cards in force. Every action is
//! a plain form that comes back to the page with what happened, or why the game said no.

use super::context::{Layout, PageContext, PageError, render};
use super::forest::countdown;
use super::i18n::Lang;
use super::session::CsrfForm;
use super::social::{
    Done, Notice, answer, millis_until, notice, prop_name, signed_in, time_left, user_named,
};
use crate::error::ApiResult;
use crate::routes::forest::{
    FriendBallView, forest_home, friend_forest, help_collect_ball, steal_ball, water_friend,
};
use crate::routes::friends::{
    FriendInvite, answer as answer_request, block_user, friend_requests, invite_friend,
    list_friends, my_invite_code, remove_friend,
};
use crate::routes::props::{DOUBLE_COLLECT, SHIELD, STEAL_MULTIPLIER};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The amounts a friend can be watered with.
pub const WATERINGS: [u64; 4] = [10, 18, 33, 66];

#[derive(Template)]
#[template(path = "friends.html")]
struct FriendsPage {
    page: Layout,
    notice: Option<Notice>,
    invite_code: String,
    friends: Vec<FriendRow>,
    requests: Vec<RequestRow>,
}

struct FriendRow {
    handle: String,
    /// "24 g to take now", or nothing to take.
    harvest_text: Option<String>,
}

struct RequestRow {
    handle: String,
    asked_text: String,
}

type QueryPairs = Query<Vec<(String, String)>>;

/// `/friends`.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): QueryPairs,
) -> Result<Response, PageError> {
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let lang = context.lang;
    let loaded: ApiResult<_> = async {
        futures_util::try_join!(
            forest_home(&state, me),
            list_friends(&state, me),
            friend_requests(&state, me),
            my_invite_code(&state, me),
        )
    }
    .await;
    let (home, all, requests, invite_code) = loaded.map_err(|err| context.error(err))?;
    // Those with energy to take first, most first (forest home's order), then the others.
    let harvest: HashMap<Uuid, u64> = home
        .friends
        .iter()
        .map(|friend| (friend.user_id, friend.stealable_grams))
        .collect();
    let mut friends: Vec<FriendRow> = home
        .friends
        .iter()
        .map(|friend| FriendRow {
            handle: friend.handle.clone(),
            harvest_text: Some(lang.t1("friend-harvest", "grams", friend.stealable_grams)),
        })
        .collect();
    friends.extend(
        all.iter()
            .filter(|friend| !harvest.contains_key(&friend.user_id))
            .map(|friend| FriendRow {
                handle: friend.handle.clone(),
                harvest_text: None,
            }),
    );
    let now = state.clock.now().millis();
    let page = FriendsPage {
        page: context.layout(),
        notice: notice(&state, lang, &query, ""),
        invite_code,
        friends,
        requests: requests
            .into_iter()
            .map(|request| RequestRow {
                asked_text: super::social::ago(lang, -millis_until(&request.requested_at, now)),
                handle: request.handle,
            })
            .collect(),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    invite_code: String,
}

/// Asks someone to be friends, by handle or by invite code (whichever was filled in).
pub async fn invite(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<InviteForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let filled = |text: &str| Some(text.trim().to_string()).filter(|text| !text.is_empty());
    let invite = FriendInvite {
        handle: filled(&form.handle),
        invite_code: filled(&form.invite_code),
    };
    let result =
        invite_friend(&state, me, &invite)
            .await
            .map(|friendship| match friendship.status {
                "friends" => Done::new("befriended"),
                _ => Done::new("requested"),
            });
    answer(&context, "/friends", result)
}

/// What can be done to a friend (or someone who asked) from the friends page.
#[derive(Clone, Copy)]
enum FriendAction {
    Accept,
    Decline,
    Remove,
    Block,
}

async fn act(
    state: AppState,
    context: PageContext,
    handle: String,
    form: CsrfForm,
    action: FriendAction,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let other = user_named(&state, &context, &handle).await?.user_id;
    let result = match action {
        FriendAction::Accept => answer_request(&state, me, other.uuid(), true)
            .await
            .map(|_| Done::new("accepted")),
        FriendAction::Decline => answer_request(&state, me, other.uuid(), false)
            .await
            .map(|_| Done::new("declined")),
        FriendAction::Remove => remove_friend(&state, me, other.uuid())
            .await
            .map(|_| Done::new("removed")),
        FriendAction::Block => block_user(&state, me, other)
            .await
            .map(|_| Done::new("blocked")),
    };
    answer(&context, "/friends", result)
}

pub async fn accept(
    State(state): State<AppState>,
    context: PageContext,
    Path(handle): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    act(state, context, handle, form, FriendAction::Accept).await
}

pub async fn decline(
    State(state): State<AppState>,
    context: PageContext,
    Path(handle): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    act(state, context, handle, form, FriendAction::Decline).await
}

pub async fn remove(
    State(state): State<AppState>,
    context: PageContext,
    Path(handle): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    act(state, context, handle, form, FriendAction::Remove).await
}

pub async fn block(
    State(state): State<AppState>,
    context: PageContext,
    Path(handle): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    act(state, context, handle, form, FriendAction::Block).await
}

#[derive(Template)]
#[template(path = "friends_forest.html")]
struct FriendForestPage {
    page: Layout,
    notice: Option<Notice>,
    handle: String,
    title: String,
    wallet_text: String,
    shield_text: Option<String>,
    cards: Vec<String>,
    balls: Vec<FriendBallCard>,
    waterings: Vec<Watering>,
}

struct FriendBallCard {
    ball_id: Uuid,
    grams_text: String,
    action: String,
    /// `ripe` or `ripening`, for the picture.
    state: &'static str,
    /// Ripening: `H:MM:SS` and the milliseconds left (counted down by `app.js`).
    countdown: Option<(String, i64)>,
    steal_label: Option<String>,
    help_label: Option<String>,
    /// Why there is nothing to do with a ripe ball.
    note: Option<String>,
}

struct Watering {
    grams: u64,
    amount: String,
    label: String,
}

fn ball_card(lang: Lang, handle: &str, view: &FriendBallView) -> FriendBallCard {
    let ball = &view.ball;
    let ripe = ball.state == "ripe";
    let steal_label =
        (ripe && view.stealable_grams > 0).then(|| lang.t1("steal", "grams", view.stealable_grams));
    let help_label = view.helpable.then(|| {
        lang.tn(
            "help-collect",
            vec![
                ("grams", ball.remaining_grams.into()),
                ("name", handle.to_string().into()),
            ],
        )
    });
    let note = if !ripe || steal_label.is_some() {
        None
    } else if view.stolen_by_me {
        Some(lang.t("ball-stolen-by-me"))
    } else if view.shielded {
        Some(lang.t("ball-shielded"))
    } else {
        Some(lang.t("ball-at-floor"))
    };
    FriendBallCard {
        ball_id: ball.ball_id,
        grams_text: lang.t1("grams", "grams", ball.remaining_grams),
        action: ball.action.clone(),
        state: if ripe { "ripe" } else { "ripening" },
        countdown: (!ripe).then(|| (countdown(ball.ripens_in_ms), ball.ripens_in_ms)),
        steal_label,
        help_label,
        note,
    }
}

/// `/friends/{handle}`: a friend's forest.
pub async fn forest(
    State(state): State<AppState>,
    context: PageContext,
    Path(handle): Path<String>,
    Query(query): QueryPairs,
) -> Result<Response, PageError> {
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let lang = context.lang;
    let friend = user_named(&state, &context, &handle).await?;
    if friend.user_id == me {
        return Ok(Redirect::to("/").into_response());
    }
    let handle = friend.handle.to_string();
    let loaded: ApiResult<_> = async {
        let view = friend_forest(&state, me, friend.user_id).await?;
        let wallet = state.store.wallet(me).await?;
        Ok((view, wallet))
    }
    .await;
    let (view, wallet) = loaded.map_err(|err| context.error(err))?;
    let now = state.clock.now();
    let until = |effect: &openforest_store::PropEffect| {
        time_left(lang, effect.active_until.millis() - now.millis())
    };
    let up_now = |effect: &&openforest_store::PropEffect| effect.active_from <= now;
    let shield_text = view
        .effects
        .iter()
        .filter(up_now)
        .find(|effect| effect.kind == SHIELD)
        .map(|effect| lang.t1("shield-up", "time", until(effect)));
    let cards = view
        .effects
        .iter()
        .filter(up_now)
        .filter(|effect| effect.kind == DOUBLE_COLLECT || effect.kind == STEAL_MULTIPLIER)
        .map(|effect| {
            lang.tn(
                "card-up",
                vec![
                    ("card", prop_name(lang, &effect.kind).into()),
                    ("time", until(effect).into()),
                ],
            )
        })
        .collect();
    // Ripe balls first: they are what there is to do.
    let mut balls: Vec<&FriendBallView> = view.balls.iter().collect();
    balls.sort_by_key(|ball| (ball.ball.state != "ripe", ball.ball.ripens_in_ms));
    let page = FriendForestPage {
        page: context.layout(),
        notice: notice(&state, lang, &query, &handle),
        title: lang.t1("friend-forest-title", "name", handle.clone()),
        wallet_text: lang.t1("grams", "grams", wallet.get()),
        shield_text,
        cards,
        balls: balls
            .into_iter()
            .map(|ball| ball_card(lang, &handle, ball))
            .collect(),
        waterings: WATERINGS
            .iter()
            .map(|&grams| Watering {
                grams,
                amount: lang.t1("grams", "grams", grams),
                label: lang.tn(
                    "water-amount",
                    vec![("grams", grams.into()), ("name", handle.clone().into())],
                ),
            })
            .collect(),
        handle,
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

/// Takes part of a friend's ripe ball.
pub async fn steal(
    State(state): State<AppState>,
    context: PageContext,
    Path((handle, ball_id)): Path<(String, Uuid)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let friend = user_named(&state, &context, &handle).await?;
    let result = steal_ball(&state, me, friend.user_id, ball_id)
        .await
        .map(|stolen| Done::grams("stolen", stolen.grams));
    answer(&context, &format!("/friends/{}", friend.handle), result)
}

/// Collects a friend's ball in its last 24 hours, for them.
pub async fn help(
    State(state): State<AppState>,
    context: PageContext,
    Path((handle, ball_id)): Path<(String, Uuid)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let friend = user_named(&state, &context, &handle).await?;
    let result = help_collect_ball(&state, me, friend.user_id, ball_id)
        .await
        .map(|collected| Done::grams("helped", collected.grams));
    answer(&context, &format!("/friends/{}", friend.handle), result)
}

#[derive(Debug, Deserialize)]
pub struct WaterForm {
    #[serde(default)]
    csrf: Option<String>,
    /// Text, so that a tampered amount is the game's refusal rather than a bare 422.
    #[serde(default)]
    grams: String,
}

/// Waters a friend with 10, 18, 33 or 66 g.
pub async fn water(
    State(state): State<AppState>,
    context: PageContext,
    Path(handle): Path<String>,
    Form(form): Form<WaterForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let friend = user_named(&state, &context, &handle).await?;
    let back = format!("/friends/{}", friend.handle);
    let Ok(grams) = form.grams.trim().parse::<u64>() else {
        return answer(
            &context,
            &back,
            Err(crate::error::ApiError::invalid("grams", "not a number")),
        );
    };
    let result = water_friend(&state, me, friend.user_id, grams)
        .await
        .map(|watered| Done::grams("watered", watered.grams));
    answer(&context, &back, result)
}
