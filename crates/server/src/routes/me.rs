//! The signed-in user's own account.

use crate::auth::CurrentUser;
use crate::error::{ApiResult, Problem};
use crate::routes::UserView;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
    /// Collected energy, in grams of CO2e avoided.
    pub wallet_grams: u64,
}

/// Who I am and what my wallet holds.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "users",
    security(("session" = [])),
    responses((status = 200, body = MeView), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
pub async fn me(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<MeView>> {
    let wallet = state.store.wallet(user.user_id).await?;
    Ok(Json(MeView {
        user: (&user).into(),
        wallet_grams: wallet.get(),
    }))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    pub partner_id: uuid::Uuid,
}

/// A partner the user allowed to credit them, and the id that partner knows them by.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub partner_id: uuid::Uuid,
    pub partner_name: String,
    /// Give this to the partner: it is the only id of yours the partner ever sees, and it is
    /// different for every partner.
    pub partner_user_id: String,
}

/// Lets a partner credit me: answers the pseudonymous id that partner will know me by.
#[utoipa::path(
    post,
    path = "/v1/me/partner-links",
    tag = "users",
    request_body = NewLink,
    security(("session" = [])),
    responses(
        (status = 201, body = LinkView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "the partner is disabled", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn link_partner(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: crate::extract::ApiJson<NewLink>,
) -> ApiResult<(axum::http::StatusCode, Json<LinkView>)> {
    let partner_id = openforest_core::PartnerId(body.value.partner_id);
    let partner = state
        .store
        .partner(partner_id)
        .await?
        .ok_or(crate::error::ApiError::NotFound("partner"))?;
    if partner.disabled_at.is_some() {
        return Err(crate::error::ApiError::invalid(
            "partner_id",
            "this partner is disabled",
        ));
    }
    let pseudonym = crate::pseudonym::partner_user_id(&state.link_secret, partner_id, user.user_id);
    state
        .store
        .link_partner(user.user_id, partner_id, &pseudonym, state.clock.now())
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(LinkView {
            partner_id: partner_id.uuid(),
            partner_name: partner.name,
            partner_user_id: pseudonym,
        }),
    ))
}

/// The partners I allowed to credit me.
#[utoipa::path(get, path = "/v1/me/partner-links", tag = "users", security(("session" = [])),
    responses((status = 200, body = Vec<LinkView>)))]
pub async fn partner_links(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<LinkView>>> {
    let mut links = Vec::new();
    for (partner_id, pseudonym) in state.store.user_links(user.user_id).await? {
        let name = state
            .store
            .partner(partner_id)
            .await?
            .map(|partner| partner.name)
            .unwrap_or_default();
        links.push(LinkView {
            partner_id: partner_id.uuid(),
            partner_name: name,
            partner_user_id: pseudonym,
        });
    }
    Ok(Json(links))
}

/// Withdraws my consent: the partner can no longer credit me.
#[utoipa::path(delete, path = "/v1/me/partner-links/{partner_id}", tag = "users",
    params(("partner_id" = uuid::Uuid, Path)), security(("session" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn unlink_partner(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    crate::extract::ApiPath(partner_id): crate::extract::ApiPath<uuid::Uuid>,
) -> ApiResult<axum::http::StatusCode> {
    if !state
        .store
        .unlink_partner(user.user_id, openforest_core::PartnerId(partner_id))
        .await?
    {
        return Err(crate::error::ApiError::NotFound("link to this partner"));
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MyBallView {
    pub ball_id: uuid::Uuid,
    /// `ripening`, `ripe` or `expired`.
    pub state: &'static str,
    /// What the ball was made with.
    pub grams: u64,
    /// What it still holds.
    pub remaining_grams: u64,
    pub ripens_at: String,
    pub expires_at: String,
    pub action: String,
    pub methodology: String,
    pub methodology_version: u32,
}

/// My energy balls, newest first (at most 200).
#[utoipa::path(get, path = "/v1/me/balls", tag = "users", security(("session" = [])),
    responses((status = 200, body = Vec<MyBallView>)))]
pub async fn balls(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> ApiResult<Json<Vec<MyBallView>>> {
    let now = state.clock.now();
    let balls = state.store.balls(user.user_id, 200).await?;
    Ok(Json(
        balls
            .into_iter()
            .map(|ball| MyBallView {
                ball_id: ball.ball.ball_id.uuid(),
                state: if now < ball.ball.ripens_at {
                    "ripening"
                } else if now < ball.ball.expires_at {
                    "ripe"
                } else {
                    "expired"
                },
                grams: ball.ball.grams.get(),
                remaining_grams: ball.remaining.get(),
                ripens_at: crate::routes::rfc3339(ball.ball.ripens_at),
                expires_at: crate::routes::rfc3339(ball.ball.expires_at),
                action: ball.ball.action,
                methodology: ball.ball.methodology,
                methodology_version: ball.ball.methodology_version,
            })
            .collect(),
    ))
}
