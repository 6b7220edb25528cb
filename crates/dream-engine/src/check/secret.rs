//! Finding secrets in text: gitleaks' provider rules ([`super::rules`]) plus dream's own
//! detectors for what those rules do not cover in prose and shell commands —
//! `password is hunter2`, `postgres://user:pass@host`, `curl -u user:pass`,
//! `--password X`, `Bearer …`, assignments to names like `db_password` or `api_token`
//! (a password-like name redacts any real value, a token-like name only a random-looking
//! one), an AWS secret access key, private key blocks, and card numbers (Luhn).
//!
//! Every detector returns byte ranges of the VALUE; the names stay readable
//! (`password=[REDACTED]`). Ranges are merged and replaced in one pass, so the result
//! does not depend on the order of the detectors and redacting twice changes nothing.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::REDACTED;
use super::rules::gitleaks;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

/// Returns the Shannon entropy of `text`, in bits per character (0 for empty text).
/// gitleaks' `entropy` thresholds use the same measure.
pub fn entropy(text: &str) -> f64 {
    let mut counts: std::collections::HashMap<char, usize> = std::collections::HashMap::new();
    let mut total = 0usize;
    for c in text.chars() {
        *counts.entry(c).or_default() += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let n = total as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Shapes redacted whole, wherever they appear.
static WHOLE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
        r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",
        r"\bgithub_pat_[A-Za-z0-9_]{22,}",
        r"\bxox[abposre]-[A-Za-z0-9-]{10,}",
        r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        r"\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}",
        r"\bwhsec_[A-Za-z0-9+/=]{20,}",
        r"\bya29\.[A-Za-z0-9_-]{20,}",
        r"\bAIza[A-Za-z0-9_-]{35}\b",
        r"\bdckr_pat_[A-Za-z0-9_-]{20,}",
        r"\bglpat-[A-Za-z0-9_-]{20,}",
        r"\bnpm_[A-Za-z0-9]{36}\b",
        r"\bhf_[A-Za-z0-9]{30,}\b",
        r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        r"\bhvs\.[A-Za-z0-9_-]{24,}",
        // dream's own API key secrets (dream-server `auth::SECRET_PREFIX`).
        r"\bdream_sk_[A-Za-z0-9_-]{16,}",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});

/// `sk-…` keys (Anthropic, OpenAI and look-alikes): redacted when the tail looks random,
/// so a package called `sk-learn-utilities-extra` is left alone.
static SK_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bsk-(?:ant-|proj-|live-|test-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}"));

/// `Authorization: Bearer …`, `Basic …`: the scheme stays, the credential goes.
static AUTH_SCHEME: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:bearer|basic|token)\s+(?P<v>[A-Za-z0-9._~+/=-]{16,})"));

/// `scheme://user:password@host`: the password in a URL's userinfo.
static URL_USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'"<>`]{0,64}:(?P<v>[^\s/@'"<>`]{1,128})@"#)
});

/// `-u user:password`, `--user=user:password` (curl, httpie, wget and the like).
static CLI_USER: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(?:^|[\s`'"(])(?:-u|--user)(?:\s+|=)["']?(?P<user>[^\s:"'`]+):(?P<v>[^\s"'`]+)"#)
});

/// `--password X`, `--token=X`, `--api-key X`.
static CLI_SECRET_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?:^|[\s`'"(])--(?P<name>password|passwd|pass|token|api-key|apikey|secret|client-secret|access-key|secret-key)(?:\s+|=)["']?(?P<v>[^\s"'`]+)"#,
    )
});

/// `name = value`, `name: value`, `"name": "value"`, `NAME=value` where the name holds
/// a secret word.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(?P<name>\b[A-Za-z0-9_.-]*(?:pass|pwd|secret|token|key|credential|creds|auth)[A-Za-z0-9_.-]*)["']?\s*(?::=|=>|=|:)\s*["'`]?(?P<v>[^\s"'`,;]+)"#,
    )
});

/// "the admin password is now hunter2", "my PIN was 4321", "API key is …".
static PROSE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b(?P<name>pass(?:word|phrase|code)?|passwd|pwd|pin|secret(?:\s+access)?(?:\s+key)?|api\s+key|access\s+key|token)(?:\s+(?:for|of|on)\s+[^\s,.;:]+){0,2}\s+(?:is|was|are|=)(?:\s+(?:now|still|currently|actually|just|set\s+to|changed\s+to))?\s*:?\s+["'`]?(?P<v>[^\s"'`]+)"#,
    )
});

