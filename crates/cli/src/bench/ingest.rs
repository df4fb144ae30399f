//! `openforest bench ingest`: signed partner reports over HTTP against a real server on a
//! fresh database, one report per request and 1,000 per batch, and the HTTP ceiling of the
//! same server (GET /healthz under the same load) as the baseline.

use super::{Figures, Latencies, Target, print_header, print_row, round, run_phase};
use anyhow::Context;
use openforest_client::partner::{Method, PartnerClient};
use openforest_client::signature::{KeyId, SigningKey};
use openforest_core::{Clock, Handle, PartnerId, Role, UserId};
use openforest_server::Application;
use openforest_server::config::Config;
use openforest_store::{NewUser, Partner, PartnerKey, Store, SystemClock};
use rand::Rng;
use serde_json::{Map, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone, Debug)]
pub struct IngestArgs {
    #[command(flatten)]
    pub target: Target,
    /// Users linked to the benchmark partner.
    #[arg(long, default_value_t = 1_000)]
    pub users: u64,
    /// Concurrent keep-alive connections for single reports and the ceiling.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Concurrent connections sending batches of 1,000.
    #[arg(long, default_value_t = 8)]
    pub batch_concurrency: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// An action of the classic methodology without caps, so every report is credited.
const ACTION: &str = "bus_ride";
const BATCH: usize = 1_000;

struct World {
    base: String,
    client: PartnerClient,
    pseudonyms: Vec<String>,
}

pub async fn run(config: &Config, args: IngestArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.users >= 1, "--users must be at least 1");
    let database = args.target.prepare().await?;
    let mut config = config.clone();
    config.listen = "127.0.0.1:0".into();
    config.database_url = database.url.clone();
    config.methodology = "classic".into();
    config.partners.requests_per_second = u32::MAX / 2;
    config.partners.burst = u32::MAX / 2;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = openforest_store::open(&database.url, config.writer.clone(), clock.clone()).await?;
    let app = Application::build(config, store.clone(), clock.clone()).await?;
    let base = format!("http://{}", app.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let world = Arc::new(seed(&store, &base, args.users).await?);
    let duration = Duration::from_secs(args.seconds.max(1));

    let (ceiling_per_s, ceiling) = phase(
        "HTTP ceiling (GET /healthz)",
        args.concurrency,
        duration,
        &world,
        Load::Ceiling,
    )
    .await?;
    let (single_per_s, single) = phase(
        "single signed reports",
        args.concurrency,
        duration,
        &world,
        Load::Single,
    )
    .await?;
    let (batches_per_s, batch) = phase(
        "batches of 1,000",
        args.batch_concurrency,
        duration,
        &world,
        Load::Batch,
    )
    .await?;
    let batch_actions_per_s = batches_per_s * BATCH as f64;

    let report = store.audit(Arc::new(|_, _| {})).await?;
    let _ = stop.send(());
    server.await??;

    let mut extra = Map::new();
    extra.insert("single_per_s".into(), json!(round(single_per_s)));
    extra.insert(
        "batch_actions_per_s".into(),
        json!(round(batch_actions_per_s)),
    );
    extra.insert("batch_p50_ms".into(), json!(batch.percentile_ms(50.0)));
    extra.insert("batch_p99_ms".into(), json!(batch.percentile_ms(99.0)));
    extra.insert("ceiling_p99_ms".into(), json!(ceiling.percentile_ms(99.0)));
    extra.insert("concurrency".into(), json!(args.concurrency));
    extra.insert("entries".into(), json!(report.entries));
    extra.insert("conservation".into(), json!(report.is_sound()));
    let figures = Figures {
        scenario: "ingest",
        backend: database.backend,
        users: args.users,
        ops_per_s: single_per_s,
        latencies: single,
        baseline_per_s: ceiling_per_s,
        extra,
    };
    println!(
        "scenario ingest on {} ({} users, {} connections, {} for batches, {} s per phase)",
        database.backend, args.users, args.concurrency, args.batch_concurrency, args.seconds
    );
    print_header("per second");
    print_row("HTTP ceiling (requests)", ceiling_per_s, &ceiling);
    print_row("single reports", single_per_s, &figures.latencies);
    print_row("actions in batches of 1,000", batch_actions_per_s, &batch);
    println!(
        "single reports at {:.0}% of the ceiling; {} journal entries; conservation {}",
        figures.ratio() * 100.0,
        report.entries,
        if report.is_sound() { "holds" } else { "BROKEN" }
    );
    Ok(super::finish(&figures, args.target.json, report.is_sound()))
}

/// One partner allowed `bus_ride`, with a fresh key, and `users` users who linked it.
async fn seed(store: &Arc<dyn Store>, base: &str, users: u64) -> anyhow::Result<World> {
    let now = SystemClock.now();
    let partner = Partner {
        partner_id: PartnerId(openforest_store::new_id(now)),
        name: "bench transit".into(),
        allowed_actions: vec![ACTION.into()],
        disabled_at: None,
        created_at: now,
    };
    store.create_partner(&partner).await?;
    let key = SigningKey::generate();
    store
        .add_partner_key(&PartnerKey {
            key_id: "bench-key".into(),
            partner_id: partner.partner_id,
            public_key: key.verifying_key().to_base64(),
            created_at: now,
            revoked_at: None,
        })
        .await?;
    let secret = store.server_secret("partner-link-hmac", 32).await?;
    let bar = indicatif::ProgressBar::new(users);
    bar.set_message("seeding users and consent links");
    let mut pseudonyms = Vec::with_capacity(users as usize);
    for n in 0..users {
        let user_id = UserId(openforest_store::new_id(now));
        let handle = Handle::parse(&format!("bench-{n}")).context("bench handle")?;
        store
            .create_user(NewUser {
                user_id,
                handle,
                role: Role::User,
                password_hash: None,
                created_at: now,
            })
            .await?;
        let pseudonym =
            openforest_server::pseudonym::partner_user_id(&secret, partner.partner_id, user_id);
        store
            .link_partner(user_id, partner.partner_id, &pseudonym, now)
            .await?;
        pseudonyms.push(pseudonym);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1_024)
        .build()?;
    let client = PartnerClient::new(
        base,
        KeyId::parse("bench-key").map_err(anyhow::Error::msg)?,
        key,
    )?
    .with_http_client(http);
    Ok(World {
        base: base.to_string(),
        client,
        pseudonyms,
    })
}

#[derive(Clone, Copy)]
enum Load {
    Ceiling,
    Single,
    Batch,
}

fn report(world: &World, out_biz_no: String) -> serde_json::Value {
    let user = &world.pseudonyms[rand::thread_rng().gen_range(0..world.pseudonyms.len())];
    json!({"out_biz_no": out_biz_no, "partner_user_id": user, "action": ACTION, "quantity": 1})
}

/// Runs `connections` clients for `duration`; answers requests per second and latencies.
async fn phase(
    label: &str,
    connections: usize,
    duration: Duration,
    world: &Arc<World>,
    load: Load,
) -> anyhow::Result<(f64, Latencies)> {
    run_phase(label, connections, duration, |client, deadline| {
        let world = world.clone();
        let label = label.to_string();
        async move {
            let mut latencies = Latencies::new()?;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let now_unix = SystemClock.now().millis() / 1_000;
                let request = match load {
                    Load::Ceiling => world
                        .client
                        .http_client()
                        .get(format!("{}/healthz", world.base))
                        .build()?,
                    Load::Single => {
                        let body = serde_json::to_vec(&report(&world, format!("s-{client}-{n}")))?;
                        world.client.signed_request(
                            Method::POST,
                            "/v1/partner/actions",
                            body,
                            now_unix,
                        )?
                    }
                    Load::Batch => {
                        let items: Vec<_> = (0..BATCH)
                            .map(|item| report(&world, format!("b-{client}-{n}-{item}")))
                            .collect();
                        let body = serde_json::to_vec(&json!({ "items": items }))?;
                        world.client.signed_request(
                            Method::POST,
                            "/v1/partner/actions/batch",
                            body,
                            now_unix,
                        )?
                    }
                };
                let sent = Instant::now();
                let response = world.client.http_client().execute(request).await?;
                let status = response.status();
                let body = response.bytes().await?;
                anyhow::ensure!(
                    status.is_success(),
                    "{label}: {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                if let Load::Batch = load {
                    let view: serde_json::Value = serde_json::from_slice(&body)?;
                    anyhow::ensure!(view["refused"] == 0, "{label}: items refused: {view}");
                }
                latencies.record(sent.elapsed());
            }
            Ok(latencies)
        }
    })
    .await
}
