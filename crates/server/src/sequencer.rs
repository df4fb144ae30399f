//! The transparency log's sequencer: a task that integrates records the log does not hold yet
//! into the Merkle tree, in bounded rounds, and publishes a signed tree head whenever the tree
//! grew. It runs beside the ledger writer, never in it: hashing never slows a commit.
//!
//! [`LogState`] is the tree in memory (rebuilt from the stored leaf hashes at start), shared
//! with the public endpoints, which prove inclusion and consistency from it. It keeps only
//! the hashes of complete chunks of 1,024 stored leaves (and what lies above them): a proof
//! that reaches inside a chunk reads that chunk's leaves back from storage.

use crate::config::TransparencyConfig;
use openforest_core::Clock;
use openforest_core::log::{Hash, LogKey, ProofError, RecordKind, Tree, TreeHead};
use openforest_store::log::{LEAF_PAGE, StoredLeaf, signing_key, window_start, with_pruned_chunks};
use openforest_store::{Store, StoreError};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

/// The log's tree and key, shared by the sequencer and the endpoints.
#[derive(Debug)]
pub struct LogState {
    tree: RwLock<Tree>,
    key: LogKey,
}

impl LogState {
    /// The key from its server secret and the tree from every stored leaf hash.
    pub async fn load(store: &dyn Store) -> Result<Arc<LogState>, StoreError> {
        let state = LogState {
            tree: RwLock::new(Tree::new()),
            key: signing_key(store).await?,
        };
        state.catch_up(store).await?;
        Ok(Arc::new(state))
    }

    pub fn key(&self) -> &LogKey {
        &self.key
    }

    /// Leaves in the tree in memory.
    pub fn size(&self) -> u64 {
        self.read().len()
    }

    /// Adds leaves stored since the tree was last read (by another process's sequencer, or a
    /// test's); answers the size.
    pub async fn catch_up(&self, store: &dyn Store) -> Result<u64, StoreError> {
        loop {
            let start = self.size();
            let leaves = store.log_leaves(start, LEAF_PAGE).await?;
            let mut tree = self.write();
            if tree.len() != start {
                continue;
            }
            for leaf in &leaves {
                if leaf.leaf_index != tree.len() {
                    return Err(StoreError::Database(format!(
                        "log leaf {} follows leaf {}",
                        leaf.leaf_index,
                        tree.len().wrapping_sub(1)
                    )));
                }
                tree.push(leaf.leaf_hash);
            }
            // All of it read from storage: storage can give any chunk back.
            let stored = tree.len();
            tree.prune_below(stored);
            metrics::gauge!("openforest_log_tree_size").set(stored as f64);
            if leaves.len() < LEAF_PAGE as usize {
                return Ok(stored);
            }
        }
    }

    /// The tree size a request may use: up to the tree in memory after catching up.
    pub async fn ensure_size(&self, store: &dyn Store, tree_size: u64) -> Result<(), StoreError> {
        if tree_size > self.size() {
            self.catch_up(store).await?;
        }
        Ok(())
    }

    /// The root at `tree_size` (the outer error is storage's, the inner one the request's).
    pub async fn root_at(
        &self,
        store: &dyn Store,
        tree_size: u64,
    ) -> Result<Result<Hash, ProofError>, StoreError> {
        with_pruned_chunks(
            store,
            || self.read(),
            |tree, chunks| tree.root_at_with(tree_size, chunks),
        )
        .await
    }

