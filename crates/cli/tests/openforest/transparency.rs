//! The public transparency log on both backends: proofs from the API verify offline against
//! the signed head with the published key, and `verify` names tampered entries and leaves.

use crate::support::{TestApp, json_of, tamper};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openforest_core::log::{
    CHUNK_LEAVES, Hash, LogKey, LogProblem, LogRecord, RecordKind, SignedTreeHead, Tree, TreeHead,
    leaf_hash, verify_consistency, verify_head, verify_inclusion,
};
use openforest_core::{Command, Grams, Grant, UserId};
use openforest_server::config::TransparencyConfig;
use openforest_server::sequencer::{LogState, Sequencer};
use openforest_store::Envelope;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;

fn user(n: u128) -> UserId {
    UserId(uuid::Uuid::from_u128(
        0x0100_0000_0000_7000_8000_0000_0000_0000 + n,
    ))
}

async fn grant(app: &TestApp, to: u128, grams: u64) {
    app.store
        .execute(Envelope::new(Command::Grant(Grant {
            admin_id: user(999),
            user_id: user(to),
            grams: Grams::new(grams),
            reason: format!("welcome {to}"),
        })))
        .await
        .unwrap();
}

/// Runs the sequencer the way the server's timer would, until it has taken everything.
pub(crate) async fn sequence(app: &TestApp) {
    let log = LogState::load(app.store.as_ref()).await.unwrap();
    Sequencer::new(
        app.store.clone(),
        app.clock.clone(),
        log,
        TransparencyConfig::default(),
    )
    .run_until_caught_up()
    .await
    .unwrap();
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    json_of(app.get(path, None).await, StatusCode::OK).await
}

fn hash(value: &Value) -> Hash {
    Hash::from_hex(value.as_str().unwrap()).unwrap()
}

fn hashes(value: &Value) -> Vec<Hash> {
    value.as_array().unwrap().iter().map(hash).collect()
}

/// The published key, checked against its own key id.
async fn published_key(app: &TestApp) -> ed25519_dalek::VerifyingKey {
    let key = get_json(app, "/v1/log/key").await;
    assert_eq!(key["algorithm"], "Ed25519");
    let raw = STANDARD
        .decode(key["public_key"].as_str().unwrap())
        .unwrap();
    let key_bytes: [u8; 32] = raw.try_into().unwrap();
    let verifying = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).unwrap();
    assert_eq!(
        openforest_core::log::key_id(&verifying),
        hash(&key["key_id"])
    );
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let from_pem = ed25519_dalek::VerifyingKey::from_public_key_pem(key["pem"].as_str().unwrap());
    assert_eq!(from_pem.unwrap(), verifying);
    verifying
}

/// The latest signed head from the API, its signature checked with the published key.
async fn signed_head(app: &TestApp) -> SignedTreeHead {
    let head = get_json(app, "/v1/log/head").await;
    let signature = STANDARD
        .decode(head["signature"].as_str().unwrap())
        .unwrap();
    let signed = SignedTreeHead {
        head: TreeHead {
            tree_size: head["tree_size"].as_u64().unwrap(),
            root: hash(&head["root_hash"]),
            timestamp_ms: head["timestamp_ms"].as_u64().unwrap(),
        },
        key_id: hash(&head["key_id"]),
        signature: signature.try_into().unwrap(),
    };
    assert_eq!(verify_head(&signed, &published_key(app).await), Ok(()));
    signed
}

pub(crate) async fn log_audit(app: &TestApp) -> openforest_core::log::LogAuditReport {
    openforest_store::log::audit_log(
        app.store.as_ref(),
        TransparencyConfig::default().late_commit_grace_ms,
        Arc::new(|_, _| {}),
    )
    .await
    .unwrap()
}

fn is_postgres(app: &TestApp) -> bool {
    app.database.url.starts_with("postgres")
}

