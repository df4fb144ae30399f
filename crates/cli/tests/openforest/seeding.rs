//! Bulk seeding (`Store::seed_world`, behind `openforest bench harvest`): a seeded world keeps
//! the ledger sound and is played like any other over HTTP.

use crate::partners::assert_ledger_sound;
use crate::support::{TestApp, json_of, problem_of};
use openforest_core::{BallId, Grams, Handle, PartnerId, UserId};
use openforest_server::auth::hash_token;
use openforest_store::Partner;
use openforest_store::seed::world::{World, WorldSpec, token as world_token};
use openforest_store::seed::{
    SeedBall, SeedChunk, SeedMovementKind, SeedReport, SeedUser, SequentialIds,
};
use reqwest::StatusCode;
use serde_json::json;

crate::on_both_backends!(
    a_seeded_world_keeps_the_ledger_sound_and_can_be_played,
    a_planned_month_of_play_keeps_the_ledger_sound_and_its_ripe_balls_can_be_collected,
);

const HOUR: i64 = 3_600_000;

fn token(user: usize) -> String {
    format!("seeded-token-{user}")
}

async fn a_seeded_world_keeps_the_ledger_sound_and_can_be_played(app: TestApp) {
    let now = app.now();
    let partner_id = PartnerId(openforest_store::new_id(now));
    app.store
        .create_partner(&Partner {
            partner_id,
            name: "seeder".into(),
            allowed_actions: vec!["walking".into()],
            disabled_at: None,
            created_at: now,
        })
        .await
        .unwrap();
    let mut ids = SequentialIds::new(now);
    let users: Vec<UserId> = (0..5).map(|_| UserId(ids.next_id())).collect();
    // Two balls of 100 g each: ball 2n and 2n + 1 belong to user n.
    let balls: Vec<BallId> = (0..10).map(|_| BallId(ids.next_id())).collect();
    let chunk =
        |range: std::ops::Range<usize>, friendships: &[(usize, usize)], last: bool| SeedChunk {
            partner_id,
            action: "walking".into(),
            methodology: "classic".into(),
            methodology_version: 1,
            created_at: now,
            session_expires_at: now.plus_millis(24 * HOUR),
            users: range
                .clone()
                .map(|user| SeedUser {
                    user_id: users[user],
                    handle: Handle::parse(&format!("seeded-{user}")).unwrap(),
                    token_hash: hash_token(&token(user)),
                })
                .collect(),
            friendships: friendships
                .iter()
                .map(|&(a, b)| (users[a], users[b]))
                .collect(),
            balls: range
                .flat_map(|user| {
                    [2 * user, 2 * user + 1].map(|ball| SeedBall {
                        owner_id: users[user],
                        ball_id: balls[ball],
                        grams: Grams::new(100),
                        created_at: now,
                        ripens_at: now.plus_millis(-1),
                        expires_at: now.plus_millis(72 * HOUR),
                    })
                })
                .collect(),
            movements: Vec::new(),
            usage: Vec::new(),
            last,
        };
    let first = app
        .store
        .seed_world(&chunk(0..3, &[(0, 1), (1, 0), (1, 2), (2, 1)], false))
        .await
        .unwrap();
    assert_eq!(
        first,
        SeedReport {
            users: 3,
            sessions: 3,
            friendship_rows: 4,
            balls: 6,
            entries: 6,
            grams: 600,
            ..SeedReport::default()
        }
    );
    // A row seeded before is skipped.
    let second = app
        .store
        .seed_world(&chunk(3..5, &[(3, 4), (4, 3), (1, 0)], true))
        .await
        .unwrap();
    assert_eq!(second.friendship_rows, 2);
    assert_eq!((second.users, second.balls, second.grams), (2, 4, 400));

    let report = assert_ledger_sound(&app).await;
    assert_eq!(report.entries, 10);
    assert_eq!(report.issued_grams, 1_000);
    assert_eq!(report.held_grams, 1_000);
    assert!(app.store.are_friends(users[1], users[0]).await.unwrap());
    assert_eq!(app.store.friends(users[1]).await.unwrap().len(), 2);

    // The seeded session works, the balls are ripe, and the friendships hold for stealing.
    let me = json_of(app.get("/v1/me", Some(&token(0))).await, StatusCode::OK).await;
    assert_eq!(me["user"]["user_id"], users[0].uuid().to_string());
    let collected = json_of(
        app.post(
            &format!("/v1/me/balls/{}/collect", balls[0].uuid()),
            Some(&token(0)),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(collected["grams"], 100);
    let stolen = json_of(
        app.post(
            &format!(
                "/v1/friends/{}/balls/{}/steal",
                users[0].uuid(),
                balls[1].uuid()
            ),
            Some(&token(1)),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(stolen["grams"], 30);
    problem_of(
        app.post(
            &format!(
                "/v1/friends/{}/balls/{}/steal",
                users[0].uuid(),
                balls[1].uuid()
            ),
            Some(&token(3)),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let home = json_of(
        app.get("/v1/me/forest", Some(&token(2))).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(home["friends_total"], 1);
    assert_eq!(home["balls"].as_array().unwrap().len(), 2);

    let report = assert_ledger_sound(&app).await;
    assert_eq!(report.entries, 12);
    assert_eq!(report.issued_grams, 1_000);
}

/// `bench seed`'s world, small: 300 users, 30 days, in chunks of 100 (so thieves and friends
/// cross chunks), on either backend.
async fn a_planned_month_of_play_keeps_the_ledger_sound_and_its_ripe_balls_can_be_collected(
    app: TestApp,
) {
    let now = app.now();
    let methodology = openforest_core::Methodology::preset("classic").unwrap();
    let partner_id = PartnerId(openforest_store::new_id(now));
    app.store
        .create_partner(&Partner {
            partner_id,
            name: "world".into(),
            allowed_actions: vec!["walking".into()],
            disabled_at: None,
            created_at: now,
        })
        .await
        .unwrap();
    let mut world = World::plan(WorldSpec {
        users: 300,
        friends_mean: 10,
        days: 30,
        seed: 3,
        now,
        timezone: openforest_core::methodology::parse_timezone("UTC").unwrap(),
        ripening_time: openforest_core::methodology::DEFAULT_RIPENING_LOCAL_TIME,
        rule: methodology.action("walking").unwrap().clone(),
        steal_rules: openforest_core::StealRules::default(),
        partner_id,
        methodology: methodology.name().to_string(),
        methodology_version: methodology.version(),
        run_tag: "it".into(),
        token_hash: hash_token,
        chunk_users: 100,
    });
    let mut report = SeedReport::default();
    // A ball ripe now that its owner has not collected: (owner's number, ball id).
    let mut ripe = None;
    let mut first_user = 0;
    while let Some(planned) = world.next_chunk() {
        let chunk = &planned.chunk;
        for (n, user) in chunk.users.iter().enumerate() {
            let Some(ball) = chunk.balls.iter().find(|ball| {
                ball.owner_id == user.user_id
                    && ball.ripens_at <= now
                    && now < ball.expires_at
                    && !chunk.movements.iter().any(|movement| {
                        movement.ball_id == ball.ball_id
                            && movement.kind == SeedMovementKind::Collect
                    })
            }) else {
                continue;
            };
            ripe = ripe.or(Some((first_user + n as u32, ball.ball_id)));
        }
        first_user += chunk.users.len() as u32;
        report.add(&app.store.seed_world(chunk).await.unwrap());
    }
    assert_eq!(report.users, 300);
    assert_eq!(report.friendship_rows, world.friendship_rows());
    assert!(report.collects > 0 && report.steals > 0 && report.expiries > 0);
    let audit = assert_ledger_sound(&app).await;
    assert_eq!(audit.entries, report.entries);
    assert_eq!(audit.issued_grams, i128::from(report.grams));

    let (owner, ball_id) = ripe.expect("a 300-user month leaves some ball ripe");
    let bearer = world_token("it", owner);
    let home = json_of(
        app.get("/v1/me/forest", Some(&bearer)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(home["friends_total"], world.friends_of(owner));
    let collected = json_of(
        app.post(
            &format!("/v1/me/balls/{}/collect", ball_id.uuid()),
            Some(&bearer),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert!(collected["grams"].as_u64().unwrap() > 0);
    let audit = assert_ledger_sound(&app).await;
    assert_eq!(audit.entries, report.entries + 1);
}
