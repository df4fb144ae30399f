//! The pure domain of openforest: grams, accounts, journal entries, the ledger rules, the
//! commands that move energy and the conservation audit. No I/O, no async; time is passed in.
#![forbid(unsafe_code)]

pub mod account;
pub mod audit;
pub mod ball;
pub mod book;
pub mod certificate;
pub mod clock;
pub mod command;
pub mod credit;
pub mod entry;
pub mod grams;
pub mod harvest;
pub mod ids;
pub mod lineage;
pub mod log;
pub mod methodology;
pub mod planting;
pub mod props;
pub mod species;
pub mod state;

pub use account::{Account, AccountKind};
pub use audit::{Audit, AuditProblem, AuditReport};
pub use ball::Ball;
pub use book::{Book, LedgerError};
pub use clock::{Clock, ManualClock, Timestamp};
pub use command::{Command, Expire, Grant, Outcome, Rejection, Transfer};
pub use credit::{Credit, CreditedBall};
pub use entry::{Entry, EntryKind};
pub use grams::Grams;
pub use harvest::{
    BallFacts, BallRef, Collect, FeedNote, FeedPot, Steal, StealKey, StealRules, Water,
};
pub use ids::{
    BallId, BatchId, CatalogItemId, EntryId, GroupId, NgoId, OrderId, PartnerId, PledgeId, SiteId,
    UserId,
};
pub use methodology::{Methodology, MethodologyError, Quantity};
pub use planting::{Holder, ItemKind, Plant, PlantSource, Pledge, Season};
pub use props::{PropEffect, StealProps};
pub use state::{BatchState, UsageKey};
pub mod user;
pub use user::{Handle, Role};
