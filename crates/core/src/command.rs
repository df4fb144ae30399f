//! Commands that move energy. Each one is decided here, against the book of its writer batch;
//! the store only loads what `accounts()` names and persists what `decide()` returns.

use crate::account::Account;
use crate::book::{Book, LedgerError};
use crate::clock::Timestamp;
use crate::credit::{Credit, CreditedBall};
use crate::entry::{Entry, EntryKind};
use crate::grams::Grams;
use crate::harvest::{
    BallRef, Collect, FeedPot, Steal, StealKey, Water, collecting_keys, decide_collect,
    decide_feed_pot, decide_steal, decide_water,
};
use crate::ids::{BallId, EntryId, PartnerId, UserId};
use crate::methodology::{CapApplied, DedupKey};
use crate::planting::{Plant, Pledge, decide_plant, quota_key};
use crate::state::{BatchState, UsageKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The longest free-text reference an entry may carry.
pub const REFERENCE_CHARS_MAX: usize = 200;

/// An audited admin grant: the operator creates energy in a user's wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub admin_id: UserId,
    pub user_id: UserId,
    pub grams: Grams,
    pub reason: String,
}

/// A plain movement between two holding accounts (ledger tooling and benchmarks).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub user_id: UserId,
    pub from: Account,
    pub to: Account,
    pub grams: Grams,
}

/// Moves what a ball still holds to the expired account, once its time has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expire {
    pub user_id: UserId,
    pub ball_id: BallId,
    pub expires_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Grant(Grant),
    Transfer(Transfer),
    Credit(Box<Credit>),
    Expire(Expire),
    Collect(Collect),
    Steal(Box<Steal>),
    Water(Water),
    FeedPot(FeedPot),
    Plant(Box<Plant>),
}

