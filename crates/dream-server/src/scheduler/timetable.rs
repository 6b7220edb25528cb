//! When a schedule's slots fall: a 5-field cron expression read in an IANA time zone.
//!
//! Expressions follow Vixie cron (`minute hour day-of-month month day-of-week`, day of
//! week 0–7 with 0 and 7 both Sunday, names such as `MON` and `JAN`, and a day matching
//! when *either* day field matches) plus croner's `L`, `W` and `#` (croner 3, the
//! parser used here). Daylight-saving changes follow croner's rule for fixed-time
//! expressions: a time skipped by a spring-forward change runs at the first time after
//! the gap, and a time repeated by a fall-back change runs once, at its first
//! occurrence.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use dream_types::Timestamp;

/// Shorthands accepted in place of a cron expression, and what they expand to: every
/// day at 03:00, every Sunday at 03:00, the 1st of every month at 03:00 (in the
/// schedule's time zone).
pub const SHORTHANDS: [(&str, &str); 3] = [
    ("nightly", "0 3 * * *"),
    ("weekly", "0 3 * * 0"),
    ("monthly", "0 3 1 * *"),
];

/// The time zone a schedule uses when none is given.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// The fields of an expression, in order.
const FIELD_NAMES: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// Consecutive slots [`Timetable::longest_interval_secs`] looks at.
const INTERVAL_SAMPLE: usize = 12;

/// Why a schedule's timing was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimetableError {
    /// Not a 5-field cron expression or shorthand, or one that never matches.
    #[error(
        "schedule {given:?} is not a valid 5-field cron expression: {reason}; write \
         `minute hour day-of-month month day-of-week` such as \"0 3 * * *\", or one of \
         nightly, weekly, monthly"
    )]
    InvalidCron {
        /// The expression as given.
        given: String,
        /// What the parser said.
        reason: String,
    },
    /// Not an IANA time zone name.
    #[error(
        "timezone {given:?} is not an IANA time zone name; use one such as \"UTC\", \
         \"Europe/Paris\" or \"America/New_York\""
    )]
    InvalidTimezone {
        /// The name as given.
        given: String,
    },
}

impl TimetableError {
    /// Returns the stable snake_case code: `invalid_cron` or `invalid_timezone`.
    pub fn code(&self) -> &'static str {
        match self {
            TimetableError::InvalidCron { .. } => "invalid_cron",
            TimetableError::InvalidTimezone { .. } => "invalid_timezone",
        }
    }
}

/// A parsed cron expression and the time zone it is read in.
#[derive(Debug, Clone)]
pub struct Timetable {
    cron: Cron,
    expression: String,
    timezone: Tz,
}

