//! Planting end to end: the catalog, pledges from a wallet or a pot, quotas under concurrent
//! pledges, orders to NGOs, planting batches with evidence, verification by a second person,
//! and certificates with their lineage. Each test is named after the rule it checks.

use crate::partners::{TestPartner, assert_ledger_sound, linked_user, partner};
use crate::support::{TestApp, json_of, problem_of};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

const DAY: i64 = 24 * 3_600_000;

/// A real 1×1 PNG, as an NGO's phone would not send but a validator must accept.
pub(crate) const PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xd0, 0xeb, 0x0e, 0x07,
    0x00, 0x01, 0xfb, 0x01, 0x11, 0x74, 0x26, 0x14, 0xe9, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// An NGO with a portal user who records and another who verifies, a site, a tree that costs
/// 200 g (quota 2) and land at 5 g per m² (quota 100 m²).
pub(crate) struct World {
    pub admin: String,
    pub partner: TestPartner,
    pub ngo_id: String,
    pub recorder: String,
    pub checker: String,
    pub tree_id: String,
    pub land_id: String,
}

pub(crate) async fn ngo_user(app: &TestApp, admin: &str, ngo_id: &str, handle: &str) -> String {
    let (_, token) = app.user(handle).await;
    let added = app
        .post(
            &format!("/v1/admin/ngos/{ngo_id}/members"),
            Some(admin),
            &json!({"handle": handle}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    token
}

pub(crate) async fn ngo(app: &TestApp, admin: &str, name: &str) -> (String, String) {
    let ngo = json_of(
        app.post(
            "/v1/admin/ngos",
            Some(admin),
            &json!({"name": name, "about": "Plants saxaul against the desert"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let ngo_id = ngo["ngo_id"].as_str().unwrap().to_string();
    let site = json_of(
        app.post(
            "/v1/admin/sites",
            Some(admin),
            &json!({"ngo_id": ngo_id, "name": format!("{name} site"), "region": "Alxa League, Inner Mongolia",
                    "latitude": 38.85, "longitude": 105.7,
                    "polygon": {"type": "Polygon", "coordinates": [[[105.6, 38.8], [105.8, 38.8], [105.8, 38.9], [105.6, 38.8]]]}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    (ngo_id, site["site_id"].as_str().unwrap().to_string())
}

async fn item(app: &TestApp, admin: &str, body: Value) -> String {
    json_of(
        app.post("/v1/admin/catalog", Some(admin), &body).await,
        StatusCode::CREATED,
    )
    .await["item_id"]
        .as_str()
        .unwrap()
        .to_string()
}

pub(crate) async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let partner = partner(app, &admin, "buses", &["bus_ride"]).await;
    let (ngo_id, site_id) = ngo(app, &admin, "Desert Greening").await;
    let tree_id = item(
        app,
        &admin,
        json!({"kind": "tree", "name": "Saxaul", "scientific_name": "Haloxylon ammodendron",
               "site_id": site_id, "unit_grams": 200, "quota_units": 2,
               "seasons": [{"name": "spring", "from_month": 3, "to_month": 5}], "demo_values": true}),
    )
    .await;
    let land_id = item(
        app,
        &admin,
        json!({"kind": "land", "name": "Protected steppe", "site_id": site_id,
               "unit_grams": 5, "quota_units": 100}),
    )
    .await;
    let recorder = ngo_user(app, &admin, &ngo_id, "dg_field").await;
    let checker = ngo_user(app, &admin, &ngo_id, "dg_checker").await;
    World {
        admin,
        partner,
        ngo_id,
        recorder,
        checker,
        tree_id,
        land_id,
    }
}

/// A user with `rides` bus rides (80 g each) collected into their wallet.
pub(crate) async fn rider(app: &TestApp, world: &World, handle: &str, rides: usize) -> String {
    let (token, pseudonym) = linked_user(app, handle, &world.partner).await;
    for n in 0..rides {
        json_of(
            world
                .partner
                .report(
                    app,
                    &json!({"out_biz_no": format!("{handle}-{n}"), "partner_user_id": pseudonym,
                            "action": "bus_ride", "quantity": 1}),
                )
                .await,
            StatusCode::CREATED,
        )
        .await;
    }
    app.advance(DAY);
    json_of(
        app.post("/v1/me/balls/collect", Some(&token), &Value::Null)
            .await,
        StatusCode::OK,
    )
    .await;
    token
}

async fn plant(app: &TestApp, token: &str, item_id: &str, units: u64) -> reqwest::Response {
    app.post(
        "/v1/me/plantings",
        Some(token),
        &json!({"item_id": item_id, "units": units}),
    )
    .await
}

async fn certificate(app: &TestApp, number: &str) -> Value {
    json_of(
        app.get(&format!("/v1/certificates/{number}"), None).await,
        StatusCode::OK,
    )
    .await
}

pub(crate) async fn upload_png(app: &TestApp, token: &str) -> String {
    let stored = json_of(
        app.http
            .post(app.url("/v1/ngo/photos"))
            .bearer_auth(token)
            .header("content-type", "image/png")
            .body(PNG.to_vec())
            .send()
            .await
            .unwrap(),
        StatusCode::CREATED,
    )
    .await;
    stored["sha256"].as_str().unwrap().to_string()
}

pub(crate) async fn place_orders(app: &TestApp, admin: &str) -> Vec<String> {
    json_of(
        app.post("/v1/admin/orders", Some(admin), &Value::Null)
            .await,
        StatusCode::OK,
    )
    .await["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|order| order.as_str().unwrap().to_string())
        .collect()
}

pub(crate) fn today(app: &TestApp) -> String {
    chrono::DateTime::from_timestamp_millis(app.now().millis())
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

fn batch_body(app: &TestApp, item_id: &str, units: u64, photos: &[String]) -> Value {
    json!({"item_id": item_id, "units": units, "planted_on": today(app),
           "location": {"latitude": 38.86, "longitude": 105.71},
           "polygon": {"type": "Polygon", "coordinates": [[[105.70, 38.85], [105.72, 38.85], [105.72, 38.87], [105.70, 38.85]]]},
           "photos": photos, "note": "Planted along the dune line"})
}

async fn a_tree_goes_from_partner_actions_to_a_verified_certificate(app: TestApp) {
    let world = world(&app).await;
    let planter = rider(&app, &world, "ana", 3).await;
    assert_eq!(app.wallet(&planter).await, 240);

    let pledged = json_of(
        plant(&app, &planter, &world.tree_id, 1).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(pledged["status"], "pledged");
    assert_eq!(pledged["grams"], 200);
    assert_eq!(pledged["wallet_grams"], 40);
    let number = pledged["certificate_no"].as_str().unwrap().to_string();
    // A species card comes with each planting, and it is in the album.
    let card = pledged["card_species_id"].as_str().unwrap();
    let album = json_of(
        app.get("/v1/me/album", Some(&planter)).await,
        StatusCode::OK,
    )
    .await;
    assert!(album.to_string().contains(card), "{album}");

    let pledged_view = certificate(&app, &number).await;
    assert_eq!(pledged_view["status"], "pledged");
    assert_eq!(
        pledged_view["item"]["scientific_name"],
        "Haloxylon ammodendron"
    );
    assert_eq!(pledged_view["holders"][0]["handle"], "ana");
    // Oldest energy first: 80 + 80 + 40 g of three bus rides.
    assert_eq!(
        pledged_view["lineage"],
        json!([{"source": "action", "action": "bus_ride", "actions": 3, "grams": 200}])
    );
    assert_eq!(pledged_view["lineage_summary"], "3 bus_ride (200 g)");

    let orders = place_orders(&app, &world.admin).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(certificate(&app, &number).await["status"], "ordered");
    let mine = json_of(
        app.get("/v1/ngo/orders", Some(&world.recorder)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine[0]["order_id"], orders[0]);
    assert_eq!(mine[0]["lines"][0]["item_name"], "Saxaul");
    assert_eq!(mine[0]["lines"][0]["units"], 1);

    // The NGO's own system uploads the photo with its API key; a field worker records.
    let key = json_of(
        app.post(
            &format!("/v1/admin/ngos/{}/keys", world.ngo_id),
            Some(&world.admin),
            &json!({"name": "field app"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_string();
    let photo = upload_png(&app, &key).await;
    let batch = json_of(
        app.post(
            &format!("/v1/ngo/orders/{}/batches", orders[0]),
            Some(&world.recorder),
            &batch_body(&app, &world.tree_id, 1, std::slice::from_ref(&photo)),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(batch["status"], "planted");
    let planted = certificate(&app, &number).await;
    assert_eq!(planted["status"], "planted");
    assert_eq!(planted["planting"]["latitude"], 38.86);
    assert_eq!(planted["planting"]["planted_on"], today(&app));
    let photo_url = planted["planting"]["photos"][0].as_str().unwrap();
    let served = app.get(photo_url, None).await;
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG.as_slice());

    let batch_id = batch["batch_id"].as_str().unwrap();
    let own = app
        .post(
            &format!("/v1/ngo/batches/{batch_id}/verify"),
            Some(&world.recorder),
            &Value::Null,
        )
        .await;
    problem_of(own, StatusCode::FORBIDDEN).await;
    assert_eq!(certificate(&app, &number).await["status"], "planted");
    let verified = json_of(
        app.post(
            &format!("/v1/ngo/batches/{batch_id}/verify"),
            Some(&world.checker),
            &Value::Null,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(verified["status"], "verified");
    assert_eq!(certificate(&app, &number).await["status"], "verified");

    let feed = json_of(app.get("/v1/me/feed", Some(&planter)).await, StatusCode::OK).await;
    let kinds: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"tree_planted") && kinds.contains(&"tree_verified"));
    let mine = json_of(
        app.get("/v1/me/certificates", Some(&planter)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine[0]["certificate_no"], number.as_str());
    assert_eq!(mine[0]["status"], "verified");
    assert_ledger_sound(&app).await;
}

async fn a_quota_is_never_oversold_under_concurrent_pledges(app: TestApp) {
    let world = world(&app).await;
    let mut planters = Vec::new();
    for n in 0..12 {
        let (user_id, token) = app.user(&format!("planter{n}")).await;
        json_of(
            app.post(
                "/v1/admin/grants",
                Some(&world.admin),
                &json!({"user_id": user_id, "grams": 200, "reason": "quota race"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        planters.push(token);
    }
    let answers = join_all(
        planters
            .iter()
            .map(|token| plant(&app, token, &world.tree_id, 1)),
    )
    .await;
    let mut pledged = 0;
    for answer in answers {
        if answer.status() == StatusCode::CREATED {
            pledged += 1;
        } else {
            let problem = problem_of(answer, StatusCode::CONFLICT).await;
            assert_eq!(problem["rule"], "quota_sold_out");
        }
    }
    assert_eq!(pledged, 2);
    let catalog = json_of(app.get("/v1/catalog", None).await, StatusCode::OK).await;
    let tree = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["item_id"] == world.tree_id.as_str())
        .unwrap();
    assert_eq!(tree["units_left"], 0);
    let mut wallets = Vec::new();
    for token in &planters {
        wallets.push(app.wallet(token).await);
    }
    assert_eq!(wallets.iter().filter(|grams| **grams == 0).count(), 2);
    assert_eq!(wallets.iter().filter(|grams| **grams == 200).count(), 10);
    assert_ledger_sound(&app).await;
}

async fn a_group_plants_from_its_pot_and_every_member_holds_their_share(app: TestApp) {
    let world = world(&app).await;
    let mut members = Vec::new();
    for (handle, grams) in [("mum", 300), ("dad", 100)] {
        let (user_id, token) = app.user(handle).await;
        json_of(
            app.post(
                "/v1/admin/grants",
                Some(&world.admin),
                &json!({"user_id": user_id, "grams": grams, "reason": "family pot"}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
        members.push((token, grams));
    }
    let group = json_of(
        app.post(
            "/v1/groups",
            Some(&members[0].0),
            &json!({"name": "Family", "kind": "family"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let group_id = group["group_id"].as_str().unwrap();
    app.post(
        &format!("/v1/groups/{group_id}/invites"),
        Some(&members[0].0),
        &json!({"handle": "dad"}),
    )
    .await;
    json_of(
        app.post(
            &format!("/v1/groups/{group_id}/join"),
            Some(&members[1].0),
            &Value::Null,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    for (token, grams) in &members {
        json_of(
            app.post(
                &format!("/v1/groups/{group_id}/pot"),
                Some(token),
                &json!({"grams": grams}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let pledged = json_of(
        app.post(
            &format!("/v1/groups/{group_id}/plantings"),
            Some(&members[1].0),
            &json!({"item_id": world.tree_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    // 200 g from a pot of 300 + 100: 150 and 50, three quarters and one quarter.
    let holders: Vec<(String, u64, u64)> = pledged["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|holder| {
            (
                holder["handle"].as_str().unwrap().to_string(),
                holder["grams"].as_u64().unwrap(),
                holder["share_permille"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        holders,
        vec![("mum".into(), 150, 750), ("dad".into(), 50, 250)]
    );
    let pot = json_of(
        app.get(&format!("/v1/groups/{group_id}"), Some(&members[0].0))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pot["pot_grams"], 200);
    let number = pledged["certificate_no"].as_str().unwrap();
    for (token, _) in &members {
        let mine = json_of(
            app.get("/v1/me/certificates", Some(token)).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(mine[0]["certificate_no"], number);
    }
    // Both grants funded it, through the pot.
    assert_eq!(
        certificate(&app, number).await["lineage"],
        json!([{"source": "grant", "action": null, "actions": 2, "grams": 200}])
    );
    // A pot that holds too little is refused and nothing moves.
    let refused = app
        .post(
            &format!("/v1/groups/{group_id}/plantings"),
            Some(&members[0].0),
            &json!({"item_id": world.land_id, "units": 41}),
        )
        .await;
    assert_eq!(
        problem_of(refused, StatusCode::CONFLICT).await["rule"],
        "insufficient_energy"
    );
    assert_ledger_sound(&app).await;
}

async fn an_ngo_cannot_see_or_touch_another_ngos_order(app: TestApp) {
    let world = world(&app).await;
    let (user_id, planter) = app.user("ana").await;
    json_of(
        app.post(
            "/v1/admin/grants",
            Some(&world.admin),
            &json!({"user_id": user_id, "grams": 500, "reason": "test"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        plant(&app, &planter, &world.land_id, 20).await,
        StatusCode::CREATED,
    )
    .await;
    let orders = place_orders(&app, &world.admin).await;
    let batch = json_of(
        app.post(
            &format!("/v1/ngo/orders/{}/batches", orders[0]),
            Some(&world.recorder),
            &batch_body(&app, &world.land_id, 20, &[]),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let (other_ngo, _) = ngo(&app, &world.admin, "Other Trees").await;
    let intruder = ngo_user(&app, &world.admin, &other_ngo, "intruder").await;
    let listed = json_of(
        app.get("/v1/ngo/orders", Some(&intruder)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed, json!([]));
    let peek = app
        .get(&format!("/v1/ngo/orders/{}", orders[0]), Some(&intruder))
        .await;
    problem_of(peek, StatusCode::NOT_FOUND).await;
    let record = app
        .post(
            &format!("/v1/ngo/orders/{}/batches", orders[0]),
            Some(&intruder),
            &batch_body(&app, &world.land_id, 20, &[]),
        )
        .await;
    problem_of(record, StatusCode::NOT_FOUND).await;
    let verify = app
        .post(
            &format!(
                "/v1/ngo/batches/{}/verify",
                batch["batch_id"].as_str().unwrap()
            ),
            Some(&intruder),
            &Value::Null,
        )
        .await;
    problem_of(verify, StatusCode::NOT_FOUND).await;
    // A plain user is no NGO at all.
    problem_of(
        app.get("/v1/ngo/orders", Some(&planter)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let detail = json_of(
        app.get(
            &format!("/v1/ngo/orders/{}", orders[0]),
            Some(&world.recorder),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["batches"][0]["status"], "planted");
    assert_eq!(detail["pledges"][0]["status"], "planted");
}

async fn bad_evidence_is_refused_with_the_field_and_nothing_is_stored(app: TestApp) {
    let world = world(&app).await;
    let (user_id, planter) = app.user("ana").await;
    json_of(
        app.post(
            "/v1/admin/grants",
            Some(&world.admin),
            &json!({"user_id": user_id, "grams": 200, "reason": "test"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let number = json_of(
        plant(&app, &planter, &world.tree_id, 1).await,
        StatusCode::CREATED,
    )
    .await["certificate_no"]
        .as_str()
        .unwrap()
        .to_string();
    let orders = place_orders(&app, &world.admin).await;
    let upload = |content_type: &'static str, bytes: Vec<u8>| {
        app.http
            .post(app.url("/v1/ngo/photos"))
            .bearer_auth(&world.recorder)
            .header("content-type", content_type)
            .body(bytes)
            .send()
    };
    problem_of(
        upload("text/plain", b"hello".to_vec()).await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let pretending = problem_of(
        upload("image/png", b"<svg>not a png</svg>".to_vec())
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(pretending["field"], "body");
    let mut huge = PNG.to_vec();
    huge.resize(5 * 1024 * 1024 + 1, 0);
    problem_of(
        upload("image/png", huge).await.unwrap(),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;

    let record = |body: Value| {
        let path = format!("/v1/ngo/orders/{}/batches", orders[0]);
        let token = world.recorder.clone();
        let app = &app;
        async move { app.post(&path, Some(&token), &body).await }
    };
    let mut far = batch_body(&app, &world.tree_id, 1, &[]);
    far["location"]["latitude"] = json!(91.5);
    let problem = problem_of(record(far).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "location.latitude");
    let mut open_ring = batch_body(&app, &world.tree_id, 1, &[]);
    open_ring["polygon"]["coordinates"][0][3] = json!([105.9, 38.9]);
    let problem = problem_of(record(open_ring).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "polygon.coordinates[0]");
    let mut not_geojson = batch_body(&app, &world.tree_id, 1, &[]);
    not_geojson["polygon"] = json!({"type": "Circle", "radius": 3});
    let problem = problem_of(record(not_geojson).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "polygon");
    let unknown_photo = batch_body(&app, &world.tree_id, 1, &["ab".repeat(32)]);
    let problem = problem_of(
        record(unknown_photo).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(problem["field"], "photos");
    let mut tomorrow = batch_body(&app, &world.tree_id, 1, &[]);
    tomorrow["planted_on"] = json!("2999-01-01");
    let problem = problem_of(record(tomorrow).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["field"], "planted_on");
    let too_many = batch_body(&app, &world.tree_id, 2, &[]);
    let problem = problem_of(record(too_many).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["rule"], "more_than_ordered");

    let detail = json_of(
        app.get(
            &format!("/v1/ngo/orders/{}", orders[0]),
            Some(&world.recorder),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["batches"], json!([]));
    assert_eq!(certificate(&app, &number).await["status"], "ordered");
    // A certificate number that cannot be one is a clear 422, an unknown one a 404.
    problem_of(
        app.get("/v1/certificates/not-a-number", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    problem_of(
        app.get("/v1/certificates/OF-00000-00000", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// A verified tree of a rider's energy; answers its certificate number.
pub(crate) async fn verified_tree(app: &TestApp, world: &World) -> String {
    let planter = rider(app, world, "ana", 3).await;
    let number = json_of(
        plant(app, &planter, &world.tree_id, 1).await,
        StatusCode::CREATED,
    )
    .await["certificate_no"]
        .as_str()
        .unwrap()
        .to_string();
    let orders = place_orders(app, &world.admin).await;
    let photo = upload_png(app, &world.recorder).await;
    let batch = json_of(
        app.post(
            &format!("/v1/ngo/orders/{}/batches", orders[0]),
            Some(&world.recorder),
            &batch_body(app, &world.tree_id, 1, &[photo]),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    json_of(
        app.post(
            &format!(
                "/v1/ngo/batches/{}/verify",
                batch["batch_id"].as_str().unwrap()
            ),
            Some(&world.checker),
            &Value::Null,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    number
}

/// The log's public key as hex, the form `verify-certificate --public-key` takes.
async fn log_key_hex(app: &TestApp) -> String {
    use base64::Engine;
    let key = json_of(app.get("/v1/log/key", None).await, StatusCode::OK).await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key["public_key"].as_str().unwrap())
        .unwrap();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Runs `openforest verify-certificate` on a file; answers (success, stdout).
fn verify_certificate(file: &std::path::Path, key: &str) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_openforest"))
        .arg("verify-certificate")
        .arg(file)
        .args(["--public-key", key])
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn a_certificate_pdf_proves_itself_offline_with_the_operators_key(app: TestApp) {
    let world = world(&app).await;
    let number = verified_tree(&app, &world).await;
    // Before the sequencer ran, the records are pending: nothing is claimed that is not proven.
    crate::transparency::sequence(&app).await;
    let key = log_key_hex(&app).await;
    let document: openforest_core::certificate::CertificateDocument = serde_json::from_value(
        json_of(
            app.get(&format!("/v1/certificates/{number}/document"), None)
                .await,
            StatusCode::OK,
        )
        .await,
    )
    .unwrap();
    let trusted = openforest_core::certificate::public_key_from_hex(&key).unwrap();
    let verified = openforest_core::certificate::verify_document(&document, &trusted).unwrap();
    assert_eq!(verified.proven_status, "verified");
    assert_eq!(verified.grams, 200);
    // One pledge entry, the planted record and the verified record.
    assert_eq!(verified.records, 3);
    let online = json_of(
        app.get(&format!("/v1/certificates/{number}/verification"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(online["valid"], true, "{online}");
    assert_eq!(online["proven_status"], "verified");

    let pdf = app
        .get(&format!("/v1/certificates/{number}/pdf"), None)
        .await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let file = app.database.dir.path().join(format!("{number}.pdf"));
    std::fs::write(&file, &bytes).unwrap();
    let (ok, out) = verify_certificate(&file, &key);
    assert!(ok, "{out}");
    assert!(out.contains("proven status     verified"), "{out}");
    // Another operator's key does not vouch for this log.
    let stranger = "11".repeat(32);
    let (ok, out) = verify_certificate(&file, &stranger);
    assert!(!ok && out.contains("PROBLEM"), "{out}");
}

async fn a_tampered_planting_record_fails_verify_and_the_certificate_says_where(app: TestApp) {
    let world = world(&app).await;
    let number = verified_tree(&app, &world).await;
    crate::transparency::sequence(&app).await;
    let key = log_key_hex(&app).await;
    assert!(crate::transparency::log_audit(&app).await.is_sound());
    // Someone moves the planting site in the database, behind the application's back.
    crate::support::tamper(
        &app.database.url,
        "UPDATE planting_batches SET latitude = 10.5",
    )
    .await;
    let report = crate::transparency::log_audit(&app).await;
    let tampered: Vec<_> = report
        .problems
        .iter()
        .filter(|problem| {
            matches!(problem, openforest_core::log::LogProblem::LeafMismatch { record_kind, .. }
                if *record_kind == openforest_core::log::RecordKind::Planting)
        })
        .collect();
    // Both the planted and the verified record of the batch no longer match their leaves.
    assert_eq!(tampered.len(), 2, "{:?}", report.problems);
    let online = json_of(
        app.get(&format!("/v1/certificates/{number}/verification"), None)
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(online["valid"], false);
    assert!(
        online["problems"][0]
            .as_str()
            .unwrap()
            .contains("(planting)"),
        "{online}"
    );
    let document = app
        .get(&format!("/v1/certificates/{number}/document"), None)
        .await
        .bytes()
        .await
        .unwrap();
    let file = app.database.dir.path().join("tampered.json");
    std::fs::write(&file, &document).unwrap();
    let (ok, out) = verify_certificate(&file, &key);
    assert!(!ok, "{out}");
    assert!(out.contains("is not in the signed tree"), "{out}");
}

async fn the_demo_catalog_loads_once_with_ant_forests_costs_and_marks_demo_values(app: TestApp) {
    use openforest_server::catalog_file::{CatalogFileError, DEMO_CATALOG, load};
    let first = load(app.store.as_ref(), app.clock.as_ref(), DEMO_CATALOG)
        .await
        .unwrap();
    assert_eq!((first.ngos, first.sites, first.items), (2, 3, 6));
    let again = load(app.store.as_ref(), app.clock.as_ref(), DEMO_CATALOG)
        .await
        .unwrap();
    assert_eq!((again.ngos, again.sites, again.items), (0, 0, 0));
    let catalog = json_of(app.get("/v1/catalog", None).await, StatusCode::OK).await;
    let items = catalog.as_array().unwrap();
    assert_eq!(items.len(), 6);
    let cost = |name: &str| {
        let item = items.iter().find(|item| item["name"] == name).unwrap();
        (
            item["unit_grams"].as_u64().unwrap(),
            item["demo_values"].as_bool().unwrap(),
        )
    };
    assert_eq!(cost("Saxaul"), (17_900, false));
    assert_eq!(cost("Red willow"), (22_400, false));
    let sourced = ["Saxaul", "Red willow"];
    for item in items {
        let name = item["name"].as_str().unwrap();
        assert_eq!(item["demo_values"], !sourced.contains(&name), "{name}");
        assert!(item["site"]["name"].is_string() && item["ngo"]["name"].is_string());
    }
    // A bad file says where, and adds nothing.
    let syntax = load(
        app.store.as_ref(),
        app.clock.as_ref(),
        "[[ngos]]\nname = \"x\"\nabout = 3\n",
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&syntax, CatalogFileError::Syntax(text) if text.contains("line 3")),
        "{syntax}"
    );
    let unknown_site = "[[items]]\nkind = \"tree\"\nname = \"Oak\"\nscientific_name = \"Quercus robur\"\nsite = \"Nowhere\"\nunit_grams = 100\nquota_units = 1\n";
    let invalid = load(app.store.as_ref(), app.clock.as_ref(), unknown_site)
        .await
        .unwrap_err();
    assert_eq!(
        invalid.to_string(),
        "items[0].site: no site named \"Nowhere\""
    );
    let catalog = json_of(app.get("/v1/catalog", None).await, StatusCode::OK).await;
    assert_eq!(catalog.as_array().unwrap().len(), 6);
}

/// A pledge as the server sends it, with the planter's card drawn ahead.
fn pledge_with_card(
    app: &TestApp,
    item: &openforest_store::CatalogItem,
    planter: openforest_core::UserId,
    units: u64,
) -> openforest_core::Plant {
    let pledge_id = openforest_core::PledgeId(openforest_store::new_id(app.now()));
    openforest_core::Plant {
        planter_id: planter,
        pledge_id,
        item_id: item.item_id,
        kind: item.kind,
        unit_grams: item.unit_grams,
        units,
        quota_units: item.quota_units,
        source: openforest_core::PlantSource::Wallet,
        season: "2027 spring".into(),
        card: Some(openforest_core::species::SpeciesDraw {
            draw_id: openforest_store::new_id(app.now()),
            user_id: planter,
            reason: format!("planting:{pledge_id}"),
            seed: [7; 32],
            species_id: "saiga-antelope".into(),
            pool: "test".into(),
            at: app.now(),
        }),
    }
}

async fn a_planting_card_is_logged_by_the_writer_with_its_pledge_or_not_at_all(app: TestApp) {
    let world = world(&app).await;
    let (user_id, _) = app.user("lee").await;
    json_of(
        app.post(
            "/v1/admin/grants",
            Some(&world.admin),
            &json!({"user_id": user_id, "grams": 250, "reason": "a tree's worth"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let planter = openforest_core::UserId(user_id.parse().unwrap());
    let item = app
        .store
        .catalog_item(openforest_core::CatalogItemId(
            world.tree_id.parse().unwrap(),
        ))
        .await
        .unwrap()
        .unwrap();
    let send = |plant: &openforest_core::Plant| {
        app.store.execute(openforest_store::Envelope::new(
            openforest_core::Command::Plant(Box::new(plant.clone())),
        ))
    };

    // Two trees cost 400 g: refused, and its card is not logged either.
    let refused = pledge_with_card(&app, &item, planter, 2);
    assert!(send(&refused).await.is_err());
    let reason = refused.card.as_ref().unwrap().reason.clone();
    assert_eq!(
        app.store.species_draw(planter, &reason).await.unwrap(),
        None
    );
    assert!(app.store.species_cards(planter).await.unwrap().is_empty());

    // One tree: the pledge and its card in the same batch.
    let planted = pledge_with_card(&app, &item, planter, 1);
    let executed = send(&planted).await.unwrap();
    assert!(matches!(
        executed.outcome,
        openforest_core::Outcome::Pledged { .. }
    ));
    let reason = planted.card.as_ref().unwrap().reason.clone();
    let logged = app.store.species_draw(planter, &reason).await.unwrap();
    assert_eq!(logged.as_ref(), planted.card.as_ref());
    let cards = app.store.species_cards(planter).await.unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(
        (cards[0].species_id.as_str(), cards[0].count),
        ("saiga-antelope", 1)
    );
    app.stop().await;
}

crate::on_both_backends!(
    the_demo_catalog_loads_once_with_ant_forests_costs_and_marks_demo_values,
    a_certificate_pdf_proves_itself_offline_with_the_operators_key,
    a_tampered_planting_record_fails_verify_and_the_certificate_says_where,
    a_tree_goes_from_partner_actions_to_a_verified_certificate,
    a_quota_is_never_oversold_under_concurrent_pledges,
    a_group_plants_from_its_pot_and_every_member_holds_their_share,
    an_ngo_cannot_see_or_touch_another_ngos_order,
    bad_evidence_is_refused_with_the_field_and_nothing_is_stored,
    a_planting_card_is_logged_by_the_writer_with_its_pledge_or_not_at_all,
);