async fn an_entrys_inclusion_proof_verifies_offline_against_the_signed_head(app: TestApp) {
    for (n, grams) in [(1, 500), (2, 300), (3, 200)] {
        grant(&app, n, grams).await;
    }
    sequence(&app).await;
    let head = signed_head(&app).await;
    assert_eq!(head.head.tree_size, 3);

    let leaf = get_json(&app, "/v1/log/leaves/1").await;
    let record = STANDARD.decode(leaf["record"].as_str().unwrap()).unwrap();
    assert_eq!(leaf_hash(&record), hash(&leaf["leaf_hash"]));
    let entry_id = leaf["record_id"].as_str().unwrap();

    let proof = get_json(
        &app,
        &format!("/v1/log/proofs/inclusion?record_id={entry_id}&tree_size=3"),
    )
    .await;
    assert_eq!(proof["leaf_index"], 1);
    assert_eq!(
        verify_inclusion(
            &leaf_hash(&record),
            1,
            head.head.tree_size,
            &hashes(&proof["audit_path"]),
            &head.head.root,
        ),
        Ok(())
    );
    // The same proof does not vouch for another record.
    assert!(
        verify_inclusion(
            &leaf_hash(b"another record"),
            1,
            head.head.tree_size,
            &hashes(&proof["audit_path"]),
            &head.head.root,
        )
        .is_err()
    );
    // The record is the journal row, field by field.
    let stored = app
        .store
        .log_records(RecordKind::JournalEntry, &[entry_id.parse().unwrap()])
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].encode(), record);
    let LogRecord::JournalEntry(entry) = &stored[0] else {
        panic!("a journal entry's record is a journal record");
    };
    let granted = [(500, "welcome 1"), (300, "welcome 2"), (200, "welcome 3")];
    let reason = format!("admin {}: ", user(999).uuid());
    let reference = entry
        .reference
        .as_deref()
        .unwrap()
        .strip_prefix(&reason)
        .unwrap();
    assert!(granted.contains(&(entry.grams, reference)));
    app.stop().await;
}

async fn a_consistency_proof_between_an_older_and_a_newer_head_verifies(app: TestApp) {
    grant(&app, 1, 500).await;
    grant(&app, 2, 300).await;
    sequence(&app).await;
    let older = signed_head(&app).await;
    for n in 3..=7 {
        grant(&app, n, 100 + n as u64).await;
    }
    sequence(&app).await;
    let newer = signed_head(&app).await;
    assert_eq!((older.head.tree_size, newer.head.tree_size), (2, 7));

    let proof = get_json(&app, "/v1/log/proofs/consistency?first=2&second=7").await;
    let path = hashes(&proof["consistency_path"]);
    assert_eq!(
        verify_consistency(2, 7, &older.head.root, &newer.head.root, &path),
        Ok(())
    );
    assert!(verify_consistency(2, 7, &newer.head.root, &newer.head.root, &path).is_err());
    // An inclusion proof against the older head still verifies after the log grew.
    let leaf = get_json(&app, "/v1/log/leaves/0").await;
    let proof = get_json(&app, "/v1/log/proofs/inclusion?leaf_index=0&tree_size=2").await;
    assert_eq!(
        verify_inclusion(
            &hash(&leaf["leaf_hash"]),
            0,
            2,
            &hashes(&proof["audit_path"]),
            &older.head.root
        ),
        Ok(())
    );
    app.stop().await;
}

async fn a_head_signed_with_another_key_is_rejected(app: TestApp) {
    grant(&app, 1, 500).await;
    sequence(&app).await;
    let genuine = signed_head(&app).await;
    let key = published_key(&app).await;
    let forged = LogKey::from_seed([9; 32]).sign(genuine.head);
    assert!(verify_head(&forged, &key).is_err());
    let mut borrowed_id = forged;
    borrowed_id.key_id = genuine.key_id;
    assert!(verify_head(&borrowed_id, &key).is_err());

    // A head forged in the database is caught by verify.
    let signature = borrowed_id
        .signature
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>();
    let literal = if is_postgres(&app) {
        format!("decode('{signature}', 'hex')")
    } else {
        format!("x'{signature}'")
    };
    tamper(
        &app.database.url,
        &format!("UPDATE log_heads SET signature = {literal}"),
    )
    .await;
    let report = log_audit(&app).await;
    assert!(matches!(
        report.problems.as_slice(),
        [LogProblem::BadHeadSignature { tree_size: 1, .. }]
    ));
    app.stop().await;
}

