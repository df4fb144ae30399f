//! Bulk seeding, for benchmarks: users with their sessions, friendships, balls and a history
//! of play, written in large transactions straight to the tables, never through the HTTP API
//! or the writer. Every ball is issued by a journal entry (partner issuance → ball, kind
//! `action`); every gram that leaves a ball (collect, steal, expiry) is an entry of the kind
//! the writer records for it, with the balance rows, `steals` rows, feed items and usage
//! counters real play writes; so the audit still proves conservation over a seeded world.
//! What a real credit also records (idempotency keys, dedup keys, webhook events) is left out:
//! it decides replays, not where grams are. `world` plans such a world; the backends write it.

pub mod world;

use crate::digest::{DigestBall, ForestDigest};
use crate::error::StoreError;
use openforest_core::harvest::feed;
use openforest_core::methodology::Usage;
use openforest_core::{
    Account, BallId, EntryKind, Grams, Handle, PartnerId, Timestamp, UsageKey, UserId,
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// A seeded user: a `user` role without a password, signed in with one session.
#[derive(Clone, Debug)]
pub struct SeedUser {
    pub user_id: UserId,
    pub handle: Handle,
    /// SHA-256 of the session's bearer token (`openforest_server::auth::hash_token`).
    pub token_hash: [u8; 32],
}

/// A seeded ball of `owner_id`, issued full by the chunk's partner at `created_at`.
#[derive(Clone, Copy, Debug)]
pub struct SeedBall {
    pub owner_id: UserId,
    pub ball_id: BallId,
    pub grams: Grams,
    pub created_at: Timestamp,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
}

/// Grams leaving one of the chunk's balls at `at`, as the writer would move them.
#[derive(Clone, Copy, Debug)]
pub struct SeedMovement {
    pub owner_id: UserId,
    pub ball_id: BallId,
    pub grams: Grams,
    pub at: Timestamp,
    pub kind: SeedMovementKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeedMovementKind {
    /// The owner collects: ball → the owner's wallet (entry kind `collect`).
    Collect,
    /// A friend steals: ball → the thief's wallet (entry kind `steal`), a `steals` row and an
    /// `energy_stolen` item in the owner's feed.
    Steal { thief_id: UserId, take: u8 },
    /// The ball expires with energy left: ball → expired (entry kind `expire`).
    Expire,
}

/// Usage counted for one key (per action and local day, month or `all`); added to what the
/// database already holds for that key, since one user's counters are touched by several
/// chunks (a thief's steals are written with the owners' balls).
#[derive(Clone, Debug)]
pub struct SeedUsage {
    pub key: UsageKey,
    pub usage: Usage,
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
    /// When users, sessions and friendships were made.
    pub created_at: Timestamp,
    pub session_expires_at: Timestamp,
    pub users: Vec<SeedUser>,
    /// Rows `(user, friend)`, one per direction: a world gives both directions of every
    /// friendship, here or in the friend's chunk, so that each chunk writes only rows keyed by
    /// its own users. A row already stored is skipped.
    pub friendships: Vec<(UserId, UserId)>,
    pub balls: Vec<SeedBall>,
    /// Movements out of this chunk's balls; together they never take more than a ball holds.
    pub movements: Vec<SeedMovement>,
    pub usage: Vec<SeedUsage>,
    /// The world's last chunk: the store may then refresh what its planner knows of the tables
    /// (PostgreSQL runs `ANALYZE` on them).
    pub last: bool,
}

/// What one chunk wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub users: u64,
    pub sessions: u64,
    /// Rows, one per direction.
    pub friendship_rows: u64,
    pub balls: u64,
    /// Journal entries: one per ball and one per movement.
    pub entries: u64,
    /// Grams issued into the balls.
    pub grams: u64,
    pub collects: u64,
    pub steals: u64,
    pub expiries: u64,
    pub feed_items: u64,
    /// Usage keys written (new or added to).
    pub usage_rows: u64,
}

impl SeedReport {
    pub fn add(&mut self, other: &SeedReport) {
        self.users += other.users;
        self.sessions += other.sessions;
        self.friendship_rows += other.friendship_rows;
        self.balls += other.balls;
        self.entries += other.entries;
        self.grams += other.grams;
        self.collects += other.collects;
        self.steals += other.steals;
        self.expiries += other.expiries;
        self.feed_items += other.feed_items;
        self.usage_rows += other.usage_rows;
    }

    /// Rows written to every table together (sessions and handles included).
    pub fn rows(&self) -> u64 {
        // users, user_handles, sessions; balls and their balance rows; one steals row and
        // one feed item per steal; wallets are counted with the movements that fill them.
        3 * self.users
            + self.friendship_rows
            + 2 * self.balls
            + self.entries
            + self.steals
            + self.feed_items
            + self.usage_rows
    }
}

/// What a chunk's movements leave behind, worked out once for both backends.
pub(crate) struct Settlement {
    /// What each ball holds after its movements, in the order of `chunk.balls`.
    pub ball_grams: Vec<Grams>,
    /// Grams each wallet gains, by owner in key order.
    pub wallets: Vec<(UserId, i64)>,
    /// One `energy_stolen` item per steal, for the owner's feed.
    pub feed: Vec<SeedFeedItem>,
    /// Usage merged by key, in key order.
    pub usage: Vec<SeedUsage>,
}

impl Settlement {
    /// The forest digest of the chunk's balls for every owner who still holds energy in them:
    /// what the writer would have kept through the same movements. A backend merges each with
    /// the owner's stored digest, if any.
    pub(crate) fn digests(&self, chunk: &SeedChunk) -> Vec<(UserId, ForestDigest)> {
        let mut by_owner: BTreeMap<UserId, Vec<DigestBall>> = BTreeMap::new();
        for (ball, remaining) in chunk.balls.iter().zip(&self.ball_grams) {
            by_owner.entry(ball.owner_id).or_default().push(DigestBall {
                ball_id: ball.ball_id,
                grams: ball.grams,
                remaining: *remaining,
                ripens_at: ball.ripens_at,
                expires_at: ball.expires_at,
            });
        }
        by_owner
            .into_iter()
            .map(|(owner, balls)| (owner, ForestDigest::of(balls)))
            .filter(|(_, digest)| !digest.is_empty())
            .collect()
    }
}

pub(crate) struct SeedFeedItem {
    pub user_id: UserId,
    pub item_id: Uuid,
    pub kind: &'static str,
    pub actor_id: UserId,
    pub ball_id: BallId,
    pub grams: Grams,
    pub at: Timestamp,
}

/// A journal entry of the chunk, before the backend gives it an id.
pub(crate) struct SeedEntry {
    pub user_id: UserId,
    pub at: Timestamp,
    pub kind: EntryKind,
    pub from: Account,
    pub to: Account,
    pub grams: Grams,
}

impl SeedChunk {
    /// A chunk with nothing in it yet, its balls credited by `partner_id` for `action` under
    /// the methodology's `version`, made `now`.
    pub fn new(
        partner_id: PartnerId,
        action: &str,
        methodology: &str,
        methodology_version: u32,
        now: Timestamp,
    ) -> SeedChunk {
        SeedChunk {
            partner_id,
            action: action.into(),
            methodology: methodology.into(),
            methodology_version,
            created_at: now,
            session_expires_at: now,
            users: Vec::new(),
            friendships: Vec::new(),
            balls: Vec::new(),
            movements: Vec::new(),
            usage: Vec::new(),
            last: false,
        }
    }

    /// The chunk's journal entries, owner by owner and ball by ball: the ball's issuance,
    /// then its movements in time order.
    pub(crate) fn entries(&self) -> Vec<SeedEntry> {
        let mut movements: HashMap<BallId, Vec<&SeedMovement>> = HashMap::new();
        for movement in &self.movements {
            movements
                .entry(movement.ball_id)
                .or_default()
                .push(movement);
        }
        let mut balls: Vec<&SeedBall> = self.balls.iter().collect();
        balls.sort_by_key(|ball| (ball.owner_id, ball.ball_id));
        let issuance = Account::Issuance {
            partner_id: self.partner_id,
        };
        let mut entries = Vec::with_capacity(self.balls.len() + self.movements.len());
        for ball in balls {
            let account = Account::Ball {
                user_id: ball.owner_id,
                ball_id: ball.ball_id,
            };
            entries.push(SeedEntry {
                user_id: ball.owner_id,
                at: ball.created_at,
                kind: EntryKind::Action,
                from: issuance,
                to: account,
                grams: ball.grams,
            });
            let Some(taken) = movements.get_mut(&ball.ball_id) else {
                continue;
            };
            taken.sort_by_key(|movement| movement.at);
            for movement in taken.iter() {
                let (kind, to) = match movement.kind {
                    SeedMovementKind::Collect => (
                        EntryKind::Collect,
                        Account::Wallet {
                            user_id: ball.owner_id,
                        },
                    ),
                    SeedMovementKind::Steal { thief_id, .. } => {
                        (EntryKind::Steal, Account::Wallet { user_id: thief_id })
                    }
                    SeedMovementKind::Expire => (EntryKind::Expire, Account::Expired),
                };
                entries.push(SeedEntry {
                    user_id: ball.owner_id,
                    at: movement.at,
                    kind,
                    from: account,
                    to,
                    grams: movement.grams,
                });
            }
        }
        entries
    }

    /// Checks the chunk's movements against its balls (each names a ball of the chunk, none
    /// takes more than the ball still holds) and works out the rows they leave behind.
    pub(crate) fn settle(&self) -> Result<Settlement, StoreError> {
        let index: HashMap<BallId, usize> = self
            .balls
            .iter()
            .enumerate()
            .map(|(n, ball)| (ball.ball_id, n))
            .collect();
        let mut ball_grams: Vec<Grams> = self.balls.iter().map(|ball| ball.grams).collect();
        let mut wallets: BTreeMap<UserId, i64> = BTreeMap::new();
        let mut feed = Vec::new();
        for movement in &self.movements {
            let n = *index.get(&movement.ball_id).ok_or_else(|| {
                StoreError::InvalidSeed(format!(
                    "a movement names ball {} which is not in the chunk",
                    movement.ball_id.uuid()
                ))
            })?;
            if self.balls[n].owner_id != movement.owner_id || movement.grams == Grams::ZERO {
                return Err(StoreError::InvalidSeed(format!(
                    "a movement of ball {} names another owner or moves nothing",
                    movement.ball_id.uuid()
                )));
            }
            ball_grams[n] = ball_grams[n].checked_sub(movement.grams).ok_or_else(|| {
                StoreError::InvalidSeed(format!(
                    "ball {} gives more than it holds",
                    movement.ball_id.uuid()
                ))
            })?;
            let wallet = match movement.kind {
                SeedMovementKind::Collect => Some(movement.owner_id),
                SeedMovementKind::Steal { thief_id, .. } => {
                    feed.push(SeedFeedItem {
                        user_id: movement.owner_id,
                        item_id: crate::new_id(movement.at),
                        kind: feed::ENERGY_STOLEN,
                        actor_id: thief_id,
                        ball_id: movement.ball_id,
                        grams: movement.grams,
                        at: movement.at,
                    });
                    Some(thief_id)
                }
                SeedMovementKind::Expire => None,
            };
            if let Some(owner) = wallet {
                *wallets.entry(owner).or_default() += movement.grams.as_i64();
            }
        }
        feed.sort_by_key(|item| (item.user_id, item.item_id));
        let mut usage: BTreeMap<UsageKey, Usage> = BTreeMap::new();
        for seeded in &self.usage {
            let total = usage.entry(seeded.key.clone()).or_default();
            total.actions = total.actions.saturating_add(seeded.usage.actions);
            total.quantity_milli = total
                .quantity_milli
                .saturating_add(seeded.usage.quantity_milli);
            total.grams = total
                .grams
                .checked_add(seeded.usage.grams)
                .unwrap_or(total.grams);
        }
        Ok(Settlement {
            ball_grams,
            wallets: wallets.into_iter().collect(),
            feed,
            usage: usage
                .into_iter()
                .map(|(key, usage)| SeedUsage { key, usage })
                .collect(),
        })
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
        self.id_with_millis(self.millis)
    }

    /// The next id, stamped with `at` instead (the counter goes on, so ids stay unique).
    pub fn next_id_at(&mut self, at: Timestamp) -> Uuid {
        self.id_with_millis(u64::try_from(at.millis()).unwrap_or(0) & ((1 << 48) - 1))
    }

    fn id_with_millis(&mut self, millis: u64) -> Uuid {
        let counter = self.counter & ((1 << COUNTER_BITS) - 1);
        self.counter += 1;
        let rand_a = (counter >> 62) & 0xfff;
        let rand_b = counter & ((1 << 62) - 1);
        Uuid::from_u128(
            (u128::from(millis) << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_with_a_ball_of(grams: u64, taken: &[u64]) -> SeedChunk {
        let at = Timestamp::from_millis(1_764_000_000_000);
        let mut ids = SequentialIds::new(at);
        let (owner_id, thief_id) = (UserId(ids.next_id()), UserId(ids.next_id()));
        let ball_id = BallId(ids.next_id());
        SeedChunk {
            partner_id: PartnerId(ids.next_id()),
            action: "walking".into(),
            methodology: "classic".into(),
            methodology_version: 1,
            created_at: at,
            session_expires_at: at,
            users: Vec::new(),
            friendships: Vec::new(),
            balls: vec![SeedBall {
                owner_id,
                ball_id,
                grams: Grams::new(grams),
                created_at: at,
                ripens_at: at,
                expires_at: at,
            }],
            movements: taken
                .iter()
                .map(|&grams| SeedMovement {
                    owner_id,
                    ball_id,
                    grams: Grams::new(grams),
                    at,
                    kind: SeedMovementKind::Steal { thief_id, take: 1 },
                })
                .collect(),
            usage: Vec::new(),
            last: true,
        }
    }

    #[test]
    fn a_seeded_ball_cannot_give_more_than_it_holds() {
        let settled = chunk_with_a_ball_of(100, &[30, 30]).settle();
        let Ok(settlement) = settled else {
            panic!("60 of 100 g may leave a ball");
        };
        assert_eq!(settlement.ball_grams, vec![Grams::new(40)]);
        assert_eq!(settlement.wallets.len(), 1);
        assert_eq!(settlement.wallets[0].1, 60);
        assert_eq!(settlement.feed.len(), 2);
        assert!(matches!(
            chunk_with_a_ball_of(100, &[60, 41]).settle(),
            Err(StoreError::InvalidSeed(_))
        ));
    }

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

    #[test]
    fn a_balls_seeded_id_is_stamped_with_its_ripening_instant() {
        let mut ids = SequentialIds::new(Timestamp::from_millis(1_764_000_000_000));
        let ripens_at = Timestamp::from_millis(1_764_025_200_000);
        let ball = ids.next_id_at(ripens_at);
        let other = ids.next_id_at(ripens_at);
        assert_eq!(ball.get_version_num(), 7);
        assert_ne!(ball, other);
        assert_eq!(
            ball.get_timestamp().map(|ts| ts.to_unix()),
            Some((1_764_025_200, 0))
        );
    }
}
