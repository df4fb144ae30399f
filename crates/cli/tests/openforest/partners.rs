//! The partner platform: signed reports of low-carbon actions become energy balls, within the
//! methodology's caps, for users who consented, and nothing else gets in.

use crate::support::{TestApp, json_of, problem_of};
use futures_util::future::join_all;
use openforest_client::partner::PartnerClient;
use openforest_client::signature::{KeyId, SigningKey};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

/// A partner registered by an admin, with one signing key.
pub(crate) struct TestPartner {
    pub(crate) partner_id: String,
    pub(crate) client: PartnerClient,
}

pub(crate) async fn partner(
    app: &TestApp,
    admin: &str,
    name: &str,
    actions: &[&str],
) -> TestPartner {
    let created = json_of(
        app.post(
            "/v1/admin/partners",
            Some(admin),
            &json!({"name": name, "allowed_actions": actions}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let partner_id = created["partner_id"].as_str().unwrap().to_string();
    let key = SigningKey::generate();
    let key_id = format!("{name}-key-1");
    add_key(app, admin, &partner_id, &key_id, &key).await;
    TestPartner {
        client: PartnerClient::new(&app.base, KeyId::parse(&key_id).unwrap(), key).unwrap(),
        partner_id,
    }
}

async fn add_key(app: &TestApp, admin: &str, partner_id: &str, key_id: &str, key: &SigningKey) {
    let body = json!({"key_id": key_id, "public_key": key.verifying_key().to_base64()});
    json_of(
        app.post(
            &format!("/v1/admin/partners/{partner_id}/keys"),
            Some(admin),
            &body,
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
}

/// A user who linked the partner; answers (session token, the partner's id for them).
pub(crate) async fn linked_user(
    app: &TestApp,
    handle: &str,
    partner: &TestPartner,
) -> (String, String) {
    let (_, token) = app.user(handle).await;
    let link = json_of(
        app.post(
            "/v1/me/partner-links",
            Some(&token),
            &json!({"partner_id": partner.partner_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (token, link["partner_user_id"].as_str().unwrap().to_string())
}

impl TestPartner {
    fn request(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        created_unix: i64,
    ) -> reqwest::Request {
        let bytes = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(body).unwrap()
        };
        self.client
            .signed_request(method, path, bytes, created_unix)
            .unwrap()
    }

    async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        let now = app.now().millis() / 1_000;
        let request = self.request(method, path, body, now);
        self.client.http_client().execute(request).await.unwrap()
    }

    pub(crate) async fn report(&self, app: &TestApp, body: &Value) -> reqwest::Response {
        self.send(app, Method::POST, "/v1/partner/actions", body)
            .await
    }
}

pub(crate) fn metro(out_biz_no: &str, partner_user_id: &str) -> Value {
    json!({"out_biz_no": out_biz_no, "partner_user_id": partner_user_id, "action": "metro_ride", "quantity": 1})
}

pub(crate) async fn assert_ledger_sound(app: &TestApp) -> openforest_core::AuditReport {
    let report = app.store.audit(Arc::new(|_, _| {})).await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    report
}

async fn a_reported_action_becomes_a_ball_that_ripens_at_seven_the_next_morning(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (token, ana) = linked_user(&app, "ana", &metro_co).await;
    let credit = json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(credit["requested_grams"], 52);
    assert_eq!(credit["credited_grams"], 52);
    assert_eq!(credit["cap_applied"], Value::Null);
    assert_eq!(credit["partner_user_id"], ana.as_str());
    assert_eq!(credit["methodology"], "classic");
    let ripens_at = credit["ball"]["ripens_at"].as_str().unwrap();
    let ripens = chrono::DateTime::parse_from_rfc3339(ripens_at).unwrap();
    let expires =
        chrono::DateTime::parse_from_rfc3339(credit["ball"]["expires_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        (expires - ripens).num_hours(),
        72,
        "energy expires 72 hours after ripening"
    );
    let ripens_locally = ripens.with_timezone(&app.zone);
    assert_eq!(
        ripens_locally.time(),
        chrono::NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        "{ripens_at} ripens at 07:00 in the operator's zone"
    );
    let today = chrono::DateTime::from_timestamp_millis(app.now().millis())
        .unwrap()
        .with_timezone(&app.zone)
        .date_naive();
    assert_eq!(
        ripens_locally.date_naive(),
        today.succ_opt().unwrap(),
        "today's energy ripens tomorrow"
    );

    // The ball's id is stamped with its ripening instant (PostgreSQL partitions balls by it).
    let ball_id: uuid::Uuid = credit["ball"]["ball_id"].as_str().unwrap().parse().unwrap();
    let (seconds, nanos) = ball_id.get_timestamp().unwrap().to_unix();
    assert_eq!(
        i64::try_from(seconds).unwrap() * 1_000 + i64::from(nanos / 1_000_000),
        ripens.timestamp_millis()
    );
    let balls = json_of(app.get("/v1/me/balls", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(balls[0]["state"], "ripening");
    assert_eq!(balls[0]["remaining_grams"], 52);
    assert_eq!(balls[0]["ball_id"], credit["ball"]["ball_id"]);
    app.advance((ripens.timestamp_millis() - app.now().millis()) + 1);
    let balls = json_of(app.get("/v1/me/balls", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(balls[0]["state"], "ripe");
    let audit = assert_ledger_sound(&app).await;
    assert_eq!(audit.issued_grams, 52);
    app.stop().await;
}

async fn the_same_out_biz_no_answers_the_same_and_another_report_conflicts(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride", "bus_ride"]).await;
    let (token, ana) = linked_user(&app, "ana", &metro_co).await;
    let first = json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    let again = json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(again["ball"], first["ball"]);
    assert_eq!(again["replayed"], true);
    let mut other = metro("ride-1", &ana);
    other["action"] = json!("bus_ride");
    let conflict = problem_of(metro_co.report(&app, &other).await, StatusCode::CONFLICT).await;
    assert_eq!(conflict["type"], "/problems/idempotency-conflict");
    let looked_up = json_of(
        metro_co
            .send(
                &app,
                Method::GET,
                "/v1/partner/actions/ride-1",
                &Value::Null,
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(looked_up["ball"], first["ball"]);
    assert_eq!(looked_up["credited_grams"], 52);
    problem_of(
        metro_co
            .send(&app, Method::GET, "/v1/partner/actions/nope", &Value::Null)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let withdraw = app
        .http
        .delete(app.url(&format!("/v1/me/partner-links/{}", metro_co.partner_id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(withdraw.status(), StatusCode::NO_CONTENT);
    let after_withdrawal = json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        after_withdrawal["ball"], first["ball"],
        "a retry of an accepted report still gets its answer"
    );
    problem_of(
        metro_co.report(&app, &metro("ride-2", &ana)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 52);
    app.stop().await;
}

async fn metro_rides_beyond_five_a_day_are_credited_nothing_and_the_cap_is_named(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, ana) = linked_user(&app, "ana", &metro_co).await;
    for ride in 1..=5 {
        let credit = json_of(
            metro_co
                .report(&app, &metro(&format!("ride-{ride}"), &ana))
                .await,
            StatusCode::CREATED,
        )
        .await;
        assert_eq!(credit["credited_grams"], 52);
    }
    let sixth = json_of(
        metro_co.report(&app, &metro("ride-6", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(sixth["requested_grams"], 52);
    assert_eq!(sixth["credited_grams"], 0);
    assert_eq!(sixth["cap_applied"], "daily_actions");
    assert_eq!(sixth["ball"], Value::Null);
    app.advance(24 * 3_600_000);
    let next_day = json_of(
        metro_co.report(&app, &metro("ride-7", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(next_day["credited_grams"], 52, "the cap is per local day");
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 6 * 52);
    app.stop().await;
}

async fn concurrent_reports_racing_a_cap_never_exceed_it(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (token, ana) = linked_user(&app, "ana", &metro_co).await;
    let reports = (0..60).map(|n| {
        let body = metro(&format!("race-{n}"), &ana);
        let metro_co = &metro_co;
        let app = &app;
        async move { json_of(metro_co.report(app, &body).await, StatusCode::CREATED).await }
    });
    let credits = join_all(reports).await;
    let credited: Vec<&Value> = credits
        .iter()
        .filter(|credit| credit["credited_grams"] == 52)
        .collect();
    assert_eq!(
        credited.len(),
        5,
        "exactly five rides a day, however the reports race"
    );
    let balls = json_of(app.get("/v1/me/balls", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(balls.as_array().unwrap().len(), 5);
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 5 * 52);
    app.stop().await;
}

async fn walking_is_capped_at_296_grams_and_implausible_step_counts_are_refused(app: TestApp) {
    let admin = app.admin().await;
    let health = partner(&app, &admin, "health", &["walking"]).await;
    let (_, ana) = linked_user(&app, "ana", &health).await;
    let steps = |out: &str, steps: u64| json!({"out_biz_no": out, "partner_user_id": ana, "action": "walking", "quantity": steps});
    let implausible = problem_of(
        health.report(&app, &steps("day-0", 150_000)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(implausible["field"], "quantity");
    let day = json_of(
        health.report(&app, &steps("day-1", 20_000)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(day["requested_grams"], 400);
    assert_eq!(day["credited_grams"], 296);
    assert_eq!(day["cap_applied"], "daily_grams");
    let second = json_of(
        health.report(&app, &steps("day-1b", 5_000)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(second["credited_grams"], 0, "one step report a day");
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 296);
    app.stop().await;
}

async fn a_utility_bill_is_credited_once_per_household_per_month(app: TestApp) {
    let admin = app.admin().await;
    let utility = partner(&app, &admin, "utility", &["utility_bill"]).await;
    let (_, ana) = linked_user(&app, "ana", &utility).await;
    let (_, ben) = linked_user(&app, "ben", &utility).await;
    let bill = |out: &str, user: &str| json!({"out_biz_no": out, "partner_user_id": user, "action": "utility_bill", "quantity": 1, "dedup_value": "meter-0042"});
    let first = json_of(
        utility.report(&app, &bill("bill-ana", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["credited_grams"], 262);
    let same_household = json_of(
        utility.report(&app, &bill("bill-ben", &ben)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(same_household["credited_grams"], 0);
    assert_eq!(same_household["cap_applied"], "dedup");
    let mut missing = bill("bill-x", &ana);
    missing.as_object_mut().unwrap().remove("dedup_value");
    let problem = problem_of(
        utility.report(&app, &missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["field"], "dedup_value");
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 262);
    app.stop().await;
}

async fn forged_stale_replayed_and_unknown_signatures_are_refused(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, ana) = linked_user(&app, "ana", &metro_co).await;
    let now = app.now().millis() / 1_000;
    let body = metro("ride-1", &ana);
    let http = metro_co.client.http_client().clone();
    let expect_rejected = |response: reqwest::Response| async move {
        let problem = problem_of(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(problem["type"], "/problems/signature-rejected");
        problem
    };

    // Signed by a key the server does not hold, under a known and an unknown key id.
    let signed_by_stranger = |key_id: &str| {
        PartnerClient::new(
            &app.base,
            KeyId::parse(key_id).unwrap(),
            SigningKey::generate(),
        )
        .unwrap()
        .signed_request(
            Method::POST,
            "/v1/partner/actions",
            serde_json::to_vec(&body).unwrap(),
            now,
        )
        .unwrap()
    };
    let forged = signed_by_stranger("metro-key-1");
    expect_rejected(http.execute(forged).await.unwrap()).await;

    for skew in [-301, 301] {
        let stale = metro_co.request(Method::POST, "/v1/partner/actions", &body, now + skew);
        expect_rejected(http.execute(stale).await.unwrap()).await;
    }

    let unknown = signed_by_stranger("nobody");
    expect_rejected(http.execute(unknown).await.unwrap()).await;

    let unsigned = http
        .post(app.url("/v1/partner/actions"))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_rejected(unsigned).await;

    let original = metro_co.request(Method::POST, "/v1/partner/actions", &body, now);
    let replay = original.try_clone().unwrap();
    json_of(http.execute(original).await.unwrap(), StatusCode::CREATED).await;
    let replayed = expect_rejected(http.execute(replay).await.unwrap()).await;
    assert!(replayed["detail"].as_str().unwrap().contains("replayed"));

    let mut tampered = metro_co.request(
        Method::POST,
        "/v1/partner/actions",
        &metro("ride-2", &ana),
        now,
    );
    *tampered.body_mut() = Some(serde_json::to_vec(&metro("ride-3", &ana)).unwrap().into());
    expect_rejected(http.execute(tampered).await.unwrap()).await;

    assert_eq!(
        assert_ledger_sound(&app).await.issued_grams,
        52,
        "only the genuine report got in"
    );
    app.stop().await;
}

async fn keys_rotate_with_overlap_and_disabling_a_partner_stops_it_at_once(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, ana) = linked_user(&app, "ana", &metro_co).await;
    let new_key = SigningKey::generate();
    add_key(&app, &admin, &metro_co.partner_id, "metro-key-2", &new_key).await;
    let rotated =
        PartnerClient::new(&app.base, KeyId::parse("metro-key-2").unwrap(), new_key).unwrap();
    json_of(
        metro_co.report(&app, &metro("old-key", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    let new_client = TestPartner {
        partner_id: metro_co.partner_id.clone(),
        client: rotated,
    };
    json_of(
        new_client.report(&app, &metro("new-key", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    let revoke = app
        .http
        .delete(app.url(&format!(
            "/v1/admin/partners/{}/keys/metro-key-1",
            metro_co.partner_id
        )))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    problem_of(
        metro_co.report(&app, &metro("old-key-2", &ana)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    json_of(
        new_client.report(&app, &metro("new-key-2", &ana)).await,
        StatusCode::CREATED,
    )
    .await;

    let path = format!("/v1/admin/partners/{}/disable", metro_co.partner_id);
    json_of(
        app.post(&path, Some(&admin), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    let refused = problem_of(
        new_client.report(&app, &metro("after-disable", &ana)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(refused["detail"].as_str().unwrap().contains("disabled"));
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 3 * 52);
    app.stop().await;
}

async fn only_consenting_users_and_allowed_actions_can_be_credited(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let bikes = partner(&app, &admin, "bikes", &["bus_ride"]).await;
    let (token, ana) = linked_user(&app, "ana", &metro_co).await;
    let unknown = problem_of(
        metro_co.report(&app, &metro("r1", "pu_nobody")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(unknown["field"], "partner_user_id");
    let other_partner = problem_of(bikes.report(&app, &json!({"out_biz_no": "b1", "partner_user_id": ana, "action": "bus_ride", "quantity": 1})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        other_partner["field"], "partner_user_id",
        "a pseudonym is only valid for its own partner"
    );
    let disallowed = problem_of(metro_co.report(&app, &json!({"out_biz_no": "r2", "partner_user_id": ana, "action": "bus_ride", "quantity": 1})).await, StatusCode::FORBIDDEN).await;
    assert_eq!(disallowed["field"], "action");
    let unknown_action = problem_of(metro_co.report(&app, &json!({"out_biz_no": "r3", "partner_user_id": ana, "action": "teleport", "quantity": 1})).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(unknown_action["field"], "action");
    for quantity in [
        json!(0),
        json!(-1),
        json!(2),
        json!(1e12),
        json!("lots"),
        json!(1.5),
    ] {
        let body = json!({"out_biz_no": "q", "partner_user_id": ana, "action": "metro_ride", "quantity": quantity});
        let problem = problem_of(
            metro_co.report(&app, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(problem["field"], "quantity", "{quantity}");
    }
    let withdraw = app
        .http
        .delete(app.url(&format!("/v1/me/partner-links/{}", metro_co.partner_id)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(withdraw.status(), StatusCode::NO_CONTENT);
    let withdrawn = problem_of(
        metro_co.report(&app, &metro("r4", &ana)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(withdrawn["field"], "partner_user_id");
    assert!(withdrawn["detail"].as_str().unwrap().contains("withdrew"));

    let bike_link = json_of(
        app.post(
            "/v1/me/partner-links",
            Some(&token),
            &json!({"partner_id": bikes.partner_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_ne!(
        bike_link["partner_user_id"],
        ana.as_str(),
        "partners cannot correlate one user"
    );
    let audit = assert_ledger_sound(&app).await;
    assert_eq!(audit.entries, 0, "nothing was credited");
    app.stop().await;
}

async fn a_batch_judges_each_report_on_its_own(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, ana) = linked_user(&app, "ana", &metro_co).await;
    let items = json!({"items": [
        metro("b-1", &ana),
        {"out_biz_no": "b-2", "partner_user_id": ana, "action": "metro_ride", "quantity": -3},
        metro("b-1", &ana),
        {"out_biz_no": "b-4", "partner_user_id": ana, "action": "metro_ride"},
        metro("b-5", &ana),
    ]});
    let batch = json_of(
        metro_co
            .send(&app, Method::POST, "/v1/partner/actions/batch", &items)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(batch["credited"], 2);
    assert_eq!(batch["refused"], 3);
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 201);
    assert_eq!(results[1]["problem"]["field"], "items[1].quantity");
    assert_eq!(results[2]["status"], 409, "a key repeated within one batch");
    assert_eq!(results[3]["status"], 422);
    assert_eq!(results[4]["result"]["credited_grams"], 52);

    let too_many: Vec<Value> = (0..1_001).map(|n| metro(&format!("m-{n}"), &ana)).collect();
    let oversized = problem_of(
        metro_co
            .send(
                &app,
                Method::POST,
                "/v1/partner/actions/batch",
                &json!({"items": too_many}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(oversized["field"], "items");
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 2 * 52);
    app.stop().await;
}

async fn the_methodology_is_public_with_its_sources(app: TestApp) {
    let methodology = json_of(app.get("/v1/methodology", None).await, StatusCode::OK).await;
    assert_eq!(methodology["name"], "classic");
    let text = methodology.to_string();
    assert!(
        text.contains("metro_ride") && text.contains("citation"),
        "{text}"
    );
    app.stop().await;
}

async fn energy_expires_72_hours_after_ripening_as_a_journal_entry(app: TestApp) {
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (token, ana) = linked_user(&app, "ana", &metro_co).await;
    let credit = json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(credit["ball"]["expires_at"].as_str().unwrap())
            .unwrap();
    let clock: Arc<dyn openforest_core::Clock> = app.clock.clone();
    app.advance(expires_at.timestamp_millis() - app.now().millis() - 1);
    let early = openforest_server::jobs::expire_due_balls(&app.store, &clock)
        .await
        .unwrap();
    assert_eq!(early.balls, 0, "a ball lives until its expiry instant");
    app.advance(1);
    let run = openforest_server::jobs::expire_due_balls(&app.store, &clock)
        .await
        .unwrap();
    assert_eq!((run.balls, run.grams), (1, 52));
    let again = openforest_server::jobs::expire_due_balls(&app.store, &clock)
        .await
        .unwrap();
    assert_eq!(again.balls, 0, "expiry happens once");
    let balls = json_of(app.get("/v1/me/balls", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(balls[0]["state"], "expired");
    assert_eq!(balls[0]["remaining_grams"], 0);
    assert_eq!(balls[0]["grams"], 52, "the ball's history stays");
    let audit = assert_ledger_sound(&app).await;
    assert_eq!(
        (audit.issued_grams, audit.held_grams, audit.expired_grams),
        (52, 0, 52)
    );
    assert_eq!(
        audit.entries, 2,
        "the credit and the expiry, both journal entries"
    );
    app.stop().await;
}

/// More due balls than one page, then a ball reported after the run: the job walks every page
/// once, and its next run, which starts where this one ended, still finds the new ball.
async fn the_expiry_job_walks_every_page_and_resumes_where_it_ended(app: TestApp) {
    use openforest_core::{BallId, Grams, Handle, PartnerId, UserId};
    use openforest_store::seed::{SeedBall, SeedChunk, SeedUser, SequentialIds};
    let now = app.now();
    let partner_id = PartnerId(openforest_store::new_id(now));
    app.store
        .create_partner(&openforest_store::Partner {
            partner_id,
            name: "seeded".into(),
            allowed_actions: vec!["walking".into()],
            disabled_at: None,
            created_at: now,
        })
        .await
        .unwrap();
    let mut ids = SequentialIds::new(now.plus_millis(-80 * 3_600_000));
    let users: Vec<UserId> = (0..50).map(|_| UserId(ids.next_id())).collect();
    let chunk = SeedChunk {
        partner_id,
        action: "walking".into(),
        methodology: "classic".into(),
        methodology_version: 1,
        created_at: now.plus_millis(-80 * 3_600_000),
        session_expires_at: now.plus_millis(3_600_000),
        users: users
            .iter()
            .enumerate()
            .map(|(n, user_id)| SeedUser {
                user_id: *user_id,
                handle: Handle::parse(&format!("seeded{n}")).unwrap(),
                token_hash: openforest_server::auth::hash_token(&format!("seeded-{n}")),
            })
            .collect(),
        friendships: Vec::new(),
        balls: (0..5_000)
            .map(|n| SeedBall {
                owner_id: users[n % users.len()],
                ball_id: BallId(ids.next_id()),
                grams: Grams::new(10),
                created_at: now.plus_millis(-80 * 3_600_000),
                ripens_at: now.plus_millis(-73 * 3_600_000),
                expires_at: now.plus_millis(-1),
            })
            .collect(),
        movements: Vec::new(),
        usage: Vec::new(),
        last: true,
    };
    app.store.seed_world(&chunk).await.unwrap();
    let clock: Arc<dyn openforest_core::Clock> = app.clock.clone();
    let mut job = openforest_server::jobs::Expiry::default();
    let first = job.run(&app.store, &clock).await.unwrap();
    assert_eq!((first.balls, first.grams), (5_000, 50_000));

    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, ana) = linked_user(&app, "ana", &metro_co).await;
    json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(job.run(&app.store, &clock).await.unwrap().balls, 0);
    app.advance(5 * 24 * 3_600_000);
    let later = job.run(&app.store, &clock).await.unwrap();
    assert_eq!((later.balls, later.grams), (1, 52));
    assert_eq!(assert_ledger_sound(&app).await.expired_grams, 50_052);
    app.stop().await;
}

crate::on_both_backends!(
    energy_expires_72_hours_after_ripening_as_a_journal_entry,
    the_expiry_job_walks_every_page_and_resumes_where_it_ended,
    a_reported_action_becomes_a_ball_that_ripens_at_seven_the_next_morning,
    the_same_out_biz_no_answers_the_same_and_another_report_conflicts,
    metro_rides_beyond_five_a_day_are_credited_nothing_and_the_cap_is_named,
    concurrent_reports_racing_a_cap_never_exceed_it,
    walking_is_capped_at_296_grams_and_implausible_step_counts_are_refused,
    a_utility_bill_is_credited_once_per_household_per_month,
    forged_stale_replayed_and_unknown_signatures_are_refused,
    keys_rotate_with_overlap_and_disabling_a_partner_stops_it_at_once,
    only_consenting_users_and_allowed_actions_can_be_credited,
    a_batch_judges_each_report_on_its_own,
    the_methodology_is_public_with_its_sources,
);

/// The server runs expiry in the background: no operator action needed.
async fn the_server_expires_due_balls_by_itself(backend: crate::support::Backend) {
    let Some(app) =
        TestApp::spawn_with(backend, |config| config.jobs.expiry_interval_seconds = 1).await
    else {
        return;
    };
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (token, ana) = linked_user(&app, "ana", &metro_co).await;
    json_of(
        metro_co.report(&app, &metro("ride-1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    app.advance(5 * 24 * 3_600_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let balls = json_of(app.get("/v1/me/balls", Some(&token)).await, StatusCode::OK).await;
        if balls[0]["remaining_grams"] == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expiry job did not run: {balls}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(assert_ledger_sound(&app).await.expired_grams, 52);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_expires_due_balls_by_itself_on_sqlite() {
    the_server_expires_due_balls_by_itself(crate::support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_expires_due_balls_by_itself_on_postgres() {
    the_server_expires_due_balls_by_itself(crate::support::Backend::Postgres).await;
}

/// A partner over its request budget gets 429 with Retry-After; other partners are unaffected.
async fn a_partner_over_its_rate_limit_is_told_when_to_retry(backend: crate::support::Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.partners.requests_per_second = 1;
        config.partners.burst = 2;
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let bikes = partner(&app, &admin, "bikes", &["metro_ride"]).await;
    let (_, ana) = linked_user(&app, "ana", &metro_co).await;
    json_of(
        metro_co.report(&app, &metro("r1", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        metro_co.report(&app, &metro("r2", &ana)).await,
        StatusCode::CREATED,
    )
    .await;
    let limited = metro_co.report(&app, &metro("r3", &ana)).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let problem = problem_of(limited, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
    let other = bikes
        .send(&app, Method::GET, "/v1/partner/actions/none", &Value::Null)
        .await;
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "another partner keeps its own budget"
    );
    assert_eq!(assert_ledger_sound(&app).await.issued_grams, 2 * 52);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_over_its_rate_limit_is_told_when_to_retry_on_sqlite() {
    a_partner_over_its_rate_limit_is_told_when_to_retry(crate::support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_over_its_rate_limit_is_told_when_to_retry_on_postgres() {
    a_partner_over_its_rate_limit_is_told_when_to_retry(crate::support::Backend::Postgres).await;
}
