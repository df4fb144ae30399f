//! `openforest bench plant`: planting under load. Users whose wallets hold energy (issued by
//! journal entries: partner issuance → ball → wallet, seeded straight into the store) pledge
//! trees and protected land over HTTP against a real server on keep-alive connections. One
//! catalog item has a quota smaller than the demand for it, so the run shows that concurrent
//! pledges never oversell it; the others have quota to spare, for throughput.
//!
//! In the same run: the HTTP ceiling of the server (GET /healthz under the same load) and,
//! once the server has stopped, the same pledges sent to the store directly, first through
//! the group-commit writer and then each in a transaction of its own (the baseline). The run
//! ends with the quota check and the conservation audit.

use super::server::ServerProcess;
use super::{Figures, Latencies, Target, print_header, print_row, round, run_phase};
use anyhow::Context;
use chrono::Datelike;
use openforest_core::planting::season_label;
use openforest_core::{
    BallId, CatalogItemId, Clock, Command, Grams, Handle, ItemKind, NgoId, PartnerId, Plant,
    PlantSource, PledgeId, Rejection, Season, SiteId, UserId,
};
use openforest_server::auth::hash_token;
use openforest_server::config::Config;
use openforest_store::seed::{
    SeedBall, SeedChunk, SeedMovement, SeedMovementKind, SeedReport, SeedUser, SequentialIds,
};
use openforest_store::{
    CatalogItem, CommandError, Envelope, Ngo, Partner, Site, Store, SystemClock,
};
use rand::Rng;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct PlantArgs {
    #[command(flatten)]
    pub target: Target,
    /// Users seeded with energy in their wallets, who plant.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Concurrent keep-alive connections (and, for the store phases, concurrent clients).
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Trees in the quota of the scarce item, which every connection asks for until it is
    /// answered "sold out": the demand exceeds it by at least one request per connection.
    #[arg(long, default_value_t = 500)]
    pub scarce_quota: u64,
}

/// Users per seeding transaction.
const SEED_CHUNK_USERS: usize = 10_000;
/// The action of the classic methodology the seeded balls are recorded under.
const ACTION: &str = "walking";
/// What each seeded user holds in their wallet: more than 200 pledges of the dearest ample
/// item, for the three phases that plant.
const WALLET_GRAMS: u64 = 5_000_000;
/// Quota of the items that must not sell out during the run.
const AMPLE_QUOTA: u64 = 1_000_000_000;
/// The most m² one land pledge of the run takes (1 to this, in turn).
const LAND_UNITS_MAX: u64 = 10;
/// The scarce item's index in `World::items`; the ample items follow it.
const SCARCE: usize = 0;
/// What the scenario's own target asks: pledges over HTTP at this multiple of the same
/// pledges each in a transaction of its own.
const TARGET_RATIO: f64 = 5.0;

/// The catalog the run plants from, after the demo catalog (its costs; quotas of our own).
struct Offer {
    kind: ItemKind,
    name: &'static str,
    scientific_name: Option<&'static str>,
    unit_grams: u64,
    seasons: &'static [(&'static str, u8, u8)],
}

const SCARCE_OFFER: Offer = Offer {
    kind: ItemKind::Tree,
    name: "Mongolian pine",
    scientific_name: Some("Pinus sylvestris var. mongolica"),
    unit_grams: 146_000,
    seasons: &[("spring", 4, 5)],
};

const AMPLE_OFFERS: [Offer; 3] = [
    Offer {
        kind: ItemKind::Tree,
        name: "Saxaul",
        scientific_name: Some("Haloxylon ammodendron"),
        unit_grams: 17_900,
        seasons: &[("spring", 3, 5), ("autumn", 10, 11)],
    },
    Offer {
        kind: ItemKind::Tree,
        name: "Red willow",
        scientific_name: Some("Tamarix chinensis"),
        unit_grams: 22_400,
        seasons: &[("spring", 3, 5)],
    },
    Offer {
        kind: ItemKind::Land,
        name: "Protected mangrove wetland",
        scientific_name: None,
        unit_grams: 2_000,
        seasons: &[],
    },
];

