//! Lineage: which actions produced the energy that funded a pledge. Energy is spent oldest
//! first: a wallet (and each pot share) is a queue of lots, each lot remembering where its
//! grams came from; spending takes from the front, feeding a pot moves lots along.

use crate::account::Account;
use crate::entry::Entry;
use crate::grams::Grams;
use crate::harvest::WATERING_ACTION;
use crate::ids::{BallId, GroupId, PledgeId, UserId};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Where a lot of energy came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A partner-reported action (its methodology key), through one ball.
    Action { action: String },
    /// A friend's watering.
    Watering,
    /// An audited admin grant.
    Grant,
    /// Anything else (a ledger transfer, or history older than what was kept).
    Other,
}

#[derive(Clone, Debug)]
struct Lot {
    source: Source,
    /// The ball the lot came through, so a ball counts as one action however it was split.
    ball: Option<BallId>,
    grams: u64,
}

/// What funded one holder's part of a pledge, by source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Lineage {
    pub parts: Vec<LineagePart>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LineagePart {
    pub source: Source,
    /// How many actions (balls) contributed.
    pub actions: u64,
    pub grams: Grams,
}

impl Lineage {
    pub fn grams(&self) -> u64 {
        self.parts.iter().map(|part| part.grams.get()).sum()
    }

    /// Adds another holder's lineage (for co-planted pledges).
    pub fn merge(&mut self, other: Lineage) {
        let mut by_source: BTreeMap<Source, (u64, u64)> = BTreeMap::new();
        for part in self.parts.drain(..).chain(other.parts) {
            let totals = by_source.entry(part.source).or_default();
            totals.0 += part.actions;
            totals.1 += part.grams.get();
        }
        self.parts = finish(by_source);
    }
}

fn finish(by_source: BTreeMap<Source, (u64, u64)>) -> Vec<LineagePart> {
    let mut parts: Vec<LineagePart> = by_source
        .into_iter()
        .map(|(source, (actions, grams))| LineagePart {
            source,
            actions,
            grams: Grams::new(grams),
        })
        .collect();
    parts.sort_by(|a, b| b.grams.cmp(&a.grams).then(a.source.cmp(&b.source)));
    parts
}

/// Replays one user's movements (in the order they happened) and answers what funded their
/// part of `pledge_id`. `ball_origins` names the action of each ball that appears.
pub fn lineage_of(
    user_id: UserId,
    entries: &[Entry],
    ball_origins: &HashMap<BallId, String>,
    pledge_id: PledgeId,
) -> Lineage {
    let mut wallet: VecDeque<Lot> = VecDeque::new();
    let mut pots: HashMap<GroupId, VecDeque<Lot>> = HashMap::new();
    let mut spent: Vec<Lot> = Vec::new();
    let wallet_account = Account::Wallet { user_id };
    for entry in entries {
        let grams = entry.grams.get();
        let from_queue = match entry.from {
            account if account == wallet_account => Some(&mut wallet),
            Account::Pot {
                group_id,
                member_id,
            } if member_id == user_id => Some(pots.entry(group_id).or_default()),
            _ => None,
        };
        let taken = match from_queue {
            Some(queue) => take(queue, grams),
            None => vec![origin_lot(&entry.from, ball_origins, grams)],
        };
        match entry.to {
            account if account == wallet_account => wallet.extend(taken),
            Account::Pot {
                group_id,
                member_id,
            } if member_id == user_id => pots.entry(group_id).or_default().extend(taken),
            Account::Pledge {
                user_id: holder,
                pledge_id: pledge,
            } if holder == user_id && pledge == pledge_id => spent.extend(taken),
            // Grams leaving my accounts for elsewhere (watering a friend, another pledge).
            _ => {}
        }
    }
    let mut by_source: BTreeMap<Source, (u64, u64)> = BTreeMap::new();
    let mut balls_seen: HashMap<Source, Vec<BallId>> = HashMap::new();
    for lot in spent {
        let totals = by_source.entry(lot.source.clone()).or_default();
        totals.1 += lot.grams;
        match lot.ball {
            Some(ball) => {
                let seen = balls_seen.entry(lot.source).or_default();
                if !seen.contains(&ball) {
                    seen.push(ball);
                    totals.0 += 1;
                }
            }
            None => totals.0 += 1,
        }
    }
    Lineage {
        parts: finish(by_source),
    }
}

