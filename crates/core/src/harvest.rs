//! The harvest: collecting one's own ripe balls and stealing part of a friend's. Every rule is
//! decided here, inside the writer batch, so concurrent requests cannot get around it.

use crate::account::Account;
use crate::clock::Timestamp;
use crate::command::{Outcome, Rejection};
use crate::entry::{Entry, EntryKind};
use crate::grams::Grams;
use crate::ids::{BallId, EntryId, UserId};
use crate::state::{BatchState, UsageKey};
use serde::{Deserialize, Serialize};

/// The usage action under which a thief's steals are counted per local day.
pub const STEAL_USAGE_ACTION: &str = "steal";

/// What a ball is, as far as taking from it goes: immutable facts read from its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallFacts {
    pub owner_id: UserId,
    pub ball_id: BallId,
    /// What the ball held when it was made.
    pub full: Grams,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
}

impl BallFacts {
    fn account(&self) -> Account {
        Account::Ball {
            user_id: self.owner_id,
            ball_id: self.ball_id,
        }
    }

    /// A ball can be taken from between ripening and expiry.
    fn check_ripe(&self, at: Timestamp) -> Result<(), Rejection> {
        if at < self.ripens_at {
            return Err(Rejection::Rule {
                rule: "not_ripe",
                detail: "this ball has not ripened yet".into(),
            });
        }
        if at >= self.expires_at {
            return Err(Rejection::Rule {
                rule: "expired",
                detail: "this ball has expired".into(),
            });
        }
        Ok(())
    }
}

/// Collects what is left of a ripe ball into its owner's wallet: by the owner, or by a friend
/// helping while the ball expires within the help window (the energy still goes to the owner).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collect {
    pub ball: BallFacts,
    /// The friend who helps; `None` when the owner collects.
    pub helper: Option<UserId>,
    /// The owner's local day (`2026-11-24`), for the rankings.
    pub day: String,
}

/// A friend may help collect a ball this long before it expires.
pub const HELP_WINDOW_MS: i64 = 24 * 3_600_000;

/// The usage action under which collected grams are counted per day (and `all` time).
pub const COLLECTED_USAGE_ACTION: &str = "collected";
/// The period key of all-time totals.
pub const ALL_TIME: &str = "all";

/// Feed item kinds.
pub mod feed {
    pub const ENERGY_STOLEN: &str = "energy_stolen";
    pub const HELPED_COLLECT: &str = "helped_collect";
    pub const WATERED: &str = "watered";
}

/// A line for someone's feed, raised by a decided command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedNote {
    pub user_id: UserId,
    pub kind: &'static str,
    pub actor_id: Option<UserId>,
    pub ball_id: Option<BallId>,
    pub grams: Grams,
    pub at: Timestamp,
}

/// The gift sizes a friend may water (PRODUCT.md §5).
pub const WATERING_GRAMS: [u64; 4] = [10, 18, 33, 66];

/// Giving grams from my wallet to a friend, arriving as a watering ball that is ripe at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Water {
    pub giver_id: UserId,
    pub receiver_id: UserId,
    pub grams: Grams,
    pub ball_id: BallId,
    /// The giver's local day, for the per-friend daily cap.
    pub day: String,
    pub daily_per_friend: u32,
}

impl Water {
    pub fn usage_key(&self) -> UsageKey {
        UsageKey {
            user_id: self.giver_id,
            action: format!("water:{}", self.receiver_id.uuid()),
            period: self.day.clone(),
        }
    }
}

/// The usage rows the rankings read for a user on a day.
pub fn collected_keys(user_id: UserId, day: &str) -> [UsageKey; 2] {
    [
        UsageKey {
            user_id,
            action: COLLECTED_USAGE_ACTION.into(),
            period: day.into(),
        },
        UsageKey {
            user_id,
            action: COLLECTED_USAGE_ACTION.into(),
            period: ALL_TIME.into(),
        },
    ]
}

