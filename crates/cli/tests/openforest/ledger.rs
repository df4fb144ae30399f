//! The ledger through the real writer on both backends: conservation under random and
//! concurrent commands, overdraft races, backpressure, and tamper detection.

use crate::support::{Backend, TestApp, json_of, problem_of, tamper};
use futures_util::future::join_all;
use openforest_core::{
    Account, AuditProblem, Command, Grams, Grant, LedgerError, Rejection, Transfer, UserId,
};
use openforest_store::{CommandError, Envelope, IdempotencyKey, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;

fn user(n: u128) -> UserId {
    UserId(uuid::Uuid::from_u128(
        0x0100_0000_0000_7000_8000_0000_0000_0000 + n,
    ))
}

fn grant(to: UserId, grams: u64) -> Command {
    Command::Grant(Grant {
        admin_id: user(999),
        user_id: to,
        grams: Grams::new(grams),
        reason: "test".into(),
    })
}

fn transfer(from: UserId, to: UserId, grams: u64) -> Command {
    Command::Transfer(Transfer {
        user_id: from,
        from: Account::Wallet { user_id: from },
        to: Account::Wallet { user_id: to },
        grams: Grams::new(grams),
    })
}

async fn wallet(store: &Arc<dyn Store>, user_id: UserId) -> u64 {
    store.wallet(user_id).await.unwrap().get()
}

async fn random_commands_through_the_writer_keep_conservation(app: TestApp) {
    let store = app.store.clone();
    let mut rng = StdRng::seed_from_u64(2016);
    let users: Vec<UserId> = (0..8).map(user).collect();
    let mut accepted_grams: u64 = 0;
    for _wave in 0..20 {
        let mut wave = Vec::new();
        for _ in 0..100 {
            let from = users[rng.gen_range(0..users.len())];
            let to = users[rng.gen_range(0..users.len())];
            let command = if rng.gen_bool(0.4) {
                grant(to, rng.gen_range(0..3_000))
            } else {
                transfer(from, to, rng.gen_range(0..4_000))
            };
            // A few keys repeat on purpose: same body replays, another body conflicts.
            let idempotency = rng.gen_bool(0.3).then(|| IdempotencyKey {
                scope: "test".into(),
                key: format!("key-{}", rng.gen_range(0..40)),
                fingerprint: [u8::from(rng.gen_bool(0.5)); 32],
            });
            wave.push(Envelope {
                command,
                idempotency,
            });
        }
        let results = join_all(wave.iter().cloned().map(|envelope| store.execute(envelope))).await;
        for (envelope, result) in wave.iter().zip(results) {
            match result {
                Ok(executed) if !executed.replayed => {
                    if let Command::Grant(grant) = &envelope.command {
                        accepted_grams += grant.grams.get();
                    }
                }
                Ok(_) => {}
                Err(CommandError::Rejected(_) | CommandError::IdempotencyConflict) => {}
                Err(other) => panic!("unexpected failure: {other}"),
            }
        }
    }
    let report = store.audit(Arc::new(|_, _| {})).await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.issued_grams, i128::from(accepted_grams));
    let mut held = 0;
    for user_id in &users {
        held += wallet(&store, *user_id).await;
    }
    assert_eq!(held, accepted_grams, "every issued gram is in some wallet");
    app.stop().await;
}

/// 500 clients race to take 1 g each from a wallet holding 100 g.
async fn race_for_one_wallet(store: &Arc<dyn Store>, unbatched: bool) {
    let owner = user(1);
    store
        .execute(Envelope::new(grant(owner, 100)))
        .await
        .unwrap();
    let attempts = (0..500).map(|n| {
        let envelope = Envelope::new(transfer(owner, user(1_000 + n), 1));
        let store = store.clone();
        async move {
            if unbatched {
                store.execute_unbatched(envelope).await
            } else {
                store.execute(envelope).await
            }
        }
    });
    let results = join_all(attempts).await;
    let moved = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(moved, 100, "exactly what the wallet held moved");
    for result in results.iter().filter_map(|result| result.as_ref().err()) {
        assert!(
            matches!(
                result,
                CommandError::Rejected(Rejection::Ledger(LedgerError::InsufficientEnergy { .. }))
            ),
            "{result}"
        );
    }
    assert_eq!(wallet(store, owner).await, 0);
    let report = store.audit(Arc::new(|_, _| {})).await.unwrap();
    assert!(report.is_sound(), "{:?}", report.problems);
}

async fn concurrent_transfers_never_overdraw_a_wallet(app: TestApp) {
    race_for_one_wallet(&app.store, false).await;
    app.stop().await;
}

async fn the_unbatched_baseline_decides_exactly_like_the_writer(app: TestApp) {
    race_for_one_wallet(&app.store, true).await;
    app.stop().await;
}

