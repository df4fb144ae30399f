//! The social pages: friends, a friend's forest, feed, rankings, props and the species album,
//! over plain HTTP (forms without JavaScript, CSRF, refusals worded in the page's language,
//! the feed's pages) and played by two friends in a real headless Chromium.

use crate::harvest::{DAY, Player, admin_session, ball, befriend, collect_all, player, setup};
use crate::partners::TestPartner;
use crate::support::{Backend, TestApp};
use crate::visitor::{PASSWORD, Visitor};
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

/// Taking energy is limited to once per 150 ms per player (in real time).
async fn breathe() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Ana and Bob are friends; Bob has two ripe balls of 80 g; Ana collected 80 g today.
async fn two_friends(app: &TestApp) -> (Player, Player) {
    let (ana, bob, _) = two_friends_and_their_buses(app).await;
    (ana, bob)
}

async fn two_friends_and_their_buses(app: &TestApp) -> (Player, Player, TestPartner) {
    let buses = setup(app).await;
    let ana = player(app, &buses, "ana").await;
    let bob = player(app, &buses, "bob").await;
    befriend(app, &ana, "bob", &bob).await;
    ball(app, &buses, &ana, "ana-1").await;
    ball(app, &buses, &bob, "bob-1").await;
    ball(app, &buses, &bob, "bob-2").await;
    app.advance(DAY);
    collect_all(app, &ana).await;
    (ana, bob, buses)
}

