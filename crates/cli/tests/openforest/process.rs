//! The built `openforest` binary as an operator runs it: no configuration, environment
//! overrides, PostgreSQL by URL, `verify`, and a `kill -9` in the middle of a write load.

use crate::support::{Backend, TestDatabase};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary with a clean `OPENFOREST_*` environment, run in `dir`.
fn openforest(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_openforest"));
    for (key, _) in std::env::vars() {
        if key.starts_with("OPENFOREST_") {
            command.env_remove(key);
        }
    }
    command
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

struct Server {
    child: Child,
    base: String,
    output: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `openforest serve` on a free port and waits for its "listening on" line.
    fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        let mut env = env.to_vec();
        env.push(("OPENFOREST_LISTEN", "127.0.0.1:0"));
        let mut child = openforest(dir, &env)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let (found, address) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = output.clone();
        std::thread::spawn(move || {
            // Keep draining so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = found.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
            }
        });
        let log = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&line);
                log.lock().unwrap().push('\n');
            }
        });
        let Ok(address) = address.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("the server did not start: {}", output.lock().unwrap());
        };
        Server {
            child,
            base: format!("http://{address}"),
            output,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then waits: a graceful stop must exit 0.
    fn stop(mut self) -> String {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        let output = self.output.lock().unwrap().clone();
        assert!(exit.success(), "graceful stop failed: {output}");
        output
    }
}

fn database_env(url: &str) -> Vec<(&'static str, String)> {
    vec![("OPENFOREST_DATABASE_URL", url.to_string())]
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter()
        .map(|(key, value)| (*key, value.as_str()))
        .collect()
}

