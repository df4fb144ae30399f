//! Bulk seeding, for benchmarks: users with their sessions, friendships and ripe balls, written
//! in large transactions straight to the tables, never through the HTTP API or the writer.
//! Every ball is issued by a journal entry (partner issuance → ball, kind `action`) and gets
//! its balance row, so the audit still proves conservation over a seeded world. What a real
//! credit also records (usage counters, idempotency keys, dedup keys, webhook events) is left
//! out: it decides caps and replays, not where grams are.

use openforest_core::{BallId, Grams, Handle, PartnerId, Timestamp, UserId};
use uuid::Uuid;

/// A seeded user: a `user` role without a password, signed in with one session.
#[derive(Clone, Debug)]
pub struct SeedUser {
    pub user_id: UserId,
    pub handle: Handle,
    /// SHA-256 of the session's bearer token (`openforest_server::auth::hash_token`).
    pub token_hash: [u8; 32],
}

/// A seeded ball of `owner_id`, full, issued by the chunk's partner.
#[derive(Clone, Copy, Debug)]
pub struct SeedBall {
    pub owner_id: UserId,
    pub ball_id: BallId,
    pub grams: Grams,
}

/// One slice of a seeded world, written in one transaction. A world is seeded chunk after
/// chunk (progress between them); ids must be new to the database.
#[derive(Clone, Debug)]
pub struct SeedChunk {
    /// Whose issuance account the balls come from (the ball's partner).
    pub partner_id: PartnerId,
    /// The action, methodology and version the balls are recorded under.
    pub action: String,
    pub methodology: String,
    pub methodology_version: u32,
    /// When users, sessions, friendships, balls and journal entries were made.
    pub created_at: Timestamp,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
    pub session_expires_at: Timestamp,
    pub users: Vec<SeedUser>,
    /// Each pair once; it is stored in both directions. A pair already stored is skipped.
    pub friendships: Vec<(UserId, UserId)>,
    pub balls: Vec<SeedBall>,
    /// The world's last chunk: the store may then refresh what its planner knows of the tables
    /// (PostgreSQL runs `ANALYZE` on them).
    pub last: bool,
}

/// What one chunk wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users: u64,
    pub sessions: u64,
    /// Rows, two per new pair.
    pub friendship_rows: u64,
    pub balls: u64,
    pub entries: u64,
    pub grams: u64,
}

impl SeedReport {
    pub fn add(&mut self, other: &SeedReport) {
        self.users += other.users;
        self.sessions += other.sessions;
        self.friendship_rows += other.friendship_rows;
        self.balls += other.balls;
        self.entries += other.entries;
        self.grams += other.grams;
    }
}

/// UUIDv7s that strictly increase: the millisecond of `at`, then a counter that starts at a
/// random point. Seeded rows keyed by such ids append to their B-trees instead of landing on a
/// random page each, which is what makes a million-user seed take minutes, not hours.
#[derive(Debug)]
pub struct SequentialIds {
    millis: u64,
    counter: u128,
}

/// The 74 bits of a UUIDv7 after its timestamp, version and variant.
const COUNTER_BITS: u32 = 74;

impl SequentialIds {
    pub fn new(at: Timestamp) -> SequentialIds {
        let millis = u64::try_from(at.millis()).unwrap_or(0) & ((1 << 48) - 1);
        // Start low enough in the random space that 2^64 ids can follow without wrapping.
        let start = u128::from(rand::random::<u64>() >> 1) << 8;
        SequentialIds {
            millis,
            counter: start,
        }
    }

    pub fn next_id(&mut self) -> Uuid {
        let counter = self.counter & ((1 << COUNTER_BITS) - 1);
        self.counter += 1;
        let rand_a = (counter >> 62) & 0xfff;
        let rand_b = counter & ((1 << 62) - 1);
        Uuid::from_u128(
            (u128::from(self.millis) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_ids_are_version_7_and_strictly_increasing() {
        let mut ids = SequentialIds::new(Timestamp::from_millis(1_764_000_000_000));
        let first = ids.next_id();
        let second = ids.next_id();
        assert_eq!(first.get_version_num(), 7);
        assert_eq!(first.get_variant(), uuid::Variant::RFC4122);
        assert!(second > first);
        let (secs, _) = first
            .get_timestamp()
            .map(|ts| ts.to_unix())
            .unwrap_or_default();
        assert_eq!(secs, 1_764_000_000);
    }
}