/// The entry of `grams` grams, and its leaf index.
async fn logged_entry(app: &TestApp, grams: i64) -> (u64, uuid::Uuid) {
    let leaves = app.store.log_leaves(0, 100).await.unwrap();
    for leaf in leaves {
        let records = app
            .store
            .log_records(leaf.record_kind, &[leaf.record_id])
            .await
            .unwrap();
        if let [LogRecord::JournalEntry(entry)] = records.as_slice()
            && entry.grams == grams
        {
            return (leaf.leaf_index, leaf.record_id);
        }
    }
    panic!("no logged entry of {grams} g");
}

async fn a_changed_reference_or_time_fails_verify_naming_the_entry(app: TestApp) {
    grant(&app, 1, 500).await;
    grant(&app, 2, 300).await;
    sequence(&app).await;
    assert!(log_audit(&app).await.is_sound());
    let (bob_leaf, bob_entry) = logged_entry(&app, 300).await;
    let (ana_leaf, ana_entry) = logged_entry(&app, 500).await;

    tamper(
        &app.database.url,
        "UPDATE journal SET reference = 'a different reason' WHERE grams = 300;
         UPDATE journal SET at_ms = at_ms - 1 WHERE grams = 500",
    )
    .await;
    // The balances still add up: only the log sees it.
    assert!(
        app.store
            .audit(Arc::new(|_, _| {}))
            .await
            .unwrap()
            .is_sound()
    );
    let report = log_audit(&app).await;
    let mut named: Vec<(u64, uuid::Uuid)> = report
        .problems
        .iter()
        .map(|problem| match problem {
            LogProblem::LeafMismatch {
                leaf_index,
                record_kind: RecordKind::JournalEntry,
                record_id,
                ..
            } => (*leaf_index, *record_id),
            other => panic!("unexpected problem {other:?}"),
        })
        .collect();
    named.sort();
    let mut expected = vec![(bob_leaf, bob_entry), (ana_leaf, ana_entry)];
    expected.sort();
    assert_eq!(named, expected);
    app.stop().await;
}

async fn a_changed_leaf_hash_fails_verify_naming_the_leaf(app: TestApp) {
    for n in 1..=3 {
        grant(&app, n, 100 * n as u64).await;
    }
    sequence(&app).await;
    let zeros = if is_postgres(&app) {
        "decode(repeat('00', 32), 'hex')"
    } else {
        "zeroblob(32)"
    };
    tamper(
        &app.database.url,
        &format!("UPDATE log_leaves SET leaf_hash = {zeros} WHERE leaf_index = 1"),
    )
    .await;
    let report = log_audit(&app).await;
    assert!(matches!(
        report.problems.as_slice(),
        [
            LogProblem::LeafMismatch { leaf_index: 1, .. },
            LogProblem::RootMismatch { tree_size: 3, .. }
        ]
    ));
    app.stop().await;
}

async fn a_deleted_journal_row_fails_verify(app: TestApp) {
    grant(&app, 1, 500).await;
    grant(&app, 2, 300).await;
    sequence(&app).await;
    let (leaf_index, record_id) = logged_entry(&app, 300).await;
    tamper(&app.database.url, "DELETE FROM journal WHERE grams = 300").await;
    let report = log_audit(&app).await;
    assert_eq!(
        report.problems,
        vec![LogProblem::RecordMissing {
            leaf_index,
            record_kind: RecordKind::JournalEntry,
            record_id,
        }]
    );
    app.stop().await;
}

async fn entries_not_yet_sequenced_are_pending_not_problems(app: TestApp) {
    grant(&app, 1, 500).await;
    sequence(&app).await;
    grant(&app, 2, 300).await;
    grant(&app, 3, 200).await;
    let report = log_audit(&app).await;
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!((report.leaves, report.pending_records), (1, 2));
    sequence(&app).await;
    let report = log_audit(&app).await;
    assert_eq!((report.leaves, report.pending_records), (3, 0));
    assert!(report.is_sound());
    app.stop().await;
}

