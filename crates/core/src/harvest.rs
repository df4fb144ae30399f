//! The harvest: collecting one's own ripe balls and stealing part of a friend's. Every rule is
//! decided here, inside the writer batch, so concurrent requests cannot get around it.

use crate::account::Account;
use crate::ball::Ball;
use crate::clock::Timestamp;
use crate::command::{Outcome, Rejection};
use crate::entry::{Entry, EntryKind};
use crate::grams::Grams;
use crate::ids::{BallId, EntryId, UserId};
use crate::props::StealProps;
use crate::state::{BatchState, UsageKey};
use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// The usage action under which a thief's steals are counted per local day.
pub const STEAL_USAGE_ACTION: &str = "steal";

/// A ball as a request names it: whose it is and which. The writer loads its facts with the
/// batch, so a take costs the caller no read of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BallRef {
    pub owner_id: UserId,
    pub ball_id: BallId,
}

impl BallRef {
    pub fn account(&self) -> Account {
        Account::Ball {
            user_id: self.owner_id,
            ball_id: self.ball_id,
        }
    }
}

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
    /// The facts of a ball as made.
    pub fn of(ball: &Ball) -> BallFacts {
        BallFacts {
            owner_id: ball.user_id,
            ball_id: ball.ball_id,
            full: ball.grams,
            ripens_at: ball.ripens_at,
            expires_at: ball.expires_at,
        }
    }

    pub fn named(&self) -> BallRef {
        BallRef {
            owner_id: self.owner_id,
            ball_id: self.ball_id,
        }
    }

    fn account(&self) -> Account {
        self.named().account()
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
    pub ball: BallRef,
    /// The friend who helps; `None` when the owner collects.
    pub helper: Option<UserId>,
    /// The owner's local day (`2026-11-24`), for the rankings.
    pub day: SmolStr,
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
    pub day: SmolStr,
    pub daily_per_friend: u32,
}

impl Water {
    pub fn usage_key(&self) -> UsageKey {
        UsageKey {
            user_id: self.giver_id,
            action: smol_str::format_smolstr!("water:{}", self.receiver_id.uuid()),
            period: self.day.clone(),
        }
    }
}

/// The usage action whose row per local day holds, in `actions`, how many days in a row the
/// user had collected energy by that day (the 7-day streak task reads it).
pub const STREAK_USAGE_ACTION: &str = "collect_streak";

/// The local day before `day` (`2026-11-24` → `2026-11-23`); `None` for a period that is not
/// a day.
pub fn previous_day(day: &str) -> Option<String> {
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()?
        .pred_opt()
        .map(|date| date.format("%Y-%m-%d").to_string())
}

fn streak_key(user_id: UserId, day: &str) -> UsageKey {
    UsageKey {
        user_id,
        action: STREAK_USAGE_ACTION.into(),
        period: day.into(),
    }
}

