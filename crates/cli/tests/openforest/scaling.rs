//! Going past one machine: reads that may lag go to a PostgreSQL streaming replica.

use crate::support::{TestApp, TestDatabase, json_of};
use openforest_core::Clock;
use openforest_testkit::PgCluster;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
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
    const DAY_MS: i64 = 86_400_000;
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
