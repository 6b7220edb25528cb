//! Times given on the command line (`--since`, `--until`): a duration back from now,
//! a date, or an RFC 3339 time.

use dream_types::Timestamp;

use crate::error::{CliError, CliResult};

/// Microseconds in a day.
const DAY_MICROS: i64 = 86_400_000_000;

/// Which end of a day a bare date (`2026-02-11`) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateAs {
    /// Its first instant, 00:00:00 (for `--since`).
    Start,
    /// Its last microsecond, so the whole day is included (for `--until`).
    End,
}

/// Parses the value of `flag`: a duration back from `now` (`30s`, `90m`, `24h`, `7d`,
/// `2w`), a date (`2026-02-11`, UTC), or an RFC 3339 time.
///
/// # Errors
/// A usage error (exit 2) naming the flag and the value.
pub fn parse_when(flag: &str, text: &str, now: Timestamp, date_as: DateAs) -> CliResult<Timestamp> {
    let text = text.trim();
    let invalid = || {
        CliError::usage(
            "invalid_request_error",
            format!(
                "{flag} {text:?} is not a duration (90m, 24h, 7d, 2w), a date (2026-02-11) or \
                 an RFC 3339 time"
            ),
        )
    };
    if let Some(unit) = text.chars().last().filter(char::is_ascii_alphabetic)
        && let Ok(amount) = text[..text.len() - 1].parse::<i64>()
    {
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(invalid()),
        };
        return Ok(now.plus_secs(-amount.saturating_mul(secs)));
    }
    if let Ok(time) = Timestamp::parse(text) {
        return Ok(time);
    }
    let start = Timestamp::parse(&format!("{text}T00:00:00Z")).map_err(|_| invalid())?;
    match date_as {
        DateAs::Start => Ok(start),
        DateAs::End => {
            Timestamp::from_unix_micros(start.unix_micros() + DAY_MICROS - 1).ok_or_else(invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_dates_and_times() {
        let now = Timestamp::parse("2026-02-11T12:00:00Z").unwrap();
        let at = |text: &str, date_as| {
            parse_when("--since", text, now, date_as)
                .unwrap()
                .to_rfc3339()
        };
        assert_eq!(at("24h", DateAs::Start), "2026-02-10T12:00:00.000000Z");
        assert_eq!(at("7d", DateAs::Start), "2026-02-04T12:00:00.000000Z");
        assert_eq!(
            at("2026-01-01", DateAs::Start),
            "2026-01-01T00:00:00.000000Z"
        );
        assert_eq!(at("2026-01-01", DateAs::End), "2026-01-01T23:59:59.999999Z");
        assert_eq!(
            at("2026-01-01T10:00:00+02:00", DateAs::End),
            "2026-01-01T08:00:00.000000Z"
        );
    }

    #[test]
    fn a_bad_value_is_a_usage_error_naming_the_flag() {
        let now = Timestamp::parse("2026-02-11T12:00:00Z").unwrap();
        let err = parse_when("--until", "yesterday", now, DateAs::End).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert_eq!(
            err.to_string(),
            "--until \"yesterday\" is not a duration (90m, 24h, 7d, 2w), a date (2026-02-11) or \
             an RFC 3339 time"
        );
        assert!(parse_when("--since", "5y", now, DateAs::Start).is_err());
    }
}
