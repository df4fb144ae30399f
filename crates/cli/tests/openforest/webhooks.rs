//! Webhooks: events commit with their effect, reach the endpoints that asked for them as
//! Standard Webhooks requests, and are retried with backoff until the receiver recovers.

use crate::partners::{assert_ledger_sound, linked_user, metro, partner};
use crate::support::{TestApp, json_of, problem_of};
use axum::http::HeaderMap;
use openforest_server::config::WebhooksConfig;
use openforest_server::webhooks::Dispatcher;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    headers: HeaderMap,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> String {
        self.headers[name].to_str().unwrap().to_string()
    }

    /// Checks the Standard Webhooks signature with the reference library's signer.
    fn assert_signed_with(&self, secret: &str) {
        let id = self.header("webhook-id");
        let timestamp: i64 = self.header("webhook-timestamp").parse().unwrap();
        let expected = standardwebhooks::Webhook::new(secret)
            .unwrap()
            .sign(&id, timestamp, self.body.as_bytes())
            .unwrap();
        assert_eq!(self.header("webhook-signature"), expected);
        let forged = standardwebhooks::Webhook::new("whsec_c2VjcmV0LW9mLXNvbWVvbmUtZWxzZQ==")
            .unwrap()
            .sign(&id, timestamp, self.body.as_bytes())
            .unwrap();
        assert_ne!(self.header("webhook-signature"), forged);
    }
}

/// Runs the command-line check from docs/webhooks.md on a received webhook.
fn documented_shell_check(received: &Received, secret: &str) -> bool {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/webhooks.md"
    ))
    .unwrap();
    let start = docs.rfind("```sh\n").unwrap() + "```sh\n".len();
    let script = &docs[start..start + docs[start..].find("```").unwrap()];
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("SECRET", secret)
        .env("WEBHOOK_ID", received.header("webhook-id"))
        .env("WEBHOOK_TIMESTAMP", received.header("webhook-timestamp"))
        .env("WEBHOOK_SIGNATURE", received.header("webhook-signature"))
        .env("BODY", &received.body)
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim() == "valid"
}