/// Adds `grams` to a user's collected totals for the day and all time; answers whether it
/// was the first collect of the day.
fn count_collected(state: &mut BatchState, user_id: UserId, day: &str, grams: Grams) -> bool {
    let mut first_today = false;
    for (n, key) in collected_keys(user_id, day).into_iter().enumerate() {
        let mut usage = state.usage(&key);
        if n == 0 {
            first_today = usage.actions == 0;
        }
        usage.actions += 1;
        usage.grams = usage.grams.checked_add(grams).unwrap_or(usage.grams);
        state.set_usage(key, usage);
    }
    first_today
}

/// The steal rules (PRODUCT.md §5), every number configurable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StealRules {
    /// A thief takes this share of the full ball, in thousandths (300 = 30 %), at least 1 g.
    pub share_permille: u32,
    /// The owner always keeps at least this share of the full ball, in thousandths.
    pub owner_keeps_permille: u32,
    /// Steals one thief may make per local day.
    pub daily_steals: u32,
}

impl Default for StealRules {
    fn default() -> Self {
        StealRules {
            share_permille: 300,
            owner_keeps_permille: 400,
            daily_steals: 20,
        }
    }
}

impl StealRules {
    /// `floor(full × share)`, at least 1 g.
    pub fn share(&self, full: Grams) -> Grams {
        Grams::new((full.get() * u64::from(self.share_permille) / 1_000).max(1))
    }

    /// `ceil(full × keeps)`: what stealing never takes the ball below.
    pub fn owner_floor(&self, full: Grams) -> Grams {
        Grams::new((full.get() * u64::from(self.owner_keeps_permille)).div_ceil(1_000))
    }
}

/// A friend takes part of a ripe ball into their wallet (friendship is checked before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Steal {
    pub thief_id: UserId,
    pub ball: BallFacts,
    /// The thief's local day (`2026-11-24`), for the daily cap.
    pub day: String,
    pub rules: StealRules,
    /// The props in force when the steal was asked.
    pub props: StealProps,
}

/// Props that change a steal, read when it is asked (activating a prop moves no energy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StealProps {
    /// The owner's shield, `(from, until)`: a ball that ripened under it, or any ball while it
    /// is up, cannot be stolen.
    pub owner_shield: Option<(Timestamp, Timestamp)>,
    /// The thief's double-collect card is up: a second take from the same ball is allowed.
    pub double_collect: bool,
    /// The thief's steal multiplier in thousandths (1000: none; 1500: ×1.5).
    pub multiplier_permille: u32,
}

impl Default for StealProps {
    fn default() -> Self {
        StealProps {
            owner_shield: None,
            double_collect: false,
            multiplier_permille: 1_000,
        }
    }
}

impl StealProps {
    fn shields(&self, ball: &BallFacts, at: Timestamp) -> bool {
        shielded(self.owner_shield, ball.ripens_at, at)
    }
}

/// Whether the owner's shield `(from, until)` protects a ball that ripens at `ripens_at` from a
/// steal at `at`: any ball while the shield is up, and a ball that ripened under it for good.
pub fn shielded(
    shield: Option<(Timestamp, Timestamp)>,
    ripens_at: Timestamp,
    at: Timestamp,
) -> bool {
    shield.is_some_and(|(from, until)| {
        (from <= at && at < until) || (from <= ripens_at && ripens_at < until)
    })
}

/// One thief's take from one ball: `take` 1, or 2 with a double-collect card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StealKey {
    pub owner_id: UserId,
    pub ball_id: BallId,
    pub thief_id: UserId,
    pub take: u8,
}

impl Steal {
    pub fn key(&self, take: u8) -> StealKey {
        StealKey {
            owner_id: self.ball.owner_id,
            ball_id: self.ball.ball_id,
            thief_id: self.thief_id,
            take,
        }
    }

    pub fn usage_key(&self) -> UsageKey {
        UsageKey {
            user_id: self.thief_id,
            action: STEAL_USAGE_ACTION.into(),
            period: self.day.clone(),
        }
    }
}

