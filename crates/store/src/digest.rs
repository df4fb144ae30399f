//! The forest digest: per user, the balls that still hold energy, in one short row the writer
//! keeps in the same transaction as every change to them. A forest home reads one digest per
//! friend (1,000 short rows for a user with 1,000 friends) instead of joining some 4,000 balls
//! to their 4,000 balance rows. The digest is derived data: `openforest verify` rebuilds every
//! one from the balls and balances and reports any that differ.
//!
//! The stored form is one fixed-width record per ball, in `(ripens_at, ball_id)` order:
//! the ball id's 16 bytes, then its size, what it still holds, when it ripens and when it
//! expires (milliseconds), each a big-endian `i64`. Migrations build the same bytes in SQL.

use crate::batch::DigestChange;
use openforest_core::{Account, Ball, BallId, Book, Grams, Timestamp, UserId};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Bytes per ball in the stored form.
pub const RECORD_BYTES: usize = 48;

/// One ball as a friend's forest home needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestBall {
    pub ball_id: BallId,
    /// What the ball held when it was made.
    pub grams: Grams,
    /// What it holds now (never zero in a digest).
    pub remaining: Grams,
    pub ripens_at: Timestamp,
    pub expires_at: Timestamp,
}

impl DigestBall {
    /// The ball as a digest lists it, holding `remaining`.
    pub fn of(ball: &Ball, remaining: Grams) -> DigestBall {
        DigestBall {
            ball_id: ball.ball_id,
            grams: ball.grams,
            remaining,
            ripens_at: ball.ripens_at,
            expires_at: ball.expires_at,
        }
    }

    fn order(&self) -> (Timestamp, BallId) {
        (self.ripens_at, self.ball_id)
    }
}

/// One user's balls that still hold energy, ripening or ripe.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForestDigest {
    balls: Vec<DigestBall>,
}

impl ForestDigest {
    /// The digest of these balls: those that hold nothing are left out.
    pub fn of(balls: impl IntoIterator<Item = DigestBall>) -> ForestDigest {
        let mut balls: Vec<DigestBall> = balls
            .into_iter()
            .filter(|ball| ball.remaining > Grams::ZERO)
            .collect();
        balls.sort_by_key(DigestBall::order);
        ForestDigest { balls }
    }

    /// This digest with another's balls added (seeding adds balls to users who may have some).
    pub fn merged(self, other: ForestDigest) -> ForestDigest {
        ForestDigest::of(self.balls.into_iter().chain(other.balls))
    }

    pub fn balls(&self) -> &[DigestBall] {
        &self.balls
    }

