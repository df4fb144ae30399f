//! Persistence for openforest: one narrow [`Store`] trait returning domain types, with a SQLite
//! backend (the embedded default) and a PostgreSQL backend, chosen at runtime from the URL.
//! Every energy-moving command goes through the group-commit [`writer`].
#![forbid(unsafe_code)]

pub mod ball_days;
mod batch;
pub mod digest;
pub mod error;
pub mod impact;
pub mod log;
pub mod methodologies;
pub mod model;
pub mod planting;
pub mod postgres;
pub mod seed;
pub mod species;
pub mod sqlite;
pub mod webhooks;
pub mod writer;

use async_trait::async_trait;
use openforest_core::{
    AuditReport, BallId, BatchId, CatalogItemId, Clock, Grams, NgoId, OrderId, Outcome, PartnerId,
    Timestamp, UserId,
};
use std::sync::Arc;
use uuid::Uuid;

pub use ball_days::{BallDaysCleanup, CleanupStopped, DroppedBallDay, HoldingBallDay};
pub use error::{CommandError, StoreError};
pub use impact::{CreditedSum, ImpactFigures, PledgedSum};
pub use methodologies::{
    Activation, MethodologyAdded, MethodologyRecord, NewMethodologyVersion, StoredMethodology,
};
pub use model::{
    AbuseReport, BallState, Envelope, Executed, FeedEntry, ForestHomeRows, FriendDigest,
    FriendRequestResult, GroupMember, IdempotencyKey, JoinResult, LinkStatus, NewUser, OperatorKey,
    Partner, PartnerKey, PlantingGroup, PropEffect, PropStock, User,
};
pub use planting::{
    BatchRefusal, CatalogItem, History, NewBatch, Ngo, NgoKey, Order, OrderLine, Photo,
    PlantingBatch, PlantingStatus, PledgeRecord, Site,
};
pub use species::{CardGift, SetRewardGiven, SpeciesCard, SpeciesDraw};
pub use webhooks::{
    DeliveryFilter, DeliveryStatus, DueDelivery, NextStep, WebhookAttempt, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};
pub use writer::WriterOptions;

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Called as the audit advances: `(entries done, entries in all)`.
pub type Progress = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// One page of expiry notices: how many were announced, and where the next page starts
/// (`None` when the page was not full: the walk is over).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AnnouncedPage {
    pub announced: u32,
    pub next: Option<DueCursor>,
}

/// Where a walk over due balls resumes: after this `(expires_at, user, ball)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueCursor {
    pub expires_at: Timestamp,
    pub user_id: UserId,
    pub ball_id: BallId,
}

impl DueCursor {
    /// Before every ball.
    pub const START: DueCursor = DueCursor {
        expires_at: Timestamp(i64::MIN),
        user_id: UserId(Uuid::nil()),
        ball_id: BallId(Uuid::nil()),
    };

    /// Before every ball that expires at `at` or later.
    pub fn from(at: Timestamp) -> DueCursor {
        DueCursor {
            expires_at: at.plus_millis(-1),
            user_id: UserId(Uuid::max()),
            ball_id: BallId(Uuid::max()),
        }
    }

