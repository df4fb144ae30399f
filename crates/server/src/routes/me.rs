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
