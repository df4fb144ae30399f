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
    /// The address people reach the server at, for links printed on certificates (their QR
    /// code); empty: `http://` and `listen`.
    pub public_url: String,
    /// Where the embedded SQLite database (and later uploads) live.
    pub data_dir: PathBuf,
    /// Empty: SQLite under `data_dir`. Or `sqlite://path` or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// Empty: every read goes to `database_url`. Or `postgres://…` of a streaming replica of
    /// it: forest home, feed, rankings, the catalog and the impact dashboard read there.
    pub database_replica_url: String,
    /// Log filter in `tracing` syntax.
    pub log: String,
    /// The operator's IANA time zone: local days, months and the morning ripening follow it.
    pub timezone: String,
    /// Local time at which "next morning" balls ripen (`HH:MM`).
    pub ripening_time: String,
    /// The methodology: a preset name (`classic`, `transport-km`) or a path to a TOML file.
    pub methodology: String,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub jobs: JobsConfig,
    pub partners: PartnersConfig,
    pub webhooks: WebhooksConfig,
    pub transparency: TransparencyConfig,
    pub game: GameConfig,
    pub planting: PlantingConfig,
    pub species: SpeciesConfig,
    pub writer: WriterOptions,
}

/// The forest game's numbers (PRODUCT.md §5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameConfig {
    /// Friends one user may have.
    pub friends_max: u32,
    /// A user takes energy (collect, steal, help) at most once per this many ms; 0: no limit.
    pub collect_interval_ms: u64,
    /// Times one user may water the same friend per local day.
    pub waterings_per_friend_per_day: u32,
    /// The energy of the tree forest home shows progress towards (saxaul's 17,900 g), until
    /// the planting catalog names the user's chosen species.
    pub tree_goal_grams: u64,
    /// Members a co-planting group may have.
    pub group_members_max: u32,
    /// Grams one member may put into one group's pot per local day.
    pub pot_daily_grams_per_member: u64,
    pub steal: openforest_core::StealRules,
    pub props: PropsConfig,
}

/// How long props last once used, and unused in the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PropsConfig {
    pub shield_hours: u32,
    pub double_collect_hours: u32,
    pub steal_multiplier_days: u32,
    /// The multiplier's factor in thousandths (1500: steals take ×1.5).
    pub steal_multiplier_permille: u32,
    /// Unused props expire this many days after they are granted.
    pub inventory_days: u32,
    /// Shields given for a 7-day collecting streak.
    pub streak_reward_shields: u32,
}

impl Default for PropsConfig {
    fn default() -> Self {
        PropsConfig {
            shield_hours: 24,
            double_collect_hours: 24,
            steal_multiplier_days: 3,
            steal_multiplier_permille: 1_500,
            inventory_days: 30,
            streak_reward_shields: 1,
        }
    }
}

impl Default for GameConfig {
    fn default() -> Self {
        GameConfig {
            friends_max: 1_000,
            collect_interval_ms: 150,
            waterings_per_friend_per_day: 3,
            tree_goal_grams: 17_900,
            group_members_max: 50,
            pot_daily_grams_per_member: 500,
            steal: openforest_core::StealRules::default(),
            props: PropsConfig::default(),
        }
    }
}

/// Amazing Species (PRODUCT.md §7, docs/species.md): where the catalog comes from, when cards
/// are earned, what sets give, and the odds of each Red List category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeciesConfig {
    /// Read the bundled catalog (over 200 species, themed sets) before the operator's files.
    pub bundled: bool,
    /// A directory of the operator's data files (`*.toml`, read in name order) that add or
    /// replace species and themed sets; empty: none.
    pub data_dir: String,
    /// Grams a user must collect in a local day before that day's draw opens.
    pub daily_draw_grams: u64,
    /// Cards given with the 7-day collecting streak task.
    pub streak_reward_cards: u32,
    /// What completing a set without a reward of its own gives: a prop kind and how many.
    pub set_reward_prop: String,
    pub set_reward_count: u32,
    pub odds: SpeciesOdds,
}

