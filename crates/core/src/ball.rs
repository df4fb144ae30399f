//! Energy balls: what a credited action becomes in the user's forest. The grams a ball still
//! holds are the balance of its ledger account; this is what else the forest shows about it.

use crate::clock::Timestamp;
use crate::grams::Grams;
use crate::ids::{BallId, PartnerId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ball {
    pub ball_id: BallId,
    pub user_id: UserId,
    /// The grams the ball was made with.
    pub grams: Grams,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
    pub partner_id: PartnerId,
    /// The methodology's action key (e.g. `metro_ride`).
    pub action: String,
    /// The methodology the ball was made under, kept when another version is activated.
    pub methodology: String,
    pub methodology_version: u32,
    pub created_at: Timestamp,
}
