//! `openforest bench log`: can the transparency log keep up with the ledger? Clients write
//! journal entries through the group-commit writer for a while (the baseline: entries per
//! second); then the sequencer integrates them all, round after round as the server does at
//! each tick, and
//! the log is audited. A ratio of at least 1 means the log integrates faster than the writer
//! writes, so it never falls behind for long.

use super::{Figures, Latencies, Target, print_header, print_row, run_phase};
use openforest_core::{Clock, Command, Grams, Grant, UserId};
use openforest_server::config::Config;
use openforest_server::sequencer::{LogState, Sequencer};
use openforest_store::{Envelope, SystemClock};
use rand::Rng;
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct LogArgs {
    #[command(flatten)]
    pub target: Target,
    /// Users the entries are granted to.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Concurrent writer clients.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Seconds of writing before the sequencer catches up.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

pub async fn run(config: &Config, args: LogArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.users >= 1, "--users must be at least 1");
    anyhow::ensure!(
        (1..=10_000).contains(&args.concurrency),
        "--concurrency is 1 to 10000"
    );
    let database = args.target.prepare().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, config.writer.clone(), clock.clone()).await?;
    let users: Arc<Vec<UserId>> = Arc::new(
        (0..args.users)
            .map(|_| UserId(openforest_store::new_id(SystemClock.now())))
            .collect(),
    );
    // The sequencer as the server runs it. It first logs whatever the database already holds
    // and the log does not (a world `bench seed` built is not logged yet), apart from the
    // measured phase, so that the run's check below holds beside any world.
    let log = LogState::load(store.as_ref()).await?;
    let sequencer = Sequencer::new(store.clone(), clock, log, config.transparency.clone());
    let backlog_started = Instant::now();
    let (backlog, _) = drain(&sequencer).await?;
    let backlog_s = backlog_started.elapsed().as_secs_f64();
    if backlog > 0 {
        eprintln!(
            "logged the {backlog} records the database held before the run in {backlog_s:.1} s"
        );
    }
    let duration = Duration::from_secs(args.seconds.max(1));
    let (written_per_s, write_latencies) = run_phase(
        "writing entries",
        args.concurrency,
        duration,
        |_, deadline| {
            let store = store.clone();
            let users = users.clone();
            async move {
                let mut latencies = Latencies::new()?;
                while Instant::now() < deadline {
                    let user_id = users[rand::thread_rng().gen_range(0..users.len())];
                    let sent = Instant::now();
                    store
                        .execute(Envelope::new(Command::Grant(Grant {
                            admin_id: user_id,
                            user_id,
                            grams: Grams::new(1),
                            reason: "bench log".into(),
                        })))
                        .await
                        .map_err(|err| anyhow::anyhow!("a grant failed: {err}"))?;
                    latencies.record(sent.elapsed());
                }
                Ok(latencies)
            }
        },
    )
    .await?;
    let entries = write_latencies.count();

    let started = Instant::now();
    let (leaves, rounds) = drain(&sequencer).await?;
    let sequenced_per_s = leaves as f64 / started.elapsed().as_secs_f64().max(1e-9);

    let audit_started = Instant::now();
    let audit = openforest_store::log::audit_log(
        store.as_ref(),
        config.transparency.late_commit_grace_ms,
        Arc::new(|_, _| {}),
    )
    .await?;
    let audit_s = audit_started.elapsed().as_secs_f64();
    store.shutdown().await;

    let mut extra = Map::new();
    extra.insert("entries".into(), json!(entries));
    extra.insert("leaves".into(), json!(leaves));
    extra.insert("batch_max".into(), json!(config.transparency.batch_max));
    extra.insert("backlog_records".into(), json!(backlog));
    extra.insert("backlog_seconds".into(), json!(super::round(backlog_s)));
    extra.insert("audit_seconds".into(), json!(super::round(audit_s)));
    extra.insert("log_sound".into(), json!(audit.is_sound()));
    extra.insert(
        "write_p99_ms".into(),
        json!(write_latencies.percentile_ms(99.0)),
    );
    let figures = Figures {
        scenario: "log",
        backend: database.backend,
        users: args.users,
        ops_per_s: sequenced_per_s,
        latencies: rounds,
        baseline_per_s: written_per_s,
        extra,
    };
    println!(
        "scenario log on {} ({} entries written by {} clients in {} s)",
        database.backend, entries, args.concurrency, args.seconds
    );
    print_header("records/s");
    print_row(
        "sequencer (p50/p99: one round)",
        sequenced_per_s,
        &figures.latencies,
    );
    print_row("group-commit writer", written_per_s, &write_latencies);
    println!(
        "ratio {:.1}x; {leaves} leaves; log audit {:.1} s, {}",
        figures.ratio(),
        audit_s,
        if audit.is_sound() { "sound" } else { "BROKEN" }
    );
    let sound = audit.is_sound() && leaves == entries;
    Ok(super::finish(&figures, args.target.json, sound))
}

/// Runs the sequencer as the server does at each tick, round after round until it has
/// everything committed; answers the records it logged and each round's latency.
async fn drain(sequencer: &Sequencer) -> anyhow::Result<(u64, Latencies)> {
    let mut rounds = Latencies::new()?;
    let mut round_started = Instant::now();
    let run = sequencer
        .run_until_caught_up_observed(|_| {
            rounds.record(round_started.elapsed());
            round_started = Instant::now();
        })
        .await?;
    Ok((run.records, rounds))
}
