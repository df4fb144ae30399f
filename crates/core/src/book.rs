//! The book: balances of holding accounts as seen inside one writer batch, and the rules every
//! posting obeys. A command's entries are posted all together or not at all.

use crate::account::Account;
use crate::entry::Entry;
use crate::grams::Grams;
use std::collections::HashMap;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LedgerError {
    #[error("an entry moves between 1 g and {} g, not {grams} g", Grams::MAX_MOVEMENT.get())]
    InvalidAmount { grams: u64 },
    #[error("a {kind} entry cannot move grams from a {from} account to a {to} account")]
    MovementNotAllowed {
        kind: &'static str,
        from: &'static str,
        to: &'static str,
    },
    #[error("an entry cannot move grams from an account to itself")]
    SameAccount,
    #[error("the {} account holds {available} g, {requested} g were needed", account.kind().as_str())]
    InsufficientEnergy {
        account: Account,
        available: u64,
        requested: u64,
    },
}

/// Balances of holding accounts, loaded by the store before a batch, plus what the batch
/// changed. Accounts that were not loaded count as empty, so a forgotten load can only make a
/// command fail, never overdraw an account.
#[derive(Debug, Default)]
pub struct Book {
    balances: HashMap<Account, i64>,
    deltas: HashMap<Account, i64>,
}

impl Book {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an account's stored balance before the batch runs.
    pub fn load(&mut self, account: Account, grams: i64) {
        self.balances.insert(account, grams);
    }

    pub fn balance(&self, account: &Account) -> Grams {
        let grams = self.balances.get(account).copied().unwrap_or(0);
        Grams::new(u64::try_from(grams).unwrap_or(0))
    }

    /// Checks one entry on its own: amount, direction, kind.
    pub fn check_entry(entry: &Entry) -> Result<(), LedgerError> {
        if entry.grams == Grams::ZERO || entry.grams > Grams::MAX_MOVEMENT {
            return Err(LedgerError::InvalidAmount {
                grams: entry.grams.get(),
            });
        }
        if entry.from == entry.to {
            return Err(LedgerError::SameAccount);
        }
        let (from, to) = (entry.from.kind(), entry.to.kind());
        if !entry.kind.allows(from, to) {
            return Err(LedgerError::MovementNotAllowed {
                kind: entry.kind.as_str(),
                from: from.as_str(),
                to: to.as_str(),
            });
        }
        Ok(())
    }

    /// Posts a command's entries atomically: either every entry is valid and no holding
    /// account ends below zero, or nothing changes.
    pub fn post(&mut self, entries: &[Entry]) -> Result<(), LedgerError> {
        let mut net: HashMap<Account, i64> = HashMap::new();
        for entry in entries {
            Self::check_entry(entry)?;
            let grams = entry.grams.as_i64();
            if entry.from.is_holding() {
                *net.entry(entry.from).or_default() -= grams;
            }
            if entry.to.is_holding() {
                *net.entry(entry.to).or_default() += grams;
            }
        }
        for (account, change) in &net {
            let available = self.balances.get(account).copied().unwrap_or(0);
            if available + change < 0 {
                return Err(LedgerError::InsufficientEnergy {
                    account: *account,
                    available: u64::try_from(available).unwrap_or(0),
                    requested: change.unsigned_abs(),
                });
            }
        }
        for (account, change) in net {
            *self.balances.entry(account).or_default() += change;
            *self.deltas.entry(account).or_default() += change;
        }
        Ok(())
    }

    /// The net change of every holding account since loading, for the store to persist.
    pub fn deltas(&self) -> impl Iterator<Item = (Account, i64)> + '_ {
        self.deltas
            .iter()
            .filter(|(_, change)| **change != 0)
            .map(|(account, change)| (*account, *change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::entry::EntryKind;
    use crate::ids::{EntryId, PartnerId, UserId};
    use uuid::Uuid;

    fn entry(kind: EntryKind, from: Account, to: Account, grams: u64) -> Entry {
        Entry {
            entry_id: EntryId(Uuid::now_v7()),
            user_id: UserId(Uuid::nil()),
            at: Timestamp(0),
            kind,
            from,
            to,
            grams: Grams::new(grams),
            reference: None,
        }
    }

    fn wallet(n: u128) -> Account {
        Account::Wallet {
            user_id: UserId(Uuid::from_u128(n)),
        }
    }

    const OPERATOR: Account = Account::Issuance {
        partner_id: PartnerId::OPERATOR,
    };

    #[test]
    fn a_wallet_cannot_be_overdrawn() {
        let mut book = Book::new();
        book.load(wallet(1), 10);
        let err = book
            .post(&[entry(EntryKind::Transfer, wallet(1), wallet(2), 11)])
            .unwrap_err();
        assert!(matches!(
            err,
            LedgerError::InsufficientEnergy {
                available: 10,
                requested: 11,
                ..
            }
        ));
        assert_eq!(book.balance(&wallet(1)), Grams::new(10));
        assert_eq!(book.deltas().count(), 0);
    }

    #[test]
    fn a_failing_entry_leaves_its_whole_command_unposted() {
        let mut book = Book::new();
        book.load(wallet(1), 10);
        let good = entry(EntryKind::Transfer, wallet(1), wallet(2), 5);
        let bad = entry(EntryKind::Transfer, wallet(2), wallet(2), 1);
        assert_eq!(book.post(&[good, bad]), Err(LedgerError::SameAccount));
        assert_eq!(book.balance(&wallet(2)), Grams::ZERO);
    }

    #[test]
    fn issuance_may_go_below_zero_but_holding_accounts_may_not() {
        let mut book = Book::new();
        book.post(&[entry(EntryKind::Grant, OPERATOR, wallet(1), 100)])
            .unwrap();
        assert_eq!(book.balance(&wallet(1)), Grams::new(100));
        assert_eq!(book.deltas().collect::<Vec<_>>(), vec![(wallet(1), 100)]);
    }

    #[test]
    fn a_grant_can_only_go_from_issuance_to_a_wallet() {
        let mut book = Book::new();
        book.load(wallet(1), 100);
        let err = book
            .post(&[entry(EntryKind::Grant, wallet(1), wallet(2), 1)])
            .unwrap_err();
        assert!(matches!(err, LedgerError::MovementNotAllowed { .. }));
    }

    #[test]
    fn zero_and_huge_amounts_are_refused() {
        let mut book = Book::new();
        for grams in [0, Grams::MAX_MOVEMENT.get() + 1] {
            let err = book
                .post(&[entry(EntryKind::Grant, OPERATOR, wallet(1), grams)])
                .unwrap_err();
            assert_eq!(err, LedgerError::InvalidAmount { grams });
        }
    }
}
