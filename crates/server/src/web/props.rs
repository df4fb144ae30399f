//! My props (`/props`): unused ones by kind with their count and when the first expires, those
//! in force and for how long; using one; giving one to a friend.

use super::context::{Layout, PageContext, PageError, render};
use super::social::{
    Done, Notice, answer, millis_until, notice, prop_name, signed_in, time_left, user_named,
};
use crate::error::ApiResult;
use crate::routes::friends::list_friends;
use crate::routes::props::{KINDS, gift_prop, my_props, use_prop_of_kind};
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "props.html")]
struct PropsPage {
    page: Layout,
    notice: Option<Notice>,
    stock: Vec<StockRow>,
    active: Vec<String>,
    friends: Vec<String>,
}

struct StockRow {
    kind: String,
    name: String,
    about: String,
    count_text: String,
    expiry_text: String,
}

/// `/props`.
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
        async { futures_util::try_join!(my_props(&state, me), list_friends(&state, me)) }.await;
    let (props, friends) = loaded.map_err(|err| context.error(err))?;
    let now = state.clock.now().millis();
    let page = PropsPage {
        page: context.layout(),
        notice: notice(&state, lang, &query, ""),
        stock: props
            .inventory
            .into_iter()
            .filter(|stock| KINDS.contains(&stock.kind.as_str()))
            .map(|stock| StockRow {
                name: prop_name(lang, &stock.kind),
                about: lang.t(&format!("prop-about-{}", stock.kind.replace('_', "-"))),
                count_text: lang.t1("prop-count", "count", stock.count),
                expiry_text: lang.t1(
                    "prop-expires",
                    "time",
                    time_left(lang, millis_until(&stock.next_expiry, now)),
                ),
                kind: stock.kind,
            })
            .collect(),
        active: props
            .active
            .iter()
            .map(|effect| {
                lang.tn(
                    "card-up",
                    vec![
                        ("card", prop_name(lang, &effect.kind).into()),
                        (
                            "time",
                            time_left(lang, millis_until(&effect.active_until, now)).into(),
                        ),
                    ],
                )
            })
            .collect(),
        friends: friends.into_iter().map(|friend| friend.handle).collect(),
    };
    let html = render(&page).map_err(|err| context.error(err))?;
    Ok((context.jar(), html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PropForm {
    #[serde(default)]
    csrf: Option<String>,
    /// For a gift: the friend's handle.
    #[serde(default)]
    friend: String,
}

/// Uses one prop of a kind.
pub async fn use_one(
    State(state): State<AppState>,
    context: PageContext,
    Path(kind): Path<String>,
    Form(form): Form<PropForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let result = use_prop_of_kind(&state, me, &kind)
        .await
        .map(|_| Done::new("prop_used"));
    answer(&context, "/props", result)
}

/// Gives one prop of a kind to a friend.
pub async fn gift(
    State(state): State<AppState>,
    context: PageContext,
    Path(kind): Path<String>,
    Form(form): Form<PropForm>,
) -> Result<Response, PageError> {
    context.require_csrf(form.csrf.as_deref())?;
    let Some(me) = signed_in(&context) else {
        return Ok(context.to_signin());
    };
    let friend = user_named(&state, &context, &form.friend).await?;
    let result = gift_prop(&state, me, friend.user_id, &kind)
        .await
        .map(|_| Done::new("prop_gifted"));
    answer(&context, "/props", result)
}
