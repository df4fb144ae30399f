//! The conservation audit behind `openforest verify`: replays the journal, recomputes every
//! balance and compares it with the maintained one.

use crate::account::{Account, AccountKind};
use crate::book::Book;
use crate::entry::Entry;
use crate::ids::EntryId;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum AuditProblem {
    /// An entry that breaks the ledger rules (zero grams, forbidden direction or kind).
    InvalidEntry { entry_id: EntryId, reason: String },
    /// The maintained balance differs from the journal's.
    BalanceMismatch {
        account: Account,
        stored_grams: i64,
        journal_grams: i128,
    },
    /// The journal drives a holding account below zero.
    NegativeBalance {
        account: Account,
        journal_grams: i128,
    },
    /// A row the store could not even decode.
    Unreadable { location: String, reason: String },
    /// The user's forest digest (what friends' forest homes read) differs from their balls and
    /// balances.
    DigestMismatch { user_id: crate::ids::UserId },
}

#[derive(Debug, Default)]
pub struct Audit {
    journal: HashMap<Account, i128>,
    entries: u64,
    issued: i128,
    expired: i128,
    problems: Vec<AuditProblem>,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    pub entries: u64,
    pub accounts: u64,
    pub issued_grams: i128,
    pub held_grams: i128,
    pub expired_grams: i128,
    pub problems: Vec<AuditProblem>,
}

impl AuditReport {
    /// Every balance matches the journal, no rule is broken, and every issued gram is either
    /// held or expired.
    pub fn is_sound(&self) -> bool {
        self.problems.is_empty() && self.issued_grams == self.held_grams + self.expired_grams
    }
}

impl Audit {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn entries_seen(&self) -> u64 {
        self.entries
    }

    pub fn record(&mut self, entry: &Entry) {
        self.entries += 1;
        if let Err(err) = Book::check_entry(entry) {
            self.problems.push(AuditProblem::InvalidEntry {
                entry_id: entry.entry_id,
                reason: err.to_string(),
            });
        }
        let grams = i128::from(entry.grams.get());
        *self.journal.entry(entry.from).or_default() -= grams;
        *self.journal.entry(entry.to).or_default() += grams;
        if entry.from.kind() == AccountKind::Issuance {
            self.issued += grams;
        }
        if entry.to.kind() == AccountKind::Expired {
            self.expired += grams;
        }
    }

    pub fn unreadable(&mut self, location: String, reason: String) {
        self.problems
            .push(AuditProblem::Unreadable { location, reason });
    }