/// Relative weight of each category in a draw; rarer categories must weigh less.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeciesOdds {
    pub cr: u32,
    pub en: u32,
    pub vu: u32,
    pub nt: u32,
    pub lc: u32,
}

impl Default for SpeciesOdds {
    fn default() -> Self {
        SpeciesOdds {
            cr: 2,
            en: 8,
            vu: 15,
            nt: 25,
            lc: 50,
        }
    }
}

impl Default for SpeciesConfig {
    fn default() -> Self {
        SpeciesConfig {
            bundled: true,
            data_dir: String::new(),
            daily_draw_grams: 20,
            streak_reward_cards: 1,
            set_reward_prop: "shield".into(),
            set_reward_count: 1,
            odds: SpeciesOdds::default(),
        }
    }
}

/// Delivery of webhooks from the outbox: when, how often retried, how long waited for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// How often the dispatcher looks for events and due deliveries; 0 turns it off.
    pub dispatch_interval_ms: u64,
    /// Attempts per delivery before it is marked failed (an admin can retry it).
    pub max_attempts: u32,
    /// Wait after the first failed attempt; it doubles after each further one…
    pub initial_backoff_seconds: u64,
    /// …up to this.
    pub max_backoff_seconds: u64,
    /// How long one attempt waits for the endpoint's answer.
    pub timeout_seconds: u64,
    /// Deliveries sent at once.
    pub concurrency: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            dispatch_interval_ms: 1_000,
            max_attempts: 16,
            initial_backoff_seconds: 10,
            max_backoff_seconds: 6 * 3_600,
            timeout_seconds: 10,
            concurrency: 16,
        }
    }
}

/// The transparency log's sequencer (docs/transparency.md). The section is `[transparency]`
/// because the top-level `log` key is the log filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransparencyConfig {
    /// How often new records are integrated and a signed tree head published; 0 turns the
    /// sequencer off.
    pub sequence_interval_ms: u64,
    /// Records integrated per round at most.
    pub batch_max: u32,
    /// How far before the newest logged record the sequencer still looks for records that
    /// committed late; `verify` reports older records missing from the log as problems.
    pub late_commit_grace_ms: u64,
}

