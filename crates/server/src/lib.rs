//! The openforest HTTP server: the JSON API under `/v1` (OpenAPI generated from the handlers),
//! authentication, problem+json errors, request ids, metrics and graceful shutdown; and the
//! server-rendered web pages (`web`).
#![forbid(unsafe_code)]

pub mod anti_abuse;
pub mod auth;
pub mod catalog_file;
pub mod certificate_pdf;
pub mod config;
pub mod energy;
pub mod error;
pub mod extract;
pub mod geo;
pub mod jobs;
pub mod partner_auth;
pub mod pseudonym;
pub mod routes;
pub mod sequencer;
pub mod species;
pub mod species_art;
pub mod state;
pub mod web;
pub mod webhooks;

use crate::error::ApiError;
use crate::extract::BodyLimit;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use config::Config;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use openforest_core::Clock;
use openforest_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "openforest",
        description = "Green energy from low-carbon actions, collected in a forest game and redeemed for real trees. Errors are RFC 9457 application/problem+json."
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "users", description = "Accounts, sessions and the signed-in user"),
        (name = "operator", description = "Calls from the operator's own backend"),
        (name = "admin", description = "The operator's staff"),
        (name = "friends", description = "Friends: ask by handle, accept, remove"),
        (name = "groups", description = "Co-planting groups and their pots"),
        (name = "catalog", description = "NGOs, sites, tree species and protected land"),
        (name = "planting", description = "Pledges, orders and certificates"),
        (name = "ngo", description = "The NGO portal: orders, planting batches, evidence, verification"),
        (name = "forest", description = "The forest game: home, collect, steal, feed"),
        (name = "species", description = "Amazing Species: cards of threatened species, the album, sets and odds"),
        (name = "partners", description = "Signed reports of low-carbon actions (HTTP Message Signatures, RFC 9421, Ed25519)"),
        (name = "public", description = "Anyone"),
        (name = "transparency", description = "The public transparency log: signed tree heads, leaves and Merkle proofs (RFC 6962 style)"),
        (name = "operations", description = "Health and readiness")
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "operator_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "ngo_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::sessions::register))
        .routes(routes!(routes::sessions::login))
        .routes(routes!(routes::sessions::logout))
        .routes(routes!(routes::sessions::operator_session))
        .routes(routes!(routes::me::me))
        .routes(routes!(routes::admin::grant))
        .routes(routes!(routes::me::link_partner, routes::me::partner_links))
        .routes(routes!(routes::me::unlink_partner))
        .routes(routes!(routes::me::balls))
        .routes(routes!(routes::methodology::active))
        .routes(routes!(
            routes::methodologies_admin::upload_methodology,
            routes::methodologies_admin::list_methodologies
        ))
        .routes(routes!(routes::methodologies_admin::methodology_version))
        .routes(routes!(routes::methodologies_admin::activate_methodology))
        .routes(routes!(
            routes::partners_admin::create_partner,
            routes::partners_admin::list_partners
        ))
        .routes(routes!(
            routes::partners_admin::add_key,
            routes::partners_admin::list_keys
        ))
        .routes(routes!(routes::partners_admin::revoke_key))
        .routes(routes!(routes::partners_admin::disable))
        .routes(routes!(routes::partners_admin::enable))
        .routes(routes!(routes::partner::report_action))
        .routes(routes!(routes::partner::report_batch))
        .routes(routes!(routes::partner::lookup_action))
        .routes(routes!(
            routes::webhooks_admin::create_endpoint,
            routes::webhooks_admin::list_endpoints
        ))
        .routes(routes!(routes::webhooks_admin::disable_endpoint))
        .routes(routes!(routes::webhooks_admin::deliveries))
        .routes(routes!(routes::webhooks_admin::retry_delivery))
        .routes(routes!(routes::friends::invite, routes::friends::list))
        .routes(routes!(routes::friends::remove))
        .routes(routes!(routes::friends::requests))
        .routes(routes!(routes::friends::accept))
        .routes(routes!(routes::friends::decline))
        .routes(routes!(routes::friends::invite_code))
        .routes(routes!(routes::abuse_admin::list))
        .routes(routes!(routes::abuse_admin::review))
        .routes(routes!(routes::friends::block))
        .routes(routes!(routes::friends::unblock))
        .routes(routes!(routes::forest::home))
        .routes(routes!(routes::forest::collect))
        .routes(routes!(routes::forest::collect_all))
        .routes(routes!(routes::forest::steal))
        .routes(routes!(routes::forest::help_collect))
        .routes(routes!(routes::forest::water))
        .routes(routes!(routes::forest::rankings))
        .routes(routes!(routes::props::mine))
        .routes(routes!(routes::props::use_prop))
        .routes(routes!(routes::props::gift))
        .routes(routes!(routes::props::grant))
        .routes(routes!(routes::groups::create))
        .routes(routes!(routes::groups::mine))
        .routes(routes!(routes::groups::detail))
        .routes(routes!(routes::groups::invite))
        .routes(routes!(routes::groups::join))
        .routes(routes!(routes::groups::leave))
        .routes(routes!(routes::groups::feed_pot))
        .routes(routes!(routes::forest::feed))
        .routes(routes!(routes::catalog::create_ngo))
        .routes(routes!(routes::catalog::ngos))
        .routes(routes!(routes::catalog::add_ngo_member))
        .routes(routes!(routes::catalog::create_ngo_key))
        .routes(routes!(routes::catalog::create_site))
        .routes(routes!(routes::catalog::create_item))
        .routes(routes!(routes::catalog::catalog))
        .routes(routes!(routes::planting::plant))
        .routes(routes!(routes::planting::plant_from_pot))
        .routes(routes!(routes::planting::my_certificates))
        .routes(routes!(routes::planting::certificate))
        .routes(routes!(routes::certificates::certificate_document))
        .routes(routes!(routes::certificates::verification))
        .routes(routes!(routes::certificates::certificate_pdf))
        .routes(routes!(
            routes::planting::place_orders,
            routes::ngo::all_orders
        ))
        .routes(routes!(routes::ngo::orders))
        .routes(routes!(routes::ngo::order))
        .routes(routes!(routes::ngo::upload_photo))
        .routes(routes!(routes::ngo::photo))
        .routes(routes!(routes::ngo::record_batch))
        .routes(routes!(routes::ngo::verify_batch))
        .routes(routes!(routes::ngo::admin_verify_batch))
        .routes(routes!(routes::log::head))
        .routes(routes!(routes::log::key))
        .routes(routes!(routes::log::leaf))
        .routes(routes!(routes::log::inclusion_proof))
        .routes(routes!(routes::log::consistency_proof))
        .routes(routes!(routes::species::list))
        .routes(routes!(routes::species::odds))
        .routes(routes!(routes::species::sets))
        .routes(routes!(routes::species::detail))
        .routes(routes!(routes::species::card))
        .routes(routes!(routes::species::album))
        .routes(routes!(routes::species::daily_draw))
        .routes(routes!(routes::species::gift))
        .routes(routes!(routes::species::draws))
        .routes(routes!(routes::species::replay))
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().split_for_parts().1
}

