//! Dedup: actions that count once per something per period, across users (one utility bill
//! per household account per month, however many family members report paying it).

use super::calendar::{Tz, day_key, month_key};
use super::rule::{ActionError, ActionRule};
use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest dedup value a report may carry (a household account number, a meter id).
pub const DEDUP_VALUE_CHARS_MAX: usize = 100;

/// The period a dedup key lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupPeriod {
    Day,
    Month,
}

impl DedupPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            DedupPeriod::Day => "day",
            DedupPeriod::Month => "month",
        }
    }
}

/// `dedup = { key = "household", per = "month" }`: the action counts once per value of
/// `key` (which the report must carry) per local `per`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DedupRule {
    /// What the value names, e.g. `household`; 1 to 40 characters of `a-z`, `0-9`, `_`.
    pub(super) key: String,
    pub(super) per: DedupPeriod,
}

impl DedupRule {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn per(&self) -> DedupPeriod {
        self.per
    }
}

/// The key the ledger writer stores, unique, with every credit of a deduplicated action:
/// `utility_bill/household/2026-11/ACC-1234`. It holds the action key, the dedup key name, the
/// local period and the reported value (last, so a `/` inside it stays unambiguous).
///
/// It is deliberately not scoped by partner or user: one household paying one bill through
/// two apps is still one household. Partners should send values that are unique across
/// partners, e.g. the biller's id and the account number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DedupKey(String);

impl DedupKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key as the store kept it (made by `ActionRule::dedup_key` before it was stored).
    pub fn from_stored(key: String) -> DedupKey {
        DedupKey(key)
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the ledger writer already holds a credit under this report's `DedupKey`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DedupStatus {
    /// Not seen in this period, or the action has no dedup rule.
    New,
    AlreadyCredited,
}

impl ActionRule {
    /// The dedup key of a report, or `None` when the action has no dedup rule (`value` is then
    /// ignored). `value` is what the report names for the rule's key (the household account);
    /// it is trimmed, must be 1 to 100 characters and hold no control characters. The period
    /// is the local day or month of `reported_at` in `tz`.
    ///
    /// The writer looks the key up: found means `DedupStatus::AlreadyCredited` for `decide`;
    /// it stores the key with the credit only when something was credited.
    pub fn dedup_key(
        &self,
        value: Option<&str>,
        reported_at: Timestamp,
        tz: Tz,
    ) -> Result<Option<DedupKey>, ActionError> {
        let Some(rule) = &self.dedup else {
            return Ok(None);
        };
        let value = value.map(str::trim).unwrap_or_default();
        let invalid = |reason| ActionError::InvalidDedupValue {
            dedup_key: rule.key.clone(),
            reason,
        };
        if value.is_empty() {
            return Err(ActionError::DedupValueMissing {
                key: self.key.clone(),
                dedup_key: rule.key.clone(),
                per: rule.per.as_str(),
            });
        }
        if value.chars().count() > DEDUP_VALUE_CHARS_MAX {
            return Err(invalid("is longer than 100 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(invalid("holds control characters"));
        }
        let period = match rule.per {
            DedupPeriod::Day => day_key(reported_at, tz).to_string(),
            DedupPeriod::Month => month_key(reported_at, tz).to_string(),
        };
        Ok(Some(DedupKey(format!(
            "{}/{}/{period}/{value}",
            self.key, rule.key
        ))))
    }
}
