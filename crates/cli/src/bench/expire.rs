//! `openforest bench expire`: a day's balls expire. Users whose balls all expired a moment ago
//! are seeded straight into the store; then the server's expiry job
//! (`jobs::expire_due_balls`) gives what each still holds to the expired account, through the
//! group-commit writer, page after page. The baseline, on the same database in the same run:
//! the same job with each ball expired in a transaction of its own
//! (`Store::execute_unbatched`), for `--seconds`. The run ends with the conservation audit.

use super::{Figures, Latencies, Target, print_header, print_row, round};
use anyhow::Context;
use futures_util::future::join_all;
use openforest_core::{BallId, Clock, Command, Expire, Grams, Handle, Outcome, PartnerId, UserId};
use openforest_server::auth::hash_token;
use openforest_server::config::Config;
use openforest_store::seed::{SeedBall, SeedChunk, SeedReport, SeedUser, SequentialIds};
use openforest_store::{DueCursor, Envelope, Partner, Store, SystemClock};
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct ExpireArgs {
    #[command(flatten)]
    pub target: Target,
    /// Users seeded, each with `--balls` balls that expired a moment before the run.
    #[arg(long, default_value_t = 100_000)]
    pub users: u64,
    /// Balls per user (a day's collecting: Ant Forest makes a few a day).
    #[arg(long, default_value_t = 4)]
    pub balls: u64,
    /// Seconds of the unbatched baseline, which expires the first balls one transaction each.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
}

/// Users per seeding transaction.
const SEED_CHUNK_USERS: usize = 10_000;
/// Balls the baseline reads and expires per round, as the job does.
const PAGE: u32 = 1_000;

pub async fn run(config: &Config, args: ExpireArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.users >= 1, "--users must be at least 1");
    anyhow::ensure!((1..=100).contains(&args.balls), "--balls is 1 to 100");
    let database = args.target.prepare().await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, config.writer.clone(), clock.clone()).await?;

    let seeding = Instant::now();
    let seeded = seed(&store, config, &args).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    eprintln!(
        "seeded {} users and {} expired balls ({} g) in {seed_seconds:.1} s",
        seeded.users, seeded.balls, seeded.grams
    );

    // The baseline: the job's loop, each ball expired in a transaction of its own.
    let deadline = Instant::now() + Duration::from_secs(args.seconds.max(1));
    let baseline_started = Instant::now();
    let mut baseline_balls = 0u64;
    let mut baseline = Latencies::new()?;
    let mut cursor = DueCursor::START;
    while Instant::now() < deadline {
        let due = store.due_balls(clock.now(), cursor, PAGE).await?;
        let Some(&(user_id, ball_id, expires_at)) = due.last() else {
            break;
        };
        cursor = DueCursor::after(user_id, ball_id, expires_at);
        let expiries = due.into_iter().map(|(user_id, ball_id, expires_at)| {
            let store = store.clone();
            async move {
                let sent = Instant::now();
                let executed = store
                    .execute_unbatched(Envelope::new(Command::Expire(Expire {
                        user_id,
                        ball_id,
                        expires_at,
                    })))
                    .await;
                (executed, sent.elapsed())
            }
        });
        for (executed, elapsed) in join_all(expiries).await {
            let executed = executed.map_err(|err| anyhow::anyhow!("an expiry failed: {err}"))?;
            if matches!(executed.outcome, Outcome::Expired { grams, .. } if grams > Grams::ZERO) {
                baseline_balls += 1;
                baseline.record(elapsed);
            }
        }
    }
    let baseline_per_s = baseline_balls as f64 / baseline_started.elapsed().as_secs_f64();

    // The job as the server runs it, through the writer, until nothing is due.
    let started = Instant::now();
    let mut expired = 0u64;
    let mut expired_grams = 0u64;
    let mut runs = Latencies::new()?;
    let mut job = openforest_server::jobs::Expiry::default();
    loop {
        let run = Instant::now();
        let done = job.run(&store, &clock).await?;
        runs.record(run.elapsed());
        expired += done.balls;
        expired_grams += done.grams;
        if done.balls == 0 {
            break;
        }
    }
    let job_seconds = started.elapsed().as_secs_f64();
    let expired_per_s = expired as f64 / job_seconds.max(1e-9);

    let report = store.audit(Arc::new(|_, _| {})).await?;
    store.shutdown().await;
    let all_expired = baseline_balls + expired == seeded.balls;

    let mut extra = Map::new();
    extra.insert("balls".into(), json!(seeded.balls));
    extra.insert("baseline_balls".into(), json!(baseline_balls));
    extra.insert("expired_balls".into(), json!(expired));
    extra.insert("expired_grams".into(), json!(expired_grams));
    extra.insert("job_seconds".into(), json!(round(job_seconds)));
    extra.insert("seed_seconds".into(), json!(round(seed_seconds)));
    extra.insert("entries".into(), json!(report.entries));
    extra.insert("conservation".into(), json!(report.is_sound()));
    let figures = Figures {
        scenario: "expire",
        backend: database.backend,
        users: args.users,
        ops_per_s: expired_per_s,
        latencies: runs,
        baseline_per_s,
        extra,
    };
    println!(
        "scenario expire on {} ({} users, {} balls each; seeded in {seed_seconds:.1} s)",
        database.backend, args.users, args.balls
    );
    print_header("balls/s");
    print_row(
        "expiry job (p50/p99: one run)",
        expired_per_s,
        &figures.latencies,
    );
    print_row(
        "one transaction per ball (baseline)",
        baseline_per_s,
        &baseline,
    );
    println!(
        "{expired} balls expired by the job in {job_seconds:.1} s, {baseline_balls} by the baseline; ratio {:.1}x; {} journal entries; conservation {}",
        figures.ratio(),
        report.entries,
        if report.is_sound() { "holds" } else { "BROKEN" }
    );
    if !all_expired {
        println!(
            "only {} of {} balls expired",
            baseline_balls + expired,
            seeded.balls
        );
    }
    Ok(super::finish(
        &figures,
        args.target.json,
        report.is_sound() && all_expired,
    ))
}