    pub async fn inclusion_proof(
        &self,
        store: &dyn Store,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Result<Vec<Hash>, ProofError>, StoreError> {
        with_pruned_chunks(
            store,
            || self.read(),
            |tree, chunks| tree.inclusion_proof_with(leaf_index, tree_size, chunks),
        )
        .await
    }

    pub async fn consistency_proof(
        &self,
        store: &dyn Store,
        first: u64,
        second: u64,
    ) -> Result<Result<Vec<Hash>, ProofError>, StoreError> {
        with_pruned_chunks(
            store,
            || self.read(),
            |tree, chunks| tree.consistency_proof_with(first, second, chunks),
        )
        .await
    }

    /// Hashes the tree holds in memory (the `openforest_log_tree_hashes` gauge).
    pub fn hashes_held(&self) -> usize {
        self.read().hashes_held()
    }

    // A poisoned lock only means a panic elsewhere mid-read; the tree itself is only changed
    // by push and truncate, which cannot panic halfway, so its contents stay usable.
    fn read(&self) -> RwLockReadGuard<'_, Tree> {
        self.tree
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Tree> {
        self.tree
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequenceRun {
    /// Records integrated.
    pub records: u64,
    /// The size of the head published, if one was.
    pub published: Option<u64>,
}

#[derive(Clone)]
pub struct Sequencer {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    log: Arc<LogState>,
    settings: TransparencyConfig,
}

impl Sequencer {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        log: Arc<LogState>,
        settings: TransparencyConfig,
    ) -> Sequencer {
        Sequencer {
            store,
            clock,
            log,
            settings,
        }
    }

    /// One round: up to `batch_max` records, kinds in [`RecordKind::ALL`] order, each kind in
    /// id order; then a signed head if the tree grew (or none was ever published).
    pub async fn run_once(&self) -> Result<SequenceRun, StoreError> {
        self.round(&mut Resume::default()).await
    }

    /// A round that looks for each kind's records from `resume` on, where the previous round
    /// of the same run stopped, rather than from the start of the late-commit window again: a
    /// backlog of many rounds (after downtime, or a world seeded at one instant) is read once,
    /// not once per round.
    async fn round(&self, resume: &mut Resume) -> Result<SequenceRun, StoreError> {
        let start = self.log.catch_up(self.store.as_ref()).await?;
        let mut records = Vec::new();
        for (index, kind) in RecordKind::ALL.into_iter().enumerate() {
            let budget = self
                .settings
                .batch_max
                .saturating_sub(len_u32(records.len()));
            if budget == 0 {
                break;
            }
            let floor = match resume.after[index] {
                Some(last) => last,
                None => {
                    window_start(
                        self.store.as_ref(),
                        kind,
                        self.settings.late_commit_grace_ms,
                    )
                    .await?
                }
            };
            let found = self.store.unlogged_records(kind, floor, budget).await?;
            if let Some(last) = found.last() {
                resume.after[index] = Some(last.record_id());
            }
            records.extend(found);
        }
        let latest = self.store.latest_log_head().await?;
        if records.is_empty() && latest.is_some_and(|head| head.head.tree_size == start) {
            return Ok(SequenceRun::default());
        }
        let now = self.clock.now();
        let leaves: Vec<StoredLeaf> = records
            .iter()
            .zip(start..)
            .map(|(record, leaf_index)| StoredLeaf {
                leaf_index,
                record_kind: record.kind(),
                record_id: record.record_id(),
                leaf_hash: record.leaf_hash(),
                integrated_at: now,
            })
            .collect();
        let head = {
            let mut tree = self.log.write();
            if tree.len() != start {
                // Another round caught up in between; the next round starts from there.
                return Ok(SequenceRun::default());
            }
            for leaf in &leaves {
                tree.push(leaf.leaf_hash);
            }
            TreeHead {
                tree_size: tree.len(),
                root: tree.root(),
                timestamp_ms: u64::try_from(now.millis()).unwrap_or(0),
            }
        };
        let signed = self.log.key.sign(head);
        if let Err(err) = self.store.append_log(&leaves, &signed).await {
            let mut tree = self.log.write();
            if tree.truncate(start).is_err() {
                // Only stored leaves are ever pruned, so this cannot happen; if it did, the
                // tree is read again from storage at the next round.
                *tree = Tree::new();
            }
            return Err(err);
        }
        let hashes_held = {
            let mut tree = self.log.write();
            tree.prune_below(head.tree_size);
            tree.hashes_held()
        };
        metrics::gauge!("openforest_log_tree_hashes").set(hashes_held as f64);
        metrics::counter!("openforest_log_records_total").increment(leaves.len() as u64);
        metrics::gauge!("openforest_log_tree_size").set(head.tree_size as f64);
        Ok(SequenceRun {
            records: leaves.len() as u64,
            published: Some(head.tree_size),
        })
    }

    /// Runs rounds until one is not full: what the server does at every tick, so that the log
    /// keeps up with a writer that commits more than `batch_max` records per interval.
    pub async fn run_until_caught_up(&self) -> Result<SequenceRun, StoreError> {
        self.run_until_caught_up_observed(|_| {}).await
    }

    /// `run_until_caught_up`, telling `round_done` of every round (the benchmark times them).
    pub async fn run_until_caught_up_observed(
        &self,
        mut round_done: impl FnMut(&SequenceRun),
    ) -> Result<SequenceRun, StoreError> {
        let mut total = SequenceRun::default();
        let mut resume = Resume::default();
        loop {
            let run = self.round(&mut resume).await?;
            round_done(&run);
            total.records += run.records;
            total.published = run.published.or(total.published);
            if run.records < u64::from(self.settings.batch_max) {
                return Ok(total);
            }
        }
    }
}

/// Where one run's rounds stopped, per record kind (in [`RecordKind::ALL`] order): the id of the
/// last record the run took. A record that commits behind it during the run is found by the
/// next run, which starts from the late-commit window again.
#[derive(Default)]
struct Resume {
    after: [Option<uuid::Uuid>; RecordKind::ALL.len()],
}

fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Runs the sequencer every `interval` until aborted.
pub fn spawn(sequencer: Sequencer, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match sequencer.run_until_caught_up().await {
                // A run that ended: the log held everything committed when it looked.
                Ok(_) => metrics::counter!("openforest_log_runs_total").increment(1),
                Err(err) => {
                    tracing::warn!(error = %err, "log sequencing failed; retrying at the next tick")
                }
            }
        }
    })
}
