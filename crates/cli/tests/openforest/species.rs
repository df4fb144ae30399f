//! Amazing Species: the daily draw and its threshold, cards for plantings and tasks, odds,
//! the album's sets and their rewards, gifting duplicates, support replays, and operators'
//! data files checked at start. Every test is named after the rule it checks.

use crate::harvest::{
    DAY, Player, admin_session, ball, befriend, collect_all, player, rule_of, setup,
};
use crate::support::{TestApp, json_of, problem_of};
use futures_util::future::join_all;
use openforest_core::{PledgeId, UserId};
use openforest_server::Application;
use openforest_server::config::Config;
use openforest_server::species::{Award, CardReason, Species};
use openforest_store::SetRewardGiven;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

/// A pond of three species and a themed set of two of them: small enough that a few draws
/// give duplicates and complete the set.
const POND: &str = r#"
[[species]]
id = "alpha-frog"
common_name = "Alpha frog"
scientific_name = "Rana alpha"
category = "LC"
habitat = "wetland"
region = "europe"
range = "A test pond"
group = "amphibian"
fact = "It croaks first."

[[species]]
id = "beta-frog"
common_name = "Beta frog"
scientific_name = "Rana beta"
category = "LC"
habitat = "wetland"
region = "europe"
range = "A test pond"
group = "amphibian"
fact = "It croaks second."

[[species]]
id = "gamma-newt"
common_name = "Gamma newt"
scientific_name = "Triturus gamma"
category = "NT"
habitat = "freshwater"
region = "asia"
range = "Another pond"
group = "amphibian"
fact = "It never croaks."

[[set]]
id = "pond"
name = "The pond"
species = ["alpha-frog", "beta-frog"]
reward = { prop = "double_collect", count = 2 }
"#;

fn species_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("species")
}