/// The seeded world as the load generator knows it: user `i` is `users[i]` with the token
/// `token(run_tag, i)`; `items[SCARCE]` is the scarce item, the others are ample.
struct World {
    base: String,
    http: reqwest::Client,
    users: Vec<UserId>,
    items: Vec<CatalogItem>,
    run_tag: String,
}

fn token(run_tag: &str, user: usize) -> String {
    format!("bench-plant-{run_tag}-{user}")
}

/// One pledge a client asks for: which item, how many trees or m².
#[derive(Clone, Copy)]
struct Planting {
    item: usize,
    units: u64,
}

impl World {
    /// The `n`th pledge of a connection: while it has not heard that the scarce item sold out,
    /// every other pledge asks for it; the rest go round the ample items, land by 1 to 10 m².
    fn planting(&self, n: u64, scarce_open: bool) -> Planting {
        if scarce_open && n.is_multiple_of(2) {
            return Planting {
                item: SCARCE,
                units: 1,
            };
        }
        let ample = self.items.len() as u64 - 1;
        let item = 1 + usize::try_from(n % ample).unwrap_or(0);
        let units = match self.items[item].kind {
            ItemKind::Tree => 1,
            ItemKind::Land => 1 + (n / ample) % LAND_UNITS_MAX,
        };
        Planting { item, units }
    }

    /// The user a client plays for its `turn`th pledge: client `c` of `clients` plays users
    /// c, c + clients, … in turn, so no two clients plant from the same wallet.
    fn planter(&self, client: usize, clients: usize, turn: u64) -> usize {
        let own = (self.users.len() - client).div_ceil(clients);
        client + usize::try_from(turn % own as u64).unwrap_or(0) * clients
    }
}

#[derive(Default)]
struct Counters {
    /// Pledges accepted, and of those: trees, m² of land, pledges of the scarce item.
    pledges: AtomicU64,
    trees: AtomicU64,
    land_m2: AtomicU64,
    scarce_accepted: AtomicU64,
    /// Requests for the scarce item answered "sold out".
    sold_out: AtomicU64,
    /// Pledges refused for want of energy (none while the wallets last).
    refused_energy: AtomicU64,
    /// Accepted pledges that came without their Amazing Species card.
    without_card: AtomicU64,
}

