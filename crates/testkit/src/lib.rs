//! Throw-away PostgreSQL clusters (`initdb` + `pg_ctl` in a temporary directory, run as the
//! `postgres` user when we are root) for tests and `openforest bench`, and the test suite's
//! policy for missing components: skip with a message, or fail under
//! `OPENFOREST_TEST_REQUIRE_ALL=1`.
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use sqlx::{Connection, Executor, PgConnection};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// True when CI asks that no test skip for a missing component.
pub fn require_all() -> bool {
    std::env::var("OPENFOREST_TEST_REQUIRE_ALL").is_ok_and(|value| value == "1")
}

/// Skips (with a message on stderr) or, under `OPENFOREST_TEST_REQUIRE_ALL=1`, fails.
pub fn skip_or_fail(component: &str, reason: &str) {
    if require_all() {
        panic!("{component} is required (OPENFOREST_TEST_REQUIRE_ALL=1) but unavailable: {reason}");
    }
    eprintln!("SKIPPED: {component} unavailable: {reason}");
}

/// A running PostgreSQL cluster in a temporary directory, stopped when dropped (and by a
/// watchdog if this process dies without dropping it).
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres_user: bool,
}

fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Ok(std::fs::canonicalize(dir.join("initdb"))?
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or(dir));
            }
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .find(|dir| dir.join("initdb").is_file())
        .context(
            "no initdb on PATH or under /usr/lib/postgresql/*/bin (apt-get install postgresql)",
        )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl PgCluster {
    /// Starts a new cluster. `durable = false` turns fsync off, for fast tests; benchmarks
    /// keep it on so they measure what production pays.
    pub fn start(durable: bool) -> anyhow::Result<PgCluster> {
        let cluster = PgCluster::new_dir()?;
        let data = cluster.dir.join("data");
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        cluster.launch(durable)?;
        Ok(cluster)
    }

    /// Starts a streaming replica of this cluster (`pg_basebackup -R`): a hot standby on its
    /// own port that follows every database of this one, read-only.
    pub fn start_replica(&self) -> anyhow::Result<PgCluster> {
        let replica = PgCluster::new_dir()?;
        let data = replica.dir.join("data");
        replica.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-D",
                path_str(&data)?,
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
        )?;
        replica.launch(false)?;
        Ok(replica)
    }

    /// A cluster value with a fresh directory (owned by `postgres` when we are root) and port.
    fn new_dir() -> anyhow::Result<PgCluster> {
        let bin = find_bin_dir()?;
        let as_postgres_user = is_root();
        let dir =
            std::env::temp_dir().join(format!("openforest-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        if as_postgres_user {
            let status = Command::new("chown").arg("postgres:").arg(&dir).status()?;
            if !status.success() {
                bail!("cannot hand {} to the postgres user", dir.display());
            }
        }
        Ok(PgCluster {
            dir,
            bin,
            port: free_port()?,
            as_postgres_user,
        })
    }

    /// Starts the server on this cluster's data directory and port.
    fn launch(&self, durable: bool) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections=300 -c fsync={} -c shared_buffers=256MB",
            self.port,
            path_str(&self.dir)?,
            if durable { "on" } else { "off" },
        );
        let log = self.dir.join("postgres.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        self.spawn_watchdog(&data)
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{tool} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Stops the cluster once this process is gone, however it ended.
    fn spawn_watchdog(&self, data: &Path) -> anyhow::Result<()> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} -D '{data}' stop -m immediate >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = if self.as_postgres_user {
                format!(
                    "runuser -u postgres -- {}",
                    self.bin.join("pg_ctl").display()
                )
            } else {
                self.bin.join("pg_ctl").display().to_string()
            },
            data = data.display(),
            dir = self.dir.display(),
        );
        Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` as the superuser.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The directory of the PostgreSQL binaries (for pgbench and friends).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if let Some(data) = data.to_str() {
            let _ = self.run("pg_ctl", &["-D", data, "stop", "-m", "fast"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().context("temporary path is not UTF-8")
}

/// Where tests get PostgreSQL: `OPENFOREST_TEST_PG_URL`, or one throw-away cluster per test
/// process, started on first use.
enum Server {
    External(String),
    Cluster(PgCluster),
}

impl Server {
    fn admin_url(&self) -> String {
        match self {
            Server::External(url) => url.clone(),
            Server::Cluster(cluster) => cluster.url("postgres"),
        }
    }
}

fn shared_server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var("OPENFOREST_TEST_PG_URL") {
            Ok(url) if !url.is_empty() => Ok(Server::External(url)),
            _ => PgCluster::start(false)
                .map(Server::Cluster)
                .map_err(|err| format!("{err:#}")),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// A fresh, empty database for one test, or `None` after skipping (see [`skip_or_fail`]).
pub async fn postgres_database() -> Option<String> {
    let server = match tokio::task::spawn_blocking(|| shared_server().map(|_| ())).await {
        Ok(Ok(())) => shared_server().ok()?,
        Ok(Err(reason)) => {
            skip_or_fail("PostgreSQL", &reason);
            return None;
        }
        Err(err) => {
            skip_or_fail("PostgreSQL", &err.to_string());
            return None;
        }
    };
    match create_database(&server.admin_url()).await {
        Ok(url) => Some(url),
        Err(err) => {
            skip_or_fail("PostgreSQL", &format!("{err:#}"));
            None
        }
    }
}

/// Creates a uniquely named database next to the one `admin_url` names; returns its URL.
pub async fn create_database(admin_url: &str) -> anyhow::Result<String> {
    let name = format!("openforest_{}", uuid::Uuid::now_v7().simple());
    let started = Instant::now();
    let mut conn = loop {
        match PgConnection::connect(admin_url).await {
            Ok(conn) => break conn,
            Err(err) if started.elapsed() < Duration::from_secs(20) => {
                let _ = err;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => return Err(err).context("connecting to PostgreSQL"),
        }
    };
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .context("the PostgreSQL URL has no database part")?;
    Ok(format!("{base}/{name}"))
}
