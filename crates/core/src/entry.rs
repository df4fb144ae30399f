//! Journal entries: one movement of grams from one account to another. The journal is the
//! truth; balances are a cache of it.

use crate::account::{Account, AccountKind};
use crate::clock::Timestamp;
use crate::grams::Grams;
use crate::ids::{EntryId, UserId};
use serde::{Deserialize, Serialize};

/// Why grams moved. The numbers are persisted: never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An audited admin grant: operator issuance → wallet.
    Grant = 1,
    /// A plain movement between holding accounts (ledger tooling and benchmarks).
    Transfer = 2,
    /// A partner's reported action credited as a ball: partner issuance → ball.
    Action = 3,
    /// Uncollected energy of a ball 72 h after ripening: ball → expired.
    Expire = 4,
    /// The owner collects a ripe ball: ball → the owner's wallet.
    Collect = 5,
    /// A friend takes part of a ripe ball: ball → the thief's wallet.
    Steal = 6,
    /// A friend waters me: their wallet → a new watering ball of mine.
    Water = 7,
    /// A member feeds a co-planting pot: their wallet → their share of the pot.
    PotFeed = 8,
    /// Energy redeemed for a tree or land: a wallet or a pot share → the holder's pledge.
    Pledge = 9,
}

impl EntryKind {
    pub const ALL: [EntryKind; 9] = [
        EntryKind::Grant,
        EntryKind::Transfer,
        EntryKind::Action,
        EntryKind::Expire,
        EntryKind::Collect,
        EntryKind::Steal,
        EntryKind::Water,
        EntryKind::PotFeed,
        EntryKind::Pledge,
    ];

    pub fn code(self) -> i16 {
        self as i16
    }

    pub fn from_code(code: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Grant => "grant",
            EntryKind::Transfer => "transfer",
            EntryKind::Action => "action",
            EntryKind::Expire => "expire",
            EntryKind::Collect => "collect",
            EntryKind::Steal => "steal",
            EntryKind::Water => "water",
            EntryKind::PotFeed => "pot_feed",
            EntryKind::Pledge => "pledge",
        }
    }

    /// Which account kinds an entry of this kind may move grams between. The audit checks this
    /// too, so a tampered `kind` column is caught.
    pub fn allows(self, from: AccountKind, to: AccountKind) -> bool {
        match self {
            EntryKind::Grant => from == AccountKind::Issuance && to == AccountKind::Wallet,
            EntryKind::Transfer => from.is_holding() && to.is_holding(),
            EntryKind::Action => from == AccountKind::Issuance && to == AccountKind::Ball,
            EntryKind::Expire => from == AccountKind::Ball && to == AccountKind::Expired,
            EntryKind::Collect | EntryKind::Steal => {
                from == AccountKind::Ball && to == AccountKind::Wallet
            }
            EntryKind::Water => from == AccountKind::Wallet && to == AccountKind::Ball,
            EntryKind::PotFeed => from == AccountKind::Wallet && to == AccountKind::Pot,
            EntryKind::Pledge => {
                matches!(from, AccountKind::Wallet | AccountKind::Pot) && to == AccountKind::Pledge
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub entry_id: EntryId,
    /// The user on whose behalf the command ran: the entry's distribution key.
    pub user_id: UserId,
    pub at: Timestamp,
    pub kind: EntryKind,
    pub from: Account,
    pub to: Account,
    pub grams: Grams,
    /// A free reference (admin's reason, partner's `out_biz_no`, …), at most 200 characters.
    pub reference: Option<String>,
}
