//! The PostgreSQL backend: several writer lanes partitioned by user id, each with a dedicated
//! connection; reads and account administration go through a pool.

mod digest;
mod game;
mod groups;
mod impact;
mod log;
mod methodologies;
mod partitions;
mod partners;
mod planting;
mod props;
mod seed;
mod species;
mod webhooks;
mod writer;

use crate::error::{CommandError, StoreError};
use crate::model::LinkStatus;
use crate::model::{
    self, BallState, Envelope, Executed, JournalRow, NewUser, OperatorKey, Partner, PartnerKey,
    User,
};
use crate::webhooks::{
    DeliveryFilter, DueDelivery, NextStep, WebhookAttempt, WebhookDelivery, WebhookEndpoint,
};
use crate::writer::{Lanes, WriterOptions};
use crate::{Backend, Progress, Store};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use openforest_core::BallId;
use openforest_core::{
    Account, Audit, AuditReport, Clock, Grams, Outcome, PartnerId, Timestamp, UserId,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool, Row};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

pub struct PostgresStore {
    location: String,
    pool: PgPool,
    lanes: Lanes,
    writers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Makes the coming days' ball partitions (none on a replica).
    upkeep: Mutex<Option<tokio::task::JoinHandle<()>>>,
    clock: Arc<dyn Clock>,
    /// Whether any webhook endpoint is enabled: the writer lanes record outbox events only then.
    events_wanted: Arc<AtomicBool>,
    entry_ids: Arc<crate::EntryIds>,
}

fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
    url.parse::<PgConnectOptions>()
        .map(|options| options.disable_statement_logging())
        .map_err(|err| StoreError::InvalidUrl(err.to_string()))
}

/// A writer lane's connection. The writer reads only by key, a few hundred keys at a time
/// (`JOIN UNNEST(…)`); with hash and merge joins allowed, the planner sometimes hashes a whole
/// table instead of probing its primary key (seen on `steals` and `usage` under the harvest
/// rush), a plan whose cost grows with the table. Nested loops keep every batch's reads at
/// one index probe per key, whatever the table's size.
fn writer_connect_options(connect: &PgConnectOptions) -> PgConnectOptions {
    connect
        .clone()
        .options([("enable_hashjoin", "off"), ("enable_mergejoin", "off")])
}

/// The URL without its password, for logs.
fn masked(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("****"));
            }
            parsed.to_string()
        }
        Err(_) => "postgres://(unparsable url)".into(),
    }
}

