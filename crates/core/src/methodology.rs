//! The methodology: the published, versioned rules that turn reported actions into grams of
//! CO2e avoided, with their caps, dedup, ripening and sources. Pure: time is passed in.
//!
//! A methodology is a TOML file, read and checked by `Methodology::parse`:
//!
//! ```toml
//! name = "classic"
//! version = 1
//!
//! [[action]]
//! key = "metro_ride"
//! title = "Metro ride"
//! unit = "ride"
//! grams_per_unit = 52                  # or baseline_grams_per_unit + mode_grams_per_unit,
//!                                      # or grams_per_10000_steps (unit = "steps")
//! quantity_max = 1                     # optional: the most one report may carry
//! caps = { daily_actions = 5 }         # daily_/monthly_ actions, quantity, grams
//! ripening = "next_morning"            # default; or "instant", or { delay_minutes = 30 }
//! source = { citation = "…", url = "https://…" }
//! ```
//!
//! Also per action: `fractional = true` (quantities may have decimals, for km and kg; whole
//! units otherwise), `dedup = { key = "household", per = "month" }` and `enabled = false` (an
//! action whose factor is not sourced yet; it may then omit the grams and is never credited).

mod calendar;
mod caps;
mod dedup;
mod file;
mod quantity;
mod ripening;
mod rule;
#[cfg(test)]
mod tests;

pub use calendar::{DayKey, MonthKey, Tz, UnknownTimezone, day_key, month_key, parse_timezone};
pub use caps::{CapApplied, CapDecision, Caps, Usage, UsageSoFar};
pub use dedup::{DEDUP_VALUE_CHARS_MAX, DedupKey, DedupPeriod, DedupRule, DedupStatus};
pub use file::{ACTIONS_MAX, METHODOLOGY_BYTES_MAX, MethodologyError};
pub use quantity::{Factor, MILLI_PER_UNIT, Quantity, QuantityError};
pub use ripening::{
    BALL_LIFETIME_MS, DEFAULT_RIPENING_LOCAL_TIME, DELAY_MINUTES_MAX, InvalidLocalTime, Ripening,
    expires_at, parse_local_time,
};
pub use rule::{ActionError, ActionKey, ActionRule, GramsRule, InvalidActionKey, Source, Unit};

use serde::Serialize;

/// A checked methodology: a name, a version that every ball records, and its action types in
/// file order. Built only by `parse`, so every action has a unique key and a source, and every
/// enabled action a positive grams rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Methodology {
    name: String,
    version: u32,
    actions: Vec<ActionRule>,
}

impl Methodology {
    /// Reads and checks a methodology file. A file that cannot be used is refused with the line
    /// to fix and the reason: TOML syntax, unknown fields, a missing source, a zero factor, a
    /// mode at or above its baseline, a duplicate key, an unknown ripening, a zero cap…
    pub fn parse(text: &str) -> Result<Methodology, MethodologyError> {
        file::parse(text)
    }

    /// A shipped preset: `classic` (Ant Forest's published values) or `transport-km` (UK
    /// government 2022 factors per passenger-km).
    pub fn preset(name: &str) -> Option<Methodology> {
        Methodology::preset_text(name).and_then(|text| Methodology::parse(text).ok())
    }

    /// The TOML of a shipped preset, for an operator to start their own from.
    pub fn preset_text(name: &str) -> Option<&'static str> {
        match name {
            "classic" => Some(include_str!("../methodologies/classic.toml")),
            "transport-km" => Some(include_str!("../methodologies/transport-km.toml")),
            _ => None,
        }
    }

    /// The names `preset` knows.
    pub fn preset_names() -> &'static [&'static str] {
        &["classic", "transport-km"]
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    /// The action types, in file order.
    pub fn actions(&self) -> &[ActionRule] {
        &self.actions
    }

    /// The action type a report names, enabled or not.
    pub fn action(&self, key: &str) -> Option<&ActionRule> {
        self.actions
            .iter()
            .find(|action| action.key.as_str() == key)
    }
}
