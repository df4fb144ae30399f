//! The active methodology, swappable at runtime: every report reads the settings in force when
//! it is checked, and an admin's activation replaces them for the next report without a
//! restart. Balls already made keep the methodology version they record.

use crate::config::{Config, EnergySettings};
use openforest_core::{Clock, Methodology};
use openforest_store::{Activation, NewMethodologyVersion, Store};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

/// The energy settings in force, and the lock that serialises changes to what they must agree
/// with (activations, and partners' allowed actions).
pub struct ActiveEnergy {
    current: RwLock<Arc<EnergySettings>>,
    changes: tokio::sync::Mutex<()>,
}

impl ActiveEnergy {
    pub fn new(settings: EnergySettings) -> ActiveEnergy {
        ActiveEnergy {
            current: RwLock::new(Arc::new(settings)),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// The settings in force now. Hold on to the answer for the whole of one report, so the
    /// report is judged under one version.
    pub fn current(&self) -> Arc<EnergySettings> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `settings` in force for every report checked from now on.
    pub fn replace(&self, settings: EnergySettings) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
    }

    /// Held while a change that must agree with the active methodology is checked and made: an
    /// activation (no partner may be left allowed an action the new version lacks) and a new
    /// partner (its actions must exist in the active version). One server process; see
    /// ARCHITECTURE.md, single-node assumptions.
    pub async fn changes(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.changes.lock().await
    }
}

/// The action types partners are allowed to report that `methodology` does not define, by
/// partner name (disabled partners included: they may be enabled again). Activating such a
/// version would leave those partners' reports refused as unknown actions.
pub async fn orphaned_actions(
    store: &dyn Store,
    methodology: &Methodology,
) -> Result<BTreeMap<String, Vec<String>>, openforest_store::StoreError> {
    let mut orphaned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for partner in store.partners().await? {
        for action in &partner.allowed_actions {
            if methodology.action(action).is_none() {
                orphaned
                    .entry(partner.name.clone())
                    .or_default()
                    .push(action.clone());
            }
        }
    }
    Ok(orphaned)
}

/// `orphaned_actions` in words: `"metro" (bus_ride); "rail" (train_ticket, bus_ride)`.
pub fn describe_orphans(orphaned: &BTreeMap<String, Vec<String>>) -> String {
    orphaned
        .iter()
        .map(|(partner, actions)| format!("{partner:?} ({})", actions.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// SHA-256 of a methodology's text, lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// At start: records the configured methodology as a version (once), and decides which version
/// is active. An admin's activation outlasts restarts whatever the configuration says; when no
/// admin has activated one (nothing stored yet, or the active version was itself activated from
/// the configuration), the configured methodology is activated.
///
/// Refuses to start when the configured file names a stored (name, version) with other text: a
/// version is immutable, because balls record it; give the changed file a new version.
pub async fn activate_at_start(
    config: &Config,
    store: &dyn Store,
    clock: &dyn Clock,
) -> anyhow::Result<EnergySettings> {
    let configured_settings = config.energy()?;
    let (text, configured) = config.configured_methodology()?;
    let sha256 = sha256_hex(&text);
    let added = store
        .add_methodology(&NewMethodologyVersion {
            name: configured.name().to_string(),
            version: configured.version(),
            toml: text,
            sha256: sha256.clone(),
            uploaded_at: clock.now(),
            uploaded_by: None,
        })
        .await
        .map_err(|err| anyhow::anyhow!("recording the configured methodology: {err}"))?;
    if added.stored.sha256 != sha256 {
        anyhow::bail!(
            "methodology {}: it declares {} version {}, but the database already holds that \
             version with other text (sha256 {}, this file {sha256}); a version never changes \
             once stored, because balls record it: give the changed file a new version",
            config.methodology,
            configured.name(),
            configured.version(),
            added.stored.sha256
        );
    }
    let active = store
        .active_methodology()
        .await
        .map_err(|err| anyhow::anyhow!("reading the active methodology: {err}"))?;
    if let Some(active) = active {
        let admin_activated = active
            .record
            .activated
            .is_some_and(|activation| activation.by.is_some());
        let same_as_configured = active.record.name == configured.name()
            && active.record.version == configured.version();
        if admin_activated || same_as_configured {
            let methodology = Methodology::parse(&active.toml).map_err(|err| {
                anyhow::anyhow!(
                    "the active methodology {} v{} stored in the database no longer reads: {err}",
                    active.record.name,
                    active.record.version
                )
            })?;
            if same_as_configured {
                tracing::info!(
                    methodology = %active.record.name,
                    version = active.record.version,
                    "methodology active: the configured one, as stored"
                );
            } else {
                tracing::info!(
                    methodology = %active.record.name,
                    version = active.record.version,
                    configured = %configured.name(),
                    configured_version = configured.version(),
                    "methodology active: the one an admin activated (it outlasts restarts); \
                     the configured one is stored but not active"
                );
            }
            return Ok(configured_settings.with_methodology(methodology));
        }
        tracing::info!(
            methodology = %configured.name(),
            version = configured.version(),
            previous = %active.record.name,
            previous_version = active.record.version,
            "methodology active: the configured one, which replaces the one the previous \
             configuration activated"
        );
    } else {
        tracing::info!(
            methodology = %configured.name(),
            version = configured.version(),
            "methodology active: the configured one (none was activated before)"
        );
    }
    let orphaned = orphaned_actions(store, &configured)
        .await
        .map_err(|err| anyhow::anyhow!("reading partners: {err}"))?;
    if !orphaned.is_empty() {
        tracing::warn!(
            methodology = %configured.name(),
            version = configured.version(),
            partners = %describe_orphans(&orphaned),
            "the configured methodology lacks action types these partners are allowed to report; \
             their reports of them are refused as unknown actions"
        );
    }
    let activated = store
        .activate_methodology(
            configured.name(),
            configured.version(),
            Activation {
                at: clock.now(),
                by: None,
            },
        )
        .await
        .map_err(|err| anyhow::anyhow!("activating the configured methodology: {err}"))?;
    if !activated {
        anyhow::bail!(
            "activating the configured methodology: {} v{} is not stored",
            configured.name(),
            configured.version()
        );
    }
    Ok(configured_settings)
}
