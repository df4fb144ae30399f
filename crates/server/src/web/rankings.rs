//! Rankings among me and my friends (`/rankings?board=`): energy collected today, this week
//! and all time, and stolen today; the boards are tabs (plain links).

use super::context::{Layout, PageContext, PageError, render};
use super::social::{param, signed_in};
use crate::routes::forest::ranking;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The boards, as the API names them, with their tab's message.
pub const BOARDS: [(&str, &str); 4] = [
    ("collected_today", "board-collected-today"),
    ("collected_week", "board-collected-week"),
    ("collected_all", "board-collected-all"),
    ("stolen_today", "board-stolen-today"),
];

#[derive(Template)]
#[template(path = "rankings.html")]
struct RankingsPage {
    page: Layout,
    tabs: Vec<Tab>,
    board_title: String,
    rows: Vec<Row>,
}

struct Tab {
    board: &'static str,
    label: String,
    current: bool,
}

struct Row {
    rank: usize,
    handle: String,
    grams_text: String,
    me: bool,
}

/// `/rankings`.
pub async fn page(
    State(state): State<AppState>,
    context: PageContext,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let lang = context.lang;
    let wanted = param(&query, "board").unwrap_or("collected_today");
    let Some(&(board, title_key)) = BOARDS.iter().find(|(board, _)| *board == wanted) else {
        return Err(PageError::new(
            lang,
            StatusCode::NOT_FOUND,
            "error-not-found",
        ));
    };
    let ranked = ranking(&state, me, board)
        .await
        .map_err(|err| context.error(err))?;
    let page = RankingsPage {
        page: context.layout(),
        tabs: BOARDS
            .iter()
            .map(|&(tab, key)| Tab {
                board: tab,
                label: lang.t(key),
                current: tab == board,
            })
            .collect(),
        board_title: lang.t(title_key),
        rows: ranked
            .into_iter()
            .map(|rank| Row {
                rank: rank.rank,
                grams_text: lang.t1("grams", "grams", rank.grams),
                handle: rank.handle,
                me: rank.me,
            })
            .collect(),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}
