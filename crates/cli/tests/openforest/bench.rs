//! `openforest bench` scenarios run tiny, for what they check rather than how fast: the
//! figures belong in docs/BENCHMARKS.md, the checks must hold on every run.

use crate::support::{Backend, TestDatabase};
use serde_json::Value;

/// Runs `openforest bench ARGS --json` with a clean `OPENFOREST_*` environment; answers whether
/// it succeeded and its JSON line.
fn bench(args: &[&str]) -> (bool, Value) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_openforest"));
    for (key, _) in std::env::vars() {
        if key.starts_with("OPENFOREST_") {
            command.env_remove(key);
        }
    }
    let output = command
        .arg("bench")
        .args(args)
        .arg("--json")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let figures = serde_json::from_str(last).unwrap_or_else(|err| {
        panic!(
            "no JSON line ({err}): {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), figures)
}

/// Four connections ask for a tree whose quota is 3 with their first pledge, at once: one of
/// them must hear "sold out", and the three counts of what was sold (the clients', the
/// writer's counter, the pledge rows) must be the quota exactly.
async fn bench_plant_never_oversells_a_scarce_quota_and_keeps_every_gram(backend: Backend) {
    let Some(database) = TestDatabase::new(backend).await else {
        return;
    };
    let (succeeded, figures) = bench(&[
        "plant",
        "--database-url",
        &database.url,
        // Enough wallets that no phase runs out of energy however fast the machine pledges.
        "--users",
        "1000",
        "--concurrency",
        "4",
        "--seconds",
        "1",
        "--scarce-quota",
        "3",
    ]);
    assert!(succeeded, "{figures}");
    assert_eq!(figures["scenario"], "plant");
    assert_eq!(figures["scarce_quota"], 3);
    assert_eq!(figures["scarce_accepted"], 3, "{figures}");
    assert_eq!(figures["scarce_counter"], 3, "{figures}");
    assert_eq!(figures["scarce_pledged"], 3, "{figures}");
    assert!(figures["sold_out"].as_u64().unwrap() >= 1, "{figures}");
    assert_eq!(figures["oversold"], false);
    assert_eq!(figures["quota_holds"], true);
    assert_eq!(figures["refused_energy"], 0);
    // The ample items were planted too, and every pledge came with its card.
    assert!(figures["pledges"].as_u64().unwrap() > 3, "{figures}");
    assert_eq!(figures["without_card"], 0, "{figures}");
    assert_eq!(figures["conservation"], true);
    for key in ["ops_per_s", "p50_ms", "p99_ms", "baseline_per_s", "ratio"] {
        assert!(figures[key].is_number(), "{key} in {figures}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_plant_never_oversells_a_scarce_quota_and_keeps_every_gram_on_sqlite() {
    bench_plant_never_oversells_a_scarce_quota_and_keeps_every_gram(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_plant_never_oversells_a_scarce_quota_and_keeps_every_gram_on_postgres() {
    bench_plant_never_oversells_a_scarce_quota_and_keeps_every_gram(Backend::Postgres).await;
}
