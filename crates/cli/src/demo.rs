//! `openforest demo`: the server with a lively world to click through. Players with friends,
//! balls ripe now, ripening in a few minutes and at 07:00, waterings and a steal in their
//! feeds, the demo catalog, an NGO with two portal users, a partner, a co-planting group with
//! its pot, and trees in every status (`pledged → ordered → planted → verified`).
//!
//! Everything goes through the server's own API, as a partner, players, an NGO and an admin
//! would use it, except three things the API has no door for: the first admin, the partner's
//! signing key (derived from a server secret, so it is the same on every run) and the balls
//! that are ripe already (written like `bench harvest` seeds them, as journal entries from the
//! demo partner: partner reports only ripen at 07:00). Running it again changes nothing that
//! exists; on a new day it adds that day's balls once.

use anyhow::{Context, bail};
use base64::Engine;
use openforest_client::partner::{Method, PartnerClient};
use openforest_client::signature::{KeyId, SigningKey};
use openforest_core::methodology::{self, BALL_LIFETIME_MS};
use openforest_core::{BallId, Clock, Grams, Handle, PartnerId, Role, Timestamp, UserId};
use openforest_server::Application;
use openforest_server::auth::hash_password;
use openforest_server::config::Config;
use openforest_store::seed::{SeedBall, SeedChunk};
use openforest_store::{NewUser, Store, SystemClock};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args, Clone, Debug)]
pub struct DemoArgs {
    /// Seed the world and exit instead of serving it.
    #[arg(long)]
    pub seed_only: bool,
}

/// The players, each with a line saying who they are in the demo.
const PLAYERS: [(&str, &str); 6] = [
    (
        "ana",
        "ripe balls, friends, a family group and trees in every status",
    ),
    ("budi", "Ana's brother: in her family group"),
    ("chen", "took some of Ana's energy this morning"),
    ("dewi", "watered Ana"),
    ("eko", "a friend of Dewi's and Ana's"),
    ("fang", "new: only Ana as a friend"),
];
const FRIENDSHIPS: [(&str, &str); 8] = [
    ("ana", "budi"),
    ("ana", "chen"),
    ("ana", "dewi"),
    ("ana", "eko"),
    ("ana", "fang"),
    ("budi", "chen"),
    ("dewi", "eko"),
    ("budi", "dewi"),
];
const ADMIN: &str = "demo-admin";
/// The demo catalog's NGO that plants saxaul, and its two portal users.
const NGO: &str = "Desert Greening Partners (demo)";
const NGO_RECORDER: &str = "rina";
const NGO_CHECKER: &str = "sam";
const PARTNER: &str = "City Transit (demo)";
const PARTNER_KEY_ID: &str = "demo-transit-1";
/// What the demo partner reports, with a quantity: the classic methodology's keys first.
const ACTIONS: [(&str, &str); 4] = [
    ("metro_ride", "1"),
    ("bus_ride", "1"),
    ("offline_payment", "1"),
    ("walking", "8000"),
];
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

/// What `openforest demo` prints for a person: where to go and how to sign in.
pub struct DemoWorld {
    pub password: String,
}

pub async fn run(config: Config, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = crate::settings::open_store(&config, clock.clone()).await?;
    let app = Application::build(config.clone(), store.clone(), clock.clone()).await?;
    let addr = app.local_addr()?;
    let base = format!("http://{addr}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        tokio::select! {
            _ = stopped => {},
            () = crate::shutdown_signal() => {},
        }
    }));
    let seeded = seed(&store, &config, &base).await;
    let world = match seeded {
        Ok(world) => world,
        Err(err) => {
            let _ = stop.send(());
            let _ = server.await;
            return Err(err.context("seeding the demo world"));
        }
    };
    println!("openforest demo: {base}/");
    println!(
        "Sign in with any of these handles and the password {}",
        world.password
    );
    for (handle, about) in PLAYERS {
        println!("  {handle:<11} {about}");
    }
    println!("  {NGO_RECORDER:<11} NGO portal ({NGO}): records plantings");
    println!("  {NGO_CHECKER:<11} NGO portal: verifies what {NGO_RECORDER} recorded");
    println!("  {ADMIN:<11} admin console");
    println!("Public pages: {base}/impact and {base}/verify");
    println!(
        "Data: {} (a demo database: do not serve it to the public)",
        store.location()
    );
    if args.seed_only {
        let _ = stop.send(());
    }
    server.await??;
    Ok(ExitCode::SUCCESS)
}

