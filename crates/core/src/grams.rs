//! `Grams`: the unit of green energy (grams of CO2e avoided).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Grams of CO2e avoided. Always a whole, non-negative number.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Grams(u64);

impl Grams {
    pub const ZERO: Grams = Grams(0);
    /// The largest amount one journal entry may move: 1,000 tonnes. Keeping single movements
    /// this small lets every sum over a ledger of billions of entries fit in an `i64`.
    pub const MAX_MOVEMENT: Grams = Grams(1_000_000_000_000);

    pub const fn new(grams: u64) -> Self {
        Grams(grams)
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    pub fn checked_add(self, other: Grams) -> Option<Grams> {
        self.0.checked_add(other.0).map(Grams)
    }

    pub fn checked_sub(self, other: Grams) -> Option<Grams> {
        self.0.checked_sub(other.0).map(Grams)
    }

    /// As a signed amount for balance arithmetic; `MAX_MOVEMENT` keeps this lossless for any
    /// amount that passed validation.
    pub fn as_i64(self) -> i64 {
        i64::try_from(self.0).unwrap_or(i64::MAX)
    }
}

impl fmt::Display for Grams {
    /// Shows kilograms above 1,000 g, as the product asks.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 >= 1_000 {
            let kg = self.0 / 1_000;
            let rest = (self.0 % 1_000) / 10;
            write!(f, "{kg}.{rest:02} kg")
        } else {
            write!(f, "{} g", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_above_a_kilogram_is_shown_in_kilograms() {
        assert_eq!(Grams::new(999).to_string(), "999 g");
        assert_eq!(Grams::new(17_900).to_string(), "17.90 kg");
        assert_eq!(Grams::new(1_005).to_string(), "1.00 kg");
    }

    #[test]
    fn subtraction_below_zero_is_refused() {
        assert_eq!(Grams::new(3).checked_sub(Grams::new(4)), None);
        assert_eq!(
            Grams::new(4).checked_sub(Grams::new(3)),
            Some(Grams::new(1))
        );
    }
}
