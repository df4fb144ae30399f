//! Ledger accounts: where grams can be. Every account is either a *source* (issuance: energy
//! enters the system there), a *sink* (expired: energy leaves), or a *holding* account whose
//! balance is never negative.

use crate::ids::{BallId, GroupId, PartnerId, PledgeId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Account {
    /// Where a partner's (or, for admin grants, the operator's) energy is issued from.
    Issuance { partner_id: PartnerId },
    /// An energy ball in a user's forest.
    Ball { user_id: UserId, ball_id: BallId },
    /// A user's collected energy.
    Wallet { user_id: UserId },
    /// One member's share of a co-planting group's pot: the pot's balance is the sum of its
    /// members' shares, so a certificate can name every contributor with their share.
    Pot {
        group_id: GroupId,
        member_id: UserId,
    },
    /// Energy pledged to a tree or land.
    Pledge {
        user_id: UserId,
        pledge_id: PledgeId,
    },
    /// Where uncollected energy goes when its ball expires.
    Expired,
}

/// The storage discriminant of an account. The numbers are persisted: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Issuance = 1,
    Ball = 2,
    Wallet = 3,
    Pot = 4,
    Pledge = 5,
    Expired = 6,
}

impl AccountKind {
    pub const ALL: [AccountKind; 6] = [
        AccountKind::Issuance,
        AccountKind::Ball,
        AccountKind::Wallet,
        AccountKind::Pot,
        AccountKind::Pledge,
        AccountKind::Expired,
    ];

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Issuance => "issuance",
            AccountKind::Ball => "ball",
            AccountKind::Wallet => "wallet",
            AccountKind::Pot => "pot",
            AccountKind::Pledge => "pledge",
            AccountKind::Expired => "expired",
        }
    }

    /// Holding accounts keep a maintained balance that can never go below zero. Issuance and
    /// expired are the two ends of the ledger: their totals are derived from the journal,
    /// which keeps the hot write path free of global rows every transaction would lock.
    pub fn is_holding(self) -> bool {
        !matches!(self, AccountKind::Issuance | AccountKind::Expired)
    }
}

/// An account as persisted: `(kind, owner, id)`. `owner` is the user (or group, or partner)
/// the account belongs to, which is also the distribution key; `id` tells apart several
/// accounts of one owner (balls, pledges) and is nil otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountKey {
    pub owner: Uuid,
    pub kind: AccountKind,
    pub id: Uuid,
}

impl Account {
    pub fn kind(&self) -> AccountKind {
        match self {
            Account::Issuance { .. } => AccountKind::Issuance,
            Account::Ball { .. } => AccountKind::Ball,
            Account::Wallet { .. } => AccountKind::Wallet,
            Account::Pot { .. } => AccountKind::Pot,
            Account::Pledge { .. } => AccountKind::Pledge,
            Account::Expired => AccountKind::Expired,
        }
    }

    pub fn is_holding(&self) -> bool {
        self.kind().is_holding()
    }

    /// The user this account belongs to, if any.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Account::Ball { user_id, .. }
            | Account::Wallet { user_id }
            | Account::Pledge { user_id, .. } => Some(*user_id),
            _ => None,
        }
    }

    pub fn key(&self) -> AccountKey {
        let (owner, id) = match *self {
            Account::Issuance { partner_id } => (partner_id.uuid(), Uuid::nil()),
            Account::Ball { user_id, ball_id } => (user_id.uuid(), ball_id.uuid()),
            Account::Wallet { user_id } => (user_id.uuid(), Uuid::nil()),
            Account::Pot {
                group_id,
                member_id,
            } => (group_id.uuid(), member_id.uuid()),
            Account::Pledge { user_id, pledge_id } => (user_id.uuid(), pledge_id.uuid()),
            Account::Expired => (Uuid::nil(), Uuid::nil()),
        };
        AccountKey {
            owner,
            kind: self.kind(),
            id,
        }
    }

    pub fn from_key(key: AccountKey) -> Account {
        let AccountKey { owner, kind, id } = key;
        match kind {
            AccountKind::Issuance => Account::Issuance {
                partner_id: PartnerId(owner),
            },
            AccountKind::Ball => Account::Ball {
                user_id: UserId(owner),
                ball_id: BallId(id),
            },
            AccountKind::Wallet => Account::Wallet {
                user_id: UserId(owner),
            },
            AccountKind::Pot => Account::Pot {
                group_id: GroupId(owner),
                member_id: UserId(id),
            },
            AccountKind::Pledge => Account::Pledge {
                user_id: UserId(owner),
                pledge_id: PledgeId(id),
            },
            AccountKind::Expired => Account::Expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_account_survives_its_storage_key() {
        let user_id = UserId(Uuid::from_u128(7));
        let accounts = [
            Account::Issuance {
                partner_id: PartnerId(Uuid::from_u128(1)),
            },
            Account::Ball {
                user_id,
                ball_id: BallId(Uuid::from_u128(2)),
            },
            Account::Wallet { user_id },
            Account::Pot {
                group_id: GroupId(Uuid::from_u128(3)),
                member_id: user_id,
            },
            Account::Pledge {
                user_id,
                pledge_id: PledgeId(Uuid::from_u128(4)),
            },
            Account::Expired,
        ];
        for account in accounts {
            assert_eq!(Account::from_key(account.key()), account);
            assert_eq!(
                AccountKind::from_code(account.kind().code()),
                Some(account.kind())
            );
        }
    }
}
