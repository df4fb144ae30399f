//! `openforest bench harvest`: the 7 a.m. rush. A world of users whose balls all ripen at the
//! same instant is seeded straight into the store; then, over HTTP against a real server on
//! keep-alive connections, every user collects their own balls and steals from their two
//! nearest friends. In the same run: the HTTP ceiling of the server (GET /healthz under the
//! same load), a popular user's forest home (1,000 friends) and, on PostgreSQL, `pgbench`
//! tpcb-like on the same cluster. The run ends with the conservation audit.

use super::server::ServerProcess;
use super::{BenchDatabase, Figures, Latencies, Target, print_header, print_row, round, run_phase};
use anyhow::Context;
use openforest_core::{BallId, Clock, Grams, Handle, PartnerId, UserId};
use openforest_server::auth::hash_token;
use openforest_server::config::Config;
use openforest_store::seed::{SeedBall, SeedChunk, SeedReport, SeedUser, SequentialIds};
use openforest_store::{Partner, Store, SystemClock};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct HarvestArgs {
    #[command(flatten)]
    pub target: Target,
    /// Users seeded, with friends and balls that ripen at the same instant.
    #[arg(long, default_value_t = 100_000)]
    pub users: u64,
    /// Friends of each user: their nearest neighbours on a ring, half on each side (an odd
    /// number is rounded down).
    #[arg(long, default_value_t = 10)]
    pub friends: u64,
    /// Balls per user. The first half (rounded up) are collected by their owner, each of the
    /// others is stolen from by both of the owner's nearest friends (30 % each, the owner keeps
    /// 40 %), so that no operation of the rush is refused by a rule.
    #[arg(long, default_value_t = 4)]
    pub balls: u64,
    /// Friends of the one popular user whose forest home is measured.
    #[arg(long, default_value_t = 1_000)]
    pub popular_friends: u64,
    /// Concurrent keep-alive connections for the rush and the HTTP ceiling.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Concurrent connections reading the popular user's forest home.
    #[arg(long, default_value_t = 1)]
    pub home_concurrency: usize,
    /// pgbench clients for the PostgreSQL baseline (with 2 threads).
    #[arg(long, default_value_t = 16)]
    pub pgbench_clients: u32,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// Users per seeding transaction.
const SEED_CHUNK_USERS: u64 = 10_000;
/// An action of the classic methodology, recorded on every seeded ball.
const ACTION: &str = "walking";
/// pgbench's scale factor: 1,000,000 accounts.
const PGBENCH_SCALE: &str = "10";

/// The seeded world as the load generator knows it: user `i` is `users[i]` with the token
/// `token(i)`, and ball `k` of user `i` is `balls[i * balls_per_user + k]`. The popular user
/// comes after the ring's users, at index `ring`.
struct World {
    base: String,
    http: reqwest::Client,
    users: Vec<UserId>,
    balls: Vec<BallId>,
    ring: usize,
    balls_per_user: usize,
    /// Ball numbers below this are collected by their owner; the others are stolen from.
    owner_collects: usize,
    half_friends: usize,
    run_tag: String,
}

impl World {
    fn token(&self, user: usize) -> String {
        token(&self.run_tag, user)
    }

    fn ball(&self, user: usize, k: usize) -> BallId {
        self.balls[user * self.balls_per_user + k]
    }
}

fn token(run_tag: &str, user: usize) -> String {
    format!("bench-harvest-{run_tag}-{user}")
}

pub async fn run(config: &Config, args: HarvestArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (2..=998).contains(&args.friends),
        "--friends is 2 to 998 (a user has at most 1,000 friends, with the popular one)"
    );
    anyhow::ensure!(
        args.users > args.friends + 1,
        "--users must be more than --friends + 1"
    );
    anyhow::ensure!(
        (2..=20).contains(&args.balls),
        "--balls is 2 to 20 (each steals from the others twice, within 20 steals a day)"
    );
    anyhow::ensure!(
        (1..=1_000).contains(&args.popular_friends),
        "--popular-friends is 1 to 1000"
    );
    anyhow::ensure!(
        (1..=10_000).contains(&args.concurrency) && (1..=1_000).contains(&args.home_concurrency),
        "--concurrency is 1 to 10000, --home-concurrency 1 to 1000"
    );
    let database = args.target.prepare().await?;
    let mut config = config.clone();
    config.database_url = database.url.clone();
    config.methodology = "classic".into();
    // Virtual users take energy faster than a person could tap: the per-user limit (150 ms
    // by default) would answer most of the rush with 429.
    config.game.collect_interval_ms = 0;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, config.writer.clone(), clock.clone()).await?;
    let seeding = Instant::now();
    let (mut world, seeded) = seed(&store, &config, &args).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    store.shutdown().await;
    drop(store);
    eprintln!(
        "seeded {} users, {} friendship rows, {} balls ({} g) in {seed_seconds:.1} s",
        seeded.users, seeded.friendship_rows, seeded.balls, seeded.grams
    );
    // The server runs as its own process, as an operator runs it: its memory is its own, apart
    // from the load generator's (this process), which shares the machine's cores with it.
    let server = ServerProcess::start(&config).await?;
    world.base = server.base.clone();
    let world = Arc::new(world);
    let duration = Duration::from_secs(args.seconds.max(1));
    // Each phase starts on a server at rest: the sequencer has logged what is there (the
    // seeded world first), so that no phase pays for another's backlog.
    let log_interval = Duration::from_millis(config.transparency.sequence_interval_ms);
    let backlog_seconds = settle(&world, log_interval).await?.as_secs_f64();
    if backlog_seconds >= 1.0 {
        eprintln!(
            "the server logged the world's backlog in {backlog_seconds:.1} s before the ceiling"
        );
    }

    let (ceiling_per_s, ceiling) = run_load(
        "HTTP ceiling (GET /healthz)",
        args.concurrency,
        duration,
        &world,
        Load::Ceiling,
    )
    .await?;
    let counters = Arc::new(Counters::default());
    let (rush_per_s, rush) = run_load(
        "rush: collects and steals",
        args.concurrency,
        duration,
        &world,
        Load::Rush(counters.clone()),
    )
    .await?;
    // Forest home twice: at once, while the server still logs the rush's entries (as someone
    // opening the app at 7:01 finds it), and once it is at rest, which is the read's own cost.
    let (busy_home_per_s, busy_home) = run_load(
        "forest home after the rush",
        args.home_concurrency,
        duration,
        &world,
        Load::Home(args.popular_friends),
    )
    .await?;
    let settle_seconds = settle(&world, log_interval).await?.as_secs_f64();
    let (home_per_s, home) = run_load(
        "forest home at rest",
        args.home_concurrency,
        duration,
        &world,
        Load::Home(args.popular_friends),
    )
    .await?;
    let rss_peak_mb = server.peak_rss_mb();
    let pgbench_tps = if database.backend == "postgres" {
        match pgbench(&database, args.pgbench_clients, duration).await {
            Ok(tps) => Some(tps),
            Err(err) => {
                eprintln!("pgbench failed, no baseline: {err:#}");
                Some(0.0)
            }
        }
    } else {
        None
    };

    server.stop().await?;
    let store = openforest_store::open(&database.url, config.writer.clone(), clock).await?;
    let report = store.audit(Arc::new(|_, _| {})).await?;
    store.shutdown().await;

    let collects = counters.collects.load(Ordering::Relaxed);
    let steals = counters.steals.load(Ordering::Relaxed);
    let refused = counters.refused.load(Ordering::Relaxed);
    let exhausted = counters.exhausted.load(Ordering::Relaxed);
    let ceiling_ratio = super::ratio(rush_per_s, ceiling_per_s);
    let mut extra = Map::new();
    extra.insert("ceiling_per_s".into(), json!(round(ceiling_per_s)));
    extra.insert("ceiling_p99_ms".into(), json!(ceiling.percentile_ms(99.0)));
    extra.insert(
        "ceiling_ratio".into(),
        json!(super::round_to_hundredths(ceiling_ratio)),
    );
    if let Some(tps) = pgbench_tps {
        extra.insert("pgbench_tps".into(), json!(round(tps)));
    }
    extra.insert("home_per_s".into(), json!(round(home_per_s)));
    extra.insert("home_p50_ms".into(), json!(home.percentile_ms(50.0)));
    extra.insert("home_p99_ms".into(), json!(home.percentile_ms(99.0)));
    extra.insert(
        "home_after_rush_per_s".into(),
        json!(round(busy_home_per_s)),
    );
    extra.insert(
        "home_after_rush_p50_ms".into(),
        json!(busy_home.percentile_ms(50.0)),
    );
    extra.insert(
        "home_after_rush_p99_ms".into(),
        json!(busy_home.percentile_ms(99.0)),
    );
    extra.insert("settle_seconds".into(), json!(round(settle_seconds)));
    extra.insert("backlog_seconds".into(), json!(round(backlog_seconds)));
    extra.insert("popular_friends".into(), json!(args.popular_friends));
    extra.insert("collects".into(), json!(collects));
    extra.insert("steals".into(), json!(steals));
    extra.insert("refused".into(), json!(refused));
    extra.insert("concurrency".into(), json!(args.concurrency));
    extra.insert("home_concurrency".into(), json!(args.home_concurrency));
    extra.insert("friends".into(), json!(world.half_friends * 2));
    extra.insert("balls_per_user".into(), json!(args.balls));
    extra.insert("seed_seconds".into(), json!(round(seed_seconds)));
    extra.insert("rss_peak_mb".into(), json!(rss_peak_mb));
    extra.insert("entries".into(), json!(report.entries));
    extra.insert("conservation".into(), json!(report.is_sound()));
    let figures = Figures {
        scenario: "harvest",
        backend: database.backend,
        users: args.users,
        ops_per_s: rush_per_s,
        latencies: rush,
        baseline_per_s: pgbench_tps.unwrap_or(ceiling_per_s),
        extra,
    };

    println!(
        "scenario harvest on {} ({} users, {} friends and {} balls each, {} connections, {} s per phase; seeded in {seed_seconds:.1} s)",
        database.backend,
        args.users,
        world.half_friends * 2,
        args.balls,
        args.concurrency,
        args.seconds
    );
    print_header("per second");
    print_row("HTTP ceiling (requests)", ceiling_per_s, &ceiling);
    print_row("rush (collects and steals)", rush_per_s, &figures.latencies);
    print_row(
        &format!("home after the rush ({} friends)", args.popular_friends),
        busy_home_per_s,
        &busy_home,
    );
    print_row(
        &format!(
            "home at rest ({} friends, {} conn.)",
            args.popular_friends, args.home_concurrency
        ),
        home_per_s,
        &home,
    );
    if let Some(tps) = pgbench_tps {
        println!(
            "{:<34} {:>14}",
            format!("pgbench tpcb-like ({} clients)", args.pgbench_clients),
            round(tps)
        );
    }
    println!(
        "{collects} collects, {steals} steals, {refused} refused by a rule; {} journal entries; conservation {}",
        report.entries,
        if report.is_sound() { "holds" } else { "BROKEN" }
    );
    if exhausted > 0 {
        println!(
            "{exhausted} of {} connections ran out of users to play before the end: seed more --users",
            args.concurrency
        );
    }
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    let rush_p99 = figures.latencies.percentile_ms(99.0);
    match pgbench_tps {
        None => println!(
            "target: rush ≥ 50% of the ceiling with p99 ≤ 25 ms: {:.0}%, p99 {rush_p99:.2} ms: {}",
            ceiling_ratio * 100.0,
            verdict(ceiling_ratio >= 0.5 && rush_p99 <= 25.0)
        ),
        Some(_) => println!(
            "target: rush ≥ 5× pgbench: {:.2}×: {} ({:.0}% of the HTTP ceiling, p99 {rush_p99:.2} ms)",
            figures.ratio(),
            verdict(figures.ratio() >= 5.0),
            ceiling_ratio * 100.0
        ),
    }
    if let Some(rss) = rss_peak_mb {
        println!(
            "target: server memory ≤ 300 MB RSS under the load: peak {rss:.0} MB (the server process, from its start): {}",
            verdict(rss <= 300.0)
        );
    }
    let home_p99 = home.percentile_ms(99.0);
    println!(
        "target: forest home p99 ≤ 5 ms with {} friends: {home_p99:.2} ms at rest ({:.2} ms right after the rush, while the log took {settle_seconds:.1} s to catch up): {}",
        args.popular_friends,
        busy_home.percentile_ms(99.0),
        verdict(home_p99 <= 5.0)
    );
    Ok(super::finish(&figures, args.target.json, report.is_sound()))
}

