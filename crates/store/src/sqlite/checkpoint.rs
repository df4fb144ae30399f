//! The checkpointer: copies committed WAL pages back into the database file from its own
//! thread and connection, so the writer's commits never pay for it.

use crate::error::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a passive checkpoint runs. Passive checkpoints never block the writer; once one
/// has copied the whole WAL, the writer's next transaction starts the WAL over from its
/// beginning, which keeps the file bounded.
const INTERVAL: Duration = Duration::from_millis(250);

pub(super) struct Checkpointer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    pub fn spawn(path: &Path) -> Result<Checkpointer, StoreError> {
        let conn = Connection::open(path)?;
        conn.execute_batch("PRAGMA busy_timeout = 5000;")?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("openforest-checkpoint".into())
            .spawn(move || run(conn, stopped))
            .map_err(|err| StoreError::Database(format!("cannot start the checkpointer: {err}")))?;
        Ok(Checkpointer { stop, thread })
    }

    /// Runs a last, complete checkpoint and stops.
    pub fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

fn run(conn: Connection, stopped: mpsc::Receiver<()>) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(INTERVAL) {
        if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %err, "WAL checkpoint failed; retrying");
        }
    }
    if let Err(err) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
        tracing::warn!(error = %err, "final WAL checkpoint failed");
    }
}