/// The process-wide Prometheus recorder (the `metrics` facade has one global recorder).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            handle
        })
        .clone()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

fn panic_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("a handler panicked".into()).into_response()
}

async fn record_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("openforest_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("openforest_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The whole HTTP application for a state: API, docs, metrics, and the layers every request
/// passes (request id, tracing, panic catching, body limit, metrics).
pub fn router(state: AppState) -> Router {
    let (api, doc) = api_router().split_for_parts();
    let doc = Arc::new(doc);
    let body_limit = state.config.http.body_limit_bytes;
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|value| value.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id)
        }))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(CatchPanicLayer::custom(panic_problem))
        .layer(axum::Extension(BodyLimit(body_limit)))
        .layer(DefaultBodyLimit::max(body_limit));
    api.route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    )
    .route("/metrics", get(routes::health::metrics))
    .merge(web::router())
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .route_layer(middleware::from_fn(record_metrics))
    .layer(layers)
    .with_state(state)
}

/// A bound, ready-to-run server.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    expiry_interval: std::time::Duration,
    expiring_notice: std::time::Duration,
    order_interval: Option<std::time::Duration>,
    /// How often settled days of balls are dropped, and how long they are kept; none when
    /// days are kept for ever.
    ball_days: Option<(std::time::Duration, std::time::Duration)>,
    /// The webhook dispatcher and how often it runs; none when turned off.
    webhooks: Option<(webhooks::Dispatcher, std::time::Duration)>,
    /// The transparency log's sequencer and how often it runs; none when turned off.
    sequencer: Option<(sequencer::Sequencer, std::time::Duration)>,
}

