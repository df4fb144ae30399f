//! The Amazing Species album (`/album`): the cards I hold (their art is the public card SVG),
//! their rarity, copies and duplicates; my progress through every set (themed, habitat,
//! region) and its reward; today's draw; giving a duplicate to a friend.

use super::context::{Layout, PageContext, PageError, render};
use super::i18n::Lang;
use super::social::{Done, Notice, answer, notice, prop_name, signed_in, user_named};
use crate::error::ApiResult;
use crate::routes::friends::list_friends;
use crate::routes::species::{SetProgressView, draw_daily_card, gift_card, my_album};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "album.html")]
struct AlbumPage {
    page: Layout,
    notice: Option<Notice>,
    progress_text: String,
    species_collected: usize,
    species_total: usize,
    draw: DrawPanel,
    cards: Vec<CardTile>,
    sets: Vec<SetRow>,
    friends: Vec<String>,
}

struct DrawPanel {
    available: bool,
    text: String,
}

struct CardTile {
    species_id: String,
    name: String,
    card_url: String,
    /// `cr`…`lc`, for the badge's colour.
    category: String,
    rarity: String,
    count_text: String,
    duplicates: u32,
    duplicates_text: String,
}

struct SetRow {
    name: String,
    kind: String,
    owned: usize,
    total: usize,
    progress_text: String,
    reward_text: String,
    complete: bool,
    missing_label: String,
    missing_text: Option<String>,
}

/// The Red List category's name in the page's language.
fn rarity(lang: Lang, category: Option<&str>) -> String {
    match category {
        Some(code @ ("CR" | "EN" | "VU" | "NT" | "LC")) => {
            lang.t(&format!("rarity-{}", code.to_ascii_lowercase()))
        }
        _ => lang.t("rarity-unknown"),
    }
}

fn set_row(state: &AppState, lang: Lang, set: SetProgressView) -> SetRow {
    let kind = match set.kind.as_str() {
        "habitat" => lang.t("set-habitat"),
        "region" => lang.t("set-region"),
        _ => lang.t("set-themed"),
    };
    let reward = lang.tn(
        "set-reward",
        vec![
            ("count", set.reward.count.into()),
            ("prop", prop_name(lang, &set.reward.prop).into()),
        ],
    );
    let reward_text = if set.rewarded_at.is_some() {
        lang.t1("set-rewarded", "reward", reward)
    } else {
        reward
    };
    let catalog = state.species.catalog();
    let missing: Vec<String> = set
        .missing
        .iter()
        .map(|id| {
            catalog
                .get(id)
                .map_or(id.clone(), |s| s.common_name.clone())
        })
        .collect();
    SetRow {
        progress_text: lang.tn(
            "set-progress",
            vec![("owned", set.owned.into()), ("total", set.total.into())],
        ),
        name: set.name,
        kind,
        owned: set.owned,
        total: set.total.max(1),
        reward_text,
        complete: set.complete,
        missing_label: lang.t1("set-missing-count", "count", missing.len()),
        missing_text: (!missing.is_empty()).then(|| missing.join(", ")),
    }
}

/// `/album`.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let lang = context.lang;
    let loaded: ApiResult<_> =
        async { futures_util::try_join!(my_album(&state, me), list_friends(&state, me)) }.await;
    let (album, friends) = loaded.map_err(|err| context.error(err))?;
    let catalog = state.species.catalog();
    let daily = &album.daily_draw;
    let draw = DrawPanel {
        available: daily.available,
        text: match &daily.drawn_species_id {
            Some(id) => lang.t1(
                "draw-done",
                "species",
                catalog
                    .get(id)
                    .map_or(id.clone(), |species| species.common_name.clone()),
            ),
            None if daily.available => lang.t("draw-ready"),
            None => lang.tn(
                "draw-locked",
                vec![
                    ("threshold", daily.threshold_grams.into()),
                    ("collected", daily.collected_today_grams.into()),
                ],
            ),
        },
    };
    let page = AlbumPage {
        page: context.layout(),
        notice: notice(&state, lang, &query, ""),
        progress_text: lang.tn(
            "album-progress",
            vec![
                ("owned", album.species_collected.into()),
                ("total", album.species_total.into()),
            ],
        ),
        species_collected: album.species_collected,
        species_total: album.species_total.max(1),
        draw,
        cards: album
            .cards
            .into_iter()
            .map(|card| CardTile {
                name: if card.common_name.is_empty() {
                    card.species_id.clone()
                } else {
                    card.common_name
                },
                card_url: card.card_url,
                category: card
                    .category
                    .as_deref()
                    .unwrap_or("unknown")
                    .to_ascii_lowercase(),
                rarity: rarity(lang, card.category.as_deref()),
                count_text: lang.t1("card-count", "count", card.count),
                duplicates: card.duplicates,
                duplicates_text: lang.t1("card-duplicates", "count", card.duplicates),
                species_id: card.species_id,
            })
            .collect(),
        sets: album
            .sets
            .into_iter()
            .map(|set| set_row(&state, lang, set))
            .collect(),
        friends: friends.into_iter().map(|friend| friend.handle).collect(),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CardForm {
    #[serde(default)]
    csrf: Option<String>,
    /// For a gift: the friend's handle.
    #[serde(default)]
    friend: String,
}

/// Today's draw.
pub async fn draw(
    State(state): State<AppState>,
    context: PageContext,
    Form(form): Form<CardForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let result = draw_daily_card(&state, me).await.map(|award| Done {
        species: Some(award.species.species_id),
        ..Done::new("drawn")
    });
    answer(&context, "/album", result)
}

/// Gives a duplicate card to a friend.
pub async fn gift(
    State(state): State<AppState>,
    context: PageContext,
    Path(species_id): Path<String>,
    Form(form): Form<CardForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let friend = user_named(&state, &context, &form.friend).await?;
    let result = gift_card(&state, me, friend.user_id, &species_id)
        .await
        .map(|_| Done {
            species: Some(species_id.clone()),
            ..Done::new("card_gifted")
        });
    answer(&context, "/album", result)
}
