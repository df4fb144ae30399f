//! A realistic world to seed, planned in memory and handed out chunk by chunk: power-law
//! friendships (most users have a few friends, a few have up to `FRIENDS_MAX`) and `days` days
//! of play by users of three habits. Each day a player plays, they open the app once: they
//! collect their ripe balls, steal from friends' ripe balls, and their steps of that day are
//! credited as a ball that ripens the next morning. So, at `now`, balls are in every state:
//! ripening, ripe, collected, stolen from, expired. Every rule of the game holds: steal shares
//! and the owner's floor (`StealRules`), the daily steal cap, the credit's caps (through the
//! methodology's own `ActionRule::decide`) and the 72-hour lifetime.
//!
//! The same `WorldSpec::seed` plans the same world relative to `now` (who is whose friend,
//! who plays when, every gram); ids and instants follow the clock.

use super::SequentialIds;
use super::{SeedBall, SeedChunk, SeedMovement, SeedMovementKind, SeedUsage, SeedUser};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone};
use openforest_core::harvest::{ALL_TIME, COLLECTED_USAGE_ACTION, STEAL_USAGE_ACTION};
use openforest_core::methodology::{
    ActionRule, DedupStatus, Ripening, Tz, Usage, UsageSoFar, day_key, expires_at, month_key,
};
use openforest_core::{
    BallId, Grams, Handle, PartnerId, Quantity, StealRules, Timestamp, UsageKey, UserId,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// No user has more friends than this (PRODUCT.md: the friend list's limit).
pub const FRIENDS_MAX: u32 = 1_000;
/// History is planned per day in a 64-bit mask.
pub const DAYS_MAX: u32 = 60;

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// How often a user plays: the share of users with the habit, and the chance that they play
/// on a given day. Most users play rarely, which keeps a million-user month to tens of
/// millions of rows.
const HABITS: [(f64, f64); 3] = [
    // daily players
    (0.10, 0.90),
    // regulars
    (0.20, 0.35),
    // casual users
    (0.70, 0.04),
];
/// The chance that a friend who opens the app while a ball is ripe steals from it.
const STEAL_CHANCE: f64 = 0.15;
/// Steps a player walks on a day they play: uniform in this range.
const STEPS: std::ops::RangeInclusive<u64> = 1_000..=20_000;

/// What to plan.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    pub users: u32,
    /// The mean number of friends, before the few pairs the pairing drops.
    pub friends_mean: u32,
    /// Days of history, today included.
    pub days: u32,
    pub seed: u64,
    pub now: Timestamp,
    /// The operator's time zone and morning, as the server counts days and ripens balls.
    pub timezone: Tz,
    pub ripening_time: NaiveTime,
    /// The action every ball is credited for (the methodology's `walking` in the bench).
    pub rule: ActionRule,
    pub steal_rules: StealRules,
    pub partner_id: PartnerId,
    pub methodology: String,
    pub methodology_version: u32,
    /// Names this world's handles (`s<run_tag>-<n>`) and tokens (see `token`).
    pub run_tag: String,
    /// SHA-256 of a bearer token, as sessions store it (`openforest_server::auth::hash_token`).
    pub token_hash: fn(&str) -> [u8; 32],
    pub chunk_users: u32,
}

/// The bearer token of user `n` of the world tagged `run_tag`.
pub fn token(run_tag: &str, n: u32) -> String {
    format!("seed-{run_tag}-{n}")
}

/// The handle of user `n` of the world tagged `run_tag`.
pub fn handle(run_tag: &str, n: u32) -> String {
    format!("s{run_tag}-{n}")
}

/// Balls by their state at `now`, and the friend counts, of a planned chunk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BallStates {
    /// Not ripe yet.
    pub ripening: u64,
    /// Ripe, neither collected nor expired (some partly stolen).
    pub ripe: u64,
    pub collected: u64,
    pub expired: u64,
    /// Balls friends stole from, whatever their state now.
    pub stolen_from: u64,
    /// The most friends any user of the chunk has.
    pub friends_max: u32,
}

