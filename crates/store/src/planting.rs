//! What the store keeps about planting: NGOs, sites, the catalog, pledges and their status,
//! orders, planting batches with their evidence, and a user's history for lineage.

use openforest_core::planting::{ItemKind, Pledge, Season};
use openforest_core::{
    BallId, BatchId, CatalogItemId, Entry, Grams, NgoId, OrderId, SiteId, Timestamp, UserId,
};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ngo {
    pub ngo_id: NgoId,
    pub name: String,
    pub about: String,
    pub created_at: Timestamp,
}

/// An NGO's API key as stored (the key itself is shown once and kept only as a hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NgoKey {
    pub key_id: Uuid,
    pub ngo_id: NgoId,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Site {
    pub site_id: SiteId,
    pub ngo_id: NgoId,
    pub name: String,
    pub region: String,
    pub latitude: f64,
    pub longitude: f64,
    /// A GeoJSON Polygon of the outline, as validated text.
    pub polygon: Option<String>,
    pub created_at: Timestamp,
}

/// A tree species or a conservation land offer.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogItem {
    pub item_id: CatalogItemId,
    pub kind: ItemKind,
    pub name: String,
    pub scientific_name: Option<String>,
    pub ngo_id: NgoId,
    pub site_id: SiteId,
    /// Grams per tree, or per m² of land.
    pub unit_grams: Grams,
    pub quota_units: u64,
    /// Units pledged so far (read with the catalog; the writer's counter).
    pub taken_units: u64,
    pub seasons: Vec<Season>,
    pub about: String,
    /// Costs not taken from a source: demo values, and shown as such.
    pub demo_values: bool,
    pub created_at: Timestamp,
}

impl CatalogItem {
    pub fn units_left(&self) -> u64 {
        self.quota_units.saturating_sub(self.taken_units)
    }
}

/// Where a tree stands. Kept apart everywhere: a pledge is not a planted tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlantingStatus {
    Pledged,
    Ordered,
    Planted,
    Verified,
}

impl PlantingStatus {
    pub const ALL: [PlantingStatus; 4] = [
        PlantingStatus::Pledged,
        PlantingStatus::Ordered,
        PlantingStatus::Planted,
        PlantingStatus::Verified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlantingStatus::Pledged => "pledged",
            PlantingStatus::Ordered => "ordered",
            PlantingStatus::Planted => "planted",
            PlantingStatus::Verified => "verified",
        }
    }
}

/// An order to an NGO: the pledges of one site and season, line by item.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub order_id: OrderId,
    pub ngo_id: NgoId,
    pub site_id: SiteId,
    pub season: String,
    pub created_at: Timestamp,
    pub lines: Vec<OrderLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub item_id: CatalogItemId,
    pub pledges: u64,
    pub units: u64,
    /// Units recorded in planting batches (verified or not).
    pub planted_units: u64,
    pub verified_units: u64,
}

/// A planting batch an NGO records: what, where, when, and the photos.
#[derive(Clone, Debug, PartialEq)]
pub struct NewBatch {
    pub batch_id: BatchId,
    pub order_id: OrderId,
    pub ngo_id: NgoId,
    pub item_id: CatalogItemId,
    pub units: u64,
    /// `YYYY-MM-DD`.
    pub planted_on: String,
    pub latitude: f64,
    pub longitude: f64,
    pub polygon: Option<String>,
    pub note: String,
    pub photos: Vec<[u8; 32]>,
    /// `user:<id>` or `key:<id>`: who recorded it.
    pub recorded_by: String,
    pub recorded_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlantingBatch {
    pub batch: NewBatch,
    pub verified_by: Option<String>,
    pub verified_at: Option<Timestamp>,
}

/// Why a batch was not recorded; nothing was stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchRefusal {
    /// The order holds fewer unplanted units of the item.
    MoreThanOrdered { left: u64 },
    /// Batches cover whole pledges: the units must end on a pledge boundary.
    SplitsAPledge {
        covered: u64,
        next_pledge_units: u64,
    },
    /// A photo was not uploaded first.
    UnknownPhoto { sha256: String },
}

/// A pledge with where it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct PledgeRecord {
    pub pledge: Pledge,
    pub order_id: Option<OrderId>,
    pub batch: Option<PlantingBatch>,
}

impl PledgeRecord {
    pub fn status(&self) -> PlantingStatus {
        match (&self.order_id, &self.batch) {
            (_, Some(batch)) if batch.verified_at.is_some() => PlantingStatus::Verified,
            (_, Some(_)) => PlantingStatus::Planted,
            (Some(_), None) => PlantingStatus::Ordered,
            (None, None) => PlantingStatus::Pledged,
        }
    }
}

/// One user's movements for lineage: the journal entries in their lane, the steals they made
/// (recorded in the owners' lanes), and what action made each ball involved.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    pub entries: Vec<Entry>,
    pub ball_origins: HashMap<BallId, String>,
}

/// A stored photo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

pub(crate) fn seasons_json(seasons: &[Season]) -> String {
    serde_json::to_string(seasons).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn seasons_from_json(text: &str) -> Vec<Season> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A photo's content hash as lowercase hex, as the API names photos.
pub fn sha256_hex(sha256: &[u8; 32]) -> String {
    openforest_core::log::merkle::hex_of(sha256)
}

/// The order's unplanted pledges (oldest first) a batch of `units` covers: whole pledges, up
/// to exactly `units`.
pub(crate) fn cover(open: &[(Uuid, i64)], units: u64) -> Result<Vec<Uuid>, BatchRefusal> {
    let left: u64 = open
        .iter()
        .map(|(_, units)| u64::try_from(*units).unwrap_or(0))
        .sum();
    if units > left {
        return Err(BatchRefusal::MoreThanOrdered { left });
    }
    let mut covered = Vec::new();
    let mut sum = 0u64;
    for (pledge_id, pledge_units) in open {
        if sum == units {
            break;
        }
        let pledge_units = u64::try_from(*pledge_units).unwrap_or(0);
        if sum + pledge_units > units {
            return Err(BatchRefusal::SplitsAPledge {
                covered: sum,
                next_pledge_units: pledge_units,
            });
        }
        sum += pledge_units;
        covered.push(*pledge_id);
    }
    Ok(covered)
}

/// The feed kind and webhook event type of a planting status change.
pub(crate) fn notice_kinds(status: &str) -> (&'static str, &'static str) {
    if status == "verified" {
        ("tree_verified", crate::webhooks::TREE_VERIFIED)
    } else {
        ("tree_planted", crate::webhooks::TREE_PLANTED)
    }
}

/// A steal as the thief's wallet saw it (its journal entry lives in the owner's lane).
pub(crate) fn steal_entry(thief: UserId, owner: Uuid, ball: Uuid, grams: i64, at: i64) -> Entry {
    Entry {
        entry_id: openforest_core::EntryId(Uuid::nil()),
        user_id: thief,
        at: Timestamp(at),
        kind: openforest_core::EntryKind::Steal,
        from: openforest_core::Account::Ball {
            user_id: UserId(owner),
            ball_id: BallId(ball),
        },
        to: openforest_core::Account::Wallet { user_id: thief },
        grams: Grams::new(u64::try_from(grams).unwrap_or(0)),
        reference: None,
    }
}

/// Movements in the order they happened: the journal's order, with the steals (appended
/// after it) moved to their time. The sort is stable, so same-millisecond entries keep the
/// journal's order.
pub(crate) fn order_history(entries: &mut [Entry]) {
    entries.sort_by_key(|entry| entry.at);
}