impl PostgresStore {
    pub async fn open(
        url: &str,
        options: WriterOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<PostgresStore, StoreError> {
        options.validate().map_err(StoreError::Config)?;
        let connect = connect_options(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.read_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect.clone())
            .await?;
        Self::run_migrations(&pool).await?;
        // Before any writer runs: every ball of the coming days has its day's partition.
        partitions::ensure_ball_days(&pool, clock.now()).await?;
        let upkeep = partitions::spawn_upkeep(pool.clone(), clock.clone());
        let events_wanted = Arc::new(AtomicBool::new(webhooks::any_enabled(&pool).await?));
        let entry_ids = Arc::new(crate::EntryIds::default());
        let (lanes, receivers) = Lanes::new(options.postgres_writers, options.queue_depth);
        let mut writers = Vec::with_capacity(receivers.len());
        let writer_connect = writer_connect_options(&connect);
        for lane in receivers {
            let conn = PgConnection::connect_with(&writer_connect).await?;
            writers.push(tokio::spawn(writer::run(
                conn,
                writer_connect.clone(),
                lane,
                options.batch_max,
                clock.clone(),
                events_wanted.clone(),
                entry_ids.clone(),
            )));
        }
        Ok(PostgresStore {
            location: masked(url),
            pool,
            lanes,
            writers: Mutex::new(writers),
            upkeep: Mutex::new(Some(upkeep)),
            clock,
            events_wanted,
            entry_ids,
        })
    }

    /// A store that only reads, from a streaming replica of the primary's database: no
    /// migrations (the primary applies them and they replicate), no writer. Its commands fail
    /// as if the writer had stopped; the server sends it only the reads it allows to lag.
    pub async fn open_replica(
        url: &str,
        options: WriterOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<PostgresStore, StoreError> {
        options.validate().map_err(StoreError::Config)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.read_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect_options(url)?)
            .await?;
        // One lane whose writer never runs: a command sent to it is refused at once.
        let (lanes, _writers) = Lanes::new(1, 1);
        Ok(PostgresStore {
            location: format!("{} (read replica)", masked(url)),
            pool,
            lanes,
            writers: Mutex::new(Vec::new()),
            upkeep: Mutex::new(None),
            clock,
            events_wanted: Arc::new(AtomicBool::new(false)),
            entry_ids: Arc::new(crate::EntryIds::default()),
        })
    }

    async fn run_migrations(pool: &PgPool) -> Result<(), StoreError> {
        sqlx::migrate!("migrations/postgres")
            .run(pool)
            .await
            .map_err(|err| StoreError::Migration(err.to_string()))
    }

    /// Applies migrations and returns; for `openforest migrate`.
    pub async fn migrate(url: &str) -> Result<(), StoreError> {
        let mut conn = PgConnection::connect_with(&connect_options(url)?).await?;
        sqlx::migrate!("migrations/postgres")
            .run(&mut conn)
            .await
            .map_err(|err| StoreError::Migration(err.to_string()))
    }
}

fn to_user(row: &sqlx::postgres::PgRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    model::user_from_row(
        row.try_get("user_id")?,
        row.try_get("handle")?,
        &role,
        row.try_get("created_at_ms")?,
    )
    .map_err(StoreError::Database)
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|db| db.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

async fn insert_user(tx: &mut PgConnection, user: &NewUser) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO user_handles (handle, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(user.handle.as_str())
    .bind(user.user_id.uuid())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(StoreError::Conflict("handle"));
    }
    sqlx::query(
        "INSERT INTO users (user_id, handle, role, password_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(user.user_id.uuid())
    .bind(user.handle.as_str())
    .bind(user.role.as_str())
    .bind(&user.password_hash)
    .bind(user.created_at.millis())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn new_user_as_user(user: NewUser) -> User {
    User {
        user_id: user.user_id,
        handle: user.handle,
        role: user.role,
        created_at: user.created_at,
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    async fn execute(&self, envelope: Envelope) -> Result<Executed, CommandError> {
        self.lanes.submit(envelope).await
    }

    async fn execute_unbatched(&self, envelope: Envelope) -> Result<Executed, CommandError> {
        let now = self.clock.now();
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|err| CommandError::Storage(err.to_string()))?;
        let events = self.events_wanted.load(Ordering::Acquire);
        writer::run_batch_retrying(&mut conn, &[&envelope], now, events, &self.entry_ids)
            .await
            .map_err(|err| CommandError::Storage(err.to_string()))?
            .pop()
            .unwrap_or_else(|| Err(CommandError::Storage("no reply".into())))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let mut tx = self.pool.begin().await?;
        insert_user(&mut tx, &user).await?;
        tx.commit().await?;
        Ok(new_user_as_user(user))
    }

    async fn user(&self, user_id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, handle, role, created_at_ms FROM users WHERE user_id = $1",
        )
        .bind(user_id.uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(to_user).transpose()
    }

    async fn user_by_handle(
        &self,
        handle: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.user_id, u.handle, u.role, u.created_at_ms, u.password_hash
             FROM user_handles h JOIN users u ON u.user_id = h.user_id WHERE h.handle = $1",
        )
        .bind(handle.to_lowercase())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((to_user(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    async fn user_for_external_id(
        &self,
        external_id: &str,
        new_user: NewUser,
    ) -> Result<User, StoreError> {
        let find = "SELECT u.user_id, u.handle, u.role, u.created_at_ms
                    FROM external_users e JOIN users u ON u.user_id = e.user_id WHERE e.external_id = $1";
        if let Some(row) = sqlx::query(find)
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?
        {
            return to_user(&row);
        }
        let mut tx = self.pool.begin().await?;
        insert_user(&mut tx, &new_user).await?;
        let linked =
            sqlx::query("INSERT INTO external_users (external_id, user_id) VALUES ($1, $2)")
                .bind(external_id)
                .bind(new_user.user_id.uuid())
                .execute(&mut *tx)
                .await;
        match linked {
            Ok(_) => {
                tx.commit().await?;
                Ok(new_user_as_user(new_user))
            }
            // Another request created this external user at the same moment: use theirs.
            Err(err) if is_unique_violation(&err) => {
                tx.rollback().await?;
                let row = sqlx::query(find)
                    .bind(external_id)
                    .fetch_one(&self.pool)
                    .await?;
                to_user(&row)
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn create_session(
        &self,
        token_hash: [u8; 32],
        user_id: UserId,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(&token_hash[..])
        .bind(user_id.uuid())
        .bind(self.clock.now().millis())
        .bind(expires_at.millis())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_user(
        &self,
        token_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Option<(User, Timestamp)>, StoreError> {
        let row = sqlx::query(
            "SELECT u.user_id, u.handle, u.role, u.created_at_ms, s.expires_at_ms
             FROM sessions s JOIN users u ON u.user_id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at_ms > $2",
        )
        .bind(&token_hash[..])
        .bind(now.millis())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(|row| Ok((to_user(row)?, Timestamp(row.try_get("expires_at_ms")?))))
            .transpose()
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&token_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_operator_key(
        &self,
        key: OperatorKey,
        key_hash: [u8; 32],
    ) -> Result<(), StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO operator_keys (key_hash, key_id, name, created_at_ms) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(&key_hash[..])
        .bind(key.key_id)
        .bind(&key.name)
        .bind(key.created_at.millis())
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict("operator key name"));
        }
        Ok(())
    }

    async fn operator_key(&self, key_hash: [u8; 32]) -> Result<Option<OperatorKey>, StoreError> {
        let row = sqlx::query(
            "SELECT key_id, name, created_at_ms, revoked_at_ms FROM operator_keys WHERE key_hash = $1",
        )
        .bind(&key_hash[..])
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(OperatorKey {
                key_id: row.try_get("key_id")?,
                name: row.try_get("name")?,
                created_at: Timestamp(row.try_get("created_at_ms")?),
                revoked_at: row
                    .try_get::<Option<i64>, _>("revoked_at_ms")?
                    .map(Timestamp),
            })
        })
        .transpose()
    }

    async fn wallet(&self, user_id: UserId) -> Result<Grams, StoreError> {
        let key = Account::Wallet { user_id }.key();
        let grams: Option<i64> = sqlx::query_scalar(
            "SELECT grams FROM balances WHERE owner_id = $1 AND kind = $2 AND account_id = $3",
        )
        .bind(key.owner)
        .bind(key.kind.code())
        .bind(key.id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(Grams::new(u64::try_from(grams.unwrap_or(0)).unwrap_or(0)))
    }

    async fn balls(&self, user_id: UserId, limit: u32) -> Result<Vec<BallState>, StoreError> {
        partners::balls(&self.pool, user_id, limit).await
    }

    async fn due_balls(
        &self,
        now: Timestamp,
        after: crate::DueCursor,
        limit: u32,
    ) -> Result<Vec<(UserId, BallId, Timestamp)>, StoreError> {
        partners::due_balls(&self.pool, now, after, limit).await
    }

    async fn idempotent_outcome(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Outcome)>, StoreError> {
        partners::idempotent_outcome(&self.pool, scope, key).await
    }

    async fn create_partner(&self, partner: &Partner) -> Result<(), StoreError> {
        partners::create_partner(&self.pool, partner).await
    }

    async fn partner(&self, partner_id: PartnerId) -> Result<Option<Partner>, StoreError> {
        partners::partner(&self.pool, partner_id).await
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        partners::partners(&self.pool).await
    }

    async fn set_partner_disabled(
        &self,
        partner_id: PartnerId,
        at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        partners::set_partner_disabled(&self.pool, partner_id, at).await
    }

    async fn add_partner_key(&self, key: &PartnerKey) -> Result<(), StoreError> {
        partners::add_partner_key(&self.pool, key).await
    }

    async fn revoke_partner_key(
        &self,
        partner_id: PartnerId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        partners::revoke_partner_key(&self.pool, partner_id, key_id, at).await
    }

    async fn partner_keys(&self, partner_id: PartnerId) -> Result<Vec<PartnerKey>, StoreError> {
        partners::partner_keys(&self.pool, partner_id).await
    }

    async fn partner_key(&self, key_id: &str) -> Result<Option<(PartnerKey, Partner)>, StoreError> {
        partners::partner_key(&self.pool, key_id).await
    }

    async fn link_partner(
        &self,
        user_id: UserId,
        partner_id: PartnerId,
        partner_user_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        partners::link_partner(&self.pool, user_id, partner_id, partner_user_id, at).await
    }

    async fn unlink_partner(
        &self,
        user_id: UserId,
        partner_id: PartnerId,
    ) -> Result<bool, StoreError> {
        partners::unlink_partner(&self.pool, user_id, partner_id, self.clock.now()).await
    }

    async fn linked_user(
        &self,
        partner_id: PartnerId,
        partner_user_id: &str,
    ) -> Result<LinkStatus, StoreError> {
        partners::linked_user(&self.pool, partner_id, partner_user_id).await
    }

    async fn linked_users(
        &self,
        partner_id: PartnerId,
        partner_user_ids: &[String],
    ) -> Result<std::collections::HashMap<String, LinkStatus>, StoreError> {
        partners::linked_users(&self.pool, partner_id, partner_user_ids).await
    }

    async fn user_links(&self, user_id: UserId) -> Result<Vec<(PartnerId, String)>, StoreError> {
        partners::user_links(&self.pool, user_id).await
    }

    async fn create_webhook_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        webhooks::create_endpoint(&self.pool, endpoint, secret).await?;
        self.events_wanted.store(true, Ordering::Release);
        Ok(())
    }

    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        webhooks::endpoints(&self.pool).await
    }

    async fn disable_webhook_endpoint(
        &self,
        endpoint_id: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let disabled = webhooks::disable_endpoint(&self.pool, endpoint_id, at).await?;
        let any = webhooks::any_enabled(&self.pool).await?;
        self.events_wanted.store(any, Ordering::Release);
        Ok(disabled)
    }

    async fn fan_out_webhook_events(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
        let taken = webhooks::fan_out(&self.pool, now, limit).await?;
        let any = webhooks::any_enabled(&self.pool).await?;
        self.events_wanted.store(any, Ordering::Release);
        Ok(taken)
    }

    async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        webhooks::claim_due(&self.pool, now, lease_until, limit).await
    }

    async fn record_webhook_attempt(
        &self,
        delivery_id: Uuid,
        attempt: &WebhookAttempt,
        next: NextStep,
    ) -> Result<(), StoreError> {
        webhooks::record_attempt(&self.pool, delivery_id, attempt, next).await
    }

    async fn webhook_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        webhooks::deliveries(&self.pool, filter).await
    }

    async fn retry_webhook_delivery(
        &self,
        delivery_id: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        webhooks::retry(&self.pool, delivery_id, at).await
    }

    async fn add_methodology(
        &self,
        version: &crate::NewMethodologyVersion,
    ) -> Result<crate::MethodologyAdded, StoreError> {
        methodologies::add_methodology(&self.pool, version).await
    }

    async fn methodologies(&self) -> Result<Vec<crate::MethodologyRecord>, StoreError> {
        methodologies::methodologies(&self.pool).await
    }

    async fn methodology(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<crate::StoredMethodology>, StoreError> {
        methodologies::methodology(&self.pool, name, version).await
    }

    async fn active_methodology(&self) -> Result<Option<crate::StoredMethodology>, StoreError> {
        methodologies::active_methodology(&self.pool).await
    }

    async fn activate_methodology(
        &self,
        name: &str,
        version: u32,
        activation: crate::Activation,
    ) -> Result<bool, StoreError> {
        methodologies::activate_methodology(&self.pool, name, version, activation).await
    }

    async fn create_ngo(&self, ngo: &crate::Ngo) -> Result<(), StoreError> {
        planting::create_ngo(&self.pool, ngo).await
    }

    async fn ngos(&self) -> Result<Vec<crate::Ngo>, StoreError> {
        planting::ngos(&self.pool).await
    }

    async fn add_ngo_member(
        &self,
        ngo_id: openforest_core::NgoId,
        user_id: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        planting::add_ngo_member(&self.pool, ngo_id, user_id, at).await
    }

    async fn ngo_of_member(
        &self,
        user_id: UserId,
    ) -> Result<Option<openforest_core::NgoId>, StoreError> {
        planting::ngo_of_member(&self.pool, user_id).await
    }

    async fn create_ngo_key(
        &self,
        key_hash: [u8; 32],
        key: &crate::NgoKey,
    ) -> Result<(), StoreError> {
        planting::create_ngo_key(&self.pool, key_hash, key).await
    }

    async fn ngo_key(&self, key_hash: [u8; 32]) -> Result<Option<crate::NgoKey>, StoreError> {
        planting::ngo_key(&self.pool, key_hash).await
    }

    async fn create_site(&self, site: &crate::Site) -> Result<(), StoreError> {
        planting::create_site(&self.pool, site).await
    }

    async fn sites(&self) -> Result<Vec<crate::Site>, StoreError> {
        planting::sites(&self.pool).await
    }

    async fn create_catalog_item(&self, item: &crate::CatalogItem) -> Result<(), StoreError> {
        planting::create_catalog_item(&self.pool, item).await
    }

    async fn catalog(&self) -> Result<Vec<crate::CatalogItem>, StoreError> {
        planting::catalog(&self.pool).await
    }

    async fn catalog_item(
        &self,
        item_id: openforest_core::CatalogItemId,
    ) -> Result<Option<crate::CatalogItem>, StoreError> {
        planting::catalog_item(&self.pool, item_id).await
    }

    async fn place_orders(
        &self,
        at: Timestamp,
    ) -> Result<Vec<openforest_core::OrderId>, StoreError> {
        planting::place_orders(&self.pool, at).await
    }

    async fn orders(
        &self,
        ngo_id: Option<openforest_core::NgoId>,
    ) -> Result<Vec<crate::Order>, StoreError> {
        planting::orders(&self.pool, ngo_id).await
    }

    async fn order(
        &self,
        order_id: openforest_core::OrderId,
    ) -> Result<Option<crate::Order>, StoreError> {
        planting::order(&self.pool, order_id).await
    }

    async fn put_photo(
        &self,
        sha256: [u8; 32],
        photo: &crate::Photo,
        ngo_id: openforest_core::NgoId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        planting::put_photo(&self.pool, sha256, photo, ngo_id, at).await
    }

    async fn photo(&self, sha256: [u8; 32]) -> Result<Option<crate::Photo>, StoreError> {
        planting::photo(&self.pool, sha256).await
    }

    async fn record_batch(
        &self,
        batch: &crate::NewBatch,
    ) -> Result<Result<crate::PlantingBatch, crate::BatchRefusal>, StoreError> {
        planting::record_batch(&self.pool, batch).await
    }

    async fn batch(
        &self,
        batch_id: openforest_core::BatchId,
    ) -> Result<Option<crate::PlantingBatch>, StoreError> {
        planting::batch(&self.pool, batch_id).await
    }

    async fn batches(
        &self,
        order_id: openforest_core::OrderId,
    ) -> Result<Vec<crate::PlantingBatch>, StoreError> {
        planting::batches(&self.pool, order_id).await
    }

    async fn verify_batch(
        &self,
        batch_id: openforest_core::BatchId,
        verified_by: &str,
        at: Timestamp,
    ) -> Result<Option<crate::PlantingBatch>, StoreError> {
        planting::verify_batch(&self.pool, batch_id, verified_by, at).await
    }

    async fn user_pledges(&self, user_id: UserId) -> Result<Vec<crate::PledgeRecord>, StoreError> {
        planting::user_pledges(&self.pool, user_id).await
    }

    async fn pledge_by_certificate(
        &self,
        certificate_no: &str,
    ) -> Result<Option<crate::PledgeRecord>, StoreError> {
        planting::pledge_by_certificate(&self.pool, certificate_no).await
    }

    async fn order_pledges(
        &self,
        order_id: openforest_core::OrderId,
    ) -> Result<Vec<crate::PledgeRecord>, StoreError> {
        planting::order_pledges(&self.pool, order_id).await
    }

    async fn pledge_entry_ids(
        &self,
        pledge: &openforest_core::Pledge,
    ) -> Result<Vec<Uuid>, StoreError> {
        planting::pledge_entry_ids(&self.pool, pledge).await
    }

    async fn planting_record_ids(
        &self,
        batch_id: openforest_core::BatchId,
    ) -> Result<Vec<Uuid>, StoreError> {
        planting::planting_record_ids(&self.pool, batch_id).await
    }

    async fn history(&self, user_id: UserId) -> Result<crate::History, StoreError> {
        planting::history(&self.pool, user_id).await
    }

    async fn live_balls(
        &self,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<Vec<BallState>, StoreError> {
        game::live_balls(&self.pool, users, now).await
    }

    async fn handles(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, String>, StoreError> {
        game::handles(&self.pool, users).await
    }

    async fn forest_home(
        &self,
        user_id: UserId,
        now: Timestamp,
        taken_since: Timestamp,
    ) -> Result<crate::ForestHomeRows, StoreError> {
        let me = [user_id];
        let (friends, wallet, balls, taken) = tokio::try_join!(
            digest::friends_digests(&self.pool, user_id),
            self.wallet(user_id),
            game::live_balls(&self.pool, &me, now),
            game::balls_taken(&self.pool, user_id, taken_since),
        )?;
        Ok(crate::ForestHomeRows {
            friends,
            wallet,
            balls,
            taken,
        })
    }

    async fn balls_taken(
        &self,
        user_id: UserId,
        since: Timestamp,
    ) -> Result<std::collections::HashSet<BallId>, StoreError> {
        game::balls_taken(&self.pool, user_id, since).await
    }

    async fn request_friend(
        &self,
        from: UserId,
        to: UserId,
        at: Timestamp,
        limit: u32,
    ) -> Result<crate::FriendRequestResult, StoreError> {
        game::request_friend(&self.pool, from, to, at, limit).await
    }

    async fn friend_requests(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(UserId, Timestamp)>, StoreError> {
        game::friend_requests(&self.pool, user_id).await
    }

    async fn answer_friend_request(
        &self,
        user_id: UserId,
        from: UserId,
        accept: bool,
        at: Timestamp,
        limit: u32,
    ) -> Result<Option<crate::FriendRequestResult>, StoreError> {
        game::answer_friend_request(&self.pool, user_id, from, accept, at, limit).await
    }

    async fn remove_friend(&self, user_id: UserId, friend_id: UserId) -> Result<bool, StoreError> {
        game::remove_friend(&self.pool, user_id, friend_id).await
    }

    async fn are_friends(&self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        game::are_friends(&self.pool, a, b).await
    }

    async fn friends(&self, user_id: UserId) -> Result<Vec<UserId>, StoreError> {
        game::friends(&self.pool, user_id).await
    }

    async fn invite_code(
        &self,
        user_id: UserId,
        candidate: &str,
        at: Timestamp,
    ) -> Result<String, StoreError> {
        game::invite_code(&self.pool, user_id, candidate, at).await
    }

    async fn user_by_invite_code(&self, code: &str) -> Result<Option<UserId>, StoreError> {
        game::user_by_invite_code(&self.pool, code).await
    }

    async fn block_user(
        &self,
        user_id: UserId,
        other: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        game::block_user(&self.pool, user_id, other, at).await
    }

    async fn unblock_user(&self, user_id: UserId, other: UserId) -> Result<bool, StoreError> {
        game::unblock_user(&self.pool, user_id, other).await
    }

    async fn announce_expiring_balls(
        &self,
        now: Timestamp,
        after: crate::DueCursor,
        horizon: Timestamp,
        limit: u32,
    ) -> Result<crate::AnnouncedPage, StoreError> {
        if !self.events_wanted.load(Ordering::Acquire) {
            return Ok(crate::AnnouncedPage::default());
        }
        game::announce_expiring_balls(&self.pool, now, after, horizon, limit).await
    }

    async fn report_abuse(
        &self,
        user_id: UserId,
        kind: &str,
        detail: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        game::report_abuse(&self.pool, user_id, kind, detail, at).await
    }

    async fn abuse_reports(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<crate::AbuseReport>, StoreError> {
        game::abuse_reports(&self.pool, pending_only, limit).await
    }

    async fn review_abuse_report(
        &self,
        report_id: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        game::review_abuse_report(&self.pool, report_id, at).await
    }

    async fn grant_props(
        &self,
        user_id: UserId,
        kind: &str,
        count: u32,
        source: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        props::grant_props(&self.pool, user_id, kind, count, source, expires_at, at).await
    }

    async fn props(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<(Vec<crate::PropStock>, Vec<crate::PropEffect>), StoreError> {
        props::props(&self.pool, user_id, now).await
    }

    async fn use_prop(
        &self,
        user_id: UserId,
        kind: &str,
        duration_ms: i64,
        multiplier_permille: u32,
        now: Timestamp,
    ) -> Result<Option<crate::PropEffect>, StoreError> {
        props::use_prop(
            &self.pool,
            user_id,
            kind,
            duration_ms,
            multiplier_permille,
            now,
        )
        .await
    }

    async fn gift_prop(
        &self,
        from: UserId,
        to: UserId,
        kind: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        props::gift_prop(&self.pool, from, to, kind, now).await
    }

    async fn reward_task(
        &self,
        user_id: UserId,
        task: &str,
        period: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        props::reward_task(&self.pool, user_id, task, period, at).await
    }

    async fn task_rewarded(
        &self,
        user_id: UserId,
        task: &str,
        periods: &[String],
    ) -> Result<bool, StoreError> {
        props::task_rewarded(&self.pool, user_id, task, periods).await
    }

    async fn create_group(&self, group: &crate::PlantingGroup) -> Result<(), StoreError> {
        groups::create_group(&self.pool, group).await
    }

    async fn group(
        &self,
        group_id: openforest_core::GroupId,
    ) -> Result<Option<crate::PlantingGroup>, StoreError> {
        groups::group(&self.pool, group_id).await
    }

    async fn group_members(
        &self,
        group_id: openforest_core::GroupId,
    ) -> Result<Vec<crate::GroupMember>, StoreError> {
        groups::group_members(&self.pool, group_id).await
    }

    async fn user_groups(&self, user_id: UserId) -> Result<Vec<crate::PlantingGroup>, StoreError> {
        groups::user_groups(&self.pool, user_id).await
    }

    async fn invite_to_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        invited_by: UserId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        groups::invite_to_group(&self.pool, group_id, user_id, invited_by, at).await
    }

    async fn join_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        at: Timestamp,
        max_members: u32,
    ) -> Result<crate::JoinResult, StoreError> {
        groups::join_group(&self.pool, group_id, user_id, at, max_members).await
    }

    async fn leave_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        groups::leave_group(&self.pool, group_id, user_id, at).await
    }

    async fn pot_shares(
        &self,
        group_id: openforest_core::GroupId,
        members: &[UserId],
    ) -> Result<Vec<(UserId, Grams)>, StoreError> {
        groups::pot_shares(&self.pool, group_id, members).await
    }

    async fn record_species_draw(
        &self,
        draw: &crate::SpeciesDraw,
    ) -> Result<(crate::SpeciesDraw, bool), StoreError> {
        species::record_species_draw(&self.pool, draw).await
    }

    async fn species_draw(
        &self,
        user_id: UserId,
        reason: &str,
    ) -> Result<Option<crate::SpeciesDraw>, StoreError> {
        species::species_draw(&self.pool, user_id, reason).await
    }

    async fn species_draws(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<crate::SpeciesDraw>, StoreError> {
        species::species_draws(&self.pool, user_id, limit).await
    }

    async fn species_cards(&self, user_id: UserId) -> Result<Vec<crate::SpeciesCard>, StoreError> {
        species::species_cards(&self.pool, user_id).await
    }

    async fn gift_species_card(
        &self,
        from: UserId,
        to: UserId,
        species_id: &str,
        now: Timestamp,
    ) -> Result<crate::CardGift, StoreError> {
        species::gift_species_card(&self.pool, from, to, species_id, now).await
    }

    async fn reward_species_set(
        &self,
        user_id: UserId,
        reward: &crate::SetRewardGiven,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        species::reward_species_set(&self.pool, user_id, reward, expires_at).await
    }

    async fn species_set_rewards(
        &self,
        user_id: UserId,
    ) -> Result<Vec<crate::SetRewardGiven>, StoreError> {
        species::species_set_rewards(&self.pool, user_id).await
    }

    async fn usage_totals(
        &self,
        users: &[UserId],
        action: &str,
        periods: &[String],
    ) -> Result<std::collections::HashMap<UserId, Grams>, StoreError> {
        game::usage_totals(&self.pool, users, action, periods).await
    }

    async fn feed(
        &self,
        user_id: UserId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<crate::FeedEntry>, StoreError> {
        game::feed(&self.pool, user_id, before, limit).await
    }

    async fn unlogged_records(
        &self,
        kind: openforest_core::log::RecordKind,
        floor: Uuid,
        limit: u32,
    ) -> Result<Vec<openforest_core::log::LogRecord>, StoreError> {
        log::unlogged_records(&self.pool, kind, floor, limit).await
    }

    async fn newest_logged_record(
        &self,
        kind: openforest_core::log::RecordKind,
    ) -> Result<Option<Uuid>, StoreError> {
        log::newest_logged_record(&self.pool, kind).await
    }

    async fn append_log(
        &self,
        leaves: &[crate::log::StoredLeaf],
        head: &openforest_core::log::SignedTreeHead,
    ) -> Result<(), StoreError> {
        log::append_log(&self.pool, leaves, head).await
    }

    async fn log_leaves(
        &self,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<crate::log::StoredLeaf>, StoreError> {
        log::log_leaves(&self.pool, from_index, limit).await
    }

    async fn log_leaf_of(
        &self,
        kind: openforest_core::log::RecordKind,
        record_id: Uuid,
    ) -> Result<Option<crate::log::StoredLeaf>, StoreError> {
        log::log_leaf_of(&self.pool, kind, record_id).await
    }

    async fn log_records(
        &self,
        kind: openforest_core::log::RecordKind,
        ids: &[Uuid],
    ) -> Result<Vec<openforest_core::log::LogRecord>, StoreError> {
        log::log_records(&self.pool, kind, ids).await
    }

    async fn latest_log_head(
        &self,
    ) -> Result<Option<openforest_core::log::SignedTreeHead>, StoreError> {
        log::log_head(&self.pool, None).await
    }

    async fn log_head(
        &self,
        tree_size: u64,
    ) -> Result<Option<openforest_core::log::SignedTreeHead>, StoreError> {
        log::log_head(&self.pool, Some(tree_size)).await
    }

    async fn unlogged_summary(
        &self,
        kind: openforest_core::log::RecordKind,
        floor: Uuid,
        limit: u32,
    ) -> Result<crate::log::UnloggedSummary, StoreError> {
        log::unlogged_summary(&self.pool, kind, floor, limit).await
    }

    async fn impact_figures(&self) -> Result<crate::ImpactFigures, StoreError> {
        impact::impact_figures(&self.pool).await
    }

    async fn server_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        partners::server_secret(&self.pool, name, len).await
    }

    async fn drop_settled_ball_days(
        &self,
        now: Timestamp,
        retention: Duration,
    ) -> Result<crate::BallDaysCleanup, StoreError> {
        let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
        partitions::drop_settled_days(&self.pool, now, retention_ms).await
    }

    async fn audit(&self, progress: Progress) -> Result<AuditReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        // One snapshot: the journal and the balances are seen at the same instant.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM journal")
            .fetch_one(&mut *tx)
            .await?;
        let total = u64::try_from(total).unwrap_or(0);
        let mut audit = Audit::new();
        {
            let mut rows = sqlx::query(
                "SELECT user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                        to_owner, to_kind, to_id, grams, reference FROM journal",
            )
            .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                let raw = JournalRow {
                    user_id: row.try_get(0)?,
                    entry_id: row.try_get(1)?,
                    at_ms: row.try_get(2)?,
                    kind: row.try_get(3)?,
                    from: (row.try_get(4)?, row.try_get(5)?, row.try_get(6)?),
                    to: (row.try_get(7)?, row.try_get(8)?, row.try_get(9)?),
                    grams: row.try_get(10)?,
                    reference: row.try_get(11)?,
                };
                raw.audit_into(&mut audit);
                if audit.entries_seen().is_multiple_of(10_000) {
                    progress(audit.entries_seen(), total);
                }
            }
        }
        progress(total, total);
        let mut balances = Vec::new();
        {
            let mut rows = sqlx::query("SELECT owner_id, kind, account_id, grams FROM balances")
                .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await? {
                let (owner, kind, id, grams): (Uuid, i16, Uuid, i64) = (
                    row.try_get(0)?,
                    row.try_get(1)?,
                    row.try_get(2)?,
                    row.try_get(3)?,
                );
                match model::account_from_row(owner, kind, id) {
                    Ok(account) => balances.push((account, grams)),
                    Err(reason) => {
                        audit.unreadable(format!("balance of {owner}/{kind}/{id}"), reason)
                    }
                }
            }
        }
        let digests = digest::mismatches(&mut tx).await?;
        tx.commit().await?;
        let mut report = audit.finish(balances);
        report.problems.extend(
            digests
                .into_iter()
                .map(|user_id| openforest_core::AuditProblem::DigestMismatch { user_id }),
        );
        Ok(report)
    }

    async fn seed_world(
        &self,
        chunk: &crate::seed::SeedChunk,
    ) -> Result<crate::seed::SeedReport, StoreError> {
        seed::seed_world(&self.pool, chunk).await
    }

    async fn shutdown(&self) {
        if let Some(upkeep) = self.upkeep.lock().ok().and_then(|mut upkeep| upkeep.take()) {
            upkeep.abort();
        }
        self.lanes.close();
        let writers = self
            .writers
            .lock()
            .map(|mut writers| std::mem::take(&mut *writers))
            .unwrap_or_default();
        for writer in writers {
            let _ = writer.await;
        }
        self.pool.close().await;
    }
}