/// Configures the pond catalog alone, its file written into the test's data directory.
fn pond(config: &mut Config) {
    let dir = species_dir(&config.data_dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pond.toml"), POND).unwrap();
    config.species.bundled = false;
    config.species.data_dir = dir.display().to_string();
}

/// The app's species service, built the way `Application::build` builds it (same data files,
/// same server secret): what the planting code calls `award_card` on.
async fn species_of(app: &TestApp, catalog: fn(&mut Config)) -> Species {
    let mut config = Config {
        data_dir: app.database.dir.path().to_path_buf(),
        ..Config::default()
    };
    catalog(&mut config);
    Species::start(&config, app.store.as_ref()).await.unwrap()
}

fn bundled(_: &mut Config) {}

async fn planting(species: &Species, app: &TestApp, user: &str) -> Award {
    let pledge = PledgeId(openforest_store::new_id(app.now()));
    species
        .award_card(
            app.store.as_ref(),
            user_id(user),
            &CardReason::Planting { pledge },
            app.now(),
        )
        .await
        .unwrap()
}

fn user_id(id: &str) -> UserId {
    UserId(id.parse().unwrap())
}

async fn album(app: &TestApp, token: &str) -> Value {
    json_of(app.get("/v1/me/album", Some(token)).await, StatusCode::OK).await
}

/// Card counts in my album, by species.
async fn counts(app: &TestApp, token: &str) -> HashMap<String, u64> {
    album(app, token).await["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|card| {
            (
                card["species_id"].as_str().unwrap().to_string(),
                card["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn draw(app: &TestApp, who: &Player) -> reqwest::Response {
    app.post("/v1/me/album/draw", Some(&who.token), &Value::Null)
        .await
}

async fn gift(app: &TestApp, from: &Player, to: &Player, species_id: &str) -> reqwest::Response {
    app.post(
        &format!("/v1/friends/{}/cards/{species_id}/gift", to.user_id),
        Some(&from.token),
        &Value::Null,
    )
    .await
}

async fn a_daily_draw_opens_after_20_g_collected_and_gives_one_card_a_day(app: TestApp) {
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    assert_eq!(rule_of(draw(&app, &ana).await).await, "draw_threshold");
    let before = album(&app, &ana.token).await;
    assert_eq!(before["daily_draw"]["available"], false);
    assert_eq!(before["daily_draw"]["threshold_grams"], 20);
    assert_eq!(before["cards"].as_array().unwrap().len(), 0);

    ball(&app, &buses, &ana, "ride-1").await;
    app.advance(DAY);
    collect_all(&app, &ana).await;
    let ready = album(&app, &ana.token).await;
    assert_eq!(ready["daily_draw"]["collected_today_grams"], 80);
    assert_eq!(ready["daily_draw"]["available"], true);
    let drawn = json_of(draw(&app, &ana).await, StatusCode::CREATED).await;
    let species_id = drawn["species"]["species_id"].as_str().unwrap().to_string();
    assert!(drawn["reason"].as_str().unwrap().starts_with("daily:"));
    assert_eq!(drawn["count"], 1);
    let problem = problem_of(draw(&app, &ana).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["rule"], "already_drawn");
    let after = album(&app, &ana.token).await;
    assert_eq!(after["daily_draw"]["drawn_species_id"], species_id.as_str());
    assert_eq!(after["daily_draw"]["available"], false);
    assert_eq!(
        counts(&app, &ana.token).await,
        HashMap::from([(species_id, 1)])
    );

    // The next day, many taps at once still give one card.
    ball(&app, &buses, &ana, "ride-2").await;
    app.advance(DAY);
    collect_all(&app, &ana).await;
    let statuses: Vec<StatusCode> = join_all((0..6).map(|_| draw(&app, &ana)))
        .await
        .into_iter()
        .map(|response| response.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        5
    );
    let held: u64 = counts(&app, &ana.token).await.values().sum();
    assert_eq!(held, 2);
}

async fn support_replays_a_logged_draw_from_its_seed_to_the_same_card(app: TestApp) {
    let buses = setup(&app).await;
    let admin = admin_session(&app).await;
    let ana = player(&app, &buses, "ana").await;
    ball(&app, &buses, &ana, "ride-1").await;
    app.advance(DAY);
    collect_all(&app, &ana).await;
    let drawn = json_of(draw(&app, &ana).await, StatusCode::CREATED).await;
    let log = json_of(
        app.get(
            &format!("/v1/admin/users/{}/species-draws", ana.user_id),
            Some(&admin),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    let logged = &log[0];
    assert_eq!(logged["species_id"], drawn["species"]["species_id"]);
    assert_eq!(logged["seed"].as_str().unwrap().len(), 64);
    let replay = json_of(
        app.get(
            &format!(
                "/v1/admin/users/{}/species-draws/replay?reason={}",
                ana.user_id,
                logged["reason"].as_str().unwrap()
            ),
            Some(&admin),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        replay["replayed_species_id"],
        drawn["species"]["species_id"]
    );
    assert_eq!(replay["same_card"], true);
    assert_eq!(replay["seed_verified"], true);
    assert_eq!(replay["same_pool"], true);
    problem_of(
        app.get(
            &format!(
                "/v1/admin/users/{}/species-draws/replay?reason=daily:1999-01-01",
                ana.user_id
            ),
            Some(&admin),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem_of(
        app.get(
            &format!("/v1/admin/users/{}/species-draws", ana.user_id),
            Some(&ana.token),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

async fn each_planting_gives_one_card_however_often_it_is_reported(app: TestApp) {
    let (ana_id, ana) = app.user("ana").await;
    let species = species_of(&app, bundled).await;
    let pledge = PledgeId(openforest_store::new_id(app.now()));
    let reason = CardReason::Planting { pledge };
    let awards = join_all(
        (0..4)
            .map(|_| species.award_card(app.store.as_ref(), user_id(&ana_id), &reason, app.now())),
    )
    .await;
    let awards: Vec<Award> = awards.into_iter().map(Result::unwrap).collect();
    assert_eq!(awards.iter().filter(|award| award.new).count(), 1);
    assert!(
        awards
            .iter()
            .all(|award| award.draw.species_id == awards[0].draw.species_id)
    );
    assert_eq!(awards[0].draw.reason, format!("planting:{pledge}"));
    assert_eq!(
        counts(&app, &ana).await,
        HashMap::from([(awards[0].draw.species_id.clone(), 1)])
    );
    // Another pledge, another card.
    assert!(planting(&species, &app, &ana_id).await.new);
    let held: u64 = counts(&app, &ana).await.values().sum();
    assert_eq!(held, 2);
}

async fn a_seven_day_collecting_streak_also_gives_a_card(app: TestApp) {
    let buses = setup(&app).await;
    let admin = admin_session(&app).await;
    let ana = player(&app, &buses, "ana").await;
    for day in 0..7 {
        ball(&app, &buses, &ana, &format!("ride-{day}")).await;
        app.advance(DAY);
        collect_all(&app, &ana).await;
    }
    let log = json_of(
        app.get(
            &format!("/v1/admin/users/{}/species-draws", ana.user_id),
            Some(&admin),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let reasons: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|draw| draw["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].starts_with("task:collect_streak_7:"));
    let held: u64 = counts(&app, &ana.token).await.values().sum();
    assert_eq!(held, 1);
}

async fn the_odds_are_published_and_a_critically_endangered_card_is_the_rarest(app: TestApp) {
    let odds = json_of(app.get("/v1/species/odds", None).await, StatusCode::OK).await;
    let categories = odds["categories"].as_array().unwrap();
    let codes: Vec<&str> = categories
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CR", "EN", "VU", "NT", "LC"]);
    let sum: f64 = categories
        .iter()
        .map(|c| c["probability"].as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-9);
    assert_eq!(categories[0]["weight"], 2);
    assert!((categories[0]["probability"].as_f64().unwrap() - 0.02).abs() < 1e-9);
    for other in &categories[1..] {
        assert!(
            categories[0]["probability"].as_f64() < other["probability"].as_f64(),
            "CR vs {other}"
        );
        assert!(categories[0]["card_probability"].as_f64() < other["card_probability"].as_f64());
    }
    assert_eq!(odds["daily_draw_grams"], 20);
    // The odds are the operator's to set, within the rule that rarer weighs less.
    let app = app
        .restart_with(|config| config.species.odds.cr = 5)
        .await
        .unwrap();
    let odds = json_of(app.get("/v1/species/odds", None).await, StatusCode::OK).await;
    assert_eq!(odds["categories"][0]["weight"], 5);
    let refused = refused_start(&app, |config| config.species.odds.cr = 9).await;
    assert!(refused.contains("EN"), "{refused}");
}

async fn species_are_public_with_cards_drawn_as_svg(app: TestApp) {
    let list = json_of(app.get("/v1/species", None).await, StatusCode::OK).await;
    assert!(list.as_array().unwrap().len() >= 100);
    let shark = json_of(
        app.get("/v1/species/whale-shark", None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(shark["scientific_name"], "Rhincodon typus");
    assert_eq!(shark["category"], "EN");
    assert_eq!(shark["habitat"], "ocean");
    let card = app.get("/v1/species/whale-shark/card.svg", None).await;
    assert_eq!(card.status(), StatusCode::OK);
    assert_eq!(card.headers()["content-type"], "image/svg+xml");
    let svg = card.text().await.unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("Rhincodon typus") && svg.contains("Whale shark"));
    problem_of(
        app.get("/v1/species/unicorn/card.svg", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let sets = json_of(app.get("/v1/species/sets", None).await, StatusCode::OK).await;
    let ocean = sets
        .as_array()
        .unwrap()
        .iter()
        .find(|set| set["set_id"] == "ocean-buddy")
        .unwrap();
    assert_eq!(ocean["kind"], "themed");
    assert!(
        ocean["species"]
            .as_array()
            .unwrap()
            .contains(&json!("whale-shark"))
    );
    assert!(
        sets.as_array()
            .unwrap()
            .iter()
            .any(|set| set["set_id"] == "habitat-desert")
    );
}

async fn completing_a_set_grants_its_reward_prop_exactly_once(app: TestApp) {
    let app = app.restart_with(pond).await.unwrap();
    let (ana_id, ana) = app.user("ana").await;
    let species = species_of(&app, pond).await;
    let mut completed: Vec<SetRewardGiven> = Vec::new();
    for _ in 0..60 {
        completed.extend(planting(&species, &app, &ana_id).await.completed_sets);
        let held = counts(&app, &ana).await;
        if held.contains_key("alpha-frog") && held.contains_key("beta-frog") {
            break;
        }
    }
    let pond_reward: Vec<&SetRewardGiven> = completed
        .iter()
        .filter(|reward| reward.set_id == "pond")
        .collect();
    assert_eq!(pond_reward.len(), 1, "{completed:?}");
    assert_eq!(
        (pond_reward[0].prop.as_str(), pond_reward[0].count),
        ("double_collect", 2)
    );
    let view = album(&app, &ana).await;
    let set = view["sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|set| set["set_id"] == "pond")
        .unwrap()
        .clone();
    assert_eq!(
        (set["owned"].as_u64(), set["total"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(set["complete"], true);
    assert!(set["rewarded_at"].is_string());
    // More cards and concurrent checks give nothing more.
    for _ in 0..5 {
        planting(&species, &app, &ana_id).await;
    }
    let again =
        join_all((0..8).map(|_| {
            species.reward_completed_sets(app.store.as_ref(), user_id(&ana_id), app.now())
        }))
        .await;
    assert!(
        again
            .into_iter()
            .all(|given| given.unwrap().iter().all(|r| r.set_id != "pond"))
    );
    let props = json_of(app.get("/v1/me/props", Some(&ana)).await, StatusCode::OK).await;
    let double_collect = props["inventory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|stock| stock["kind"] == "double_collect")
        .unwrap()["count"]
        .clone();
    assert_eq!(double_collect, 2);
    // The store gives a set's reward once even when asked at the same moment.
    let (bo_id, _) = app.user("bob").await;
    let reward = SetRewardGiven {
        set_id: "pond".into(),
        prop: "shield".into(),
        count: 1,
        at: app.now(),
    };
    let given = join_all((0..8).map(|_| {
        app.store
            .reward_species_set(user_id(&bo_id), &reward, app.now().plus_millis(DAY))
    }))
    .await;
    assert_eq!(
        given
            .into_iter()
            .filter(|first| *first.as_ref().unwrap())
            .count(),
        1
    );
    let (stock, _) = app.store.props(user_id(&bo_id), app.now()).await.unwrap();
    assert_eq!(stock.iter().map(|s| s.count).sum::<u32>(), 1);
}

/// Gives `who` cards until they hold at least two of one species; answers that species.
async fn a_duplicate(app: &TestApp, species: &Species, who: &Player) -> (String, u64) {
    for _ in 0..30 {
        planting(species, app, &who.user_id).await;
        if let Some((id, count)) = counts(app, &who.token)
            .await
            .into_iter()
            .find(|(_, count)| *count >= 2)
        {
            return (id, count);
        }
    }
    panic!("no duplicate in 30 cards from three species");
}

async fn a_duplicate_can_be_gifted_to_a_friend_and_both_feeds_say_so(app: TestApp) {
    let app = app.restart_with(pond).await.unwrap();
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let ben = player(&app, &buses, "ben").await;
    let cyd = player(&app, &buses, "cyd").await;
    befriend(&app, &ana, "ben", &ben).await;
    let species = species_of(&app, pond).await;
    let (card, held) = a_duplicate(&app, &species, &ana).await;

    let given = gift(&app, &ana, &ben, &card).await;
    assert_eq!(given.status(), StatusCode::NO_CONTENT);
    assert_eq!(counts(&app, &ana.token).await[&card], held - 1);
    assert_eq!(counts(&app, &ben.token).await[&card], 1);
    let bens_feed = json_of(
        app.get("/v1/me/feed", Some(&ben.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(bens_feed[0]["kind"], "card_gifted");
    assert_eq!(bens_feed[0]["actor_handle"], "ana");
    assert_eq!(bens_feed[0]["species_id"], card.as_str());
    let anas_feed = json_of(
        app.get("/v1/me/feed", Some(&ana.token)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(anas_feed[0]["kind"], "card_given");
    assert_eq!(anas_feed[0]["actor_handle"], "ben");
    assert_eq!(anas_feed[0]["species_id"], card.as_str());

    // Down to the last copy, which stays.
    for _ in 2..held {
        assert_eq!(
            gift(&app, &ana, &ben, &card).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    assert_eq!(counts(&app, &ana.token).await[&card], 1);
    assert_eq!(
        rule_of(gift(&app, &ana, &ben, &card).await).await,
        "last_copy"
    );
    // Only to friends, only cards one has, only species that exist.
    problem_of(gift(&app, &ana, &cyd, &card).await, StatusCode::FORBIDDEN).await;
    problem_of(gift(&app, &ana, &ana, &card).await, StatusCode::FORBIDDEN).await;
    befriend(&app, &cyd, "ana", &ana).await;
    assert_eq!(
        rule_of(gift(&app, &cyd, &ana, &card).await).await,
        "no_card"
    );
    problem_of(
        gift(&app, &ana, &ben, "unicorn").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn a_user_cannot_gift_the_same_duplicate_twice_under_concurrent_requests(app: TestApp) {
    let app = app.restart_with(pond).await.unwrap();
    let buses = setup(&app).await;
    let ana = player(&app, &buses, "ana").await;
    let ben = player(&app, &buses, "ben").await;
    befriend(&app, &ana, "ben", &ben).await;
    let species = species_of(&app, pond).await;
    let (card, held) = a_duplicate(&app, &species, &ana).await;
    for _ in 2..held {
        gift(&app, &ana, &ben, &card).await;
    }
    let bens_before = counts(&app, &ben.token)
        .await
        .get(&card)
        .copied()
        .unwrap_or(0);
    // Exactly two copies: one duplicate. Eight taps at once give it once.
    let statuses: Vec<StatusCode> = join_all((0..8).map(|_| gift(&app, &ana, &ben, &card)))
        .await
        .into_iter()
        .map(|response| response.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(counts(&app, &ana.token).await[&card], 1);
    assert_eq!(counts(&app, &ben.token).await[&card], bens_before + 1);
    // Two friends gifting each other the same species at once both succeed, no deadlock.
    let (mine, _) = a_duplicate(&app, &species, &ana).await;
    let (theirs, _) = a_duplicate(&app, &species, &ben).await;
    if mine == theirs {
        let both =
            futures_util::join!(gift(&app, &ana, &ben, &mine), gift(&app, &ben, &ana, &mine));
        assert_eq!(both.0.status(), StatusCode::NO_CONTENT);
        assert_eq!(both.1.status(), StatusCode::NO_CONTENT);
    }
}

/// Starts a second server on the app's database with `catalog`; answers why it refused.
async fn refused_start(app: &TestApp, catalog: impl FnOnce(&mut Config)) -> String {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: app.database.dir.path().to_path_buf(),
        database_url: app.database.url.clone(),
        ..Config::default()
    };
    catalog(&mut config);
    match Application::build(config, app.store.clone(), app.clock.clone()).await {
        Ok(_) => panic!("the server started"),
        Err(err) => format!("{err:#}"),
    }
}

/// The pond and an operator file `zz-ops.toml` read after it.
fn pond_and(text: &'static str) -> impl FnOnce(&mut Config) {
    move |config: &mut Config| {
        pond(config);
        std::fs::write(species_dir(&config.data_dir).join("zz-ops.toml"), text).unwrap();
    }
}

async fn operators_add_sets_and_species_and_a_bad_data_file_stops_the_start(app: TestApp) {
    let app = app.restart_with(pond).await.unwrap();
    let list = json_of(app.get("/v1/species", None).await, StatusCode::OK).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        3,
        "the pond replaces the bundled catalog"
    );
    let sets = json_of(app.get("/v1/species/sets", None).await, StatusCode::OK).await;
    assert_eq!(sets[0]["set_id"], "pond");
    assert_eq!(sets[0]["reward"]["prop"], "double_collect");

    let unknown_category = refused_start(
        &app,
        pond_and("[[species]]\nid = \"kea\"\ncommon_name = \"Kea\"\nscientific_name = \"Nestor notabilis\"\ncategory = \"XX\"\nhabitat = \"mountain\"\nregion = \"oceania\"\nrange = \"NZ\"\ngroup = \"bird\"\nfact = \"A parrot.\"\n"),
    )
    .await;
    assert!(
        unknown_category.contains("zz-ops.toml, line 5, field `category`"),
        "{unknown_category}"
    );
    assert!(
        unknown_category.contains("unknown variant `XX`"),
        "{unknown_category}"
    );
    let unknown_species = refused_start(
        &app,
        pond_and("[[set]]\nid = \"mine\"\nname = \"Mine\"\nspecies = [\n  \"alpha-frog\",\n  \"unicorn\",\n]\n"),
    )
    .await;
    assert!(
        unknown_species.contains("zz-ops.toml, line 6, field `species`"),
        "{unknown_species}"
    );
    assert!(unknown_species.contains("unicorn"), "{unknown_species}");
    let duplicate = refused_start(
        &app,
        pond_and("[[set]]\nid = \"mine\"\nname = \"Mine\"\nspecies = [\"alpha-frog\"]\n\n[[set]]\nid = \"mine\"\nname = \"Mine again\"\nspecies = [\"beta-frog\"]\n"),
    )
    .await;
    assert!(
        duplicate.contains("zz-ops.toml, line 6, field `id`"),
        "{duplicate}"
    );
    let odds = refused_start(&app, |config| config.species.odds.cr = 9).await;
    assert!(odds.contains("species.odds"), "{odds}");
    // The running server is untouched by the refused starts.
    assert_eq!(
        json_of(app.get("/v1/species", None).await, StatusCode::OK)
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

async fn openforest_species_check_names_the_file_line_and_field_of_a_bad_data_file(app: TestApp) {
    let dir = app.database.dir.path().join("ops");
    std::fs::create_dir_all(&dir).unwrap();
    let run = |dir: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_openforest"))
            .args(["species", "check"])
            .arg(dir)
            .env_remove("OPENFOREST_CONFIG")
            .output()
            .unwrap()
    };
    std::fs::write(dir.join("ocean.toml"), "[[set]]\nid = \"java-sea\"\nname = \"Java sea\"\nspecies = [\"whale-shark\", \"dugong\"]\n").unwrap();
    let good = run(&dir);
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{stdout}");
    assert!(stdout.contains("4 themed"), "{stdout}");
    std::fs::write(
        dir.join("ocean.toml"),
        "[[set]]\nid = \"java-sea\"\nname = \"\"\nspecies = [\"whale-shark\"]\n",
    )
    .unwrap();
    let bad = run(&dir);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("ocean.toml, line 3, field `name`"),
        "{stderr}"
    );
    assert!(stderr.contains("must not be empty"), "{stderr}");
}

crate::on_both_backends!(
    a_daily_draw_opens_after_20_g_collected_and_gives_one_card_a_day,
    support_replays_a_logged_draw_from_its_seed_to_the_same_card,
    each_planting_gives_one_card_however_often_it_is_reported,
    a_seven_day_collecting_streak_also_gives_a_card,
    the_odds_are_published_and_a_critically_endangered_card_is_the_rarest,
    species_are_public_with_cards_drawn_as_svg,
    completing_a_set_grants_its_reward_prop_exactly_once,
    a_duplicate_can_be_gifted_to_a_friend_and_both_feeds_say_so,
    a_user_cannot_gift_the_same_duplicate_twice_under_concurrent_requests,
    operators_add_sets_and_species_and_a_bad_data_file_stops_the_start,
    openforest_species_check_names_the_file_line_and_field_of_a_bad_data_file,
);
