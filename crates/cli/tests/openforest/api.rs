//! The HTTP API as a user, an admin and an operator's backend see it.

use crate::support::{TestApp, json_of, problem_of};
use reqwest::StatusCode;
use serde_json::json;

async fn a_user_registers_logs_in_and_sees_an_empty_wallet(app: TestApp) {
    let (user_id, token) = app.user("Ana").await;
    let me = json_of(app.get("/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["user"]["user_id"], user_id.as_str());
    assert_eq!(me["user"]["handle"], "ana", "handles are kept lower-case");
    assert_eq!(me["wallet_grams"], 0);
    app.stop().await;
}

async fn a_taken_handle_is_a_conflict(app: TestApp) {
    app.user("ana").await;
    let again = app
        .post(
            "/v1/users",
            None,
            &json!({"handle": "ANA", "password": "another password"}),
        )
        .await;
    let problem = problem_of(again, StatusCode::CONFLICT).await;
    assert_eq!(problem["field"], "handle");
    app.stop().await;
}

async fn a_wrong_password_is_refused(app: TestApp) {
    app.user("ana").await;
    for credentials in [
        json!({"handle": "ana", "password": "wrong password"}),
        json!({"handle": "nobody", "password": "correct horse battery"}),
    ] {
        let login = app.post("/v1/sessions", None, &credentials).await;
        let problem = problem_of(login, StatusCode::UNAUTHORIZED).await;
        assert_eq!(problem["type"], "/problems/unauthorized");
    }
    app.stop().await;
}

async fn logging_out_ends_the_session(app: TestApp) {
    let (_, token) = app.user("ana").await;
    let logout = app
        .http
        .delete(app.url("/v1/sessions/current"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    problem_of(
        app.get("/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.stop().await;
}

async fn sessions_expire_after_their_ttl(app: TestApp) {
    let (_, token) = app.user("ana").await;
    app.advance(30 * 24 * 3_600_000 - 1_000);
    assert_eq!(
        app.get("/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    app.advance(1_000);
    problem_of(
        app.get("/v1/me", Some(&token)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.stop().await;
}

async fn an_operator_key_creates_sessions_for_its_own_users(app: TestApp) {
    let secret = openforest_server::auth::Secret::generate("ofk_");
    app.store
        .create_operator_key(
            openforest_store::OperatorKey {
                key_id: openforest_store::new_id(app.now()),
                name: "wallet-backend".into(),
                created_at: app.now(),
                revoked_at: None,
            },
            secret.sha256(),
        )
        .await
        .unwrap();
    let body = json!({"external_user_id": "customer-42"});
    let first = json_of(
        app.post("/v1/operator/sessions", Some(secret.expose()), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    let second = json_of(
        app.post("/v1/operator/sessions", Some(secret.expose()), &body)
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        first["user"]["user_id"], second["user"]["user_id"],
        "one external id is one user"
    );
    assert_ne!(first["token"], second["token"]);
    let token = first["token"].as_str().unwrap();
    assert_eq!(app.wallet(token).await, 0);
    let other = json_of(
        app.post(
            "/v1/operator/sessions",
            Some(secret.expose()),
            &json!({"external_user_id": "customer-43", "handle": "bea"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(other["user"]["user_id"], first["user"]["user_id"]);
    assert_eq!(other["user"]["handle"], "bea");
    let forged = app
        .post("/v1/operator/sessions", Some("ofk_forged"), &body)
        .await;
    problem_of(forged, StatusCode::UNAUTHORIZED).await;
    let user_token = app.post("/v1/operator/sessions", Some(token), &body).await;
    problem_of(user_token, StatusCode::UNAUTHORIZED).await;
    app.stop().await;
}

async fn an_admin_grant_credits_the_wallet_and_a_retry_replays_it(app: TestApp) {
    let admin = app.admin().await;
    let (user_id, token) = app.user("ana").await;
    let body = json!({"user_id": user_id, "grams": 500, "reason": "welcome gift"});
    let grant = |key: &'static str| {
        app.http
            .post(app.url("/v1/admin/grants"))
            .bearer_auth(&admin)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = json_of(grant("gift-1").await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(first["wallet_grams"], 500);
    assert_eq!(first["replayed"], false);
    let retry = json_of(grant("gift-1").await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(retry["entry_id"], first["entry_id"]);
    assert_eq!(retry["replayed"], true);
    assert_eq!(app.wallet(&token).await, 500, "a replay moves nothing");
    json_of(grant("gift-2").await.unwrap(), StatusCode::CREATED).await;
    assert_eq!(app.wallet(&token).await, 1_000);
    app.stop().await;
}

async fn an_idempotency_key_reused_with_another_body_is_a_conflict(app: TestApp) {
    let admin = app.admin().await;
    let (user_id, token) = app.user("ana").await;
    let send = |grams: u64| {
        app.http
            .post(app.url("/v1/admin/grants"))
            .bearer_auth(&admin)
            .header("idempotency-key", "gift")
            .json(&json!({"user_id": user_id, "grams": grams, "reason": "welcome"}))
            .send()
    };
    json_of(send(100).await.unwrap(), StatusCode::CREATED).await;
    let problem = problem_of(send(101).await.unwrap(), StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "/problems/idempotency-conflict");
    assert_eq!(app.wallet(&token).await, 100);
    app.stop().await;
}

async fn only_admins_may_grant(app: TestApp) {
    let (user_id, token) = app.user("ana").await;
    let body = json!({"user_id": user_id, "grams": 100, "reason": "please"});
    problem_of(
        app.post("/v1/admin/grants", Some(&token), &body).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem_of(
        app.post("/v1/admin/grants", None, &body).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(app.wallet(&token).await, 0);
    app.stop().await;
}

async fn bad_input_gets_a_precise_problem_and_stores_nothing(app: TestApp) {
    let admin = app.admin().await;
    let (user_id, token) = app.user("ana").await;
    let raw = |body: String, content_type: &'static str| {
        app.http
            .post(app.url("/v1/admin/grants"))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let json = "application/json";
    let cases: Vec<(String, &str, StatusCode, &str, Option<&str>)> = vec![
        (
            "{\"user_id\": ".into(),
            json,
            StatusCode::BAD_REQUEST,
            "malformed-json",
            None,
        ),
        (
            "not json at all".into(),
            json,
            StatusCode::BAD_REQUEST,
            "malformed-json",
            None,
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":"500","reason":"x"}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("grams"),
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":-5,"reason":"x"}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("grams"),
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":0,"reason":"x"}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("grams"),
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":1000000000001,"reason":"x"}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("grams"),
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":99999999999999999999999,"reason":"x"}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("grams"),
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":5,"reason":""}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("reason"),
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":5}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            None,
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":5,"reason":"x","bonus":1}}"#),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            None,
        ),
        (
            r#"{"user_id":"not-a-uuid","grams":5,"reason":"x"}"#.into(),
            json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            Some("user_id"),
        ),
        (
            r#"{"user_id":"01a20e6b-dc80-7063-b063-b133557a9346","grams":5,"reason":"x"}"#.into(),
            json,
            StatusCode::NOT_FOUND,
            "not-found",
            None,
        ),
        (
            format!(r#"{{"user_id":"{user_id}","grams":5,"reason":"x"}}"#),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            None,
        ),
        (
            format!(
                r#"{{"user_id":"{user_id}","grams":5,"reason":"{}"}}"#,
                "x".repeat(300 * 1024)
            ),
            json,
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            None,
        ),
    ];
    for (body, content_type, status, kind, field) in cases {
        let shown: String = body.chars().take(80).collect();
        let response = raw(body, content_type).await.unwrap();
        assert_ne!(
            response.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{shown}"
        );
        let problem = problem_of(response, status).await;
        assert_eq!(problem["type"], format!("/problems/{kind}"), "{shown}");
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{shown}");
        }
    }
    assert_eq!(app.wallet(&token).await, 0, "no bad request moved energy");
    let report = app
        .store
        .audit(std::sync::Arc::new(|_, _| {}))
        .await
        .unwrap();
    assert_eq!(report.entries, 0);
    assert!(report.is_sound());
    app.stop().await;
}

async fn health_readiness_metrics_and_openapi_are_served(app: TestApp) {
    assert_eq!(
        json_of(app.get("/healthz", None).await, StatusCode::OK).await["status"],
        "ok"
    );
    let ready = json_of(app.get("/readyz", None).await, StatusCode::OK).await;
    assert_eq!(ready["backend"], app.store.backend().as_str());
    let response = app.get("/healthz", None).await;
    assert!(
        response.headers().contains_key("x-request-id"),
        "every answer carries a request id"
    );
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("openforest_http_requests_total"),
        "{metrics}"
    );
    let openapi = json_of(app.get("/openapi.json", None).await, StatusCode::OK).await;
    assert!(openapi["paths"]["/v1/admin/grants"]["post"].is_object());
    let unknown = app.get("/v1/nowhere", None).await;
    problem_of(unknown, StatusCode::NOT_FOUND).await;
    app.stop().await;
}

crate::on_both_backends!(
    a_user_registers_logs_in_and_sees_an_empty_wallet,
    a_taken_handle_is_a_conflict,
    a_wrong_password_is_refused,
    logging_out_ends_the_session,
    sessions_expire_after_their_ttl,
    an_operator_key_creates_sessions_for_its_own_users,
    an_admin_grant_credits_the_wallet_and_a_retry_replays_it,
    an_idempotency_key_reused_with_another_body_is_a_conflict,
    only_admins_may_grant,
    bad_input_gets_a_precise_problem_and_stores_nothing,
    health_readiness_metrics_and_openapi_are_served,
);
