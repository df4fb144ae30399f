//! Bulk seeding (`Store::seed_world`, behind `openforest bench harvest`): a seeded world keeps
//! the ledger sound and is played like any other over HTTP.

use crate::partners::assert_ledger_sound;
use crate::support::{TestApp, json_of, problem_of};
use openforest_core::{BallId, Grams, Handle, PartnerId, UserId};
use openforest_server::auth::hash_token;
use openforest_store::Partner;
use openforest_store::seed::{SeedBall, SeedChunk, SeedReport, SeedUser, SequentialIds};
use reqwest::StatusCode;
use serde_json::json;

crate::on_both_backends!(a_seeded_world_keeps_the_ledger_sound_and_can_be_played);

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