/// The ids of the balls a friend's forest page offers to steal.
fn steal_targets(body: &str) -> Vec<String> {
    body.match_indices("/balls/")
        .filter_map(|(at, _)| {
            let rest = &body[at + 7..];
            let id = rest.split('/').next()?;
            rest[id.len()..]
                .starts_with("/steal")
                .then(|| id.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_social_a_friend_steals_and_waters_with_plain_forms_and_refusals_are_worded() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (ana, _bob) = two_friends(&app).await;
    let mut visitor = Visitor::new(&app);
    assert_eq!(
        visitor.get("/friends").await.location(),
        "/signin",
        "signed out, friends send me to sign in"
    );
    assert_eq!(visitor.get("/friends/bob").await.location(), "/signin");
    visitor.sign_in("ana").await;

    let friends = visitor.get("/friends").await;
    assert_eq!(friends.status, StatusCode::OK);
    friends.assert_strict();
    assert!(friends.body.contains(r#"href="/friends/bob""#));
    assert!(
        friends.body.contains("48 g to take now"),
        "{}",
        friends.body
    );
    assert!(friends.body.contains(r#"id="invite-code""#));

    let forest = visitor.get("/friends/bob").await;
    assert_eq!(forest.status, StatusCode::OK);
    forest.assert_strict();
    assert!(forest.body.contains("bob&#39;s forest") || forest.body.contains("bob's forest"));
    assert!(forest.body.contains("Take 24 g"));
    assert!(forest.body.contains("No shield up."));
    let targets = steal_targets(&forest.body);
    assert_eq!(targets.len(), 2, "{targets:?}");
    let steal = format!("/friends/bob/balls/{}/steal", targets[0]);

    // Without this browser's token, nothing is taken.
    let refused = visitor.post(&steal, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("This form has expired"));
    let forged = visitor.post(&steal, &[("csrf", "ofc_forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.wallet(&ana.token).await, 80);

    let stolen = visitor.submit(&steal, &[]).await;
    assert_eq!(stolen, "/friends/bob?done=stolen&grams=24");
    assert_eq!(app.wallet(&ana.token).await, 104);
    let after = visitor.get(&stolen).await;
    assert!(
        after.body.contains("You took 24 g from bob"),
        "{}",
        after.body
    );
    assert!(
        after
            .body
            .contains(r#"class="wallet-grams">104 g</strong>"#)
    );
    assert!(after.body.contains("You took from this one already."));

    // Taking from the same ball again: the rule's refusal, in the page's language.
    breathe().await;
    let again = visitor.submit(&steal, &[]).await;
    assert_eq!(again, "/friends/bob?refused=once_per_ball");
    let refusal = visitor.get(&again).await;
    assert_eq!(refusal.status, StatusCode::OK);
    assert!(refusal.body.contains(r#"role="alert""#));
    assert!(refusal.body.contains("You already took from this ball."));
    visitor.accept_language = Some("zh-CN");
    assert!(
        visitor
            .get(&again)
            .await
            .body
            .contains("你已经收取过这个能量球了")
    );
    visitor.accept_language = Some("id");
    assert!(
        visitor
            .get(&again)
            .await
            .body
            .contains("Kamu sudah mengambil dari bola ini.")
    );
    visitor.accept_language = None;
    // Words that are not ours are not shown.
    let tampered = visitor.get("/friends/bob?refused=<b>boom</b>").await;
    assert!(!tampered.body.contains("boom"));

    let watered = visitor
        .submit("/friends/bob/water", &[("grams", "10")])
        .await;
    assert_eq!(watered, "/friends/bob?done=watered&grams=10");
    assert_eq!(app.wallet(&ana.token).await, 94);
    assert!(
        visitor
            .get(&watered)
            .await
            .body
            .contains("You watered bob with 10 g.")
    );
    let odd = visitor
        .submit("/friends/bob/water", &[("grams", "11")])
        .await;
    assert_eq!(odd, "/friends/bob?refused=invalid");
    let greedy = visitor
        .submit("/friends/bob/water", &[("grams", "lots")])
        .await;
    assert_eq!(greedy, "/friends/bob?refused=invalid");
    assert_eq!(app.wallet(&ana.token).await, 94);

    assert_eq!(
        visitor.get("/friends/ana").await.location(),
        "/",
        "my own forest is my forest page"
    );
    // Someone who is not a friend has no forest to visit.
    app.user("carl").await;
    assert_eq!(
        visitor.get("/friends/carl").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        visitor.get("/friends/nobody-here").await.status,
        StatusCode::NOT_FOUND
    );

    // Bob's feed and the rankings say what happened.
    let mut bobs = Visitor::new(&app);
    bobs.sign_in("bob").await;
    let feed = bobs.get("/feed").await;
    assert_eq!(feed.status, StatusCode::OK);
    feed.assert_strict();
    assert!(feed.body.contains("ana took 24 g from your forest."));
    assert!(feed.body.contains("ana watered you with 10 g."));
    let rankings = bobs.get("/rankings?board=stolen_today").await;
    assert_eq!(rankings.status, StatusCode::OK);
    rankings.assert_strict();
    assert!(
        rankings
            .body
            .contains(r#"href="/rankings?board=stolen_today" aria-current="page""#)
    );
    assert!(rankings.body.contains(r#"<a href="/friends/ana">ana</a>"#));
    assert!(rankings.body.contains("24 g"));
    assert_eq!(
        bobs.get("/rankings?board=nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_social_a_friend_helps_collect_a_ball_in_its_last_day() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_ana, bob) = two_friends(&app).await;
    let mut visitor = Visitor::new(&app);
    visitor.sign_in("ana").await;
    let early = visitor.get("/friends/bob").await;
    assert!(
        !early.body.contains("/help"),
        "not in its last 24 hours yet"
    );
    // Balls live 72 hours after ripening; two days on, Bob's are in their last day.
    app.advance(2 * DAY);
    let late = visitor.get("/friends/bob").await;
    assert!(late.body.contains("Collect 80 g for bob"), "{}", late.body);
    let help_at = late.body.find("/help\"").expect("a help form");
    let action_at = late.body[..help_at].rfind("action=\"").unwrap() + 8;
    let action = late.body[action_at..help_at + 5].to_string();
    let helped = visitor.submit(&action, &[]).await;
    assert_eq!(helped, "/friends/bob?done=helped&grams=80");
    assert_eq!(app.wallet(&bob.token).await, 80, "the energy is Bob's");
    assert!(
        visitor
            .get(&helped)
            .await
            .body
            .contains("You collected 80 g for bob.")
    );
    breathe().await;
    assert_eq!(
        visitor.submit(&action, &[]).await,
        "/friends/bob?refused=already_collected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_social_friends_are_asked_accepted_and_removed_with_forms() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_ana, _bob) = two_friends(&app).await;
    app.user("carl").await;
    let mut carl = Visitor::new(&app);
    carl.sign_in("carl").await;
    assert_eq!(
        carl.submit("/friends", &[("handle", "ANA")]).await,
        "/friends?done=requested"
    );
    assert_eq!(
        carl.submit("/friends", &[("handle", "nobody-here")]).await,
        "/friends?refused=not_found"
    );
    assert_eq!(
        carl.submit("/friends", &[("handle", "carl")]).await,
        "/friends?refused=invalid"
    );

    let mut ana = Visitor::new(&app);
    ana.sign_in("ana").await;
    let friends = ana.get("/friends").await;
    assert!(friends.body.contains("Friend requests"));
    assert!(friends.body.contains(r#"action="/friends/carl/accept""#));
    assert_eq!(
        ana.submit("/friends/carl/accept", &[]).await,
        "/friends?done=accepted"
    );
    let friends = ana.get("/friends?done=accepted").await;
    assert!(friends.body.contains("Request accepted"));
    assert!(friends.body.contains(r#"href="/friends/carl""#));
    assert!(!friends.body.contains(r#"action="/friends/carl/accept""#));

    // Bob asks Ana with her invite code, which her page shows.
    let code_at = friends.body.find(r#"id="invite-code">"#).unwrap() + 17;
    let code = &friends.body[code_at..code_at + 8];
    let mut dan = Visitor::new(&app);
    app.user("dan").await;
    dan.sign_in("dan").await;
    assert_eq!(
        dan.submit("/friends", &[("invite_code", &code.to_lowercase())])
            .await,
        "/friends?done=requested"
    );
    assert_eq!(
        ana.submit("/friends/dan/decline", &[]).await,
        "/friends?done=declined"
    );

    assert_eq!(
        ana.submit("/friends/carl/remove", &[]).await,
        "/friends?done=removed"
    );
    assert_eq!(
        ana.submit("/friends/carl/remove", &[]).await,
        "/friends?refused=not_found"
    );
    assert_eq!(
        ana.submit("/friends/bob/block", &[]).await,
        "/friends?done=blocked"
    );
    let friends = ana.get("/friends").await;
    assert!(!friends.body.contains(r#"href="/friends/bob""#));
    assert!(friends.body.contains("No friends yet."));
    // Chinese, the same page.
    ana.accept_language = Some("zh-CN");
    assert!(ana.get("/friends").await.body.contains("我的邀请码"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_social_props_and_the_album_are_used_and_gifted_with_forms() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (ana, _bob, buses) = two_friends_and_their_buses(&app).await;
    let admin = admin_session(&app).await;
    let granted = app
        .post(
            "/v1/admin/props/grants",
            Some(&admin),
            &json!({"user_id": ana.user_id, "kind": "shield", "count": 2}),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::CREATED);

    let mut visitor = Visitor::new(&app);
    visitor.sign_in("ana").await;
    let props = visitor.get("/props").await;
    assert_eq!(props.status, StatusCode::OK);
    props.assert_strict();
    assert!(props.body.contains("Shield"));
    assert!(props.body.contains("× 2"));
    assert!(props.body.contains("the first expires in"));
    let refused = visitor.post("/props/shield/use", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        visitor.submit("/props/shield/use", &[]).await,
        "/props?done=prop_used"
    );
    assert_eq!(
        visitor
            .submit("/props/shield/gift", &[("friend", "bob")])
            .await,
        "/props?done=prop_gifted"
    );
    assert_eq!(
        visitor.submit("/props/shield/use", &[]).await,
        "/props?refused=no_prop"
    );
    let props = visitor.get("/props?refused=no_prop").await;
    assert!(props.body.contains("You have none of that prop left."));
    assert!(props.body.contains("Shield: "), "the shield in force");

    // Bob sees Ana's shield on her forest.
    let mut bob = Visitor::new(&app);
    bob.sign_in("bob").await;
    let forest = bob.get("/friends/ana").await;
    assert!(
        forest.body.contains("Protected by a shield for"),
        "{}",
        forest.body
    );

    // Ana collected 80 g today: the daily draw is open.
    let album = visitor.get("/album").await;
    assert_eq!(album.status, StatusCode::OK);
    album.assert_strict();
    assert!(
        album.body.contains("Today&#39;s draw is open!")
            || album.body.contains("Today's draw is open!")
    );
    assert!(album.body.contains("No cards yet."));
    assert_eq!(
        visitor.post("/album/draw", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let drawn = visitor.submit("/album/draw", &[]).await;
    assert!(drawn.starts_with("/album?done=drawn&species="), "{drawn}");
    let album = visitor.get(&drawn).await;
    assert!(album.body.contains(r#"src="/v1/species/"#));
    assert!(album.body.contains(r#"/card.svg" alt=""#));
    assert!(album.body.contains("× 1"));
    assert!(album.body.contains("Sets"));
    assert!(album.body.contains("The next draw opens tomorrow."));
    assert_eq!(
        visitor.submit("/album/draw", &[]).await,
        "/album?refused=already_drawn"
    );
    // One copy only: it cannot be given.
    let species = drawn.rsplit('=').next().unwrap();
    assert_eq!(
        visitor
            .submit(
                &format!("/album/cards/{species}/gift"),
                &[("friend", "bob")]
            )
            .await,
        "/album?refused=last_copy"
    );
    let card = app
        .get(&format!("/v1/species/{species}/card.svg"), None)
        .await;
    assert_eq!(card.status(), StatusCode::OK);
    // A second copy (as a task would give): now one can be given.
    let (_, logged) = app
        .store
        .record_species_draw(&openforest_store::SpeciesDraw {
            draw_id: openforest_store::new_id(app.now()),
            user_id: openforest_core::UserId(ana.user_id.parse().unwrap()),
            reason: "task:web-test:1".into(),
            seed: [7; 32],
            species_id: species.to_string(),
            pool: "test".into(),
            at: app.now(),
        })
        .await
        .unwrap();
    assert!(logged);
    let album = visitor.get("/album").await;
    assert!(album.body.contains("× 2"));
    assert!(album.body.contains("1 duplicate to give"));
    let gifted = visitor
        .submit(
            &format!("/album/cards/{species}/gift"),
            &[("friend", "bob")],
        )
        .await;
    assert_eq!(gifted, format!("/album?done=card_gifted&species={species}"));
    assert!(
        visitor
            .get(&gifted)
            .await
            .body
            .contains("card to your friend.")
    );
    let bobs_album = bob.get("/album").await;
    assert!(
        bobs_album
            .body
            .contains(&format!("/v1/species/{species}/card.svg"))
    );
    assert!(bob.get("/feed").await.body.contains("ana gave you a"));
    visitor.accept_language = Some("id");
    assert!(visitor.get("/album").await.body.contains("Undian harian"));

    // Ana's shield is up for 24 h: her new ball ripens meanwhile and Bob cannot take from it.
    let shielded = ball(&app, &buses, &ana, "ana-2").await;
    app.advance(16 * 3_600_000);
    let forest = bob.get("/friends/ana").await;
    assert!(
        forest.body.contains("Protected by a shield for"),
        "{}",
        forest.body
    );
    assert!(
        steal_targets(&forest.body).is_empty(),
        "no Take button under a shield: {}",
        forest.body
    );
    assert!(forest.body.contains("A shield protects this one."));
    let refused = bob
        .submit(&format!("/friends/ana/balls/{shielded}/steal"), &[])
        .await;
    assert_eq!(refused, "/friends/ana?refused=shielded");
    assert!(
        bob.get(&refused)
            .await
            .body
            .contains("This forest is protected by a shield")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_social_the_feed_comes_a_page_at_a_time() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let bob = player(&app, &buses, "bob").await;
    befriend(&app, &ana, "bob", &bob).await;
    let mut balls = Vec::new();
    for n in 0..20 {
        balls.push(ball(&app, &buses, &bob, &format!("bob-{n}")).await);
    }
    app.advance(DAY);
    for ball_id in &balls {
        let stolen = app
            .post(
                &format!("/v1/friends/{}/balls/{ball_id}/steal", bob.user_id),
                Some(&ana.token),
                &serde_json::Value::Null,
            )
            .await;
        assert_eq!(stolen.status(), StatusCode::OK);
        // Each line its own moment, so the feed's order is the order of play.
        app.advance(1_000);
        breathe().await;
    }
    for grams in [10, 18] {
        app.advance(1_000);
        let watered = app
            .post(
                &format!("/v1/friends/{}/water", bob.user_id),
                Some(&ana.token),
                &json!({"grams": grams}),
            )
            .await;
        assert_eq!(watered.status(), StatusCode::CREATED);
    }

    let mut visitor = Visitor::new(&app);
    visitor.sign_in("bob").await;
    let first = visitor.get("/feed").await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body.matches(r#"<li class="feed-line"#).count(), 20);
    assert!(first.body.contains("ana watered you with 18 g."));
    let older_at = first
        .body
        .find(r#"<a href="/feed?before="#)
        .expect("an older page")
        + 9;
    let older = &first.body[older_at..older_at + first.body[older_at..].find('"').unwrap()];
    let second = visitor.get(older).await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body.matches(r#"<li class="feed-line"#).count(), 2);
    assert!(second.body.contains("ana took 24 g from your forest."));
    assert!(!second.body.contains("feed?before="), "the last page");
    assert!(
        second.body.contains(r#"<a href="/feed">"#),
        "back to the newest"
    );
    visitor.accept_language = Some("id");
    assert!(
        visitor
            .get(older)
            .await
            .body
            .contains("ana mengambil 24 g dari hutanmu.")
    );
    assert_eq!(
        visitor.get("/feed?before=not-a-cursor").await.status,
        StatusCode::NOT_FOUND
    );
}

/// Two friends in Chromium: Ana visits Bob's forest from her friends page, takes from a ripe
/// ball and sees her wallet grow, waters Bob, then opens the feed, rankings, props and album;
/// screenshots of every page at phone and desktop sizes; no JavaScript error or CSP violation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_social_two_friends_play_in_chromium() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (ana, bob, buses) = two_friends_and_their_buses(&app).await;
    // Bob collects his balls and waters Ana, so her feed has a line; the next day Bob has a
    // new ripe ball, and Ana one of her own besides the watering ball.
    let bob_balls = collect_all(&app, &bob).await;
    assert_eq!(bob_balls["wallet_grams"], 160);
    let watered = app
        .post(
            &format!("/v1/friends/{}/water", ana.user_id),
            Some(&bob.token),
            &json!({"grams": 18}),
        )
        .await;
    assert_eq!(watered.status(), StatusCode::CREATED);
    ball(&app, &buses, &bob, "bob-3").await;
    ball(&app, &buses, &ana, "ana-2").await;
    app.advance(DAY);
    let admin = admin_session(&app).await;
    for (kind, count) in [("shield", 2), ("double_collect", 1)] {
        let granted = app
            .post(
                "/v1/admin/props/grants",
                Some(&admin),
                &json!({"user_id": ana.user_id, "kind": kind, "count": count}),
            )
            .await;
        assert_eq!(granted.status(), StatusCode::CREATED);
    }

    let browser = crate::browser::Browser::launch(&chromium).await;
    let page = browser.page(390, 844).await;
    page.visit(&app.url("/friends")).await;
    assert_eq!(page.path().await, "/signin");
    page.type_into("#handle", "ana").await;
    page.type_into("#password", PASSWORD).await;
    page.submit("main form button[type=submit]", "/").await;
    // Ana collects her ball and the watering ball on her forest page first.
    page.click("form.collect-all button").await;
    page.wait_for_text("#wallet-grams", "178 g").await;
    // The page reloads with nothing left to collect; leaving before that would race it.
    page.wait_for_count("form.collect-all", 0).await;
    page.wait_for_text("#wallet-grams", "178 g").await;

    page.visit(&app.url("/friends")).await;
    page.screenshot("social-friends-390x844").await;
    // A full-page screenshot resets the emulated screen: set it again before each page.
    page.resize(390, 844).await;
    page.submit("a.friend-link", "/friends/bob").await;
    page.wait_for_count("form.steal button", 1).await;
    assert_eq!(page.text("#wallet-grams").await, "178 g");
    page.screenshot("social-friend-forest-390x844").await;
    page.resize(390, 844).await;

    page.submit("form.steal button", "/friends/bob").await;
    page.wait_for_text("#wallet-grams", "202 g").await;
    assert_eq!(page.count("form.steal button").await, 0);
    assert!(page.text(".notice-done").await.contains("You took 24 g"));
    assert_eq!(app.wallet(&ana.token).await, 202);

    page.submit("form.water button[value=\"10\"]", "/friends/bob")
        .await;
    page.wait_for_text("#wallet-grams", "192 g").await;
    assert!(page.text(".notice-done").await.contains("10 g"));
    assert_eq!(app.wallet(&ana.token).await, 192);

    for (path, name) in [
        ("/feed", "feed"),
        ("/rankings", "rankings"),
        ("/props", "props"),
        ("/album", "album"),
    ] {
        page.resize(390, 844).await;
        page.visit(&app.url(path)).await;
        assert_eq!(page.path().await, path);
        page.screenshot(&format!("social-{name}-390x844")).await;
    }
    assert!(page.text("#album-draw").await.len() > 3);
    page.resize(390, 844).await;
    page.visit(&app.url("/props")).await;
    assert_eq!(page.count(".prop-list > li").await, 2);
    page.submit("form[action=\"/props/shield/use\"] button", "/props")
        .await;
    page.wait_for_count(".notice-done", 1).await;
    page.wait_for_count(".active-card", 1).await;
    page.visit(&app.url("/album")).await;
    page.click("form[action=\"/album/draw\"] button").await;
    page.wait_for_count(".species-card img", 1).await;

    for (path, name) in [
        ("/friends", "friends"),
        ("/friends/bob", "friend-forest"),
        ("/feed", "feed"),
        ("/rankings?board=stolen_today", "rankings"),
        ("/props", "props"),
        ("/album", "album"),
    ] {
        page.resize(1280, 800).await;
        page.visit(&app.url(path)).await;
        page.screenshot(&format!("social-{name}-1280x800")).await;
    }
    browser.finish().await;
}
