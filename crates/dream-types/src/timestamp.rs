//! UTC timestamps with microsecond precision, RFC 3339 on the wire.
//!
//! Every time `dream` stores is truncated to microseconds (the precision of
//! PostgreSQL's `timestamptz`) and written in one fixed-width form,
//! `2026-02-11T20:36:45.618000Z`, so that text order equals time order in any backend.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::{TypesError, TypesResult};

/// A point in time in UTC, truncated to microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

const FIXED: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

impl Timestamp {
    /// Returns the current system time.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Converts any `OffsetDateTime` to UTC and truncates it to microseconds.
    pub fn from_datetime(value: OffsetDateTime) -> Self {
        let utc = value.to_offset(UtcOffset::UTC);
        let micros = utc.microsecond();
        // Truncation cannot fail: the microsecond count is always in range.
        let truncated = utc.replace_microsecond(micros).unwrap_or(utc);
        Self(truncated)
    }

    /// Returns the time `unix_micros` microseconds after the Unix epoch, or `None` when out of range.
    pub fn from_unix_micros(unix_micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_micros) * 1_000)
            .ok()
            .map(Self)
    }

    /// Parses RFC 3339 text (any offset; converted to UTC).
    ///
    /// # Errors
    /// [`TypesError::InvalidTimestamp`] when `text` is not RFC 3339.
    pub fn parse(text: &str) -> TypesResult<Self> {
        OffsetDateTime::parse(text.trim(), &Rfc3339)
            .map(Self::from_datetime)
            .map_err(|_| TypesError::InvalidTimestamp {
                value: text.to_owned(),
            })
    }

    /// Parses a JSON timestamp: an RFC 3339 string, or a number of Unix seconds
    /// (values above 10^11 are read as milliseconds, as JavaScript writes them).
    ///
    /// # Errors
    /// [`TypesError::InvalidTimestamp`] for any other value.
    pub fn from_json(value: &serde_json::Value) -> TypesResult<Self> {
        let invalid = || TypesError::InvalidTimestamp {
            value: value.to_string(),
        };
        match value {
            serde_json::Value::String(text) => Self::parse(text),
            serde_json::Value::Number(number) => {
                let seconds = number.as_f64().ok_or_else(invalid)?;
                let micros = if seconds.abs() > 1e11 {
                    seconds * 1_000.0
                } else {
                    seconds * 1_000_000.0
                };
                if !micros.is_finite() {
                    return Err(invalid());
                }
                // Saturating float-to-int cast; out-of-range values are rejected below.
                Self::from_unix_micros(micros as i64).ok_or_else(invalid)
            }
            _ => Err(invalid()),
        }
    }

    /// Returns microseconds since the Unix epoch.
    pub fn unix_micros(&self) -> i64 {
        // Truncated to micros at construction, so the division is exact and in range.
        (self.0.unix_timestamp_nanos() / 1_000) as i64
    }

    /// Returns the wrapped `OffsetDateTime` (always UTC).
    pub fn datetime(&self) -> OffsetDateTime {
        self.0
    }

    /// Returns this time moved by `secs` seconds (saturating at the representable range).
    pub fn plus_secs(&self, secs: i64) -> Self {
        Self(self.0.saturating_add(Duration::seconds(secs)))
    }

    /// Returns the fixed-width RFC 3339 form, `2026-02-11T20:36:45.618000Z`.
    pub fn to_rfc3339(&self) -> String {
        // Formatting a UTC datetime with this static description cannot fail
        // for years 0..=9999; fall back to the well-known form outside that range.
        self.0
            .format(FIXED)
            .or_else(|_| self.0.format(&Rfc3339))
            .unwrap_or_default()
    }

    /// Returns a short human form, `2026-02-11 20:36` (UTC).
    pub fn to_display_minutes(&self) -> String {
        let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
        self.0.format(fmt).unwrap_or_default()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_fixed_width_utc() {
        let t = Timestamp::parse("2026-02-11T21:36:45.618+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-02-11T20:36:45.618000Z");
        assert_eq!(Timestamp::parse(&t.to_rfc3339()).unwrap(), t);
    }

    #[test]
    fn truncates_to_microseconds() {
        let t = Timestamp::parse("2026-02-11T20:36:45.123456789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-02-11T20:36:45.123456Z");
    }

    #[test]
    fn reads_unix_seconds_and_milliseconds() {
        let secs = Timestamp::from_json(&serde_json::json!(1_770_842_205)).unwrap();
        let millis = Timestamp::from_json(&serde_json::json!(1_770_842_205_000_i64)).unwrap();
        assert_eq!(secs, millis);
        assert_eq!(secs.to_rfc3339(), "2026-02-11T20:36:45.000000Z");
    }

    #[test]
    fn rejects_garbage_with_the_value_in_the_message() {
        let err = Timestamp::parse("yesterday").unwrap_err();
        assert_eq!(err.code(), "invalid_timestamp");
        assert!(err.to_string().contains("\"yesterday\""));
        assert!(Timestamp::from_json(&serde_json::json!(true)).is_err());
    }
}
