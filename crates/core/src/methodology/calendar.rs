//! The operator's calendar: time zone, local days and months (the periods caps count in).

use crate::clock::Timestamp;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
pub use chrono_tz::Tz;
use serde::Serialize;
use std::fmt;
use thiserror::Error;

#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("unknown time zone {0:?}: use an IANA name such as \"Asia/Shanghai\" or \"Europe/Berlin\"")]
pub struct UnknownTimezone(pub String);

/// Reads the operator's time zone from its IANA name, as written in the configuration.
pub fn parse_timezone(name: &str) -> Result<Tz, UnknownTimezone> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| UnknownTimezone(name.to_owned()))
}

/// A local calendar day in the operator's time zone, `2026-11-24`: the period of daily caps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct DayKey(String);

/// A local calendar month in the operator's time zone, `2026-11`: the period of monthly caps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MonthKey(String);

impl DayKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl MonthKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DayKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for MonthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The local day `at` falls on in `tz`.
pub fn day_key(at: Timestamp, tz: Tz) -> DayKey {
    let date = local_date(at, tz);
    DayKey(format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    ))
}

/// The local month `at` falls in in `tz`.
pub fn month_key(at: Timestamp, tz: Tz) -> MonthKey {
    let date = local_date(at, tz);
    MonthKey(format!("{:04}-{:02}", date.year(), date.month()))
}

/// The calendar date of `at` on the operator's wall clocks.
pub(super) fn local_date(at: Timestamp, tz: Tz) -> NaiveDate {
    to_utc(at).with_timezone(&tz).date_naive()
}

/// `Timestamp` as chrono's UTC time. Chrono covers ±262,000 years; a timestamp beyond that
/// (only a corrupt input could hold one) is pinned to the nearest end instead of failing.
pub(super) fn to_utc(at: Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.millis()).unwrap_or(if at.millis() < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-23T16:30:00Z.
    const NOV_23_1630_UTC: Timestamp = Timestamp(1_795_451_400_000);

    #[test]
    fn days_and_months_are_the_operators_local_ones() {
        let shanghai = parse_timezone("Asia/Shanghai");
        let london = parse_timezone("Europe/London");
        let (Ok(shanghai), Ok(london)) = (shanghai, london) else {
            panic!("both are IANA names");
        };
        // 16:30 UTC is already 00:30 the next day in Shanghai (UTC+8).
        assert_eq!(day_key(NOV_23_1630_UTC, shanghai).as_str(), "2026-11-24");
        assert_eq!(day_key(NOV_23_1630_UTC, london).as_str(), "2026-11-23");
        assert_eq!(month_key(NOV_23_1630_UTC, shanghai).as_str(), "2026-11");
        // 2026-11-30T16:30Z is December in Shanghai, still November in London.
        let nov_30 = NOV_23_1630_UTC.plus_millis(7 * 24 * 3_600_000);
        assert_eq!(month_key(nov_30, shanghai).as_str(), "2026-12");
        assert_eq!(month_key(nov_30, london).as_str(), "2026-11");
    }

    #[test]
    fn an_unknown_time_zone_is_refused_by_name() {
        assert_eq!(
            parse_timezone("Mars/Olympus_Mons"),
            Err(UnknownTimezone("Mars/Olympus_Mons".into()))
        );
        assert!(parse_timezone("UTC").is_ok());
    }

    #[test]
    fn timestamps_beyond_the_calendar_do_not_panic() {
        let tz = Tz::UTC;
        assert!(!day_key(Timestamp(i64::MAX), tz).as_str().is_empty());
        assert!(!month_key(Timestamp(i64::MIN), tz).as_str().is_empty());
    }
}
