//! `Quantity` and `Factor`: the exact decimals a methodology multiplies (3.7 km × 74 g/km).

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use thiserror::Error;

/// Thousandths in one unit: quantities and factors keep three decimals, exactly.
pub const MILLI_PER_UNIT: u64 = 1_000;

/// The longest decimal text we read; anything longer is not a plausible quantity.
const DECIMAL_CHARS_MAX: usize = 32;

/// Why a decimal (a reported quantity or a factor in a methodology file) was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum QuantityError {
    #[error("is not a decimal number: {0:?}")]
    NotANumber(String),
    #[error("must be more than zero")]
    Zero,
    #[error("cannot be negative")]
    Negative,
    #[error("has more than 3 decimals")]
    TooManyDecimals,
    #[error("is larger than {max}")]
    TooLarge { max: String },
}

/// How much of its unit an action is worth: `3.7` km, `8000` steps, `1` ride. Always more
/// than zero, at most three decimals, held exactly as thousandths of the unit so that sums
/// and caps never drift the way floating point would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u64);

impl Quantity {
    /// The largest quantity one report may carry: a billion units. No real action comes near
    /// it; the bound keeps every usage sum far inside `u64`.
    pub const MAX: Quantity = Quantity(1_000_000_000 * MILLI_PER_UNIT);

    /// Reads a decimal such as `"3.7"`, `"8000"` or `"0.125"`.
    pub fn parse(raw: &str) -> Result<Quantity, QuantityError> {
        Quantity::from_milli(parse_milli(raw, Quantity::MAX.0)?)
    }

    /// From a JSON or TOML floating-point number. Rust prints an `f64` as the shortest decimal
    /// that reads back to the same number, so `3.7` stays `3.7` and `0.1 + 0.2` is refused.
    pub fn from_f64(value: f64) -> Result<Quantity, QuantityError> {
        Quantity::from_milli(milli_from_f64(value, Quantity::MAX.0)?)
    }

    /// A whole number of units: `Quantity::from_units(8000)` steps.
    pub fn from_units(units: u64) -> Result<Quantity, QuantityError> {
        let milli = units
            .checked_mul(MILLI_PER_UNIT)
            .ok_or_else(|| too_large(Quantity::MAX.0))?;
        Quantity::from_milli(milli)
    }

    /// From thousandths of a unit: `from_milli(3_700)` is 3.7.
    pub fn from_milli(milli: u64) -> Result<Quantity, QuantityError> {
        if milli == 0 {
            return Err(QuantityError::Zero);
        }
        if milli > Quantity::MAX.0 {
            return Err(too_large(Quantity::MAX.0));
        }
        Ok(Quantity(milli))
    }

    /// Thousandths of the unit.
    pub const fn milli(self) -> u64 {
        self.0
    }

    /// Whether the quantity has no decimals (a ride, a pair, a step count).
    pub const fn is_whole(self) -> bool {
        self.0.is_multiple_of(MILLI_PER_UNIT)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_milli(f, self.0)
    }
}

impl Serialize for Quantity {
    /// As a number, the way partners send it: an integer when whole, else a float, which is
    /// exact (every quantity has at most 13 significant digits and an `f64` holds 15).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_milli(self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// From a JSON or TOML number, or a decimal string.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let milli = deserializer.deserialize_any(MilliVisitor {
            max_milli: Quantity::MAX.0,
            what: "a quantity",
        })?;
        Quantity::from_milli(milli).map_err(|e| de::Error::custom(format!("a quantity {e}")))
    }
}

/// A quantity as a methodology file writes it (`quantity_max`, `daily_quantity`), zero
/// allowed so the file checker can refuse it naming the field.
#[derive(Clone, Copy, Debug)]
pub(super) struct QuantityInFile(pub(super) u64);

impl<'de> Deserialize<'de> for QuantityInFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(MilliVisitor {
                max_milli: Quantity::MAX.0,
                what: "a quantity",
            })
            .map(QuantityInFile)
    }
}

/// A conversion factor in grams of CO2e per unit (or per 10,000 steps), with at most three
/// decimals, held exactly as thousandths of a gram. Zero is a valid factor (a bicycle emits
/// nothing); whether zero makes sense is decided where the factor is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Factor(u64);

impl Factor {
    /// The largest factor a methodology may state: one tonne per unit. Far above any real
    /// factor (a car emits about 170 g per km); it catches a misplaced decimal point.
    pub const MAX: Factor = Factor(1_000_000 * MILLI_PER_UNIT);

    /// Reads a decimal such as `"74"` or `"0.5"`.
    pub fn parse(raw: &str) -> Result<Factor, QuantityError> {
        parse_milli(raw, Factor::MAX.0).map(Factor)
    }

    /// From thousandths of a gram: `from_milligrams(52_000)` is 52 g.
    pub fn from_milligrams(milligrams: u64) -> Result<Factor, QuantityError> {
        if milligrams > Factor::MAX.0 {
            return Err(too_large(Factor::MAX.0));
        }
        Ok(Factor(milligrams))
    }

