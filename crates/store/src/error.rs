//! Store errors: what went wrong with the database, and why a command did not happen.

use openforest_core::Rejection;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("invalid database url: {0}")]
    InvalidUrl(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(String),
    /// A seeded chunk that contradicts itself (benchmarks' bulk seeding).
    #[error("invalid seed: {0}")]
    InvalidSeed(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        StoreError::Database(err.to_string())
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(err: r2d2::Error) -> Self {
        StoreError::Database(err.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Database(err.to_string())
    }
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum CommandError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("this idempotency key was already used with a different request")]
    IdempotencyConflict,
    #[error("the writer queue is full")]
    Overloaded,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("storage failure: {0}")]
    Storage(String),
}
