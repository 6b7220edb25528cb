//! Writing to the terminal: human text or JSON, colours only on a terminal.

use std::io::Write;

use console::{Style, style};
use serde::Serialize;

use crate::error::{CliError, CliResult};

/// Where command output goes, and in which form.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`: one JSON document on stdout instead of human text.
    pub json: bool,
    /// `--quiet`: no progress bars or notes on stderr.
    pub quiet: bool,
}

impl Output {
    /// Writes one line to stdout.
    pub fn line(&self, text: impl AsRef<str>) -> CliResult<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", text.as_ref())?;
        Ok(())
    }

    /// Writes `text` to stdout as it is, without adding a newline (file contents).
    pub fn raw(&self, text: impl AsRef<[u8]>) -> CliResult<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_ref())?;
        out.flush()?;
        Ok(())
    }

    /// Writes `value` as pretty JSON to stdout.
    pub fn json<T: Serialize>(&self, value: &T) -> CliResult<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| CliError::Internal(format!("cannot encode output: {e}")))?;
        self.line(text)
    }

    /// Writes a warning to stderr (suppressed by `--quiet` only: stderr never mixes
    /// with the JSON on stdout, and a warning matters to scripts too).
    pub fn warn(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", text.as_ref());
        }
    }

    /// Writes a note to stderr (suppressed by `--quiet` and in JSON mode).
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.quiet && !self.json {
            eprintln!("{}", text.as_ref());
        }
    }
}

/// Style for errors and failed tool results.
pub fn bad() -> Style {
    Style::new().red().bold()
}

/// Style for secondary text.
pub fn dim() -> Style {
    Style::new().dim()
}

/// Style for headings and ids.
pub fn strong() -> Style {
    Style::new().bold()
}

/// Style for success.
pub fn good() -> Style {
    Style::new().green()
}

/// Returns the first 8 hex digits of a SHA-256, enough to tell versions apart by eye.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..8).unwrap_or(sha)
}

/// Returns `n` with thousands separators (`12,345`).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Returns `n` (with thousands separators) and the noun in the number it needs:
/// `count(1, "change", "changes")` is `1 change`, `count(2, …)` is `2 changes`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Returns `text` cut to `width` characters with `…` when longer.
pub fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// Prints an error: `error[code]: message` on stderr, or the Anthropic error shape on
/// stdout with `--json`.
pub fn print_error(err: &CliError, json: bool) {
    if json {
        let body = serde_json::json!({
            "type": "error",
            "error": {"type": err.code(), "message": err.to_string()},
        });
        println!("{body}");
    } else {
        eprintln!(
            "{}: {err}",
            style(format!("error[{}]", err.code())).red().bold()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn truncate_marks_cut_text() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
