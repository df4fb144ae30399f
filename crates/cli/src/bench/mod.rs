//! `openforest bench …`: benchmarks, not tests. Each scenario prints a table for people and,
//! with `--json`, one JSON object on the last line with at least `scenario`, `backend`,
//! `users`, `ops_per_s`, `p50_ms`, `p99_ms`, `baseline_per_s` and `ratio`.

mod expire;
mod harvest;
mod ingest;
mod ledger;
mod log;
mod plant;
mod seed;
mod server;

use clap::{Subcommand, ValueEnum};
use hdrhistogram::Histogram;
use openforest_server::config::Config;
use openforest_testkit::PgCluster;
use serde_json::{Map, Value, json};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Concurrent transfers through the group-commit writer, against the same transfers each
    /// in a transaction of its own, on the same database in the same run.
    Ledger(ledger::LedgerArgs),
    /// Signed partner reports over HTTP, one by one and in batches of 1,000, against the HTTP
    /// ceiling of the same server (a trivial endpoint under the same load).
    Ingest(ingest::IngestArgs),
    /// The 7 a.m. rush: seeded users whose balls ripen at the same instant collect and steal
    /// over HTTP, against the HTTP ceiling (SQLite) or pgbench on the same cluster (PostgreSQL);
    /// and a popular user's forest home.
    Harvest(harvest::HarvestArgs),
    /// A day's balls expire: the server's expiry job through the group-commit writer, against
    /// the same job with one transaction per ball, on the same database in the same run.
    Expire(expire::ExpireArgs),
    /// The transparency log against the ledger: entries written through the writer, then
    /// integrated by the sequencer; can the log keep up?
    Log(log::LogArgs),
    /// Planting under load: users with energy in their wallets pledge trees and land over
    /// HTTP, one item with a quota smaller than the demand (never oversold), against the same
    /// pledges each in a transaction of its own; the run ends with the quota check and the
    /// conservation audit.
    Plant(plant::PlantArgs),
    /// Builds a realistic world and keeps it: power-law friendships (up to 1,000 friends), a
    /// month of play with balls in every state, every gram in the journal; prints where it is,
    /// for the other scenarios' `--database-url`.
    Seed(seed::SeedArgs),
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ledger(args) => ledger::run(config, args).await,
        BenchCommand::Ingest(args) => ingest::run(config, args).await,
        BenchCommand::Harvest(args) => harvest::run(config, args).await,
        BenchCommand::Log(args) => log::run(config, args).await,
        BenchCommand::Expire(args) => expire::run(config, args).await,
        BenchCommand::Plant(args) => plant::run(config, args).await,
        BenchCommand::Seed(args) => seed::run(config, args).await,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    Sqlite,
    Postgres,
}

/// Where a benchmark runs: given by `--database-url`, or made fresh for the run (a SQLite file
/// in a temporary directory, or a throw-away PostgreSQL cluster with fsync on).
#[derive(clap::Args, Clone, Debug)]
pub struct Target {
    /// Backend for a fresh database made for this run.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub backend: BackendArg,
    /// Run on this existing database instead (sqlite://… or postgres://…).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Also print the figures as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

pub struct BenchDatabase {
    pub url: String,
    pub backend: &'static str,
    _cluster: Option<PgCluster>,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDatabase {
    /// A URL on the same server to create other databases from (pgbench's).
    pub fn admin_url(&self) -> String {
        match &self._cluster {
            Some(cluster) => cluster.url("postgres"),
            None => self.url.clone(),
        }
    }

    /// The PostgreSQL binaries of a throw-away cluster (pgbench).
    pub fn pg_bin_dir(&self) -> Option<&std::path::Path> {
        self._cluster.as_ref().map(PgCluster::bin_dir)
    }
}

impl Target {
    pub async fn prepare(&self) -> anyhow::Result<BenchDatabase> {
        if let Some(url) = &self.database_url {
            let backend = if url.starts_with("postgres") {
                "postgres"
            } else {
                "sqlite"
            };
            return Ok(BenchDatabase {
                url: url.clone(),
                backend,
                _cluster: None,
                _dir: None,
            });
        }
        match self.backend {
            BackendArg::Sqlite => {
                let dir = tempfile::tempdir()?;
                Ok(BenchDatabase {
                    url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                    backend: "sqlite",
                    _cluster: None,
                    _dir: Some(dir),
                })
            }
            BackendArg::Postgres => {
                eprintln!("starting a throw-away PostgreSQL cluster (fsync on) …");
                let cluster = tokio::task::spawn_blocking(|| PgCluster::start(true)).await??;
                let url = openforest_testkit::create_database(&cluster.url("postgres")).await?;
                Ok(BenchDatabase {
                    url,
                    backend: "postgres",
                    _cluster: Some(cluster),
                    _dir: None,
                })
            }
        }
    }
}

/// Latencies of one phase.
pub struct Latencies(Histogram<u64>);

impl Latencies {
    pub fn new() -> anyhow::Result<Latencies> {
        Ok(Latencies(Histogram::new_with_bounds(1, 60_000_000, 3)?))
    }

    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let _ = self.0.record(micros.min(60_000_000));
    }

