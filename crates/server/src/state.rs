//! What every handler can reach: the store, the clock and the configuration.

use crate::config::Config;
use openforest_core::Clock;
use openforest_store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
}