impl Counters {
    fn accepted(&self, world: &World, planting: Planting) {
        self.pledges.fetch_add(1, Ordering::Relaxed);
        match world.items[planting.item].kind {
            ItemKind::Tree => self.trees.fetch_add(planting.units, Ordering::Relaxed),
            ItemKind::Land => self.land_m2.fetch_add(planting.units, Ordering::Relaxed),
        };
        if planting.item == SCARCE {
            self.scarce_accepted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The quota check: the scarce item's accepted pledges as the clients counted them, as the
/// writer's quota counter holds them and as the pledge rows sum them.
struct QuotaCheck {
    quota: u64,
    demand: u64,
    accepted: u64,
    counter: u64,
    pledged: u64,
    sold_out: u64,
}

impl QuotaCheck {
    fn oversold(&self) -> bool {
        self.accepted.max(self.counter).max(self.pledged) > self.quota
    }

    /// The three counts agree, none is above the quota, and a "sold out" answer came only
    /// once the quota was all taken.
    fn holds(&self) -> bool {
        !self.oversold()
            && self.accepted == self.counter
            && self.counter == self.pledged
            && (self.sold_out == 0 || self.accepted == self.quota)
    }
}

pub async fn run(config: &Config, args: PlantArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (1..=10_000).contains(&args.concurrency),
        "--concurrency is 1 to 10000"
    );
    anyhow::ensure!(
        args.users >= args.concurrency as u64,
        "--users must be at least --concurrency (each connection plants from wallets of its own)"
    );
    anyhow::ensure!(args.scarce_quota >= 1, "--scarce-quota must be at least 1");
    let database = args.target.prepare().await?;
    let mut config = config.clone();
    config.database_url = database.url.clone();
    config.methodology = "classic".into();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, config.writer.clone(), clock.clone()).await?;
    let seeding = Instant::now();
    let (mut world, seeded) = seed(&store, &config, &args).await?;
    let seed_seconds = seeding.elapsed().as_secs_f64();
    store.shutdown().await;
    drop(store);
    eprintln!(
        "seeded {} users with {} g each and {} catalog items in {seed_seconds:.1} s",
        seeded.users,
        WALLET_GRAMS,
        world.items.len()
    );

    // The server runs as its own process, as an operator runs it (see `bench harvest`).
    let server = ServerProcess::start(&config).await?;
    world.base = server.base.clone();
    let world = Arc::new(world);
    let duration = Duration::from_secs(args.seconds.max(1));
    let (ceiling_per_s, ceiling) = run_load(
        "HTTP ceiling (GET /healthz)",
        args.concurrency,
        duration,
        &world,
        Load::Ceiling,
    )
    .await?;
    let http_counters = Arc::new(Counters::default());
    let (http_per_s, http) = run_load(
        "pledges over HTTP",
        args.concurrency,
        duration,
        &world,
        Load::Http(http_counters.clone()),
    )
    .await?;
    let rss_peak_mb = server.peak_rss_mb();
    server.stop().await?;

    // The same pledges sent to the store directly, on the same database: through the writer,
    // then each in a transaction of its own. The baseline gets as many connections as it can
    // use, as in `bench ledger`.
    let mut writer = config.writer.clone();
    writer.read_connections = writer
        .read_connections
        .max(u32::try_from(args.concurrency.min(64))?);
    let store = openforest_store::open(&database.url, writer, clock).await?;
    let quota = quota_check(&store, &world, &http_counters).await?;
    let writer_counters = Arc::new(Counters::default());
    let (writer_per_s, writer_latencies) = run_load(
        "pledges through the writer",
        args.concurrency,
        duration,
        &world,
        Load::Store(Path::Writer, store.clone(), writer_counters.clone()),
    )
    .await?;
    let baseline_counters = Arc::new(Counters::default());
    let (baseline_per_s, baseline) = run_load(
        "one transaction per pledge",
        args.concurrency,
        duration,
        &world,
        Load::Store(Path::Unbatched, store.clone(), baseline_counters.clone()),
    )
    .await?;
    let audit_started = Instant::now();
    let report = store.audit(Arc::new(|_, _| {})).await?;
    let audit_seconds = audit_started.elapsed().as_secs_f64();
    store.shutdown().await;

    let refused_energy = [&http_counters, &writer_counters, &baseline_counters]
        .iter()
        .map(|counters| Counters::get(&counters.refused_energy))
        .sum::<u64>();
    let ceiling_ratio = super::ratio(http_per_s, ceiling_per_s);
    let writer_ratio = super::ratio(writer_per_s, baseline_per_s);
    let mut extra = Map::new();
    extra.insert("ceiling_per_s".into(), json!(round(ceiling_per_s)));
    extra.insert("ceiling_p99_ms".into(), json!(ceiling.percentile_ms(99.0)));
    extra.insert(
        "ceiling_ratio".into(),
        json!(super::round_to_hundredths(ceiling_ratio)),
    );
    extra.insert("writer_per_s".into(), json!(round(writer_per_s)));
    extra.insert(
        "writer_p50_ms".into(),
        json!(writer_latencies.percentile_ms(50.0)),
    );
    extra.insert(
        "writer_p99_ms".into(),
        json!(writer_latencies.percentile_ms(99.0)),
    );
    extra.insert(
        "writer_ratio".into(),
        json!(super::round_to_hundredths(writer_ratio)),
    );
    extra.insert(
        "baseline_p50_ms".into(),
        json!(baseline.percentile_ms(50.0)),
    );
    extra.insert(
        "baseline_p99_ms".into(),
        json!(baseline.percentile_ms(99.0)),
    );
    extra.insert(
        "pledges".into(),
        json!(Counters::get(&http_counters.pledges)),
    );
    extra.insert("trees".into(), json!(Counters::get(&http_counters.trees)));
    extra.insert(
        "land_m2".into(),
        json!(Counters::get(&http_counters.land_m2)),
    );
    extra.insert(
        "without_card".into(),
        json!(Counters::get(&http_counters.without_card)),
    );
    extra.insert("refused_energy".into(), json!(refused_energy));
    extra.insert("scarce_quota".into(), json!(quota.quota));
    extra.insert("scarce_demand".into(), json!(quota.demand));
    extra.insert("scarce_accepted".into(), json!(quota.accepted));
    extra.insert("scarce_counter".into(), json!(quota.counter));
    extra.insert("scarce_pledged".into(), json!(quota.pledged));
    extra.insert("sold_out".into(), json!(quota.sold_out));
    extra.insert("oversold".into(), json!(quota.oversold()));
    extra.insert("quota_holds".into(), json!(quota.holds()));
    extra.insert("concurrency".into(), json!(args.concurrency));
    extra.insert("seconds".into(), json!(args.seconds));
    extra.insert("seed_seconds".into(), json!(round(seed_seconds)));
    extra.insert("rss_peak_mb".into(), json!(rss_peak_mb));
    extra.insert("audit_seconds".into(), json!(round(audit_seconds)));
    extra.insert("entries".into(), json!(report.entries));
    extra.insert("conservation".into(), json!(report.is_sound()));
    let figures = Figures {
        scenario: "plant",
        backend: database.backend,
        users: args.users,
        ops_per_s: http_per_s,
        latencies: http,
        baseline_per_s,
        extra,
    };

    println!(
        "scenario plant on {} ({} users, {} connections, {} s per phase; seeded in {seed_seconds:.1} s)",
        database.backend, args.users, args.concurrency, args.seconds
    );
    print_header("per second");
    print_row("HTTP ceiling (requests)", ceiling_per_s, &ceiling);
    print_row("pledges over HTTP", http_per_s, &figures.latencies);
    print_row(
        "pledges through the writer",
        writer_per_s,
        &writer_latencies,
    );
    print_row("one transaction per pledge", baseline_per_s, &baseline);
    println!(
        "over HTTP: {} pledges ({} trees, {} m² of land), {} without their species card",
        Counters::get(&http_counters.pledges),
        Counters::get(&http_counters.trees),
        Counters::get(&http_counters.land_m2),
        Counters::get(&http_counters.without_card)
    );
    println!(
        "scarce item: quota {}, asked {} times, {} accepted (writer's counter {}, pledge rows {}), {} answered sold out: {}",
        quota.quota,
        quota.demand,
        quota.accepted,
        quota.counter,
        quota.pledged,
        quota.sold_out,
        if quota.oversold() {
            "OVERSOLD"
        } else if quota.holds() {
            "never oversold"
        } else {
            "counts DISAGREE"
        }
    );
    if quota.demand <= quota.quota {
        println!(
            "the demand did not exceed the quota, so the check proved little: lower --scarce-quota"
        );
    }
    if refused_energy > 0 {
        println!("{refused_energy} pledges were refused for want of energy: seed more --users");
    }
    println!(
        "{} journal entries, audited in {audit_seconds:.1} s; conservation {}",
        report.entries,
        if report.is_sound() { "holds" } else { "BROKEN" }
    );
    let verdict = |met: bool| if met { "met" } else { "NOT met" };
    println!(
        "target: pledges over HTTP ≥ {TARGET_RATIO}× one transaction per pledge: {:.2}×: {} ({:.0}% of the HTTP ceiling; through the writer alone {:.2}×)",
        figures.ratio(),
        verdict(figures.ratio() >= TARGET_RATIO),
        ceiling_ratio * 100.0,
        writer_ratio
    );
    Ok(super::finish(
        &figures,
        args.target.json,
        report.is_sound() && quota.holds(),
    ))
}

/// Seeds the planters chunk by chunk (each with a session and a ball of `WALLET_GRAMS`
/// issued by the run's partner and collected into their wallet) and the run's NGO, site and
/// catalog items.
async fn seed(
    store: &Arc<dyn Store>,
    config: &Config,
    args: &PlantArgs,
) -> anyhow::Result<(World, SeedReport)> {
    let now = SystemClock.now();
    let run_tag = format!("{:06x}", rand::thread_rng().gen_range(0..0x100_0000u32));
    let partner = Partner {
        partner_id: PartnerId(openforest_store::new_id(now)),
        name: format!("bench plant {run_tag}"),
        allowed_actions: vec![ACTION.into()],
        disabled_at: None,
        created_at: now,
    };
    store.create_partner(&partner).await?;
    let items = seed_catalog(store, &run_tag, args.scarce_quota).await?;

    let everyone = usize::try_from(args.users)?;
    let mut ids = SequentialIds::new(now);
    let users: Vec<UserId> = (0..everyone).map(|_| UserId(ids.next_id())).collect();
    let bar = super::seeding_bar(everyone as u64);
    let mut report = SeedReport::default();
    let mut start = 0;
    while start < everyone {
        let end = (start + SEED_CHUNK_USERS).min(everyone);
        let mut chunk = SeedChunk::new(partner.partner_id, ACTION, &config.methodology, 1, now);
        chunk.session_expires_at = now.plus_millis(24 * 3_600_000);
        chunk.last = end == everyone;
        for (user, &user_id) in users.iter().enumerate().take(end).skip(start) {
            chunk.users.push(SeedUser {
                user_id,
                handle: Handle::parse(&format!("p{run_tag}-{user:08}")).context("bench handle")?,
                token_hash: hash_token(&token(&run_tag, user)),
            });
            let ball_id = BallId(ids.next_id());
            chunk.balls.push(SeedBall {
                owner_id: user_id,
                ball_id,
                grams: Grams::new(WALLET_GRAMS),
                created_at: now,
                ripens_at: now,
                expires_at: now.plus_millis(72 * 3_600_000),
            });
            chunk.movements.push(SeedMovement {
                owner_id: user_id,
                ball_id,
                grams: Grams::new(WALLET_GRAMS),
                at: now,
                kind: SeedMovementKind::Collect,
            });
        }
        let written = store.seed_world(&chunk).await?;
        report.add(&written);
        bar.inc((end - start) as u64);
        start = end;
    }
    bar.finish_and_clear();
    anyhow::ensure!(
        report.users == everyone as u64 && report.collects == everyone as u64,
        "seeding wrote {report:?}, expected {everyone} users with a collected ball each"
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
            items,
            run_tag,
        },
        report,
    ))
}