/// "changed the admin password to hunter2".
/// "“admin password” changed to “hunter42”", "the API token was rotated to …".
static PROSE_CHANGED: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b(?P<name>pass(?:word|phrase|code)?|passwd|pin|secret(?:\s+key)?|api\s+key|access\s+key|token)["'`”’]?\s+(?:has\s+|was\s+|is\s+)?(?:been\s+)?(?:changed|updated|set|reset|rotated|moved)\s+(?:to|=)\s+["'`“‘]?(?P<v>[^\s"'`“”‘’]+)"#,
    )
});

static PROSE_SET: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b(?:set|change|changed|reset|update|updated)\s+(?:the\s+|my\s+|your\s+|our\s+|their\s+)?(?:[\w-]+\s+)?(?P<name>password|passphrase|passcode|pin)\s+to\s+["'`]?(?P<v>[^\s"'`]+)"#,
    )
});

/// A 40-character base64 token: the shape of an AWS secret access key.
static AWS_SECRET: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|[^A-Za-z0-9/+=])(?P<v>[A-Za-z0-9/+]{40})(?:$|[^A-Za-z0-9/+=])"));

static CARD: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d(?:[ -]?\d){12,18}\b"));

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(?:\[redacted\].*|<.*|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$\(.*|\{\{.*\}\}|%[A-Za-z_]+%|\*+|x{3,}|\.{2,}|…|null|none|nil|true|false|yes|no|n/?a|tbd|todo|redacted|hidden|example|placeholder|your[_-][a-z_-]*|\?+)$",
    )
});

/// Words that follow "password is" without being a password.
const NOT_A_PASSWORD: &[&str] = &[
    "required",
    "incorrect",
    "wrong",
    "invalid",
    "expired",
    "missing",
    "empty",
    "blank",
    "not",
    "never",
    "too",
    "correct",
    "set",
    "reset",
    "changed",
    "the",
    "a",
    "an",
    "in",
    "on",
    "at",
    "to",
    "of",
    "for",
    "from",
    "with",
    "by",
    "stored",
    "saved",
    "hashed",
    "encrypted",
    "rotated",
    "weak",
    "strong",
    "short",
    "long",
    "case-sensitive",
    "sensitive",
    "needed",
    "optional",
    "managed",
    "kept",
    "available",
    "visible",
    "unknown",
    "same",
    "different",
    "ok",
    "fine",
    "only",
    "also",
    "still",
    "used",
    "valid",
    "shown",
    "masked",
    "protected",
    "mandatory",
    "secure",
    "insecure",
    "unchanged",
    "updated",
    "removed",
    "disabled",
    "enabled",
    "locked",
    "unlocked",
    "specified",
    "provided",
    "known",
    "forgotten",
    "lost",
    "please",
    "your",
    "my",
    "our",
    "their",
    "his",
    "her",
    "its",
    "this",
    "that",
    "it",
    "and",
    "or",
    "but",
    "then",
    "because",
    "being",
    "handled",
    "generated",
    "random",
    "needs",
    "must",
    "should",
    "will",
    "can",
    "cannot",
    "policy",
    "prompt",
    "field",
    "stale",
    "revoked",
    "same",
    "typed",
    "entered",
    "accepted",
    "rejected",
    "sent",
    "printed",
    "logged",
    "displayed",
    "read",
    "loaded",
    "passed",
    "given",
    "checked",
    "verified",
    "what",
    "which",
    "where",
    "how",
    "when",
    "who",
    "why",
    "there",
    "here",
    "now",
    "due",
    "about",
    "always",
    "usually",
    "probably",
    "likely",
    "correctly",
    "wrongly",
    "auto-generated",
    "only",
];

/// Last name segments that say the value is not the secret (`token_url`, `key_id`).
const NOT_SECRET_SUFFIXES: &[&str] = &[
    "name", "id", "ids", "path", "file", "url", "uri", "length", "len", "size", "type", "ref",
    "count", "env", "version", "hash", "field", "header", "prefix", "expiry", "expires", "ttl",
    "timeout", "endpoint", "scope", "scopes", "format", "kind", "mode", "source", "store",
    "provider", "policy", "limit", "usage", "used", "budget",
];

/// Prefixes of dream's own ids (dream-types `define_id!`, and `chg_` change ids):
/// never secrets.
const OWN_ID_PREFIXES: &[&str] = &[
    "apikey_",
    "chg_",
    "drm_",
    "dsch_",
    "mem_",
    "memstore_",
    "memver_",
    "prop_",
    "rchk_",
    "sesn_",
    "whk_",
];