impl Application {
    /// Binds `config.listen` (port 0 picks a free port) and assembles the app on `store`.
    pub async fn build(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|err| anyhow::anyhow!("cannot listen on {}: {err}", config.listen))?;
        let energy = energy::activate_at_start(&config, store.as_ref(), clock.as_ref()).await?;
        let config_partners = config.partners.clone();
        let expiry_interval =
            std::time::Duration::from_secs(config.jobs.expiry_interval_seconds.max(1));
        let expiring_notice =
            std::time::Duration::from_secs(config.jobs.expiring_notice_minutes.saturating_mul(60));
        let order_interval = (config.planting.order_interval_seconds > 0)
            .then(|| std::time::Duration::from_secs(config.planting.order_interval_seconds));
        let ball_days = config.jobs.ball_days_retention()?.map(|retention| {
            let interval = config.jobs.ball_days_cleanup_interval_seconds.max(1);
            (std::time::Duration::from_secs(interval), retention)
        });
        let link_secret = store
            .server_secret("partner-link-hmac", 32)
            .await
            .map_err(|err| anyhow::anyhow!("reading the partner link secret: {err}"))?;
        let link_secret = Arc::new(link_secret);
        let csrf_key = store
            .server_secret("web-csrf-hmac", 32)
            .await
            .map_err(|err| anyhow::anyhow!("reading the web CSRF key: {err}"))?;
        let collect_interval_ms = config.game.collect_interval_ms;
        let species = Arc::new(species::Species::start(&config, store.as_ref()).await?);
        let webhooks = match config.webhooks.dispatch_interval_ms {
            0 => None,
            interval => Some((
                webhooks::Dispatcher::new(
                    store.clone(),
                    clock.clone(),
                    link_secret.clone(),
                    config.webhooks.clone(),
                )?,
                std::time::Duration::from_millis(interval),
            )),
        };
        let log = sequencer::LogState::load(store.as_ref())
            .await
            .map_err(|err| anyhow::anyhow!("loading the transparency log: {err}"))?;
        let sequencer = match config.transparency.sequence_interval_ms {
            0 => None,
            interval => Some((
                sequencer::Sequencer::new(
                    store.clone(),
                    clock.clone(),
                    log.clone(),
                    config.transparency.clone(),
                ),
                std::time::Duration::from_millis(interval),
            )),
        };
        let reads = match config.database_replica_url.trim() {
            "" => store.clone(),
            url => {
                let replica =
                    openforest_store::open_replica(url, config.writer.clone(), clock.clone())
                        .await
                        .map_err(|err| anyhow::anyhow!("database_replica_url: {err}"))?;
                tracing::info!("reads that may lag go to {}", replica.location());
                replica
            }
        };
        let state = AppState {
            log,
            reads,
            store: store.clone(),
            clock: clock.clone(),
            config: Arc::new(config),
            metrics: metrics_handle(),
            energy: Arc::new(energy::ActiveEnergy::new(energy)),
            link_secret,
            replay: Arc::new(partner_auth::ReplayCache::default()),
            partner_keys: Arc::new(partner_auth::PartnerKeyCache::default()),
            sessions: Arc::new(auth::SessionCache::default()),
            species,
            csrf_key: Arc::new(csrf_key),
            collect_limits: Arc::new(anti_abuse::CollectLimits::new(
                std::time::Duration::from_millis(collect_interval_ms),
            )),
            rate_limits: Arc::new(partner_auth::PartnerRateLimits::new(
                config_partners.requests_per_second,
                config_partners.burst,
            )),
        };
        Ok(Application {
            listener,
            router: router(state),
            store,
            clock,
            expiry_interval,
            expiring_notice,
            order_interval,
            ball_days,
            webhooks,
            sequencer,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish and the writer
    /// commit everything it has queued before returning.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let expiry = jobs::spawn_expiry(
            self.store.clone(),
            self.clock.clone(),
            self.expiry_interval,
            self.expiring_notice,
        );
        let ordering = self
            .order_interval
            .map(|interval| jobs::spawn_ordering(self.store.clone(), self.clock.clone(), interval));
        let ball_days = self.ball_days.map(|(interval, retention)| {
            jobs::spawn_ball_days_cleanup(
                self.store.clone(),
                self.clock.clone(),
                interval,
                retention,
            )
        });
        let dispatcher = self
            .webhooks
            .map(|(dispatcher, interval)| webhooks::spawn(dispatcher, interval));
        let sequencer = self
            .sequencer
            .map(|(sequencer, interval)| sequencer::spawn(sequencer, interval));
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        expiry.abort();
        if let Some(ordering) = ordering {
            ordering.abort();
        }
        if let Some(ball_days) = ball_days {
            ball_days.abort();
        }
        if let Some(dispatcher) = dispatcher {
            dispatcher.abort();
        }
        if let Some(sequencer) = sequencer {
            sequencer.abort();
        }
        self.store.shutdown().await;
        served?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_openapi_document_matches_its_snapshot() {
        insta::assert_json_snapshot!("openapi", super::openapi());
    }
}