/// The run's NGO and site, the scarce item (quota `scarce_quota`) and the ample ones.
async fn seed_catalog(
    store: &Arc<dyn Store>,
    run_tag: &str,
    scarce_quota: u64,
) -> anyhow::Result<Vec<CatalogItem>> {
    let now = SystemClock.now();
    let ngo = Ngo {
        ngo_id: NgoId(openforest_store::new_id(now)),
        name: format!("bench plant {run_tag}"),
        about: "Planting benchmark NGO.".into(),
        created_at: now,
    };
    store.create_ngo(&ngo).await?;
    let site = Site {
        site_id: SiteId(openforest_store::new_id(now)),
        ngo_id: ngo.ngo_id,
        name: format!("bench plant site {run_tag}"),
        region: "Alxa League, Inner Mongolia, China".into(),
        latitude: 38.85,
        longitude: 105.73,
        polygon: None,
        created_at: now,
    };
    store.create_site(&site).await?;
    let offers = std::iter::once((&SCARCE_OFFER, scarce_quota))
        .chain(AMPLE_OFFERS.iter().map(|offer| (offer, AMPLE_QUOTA)));
    let mut items = Vec::new();
    for (offer, quota_units) in offers {
        let item = CatalogItem {
            item_id: CatalogItemId(openforest_store::new_id(now)),
            kind: offer.kind,
            name: format!("{} ({run_tag})", offer.name),
            scientific_name: offer.scientific_name.map(str::to_string),
            ngo_id: ngo.ngo_id,
            site_id: site.site_id,
            unit_grams: Grams::new(offer.unit_grams),
            quota_units,
            taken_units: 0,
            seasons: offer
                .seasons
                .iter()
                .map(|&(name, from_month, to_month)| Season {
                    name: name.into(),
                    from_month,
                    to_month,
                })
                .collect(),
            about: "Planting benchmark item.".into(),
            demo_values: true,
            created_at: now,
        };
        store.create_catalog_item(&item).await?;
        items.push(item);
    }
    Ok(items)
}

