//! The public methodology: how actions become grams, with a source for every factor.

use crate::state::AppState;
use axum::Json;
use axum::extract::State;

/// The active methodology: every action type with its unit, factor, caps, ripening and source.
/// Balls record the name and version they were made under; admins activate versions at
/// `/v1/admin/methodologies`.
#[utoipa::path(get, path = "/v1/methodology", tag = "public",
    responses((status = 200, description = "the methodology as published, with sources", body = serde_json::Value)))]
pub async fn active(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::to_value(state.energy.current().methodology.as_ref()).unwrap_or_default())
}
