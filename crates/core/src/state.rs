//! What a writer batch reads and changes besides balances: per-user usage of each action type
//! (for caps), household dedup keys, and the balls it makes. The store loads the rows a batch
//! names, commands change them here, and the store writes back what changed.

use crate::ball::Ball;
use crate::book::Book;
use crate::clock::Timestamp;
use crate::grams::Grams;
use crate::harvest::{BallFacts, BallRef, FeedNote, StealKey};
use crate::ids::UserId;
use crate::methodology::{DedupKey, Usage};
use crate::planting::Pledge;
use crate::props::PropEffect;
use smol_str::SmolStr;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One user's usage of one action type in one local period (`2026-11-24` or `2026-11`). Both
/// are short: kept inline, so that the writer clones keys without allocating.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UsageKey {
    pub user_id: UserId,
    pub action: SmolStr,
    pub period: SmolStr,
}

#[derive(Debug, Default)]
pub struct BatchState {
    pub book: Book,
    usage: HashMap<UsageKey, Usage>,
    usage_changed: BTreeMap<UsageKey, Usage>,
    dedup_seen: HashSet<DedupKey>,
    dedup_new: Vec<(DedupKey, UserId)>,
    balls_new: Vec<Ball>,
    steals_seen: HashSet<StealKey>,
    steals_new: Vec<(StealKey, Grams, Timestamp)>,
    feed_new: Vec<FeedNote>,
    pledges_new: Vec<Pledge>,
    species_draws_new: Vec<crate::species::SpeciesDraw>,
    /// The facts of the balls the batch's commands name, and of those it made.
    balls: HashMap<BallRef, BallFacts>,
    /// Friendships among the pairs the batch's commands name, each as `(lower, higher)`.
    friendships: HashSet<(UserId, UserId)>,
    /// The props raised by the users whose steals or balls the batch decides.
    effects: HashMap<UserId, Vec<PropEffect>>,
}

impl BatchState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records stored usage before the batch runs. Keys not loaded count as unused.
    pub fn load_usage(&mut self, key: UsageKey, usage: Usage) {
        self.usage.insert(key, usage);
    }

    /// Records a dedup key the store already holds.
    pub fn load_dedup(&mut self, key: DedupKey) {
        self.dedup_seen.insert(key);
    }

    pub fn usage(&self, key: &UsageKey) -> Usage {
        self.usage.get(key).copied().unwrap_or_default()
    }

    pub fn set_usage(&mut self, key: UsageKey, usage: Usage) {
        self.usage.insert(key.clone(), usage);
        self.usage_changed.insert(key, usage);
    }

    pub fn is_deduplicated(&self, key: &DedupKey) -> bool {
        self.dedup_seen.contains(key)
    }

    pub fn add_dedup(&mut self, key: DedupKey, user_id: UserId) {
        self.dedup_seen.insert(key.clone());
        self.dedup_new.push((key, user_id));
    }

    pub fn add_ball(&mut self, ball: Ball) {
        self.load_ball(BallFacts::of(&ball));
        self.balls_new.push(ball);
    }

    /// Records a ball's facts as stored.
    pub fn load_ball(&mut self, facts: BallFacts) {
        self.balls.insert(facts.named(), facts);
    }

    /// The facts of a ball the batch loaded or made; `None` when no such ball exists.
    pub fn ball(&self, ball: &BallRef) -> Option<BallFacts> {
        self.balls.get(ball).copied()
    }

    /// Records that two users are friends (friendship goes both ways).
    pub fn load_friendship(&mut self, a: UserId, b: UserId) {
        self.friendships.insert((a.min(b), a.max(b)));
    }

    /// Whether the batch found these two users to be friends.
    pub fn are_friends(&self, a: UserId, b: UserId) -> bool {
        self.friendships.contains(&(a.min(b), a.max(b)))
    }

    /// Records a prop a user raised.
    pub fn load_effect(&mut self, effect: PropEffect) {
        self.effects.entry(effect.user_id).or_default().push(effect);
    }

    /// The props the user raised, as loaded.
    pub fn effects(&self, user_id: UserId) -> &[PropEffect] {
        self.effects.get(&user_id).map_or(&[], Vec::as_slice)
    }

    /// Usage rows to write, with their final values.
    pub fn usage_changed(&self) -> impl Iterator<Item = (&UsageKey, &Usage)> {
        self.usage_changed.iter()
    }

    pub fn dedup_new(&self) -> &[(DedupKey, UserId)] {
        &self.dedup_new
    }

    pub fn balls_new(&self) -> &[Ball] {
        &self.balls_new
    }

    /// Records a steal the store already holds.
    pub fn load_steal(&mut self, key: StealKey) {
        self.steals_seen.insert(key);
    }

    pub fn has_stolen(&self, key: &StealKey) -> bool {
        self.steals_seen.contains(key)
    }

    pub fn add_steal(&mut self, key: StealKey, grams: Grams, at: Timestamp) {
        self.steals_seen.insert(key);
        self.steals_new.push((key, grams, at));
    }

    pub fn add_feed(&mut self, note: FeedNote) {
        self.feed_new.push(note);
    }

    /// Feed lines the batch's effects raised.
    pub fn feed_new(&self) -> &[FeedNote] {
        &self.feed_new
    }

    pub fn add_pledge(&mut self, pledge: Pledge) {
        self.pledges_new.push(pledge);
    }

    /// Pledges the batch made.
    pub fn pledges_new(&self) -> &[Pledge] {
        &self.pledges_new
    }

    pub fn add_species_draw(&mut self, draw: crate::species::SpeciesDraw) {
        self.species_draws_new.push(draw);
    }

    /// Species cards drawn with the batch's pledges, to log with them.
    pub fn species_draws_new(&self) -> &[crate::species::SpeciesDraw] {
        &self.species_draws_new
    }

    /// Steals to write: who took how much from which ball, and when.
    pub fn steals_new(&self) -> &[(StealKey, Grams, Timestamp)] {
        &self.steals_new
    }
}