fn create_admin(dir: &Path, env: &[(&str, &str)]) {
    let mut child = openforest(dir, env)
        .args(["admin", "create", "--handle", "root", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"admin password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

async fn login(http: &reqwest::Client, server: &Server, handle: &str, password: &str) -> Value {
    let response = http
        .post(server.url("/v1/sessions"))
        .json(&json!({"handle": handle, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_with_no_configuration_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let ready: Value = reqwest::get(server.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["backend"], "sqlite");
    assert!(
        dir.path().join("openforest-data/openforest.db").is_file(),
        "SQLite is created under the data directory"
    );
    let output = server.stop();
    assert!(output.contains("openforest stores its data in"), "{output}");
    assert!(output.contains("openforest stopped"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_binary_runs_on_postgres_by_url() {
    let Some(database) = TestDatabase::new(Backend::Postgres).await else {
        return;
    };
    let env = database_env(&database.url);
    let server = Server::start(database.dir.path(), &env_refs(&env));
    let ready: Value = reqwest::get(server.url("/readyz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["backend"], "postgres");
    server.stop();
}

#[test]
fn the_default_config_is_printed_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let printed = openforest(dir.path(), &[])
        .arg("default-config")
        .output()
        .unwrap();
    assert!(printed.status.success());
    let config: toml::Value = toml::from_str(&String::from_utf8(printed.stdout).unwrap()).unwrap();
    assert_eq!(config["listen"].as_str(), Some("127.0.0.1:8080"));
    assert_eq!(config["data_dir"].as_str(), Some("openforest-data"));

    let migrated = openforest(dir.path(), &[("OPENFOREST_DATA_DIR", "elsewhere")])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    assert!(dir.path().join("elsewhere/openforest.db").is_file());

    let wrong = openforest(dir.path(), &[("OPENFOREST_HTTP__BODY_LIMIT_BYTES", "lots")])
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("invalid configuration")
            && stderr.to_lowercase().contains("body_limit_bytes"),
        "{stderr}"
    );

    let file = dir.path().join("openforest.toml");
    std::fs::write(&file, "data_dir = \"from-file\"\n").unwrap();
    let from_file = openforest(dir.path(), &[])
        .args(["--config", "openforest.toml", "migrate"])
        .output()
        .unwrap();
    assert!(from_file.status.success());
    assert!(dir.path().join("from-file/openforest.db").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_exits_non_zero_on_a_tampered_ledger() {
    let dir = tempfile::tempdir().unwrap();
    create_admin(dir.path(), &[]);
    let server = Server::start(dir.path(), &[]);
    let http = reqwest::Client::new();
    let admin = login(&http, &server, "root", "admin password").await;
    let user: Value = http
        .post(server.url("/v1/users"))
        .json(&json!({"handle": "ana", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let granted = http
        .post(server.url("/v1/admin/grants"))
        .bearer_auth(admin["token"].as_str().unwrap())
        .json(&json!({"user_id": user["user_id"], "grams": 700, "reason": "welcome"}))
        .send()
        .await
        .unwrap();
    assert_eq!(granted.status(), StatusCode::CREATED);
    server.stop();

    let verified = openforest(dir.path(), &[]).arg("verify").output().unwrap();
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{stdout}");
    assert!(
        stdout.contains("issued            700 g") && stdout.contains("OK"),
        "{stdout}"
    );

    crate::support::tamper(
        &format!(
            "sqlite://{}",
            dir.path().join("openforest-data/openforest.db").display()
        ),
        "UPDATE balances SET grams = 7000",
    )
    .await;
    let verified = openforest(dir.path(), &[]).arg("verify").output().unwrap();
    let stdout = String::from_utf8_lossy(&verified.stdout);
    assert!(!verified.status.success());
    assert!(
        stdout.contains("balance_mismatch") && stdout.contains("FAILED"),
        "{stdout}"
    );
}

/// Drives grants with unique idempotency keys, kills the server with SIGKILL mid-load, and
/// restarts it: every acknowledged grant is there (its key replays to the same entry), nothing
/// is half-applied, and `openforest verify` passes.
async fn kill_9_mid_load_loses_no_acknowledged_write(backend: Backend) {
    let Some(database) = TestDatabase::new(backend).await else {
        return;
    };
    let dir = database.dir.path();
    let env = match backend {
        Backend::Sqlite => Vec::new(),
        Backend::Postgres => database_env(&database.url),
    };
    let env = env_refs(&env);
    create_admin(dir, &env);
    let mut server = Server::start(dir, &env);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let admin = login(&http, &server, "root", "admin password").await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let user: Value = http
        .post(server.url("/v1/users"))
        .json(&json!({"handle": "ana", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let user_id = user["user_id"].as_str().unwrap().to_string();

    let acknowledged = Arc::new(Mutex::new(Vec::<(String, Value, String)>::new()));
    let sent_grams = Arc::new(Mutex::new(0u64));
    let clients: Vec<_> = (0..32)
        .map(|client| {
            let (http, admin, user_id, base) = (
                http.clone(),
                admin.clone(),
                user_id.clone(),
                server.base.clone(),
            );
            let (acknowledged, sent_grams) = (acknowledged.clone(), sent_grams.clone());
            tokio::spawn(async move {
                for n in 0.. {
                    let key = format!("crash-{client}-{n}");
                    let body = json!({"user_id": user_id, "grams": 1 + (n % 7), "reason": "load"});
                    *sent_grams.lock().unwrap() += 1 + (n % 7);
                    let response = http
                        .post(format!("{base}/v1/admin/grants"))
                        .bearer_auth(&admin)
                        .header("idempotency-key", &key)
                        .json(&body)
                        .send()
                        .await;
                    let Ok(response) = response else { break };
                    if response.status() != StatusCode::CREATED {
                        continue;
                    }
                    let Ok(answer) = response.json::<Value>().await else {
                        break;
                    };
                    let entry_id = answer["entry_id"].as_str().unwrap().to_string();
                    acknowledged.lock().unwrap().push((key, body, entry_id));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    join_all(clients).await;

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "the load should have been acknowledged many times, got {}",
        acknowledged.len()
    );
    let server = Server::start(dir, &env);
    let replays = acknowledged.chunks(64).map(|chunk| {
        let (http, admin, base) = (http.clone(), admin.clone(), server.base.clone());
        let chunk = chunk.to_vec();
        async move {
            for (key, body, entry_id) in chunk {
                let replay: Value = http
                    .post(format!("{base}/v1/admin/grants"))
                    .bearer_auth(&admin)
                    .header("idempotency-key", &key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(
                    replay["replayed"], true,
                    "acknowledged grant {key} was lost: {replay}"
                );
                assert_eq!(replay["entry_id"].as_str(), Some(entry_id.as_str()));
            }
        }
    });
    join_all(replays).await;
    let acknowledged_grams: u64 = acknowledged
        .iter()
        .map(|(_, body, _)| body["grams"].as_u64().unwrap())
        .sum();
    let session = login(&http, &server, "ana", "correct horse battery").await;
    let me: Value = http
        .get(server.url("/v1/me"))
        .bearer_auth(session["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let wallet = me["wallet_grams"].as_u64().unwrap();
    assert!(
        wallet >= acknowledged_grams,
        "wallet {wallet} < acknowledged {acknowledged_grams}"
    );
    assert!(wallet <= *sent_grams.lock().unwrap());
    server.stop();

    let verified = openforest(dir, &env).arg("verify").output().unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_write_on_sqlite() {
    kill_9_mid_load_loses_no_acknowledged_write(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_write_on_postgres() {
    kill_9_mid_load_loses_no_acknowledged_write(Backend::Postgres).await;
}

/// Runs `openforest demo --seed-only`, answers (its output, the printed password).
fn seed_demo(dir: &Path, env: &[(&str, &str)]) -> (String, String) {
    let mut env = env.to_vec();
    env.push(("OPENFOREST_LISTEN", "127.0.0.1:0"));
    let output = openforest(dir, &env)
        .args(["demo", "--seed-only"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let password = stdout
        .split("the password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password in {stdout}"))
        .to_string();
    (stdout, password)
}

fn verify_json(dir: &Path, env: &[(&str, &str)]) -> Value {
    let output = openforest(dir, env)
        .args(["verify", "--json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn get_json(http: &reqwest::Client, server: &Server, path: &str, token: &str) -> Value {
    let response = http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

async fn the_demo_seeds_a_lively_world_once(backend: Backend) {
    let Some(database) = TestDatabase::new(backend).await else {
        return;
    };
    let env = database_env(&database.url);
    let env = env_refs(&env);
    let dir = database.dir.path();
    let (printed, password) = seed_demo(dir, &env);
    for line in ["http://127.0.0.1:", "ana ", "rina ", "demo-admin "] {
        assert!(printed.contains(line), "{line:?} in {printed}");
    }
    let first = verify_json(dir, &env);
    assert_eq!(first["problems"], json!([]));
    let (_, again) = seed_demo(dir, &env);
    assert_eq!(again, password, "the same logins on every run");
    let second = verify_json(dir, &env);
    assert_eq!(
        (&second["entries"], &second["issued_grams"]),
        (&first["entries"], &first["issued_grams"]),
        "a second run the same day adds nothing"
    );

    let server = Server::start(dir, &env);
    let http = reqwest::Client::new();
    let ana = login(&http, &server, "ana", &password).await;
    let token = ana["token"].as_str().unwrap();
    let balls = get_json(&http, &server, "/v1/me/balls", token).await;
    let states: Vec<&str> = balls
        .as_array()
        .unwrap()
        .iter()
        .map(|ball| ball["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"ripe"), "{balls}");
    assert!(states.contains(&"ripening"), "{balls}");
    let soon = balls.as_array().unwrap().iter().any(|ball| {
        ball["state"] == "ripening" && !ball["ripens_at"].as_str().unwrap().ends_with(":00:00.000Z")
    });
    assert!(
        soon,
        "balls ripening within minutes, not only at 07:00: {balls}"
    );
    let certificates = get_json(&http, &server, "/v1/me/certificates", token).await;
    let mut statuses: Vec<&str> = certificates
        .as_array()
        .unwrap()
        .iter()
        .map(|certificate| certificate["status"].as_str().unwrap())
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert_eq!(statuses, ["ordered", "planted", "pledged", "verified"]);
    let friends = get_json(&http, &server, "/v1/me/friends", token).await;
    assert_eq!(friends.as_array().unwrap().len(), 5, "{friends}");
    let feed = get_json(&http, &server, "/v1/me/feed", token)
        .await
        .to_string();
    assert!(feed.contains("chen") && feed.contains("dewi"), "{feed}");
    let groups = get_json(&http, &server, "/v1/me/groups", token).await;
    assert!(groups[0]["pot_grams"].as_u64().unwrap() > 0, "{groups}");
    let rina = login(&http, &server, "rina", &password).await;
    let orders = get_json(
        &http,
        &server,
        "/v1/ngo/orders",
        rina["token"].as_str().unwrap(),
    )
    .await;
    assert!(!orders.as_array().unwrap().is_empty());
    let admin = login(&http, &server, "demo-admin", &password).await;
    assert_eq!(admin["user"]["role"], "admin");
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_lively_world_once_on_sqlite() {
    the_demo_seeds_a_lively_world_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_lively_world_once_on_postgres() {
    the_demo_seeds_a_lively_world_once(Backend::Postgres).await;
}

/// The demo as a person meets it: a phone-sized Chromium signs in as Ana, collects a ripe
/// ball, visits a friend and opens a verified tree's certificate and its public check. The
/// screenshots are the README's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_world_can_be_played_in_chromium() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let database = TestDatabase::new(Backend::Sqlite).await.unwrap();
    let dir = database.dir.path();
    let env = database_env(&database.url);
    let env = env_refs(&env);
    let (_, password) = seed_demo(dir, &env);
    let server = Server::start(dir, &env);
    let http = reqwest::Client::new();
    let ana = login(&http, &server, "ana", &password).await;
    let certificates = get_json(
        &http,
        &server,
        "/v1/me/certificates",
        ana["token"].as_str().unwrap(),
    )
    .await;
    let verified = certificates
        .as_array()
        .unwrap()
        .iter()
        .find(|certificate| certificate["status"] == "verified")
        .and_then(|certificate| certificate["certificate_no"].as_str())
        .unwrap()
        .to_string();

    let browser = crate::browser::Browser::launch(&chromium).await;
    let page = browser.page(390, 844).await;
    page.visit(&server.url("/signin")).await;
    page.type_into("#handle", "ana").await;
    page.type_into("#password", &password).await;
    page.submit("main form button[type=submit]", "/").await;
    let ripe = page.count("form.collect button.ripe").await;
    assert!(ripe >= 1, "the demo has ripe balls");
    page.screenshot("demo-forest-390x844").await;
    let before = page.text("#wallet-grams").await;
    page.click("form.collect button.ripe").await;
    page.wait_for_count("form.collect button.ripe", ripe - 1)
        .await;
    assert_ne!(page.text("#wallet-grams").await, before, "the wallet grew");

    page.visit(&server.url("/friends")).await;
    assert!(page.count("a[href='/friends/budi']").await >= 1);
    page.visit(&server.url("/friends/budi")).await;
    page.screenshot("demo-friend-390x844").await;
    page.visit(&server.url(&format!("/certificates/{verified}")))
        .await;
    page.screenshot("demo-certificate-390x844").await;
    page.visit(&server.url(&format!("/verify/{verified}")))
        .await;
    page.screenshot("demo-verify-390x844").await;

    page.resize(1280, 800).await;
    page.visit(&server.url("/")).await;
    page.screenshot("demo-forest-1280x800").await;
    page.visit(&server.url(&format!("/certificates/{verified}")))
        .await;
    page.screenshot("demo-certificate-1280x800").await;
    page.visit(&server.url("/impact")).await;
    assert!(page.count("svg").await >= 5, "the dashboard's charts");
    page.screenshot("demo-impact-1280x800").await;
    page.resize(390, 844).await;
    page.visit(&server.url("/impact")).await;
    page.screenshot("demo-impact-390x844").await;
    browser.finish().await;
    server.stop();
}