    /// Compares the replayed journal with the maintained balances of holding accounts.
    pub fn finish(mut self, stored: impl IntoIterator<Item = (Account, i64)>) -> AuditReport {
        let mut held: i128 = 0;
        let mut accounts = 0u64;
        for (account, stored_grams) in stored {
            accounts += 1;
            held += i128::from(stored_grams);
            let journal_grams = self.journal.remove(&account).unwrap_or(0);
            if journal_grams < 0 {
                self.problems.push(AuditProblem::NegativeBalance {
                    account,
                    journal_grams,
                });
            }
            if journal_grams != i128::from(stored_grams) {
                self.problems.push(AuditProblem::BalanceMismatch {
                    account,
                    stored_grams,
                    journal_grams,
                });
            }
        }
        let mut missing: Vec<(Account, i128)> = self
            .journal
            .into_iter()
            .filter(|(account, grams)| account.is_holding() && *grams != 0)
            .collect();
        missing.sort();
        for (account, journal_grams) in missing {
            accounts += 1;
            if journal_grams < 0 {
                self.problems.push(AuditProblem::NegativeBalance {
                    account,
                    journal_grams,
                });
            }
            self.problems.push(AuditProblem::BalanceMismatch {
                account,
                stored_grams: 0,
                journal_grams,
            });
        }
        AuditReport {
            entries: self.entries,
            accounts,
            issued_grams: self.issued,
            held_grams: held,
            expired_grams: self.expired,
            problems: self.problems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::command::{Command, Grant, Transfer};
    use crate::grams::Grams;
    use crate::ids::{EntryId, UserId};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn user(n: u8) -> UserId {
        UserId(Uuid::from_u128(u128::from(n) + 1))
    }

    fn command_strategy() -> impl Strategy<Value = Command> {
        let grant = (0u8..5, 0u64..2_000).prop_map(|(to, grams)| {
            Command::Grant(Grant {
                admin_id: user(200),
                user_id: user(to),
                grams: Grams::new(grams),
                reason: "test".into(),
            })
        });
        let transfer = (0u8..5, 0u8..5, 0u64..3_000).prop_map(|(from, to, grams)| {
            Command::Transfer(Transfer {
                user_id: user(from),
                from: Account::Wallet {
                    user_id: user(from),
                },
                to: Account::Wallet { user_id: user(to) },
                grams: Grams::new(grams),
            })
        });
        // The game's commands on a few balls made by watering (ball `n` of user `u`).
        let named = |owner: u8, ball: u8| crate::harvest::BallRef {
            owner_id: user(owner),
            ball_id: crate::ids::BallId(Uuid::from_u128(1_000 + u128::from(ball))),
        };
        let water =
            (0u8..5, 0u8..5, 0usize..4, 0u8..6).prop_map(|(giver, receiver, size, ball)| {
                Command::Water(crate::harvest::Water {
                    giver_id: user(giver),
                    receiver_id: user(receiver),
                    grams: Grams::new(crate::harvest::WATERING_GRAMS[size]),
                    ball_id: crate::ids::BallId(Uuid::from_u128(1_000 + u128::from(ball))),
                    day: "d".into(),
                    daily_per_friend: 1_000,
                })
            });
        let collect = (0u8..5, 0u8..6, proptest::option::of(0u8..5)).prop_map(
            move |(owner, ball, helper)| {
                Command::Collect(crate::harvest::Collect {
                    ball: named(owner, ball),
                    helper: helper.map(user),
                    day: "d".into(),
                })
            },
        );
        let steal = (0u8..5, 0u8..6, 0u8..5).prop_map(move |(owner, ball, thief)| {
            Command::Steal(Box::new(crate::harvest::Steal {
                thief_id: user(thief),
                ball: named(owner, ball),
                day: "d".into(),
                rules: crate::harvest::StealRules::default(),
            }))
        });
        let pot = (0u8..5, 0u64..300).prop_map(|(member, grams)| {
            Command::FeedPot(crate::harvest::FeedPot {
                member_id: user(member),
                group_id: crate::ids::GroupId(Uuid::from_u128(77)),
                grams: Grams::new(grams),
                day: "d".into(),
                daily_cap: Grams::new(500),
            })
        });
        prop_oneof![grant, transfer, water, collect, steal, pot]
    }

    proptest! {
        #[test]
        fn random_sequences_of_ledger_and_game_commands_never_break_conservation(
            commands in proptest::collection::vec(command_strategy(), 1..200)
        ) {
            // Everyone is friends with everyone; users 0 and 1 hold a double-collect card and
            // a ×1.5 multiplier for good.
            let mut state = crate::state::BatchState::new();
            for a in 0u8..5 {
                for b in 0u8..5 {
                    state.load_friendship(user(a), user(b));
                }
            }
            for (thief, kind, multiplier) in [
                (0, crate::props::DOUBLE_COLLECT, 0),
                (1, crate::props::DOUBLE_COLLECT, 0),
                (0, crate::props::STEAL_MULTIPLIER, 1_500),
                (1, crate::props::STEAL_MULTIPLIER, 1_500),
            ] {
                state.load_effect(crate::props::PropEffect {
                    user_id: user(thief),
                    kind: kind.into(),
                    active_from: Timestamp(0),
                    active_until: Timestamp(i64::MAX),
                    multiplier_permille: multiplier,
                });
            }
            let mut audit = Audit::new();
            let mut accepted_grants: i128 = 0;
            for (n, command) in commands.iter().enumerate() {
                let entry_id = EntryId(Uuid::from_u128(n as u128 + 1));
                if let Ok((_, entries)) = command.decide(&mut state, Timestamp(n as i64), entry_id) {
                    for entry in &entries {
                        if let Command::Grant(grant) = command {
                            accepted_grants += i128::from(grant.grams.get());
                        }
                        audit.record(entry);
                    }
                }
            }
            let balances: Vec<(Account, i64)> = state.book.deltas().collect();
            prop_assert!(balances.iter().all(|(_, grams)| *grams >= 0));
            let report = audit.finish(balances);
            prop_assert!(report.is_sound(), "{:?}", report.problems);
            prop_assert_eq!(report.issued_grams, accepted_grants);
        }
    }

    #[test]
    fn a_tampered_balance_is_reported_with_its_account() {
        let mut state = crate::state::BatchState::new();
        let mut audit = Audit::new();
        let wallet = Account::Wallet { user_id: user(1) };
        let grant = Command::Grant(Grant {
            admin_id: user(9),
            user_id: user(1),
            grams: Grams::new(50),
            reason: "welcome".into(),
        });
        let (_, entries) = grant
            .decide(&mut state, Timestamp(0), EntryId(Uuid::from_u128(1)))
            .unwrap();
        audit.record(&entries[0]);
        let report = audit.finish([(wallet, 51)]);
        assert!(!report.is_sound());
        assert_eq!(
            report.problems,
            vec![AuditProblem::BalanceMismatch {
                account: wallet,
                stored_grams: 51,
                journal_grams: 50
            }]
        );
    }
}