pub(crate) fn decide_collect(
    collect: &Collect,
    state: &mut BatchState,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    let ball = &collect.ball;
    ball.check_ripe(at)?;
    if let Some(helper) = collect.helper {
        if helper == ball.owner_id {
            return Err(Rejection::Rule {
                rule: "own_ball",
                detail: "collect your own balls yourself; helping is for friends' balls".into(),
            });
        }
        if at.millis() < ball.expires_at.millis() - HELP_WINDOW_MS {
            return Err(Rejection::Rule {
                rule: "not_expiring_soon",
                detail: "you can help collect a ball only in its last 24 hours".into(),
            });
        }
    }
    let grams = state.book.balance(&ball.account());
    if grams == Grams::ZERO {
        return Err(Rejection::Rule {
            rule: "already_collected",
            detail: "nothing is left in this ball".into(),
        });
    }
    let wallet = Account::Wallet {
        user_id: ball.owner_id,
    };
    let entry = Entry {
        entry_id,
        user_id: ball.owner_id,
        at,
        kind: EntryKind::Collect,
        from: ball.account(),
        to: wallet,
        grams,
        reference: None,
    };
    state.book.post(std::slice::from_ref(&entry))?;
    let first_today = count_collected(state, ball.owner_id, &collect.day, grams);
    if let Some(helper) = collect.helper {
        state.add_feed(FeedNote {
            user_id: ball.owner_id,
            kind: feed::HELPED_COLLECT,
            actor_id: Some(helper),
            ball_id: Some(ball.ball_id),
            grams,
            at,
        });
    }
    Ok((
        Outcome::Collected {
            entry_id,
            ball_id: ball.ball_id,
            grams,
            wallet_grams: state.book.balance(&wallet),
            first_today,
        },
        vec![entry],
    ))
}

pub(crate) fn decide_steal(
    steal: &Steal,
    state: &mut BatchState,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    let ball = &steal.ball;
    if steal.thief_id == ball.owner_id {
        return Err(Rejection::Rule {
            rule: "own_ball",
            detail: "collect your own balls; stealing is from friends".into(),
        });
    }
    ball.check_ripe(at)?;
    if steal.props.shields(ball, at) {
        return Err(Rejection::Rule {
            rule: "shielded",
            detail: "a shield protects this ball".into(),
        });
    }
    let take = if !state.has_stolen(&steal.key(1)) {
        1
    } else if steal.props.double_collect && !state.has_stolen(&steal.key(2)) {
        2
    } else {
        return Err(Rejection::Rule {
            rule: "once_per_ball",
            detail: "you already took from this ball (twice with a double-collect card)".into(),
        });
    };
    let usage_key = steal.usage_key();
    let mut usage = state.usage(&usage_key);
    if usage.actions >= steal.rules.daily_steals {
        return Err(Rejection::Rule {
            rule: "daily_steal_cap",
            detail: format!(
                "at most {} steals a day; try again tomorrow",
                steal.rules.daily_steals
            ),
        });
    }
    let left = state.book.balance(&ball.account());
    let above_floor = left
        .checked_sub(steal.rules.owner_floor(ball.full))
        .unwrap_or(Grams::ZERO);
    let share =
        steal.rules.share(ball.full).get() * u64::from(steal.props.multiplier_permille) / 1_000;
    let grams = Grams::new(share.max(1)).min(above_floor);
    if grams == Grams::ZERO {
        return Err(Rejection::Rule {
            rule: "owner_floor",
            detail: "the owner keeps what is left of this ball".into(),
        });
    }
    let wallet = Account::Wallet {
        user_id: steal.thief_id,
    };
    let entry = Entry {
        entry_id,
        user_id: ball.owner_id,
        at,
        kind: EntryKind::Steal,
        from: ball.account(),
        to: wallet,
        grams,
        reference: None,
    };
    state.book.post(std::slice::from_ref(&entry))?;
    usage.actions += 1;
    usage.grams = usage.grams.checked_add(grams).unwrap_or(usage.grams);
    state.set_usage(usage_key, usage);
    count_collected(state, steal.thief_id, &steal.day, grams);
    state.add_steal(steal.key(take), grams, at);
    state.add_feed(FeedNote {
        user_id: ball.owner_id,
        kind: feed::ENERGY_STOLEN,
        actor_id: Some(steal.thief_id),
        ball_id: Some(ball.ball_id),
        grams,
        at,
    });
    Ok((
        Outcome::Stolen {
            entry_id,
            owner_id: ball.owner_id,
            thief_id: steal.thief_id,
            ball_id: ball.ball_id,
            grams,
            wallet_grams: state.book.balance(&wallet),
        },
        vec![entry],
    ))
}

