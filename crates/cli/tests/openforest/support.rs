//! Booting the app for a test, and small helpers that keep tests reading like the spec.

use openforest_core::{Clock, ManualClock, Role, Timestamp, UserId};
use openforest_server::Application;
use openforest_server::config::Config;
use openforest_store::{NewUser, Store, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[tokio::test]` per backend for each named `async fn(TestApp)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )*
        }
    };
}

/// A database for one test: a SQLite file in a temporary directory, or a fresh PostgreSQL
/// database. `None` when PostgreSQL is unavailable and the suite may skip.
pub struct TestDatabase {
    pub url: String,
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Option<TestDatabase> {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("openforest.db").display()),
            Backend::Postgres => openforest_testkit::postgres_database().await?,
        };
        Some(TestDatabase { url, dir })
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub database: TestDatabase,
    /// The operator's zone as an offset: where it is late afternoon when the test starts.
    pub zone: chrono::FixedOffset,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let database = TestDatabase::new(backend).await?;
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        Some(Self::boot(database, clock, tweak).await.unwrap())
    }

    /// The app on a database the test prepared itself (its own cluster, a replica…).
    pub async fn spawn_on(
        database: TestDatabase,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestApp> {
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        Self::boot(database, clock, tweak).await
    }

    /// Stops the server gracefully, then starts a new one on the same database and clock with
    /// a fresh default configuration and `tweak`: what an operator's restart does.
    pub async fn restart_with(
        mut self,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestApp> {
        self.stop_server().await;
        Self::boot(self.database, self.clock, tweak).await
    }

    async fn boot(
        database: TestDatabase,
        clock: Arc<ManualClock>,
        tweak: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestApp> {
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: database.dir.path().to_path_buf(),
            database_url: database.url.clone(),
            ..Config::default()
        };
        let utc_offset_hours = afternoon_offset_hours(clock.now());
        config.timezone = zone_named(utc_offset_hours);
        let zone = chrono::FixedOffset::east_opt(utc_offset_hours * 3_600)
            .ok_or_else(|| anyhow::anyhow!("no zone at UTC{utc_offset_hours:+}"))?;
        // Tests run the webhook dispatcher themselves, at the moments they choose.
        config.webhooks.dispatch_interval_ms = 0;
        // …and the transparency log's sequencer likewise.
        config.transparency.sequence_interval_ms = 0;
        // Tests take energy faster than a person could; one test turns the limit back on.
        config.game.collect_interval_ms = 0;
        tweak(&mut config);
        let store =
            openforest_store::open(&config.database_url(), config.writer.clone(), clock.clone())
                .await?;
        let app = match Application::build(config, store.clone(), clock.clone()).await {
            Ok(app) => app,
            Err(err) => {
                store.shutdown().await;
                return Err(err);
            }
        };
        let base = format!("http://{}", app.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Ok(TestApp {
            base,
            http: reqwest::Client::new(),
            store,
            clock,
            database,
            zone,
            stop: Some(stop),
            server: Some(server),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut request = self.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    /// Registers and logs in a user; answers (user id, session token).
    pub async fn user(&self, handle: &str) -> (String, String) {
        let credentials = json!({"handle": handle, "password": "correct horse battery"});
        let created = self.post("/v1/users", None, &credentials).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        let session = json_of(
            self.post("/v1/sessions", None, &credentials).await,
            StatusCode::CREATED,
        )
        .await;
        (
            session["user"]["user_id"].as_str().unwrap().to_string(),
            session["token"].as_str().unwrap().to_string(),
        )
    }

    /// An admin, created the way `openforest admin create` does; answers a session token.
    pub async fn admin(&self) -> String {
        use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
        let hash = argon2::Argon2::default()
            .hash_password(b"admin password", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        self.store
            .create_user(NewUser {
                user_id: UserId(openforest_store::new_id(self.clock.now())),
                handle: openforest_core::Handle::parse("root").unwrap(),
                role: Role::Admin,
                password_hash: Some(hash),
                created_at: self.clock.now(),
            })
            .await
            .unwrap();
        let session = json_of(
            self.post(
                "/v1/sessions",
                None,
                &json!({"handle": "root", "password": "admin password"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        session["token"].as_str().unwrap().to_string()
    }

    pub async fn wallet(&self, token: &str) -> u64 {
        json_of(self.get("/v1/me", Some(token)).await, StatusCode::OK).await["wallet_grams"]
            .as_u64()
            .unwrap()
    }

    pub fn advance(&self, millis: i64) {
        self.clock.advance_millis(millis);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Stops the server gracefully: in-flight requests finish, the writer commits its queue.
    pub async fn stop(mut self) {
        self.stop_server().await;
    }

    async fn stop_server(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// The JSON body of a response that must have `status`.
pub async fn json_of(response: reqwest::Response, status: StatusCode) -> Value {
    let actual = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(actual, status, "unexpected status; body: {body}");
    serde_json::from_str(&body).unwrap()
}

/// A problem+json answer with `status`; answers the problem document.
pub async fn problem_of(response: reqwest::Response, status: StatusCode) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let problem = json_of(response, status).await;
    assert_eq!(problem["status"], status.as_u16());
    assert!(problem["type"].as_str().unwrap().starts_with("/problems/"));
    assert!(!problem["detail"].as_str().unwrap().is_empty());
    problem
}

/// Runs raw SQL against a test database behind the application's back (tamper tests).
pub async fn tamper(database_url: &str, sql: &str) {
    if let Some(path) = database_url.strip_prefix("sqlite://") {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(sql).unwrap();
    } else {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        conn.execute(sql).await.unwrap();
    }
}

/// The operator zone in which `now` is late afternoon (a fixed-offset `Etc/GMT` zone, 14:00 to
/// 18:00 local), so a test's "next 07:00" ripening is always the coming morning, 13 to 17 hours
/// ahead, whatever the hour the suite runs at. The local date stays the UTC date.
/// The whole-hour UTC offset at which `now` is late afternoon (14:00–18:00 local).
fn afternoon_offset_hours(now: Timestamp) -> i32 {
    let hour = chrono::DateTime::from_timestamp_millis(now.millis())
        .map(|time| chrono::Timelike::hour(&time))
        .unwrap_or(12);
    // Zones reach from UTC-12 to UTC+14: past +14 the afternoon is the day before's, a day
    // (24 h) further west (at 00:xx UTC it is 18:xx at UTC-6).
    let offset = 18 - hour as i32;
    if offset > 14 { offset - 24 } else { offset }
}

/// The IANA name of a whole-hour offset: UTC+k is written `Etc/GMT-k`.
fn zone_named(offset_hours: i32) -> String {
    match offset_hours {
        0 => "UTC".to_string(),
        k if k > 0 => format!("Etc/GMT-{k}"),
        k => format!("Etc/GMT+{}", -k),
    }
}