    /// Thousandths of a gram.
    pub const fn milligrams(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_milli(f, self.0)
    }
}

impl Serialize for Factor {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_milli(self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Factor {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(MilliVisitor {
                max_milli: Factor::MAX.0,
                what: "a factor",
            })
            .map(Factor)
    }
}

/// Parses an unsigned decimal with at most three decimals into thousandths. Zero passes; the
/// caller decides whether zero means anything.
fn parse_milli(raw: &str, max_milli: u64) -> Result<u64, QuantityError> {
    if raw.len() > DECIMAL_CHARS_MAX {
        return Err(QuantityError::NotANumber(
            raw.chars().take(DECIMAL_CHARS_MAX).collect::<String>() + "…",
        ));
    }
    let not_a_number = || QuantityError::NotANumber(raw.to_owned());
    let (sign_negative, digits) = match raw.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || fraction.is_some_and(|fraction| !is_digits(fraction)) {
        return Err(not_a_number());
    }
    let fraction = fraction.unwrap_or("");
    if fraction.len() > 3 {
        return Err(QuantityError::TooManyDecimals);
    }
    let all_zero = whole.bytes().chain(fraction.bytes()).all(|b| b == b'0');
    if sign_negative && !all_zero {
        return Err(QuantityError::Negative);
    }
    let whole_units: u64 = whole.parse().map_err(|_| too_large(max_milli))?;
    let fraction_milli = format!("{fraction:0<3}")
        .parse::<u64>()
        .map_err(|_| not_a_number())?;
    let milli = whole_units
        .checked_mul(MILLI_PER_UNIT)
        .and_then(|milli| milli.checked_add(fraction_milli))
        .ok_or_else(|| too_large(max_milli))?;
    if milli > max_milli {
        return Err(too_large(max_milli));
    }
    Ok(milli)
}

fn milli_from_f64(value: f64, max_milli: u64) -> Result<u64, QuantityError> {
    if value.is_nan() {
        return Err(QuantityError::NotANumber("NaN".to_owned()));
    }
    if value == 0.0 {
        return Ok(0);
    }
    if value < 0.0 {
        return Err(QuantityError::Negative);
    }
    if value.is_infinite() {
        return Err(too_large(max_milli));
    }
    // `Display` for f64 never uses an exponent and prints the shortest round-tripping digits.
    let text = value.to_string();
    if text.len() > DECIMAL_CHARS_MAX {
        // Either huge or with a long tail of decimals; tell which.
        return Err(if value >= 1.0 {
            too_large(max_milli)
        } else {
            QuantityError::TooManyDecimals
        });
    }
    parse_milli(&text, max_milli)
}

fn too_large(max_milli: u64) -> QuantityError {
    QuantityError::TooLarge {
        max: MilliText(max_milli).to_string(),
    }
}

fn serialize_milli<S: Serializer>(milli: u64, serializer: S) -> Result<S::Ok, S::Error> {
    if milli.is_multiple_of(MILLI_PER_UNIT) {
        serializer.serialize_u64(milli / MILLI_PER_UNIT)
    } else {
        serializer.serialize_f64(milli_as_f64(milli))
    }
}

fn milli_as_f64(milli: u64) -> f64 {
    // Both operands are exact in f64 (below 2^53), so the division rounds once, to the
    // nearest double of the decimal, which prints back as that decimal.
    milli as f64 / MILLI_PER_UNIT as f64
}

fn write_milli(f: &mut fmt::Formatter<'_>, milli: u64) -> fmt::Result {
    let whole = milli / MILLI_PER_UNIT;
    let fraction = milli % MILLI_PER_UNIT;
    if fraction == 0 {
        return write!(f, "{whole}");
    }
    let fraction = format!("{fraction:03}");
    write!(f, "{whole}.{}", fraction.trim_end_matches('0'))
}

struct MilliText(u64);

impl fmt::Display for MilliText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_milli(f, self.0)
    }
}

/// Reads thousandths from whatever a JSON or TOML document holds: an integer, a float or a
/// decimal string.
struct MilliVisitor {
    max_milli: u64,
    /// What the number is, to begin error messages with: "a factor has more than 3 decimals".
    what: &'static str,
}

impl MilliVisitor {
    fn error<E: de::Error>(&self, error: QuantityError) -> E {
        E::custom(format!("{} {error}", self.what))
    }
}

