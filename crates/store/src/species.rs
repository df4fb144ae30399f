//! What the store keeps for Amazing Species: card counts, logged draws, set rewards given.
//! Cards are not energy and never touch the journal.

use openforest_core::Timestamp;

pub use openforest_core::species::SpeciesDraw;

/// The cards of one species a user holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpeciesCard {
    pub species_id: String,
    pub count: u32,
    /// When the first one came.
    pub first_at: Timestamp,
}

/// How a gift of a card ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardGift {
    Given,
    /// The giver holds no card of that species.
    NotOwned,
    /// The giver holds just one: only duplicates are gifted.
    LastCopy,
}

/// A set reward given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetRewardGiven {
    pub set_id: String,
    pub prop: String,
    pub count: u32,
    pub at: Timestamp,
}

/// Feed kinds of card gifts: the recipient's line (like `prop_gifted`) and the giver's.
pub const FEED_CARD_GIFTED: &str = "card_gifted";
pub const FEED_CARD_GIVEN: &str = "card_given";

pub(crate) fn seed_of(bytes: &[u8]) -> [u8; 32] {
    let mut seed = [0u8; 32];
    if bytes.len() == 32 {
        seed.copy_from_slice(bytes);
    }
    seed
}
