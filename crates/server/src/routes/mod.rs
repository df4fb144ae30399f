//! HTTP handlers, one module per area, and the views they answer with.

pub mod abuse_admin;
pub mod admin;
pub mod catalog;
pub mod certificates;
pub mod forest;
pub mod friends;
pub mod groups;
pub mod health;
pub mod log;
pub mod me;
pub mod methodologies_admin;
pub mod methodology;
pub mod ngo;
pub mod partner;
pub mod partners_admin;
pub mod planting;
pub mod props;
pub mod sessions;
pub mod species;
pub mod webhooks_admin;

use openforest_core::Timestamp;
use openforest_store::User;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// RFC 3339 in UTC, as every time in the API is written.
pub fn rfc3339(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(at.millis())
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub user_id: Uuid,
    pub handle: String,
    /// `user` or `admin`.
    pub role: String,
    pub created_at: String,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        UserView {
            user_id: user.user_id.uuid(),
            handle: user.handle.to_string(),
            role: user.role.as_str().to_string(),
            created_at: rfc3339(user.created_at),
        }
    }
}