/// Seeds `users` users with `balls` balls each that ripened 73 hours ago and expired a second
/// before the run, in chunks with a progress bar.
async fn seed(
    store: &Arc<dyn Store>,
    config: &Config,
    args: &ExpireArgs,
) -> anyhow::Result<SeedReport> {
    let now = SystemClock.now();
    let partner = Partner {
        partner_id: PartnerId(openforest_store::new_id(now)),
        name: format!("bench expire {}", now.millis()),
        allowed_actions: vec!["walking".into()],
        disabled_at: None,
        created_at: now,
    };
    store.create_partner(&partner).await?;
    let users = usize::try_from(args.users)?;
    let balls = usize::try_from(args.balls)?;
    let created_at = now.plus_millis(-74 * 3_600_000);
    let mut ids = SequentialIds::new(created_at);
    let bar = super::seeding_bar(args.users);
    let mut report = SeedReport::default();
    let mut start = 0;
    while start < users {
        let end = (start + SEED_CHUNK_USERS).min(users);
        let mut chunk = SeedChunk {
            partner_id: partner.partner_id,
            action: "walking".into(),
            methodology: config.methodology.clone(),
            methodology_version: 1,
            created_at,
            session_expires_at: now.plus_millis(3_600_000),
            users: Vec::with_capacity(end - start),
            friendships: Vec::new(),
            balls: Vec::with_capacity((end - start) * balls),
            movements: Vec::new(),
            usage: Vec::new(),
            last: end == users,
        };
        for user in start..end {
            let user_id = UserId(ids.next_id());
            chunk.users.push(SeedUser {
                user_id,
                handle: Handle::parse(&format!("x{}-{user:08}", now.millis()))
                    .context("bench handle")?,
                token_hash: hash_token(&format!("bench-expire-{}-{user}", now.millis())),
            });
            for k in 0..balls {
                chunk.balls.push(SeedBall {
                    owner_id: user_id,
                    ball_id: BallId(ids.next_id()),
                    grams: Grams::new(50 + 10 * (k as u64 % 25)),
                    created_at,
                    ripens_at: now.plus_millis(-73 * 3_600_000),
                    expires_at: now.plus_millis(-1_000),
                });
            }
        }
        report.add(&store.seed_world(&chunk).await?);
        bar.inc((end - start) as u64);
        start = end;
    }
    bar.finish_and_clear();
    Ok(report)
}
