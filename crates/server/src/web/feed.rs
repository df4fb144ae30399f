//! My feed (`/feed`): what friends did to my forest and my cards, newest first, a page at a
//! time with the API's cursor (`?before=` the last item shown), each line in the page's
//! language.

use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use super::social::{ago, millis_until, param, signed_in};
use crate::routes::forest::{FeedItemView, FeedQuery, feed_items};
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

/// Lines per page.
pub const FEED_PAGE: u32 = 20;

#[derive(Template)]
#[template(path = "feed.html")]
struct FeedPage {
    page: Layout,
    lines: Vec<FeedLine>,
    /// The link to older lines, when this page is full.
    older: Option<String>,
    /// This is not the first page: a link back to the newest.
    paged: bool,
}

struct FeedLine {
    text: String,
    when: String,
    at: String,
    /// `energy_stolen`, `watered`…, for the line's icon colour.
    kind: String,
}

fn line(state: &AppState, lang: Lang, now_ms: i64, item: FeedItemView) -> FeedLine {
    let name = item.actor_handle.unwrap_or_else(|| lang.t("feed-someone"));
    let species = item
        .species_id
        .as_deref()
        .and_then(|id| state.species.catalog().get(id))
        .map(|species| species.common_name.clone())
        .or(item.species_id.clone())
        .unwrap_or_default();
    let key = match item.kind.as_str() {
        "energy_stolen" => "feed-energy-stolen",
        "helped_collect" => "feed-helped-collect",
        "watered" => "feed-watered",
        "card_gifted" => "feed-card-gifted",
        "card_given" => "feed-card-given",
        _ => "feed-other",
    };
    FeedLine {
        text: lang.tn(
            key,
            vec![
                ("name", name.into()),
                ("grams", item.grams.into()),
                ("species", species.into()),
            ],
        ),
        when: ago(lang, -millis_until(&item.at, now_ms)),
        at: item.at,
        kind: item.kind.replace('_', "-"),
    }
}

/// `/feed`, `/feed?before={item_id}`.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let lang = context.lang;
    let before = match param(&query, "before") {
        None | Some("") => None,
        Some(raw) => Some(
            Uuid::parse_str(raw)
                .map_err(|_| PageError::new(lang, StatusCode::NOT_FOUND, "error-not-found"))?,
        ),
    };
    let items = feed_items(
        &state,
        me,
        FeedQuery {
            before,
            limit: Some(FEED_PAGE),
        },
    )
    .await
    .map_err(|err| context.error(err))?;
    let older = (items.len() == FEED_PAGE as usize)
        .then(|| {
            items
                .last()
                .map(|item| format!("/feed?before={}", item.item_id))
        })
        .flatten();
    let now = state.clock.now().millis();
    let page = FeedPage {
        page: context.layout(),
        lines: items
            .into_iter()
            .map(|item| line(&state, lang, now, item))
            .collect(),
        older,
        paged: before.is_some(),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}