impl Default for TransparencyConfig {
    fn default() -> Self {
        TransparencyConfig {
            sequence_interval_ms: 2_000,
            batch_max: 10_000,
            late_commit_grace_ms: 10_000,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartnersConfig {
    /// Signed requests each partner may send per second, sustained (beyond: 429).
    pub requests_per_second: u32,
    /// Requests a partner may send at once above the sustained rate.
    pub burst: u32,
}

impl Default for PartnersConfig {
    fn default() -> Self {
        PartnersConfig {
            requests_per_second: 2_000,
            burst: 4_000,
        }
    }
}

/// Planting: orders to NGOs and the evidence they upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlantingConfig {
    /// How often new pledges are grouped into orders per NGO, site and season; 0: only when an
    /// admin places orders.
    pub order_interval_seconds: u64,
    /// The largest evidence photo accepted, in bytes.
    pub photo_bytes_max: usize,
    /// Photos one planting batch may name.
    pub photos_per_batch_max: usize,
}

impl Default for PlantingConfig {
    fn default() -> Self {
        PlantingConfig {
            order_interval_seconds: 3600,
            photo_bytes_max: 5 * 1024 * 1024,
            photos_per_batch_max: 10,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// How often uncollected balls past their expiry are expired.
    pub expiry_interval_seconds: u64,
    /// How long before expiry a ball with energy left is announced (`ball.expiring` webhook).
    pub expiring_notice_minutes: u64,
    /// PostgreSQL: a UTC day's partition of balls is dropped once it ended this many days ago
    /// and every ball in it is settled (0: days are never dropped).
    pub ball_days_retention_days: u32,
    /// How often days of balls past their retention are looked for.
    pub ball_days_cleanup_interval_seconds: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            expiry_interval_seconds: 60,
            expiring_notice_minutes: 120,
            ball_days_retention_days: 30,
            ball_days_cleanup_interval_seconds: 3_600,
        }
    }
}

impl JobsConfig {
    /// How long a day of settled balls is kept after it ended; `None` keeps every day. Shorter
    /// than a ball's life is refused: such a day could not be settled yet, and the partition
    /// maker, which makes today's and the coming days' partitions, must never meet a dropped day.
    pub fn ball_days_retention(&self) -> anyhow::Result<Option<std::time::Duration>> {
        const DAY_MS: i64 = 86_400_000;
        let lifetime_ms = openforest_core::methodology::BALL_LIFETIME_MS;
        let lifetime_days = (lifetime_ms + DAY_MS - 1) / DAY_MS;
        match self.ball_days_retention_days {
            0 => Ok(None),
            days if i64::from(days) < lifetime_days => anyhow::bail!(
                "jobs.ball_days_retention_days = {days}: a ball lives {lifetime_days} days, so \
                 keep days at least that long (or 0 to never drop them)"
            ),
            days => Ok(Some(std::time::Duration::from_secs(
                u64::from(days) * 86_400,
            ))),
        }
    }
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
            public_url: String::new(),
            data_dir: PathBuf::from("openforest-data"),
            database_url: String::new(),
            database_replica_url: String::new(),
            log: "info".into(),
            timezone: "UTC".into(),
            ripening_time: "07:00".into(),
            methodology: "classic".into(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            jobs: JobsConfig::default(),
            partners: PartnersConfig::default(),
            webhooks: WebhooksConfig::default(),
            transparency: TransparencyConfig::default(),
            game: GameConfig::default(),
            planting: PlantingConfig::default(),
            species: SpeciesConfig::default(),
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

/// The settings that turn reported actions into balls, checked once at start.
#[derive(Clone, Debug)]
pub struct EnergySettings {
    pub methodology: std::sync::Arc<openforest_core::Methodology>,
    /// The methodology's action rules by key, shared with the writer's credits.
    pub rules: std::sync::Arc<
        std::collections::HashMap<String, std::sync::Arc<openforest_core::methodology::ActionRule>>,
    >,
    pub timezone: openforest_core::methodology::Tz,
    pub ripening_time: chrono::NaiveTime,
}

impl EnergySettings {
    /// The settings for `methodology` with the operator's time settings.
    pub fn new(
        methodology: openforest_core::Methodology,
        timezone: openforest_core::methodology::Tz,
        ripening_time: chrono::NaiveTime,
    ) -> EnergySettings {
        let rules = methodology
            .actions()
            .iter()
            .map(|rule| {
                (
                    rule.key().as_str().to_string(),
                    std::sync::Arc::new(rule.clone()),
                )
            })
            .collect();
        EnergySettings {
            rules: std::sync::Arc::new(rules),
            methodology: std::sync::Arc::new(methodology),
            timezone,
            ripening_time,
        }
    }

    /// The same time settings with another methodology (an activated version).
    pub fn with_methodology(&self, methodology: openforest_core::Methodology) -> EnergySettings {
        EnergySettings::new(methodology, self.timezone, self.ripening_time)
    }
}

impl Config {
    /// Loads the configured methodology and parses the time settings; errors name the key at
    /// fault.
    pub fn energy(&self) -> anyhow::Result<EnergySettings> {
        use openforest_core::methodology::{parse_local_time, parse_timezone};
        let timezone =
            parse_timezone(&self.timezone).map_err(|err| anyhow::anyhow!("timezone: {err}"))?;
        let ripening_time = parse_local_time(&self.ripening_time)
            .map_err(|err| anyhow::anyhow!("ripening_time: {err}"))?;
        let (_, methodology) = self.configured_methodology()?;
        Ok(EnergySettings::new(methodology, timezone, ripening_time))
    }

    /// The methodology `methodology` names, a preset or a file: its text as written and the
    /// checked methodology. A file that cannot be used is refused with its line and the reason.
    pub fn configured_methodology(&self) -> anyhow::Result<(String, openforest_core::Methodology)> {
        let text = match openforest_core::Methodology::preset_text(&self.methodology) {
            Some(preset) => preset.to_string(),
            None => std::fs::read_to_string(&self.methodology).map_err(|err| {
                anyhow::anyhow!(
                    "methodology: {:?} is neither a preset ({}) nor a readable file: {err}",
                    self.methodology,
                    openforest_core::Methodology::preset_names().join(", ")
                )
            })?,
        };
        let methodology = openforest_core::Methodology::parse(&text)
            .map_err(|err| anyhow::anyhow!("methodology file {}: {err}", self.methodology))?;
        Ok((text, methodology))
    }

    /// Where people reach the server (no trailing slash).
    pub fn public_url(&self) -> String {
        let url = self.public_url.trim().trim_end_matches('/');
        if url.is_empty() {
            format!("http://{}", self.listen.trim())
        } else {
            url.to_string()
        }
    }

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

# The address people reach the server at (e.g. "https://forest.example.org"), used in the links
# and QR codes printed on certificates. Empty: "http://" and the listen address.
public_url = ""

# Where the embedded SQLite database lives (created on first run).
data_dir = "openforest-data"

# Empty: SQLite at <data_dir>/openforest.db. Or "sqlite://path/to/file.db", or
# "postgres://user:password@host:5432/dbname" to run on PostgreSQL (migrations apply at start).
database_url = ""

# A PostgreSQL streaming replica of that database, e.g. "postgres://reader@replica:5432/dbname".
# The reads that may lag by the replication delay go there: forest home, feed, rankings, the
# catalog and the impact dashboard. Empty: everything reads the primary.
database_replica_url = ""

# Log filter (tracing syntax), e.g. "info" or "openforest_server=debug,info".
log = "info"

# The operator's IANA time zone: daily and monthly caps and the morning ripening follow it.
timezone = "UTC"

# Local time at which energy from yesterday's actions ripens (the 7 a.m. harvest).
ripening_time = "07:00"

# How actions become grams: a preset ("classic" or "transport-km", see GET /v1/methodology)
# or the path of your own methodology TOML file. Invalid files stop the start with the line.
# It is recorded as a version at start and activated, unless an admin activated another
# version (POST /v1/admin/methodologies/{name}/{version}/activate): that outlasts restarts.
methodology = "classic"

[http]
# Largest request body accepted, in bytes; larger ones get 413 problem+json.
body_limit_bytes = 262144

[auth]
# How long a session token stays valid.
session_ttl_hours = 720

[jobs]
# How often balls 72 hours past ripening give their uncollected energy to "expired".
expiry_interval_seconds = 60
# Balls with energy left are announced this long before they expire (the ball.expiring
# webhook, for a push notification), once per ball.
expiring_notice_minutes = 120
# PostgreSQL keeps balls in one partition per UTC day of ripening. A day's partition is
# dropped (detached, then dropped whole) once the day ended this many days ago and every ball
# in it is settled: collected, stolen or expired, holding 0 g. Certificates keep their lineage
# and the impact dashboard its sums (both are kept first); GET /v1/me/balls no longer lists the
# day's balls. At least 3 (a ball lives 72 hours); 0 never drops a day. SQLite drops nothing.
ball_days_retention_days = 30
# How often days past their retention are looked for (and dropped if settled).
ball_days_cleanup_interval_seconds = 3600

[partners]
# Signed requests each partner may send per second, and in a burst above that; beyond them the
# partner gets 429 with Retry-After. A batch of 1,000 actions is one request.
requests_per_second = 2000
burst = 4000

[webhooks]
# How often the dispatcher sends what the outbox holds, in milliseconds (0 turns it off).
dispatch_interval_ms = 1000
# A delivery is retried with exponential backoff: 10 s after the first failure, doubling up to
# 6 hours, 16 attempts in all (about 30 hours); then it is marked failed in the delivery log.
max_attempts = 16
initial_backoff_seconds = 10
max_backoff_seconds = 21600
# How long one attempt waits for the endpoint to answer.
timeout_seconds = 10
# Deliveries sent at once.
concurrency = 16

[transparency]
# The public transparency log (docs/transparency.md). How often the sequencer adds new journal
# entries to the Merkle tree and publishes a signed tree head, in milliseconds (0 turns it off).
sequence_interval_ms = 2000
# Records added per round at most.
batch_max = 10000
# Entries are taken in id (time) order from this long before the newest logged one, so an
# entry whose transaction commits a little late is still logged; "openforest verify" reports
# older entries missing from the log as problems and newer ones as pending.
late_commit_grace_ms = 10000

[game]
# Friends one user may have.
friends_max = 1000
# A user may take energy (collect, steal, help collect) at most once per this many
# milliseconds; faster gets 429 with Retry-After. 0 turns the limit off.
collect_interval_ms = 150
# Times one user may water the same friend (10, 18, 33 or 66 g) per local day.
waterings_per_friend_per_day = 3
# Forest home shows the wallet's progress towards a tree of this many grams (a saxaul).
tree_goal_grams = 17900
# Co-planting groups: members per group, and grams one member may put into a pot per day.
group_members_max = 50
pot_daily_grams_per_member = 500

[game.steal]
# A thief takes this share of a ripe ball (in thousandths: 300 = 30 %, at least 1 g), once per
# ball, while the owner always keeps at least owner_keeps_permille of it.
share_permille = 300
owner_keeps_permille = 400
# Steals one thief may make per local day.
daily_steals = 20

[game.props]
# A shield stops steals for 24 h (and protects balls that ripened under it); a double-collect
# card allows a second take from the same ball for 24 h; a multiplier card makes steals take
# x1.5 for 3 days. Unused props expire 30 days after they are granted. A 7-day collecting
# streak earns a shield.
shield_hours = 24
double_collect_hours = 24
steal_multiplier_days = 3
steal_multiplier_permille = 1500
inventory_days = 30
streak_reward_shields = 1

[planting]
# How often new pledges are grouped into orders per NGO, site and planting season (0: only
# when an admin places orders with POST /v1/admin/orders).
order_interval_seconds = 3600
# Evidence photos (JPEG, PNG or WebP) NGOs upload: the largest accepted, in bytes, and how many
# one planting batch may name.
photo_bytes_max = 5242880
photos_per_batch_max = 10
[species]
# Amazing Species cards (docs/species.md). The bundled catalog of over 200 threatened species
# is read first unless bundled = false; then every *.toml file in data_dir, in name order,
# adding or replacing species and themed sets by id. A file that cannot be used stops the start
# with its name, line and field; check files first with `openforest species check DIR`.
bundled = true
data_dir = ""
# The daily draw opens once a user has collected this many grams in the local day.
daily_draw_grams = 20
# Cards given with the 7-day collecting streak (besides its shield).
streak_reward_cards = 1
# Completing a set gives its own reward, or else this prop (shield, double_collect or
# steal_multiplier) this many times; once per set.
set_reward_prop = "shield"
set_reward_count = 1

[species.odds]
# Relative weight of each IUCN Red List category in a draw (published at GET /v1/species/odds).
# Rarity follows the category: each must weigh less than the next.
cr = 2
en = 8
vu = 15
nt = 25
lc = 50

[writer]
# Commands the group-commit writer applies in one transaction at most. A batch takes what is
# queued, so a light load still commits at once; under a heavy one, larger batches write each
# dirtied page once for more commands (4096 measured best for partner batches on SQLite).
batch_max = 4096
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
    fn a_config_written_as_toml_reads_back_the_same() {
        let mut config = Config::default();
        config.game.collect_interval_ms = 0;
        config.database_url = "postgres://bench@127.0.0.1/world".into();
        let written = toml::to_string(&config).expect("a config is written as TOML");
        let read: Config = toml::from_str(&written).expect("and read back");
        assert_eq!(read, config);
    }

    #[test]
    fn a_ball_day_retention_shorter_than_a_balls_life_is_refused() {
        let mut jobs = JobsConfig::default();
        assert_eq!(
            jobs.ball_days_retention().unwrap(),
            Some(std::time::Duration::from_secs(30 * 86_400))
        );
        jobs.ball_days_retention_days = 0;
        assert_eq!(jobs.ball_days_retention().unwrap(), None);
        jobs.ball_days_retention_days = 2;
        let refused = jobs.ball_days_retention().unwrap_err().to_string();
        assert!(refused.contains("a ball lives 3 days"), "{refused}");
        jobs.ball_days_retention_days = 3;
        assert!(jobs.ball_days_retention().unwrap().is_some());
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