/// What a command did. Stored with its idempotency key so a replay answers the same.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    Granted {
        entry_id: EntryId,
        user_id: UserId,
        grams: Grams,
        wallet_grams: Grams,
    },
    Transferred {
        entry_id: EntryId,
        grams: Grams,
    },
    /// A partner's action: what was asked, what the caps let through, and the ball made.
    Credited {
        out_biz_no: String,
        user_id: UserId,
        action: String,
        requested_grams: Grams,
        credited_grams: Grams,
        cap_applied: Option<CapApplied>,
        ball: Option<CreditedBall>,
        methodology: String,
        methodology_version: u32,
    },
    /// What a ball still held when it expired (0 when it was already empty).
    Expired {
        ball_id: BallId,
        grams: Grams,
    },
    /// The owner collected what was left of a ball.
    Collected {
        entry_id: EntryId,
        ball_id: BallId,
        grams: Grams,
        wallet_grams: Grams,
        /// The owner's first collect of their local day (streak tasks are checked then).
        #[serde(default)]
        first_today: bool,
        /// On the first collect of the day: the days in a row, this one included, on which
        /// the owner collected energy; 0 otherwise.
        #[serde(default)]
        streak_days: u32,
    },
    /// Not a command's: the notice that a ball with energy left expires soon (for the
    /// `ball.expiring` webhook a push notification needs).
    ExpiringSoon {
        ball_id: BallId,
        grams: Grams,
        expires_at: Timestamp,
    },
    /// A friend's forest was watered from my wallet.
    Watered {
        entry_id: EntryId,
        receiver_id: UserId,
        ball_id: BallId,
        grams: Grams,
        /// The giver's wallet after watering.
        wallet_grams: Grams,
    },
    /// A member fed a co-planting pot.
    PotFed {
        entry_id: EntryId,
        group_id: crate::ids::GroupId,
        grams: Grams,
        /// The member's share of the pot after feeding it.
        share_grams: Grams,
        wallet_grams: Grams,
    },
    /// Energy pledged to a tree or land: who holds how much of it and its certificate number.
    Pledged {
        entry_id: EntryId,
        pledge: Box<Pledge>,
        /// The planter's wallet after the pledge.
        wallet_grams: Grams,
    },
    /// Not a command's: an NGO recorded the planting of a pledge's tree or land (`planted`), or
    /// it was verified (`verified`); for the `tree.planted` and `tree.verified` webhooks.
    PlantingRecorded {
        pledge_id: crate::ids::PledgeId,
        certificate_no: String,
        batch_id: crate::ids::BatchId,
        item_id: crate::ids::CatalogItemId,
        status: String,
        planted_on: String,
    },
    /// A friend took part of a ball.
    Stolen {
        entry_id: EntryId,
        owner_id: UserId,
        thief_id: UserId,
        ball_id: BallId,
        grams: Grams,
        /// The thief's wallet after the steal.
        wallet_grams: Grams,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Rejection {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// A game rule said no (not ripe, already taken, a daily cap…); `rule` names it.
    #[error("{detail}")]
    Rule { rule: &'static str, detail: String },
    /// What the command names does not exist (`what`: `ball`).
    #[error("no such {what}")]
    NotFound { what: &'static str },
    /// Only friends may take from, help or water each other's forests.
    #[error("only friends can do this")]
    NotFriends,
}

impl Command {
    /// The user the command runs for: it picks the writer partition and the journal's
    /// distribution key.
    pub fn home_user(&self) -> UserId {
        match self {
            Command::Grant(grant) => grant.user_id,
            Command::Transfer(transfer) => transfer.user_id,
            Command::Credit(credit) => credit.user_id,
            Command::Expire(expire) => expire.user_id,
            // Every take from one ball runs in its owner's lane, so they queue one after another.
            Command::Collect(collect) => collect.ball.owner_id,
            Command::Steal(steal) => steal.ball.owner_id,
            Command::Water(water) => water.giver_id,
            Command::FeedPot(feed) => feed.member_id,
            Command::Plant(plant) => plant.planter_id,
        }
    }

    /// The users whose balls the command may take from or make: the store keeps a digest of
    /// each user's balls (what friends' forest homes read) in step with them.
    pub fn forest_owners(&self) -> Vec<UserId> {
        let mut owners: Vec<UserId> = self
            .accounts()
            .into_iter()
            .filter_map(|account| match account {
                Account::Ball { user_id, .. } => Some(user_id),
                _ => None,
            })
            .collect();
        match self {
            Command::Credit(credit) => owners.push(credit.user_id),
            Command::Water(water) => owners.push(water.receiver_id),
            _ => {}
        }
        owners
    }

    /// The balls whose facts (size, ripening, expiry) the command needs.
    pub fn ball_ref(&self) -> Option<BallRef> {
        match self {
            Command::Collect(collect) => Some(collect.ball),
            Command::Steal(steal) => Some(steal.ball),
            _ => None,
        }
    }

    /// The pair of users who must be friends for the command to go ahead.
    pub fn friend_pair(&self) -> Option<(UserId, UserId)> {
        match self {
            Command::Collect(collect) => collect
                .helper
                .filter(|helper| *helper != collect.ball.owner_id)
                .map(|helper| (helper, collect.ball.owner_id)),
            Command::Steal(steal) if steal.thief_id != steal.ball.owner_id => {
                Some((steal.thief_id, steal.ball.owner_id))
            }
            Command::Water(water) if water.giver_id != water.receiver_id => {
                Some((water.giver_id, water.receiver_id))
            }
            _ => None,
        }
    }

    /// The users whose props in force the command needs (a steal: the owner's shield and the
    /// thief's cards).
    pub fn prop_users(&self) -> Vec<UserId> {
        match self {
            Command::Steal(steal) => vec![steal.ball.owner_id, steal.thief_id],
            _ => Vec::new(),
        }
    }

    /// The accounts whose balances the command reads; the store loads (and locks) them first.
    /// Accounts a command only credits need no loading (a credit cannot overdraw).
    pub fn accounts(&self) -> Vec<Account> {
        match self {
            Command::Grant(grant) => vec![Account::Wallet {
                user_id: grant.user_id,
            }],
            Command::Transfer(transfer) => vec![transfer.from, transfer.to],
            Command::Credit(_) => Vec::new(),
            Command::Expire(expire) => vec![Account::Ball {
                user_id: expire.user_id,
                ball_id: expire.ball_id,
            }],
            // The wallet is loaded to answer its new balance.
            Command::Collect(collect) => vec![
                Account::Ball {
                    user_id: collect.ball.owner_id,
                    ball_id: collect.ball.ball_id,
                },
                Account::Wallet {
                    user_id: collect.ball.owner_id,
                },
            ],
            Command::Steal(steal) => vec![
                Account::Ball {
                    user_id: steal.ball.owner_id,
                    ball_id: steal.ball.ball_id,
                },
                Account::Wallet {
                    user_id: steal.thief_id,
                },
            ],
            Command::Water(water) => vec![Account::Wallet {
                user_id: water.giver_id,
            }],
            Command::FeedPot(feed) => vec![
                Account::Wallet {
                    user_id: feed.member_id,
                },
                feed.share(),
            ],
            Command::Plant(plant) => {
                let mut accounts = plant.payers();
                accounts.push(Account::Wallet {
                    user_id: plant.planter_id,
                });
                accounts
            }
        }
    }

    /// The usage rows (for caps) the command reads.
    pub fn usage_keys(&self) -> Vec<UsageKey> {
        match self {
            Command::Credit(credit) => credit.usage_keys().to_vec(),
            Command::Steal(steal) => {
                let mut keys = vec![steal.usage_key()];
                keys.extend(collecting_keys(steal.thief_id, &steal.day));
                keys
            }
            Command::Collect(collect) => collecting_keys(collect.ball.owner_id, &collect.day),
            Command::Water(water) => vec![water.usage_key()],
            Command::FeedPot(feed) => vec![feed.usage_key()],
            Command::Plant(plant) => vec![quota_key(plant.item_id)],
            _ => Vec::new(),
        }
    }

    /// The steal records (one per thief and ball) the command checks.
    pub fn steal_keys(&self) -> Vec<StealKey> {
        match self {
            Command::Steal(steal) => vec![steal.key(1), steal.key(2)],
            _ => Vec::new(),
        }
    }

    /// The dedup keys the command checks.
    pub fn dedup_keys(&self) -> Vec<DedupKey> {
        match self {
            Command::Credit(credit) => credit.dedup.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Decides the command against the book. On success the book has the entries posted and
    /// they are returned for the store to write.
    pub fn decide(
        &self,
        state: &mut BatchState,
        at: Timestamp,
        entry_id: EntryId,
    ) -> Result<(Outcome, Vec<Entry>), Rejection> {
        match self {
            Command::Grant(grant) => decide_grant(grant, &mut state.book, at, entry_id),
            Command::Transfer(transfer) => decide_transfer(transfer, &mut state.book, at, entry_id),
            Command::Credit(credit) => credit.decide(state, at, entry_id),
            Command::Expire(expire) => decide_expire(expire, &mut state.book, at, entry_id),
            Command::Collect(collect) => decide_collect(collect, state, at, entry_id),
            Command::Steal(steal) => decide_steal(steal, state, at, entry_id),
            Command::Water(water) => decide_water(water, state, at, entry_id),
            Command::FeedPot(feed) => decide_feed_pot(feed, state, at, entry_id),
            Command::Plant(plant) => decide_plant(plant, state, at, entry_id),
        }
    }
}

fn decide_grant(
    grant: &Grant,
    book: &mut Book,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    let reason = grant.reason.trim();
    if reason.is_empty() || reason.chars().count() > REFERENCE_CHARS_MAX {
        return Err(Rejection::Invalid {
            field: "reason",
            reason: format!(
                "an audited grant needs a reason of 1 to {REFERENCE_CHARS_MAX} characters"
            ),
        });
    }
    let wallet = Account::Wallet {
        user_id: grant.user_id,
    };
    let entry = Entry {
        entry_id,
        user_id: grant.user_id,
        at,
        kind: EntryKind::Grant,
        from: Account::Issuance {
            partner_id: PartnerId::OPERATOR,
        },
        to: wallet,
        grams: grant.grams,
        reference: Some(format!("admin {}: {reason}", grant.admin_id)),
    };
    book.post(std::slice::from_ref(&entry))?;
    let outcome = Outcome::Granted {
        entry_id,
        user_id: grant.user_id,
        grams: grant.grams,
        wallet_grams: book.balance(&wallet),
    };
    Ok((outcome, vec![entry]))
}

fn decide_expire(
    expire: &Expire,
    book: &mut Book,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    if at < expire.expires_at {
        return Err(Rejection::Invalid {
            field: "expires_at",
            reason: "a ball cannot expire before its time".into(),
        });
    }
    let ball = Account::Ball {
        user_id: expire.user_id,
        ball_id: expire.ball_id,
    };
    let grams = book.balance(&ball);
    let outcome = Outcome::Expired {
        ball_id: expire.ball_id,
        grams,
    };
    if grams == Grams::ZERO {
        return Ok((outcome, Vec::new()));
    }
    let entry = Entry {
        entry_id,
        user_id: expire.user_id,
        at,
        kind: EntryKind::Expire,
        from: ball,
        to: Account::Expired,
        grams,
        reference: None,
    };
    book.post(std::slice::from_ref(&entry))?;
    Ok((outcome, vec![entry]))
}

fn decide_transfer(
    transfer: &Transfer,
    book: &mut Book,
    at: Timestamp,
    entry_id: EntryId,
) -> Result<(Outcome, Vec<Entry>), Rejection> {
    let entry = Entry {
        entry_id,
        user_id: transfer.user_id,
        at,
        kind: EntryKind::Transfer,
        from: transfer.from,
        to: transfer.to,
        grams: transfer.grams,
        reference: None,
    };
    book.post(std::slice::from_ref(&entry))?;
    Ok((
        Outcome::Transferred {
            entry_id,
            grams: transfer.grams,
        },
        vec![entry],
    ))
}