impl Timetable {
    /// Parses `schedule` (a 5-field cron expression or one of [`SHORTHANDS`]) in the IANA
    /// time zone `timezone` (case-insensitive: `europe/paris` reads as
    /// `Europe/Paris`).
    ///
    /// # Errors
    /// [`TimetableError::InvalidCron`] when `schedule` has other than 5 fields or the
    /// parser rejects it (with the parser's reason); [`TimetableError::InvalidTimezone`]
    /// for an unknown zone.
    pub fn parse(schedule: &str, timezone: &str) -> Result<Self, TimetableError> {
        let trimmed = schedule.trim();
        let expression = SHORTHANDS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(trimmed))
            .map(|(_, cron)| (*cron).to_owned())
            .unwrap_or_else(|| trimmed.split_whitespace().collect::<Vec<_>>().join(" "));
        let invalid = |reason: String| TimetableError::InvalidCron {
            given: schedule.to_owned(),
            reason,
        };
        let fields: Vec<&str> = expression.split(' ').filter(|f| !f.is_empty()).collect();
        if fields.len() != 5 {
            let count = fields.len();
            let noun = if count == 1 { "field" } else { "fields" };
            return Err(invalid(format!("it has {count} {noun}, not 5")));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(&expression).map_err(|err| {
            // croner's reason does not say which field it stumbled on: find it by
            // parsing each field alone, the others left as `*`.
            let culprit = FIELD_NAMES.iter().enumerate().find_map(|(i, name)| {
                let alone: Vec<&str> = (0..5)
                    .map(|j| if i == j { fields[j] } else { "*" })
                    .collect();
                parser
                    .parse(&alone.join(" "))
                    .err()
                    .map(|_| format!("{name} field {:?}: ", fields[i]))
            });
            let reason = err.to_string();
            invalid(format!(
                "{}{}",
                culprit.unwrap_or_default(),
                reason.trim_end_matches('.')
            ))
        })?;
        let name = timezone.trim();
        let timezone = name
            .parse::<Tz>()
            .ok()
            .or_else(|| {
                chrono_tz::TZ_VARIANTS
                    .iter()
                    .copied()
                    .find(|tz| tz.name().eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| TimetableError::InvalidTimezone {
                given: timezone.to_owned(),
            })?;
        Ok(Self {
            cron,
            expression,
            timezone,
        })
    }

    /// Like [`Timetable::parse`], and also rejects an expression that matches no time
    /// after `now` (`0 0 30 2 *`, February 30th).
    ///
    /// # Errors
    /// As [`Timetable::parse`].
    pub fn parse_at(
        schedule: &str,
        timezone: &str,
        now: Timestamp,
    ) -> Result<Self, TimetableError> {
        let timetable = Self::parse(schedule, timezone)?;
        if timetable.next_after(now).is_none() {
            return Err(TimetableError::InvalidCron {
                given: schedule.to_owned(),
                reason: "it matches no date".into(),
            });
        }
        Ok(timetable)
    }

    /// The 5-field expression, shorthands expanded and spaces normalised
    /// (`"nightly"` → `"0 3 * * *"`).
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The canonical IANA name of the time zone (`Europe/Paris`).
    pub fn timezone(&self) -> &'static str {
        self.timezone.name()
    }

    /// Returns the latest slot at or before `now`, or `None` when there is none (or the
    /// search fails).
    pub fn latest_at_or_before(&self, now: Timestamp) -> Option<Timestamp> {
        let now = to_zoned(now, self.timezone)?;
        let previous = self.cron.find_previous_occurrence(&now, true).ok()?;
        // Searching backwards, croner places a slot that a spring-forward change skipped
        // just before the gap, and searching forwards just after it; use the forward
        // form so that a slot has one identity whichever way it was found.
        let slot = match self.cron.find_next_occurrence(&previous, true) {
            Ok(forward) if forward <= now => forward,
            _ => previous,
        };
        from_chrono(slot.with_timezone(&Utc))
    }

    /// Returns the first slot strictly after `now`, or `None` when there is none.
    pub fn next_after(&self, now: Timestamp) -> Option<Timestamp> {
        let now = to_zoned(now, self.timezone)?;
        let next = self.cron.find_next_occurrence(&now, false).ok()?;
        from_chrono(next.with_timezone(&Utc))
    }

    /// Returns the longest interval, in seconds, between consecutive slots among the
    /// next 12 after `from`, read in UTC so that daylight-saving changes do not bend it:
    /// 86,400 for `0 3 * * *`, 604,800 for `0 3 * * 0`, 2,678,400 (31 days) for
    /// `0 3 1 * *`. `None` when fewer than two slots follow.
    pub fn longest_interval_secs(&self, from: Timestamp) -> Option<u64> {
        let from = to_zoned(from, Utc)?;
        let slots: Vec<DateTime<Utc>> = self
            .cron
            .iter_after(from)
            .take(INTERVAL_SAMPLE + 1)
            .collect();
        slots
            .windows(2)
            .filter_map(|pair| u64::try_from((pair[1] - pair[0]).num_seconds()).ok())
            .max()
    }
}

fn to_zoned<Z: chrono::TimeZone>(at: Timestamp, zone: Z) -> Option<DateTime<Z>> {
    DateTime::<Utc>::from_timestamp_micros(at.unix_micros()).map(|utc| utc.with_timezone(&zone))
}

fn from_chrono(at: DateTime<Utc>) -> Option<Timestamp> {
    Timestamp::from_unix_micros(at.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn table(schedule: &str, timezone: &str) -> Timetable {
        Timetable::parse(schedule, timezone).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn shorthands_expand_to_three_in_the_morning() {
        assert_eq!(table("nightly", "UTC").expression(), "0 3 * * *");
        assert_eq!(table(" Weekly ", "UTC").expression(), "0 3 * * 0");
        assert_eq!(table("monthly", "UTC").expression(), "0 3 1 * *");
        assert_eq!(
            table("  0   3 * *  1-5 ", "UTC").expression(),
            "0 3 * * 1-5"
        );
    }

    #[test]
    fn bad_expressions_and_zones_say_why() {
        let six = Timetable::parse("0 0 3 * * *", "UTC").unwrap_err();
        assert_eq!(six.code(), "invalid_cron");
        assert!(six.to_string().contains("it has 6 fields, not 5"), "{six}");
        let range = Timetable::parse("0 3 * 13 *", "UTC").unwrap_err();
        assert_eq!(range.code(), "invalid_cron");
        assert!(
            range.to_string().contains("month field \"13\": "),
            "{range}"
        );
        assert_eq!(
            Timetable::parse("@daily", "UTC").unwrap_err().code(),
            "invalid_cron"
        );
        let zone = Timetable::parse("nightly", "Mars/Olympus").unwrap_err();
        assert_eq!(zone.code(), "invalid_timezone");
        let never = Timetable::parse_at("0 0 30 2 *", "UTC", at("2026-11-20T00:00:00Z"));
        assert!(
            never
                .as_ref()
                .is_err_and(|e| e.to_string().contains("matches no date")),
            "{never:?}"
        );
    }

    #[test]
    fn zone_names_are_canonical() {
        assert_eq!(table("nightly", "europe/paris").timezone(), "Europe/Paris");
        assert_eq!(table("nightly", "UTC").timezone(), "UTC");
    }

    #[test]
    fn slots_are_read_in_the_schedule_zone() {
        let paris = table("0 3 * * *", "Europe/Paris");
        // Winter: Paris is UTC+1, so 03:00 there is 02:00 UTC.
        assert_eq!(
            paris.latest_at_or_before(at("2026-11-20T02:00:00Z")),
            Some(at("2026-11-20T02:00:00Z"))
        );
        assert_eq!(
            paris.latest_at_or_before(at("2026-11-20T01:59:59Z")),
            Some(at("2026-11-19T02:00:00Z"))
        );
        assert_eq!(
            paris.next_after(at("2026-11-20T02:00:00Z")),
            Some(at("2026-11-21T02:00:00Z"))
        );
        // Summer: UTC+2.
        assert_eq!(
            paris.next_after(at("2026-07-01T00:00:00Z")),
            Some(at("2026-07-01T01:00:00Z"))
        );
    }

    #[test]
    fn a_slot_skipped_by_spring_forward_has_one_identity() {
        // 2026-03-29 in Paris: 02:00 jumps to 03:00 (01:00 UTC).
        let paris = table("30 2 * * *", "Europe/Paris");
        let next = paris.next_after(at("2026-03-28T23:00:00Z"));
        assert_eq!(next, Some(at("2026-03-29T01:00:00Z")));
        assert_eq!(paris.latest_at_or_before(at("2026-03-29T01:00:05Z")), next);
        assert_eq!(
            paris.latest_at_or_before(at("2026-03-29T00:59:00Z")),
            Some(at("2026-03-28T01:30:00Z"))
        );
    }

    #[test]
    fn a_slot_repeated_by_fall_back_runs_once() {
        // 2026-10-25 in Paris: 03:00 falls back to 02:00, so 02:30 happens twice.
        let paris = table("30 2 * * *", "Europe/Paris");
        let first = Some(at("2026-10-25T00:30:00Z"));
        assert_eq!(paris.next_after(at("2026-10-24T12:00:00Z")), first);
        assert_eq!(paris.latest_at_or_before(at("2026-10-25T01:45:00Z")), first);
    }

    #[test]
    fn the_longest_interval_is_the_period() {
        let from = at("2026-11-20T00:00:00Z");
        assert_eq!(
            table("nightly", "Europe/Paris").longest_interval_secs(from),
            Some(86_400)
        );
        assert_eq!(
            table("weekly", "UTC").longest_interval_secs(from),
            Some(604_800)
        );
        assert_eq!(
            table("monthly", "UTC").longest_interval_secs(from),
            Some(31 * 86_400)
        );
        assert_eq!(
            table("*/15 * * * *", "UTC").longest_interval_secs(from),
            Some(900)
        );
    }
}
