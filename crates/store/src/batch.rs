//! What every backend does with a writer batch, apart from talking to its database: which rows
//! to load, deciding each command in order against one book, and the change set to write.

use crate::digest::ForestDigest;
use crate::error::CommandError;
use crate::model::{Envelope, Executed};
use crate::webhooks::{NewEvent, event_of};
use openforest_core::methodology::{DedupKey, Usage};
use openforest_core::{
    Account, Ball, BallFacts, BallRef, BatchState, Entry, EntryId, Grams, Outcome, PropEffect,
    StealKey, Timestamp, UsageKey, UserId,
};
use std::collections::{BTreeSet, HashMap};

/// The rows a batch reads before deciding: holding accounts in key order (the order they are
/// locked in, so concurrent writers cannot deadlock on them) and idempotency keys.
pub(crate) struct Plan {
    pub accounts: Vec<Account>,
    pub idempotency_keys: Vec<(String, String)>,
    pub usage_keys: Vec<UsageKey>,
    pub dedup_keys: Vec<DedupKey>,
    pub steal_keys: Vec<StealKey>,
    /// Owners of the balls the batch's commands name: their forest digests, in key order.
    pub digest_owners: Vec<UserId>,
    /// The balls whose facts the batch's takes need.
    pub balls: Vec<BallRef>,
    /// Pairs of users who must be friends, `(user, friend)` as a friendship row stores them.
    pub friend_pairs: Vec<(UserId, UserId)>,
    /// Users whose props in force the batch's steals need.
    pub prop_users: Vec<UserId>,
}

pub(crate) fn plan(envelopes: &[&Envelope]) -> Plan {
    let mut accounts = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let mut usage_keys = BTreeSet::new();
    let mut dedup_keys = BTreeSet::new();
    let mut steal_keys = BTreeSet::new();
    let mut digest_owners = BTreeSet::new();
    let mut balls = BTreeSet::new();
    let mut friend_pairs = BTreeSet::new();
    let mut prop_users = BTreeSet::new();
    for envelope in envelopes {
        balls.extend(envelope.command.ball_ref());
        friend_pairs.extend(envelope.command.friend_pair());
        prop_users.extend(envelope.command.prop_users());
        steal_keys.extend(envelope.command.steal_keys());
        usage_keys.extend(envelope.command.usage_keys());
        dedup_keys.extend(envelope.command.dedup_keys());
        digest_owners.extend(envelope.command.forest_owners());
        for account in envelope.command.accounts() {
            if account.is_holding() {
                accounts.insert(account.key());
            }
        }
        if let Some(idempotency) = &envelope.idempotency {
            keys.insert((idempotency.scope.clone(), idempotency.key.clone()));
        }
    }
    Plan {
        accounts: accounts.into_iter().map(Account::from_key).collect(),
        idempotency_keys: keys.into_iter().collect(),
        usage_keys: usage_keys.into_iter().collect(),
        dedup_keys: dedup_keys.into_iter().collect(),
        steal_keys: steal_keys.into_iter().collect(),
        digest_owners: digest_owners.into_iter().collect(),
        balls: balls.into_iter().collect(),
        friend_pairs: friend_pairs.into_iter().collect(),
        prop_users: prop_users.into_iter().collect(),
    }
}

/// Everything a batch read before deciding.
#[derive(Default)]
pub(crate) struct Loaded {
    pub balances: Vec<(Account, i64)>,
    pub idempotency: HashMap<(String, String), StoredIdempotency>,
    pub usage: Vec<(UsageKey, Usage)>,
    pub dedup: Vec<DedupKey>,
    /// The steals already recorded among those the batch checks.
    pub steals: Vec<StealKey>,
    /// The forest digest of every planned owner (empty when the owner has no row); a row that
    /// no longer decodes is left out, so the writer rebuilds it.
    pub digests: HashMap<UserId, ForestDigest>,
    /// The facts of the planned balls that exist.
    pub balls: Vec<BallFacts>,
    /// The planned pairs that are friends.
    pub friendships: Vec<(UserId, UserId)>,
    /// The props the planned users raised.
    pub effects: Vec<PropEffect>,
}

/// An idempotency key as stored: the request's fingerprint and the outcome answered.
pub(crate) struct StoredIdempotency {
    pub fingerprint: Vec<u8>,
    pub outcome: Outcome,
}

pub(crate) struct NewIdempotency {
    pub scope: String,
    pub key: String,
    pub fingerprint: [u8; 32],
    pub outcome_json: String,
    pub created_at: Timestamp,
}

/// Everything one batch writes, in one transaction.
#[derive(Default)]
pub(crate) struct ChangeSet {
    pub entries: Vec<Entry>,
    /// Net change per holding account, in key order.
    pub deltas: Vec<(Account, i64)>,
    pub idempotency: Vec<NewIdempotency>,
    pub balls: Vec<Ball>,
    /// Final values of the usage rows the batch changed.
    pub usage: Vec<(UsageKey, Usage)>,
    pub dedup: Vec<(DedupKey, UserId)>,
    /// Webhook outbox rows, one per event a decided command raised.
    pub events: Vec<NewEvent>,
    pub steals: Vec<(StealKey, Grams, Timestamp)>,
    /// Feed items the batch's effects raised.
    pub feed: Vec<FeedItem>,
    pub pledges: Vec<openforest_core::Pledge>,
    /// Species cards drawn with the pledges (a draw log row and a card each).
    pub species_draws: Vec<openforest_core::species::SpeciesDraw>,
    /// Forest digests to write, in owner order.
    pub digests: Vec<DigestChange>,
}

