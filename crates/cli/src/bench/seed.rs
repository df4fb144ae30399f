//! `openforest bench seed`: builds a realistic world into a database and keeps it, so the other
//! scenarios (and the server) can run against it with `--database-url`. Power-law friendships
//! (up to 1,000 friends), a month of play with balls in every state, every gram in the journal
//! (`openforest_store::seed::world` plans it, `Store::seed_world` writes it chunk by chunk).
//! The figures are the seeding pace; the run ends with the conservation audit.

use super::{BackendArg, Figures, Latencies, Target, round, round_to_hundredths};
use anyhow::Context;
use openforest_core::{Clock, PartnerId};
use openforest_server::auth::hash_token;
use openforest_server::config::Config;
use openforest_store::seed::SeedReport;
use openforest_store::seed::world::{BallStates, DAYS_MAX, FRIENDS_MAX, World, WorldSpec, token};
use openforest_store::{Partner, SystemClock};
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct SeedArgs {
    /// Where to seed. The world is kept: with `--backend sqlite` and no `--database-url` it is
    /// written to `openforest-seed.db` in the current directory (which must not exist yet);
    /// `--backend postgres` without a URL seeds a throw-away cluster that is gone when the run
    /// ends (pass `--database-url postgres://…` to keep it). More worlds can be seeded into one
    /// database: each run's users, handles and tokens are its own.
    #[command(flatten)]
    pub target: Target,
    /// Users to seed.
    #[arg(long, default_value_t = 100_000)]
    pub users: u32,
    /// Mean friends per user: counts follow a power law, most users have a few, a few have up
    /// to 1,000.
    #[arg(long, default_value_t = 10)]
    pub friends: u32,
    /// Days of history, today included (1 to 60).
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Plans the same world again (relative to now); random when not given, and printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Users per seeding transaction.
    #[arg(long, default_value_t = 10_000)]
    pub chunk_users: u32,
    /// Skip the conservation audit at the end (run `openforest verify` later instead).
    #[arg(long)]
    pub no_audit: bool,
}

/// The action every seeded ball is credited for: the methodology must define it.
const ACTION: &str = "walking";
/// The pace the issue asks for: 1,000,000 users in 5 minutes (the figures' baseline).
const TARGET_USERS_PER_S: f64 = 1_000_000.0 / 300.0;
/// Where `--backend sqlite` seeds without a URL.
const DEFAULT_SQLITE_FILE: &str = "openforest-seed.db";

