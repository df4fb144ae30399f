//! One action type of a methodology (`ActionRule`) and how it turns a quantity into grams.

use super::caps::Caps;
use super::dedup::DedupRule;
use super::quantity::{Factor, MILLI_PER_UNIT, Quantity};
use super::ripening::Ripening;
use crate::clock::Timestamp;
use crate::grams::Grams;
use chrono::NaiveTime;
use chrono_tz::Tz;
use serde::Serialize;
use std::fmt;
use thiserror::Error;

/// The longest action key; keys travel in every partner report and every ball.
pub const ACTION_KEY_CHARS_MAX: usize = 40;
/// The longest unit name (`km`, `steps`, `appointment`).
pub const UNIT_CHARS_MAX: usize = 20;

/// Names an action type in reports, balls and caps: 1 to 40 characters of `a-z`, `0-9`, `_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ActionKey(String);

#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("an action key is 1 to 40 characters of a-z, 0-9 and '_', got {0:?}")]
pub struct InvalidActionKey(pub String);

impl ActionKey {
    pub fn parse(raw: &str) -> Result<ActionKey, InvalidActionKey> {
        if is_identifier(raw, ACTION_KEY_CHARS_MAX) {
            Ok(ActionKey(raw.to_owned()))
        } else {
            Err(InvalidActionKey(raw.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ActionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What one unit of quantity is: `ride`, `km`, `pair`, `kg`, `steps`… (1 to 20 characters of
/// `a-z`, `0-9`, `_`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Unit(String);

impl Unit {
    /// `None` unless `raw` is 1 to 20 characters of `a-z`, `0-9`, `_`.
    pub fn parse(raw: &str) -> Option<Unit> {
        is_identifier(raw, UNIT_CHARS_MAX).then(|| Unit(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub(super) fn is_identifier(raw: &str, chars_max: usize) -> bool {
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
    (1..=chars_max).contains(&raw.len()) && raw.bytes().all(allowed)
}

/// Where a factor comes from. Every action carries one: a methodology is published with its
/// sources so anyone can check the grams.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    pub citation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// How a quantity becomes grams of CO2e avoided. All arithmetic is exact (thousandths in
/// `u128`); the result is floored to whole grams. Serialized with the field names of the
/// methodology file, which tell the variants apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum GramsRule {
    /// A fixed amount per unit: 52 g per metro ride.
    PerUnit { grams_per_unit: Factor },
    /// A mode shift: avoided = (baseline − mode) × quantity, e.g. an average car at 170 g per
    /// passenger-km against a bus at 96. The baseline is always above the mode.
    ModeShift {
        baseline_grams_per_unit: Factor,
        mode_grams_per_unit: Factor,
    },
    /// Proportional to a step count: `grams_per_10000_steps` × steps / 10,000.
    Steps { grams_per_10000_steps: Factor },
}

const STEPS_PER_FACTOR: u128 = 10_000;

impl GramsRule {
    /// Grams avoided by `quantity_milli` thousandths of a unit, rounded down. Zero quantity
    /// gives zero grams; the cap logic relies on that.
    pub(super) fn grams_floor(&self, quantity_milli: u64) -> u128 {
        let milli_per_unit = u128::from(MILLI_PER_UNIT);
        let quantity_milli = u128::from(quantity_milli);
        // milligrams per unit × thousandths of a unit = millionths of a gram.
        let (factor_milligrams, per_units) = match *self {
            GramsRule::PerUnit { grams_per_unit } => (grams_per_unit.milligrams(), 1),
            GramsRule::ModeShift {
                baseline_grams_per_unit,
                mode_grams_per_unit,
            } => (
                baseline_grams_per_unit
                    .milligrams()
                    .saturating_sub(mode_grams_per_unit.milligrams()),
                1,
            ),
            GramsRule::Steps {
                grams_per_10000_steps,
            } => (grams_per_10000_steps.milligrams(), STEPS_PER_FACTOR),
        };
        u128::from(factor_milligrams) * quantity_milli
            / (milli_per_unit * milli_per_unit * per_units)
    }
}

/// One action type of a methodology: what a report of it is worth, how often it counts, and
/// when its ball ripens. Built only by `Methodology::parse`, which checks that an enabled
/// action always has a grams rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActionRule {
    pub(super) key: ActionKey,
    pub(super) title: String,
    pub(super) unit: Unit,
    /// `None` only for a disabled action whose factor the operator has yet to source.
    pub(super) grams: Option<GramsRule>,
    /// Whether quantities may have decimals (km, kg); otherwise whole units only.
    pub(super) fractional: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) quantity_max: Option<Quantity>,
    pub(super) caps: Caps,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) dedup: Option<DedupRule>,
    pub(super) ripening: Ripening,
    pub(super) enabled: bool,
    pub(super) source: Source,
}

/// Why a reported action cannot be credited at all. (An action that is valid but capped is
/// not an error: see `CapDecision`.)
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ActionError {
    #[error("action `{key}` is disabled in this methodology")]
    Disabled { key: ActionKey },
    #[error("{unit} are counted in whole units, got {quantity}")]
    FractionalQuantity { quantity: Quantity, unit: Unit },
    #[error("{quantity} {unit} is more than one report may carry ({max} {unit}): implausible")]
    AboveQuantityMax {
        quantity: Quantity,
        max: Quantity,
        unit: Unit,
    },
    #[error("{quantity} {unit} is worth less than 1 g")]
    LessThanOneGram { quantity: Quantity, unit: Unit },
    #[error("{quantity} {unit} is worth more than one ledger entry may move")]
    AboveMaxMovement { quantity: Quantity, unit: Unit },
    #[error(
        "action `{key}` counts once per {dedup_key} and {per}: the report must name its {dedup_key}"
    )]
    DedupValueMissing {
        key: ActionKey,
        dedup_key: String,
        per: &'static str,
    },
    #[error("{dedup_key}: {reason}")]
    InvalidDedupValue {
        dedup_key: String,
        reason: &'static str,
    },
}

impl ActionRule {
    pub fn key(&self) -> &ActionKey {
        &self.key
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn unit(&self) -> &Unit {
        &self.unit
    }

    /// How grams are computed; `None` only for a disabled action without a factor.
    pub fn grams_rule(&self) -> Option<&GramsRule> {
        self.grams.as_ref()
    }

    pub fn is_fractional(&self) -> bool {
        self.fractional
    }

    pub fn quantity_max(&self) -> Option<Quantity> {
        self.quantity_max
    }

    pub fn caps(&self) -> &Caps {
        &self.caps
    }

    pub fn dedup(&self) -> Option<&DedupRule> {
        self.dedup.as_ref()
    }

    pub fn ripening(&self) -> Ripening {
        self.ripening
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The grams one report of `quantity` is worth, before caps.
    ///
    /// Refused: a disabled action; decimals on a whole-unit action; a quantity above
    /// `quantity_max` (e.g. more than 100,000 steps); a quantity worth less than 1 g after
    /// rounding down (no ball of 0 g is ever made, and rounding up would pay for dust); and
    /// anything above `Grams::MAX_MOVEMENT`.
    pub fn grams_for(&self, quantity: Quantity) -> Result<Grams, ActionError> {
        let rule = self.credit_rule()?;
        if !self.fractional && !quantity.is_whole() {
            return Err(ActionError::FractionalQuantity {
                quantity,
                unit: self.unit.clone(),
            });
        }
        if let Some(max) = self.quantity_max
            && quantity > max
        {
            return Err(ActionError::AboveQuantityMax {
                quantity,
                max,
                unit: self.unit.clone(),
            });
        }
        let grams = rule.grams_floor(quantity.milli());
        if grams == 0 {
            return Err(ActionError::LessThanOneGram {
                quantity,
                unit: self.unit.clone(),
            });
        }
        u64::try_from(grams)
            .ok()
            .map(Grams::new)
            .filter(|grams| *grams <= Grams::MAX_MOVEMENT)
            .ok_or_else(|| ActionError::AboveMaxMovement {
                quantity,
                unit: self.unit.clone(),
            })
    }

    /// When the ball for an action reported at `reported_at` ripens; see `Ripening::ripens_at`.
    pub fn ripens_at(
        &self,
        reported_at: Timestamp,
        tz: Tz,
        ripening_local_time: NaiveTime,
    ) -> Timestamp {
        self.ripening
            .ripens_at(reported_at, tz, ripening_local_time)
    }

    /// The grams rule of an action that may be credited.
    pub(super) fn credit_rule(&self) -> Result<&GramsRule, ActionError> {
        match (self.enabled, &self.grams) {
            (true, Some(rule)) => Ok(rule),
            _ => Err(ActionError::Disabled {
                key: self.key.clone(),
            }),
        }
    }
}
