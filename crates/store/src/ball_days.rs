//! Dropping settled days of balls: PostgreSQL keeps balls in one partition per UTC day of
//! ripening (`postgres/partitions.rs`) and drops a day once every ball in it holds 0 g and the
//! day is older than the retention. These are what one cleanup did, for the server job's log.

/// A day of balls that was dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedBallDay {
    /// The partition: `balls_20261205` (or `balls_before_days`).
    pub partition: String,
    /// Balls it held; their actions are kept for lineage (`ball_origins`).
    pub balls: u64,
    /// Grams those balls were credited with, all collected, stolen or expired since; kept per
    /// day, partner and action for the impact dashboard (`credited_days`).
    pub grams: u64,
    /// Balance rows of those balls (all at 0 g) removed with them.
    pub balances: u64,
}

/// A day past its retention that stays, because some of its balls still hold energy (the
/// expiry job has not given it to `expired` yet).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldingBallDay {
    pub partition: String,
    /// Balls of the day that still hold energy.
    pub balls_holding: u64,
}

/// Why a cleanup stopped before it looked at every day; the next run goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CleanupStopped {
    /// Another server is dropping days right now.
    AnotherServer,
    /// Detaching needs a moment alone with `balls`; it was not had within the bounded wait
    /// (long queries on `balls`), so nothing of this day changed.
    BallsBusy { partition: String },
}

/// What one cleanup did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BallDaysCleanup {
    pub dropped: Vec<DroppedBallDay>,
    pub holding: Vec<HoldingBallDay>,
    pub stopped: Option<CleanupStopped>,
}
