//! The embedded SQLite backend (WAL, `synchronous = FULL`): one writer thread owns the only
//! write connection; reads use a pool of their own and never queue behind it. rusqlite is used
//! directly rather than through sqlx: the writer's per-statement cost decides the harvest
//! throughput, and a synchronous connection on its own thread avoids a thread hop per query.

mod checkpoint;
mod digest;
mod game;
mod groups;
mod impact;
mod log;
mod methodologies;
mod partners;
mod planting;
mod props;
mod seed;
mod species;
mod webhooks;
mod writer;

use crate::batch::Reply;
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
use openforest_core::BallId;
use openforest_core::{
    Account, Audit, AuditReport, Clock, Grams, Outcome, PartnerId, Timestamp, UserId,
};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, params};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

type Pool = r2d2::Pool<SqliteConnectionManager>;

pub struct SqliteStore {
    path: PathBuf,
    pool: Pool,
    lanes: Lanes,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The unbatched baseline's own write connection. SQLite admits one writer at a time, so
    /// the fairest one-transaction-per-command path is one connection taking turns, not many
    /// connections busy-waiting on the lock.
    unbatched: Arc<Mutex<Option<Connection>>>,
    checkpointer: Mutex<Option<checkpoint::Checkpointer>>,
    clock: Arc<dyn Clock>,
    /// Whether any webhook endpoint is enabled: the writer records outbox events only then.
    events_wanted: Arc<AtomicBool>,
    entry_ids: Arc<crate::EntryIds>,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/sqlite/0001_foundation.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0002_partners_and_balls.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0003_webhooks.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0004_methodology_versions.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0005_write_locality.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0006_friends_and_harvest.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0007_invites_blocks_notices_abuse.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0008_props.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0009_planting_groups.sql"
        )),
        M::up(include_str!("../../migrations/sqlite/0010_planting.sql")),
        M::up(include_str!(
            "../../migrations/sqlite/0011_transparency_log.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0012_species_cards.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0013_forest_digests.sql"
        )),
        M::up(include_str!(
            "../../migrations/sqlite/0014_collect_streaks.sql"
        )),
    ])
}

/// Every connection: WAL so readers never block the writer, FULL sync so a commit is on disk
/// before anyone is told it happened.
fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;
         PRAGMA foreign_keys = ON;",
    )
}

/// Read connections: their own 8 MiB page cache. No memory map: each connection's map counted
/// up to 256 MiB of the file in the server's RSS (600 MB under the harvest rush), remapping as
/// the file grew cost the rush 6 % of its CPU, and forest home measured no faster with it.
fn configure_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    configure(conn)?;
    conn.execute_batch("PRAGMA cache_size = -8192;")
}

/// Connections that write: a large page cache, and no checkpoints in the commit path (copying
/// WAL pages back into the database is the checkpointer thread's job, on the other core).
fn configure_writer(conn: &mut Connection) -> rusqlite::Result<()> {
    // A batch runs some 25 distinct statements; with rusqlite's default cache of 16 the least
    // recent were parsed and planned again in every batch.
    conn.set_prepared_statement_cache_capacity(WRITER_STATEMENTS_CACHED);
    conn.execute_batch("PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 0;")
}

/// Prepared statements the writer keeps.
const WRITER_STATEMENTS_CACHED: usize = 64;

impl SqliteStore {
    pub async fn open(
        path: &Path,
        options: WriterOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteStore, StoreError> {
        options.validate().map_err(StoreError::Config)?;
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                StoreError::Config(format!("cannot create {}: {err}", dir.display()))
            })?;
        }
        let mut conn = Connection::open(path)?;
        configure(&mut conn)?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|err| StoreError::Migration(err.to_string()))?;
        configure_writer(&mut conn)?;
        let events_wanted = Arc::new(AtomicBool::new(webhooks::any_enabled(&conn)?));
        let entry_ids = Arc::new(crate::EntryIds::default());
        let checkpointer = checkpoint::Checkpointer::spawn(path)?;
        let pool = r2d2::Pool::builder()
            .max_size(options.read_connections)
            .build(SqliteConnectionManager::file(path).with_init(configure_reader))?;
        let (lanes, mut receivers) = Lanes::new(1, options.queue_depth);
        let receiver = receivers
            .pop()
            .ok_or_else(|| StoreError::Config("no writer lane".into()))?;
        let handle = writer::spawn(
            conn,
            receiver,
            options.batch_max,
            clock.clone(),
            events_wanted.clone(),
            entry_ids.clone(),
        )
        .map_err(|err| StoreError::Database(format!("cannot start the writer: {err}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            pool,
            lanes,
            writer: Mutex::new(Some(handle)),
            unbatched: Arc::new(Mutex::new(None)),
            checkpointer: Mutex::new(Some(checkpointer)),
            clock,
            events_wanted,
            entry_ids,
        })
    }

    /// Applies migrations and returns; for `openforest migrate`.
    pub fn migrate(path: &Path) -> Result<(), StoreError> {
        let mut conn = Connection::open(path)?;
        configure(&mut conn)?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|err| StoreError::Migration(err.to_string()))
    }

    /// Runs `work` on a pooled connection on the blocking thread pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await
        .map_err(|err| StoreError::Database(err.to_string()))?
    }
}

fn user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Uuid, String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn to_user(raw: (Uuid, String, String, i64)) -> Result<User, StoreError> {
    model::user_from_row(raw.0, raw.1, &raw.2, raw.3).map_err(StoreError::Database)
}

