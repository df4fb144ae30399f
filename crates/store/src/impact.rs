//! The public impact dashboard's figures: a few grouped sums over the whole store, cheap
//! enough to read once a minute (the server caches them).

use crate::planting::PlantingStatus;
use openforest_core::{CatalogItemId, PartnerId};

/// Energy credited for partners' reported actions, summed per UTC day, partner and action
/// type (watering between friends moves energy already credited, so it is not counted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditedSum {
    /// Days since 1970-01-01, UTC.
    pub day: i64,
    pub partner_id: PartnerId,
    pub action: String,
    pub grams: u64,
    /// Balls credited: one per reported action that earned energy.
    pub actions: u64,
}

/// Units (trees, or m² of land) pledged for a catalog item, by where they stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PledgedSum {
    pub item_id: CatalogItemId,
    pub status: PlantingStatus,
    pub units: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImpactFigures {
    pub users: u64,
    pub credited: Vec<CreditedSum>,
    pub pledged: Vec<PledgedSum>,
}

/// The SQL that decides a pledge's status, as [`crate::PledgeRecord::status`] does: over
/// `pledges p LEFT JOIN planting_batches b ON b.batch_id = p.batch_id`.
pub(crate) const PLEDGE_STATUS_SQL: &str = "CASE WHEN b.verified_at_ms IS NOT NULL THEN 'verified'
     WHEN p.batch_id IS NOT NULL THEN 'planted'
     WHEN p.order_id IS NOT NULL THEN 'ordered' ELSE 'pledged' END";

pub(crate) fn status_named(name: &str) -> Option<PlantingStatus> {
    PlantingStatus::ALL
        .into_iter()
        .find(|status| status.as_str() == name)
}

/// Milliseconds in a day, for grouping by UTC day.
pub(crate) const DAY_MS: i64 = 86_400_000;