/// At each tick the server's sequencer runs rounds until one is not full, each round going on
/// from where the last stopped: a backlog of many rounds, all at one instant (as a seeded
/// world's), is logged whole, in order, every entry once.
async fn a_backlog_of_many_rounds_is_logged_in_one_run(app: TestApp) {
    let writes = (1..=230u128).map(|n| grant(&app, n, 10));
    futures_util::future::join_all(writes).await;
    let log = LogState::load(app.store.as_ref()).await.unwrap();
    let sequencer = Sequencer::new(
        app.store.clone(),
        app.clock.clone(),
        log.clone(),
        TransparencyConfig {
            batch_max: 50,
            ..TransparencyConfig::default()
        },
    );
    let mut rounds = Vec::new();
    let run = sequencer
        .run_until_caught_up_observed(|round| rounds.push(round.records))
        .await
        .unwrap();
    assert_eq!(run.records, 230);
    assert_eq!(rounds, [50, 50, 50, 50, 30]);
    assert_eq!(log.size(), 230);
    let report = log_audit(&app).await;
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!((report.leaves, report.pending_records), (230, 0));
    app.stop().await;
}

async fn a_log_of_several_chunks_proves_from_storage_what_memory_forgot(app: TestApp) {
    const LEAVES: u64 = 2 * CHUNK_LEAVES + 52;
    let writes = (1..=u128::from(LEAVES)).map(|n| grant(&app, n, 10));
    futures_util::future::join_all(writes).await;
    sequence(&app).await;
    let log = LogState::load(app.store.as_ref()).await.unwrap();
    assert_eq!(log.size(), LEAVES);
    // Two chunk hashes and their parent, then the last 52 leaves and their parents: not the
    // 4,200 hashes of a whole tree.
    assert!(log.hashes_held() < 120, "{} hashes held", log.hashes_held());

    let stored = app.store.log_leaves(0, LEAVES as u32).await.unwrap();
    let whole = Tree::from_leaf_hashes(stored.iter().map(|leaf| leaf.leaf_hash));
    let head = signed_head(&app).await;
    assert_eq!(
        (head.head.tree_size, head.head.root),
        (LEAVES, whole.root())
    );
    for (index, tree_size) in [(5, LEAVES), (1_500, LEAVES), (5, 700), (2_090, LEAVES)] {
        let proof = get_json(
            &app,
            &format!("/v1/log/proofs/inclusion?leaf_index={index}&tree_size={tree_size}"),
        )
        .await;
        assert_eq!(
            hashes(&proof["audit_path"]),
            whole.inclusion_proof(index, tree_size).unwrap()
        );
        assert_eq!(
            verify_inclusion(
                &stored[index as usize].leaf_hash,
                index,
                tree_size,
                &hashes(&proof["audit_path"]),
                &whole.root_at(tree_size).unwrap(),
            ),
            Ok(())
        );
    }
    let proof = get_json(
        &app,
        &format!("/v1/log/proofs/consistency?first=1500&second={LEAVES}"),
    )
    .await;
    let first_root = whole.root_at(1_500).unwrap();
    assert_eq!(hash(&proof["first_root_hash"]), first_root);
    assert_eq!(
        verify_consistency(
            1_500,
            LEAVES,
            &first_root,
            &head.head.root,
            &hashes(&proof["consistency_path"])
        ),
        Ok(())
    );
    let report = log_audit(&app).await;
    assert!(report.is_sound(), "{:?}", report.problems);
    assert_eq!(report.leaves, LEAVES);

    // A leaf rewritten in storage inside a forgotten chunk cannot feed a proof.
    tamper(
        &app.database.url,
        &format!(
            "UPDATE log_leaves SET leaf_hash = {} WHERE leaf_index = 7",
            zero_hash(&app)
        ),
    )
    .await;
    let refused = app.get("/v1/log/proofs/inclusion?leaf_index=7", None).await;
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!log_audit(&app).await.is_sound());
    app.stop().await;
}