pub(crate) fn decide_water(
    water: &Water,
    state: &mut BatchState,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    if water.giver_id == water.receiver_id {
        return Err(Rejection::Rule {
            rule: "own_forest",
            detail: "water a friend's forest, not your own".into(),
        });
    }
    if !WATERING_GRAMS.contains(&water.grams.get()) {
        return Err(Rejection::Invalid {
            field: "grams",
            reason: "water 10, 18, 33 or 66 g".into(),
        });
    }
    let usage_key = water.usage_key();
    let mut usage = state.usage(&usage_key);
    if usage.actions >= water.daily_per_friend {
        return Err(Rejection::Rule {
            rule: "daily_watering_cap",
            detail: format!(
                "you can water one friend at most {} times a day",
                water.daily_per_friend
            ),
        });
    }
    let ball = Account::Ball {
        user_id: water.receiver_id,
        ball_id: water.ball_id,
    };
    let wallet = Account::Wallet {
        user_id: water.giver_id,
    };
    let entry = Entry {
        entry_id,
        user_id: water.giver_id,
        at,
        kind: EntryKind::Water,
        from: wallet,
        to: ball,
        grams: water.grams,
        reference: None,
    };
    state.book.post(std::slice::from_ref(&entry))?;
    usage.actions += 1;
    usage.grams = usage.grams.checked_add(water.grams).unwrap_or(usage.grams);
    state.set_usage(usage_key, usage);
    let expires_at = at.plus_millis(crate::methodology::BALL_LIFETIME_MS);
    state.add_ball(crate::ball::Ball {
        ball_id: water.ball_id,
        user_id: water.receiver_id,
        grams: water.grams,
        ripens_at: at,
        expires_at,
        partner_id: crate::ids::PartnerId::OPERATOR,
        action: WATERING_ACTION.into(),
        methodology: WATERING_ACTION.into(),
        methodology_version: 0,
        created_at: at,
    });
    state.add_feed(FeedNote {
        user_id: water.receiver_id,
        kind: feed::WATERED,
        actor_id: Some(water.giver_id),
        ball_id: Some(water.ball_id),
        grams: water.grams,
        at,
    });
    Ok((
        Outcome::Watered {
            entry_id,
            receiver_id: water.receiver_id,
            ball_id: water.ball_id,
            grams: water.grams,
            wallet_grams: state.book.balance(&wallet),
        },
        vec![entry],
    ))
}

/// A member puts grams from their wallet into their share of a co-planting group's pot
/// (membership is checked before), within a per-member daily cap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedPot {
    pub member_id: UserId,
    pub group_id: crate::ids::GroupId,
    pub grams: Grams,
    /// The member's local day, for the daily cap.
    pub day: String,
    pub daily_cap: Grams,
}

impl FeedPot {
    pub fn share(&self) -> Account {
        Account::Pot {
            group_id: self.group_id,
            member_id: self.member_id,
        }
    }

    pub fn usage_key(&self) -> UsageKey {
        UsageKey {
            user_id: self.member_id,
            action: format!("pot:{}", self.group_id.uuid()),
            period: self.day.clone(),
        }
    }
}

pub(crate) fn decide_feed_pot(
    feed: &FeedPot,
    state: &mut BatchState,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    let usage_key = feed.usage_key();
    let mut usage = state.usage(&usage_key);
    let after = usage
        .grams
        .checked_add(feed.grams)
        .unwrap_or(Grams::MAX_MOVEMENT);
    if after > feed.daily_cap {
        return Err(Rejection::Rule {
            rule: "daily_pot_cap",
            detail: format!(
                "each member may put at most {} g a day into this pot; {} g left today",
                feed.daily_cap.get(),
                feed.daily_cap
                    .checked_sub(usage.grams)
                    .unwrap_or(Grams::ZERO)
                    .get()
            ),
        });
    }
    let wallet = Account::Wallet {
        user_id: feed.member_id,
    };
    let entry = Entry {
        entry_id,
        user_id: feed.member_id,
        at,
        kind: EntryKind::PotFeed,
        from: wallet,
        to: feed.share(),
        grams: feed.grams,
        reference: None,
    };
    state.book.post(std::slice::from_ref(&entry))?;
    usage.actions += 1;
    usage.grams = after;
    state.set_usage(usage_key, usage);
    Ok((
        Outcome::PotFed {
            entry_id,
            group_id: feed.group_id,
            grams: feed.grams,
            share_grams: state.book.balance(&feed.share()),
            wallet_grams: state.book.balance(&wallet),
        },
        vec![entry],
    ))
}

