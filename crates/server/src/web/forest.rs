//! My forest: the tree growing towards the next planting, my energy balls around it (ripe ones
//! to collect, ripening ones counting down) and my wallet. Collecting is a plain form POST, so
//! it works without JavaScript; `app.js` enhances it (fetch, animation, the wallet updated),
//! asking for JSON with `Accept: application/json`.

use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use super::session::CsrfForm;
use crate::routes::forest::{
    ForestBallView, ForestHomeView, collect_all_balls, collect_ball, forest_home,
};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::Serialize;
use uuid::Uuid;

/// Balls drawn around the tree; "collect all" takes the rest too.
const BALLS_SHOWN_MAX: usize = 8;

#[derive(Template)]
#[template(path = "forest.html")]
struct ForestPage {
    page: Layout,
    wallet_text: String,
    ripe_text: String,
    progress_text: String,
    trees_ready_text: Option<String>,
    tree: TreeDrawing,
    percent: u8,
    balls: Vec<BallCard>,
    more_text: Option<String>,
    any_ripe: bool,
    /// Today's energy by action: the action's name and its grams, worded.
    today: Vec<(String, String)>,
}

/// The tree's geometry for the SVG, from its progress: it grows from a sapling to full size.
struct TreeDrawing {
    /// Scale of the whole tree, 0.35 to 1.
    scale: String,
    /// Crown circles are drawn from the third stage on, fuller as the tree grows.
    leaves: usize,
    /// What the picture shows, for screen readers.
    alt: String,
}

struct BallCard {
    ball_id: Uuid,
    ripe: bool,
    slot: usize,
    grams_text: String,
    action: String,
    label: String,
    /// For ripening balls: `H:MM:SS` and the milliseconds left, which `app.js` counts down.
    countdown: String,
    ripens_in_ms: i64,
}

pub(super) fn countdown(ms: i64) -> String {
    let seconds = (ms.max(0) + 999) / 1000;
    format!(
        "{}:{:02}:{:02}",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn card(lang: Lang, slot: usize, ball: &ForestBallView) -> BallCard {
    let ripe = ball.state == "ripe";
    let grams_text = lang.t1("grams", "grams", ball.remaining_grams);
    let time = countdown(ball.ripens_in_ms);
    let label = if ripe {
        lang.t1("ball-collect", "grams", ball.remaining_grams)
    } else {
        lang.t1("ball-ripens-in", "time", time.clone())
    };
    BallCard {
        ball_id: ball.ball_id,
        ripe,
        slot,
        grams_text,
        action: ball.action.clone(),
        label,
        countdown: time,
        ripens_in_ms: ball.ripens_in_ms,
    }
}

fn tree(lang: Lang, percent: u8) -> TreeDrawing {
    let scale = 0.35 + 0.65 * f64::from(percent.min(100)) / 100.0;
    TreeDrawing {
        scale: format!("{scale:.3}"),
        leaves: 1 + usize::from(percent) / 20,
        alt: lang.t1("tree-alt", "percent", percent),
    }
}

fn forest_page(
    context: &PageContext,
    home: &ForestHomeView,
    methodology: &openforest_core::Methodology,
) -> ForestPage {
    let lang = context.lang;
    // Ripe balls first: they are what there is to do.
    let mut shown: Vec<&ForestBallView> = home.balls.iter().collect();
    shown.sort_by_key(|ball| (ball.state != "ripe", ball.ripens_in_ms));
    let hidden = shown.len().saturating_sub(BALLS_SHOWN_MAX);
    shown.truncate(BALLS_SHOWN_MAX);
    ForestPage {
        page: context.layout(),
        wallet_text: lang.t1("grams", "grams", home.wallet_grams),
        ripe_text: lang.t1("ripe-total", "grams", home.ripe_grams),
        progress_text: progress_text(lang, home.tree.percent, home.tree.goal_grams),
        trees_ready_text: (home.tree.trees_ready > 0)
            .then(|| lang.t1("trees-ready", "count", home.tree.trees_ready)),
        tree: tree(lang, home.tree.percent),
        percent: home.tree.percent,
        balls: shown
            .into_iter()
            .enumerate()
            .map(|(slot, ball)| card(lang, slot, ball))
            .collect(),
        more_text: (hidden > 0).then(|| lang.t1("balls-more", "count", hidden)),
        any_ripe: home.ripe_grams > 0,
        today: home
            .today
            .iter()
            .map(|made| {
                (
                    lang.action(&made.action, methodology),
                    lang.t1("grams", "grams", made.grams),
                )
            })
            .collect(),
    }
}

fn progress_text(lang: Lang, percent: u8, goal_grams: u64) -> String {
    lang.tn(
        "tree-progress",
        vec![("percent", percent.into()), ("goal", goal_grams.into())],
    )
}

/// `/`: my forest, or the sign-in page for someone signed out.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
) -> Result<Response, PageError> {
    let Some(me) = context.user.as_ref() else {
        return Ok(context.to_signin());
    };
    let home = forest_home(&state, me.user_id)
        .await
        .map_err(|err| context.error(err))?;
    let html = render(&forest_page(
        &context,
        &home,
        &state.energy.current().methodology,
    ))
    .map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

/// What `app.js` gets back after collecting: the wallet, already in the page's language.
#[derive(Serialize)]
struct CollectedJson {
    grams: u64,
    wallet_grams: u64,
    wallet_text: String,
    percent: u8,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

fn collected(
    state: &AppState,
    context: &PageContext,
    headers: &HeaderMap,
    grams: u64,
    wallet_grams: u64,
) -> Response {
    if !wants_json(headers) {
        return Redirect::to("/").into_response();
    }
    let goal = state.config.game.tree_goal_grams.max(1);
    Json(CollectedJson {
        grams,
        wallet_grams,
        wallet_text: context.lang.t1("grams", "grams", wallet_grams),
        percent: u8::try_from(wallet_grams % goal * 100 / goal).unwrap_or(100),
    })
    .into_response()
}

/// Collects one ripe ball.
pub async fn collect(
    State(state): State<AppState>,
    context: PageContext,
    headers: HeaderMap,
    Path(ball_id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.as_ref() else {
        return Ok(context.to_signin());
    };
    let done = collect_ball(&state, me.user_id, ball_id)
        .await
        .map_err(|err| context.error(err))?;
    Ok(collected(
        &state,
        &context,
        &headers,
        done.grams,
        done.wallet_grams,
    ))
}

/// Collects every ripe ball at once.
pub async fn collect_all(
    State(state): State<AppState>,
    context: PageContext,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = context.user.as_ref() else {
        return Ok(context.to_signin());
    };
    let done = collect_all_balls(&state, me.user_id)
        .await
        .map_err(|err| context.error(err))?;
    Ok(collected(
        &state,
        &context,
        &headers,
        done.grams,
        done.wallet_grams,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_countdown_reads_hours_minutes_seconds_rounded_up() {
        assert_eq!(super::countdown(0), "0:00:00");
        assert_eq!(super::countdown(1), "0:00:01");
        assert_eq!(super::countdown(3_723_000), "1:02:03");
        assert_eq!(super::countdown(-5), "0:00:00");
    }
}