pub async fn run(config: &Config, args: SeedArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.users >= 2, "--users must be at least 2");
    anyhow::ensure!(
        (1..=FRIENDS_MAX).contains(&args.friends),
        "--friends is 1 to {FRIENDS_MAX}"
    );
    anyhow::ensure!(
        (1..=DAYS_MAX).contains(&args.days),
        "--days is 1 to {DAYS_MAX}"
    );
    anyhow::ensure!(
        (1..=1_000_000).contains(&args.chunk_users),
        "--chunk-users is 1 to 1000000"
    );
    let mut target = args.target.clone();
    if target.database_url.is_none() && target.backend == BackendArg::Sqlite {
        anyhow::ensure!(
            !std::path::Path::new(DEFAULT_SQLITE_FILE).exists(),
            "{DEFAULT_SQLITE_FILE} exists: remove it, or seed into it with --database-url sqlite://{DEFAULT_SQLITE_FILE}"
        );
        target.database_url = Some(format!("sqlite://{DEFAULT_SQLITE_FILE}"));
    }
    let database = target.prepare().await?;
    let energy = config.energy()?;
    let rule = energy
        .methodology
        .action(ACTION)
        .with_context(|| {
            format!(
                "the methodology {:?} has no {ACTION:?} action to credit seeded balls for",
                energy.methodology.name()
            )
        })?
        .clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, config.writer.clone(), clock).await?;
    let now = SystemClock.now();
    let run_tag = format!("{:06x}", rand::random::<u32>() & 0xff_ffff);
    let seed = args.seed.unwrap_or_else(rand::random);
    let partner = Partner {
        partner_id: PartnerId(openforest_store::new_id(now)),
        name: format!("bench seed {run_tag}"),
        allowed_actions: vec![ACTION.into()],
        disabled_at: None,
        created_at: now,
    };
    store.create_partner(&partner).await?;
    let spec = WorldSpec {
        users: args.users,
        friends_mean: args.friends,
        days: args.days,
        seed,
        now,
        timezone: energy.timezone,
        ripening_time: energy.ripening_time,
        rule,
        steal_rules: config.game.steal,
        partner_id: partner.partner_id,
        methodology: energy.methodology.name().to_string(),
        methodology_version: energy.methodology.version(),
        run_tag: run_tag.clone(),
        token_hash: hash_token,
        chunk_users: args.chunk_users,
    };

    let started = Instant::now();
    let spinner = spinner("planning friendships and activity");
    let world = tokio::task::spawn_blocking(move || World::plan(spec)).await?;
    spinner.finish_and_clear();
    let plan_seconds = started.elapsed().as_secs_f64();
    let friendship_rows = world.friendship_rows();

    let (report, states, chunks) = seed_chunks(&store, world, args.users).await?;
    let seed_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.friendship_rows == friendship_rows,
        "seeding wrote {} friendship rows of {friendship_rows}",
        report.friendship_rows
    );

    let audit = if args.no_audit {
        None
    } else {
        let auditing = Instant::now();
        let bar = indicatif::ProgressBar::new(report.entries);
        bar.set_style(style("{msg:>12} {bar:30} {pos}/{len} entries ({eta} left)"));
        bar.set_message("audit");
        let progress = bar.clone();
        let audit = store
            .audit(Arc::new(move |seen, total| {
                progress.set_length(total);
                progress.set_position(seen);
            }))
            .await?;
        bar.finish_and_clear();
        Some((audit, auditing.elapsed().as_secs_f64()))
    };
    store.shutdown().await;
    let size_bytes = database_size(&database.url);

    let users_per_s = f64::from(args.users) / seed_seconds.max(1e-9);
    let rows = report.rows();
    let rows_per_s = rows as f64 / seed_seconds.max(1e-9);
    let mut extra = Map::new();
    extra.insert("ops_unit".into(), json!("users"));
    extra.insert(
        "baseline".into(),
        json!("the target pace: 1,000,000 users in 300 s"),
    );
    extra.insert("rows".into(), json!(rows));
    extra.insert("rows_per_s".into(), json!(round(rows_per_s)));
    extra.insert("latency_unit".into(), json!("one chunk"));
    extra.insert("chunk_users".into(), json!(args.chunk_users));
    extra.insert("friends_mean".into(), json!(args.friends));
    extra.insert("friends_max".into(), json!(states.friends_max));
    extra.insert("friendship_rows".into(), json!(report.friendship_rows));
    extra.insert("days".into(), json!(args.days));
    extra.insert("seed".into(), json!(seed.to_string()));
    extra.insert("balls".into(), json!(report.balls));
    extra.insert(
        "balls_by_state".into(),
        json!({
            "ripening": states.ripening,
            "ripe": states.ripe,
            "collected": states.collected,
            "expired": states.expired,
            "stolen_from": states.stolen_from,
        }),
    );
    extra.insert("steals".into(), json!(report.steals));
    extra.insert("entries".into(), json!(report.entries));
    extra.insert("usage_rows".into(), json!(report.usage_rows));
    extra.insert("feed_items".into(), json!(report.feed_items));
    extra.insert("plan_seconds".into(), json!(round(plan_seconds)));
    extra.insert("seed_seconds".into(), json!(round(seed_seconds)));
    if let Some(bytes) = size_bytes {
        extra.insert("database_bytes".into(), json!(bytes));
    }
    if let Some((audit, seconds)) = &audit {
        extra.insert("audit_seconds".into(), json!(round(*seconds)));
        extra.insert("conservation".into(), json!(audit.is_sound()));
    }
    extra.insert("database_url".into(), json!(database.url));
    let figures = Figures {
        scenario: "seed",
        backend: database.backend,
        users: u64::from(args.users),
        ops_per_s: users_per_s,
        latencies: chunks,
        baseline_per_s: TARGET_USERS_PER_S,
        extra,
    };

    println!(
        "scenario seed on {} ({} users, {} friends on average, {} days, seed {seed})",
        database.backend, args.users, args.friends, args.days
    );
    println!(
        "{:>12} users, {} friendship rows (the most friends: {}), {} sessions",
        report.users, report.friendship_rows, states.friends_max, report.sessions
    );
    println!(
        "{:>12} balls: {} ripening, {} ripe, {} collected, {} expired; {} stolen from ({} steals)",
        report.balls,
        states.ripening,
        states.ripe,
        states.collected,
        states.expired,
        states.stolen_from,
        report.steals
    );
    println!(
        "{:>12} journal entries, {} usage rows, {} feed items: {} rows in all",
        report.entries, report.usage_rows, report.feed_items, rows
    );
    println!(
        "seeded in {seed_seconds:.1} s (planning {plan_seconds:.1} s): {} users/s, {} rows/s; per chunk of {} users p50 {:.0} ms, p99 {:.0} ms",
        round(users_per_s),
        round(rows_per_s),
        args.chunk_users,
        figures.latencies.percentile_ms(50.0),
        figures.latencies.percentile_ms(99.0)
    );
    println!(
        "target: 1,000,000 users in 5 minutes ({} users/s): {:.2}× that pace",
        round(TARGET_USERS_PER_S),
        round_to_hundredths(figures.ratio())
    );
    if let Some(bytes) = size_bytes {
        println!("database size: {:.0} MiB", bytes as f64 / 1_048_576.0);
    }
    let sound = match &audit {
        Some((audit, seconds)) => {
            println!(
                "audit: {} entries replayed in {seconds:.1} s; conservation {}",
                audit.entries,
                if audit.is_sound() { "holds" } else { "BROKEN" }
            );
            audit.is_sound()
        }
        None => true,
    };
    println!("database: {}", database.url);
    println!(
        "  (user n signs in with the bearer token {}; e.g. --database-url {} for other scenarios,\n   OPENFOREST_DATABASE_URL={} openforest verify)",
        token(&run_tag, 0)
            .strip_suffix('0')
            .map(|prefix| format!("{prefix}<n>"))
            .unwrap_or_default(),
        database.url,
        database.url
    );
    if database.backend == "postgres" && args.target.database_url.is_none() {
        println!("  (a throw-away cluster: it is gone now; pass --database-url to keep a world)");
    }
    Ok(super::finish(&figures, args.target.json, sound))
}

