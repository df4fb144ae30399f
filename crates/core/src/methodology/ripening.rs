//! When a ball ripens and when it expires: the 7 a.m. harvest and the 72-hour lifetime.

use super::calendar::{Tz, local_date};
use crate::clock::Timestamp;
use chrono::{DateTime, LocalResult, NaiveDateTime, NaiveTime, TimeZone};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::fmt;
use thiserror::Error;

/// How long a ripe ball waits to be collected before its energy expires *(Ant)*: 72 hours.
pub const BALL_LIFETIME_MS: i64 = 72 * 60 * 60 * 1_000;

/// When the daily batch ripens unless the operator configures another time *(Ant)*: 07:00.
pub const DEFAULT_RIPENING_LOCAL_TIME: NaiveTime = match NaiveTime::from_hms_opt(7, 0, 0) {
    Some(time) => time,
    None => panic!("07:00 is a valid time of day"),
};

/// The longest fixed delay a methodology may ask for: one week. A ball that ripens later than
/// that is a typo, not a design.
pub const DELAY_MINUTES_MAX: u32 = 7 * 24 * 60;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;
/// No time zone has ever been further than this from UTC (the extremes are about ±16 h).
const UTC_OFFSET_SECONDS_MAX: i64 = 26 * 60 * 60;

/// When the energy of an action can be collected. Written in a methodology file as
/// `"next_morning"`, `"instant"` or `{ delay_minutes = N }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ripening {
    /// *(Ant)* The next calendar day, in the operator's time zone, at the configured local
    /// time (07:00 by default): today's actions make tomorrow morning's harvest.
    NextMorning,
    /// Ripe as soon as it is credited.
    Instant,
    /// Ripe a fixed number of minutes (1 to `DELAY_MINUTES_MAX`) after the report.
    Delay { minutes: u32 },
}

impl Ripening {
    /// When a ball for an action reported at `reported_at` ripens. `ripening_local_time` is the
    /// operator's morning (usually `DEFAULT_RIPENING_LOCAL_TIME`).
    ///
    /// If that wall-clock time does not exist on the next day (a daylight-saving gap), the ball
    /// ripens at the first instant after the gap; if it exists twice (clocks going back), at
    /// the first of the two.
    pub fn ripens_at(
        self,
        reported_at: Timestamp,
        tz: Tz,
        ripening_local_time: NaiveTime,
    ) -> Timestamp {
        match self {
            Ripening::Instant => reported_at,
            Ripening::Delay { minutes } => {
                reported_at.plus_millis(i64::from(minutes).saturating_mul(MINUTE_MS))
            }
            Ripening::NextMorning => next_morning(reported_at, tz, ripening_local_time),
        }
    }
}

/// When a ball that ripens at `ripens_at` expires.
pub fn expires_at(ripens_at: Timestamp) -> Timestamp {
    ripens_at.plus_millis(BALL_LIFETIME_MS)
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{0:?} is not a time of day: write it as HH:MM, e.g. \"07:00\"")]
pub struct InvalidLocalTime(pub String);

/// Reads the operator's ripening time from configuration: `"07:00"`.
pub fn parse_local_time(raw: &str) -> Result<NaiveTime, InvalidLocalTime> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M").map_err(|_| InvalidLocalTime(raw.to_owned()))
}

fn next_morning(reported_at: Timestamp, tz: Tz, local_time: NaiveTime) -> Timestamp {
    // Only the last day chrono can represent has no successor; a day later is the honest
    // answer there too.
    let fallback = reported_at.plus_millis(DAY_MS);
    match local_date(reported_at, tz).succ_opt() {
        Some(tomorrow) => first_instant_at_or_after(tz, tomorrow.and_time(local_time)),
        None => None,
    }
    .unwrap_or(fallback)
}

/// The first instant whose wall-clock time in `tz` is `local` or later.
fn first_instant_at_or_after(tz: Tz, local: NaiveDateTime) -> Option<Timestamp> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => Some(Timestamp(at.timestamp_millis())),
        LocalResult::Ambiguous(earliest, _) => Some(Timestamp(earliest.timestamp_millis())),
        LocalResult::None => first_instant_after_gap(tz, local),
    }
}

/// `local` fell in a gap: the clocks jumped over it. Bisect over UTC seconds for the instant
/// the wall clock first shows `local` or later, which is the end of the gap. The answer lies
/// within a day of `local` read as UTC, so the loop runs about 18 times.
fn first_instant_after_gap(tz: Tz, local: NaiveDateTime) -> Option<Timestamp> {
    let as_if_utc = local.and_utc().timestamp();
    let mut before = as_if_utc.checked_sub(UTC_OFFSET_SECONDS_MAX)?;
    let mut after = as_if_utc.checked_add(UTC_OFFSET_SECONDS_MAX)?;
    while after - before > 1 {
        let middle = before + (after - before) / 2;
        if wall_clock(tz, middle)? >= local {
            after = middle;
        } else {
            before = middle;
        }
    }
    Some(Timestamp(after.checked_mul(1_000)?))
}

fn wall_clock(tz: Tz, unix_seconds: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(unix_seconds, 0).map(|at| at.with_timezone(&tz).naive_local())
}

impl Serialize for Ripening {
    /// The same shape as in a methodology file.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Ripening::NextMorning => serializer.serialize_str("next_morning"),
            Ripening::Instant => serializer.serialize_str("instant"),
            Ripening::Delay { minutes } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("delay_minutes", minutes)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Ripening {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RipeningVisitor)
    }
}

