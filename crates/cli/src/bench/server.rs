//! The server under test as its own process: `openforest serve` started from this binary on
//! the benchmark's database, so that its memory is measured apart from the load generator's
//! and it runs as an operator would run it.

use anyhow::Context;
use openforest_server::config::Config;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to answer `/healthz`.
const READY_WITHIN: Duration = Duration::from_secs(120);
/// How long a stopping server may take to finish what it accepted.
const STOPPED_WITHIN: Duration = Duration::from_secs(60);

pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Holds the configuration file and the server's log.
    dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts `openforest serve` with exactly `config` (written to a file; no `OPENFOREST_*`
    /// variable of this process reaches it) on a free local port, and waits until it answers.
    pub async fn start(config: &Config) -> anyhow::Result<ServerProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut config = config.clone();
        config.listen = format!("127.0.0.1:{port}");
        config.log = "warn".into();
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("openforest.toml");
        std::fs::write(&path, toml::to_string(&config)?)?;
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("--config")
            .arg(&path)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("OPENFOREST_") {
                command.env_remove(key);
            }
        }
        let child = command.spawn().context("starting openforest serve")?;
        let mut server = ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        server.wait_until_ready().await?;
        Ok(server)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", self.base);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "the server exited ({status}) before answering: {}",
                    self.log()
                );
            }
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < READY_WITHIN,
                "the server did not answer {url} within {READY_WITHIN:?}: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// The server's peak resident memory so far in MiB (`VmHWM`), where the OS reports it.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        super::peak_rss_mb_of(&format!("/proc/{}/status", self.child.id()))
    }

    /// Stops the server as an operator would (SIGTERM: it finishes and commits what it
    /// accepted), or kills it if it does not stop in time.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let started = Instant::now();
        while started.elapsed() < STOPPED_WITHIN {
            if let Some(status) = self.child.try_wait()? {
                anyhow::ensure!(
                    status.success(),
                    "the server stopped with {status}: {}",
                    self.log()
                );
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.kill()?;
        self.child.wait()?;
        anyhow::bail!("the server did not stop within {STOPPED_WITHIN:?} and was killed")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A run that fails midway leaves no server behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
