//! Going past one machine: reads that may lag go to a PostgreSQL streaming replica; the schema
//! stays ready for distribution by user; balls live in day partitions, and settled days are
//! dropped whole.

use crate::harvest::{Player, ball, befriend, collect_all, player, setup};
use crate::partners::assert_ledger_sound;
use crate::support::{TestApp, TestDatabase, json_of, problem_of};
use futures_util::future::join_all;
use openforest_core::Clock;
use openforest_testkit::PgCluster;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A primary with one database and a streaming replica of it, or `None` after skipping.
async fn primary_and_replica() -> Option<(PgCluster, PgCluster, String, String)> {
    let primary = match tokio::task::spawn_blocking(|| PgCluster::start(false)).await {
        Ok(Ok(primary)) => primary,
        Ok(Err(err)) => {
            openforest_testkit::skip_or_fail("PostgreSQL", &format!("{err:#}"));
            return None;
        }
        Err(err) => panic!("{err}"),
    };
    let url = openforest_testkit::create_database(&primary.url("postgres"))
        .await
        .unwrap();
    let name = url.rsplit('/').next().unwrap().to_string();
    let replica = {
        let primary = &primary;
        std::thread::scope(|scope| scope.spawn(|| primary.start_replica()).join())
            .unwrap()
            .unwrap()
    };
    let replica_url = replica.url(&name);
    Some((primary, replica, url, replica_url))
}

