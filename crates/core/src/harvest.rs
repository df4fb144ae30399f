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

/// The owner collects what is left of one of their ripe balls into their wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collect {
    pub ball: BallFacts,
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
}

/// One thief's take from one ball: once per thief per ball.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StealKey {
    pub owner_id: UserId,
    pub ball_id: BallId,
    pub thief_id: UserId,
}

impl Steal {
    pub fn key(&self) -> StealKey {
        StealKey {
            owner_id: self.ball.owner_id,
            ball_id: self.ball.ball_id,
            thief_id: self.thief_id,
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
    Ok((
        Outcome::Collected {
            entry_id,
            ball_id: ball.ball_id,
            grams,
            wallet_grams: state.book.balance(&wallet),
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
    if state.has_stolen(&steal.key()) {
        return Err(Rejection::Rule {
            rule: "once_per_ball",
            detail: "you already took from this ball".into(),
        });
    }
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
    let grams = steal.rules.share(ball.full).min(above_floor);
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
    state.add_steal(steal.key(), grams, at);
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
        let collect = Command::Collect(Collect { ball });
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
