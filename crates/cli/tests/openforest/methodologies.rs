//! Methodology versions: admins upload versions (immutable once stored), list and read them,
//! and activate one; the next report is credited under it, balls already made keep theirs, and
//! an admin's choice outlasts a restart.

use crate::support::{TestApp, json_of, problem_of};
use openforest_client::partner::PartnerClient;
use openforest_client::signature::{KeyId, SigningKey};
use openforest_core::Methodology;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CLASSIC_V1_METRO: &str = "grams_per_unit = 52\nquantity_max = 1";

/// The classic preset as version `version`, with a metro ride worth `metro_grams`.
fn classic(version: u32, metro_grams: u32) -> String {
    let text = Methodology::preset_text("classic").unwrap();
    assert!(text.contains("\nversion = 1\n") && text.contains(CLASSIC_V1_METRO));
    text.replace("\nversion = 1\n", &format!("\nversion = {version}\n"))
        .replace(
            CLASSIC_V1_METRO,
            &format!("grams_per_unit = {metro_grams}\nquantity_max = 1"),
        )
}

/// `classic(version, 52)` without the bus ride action.
fn classic_without_bus(version: u32) -> String {
    let text = classic(version, 52);
    let start = text.find("[[action]]\nkey = \"bus_ride\"").unwrap();
    let end = start + text[start..].find("\n\n").unwrap() + 2;
    format!("{}{}", &text[..start], &text[end..])
}