    pub fn merge(&mut self, other: &Latencies) {
        let _ = self.0.add(&other.0);
    }

    pub fn percentile_ms(&self, percentile: f64) -> f64 {
        self.0.value_at_percentile(percentile) as f64 / 1_000.0
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }
}

/// The figures every scenario reports.
pub struct Figures {
    pub scenario: &'static str,
    pub backend: &'static str,
    pub users: u64,
    pub ops_per_s: f64,
    pub latencies: Latencies,
    pub baseline_per_s: f64,
    pub extra: Map<String, Value>,
}

impl Figures {
    pub fn ratio(&self) -> f64 {
        ratio(self.ops_per_s, self.baseline_per_s)
    }

    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("scenario".into(), json!(self.scenario));
        object.insert("backend".into(), json!(self.backend));
        object.insert("users".into(), json!(self.users));
        object.insert("ops_per_s".into(), json!(round(self.ops_per_s)));
        object.insert("p50_ms".into(), json!(self.latencies.percentile_ms(50.0)));
        object.insert("p99_ms".into(), json!(self.latencies.percentile_ms(99.0)));
        object.insert("baseline_per_s".into(), json!(round(self.baseline_per_s)));
        object.insert("ratio".into(), json!(round_to_hundredths(self.ratio())));
        object.extend(self.extra.clone());
        Value::Object(object)
    }
}

/// `rate / baseline`, or 0 when there is no baseline to compare with.
pub fn ratio(rate: f64, baseline: f64) -> f64 {
    if baseline > 0.0 { rate / baseline } else { 0.0 }
}

pub fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// Two decimals that print as two decimals (0.09, not 0.09000000000000001).
pub fn round_to_hundredths(value: f64) -> f64 {
    format!("{value:.2}").parse().unwrap_or(value)
}

/// Runs `clients` concurrent clients until `duration` has passed, with a progress bar. Each
/// client is `client(index, deadline)`: it loops until the deadline and answers the latencies
/// of what it completed, or the first failure. Answers operations per second and latencies.
pub async fn run_phase<F, Fut>(
    label: &str,
    clients: usize,
    duration: Duration,
    client: F,
) -> anyhow::Result<(f64, Latencies)>
where
    F: Fn(usize, std::time::Instant) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Latencies>> + Send + 'static,
{
    let bar = phase_bar(label, duration);
    let started = std::time::Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|index| tokio::spawn(client(index, deadline)))
        .collect();
    let ticker = {
        let bar = bar.clone();
        tokio::spawn(async move {
            while std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                bar.inc(1);
            }
        })
    };
    let mut all = Latencies::new()?;
    let mut failure = None;
    for task in futures_util::future::join_all(tasks).await {
        match task? {
            Ok(latencies) => all.merge(&latencies),
            Err(err) => failure = failure.or(Some(err)),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    ticker.abort();
    bar.finish_and_clear();
    if let Some(err) = failure {
        return Err(err.context(format!("{label}: a client failed")));
    }
    Ok((all.count() as f64 / elapsed, all))
}

/// A progress bar over `users` users being seeded.
pub fn seeding_bar(users: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(users);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} {bar:30} {pos}/{len} users ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message("seeding");
    bar
}

fn phase_bar(label: &str, duration: Duration) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(duration.as_secs().max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>28} {bar:30} {pos}/{len} s")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(label.to_string());
    bar
}

/// One row of a scenario's table: what was measured, its rate and latencies.
pub fn print_row(label: &str, per_s: f64, latencies: &Latencies) {
    println!(
        "{label:<34} {:>14} {:>9.2} {:>9.2}",
        round(per_s),
        latencies.percentile_ms(50.0),
        latencies.percentile_ms(99.0)
    );
}

pub fn print_header(unit: &str) {
    println!("{:<34} {unit:>14} {:>9} {:>9}", "", "p50 ms", "p99 ms");
}

/// The peak resident memory in MiB (`VmHWM`) in a `/proc/…/status` file.
pub fn peak_rss_mb_of(status_path: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(round(kib / 1024.0))
}

/// Prints the JSON line when asked and turns conservation into the exit code.
pub fn finish(figures: &Figures, json: bool, conservation_holds: bool) -> ExitCode {
    if json {
        println!("{}", figures.to_json());
    }
    if conservation_holds {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