    /// Just after this due ball.
    pub fn after(user_id: UserId, ball_id: BallId, expires_at: Timestamp) -> DueCursor {
        DueCursor {
            expires_at,
            user_id,
            ball_id,
        }
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Where the data lives, for the operator's logs (passwords masked).
    fn location(&self) -> String;

    /// Runs an energy-moving command through the group-commit writer. Answers only once the
    /// transaction holding its effect is durable.
    async fn execute(&self, envelope: Envelope) -> Result<Executed, CommandError>;

    /// The same command in a transaction of its own, bypassing the writer: the baseline that
    /// `openforest bench ledger` compares the writer with. Not used by the server.
    async fn execute_unbatched(&self, envelope: Envelope) -> Result<Executed, CommandError>;

    /// Checks the database answers (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError>;
    async fn user(&self, user_id: UserId) -> Result<Option<User>, StoreError>;
    /// The user and their password hash, for login.
    async fn user_by_handle(
        &self,
        handle: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError>;
    /// The user an operator's backend knows as `external_id`, created on first sight.
    async fn user_for_external_id(
        &self,
        external_id: &str,
        new_user: NewUser,
    ) -> Result<User, StoreError>;

    async fn create_session(
        &self,
        token_hash: [u8; 32],
        user_id: UserId,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The user behind a live session, and when the session expires.
    async fn session_user(
        &self,
        token_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Option<(User, Timestamp)>, StoreError>;
    async fn delete_session(&self, token_hash: [u8; 32]) -> Result<(), StoreError>;

    async fn create_operator_key(
        &self,
        key: OperatorKey,
        key_hash: [u8; 32],
    ) -> Result<(), StoreError>;
    async fn operator_key(&self, key_hash: [u8; 32]) -> Result<Option<OperatorKey>, StoreError>;

    async fn wallet(&self, user_id: UserId) -> Result<Grams, StoreError>;

    /// The user's balls, newest first, with the grams each still holds.
    async fn balls(&self, user_id: UserId, limit: u32) -> Result<Vec<BallState>, StoreError>;

    /// Balls whose time is up (`expires_at <= now`) but which still hold energy, in
    /// `(expires_at, user, ball)` order, starting after `after` (keyset paging: a page costs
    /// the same however many expired balls came before it): `(user, ball, expires_at)`.
    async fn due_balls(
        &self,
        now: Timestamp,
        after: DueCursor,
        limit: u32,
    ) -> Result<Vec<(UserId, BallId, Timestamp)>, StoreError>;

    /// The outcome stored with an idempotency key (a partner's `out_biz_no`), if any.
    async fn idempotent_outcome(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Outcome)>, StoreError>;

    async fn create_partner(&self, partner: &Partner) -> Result<(), StoreError>;
    async fn partner(&self, partner_id: PartnerId) -> Result<Option<Partner>, StoreError>;
    async fn partners(&self) -> Result<Vec<Partner>, StoreError>;
    /// Disables (`Some(at)`) or re-enables (`None`) a partner; false when there is none.
    async fn set_partner_disabled(
        &self,
        partner_id: PartnerId,
        at: Option<Timestamp>,
    ) -> Result<bool, StoreError>;
    async fn add_partner_key(&self, key: &PartnerKey) -> Result<(), StoreError>;
    /// Revokes a key of the partner; false when it has no such active key.
    async fn revoke_partner_key(
        &self,
        partner_id: PartnerId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    async fn partner_keys(&self, partner_id: PartnerId) -> Result<Vec<PartnerKey>, StoreError>;
    /// A key by the id a signature names, with its partner.
    async fn partner_key(&self, key_id: &str) -> Result<Option<(PartnerKey, Partner)>, StoreError>;

    /// Records the user's consent for the partner under `partner_user_id`; idempotent.
    async fn link_partner(
        &self,
        user_id: UserId,
        partner_id: PartnerId,
        partner_user_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Withdraws consent; false when there was none.
    async fn unlink_partner(
        &self,
        user_id: UserId,
        partner_id: PartnerId,
    ) -> Result<bool, StoreError>;
    /// The user behind a partner's pseudonymous id, while the link stands.
    async fn linked_user(
        &self,
        partner_id: PartnerId,
        partner_user_id: &str,
    ) -> Result<LinkStatus, StoreError>;
    /// `linked_user` for many ids at once (a partner's batch): one read instead of one each.
    async fn linked_users(
        &self,
        partner_id: PartnerId,
        partner_user_ids: &[String],
    ) -> Result<std::collections::HashMap<String, LinkStatus>, StoreError>;
    async fn user_links(&self, user_id: UserId) -> Result<Vec<(PartnerId, String)>, StoreError>;

    /// Registers a webhook endpoint with its signing secret.
    async fn create_webhook_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError>;
    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;
    /// Disables an endpoint and fails its pending deliveries; false when there is no enabled
    /// endpoint of that id.
    async fn disable_webhook_endpoint(
        &self,
        endpoint_id: uuid::Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Fans up to `limit` outbox events out into deliveries; answers how many events it took.
    /// Also tells the writer whether any endpoint is enabled (events are recorded only then).
    async fn fan_out_webhook_events(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError>;
    /// Claims up to `limit` deliveries due at `now`, leased until `lease_until`.
    async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError>;
    /// Logs an attempt and moves the delivery on: delivered, retried later, or failed.
    async fn record_webhook_attempt(
        &self,
        delivery_id: uuid::Uuid,
        attempt: &WebhookAttempt,
        next: NextStep,
    ) -> Result<(), StoreError>;
    /// The delivery log, newest first, each delivery with its attempts.
    async fn webhook_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;
    /// Schedules an undelivered delivery for an attempt at `at`; false when there is none.
    async fn retry_webhook_delivery(
        &self,
        delivery_id: uuid::Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Stores a methodology version unless its (name, version) is already stored; answers the
    /// stored row either way, so the caller can tell an identical re-upload from a conflict.
    async fn add_methodology(
        &self,
        version: &NewMethodologyVersion,
    ) -> Result<MethodologyAdded, StoreError>;
    /// Every stored version, newest upload first.
    async fn methodologies(&self) -> Result<Vec<MethodologyRecord>, StoreError>;
    /// One stored version with its text.
    async fn methodology(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<StoredMethodology>, StoreError>;
    /// The active version with its text; `None` before anything was activated.
    async fn active_methodology(&self) -> Result<Option<StoredMethodology>, StoreError>;
    /// Makes a stored version the active one (one row, replaced in one transaction); false when
    /// no such version is stored.
    async fn activate_methodology(
        &self,
        name: &str,
        version: u32,
        activation: Activation,
    ) -> Result<bool, StoreError>;

    // Planting: NGOs, sites, the catalog, orders, batches and evidence (see `planting`).
    async fn create_ngo(&self, ngo: &Ngo) -> Result<(), StoreError>;
    async fn ngos(&self) -> Result<Vec<Ngo>, StoreError>;
    /// Lets a user sign in to the NGO portal for `ngo_id` (one NGO per user).
    async fn add_ngo_member(
        &self,
        ngo_id: NgoId,
        user_id: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn ngo_of_member(&self, user_id: UserId) -> Result<Option<NgoId>, StoreError>;
    async fn create_ngo_key(&self, key_hash: [u8; 32], key: &NgoKey) -> Result<(), StoreError>;
    async fn ngo_key(&self, key_hash: [u8; 32]) -> Result<Option<NgoKey>, StoreError>;
    async fn create_site(&self, site: &Site) -> Result<(), StoreError>;
    async fn sites(&self) -> Result<Vec<Site>, StoreError>;
    /// Adds a catalog item and its quota counter (which the writer then locks per pledge).
    async fn create_catalog_item(&self, item: &CatalogItem) -> Result<(), StoreError>;
    async fn catalog(&self) -> Result<Vec<CatalogItem>, StoreError>;
    async fn catalog_item(&self, item_id: CatalogItemId)
    -> Result<Option<CatalogItem>, StoreError>;
    /// Groups every pledge not yet ordered into orders per NGO, site and season; answers the
    /// orders that received pledges.
    async fn place_orders(&self, at: Timestamp) -> Result<Vec<OrderId>, StoreError>;
    async fn orders(&self, ngo_id: Option<NgoId>) -> Result<Vec<Order>, StoreError>;
    async fn order(&self, order_id: OrderId) -> Result<Option<Order>, StoreError>;
    /// Stores a photo by the SHA-256 of its bytes (storing the same bytes again is a no-op).
    async fn put_photo(
        &self,
        sha256: [u8; 32],
        photo: &Photo,
        ngo_id: NgoId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn photo(&self, sha256: [u8; 32]) -> Result<Option<Photo>, StoreError>;
    /// Records a batch and marks the order's oldest unplanted pledges of its item planted, in
    /// one transaction; a refusal stores nothing.
    async fn record_batch(
        &self,
        batch: &NewBatch,
    ) -> Result<Result<PlantingBatch, BatchRefusal>, StoreError>;
    async fn batch(&self, batch_id: BatchId) -> Result<Option<PlantingBatch>, StoreError>;
    async fn batches(&self, order_id: OrderId) -> Result<Vec<PlantingBatch>, StoreError>;
    /// Marks a batch verified (once: a verified batch stays as it was).
    async fn verify_batch(
        &self,
        batch_id: BatchId,
        verified_by: &str,
        at: Timestamp,
    ) -> Result<Option<PlantingBatch>, StoreError>;
    /// The pledges a user holds (alone or with a group), newest first.
    async fn user_pledges(&self, user_id: UserId) -> Result<Vec<PledgeRecord>, StoreError>;
    async fn pledge_by_certificate(
        &self,
        certificate_no: &str,
    ) -> Result<Option<PledgeRecord>, StoreError>;
    /// The pledges of an order, oldest first.
    async fn order_pledges(&self, order_id: OrderId) -> Result<Vec<PledgeRecord>, StoreError>;
    /// A user's movements in order, for the lineage of their pledges.
    async fn history(&self, user_id: UserId) -> Result<History, StoreError>;
    /// The journal entries that paid into a pledge (one per holder), for its proof document.
    async fn pledge_entry_ids(
        &self,
        pledge: &openforest_core::Pledge,
    ) -> Result<Vec<uuid::Uuid>, StoreError>;
    /// The planting records (log record ids) of a batch, oldest first.
    async fn planting_record_ids(&self, batch_id: BatchId) -> Result<Vec<uuid::Uuid>, StoreError>;

    /// Balls of these users not yet expired that still hold energy, oldest ripening first.
    async fn live_balls(
        &self,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<Vec<BallState>, StoreError>;
    /// Handles of these users, in one read (lists of friends, rankings, feeds).
    async fn handles(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, String>, StoreError>;
    /// What forest home shows the user: every friend with their forest digest and shield
    /// window (one short row per friend), the wallet, the user's live balls at `now`, and the
    /// balls they took from since `taken_since`.
    async fn forest_home(
        &self,
        user_id: UserId,
        now: Timestamp,
        taken_since: Timestamp,
    ) -> Result<ForestHomeRows, StoreError>;
    /// The balls the user took from since `since` (whoever owns them now), in one read.
    async fn balls_taken(
        &self,
        user_id: UserId,
        since: Timestamp,
    ) -> Result<std::collections::HashSet<BallId>, StoreError>;
    /// Asks `to` to be friends; if `to` had asked first, they become friends.
    async fn request_friend(
        &self,
        from: UserId,
        to: UserId,
        at: Timestamp,
        limit: u32,
    ) -> Result<FriendRequestResult, StoreError>;
    /// Requests waiting for the user's answer, oldest first.
    async fn friend_requests(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(UserId, Timestamp)>, StoreError>;
    /// Accepts or declines a pending request; `None` when there is none.
    async fn answer_friend_request(
        &self,
        user_id: UserId,
        from: UserId,
        accept: bool,
        at: Timestamp,
        limit: u32,
    ) -> Result<Option<FriendRequestResult>, StoreError>;
    /// Ends a friendship on both sides; false when there was none.
    async fn remove_friend(&self, user_id: UserId, friend_id: UserId) -> Result<bool, StoreError>;
    async fn are_friends(&self, a: UserId, b: UserId) -> Result<bool, StoreError>;
    async fn friends(&self, user_id: UserId) -> Result<Vec<UserId>, StoreError>;
    /// The user's invite code: the stored one, or `candidate` stored now. `Conflict` when the
    /// candidate is another user's code (the caller draws another).
    async fn invite_code(
        &self,
        user_id: UserId,
        candidate: &str,
        at: Timestamp,
    ) -> Result<String, StoreError>;
    async fn user_by_invite_code(&self, code: &str) -> Result<Option<UserId>, StoreError>;
    /// Blocks `other`: ends the friendship and pending requests both ways.
    async fn block_user(
        &self,
        user_id: UserId,
        other: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Lifts a block; false when there was none.
    async fn unblock_user(&self, user_id: UserId, other: UserId) -> Result<bool, StoreError>;
    /// Records one `ball.expiring` webhook event per ball with energy left that expires after
    /// `now` and by `horizon` and was not announced yet, looking at up to `limit` such balls
    /// in `(expires_at, user, ball)` order after `after` (keyset paging, as `due_balls`).
    async fn announce_expiring_balls(
        &self,
        now: Timestamp,
        after: DueCursor,
        horizon: Timestamp,
        limit: u32,
    ) -> Result<AnnouncedPage, StoreError>;
    async fn report_abuse(
        &self,
        user_id: UserId,
        kind: &str,
        detail: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Reports, newest first; only those not reviewed yet with `pending_only`.
    async fn abuse_reports(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<AbuseReport>, StoreError>;
    /// Marks a report reviewed; false when there is no such pending report.
    async fn review_abuse_report(
        &self,
        report_id: uuid::Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Puts `count` props of `kind` into the user's inventory, each expiring unused at
    /// `expires_at`.
    async fn grant_props(
        &self,
        user_id: UserId,
        kind: &str,
        count: u32,
        source: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Unused, unexpired props by kind, and the effects in force at `now`.
    async fn props(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<(Vec<PropStock>, Vec<PropEffect>), StoreError>;
    /// Uses the soonest-expiring prop of `kind`: its effect starts now (or extends one in
    /// force) for `duration_ms`. `None` when the user has none.
    async fn use_prop(
        &self,
        user_id: UserId,
        kind: &str,
        duration_ms: i64,
        multiplier_permille: u32,
        now: Timestamp,
    ) -> Result<Option<PropEffect>, StoreError>;
    /// Gives one unused prop of `kind` to `to`, with a feed line for them; false when the
    /// giver has none.
    async fn gift_prop(
        &self,
        from: UserId,
        to: UserId,
        kind: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Records a task reward for `period`; false when it was already given.
    async fn reward_task(
        &self,
        user_id: UserId,
        task: &str,
        period: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Whether the task was rewarded for any of these periods.
    async fn task_rewarded(
        &self,
        user_id: UserId,
        task: &str,
        periods: &[String],
    ) -> Result<bool, StoreError>;
    /// Creates a group with its creator as first member.
    async fn create_group(&self, group: &PlantingGroup) -> Result<(), StoreError>;
    async fn group(
        &self,
        group_id: openforest_core::GroupId,
    ) -> Result<Option<PlantingGroup>, StoreError>;
    /// Every member, past and present, in joining order.
    async fn group_members(
        &self,
        group_id: openforest_core::GroupId,
    ) -> Result<Vec<GroupMember>, StoreError>;
    /// The groups the user is a member of now.
    async fn user_groups(&self, user_id: UserId) -> Result<Vec<PlantingGroup>, StoreError>;
    /// Invites a user; false when they are a member already.
    async fn invite_to_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        invited_by: UserId,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Accepts an invitation, unless the group has `max_members` members.
    async fn join_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        at: Timestamp,
        max_members: u32,
    ) -> Result<JoinResult, StoreError>;
    /// Leaves a group (the share stays in the pot); false when not a member.
    async fn leave_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Per member, their share of the group's pot.
    async fn pot_shares(
        &self,
        group_id: openforest_core::GroupId,
        members: &[UserId],
    ) -> Result<Vec<(UserId, Grams)>, StoreError>;

    /// Logs a species draw and puts its card in the user's album, unless a draw was logged
    /// for the same (user, reason): answers the logged draw either way, and whether this call
    /// logged it. Concurrent calls for one reason give one card.
    async fn record_species_draw(
        &self,
        draw: &SpeciesDraw,
    ) -> Result<(SpeciesDraw, bool), StoreError>;
    /// The draw logged for (user, reason), if any.
    async fn species_draw(
        &self,
        user_id: UserId,
        reason: &str,
    ) -> Result<Option<SpeciesDraw>, StoreError>;
    /// The user's draws, newest first.
    async fn species_draws(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<SpeciesDraw>, StoreError>;
    /// The user's cards, by species id.
    async fn species_cards(&self, user_id: UserId) -> Result<Vec<SpeciesCard>, StoreError>;
    /// Moves one duplicate card of `species_id` from `from` to `to`, with a feed line for
    /// each; never the giver's last copy, and never more copies than they hold under
    /// concurrent gifts.
    async fn gift_species_card(
        &self,
        from: UserId,
        to: UserId,
        species_id: &str,
        now: Timestamp,
    ) -> Result<CardGift, StoreError>;
    /// Records that the user completed `set_id` and grants its reward props (expiring unused
    /// at `expires_at`) in one transaction; false, granting nothing, when it was given before.
    async fn reward_species_set(
        &self,
        user_id: UserId,
        reward: &SetRewardGiven,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The set rewards the user was given.
    async fn species_set_rewards(&self, user_id: UserId)
    -> Result<Vec<SetRewardGiven>, StoreError>;
    /// Per user, the grams counted under a usage `action` summed over `periods` (rankings).
    async fn usage_totals(
        &self,
        users: &[UserId],
        action: &str,
        periods: &[String],
    ) -> Result<std::collections::HashMap<UserId, Grams>, StoreError>;
    /// The user's feed, newest first, before `before` (an item id) when paging.
    async fn feed(
        &self,
        user_id: UserId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, StoreError>;

    /// Transparency log: up to `limit` records of `kind` the log does not hold, with ids from
    /// `floor` on, in id order. Never called by the writer: the sequencer polls it.
    async fn unlogged_records(
        &self,
        kind: openforest_core::log::RecordKind,
        floor: uuid::Uuid,
        limit: u32,
    ) -> Result<Vec<openforest_core::log::LogRecord>, StoreError>;
    /// The greatest record id of `kind` in the log (the sequencer's window is measured from it).
    async fn newest_logged_record(
        &self,
        kind: openforest_core::log::RecordKind,
    ) -> Result<Option<uuid::Uuid>, StoreError>;
    /// Appends leaves (the first at the log's current size) and the signed head of the grown
    /// tree in one transaction; fails, changing nothing, if any leaf index or record is taken.
    async fn append_log(
        &self,
        leaves: &[log::StoredLeaf],
        head: &openforest_core::log::SignedTreeHead,
    ) -> Result<(), StoreError>;
    /// Up to `limit` leaves from `from_index` on, in index order.
    async fn log_leaves(
        &self,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<log::StoredLeaf>, StoreError>;
    /// The leaf that logs a record, if it is logged.
    async fn log_leaf_of(
        &self,
        kind: openforest_core::log::RecordKind,
        record_id: uuid::Uuid,
    ) -> Result<Option<log::StoredLeaf>, StoreError>;
    /// The current rows of these records of `kind` (those that still exist), in any order.
    async fn log_records(
        &self,
        kind: openforest_core::log::RecordKind,
        ids: &[uuid::Uuid],
    ) -> Result<Vec<openforest_core::log::LogRecord>, StoreError>;
    /// The most recent signed tree head (the largest).
    async fn latest_log_head(
        &self,
    ) -> Result<Option<openforest_core::log::SignedTreeHead>, StoreError>;
    /// The signed head published at `tree_size`, if one was.
    async fn log_head(
        &self,
        tree_size: u64,
    ) -> Result<Option<openforest_core::log::SignedTreeHead>, StoreError>;
    /// Records of `kind` the log does not hold, counted in one snapshot, with the first
    /// `limit` of those below `floor` (verify: lag versus suppression).
    async fn unlogged_summary(
        &self,
        kind: openforest_core::log::RecordKind,
        floor: uuid::Uuid,
        limit: u32,
    ) -> Result<log::UnloggedSummary, StoreError>;

    /// The public impact dashboard's figures: users, energy credited per day, partner and
    /// action type, and units pledged per catalog item and status.
    async fn impact_figures(&self) -> Result<ImpactFigures, StoreError>;

    /// A named server secret, made (`len` random bytes) and kept on first use.
    async fn server_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError>;

    /// Drops the days of balls that are over: on PostgreSQL, every day partition of `balls` that
    /// ended `retention` or longer before `now` and whose balls all hold 0 g, keeping first what
    /// certificate lineage and the impact dashboard read of them (see `postgres/partitions.rs`).
    /// A day with a ball still holding energy stays. SQLite has no partitions: nothing to do.
    async fn drop_settled_ball_days(
        &self,
        now: Timestamp,
        retention: std::time::Duration,
    ) -> Result<BallDaysCleanup, StoreError>;

    /// Replays the whole journal and compares it with the maintained balances.
    async fn audit(&self, progress: Progress) -> Result<AuditReport, StoreError>;

    /// Writes one chunk of a seeded world (benchmarks) in one transaction, straight to the
    /// tables: users, sessions, friendships both ways, balls with their balances and the journal
    /// entries that issued them. Not used by the server.
    async fn seed_world(&self, chunk: &seed::SeedChunk) -> Result<seed::SeedReport, StoreError>;

    /// Stops taking commands, finishes and commits every queued one, then returns.
    async fn shutdown(&self);
}

/// Opens the store a URL names: `sqlite://path/to/file.db` or `postgres://…`. Migrations are
/// applied before it returns.
pub async fn open(
    database_url: &str,
    options: WriterOptions,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    {
        let store = sqlite::SqliteStore::open(path.as_ref(), options, clock).await?;
        return Ok(Arc::new(store));
    }
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open(database_url, options, clock).await?;
        return Ok(Arc::new(store));
    }
    Err(StoreError::InvalidUrl(
        "database_url must start with sqlite:// or postgres://".into(),
    ))
}

/// A store that reads from a PostgreSQL streaming replica (`postgres://…` of the replica's
/// copy of the database). Only for reads that may lag the primary by the replication delay.
pub async fn open_replica(
    database_url: &str,
    options: WriterOptions,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open_replica(database_url, options, clock).await?;
        return Ok(Arc::new(store));
    }
    Err(StoreError::InvalidUrl(
        "database_replica_url must start with postgres:// (SQLite has no replicas)".into(),
    ))
}

/// A UUIDv7 made from the injected clock, so ids sort by time even in simulated time.
/// Journal entry ids of one store: UUIDv7 from one context, so an entry written later sorts
/// after an earlier one even within one millisecond (a user's history reads in id order).
#[derive(Default)]
pub(crate) struct EntryIds(std::sync::Mutex<uuid::ContextV7>);

impl EntryIds {
    pub(crate) fn next(&self, at: Timestamp) -> openforest_core::EntryId {
        let millis = u64::try_from(at.millis()).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(
            &self.0,
            millis / 1_000,
            u32::try_from((millis % 1_000) * 1_000_000).unwrap_or(0),
        );
        openforest_core::EntryId(uuid::Uuid::new_v7(ts))
    }
}

pub fn new_id(at: Timestamp) -> uuid::Uuid {
    let millis = u64::try_from(at.millis()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(
        uuid::NoContext,
        millis / 1_000,
        u32::try_from((millis % 1_000) * 1_000_000).unwrap_or(0),
    );
    uuid::Uuid::new_v7(ts)
}

/// A ball's id: a UUIDv7 stamped with the instant the ball ripens, so that the balls of one
/// ripening day are one range of ids (PostgreSQL partitions `balls` by it).
pub fn new_ball_id(ripens_at: Timestamp) -> uuid::Uuid {
    new_id(ripens_at)
}

/// The wall clock, for production.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp::from_millis(millis)
    }
}
