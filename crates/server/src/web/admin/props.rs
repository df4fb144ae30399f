//! `/admin/props`: grant props (shields, double collects, steal multipliers) to a user named
//! by handle, as a campaign or support would.

use super::{
    Done, Fields, Refusal, Section, ShownOnce, admin_of, answer, done, number_of, refusal, refused,
    sections,
};
use crate::routes::props::{KINDS, PropGrant, grant_props};
use crate::state::AppState;
use crate::web::context::{Layout, PageContext, PageError, render};
use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use openforest_core::Handle;

const PATH: &str = "/admin/props";

pub struct KindChoice {
    pub value: &'static str,
    pub label: String,
}

#[derive(Template)]
#[template(path = "admin_props.html")]
struct PropsPage {
    page: Layout,
    sections: Vec<Section>,
    notice: Option<String>,
    shown_once: Option<ShownOnce>,
    refusal: Refusal,
    kinds: Vec<KindChoice>,
}

fn show(
    context: &PageContext,
    status: StatusCode,
    notice: Option<String>,
    refusal: Refusal,
) -> Result<Response, PageError> {
    let lang = context.lang;
    let page = PropsPage {
        page: context.layout(),
        sections: sections(lang, PATH),
        notice,
        shown_once: None,
        refusal,
        kinds: KINDS
            .into_iter()
            .map(|kind| KindChoice {
                value: kind,
                label: lang.t(&format!("op-prop-{kind}")),
            })
            .collect(),
    };
    answer(context, status, render(&page))
}

pub async fn page(context: PageContext, Query(done): Query<Done>) -> Result<Response, PageError> {
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let notice = done.notice(context.lang);
    show(&context, StatusCode::OK, notice, Refusal::default())
}

/// Grants `count` props of `kind` to the user with `handle`.
pub async fn grant(
    State(state): State<AppState>,
    context: PageContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let fields = Fields(fields);
    context.require_csrf(fields.csrf())?;
    if let Err(response) = admin_of(&context) {
        return Ok(*response);
    }
    let lang = context.lang;
    let refuse = |field: &str, key: &str, fields: Fields| {
        show(
            &context,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            refusal(lang, "grant", field, &lang.t(key), fields),
        )
    };
    let handle = match Handle::parse(fields.get("handle").trim()) {
        Ok(handle) => handle,
        Err(_) => return refuse("handle", "op-error-handle", fields),
    };
    let Some(count) = number_of::<u32>(&fields, "count") else {
        return refuse("count", "op-error-whole-number", fields);
    };
    let user = state
        .store
        .user_by_handle(handle.as_str())
        .await
        .map_err(|err| context.error(err.into()))?;
    let Some((user, _)) = user else {
        return refuse("handle", "op-error-no-user", fields);
    };
    let request = PropGrant {
        user_id: user.user_id.uuid(),
        kind: fields.get("kind").to_string(),
        count,
    };
    match grant_props(&state, request).await {
        Ok(()) => Ok(done(PATH, "props-granted")),
        Err(err) => {
            let refusal =
                refused(lang, "grant", err, "handle", fields).map_err(|err| context.error(err))?;
            show(&context, StatusCode::UNPROCESSABLE_ENTITY, None, refusal)
        }
    }
}