/// The usage rows a take reads for whoever it counts as collecting: the rankings' totals for
/// the day and all time, and the streak as of the day before.
pub fn collecting_keys(user_id: UserId, day: &str) -> Vec<UsageKey> {
    let mut keys = collected_keys(user_id, day).to_vec();
    keys.extend(previous_day(day).map(|yesterday| streak_key(user_id, &yesterday)));
    keys
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

/// Adds `grams` to a user's collected totals for the day and all time. On the first take of
/// the day it also records the streak (days in a row with energy collected, this one
/// included) and answers it; otherwise `None`.
fn count_collected(
    state: &mut BatchState,
    user_id: UserId,
    day: &str,
    grams: Grams,
) -> Option<u32> {
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
    if !first_today {
        return None;
    }
    let before = previous_day(day).map_or(0, |yesterday| {
        state.usage(&streak_key(user_id, &yesterday)).actions
    });
    let streak = before.saturating_add(1);
    state.set_usage(
        streak_key(user_id, day),
        crate::methodology::Usage {
            actions: streak,
            ..Default::default()
        },
    );
    Some(streak)
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

/// A friend takes part of a ripe ball into their wallet. The writer loads the ball's facts,
/// whether the two are friends and both users' props in force with the batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Steal {
    pub thief_id: UserId,
    pub ball: BallRef,
    /// The thief's local day (`2026-11-24`), for the daily cap.
    pub day: SmolStr,
    pub rules: StealRules,
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

/// The facts of a ball the batch loaded (or made), or `NotFound`.
fn known_ball(state: &BatchState, ball: &BallRef) -> Result<BallFacts, Rejection> {
    state.ball(ball).ok_or(Rejection::NotFound { what: "ball" })
}

pub(crate) fn decide_collect(
    collect: &Collect,
    state: &mut BatchState,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    if let Some(helper) = collect.helper
        && helper != collect.ball.owner_id
        && !state.are_friends(helper, collect.ball.owner_id)
    {
        return Err(Rejection::NotFriends);
    }
    let ball = &known_ball(state, &collect.ball)?;
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
    let streak = count_collected(state, ball.owner_id, &collect.day, grams);
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
            first_today: streak.is_some(),
            streak_days: streak.unwrap_or(0),
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
    let owner = steal.ball.owner_id;
    if steal.thief_id != owner && !state.are_friends(steal.thief_id, owner) {
        return Err(Rejection::NotFriends);
    }
    let ball = &known_ball(state, &steal.ball)?;
    if steal.thief_id == ball.owner_id {
        return Err(Rejection::Rule {
            rule: "own_ball",
            detail: "collect your own balls; stealing is from friends".into(),
        });
    }
    ball.check_ripe(at)?;
    let props = StealProps::in_force(state.effects(owner), state.effects(steal.thief_id), at);
    if props.shields(ball.ripens_at, at) {
        return Err(Rejection::Rule {
            rule: "shielded",
            detail: "a shield protects this ball".into(),
        });
    }
    let take = if !state.has_stolen(&steal.key(1)) {
        1
    } else if props.double_collect && !state.has_stolen(&steal.key(2)) {
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
    let share = steal.rules.share(ball.full).get() * u64::from(props.multiplier_permille) / 1_000;
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
    // A steal counts towards the thief's streak too; only a collect answers it.
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
    if !state.are_friends(water.giver_id, water.receiver_id) {
        return Err(Rejection::NotFriends);
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
    pub day: SmolStr,
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
            action: smol_str::format_smolstr!("pot:{}", self.group_id.uuid()),
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
    use crate::props::{DOUBLE_COLLECT, PropEffect, SHIELD, STEAL_MULTIPLIER};
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

    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(n))
    }

    /// A batch that loaded the ball, `left` grams in it, and the owner's friendships with
    /// users 10 to 40.
    fn state_with(ball: &BallFacts, left: u64) -> BatchState {
        let mut state = BatchState::new();
        state.book.load(ball.account(), left as i64);
        state.load_ball(*ball);
        for friend in 10..=40 {
            state.load_friendship(user(friend), ball.owner_id);
        }
        state
    }

    fn steal(thief: u128, ball: BallFacts) -> Command {
        Command::Steal(Box::new(Steal {
            thief_id: user(thief),
            ball: ball.named(),
            day: "2026-11-24".into(),
            rules: StealRules::default(),
        }))
    }

    fn effect(owner: u128, kind: &str, from: i64, until: i64, multiplier: u32) -> PropEffect {
        PropEffect {
            user_id: user(owner),
            kind: kind.into(),
            active_from: Timestamp(from),
            active_until: Timestamp(until),
            multiplier_permille: multiplier,
        }
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

    #[test]
    fn a_shield_protects_balls_that_ripen_under_it() {
        let ball = ball(100);
        let late = Timestamp(20 * HOUR);
        let entry = EntryId(Uuid::from_u128(9));
        let mut state = state_with(&ball, 100);
        state.load_effect(effect(1, SHIELD, 0, 10 * HOUR + 1, 0));
        assert_eq!(
            rule_of(steal(10, ball).decide(&mut state, late, entry)),
            "shielded"
        );
        let mut state = state_with(&ball, 100);
        state.load_effect(effect(1, SHIELD, 0, 9 * HOUR, 0));
        assert_eq!(
            grams_of(steal(10, ball).decide(&mut state, late, entry)),
            30
        );
    }

    #[test]
    fn a_double_collect_card_allows_a_second_take_and_a_multiplier_takes_more() {
        let ball = ball(1_000);
        let mut state = state_with(&ball, 1_000);
        state.load_effect(effect(10, DOUBLE_COLLECT, 0, 24 * HOUR, 0));
        state.load_effect(effect(10, STEAL_MULTIPLIER, 0, 24 * HOUR, 1_500));
        let at = Timestamp(11 * HOUR);
        let entry = EntryId(Uuid::from_u128(9));
        assert_eq!(grams_of(steal(10, ball).decide(&mut state, at, entry)), 450);
        // The second take stops at the owner's 400 g.
        assert_eq!(grams_of(steal(10, ball).decide(&mut state, at, entry)), 150);
        assert_eq!(
            rule_of(steal(10, ball).decide(&mut state, at, entry)),
            "once_per_ball"
        );
    }

    #[test]
    fn only_friends_take_from_a_ball_and_an_unknown_ball_is_not_found() {
        let ball = ball(100);
        let mut state = state_with(&ball, 100);
        let at = Timestamp(11 * HOUR);
        let entry = EntryId(Uuid::from_u128(9));
        assert_eq!(
            steal(99, ball).decide(&mut state, at, entry),
            Err(Rejection::NotFriends)
        );
        let mut unknown = ball;
        unknown.ball_id = BallId(Uuid::from_u128(77));
        assert_eq!(
            steal(10, unknown).decide(&mut state, at, entry),
            Err(Rejection::NotFound { what: "ball" })
        );
        let help = Command::Collect(Collect {
            ball: ball.named(),
            helper: Some(user(99)),
            day: "2026-11-24".into(),
        });
        assert_eq!(
            help.decide(&mut state, Timestamp(70 * HOUR), entry),
            Err(Rejection::NotFriends)
        );
        assert_eq!(state.book.balance(&ball.account()), Grams::new(100));
    }

    #[test]
    fn a_thief_steals_at_most_twenty_times_a_day() {
        let mut state = BatchState::new();
        let at = Timestamp(11 * HOUR);
        for n in 0..21u128 {
            let mut facts = ball(100);
            facts.ball_id = BallId(Uuid::from_u128(100 + n));
            state.book.load(facts.account(), 100);
            state.load_ball(facts);
            state.load_friendship(user(10), facts.owner_id);
            let result = steal(10, facts).decide(&mut state, at, EntryId(Uuid::from_u128(200 + n)));
            if n < 20 {
                assert_eq!(grams_of(result), 30);
            } else {
                assert_eq!(rule_of(result), "daily_steal_cap");
            }
        }
    }

    fn collect_on(ball: BallFacts, day: &str) -> Command {
        Command::Collect(Collect {
            ball: ball.named(),
            helper: None,
            day: day.into(),
        })
    }

    fn streak_of(result: Result<(Outcome, Vec<Entry>), Rejection>) -> (bool, u32) {
        match result {
            Ok((
                Outcome::Collected {
                    first_today,
                    streak_days,
                    ..
                },
                _,
            )) => (first_today, streak_days),
            other => panic!("expected a collect, got {other:?}"),
        }
    }

    #[test]
    fn the_first_collect_of_a_day_counts_the_days_in_a_row_with_energy_collected() {
        let mut first = ball(100);
        let mut second = ball(100);
        second.ball_id = BallId(Uuid::from_u128(3));
        first.ripens_at = Timestamp(0);
        second.ripens_at = Timestamp(0);
        let mut state = state_with(&first, 100);
        state.book.load(second.account(), 100);
        state.load_ball(second);
        // Six days in a row by 2026-11-30.
        state.load_usage(
            streak_key(first.owner_id, "2026-11-30"),
            crate::methodology::Usage {
                actions: 6,
                ..Default::default()
            },
        );
        let at = Timestamp(11 * HOUR);
        let entry = EntryId(Uuid::from_u128(1));
        assert_eq!(
            streak_of(collect_on(first, "2026-12-01").decide(&mut state, at, entry)),
            (true, 7)
        );
        assert_eq!(
            streak_of(collect_on(second, "2026-12-01").decide(&mut state, at, entry)),
            (false, 0)
        );
        // A day missed starts again at one.
        let mut state = state_with(&first, 100);
        assert_eq!(
            streak_of(collect_on(first, "2026-12-02").decide(&mut state, at, entry)),
            (true, 1)
        );
        assert_eq!(previous_day("2026-03-01").as_deref(), Some("2026-02-28"));
        assert_eq!(previous_day("all"), None);
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
            ball: ball.named(),
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