/// Seeds the world chunk by chunk with a progress bar: the ring's users, each a friend of
/// its `friends / 2` neighbours on either side, then the popular user, a friend of
/// `popular_friends` users spread over the ring; everyone with `balls` balls, ripe now.
async fn seed(
    store: &Arc<dyn Store>,
    config: &Config,
    args: &HarvestArgs,
) -> anyhow::Result<(World, SeedReport)> {
    let now = SystemClock.now();
    let run_tag = format!("{:06x}", rand::thread_rng().gen_range(0..0x100_0000u32));
    let partner = Partner {
        partner_id: PartnerId(openforest_store::new_id(now)),
        name: format!("bench harvest {run_tag}"),
        allowed_actions: vec![ACTION.into()],
        disabled_at: None,
        created_at: now,
    };
    store.create_partner(&partner).await?;
    let ring = usize::try_from(args.users)?;
    let balls_per_user = usize::try_from(args.balls)?;
    let half_friends = usize::try_from(args.friends / 2)?;
    let popular_friends = usize::try_from(args.popular_friends)?.min(ring);
    let everyone = ring + 1;
    let mut ids = SequentialIds::new(now);
    let users: Vec<UserId> = (0..everyone).map(|_| UserId(ids.next_id())).collect();
    let mut balls: Vec<BallId> = Vec::with_capacity(everyone * balls_per_user);
    let mut popular_friend = vec![false; ring];
    for n in 0..popular_friends {
        popular_friend[n * ring / popular_friends] = true;
    }

    // Every ball ripens at the instant seeding starts: all are ripe when the rush begins.
    let ripens_at = now;
    let expires_at = now.plus_millis(72 * 3_600_000);
    let bar = super::seeding_bar(everyone as u64);
    let mut report = SeedReport::default();
    let chunk_users = usize::try_from(SEED_CHUNK_USERS)?;
    let mut rng = rand::thread_rng();
    let mut start = 0;
    while start < everyone {
        let end = (start + chunk_users).min(everyone);
        let mut chunk = SeedChunk {
            partner_id: partner.partner_id,
            action: ACTION.into(),
            methodology: config.methodology.clone(),
            methodology_version: 1,
            created_at: now,
            session_expires_at: now.plus_millis(24 * 3_600_000),
            users: Vec::with_capacity(end - start),
            friendships: Vec::new(),
            balls: Vec::with_capacity((end - start) * balls_per_user),
            movements: Vec::new(),
            usage: Vec::new(),
            last: end == everyone,
        };
        for user in start..end {
            chunk.users.push(SeedUser {
                user_id: users[user],
                handle: Handle::parse(&format!("h{run_tag}-{user:08}")).context("bench handle")?,
                token_hash: hash_token(&token(&run_tag, user)),
            });
            for _ in 0..balls_per_user {
                let ball_id = BallId(ids.next_id());
                balls.push(ball_id);
                chunk.balls.push(SeedBall {
                    owner_id: users[user],
                    ball_id,
                    // 50 to 300 g in tens, so that shares and floors are whole.
                    grams: Grams::new(10 * rng.gen_range(5..=30)),
                    created_at: now,
                    ripens_at,
                    expires_at,
                });
            }
            // Rows are given one direction at a time, each in the chunk of its user.
            if user < ring {
                for distance in 1..=half_friends {
                    chunk
                        .friendships
                        .push((users[user], users[(user + distance) % ring]));
                    chunk
                        .friendships
                        .push((users[user], users[(user + ring - distance) % ring]));
                }
                if popular_friend[user] {
                    chunk.friendships.push((users[user], users[ring]));
                }
            } else {
                for n in 0..popular_friends {
                    chunk
                        .friendships
                        .push((users[user], users[n * ring / popular_friends]));
                }
            }
        }
        let written = store.seed_world(&chunk).await?;
        report.add(&written);
        bar.inc((end - start) as u64);
        start = end;
    }
    bar.finish_and_clear();
    let expected_rows = 2 * (ring * half_friends + popular_friends) as u64;
    anyhow::ensure!(
        report.users == everyone as u64
            && report.balls == (everyone * balls_per_user) as u64
            && report.friendship_rows == expected_rows,
        "seeding wrote {report:?}, expected {everyone} users, {} balls and {expected_rows} friendship rows",
        everyone * balls_per_user
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16_384)
        .build()?;
    Ok((
        World {
            // Set once the server is up.
            base: String::new(),
            http,
            users,
            balls,
            ring,
            balls_per_user,
            owner_collects: balls_per_user.div_ceil(2),
            half_friends,
            run_tag,
        },
        report,
    ))
}

