//! Going past one machine: reads that may lag go to a PostgreSQL streaming replica.

use crate::support::{TestApp, TestDatabase, json_of};
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