/// A local webhook receiver: records every request and answers 500 while `failures` lasts.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    async fn start(failures: u32) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(AtomicU32::new(failures));
        let (log, failing) = (received.clone(), failures.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let (log, failing) = (log.clone(), failing.clone());
                async move {
                    log.lock().unwrap().push(Received { headers, body });
                    let failed = failing
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                            left.checked_sub(1)
                        })
                        .is_ok();
                    if failed {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn dispatcher(app: &TestApp, settings: WebhooksConfig) -> Dispatcher {
    let link_secret = app
        .store
        .server_secret("partner-link-hmac", 32)
        .await
        .unwrap();
    Dispatcher::new(
        app.store.clone(),
        app.clock.clone(),
        Arc::new(link_secret),
        settings,
    )
    .unwrap()
}

/// Registers an endpoint; answers (endpoint id, secret).
async fn endpoint(app: &TestApp, admin: &str, body: Value) -> (String, String) {
    let created = json_of(
        app.post("/v1/admin/webhook-endpoints", Some(admin), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    (
        created["endpoint_id"].as_str().unwrap().to_string(),
        created["secret"].as_str().unwrap().to_string(),
    )
}

async fn deliveries(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    json_of(
        app.get(&format!("/v1/admin/webhook-deliveries{query}"), Some(admin))
            .await,
        StatusCode::OK,
    )
    .await
    .as_array()
    .unwrap()
    .clone()
}

async fn partner_and_operator_endpoints_receive_signed_events_about_what_concerns_them(
    app: TestApp,
) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let bikes = partner(&app, &admin, "buses", &["bus_ride"]).await;
    let (token, pseudonym) = linked_user(&app, "alice", &metro_co).await;
    let user_id =
        json_of(app.get("/v1/me", Some(&token)).await, StatusCode::OK).await["user"]["user_id"]
            .as_str()
            .unwrap()
            .to_string();
    let operator = Receiver::start(0).await;
    let metro_hook = Receiver::start(0).await;
    let bikes_hook = Receiver::start(0).await;
    let (_, operator_secret) = endpoint(
        &app,
        &admin,
        json!({"url": operator.url, "event_types": ["action.credited", "energy.granted", "ball.expired"]}),
    )
    .await;
    let (_, metro_secret) = endpoint(
        &app,
        &admin,
        json!({"url": metro_hook.url, "event_types": ["action.credited"], "partner_id": metro_co.partner_id}),
    )
    .await;
    endpoint(
        &app,
        &admin,
        json!({"url": bikes_hook.url, "event_types": ["action.credited"], "partner_id": bikes.partner_id}),
    )
    .await;

    let answer = json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let run = dispatcher(&app, WebhooksConfig::default())
        .await
        .run_once()
        .await
        .unwrap();
    assert_eq!((run.events, run.attempts, run.delivered), (1, 2, 2));

    let to_partner = metro_hook.received();
    assert_eq!(to_partner.len(), 1);
    to_partner[0].assert_signed_with(&metro_secret);
    let event = to_partner[0].json();
    assert_eq!(event["type"], "action.credited");
    assert_eq!(event["data"]["partner_user_id"], pseudonym);
    assert_eq!(event["data"]["ball"], answer["ball"]);
    assert_eq!(event["data"]["credited_grams"], answer["credited_grams"]);
    assert!(
        !to_partner[0].body.contains(&user_id),
        "a partner never sees the internal user id"
    );

    let to_operator = operator.received();
    assert_eq!(to_operator.len(), 1);
    to_operator[0].assert_signed_with(&operator_secret);
    assert!(documented_shell_check(&to_operator[0], &operator_secret));
    assert!(!documented_shell_check(&to_operator[0], &metro_secret));
    assert_eq!(
        to_operator[0].header("webhook-id"),
        to_partner[0].header("webhook-id"),
        "one event, one id, whoever receives it"
    );
    let event = to_operator[0].json();
    assert_eq!(event["type"], "action.credited");
    assert_eq!(event["data"]["user_id"], user_id);
    assert_eq!(event["data"]["partner_id"], metro_co.partner_id);
    assert!(
        bikes_hook.received().is_empty(),
        "another partner hears nothing of it"
    );

    let grant = app
        .http
        .post(app.url("/v1/admin/grants"))
        .bearer_auth(&admin)
        .header("idempotency-key", "grant-1")
        .json(&json!({"user_id": user_id, "grams": 50, "reason": "welcome"}))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::CREATED);
    dispatcher(&app, WebhooksConfig::default())
        .await
        .run_once()
        .await
        .unwrap();
    let to_operator = operator.received();
    assert_eq!(to_operator.len(), 2);
    assert_eq!(to_operator[1].json()["type"], "energy.granted");
    assert_eq!(to_operator[1].json()["data"]["grams"], 50);
    assert_eq!(
        metro_hook.received().len(),
        1,
        "partners do not hear of grants"
    );
    assert_ledger_sound(&app).await;
}

async fn a_failing_receiver_is_retried_with_exponential_backoff_until_it_recovers(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(&app, "alice", &metro_co).await;
    let receiver = Receiver::start(2).await;
    let (endpoint_id, _) = endpoint(
        &app,
        &admin,
        json!({"url": receiver.url, "event_types": ["action.credited"]}),
    )
    .await;
    json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let dispatcher = dispatcher(&app, WebhooksConfig::default()).await;

    let first = dispatcher.run_once().await.unwrap();
    assert_eq!((first.attempts, first.delivered), (1, 0));
    let not_yet = dispatcher.run_once().await.unwrap();
    assert_eq!(
        not_yet.attempts, 0,
        "no retry before the backoff has passed"
    );
    let log = deliveries(&app, &admin, &format!("?endpoint_id={endpoint_id}")).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["status"], "pending");
    assert_eq!(log[0]["attempts"][0]["status_code"], 500);

    // 10 s after the first failure (plus at most a tenth), then 20 s after the second.
    app.advance(11_100);
    assert_eq!(dispatcher.run_once().await.unwrap().attempts, 1);
    app.advance(11_100);
    assert_eq!(
        dispatcher.run_once().await.unwrap().attempts,
        0,
        "the second wait is twice the first"
    );
    app.advance(11_100);
    let recovered = dispatcher.run_once().await.unwrap();
    assert_eq!((recovered.attempts, recovered.delivered), (1, 1));

    let log = deliveries(&app, &admin, "?status=delivered").await;
    assert_eq!(log.len(), 1);
    let codes: Vec<&Value> = log[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| &attempt["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(204)]);
    assert!(log[0]["finished_at"].is_string());
    let ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|request| request.header("webhook-id"))
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every attempt carries the same webhook-id"
    );
    assert_eq!(dispatcher.run_once().await.unwrap().attempts, 0);
}