struct RipeningVisitor;

impl<'de> de::Visitor<'de> for RipeningVisitor {
    type Value = Ripening;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"next_morning\", \"instant\" or { delay_minutes = N }")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Ripening, E> {
        match value {
            "next_morning" => Ok(Ripening::NextMorning),
            "instant" => Ok(Ripening::Instant),
            other => Err(E::custom(format!(
                "unknown ripening {other:?}: use \"next_morning\", \"instant\" or \
                 {{ delay_minutes = N }}"
            ))),
        }
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Ripening, A::Error> {
        let mut minutes = None;
        while let Some(field) = map.next_key::<String>()? {
            if field != "delay_minutes" {
                return Err(de::Error::custom(format!(
                    "unknown ripening field `{field}`: the only one is `delay_minutes`"
                )));
            }
            minutes = Some(map.next_value::<i64>()?);
        }
        let minutes = minutes.ok_or_else(|| de::Error::missing_field("delay_minutes"))?;
        match u32::try_from(minutes) {
            Ok(minutes @ 1..=DELAY_MINUTES_MAX) => Ok(Ripening::Delay { minutes }),
            _ => Err(de::Error::custom(format!(
                "delay_minutes must be 1 to {DELAY_MINUTES_MAX} (one week), got {minutes}; \
                 use \"instant\" for no delay"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methodology::parse_timezone;

    fn tz(name: &str) -> Tz {
        parse_timezone(name).unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(rfc3339: &str) -> Timestamp {
        let parsed = DateTime::parse_from_rfc3339(rfc3339).unwrap_or_else(|e| panic!("{e}"));
        Timestamp(parsed.timestamp_millis())
    }

    #[test]
    fn next_morning_balls_ripen_at_seven_local_time() {
        let shanghai = tz("Asia/Shanghai");
        let seven = DEFAULT_RIPENING_LOCAL_TIME;
        // 18:00 in Shanghai: ripe at 07:00 the next morning.
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-11-23T18:00:00+08:00"), shanghai, seven),
            at("2026-11-24T07:00:00+08:00")
        );
        // 00:30 is already the next day: the ball waits for the following morning, not for
        // 07:00 the same day.
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-11-24T00:30:00+08:00"), shanghai, seven),
            at("2026-11-25T07:00:00+08:00")
        );
        // 06:59 on the 24th: the 24th's actions ripen on the 25th.
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-11-24T06:59:00+08:00"), shanghai, seven),
            at("2026-11-25T07:00:00+08:00")
        );
    }

    #[test]
    fn next_morning_balls_ripen_at_seven_local_time_across_daylight_saving_changes() {
        let berlin = tz("Europe/Berlin");
        let seven = DEFAULT_RIPENING_LOCAL_TIME;
        // Clocks go forward on 2026-03-29 at 02:00 CET: 07:00 is CEST (UTC+2).
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-03-28T21:00:00+01:00"), berlin, seven),
            at("2026-03-29T07:00:00+02:00")
        );
        // Clocks go back on 2026-10-25 at 03:00 CEST: 07:00 is CET (UTC+1).
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-10-24T21:00:00+02:00"), berlin, seven),
            at("2026-10-25T07:00:00+01:00")
        );
    }

    #[test]
    fn a_ripening_time_lost_to_a_daylight_saving_gap_moves_to_the_end_of_the_gap() {
        let berlin = tz("Europe/Berlin");
        let half_past_two = parse_local_time("02:30").unwrap_or_else(|e| panic!("{e}"));
        // 02:30 does not exist on 2026-03-29: 02:00 CET became 03:00 CEST.
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-03-28T12:00:00+01:00"), berlin, half_past_two),
            at("2026-03-29T03:00:00+02:00")
        );
        // 02:30 happens twice on 2026-10-25: the first one counts.
        assert_eq!(
            Ripening::NextMorning.ripens_at(at("2026-10-24T12:00:00+02:00"), berlin, half_past_two),
            at("2026-10-25T02:30:00+02:00")
        );
    }

    #[test]
    fn instant_and_delayed_balls_ripen_relative_to_the_report() {
        let reported_at = at("2026-11-24T10:00:00Z");
        let utc = Tz::UTC;
        let seven = DEFAULT_RIPENING_LOCAL_TIME;
        assert_eq!(
            Ripening::Instant.ripens_at(reported_at, utc, seven),
            reported_at
        );
        assert_eq!(
            Ripening::Delay { minutes: 90 }.ripens_at(reported_at, utc, seven),
            at("2026-11-24T11:30:00Z")
        );
    }

    #[test]
    fn energy_expires_72_hours_after_ripening() {
        assert_eq!(
            expires_at(at("2026-11-24T07:00:00+08:00")),
            at("2026-11-27T07:00:00+08:00")
        );
    }

    #[test]
    fn the_ripening_time_is_read_as_hours_and_minutes() {
        assert_eq!(parse_local_time("07:00"), Ok(DEFAULT_RIPENING_LOCAL_TIME));
        assert_eq!(
            parse_local_time("7 am"),
            Err(InvalidLocalTime("7 am".into()))
        );
        assert!(parse_local_time("24:00").is_err());
    }

    #[test]
    fn ripening_far_beyond_the_calendar_does_not_panic() {
        let end = Timestamp(i64::MAX - 1);
        let ripe = Ripening::NextMorning.ripens_at(end, Tz::UTC, DEFAULT_RIPENING_LOCAL_TIME);
        assert!(ripe >= end);
    }
}
