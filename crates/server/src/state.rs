//! What every handler can reach: the store, the clock, the configuration and the settings
//! derived from it at start.

use crate::config::Config;
use crate::energy::ActiveEnergy;
use crate::partner_auth::{PartnerKeyCache, PartnerRateLimits, ReplayCache};
use openforest_core::Clock;
use openforest_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where reads that may lag go: the replica of `database_replica_url`, or `store` itself.
    pub reads: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// The methodology in force and the time settings; replaced when an admin activates a
    /// version.
    pub energy: Arc<ActiveEnergy>,
    /// The key behind partners' pairwise pseudonymous user ids (kept in the database).
    pub link_secret: Arc<Vec<u8>>,
    pub replay: Arc<ReplayCache>,
    pub rate_limits: Arc<PartnerRateLimits>,
    pub partner_keys: Arc<PartnerKeyCache>,
    pub collect_limits: Arc<crate::anti_abuse::CollectLimits>,
    pub sessions: Arc<crate::auth::SessionCache>,
    /// The transparency log's tree in memory and its key.
    pub log: Arc<crate::sequencer::LogState>,
    /// The species catalog, odds and draw secret, loaded at start.
    pub species: Arc<crate::species::Species>,
    /// The key behind the web pages' CSRF tokens (kept in the database).
    pub csrf_key: Arc<Vec<u8>>,
}