async fn upload(app: &TestApp, token: Option<&str>, toml: &str) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/v1/admin/methodologies"))
        .header("content-type", "application/toml")
        .body(toml.to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn activate(
    app: &TestApp,
    token: Option<&str>,
    name: &str,
    version: u32,
) -> reqwest::Response {
    app.post(
        &format!("/v1/admin/methodologies/{name}/{version}/activate"),
        token,
        &Value::Null,
    )
    .await
}

async fn public_methodology(app: &TestApp) -> Value {
    json_of(app.get("/v1/methodology", None).await, StatusCode::OK).await
}

/// A partner allowed `actions`, with a signing key, and a user who linked it; answers the
/// partner's client, the user's session token and the partner's id for the user.
async fn linked_partner(
    app: &TestApp,
    admin: &str,
    actions: &[&str],
) -> (PartnerClient, String, String) {
    let partner = json_of(
        app.post(
            "/v1/admin/partners",
            Some(admin),
            &json!({"name": "metro", "allowed_actions": actions}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let partner_id = partner["partner_id"].as_str().unwrap();
    let key = SigningKey::generate();
    json_of(
        app.post(
            &format!("/v1/admin/partners/{partner_id}/keys"),
            Some(admin),
            &json!({"key_id": "metro-key-1", "public_key": key.verifying_key().to_base64()}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let client = PartnerClient::new(&app.base, KeyId::parse("metro-key-1").unwrap(), key).unwrap();
    let (_, token) = app.user("ana").await;
    let link = json_of(
        app.post(
            "/v1/me/partner-links",
            Some(&token),
            &json!({"partner_id": partner_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let pseudonym = link["partner_user_id"].as_str().unwrap().to_string();
    (client, token, pseudonym)
}

async fn report_ride(
    app: &TestApp,
    partner: &PartnerClient,
    user: &str,
    out_biz_no: &str,
) -> Value {
    let body = json!({"out_biz_no": out_biz_no, "partner_user_id": user, "action": "metro_ride", "quantity": 1});
    let request = partner
        .signed_request(
            Method::POST,
            "/v1/partner/actions",
            serde_json::to_vec(&body).unwrap(),
            app.now().millis() / 1_000,
        )
        .unwrap();
    json_of(
        partner.http_client().execute(request).await.unwrap(),
        StatusCode::CREATED,
    )
    .await
}

async fn an_activated_version_credits_the_next_report_and_earlier_balls_keep_their_version(
    app: TestApp,
) {
    let admin = app.admin().await;
    let (metro, token, ana) = linked_partner(&app, &admin, &["metro_ride"]).await;
    let before = report_ride(&app, &metro, &ana, "ride-1").await;
    assert_eq!(
        (
            &before["methodology"],
            &before["methodology_version"],
            &before["credited_grams"]
        ),
        (&json!("classic"), &json!(1), &json!(52))
    );

    let uploaded = json_of(
        upload(&app, Some(&admin), &classic(2, 60)).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(uploaded["name"], "classic");
    assert_eq!(uploaded["version"], 2);
    assert_eq!(uploaded["active"], false, "an upload does not activate");
    assert_eq!(uploaded["sha256"].as_str().unwrap().len(), 64);
    let listed = json_of(
        app.get("/v1/admin/methodologies", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let versions: Vec<(u64, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["version"].as_u64().unwrap(),
                row["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(2, false), (1, true)], "newest first, v1 active");
    assert_eq!(
        listed[1]["uploaded_by"],
        Value::Null,
        "v1 came from the configuration"
    );
    assert_eq!(public_methodology(&app).await["version"], 1);

    let activated = json_of(
        activate(&app, Some(&admin), "classic", 2).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(activated["active"], true);
    assert!(activated["activated_at"].is_string());
    assert!(activated["activated_by"].is_string());
    let public = public_methodology(&app).await;
    assert_eq!(public["version"], 2);
    let metro_rule = public["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|action| action["key"] == "metro_ride")
        .unwrap()
        .clone();
    assert_eq!(metro_rule["grams"]["grams_per_unit"], 60, "{metro_rule}");

    app.advance(1_000);
    let after = report_ride(&app, &metro, &ana, "ride-2").await;
    assert_eq!(
        (
            &after["methodology"],
            &after["methodology_version"],
            &after["credited_grams"]
        ),
        (&json!("classic"), &json!(2), &json!(60)),
        "the next report is credited under the activated version"
    );
    let balls = json_of(app.get("/v1/me/balls", Some(&token)).await, StatusCode::OK).await;
    let made_under: Vec<(u64, u64)> = balls
        .as_array()
        .unwrap()
        .iter()
        .map(|ball| {
            (
                ball["methodology_version"].as_u64().unwrap(),
                ball["remaining_grams"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        made_under,
        [(2, 60), (1, 52)],
        "the earlier ball keeps version 1"
    );
    let replayed = report_ride(&app, &metro, &ana, "ride-1").await;
    assert_eq!(replayed["replayed"], true);
    assert_eq!(
        replayed["methodology_version"], 1,
        "a replay answers what was stored"
    );

    let detail = json_of(
        app.get("/v1/admin/methodologies/classic/2", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["toml"], classic(2, 60));
    assert_eq!(detail["methodology"], public);
    assert_eq!(detail["active"], true);
    app.stop().await;
}

async fn an_invalid_upload_is_refused_with_its_line_and_reason(app: TestApp) {
    let admin = app.admin().await;
    let broken = classic(2, 60).replace("grams_per_unit = 60", "grams_per_unit = 0");
    let line = 1 + broken[..broken.find("grams_per_unit = 0").unwrap()]
        .matches('\n')
        .count();
    let problem = problem_of(
        upload(&app, Some(&admin), &broken).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["type"], "/problems/invalid-methodology");
    assert_eq!(problem["field"], "body");
    assert_eq!(problem["line"], line);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "line {line}: grams_per_unit must be more than zero"
        )),
        "{detail}"
    );

    let syntax = problem_of(
        upload(&app, Some(&admin), "name = \"mine\"\nversion = = 2\n").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(syntax["line"], 2);

    let as_json = app
        .post(
            "/v1/admin/methodologies",
            Some(&admin),
            &json!({"toml": classic(2, 60)}),
        )
        .await;
    let problem = problem_of(as_json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("application/toml")
    );
    let listed = json_of(
        app.get("/v1/admin/methodologies", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing was stored");
    app.stop().await;
}

async fn a_version_never_changes_the_same_text_again_is_accepted_other_text_conflicts(
    app: TestApp,
) {
    let admin = app.admin().await;
    let first = json_of(
        upload(&app, Some(&admin), &classic(2, 60)).await,
        StatusCode::CREATED,
    )
    .await;
    let again = json_of(
        upload(&app, Some(&admin), &classic(2, 60)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(again["sha256"], first["sha256"]);
    assert_eq!(again["uploaded_at"], first["uploaded_at"]);
    let conflict = problem_of(
        upload(&app, Some(&admin), &classic(2, 61)).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(conflict["type"], "/problems/conflict");
    assert_eq!(conflict["field"], "version");
    assert!(
        conflict["detail"].as_str().unwrap().contains("new version"),
        "{conflict}"
    );
    let configured = Methodology::preset_text("classic").unwrap();
    json_of(upload(&app, Some(&admin), configured).await, StatusCode::OK).await;
    problem_of(
        upload(&app, Some(&admin), &classic(1, 60)).await,
        StatusCode::CONFLICT,
    )
    .await;
    let stored = json_of(
        app.get("/v1/admin/methodologies/classic/2", Some(&admin))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stored["toml"], classic(2, 60), "the first text stays");
    app.stop().await;
}

async fn only_admins_manage_methodologies(app: TestApp) {
    let admin = app.admin().await;
    json_of(
        upload(&app, Some(&admin), &classic(2, 60)).await,
        StatusCode::CREATED,
    )
    .await;
    let (_, user) = app.user("ana").await;
    for token in [None, Some(user.as_str())] {
        let status = if token.is_none() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::FORBIDDEN
        };
        problem_of(upload(&app, token, &classic(3, 60)).await, status).await;
        problem_of(app.get("/v1/admin/methodologies", token).await, status).await;
        problem_of(
            app.get("/v1/admin/methodologies/classic/2", token).await,
            status,
        )
        .await;
        problem_of(activate(&app, token, "classic", 2).await, status).await;
    }
    assert_eq!(public_methodology(&app).await["version"], 1);
    app.stop().await;
}

async fn activation_that_would_leave_a_partner_allowed_a_missing_action_is_refused(app: TestApp) {
    let admin = app.admin().await;
    linked_partner(&app, &admin, &["metro_ride", "bus_ride"]).await;
    json_of(
        upload(&app, Some(&admin), &classic_without_bus(2)).await,
        StatusCode::CREATED,
    )
    .await;
    let problem = problem_of(
        activate(&app, Some(&admin), "classic", 2).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(problem["field"], "allowed_actions");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"metro\" (bus_ride)") && detail.contains("enabled = false"),
        "{detail}"
    );
    assert_eq!(
        public_methodology(&app).await["version"],
        1,
        "v1 stays active"
    );

    let retired = classic(3, 52).replace(
        "key = \"bus_ride\"\n",
        "key = \"bus_ride\"\nenabled = false\n",
    );
    json_of(
        upload(&app, Some(&admin), &retired).await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        activate(&app, Some(&admin), "classic", 3).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(public_methodology(&app).await["version"], 3);

    let created = app
        .post(
            "/v1/admin/partners",
            Some(&admin),
            &json!({"name": "bikes", "allowed_actions": ["cycling"]}),
        )
        .await;
    let problem = problem_of(created, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        problem["field"], "allowed_actions[0]",
        "new partners are checked against the active version"
    );
    problem_of(
        activate(&app, Some(&admin), "classic", 9).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem_of(
        app.get("/v1/admin/methodologies/nope/1", Some(&admin))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    app.stop().await;
}

async fn an_admins_activation_outlasts_a_restart(app: TestApp) {
    let admin = app.admin().await;
    json_of(
        upload(&app, Some(&admin), &classic(2, 60)).await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        activate(&app, Some(&admin), "classic", 2).await,
        StatusCode::OK,
    )
    .await;
    let app = app.restart_with(|_| {}).await.unwrap();
    assert_eq!(public_methodology(&app).await["version"], 2);
    let app = app
        .restart_with(|config| config.methodology = "transport-km".into())
        .await
        .unwrap();
    assert_eq!(
        public_methodology(&app).await["name"],
        "classic",
        "an admin's activation wins over the configuration"
    );
    let listed = json_of(
        app.get("/v1/admin/methodologies", Some(&admin)).await,
        StatusCode::OK,
    )
    .await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"transport-km"),
        "the configured one is recorded: {names:?}"
    );
    app.stop().await;
}

async fn without_an_admins_activation_the_configuration_decides_at_start(app: TestApp) {
    assert_eq!(public_methodology(&app).await["name"], "classic");
    let app = app
        .restart_with(|config| config.methodology = "transport-km".into())
        .await
        .unwrap();
    assert_eq!(public_methodology(&app).await["name"], "transport-km");

    let file = app.database.dir.path().join("mine.toml");
    std::fs::write(&file, classic(1, 60)).unwrap();
    let path = file.display().to_string();
    let refused = app
        .restart_with(|config| config.methodology = path)
        .await
        .err()
        .expect("a changed file under a stored version stops the start");
    assert!(refused.to_string().contains("new version"), "{refused}");
}

crate::on_both_backends!(
    an_activated_version_credits_the_next_report_and_earlier_balls_keep_their_version,
    an_invalid_upload_is_refused_with_its_line_and_reason,
    a_version_never_changes_the_same_text_again_is_accepted_other_text_conflicts,
    only_admins_manage_methodologies,
    activation_that_would_leave_a_partner_allowed_a_missing_action_is_refused,
    an_admins_activation_outlasts_a_restart,
    without_an_admins_activation_the_configuration_decides_at_start,
);
