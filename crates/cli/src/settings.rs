//! Loading configuration (defaults, then the TOML file, then `OPENFOREST_*` variables),
//! logging, and opening the configured store.

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use openforest_core::Clock;
use openforest_server::config::Config;
use openforest_store::Store;
use std::path::Path;
use std::sync::Arc;

pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = path {
        anyhow::ensure!(
            path.is_file(),
            "configuration file {} not found",
            path.display()
        );
        figment = figment.merge(Toml::file(path));
    }
    // OPENFOREST_CONFIG names the file and OPENFOREST_TEST_* steer the test suite: neither is a key.
    let env = Env::prefixed("OPENFOREST_").split("__").filter(|key| {
        // Keys arrive as written (`TEST_REQUIRE_ALL`): compare without case.
        let key = key.as_str().to_ascii_lowercase();
        key != "config" && !key.starts_with("test_")
    });
    figment
        .merge(env)
        .extract()
        .map_err(|err| anyhow::anyhow!("invalid configuration: {err}"))
}

/// Logs go to stdout. `verbose` (serve) logs at the configured level; other commands only
/// warn, so their own output stays readable.
pub fn init_tracing(filter: &str, verbose: bool) -> anyhow::Result<()> {
    let filter = if verbose { filter } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("invalid log filter {filter:?}"))?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .init();
    Ok(())
}

pub async fn open_store(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    openforest_store::open(&url, config.writer.clone(), clock)
        .await
        .with_context(|| format!("opening {}", describe_url(&url)))
}

pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = config.database_url();
    if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        openforest_store::sqlite::SqliteStore::migrate(Path::new(path))?;
    } else {
        openforest_store::postgres::PostgresStore::migrate(&url).await?;
    }
    Ok(())
}

/// A database URL fit for a log line: the password is never shown.
pub fn describe_url(url: &str) -> String {
    match url.split_once('@') {
        Some((credentials, rest)) if credentials.contains("://") => {
            let scheme = credentials.split("://").next().unwrap_or("postgres");
            format!("{scheme}://****@{rest}")
        }
        _ => url.to_string(),
    }
}