/// Polls `path` until `check` holds on its JSON, for at most 15 s.
async fn eventually(app: &TestApp, path: &str, token: &str, check: impl Fn(&Value) -> bool) {
    let started = Instant::now();
    loop {
        let body = json_of(app.get(path, Some(token)).await, StatusCode::OK).await;
        if check(&body) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{path} never showed it: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn grant(app: &TestApp, admin: &str, user_id: &str, grams: u64) {
    json_of(
        app.post(
            "/v1/admin/grants",
            Some(admin),
            &json!({"user_id": user_id, "grams": grams, "reason": "replica test"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forest_home_feed_and_catalog_read_from_a_streaming_replica() {
    let Some((_primary, _replica, url, replica_url)) = primary_and_replica().await else {
        return;
    };
    let database = TestDatabase {
        url,
        dir: tempfile::tempdir().unwrap(),
    };
    let app = TestApp::spawn_on(database, |config| {
        config.database_replica_url = replica_url.clone();
    })
    .await
    .unwrap();
    let admin = app.admin().await;
    let (ana_id, ana) = app.user("ana").await;
    let (budi_id, budi) = app.user("budi").await;
    for (asker, asked) in [(&ana, "budi"), (&budi, "ana")] {
        let answer = app
            .post("/v1/me/friends", Some(asker), &json!({"handle": asked}))
            .await;
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    grant(&app, &admin, &ana_id, 500).await;
    grant(&app, &admin, &budi_id, 500).await;
    eventually(&app, "/v1/me/forest", &ana, |home| {
        home["wallet_grams"] == 500
    })
    .await;

    // Hold the replica still: what is written now reaches only the primary.
    let mut replica = PgConnection::connect(&replica_url).await.unwrap();
    replica
        .execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    grant(&app, &admin, &ana_id, 300).await;
    let watered = app
        .post(
            &format!("/v1/friends/{ana_id}/water"),
            Some(&budi),
            &json!({"grams": 33}),
        )
        .await;
    assert!(watered.status().is_success(), "{}", watered.status());
    json_of(
        app.post(
            "/v1/admin/ngos",
            Some(&admin),
            &json!({"name": "Replica Trust", "about": "Appears once replayed"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The primary answers what was written; the replica-backed reads do not have it yet.
    let me = json_of(app.get("/v1/me", Some(&ana)).await, StatusCode::OK).await;
    assert_eq!(me["wallet_grams"], 800, "/v1/me reads the primary");
    let home = json_of(app.get("/v1/me/forest", Some(&ana)).await, StatusCode::OK).await;
    assert_eq!(
        home["wallet_grams"], 500,
        "forest home reads the paused replica"
    );
    assert_eq!(
        home["balls"],
        json!([]),
        "the watering ball is not replayed yet"
    );
    let feed = json_of(app.get("/v1/me/feed", Some(&ana)).await, StatusCode::OK).await;
    assert_eq!(feed, json!([]), "the feed reads the replica");
    let ngos = json_of(app.get("/v1/ngos", None).await, StatusCode::OK).await;
    assert_eq!(ngos, json!([]), "the catalog reads the replica");

    replica
        .execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    eventually(&app, "/v1/me/forest", &ana, |home| {
        home["wallet_grams"] == 800 && home["balls"].as_array().is_some_and(|b| b.len() == 1)
    })
    .await;
    eventually(&app, "/v1/me/feed", &ana, |feed| {
        feed.as_array().is_some_and(|items| !items.is_empty())
    })
    .await;
    eventually(&app, "/v1/ngos", &ana, |ngos| {
        ngos.as_array().is_some_and(|ngos| ngos.len() == 1)
    })
    .await;
    app.stop().await;
}

/// How each table would live on a Citus cluster (docs/SCALING.md). A new table must be placed
/// here, or the distribution rules test fails.
enum Placement {
    /// Sharded by this user column, which the primary key contains, so a user's rows are
    /// together and one user's command touches one shard.
    ByUser(&'static str),
    /// Sharded by its own key: a lookup from a public key (a handle, a token hash, an invite
    /// code) to a user, read before the user is known.
    Lookup(&'static str),
    /// Small and read everywhere: copied to every node.
    Reference,
    /// Written by one process (the log's sequencer, the webhook dispatcher, planting): kept on
    /// the coordinator.
    Coordinator,
}

const PLACEMENTS: &[(&str, Placement)] = &[
    ("users", Placement::ByUser("user_id")),
    ("balances", Placement::ByUser("owner_id")),
    ("journal", Placement::ByUser("user_id")),
    ("balls", Placement::ByUser("user_id")),
    ("forest_digests", Placement::ByUser("user_id")),
    ("usage", Placement::ByUser("user_id")),
    ("friendships", Placement::ByUser("user_id")),
    ("friend_requests", Placement::ByUser("to_user_id")),
    ("steals", Placement::ByUser("owner_id")),
    ("feed", Placement::ByUser("user_id")),
    ("blocks", Placement::ByUser("user_id")),
    ("expiry_notices", Placement::ByUser("user_id")),
    ("prop_items", Placement::ByUser("user_id")),
    ("prop_effects", Placement::ByUser("user_id")),
    ("task_rewards", Placement::ByUser("user_id")),
    ("user_groups", Placement::ByUser("user_id")),
    ("user_partner_links", Placement::ByUser("user_id")),
    ("pledge_holders", Placement::ByUser("user_id")),
    ("species_cards", Placement::ByUser("user_id")),
    ("species_draws", Placement::ByUser("user_id")),
    ("species_set_rewards", Placement::ByUser("user_id")),
    ("ball_origins", Placement::ByUser("user_id")),
    ("user_handles", Placement::Lookup("handle")),
    ("external_users", Placement::Lookup("external_id")),
    ("sessions", Placement::Lookup("token_hash")),
    ("partner_links", Placement::Lookup("partner_user_id")),
    ("invite_codes", Placement::Lookup("code")),
    ("dedup_keys", Placement::Lookup("dedup_key")),
    ("idempotency", Placement::Lookup("key")),
    ("group_members", Placement::Lookup("group_id")),
    ("group_invites", Placement::Lookup("group_id")),
    ("planting_groups", Placement::Lookup("group_id")),
    ("operator_keys", Placement::Reference),
    ("partners", Placement::Reference),
    ("partner_keys", Placement::Reference),
    ("server_secrets", Placement::Reference),
    ("methodology_versions", Placement::Reference),
    ("methodology_active", Placement::Reference),
    ("ngos", Placement::Reference),
    ("ngo_members", Placement::Reference),
    ("ngo_keys", Placement::Reference),
    ("sites", Placement::Reference),
    ("catalog_items", Placement::Reference),
    ("webhook_endpoints", Placement::Reference),
    ("webhook_events", Placement::Coordinator),
    ("webhook_deliveries", Placement::Coordinator),
    ("webhook_attempts", Placement::Coordinator),
    ("abuse_reports", Placement::Coordinator),
    ("pledges", Placement::Coordinator),
    ("orders", Placement::Coordinator),
    ("planting_batches", Placement::Coordinator),
    ("batch_photos", Placement::Coordinator),
    ("planting_records", Placement::Coordinator),
    ("photos", Placement::Coordinator),
    ("log_leaves", Placement::Coordinator),
    ("log_heads", Placement::Coordinator),
    ("credited_days", Placement::Coordinator),
    ("dropped_ball_days", Placement::Coordinator),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_schema_keeps_the_rules_for_distributing_it_by_user() {
    let Some(database) = TestDatabase::new(crate::support::Backend::Postgres).await else {
        return;
    };
    let store = openforest_store::open(
        &database.url,
        openforest_store::WriterOptions::default(),
        std::sync::Arc::new(openforest_store::SystemClock),
    )
    .await
    .unwrap();
    store.shutdown().await;
    let mut conn = PgConnection::connect(&database.url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        // A partition is placed with its table: balls' day partitions go where balls go.
        "SELECT table_name::text FROM information_schema.tables t
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name <> '_sqlx_migrations'
           AND NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                           WHERE c.relname = t.table_name)
         ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut problems = Vec::new();
    for table in &tables {
        let Some((_, placement)) = PLACEMENTS.iter().find(|(name, _)| name == table) else {
            problems.push(format!(
                "{table}: not placed (add it to PLACEMENTS and docs/SCALING.md)"
            ));
            continue;
        };
        let key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = $1::regclass AND i.indisprimary",
        )
        .bind(table)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        let column = match placement {
            Placement::ByUser(column) | Placement::Lookup(column) => Some(*column),
            Placement::Reference | Placement::Coordinator => None,
        };
        if let Some(column) = column
            && !key.iter().any(|part| part == column)
        {
            problems.push(format!(
                "{table}: distributed by {column}, which its primary key {key:?} lacks"
            ));
        }
        if key.is_empty() {
            problems.push(format!("{table}: no primary key"));
        }
    }
    for (name, _) in PLACEMENTS {
        if !tables.iter().any(|table| table == name) {
            problems.push(format!("{name}: placed but not in the schema"));
        }
    }
    // Ids are UUIDv7 made by the application: no sequence to contend on across shards.
    let sequences: Vec<String> = sqlx::query_scalar(
        "SELECT table_name || '.' || column_name FROM information_schema.columns
         WHERE table_schema = 'public'
           AND (column_default LIKE 'nextval%' OR is_identity = 'YES')",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for column in sequences {
        problems.push(format!("{column}: takes its value from a sequence"));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// PostgreSQL keeps balls in one partition per UTC day of ripening (a ball's id is stamped
/// with its ripening instant): the coming days' partitions exist before any ball needs them,
/// a ball goes to its day's partition, a read by owner and id touches that partition alone,
/// and the balls from before partitioning stay where they were, readable and audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balls_live_in_the_partition_of_their_ripening_day() {
    let Some(database) = TestDatabase::new(crate::support::Backend::Postgres).await else {
        return;
    };
    // The schema as it was before partitioning, with one ball in it.
    let mut conn = PgConnection::connect(&database.url).await.unwrap();
    let mut before = sqlx::migrate!("../store/migrations/postgres");
    before.migrations = before
        .migrations
        .iter()
        .filter(|migration| migration.version < 16)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before.run(&mut conn).await.unwrap();
    let now = openforest_store::SystemClock.now();
    let owner = uuid::Uuid::now_v7();
    let old_ball = openforest_store::new_id(now.plus_millis(-DAY_MS));
    conn.execute(
        sqlx::query(
            "INSERT INTO balls (user_id, ball_id, grams, ripens_at_ms, expires_at_ms, partner_id,
                                action, methodology, methodology_version, created_at_ms)
             VALUES ($1, $2, 80, $3, $4, $5, 'bus_ride', 'classic', 1, $3)",
        )
        .bind(owner)
        .bind(old_ball)
        .bind(now.millis() - DAY_MS)
        .bind(now.millis() + 2 * DAY_MS)
        .bind(uuid::Uuid::nil()),
    )
    .await
    .unwrap();

    let store = openforest_store::open(
        &database.url,
        openforest_store::WriterOptions::default(),
        std::sync::Arc::new(openforest_store::SystemClock),
    )
    .await
    .unwrap();
    let partition_of = |ball: uuid::Uuid| {
        sqlx::query_scalar::<_, String>(
            "SELECT tableoid::regclass::text FROM balls WHERE ball_id = $1",
        )
        .bind(ball)
    };
    assert_eq!(
        partition_of(old_ball).fetch_one(&mut conn).await.unwrap(),
        "balls_before_days"
    );
    // Tomorrow and the six days after have their partitions (today belongs to the balls from
    // before, whose partition reaches the next midnight).
    let today_ms = now.millis().div_euclid(DAY_MS) * DAY_MS;
    let day_name = |start_ms: i64| {
        format!(
            "balls_{}",
            chrono::DateTime::from_timestamp_millis(start_ms)
                .unwrap()
                .format("%Y%m%d")
        )
    };
    for day in 1..=7 {
        let name = day_name(today_ms + day * DAY_MS);
        let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(&name)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists.as_deref(), Some(name.as_str()));
    }

    // A ball that ripens at 07:00 tomorrow, written as the store writes balls.
    let ripens_at = openforest_core::Timestamp(today_ms + DAY_MS + 7 * 3_600_000);
    let ball = openforest_store::new_ball_id(ripens_at);
    let mut chunk = openforest_store::seed::SeedChunk::new(
        openforest_core::PartnerId(uuid::Uuid::nil()),
        "walking",
        "classic",
        1,
        now,
    );
    chunk.balls.push(openforest_store::seed::SeedBall {
        owner_id: openforest_core::UserId(owner),
        ball_id: openforest_core::BallId(ball),
        grams: openforest_core::Grams::new(200),
        created_at: now,
        ripens_at,
        expires_at: ripens_at.plus_millis(72 * 3_600_000),
    });
    store.seed_world(&chunk).await.unwrap();
    let tomorrow = day_name(today_ms + DAY_MS);
    assert_eq!(
        partition_of(ball).fetch_one(&mut conn).await.unwrap(),
        tomorrow
    );
    let plan: Vec<String> = sqlx::query_scalar(&format!(
        "EXPLAIN SELECT grams FROM balls WHERE user_id = '{owner}' AND ball_id = '{ball}'"
    ))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(
        plan.contains(&tomorrow) && !plan.contains("balls_before_days") && !plan.contains("Append"),
        "a read by owner and id scans one partition:\n{plan}"
    );
    let live = store
        .live_balls(&[openforest_core::UserId(owner)], now)
        .await
        .unwrap();
    // The earlier ball was written without a balance (so it holds nothing): only the new one
    // is live, read through the partitioned table.
    assert_eq!(
        live.iter()
            .map(|ball| ball.ball.ball_id.uuid())
            .collect::<Vec<_>>(),
        vec![ball]
    );
    store.shutdown().await;
}

// Dropping settled days of balls (PostgreSQL; `postgres/partitions.rs`). The tests drive the
// cleanup and the expiry themselves, on the test's clock.

const DAY_MS: i64 = 86_400_000;
/// Shorter than the default, so the users' sessions (30 days) outlive it.
const RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// The app on PostgreSQL with the cleanup and expiry jobs left to the test.
async fn app_with_days_dropped_by_hand() -> Option<TestApp> {
    TestApp::spawn_with(crate::support::Backend::Postgres, |config| {
        config.jobs.ball_days_retention_days = 0;
        config.jobs.expiry_interval_seconds = 86_400;
    })
    .await
}

async fn drop_days(app: &TestApp) -> openforest_store::BallDaysCleanup {
    let clock: Arc<dyn Clock> = app.clock.clone();
    openforest_server::jobs::drop_settled_ball_days(&app.store, &clock, RETENTION)
        .await
        .unwrap()
}

async fn expire(app: &TestApp) -> u64 {
    let clock: Arc<dyn Clock> = app.clock.clone();
    openforest_server::jobs::expire_due_balls(&app.store, &clock)
        .await
        .unwrap()
        .balls
}

async fn connect(app: &TestApp) -> PgConnection {
    PgConnection::connect(&app.database.url).await.unwrap()
}

/// The partitions holding these users' balls.
async fn partitions_of(app: &TestApp, users: &[&Player]) -> Vec<String> {
    let users: Vec<uuid::Uuid> = users
        .iter()
        .map(|player| player.user_id.parse().unwrap())
        .collect();
    sqlx::query_scalar(
        "SELECT DISTINCT tableoid::regclass::text FROM balls WHERE user_id = ANY($1) ORDER BY 1",
    )
    .bind(&users)
    .fetch_all(&mut connect(app).await)
    .await
    .unwrap()
}

async fn table_exists(app: &TestApp, name: &str) -> bool {
    sqlx::query_scalar::<_, bool>("SELECT to_regclass($1) IS NOT NULL")
        .bind(name)
        .fetch_one(&mut connect(app).await)
        .await
        .unwrap()
}

/// The instant a ball ripens: its id is a UUIDv7 stamped with it.
fn ripens_at_ms(ball_id: &str) -> i64 {
    let id: uuid::Uuid = ball_id.parse().unwrap();
    i64::try_from(id.as_u128() >> 80).unwrap()
}

async fn plant(app: &TestApp, token: &str, item_id: &str, units: u64) -> String {
    json_of(
        app.post(
            "/v1/me/plantings",
            Some(token),
            &json!({"item_id": item_id, "units": units}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["certificate_no"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn certificate(app: &TestApp, number: &str) -> Value {
    json_of(
        app.get(&format!("/v1/certificates/{number}"), None).await,
        StatusCode::OK,
    )
    .await
}

async fn my_balls(app: &TestApp, who: &Player) -> Vec<Value> {
    json_of(
        app.get("/v1/me/balls", Some(&who.token)).await,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

/// A day whose balls all hold 0 g is detached and dropped once older than the retention, while
/// writers go on crediting new balls. Certificates read the same lineage as before (the thief's
/// too, through a stolen ball, and a friend's watering), the impact dashboard the same sums,
/// and the ledger still balances without the balls' 0 g balance rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_day_of_balls_is_dropped_and_certificates_keep_their_lineage() {
    let Some(app) = app_with_days_dropped_by_hand().await else {
        return;
    };
    let world = crate::planting::world(&app).await;
    let ana = player(&app, &world.partner, "ana").await;
    let ben = player(&app, &world.partner, "ben").await;
    let cyd = player(&app, &world.partner, "cyd").await;
    befriend(&app, &ana, "ben", &ben).await;
    let mut rides = Vec::new();
    for n in 0..3 {
        rides.push(ball(&app, &world.partner, &ana, &format!("ana-{n}")).await);
    }
    ball(&app, &world.partner, &ben, "ben-0").await;
    app.advance(DAY_MS);
    collect_all(&app, &ben).await;
    json_of(
        app.post(
            &format!("/v1/friends/{}/water", ana.user_id),
            Some(&ben.token),
            &json!({"grams": 33}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let steal_path = |ball: &str| format!("/v1/friends/{}/balls/{ball}/steal", ana.user_id);
    json_of(
        app.post(&steal_path(&rides[0]), Some(&ben.token), &Value::Null)
            .await,
        StatusCode::OK,
    )
    .await;
    collect_all(&app, &ana).await;
    assert_eq!(app.wallet(&ana.token).await, 80 - 24 + 80 + 80 + 33);
    assert_eq!(app.wallet(&ben.token).await, 80 - 33 + 24);
    let certificates = [
        plant(&app, &ana.token, &world.tree_id, 1).await,
        plant(&app, &ana.token, &world.land_id, 9).await,
        plant(&app, &ben.token, &world.land_id, 14).await,
    ];
    let mut before = Vec::new();
    for number in &certificates {
        before.push(certificate(&app, number).await);
    }
    let sources: Vec<&str> = before[..2]
        .iter()
        .flat_map(|certificate| certificate["lineage"].as_array().unwrap())
        .map(|part| part["source"].as_str().unwrap())
        .collect();
    assert!(
        sources.contains(&"action") && sources.contains(&"watering") && !sources.contains(&"other"),
        "{sources:?}"
    );
    let days = partitions_of(&app, &[&ana, &ben]).await;
    assert!(
        !days.is_empty() && days.iter().all(|day| day.starts_with("balls_20")),
        "{days:?}"
    );
    let impact = app.store.impact_figures().await.unwrap();

    app.advance(10 * DAY_MS);
    assert_eq!(expire(&app).await, 0, "every ball was collected");
    // Cyd's rides are credited while the days are dropped: the writer lanes insert balls.
    let out_biz_nos: Vec<String> = (0..40).map(|n| format!("cyd-{n}")).collect();
    let reports = join_all(
        out_biz_nos
            .iter()
            .map(|out_biz_no| ball(&app, &world.partner, &cyd, out_biz_no)),
    );
    let (cleanup, _) = tokio::join!(drop_days(&app), reports);
    assert_eq!(cleanup.holding, vec![]);
    assert_eq!(cleanup.stopped, None);
    for day in &days {
        let dropped = cleanup
            .dropped
            .iter()
            .find(|dropped| &dropped.partition == day);
        assert!(dropped.is_some(), "{day} not in {:?}", cleanup.dropped);
        assert!(!table_exists(&app, day).await, "{day} is gone");
    }
    assert_eq!(
        cleanup.dropped.iter().map(|day| day.balls).sum::<u64>(),
        5,
        "ana's three rides and her watering ball, ben's ride"
    );

    for (number, before) in certificates.iter().zip(&before) {
        assert_eq!(&certificate(&app, number).await, before, "{number}");
    }
    let after = app.store.impact_figures().await.unwrap();
    let today = app.now().millis().div_euclid(DAY_MS);
    assert_eq!(
        after
            .credited
            .iter()
            .filter(|credited| credited.day != today)
            .cloned()
            .collect::<Vec<_>>(),
        impact.credited,
        "the dashboard sums what it summed, and cyd's rides of today"
    );
    assert_eq!(after.pledged, impact.pledged);
    assert_eq!(my_balls(&app, &ana).await, Vec::<Value>::new());
    assert_eq!(my_balls(&app, &cyd).await.len(), 40);
    let ball_balances: i64 =
        sqlx::query_scalar("SELECT count(*) FROM balances WHERE owner_id = ANY($1) AND kind = $2")
            .bind(vec![
                ana.user_id.parse::<uuid::Uuid>().unwrap(),
                ben.user_id.parse::<uuid::Uuid>().unwrap(),
            ])
            .bind(openforest_core::AccountKind::Ball.code())
            .fetch_one(&mut connect(&app).await)
            .await
            .unwrap();
    assert_eq!(ball_balances, 0, "the 0 g balances went with their balls");
    assert_ledger_sound(&app).await;
    // A take naming a dropped ball finds no ball; home and the dashboard page still answer.
    problem_of(
        app.post(&steal_path(&rides[1]), Some(&ben.token), &Value::Null)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    json_of(
        app.get("/v1/me/forest", Some(&ana.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(app.get("/impact", None).await.status(), StatusCode::OK);
    app.stop().await;
}

/// A day past its retention stays while one of its balls still holds energy (the expiry job has
/// not given it to `expired`); once that ball expired, the day goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_a_ball_holding_energy_is_not_dropped() {
    let Some(app) = app_with_days_dropped_by_hand().await else {
        return;
    };
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let ride = ball(&app, &buses, &ana, "ana-0").await;
    let days = partitions_of(&app, &[&ana]).await;
    let [day] = days.as_slice() else {
        panic!("one ball, one day: {days:?}");
    };
    app.advance(10 * DAY_MS);

    let cleanup = drop_days(&app).await;
    assert_eq!(
        cleanup.holding,
        vec![openforest_store::HoldingBallDay {
            partition: day.clone(),
            balls_holding: 1
        }]
    );
    assert!(
        cleanup
            .dropped
            .iter()
            .all(|dropped| &dropped.partition != day)
    );
    assert!(table_exists(&app, day).await);
    let balls = my_balls(&app, &ana).await;
    assert_eq!(
        (balls[0]["ball_id"].as_str(), &balls[0]["remaining_grams"]),
        (Some(ride.as_str()), &json!(80))
    );

    assert_eq!(expire(&app).await, 1);
    let cleanup = drop_days(&app).await;
    assert_eq!(cleanup.holding, vec![]);
    assert!(
        cleanup.dropped.contains(&openforest_store::DroppedBallDay {
            partition: day.clone(),
            balls: 1,
            grams: 80,
            balances: 1,
        }),
        "{:?}",
        cleanup.dropped
    );
    assert!(!table_exists(&app, day).await);
    assert_ledger_sound(&app).await;
    app.stop().await;
}

/// A settled day stays for the whole retention after it ended, and goes at its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_day_is_kept_until_its_retention_is_over() {
    let Some(app) = app_with_days_dropped_by_hand().await else {
        return;
    };
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let ride = ball(&app, &buses, &ana, "ana-0").await;
    let days = partitions_of(&app, &[&ana]).await;
    app.advance(DAY_MS);
    collect_all(&app, &ana).await;
    let day_ends_ms = ripens_at_ms(&ride).div_euclid(DAY_MS) * DAY_MS + DAY_MS;
    let retention_ms = i64::try_from(RETENTION.as_millis()).unwrap();

    app.clock
        .set(openforest_core::Timestamp(day_ends_ms + retention_ms - 1));
    let cleanup = drop_days(&app).await;
    assert!(
        cleanup
            .dropped
            .iter()
            .all(|dropped| dropped.partition != days[0]),
        "{:?}",
        cleanup.dropped
    );
    assert!(table_exists(&app, &days[0]).await);

    app.clock
        .set(openforest_core::Timestamp(day_ends_ms + retention_ms));
    let cleanup = drop_days(&app).await;
    assert!(
        cleanup
            .dropped
            .iter()
            .any(|dropped| dropped.partition == days[0]),
        "{:?}",
        cleanup.dropped
    );
    assert!(!table_exists(&app, &days[0]).await);
    app.stop().await;
}

/// The partition maker (at start and every hour) never makes a dropped day again, even with
/// the clock back on that day; a ball of that day then lands in the default partition and is
/// a ball like any other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_day_is_never_made_again() {
    let Some(app) = app_with_days_dropped_by_hand().await else {
        return;
    };
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let ride = ball(&app, &buses, &ana, "ana-0").await;
    let days = partitions_of(&app, &[&ana]).await;
    app.advance(DAY_MS);
    collect_all(&app, &ana).await;
    app.advance(10 * DAY_MS);
    let cleanup = drop_days(&app).await;
    assert!(
        cleanup
            .dropped
            .iter()
            .any(|dropped| dropped.partition == days[0])
    );

    // Twelve hours before that day began: opening the store makes this day's partition and
    // the next seven days', the dropped one among them.
    let day_starts_ms = ripens_at_ms(&ride).div_euclid(DAY_MS) * DAY_MS;
    app.clock
        .set(openforest_core::Timestamp(day_starts_ms - 12 * 3_600_000));
    let app = app
        .restart_with(|config| {
            config.jobs.ball_days_retention_days = 0;
            config.jobs.expiry_interval_seconds = 86_400;
        })
        .await
        .unwrap();
    assert!(
        !table_exists(&app, &days[0]).await,
        "{} made again",
        days[0]
    );
    // The partner's client knew the old address: a second partner, and a user linked to it.
    let admin = crate::harvest::admin_session(&app).await;
    let buses = crate::partners::partner(&app, &admin, "buses-again", &["bus_ride"]).await;
    let ana = player(&app, &buses, "anita").await;
    let again = ball(&app, &buses, &ana, "ana-1").await;
    assert_eq!(
        ripens_at_ms(&again).div_euclid(DAY_MS),
        day_starts_ms.div_euclid(DAY_MS),
        "the new ball ripens on the dropped day"
    );
    assert_eq!(partitions_of(&app, &[&ana]).await, vec!["balls_default"]);
    let balls = my_balls(&app, &ana).await;
    assert_eq!(balls.len(), 1);
    assert_eq!(balls[0]["remaining_grams"], 80);
    assert_ledger_sound(&app).await;
    app.stop().await;
}
