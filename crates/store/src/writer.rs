//! The group-commit writer's front: bounded lanes that commands queue on, each with a reply
//! slot. A backend drains a lane in batches, decides every command of a batch in order inside
//! one transaction, commits once and only then answers (see `sqlite::writer`, `postgres::writer`).

use crate::batch::Reply;
use crate::error::CommandError;
use crate::model::Envelope;
use openforest_core::UserId;
use serde::{Deserialize, Serialize};
use std::sync::RwLock;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WriterOptions {
    /// Commands one transaction takes at most.
    pub batch_max: usize,
    /// Commands that may wait per lane before callers get 503 + Retry-After.
    pub queue_depth: usize,
    /// Writer lanes on PostgreSQL, partitioned by user id. SQLite always has exactly one.
    pub postgres_writers: usize,
    /// Connections for reads (and, in benchmarks, for the unbatched baseline).
    pub read_connections: u32,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            batch_max: 4_096,
            queue_depth: 16_384,
            postgres_writers: 2,
            read_connections: 8,
        }
    }
}

impl WriterOptions {
    /// The limits, checked once at start so a writer never runs with a zero-sized batch.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=65_536).contains(&self.batch_max) {
            return Err("writer.batch_max must be between 1 and 65536".into());
        }
        if !(1..=1_000_000).contains(&self.queue_depth) {
            return Err("writer.queue_depth must be between 1 and 1000000".into());
        }
        if !(1..=64).contains(&self.postgres_writers) {
            return Err("writer.postgres_writers must be between 1 and 64".into());
        }
        if !(1..=256).contains(&self.read_connections) {
            return Err("writer.read_connections must be between 1 and 256".into());
        }
        Ok(())
    }
}

/// One queued command and where its answer goes.
pub(crate) struct Job {
    pub envelope: Envelope,
    pub reply: oneshot::Sender<Reply>,
}

/// The senders of every lane. Cleared at shutdown, which closes the lanes: each backend
/// writer then finishes what is queued and stops.
pub(crate) struct Lanes {
    senders: RwLock<Vec<mpsc::Sender<Job>>>,
}

impl Lanes {
    /// Creates `count` bounded lanes and returns their receivers for the backend's writers.
    pub fn new(count: usize, queue_depth: usize) -> (Lanes, Vec<mpsc::Receiver<Job>>) {
        let (senders, receivers) = (0..count).map(|_| mpsc::channel(queue_depth)).unzip();
        (
            Lanes {
                senders: RwLock::new(senders),
            },
            receivers,
        )
    }

    /// Enqueues the command and waits for its answer. The enqueue happens on the first poll,
    /// and no sender is held while waiting: once `close` has run, the writer sees its lane
    /// closed as soon as the queue is drained, whoever is still waiting for an answer.
    pub async fn submit(&self, envelope: Envelope) -> Reply {
        let (reply, answer) = oneshot::channel();
        {
            let senders = self
                .senders
                .read()
                .map_err(|_| CommandError::ShuttingDown)?;
            if senders.is_empty() {
                return Err(CommandError::ShuttingDown);
            }
            let lane = lane_of(envelope.command.home_user(), senders.len());
            senders[lane]
                .try_send(Job { envelope, reply })
                .map_err(|err| match err {
                    mpsc::error::TrySendError::Full(_) => {
                        metrics::counter!("openforest_writer_rejected_full_total").increment(1);
                        CommandError::Overloaded
                    }
                    mpsc::error::TrySendError::Closed(_) => CommandError::ShuttingDown,
                })?;
        }
        answer.await.map_err(|_| CommandError::ShuttingDown)?
    }

    pub fn close(&self) {
        if let Ok(mut senders) = self.senders.write() {
            senders.clear();
        }
    }
}

/// Commands of one user always take the same lane, so one user's commands stay in order.
fn lane_of(user_id: UserId, lanes: usize) -> usize {
    let (high, low) = user_id.uuid().as_u64_pair();
    ((high ^ low) % lanes as u64) as usize
}

/// Records a committed batch in the metrics.
pub(crate) fn observe_batch(commands: usize, started: std::time::Instant) {
    metrics::histogram!("openforest_writer_batch_commands").record(commands as f64);
    metrics::histogram!("openforest_writer_batch_seconds").record(started.elapsed().as_secs_f64());
    metrics::counter!("openforest_writer_commands_total").increment(commands as u64);
}