/// Plans chunks on a blocking thread while the previous one is written: planning and writing
/// each take one of the two cores. Answers what was written, the balls' states and each
/// chunk's write latency.
async fn seed_chunks(
    store: &Arc<dyn openforest_store::Store>,
    mut world: World,
    users: u32,
) -> anyhow::Result<(SeedReport, BallStates, Latencies)> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel(1);
    let planner = tokio::task::spawn_blocking(move || {
        while let Some(planned) = world.next_chunk() {
            if sender.blocking_send(planned).is_err() {
                break;
            }
        }
    });
    let bar = indicatif::ProgressBar::new(u64::from(users));
    bar.set_style(style(
        "{msg:>12} {bar:30} {pos}/{len} users ({per_sec}, {eta} left)",
    ));
    bar.set_message("seeding");
    let mut report = SeedReport::default();
    let mut states = BallStates::default();
    let mut latencies = Latencies::new()?;
    while let Some(planned) = receiver.recv().await {
        let writing = Instant::now();
        let written = store.seed_world(&planned.chunk).await?;
        latencies.record(writing.elapsed());
        report.add(&written);
        states.add(&planned.states);
        bar.inc(written.users);
    }
    planner.await?;
    bar.finish_and_clear();
    anyhow::ensure!(
        report.users == u64::from(users),
        "seeding wrote {} users of {users}",
        report.users
    );
    Ok((report, states, latencies))
}

/// The SQLite file with its WAL, in bytes; `None` for PostgreSQL.
fn database_size(url: &str) -> Option<u64> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let size = |path: &str| std::fs::metadata(path).map(|meta| meta.len()).unwrap_or(0);
    Some(size(path) + size(&format!("{path}-wal")))
}

fn style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
}

fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