/// How a name says its value is secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    /// `password`, `db_passwd`, `client_secret`: any real value is a secret.
    Password,
    /// `api_token`, `auth`, `access_key`: a random-looking value is a secret.
    Token,
    /// Not a secret name (`passenger`, `keyboard`, `token_url`).
    Other,
}

/// Classifies a field or variable name (`DB_PASSWORD`, `apiKey`, `token_url`).
pub(crate) fn name_kind(name: &str) -> NameKind {
    let lower = name.to_lowercase();
    let segments: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect();
    let Some(last) = segments.last() else {
        return NameKind::Other;
    };
    if NOT_SECRET_SUFFIXES.contains(last) {
        return NameKind::Other;
    }
    const PASSWORD: [&str; 6] = ["password", "passwd", "pass", "passphrase", "secret", "pw"];
    const TOKEN: [&str; 10] = [
        "token",
        "key",
        "apikey",
        "auth",
        "credential",
        "credentials",
        "creds",
        "pwd",
        "bearer",
        "cookie",
    ];
    let ends = |words: &[&str]| {
        segments
            .iter()
            .any(|s| words.contains(s) || words.iter().any(|w| w.len() >= 6 && s.ends_with(w)))
    };
    if ends(&PASSWORD) {
        NameKind::Password
    } else if ends(&TOKEN) {
        NameKind::Token
    } else {
        NameKind::Other
    }
}

/// Returns `value` without the sentence punctuation that may follow it in prose.
fn trim_value(value: &str) -> &str {
    value.trim_end_matches(['.', ',', ')', ']', '}', '>', ':'])
}

fn is_placeholder(value: &str) -> bool {
    if value.contains(REDACTED) {
        return true;
    }
    let v = trim_value(value);
    v.is_empty() || PLACEHOLDER.is_match(v) || PLACEHOLDER.is_match(value)
}

fn is_own_id(value: &str) -> bool {
    OWN_ID_PREFIXES.iter().any(|p| value.starts_with(p))
}

/// Returns whether a value next to a token-like name looks random enough to be one:
/// 8+ characters of token alphabet, letters and digits (or mixed case, 16+), entropy
/// of 3 bits per character or more, and not a path, URL, date, version or our own id.
pub(crate) fn looks_random(value: &str) -> bool {
    let v = trim_value(value);
    let n = v.chars().count();
    if n < 8 || is_placeholder(value) || is_own_id(v) || v.contains("://") {
        return false;
    }
    if v.starts_with('/') || v.starts_with("./") || v.starts_with("~/") {
        return false;
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "+/=_.~-".contains(c))
    {
        return false;
    }
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let lower = v.chars().any(|c| c.is_ascii_lowercase());
    let upper = v.chars().any(|c| c.is_ascii_uppercase());
    if digits == n || v.chars().all(|c| c.is_ascii_digit() || "-:.T".contains(c)) {
        return false;
    }
    let mixed = (digits > 0 && (lower || upper)) || (lower && upper && n >= 16);
    mixed && entropy(v) >= 3.0
}

/// Returns whether a value next to a password-like name is a real value (not a
/// placeholder, and not the next word of a sentence like "password is required").
pub(crate) fn is_password_value(value: &str) -> bool {
    let v = trim_value(value);
    if is_placeholder(value) || v.chars().count() < 3 {
        return false;
    }
    let lower = v.to_lowercase();
    !NOT_A_PASSWORD.contains(&lower.as_str())
}

