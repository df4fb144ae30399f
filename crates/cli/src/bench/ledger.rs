//! `openforest bench ledger`: the group-commit writer against one transaction per operation.
//! Both paths run the very same load-decide-write code; only the batching differs.

use super::{Figures, Latencies, Target, print_header, print_row, run_phase};
use futures_util::future::join_all;
use openforest_core::{Account, Clock, Command, Grams, Grant, Transfer, UserId};
use openforest_server::config::Config;
use openforest_store::{Envelope, Store, SystemClock};
use rand::Rng;
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub target: Target,
    /// Users whose wallets the transfers move between.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Seconds each of the two phases runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

#[derive(Clone, Copy)]
enum Path {
    Writer,
    Unbatched,
}

pub async fn run(config: &Config, args: LedgerArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.users >= 2, "--users must be at least 2");
    anyhow::ensure!(
        (1..=10_000).contains(&args.concurrency),
        "--concurrency is 1 to 10000"
    );
    let database = args.target.prepare().await?;
    let mut writer = config.writer.clone();
    // The unbatched baseline gets as many connections as it can use.
    writer.read_connections = writer.read_connections.max(args.concurrency.min(64) as u32);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, writer, clock).await?;
    let users: Arc<Vec<UserId>> = Arc::new(
        (0..args.users)
            .map(|_| UserId(openforest_store::new_id(SystemClock.now())))
            .collect(),
    );
    seed(&store, &users).await?;
    let duration = Duration::from_secs(args.seconds.max(1));
    let (writer_ops, writer_latencies) =
        phase(&store, &users, args.concurrency, duration, Path::Writer).await?;
    let (baseline_ops, baseline_latencies) =
        phase(&store, &users, args.concurrency, duration, Path::Unbatched).await?;
    let report = store.audit(Arc::new(|_, _| {})).await?;
    store.shutdown().await;

    let mut extra = Map::new();
    extra.insert("concurrency".into(), json!(args.concurrency));
    extra.insert("seconds".into(), json!(args.seconds));
    extra.insert(
        "baseline_p50_ms".into(),
        json!(baseline_latencies.percentile_ms(50.0)),
    );
    extra.insert(
        "baseline_p99_ms".into(),
        json!(baseline_latencies.percentile_ms(99.0)),
    );
    extra.insert("conservation".into(), json!(report.is_sound()));
    let figures = Figures {
        scenario: "ledger",
        backend: database.backend,
        users: args.users,
        ops_per_s: writer_ops,
        latencies: writer_latencies,
        baseline_per_s: baseline_ops,
        extra,
    };
    println!(
        "scenario ledger on {} ({} users, {} clients, {} s per phase)",
        database.backend, args.users, args.concurrency, args.seconds
    );
    print_header("transfers/s");
    print_row("group-commit writer", writer_ops, &figures.latencies);
    print_row(
        "one transaction per transfer",
        baseline_ops,
        &baseline_latencies,
    );
    println!(
        "ratio {:.1}x; conservation {}",
        figures.ratio(),
        if report.is_sound() { "holds" } else { "BROKEN" }
    );
    Ok(super::finish(&figures, args.target.json, report.is_sound()))
}

/// Gives every user a large wallet so no transfer fails for want of energy. Waves stay well
/// under the writer's queue depth.
async fn seed(store: &Arc<dyn Store>, users: &Arc<Vec<UserId>>) -> anyhow::Result<()> {
    let bar = indicatif::ProgressBar::new(users.len() as u64);
    bar.set_message("seeding wallets");
    for wave in users.chunks(4_096) {
        let grants = wave.iter().map(|user_id| {
            store.execute(Envelope::new(Command::Grant(Grant {
                admin_id: *user_id,
                user_id: *user_id,
                grams: Grams::new(1_000_000_000),
                reason: "bench seed".into(),
            })))
        });
        for result in join_all(grants).await {
            result?;
        }
        bar.inc(wave.len() as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

/// Runs `concurrency` clients for `duration`, each sending 1 g transfers between random
/// wallets one after another; answers transfers per second and their latencies.
async fn phase(
    store: &Arc<dyn Store>,
    users: &Arc<Vec<UserId>>,
    concurrency: usize,
    duration: Duration,
    path: Path,
) -> anyhow::Result<(f64, Latencies)> {
    let label = match path {
        Path::Writer => "group-commit writer",
        Path::Unbatched => "one transaction per transfer",
    };
    run_phase(label, concurrency, duration, |_, deadline| {
        let store = store.clone();
        let users = users.clone();
        async move {
            let mut latencies = Latencies::new()?;
            while Instant::now() < deadline {
                let envelope = {
                    let mut rng = rand::thread_rng();
                    let from = users[rng.gen_range(0..users.len())];
                    let mut to = users[rng.gen_range(0..users.len())];
                    while to == from {
                        to = users[rng.gen_range(0..users.len())];
                    }
                    Envelope::new(Command::Transfer(Transfer {
                        user_id: from,
                        from: Account::Wallet { user_id: from },
                        to: Account::Wallet { user_id: to },
                        grams: Grams::new(1),
                    }))
                };
                let sent = Instant::now();
                match path {
                    Path::Writer => store.execute(envelope).await,
                    Path::Unbatched => store.execute_unbatched(envelope).await,
                }
                .map_err(|err| anyhow::anyhow!("a transfer failed on the {label} path: {err}"))?;
                latencies.record(sent.elapsed());
            }
            Ok(latencies)
        }
    })
    .await
}
