//! Props in force, as a steal sees them: the owner's shield, the thief's double-collect card and
//! steal multiplier. Using a prop moves no energy; the writer loads the effects of both users
//! with the steal and decides it here, so a card raised a moment ago counts.

use crate::clock::Timestamp;
use crate::ids::UserId;
use serde::Serialize;

pub const SHIELD: &str = "shield";
pub const DOUBLE_COLLECT: &str = "double_collect";
pub const STEAL_MULTIPLIER: &str = "steal_multiplier";
/// Every kind of prop.
pub const KINDS: [&str; 3] = [SHIELD, DOUBLE_COLLECT, STEAL_MULTIPLIER];

/// A prop a user raised: its kind and the window it is up in (`multiplier_permille` for a
/// steal multiplier: 1500 = ×1.5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PropEffect {
    pub user_id: UserId,
    pub kind: String,
    pub active_from: Timestamp,
    pub active_until: Timestamp,
    pub multiplier_permille: u32,
}

impl PropEffect {
    fn is_up(&self, at: Timestamp) -> bool {
        self.active_from <= at && at < self.active_until
    }
}

/// Props that change a steal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StealProps {
    /// The owner's shield, `(from, until)`: a ball that ripened under it, or any ball while it
    /// is up, cannot be stolen.
    pub owner_shield: Option<(Timestamp, Timestamp)>,
    /// The thief's double-collect card is up: a second take from the same ball is allowed.
    pub double_collect: bool,
    /// The thief's steal multiplier in thousandths (1000: none; 1500: ×1.5).
    pub multiplier_permille: u32,
}

impl Default for StealProps {
    fn default() -> Self {
        StealProps {
            owner_shield: None,
            double_collect: false,
            multiplier_permille: 1_000,
        }
    }
}

impl StealProps {
    /// What the owner's and the thief's effects mean for a steal at `at`: the owner's shield
    /// whenever it was raised (`shielded` checks its window against the ball), the thief's
    /// cards if they are up at `at`.
    pub fn in_force(owner: &[PropEffect], thief: &[PropEffect], at: Timestamp) -> StealProps {
        let mut props = StealProps::default();
        for effect in owner.iter().filter(|effect| effect.kind == SHIELD) {
            props.owner_shield = Some((effect.active_from, effect.active_until));
        }
        for effect in thief.iter().filter(|effect| effect.is_up(at)) {
            match effect.kind.as_str() {
                DOUBLE_COLLECT => props.double_collect = true,
                STEAL_MULTIPLIER => props.multiplier_permille = effect.multiplier_permille,
                _ => {}
            }
        }
        props
    }

    pub(crate) fn shields(&self, ripens_at: Timestamp, at: Timestamp) -> bool {
        shielded(self.owner_shield, ripens_at, at)
    }
}

/// Whether the owner's shield `(from, until)` protects a ball that ripens at `ripens_at` from a
/// steal at `at`: any ball while the shield is up, and a ball that ripened under it for good.
pub fn shielded(
    shield: Option<(Timestamp, Timestamp)>,
    ripens_at: Timestamp,
    at: Timestamp,
) -> bool {
    shield.is_some_and(|(from, until)| {
        (from <= at && at < until) || (from <= ripens_at && ripens_at < until)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn effect(user: u128, kind: &str, from: i64, until: i64, multiplier: u32) -> PropEffect {
        PropEffect {
            user_id: UserId(Uuid::from_u128(user)),
            kind: kind.into(),
            active_from: Timestamp(from),
            active_until: Timestamp(until),
            multiplier_permille: multiplier,
        }
    }

    #[test]
    fn a_thiefs_cards_count_only_while_they_are_up_and_the_owners_shield_always_reaches_the_ball() {
        let owner = [effect(1, SHIELD, 0, 100, 0)];
        let thief = [
            effect(2, DOUBLE_COLLECT, 50, 150, 0),
            effect(2, STEAL_MULTIPLIER, 0, 60, 1_500),
        ];
        let early = StealProps::in_force(&owner, &thief, Timestamp(55));
        assert_eq!(early.owner_shield, Some((Timestamp(0), Timestamp(100))));
        assert!(early.double_collect);
        assert_eq!(early.multiplier_permille, 1_500);
        let late = StealProps::in_force(&owner, &thief, Timestamp(120));
        assert_eq!(late.owner_shield, Some((Timestamp(0), Timestamp(100))));
        assert!(late.double_collect);
        assert_eq!(late.multiplier_permille, 1_000);
        // A shield over the ball's ripening protects it after the shield is down.
        assert!(late.shields(Timestamp(90), Timestamp(120)));
        assert!(!late.shields(Timestamp(110), Timestamp(120)));
        // A card the owner holds does nothing for a thief.
        let swapped = StealProps::in_force(&thief, &owner, Timestamp(55));
        assert_eq!(swapped, StealProps::default());
    }
}
