//! Configuration: a TOML file plus `OPENFOREST_*` environment overrides (layered by the CLI).
//! Passed into the application, never global, so each test can have its own.

use openforest_store::WriterOptions;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server listens on.
    pub listen: String,
    /// Where the embedded SQLite database (and later uploads) live.
    pub data_dir: PathBuf,
    /// Empty: SQLite under `data_dir`. Or `sqlite://path` or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Log filter in `tracing` syntax.
    pub log: String,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub writer: WriterOptions,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// How long a session token stays valid.
    pub session_ttl_hours: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("openforest-data"),
            database_url: String::new(),
            log: "info".into(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            writer: WriterOptions::default(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            body_limit_bytes: 256 * 1024,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_ttl_hours: 24 * 30,
        }
    }
}

impl Config {
    /// The database to open: the configured URL, or SQLite under the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.trim().is_empty() {
            format!("sqlite://{}", self.data_dir.join("openforest.db").display())
        } else {
            self.database_url.trim().to_string()
        }
    }
}

/// The documented default configuration, printed by `openforest default-config`. A test keeps
/// it equal to `Config::default()`.
pub const DEFAULT_CONFIG_TOML: &str = r#"# openforest configuration. Every key is optional; shown here with its default.
# Each key can be overridden by an environment variable: OPENFOREST_ plus the key in capitals,
# with "__" between a section and its key, e.g. OPENFOREST_LISTEN, OPENFOREST_DATA_DIR,
# OPENFOREST_DATABASE_URL, OPENFOREST_WRITER__BATCH_MAX. The file itself is chosen with
# --config FILE or OPENFOREST_CONFIG.

# Address the HTTP server listens on.
listen = "127.0.0.1:8080"

# Where the embedded SQLite database lives (created on first run).
data_dir = "openforest-data"

# Empty: SQLite at <data_dir>/openforest.db. Or "sqlite://path/to/file.db", or
# "postgres://user:password@host:5432/dbname" to run on PostgreSQL (migrations apply at start).
database_url = ""

# Log filter (tracing syntax), e.g. "info" or "openforest_server=debug,info".
log = "info"

[http]
# Largest request body accepted, in bytes; larger ones get 413 problem+json.
body_limit_bytes = 262144

[auth]
# How long a session token stays valid.
session_ttl_hours = 720

[writer]
# Commands the group-commit writer applies in one transaction at most.
batch_max = 1024
# Commands that may wait per writer lane; beyond that callers get 503 with Retry-After.
queue_depth = 16384
# Writer lanes on PostgreSQL, partitioned by user id (SQLite always has one writer).
postgres_writers = 2
# Database connections for reads.
read_connections = 8
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_default_config_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_CONFIG_TOML).expect("default config parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn without_a_database_url_sqlite_lives_in_the_data_dir() {
        let config = Config {
            data_dir: PathBuf::from("/var/lib/openforest"),
            ..Config::default()
        };
        assert_eq!(
            config.database_url(),
            "sqlite:///var/lib/openforest/openforest.db"
        );
    }
}