/// What a batch does to one owner's forest digest. The backend writes it after the balances
/// and balls, so that a rebuild reads what the batch itself wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DigestChange {
    Write(UserId, Vec<u8>),
    /// The owner has no ball holding energy left.
    Delete(UserId),
    /// Read the owner's balls and balances and write what they say.
    Rebuild(UserId),
}

/// One line of a user's feed.
pub(crate) struct FeedItem {
    pub user_id: UserId,
    pub item_id: uuid::Uuid,
    pub kind: &'static str,
    pub actor_id: Option<UserId>,
    pub ball_id: Option<openforest_core::BallId>,
    pub grams: Grams,
    pub at: Timestamp,
}

pub(crate) type Reply = Result<Executed, CommandError>;

/// Decides every command of the batch in order. One command's rejection affects no other.
/// With `events_wanted` (some webhook endpoint is enabled), each effect also raises its
/// outbox event.
pub(crate) fn decide(
    envelopes: &[&Envelope],
    loaded: Loaded,
    now: Timestamp,
    events_wanted: bool,
    mut new_entry_id: impl FnMut() -> EntryId,
) -> (ChangeSet, Vec<Reply>) {
    let mut state = BatchState::new();
    let digests = loaded.digests;
    for (account, grams) in loaded.balances {
        state.book.load(account, grams);
    }
    for (key, usage) in loaded.usage {
        state.load_usage(key, usage);
    }
    for key in loaded.dedup {
        state.load_dedup(key);
    }
    for key in loaded.steals {
        state.load_steal(key);
    }
    for facts in loaded.balls {
        state.load_ball(facts);
    }
    for (user, friend) in loaded.friendships {
        state.load_friendship(user, friend);
    }
    for effect in loaded.effects {
        state.load_effect(effect);
    }
    let mut seen = loaded.idempotency;
    let mut changes = ChangeSet::default();
    let mut replies = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        if let Some(idempotency) = &envelope.idempotency {
            let key = (idempotency.scope.clone(), idempotency.key.clone());
            if let Some(stored) = seen.get(&key) {
                replies.push(if stored.fingerprint == idempotency.fingerprint {
                    Ok(Executed {
                        outcome: stored.outcome.clone(),
                        replayed: true,
                    })
                } else {
                    Err(CommandError::IdempotencyConflict)
                });
                continue;
            }
        }
        let decided = envelope.command.decide(&mut state, now, new_entry_id());
        let (outcome, entries) = match decided {
            Ok(decided) => decided,
            Err(rejection) => {
                replies.push(Err(rejection.into()));
                continue;
            }
        };
        // The book holds the effect now: its entries are written whatever happens below.
        changes.entries.extend(entries);
        let event = events_wanted
            .then(|| event_of(&envelope.command, &outcome))
            .flatten();
        let outcome_json = if event.is_some() || envelope.idempotency.is_some() {
            match serde_json::to_string(&outcome) {
                Ok(json) => json,
                Err(err) => {
                    replies.push(Err(CommandError::Storage(err.to_string())));
                    continue;
                }
            }
        } else {
            String::new()
        };
        if let Some((event_type, partner_id, user_id)) = event {
            changes.events.push(NewEvent {
                event_id: crate::new_id(now),
                event_type,
                partner_id,
                user_id,
                occurred_at: now,
                outcome_json: outcome_json.clone(),
            });
        }
        if let Some(idempotency) = &envelope.idempotency {
            changes.idempotency.push(NewIdempotency {
                scope: idempotency.scope.clone(),
                key: idempotency.key.clone(),
                fingerprint: idempotency.fingerprint,
                outcome_json,
                created_at: now,
            });
            seen.insert(
                (idempotency.scope.clone(), idempotency.key.clone()),
                StoredIdempotency {
                    fingerprint: idempotency.fingerprint.to_vec(),
                    outcome: outcome.clone(),
                },
            );
        }
        replies.push(Ok(Executed {
            outcome,
            replayed: false,
        }));
    }
    let mut deltas: Vec<(Account, i64)> = state.book.deltas().collect();
    deltas.sort_by_key(|(account, _)| account.key());
    changes.deltas = deltas;
    changes.balls = state.balls_new().to_vec();
    changes.digests = crate::digest::changes(digests, &state.book, &changes.deltas, &changes.balls);
    changes.usage = state
        .usage_changed()
        .map(|(key, usage)| (key.clone(), *usage))
        .collect();
    changes.dedup = state.dedup_new().to_vec();
    changes.steals = state.steals_new().to_vec();
    changes.pledges = state.pledges_new().to_vec();
    changes.species_draws = state.species_draws_new().to_vec();
    changes.feed = state
        .feed_new()
        .iter()
        .map(|note| FeedItem {
            user_id: note.user_id,
            item_id: crate::new_id(note.at),
            kind: note.kind,
            actor_id: note.actor_id,
            ball_id: note.ball_id,
            grams: note.grams,
            at: note.at,
        })
        .collect();
    (changes, replies)
}

/// Parses a stored outcome; a row that no longer parses is a storage fault, not a replay.
pub(crate) fn stored_outcome(json: &str) -> Result<Outcome, String> {
    serde_json::from_str(json).map_err(|err| format!("stored idempotency outcome: {err}"))
}