#[derive(Default)]
struct Counters {
    collects: AtomicU64,
    steals: AtomicU64,
    refused: AtomicU64,
    /// Connections that played all their users before the phase ended.
    exhausted: AtomicU64,
}

#[derive(Clone)]
enum Load {
    Ceiling,
    Rush(Arc<Counters>),
    /// The popular user's home, which must list this many friends.
    Home(u64),
}

/// One request of the rush.
enum Take {
    Collect {
        user: usize,
        ball: BallId,
    },
    Steal {
        thief: usize,
        owner: usize,
        ball: BallId,
    },
}

impl Take {
    fn request(&self, world: &World) -> reqwest::RequestBuilder {
        match *self {
            Take::Collect { user, ball } => world
                .http
                .post(format!(
                    "{}/v1/me/balls/{}/collect",
                    world.base,
                    ball.uuid()
                ))
                .bearer_auth(world.token(user)),
            Take::Steal { thief, owner, ball } => world
                .http
                .post(format!(
                    "{}/v1/friends/{}/balls/{}/steal",
                    world.base,
                    world.users[owner].uuid(),
                    ball.uuid()
                ))
                .bearer_auth(world.token(thief)),
        }
    }
}

/// What user `user` does when the rush reaches them: collect their own balls, then take from
/// the balls their two nearest friends leave for stealing.
fn visit(world: &World, user: usize) -> Vec<Take> {
    let right = (user + 1) % world.ring;
    let left = (user + world.ring - 1) % world.ring;
    let mut takes: Vec<Take> = (0..world.owner_collects)
        .map(|k| Take::Collect {
            user,
            ball: world.ball(user, k),
        })
        .collect();
    for k in world.owner_collects..world.balls_per_user {
        for owner in [right, left] {
            takes.push(Take::Steal {
                thief: user,
                owner,
                ball: world.ball(owner, k),
            });
        }
    }
    takes
}