/// Where grams entering my accounts from `from` came from.
fn origin_lot(from: &Account, ball_origins: &HashMap<BallId, String>, grams: u64) -> Lot {
    match from {
        Account::Ball { ball_id, .. } => Lot {
            source: match ball_origins.get(ball_id).map(String::as_str) {
                Some(WATERING_ACTION) => Source::Watering,
                Some(action) => Source::Action {
                    action: action.to_string(),
                },
                None => Source::Other,
            },
            ball: Some(*ball_id),
            grams,
        },
        Account::Issuance { .. } => Lot {
            source: Source::Grant,
            ball: None,
            grams,
        },
        _ => Lot {
            source: Source::Other,
            ball: None,
            grams,
        },
    }
}

/// Takes `grams` from the front of a queue, oldest first. A queue that runs short (history
/// not kept) fills the rest as `Other` rather than inventing a source.
fn take(queue: &mut VecDeque<Lot>, mut grams: u64) -> Vec<Lot> {
    let mut taken = Vec::new();
    while grams > 0 {
        let Some(front) = queue.front_mut() else {
            taken.push(Lot {
                source: Source::Other,
                ball: None,
                grams,
            });
            break;
        };
        let part = front.grams.min(grams);
        taken.push(Lot {
            source: front.source.clone(),
            ball: front.ball,
            grams: part,
        });
        front.grams -= part;
        grams -= part;
        if front.grams == 0 {
            queue.pop_front();
        }
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::entry::EntryKind;
    use crate::ids::EntryId;
    use uuid::Uuid;

    fn entry(at: i64, kind: EntryKind, from: Account, to: Account, grams: u64) -> Entry {
        Entry {
            entry_id: EntryId(Uuid::now_v7()),
            user_id: UserId(Uuid::nil()),
            at: Timestamp(at),
            kind,
            from,
            to,
            grams: Grams::new(grams),
            reference: None,
        }
    }

    #[test]
    fn the_oldest_energy_is_spent_first() {
        let me = UserId(Uuid::now_v7());
        let wallet = Account::Wallet { user_id: me };
        let pledge_id = PledgeId(Uuid::now_v7());
        let pledge = Account::Pledge {
            user_id: me,
            pledge_id,
        };
        let mut origins = HashMap::new();
        let mut entries = Vec::new();
        for n in 0..3 {
            let ball_id = BallId(Uuid::now_v7());
            origins.insert(ball_id, if n < 2 { "metro_ride" } else { "cycling" }.into());
            let ball = Account::Ball {
                user_id: me,
                ball_id,
            };
            entries.push(entry(n, EntryKind::Collect, ball, wallet, 100));
        }
        // 150 g pledged: both metro rides' balls (100 + 50), none of the cycling.
        entries.push(entry(10, EntryKind::Pledge, wallet, pledge, 150));
        let lineage = lineage_of(me, &entries, &origins, pledge_id);
        assert_eq!(
            lineage.parts,
            vec![LineagePart {
                source: Source::Action {
                    action: "metro_ride".into()
                },
                actions: 2,
                grams: Grams::new(150),
            }]
        );
    }

    #[test]
    fn pot_energy_keeps_the_actions_that_fed_it() {
        let me = UserId(Uuid::now_v7());
        let group_id = GroupId(Uuid::now_v7());
        let wallet = Account::Wallet { user_id: me };
        let share = Account::Pot {
            group_id,
            member_id: me,
        };
        let pledge_id = PledgeId(Uuid::now_v7());
        let ball_id = BallId(Uuid::now_v7());
        let origins = HashMap::from([(ball_id, "cycling".to_string())]);
        let ball = Account::Ball {
            user_id: me,
            ball_id,
        };
        let grant = Account::Issuance {
            partner_id: crate::ids::PartnerId::OPERATOR,
        };
        let entries = vec![
            entry(1, EntryKind::Grant, grant, wallet, 30),
            entry(2, EntryKind::Collect, ball, wallet, 70),
            entry(3, EntryKind::PotFeed, wallet, share, 50),
            entry(
                4,
                EntryKind::Pledge,
                share,
                Account::Pledge {
                    user_id: me,
                    pledge_id,
                },
                40,
            ),
        ];
        let lineage = lineage_of(me, &entries, &origins, pledge_id);
        assert_eq!(lineage.grams(), 40);
        assert_eq!(lineage.parts[0].source, Source::Grant);
        assert_eq!(lineage.parts[0].grams, Grams::new(30));
        assert_eq!(
            lineage.parts[1].source,
            Source::Action {
                action: "cycling".into()
            }
        );
        assert_eq!(lineage.parts[1].grams, Grams::new(10));
    }
}