fn zero_hash(app: &TestApp) -> String {
    let zeros = "00".repeat(32);
    if is_postgres(app) {
        format!("decode('{zeros}', 'hex')")
    } else {
        format!("x'{zeros}'")
    }
}

async fn an_entry_older_than_the_window_that_the_log_lacks_is_a_problem(app: TestApp) {
    grant(&app, 1, 500).await;
    sequence(&app).await;
    let (_, first) = logged_entry(&app, 500).await;
    app.advance(60_000);
    grant(&app, 2, 300).await;
    sequence(&app).await;
    // Unlogging the older entry (as if it had been suppressed from the log) leaves it behind
    // the sequencer's window: the sequencer will not take it, and verify says so.
    tamper(
        &app.database.url,
        "DELETE FROM log_leaves WHERE leaf_index = 0; DELETE FROM log_heads",
    )
    .await;
    let report = log_audit(&app).await;
    assert!(report.problems.contains(&LogProblem::RecordNotLogged {
        record_kind: RecordKind::JournalEntry,
        record_id: first,
    }));
    assert!(report.problems.contains(&LogProblem::LeafGap {
        expected_index: 0,
        found_index: 1,
    }));
    app.stop().await;
}

async fn assert_client_problem(app: &TestApp, path: &str) {
    let response = app.get(path, None).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_string());
    let body = response.text().await.unwrap();
    assert!(status.is_client_error(), "{path}: {status} {body}");
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "{path}"
    );
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], status.as_u16());
}

async fn bad_log_queries_are_client_problems_not_server_errors(app: TestApp) {
    assert_client_problem(&app, "/v1/log/head").await;
    grant(&app, 1, 500).await;
    grant(&app, 2, 300).await;
    sequence(&app).await;
    for path in [
        "/v1/log/leaves/abc",
        "/v1/log/leaves/-1",
        "/v1/log/leaves/99",
        "/v1/log/proofs/inclusion",
        "/v1/log/proofs/inclusion?leaf_index=abc",
        "/v1/log/proofs/inclusion?leaf_index=5&tree_size=2",
        "/v1/log/proofs/inclusion?leaf_index=0&tree_size=99",
        "/v1/log/proofs/inclusion?leaf_index=0&tree_size=18446744073709551615",
        "/v1/log/proofs/inclusion?leaf_index=0&record_id=0190a0a0-0000-7000-8000-000000000000",
        "/v1/log/proofs/inclusion?record_id=not-a-uuid",
        "/v1/log/proofs/inclusion?record_id=0190a0a0-0000-7000-8000-000000000000",
        "/v1/log/proofs/inclusion?record_id=0190a0a0-0000-7000-8000-000000000000&record_kind=tree",
        "/v1/log/proofs/inclusion?leaf_index=0&surprise=1",
        "/v1/log/proofs/consistency",
        "/v1/log/proofs/consistency?first=0&second=2",
        "/v1/log/proofs/consistency?first=2&second=1",
        "/v1/log/proofs/consistency?first=1&second=99",
        "/v1/log/proofs/consistency?first=x",
    ] {
        assert_client_problem(&app, path).await;
    }
    app.stop().await;
}

crate::on_both_backends!(
    an_entrys_inclusion_proof_verifies_offline_against_the_signed_head,
    a_consistency_proof_between_an_older_and_a_newer_head_verifies,
    a_head_signed_with_another_key_is_rejected,
    a_changed_reference_or_time_fails_verify_naming_the_entry,
    a_changed_leaf_hash_fails_verify_naming_the_leaf,
    a_deleted_journal_row_fails_verify,
    entries_not_yet_sequenced_are_pending_not_problems,
    a_backlog_of_many_rounds_is_logged_in_one_run,
    a_log_of_several_chunks_proves_from_storage_what_memory_forgot,
    an_entry_older_than_the_window_that_the_log_lacks_is_a_problem,
    bad_log_queries_are_client_problems_not_server_errors,
);