/// The action key of watering balls (they come from a friend, not from a methodology).
pub const WATERING_ACTION: &str = "watering";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use uuid::Uuid;

    const HOUR: i64 = 3_600_000;

    fn ball(full: u64) -> BallFacts {
        BallFacts {
            owner_id: UserId(Uuid::from_u128(1)),
            ball_id: BallId(Uuid::from_u128(2)),
            full: Grams::new(full),
            ripens_at: Timestamp(10 * HOUR),
            expires_at: Timestamp(82 * HOUR),
        }
    }

    fn state_with(ball: &BallFacts, left: u64) -> BatchState {
        let mut state = BatchState::new();
        state.book.load(ball.account(), left as i64);
        state
    }

    fn steal(thief: u128, ball: BallFacts) -> Command {
        Command::Steal(Box::new(Steal {
            thief_id: UserId(Uuid::from_u128(thief)),
            ball,
            day: "2026-11-24".into(),
            rules: StealRules::default(),
            props: StealProps::default(),
        }))
    }

    fn rule_of(result: Result<(Outcome, Vec<Entry>), Rejection>) -> &'static str {
        match result {
            Err(Rejection::Rule { rule, .. }) => rule,
            other => panic!("expected a rule refusal, got {other:?}"),
        }
    }

    fn grams_of(result: Result<(Outcome, Vec<Entry>), Rejection>) -> u64 {
        match result {
            Ok((Outcome::Stolen { grams, .. }, _)) => grams.get(),
            other => panic!("expected a steal, got {other:?}"),
        }
    }

    #[test]
    fn stealing_stops_at_the_owners_floor() {
        let ball = ball(100);
        let mut state = state_with(&ball, 100);
        let at = Timestamp(11 * HOUR);
        assert_eq!(
            grams_of(steal(10, ball).decide(&mut state, at, EntryId(Uuid::from_u128(10)))),
            30
        );
        assert_eq!(
            grams_of(steal(11, ball).decide(&mut state, at, EntryId(Uuid::from_u128(11)))),
            30
        );
        assert_eq!(state.book.balance(&ball.account()), Grams::new(40));
        assert_eq!(
            rule_of(steal(12, ball).decide(&mut state, at, EntryId(Uuid::from_u128(12)))),
            "owner_floor"
        );
    }

    #[test]
    fn a_small_ball_still_gives_one_gram() {
        let ball = ball(2);
        let mut state = state_with(&ball, 2);
        let at = Timestamp(11 * HOUR);
        assert_eq!(
            grams_of(steal(10, ball).decide(&mut state, at, EntryId(Uuid::from_u128(10)))),
            1
        );
        assert_eq!(
            rule_of(steal(11, ball).decide(&mut state, at, EntryId(Uuid::from_u128(11)))),
            "owner_floor"
        );
    }

    #[test]
    fn a_thief_takes_from_a_ball_once() {
        let ball = ball(1_000);
        let mut state = state_with(&ball, 1_000);
        let at = Timestamp(11 * HOUR);
        grams_of(steal(10, ball).decide(&mut state, at, EntryId(Uuid::from_u128(1))));
        assert_eq!(
            rule_of(steal(10, ball).decide(&mut state, at, EntryId(Uuid::from_u128(2)))),
            "once_per_ball"
        );
    }

    #[test]
    fn unripe_expired_and_own_balls_cannot_be_stolen() {
        let ball = ball(100);
        let mut state = state_with(&ball, 100);
        let entry = EntryId(Uuid::from_u128(9));
        assert_eq!(
            rule_of(steal(10, ball).decide(&mut state, Timestamp(9 * HOUR), entry)),
            "not_ripe"
        );
        assert_eq!(
            rule_of(steal(10, ball).decide(&mut state, Timestamp(82 * HOUR), entry)),
            "expired"
        );
        assert_eq!(
            rule_of(steal(1, ball).decide(&mut state, Timestamp(11 * HOUR), entry)),
            "own_ball"
        );
    }

    fn steal_with(thief: u128, ball: BallFacts, props: StealProps) -> Command {
        Command::Steal(Box::new(Steal {
            thief_id: UserId(Uuid::from_u128(thief)),
            ball,
            day: "2026-11-24".into(),
            rules: StealRules::default(),
            props,
        }))
    }

    #[test]
    fn a_shield_protects_balls_that_ripen_under_it() {
        let ball = ball(100);
        let mut state = state_with(&ball, 100);
        let shield = StealProps {
            owner_shield: Some((Timestamp(0), Timestamp(10 * HOUR + 1))),
            ..StealProps::default()
        };
        let late = Timestamp(20 * HOUR);
        let entry = EntryId(Uuid::from_u128(9));
        assert_eq!(
            rule_of(steal_with(10, ball, shield).decide(&mut state, late, entry)),
            "shielded"
        );
        let earlier = StealProps {
            owner_shield: Some((Timestamp(0), Timestamp(9 * HOUR))),
            ..StealProps::default()
        };
        assert_eq!(
            grams_of(steal_with(10, ball, earlier).decide(&mut state, late, entry)),
            30
        );
    }

    #[test]
    fn a_double_collect_card_allows_a_second_take_and_a_multiplier_takes_more() {
        let ball = ball(1_000);
        let mut state = state_with(&ball, 1_000);
        let at = Timestamp(11 * HOUR);
        let card = StealProps {
            double_collect: true,
            multiplier_permille: 1_500,
            ..StealProps::default()
        };
        let entry = EntryId(Uuid::from_u128(9));
        assert_eq!(
            grams_of(steal_with(10, ball, card).decide(&mut state, at, entry)),
            450
        );
        // The second take stops at the owner's 400 g.
        assert_eq!(
            grams_of(steal_with(10, ball, card).decide(&mut state, at, entry)),
            150
        );
        assert_eq!(
            rule_of(steal_with(10, ball, card).decide(&mut state, at, entry)),
            "once_per_ball"
        );
    }

    #[test]
    fn a_thief_steals_at_most_twenty_times_a_day() {
        let mut state = BatchState::new();
        let at = Timestamp(11 * HOUR);
        for n in 0..21u128 {
            let mut facts = ball(100);
            facts.ball_id = BallId(Uuid::from_u128(100 + n));
            state.book.load(facts.account(), 100);
            let result = steal(10, facts).decide(&mut state, at, EntryId(Uuid::from_u128(200 + n)));
            if n < 20 {
                assert_eq!(grams_of(result), 30);
            } else {
                assert_eq!(rule_of(result), "daily_steal_cap");
            }
        }
    }

    #[test]
    fn collecting_takes_what_is_left_once() {
        let ball = ball(100);
        let mut state = state_with(&ball, 70);
        state.book.load(
            Account::Wallet {
                user_id: ball.owner_id,
            },
            5,
        );
        let collect = Command::Collect(Collect {
            ball,
            helper: None,
            day: "2026-11-24".into(),
        });
        let at = Timestamp(11 * HOUR);
        match collect.decide(&mut state, at, EntryId(Uuid::from_u128(1))) {
            Ok((
                Outcome::Collected {
                    grams,
                    wallet_grams,
                    ..
                },
                _,
            )) => {
                assert_eq!((grams.get(), wallet_grams.get()), (70, 75));
            }
            other => panic!("{other:?}"),
        }
        let again = collect.decide(&mut state, at, EntryId(Uuid::from_u128(2)));
        assert!(matches!(
            again,
            Err(Rejection::Rule {
                rule: "already_collected",
                ..
            })
        ));
    }
}
