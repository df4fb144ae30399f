//! What the store takes and returns besides core's domain types.

use openforest_core::{Command, Handle, Outcome, Role, Timestamp, UserId};
use serde::Serialize;
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub user_id: UserId,
    pub handle: Handle,
    pub role: Role,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub user_id: UserId,
    pub handle: Handle,
    pub role: Role,
    /// Argon2 PHC string; `None` for users whose operator backend logs them in.
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
}

/// A key an operator's backend uses to mint sessions for its own users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorKey {
    pub key_id: Uuid,
    pub name: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A client's idempotency key: `scope` separates callers (an admin, a partner), and the
/// fingerprint (SHA-256 of the request) tells a replay from a conflicting reuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub scope: String,
    pub key: String,
    pub fingerprint: [u8; 32],
}

/// A command on its way to the writer.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub command: Command,
    pub idempotency: Option<IdempotencyKey>,
}

impl Envelope {
    pub fn new(command: Command) -> Self {
        Envelope {
            command,
            idempotency: None,
        }
    }
}

/// A command's result as the writer answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executed {
    pub outcome: Outcome,
    /// True when the idempotency key had been seen: the stored outcome is answered again.
    pub replayed: bool,
}

/// A journal row as both backends read it, before it is checked back into an `Entry`.
pub(crate) struct JournalRow {
    pub user_id: Uuid,
    pub entry_id: Uuid,
    pub at_ms: i64,
    pub kind: i16,
    pub from: (Uuid, i16, Uuid),
    pub to: (Uuid, i16, Uuid),
    pub grams: i64,
    pub reference: Option<String>,
}

pub(crate) fn account_from_row(
    owner: Uuid,
    kind: i16,
    id: Uuid,
) -> Result<openforest_core::Account, String> {
    let kind = openforest_core::AccountKind::from_code(kind)
        .ok_or_else(|| format!("unknown account kind {kind}"))?;
    Ok(openforest_core::Account::from_key(
        openforest_core::account::AccountKey { owner, kind, id },
    ))
}

impl JournalRow {
    /// Feeds the row to the audit, or reports it unreadable, naming the entry.
    pub fn audit_into(self, audit: &mut openforest_core::Audit) {
        let location = format!("journal entry {}", self.entry_id);
        match self.into_entry() {
            Ok(entry) => audit.record(&entry),
            Err(reason) => audit.unreadable(location, reason),
        }
    }

    pub fn into_entry(self) -> Result<openforest_core::Entry, String> {
        let kind = openforest_core::EntryKind::from_code(self.kind)
            .ok_or_else(|| format!("unknown entry kind {}", self.kind))?;
        let grams =
            u64::try_from(self.grams).map_err(|_| format!("negative grams {}", self.grams))?;
        Ok(openforest_core::Entry {
            entry_id: openforest_core::EntryId(self.entry_id),
            user_id: UserId(self.user_id),
            at: Timestamp(self.at_ms),
            kind,
            from: account_from_row(self.from.0, self.from.1, self.from.2)?,
            to: account_from_row(self.to.0, self.to.1, self.to.2)?,
            grams: openforest_core::Grams::new(grams),
            reference: self.reference,
        })
    }
}

/// A user row as both backends read it.
pub(crate) fn user_from_row(
    user_id: Uuid,
    handle: String,
    role: &str,
    created_at_ms: i64,
) -> Result<User, String> {
    Ok(User {
        user_id: UserId(user_id),
        handle: Handle::parse(&handle).map_err(|err| format!("stored handle {handle:?}: {err}"))?,
        role: Role::parse(role).ok_or_else(|| format!("stored role {role:?}"))?,
        created_at: Timestamp(created_at_ms),
    })
}

/// A usage row back into its domain value; negative counters (only by tampering) read as 0.
pub(crate) fn usage_from_row(
    actions: u32,
    quantity_milli: i64,
    grams: i64,
) -> openforest_core::methodology::Usage {
    openforest_core::methodology::Usage {
        actions,
        quantity_milli: u64::try_from(quantity_milli).unwrap_or(0),
        grams: openforest_core::Grams::new(u64::try_from(grams).unwrap_or(0)),
    }
}

/// An organisation that reports low-carbon actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Partner {
    pub partner_id: openforest_core::PartnerId,
    pub name: String,
    /// The methodology action keys this partner may report.
    pub allowed_actions: Vec<String>,
    pub disabled_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A partner's Ed25519 public key, named by the key id its signatures carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartnerKey {
    pub key_id: String,
    pub partner_id: openforest_core::PartnerId,
    /// 32 raw bytes, standard base64.
    pub public_key: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

/// A ball as the forest shows it: what it was made with and what it still holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BallState {
    pub ball: openforest_core::Ball,
    pub remaining: openforest_core::Grams,
}

/// A friend as forest home ranks them: the balls they hold energy in, and the window of their
/// shield if they ever raised one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendDigest {
    pub user_id: openforest_core::UserId,
    pub digest: crate::digest::ForestDigest,
    pub shield: Option<(openforest_core::Timestamp, openforest_core::Timestamp)>,
}

/// Everything forest home reads (on SQLite in one read transaction, so one snapshot).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForestHomeRows {
    /// Every friend, with their digest and shield.
    pub friends: Vec<FriendDigest>,
    pub wallet: openforest_core::Grams,
    /// The user's own live balls.
    pub balls: Vec<BallState>,
    /// The balls the user took from lately.
    pub taken: std::collections::HashSet<openforest_core::BallId>,
}

/// What a partner's pseudonymous user id stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkStatus {
    Linked(UserId),
    /// The user linked this partner once and withdrew consent.
    Withdrawn,
    Unknown,
}

/// What asking someone to be a friend did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FriendRequestResult {
    /// The request waits for their answer.
    Requested,
    /// They had asked first: now friends.
    BecameFriends,
    AlreadyFriends,
    /// One of the two already has the most friends allowed.
    TooManyFriends,
    /// One of the two blocked the other.
    Blocked,
}

/// A suspicious pattern recorded for an admin to review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AbuseReport {
    pub report_id: Uuid,
    pub user_id: UserId,
    pub kind: String,
    pub detail: String,
    pub at: Timestamp,
    pub reviewed_at: Option<Timestamp>,
}

/// One line of a user's feed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeedEntry {
    pub item_id: Uuid,
    pub kind: String,
    pub actor_id: Option<UserId>,
    pub ball_id: Option<openforest_core::BallId>,
    pub grams: openforest_core::Grams,
    pub at: Timestamp,
    /// The species card the line is about (a card gifted or given).
    pub species_id: Option<String>,
}

/// Unused props of one kind in a user's inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PropStock {
    pub kind: String,
    pub count: u32,
    /// When the first of them expires unused.
    pub next_expiry: Timestamp,
}

/// A prop in force (the writer loads them with a steal; core decides what they mean).
pub use openforest_core::props::PropEffect;

/// A co-planting group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlantingGroup {
    pub group_id: openforest_core::GroupId,
    pub name: String,
    /// `family`, `couple`, `class` or `organisation`.
    pub kind: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// A member of a group, past or present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupMember {
    pub user_id: UserId,
    pub joined_at: Timestamp,
    pub left_at: Option<Timestamp>,
}

/// What answering a group invitation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinResult {
    Joined,
    NotInvited,
    Full,
    AlreadyMember,
}
