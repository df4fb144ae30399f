//! Amazing Species on the server: the catalog and odds loaded at start (a bad data file stops
//! the start), the seed of each draw derived from a server secret, cards awarded for a reason
//! at most once, and set rewards given once a set is complete.

use crate::config::{Config, SpeciesConfig};
use crate::routes::props::KINDS;
use anyhow::Context;
use hmac::{Hmac, Mac};
use openforest_core::species::{Catalog, DrawSeed, Odds, OddsTable, draw};
use openforest_core::{PledgeId, Timestamp, UserId};
use openforest_store::{SetRewardGiven, SpeciesDraw, Store, StoreError};
use sha2::Sha256;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The server secret the draw seeds are derived from (kept in the database).
const DRAW_SECRET: &str = "species-draw-hmac";
const DAY_MS: i64 = 24 * 3_600_000;

/// Why a user gets a card. Each reason gives at most one card: its key is logged with the draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardReason {
    /// The daily draw, on a local day (`2025-06-01`).
    DailyDraw { day: String },
    /// A tree planted (or land protected) with a pledge.
    Planting { pledge: PledgeId },
    /// A task completed in a period (the 7-day streak, …).
    Task { task: String, period: String },
}

impl CardReason {
    /// The key logged with the draw: `daily:<day>`, `planting:<pledge>`, `task:<task>:<period>`.
    pub fn key(&self) -> String {
        match self {
            CardReason::DailyDraw { day } => format!("daily:{day}"),
            CardReason::Planting { pledge } => format!("planting:{pledge}"),
            CardReason::Task { task, period } => format!("task:{task}:{period}"),
        }
    }
}

/// A card awarded: the logged draw, whether this call made it (false: the reason had given its
/// card before, which is answered again), and the sets it completed.
#[derive(Clone, Debug)]
pub struct Award {
    pub draw: SpeciesDraw,
    pub new: bool,
    pub completed_sets: Vec<SetRewardGiven>,
}

/// A logged draw replayed with the current catalog and odds.
#[derive(Clone, Debug)]
pub struct Replay {
    /// What the logged seed draws now.
    pub species_id: Option<String>,
    /// The seed is the one the server secret gives for this user and reason.
    pub seed_matches: bool,
    /// The pool (catalog and odds) is the one the draw was made from.
    pub same_pool: bool,
}

/// The loaded catalog, its odds and the settings that go with them.
pub struct Species {
    catalog: Catalog,
    table: OddsTable,
    pool: String,
    settings: SpeciesConfig,
    prop_days: u32,
    draw_key: Vec<u8>,
}

/// The operator's data files in `dir`: every `*.toml`, in name order, with their text.
pub fn data_files(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("species data_dir {}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading species data file {}", path.display()))?;
            Ok((path.display().to_string(), text))
        })
        .collect()
}

/// Reads and checks the configured catalog and odds; errors name the file, line and field.
pub fn load(settings: &SpeciesConfig) -> anyhow::Result<(Catalog, OddsTable)> {
    let files = match settings.data_dir.trim() {
        "" => Vec::new(),
        dir => data_files(Path::new(dir))?,
    };
    let catalog = Catalog::load(settings.bundled, &files, &KINDS)
        .map_err(|err| anyhow::anyhow!("species data file {err}"))?;
    let odds = settings.odds;
    let odds = Odds::new([odds.cr, odds.en, odds.vu, odds.nt, odds.lc])
        .map_err(|err| anyhow::anyhow!("species.odds: {err}"))?;
    if !KINDS.contains(&settings.set_reward_prop.as_str()) {
        anyhow::bail!(
            "species.set_reward_prop: {:?} is not a prop; use one of {}",
            settings.set_reward_prop,
            KINDS.join(", ")
        );
    }
    if !(1..=100).contains(&settings.set_reward_count) {
        anyhow::bail!("species.set_reward_count: give 1 to 100 props");
    }
    let table = OddsTable::new(&odds, &catalog);
    Ok((catalog, table))
}