/// Reads what the store holds of the scarce item once the server has stopped.
async fn quota_check(
    store: &Arc<dyn Store>,
    world: &World,
    counters: &Counters,
) -> anyhow::Result<QuotaCheck> {
    let scarce = &world.items[SCARCE];
    let counter = store
        .catalog_item(scarce.item_id)
        .await?
        .context("the scarce item is gone")?
        .taken_units;
    let pledged = store
        .impact_figures()
        .await?
        .pledged
        .iter()
        .filter(|sum| sum.item_id == scarce.item_id)
        .map(|sum| sum.units)
        .sum();
    let accepted = Counters::get(&counters.scarce_accepted);
    let sold_out = Counters::get(&counters.sold_out);
    Ok(QuotaCheck {
        quota: scarce.quota_units,
        demand: accepted + sold_out,
        accepted,
        counter,
        pledged,
        sold_out,
    })
}

#[derive(Clone, Copy)]
enum Path {
    Writer,
    Unbatched,
}

#[derive(Clone)]
enum Load {
    Ceiling,
    Http(Arc<Counters>),
    /// Pledges of the ample items sent to a store of this process (the server has stopped).
    Store(Path, Arc<dyn Store>, Arc<Counters>),
}

/// What the server answers a pledge: only what the run checks.
#[derive(Deserialize)]
struct Pledged {
    card_species_id: Option<String>,
}