impl BallStates {
    pub fn add(&mut self, other: &BallStates) {
        self.ripening += other.ripening;
        self.ripe += other.ripe;
        self.collected += other.collected;
        self.expired += other.expired;
        self.stolen_from += other.stolen_from;
        self.friends_max = self.friends_max.max(other.friends_max);
    }
}

/// A chunk to seed and what it holds.
pub struct PlannedChunk {
    pub chunk: SeedChunk,
    pub states: BallStates,
}

/// The friendship graph: the friends of user `n` are `friends[offsets[n]..offsets[n + 1]]`,
/// sorted, each pair present in both users' lists.
struct Friendships {
    offsets: Vec<usize>,
    friends: Vec<u32>,
}

impl Friendships {
    fn of(&self, user: u32) -> &[u32] {
        let n = user as usize;
        &self.friends[self.offsets[n]..self.offsets[n + 1]]
    }

    /// Power-law degrees, paired at random (the configuration model): each user draws a
    /// degree from a Lomax (Pareto II) distribution with shape 2, whose mean is its scale and
    /// whose tail gives about one user in 10,000 the maximum; stubs are shuffled and paired;
    /// self-pairs and repeated pairs are dropped, so no one ends above their draw.
    fn plan(users: u32, mean: u32, rng: &mut StdRng) -> Friendships {
        let cap = FRIENDS_MAX.min(users.saturating_sub(1));
        // Rounding degrees up adds half a friend on average.
        let scale = (f64::from(mean) - 0.5).max(0.5);
        let mut stubs: Vec<u32> = Vec::new();
        for user in 0..users {
            let uniform: f64 = rng.gen_range(f64::EPSILON..1.0);
            let degree = (scale * (uniform.sqrt().recip() - 1.0)).ceil();
            let degree = if degree.is_finite() {
                (degree as u32).clamp(1, cap.max(1))
            } else {
                cap
            };
            if cap > 0 {
                stubs.extend(std::iter::repeat_n(user, degree as usize));
            }
        }
        stubs.shuffle(rng);
        let pairs: Vec<(u32, u32)> = stubs
            .chunks_exact(2)
            .map(|pair| (pair[0], pair[1]))
            .filter(|(a, b)| a != b)
            .collect();
        let mut counts = vec![0usize; users as usize + 1];
        for &(a, b) in &pairs {
            counts[a as usize] += 1;
            counts[b as usize] += 1;
        }
        let mut offsets = Vec::with_capacity(users as usize + 1);
        let mut total = 0;
        for count in &counts[..users as usize] {
            offsets.push(total);
            total += count;
        }
        offsets.push(total);
        let mut fill = offsets.clone();
        let mut friends = vec![0u32; total];
        for &(a, b) in &pairs {
            friends[fill[a as usize]] = b;
            fill[a as usize] += 1;
            friends[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        // Drop repeated pairs: sort each list, keep each friend once, compact.
        let mut compact = Vec::with_capacity(total);
        let mut compact_offsets = Vec::with_capacity(users as usize + 1);
        for n in 0..users as usize {
            compact_offsets.push(compact.len());
            let list = &mut friends[offsets[n]..offsets[n + 1]];
            list.sort_unstable();
            let start = compact.len();
            for &friend in list.iter() {
                if compact.len() == start || compact.last() != Some(&friend) {
                    compact.push(friend);
                }
            }
        }
        compact_offsets.push(compact.len());
        Friendships {
            offsets: compact_offsets,
            friends: compact,
        }
    }
}

/// The local calendar of the history: day 0 is the oldest, day `days - 1` is today.
struct Calendar {
    /// Local midnight of each day, and of tomorrow last.
    starts: Vec<Timestamp>,
    day_keys: Vec<String>,
    month_keys: Vec<String>,
    /// For each day, the first day of the history in the same month.
    first_day_of_month: Vec<usize>,
    /// When a ball credited on each day ripens, if the rule ripens next morning.
    next_mornings: Vec<Timestamp>,
}

impl Calendar {
    fn new(spec: &WorldSpec) -> Calendar {
        let today = DateTime::from_timestamp_millis(spec.now.millis())
            .map(|at| at.with_timezone(&spec.timezone).date_naive())
            .unwrap_or_default();
        let days = i64::from(spec.days);
        let midnight = |date: NaiveDate| {
            let local = date.and_time(NaiveTime::MIN);
            let at = spec
                .timezone
                .from_local_datetime(&local)
                .earliest()
                .map(|at| at.timestamp_millis())
                // Midnight skipped by a clock change: the first hour after it is close enough.
                .unwrap_or_else(|| local.and_utc().timestamp_millis());
            Timestamp(at)
        };
        let starts: Vec<Timestamp> = (0..=days)
            .map(|d| {
                let offset = d - (days - 1);
                let date = if offset >= 0 {
                    today.checked_add_days(chrono::Days::new(offset.unsigned_abs()))
                } else {
                    today.checked_sub_days(chrono::Days::new(offset.unsigned_abs()))
                };
                midnight(date.unwrap_or(today))
            })
            .collect();
        let noon = |d: usize| starts[d].plus_millis(12 * HOUR_MS);
        let day_keys = (0..=days as usize)
            .map(|d| day_key(noon(d), spec.timezone).as_str().to_string())
            .collect();
        let month_keys: Vec<String> = (0..=days as usize)
            .map(|d| month_key(noon(d), spec.timezone).as_str().to_string())
            .collect();
        let first_day_of_month = (0..=days as usize)
            .map(|d| {
                (0..=d)
                    .find(|&first| month_keys[first] == month_keys[d])
                    .unwrap_or(d)
            })
            .collect();
        let next_mornings = (0..=days as usize)
            .map(|d| Ripening::NextMorning.ripens_at(noon(d), spec.timezone, spec.ripening_time))
            .collect();
        Calendar {
            starts,
            day_keys,
            month_keys,
            first_day_of_month,
            next_mornings,
        }
    }

    /// The day `at` falls on (tomorrow and later count as the last day).
    fn day_of(&self, at: Timestamp) -> usize {
        self.starts
            .partition_point(|start| *start <= at)
            .saturating_sub(1)
            .min(self.day_keys.len() - 1)
    }
}

/// SplitMix64 over several words: the world's hash, so that whether and when a user plays on
/// a day, or steals from a ball, can be known from any chunk without storing it.
fn mix(words: &[u64]) -> u64 {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for &word in words {
        state = state.wrapping_add(word).wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        state = z ^ (z >> 31);
    }
    state
}

/// A uniform draw in [0, 1) from a hash.
fn chance(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

/// A world being planned: everything about it that outlives a chunk.
pub struct World {
    spec: WorldSpec,
    calendar: Calendar,
    friendships: Friendships,
    user_ids: Vec<UserId>,
    /// Bit `d` set: the user plays on day `d`.
    plays: Vec<u64>,
    /// Steals per thief and day so far, for the daily cap: `users × days`.
    steals_today: Vec<u8>,
    ball_ids: SequentialIds,
    next_user: u32,
    ball_serial: u64,
}

impl World {
    pub fn plan(spec: WorldSpec) -> World {
        let days = spec.days.clamp(1, DAYS_MAX);
        let spec = WorldSpec { days, ..spec };
        let mut rng = StdRng::seed_from_u64(spec.seed);
        let friendships = Friendships::plan(spec.users, spec.friends_mean, &mut rng);
        let plays = (0..spec.users)
            .map(|user| {
                let habit = chance(mix(&[spec.seed, 1, u64::from(user)]));
                let mut share = 0.0;
                let per_day = HABITS
                    .iter()
                    .find(|(habit_share, _)| {
                        share += habit_share;
                        habit < share
                    })
                    .map_or(HABITS[HABITS.len() - 1].1, |(_, per_day)| *per_day);
                (0..days).fold(0u64, |mask, day| {
                    let plays = chance(mix(&[spec.seed, 2, u64::from(user), u64::from(day)]));
                    if plays < per_day {
                        mask | (1 << day)
                    } else {
                        mask
                    }
                })
            })
            .collect();
        let mut ids = SequentialIds::new(spec.now);
        let user_ids = (0..spec.users).map(|_| UserId(ids.next_id())).collect();
        World {
            calendar: Calendar::new(&spec),
            steals_today: vec![0; spec.users as usize * days as usize],
            ball_ids: SequentialIds::new(spec.now),
            friendships,
            user_ids,
            plays,
            next_user: 0,
            ball_serial: 0,
            spec,
        }
    }

    pub fn users(&self) -> u32 {
        self.spec.users
    }

    /// Friendship rows the world holds: both directions of every pair.
    pub fn friendship_rows(&self) -> u64 {
        self.friendships.friends.len() as u64
    }

    pub fn user_id(&self, n: u32) -> Option<UserId> {
        self.user_ids.get(n as usize).copied()
    }

    pub fn friends_of(&self, n: u32) -> usize {
        if n < self.spec.users {
            self.friendships.of(n).len()
        } else {
            0
        }
    }

    /// When `user` opens the app on `day`, if they play that day and that moment has come:
    /// once, between 07:00 and 23:00 local time.
    fn visit(&self, user: u32, day: usize) -> Option<Timestamp> {
        if self.plays[user as usize] & (1 << day) == 0 {
            return None;
        }
        let minutes = mix(&[self.spec.seed, 3, u64::from(user), day as u64]) % (16 * 60);
        let at = self.calendar.starts[day].plus_millis(7 * HOUR_MS + minutes as i64 * MINUTE_MS);
        (at <= self.spec.now).then_some(at)
    }

    /// The next chunk of users with their friendship rows, balls and history; `None` once
    /// every user has been planned.
    pub fn next_chunk(&mut self) -> Option<PlannedChunk> {
        if self.next_user >= self.spec.users {
            return None;
        }
        let first = self.next_user;
        let end = first
            .saturating_add(self.spec.chunk_users.max(1))
            .min(self.spec.users);
        self.next_user = end;
        let spec = &self.spec;
        let mut chunk = SeedChunk {
            partner_id: spec.partner_id,
            action: spec.rule.key().as_str().to_string(),
            methodology: spec.methodology.clone(),
            methodology_version: spec.methodology_version,
            created_at: spec.now,
            session_expires_at: spec.now.plus_millis(30 * 24 * HOUR_MS),
            users: Vec::new(),
            friendships: Vec::new(),
            balls: Vec::new(),
            movements: Vec::new(),
            usage: Vec::new(),
            last: end == spec.users,
        };
        let mut states = BallStates::default();
        for user in first..end {
            self.plan_user(user, &mut chunk, &mut states);
        }
        Some(PlannedChunk { chunk, states })
    }

    fn plan_user(&mut self, user: u32, chunk: &mut SeedChunk, states: &mut BallStates) {
        let user_id = self.user_ids[user as usize];
        let run_tag = &self.spec.run_tag;
        if let Ok(handle) = Handle::parse(&handle(run_tag, user)) {
            chunk.users.push(SeedUser {
                user_id,
                handle,
                token_hash: (self.spec.token_hash)(&token(run_tag, user)),
            });
        }
        let friends = self.friendships.of(user);
        states.friends_max = states.friends_max.max(friends.len() as u32);
        chunk.friendships.extend(
            friends
                .iter()
                .map(|&friend| (user_id, self.user_ids[friend as usize])),
        );
        let mut rng = StdRng::seed_from_u64(mix(&[self.spec.seed, 4, u64::from(user)]));
        let mut months: BTreeMap<usize, Usage> = BTreeMap::new();
        for day in 0..self.spec.days as usize {
            let Some(visit) = self.visit(user, day) else {
                continue;
            };
            let steps = rng.gen_range(STEPS);
            let Ok(quantity) = Quantity::from_units(steps) else {
                continue;
            };
            let month_index = self.calendar.first_day_of_month[day];
            let so_far = UsageSoFar {
                day: Usage::default(),
                month: months.get(&month_index).copied().unwrap_or_default(),
            };
            let Ok(decision) = self.spec.rule.decide(quantity, &so_far, DedupStatus::New) else {
                continue;
            };
            if !decision.is_credited() {
                continue;
            }
            let mut usage = so_far;
            usage.record(&decision);
            months.insert(month_index, usage.month);
            chunk.usage.push(SeedUsage {
                key: self.usage_key(user_id, self.spec.rule.key().as_str(), day),
                usage: usage.day,
            });
            self.plan_ball(user, visit, day, decision.credited, chunk, states);
        }
        for (month_index, usage) in months {
            chunk.usage.push(SeedUsage {
                key: UsageKey {
                    user_id,
                    action: self.spec.rule.key().as_str().into(),
                    period: self.calendar.month_keys[month_index].as_str().into(),
                },
                usage,
            });
        }
    }

    fn usage_key(&self, user_id: UserId, action: &str, day: usize) -> UsageKey {
        UsageKey {
            user_id,
            action: action.into(),
            period: self.calendar.day_keys[day].as_str().into(),
        }
    }

    /// The counters a collect or a steal adds to the taker's rankings (`count_collected`).
    fn count_collected(&self, user_id: UserId, day: usize, grams: Grams, chunk: &mut SeedChunk) {
        let usage = Usage {
            actions: 1,
            quantity_milli: 0,
            grams,
        };
        chunk.usage.push(SeedUsage {
            key: self.usage_key(user_id, COLLECTED_USAGE_ACTION, day),
            usage,
        });
        chunk.usage.push(SeedUsage {
            key: UsageKey {
                user_id,
                action: COLLECTED_USAGE_ACTION.into(),
                period: ALL_TIME.into(),
            },
            usage,
        });
    }

    /// One ball credited at `created_at` and what happened to it until now.
    fn plan_ball(
        &mut self,
        owner: u32,
        created_at: Timestamp,
        day: usize,
        grams: Grams,
        chunk: &mut SeedChunk,
        states: &mut BallStates,
    ) {
        let spec = &self.spec;
        let owner_id = self.user_ids[owner as usize];
        let ripens_at = match spec.rule.ripening() {
            Ripening::NextMorning => self.calendar.next_mornings[day],
            other => other.ripens_at(created_at, spec.timezone, spec.ripening_time),
        };
        // Stamped with its ripening instant, as the server makes a ball's id (`new_ball_id`), so
        // each day's balls go to that day's partition on PostgreSQL.
        let ball_id = BallId(self.ball_ids.next_id_at(ripens_at));
        self.ball_serial += 1;
        let expires_at = expires_at(ripens_at);
        chunk.balls.push(SeedBall {
            owner_id,
            ball_id,
            grams,
            created_at,
            ripens_at,
            expires_at,
        });
        if ripens_at > spec.now {
            states.ripening += 1;
            return;
        }
        // The owner collects at their first visit while the ball is ripe.
        let first_day = self.calendar.day_of(ripens_at);
        let last_day = spec.days as usize - 1;
        let collected_at = (first_day..=last_day)
            .filter_map(|d| self.visit(owner, d))
            .find(|at| ripens_at <= *at && *at < expires_at);
        // Friends steal while it is ripe and before the owner comes.
        let end = collected_at
            .unwrap_or(expires_at)
            .min(spec.now.plus_millis(1));
        let mut thieves: Vec<(Timestamp, u32, usize)> = Vec::new();
        for &friend in self.friendships.of(owner) {
            let steals = chance(mix(&[spec.seed, 5, u64::from(friend), self.ball_serial]));
            if steals >= STEAL_CHANCE {
                continue;
            }
            let visit = (first_day..=last_day)
                .filter_map(|d| self.visit(friend, d).map(|at| (at, d)))
                .find(|(at, _)| ripens_at <= *at && *at < end);
            if let Some((at, d)) = visit {
                thieves.push((at, friend, d));
            }
        }
        thieves.sort_unstable();
        let mut left = grams;
        let floor = spec.steal_rules.owner_floor(grams);
        let days = spec.days as usize;
        let mut stolen = false;
        for (at, thief, d) in thieves {
            let today = &mut self.steals_today[thief as usize * days + d];
            if u32::from(*today) >= spec.steal_rules.daily_steals {
                continue;
            }
            let above_floor = left.checked_sub(floor).unwrap_or(Grams::ZERO);
            let take = spec.steal_rules.share(grams).min(above_floor);
            if take == Grams::ZERO {
                break;
            }
            *today = today.saturating_add(1);
            left = left.checked_sub(take).unwrap_or(Grams::ZERO);
            stolen = true;
            let thief_id = self.user_ids[thief as usize];
            chunk.movements.push(SeedMovement {
                owner_id,
                ball_id,
                grams: take,
                at,
                kind: SeedMovementKind::Steal { thief_id, take: 1 },
            });
            let usage = Usage {
                actions: 1,
                quantity_milli: 0,
                grams: take,
            };
            chunk.usage.push(SeedUsage {
                key: self.usage_key(thief_id, STEAL_USAGE_ACTION, d),
                usage,
            });
            self.count_collected(thief_id, d, take, chunk);
        }
        states.stolen_from += u64::from(stolen);
        let spec = &self.spec;
        match collected_at {
            Some(at) => {
                states.collected += 1;
                chunk.movements.push(SeedMovement {
                    owner_id,
                    ball_id,
                    grams: left,
                    at,
                    kind: SeedMovementKind::Collect,
                });
                self.count_collected(owner_id, self.calendar.day_of(at), left, chunk);
            }
            None if expires_at <= spec.now => {
                states.expired += 1;
                // The expiry job runs every minute or so after the ball's time.
                let delay = mix(&[spec.seed, 6, self.ball_serial]) % 60_000;
                let at = expires_at.plus_millis(delay as i64).min(spec.now);
                chunk.movements.push(SeedMovement {
                    owner_id,
                    ball_id,
                    grams: left,
                    at,
                    kind: SeedMovementKind::Expire,
                });
            }
            None => states.ripe += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::seed::SeedReport;
    use crate::{Partner, SystemClock, WriterOptions};
    use openforest_core::Methodology;
    use openforest_core::methodology::{DEFAULT_RIPENING_LOCAL_TIME, parse_timezone};
    use sha2::{Digest, Sha256};
    use std::sync::Arc;

    /// 2026-11-24 15:00 UTC: mid-afternoon, so today's balls are still ripening.
    const NOW: Timestamp = Timestamp::from_millis(1_795_532_400_000);

    fn spec(users: u32, seed: u64) -> WorldSpec {
        let methodology = Methodology::preset("classic").unwrap();
        WorldSpec {
            users,
            friends_mean: 10,
            days: 30,
            seed,
            now: NOW,
            timezone: parse_timezone("UTC").unwrap(),
            ripening_time: DEFAULT_RIPENING_LOCAL_TIME,
            rule: methodology.action("walking").unwrap().clone(),
            steal_rules: StealRules::default(),
            partner_id: PartnerId(crate::new_id(NOW)),
            methodology: methodology.name().to_string(),
            methodology_version: methodology.version(),
            run_tag: "test".into(),
            token_hash: |token| Sha256::digest(token.as_bytes()).into(),
            chunk_users: 150,
        }
    }

    /// A chunk without its ids: ball grams, movements (grams, at) and friendship rows.
    type Shape = (Vec<u64>, Vec<(u64, i64)>, usize);

    /// What a plan looks like without its ids, chunk by chunk.
    fn shape(world: &mut World) -> Vec<Shape> {
        std::iter::from_fn(|| world.next_chunk())
            .map(|planned| {
                let chunk = planned.chunk;
                (
                    chunk.balls.iter().map(|ball| ball.grams.get()).collect(),
                    chunk
                        .movements
                        .iter()
                        .map(|movement| (movement.grams.get(), movement.at.millis()))
                        .collect(),
                    chunk.friendships.len(),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_seed_plans_the_same_world_and_another_seed_another() {
        let first = shape(&mut World::plan(spec(300, 7)));
        assert_eq!(first, shape(&mut World::plan(spec(300, 7))));
        assert_ne!(first, shape(&mut World::plan(spec(300, 8))));
    }

    #[test]
    fn friend_counts_follow_a_power_law_capped_at_a_thousand() {
        let world = World::plan(spec(20_000, 1));
        let mut counts: Vec<usize> = (0..20_000).map(|n| world.friends_of(n)).collect();
        counts.sort_unstable();
        let mean = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
        let median = counts[counts.len() / 2];
        let max = counts[counts.len() - 1];
        assert!((8.0..=12.0).contains(&mean), "mean {mean}");
        assert!(
            median <= 6,
            "most users have a few friends: median {median}"
        );
        assert!(
            (200..=1_000).contains(&max),
            "a few have hundreds: max {max}"
        );
        // Every friendship is mutual and no one befriends themselves.
        for n in 0..2_000 {
            for &friend in world.friendships.of(n) {
                assert_ne!(friend, n);
                assert!(world.friendships.of(friend).binary_search(&n).is_ok());
            }
        }
    }

    #[tokio::test]
    async fn a_seeded_month_keeps_the_ledger_sound_with_balls_in_every_state() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("seed.db").display());
        let store = crate::open(&url, WriterOptions::default(), Arc::new(SystemClock))
            .await
            .unwrap();
        let spec = spec(400, 42);
        store
            .create_partner(&Partner {
                partner_id: spec.partner_id,
                name: "seeder".into(),
                allowed_actions: vec!["walking".into()],
                disabled_at: None,
                created_at: NOW,
            })
            .await
            .unwrap();
        let mut world = World::plan(spec);
        let mut report = SeedReport::default();
        let mut states = BallStates::default();
        while let Some(planned) = world.next_chunk() {
            report.add(&store.seed_world(&planned.chunk).await.unwrap());
            states.add(&planned.states);
        }

        assert!(states.ripening > 0, "{states:?}");
        assert!(states.ripe > 0, "{states:?}");
        assert!(states.collected > 0, "{states:?}");
        assert!(states.expired > 0, "{states:?}");
        assert!(states.stolen_from > 0, "{states:?}");
        assert!(states.friends_max <= FRIENDS_MAX);
        let balls = states.ripening + states.ripe + states.collected + states.expired;
        assert_eq!(report.balls, balls);
        assert_eq!(report.collects, states.collected);
        assert_eq!(report.expiries, states.expired);
        assert_eq!(
            report.entries,
            balls + report.collects + report.steals + report.expiries
        );
        assert_eq!(report.feed_items, report.steals);
        assert_eq!(report.friendship_rows, world.friendship_rows());

        let audit = store.audit(Arc::new(|_, _| {})).await.unwrap();
        assert!(audit.is_sound(), "{:?}", audit.problems);
        assert_eq!(audit.entries, report.entries);
        assert_eq!(audit.issued_grams, i128::from(report.grams));
        assert!(audit.expired_grams > 0);

        // Friendships are stored both ways, and steals show in the owner's feed.
        let (user, friend) = (0..400)
            .find_map(|n| world.friendships.of(n).first().map(|&f| (n, f)))
            .unwrap();
        let friends = store.friends(world.user_id(user).unwrap()).await.unwrap();
        assert_eq!(friends.len(), world.friends_of(user));
        assert!(
            store
                .are_friends(world.user_id(friend).unwrap(), world.user_id(user).unwrap())
                .await
                .unwrap()
        );
        let mut stolen_feeds = 0;
        for n in 0..400 {
            let feed = store
                .feed(world.user_id(n).unwrap(), None, 50)
                .await
                .unwrap();
            stolen_feeds += feed
                .iter()
                .filter(|item| item.kind == openforest_core::harvest::feed::ENERGY_STOLEN)
                .count();
        }
        assert!(stolen_feeds > 0);
        store.shutdown().await;
    }
}