    pub fn is_empty(&self) -> bool {
        self.balls.is_empty()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.balls.len() * RECORD_BYTES);
        for ball in &self.balls {
            bytes.extend_from_slice(ball.ball_id.uuid().as_bytes());
            for number in [
                ball.grams.as_i64(),
                ball.remaining.as_i64(),
                ball.ripens_at.millis(),
                ball.expires_at.millis(),
            ] {
                bytes.extend_from_slice(&number.to_be_bytes());
            }
        }
        bytes
    }

    pub fn decode(bytes: &[u8]) -> Result<ForestDigest, String> {
        if !bytes.len().is_multiple_of(RECORD_BYTES) {
            return Err(format!(
                "a forest digest of {} bytes is not a whole number of {RECORD_BYTES}-byte balls",
                bytes.len()
            ));
        }
        let balls = bytes
            .chunks_exact(RECORD_BYTES)
            .map(|record| {
                let (id, numbers) = record.split_at(16);
                let number = |n: usize| {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(&numbers[n * 8..n * 8 + 8]);
                    i64::from_be_bytes(be)
                };
                let grams = |n: usize| {
                    u64::try_from(number(n))
                        .map(Grams::new)
                        .map_err(|_| format!("negative grams in a forest digest: {}", number(n)))
                };
                Ok(DigestBall {
                    ball_id: BallId(Uuid::from_slice(id).map_err(|err| err.to_string())?),
                    grams: grams(0)?,
                    remaining: grams(1)?,
                    ripens_at: Timestamp(number(2)),
                    expires_at: Timestamp(number(3)),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ForestDigest { balls })
    }

    /// Sets what a ball of the digest holds now (a ball left empty leaves the digest).
    /// `false` when the digest does not list the ball.
    fn set_remaining(&mut self, ball_id: BallId, remaining: Grams) -> bool {
        let Some(at) = self.balls.iter().position(|ball| ball.ball_id == ball_id) else {
            return false;
        };
        if remaining == Grams::ZERO {
            self.balls.remove(at);
        } else {
            self.balls[at].remaining = remaining;
        }
        true
    }

    fn insert(&mut self, ball: DigestBall) {
        let at = self
            .balls
            .partition_point(|held| held.order() < ball.order());
        self.balls.insert(at, ball);
    }
}

/// What a batch changes in the digests of the owners of the balls it moved energy in or out
/// of, from their digests as loaded (`loaded` has an entry, empty when no row exists, for every
/// owner the batch planned for). An owner whose digest does not know a ball it should, or who
/// was not planned for, is rebuilt from the balls and balances instead: the digest can only
/// ever be repaired by a write, never trusted over the ledger.
pub(crate) fn changes(
    mut loaded: HashMap<UserId, ForestDigest>,
    book: &Book,
    deltas: &[(Account, i64)],
    new_balls: &[Ball],
) -> Vec<DigestChange> {
    let mut moved: BTreeMap<UserId, Vec<BallId>> = BTreeMap::new();
    for (account, change) in deltas {
        if let Account::Ball { user_id, ball_id } = account
            && *change != 0
        {
            moved.entry(*user_id).or_default().push(*ball_id);
        }
    }
    let made: HashMap<BallId, &Ball> = new_balls.iter().map(|ball| (ball.ball_id, ball)).collect();
    let mut changes = Vec::with_capacity(moved.len());
    for (owner, balls) in moved {
        let Some(mut digest) = loaded.remove(&owner) else {
            changes.push(DigestChange::Rebuild(owner));
            continue;
        };
        let mut known = true;
        for ball_id in balls {
            let remaining = book.balance(&Account::Ball {
                user_id: owner,
                ball_id,
            });
            if digest.set_remaining(ball_id, remaining) {
                continue;
            }
            match made.get(&ball_id) {
                Some(ball) => {
                    if remaining > Grams::ZERO {
                        digest.insert(DigestBall::of(ball, remaining));
                    }
                }
                None => known = false,
            }
        }
        changes.push(if !known {
            DigestChange::Rebuild(owner)
        } else if digest.is_empty() {
            DigestChange::Delete(owner)
        } else {
            DigestChange::Write(owner, digest.encode())
        });
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use openforest_core::{Entry, EntryId, EntryKind, PartnerId};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn ball(n: u128, grams: u64, remaining: u64, ripens: i64) -> DigestBall {
        DigestBall {
            ball_id: BallId(id(n)),
            grams: Grams::new(grams),
            remaining: Grams::new(remaining),
            ripens_at: Timestamp(ripens),
            expires_at: Timestamp(ripens + 72 * 3_600_000),
        }
    }

    #[test]
    fn a_digest_reads_back_what_it_wrote_in_ripening_order() {
        let digest = ForestDigest::of([
            ball(2, 300, 120, 2_000),
            ball(1, 50, 50, 1_000),
            ball(3, 10, 0, 500),
        ]);
        assert_eq!(
            digest.balls(),
            &[ball(1, 50, 50, 1_000), ball(2, 300, 120, 2_000)]
        );
        let bytes = digest.encode();
        assert_eq!(bytes.len(), 2 * RECORD_BYTES);
        assert_eq!(&bytes[..16], id(1).as_bytes());
        assert_eq!(&bytes[16..24], &50i64.to_be_bytes());
        assert_eq!(ForestDigest::decode(&bytes), Ok(digest));
    }

    #[test]
    fn a_torn_or_negative_digest_is_refused() {
        let bytes = ForestDigest::of([ball(1, 50, 50, 1_000)]).encode();
        assert!(ForestDigest::decode(&bytes[..47]).is_err());
        let mut negative = bytes.clone();
        negative[24..32].copy_from_slice(&(-5i64).to_be_bytes());
        assert!(ForestDigest::decode(&negative).is_err());
    }

    fn post(book: &mut Book, owner: UserId, ball: u128, to_wallet: u64) {
        let entry = Entry {
            entry_id: EntryId(Uuid::now_v7()),
            user_id: owner,
            at: Timestamp(0),
            kind: EntryKind::Collect,
            from: Account::Ball {
                user_id: owner,
                ball_id: BallId(id(ball)),
            },
            to: Account::Wallet { user_id: owner },
            grams: Grams::new(to_wallet),
            reference: None,
        };
        let result = book.post(&[entry]);
        assert!(result.is_ok(), "{result:?}");
    }

    #[test]
    fn the_writer_updates_empties_adds_and_repairs_digests() {
        let (owner, other) = (UserId(id(100)), UserId(id(200)));
        let account = |user_id, n| Account::Ball {
            user_id,
            ball_id: BallId(id(n)),
        };
        let mut book = Book::new();
        book.load(account(owner, 1), 50);
        book.load(account(owner, 2), 300);
        book.load(account(other, 9), 40);
        post(&mut book, owner, 1, 50);
        post(&mut book, owner, 2, 90);
        post(&mut book, other, 9, 10);
        let new_ball = Ball {
            ball_id: BallId(id(3)),
            user_id: owner,
            grams: Grams::new(70),
            ripens_at: Timestamp(3_000),
            expires_at: Timestamp(3_000 + 72 * 3_600_000),
            partner_id: PartnerId(id(7)),
            action: "walking".into(),
            methodology: "classic".into(),
            methodology_version: 1,
            created_at: Timestamp(0),
        };
        let credit = Entry {
            entry_id: EntryId(Uuid::now_v7()),
            user_id: owner,
            at: Timestamp(0),
            kind: EntryKind::Action,
            from: Account::Issuance {
                partner_id: PartnerId(id(7)),
            },
            to: account(owner, 3),
            grams: Grams::new(70),
            reference: None,
        };
        assert!(book.post(&[credit]).is_ok());
        let mut deltas: Vec<(Account, i64)> = book.deltas().collect();
        deltas.sort_by_key(|(account, _)| account.key());
        // The owner's digest lists both old balls; the other user's digest is missing a ball.
        let loaded = HashMap::from([
            (
                owner,
                ForestDigest::of([ball(1, 50, 50, 1_000), ball(2, 300, 300, 2_000)]),
            ),
            (other, ForestDigest::default()),
        ]);
        let changes = changes(loaded, &book, &deltas, std::slice::from_ref(&new_ball));
        let expected = ForestDigest::of([ball(2, 300, 210, 2_000), ball(3, 70, 70, 3_000)]);
        assert_eq!(
            changes,
            vec![
                DigestChange::Write(owner, expected.encode()),
                DigestChange::Rebuild(other),
            ]
        );
    }
}