async fn run_load(
    label: &str,
    connections: usize,
    duration: Duration,
    world: &Arc<World>,
    load: Load,
) -> anyhow::Result<(f64, Latencies)> {
    run_phase(label, connections, duration, |client, deadline| {
        let world = world.clone();
        let load = load.clone();
        let label = label.to_string();
        async move {
            let mut latencies = Latencies::new()?;
            match load {
                Load::Ceiling => {
                    let url = format!("{}/healthz", world.base);
                    while Instant::now() < deadline {
                        let sent = Instant::now();
                        let response = world.http.get(&url).send().await?;
                        let status = response.status();
                        response.bytes().await?;
                        anyhow::ensure!(status.is_success(), "{label}: {status}");
                        latencies.record(sent.elapsed());
                    }
                }
                Load::Home(friends) => {
                    let url = format!("{}/v1/me/forest", world.base);
                    let bearer = world.token(world.ring);
                    let mut checked = false;
                    while Instant::now() < deadline {
                        let sent = Instant::now();
                        let response = world.http.get(&url).bearer_auth(&bearer).send().await?;
                        let status = response.status();
                        let body = response.bytes().await?;
                        latencies.record(sent.elapsed());
                        anyhow::ensure!(
                            status == StatusCode::OK,
                            "{label}: {status}: {}",
                            String::from_utf8_lossy(&body)
                        );
                        if !checked {
                            let home: serde_json::Value = serde_json::from_slice(&body)?;
                            anyhow::ensure!(
                                home["friends_total"] == friends,
                                "{label}: the popular user has {} friends, not {friends}",
                                home["friends_total"]
                            );
                            checked = true;
                        }
                    }
                }
                Load::Rush(counters) => {
                    // Connection `client` plays users client, client + connections, …
                    let mut user = client;
                    'users: while user < world.ring {
                        for take in visit(&world, user) {
                            if Instant::now() >= deadline {
                                break 'users;
                            }
                            let sent = Instant::now();
                            let response = take.request(&world).send().await?;
                            let status = response.status();
                            let body = response.bytes().await?;
                            let elapsed = sent.elapsed();
                            match (status, &take) {
                                (StatusCode::OK, Take::Collect { .. }) => {
                                    latencies.record(elapsed);
                                    counters.collects.fetch_add(1, Ordering::Relaxed);
                                }
                                (StatusCode::OK, Take::Steal { .. }) => {
                                    latencies.record(elapsed);
                                    counters.steals.fetch_add(1, Ordering::Relaxed);
                                }
                                // A rule said no: not counted as done, but not a failure.
                                (StatusCode::CONFLICT, _) => {
                                    counters.refused.fetch_add(1, Ordering::Relaxed);
                                }
                                _ => anyhow::bail!(
                                    "{label}: {status}: {}",
                                    String::from_utf8_lossy(&body)
                                ),
                            }
                        }
                        user += connections;
                    }
                    if Instant::now() < deadline {
                        counters.exhausted.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Ok(latencies)
        }
    })
    .await
}

/// Waits until the server is at rest: its writer has no command left and, if the sequencer
/// runs (`log_interval` > 0), a whole sequencer run ended between two looks without the log
/// growing, i.e. it holds every committed entry (a long first run over a seeded world's
/// backlog grows nothing until it appends, so an unchanged size alone proves nothing).
/// Answers how long that took.
async fn settle(world: &World, log_interval: Duration) -> anyhow::Result<Duration> {
    const GIVE_UP_AFTER: Duration = Duration::from_secs(600);
    let started = Instant::now();
    let poll = log_interval.max(Duration::from_millis(250)) + Duration::from_millis(250);
    let mut last = None;
    let mut last_runs = None;
    loop {
        let text = world
            .http
            .get(format!("{}/metrics", world.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        let now = (
            metric(&text, "openforest_writer_commands_total"),
            metric(&text, "openforest_log_tree_size"),
        );
        let runs = metric(&text, "openforest_log_runs_total");
        let log_ran = log_interval.is_zero() || runs > last_runs;
        if last == Some(now) && log_ran {
            return Ok(started.elapsed().saturating_sub(poll));
        }
        anyhow::ensure!(
            started.elapsed() < GIVE_UP_AFTER,
            "the server did not come to rest within {GIVE_UP_AFTER:?}"
        );
        last = Some(now);
        last_runs = runs;
        tokio::time::sleep(poll).await;
    }
}

/// A metric's value in Prometheus' text format (`None` before it was first recorded).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(' ')?;
        (key == name).then(|| value.trim().parse().ok()).flatten()
    })
}

/// pgbench tpcb-like on the benchmark's PostgreSQL server, in a database of its own: scale 10,
/// `clients` clients on 2 threads, prepared statements, for `duration`. Answers its TPS.
async fn pgbench(
    database: &BenchDatabase,
    clients: u32,
    duration: Duration,
) -> anyhow::Result<f64> {
    let url = openforest_testkit::create_database(&database.admin_url()).await?;
    let program = database
        .pg_bin_dir()
        .map(|dir| dir.join("pgbench"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| "pgbench".into());
    let seconds = duration.as_secs().max(1).to_string();
    let clients = clients.max(1).to_string();
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("pgbench: initialising (scale 10) and running tpcb-like …");
    bar.enable_steady_tick(Duration::from_millis(200));
    let output = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let run = |args: &[&str]| -> anyhow::Result<String> {
            let output = std::process::Command::new(&program)
                .args(args)
                .stdin(std::process::Stdio::null())
                .output()
                .with_context(|| format!("running {}", program.display()))?;
            anyhow::ensure!(
                output.status.success(),
                "pgbench {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        };
        run(&["-i", "-q", "-s", PGBENCH_SCALE, &url])?;
        run(&[
            "-c", &clients, "-j", "2", "-T", &seconds, "-M", "prepared", &url,
        ])
    })
    .await??;
    bar.finish_and_clear();
    output
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse::<f64>().ok())
        .with_context(|| format!("no tps in pgbench's output: {output}"))
}