impl de::Visitor<'_> for MilliVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number with at most 3 decimals")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<u64, E> {
        value
            .checked_mul(MILLI_PER_UNIT)
            .filter(|milli| *milli <= self.max_milli)
            .ok_or_else(|| self.error(too_large(self.max_milli)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<u64, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(self.error(QuantityError::Negative)),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<u64, E> {
        milli_from_f64(value, self.max_milli).map_err(|e| self.error(e))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<u64, E> {
        parse_milli(value, self.max_milli).map_err(|e| self.error(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_keep_three_decimals_exactly() {
        let cases = [
            ("3.7", 3_700),
            ("0.125", 125),
            ("8000", 8_000_000),
            ("2.50", 2_500),
        ];
        for (text, milli) in cases {
            assert_eq!(
                Quantity::parse(text).map(Quantity::milli),
                Ok(milli),
                "{text}"
            );
        }
        assert_eq!(Quantity::from_f64(3.7).map(Quantity::milli), Ok(3_700));
        assert_eq!(Quantity::from_f64(0.001).map(Quantity::milli), Ok(1));
        assert_eq!(
            Quantity::from_f64(999_999_999.999).map(Quantity::milli),
            Ok(999_999_999_999)
        );
        assert_eq!(
            Quantity::from_milli(3_700).map(|q| q.to_string()),
            Ok("3.7".into())
        );
        assert_eq!(
            Quantity::from_milli(125).map(|q| q.to_string()),
            Ok("0.125".into())
        );
        assert_eq!(
            Quantity::from_units(15).map(|q| q.to_string()),
            Ok("15".into())
        );
    }

    #[test]
    fn quantities_read_from_documents_keep_their_decimals() {
        #[derive(Deserialize, Serialize)]
        struct Report {
            quantity: Quantity,
        }
        for (text, milli) in [
            ("quantity = 3.7", 3_700),
            ("quantity = 12", 12_000),
            ("quantity = \"0.005\"", 5),
        ] {
            let report: Result<Report, _> = toml::from_str(text);
            assert_eq!(
                report.map(|r| r.quantity.milli()).ok(),
                Some(milli),
                "{text}"
            );
        }
        for (milli, text) in [(3_701, "quantity = 3.701\n"), (12_000, "quantity = 12\n")] {
            let written = toml::to_string(&Report {
                quantity: Quantity(milli),
            });
            assert_eq!(written.ok().as_deref(), Some(text));
        }
    }

    #[test]
    fn zero_negative_and_malformed_quantities_are_refused_with_the_reason() {
        assert_eq!(Quantity::parse("0"), Err(QuantityError::Zero));
        assert_eq!(Quantity::parse("0.000"), Err(QuantityError::Zero));
        assert_eq!(Quantity::from_f64(0.0), Err(QuantityError::Zero));
        assert_eq!(Quantity::from_f64(-0.0), Err(QuantityError::Zero));
        assert_eq!(Quantity::parse("-2"), Err(QuantityError::Negative));
        assert_eq!(Quantity::from_f64(-2.5), Err(QuantityError::Negative));
        assert_eq!(
            Quantity::from_f64(f64::NAN),
            Err(QuantityError::NotANumber("NaN".into()))
        );
        assert_eq!(
            Quantity::parse("1.2345"),
            Err(QuantityError::TooManyDecimals)
        );
        assert_eq!(
            Quantity::from_f64(0.1 + 0.2),
            Err(QuantityError::TooManyDecimals)
        );
        assert_eq!(
            Quantity::from_f64(1e-9),
            Err(QuantityError::TooManyDecimals)
        );
        for text in ["", ".5", "5.", "1e3", "+1", " 1", "1,5", "abc", "1.2.3"] {
            assert_eq!(
                Quantity::parse(text),
                Err(QuantityError::NotANumber(text.into())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn absurdly_large_quantities_are_refused() {
        let too_large = Err(QuantityError::TooLarge {
            max: "1000000000".into(),
        });
        assert_eq!(Quantity::parse("1000000000.001"), too_large);
        assert_eq!(Quantity::parse("99999999999999999999999"), too_large);
        assert_eq!(Quantity::from_f64(1e21), too_large);
        assert_eq!(Quantity::from_f64(f64::INFINITY), too_large);
        assert_eq!(Quantity::from_units(u64::MAX), too_large);
        assert!(Quantity::parse("1000000000").is_ok());
    }

    #[test]
    fn factors_may_be_zero_but_not_above_a_tonne_per_unit() {
        assert_eq!(Factor::parse("0").map(Factor::is_zero), Ok(true));
        assert_eq!(Factor::parse("96").map(Factor::milligrams), Ok(96_000));
        assert_eq!(
            Factor::parse("0.5").map(|f| f.to_string()),
            Ok("0.5".into())
        );
        assert_eq!(
            Factor::parse("1000000.001"),
            Err(QuantityError::TooLarge {
                max: "1000000".into()
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn every_quantity_prints_and_reads_back_the_same(milli in 1..=Quantity::MAX.0) {
            let quantity = Quantity::from_milli(milli)?;
            proptest::prop_assert_eq!(Quantity::parse(&quantity.to_string()), Ok(quantity));
            proptest::prop_assert_eq!(Quantity::from_f64(milli_as_f64(milli)), Ok(quantity));
        }
    }
}