/// What the server answers a refused pledge: the rule that refused it.
#[derive(Deserialize)]
struct Refusal {
    rule: Option<String>,
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
            let outcome = match load {
                Load::Ceiling => ceiling(&world, deadline, &mut latencies).await,
                Load::Http(counters) => {
                    let client = Client {
                        world: &world,
                        index: client,
                        of: connections,
                        deadline,
                        counters: &counters,
                    };
                    client.plant_over_http(&mut latencies).await
                }
                Load::Store(path, store, counters) => {
                    let client = Client {
                        world: &world,
                        index: client,
                        of: connections,
                        deadline,
                        counters: &counters,
                    };
                    client.plant_in_store(path, &store, &mut latencies).await
                }
            };
            outcome.with_context(|| label.clone())?;
            Ok(latencies)
        }
    })
    .await
}

async fn ceiling(
    world: &World,
    deadline: Instant,
    latencies: &mut Latencies,
) -> anyhow::Result<()> {
    let url = format!("{}/healthz", world.base);
    while Instant::now() < deadline {
        let sent = Instant::now();
        let response = world.http.get(&url).send().await?;
        let status = response.status();
        response.bytes().await?;
        anyhow::ensure!(status.is_success(), "{status}");
        latencies.record(sent.elapsed());
    }
    Ok(())
}

/// One client of a planting phase: client `index` of `of`.
struct Client<'a> {
    world: &'a World,
    index: usize,
    of: usize,
    deadline: Instant,
    counters: &'a Counters,
}