/// Transfers both ways between two users run on different writer lanes (PostgreSQL) and lock
/// the same rows: none may fail or be lost.
async fn crossing_transfers_between_two_users_all_succeed(app: TestApp) {
    let (ana, ben) = (user(1), user(2));
    for user_id in [ana, ben] {
        app.store
            .execute(Envelope::new(grant(user_id, 1_000)))
            .await
            .unwrap();
    }
    let transfers = (0..400).map(|n| {
        let store = app.store.clone();
        let (from, to) = if n % 2 == 0 { (ana, ben) } else { (ben, ana) };
        async move { store.execute(Envelope::new(transfer(from, to, 1))).await }
    });
    for result in join_all(transfers).await {
        result.unwrap();
    }
    assert_eq!(wallet(&app.store, ana).await, 1_000);
    assert_eq!(wallet(&app.store, ben).await, 1_000);
    let report = app.store.audit(Arc::new(|_, _| {})).await.unwrap();
    assert_eq!(report.entries, 402);
    assert!(report.is_sound());
    app.stop().await;
}

async fn verify_names_a_tampered_balance_and_a_tampered_journal_row(app: TestApp) {
    let ana = user(1);
    app.store
        .execute(Envelope::new(grant(ana, 500)))
        .await
        .unwrap();
    tamper(&app.database.url, "UPDATE balances SET grams = grams + 1").await;
    let report = app.store.audit(Arc::new(|_, _| {})).await.unwrap();
    assert!(!report.is_sound());
    assert_eq!(
        report.problems,
        vec![AuditProblem::BalanceMismatch {
            account: Account::Wallet { user_id: ana },
            stored_grams: 501,
            journal_grams: 500,
        }]
    );
    tamper(
        &app.database.url,
        "UPDATE balances SET grams = grams - 1; UPDATE journal SET grams = 499",
    )
    .await;
    let report = app.store.audit(Arc::new(|_, _| {})).await.unwrap();
    assert!(matches!(
        report.problems.as_slice(),
        [AuditProblem::BalanceMismatch {
            stored_grams: 500,
            journal_grams: 499,
            ..
        }]
    ));
    app.stop().await;
}

/// Shutdown closes the lanes, then the writer commits and answers everything already queued.
async fn shutdown_commits_every_queued_command(app: TestApp) {
    let store = app.store.clone();
    let mut callers: Vec<_> = (0..300)
        .map(|n| Box::pin(store.execute(Envelope::new(grant(user(n % 10), 1)))))
        .collect();
    // One poll enqueues a command (the enqueue is synchronous). The writer may already have
    // answered it when the thread running this test was preempted; an answer must be a success.
    let mut waiting = Vec::new();
    for mut caller in callers.drain(..) {
        match futures_util::poll!(caller.as_mut()) {
            std::task::Poll::Ready(answer) => {
                answer.expect("a command answered before shutdown is committed");
            }
            std::task::Poll::Pending => waiting.push(caller),
        }
    }
    store.shutdown().await;
    for caller in waiting {
        caller
            .await
            .expect("a queued command is committed, not dropped, at shutdown");
    }
    // New commands are refused once the writer has stopped.
    let late = store.execute(Envelope::new(grant(user(1), 1))).await;
    assert_eq!(late, Err(CommandError::ShuttingDown));
    let reopened = openforest_store::open(
        &app.database.url,
        openforest_store::WriterOptions::default(),
        app.clock.clone(),
    )
    .await
    .unwrap();
    let report = reopened.audit(Arc::new(|_, _| {})).await.unwrap();
    assert_eq!(report.entries, 300);
    assert!(report.is_sound());
    reopened.shutdown().await;
    app.stop().await;
}

crate::on_both_backends!(
    shutdown_commits_every_queued_command,
    random_commands_through_the_writer_keep_conservation,
    concurrent_transfers_never_overdraw_a_wallet,
    the_unbatched_baseline_decides_exactly_like_the_writer,
    crossing_transfers_between_two_users_all_succeed,
    verify_names_a_tampered_balance_and_a_tampered_journal_row,
);

/// With a queue of one and batches of one, a burst must overflow: the overflow gets 503 with
/// Retry-After, and everything acknowledged is in the ledger.
async fn a_full_writer_queue_answers_503_with_retry_after(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.writer.queue_depth = 1;
        config.writer.batch_max = 1;
        config.writer.postgres_writers = 1;
    })
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let (user_id, token) = app.user("ana").await;
    let burst = (0..300).map(|_| {
        app.http
            .post(app.url("/v1/admin/grants"))
            .bearer_auth(&admin)
            .json(&json!({"user_id": user_id, "grams": 1, "reason": "burst"}))
            .send()
    });
    let mut granted = 0;
    let mut overloaded = 0;
    for response in join_all(burst).await {
        let response = response.unwrap();
        match response.status() {
            StatusCode::CREATED => granted += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(response.headers()["retry-after"], "1");
                let problem = problem_of(response, StatusCode::SERVICE_UNAVAILABLE).await;
                assert_eq!(problem["type"], "/problems/overloaded");
                overloaded += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(overloaded > 0, "a burst of 300 must overflow a queue of 1");
    assert_eq!(app.wallet(&token).await, granted);
    let me = json_of(app.get("/v1/me", Some(&token)).await, StatusCode::OK).await;
    assert_eq!(me["wallet_grams"], granted);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_writer_queue_answers_503_with_retry_after_on_sqlite() {
    a_full_writer_queue_answers_503_with_retry_after(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_writer_queue_answers_503_with_retry_after_on_postgres() {
    a_full_writer_queue_answers_503_with_retry_after(Backend::Postgres).await;
}