fn insert_user(tx: &rusqlite::Transaction<'_>, user: &NewUser) -> Result<(), StoreError> {
    let taken = tx
        .prepare_cached(
            "INSERT INTO user_handles (handle, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![user.handle.as_str(), user.user_id.uuid()])?
        == 0;
    if taken {
        return Err(StoreError::Conflict("handle"));
    }
    tx.prepare_cached(
        "INSERT INTO users (user_id, handle, role, password_hash, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        user.user_id.uuid(),
        user.handle.as_str(),
        user.role.as_str(),
        user.password_hash,
        user.created_at.millis()
    ])?;
    Ok(())
}

const USER_COLUMNS: &str = "u.user_id, u.handle, u.role, u.created_at_ms";

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn location(&self) -> String {
        std::fs::canonicalize(&self.path)
            .unwrap_or_else(|_| self.path.clone())
            .display()
            .to_string()
    }

    async fn execute(&self, envelope: Envelope) -> Result<Executed, CommandError> {
        self.lanes.submit(envelope).await
    }

    async fn execute_unbatched(&self, envelope: Envelope) -> Result<Executed, CommandError> {
        let now = self.clock.now();
        let (path, unbatched) = (self.path.clone(), self.unbatched.clone());
        let entry_ids = self.entry_ids.clone();
        let events = self.events_wanted.load(Ordering::Acquire);
        let run = move || -> Result<Option<Reply>, StoreError> {
            let mut slot = unbatched
                .lock()
                .map_err(|_| StoreError::Database("unbatched connection poisoned".into()))?;
            if slot.is_none() {
                let mut conn = Connection::open(&path)?;
                configure(&mut conn)?;
                configure_writer(&mut conn)?;
                *slot = Some(conn);
            }
            let conn = slot
                .as_mut()
                .ok_or_else(|| StoreError::Database("no unbatched connection".into()))?;
            Ok(writer::run_batch(conn, &[&envelope], now, events, &entry_ids)?.pop())
        };
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|err| CommandError::Storage(err.to_string()))?
            .map_err(|err| CommandError::Storage(err.to_string()))?
            .unwrap_or_else(|| Err(CommandError::Storage("no reply".into())))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.with_conn(|conn| Ok(conn.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            insert_user(&tx, &user)?;
            tx.commit()?;
            Ok(User {
                user_id: user.user_id,
                handle: user.handle,
                role: user.role,
                created_at: user.created_at,
            })
        })
        .await
    }

    async fn user(&self, user_id: UserId) -> Result<Option<User>, StoreError> {
        self.with_conn(move |conn| {
            let raw = conn
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users u WHERE u.user_id = ?1"
                ))?
                .query_row(params![user_id.uuid()], user_row)
                .optional()?;
            raw.map(to_user).transpose()
        })
        .await
    }

    async fn user_by_handle(
        &self,
        handle: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        let handle = handle.to_lowercase();
        self.with_conn(move |conn| {
            let raw = conn
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS}, u.password_hash FROM user_handles h
                     JOIN users u ON u.user_id = h.user_id WHERE h.handle = ?1"
                ))?
                .query_row(params![handle], |row| {
                    Ok((user_row(row)?, row.get::<_, Option<String>>(4)?))
                })
                .optional()?;
            raw.map(|(user, hash)| Ok((to_user(user)?, hash)))
                .transpose()
        })
        .await
    }

    async fn user_for_external_id(
        &self,
        external_id: &str,
        new_user: NewUser,
    ) -> Result<User, StoreError> {
        let external_id = external_id.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existing = tx
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM external_users e JOIN users u ON u.user_id = e.user_id
                     WHERE e.external_id = ?1"
                ))?
                .query_row(params![external_id], user_row)
                .optional()?;
            if let Some(raw) = existing {
                return to_user(raw);
            }
            insert_user(&tx, &new_user)?;
            tx.prepare_cached("INSERT INTO external_users (external_id, user_id) VALUES (?1, ?2)")?
                .execute(params![external_id, new_user.user_id.uuid()])?;
            tx.commit()?;
            Ok(User {
                user_id: new_user.user_id,
                handle: new_user.handle,
                role: new_user.role,
                created_at: new_user.created_at,
            })
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: [u8; 32],
        user_id: UserId,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.with_conn(move |conn| {
            conn.prepare_cached(
                "INSERT INTO sessions (token_hash, user_id, created_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![&token_hash[..], user_id.uuid(), now.millis(), expires_at.millis()])?;
            Ok(())
        })
        .await
    }

    async fn session_user(
        &self,
        token_hash: [u8; 32],
        now: Timestamp,
    ) -> Result<Option<(User, Timestamp)>, StoreError> {
        self.with_conn(move |conn| {
            let raw = conn
                .prepare_cached(&format!(
                    "SELECT {USER_COLUMNS}, s.expires_at_ms FROM sessions s JOIN users u ON u.user_id = s.user_id
                     WHERE s.token_hash = ?1 AND s.expires_at_ms > ?2"
                ))?
                .query_row(params![&token_hash[..], now.millis()], |row| {
                    Ok((user_row(row)?, row.get::<_, i64>(4)?))
                })
                .optional()?;
            raw.map(|(user, expires)| Ok((to_user(user)?, Timestamp(expires))))
                .transpose()
        })
        .await
    }

    async fn delete_session(&self, token_hash: [u8; 32]) -> Result<(), StoreError> {
        self.with_conn(move |conn| {
            conn.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
                .execute(params![&token_hash[..]])?;
            Ok(())
        })
        .await
    }

    async fn create_operator_key(
        &self,
        key: OperatorKey,
        key_hash: [u8; 32],
    ) -> Result<(), StoreError> {
        self.with_conn(move |conn| {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO operator_keys (key_hash, key_id, name, created_at_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![&key_hash[..], key.key_id, key.name, key.created_at.millis()])?;
            if inserted == 0 {
                return Err(StoreError::Conflict("operator key name"));
            }
            Ok(())
        })
        .await
    }

    async fn operator_key(&self, key_hash: [u8; 32]) -> Result<Option<OperatorKey>, StoreError> {
        self.with_conn(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT key_id, name, created_at_ms, revoked_at_ms FROM operator_keys WHERE key_hash = ?1",
                )?
                .query_row(params![&key_hash[..]], |row| {
                    Ok(OperatorKey {
                        key_id: row.get(0)?,
                        name: row.get(1)?,
                        created_at: Timestamp(row.get(2)?),
                        revoked_at: row.get::<_, Option<i64>>(3)?.map(Timestamp),
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn wallet(&self, user_id: UserId) -> Result<Grams, StoreError> {
        self.with_conn(move |conn| wallet(conn, user_id)).await
    }

    async fn balls(&self, user_id: UserId, limit: u32) -> Result<Vec<BallState>, StoreError> {
        self.with_conn(move |conn| partners::balls(conn, user_id, limit))
            .await
    }

    async fn due_balls(
        &self,
        now: Timestamp,
        after: crate::DueCursor,
        limit: u32,
    ) -> Result<Vec<(UserId, BallId, Timestamp)>, StoreError> {
        self.with_conn(move |conn| partners::due_balls(conn, now, after, limit))
            .await
    }

    async fn idempotent_outcome(
        &self,
        scope: &str,
        key: &str,
    ) -> Result<Option<(Vec<u8>, Outcome)>, StoreError> {
        let (scope, key) = (scope.to_string(), key.to_string());
        self.with_conn(move |conn| partners::idempotent_outcome(conn, &scope, &key))
            .await
    }

    async fn create_partner(&self, partner: &Partner) -> Result<(), StoreError> {
        let partner = partner.clone();
        self.with_conn(move |conn| partners::create_partner(conn, &partner))
            .await
    }

    async fn partner(&self, partner_id: PartnerId) -> Result<Option<Partner>, StoreError> {
        self.with_conn(move |conn| partners::partner(conn, partner_id))
            .await
    }

    async fn partners(&self) -> Result<Vec<Partner>, StoreError> {
        self.with_conn(|conn| partners::partners(conn)).await
    }

    async fn set_partner_disabled(
        &self,
        partner_id: PartnerId,
        at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        self.with_conn(move |conn| partners::set_partner_disabled(conn, partner_id, at))
            .await
    }

    async fn add_partner_key(&self, key: &PartnerKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_conn(move |conn| partners::add_partner_key(conn, &key))
            .await
    }

    async fn revoke_partner_key(
        &self,
        partner_id: PartnerId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let key_id = key_id.to_string();
        self.with_conn(move |conn| partners::revoke_partner_key(conn, partner_id, &key_id, at))
            .await
    }

    async fn partner_keys(&self, partner_id: PartnerId) -> Result<Vec<PartnerKey>, StoreError> {
        self.with_conn(move |conn| partners::partner_keys(conn, partner_id))
            .await
    }

    async fn partner_key(&self, key_id: &str) -> Result<Option<(PartnerKey, Partner)>, StoreError> {
        let key_id = key_id.to_string();
        self.with_conn(move |conn| partners::partner_key(conn, &key_id))
            .await
    }

    async fn link_partner(
        &self,
        user_id: UserId,
        partner_id: PartnerId,
        partner_user_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let partner_user_id = partner_user_id.to_string();
        self.with_conn(move |conn| {
            partners::link_partner(conn, user_id, partner_id, &partner_user_id, at)
        })
        .await
    }

    async fn unlink_partner(
        &self,
        user_id: UserId,
        partner_id: PartnerId,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        self.with_conn(move |conn| partners::unlink_partner(conn, user_id, partner_id, now))
            .await
    }

    async fn linked_user(
        &self,
        partner_id: PartnerId,
        partner_user_id: &str,
    ) -> Result<LinkStatus, StoreError> {
        let partner_user_id = partner_user_id.to_string();
        self.with_conn(move |conn| partners::linked_user(conn, partner_id, &partner_user_id))
            .await
    }

    async fn linked_users(
        &self,
        partner_id: PartnerId,
        partner_user_ids: &[String],
    ) -> Result<std::collections::HashMap<String, LinkStatus>, StoreError> {
        let ids = partner_user_ids.to_vec();
        self.with_conn(move |conn| partners::linked_users(conn, partner_id, &ids))
            .await
    }

    async fn user_links(&self, user_id: UserId) -> Result<Vec<(PartnerId, String)>, StoreError> {
        self.with_conn(move |conn| partners::user_links(conn, user_id))
            .await
    }

    async fn create_webhook_endpoint(
        &self,
        endpoint: &WebhookEndpoint,
        secret: &str,
    ) -> Result<(), StoreError> {
        let (endpoint, secret) = (endpoint.clone(), secret.to_string());
        self.with_conn(move |conn| webhooks::create_endpoint(conn, &endpoint, &secret))
            .await?;
        self.events_wanted.store(true, Ordering::Release);
        Ok(())
    }

    async fn webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        self.with_conn(|conn| webhooks::endpoints(conn)).await
    }

    async fn disable_webhook_endpoint(
        &self,
        endpoint_id: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (disabled, any) = self
            .with_conn(move |conn| {
                let disabled = webhooks::disable_endpoint(conn, endpoint_id, at)?;
                Ok((disabled, webhooks::any_enabled(conn)?))
            })
            .await?;
        self.events_wanted.store(any, Ordering::Release);
        Ok(disabled)
    }

    async fn fan_out_webhook_events(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
        let (taken, any) = self
            .with_conn(move |conn| {
                let taken = webhooks::fan_out(conn, now, limit)?;
                Ok((taken, webhooks::any_enabled(conn)?))
            })
            .await?;
        self.events_wanted.store(any, Ordering::Release);
        Ok(taken)
    }

    async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.with_conn(move |conn| webhooks::claim_due(conn, now, lease_until, limit))
            .await
    }

    async fn record_webhook_attempt(
        &self,
        delivery_id: Uuid,
        attempt: &WebhookAttempt,
        next: NextStep,
    ) -> Result<(), StoreError> {
        let attempt = attempt.clone();
        self.with_conn(move |conn| webhooks::record_attempt(conn, delivery_id, &attempt, next))
            .await
    }

    async fn webhook_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let filter = filter.clone();
        self.with_conn(move |conn| webhooks::deliveries(conn, &filter))
            .await
    }

    async fn retry_webhook_delivery(
        &self,
        delivery_id: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.with_conn(move |conn| webhooks::retry(conn, delivery_id, at))
            .await
    }

    async fn add_methodology(
        &self,
        version: &crate::NewMethodologyVersion,
    ) -> Result<crate::MethodologyAdded, StoreError> {
        let version = version.clone();
        self.with_conn(move |conn| methodologies::add_methodology(conn, &version))
            .await
    }

    async fn methodologies(&self) -> Result<Vec<crate::MethodologyRecord>, StoreError> {
        self.with_conn(|conn| methodologies::methodologies(conn))
            .await
    }

    async fn methodology(
        &self,
        name: &str,
        version: u32,
    ) -> Result<Option<crate::StoredMethodology>, StoreError> {
        let name = name.to_string();
        self.with_conn(move |conn| methodologies::methodology(conn, &name, version))
            .await
    }

    async fn active_methodology(&self) -> Result<Option<crate::StoredMethodology>, StoreError> {
        self.with_conn(|conn| methodologies::active_methodology(conn))
            .await
    }

    async fn activate_methodology(
        &self,
        name: &str,
        version: u32,
        activation: crate::Activation,
    ) -> Result<bool, StoreError> {
        let name = name.to_string();
        self.with_conn(move |conn| {
            methodologies::activate_methodology(conn, &name, version, activation)
        })
        .await
    }

    async fn create_ngo(&self, ngo: &crate::Ngo) -> Result<(), StoreError> {
        let ngo = ngo.clone();
        self.with_conn(move |conn| planting::create_ngo(conn, &ngo))
            .await
    }

    async fn ngos(&self) -> Result<Vec<crate::Ngo>, StoreError> {
        self.with_conn(move |conn| planting::ngos(conn)).await
    }

    async fn add_ngo_member(
        &self,
        ngo_id: openforest_core::NgoId,
        user_id: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.with_conn(move |conn| planting::add_ngo_member(conn, ngo_id, user_id, at))
            .await
    }

    async fn ngo_of_member(
        &self,
        user_id: UserId,
    ) -> Result<Option<openforest_core::NgoId>, StoreError> {
        self.with_conn(move |conn| planting::ngo_of_member(conn, user_id))
            .await
    }

    async fn create_ngo_key(
        &self,
        key_hash: [u8; 32],
        key: &crate::NgoKey,
    ) -> Result<(), StoreError> {
        let key = key.clone();
        self.with_conn(move |conn| planting::create_ngo_key(conn, key_hash, &key))
            .await
    }

    async fn ngo_key(&self, key_hash: [u8; 32]) -> Result<Option<crate::NgoKey>, StoreError> {
        self.with_conn(move |conn| planting::ngo_key(conn, key_hash))
            .await
    }

    async fn create_site(&self, site: &crate::Site) -> Result<(), StoreError> {
        let site = site.clone();
        self.with_conn(move |conn| planting::create_site(conn, &site))
            .await
    }

    async fn sites(&self) -> Result<Vec<crate::Site>, StoreError> {
        self.with_conn(move |conn| planting::sites(conn)).await
    }

    async fn create_catalog_item(&self, item: &crate::CatalogItem) -> Result<(), StoreError> {
        let item = item.clone();
        self.with_conn(move |conn| planting::create_catalog_item(conn, &item))
            .await
    }

    async fn catalog(&self) -> Result<Vec<crate::CatalogItem>, StoreError> {
        self.with_conn(move |conn| planting::catalog(conn)).await
    }

    async fn catalog_item(
        &self,
        item_id: openforest_core::CatalogItemId,
    ) -> Result<Option<crate::CatalogItem>, StoreError> {
        self.with_conn(move |conn| planting::catalog_item(conn, item_id))
            .await
    }

    async fn place_orders(
        &self,
        at: Timestamp,
    ) -> Result<Vec<openforest_core::OrderId>, StoreError> {
        self.with_conn(move |conn| planting::place_orders(conn, at))
            .await
    }

    async fn orders(
        &self,
        ngo_id: Option<openforest_core::NgoId>,
    ) -> Result<Vec<crate::Order>, StoreError> {
        self.with_conn(move |conn| planting::orders(conn, ngo_id))
            .await
    }

    async fn order(
        &self,
        order_id: openforest_core::OrderId,
    ) -> Result<Option<crate::Order>, StoreError> {
        self.with_conn(move |conn| planting::order(conn, order_id))
            .await
    }

    async fn put_photo(
        &self,
        sha256: [u8; 32],
        photo: &crate::Photo,
        ngo_id: openforest_core::NgoId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let photo = photo.clone();
        self.with_conn(move |conn| planting::put_photo(conn, sha256, &photo, ngo_id, at))
            .await
    }

    async fn photo(&self, sha256: [u8; 32]) -> Result<Option<crate::Photo>, StoreError> {
        self.with_conn(move |conn| planting::photo(conn, sha256))
            .await
    }

    async fn record_batch(
        &self,
        batch: &crate::NewBatch,
    ) -> Result<Result<crate::PlantingBatch, crate::BatchRefusal>, StoreError> {
        let batch = batch.clone();
        self.with_conn(move |conn| planting::record_batch(conn, &batch))
            .await
    }

    async fn batch(
        &self,
        batch_id: openforest_core::BatchId,
    ) -> Result<Option<crate::PlantingBatch>, StoreError> {
        self.with_conn(move |conn| planting::batch(conn, batch_id))
            .await
    }

    async fn batches(
        &self,
        order_id: openforest_core::OrderId,
    ) -> Result<Vec<crate::PlantingBatch>, StoreError> {
        self.with_conn(move |conn| planting::batches(conn, order_id))
            .await
    }

    async fn verify_batch(
        &self,
        batch_id: openforest_core::BatchId,
        verified_by: &str,
        at: Timestamp,
    ) -> Result<Option<crate::PlantingBatch>, StoreError> {
        let verified_by = verified_by.to_string();
        self.with_conn(move |conn| planting::verify_batch(conn, batch_id, &verified_by, at))
            .await
    }

    async fn user_pledges(&self, user_id: UserId) -> Result<Vec<crate::PledgeRecord>, StoreError> {
        self.with_conn(move |conn| planting::user_pledges(conn, user_id))
            .await
    }

    async fn pledge_by_certificate(
        &self,
        certificate_no: &str,
    ) -> Result<Option<crate::PledgeRecord>, StoreError> {
        let certificate_no = certificate_no.to_string();
        self.with_conn(move |conn| planting::pledge_by_certificate(conn, &certificate_no))
            .await
    }

    async fn order_pledges(
        &self,
        order_id: openforest_core::OrderId,
    ) -> Result<Vec<crate::PledgeRecord>, StoreError> {
        self.with_conn(move |conn| planting::order_pledges(conn, order_id))
            .await
    }

    async fn pledge_entry_ids(
        &self,
        pledge: &openforest_core::Pledge,
    ) -> Result<Vec<Uuid>, StoreError> {
        let pledge = pledge.clone();
        self.with_conn(move |conn| planting::pledge_entry_ids(conn, &pledge))
            .await
    }

    async fn planting_record_ids(
        &self,
        batch_id: openforest_core::BatchId,
    ) -> Result<Vec<Uuid>, StoreError> {
        self.with_conn(move |conn| planting::planting_record_ids(conn, batch_id))
            .await
    }

    async fn history(&self, user_id: UserId) -> Result<crate::History, StoreError> {
        self.with_conn(move |conn| planting::history(conn, user_id))
            .await
    }

    async fn live_balls(
        &self,
        users: &[UserId],
        now: Timestamp,
    ) -> Result<Vec<BallState>, StoreError> {
        let users = users.to_vec();
        self.with_conn(move |conn| game::live_balls(conn, &users, now))
            .await
    }

    async fn handles(
        &self,
        users: &[UserId],
    ) -> Result<std::collections::HashMap<UserId, String>, StoreError> {
        let users = users.to_vec();
        self.with_conn(move |conn| game::handles(conn, &users))
            .await
    }

    async fn forest_home(
        &self,
        user_id: UserId,
        now: Timestamp,
        taken_since: Timestamp,
    ) -> Result<crate::ForestHomeRows, StoreError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction()?;
            Ok(crate::ForestHomeRows {
                friends: digest::friends_digests(&tx, user_id)?,
                wallet: wallet(&tx, user_id)?,
                balls: game::live_balls(&tx, &[user_id], now)?,
                taken: game::balls_taken(&tx, user_id, taken_since)?,
            })
        })
        .await
    }

    async fn balls_taken(
        &self,
        user_id: UserId,
        since: Timestamp,
    ) -> Result<std::collections::HashSet<BallId>, StoreError> {
        self.with_conn(move |conn| game::balls_taken(conn, user_id, since))
            .await
    }

    async fn request_friend(
        &self,
        from: UserId,
        to: UserId,
        at: Timestamp,
        limit: u32,
    ) -> Result<crate::FriendRequestResult, StoreError> {
        self.with_conn(move |conn| game::request_friend(conn, from, to, at, limit))
            .await
    }

    async fn friend_requests(
        &self,
        user_id: UserId,
    ) -> Result<Vec<(UserId, Timestamp)>, StoreError> {
        self.with_conn(move |conn| game::friend_requests(conn, user_id))
            .await
    }

    async fn answer_friend_request(
        &self,
        user_id: UserId,
        from: UserId,
        accept: bool,
        at: Timestamp,
        limit: u32,
    ) -> Result<Option<crate::FriendRequestResult>, StoreError> {
        self.with_conn(move |conn| {
            game::answer_friend_request(conn, user_id, from, accept, at, limit)
        })
        .await
    }

    async fn remove_friend(&self, user_id: UserId, friend_id: UserId) -> Result<bool, StoreError> {
        self.with_conn(move |conn| game::remove_friend(conn, user_id, friend_id))
            .await
    }

    async fn are_friends(&self, a: UserId, b: UserId) -> Result<bool, StoreError> {
        self.with_conn(move |conn| Ok(game::are_friends(conn, a, b)?))
            .await
    }

    async fn friends(&self, user_id: UserId) -> Result<Vec<UserId>, StoreError> {
        self.with_conn(move |conn| game::friends(conn, user_id))
            .await
    }

    async fn invite_code(
        &self,
        user_id: UserId,
        candidate: &str,
        at: Timestamp,
    ) -> Result<String, StoreError> {
        let candidate = candidate.to_string();
        self.with_conn(move |conn| game::invite_code(conn, user_id, &candidate, at))
            .await
    }

    async fn user_by_invite_code(&self, code: &str) -> Result<Option<UserId>, StoreError> {
        let code = code.to_string();
        self.with_conn(move |conn| game::user_by_invite_code(conn, &code))
            .await
    }

    async fn block_user(
        &self,
        user_id: UserId,
        other: UserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.with_conn(move |conn| game::block_user(conn, user_id, other, at))
            .await
    }

    async fn unblock_user(&self, user_id: UserId, other: UserId) -> Result<bool, StoreError> {
        self.with_conn(move |conn| game::unblock_user(conn, user_id, other))
            .await
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
        self.with_conn(move |conn| game::announce_expiring_balls(conn, now, after, horizon, limit))
            .await
    }

    async fn report_abuse(
        &self,
        user_id: UserId,
        kind: &str,
        detail: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (kind, detail) = (kind.to_string(), detail.to_string());
        self.with_conn(move |conn| game::report_abuse(conn, user_id, &kind, &detail, at))
            .await
    }

    async fn abuse_reports(
        &self,
        pending_only: bool,
        limit: u32,
    ) -> Result<Vec<crate::AbuseReport>, StoreError> {
        self.with_conn(move |conn| game::abuse_reports(conn, pending_only, limit))
            .await
    }

    async fn review_abuse_report(
        &self,
        report_id: Uuid,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.with_conn(move |conn| game::review_abuse_report(conn, report_id, at))
            .await
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
        let (kind, source) = (kind.to_string(), source.to_string());
        self.with_conn(move |conn| {
            props::grant_props(conn, user_id, &kind, count, &source, expires_at, at)
        })
        .await
    }

    async fn props(
        &self,
        user_id: UserId,
        now: Timestamp,
    ) -> Result<(Vec<crate::PropStock>, Vec<crate::PropEffect>), StoreError> {
        self.with_conn(move |conn| props::props(conn, user_id, now))
            .await
    }

    async fn use_prop(
        &self,
        user_id: UserId,
        kind: &str,
        duration_ms: i64,
        multiplier_permille: u32,
        now: Timestamp,
    ) -> Result<Option<crate::PropEffect>, StoreError> {
        let kind = kind.to_string();
        self.with_conn(move |conn| {
            props::use_prop(conn, user_id, &kind, duration_ms, multiplier_permille, now)
        })
        .await
    }

    async fn gift_prop(
        &self,
        from: UserId,
        to: UserId,
        kind: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let kind = kind.to_string();
        self.with_conn(move |conn| props::gift_prop(conn, from, to, &kind, now))
            .await
    }

    async fn reward_task(
        &self,
        user_id: UserId,
        task: &str,
        period: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let (task, period) = (task.to_string(), period.to_string());
        self.with_conn(move |conn| props::reward_task(conn, user_id, &task, &period, at))
            .await
    }

    async fn task_rewarded(
        &self,
        user_id: UserId,
        task: &str,
        periods: &[String],
    ) -> Result<bool, StoreError> {
        let (task, periods) = (task.to_string(), periods.to_vec());
        self.with_conn(move |conn| props::task_rewarded(conn, user_id, &task, &periods))
            .await
    }

    async fn create_group(&self, group: &crate::PlantingGroup) -> Result<(), StoreError> {
        let group = group.clone();
        self.with_conn(move |conn| groups::create_group(conn, &group))
            .await
    }

    async fn group(
        &self,
        group_id: openforest_core::GroupId,
    ) -> Result<Option<crate::PlantingGroup>, StoreError> {
        self.with_conn(move |conn| groups::group(conn, group_id))
            .await
    }

    async fn group_members(
        &self,
        group_id: openforest_core::GroupId,
    ) -> Result<Vec<crate::GroupMember>, StoreError> {
        self.with_conn(move |conn| groups::group_members(conn, group_id))
            .await
    }

    async fn user_groups(&self, user_id: UserId) -> Result<Vec<crate::PlantingGroup>, StoreError> {
        self.with_conn(move |conn| groups::user_groups(conn, user_id))
            .await
    }

    async fn invite_to_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        invited_by: UserId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.with_conn(move |conn| groups::invite_to_group(conn, group_id, user_id, invited_by, at))
            .await
    }

    async fn join_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        at: Timestamp,
        max_members: u32,
    ) -> Result<crate::JoinResult, StoreError> {
        self.with_conn(move |conn| groups::join_group(conn, group_id, user_id, at, max_members))
            .await
    }

    async fn leave_group(
        &self,
        group_id: openforest_core::GroupId,
        user_id: UserId,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.with_conn(move |conn| groups::leave_group(conn, group_id, user_id, at))
            .await
    }

    async fn pot_shares(
        &self,
        group_id: openforest_core::GroupId,
        members: &[UserId],
    ) -> Result<Vec<(UserId, Grams)>, StoreError> {
        let members = members.to_vec();
        self.with_conn(move |conn| groups::pot_shares(conn, group_id, &members))
            .await
    }

    async fn record_species_draw(
        &self,
        draw: &crate::SpeciesDraw,
    ) -> Result<(crate::SpeciesDraw, bool), StoreError> {
        let draw = draw.clone();
        self.with_conn(move |conn| species::record_species_draw(conn, &draw))
            .await
    }

    async fn species_draw(
        &self,
        user_id: UserId,
        reason: &str,
    ) -> Result<Option<crate::SpeciesDraw>, StoreError> {
        let reason = reason.to_string();
        self.with_conn(move |conn| species::species_draw(conn, user_id, &reason))
            .await
    }

    async fn species_draws(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<crate::SpeciesDraw>, StoreError> {
        self.with_conn(move |conn| species::species_draws(conn, user_id, limit))
            .await
    }

    async fn species_cards(&self, user_id: UserId) -> Result<Vec<crate::SpeciesCard>, StoreError> {
        self.with_conn(move |conn| species::species_cards(conn, user_id))
            .await
    }

    async fn gift_species_card(
        &self,
        from: UserId,
        to: UserId,
        species_id: &str,
        now: Timestamp,
    ) -> Result<crate::CardGift, StoreError> {
        let species_id = species_id.to_string();
        self.with_conn(move |conn| species::gift_species_card(conn, from, to, &species_id, now))
            .await
    }

    async fn reward_species_set(
        &self,
        user_id: UserId,
        reward: &crate::SetRewardGiven,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let reward = reward.clone();
        self.with_conn(move |conn| species::reward_species_set(conn, user_id, &reward, expires_at))
            .await
    }

    async fn species_set_rewards(
        &self,
        user_id: UserId,
    ) -> Result<Vec<crate::SetRewardGiven>, StoreError> {
        self.with_conn(move |conn| species::species_set_rewards(conn, user_id))
            .await
    }

    async fn usage_totals(
        &self,
        users: &[UserId],
        action: &str,
        periods: &[String],
    ) -> Result<std::collections::HashMap<UserId, Grams>, StoreError> {
        let (users, action, periods) = (users.to_vec(), action.to_string(), periods.to_vec());
        self.with_conn(move |conn| game::usage_totals(conn, &users, &action, &periods))
            .await
    }

    async fn feed(
        &self,
        user_id: UserId,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<crate::FeedEntry>, StoreError> {
        self.with_conn(move |conn| game::feed(conn, user_id, before, limit))
            .await
    }

    async fn unlogged_records(
        &self,
        kind: openforest_core::log::RecordKind,
        floor: Uuid,
        limit: u32,
    ) -> Result<Vec<openforest_core::log::LogRecord>, StoreError> {
        self.with_conn(move |conn| log::unlogged_records(conn, kind, floor, limit))
            .await
    }

    async fn newest_logged_record(
        &self,
        kind: openforest_core::log::RecordKind,
    ) -> Result<Option<Uuid>, StoreError> {
        self.with_conn(move |conn| log::newest_logged_record(conn, kind))
            .await
    }

    async fn append_log(
        &self,
        leaves: &[crate::log::StoredLeaf],
        head: &openforest_core::log::SignedTreeHead,
    ) -> Result<(), StoreError> {
        let (leaves, head) = (leaves.to_vec(), *head);
        self.with_conn(move |conn| log::append_log(conn, &leaves, &head))
            .await
    }

    async fn log_leaves(
        &self,
        from_index: u64,
        limit: u32,
    ) -> Result<Vec<crate::log::StoredLeaf>, StoreError> {
        self.with_conn(move |conn| log::log_leaves(conn, from_index, limit))
            .await
    }

    async fn log_leaf_of(
        &self,
        kind: openforest_core::log::RecordKind,
        record_id: Uuid,
    ) -> Result<Option<crate::log::StoredLeaf>, StoreError> {
        self.with_conn(move |conn| log::log_leaf_of(conn, kind, record_id))
            .await
    }

    async fn log_records(
        &self,
        kind: openforest_core::log::RecordKind,
        ids: &[Uuid],
    ) -> Result<Vec<openforest_core::log::LogRecord>, StoreError> {
        let ids = ids.to_vec();
        self.with_conn(move |conn| log::log_records(conn, kind, &ids))
            .await
    }

    async fn latest_log_head(
        &self,
    ) -> Result<Option<openforest_core::log::SignedTreeHead>, StoreError> {
        self.with_conn(move |conn| log::log_head(conn, None)).await
    }

    async fn log_head(
        &self,
        tree_size: u64,
    ) -> Result<Option<openforest_core::log::SignedTreeHead>, StoreError> {
        self.with_conn(move |conn| log::log_head(conn, Some(tree_size)))
            .await
    }

    async fn unlogged_summary(
        &self,
        kind: openforest_core::log::RecordKind,
        floor: Uuid,
        limit: u32,
    ) -> Result<crate::log::UnloggedSummary, StoreError> {
        self.with_conn(move |conn| log::unlogged_summary(conn, kind, floor, limit))
            .await
    }

    async fn impact_figures(&self) -> Result<crate::ImpactFigures, StoreError> {
        self.with_conn(|conn| impact::impact_figures(conn)).await
    }

    async fn drop_settled_ball_days(
        &self,
        _now: Timestamp,
        _retention: std::time::Duration,
    ) -> Result<crate::BallDaysCleanup, StoreError> {
        // One table of balls, no partitions to drop: settled balls stay where they are.
        Ok(crate::BallDaysCleanup::default())
    }

    async fn server_secret(&self, name: &str, len: usize) -> Result<Vec<u8>, StoreError> {
        let name = name.to_string();
        self.with_conn(move |conn| partners::server_secret(conn, &name, len))
            .await
    }

    async fn audit(&self, progress: Progress) -> Result<AuditReport, StoreError> {
        self.with_conn(move |conn| audit(conn, progress)).await
    }

    async fn seed_world(
        &self,
        chunk: &crate::seed::SeedChunk,
    ) -> Result<crate::seed::SeedReport, StoreError> {
        let (path, chunk) = (self.path.clone(), chunk.clone());
        tokio::task::spawn_blocking(move || seed::seed_world(&path, &chunk))
            .await
            .map_err(|err| StoreError::Database(err.to_string()))?
    }

    async fn shutdown(&self) {
        self.lanes.close();
        let handle = self.writer.lock().ok().and_then(|mut writer| writer.take());
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        let checkpointer = self
            .checkpointer
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(checkpointer) = checkpointer {
            let _ = tokio::task::spawn_blocking(move || checkpointer.stop()).await;
        }
    }
}

fn wallet(conn: &Connection, user_id: UserId) -> Result<Grams, StoreError> {
    let key = Account::Wallet { user_id }.key();
    let grams: Option<i64> = conn
        .prepare_cached(
            "SELECT grams FROM balances WHERE owner_id = ?1 AND kind = ?2 AND account_id = ?3",
        )?
        .query_row(params![key.owner, key.kind.code(), key.id], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(Grams::new(u64::try_from(grams.unwrap_or(0)).unwrap_or(0)))
}

fn audit(conn: &mut Connection, progress: Progress) -> Result<AuditReport, StoreError> {
    // One read transaction: the journal and the balances are seen at the same instant.
    let tx = conn.transaction()?;
    let total: i64 = tx.query_row("SELECT count(*) FROM journal", [], |row| row.get(0))?;
    let total = u64::try_from(total).unwrap_or(0);
    let mut audit = Audit::new();
    {
        let mut stmt = tx.prepare(
            "SELECT user_id, entry_id, at_ms, kind, from_owner, from_kind, from_id,
                    to_owner, to_kind, to_id, grams, reference FROM journal",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let raw = JournalRow {
                user_id: row.get(0)?,
                entry_id: row.get(1)?,
                at_ms: row.get(2)?,
                kind: row.get(3)?,
                from: (row.get(4)?, row.get(5)?, row.get(6)?),
                to: (row.get(7)?, row.get(8)?, row.get(9)?),
                grams: row.get(10)?,
                reference: row.get(11)?,
            };
            raw.audit_into(&mut audit);
            if audit.entries_seen().is_multiple_of(10_000) {
                progress(audit.entries_seen(), total);
            }
        }
    }
    progress(total, total);
    let mut balances = Vec::new();
    let mut stmt = tx.prepare("SELECT owner_id, kind, account_id, grams FROM balances")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (owner, kind, id, grams): (Uuid, i16, Uuid, i64) =
            (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
        match model::account_from_row(owner, kind, id) {
            Ok(account) => balances.push((account, grams)),
            Err(reason) => audit.unreadable(format!("balance of {owner}/{kind}/{id}"), reason),
        }
    }
    let mut report = audit.finish(balances);
    report.problems.extend(
        digest::mismatches(&tx)?
            .into_iter()
            .map(|user_id| openforest_core::AuditProblem::DigestMismatch { user_id }),
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::migrations;
    use rusqlite::{Connection, params};

    #[test]
    fn streaks_already_played_are_derived_from_the_days_with_energy_collected()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut conn = Connection::open_in_memory()?;
        migrations().to_version(&mut conn, 13)?;
        let user = uuid::Uuid::from_u128(7);
        for (period, actions) in [
            ("2026-11-20", 2),
            ("2026-11-21", 1),
            ("2026-11-22", 4),
            ("2026-11-24", 1),
            ("all", 8),
        ] {
            conn.execute(
                "INSERT INTO usage (user_id, action, period, actions, quantity_milli, grams)
                 VALUES (?1, 'collected', ?2, ?3, 0, 10)",
                params![user, period, actions],
            )?;
        }
        migrations().to_latest(&mut conn)?;
        let streaks: Vec<(String, u32)> = conn
            .prepare(
                "SELECT period, actions FROM usage WHERE user_id = ?1 AND action = 'collect_streak'
                 ORDER BY period",
            )?
            .query_map(params![user], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let expected = [
            ("2026-11-20", 1),
            ("2026-11-21", 2),
            ("2026-11-22", 3),
            ("2026-11-24", 1),
        ]
        .map(|(period, days)| (period.to_string(), days));
        assert_eq!(streaks, expected);
        Ok(())
    }
}