fn luhn_valid(digits: &str) -> bool {
    let digits: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Pushes the range of the value of `v` (sentence punctuation trimmed) when `keep` says so.
fn push_value(spans: &mut Vec<Range<usize>>, m: regex::Match<'_>) {
    let trimmed = trim_value(m.as_str());
    if !trimmed.is_empty() {
        spans.push(m.start()..m.start() + trimmed.len());
    }
}

/// Returns the merged, sorted byte ranges of every secret in `text`.
pub(crate) fn secret_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    gitleaks().find(text, &mut spans);
    for pattern in WHOLE.iter() {
        spans.extend(pattern.find_iter(text).map(|m| m.range()));
    }
    for m in SK_KEY.find_iter(text) {
        let tail = m.as_str().trim_start_matches("sk-");
        if tail.chars().any(|c| c.is_ascii_digit()) && entropy(tail) >= 3.0 {
            spans.push(m.range());
        }
    }
    for caps in AUTH_SCHEME.captures_iter(text) {
        if let Some(v) = caps.name("v")
            && (looks_random(v.as_str()) || v.as_str().len() >= 24)
        {
            push_value(&mut spans, v);
        }
    }
    for caps in URL_USERINFO.captures_iter(text) {
        if let Some(v) = caps.name("v")
            && !is_placeholder(v.as_str())
        {
            spans.push(v.range());
        }
    }
    for caps in CLI_USER.captures_iter(text) {
        let (Some(user), Some(v)) = (caps.name("user"), caps.name("v")) else {
            continue;
        };
        let numeric = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        // `-u 1000:1000` is a uid:gid; `$USER:$PASS` a placeholder.
        let ids = numeric(user.as_str()) && numeric(v.as_str());
        let placeholder = is_placeholder(v.as_str()) || user.as_str().starts_with('$');
        if !ids && !placeholder {
            spans.push(v.range());
        }
    }
    for caps in CLI_SECRET_FLAG.captures_iter(text) {
        if let Some(v) = caps.name("v")
            && is_password_value(v.as_str())
        {
            push_value(&mut spans, v);
        }
    }
    for caps in ASSIGNMENT.captures_iter(text) {
        let (Some(name), Some(v)) = (caps.name("name"), caps.name("v")) else {
            continue;
        };
        let secret = match name_kind(name.as_str()) {
            NameKind::Password => is_password_value(v.as_str()),
            NameKind::Token => looks_random(v.as_str()),
            NameKind::Other => false,
        };
        if secret {
            push_value(&mut spans, v);
        }
    }
    for pattern in [&*PROSE, &*PROSE_SET, &*PROSE_CHANGED] {
        for caps in pattern.captures_iter(text) {
            let (Some(name), Some(v)) = (caps.name("name"), caps.name("v")) else {
                continue;
            };
            let name = name.as_str().to_lowercase();
            let password = name.starts_with("pass") || name == "pin" || name == "secret";
            let secret = if password {
                is_password_value(v.as_str())
            } else {
                looks_random(v.as_str())
            };
            if secret {
                push_value(&mut spans, v);
            }
        }
    }
    let lower = text.to_lowercase();
    if lower.contains("aws") || lower.contains("secret") {
        for caps in AWS_SECRET.captures_iter(text) {
            let Some(v) = caps.name("v") else { continue };
            let s = v.as_str();
            let has = |f: fn(&char) -> bool| s.chars().any(|c| f(&c));
            if has(char::is_ascii_uppercase)
                && has(char::is_ascii_lowercase)
                && has(char::is_ascii_digit)
                && entropy(s) >= 4.0
            {
                spans.push(v.range());
            }
        }
    }
    for m in CARD.find_iter(text) {
        let first = m.as_str().chars().next().and_then(|c| c.to_digit(10));
        if matches!(first, Some(2..=6)) && luhn_valid(m.as_str()) {
            spans.push(m.range());
        }
    }
    merge(spans)
}

/// Sorts and merges overlapping or touching ranges.
fn merge(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.retain(|r| r.start < r.end);
    spans.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for span in spans {
        match out.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => out.push(span),
        }
    }
    out
}

/// Returns `text` with each range replaced by [`REDACTED`].
pub(crate) fn apply(text: &str, spans: &[Range<usize>]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        let (Some(before), Some(_)) = (text.get(at..span.start), text.get(span.clone())) else {
            continue;
        };
        out.push_str(before);
        out.push_str(REDACTED);
        at = span.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_classified_by_their_last_words() {
        assert_eq!(name_kind("DB_PASSWORD"), NameKind::Password);
        assert_eq!(name_kind("adminpassword"), NameKind::Password);
        assert_eq!(name_kind("client_secret"), NameKind::Password);
        assert_eq!(name_kind("api_token"), NameKind::Token);
        assert_eq!(name_kind("X-Api-Key"), NameKind::Token);
        assert_eq!(name_kind("passenger"), NameKind::Other);
        assert_eq!(name_kind("keyboard"), NameKind::Other);
        assert_eq!(name_kind("token_url"), NameKind::Other);
        assert_eq!(name_kind("secret_name"), NameKind::Other);
    }

    #[test]
    fn entropy_is_bits_per_character() {
        assert_eq!(entropy(""), 0.0);
        assert_eq!(entropy("aaaa"), 0.0);
        assert!((entropy("abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn spans_merge_and_apply_once() {
        let text = "a password=hunter22 b";
        let spans = secret_spans(text);
        assert_eq!(apply(text, &spans), "a password=[REDACTED] b");
        assert_eq!(merge(vec![5..9, 1..3, 2..6]), vec![1..9]);
    }
}