/// The demo's password: random per database (so no two demos share one), the same on every
/// run against it; 16 hex digits, easy to type on a phone.
async fn demo_password(store: &Arc<dyn Store>) -> anyhow::Result<String> {
    let secret = store.server_secret("demo-password", 8).await?;
    Ok(secret.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// The day in the operator's zone (`YYYY-MM-DD`), as the server counts days.
fn local_day(config: &Config, now: Timestamp) -> anyhow::Result<String> {
    let zone = methodology::parse_timezone(&config.timezone)
        .map_err(|err| anyhow::anyhow!("timezone: {err}"))?;
    Ok(methodology::day_key(now, zone).as_str().to_string())
}

async fn seed(store: &Arc<dyn Store>, config: &Config, base: &str) -> anyhow::Result<DemoWorld> {
    let clock = SystemClock;
    let password = demo_password(store).await?;
    let api = Api {
        http: reqwest::Client::new(),
        base: base.to_string(),
    };
    ensure_admin(store, &password).await?;
    let (admin, _) = api.sign_in(ADMIN, &password).await?;
    let mut players = Vec::new();
    for (handle, _) in PLAYERS {
        players.push(api.player(handle, &password).await?);
    }
    let player = |handle: &str| {
        players
            .iter()
            .find(|player| player.handle == handle)
            .context("a demo player")
    };
    for (one, other) in FRIENDSHIPS {
        api.befriend(player(one)?, player(other)?).await?;
    }

    openforest_server::catalog_file::load(
        store.as_ref(),
        &clock,
        openforest_server::catalog_file::DEMO_CATALOG,
    )
    .await
    .map_err(|err| anyhow::anyhow!("the demo catalog: {err}"))?;
    let ngos = api.get("/v1/ngos", None).await?;
    let ngo_id = find(&ngos, "name", NGO)?["ngo_id"].clone();
    let recorder = api.player(NGO_RECORDER, &password).await?;
    let checker = api.player(NGO_CHECKER, &password).await?;
    for member in [&recorder, &checker] {
        api.call(
            reqwest::Method::POST,
            &format!("/v1/admin/ngos/{}/members", text(&ngo_id)?),
            Some(&admin),
            Some(&json!({"handle": member.handle})),
            None,
            &[StatusCode::NO_CONTENT, StatusCode::CONFLICT],
        )
        .await?;
    }

    let transit = partner(store, &api, &admin, base).await?;
    let day = local_day(config, clock.now())?;
    for (index, player) in players.iter().enumerate() {
        transit.report_today(&api, player, &day, index).await?;
    }

    // Once a day: welcome energy, balls ripe now and soon, waterings and a steal.
    let first_today = api
        .grant(
            &admin,
            player("ana")?,
            2_000,
            &format!("demo-day-{day}-ana"),
        )
        .await?;
    if first_today {
        for player in players.iter().skip(1) {
            api.grant(
                &admin,
                player,
                300,
                &format!("demo-day-{day}-{}", player.handle),
            )
            .await?;
        }
        ripe_balls(store, &transit, &players).await?;
        let ana = player("ana")?;
        for (waterer, grams) in [("dewi", 33), ("budi", 18), ("eko", 10)] {
            api.call(
                reqwest::Method::POST,
                &format!("/v1/friends/{}/water", ana.user_id),
                Some(&player(waterer)?.token),
                Some(&json!({"grams": grams})),
                None,
                &[StatusCode::OK, StatusCode::CREATED, StatusCode::CONFLICT],
            )
            .await?;
        }
        api.steal_one(player("chen")?, ana).await?;
        api.steal_one(ana, player("budi")?).await?;
    }

    once(&api, &admin, &players, &recorder, &checker, &day).await?;
    Ok(DemoWorld { password })
}

/// The first admin, which only the command line can create.
async fn ensure_admin(store: &Arc<dyn Store>, password: &str) -> anyhow::Result<()> {
    if store.user_by_handle(ADMIN).await?.is_some() {
        return Ok(());
    }
    let now = SystemClock.now();
    store
        .create_user(NewUser {
            user_id: UserId(openforest_store::new_id(now)),
            handle: Handle::parse(ADMIN).map_err(anyhow::Error::msg)?,
            role: Role::Admin,
            password_hash: Some(
                hash_password(password.to_string())
                    .await
                    .map_err(|err| anyhow::anyhow!("{err}"))?,
            ),
            created_at: now,
        })
        .await?;
    Ok(())
}

/// The demo partner, registered by the admin over the API, with a signing key derived from a
/// server secret so every run signs with the same key.
async fn partner(
    store: &Arc<dyn Store>,
    api: &Api,
    admin: &str,
    base: &str,
) -> anyhow::Result<DemoPartner> {
    let methodology = api.get("/v1/methodology", None).await?;
    let offered: Vec<&str> = methodology["actions"]
        .as_array()
        .map(|actions| {
            actions
                .iter()
                .filter_map(|action| action["key"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let actions: Vec<(String, String)> = ACTIONS
        .iter()
        .filter(|(key, _)| offered.contains(key))
        .map(|(key, quantity)| (key.to_string(), quantity.to_string()))
        .collect();
    if actions.is_empty() {
        bail!(
            "the active methodology has none of the demo's actions ({}): run the demo with the classic methodology",
            ACTIONS.map(|(key, _)| key).join(", ")
        );
    }
    let partners = api.get("/v1/admin/partners", Some(admin)).await?;
    let partner_id = match find(&partners, "name", PARTNER) {
        Ok(partner) => text(&partner["partner_id"])?.to_string(),
        Err(_) => {
            let created = api
                .call(
                    reqwest::Method::POST,
                    "/v1/admin/partners",
                    Some(admin),
                    Some(&json!({"name": PARTNER, "allowed_actions": actions.iter().map(|(key, _)| key).collect::<Vec<_>>()})),
                    None,
                    &[StatusCode::CREATED],
                )
                .await?;
            text(&created["partner_id"])?.to_string()
        }
    };
    let seed = store.server_secret("demo-partner-signing-key", 32).await?;
    let key = SigningKey::from_base64(&base64::engine::general_purpose::STANDARD.encode(seed))
        .map_err(|err| anyhow::anyhow!("the demo partner's key: {err}"))?;
    let keys = api
        .get(
            &format!("/v1/admin/partners/{partner_id}/keys"),
            Some(admin),
        )
        .await?;
    if find(&keys, "key_id", PARTNER_KEY_ID).is_err() {
        api.call(
            reqwest::Method::POST,
            &format!("/v1/admin/partners/{partner_id}/keys"),
            Some(admin),
            Some(&json!({"key_id": PARTNER_KEY_ID, "public_key": key.verifying_key().to_base64()})),
            None,
            &[StatusCode::CREATED],
        )
        .await?;
    }
    let client = PartnerClient::new(
        base,
        KeyId::parse(PARTNER_KEY_ID).map_err(anyhow::Error::msg)?,
        key,
    )?;
    let partner_id = PartnerId(
        partner_id
            .parse()
            .context("the partner id the API answered")?,
    );
    Ok(DemoPartner {
        partner_id,
        client,
        actions,
        methodology: methodology["name"]
            .as_str()
            .unwrap_or("classic")
            .to_string(),
        methodology_version: methodology["version"]
            .as_u64()
            .and_then(|version| u32::try_from(version).ok())
            .unwrap_or(1),
    })
}

struct DemoPartner {
    partner_id: PartnerId,
    client: PartnerClient,
    /// Action keys the methodology has, with the quantity one report carries.
    actions: Vec<(String, String)>,
    methodology: String,
    methodology_version: u32,
}

impl DemoPartner {
    /// Today's actions of one player: balls that ripen at 07:00 tomorrow. The same
    /// `out_biz_no` on a second run answers the same credit.
    async fn report_today(
        &self,
        api: &Api,
        player: &Player,
        day: &str,
        index: usize,
    ) -> anyhow::Result<()> {
        let link = api
            .call(
                reqwest::Method::POST,
                "/v1/me/partner-links",
                Some(&player.token),
                Some(&json!({"partner_id": self.partner_id.uuid()})),
                None,
                &[StatusCode::CREATED],
            )
            .await?;
        let pseudonym = text(&link["partner_user_id"])?;
        // Everyone did something different today: two or three actions each.
        for n in 0..(2 + index % 2) {
            let (action, quantity) = &self.actions[(index + n) % self.actions.len()];
            let body = json!({
                "out_biz_no": format!("demo-{day}-{}-{n}", player.handle),
                "partner_user_id": pseudonym,
                "action": action,
                "quantity": quantity,
            });
            let bytes = serde_json::to_vec(&body)?;
            let response = self
                .client
                .send_signed(Method::POST, "/v1/partner/actions", &bytes)
                .await?;
            let status = response.status();
            if !(status.is_success() || status == StatusCode::UNPROCESSABLE_ENTITY) {
                bail!(
                    "the partner's report of {action} for {}: {status} {}",
                    player.handle,
                    response.text().await.unwrap_or_default()
                );
            }
        }
        Ok(())
    }
}

/// Balls that ripened this morning and balls ripening in a few minutes, for every player:
/// journal entries from the demo partner, written like `bench harvest` seeds its world.
async fn ripe_balls(
    store: &Arc<dyn Store>,
    partner: &DemoPartner,
    players: &[Player],
) -> anyhow::Result<()> {
    let now = SystemClock.now();
    // Ripe since an hour ago, and ripening in 3 and 20 minutes.
    let moments = [
        (now.plus_millis(-HOUR), [52u64, 80, 160]),
        (now.plus_millis(3 * MINUTE), [36, 0, 0]),
        (now.plus_millis(20 * MINUTE), [80, 5, 0]),
    ];
    for (chunk_index, (ripens_at, grams)) in moments.iter().enumerate() {
        let (action, _) = &partner.actions[chunk_index % partner.actions.len()];
        let mut chunk = SeedChunk::new(
            partner.partner_id,
            action,
            &partner.methodology,
            partner.methodology_version,
            now,
        );
        for (index, player) in players.iter().enumerate() {
            for &base in grams.iter().filter(|&&grams| grams > 0) {
                // Not everyone has the same: a little more for the later players.
                chunk.balls.push(SeedBall {
                    owner_id: player.user_id,
                    ball_id: BallId(openforest_store::new_ball_id(*ripens_at)),
                    grams: Grams::new(base + 4 * index as u64),
                    created_at: now,
                    ripens_at: *ripens_at,
                    expires_at: ripens_at.plus_millis(BALL_LIFETIME_MS),
                });
            }
        }
        store.seed_world(&chunk).await?;
    }
    Ok(())
}

/// What the demo creates only once: props, a family group feeding its pot, and Ana's trees in
/// every status with an NGO recording and verifying plantings. Each step checks what is there
/// first (or carries an idempotency key), so a run that stopped half-way is completed.
async fn once(
    api: &Api,
    admin: &str,
    players: &[Player],
    recorder: &Player,
    checker: &Player,
    today: &str,
) -> anyhow::Result<()> {
    let [ana, budi, ..] = players else {
        bail!("the demo has at least two players");
    };
    api.grant(admin, ana, 100_000, "demo-welcome-ana").await?;
    for (player, kind, count) in [
        (ana, "shield", 1),
        (ana, "double_collect", 2),
        (budi, "steal_multiplier", 1),
    ] {
        api.call(
            reqwest::Method::POST,
            "/v1/admin/props/grants",
            Some(admin),
            Some(&json!({"user_id": player.user_id, "kind": kind, "count": count})),
            Some(&format!("demo-props-{}-{kind}", player.handle)),
            &[StatusCode::OK, StatusCode::CREATED],
        )
        .await?;
    }
    let groups = api.get("/v1/me/groups", Some(&ana.token)).await?;
    if groups.as_array().is_none_or(Vec::is_empty) {
        family_group(api, ana, budi).await?;
    }

    let catalog = api.get("/v1/catalog", None).await?;
    let saxaul = text(&find(&catalog, "name", "Saxaul")?["item_id"])?.to_string();
    let land = text(&find(&catalog, "kind", "land")?["item_id"])?.to_string();
    // Three trees and some mangrove to be ordered; one more tree pledged after the ordering.
    for (n, (item, units)) in [(&saxaul, 1), (&saxaul, 1), (&saxaul, 1), (&land, 5)]
        .into_iter()
        .enumerate()
    {
        api.plant(ana, item, units, &format!("demo-plant-{n}"))
            .await?;
    }
    let saxaul_order = |orders: &Value| {
        // The first order: it holds the first three trees.
        orders.as_array().into_iter().flatten().find_map(|order| {
            let line = order["lines"].as_array()?.iter().find(|line| {
                line["item_id"].as_str() == Some(saxaul.as_str())
                    && line["pledges"].as_u64() >= Some(3)
            })?;
            Some((order["order_id"].as_str()?.to_string(), line.clone()))
        })
    };
    let mut orders = api.get("/v1/ngo/orders", Some(&recorder.token)).await?;
    if saxaul_order(&orders).is_none() {
        api.call(
            reqwest::Method::POST,
            "/v1/admin/orders",
            Some(admin),
            None,
            None,
            &[StatusCode::OK],
        )
        .await?;
        orders = api.get("/v1/ngo/orders", Some(&recorder.token)).await?;
    }
    let (order_id, line) = saxaul_order(&orders).context("the NGO's saxaul order")?;
    // Units planted, verified or not.
    let planted = line["planted_units"].as_u64().unwrap_or(0);
    let sites = [
        (
            38.861,
            105.712,
            "Planted along the dune line, north of the road.",
        ),
        (38.874, 105.758, "Second row behind the straw checkerboard."),
    ];
    if planted < 2 {
        let photo = api
            .upload_photo(&recorder.token, &planting_photo()?)
            .await?;
        for (latitude, longitude, note) in sites.into_iter().skip(planted as usize) {
            api.call(
                reqwest::Method::POST,
                &format!("/v1/ngo/orders/{order_id}/batches"),
                Some(&recorder.token),
                Some(&json!({
                    "item_id": saxaul, "units": 1, "planted_on": today,
                    "location": {"latitude": latitude, "longitude": longitude},
                    "polygon": {"type": "Polygon", "coordinates": [[
                        [longitude - 0.004, latitude - 0.003], [longitude + 0.004, latitude - 0.003],
                        [longitude + 0.004, latitude + 0.003], [longitude - 0.004, latitude + 0.003],
                        [longitude - 0.004, latitude - 0.003]]]},
                    "photos": [photo], "note": note,
                })),
                None,
                &[StatusCode::CREATED],
            )
            .await?;
        }
    }
    if line["verified_units"].as_u64().unwrap_or(0) == 0 {
        let order = api
            .get(&format!("/v1/ngo/orders/{order_id}"), Some(&checker.token))
            .await?;
        let first_batch = order["batches"]
            .as_array()
            .and_then(|batches| batches.first())
            .and_then(|batch| batch["batch_id"].as_str())
            .context("the order's first planting batch")?
            .to_string();
        api.call(
            reqwest::Method::POST,
            &format!("/v1/ngo/batches/{first_batch}/verify"),
            Some(&checker.token),
            None,
            None,
            &[StatusCode::OK],
        )
        .await?;
    }
    api.plant(ana, &saxaul, 1, "demo-plant-pledged").await?;
    Ok(())
}

/// Ana's family: Ana and Budi, each feeding the pot.
async fn family_group(api: &Api, ana: &Player, budi: &Player) -> anyhow::Result<()> {
    let group = api
        .call(
            reqwest::Method::POST,
            "/v1/groups",
            Some(&ana.token),
            Some(&json!({"name": "Ana's family", "kind": "family"})),
            None,
            &[StatusCode::CREATED],
        )
        .await?;
    let group_id = text(&group["group_id"])?.to_string();
    api.call(
        reqwest::Method::POST,
        &format!("/v1/groups/{group_id}/invites"),
        Some(&ana.token),
        Some(&json!({"handle": budi.handle})),
        None,
        &[StatusCode::OK, StatusCode::CREATED, StatusCode::NO_CONTENT],
    )
    .await?;
    api.call(
        reqwest::Method::POST,
        &format!("/v1/groups/{group_id}/join"),
        Some(&budi.token),
        None,
        None,
        &[StatusCode::OK],
    )
    .await?;
    for (member, grams) in [(ana, 500), (budi, 200)] {
        api.call(
            reqwest::Method::POST,
            &format!("/v1/groups/{group_id}/pot"),
            Some(&member.token),
            Some(&json!({"grams": grams})),
            None,
            &[StatusCode::OK, StatusCode::CREATED],
        )
        .await?;
    }
    Ok(())
}

/// A photo an NGO might send from the field, drawn here: sky, a dune, a row of young shrubs.
fn planting_photo() -> anyhow::Result<Vec<u8>> {
    const WIDTH: u32 = 320;
    const HEIGHT: u32 = 200;
    let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            let (fx, fy) = (f64::from(x), f64::from(y));
            let dune = 120.0 + 18.0 * (fx / 60.0).sin();
            let shrub = (fx % 40.0 - 20.0).abs() < 9.0 - (fy - dune + 14.0).abs() * 0.6
                && fy < dune + 2.0
                && fy > dune - 22.0;
            let pixel = if shrub {
                [46, 125, 50]
            } else if fy < dune {
                let shade = (fy / dune * 60.0) as u8;
                [120 + shade, 180 + shade / 2, 235]
            } else {
                let shade = ((fy - dune) / 2.0) as u8;
                [
                    222 - shade.min(60),
                    190 - shade.min(60),
                    130 - shade.min(60),
                ]
            };
            pixels.extend_from_slice(&pixel);
        }
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(bytes)
}

struct Player {
    handle: String,
    user_id: UserId,
    token: String,
}

/// The server's API, as the demo's people use it.
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    /// Calls the API and answers the JSON body (or `null`); a status not in `expected` is an
    /// error with the problem the server sent.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
        expected: &[StatusCode],
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !expected.contains(&status) {
            bail!("{method} {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: Option<&str>) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::GET,
            path,
            token,
            None,
            None,
            &[StatusCode::OK],
        )
        .await
    }

    /// A session: its token and the user's id.
    async fn sign_in(&self, handle: &str, password: &str) -> anyhow::Result<(String, UserId)> {
        let session = self
            .call(
                reqwest::Method::POST,
                "/v1/sessions",
                None,
                Some(&json!({"handle": handle, "password": password})),
                None,
                &[StatusCode::OK, StatusCode::CREATED],
            )
            .await?;
        let user_id = text(&session["user"]["user_id"])?
            .parse()
            .context("the user id the API answered")?;
        Ok((text(&session["token"])?.to_string(), UserId(user_id)))
    }

    /// Signs a player up (once) and in.
    async fn player(&self, handle: &str, password: &str) -> anyhow::Result<Player> {
        self.call(
            reqwest::Method::POST,
            "/v1/users",
            None,
            Some(&json!({"handle": handle, "password": password})),
            None,
            &[StatusCode::CREATED, StatusCode::CONFLICT],
        )
        .await?;
        let (token, user_id) = self.sign_in(handle, password).await?;
        Ok(Player {
            handle: handle.to_string(),
            user_id,
            token,
        })
    }

    /// Each asks the other; the second ask makes them friends. Asking again is refused (409).
    async fn befriend(&self, one: &Player, other: &Player) -> anyhow::Result<()> {
        for (asker, asked) in [(one, other), (other, one)] {
            self.call(
                reqwest::Method::POST,
                "/v1/me/friends",
                Some(&asker.token),
                Some(&json!({"handle": asked.handle})),
                None,
                &[StatusCode::OK, StatusCode::CREATED, StatusCode::CONFLICT],
            )
            .await?;
        }
        Ok(())
    }

    /// A pledge with an idempotency key: a second run answers the same pledge.
    async fn plant(
        &self,
        who: &Player,
        item_id: &str,
        units: u64,
        key: &str,
    ) -> anyhow::Result<()> {
        self.call(
            reqwest::Method::POST,
            "/v1/me/plantings",
            Some(&who.token),
            Some(&json!({"item_id": item_id, "units": units})),
            Some(key),
            &[StatusCode::CREATED, StatusCode::OK],
        )
        .await?;
        Ok(())
    }

    /// An audited grant with an idempotency key; true when it was new.
    async fn grant(&self, admin: &str, to: &Player, grams: u64, key: &str) -> anyhow::Result<bool> {
        let granted = self
            .call(
                reqwest::Method::POST,
                "/v1/admin/grants",
                Some(admin),
                Some(&json!({"user_id": to.user_id, "grams": grams, "reason": "openforest demo energy"})),
                Some(key),
                &[StatusCode::CREATED],
            )
            .await?;
        Ok(granted["replayed"] != Value::Bool(true))
    }

    /// The thief takes from the owner's first ripe ball they may.
    async fn steal_one(&self, thief: &Player, owner: &Player) -> anyhow::Result<()> {
        let balls = self.get("/v1/me/balls", Some(&owner.token)).await?;
        let ripe = balls
            .as_array()
            .into_iter()
            .flatten()
            .filter(|ball| ball["state"] == "ripe")
            .filter_map(|ball| ball["ball_id"].as_str());
        for ball_id in ripe {
            let answer = self
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/friends/{}/balls/{ball_id}/steal", owner.user_id),
                    Some(&thief.token),
                    None,
                    None,
                    &[
                        StatusCode::OK,
                        StatusCode::CREATED,
                        StatusCode::CONFLICT,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ],
                )
                .await?;
            if answer["grams"].as_u64().is_some_and(|grams| grams > 0) {
                break;
            }
        }
        Ok(())
    }

    async fn upload_photo(&self, token: &str, png: &[u8]) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/v1/ngo/photos", self.base))
            .bearer_auth(token)
            .header("content-type", "image/png")
            .body(png.to_vec())
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("uploading the demo photo answered {status}: {body}");
        }
        Ok(text(&body["sha256"])?.to_string())
    }
}

fn text(value: &Value) -> anyhow::Result<&str> {
    value
        .as_str()
        .with_context(|| format!("expected a string in the API's answer, found {value}"))
}

/// The element of a JSON array whose `field` is `value`.
fn find<'a>(list: &'a Value, field: &str, value: &str) -> anyhow::Result<&'a Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .find(|element| element[field].as_str() == Some(value))
        .with_context(|| format!("no {field} {value:?} in the API's answer"))
}