async fn a_delivery_that_keeps_failing_is_marked_failed_and_an_admin_can_retry_it(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(&app, "alice", &metro_co).await;
    let receiver = Receiver::start(2).await;
    endpoint(
        &app,
        &admin,
        json!({"url": receiver.url, "event_types": ["action.credited"]}),
    )
    .await;
    // Nothing listens on port 9 (discard) here: no HTTP answer at all.
    let (unreachable_id, _) = endpoint(
        &app,
        &admin,
        json!({"url": "http://127.0.0.1:9/hook", "event_types": ["action.credited"]}),
    )
    .await;
    json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let settings = WebhooksConfig {
        max_attempts: 2,
        ..WebhooksConfig::default()
    };
    let dispatcher = dispatcher(&app, settings).await;
    dispatcher.run_once().await.unwrap();
    app.advance(60_000);
    assert_eq!(dispatcher.run_once().await.unwrap().attempts, 2);
    app.advance(3_600_000);
    assert_eq!(
        dispatcher.run_once().await.unwrap().attempts,
        0,
        "failed deliveries are not retried by themselves"
    );

    let failed = deliveries(&app, &admin, "?status=failed").await;
    assert_eq!(failed.len(), 2);
    let unreachable = failed
        .iter()
        .find(|delivery| delivery["endpoint_id"] == unreachable_id)
        .unwrap();
    assert!(unreachable["attempts"][0]["status_code"].is_null());
    assert!(
        !unreachable["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .is_empty()
    );

    let to_receiver = failed
        .iter()
        .find(|delivery| delivery["endpoint_id"] != unreachable_id)
        .unwrap();
    let retry = app
        .post(
            &format!(
                "/v1/admin/webhook-deliveries/{}/retry",
                to_receiver["delivery_id"].as_str().unwrap()
            ),
            Some(&admin),
            &Value::Null,
        )
        .await;
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    assert_eq!(dispatcher.run_once().await.unwrap().delivered, 1);
    assert_eq!(receiver.received().len(), 3);

    // Disabling an endpoint fails what it still had pending, at once.
    let retry = app
        .post(
            &format!(
                "/v1/admin/webhook-deliveries/{}/retry",
                unreachable["delivery_id"].as_str().unwrap()
            ),
            Some(&admin),
            &Value::Null,
        )
        .await;
    assert_eq!(retry.status(), StatusCode::ACCEPTED);
    let disabled = app
        .http
        .delete(app.url(&format!("/v1/admin/webhook-endpoints/{unreachable_id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.status(), StatusCode::NO_CONTENT);
    assert_eq!(dispatcher.run_once().await.unwrap().attempts, 0);
    let log = deliveries(&app, &admin, &format!("?endpoint_id={unreachable_id}")).await;
    assert_eq!(log[0]["status"], "failed");
}

async fn an_event_exists_exactly_when_its_effect_was_committed(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(&app, "alice", &metro_co).await;
    // Before any endpoint exists, nothing is recorded for later.
    json_of(
        metro_co.report(&app, &metro("ride-0", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let receiver = Receiver::start(0).await;
    endpoint(
        &app,
        &admin,
        json!({"url": receiver.url, "event_types": ["action.credited"]}),
    )
    .await;
    json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let replay = json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(replay["replayed"], true);
    let refused = metro_co
        .report(
            &app,
            &metro("ride-2", "pu_00000000000000000000000000000000"),
        )
        .await;
    assert!(refused.status().is_client_error());

    let run = dispatcher(&app, WebhooksConfig::default())
        .await
        .run_once()
        .await
        .unwrap();
    assert_eq!(
        run.events, 1,
        "one committed credit, one event: replays and refusals raise none"
    );
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["data"]["out_biz_no"], "ride-1");
}

async fn an_expired_ball_is_announced_to_the_operator(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(&app, "alice", &metro_co).await;
    let receiver = Receiver::start(0).await;
    endpoint(
        &app,
        &admin,
        json!({"url": receiver.url, "event_types": ["ball.expired"]}),
    )
    .await;
    let answer = json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    app.advance(5 * 24 * 3_600_000);
    let clock: Arc<dyn openforest_core::Clock> = app.clock.clone();
    let expired = openforest_server::jobs::expire_due_balls(&app.store, &clock)
        .await
        .unwrap();
    assert_eq!(expired.balls, 1);
    dispatcher(&app, WebhooksConfig::default())
        .await
        .run_once()
        .await
        .unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 1, "the credit itself was not subscribed to");
    let event = received[0].json();
    assert_eq!(event["type"], "ball.expired");
    assert_eq!(event["data"]["ball_id"], answer["ball"]["ball_id"]);
    assert_eq!(event["data"]["grams"], answer["credited_grams"]);
}

async fn a_ball_about_to_expire_is_announced_once(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (token, pseudonym) = linked_user(&app, "alice", &metro_co).await;
    let receiver = Receiver::start(0).await;
    endpoint(
        &app,
        &admin,
        json!({"url": receiver.url, "event_types": ["ball.expiring"]}),
    )
    .await;
    let answer = json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let clock: Arc<dyn openforest_core::Clock> = app.clock.clone();
    let notice = std::time::Duration::from_secs(2 * 3_600);
    // One job across the runs, as the server keeps it: each run starts past what the last
    // one covered.
    let mut notices = openforest_server::jobs::Notices::default();
    let early = notices.run(&app.store, &clock, notice).await.unwrap();
    assert_eq!(early, 0);
    let home = json_of(app.get("/v1/me/forest", Some(&token)).await, StatusCode::OK).await;
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(home["balls"][0]["expires_at"].as_str().unwrap())
            .unwrap()
            .timestamp_millis();
    app.clock.set(openforest_core::Timestamp::from_millis(
        expires_at - 3_600_000,
    ));
    let announced = notices.run(&app.store, &clock, notice).await.unwrap();
    assert_eq!(announced, 1);
    let again = notices.run(&app.store, &clock, notice).await.unwrap();
    assert_eq!(again, 0, "one notice per ball");
    let afresh = openforest_server::jobs::announce_expiring_balls(&app.store, &clock, notice)
        .await
        .unwrap();
    assert_eq!(
        afresh, 0,
        "one notice per ball, also for a job that starts afresh"
    );
    dispatcher(&app, WebhooksConfig::default())
        .await
        .run_once()
        .await
        .unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let event = received[0].json();
    assert_eq!(event["type"], "ball.expiring");
    assert_eq!(event["data"]["ball_id"], answer["ball"]["ball_id"]);
    assert_eq!(event["data"]["grams"], answer["credited_grams"]);
}

async fn webhook_endpoints_and_the_log_refuse_bad_input_precisely(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let cases = [
        (
            json!({"url": "ftp://example.org/hook", "event_types": ["action.credited"]}),
            "url",
        ),
        (
            json!({"url": "not a url", "event_types": ["action.credited"]}),
            "url",
        ),
        (
            json!({"url": "https://user:pw@example.org/", "event_types": ["action.credited"]}),
            "url",
        ),
        (
            json!({"url": "https://example.org/", "event_types": []}),
            "event_types",
        ),
        (
            json!({"url": "https://example.org/", "event_types": ["action.credited", "tree.cut"]}),
            "event_types[1]",
        ),
        (
            json!({"url": "https://example.org/", "event_types": ["ball.expired"], "partner_id": metro_co.partner_id}),
            "event_types[0]",
        ),
        (
            json!({"url": "https://example.org/", "event_types": ["action.credited"], "partner_id": "nope"}),
            "partner_id",
        ),
    ];
    for (body, field) in cases {
        let problem = problem_of(
            app.post("/v1/admin/webhook-endpoints", Some(&admin), &body)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem["field"], field, "{body}");
    }
    problem_of(
        app.post(
            "/v1/admin/webhook-endpoints",
            Some(&admin),
            &json!({"url": "https://example.org/", "event_types": ["action.credited"],
                    "partner_id": "00000000-0000-7000-8000-000000000000"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let (_, user) = app.user("mallory").await;
    problem_of(
        app.post(
            "/v1/admin/webhook-endpoints",
            Some(&user),
            &json!({"url": "https://example.org/", "event_types": ["action.credited"]}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem_of(
        app.get("/v1/admin/webhook-deliveries", Some(&user)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    for (query, field) in [
        ("?status=lost", "status"),
        ("?limit=0", "limit"),
        ("?endpoint_id=nope", "query"),
    ] {
        let problem = problem_of(
            app.get(
                &format!("/v1/admin/webhook-deliveries{query}"),
                Some(&admin),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem["field"], field, "{query}");
    }
    let problem = problem_of(
        app.post(
            "/v1/admin/webhook-deliveries/not-a-uuid/retry",
            Some(&admin),
            &Value::Null,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["field"], "delivery_id", "{problem}");
    problem_of(
        app.post(
            "/v1/admin/webhook-deliveries/00000000-0000-7000-8000-000000000000/retry",
            Some(&admin),
            &Value::Null,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed = json_of(
        app.get("/v1/admin/webhook-endpoints", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]), "nothing refused was stored");
}

async fn planting_and_verification_are_announced_to_the_operator(app: TestApp) {
    let world = crate::planting::world(&app).await;
    let receiver = Receiver::start(0).await;
    endpoint(
        &app,
        &world.admin,
        json!({"url": receiver.url, "event_types": ["tree.planted", "tree.verified"]}),
    )
    .await;
    let number = crate::planting::verified_tree(&app, &world).await;
    dispatcher(&app, WebhooksConfig::default())
        .await
        .run_once()
        .await
        .unwrap();
    let events: Vec<Value> = receiver.received().iter().map(Received::json).collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{events:?}");
    assert!(kinds.contains(&"tree.planted") && kinds.contains(&"tree.verified"));
    for event in &events {
        assert_eq!(event["data"]["certificate_no"], number.as_str());
    }
}

crate::on_both_backends!(
    planting_and_verification_are_announced_to_the_operator,
    partner_and_operator_endpoints_receive_signed_events_about_what_concerns_them,
    a_failing_receiver_is_retried_with_exponential_backoff_until_it_recovers,
    a_delivery_that_keeps_failing_is_marked_failed_and_an_admin_can_retry_it,
    an_event_exists_exactly_when_its_effect_was_committed,
    an_expired_ball_is_announced_to_the_operator,
    a_ball_about_to_expire_is_announced_once,
    webhook_endpoints_and_the_log_refuse_bad_input_precisely,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_delivers_webhooks_by_itself() {
    let Some(app) = TestApp::spawn_with(crate::support::Backend::Sqlite, |config| {
        config.webhooks.dispatch_interval_ms = 50;
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let (user_id, _) = app.user("alice").await;
    let receiver = Receiver::start(0).await;
    endpoint(
        &app,
        &admin,
        json!({"url": receiver.url, "event_types": ["energy.granted"]}),
    )
    .await;
    let grant = app
        .http
        .post(app.url("/v1/admin/grants"))
        .bearer_auth(&admin)
        .header("idempotency-key", "grant-1")
        .json(&json!({"user_id": user_id, "grams": 5, "reason": "welcome"}))
        .send()
        .await
        .unwrap();
    assert_eq!(grant.status(), StatusCode::CREATED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while receiver.received().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no webhook arrived within 20 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(receiver.received()[0].json()["type"], "energy.granted");
    app.stop().await;
}
