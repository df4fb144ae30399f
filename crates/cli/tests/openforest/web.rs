//! The web pages: CSRF, escaping, languages and security headers over plain HTTP, and the
//! forest played in a real headless Chromium (skipped with a message where there is none,
//! failed under `OPENFOREST_TEST_REQUIRE_ALL=1`).

use crate::harvest::{DAY, ball, player, setup};
use crate::support::{Backend, TestApp};
use crate::visitor::{PASSWORD, Visitor};
use reqwest::StatusCode;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_forms_without_this_browsers_csrf_token_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.user("ana").await;
    let mut visitor = Visitor::new(&app);
    let signin = visitor.get("/signin").await;
    let csrf_cookie = signin
        .set_cookie("of_csrf")
        .expect("an anonymous CSRF cookie");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(csrf_cookie.contains(attribute), "{csrf_cookie}");
    }
    let credentials = [("handle", "ana"), ("password", PASSWORD)];
    let refused = visitor.post("/signin", &credentials).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("This form has expired"));
    assert!(refused.set_cookie("of_session").is_none());

    // A token minted for another browser does not fit this one.
    let mut other = Visitor::new(&app);
    let foreign = other.get("/signin").await.csrf();
    let forged = [("csrf", foreign.as_str()), credentials[0], credentials[1]];
    assert_eq!(
        visitor.post("/signin", &forged).await.status,
        StatusCode::FORBIDDEN
    );

    let forest = visitor.sign_in("ana").await;
    assert_eq!(forest.status, StatusCode::OK);
    assert!(forest.body.contains("My forest"));
    let session = visitor.cookie("of_session").unwrap().to_string();
    assert!(session.starts_with("ofs_"));
    // The page's token is bound to the session now: the anonymous one no longer works.
    let stale = visitor
        .post("/balls/collect", &[("csrf", &signin.csrf())])
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    assert_eq!(
        visitor.post("/signout", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        visitor.post("/language", &[("lang", "id")]).await.status,
        StatusCode::FORBIDDEN
    );
    // The session cookie is the API's session: still valid after all those refusals.
    assert_eq!(
        app.get("/v1/me", Some(&session)).await.status(),
        StatusCode::OK
    );

    let signed_out = visitor.post("/signout", &[("csrf", &forest.csrf())]).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.location(), "/signin");
    assert!(
        signed_out
            .set_cookie("of_session")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(
        app.get("/v1/me", Some(&session)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/signin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_escape_what_people_typed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut visitor = Visitor::new(&app);
    let csrf = visitor.get("/signin").await.csrf();
    let typed = r#""><script>alert(1)</script>"#;
    let page = visitor
        .post(
            "/signin",
            &[
                ("csrf", &csrf),
                ("handle", typed),
                ("password", "whatever it is"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("The handle or the password is wrong."));
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    assert!(
        page.body.contains("&#34;&#62;&#60;script&#62;alert(1)"),
        "shown again, as text"
    );
    assert!(!page.body.contains(r#""><script"#));

    let signup = visitor
        .post(
            "/signup",
            &[("csrf", &csrf), ("handle", typed), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(signup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(signup.body.contains("A handle has 3 to 32 characters"));
    assert!(!signup.body.contains("<script>alert"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_language_follows_the_browser_until_the_switch_says_otherwise() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut visitor = Visitor::new(&app);
    let english = visitor.get("/signin").await;
    assert!(english.body.contains(r#"<html lang="en">"#));
    assert!(english.body.contains("Sign in"));

    visitor.accept_language = Some("zh-CN,zh;q=0.9,en;q=0.8");
    let chinese = visitor.get("/signin").await;
    assert!(chinese.body.contains(r#"<html lang="zh-CN">"#));
    assert!(chinese.body.contains("登录"));

    visitor.accept_language = Some("fr-FR,id;q=0.8,en;q=0.5");
    let indonesian = visitor.get("/signin").await;
    assert!(indonesian.body.contains(r#"<html lang="id">"#));
    assert!(indonesian.body.contains("Masuk"));

    // The switch wins over the browser and comes back to the page it was used on.
    visitor.accept_language = Some("zh-CN");
    let switched = visitor
        .post(
            "/language",
            &[
                ("csrf", &indonesian.csrf()),
                ("lang", "id"),
                ("next", "/signup"),
            ],
        )
        .await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location(), "/signup");
    let cookie = switched.set_cookie("of_lang").unwrap();
    assert!(cookie.starts_with("of_lang=id;"), "{cookie}");
    let signup = visitor.get("/signup").await;
    assert!(signup.body.contains(r#"<html lang="id">"#));
    assert!(signup.body.contains("Buat akun"));

    let elsewhere = visitor
        .post(
            "/language",
            &[
                ("csrf", &signup.csrf()),
                ("lang", "en"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(elsewhere.location(), "/");
    let unknown = visitor
        .post("/language", &[("csrf", &signup.csrf()), ("lang", "tlh")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_pages_carry_a_strict_csp_and_assets_are_cached_long() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut visitor = Visitor::new(&app);
    let page = visitor.get("/signin").await;
    assert_eq!(page.headers["content-security-policy"], CSP);
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(!page.body.contains("style="), "no inline styles");
    assert!(!page.body.contains("<script>"), "no inline scripts");
    for asset in ["app.css", "app.js", "icon.svg"] {
        let served = visitor.get(&format!("/static/{asset}")).await;
        assert_eq!(served.status, StatusCode::OK, "{asset}");
        assert_eq!(
            served.headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert!(
            page.body.contains(&format!("/static/{asset}?v=")),
            "{asset}"
        );
    }
    assert_eq!(
        visitor.get("/static/nope.js").await.status,
        StatusCode::NOT_FOUND
    );
    // Pages stay out of the API's description.
    let openapi = app.get("/openapi.json", None).await.text().await.unwrap();
    assert!(!openapi.contains("\"/signin\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_balls_are_collected_with_plain_forms_and_no_javascript() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let first = ball(&app, &buses, &ana, "ride-1").await;
    ball(&app, &buses, &ana, "ride-2").await;
    app.advance(DAY);
    ball(&app, &buses, &ana, "ride-3").await;

    let mut visitor = Visitor::new(&app);
    let forest = visitor.sign_in("ana").await;
    assert!(forest.body.contains(&format!("/balls/{first}/collect")));
    assert!(forest.body.contains("Collect 80 g"));
    assert!(
        forest.body.contains("Ripens in"),
        "the new ball counts down"
    );
    assert!(forest.body.contains("160 g ripe"));
    assert!(
        forest
            .body
            .contains("<li><span>Bus ride</span> <strong>80 g</strong></li>"),
        "today's energy by action counts only today's ride: {}",
        forest.body
    );

    let collected = visitor
        .post(
            &format!("/balls/{first}/collect"),
            &[("csrf", &forest.csrf())],
        )
        .await;
    assert_eq!(collected.status, StatusCode::SEE_OTHER);
    assert_eq!(app.wallet(&ana.token).await, 80);
    let again = visitor
        .post(
            &format!("/balls/{first}/collect"),
            &[("csrf", &forest.csrf())],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("collected already"));

    let all = visitor
        .post("/balls/collect", &[("csrf", &forest.csrf())])
        .await;
    assert_eq!(all.status, StatusCode::SEE_OTHER);
    assert_eq!(app.wallet(&ana.token).await, 160);
    let after = visitor.get("/").await;
    assert!(
        after
            .body
            .contains(r#"<strong id="wallet-grams" class="wallet-grams">160 g</strong>"#)
    );
    assert!(after.body.contains("Nothing is ripe yet."));
}

/// The forest in Chromium: sign in, collect a ball by clicking, the wallet grows; screenshots
/// at phone and desktop sizes; no JavaScript error or CSP violation on any page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_a_player_collects_a_ball_in_chromium() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    ball(&app, &buses, &ana, "ride-1").await;
    ball(&app, &buses, &ana, "ride-2").await;
    app.advance(DAY);
    ball(&app, &buses, &ana, "ride-3").await;

    let browser = crate::browser::Browser::launch(&chromium).await;
    let page = browser.page(390, 844).await;
    page.visit(&app.url("/")).await;
    assert_eq!(
        page.path().await,
        "/signin",
        "signed out, the forest sends me to sign in"
    );
    page.type_into("#handle", "ana").await;
    page.type_into("#password", PASSWORD).await;
    page.submit("main form button[type=submit]", "/").await;
    assert_eq!(page.text("#wallet-grams").await, "0 g");
    assert_eq!(page.count("form.collect button.ripe").await, 2);
    assert_eq!(page.count(".ball.ripening").await, 1);
    page.screenshot("forest-390x844").await;

    page.click("form.collect button.ripe").await;
    page.wait_for_text("#wallet-grams", "80 g").await;
    page.wait_for_count("form.collect button.ripe", 1).await;
    assert_eq!(page.path().await, "/", "collected without leaving the page");
    assert_eq!(app.wallet(&ana.token).await, 80);

    page.resize(1280, 800).await;
    page.visit(&app.url("/")).await;
    assert_eq!(page.text("#wallet-grams").await, "80 g");
    page.screenshot("forest-1280x800").await;

    page.click("form.collect-all button").await;
    page.wait_for_text("#wallet-grams", "160 g").await;
    // The page reloads with nothing left to collect.
    page.wait_for_count("form.collect-all", 0).await;
    page.wait_for_text("#wallet-grams", "160 g").await;
    assert_eq!(app.wallet(&ana.token).await, 160);
    browser.finish().await;
}
