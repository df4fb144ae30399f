//! `openforest`: the one binary. Serves the API, migrates and verifies the ledger, creates
//! admins and operator keys, and runs the benchmarks.
#![forbid(unsafe_code)]

mod accounts;
mod bench;
mod demo;
mod settings;
mod species;
mod verify;
mod verify_certificate;

use clap::{Parser, Subcommand};
use openforest_core::Clock;
use openforest_server::Application;
use openforest_store::SystemClock;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "openforest",
    version,
    about = "Run your own Ant Forest: green energy, friends, real trees, verifiable certificates."
)]
struct Cli {
    /// TOML configuration file (see `openforest default-config`).
    #[arg(long, global = true, env = "OPENFOREST_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Commands>,
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Load a catalog file (TOML: [[ngos]], [[sites]], [[items]]); what exists is kept.
    Load { file: std::path::PathBuf },
    /// Load the demo catalog: saxaul and red willow at Ant Forest's costs, others demo values.
    Demo,
}

#[derive(Subcommand)]
enum Commands {
    /// Start the server (the default when no command is given).
    Serve,
    /// Print the documented default configuration.
    DefaultConfig,
    /// Apply database migrations and exit.
    Migrate,
    /// Recompute every balance from the journal and check conservation; non-zero exit on any mismatch.
    Verify {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check a certificate offline (its PDF or proof document) against the operator's public
    /// key; non-zero exit if any record is missing from the signed log or does not match.
    VerifyCertificate {
        /// The certificate's PDF, or its proof document (JSON).
        file: std::path::PathBuf,
        /// The operator's log key: hex, the base64 `public_key` of GET /v1/log/key, or a PEM file.
        #[arg(long)]
        public_key: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load planting catalogs: NGOs, sites, tree species and protected land.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Manage admin accounts.
    #[command(subcommand)]
    Admin(accounts::AdminCommand),
    /// Manage keys an operator's backend uses to create sessions for its users.
    #[command(subcommand)]
    OperatorKey(accounts::OperatorKeyCommand),
    /// Amazing Species: check the operator's data files.
    #[command(subcommand)]
    Species(species::SpeciesCommand),
    /// Serve a lively demo world: players, friends, ripe balls, an NGO, trees in every status.
    /// Prints the URL and the logins; running it again adds nothing twice.
    Demo(demo::DemoArgs),
    /// Benchmarks (not tests): measure a scenario and print its figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Threads of the blocking pool: four per pooled read connection, at least 32.
fn blocking_threads(config: &openforest_server::config::Config) -> usize {
    usize::try_from(config.writer.read_connections)
        .unwrap_or(usize::MAX)
        .saturating_mul(4)
        .max(32)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Commands::Serve);
    if let Commands::DefaultConfig = command {
        print!("{}", openforest_server::config::DEFAULT_CONFIG_TOML);
        return Ok(ExitCode::SUCCESS);
    }
    // Offline: no configuration, no database.
    if let Commands::VerifyCertificate {
        file,
        public_key,
        json,
    } = &command
    {
        return verify_certificate::run(file, public_key, *json);
    }
    let config = settings::load(cli.config.as_deref())?;
    if let Commands::Species(species) = command {
        return species::run(&config, species);
    }
    settings::init_tracing(
        &config.log,
        matches!(command, Commands::Serve | Commands::Demo(_)),
    )?;
    // Store reads run on the blocking pool, each holding one of `read_connections` pooled
    // connections; more threads than a few per connection only wait on the pool, and every
    // thread that allocates grows the allocator's footprint (see docs/BENCHMARKS.md, memory).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads(&config))
        .build()?;
    runtime.block_on(async move {
        match command {
            Commands::Serve => serve(config).await,
            Commands::Migrate => {
                settings::migrate(&config).await?;
                println!(
                    "migrations applied to {}",
                    settings::describe_url(&config.database_url())
                );
                Ok(ExitCode::SUCCESS)
            }
            Commands::Verify { json } => verify::run(&config, json).await,
            Commands::Catalog(catalog) => load_catalog(&config, catalog).await,
            Commands::Admin(admin) => accounts::admin(&config, admin).await,
            Commands::OperatorKey(key) => accounts::operator_key(&config, key).await,
            Commands::Bench(bench) => bench::run(&config, bench).await,
            Commands::Demo(args) => demo::run(config, args).await,
            Commands::DefaultConfig | Commands::VerifyCertificate { .. } | Commands::Species(_) => {
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn serve(config: openforest_server::config::Config) -> anyhow::Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = settings::open_store(&config, clock.clone()).await?;
    tracing::info!(
        backend = store.backend().as_str(),
        "openforest stores its data in {}",
        store.location()
    );
    let app = Application::build(config, store, clock).await?;
    let addr = app.local_addr()?;
    tracing::info!(
        "openforest listening on http://{addr} (open http://{addr}/openapi.json for the API)"
    );
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("openforest stopped: every accepted command is committed");
    Ok(ExitCode::SUCCESS)
}

async fn load_catalog(
    config: &openforest_server::config::Config,
    command: CatalogCommand,
) -> anyhow::Result<ExitCode> {
    let (text, what) = match command {
        CatalogCommand::Load { file } => (
            std::fs::read_to_string(&file)
                .map_err(|err| anyhow::anyhow!("reading {}: {err}", file.display()))?,
            file.display().to_string(),
        ),
        CatalogCommand::Demo => (
            openforest_server::catalog_file::DEMO_CATALOG.to_string(),
            "the demo catalog".to_string(),
        ),
    };
    let clock = SystemClock;
    let store = settings::open_store(config, Arc::new(SystemClock)).await?;
    let loaded = openforest_server::catalog_file::load(store.as_ref(), &clock, &text).await;
    store.shutdown().await;
    let loaded = loaded.map_err(|err| anyhow::anyhow!("{what}: {err}"))?;
    println!(
        "{what}: added {} NGOs, {} sites, {} items (existing ones kept)",
        loaded.ngos, loaded.sites, loaded.items
    );
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests and commits");
}
