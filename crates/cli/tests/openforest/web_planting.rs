//! The planting pages: the catalog and co-planting groups (`/plant`), my certificates, the
//! public check (`/verify`) and the NGO portal (`/ngo`), over plain HTTP without JavaScript,
//! and the whole journey from a pledge to a verified, publicly checked tree in Chromium.

use crate::planting::{PNG, World, ngo, ngo_user, place_orders, rider, today, world};
use crate::support::{Backend, TestApp, json_of};
use crate::visitor::{PASSWORD, Visitor};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn status_of(app: &TestApp, number: &str) -> String {
    json_of(
        app.get(&format!("/v1/certificates/{number}"), None).await,
        StatusCode::OK,
    )
    .await["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Plants the world's tree from the page; answers the certificate number.
async fn plant_from_the_page(visitor: &mut Visitor<'_>, world: &World) -> String {
    let page = visitor.get("/plant").await;
    assert_eq!(page.status, StatusCode::OK);
    let request = page.hidden("request");
    let planted = visitor
        .post(
            "/plant",
            &[
                ("csrf", &page.csrf()),
                ("item_id", &world.tree_id),
                ("request", &request),
            ],
        )
        .await;
    assert_eq!(planted.status, StatusCode::SEE_OTHER, "{}", planted.body);
    let location = planted.location().to_string();
    let number = location
        .strip_prefix("/certificates/")
        .and_then(|rest| rest.strip_suffix("?planted=1"))
        .expect("on to the new certificate")
        .to_string();
    // The same form sent twice (a double tap, a retry) plants once.
    let again = visitor
        .post(
            "/plant",
            &[
                ("csrf", &page.csrf()),
                ("item_id", &world.tree_id),
                ("request", &request),
            ],
        )
        .await;
    assert_eq!(again.location(), location);
    number
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_a_tree_from_the_page_shows_its_certificate_with_lineage_and_status() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    let ana = rider(&app, &world, "ana", 3).await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in("ana").await;

    let catalog = visitor.get("/plant").await;
    for shown in [
        "Saxaul",
        "Haloxylon ammodendron",
        "200 g per tree",
        "5 g per m²",
        "Desert Greening",
        "Desert Greening site, Alxa League, Inner Mongolia",
        "spring (March to May)",
        "2 of 2 trees left",
        "demo value",
        "Plant for 200 g",
        "240 g",
    ] {
        assert!(catalog.body.contains(shown), "{shown}: {}", catalog.body);
    }
    assert_eq!(catalog.body.matches("class=\"badge demo\"").count(), 1);
    assert!(catalog.body.contains("<svg"), "drawn species");
    assert!(!catalog.body.contains("style="));

    let number = plant_from_the_page(&mut visitor, &world).await;
    assert_eq!(app.wallet(&ana).await, 40, "planted once");
    let pledged = visitor
        .get(&format!("/certificates/{number}?planted=1"))
        .await;
    assert_eq!(pledged.status, StatusCode::OK);
    assert!(pledged.body.contains("Your tree is pledged"));
    assert!(
        pledged
            .body
            .contains(r#"<li class="step done" aria-current="step">Pledged</li>"#),
        "{}",
        pledged.body
    );
    assert!(pledged.body.contains("3 × Bus ride (200 g)"), "lineage");
    assert!(
        pledged
            .body
            .contains(&format!("/v1/certificates/{number}/pdf"))
    );
    assert!(pledged.body.contains(&format!("/verify/{number}")));
    assert!(pledged.body.contains(r#"class="map""#), "a map of the site");
    let mine = visitor.get("/certificates").await;
    assert!(mine.body.contains(&format!("/certificates/{number}")));

    // The NGO plants it and a second person verifies: the page follows.
    let orders = place_orders(&app, &world.admin).await;
    let photo = crate::planting::upload_png(&app, &world.recorder).await;
    let batch = json_of(
        app.post(
            &format!("/v1/ngo/orders/{}/batches", orders[0]),
            Some(&world.recorder),
            &json!({"item_id": world.tree_id, "units": 1, "planted_on": today(&app),
                    "location": {"latitude": 38.86, "longitude": 105.71}, "photos": [photo]}),
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
    let verified = visitor.get(&format!("/certificates/{number}")).await;
    assert!(
        verified
            .body
            .contains(r#"<li class="step done" aria-current="step">Verified</li>"#)
    );
    assert!(verified.body.contains("38.86000° N, 105.71000° E"));
    assert!(verified.body.contains(&today(&app)));
    assert!(verified.body.contains(&format!("/v1/photos/{photo}")));

    // Someone else's certificate is not mine to see (the public check is at /verify).
    rider(&app, &world, "bob", 1).await;
    let mut bo = Visitor::new(&app);
    bo.sign_in("bob").await;
    let other = bo.get(&format!("/certificates/{number}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let signed_out = Visitor::new(&app).get("/certificates").await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.location(), "/signin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_refusals_say_why_sold_out_and_not_enough_energy() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    rider(&app, &world, "ana", 1).await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in("ana").await;
    let page = visitor.get("/plant").await;
    let poor = visitor
        .post(
            "/plant",
            &[("csrf", &page.csrf()), ("item_id", &world.tree_id)],
        )
        .await;
    assert_eq!(poor.status, StatusCode::CONFLICT);
    assert!(
        poor.body.contains("Not enough green energy"),
        "{}",
        poor.body
    );
    assert!(poor.body.contains(r#"role="alert""#));
    let bad_units = visitor
        .post(
            "/plant",
            &[
                ("csrf", &page.csrf()),
                ("item_id", &world.land_id),
                ("units", "0"),
            ],
        )
        .await;
    assert_eq!(bad_units.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_units.body.contains("land 1 to 10,000 m²"));

    // Two others take the whole quota of two trees.
    for handle in ["bob", "cyd"] {
        let token = rider(&app, &world, handle, 3).await;
        json_of(
            app.post(
                "/v1/me/plantings",
                Some(&token),
                &json!({"item_id": world.tree_id}),
            )
            .await,
            StatusCode::CREATED,
        )
        .await;
    }
    let sold_out = visitor.get("/plant").await;
    assert!(sold_out.body.contains("0 of 2 trees left"));
    assert!(sold_out.body.contains("Sold out: this quota is used up."));
    let refused = visitor
        .post(
            "/plant",
            &[("csrf", &page.csrf()), ("item_id", &world.tree_id)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused
            .body
            .contains("Sold out: there is not that much left of this item"),
        "{}",
        refused.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_a_group_pools_energy_and_plants_from_its_pot() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    let ana_token = rider(&app, &world, "ana", 2).await;
    let bo_token = rider(&app, &world, "bob", 2).await;
    let mut ana = Visitor::new(&app);
    ana.sign_in("ana").await;
    let csrf = ana.get("/plant").await.csrf();
    let created = ana
        .post(
            "/plant/groups",
            &[("csrf", &csrf), ("name", "The Wus"), ("kind", "family")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let page = ana.get(created.location()).await;
    assert!(page.body.contains("Your group is ready"));
    let start = page.body.find("/plant/groups/").unwrap() + "/plant/groups/".len();
    let group_id = page.body[start..start + 36].to_string();
    assert!(
        page.body
            .contains(&format!("<code class=\"code\">{group_id}</code>"))
    );
    let invited = ana
        .post(
            &format!("/plant/groups/{group_id}/invite"),
            &[("csrf", &csrf), ("handle", "bob")],
        )
        .await;
    assert_eq!(invited.status, StatusCode::SEE_OTHER);
    let nobody = ana
        .post(
            &format!("/plant/groups/{group_id}/invite"),
            &[("csrf", &csrf), ("handle", "nobody")],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    assert!(nobody.body.contains("Nobody has that handle."));

    let mut bo = Visitor::new(&app);
    bo.sign_in("bob").await;
    let bo_csrf = bo.get("/plant").await.csrf();
    let wrong = bo
        .post(
            "/plant/groups/join",
            &[("csrf", &bo_csrf), ("code", "nonsense")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("No group has that code."));
    let joined = bo
        .post(
            "/plant/groups/join",
            &[("csrf", &bo_csrf), ("code", &group_id)],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);

    for (visitor, token) in [(&mut ana, &csrf), (&mut bo, &bo_csrf)] {
        let fed = visitor
            .post(
                &format!("/plant/groups/{group_id}/pot"),
                &[("csrf", token), ("grams", "100")],
            )
            .await;
        assert_eq!(fed.status, StatusCode::SEE_OTHER, "{}", fed.body);
    }
    assert_eq!(app.wallet(&ana_token).await, 60);
    assert_eq!(app.wallet(&bo_token).await, 60);
    let page = bo.get("/plant").await;
    assert!(
        page.body.contains(r#"<dd class="pot">200 g</dd>"#),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"<dd class="share">100 g</dd>"#));

    let planted = bo
        .post(
            &format!("/plant/groups/{group_id}/plant"),
            &[
                ("csrf", &bo_csrf),
                ("item_id", &world.tree_id),
                ("units", "1"),
            ],
        )
        .await;
    assert_eq!(planted.status, StatusCode::SEE_OTHER, "{}", planted.body);
    let certificate = bo.get(planted.location()).await;
    assert!(
        certificate.body.contains("ana (50.0%)"),
        "{}",
        certificate.body
    );
    assert!(certificate.body.contains("bob (50.0%)"));
    // Both hold it.
    let number = planted.location()[14..28].to_string();
    assert!(ana.get("/certificates").await.body.contains(&number));

    let left = ana
        .post(
            &format!("/plant/groups/{group_id}/leave"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER);
    assert!(!ana.get("/plant").await.body.contains("The Wus"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_verify_says_when_a_number_is_unknown_or_malformed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut visitor = Visitor::new(&app);
    let form = visitor.get("/verify").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("Check a certificate"));
    let unknown = visitor.get("/verify?number=of-00000-00000").await;
    assert_eq!(unknown.status, StatusCode::SEE_OTHER, "normalised");
    assert_eq!(unknown.location(), "/verify/OF-00000-00000");
    let page = visitor.get("/verify/OF-00000-00000").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.body
            .contains("There is no certificate OF-00000-00000.")
    );
    let malformed = visitor.get("/verify?number=%3Cscript%3E").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        malformed
            .body
            .contains("A certificate number looks like OF-7K3MQ-9QXD2")
    );
    assert!(malformed.body.contains(r#"aria-invalid="true""#));
    assert!(!malformed.body.contains("<script>"));
    // In the visitor's language.
    for (lang, says) in [
        ("zh-CN", "不存在证书 OF-00000-00000"),
        ("id", "Tidak ada sertifikat OF-00000-00000"),
    ] {
        visitor.keep_cookie("of_lang", lang);
        let page = visitor.get("/verify/OF-00000-00000").await;
        assert!(page.body.contains(says), "{lang}: {}", page.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_the_public_check_names_the_record_that_fails() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    let number = crate::planting::verified_tree(&app, &world).await;
    let mut visitor = Visitor::new(&app);
    let pending = visitor.get(&format!("/verify/{number}")).await;
    assert_eq!(pending.status, StatusCode::OK);
    assert!(
        pending.body.contains("Not checkable yet"),
        "{}",
        pending.body
    );
    crate::transparency::sequence(&app).await;
    let valid = visitor.get(&format!("/verify/{number}")).await;
    assert!(
        valid
            .body
            .contains("This certificate checks out: Verified is proven by the signed log."),
        "{}",
        valid.body
    );
    assert_eq!(valid.body.matches("check check-passed").count(), 4);
    crate::support::tamper(
        &app.database.url,
        "UPDATE planting_batches SET latitude = 10.5",
    )
    .await;
    let tampered = visitor.get(&format!("/verify/{number}")).await;
    assert!(
        tampered
            .body
            .contains("This certificate does NOT check out.")
    );
    assert!(tampered.body.contains("check check-failed"));
    assert!(
        tampered.body.contains("(planting record) at leaf"),
        "{}",
        tampered.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_an_ngo_sees_only_its_own_orders_and_bad_evidence_names_the_field() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    let ana = rider(&app, &world, "ana", 3).await;
    let number = json_of(
        app.post(
            "/v1/me/plantings",
            Some(&ana),
            &json!({"item_id": world.tree_id}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await["certificate_no"]
        .as_str()
        .unwrap()
        .to_string();
    let orders = place_orders(&app, &world.admin).await;
    let order = &orders[0];

    // A player is no NGO member.
    let mut player = Visitor::new(&app);
    player.sign_in("ana").await;
    let refused = player.get("/ngo").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("This page is for NGO members."));

    // Another NGO sees neither the order nor can it record for it.
    let (other_ngo, _) = ngo(&app, &world.admin, "Green Coast").await;
    ngo_user(&app, &world.admin, &other_ngo, "gc_field").await;
    let mut stranger = Visitor::new(&app);
    stranger.sign_in("gc_field").await;
    let portal = stranger.get("/ngo").await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(!portal.body.contains(order.as_str()));
    assert!(portal.body.contains("No orders yet."));
    let hidden = stranger.get(&format!("/ngo/orders/{order}")).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let stranger_csrf = portal.csrf();
    let probe = stranger
        .post_multipart(
            &format!("/ngo/orders/{order}/batches"),
            &[
                ("csrf", None, stranger_csrf.as_bytes()),
                ("item_id", None, world.tree_id.as_bytes()),
                ("units", None, b"1"),
                ("planted_on", None, today(&app).as_bytes()),
                ("latitude", None, b"38.86"),
                ("longitude", None, b"105.71"),
            ],
        )
        .await;
    assert_eq!(probe.status, StatusCode::NOT_FOUND);

    // The NGO's own field worker: a photo that is not an image is refused, naming it.
    let mut field = Visitor::new(&app);
    field.sign_in("dg_field").await;
    let portal = field.get("/ngo").await;
    assert!(portal.body.contains(&format!("/ngo/orders/{order}")));
    let form = field.get(&format!("/ngo/orders/{order}")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"enctype="multipart/form-data""#));
    assert!(form.body.contains(&number));
    let csrf = form.csrf();
    let date = today(&app);
    // The latitude, the photo's name, type and bytes, and what the page answers.
    type Case = (
        &'static [u8],
        &'static str,
        &'static str,
        Vec<u8>,
        StatusCode,
        &'static str,
    );
    let cases: [Case; 3] = [
        (
            b"38.86",
            "dune.png",
            "image/png",
            b"not an image at all".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Photo: not a JPEG, PNG or WebP image",
        ),
        (
            b"38.86",
            "dune.gif",
            "image/gif",
            b"GIF89a".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Photo: not a JPEG, PNG or WebP image",
        ),
        (
            b"123.4",
            "dune.png",
            "image/png",
            PNG.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Latitude: a number of degrees from -90 to 90.",
        ),
    ];
    for (latitude, file_name, content_type, bytes, status, says) in cases {
        let refused = field
            .post_multipart(
                &format!("/ngo/orders/{order}/batches"),
                &[
                    ("csrf", None, csrf.as_bytes()),
                    ("item_id", None, world.tree_id.as_bytes()),
                    ("units", None, b"1"),
                    ("planted_on", None, date.as_bytes()),
                    ("latitude", None, latitude),
                    ("longitude", None, b"105.71"),
                    ("polygon", None, b""),
                    ("note", None, b"Along the dune line"),
                    ("photo", Some((file_name, content_type)), &bytes),
                ],
            )
            .await;
        assert_eq!(refused.status, status, "{}", refused.body);
        assert!(refused.body.contains(says), "{says}: {}", refused.body);
        assert!(refused.body.contains(r#"aria-invalid="true""#));
        assert!(
            refused.body.contains("Along the dune line"),
            "kept what was typed"
        );
        assert_eq!(
            status_of(&app, &number).await,
            "ordered",
            "nothing recorded"
        );
    }
    let too_big = vec![0u8; 5 * 1024 * 1024 + 1];
    let refused = field
        .post_multipart(
            &format!("/ngo/orders/{order}/batches"),
            &[
                ("csrf", None, csrf.as_bytes()),
                ("item_id", None, world.tree_id.as_bytes()),
                ("units", None, b"1"),
                ("planted_on", None, date.as_bytes()),
                ("latitude", None, b"38.86"),
                ("longitude", None, b"105.71"),
                ("photo", Some(("huge.png", "image/png")), &too_big),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        refused
            .body
            .contains("Photo: the file is larger than allowed.")
    );

    let recorded = field
        .post_multipart(
            &format!("/ngo/orders/{order}/batches"),
            &[
                ("csrf", None, csrf.as_bytes()),
                ("item_id", None, world.tree_id.as_bytes()),
                ("units", None, b"1"),
                ("planted_on", None, date.as_bytes()),
                ("latitude", None, b"38.86"),
                ("longitude", None, b"105.71"),
                ("polygon", None, br#"{"type": "Polygon", "coordinates": [[[105.70, 38.85], [105.72, 38.85], [105.72, 38.87], [105.70, 38.85]]]}"#),
                ("note", None, b"Along the dune line"),
                ("photo", Some(("dune.png", "image/png")), &PNG),
            ],
        )
        .await;
    assert_eq!(recorded.status, StatusCode::SEE_OTHER, "{}", recorded.body);
    assert_eq!(status_of(&app, &number).await, "planted");
    // The recorder cannot verify their own batch; the queue says so.
    let queue = field.get("/ngo").await;
    assert!(
        queue
            .body
            .contains("You recorded this batch: another member verifies it.")
    );
    let batch_start = queue.body.find("/ngo/batches/");
    assert!(batch_start.is_none(), "no verify button for the recorder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_forms_without_this_browsers_csrf_token_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    rider(&app, &world, "ana", 3).await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in("ana").await;
    let planted = visitor
        .post("/plant", &[("item_id", world.tree_id.as_str())])
        .await;
    assert_eq!(planted.status, StatusCode::FORBIDDEN);
    assert!(planted.body.contains("This form has expired"));
    let mut other = Visitor::new(&app);
    other.sign_in("dg_checker").await;
    let foreign = other.get("/ngo").await.csrf();
    for path in ["/plant/groups", "/plant/groups/join"] {
        let refused = visitor
            .post(path, &[("csrf", &foreign), ("name", "x")])
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    let mut field = Visitor::new(&app);
    field.sign_in("dg_field").await;
    let no_token = field
        .post_multipart(
            &format!("/ngo/orders/{}/batches", uuid::Uuid::nil()),
            &[
                ("units", None, b"1"),
                ("photo", Some(("a.png", "image/png")), &PNG),
            ],
        )
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let verify = field
        .post(&format!("/ngo/batches/{}/verify", uuid::Uuid::nil()), &[])
        .await;
    assert_eq!(verify.status, StatusCode::FORBIDDEN);
}

/// A screenshot at `width`×`height`. The size is set again before and after: a full-page
/// screenshot leaves the emulated size reset.
async fn snap(page: &crate::browser::Page, name: &str, width: u32, height: u32) {
    page.resize(width, height).await;
    page.screenshot(&format!("{name}-{width}x{height}")).await;
    page.resize(width, height).await;
}

/// The whole journey in Chromium: a player plants a tree and opens its certificate; an NGO
/// member records the planting with a photo, a second member verifies it; the certificate
/// says verified and the public check passes. Screenshots at phone and desktop sizes; no
/// JavaScript error or CSP violation on any page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_planting_from_pledge_to_a_publicly_verified_tree_in_chromium() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let world = world(&app).await;
    let ana = rider(&app, &world, "ana", 3).await;
    let browser = crate::browser::Browser::launch(&chromium).await;
    let page = browser.page(390, 844).await;
    let sign_in = |handle: &'static str| {
        let page = &page;
        let app = &app;
        async move {
            page.visit(&app.url("/signin")).await;
            page.type_into("#handle", handle).await;
            page.type_into("#password", PASSWORD).await;
            page.submit("main form button[type=submit]", "/").await;
        }
    };

    sign_in("ana").await;
    page.visit(&app.url("/plant")).await;
    assert_eq!(page.text("#wallet-grams").await, "240 g");
    snap(&page, "plant", 390, 844).await;
    page.click(&format!(
        "form.plant-form:has(input[value=\"{}\"]) button",
        world.tree_id
    ))
    .await;
    page.wait_for_count("#certificate-status", 1).await;
    assert_eq!(page.text("#certificate-status").await, "Pledged");
    let number = page.text("#certificate-number").await;
    assert_eq!(status_of(&app, &number).await, "pledged");
    assert_eq!(app.wallet(&ana).await, 40);
    snap(&page, "certificate-pledged", 390, 844).await;
    page.submit("form.signout button", "/signin").await;

    // The NGO records the planting with a photo from the field.
    let orders = place_orders(&app, &world.admin).await;
    sign_in("dg_field").await;
    page.visit(&app.url("/ngo")).await;
    snap(&page, "ngo", 390, 844).await;
    page.click(&format!("a[href=\"/ngo/orders/{}\"]", orders[0]))
        .await;
    page.wait_for_count("form.batch-form", 1).await;
    page.type_into("#units", "1").await;
    page.type_into("#latitude", "38.86").await;
    page.type_into("#longitude", "105.71").await;
    page.type_into("#note", "Along the dune line").await;
    let photo = app.database.dir.path().join("dune.png");
    std::fs::write(&photo, PNG).unwrap();
    page.set_files("#photo", &[photo.as_path()]).await;
    page.submit(
        "form.batch-form button[type=submit]",
        &format!("/ngo/orders/{}", orders[0]),
    )
    .await;
    page.wait_for_count("#ngo-notice", 1).await;
    assert_eq!(status_of(&app, &number).await, "planted");
    assert_eq!(page.count(".batch .photos img").await, 1);
    snap(&page, "ngo-order", 390, 844).await;
    snap(&page, "ngo-order", 1280, 800).await;
    page.resize(390, 844).await;
    page.submit("form.signout button", "/signin").await;

    // A second member verifies it from the queue.
    sign_in("dg_checker").await;
    page.visit(&app.url("/ngo")).await;
    page.submit("form.verify-batch button", "/ngo").await;
    page.wait_for_count("#ngo-notice", 1).await;
    assert_eq!(status_of(&app, &number).await, "verified");
    page.submit("form.signout button", "/signin").await;

    sign_in("ana").await;
    page.visit(&app.url(&format!("/certificates/{number}")))
        .await;
    assert_eq!(page.text("#certificate-status").await, "Verified");
    assert_eq!(page.count(".photos img").await, 1);
    snap(&page, "certificate-verified", 390, 844).await;
    page.resize(1280, 800).await;
    page.visit(&app.url("/plant")).await;
    snap(&page, "plant", 1280, 800).await;
    page.visit(&app.url(&format!("/certificates/{number}")))
        .await;
    snap(&page, "certificate-verified", 1280, 800).await;

    // Anyone checks it publicly, as the PDF's QR code leads them to.
    crate::transparency::sequence(&app).await;
    page.resize(390, 844).await;
    page.visit(&app.url("/verify")).await;
    page.type_into("#number", &number).await;
    page.submit(
        "form.verify-form button[type=submit]",
        &format!("/verify/{number}"),
    )
    .await;
    assert_eq!(page.count(".verdict-valid").await, 1);
    assert_eq!(page.count(".check-passed").await, 4);
    snap(&page, "verify", 390, 844).await;
    page.resize(1280, 800).await;
    page.visit(&app.url(&format!("/verify/{number}"))).await;
    snap(&page, "verify", 1280, 800).await;
    browser.finish().await;
}