impl Client<'_> {
    /// `POST /v1/me/plantings` for one user after another, with an `Idempotency-Key` as the
    /// app sends it, until the deadline.
    async fn plant_over_http(&self, latencies: &mut Latencies) -> anyhow::Result<()> {
        let world = self.world;
        let url = format!("{}/v1/me/plantings", world.base);
        let mut scarce_open = true;
        let mut n = 0u64;
        while Instant::now() < self.deadline {
            let planting = world.planting(n, scarce_open);
            let user = world.planter(self.index, self.of, n);
            let item = &world.items[planting.item];
            let sent = Instant::now();
            let response = world
                .http
                .post(&url)
                .bearer_auth(token(&world.run_tag, user))
                .header(
                    "idempotency-key",
                    format!("bench-plant-{}-{}-{n}", world.run_tag, self.index),
                )
                .json(&json!({"item_id": item.item_id.uuid(), "units": planting.units}))
                .send()
                .await?;
            let status = response.status();
            let body = response.bytes().await?;
            let elapsed = sent.elapsed();
            n += 1;
            if status == StatusCode::CREATED {
                latencies.record(elapsed);
                self.counters.accepted(world, planting);
                let pledged: Pledged = serde_json::from_slice(&body)?;
                if pledged.card_species_id.is_none() {
                    self.counters.without_card.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            }
            let rule = if status == StatusCode::CONFLICT {
                serde_json::from_slice::<Refusal>(&body)
                    .ok()
                    .and_then(|refusal| refusal.rule)
            } else {
                None
            };
            match rule.as_deref() {
                Some("quota_sold_out") if planting.item == SCARCE => {
                    self.counters.sold_out.fetch_add(1, Ordering::Relaxed);
                    scarce_open = false;
                }
                Some("insufficient_energy") => {
                    self.counters.refused_energy.fetch_add(1, Ordering::Relaxed);
                }
                _ => anyhow::bail!(
                    "a pledge of {}: {status}: {}",
                    item.name,
                    String::from_utf8_lossy(&body)
                ),
            }
        }
        Ok(())
    }

    /// The same pledges of the ample items as `Command::Plant`, as the server sends it but
    /// without the species card (which needs the server's draw secret), to the group-commit
    /// writer or each in a transaction of its own.
    async fn plant_in_store(
        &self,
        path: Path,
        store: &Arc<dyn Store>,
        latencies: &mut Latencies,
    ) -> anyhow::Result<()> {
        let world = self.world;
        let mut n = 0u64;
        while Instant::now() < self.deadline {
            let planting = world.planting(n, false);
            let user = world.planter(self.index, self.of, n);
            n += 1;
            let item = &world.items[planting.item];
            let now = SystemClock.now();
            let today = chrono::Utc::now();
            let envelope = Envelope::new(Command::Plant(Box::new(Plant {
                planter_id: world.users[user],
                pledge_id: PledgeId(openforest_store::new_id(now)),
                item_id: item.item_id,
                kind: item.kind,
                unit_grams: item.unit_grams,
                units: planting.units,
                quota_units: item.quota_units,
                source: PlantSource::Wallet,
                season: season_label(
                    &item.seasons,
                    today.year(),
                    u8::try_from(today.month()).unwrap_or(1),
                ),
                card: None,
            })));
            let sent = Instant::now();
            let executed = match path {
                Path::Writer => store.execute(envelope).await,
                Path::Unbatched => store.execute_unbatched(envelope).await,
            };
            match executed {
                Ok(_) => {
                    latencies.record(sent.elapsed());
                    self.counters.accepted(world, planting);
                }
                Err(CommandError::Rejected(Rejection::Rule {
                    rule: "insufficient_energy",
                    ..
                })) => {
                    self.counters.refused_energy.fetch_add(1, Ordering::Relaxed);
                }
                Err(err) => anyhow::bail!("a pledge of {}: {err}", item.name),
            }
        }
        Ok(())
    }
}
