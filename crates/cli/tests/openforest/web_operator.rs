//! The operator's pages: the admin console (admins only, CSRF on every form, refusals naming
//! the field, secrets shown once) and the public impact dashboard (figures matching what was
//! seeded, SVG charts without style attributes, the signed head as the API publishes it), over
//! plain HTTP; then both in a real headless Chromium.

use crate::harvest::{ball, player};
use crate::partners::{linked_user, metro, partner};
use crate::planting::{verified_tree, world};
use crate::support::{Backend, TestApp, json_of};
use crate::visitor::{PASSWORD, Page, Visitor};
use openforest_server::config::WebhooksConfig;
use openforest_server::webhooks::Dispatcher;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const ADMIN_PASSWORD: &str = "admin password";

/// The section of the page from the element with this id to the end of its figure.
fn figure<'p>(page: &'p Page, id: &str) -> &'p str {
    let start = page.body.find(&format!(r#"id="{id}""#)).unwrap();
    let end = start + page.body[start..].find("</figure>").unwrap();
    &page.body[start..end]
}

/// A new session of the admin "root".
async fn admin_token(app: &TestApp) -> String {
    json_of(
        app.post(
            "/v1/sessions",
            None,
            &json!({"handle": "root", "password": ADMIN_PASSWORD}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn partners_of(app: &TestApp, admin: &str) -> Value {
    json_of(
        app.get("/v1/admin/partners", Some(admin)).await,
        StatusCode::OK,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_the_console_is_for_admins_only() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.admin().await;
    app.user("ana").await;

    let mut stranger = Visitor::new(&app);
    let away = stranger.get("/admin/partners").await;
    assert_eq!(away.status, StatusCode::SEE_OTHER);
    assert_eq!(away.redirect(), Some("/signin"));

    let mut ana = Visitor::new(&app);
    ana.sign_in_with("ana", PASSWORD).await;
    for path in [
        "/admin",
        "/admin/partners",
        "/admin/methodologies",
        "/admin/catalog",
        "/admin/props",
        "/admin/abuse",
        "/admin/webhooks",
    ] {
        let refused = ana.get(path).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
        assert!(refused.body.contains("You cannot do that."), "{path}");
    }
    assert!(
        !ana.get("/impact").await.body.contains(r#"href="/admin""#),
        "no console link for players"
    );
    let csrf = ana.get("/").await.csrf();
    let posted = ana
        .post(
            "/admin/partners",
            &[
                ("csrf", &csrf),
                ("name", "Sneaky"),
                ("allowed_actions", "bus_ride"),
            ],
        )
        .await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN);

    let mut root = Visitor::new(&app);
    root.sign_in_with("root", ADMIN_PASSWORD).await;
    for path in [
        "/admin",
        "/admin/partners",
        "/admin/catalog",
        "/admin/webhooks",
    ] {
        let page = root.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    }
    let token = admin_token(&app).await;
    assert_eq!(
        partners_of(&app, &token).await,
        json!([]),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_an_admin_creates_a_partner_and_sees_its_new_key_once() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.admin().await;
    let mut root = Visitor::new(&app);
    root.sign_in_with("root", ADMIN_PASSWORD).await;

    let created = root
        .submit_from(
            "/admin/partners",
            "/admin/partners",
            &[
                ("name", "Green Buses"),
                ("allowed_actions", "bus_ride"),
                ("allowed_actions", "metro_ride"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    assert_eq!(
        created.redirect(),
        Some("/admin/partners?done=partner-created")
    );
    let listed = root.get("/admin/partners?done=partner-created").await;
    assert!(listed.body.contains("The partner was created."));
    let partners = partners_of(&app, &admin).await;
    assert_eq!(partners[0]["name"], "Green Buses");
    assert_eq!(
        partners[0]["allowed_actions"],
        json!(["bus_ride", "metro_ride"])
    );
    let partner_id = partners[0]["partner_id"].as_str().unwrap().to_string();
    assert!(
        listed
            .body
            .contains(&format!(r#"id="partner-{partner_id}""#))
    );

    // No public key given: the console makes a key pair and shows the private key this once.
    let keys_path = format!("/admin/partners/{partner_id}/keys");
    let shown = root
        .submit_from(
            "/admin/partners",
            &keys_path,
            &[
                ("partner_id", &partner_id),
                ("key_id", "buses-2026"),
                ("public_key", ""),
            ],
        )
        .await;
    assert_eq!(shown.status, StatusCode::CREATED, "{}", shown.body);
    let secret = shown.text_of("shown-once-value");
    assert!(
        secret.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{secret}"
    );
    let signing = openforest_client::signature::SigningKey::parse(&secret).unwrap();
    let keys = json_of(
        app.get(
            &format!("/v1/admin/partners/{partner_id}/keys"),
            Some(&admin),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(keys[0]["key_id"], "buses-2026");
    assert_eq!(keys[0]["public_key"], signing.verifying_key().to_base64());
    let again = root.get("/admin/partners").await;
    assert!(again.body.contains("buses-2026"));
    assert!(!again.body.contains("PRIVATE KEY"), "shown once only");

    // A partner signs with it at once.
    let client = openforest_client::partner::PartnerClient::new(
        &app.base,
        openforest_client::signature::KeyId::parse("buses-2026").unwrap(),
        signing,
    )
    .unwrap();
    let test_partner = crate::partners::TestPartner {
        partner_id: partner_id.clone(),
        client,
    };
    let (_, pseudonym) = linked_user(&app, "ana", &test_partner).await;
    let credited = test_partner
        .report(&app, &metro("ride-1", &pseudonym))
        .await;
    assert_eq!(credited.status(), StatusCode::CREATED);

    // Rotation: a second key from its public half, then the first revoked.
    let next = openforest_client::signature::SigningKey::generate();
    let added = root
        .submit_from(
            "/admin/partners",
            &keys_path,
            &[
                ("partner_id", &partner_id),
                ("key_id", "buses-2027"),
                ("public_key", &next.verifying_key().to_base64()),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let revoked = root
        .submit_from(
            "/admin/partners",
            &format!("{keys_path}/buses-2026/revoke"),
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let refused = test_partner
        .report(&app, &metro("ride-2", &pseudonym))
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let disabled = root
        .submit_from(
            "/admin/partners",
            &format!("/admin/partners/{partner_id}/disable"),
            &[],
        )
        .await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(partners_of(&app, &admin).await[0]["disabled"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_a_refused_form_names_the_field_and_keeps_what_was_typed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.admin().await;
    let mut root = Visitor::new(&app);
    root.sign_in_with("root", ADMIN_PASSWORD).await;

    let unknown = root
        .submit_from(
            "/admin/partners",
            "/admin/partners",
            &[("name", "Teleports <Inc>"), ("allowed_actions", "teleport")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .body
            .contains("Check “Allowed action types”: the methodology has no action"),
        "{}",
        unknown.body
    );
    assert!(
        unknown.body.contains(r#"value="Teleports &#60;Inc&#62;""#)
            || unknown.body.contains(r#"value="Teleports &lt;Inc&gt;""#),
        "typed text kept, escaped"
    );
    let nameless = root
        .submit_from(
            "/admin/partners",
            "/admin/partners",
            &[("name", "  "), ("allowed_actions", "bus_ride")],
        )
        .await;
    assert_eq!(nameless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nameless.body.contains("Check “Name”"));
    assert!(
        nameless
            .body
            .contains(r#"aria-invalid="true" aria-describedby="partner-error""#)
    );
    assert_eq!(partners_of(&app, &admin).await, json!([]));

    let nobody = root
        .submit_from(
            "/admin/props",
            "/admin/props",
            &[
                ("handle", "nobody_here"),
                ("kind", "shield"),
                ("count", "2"),
            ],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nobody
            .body
            .contains("Check “Handle”: no user has that handle.")
    );
    let too_many = root
        .submit_from(
            "/admin/props",
            "/admin/props",
            &[("handle", "root"), ("kind", "shield"), ("count", "1000")],
        )
        .await;
    assert!(
        too_many.body.contains("Check “How many”"),
        "{}",
        too_many.body
    );

    let ngo = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/ngos",
            &[("name", "Desert Greening"), ("about", "Saxaul")],
        )
        .await;
    assert_eq!(ngo.status, StatusCode::SEE_OTHER);
    let catalog = root.get("/admin/catalog").await;
    let ngo_id = json_of(app.get("/v1/ngos", None).await, StatusCode::OK).await[0]["ngo_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(catalog.body.contains(&ngo_id));
    let north = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/sites",
            &[
                ("ngo_id", &ngo_id),
                ("name", "Alxa"),
                ("region", "Inner Mongolia"),
                ("latitude", "north"),
                ("longitude", "105.7"),
            ],
        )
        .await;
    assert_eq!(north.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(north.body.contains("Check “Latitude”"));
    let off_earth = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/sites",
            &[
                ("ngo_id", &ngo_id),
                ("name", "Alxa"),
                ("region", "Inner Mongolia"),
                ("latitude", "38.85"),
                ("longitude", "205.7"),
            ],
        )
        .await;
    assert!(
        off_earth.body.contains("Check “Longitude”"),
        "{}",
        off_earth.body
    );
    let site = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/sites",
            &[
                ("ngo_id", &ngo_id),
                ("name", "Alxa"),
                ("region", "Inner Mongolia"),
                ("latitude", "38.85"),
                ("longitude", "105.7"),
            ],
        )
        .await;
    assert_eq!(site.status, StatusCode::SEE_OTHER, "{}", site.body);
    let sites = json_of(app.get("/v1/catalog", None).await, StatusCode::OK).await;
    assert_eq!(sites, json!([]), "no item yet");
    let site_id = {
        let page = root.get("/admin/catalog").await;
        let start = page.body.find(r#"name="site_id""#).unwrap();
        let value = start + page.body[start..].find(r#"value=""#).unwrap() + 7;
        page.body[value..value + 36].to_string()
    };
    let sciless = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/items",
            &[
                ("kind", "tree"),
                ("site_id", &site_id),
                ("name", "Saxaul"),
                ("scientific_name", ""),
                ("unit_grams", "200"),
                ("quota_units", "10"),
                ("season_name", ""),
                ("about", ""),
            ],
        )
        .await;
    assert!(
        sciless.body.contains("Check “Scientific name”"),
        "{}",
        sciless.body
    );
    let item = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/items",
            &[
                ("kind", "tree"),
                ("site_id", &site_id),
                ("name", "Saxaul"),
                ("scientific_name", "Haloxylon ammodendron"),
                ("unit_grams", "200"),
                ("quota_units", "10"),
                ("season_name", "spring"),
                ("season_from", "3"),
                ("season_to", "5"),
                ("about", ""),
                ("demo_values", "yes"),
            ],
        )
        .await;
    assert_eq!(item.status, StatusCode::SEE_OTHER, "{}", item.body);
    let catalog = json_of(app.get("/v1/catalog", None).await, StatusCode::OK).await;
    assert_eq!(catalog[0]["scientific_name"], "Haloxylon ammodendron");
    assert_eq!(catalog[0]["seasons"][0]["from_month"], 3);

    // An NGO key is shown once; a member is attached by handle.
    let key = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/ngo-keys",
            &[("ngo_id", &ngo_id), ("name", "field app")],
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED);
    assert!(key.text_of("shown-once-value").starts_with("ofn_"));
    let stranger = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/members",
            &[("ngo_id", &ngo_id), ("handle", "nobody_here")],
        )
        .await;
    assert!(stranger.body.contains("Check “Handle”"));
    app.user("dg_field").await;
    let member = root
        .submit_from(
            "/admin/catalog",
            "/admin/catalog/members",
            &[("ngo_id", &ngo_id), ("handle", "dg_field")],
        )
        .await;
    assert_eq!(member.status, StatusCode::SEE_OTHER, "{}", member.body);

    // A methodology that does not read is refused with its line.
    let broken = root
        .submit_from(
            "/admin/methodologies",
            "/admin/methodologies",
            &[("toml", "name = \"x\"\nversion = \n")],
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken
            .body
            .contains("Check “Methodology file (TOML)”: line "),
        "{}",
        broken.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_console_forms_without_this_browsers_csrf_token_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.admin().await;
    app.user("ana").await;
    let mut root = Visitor::new(&app);
    root.sign_in_with("root", ADMIN_PASSWORD).await;
    let mut other = Visitor::new(&app);
    other.sign_in_with("ana", PASSWORD).await;
    let foreign = other.get("/").await.csrf();
    for csrf in [None, Some(foreign.as_str()), Some("forged")] {
        let mut form = vec![("name", "Buses"), ("allowed_actions", "bus_ride")];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let refused = root.post("/admin/partners", &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{csrf:?}");
        assert!(refused.body.contains("This form has expired."));
        let granted = root
            .post(
                "/admin/props",
                &[("handle", "ana"), ("kind", "shield"), ("count", "1")],
            )
            .await;
        assert_eq!(granted.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(partners_of(&app, &admin).await, json!([]));
}

/// Seeds two partners' credits and a verified tree; answers (grams by action, users).
async fn seeded_world(app: &TestApp) -> (BTreeMap<String, u64>, u64) {
    let world = world(app).await;
    verified_tree(app, &world).await; // ana: 3 bus rides, one saxaul planted and verified
    let metro_co = partner(app, &world.admin, "metro", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(app, "ben", &metro_co).await;
    let answer = json_of(
        metro_co.report(app, &metro("ben-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let metro_grams = answer["credited_grams"].as_u64().unwrap();
    let grams = BTreeMap::from([
        ("bus_ride".to_string(), 240),
        ("metro_ride".to_string(), metro_grams),
    ]);
    // root, ana, ben and the NGO's two members.
    (grams, 5)
}

async fn the_impact_page_shows_the_seeded_figures(app: TestApp) {
    let (grams, users) = seeded_world(&app).await;
    let mut anyone = Visitor::new(&app);
    let page = anyone.get("/impact").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(page.text_of("total-users"), users.to_string());
    let total: u64 = grams.values().sum();
    assert_eq!(page.text_of("total-co2e"), format!("{total} g"));
    assert_eq!(page.text_of("total-actions"), "4");
    assert_eq!(page.text_of("total-trees"), "1");
    let by_action = figure(&page, "chart-actions");
    for (action, grams) in &grams {
        assert!(
            by_action.contains(&format!(r#"<span class="mono quiet">{action}</span></th><td class="num" data-value="{grams}">"#)),
            "{action}: {by_action}"
        );
    }
    let by_partner = figure(&page, "chart-partners");
    assert!(
        by_partner.contains(
            r#"<tr><th scope="row">buses</th><td class="num" data-value="240">240 g</td></tr>"#
        ),
        "{by_partner}"
    );
    let by_status = figure(&page, "chart-status");
    assert!(
        by_status.contains(
            r#"<tr><th scope="row">Verified</th><td class="num" data-value="1">1</td></tr>"#
        ),
        "{by_status}"
    );
    assert!(
        by_status.contains(
            r#"<tr><th scope="row">Pledged</th><td class="num" data-value="0">0</td></tr>"#
        )
    );
    assert!(figure(&page, "chart-species").contains("Saxaul"));
    // Every chart is inline SVG named for screen readers, with no style attribute anywhere.
    assert_eq!(page.body.matches(r#"<svg class="chart""#).count(), 5);
    assert_eq!(
        page.body.matches(r#"role="img""#).count(),
        6,
        "five charts and the map"
    );
    assert!(
        !page.body.contains("style="),
        "no style attribute (the CSP forbids them)"
    );
    assert!(!page.body.contains("<script>"));
    assert!(page.body.contains("Desert Greening site"));
    assert!(
        page.body.contains("map-area"),
        "the site's outline is drawn"
    );

    // The figures are kept a minute: a new credit shows once it has passed.
    let metro_co = partner(&app, &admin_token(&app).await, "trams", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(&app, "cyd", &metro_co).await;
    let more = json_of(
        metro_co.report(&app, &metro("cyd-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await["credited_grams"]
        .as_u64()
        .unwrap();
    assert_eq!(
        anyone.get("/impact").await.text_of("total-co2e"),
        format!("{total} g")
    );
    app.advance(61_000);
    let fresh = anyone.get("/impact").await;
    assert_eq!(fresh.text_of("total-co2e"), format!("{} g", total + more));
    assert_eq!(fresh.text_of("total-users"), (users + 1).to_string());

    // The signed head is the one the API publishes.
    assert!(page.body.contains(r#"id="log-no-head""#));
    crate::transparency::sequence(&app).await;
    let page = anyone.get("/impact").await;
    let head = json_of(app.get("/v1/log/head", None).await, StatusCode::OK).await;
    assert_eq!(
        page.text_of("head-tree-size"),
        head["tree_size"].to_string()
    );
    assert_eq!(
        page.text_of("head-root"),
        head["root_hash"].as_str().unwrap()
    );
    assert_eq!(
        page.text_of("head-signature"),
        head["signature"].as_str().unwrap()
    );
    assert_eq!(
        page.text_of("head-key-id"),
        head["key_id"].as_str().unwrap()
    );
    let key = json_of(app.get("/v1/log/key", None).await, StatusCode::OK).await;
    assert_eq!(
        page.text_of("head-public-key"),
        key["public_key"].as_str().unwrap()
    );
    let methodology = json_of(app.get("/v1/methodology", None).await, StatusCode::OK).await;
    assert!(page.body.contains(methodology["name"].as_str().unwrap()));
}

crate::on_both_backends!(the_impact_page_shows_the_seeded_figures);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_failed_webhook_deliveries_are_listed_and_retried() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let admin = app.admin().await;
    let metro_co = partner(&app, &admin, "metro", &["metro_ride"]).await;
    let (_, pseudonym) = linked_user(&app, "ana", &metro_co).await;
    json_of(
        app.post(
            "/v1/admin/webhook-endpoints",
            Some(&admin),
            &json!({"url": "http://127.0.0.1:9/hook", "event_types": ["action.credited"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        metro_co.report(&app, &metro("ride-1", &pseudonym)).await,
        StatusCode::CREATED,
    )
    .await;
    let link_secret = app
        .store
        .server_secret("partner-link-hmac", 32)
        .await
        .unwrap();
    let dispatcher = Dispatcher::new(
        app.store.clone(),
        app.clock.clone(),
        Arc::new(link_secret),
        WebhooksConfig {
            max_attempts: 1,
            ..WebhooksConfig::default()
        },
    )
    .unwrap();
    dispatcher.run_once().await.unwrap();
    app.advance(60_000);
    dispatcher.run_once().await.unwrap();

    let mut root = Visitor::new(&app);
    root.sign_in_with("root", ADMIN_PASSWORD).await;
    let log = root.get("/admin/webhooks?status=failed").await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.body.contains("action.credited"), "{}", log.body);
    assert!(log.body.contains("http://127.0.0.1:9/hook"));
    assert!(
        log.body
            .contains(r#"<span class="op-badge status-failed">failed</span>"#)
    );
    let start = log.body.find("/admin/webhooks/").unwrap();
    let action = log.body[start..start + log.body[start..].find('"').unwrap()].to_string();
    let retried = root.submit_from("/admin/webhooks", &action, &[]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER, "{}", retried.body);
    let pending = root.get("/admin/webhooks?status=pending").await;
    assert!(pending.body.contains("action.credited"));
    let overview = root.get("/admin").await;
    assert_eq!(overview.status, StatusCode::OK);
}

/// A full-page screenshot at `width`×`height` (set again each time: a full-page screenshot
/// leaves the tab at its own size).
async fn shot(page: &crate::browser::Page, name: &str, width: u32, height: u32) {
    page.resize(width, height).await;
    page.screenshot(&format!("{name}-{width}x{height}")).await;
    page.resize(width, height).await;
}

/// The console and the dashboard in Chromium: an admin signs in, creates a partner and a key,
/// grants a prop, opens the webhook log and the abuse queue; then, signed out, the impact
/// dashboard. Screenshots at phone and desktop sizes; any JavaScript error or CSP violation
/// fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_an_admin_works_the_console_and_anyone_reads_the_dashboard_in_chromium() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let buses = crate::harvest::setup(&app).await; // the admin "root" and a partner "buses"
    let admin = admin_token(&app).await;
    let ana = player(&app, &buses, "ana").await;
    ball(&app, &buses, &ana, "ride-1").await;
    ball(&app, &buses, &ana, "ride-2").await;

    let browser = crate::browser::Browser::launch(&chromium).await;
    let page = browser.page(390, 844).await;
    page.visit(&app.url("/admin")).await;
    assert_eq!(page.path().await, "/signin");
    page.type_into("#handle", "root").await;
    page.type_into("#password", ADMIN_PASSWORD).await;
    page.submit("main form button[type=submit]", "/").await;

    page.visit(&app.url("/admin/partners")).await;
    page.type_into("#partner-name", "Green Metro").await;
    page.click("input[name=allowed_actions][value=bus_ride]")
        .await;
    page.submit("#new-partner button[type=submit]", "/admin/partners")
        .await;
    page.wait_for_text(
        "#notice",
        "The partner was created. Add its first key below.",
    )
    .await;
    shot(&page, "admin-partners", 390, 844).await;
    // Open the new partner's key form and leave the public key empty.
    let partners = partners_of(&app, &admin).await;
    let metro_id = partners
        .as_array()
        .unwrap()
        .iter()
        .find(|partner| partner["name"] == "Green Metro")
        .unwrap()["partner_id"]
        .as_str()
        .unwrap()
        .to_string();
    let card = format!("#partner-{metro_id}");
    page.click(&format!("{card} details.add-key summary")).await;
    page.type_into(&format!("{card} input[name=key_id]"), "metro-1")
        .await;
    page.submit(
        &format!("{card} details.add-key button[type=submit]"),
        &format!("/admin/partners/{metro_id}/keys"),
    )
    .await;
    assert_eq!(page.count("#shown-once-value").await, 1);
    shot(&page, "admin-key-shown-once", 390, 844).await;

    page.visit(&app.url("/admin/props")).await;
    page.type_into("#grant-handle", "ana").await;
    page.submit("#grant-props button[type=submit]", "/admin/props")
        .await;
    page.wait_for_text("#notice", "The props were granted.")
        .await;
    let props = json_of(
        app.get("/v1/me/props", Some(&ana.token)).await,
        StatusCode::OK,
    )
    .await;
    assert!(props.to_string().contains("shield"), "{props}");

    page.visit(&app.url("/admin/webhooks")).await;
    assert_eq!(page.count("table#deliveries").await, 1);
    shot(&page, "admin-webhooks", 390, 844).await;
    page.visit(&app.url("/admin/abuse")).await;
    assert_eq!(page.count("table#abuse-reports").await, 1);
    page.resize(1280, 800).await;
    page.visit(&app.url("/admin/partners")).await;
    shot(&page, "admin-partners", 1280, 800).await;
    page.visit(&app.url("/admin/catalog")).await;
    shot(&page, "admin-catalog", 1280, 800).await;
    shot(&page, "admin-catalog", 390, 844).await;
    page.visit(&app.url("/admin/methodologies")).await;
    shot(&page, "admin-methodologies", 390, 844).await;

    // Signed out, anyone reads the dashboard.
    page.submit(".signout button", "/signin").await;
    page.resize(390, 844).await;
    page.visit(&app.url("/impact")).await;
    assert_eq!(page.path().await, "/impact");
    assert_eq!(page.text("#total-co2e").await, "160 g");
    assert!(page.count("svg.chart").await >= 3);
    shot(&page, "impact", 390, 844).await;
    page.resize(1280, 800).await;
    page.visit(&app.url("/impact")).await;
    page.click("#chart-actions details summary").await;
    shot(&page, "impact", 1280, 800).await;
    browser.finish().await;
}