impl Species {
    /// Loads the catalog and reads the draw secret; for `Application::build`, and for tests
    /// that award cards directly.
    pub async fn start(config: &Config, store: &dyn Store) -> anyhow::Result<Species> {
        let (catalog, table) = load(&config.species)?;
        let draw_key = store
            .server_secret(DRAW_SECRET, 32)
            .await
            .map_err(|err| anyhow::anyhow!("reading the species draw secret: {err}"))?;
        Ok(Species {
            pool: table.fingerprint(),
            catalog,
            table,
            settings: config.species.clone(),
            prop_days: config.game.props.inventory_days,
            draw_key,
        })
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn odds(&self) -> &OddsTable {
        &self.table
    }

    /// The fingerprint of the pool draws are made from now.
    pub fn pool(&self) -> &str {
        &self.pool
    }

    pub fn settings(&self) -> &SpeciesConfig {
        &self.settings
    }

    /// The seed of `user`'s draw for `reason_key`: HMAC-SHA-256 under the server secret, so it
    /// cannot be guessed ahead, yet support can re-derive it.
    pub fn seed(&self, user: UserId, reason_key: &str) -> DrawSeed {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.draw_key) {
            Ok(mac) => mac,
            // HMAC takes keys of any length; this cannot happen.
            Err(_) => return DrawSeed([0; 32]),
        };
        mac.update(b"openforest species draw seed\0");
        mac.update(user.uuid().as_bytes());
        mac.update(reason_key.as_bytes());
        DrawSeed(mac.finalize().into_bytes().into())
    }

    /// Gives `user` a card for `reason`, unless that reason gave one before (then that draw is
    /// answered again), and any set reward it completes. The planting engineer calls this
    /// with `CardReason::Planting` for each planting.
    pub async fn award_card(
        &self,
        store: &dyn Store,
        user: UserId,
        reason: &CardReason,
        now: Timestamp,
    ) -> Result<Award, StoreError> {
        let (logged, new) = store
            .record_species_draw(&self.draw_for(user, reason, now)?)
            .await?;
        let completed_sets = if new {
            self.reward_completed_sets(store, user, now).await?
        } else {
            Vec::new()
        };
        Ok(Award {
            draw: logged,
            new,
            completed_sets,
        })
    }

    /// `user`'s draw for `reason`, made but not logged: `award_card` logs it on its own, a
    /// pledge sends it to the writer with the pledge.
    pub fn draw_for(
        &self,
        user: UserId,
        reason: &CardReason,
        now: Timestamp,
    ) -> Result<SpeciesDraw, StoreError> {
        let key = reason.key();
        let seed = self.seed(user, &key);
        let species_id = draw(&seed, &self.table)
            .ok_or_else(|| StoreError::Config("the species catalog is empty".into()))?;
        Ok(SpeciesDraw {
            draw_id: openforest_store::new_id(now),
            user_id: user,
            reason: key,
            seed: seed.0,
            species_id: species_id.to_string(),
            pool: self.pool.clone(),
            at: now,
        })
    }

    /// Gives the reward of every set the user has completed and was not rewarded for yet;
    /// answers those given now. Safe to call concurrently: the store gives each set once.
    pub async fn reward_completed_sets(
        &self,
        store: &dyn Store,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<SetRewardGiven>, StoreError> {
        let (cards, given) =
            futures_util::try_join!(store.species_cards(user), store.species_set_rewards(user))?;
        let owned: HashSet<&str> = cards.iter().map(|card| card.species_id.as_str()).collect();
        let rewarded: HashSet<&str> = given.iter().map(|reward| reward.set_id.as_str()).collect();
        let expires_at = now.plus_millis(i64::from(self.prop_days) * DAY_MS);
        let mut completed = Vec::new();
        for set in self.catalog.sets() {
            if rewarded.contains(set.id.as_str())
                || set.owned(|id| owned.contains(id.as_str())) < set.species.len()
            {
                continue;
            }
            let (prop, count) = match &set.reward {
                Some(reward) => (reward.prop.clone(), reward.count),
                None => (
                    self.settings.set_reward_prop.clone(),
                    self.settings.set_reward_count,
                ),
            };
            let reward = SetRewardGiven {
                set_id: set.id.to_string(),
                prop,
                count,
                at: now,
            };
            if store.reward_species_set(user, &reward, expires_at).await? {
                completed.push(reward);
            }
        }
        Ok(completed)
    }

    /// Replays a logged draw: the seed re-derived from the secret, and the card it draws from
    /// today's pool.
    pub fn replay(&self, logged: &SpeciesDraw) -> Replay {
        let seed = DrawSeed(logged.seed);
        Replay {
            species_id: draw(&seed, &self.table).map(ToString::to_string),
            seed_matches: self.seed(logged.user_id, &logged.reason) == seed,
            same_pool: logged.pool == self.pool,
        }
    }
}

/// `Species::award_card` on the application's store and clock: what the planting code calls
/// once a pledge is planted (`CardReason::Planting { pledge }`).
pub async fn award_card(
    state: &crate::state::AppState,
    user: UserId,
    reason: CardReason,
) -> Result<Award, crate::error::ApiError> {
    Ok(state
        .species
        .award_card(state.store.as_ref(), user, &reason, state.clock.now())
        .await?)
}
