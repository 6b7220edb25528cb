//! gitleaks' secret-detection rules, kept as data in `rules/gitleaks.toml` (MIT, see
//! the file's header for its source commit and what was left out), parsed and compiled
//! at first use.
//!
//! A rule applies the way gitleaks applies it to a string: it runs only when the
//! lowercased text contains one of its `keywords` (one Aho-Corasick pass finds them
//! all); the secret is the first non-empty unnamed group of the match (the whole match
//! when there is none); it must reach the rule's Shannon `entropy`; and neither the
//! rule's allowlists nor the global one may match it. Only the secret is redacted, so
//! `API_TOKEN=…` keeps its name.
//!
//! gitleaks' patterns are Go RE2 syntax, where `\w`, `\d`, `\s` and `\b` are ASCII.
//! They are compiled with Rust's `regex` after rewriting those four to their ASCII
//! forms (which also keeps the compiled automata small); a rule that still does not
//! compile is skipped and counted in [`LoadReport`].

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::secret::entropy;

/// The rules file, embedded at build time.
const GITLEAKS_TOML: &str = include_str!("../../rules/gitleaks.toml");

/// Largest compiled size of one rule's regex, in bytes (the `regex` default is 10 MiB).
const RULE_SIZE_LIMIT_BYTES: usize = 16 * (1 << 20);

#[derive(Debug, Deserialize)]
struct ConfigData {
    #[serde(default)]
    allowlist: Option<AllowlistData>,
    #[serde(default)]
    rules: Vec<RuleData>,
}

#[derive(Debug, Default, Deserialize)]
struct AllowlistData {
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default, rename = "regexTarget")]
    regex_target: Option<String>,
    #[serde(default)]
    paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct RuleData {
    id: String,
    regex: Option<String>,
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    path: Option<String>,
    #[serde(default)]
    allowlists: Vec<AllowlistData>,
}

/// What an allowlist regex is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Secret,
    Match,
    Line,
}

#[derive(Debug)]
struct Allowlist {
    target: Target,
    regexes: Vec<Regex>,
    stopwords: Vec<String>,
}

impl Allowlist {
    fn allows(&self, secret: &str, whole: &str, line: &str) -> bool {
        let target = match self.target {
            Target::Secret => secret,
            Target::Match => whole,
            Target::Line => line,
        };
        if self.regexes.iter().any(|r| r.is_match(target)) {
            return true;
        }
        let lower = secret.to_lowercase();
        self.stopwords.iter().any(|w| lower.contains(w.as_str()))
    }
}

#[derive(Debug)]
struct Rule {
    id: String,
    regex: Regex,
    /// Per capture group: whether it is unnamed (a candidate for the secret).
    unnamed: Vec<bool>,
    entropy: Option<f64>,
    allowlists: Vec<Allowlist>,
}

/// How loading the rules went: how many rules are in use and which were skipped, with
/// why (a regex Rust's `regex` cannot compile, a rule that only names a path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Rules compiled and in use.
    pub loaded: usize,
    /// `(rule id, reason)` for each rule left out.
    pub skipped: Vec<(String, String)>,
}

/// The compiled rule set.
#[derive(Debug)]
pub(crate) struct RuleSet {
    rules: Vec<Rule>,
    /// Finds every keyword in lowercased text.
    keywords: Option<AhoCorasick>,
    /// For each keyword (by pattern index), the rules it switches on.
    keyword_rules: Vec<Vec<usize>>,
    /// Rules without keywords: always run.
    always: Vec<usize>,
    global: Allowlist,
    report: LoadReport,
}

static GITLEAKS: LazyLock<RuleSet> = LazyLock::new(|| RuleSet::parse(GITLEAKS_TOML));

/// Returns the gitleaks rule set, parsed and compiled on the first call.
pub(crate) fn gitleaks() -> &'static RuleSet {
    &GITLEAKS
}

/// Returns how loading the embedded gitleaks rules went (loads them if needed).
pub fn load_report() -> &'static LoadReport {
    &gitleaks().report
}

/// Rewrites a Go RE2 pattern for Rust's `regex`: `\w`, `\d`, `\s` become their ASCII
/// classes (RE2's meaning) and `\b` the ASCII word boundary; a `[` inside a class is
/// escaped (RE2 reads it literally, Rust as a nested class), and so is a `]` that opens
/// a class.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let class = match next {
                    'w' => Some("[:word:]"),
                    'd' => Some("[:digit:]"),
                    's' => Some("[:space:]"),
                    _ => None,
                };
                match (class, in_class) {
                    (Some(class), true) => out.push_str(class),
                    (Some(class), false) => {
                        out.push('[');
                        out.push_str(class);
                        out.push(']');
                    }
                    (None, false) if next == 'b' => out.push_str("(?-u:\\b)"),
                    (None, _) => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    chars.next();
                    out.push('^');
                }
                if chars.peek() == Some(&']') {
                    chars.next();
                    out.push_str("\\]");
                }
            }
            '{' if !in_class => {
                let rest: String = chars.clone().collect();
                match repetition_len(&rest) {
                    Some(len) => {
                        out.push('{');
                        for _ in 0..len {
                            if let Some(c) = chars.next() {
                                out.push(c);
                            }
                        }
                    }
                    None => out.push_str("\\{"),
                }
            }
            '}' if !in_class => out.push_str("\\}"),
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Returns the length of `n}`, `n,}` or `n,m}` at the start of `rest` (what follows a
/// `{` that opens a repetition), or `None` when the `{` is a literal (RE2's reading).
fn repetition_len(rest: &str) -> Option<usize> {
    let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).count();
    let first = digits(rest);
    if first == 0 {
        return None;
    }
    let after = &rest[first..];
    if after.starts_with('}') {
        return Some(first + 1);
    }
    let tail = after.strip_prefix(',')?;
    let second = digits(tail);
    tail[second..]
        .starts_with('}')
        .then_some(first + 1 + second + 1)
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&translate(pattern))
        .size_limit(RULE_SIZE_LIMIT_BYTES)
        .build()
}

fn allowlist(data: &AllowlistData) -> Result<Allowlist, String> {
    let target = match data.regex_target.as_deref() {
        None | Some("secret") => Target::Secret,
        Some("match") => Target::Match,
        Some("line") => Target::Line,
        Some(other) => return Err(format!("unknown regexTarget {other}")),
    };
    let regexes = data
        .regexes
        .iter()
        .map(|r| compile(r).map_err(|e| format!("allowlist regex does not compile: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    // A rule whose allowlist cannot be read would redact more than gitleaks does, never
    // less; the caller skips it and reports why.
    Ok(Allowlist {
        target,
        regexes,
        stopwords: data.stopwords.iter().map(|w| w.to_lowercase()).collect(),
    })
}

impl RuleSet {
    fn empty(report: LoadReport) -> Self {
        Self {
            rules: Vec::new(),
            keywords: None,
            keyword_rules: Vec::new(),
            always: Vec::new(),
            global: Allowlist {
                target: Target::Secret,
                regexes: Vec::new(),
                stopwords: Vec::new(),
            },
            report,
        }
    }

    /// Parses and compiles a gitleaks configuration. Never fails: a file that does not
    /// parse gives an empty set (dream's own detectors still run) and an error in the
    /// log and the report; a rule that does not compile is skipped and reported.
    fn parse(text: &str) -> Self {
        let config: ConfigData = match toml::from_str(text) {
            Ok(config) => config,
            Err(err) => {
                tracing::error!(error = %err, "gitleaks rules do not parse; only dream's own secret detectors run");
                return Self::empty(LoadReport {
                    loaded: 0,
                    skipped: vec![("*".into(), format!("rules file does not parse: {err}"))],
                });
            }
        };
        let mut report = LoadReport::default();
        let global = config
            .allowlist
            .as_ref()
            .map(allowlist)
            .transpose()
            .unwrap_or_else(|err| {
                report.skipped.push(("allowlist".into(), err));
                None
            })
            .unwrap_or(Allowlist {
                target: Target::Secret,
                regexes: Vec::new(),
                stopwords: Vec::new(),
            });
        let mut rules = Vec::new();
        let mut keyword_list: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for data in config.rules {
            let Some(pattern) = data.regex.as_deref() else {
                report.skipped.push((data.id, "no regex".into()));
                continue;
            };
            if data.path.is_some() {
                report
                    .skipped
                    .push((data.id, "applies to a file path only".into()));
                continue;
            }
            let regex = match compile(pattern) {
                Ok(regex) => regex,
                Err(err) => {
                    report.skipped.push((data.id, format!("regex: {err}")));
                    continue;
                }
            };
            let allowlists = match data
                .allowlists
                .iter()
                .filter(|a| a.paths.is_empty())
                .map(allowlist)
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(lists) => lists,
                Err(err) => {
                    report.skipped.push((data.id, err));
                    continue;
                }
            };
            let index = rules.len();
            if data.keywords.is_empty() {
                always.push(index);
            }
            for keyword in &data.keywords {
                let keyword = keyword.to_lowercase();
                match keyword_list.iter().position(|k| *k == keyword) {
                    Some(at) => keyword_rules[at].push(index),
                    None => {
                        keyword_list.push(keyword);
                        keyword_rules.push(vec![index]);
                    }
                }
            }
            let unnamed = regex.capture_names().map(|n| n.is_none()).collect();
            rules.push(Rule {
                id: data.id,
                regex,
                unnamed,
                entropy: data.entropy,
                allowlists,
            });
        }
        let keywords = match AhoCorasick::new(&keyword_list) {
            Ok(ac) => Some(ac),
            Err(err) => {
                tracing::error!(error = %err, "gitleaks keywords do not build; every rule runs");
                always = (0..rules.len()).collect();
                None
            }
        };
        report.loaded = rules.len();
        Self {
            rules,
            keywords,
            keyword_rules,
            always,
            global,
            report,
        }
    }

    /// Returns the indices of the rules whose keywords occur in `text`, and those
    /// without keywords, sorted.
    fn active(&self, text: &str) -> Vec<usize> {
        let mut active = self.always.clone();
        if let Some(ac) = &self.keywords {
            let lower = text.to_lowercase();
            let mut seen = vec![false; self.keyword_rules.len()];
            for found in ac.find_overlapping_iter(&lower) {
                let k = found.pattern().as_usize();
                if !seen[k] {
                    seen[k] = true;
                    active.extend_from_slice(&self.keyword_rules[k]);
                }
            }
        }
        active.sort_unstable();
        active.dedup();
        active
    }

    /// Appends to `spans` the byte range of every secret the rules find in `text`, and
    /// returns the ids of the rules that found one.
    pub(crate) fn find(&self, text: &str, spans: &mut Vec<Range<usize>>) -> Vec<&str> {
        let mut fired = Vec::new();
        for index in self.active(text) {
            let rule = &self.rules[index];
            let mut hit = false;
            for caps in rule.regex.captures_iter(text) {
                let Some(whole) = caps.get(0) else { continue };
                let secret = (1..caps.len())
                    .filter(|i| rule.unnamed.get(*i).copied().unwrap_or(false))
                    .filter_map(|i| caps.get(i))
                    .find(|m| !m.as_str().is_empty())
                    .unwrap_or(whole);
                if let Some(min) = rule.entropy
                    && entropy(secret.as_str()) < min
                {
                    continue;
                }
                let line_start = text[..whole.start()].rfind('\n').map_or(0, |i| i + 1);
                let line_end = text[whole.end()..]
                    .find('\n')
                    .map_or(text.len(), |i| whole.end() + i);
                let line = &text[line_start..line_end];
                let allowed = std::iter::once(&self.global)
                    .chain(&rule.allowlists)
                    .any(|a| a.allows(secret.as_str(), whole.as_str(), line));
                if allowed {
                    continue;
                }
                spans.push(secret.range());
                hit = true;
            }
            if hit {
                fired.push(rule.id.as_str());
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_rules_load_and_report_what_was_skipped() {
        let report = load_report();
        println!(
            "gitleaks rules: {} loaded, {} skipped: {:?}",
            report.loaded,
            report.skipped.len(),
            report.skipped
        );
        assert!(report.loaded >= 150, "{report:?}");
        assert!(
            report.skipped.iter().all(|(_, why)| !why.contains("parse")),
            "{report:?}"
        );
        assert!(report.skipped.len() <= 5, "{report:?}");
    }

    #[test]
    fn translation_keeps_re2_meaning() {
        assert_eq!(translate(r"[\w.-]{0,5}\s"), r"[[:word:].-]{0,5}[[:space:]]");
        assert_eq!(translate(r"[^]]+"), r"[^\]]+");
        assert_eq!(translate(r"^\{\d{0,2}}$"), r"^\{[[:digit:]]{0,2}\}$");
        assert_eq!(translate(r"x{{[^}]+}}"), r"x\{\{[^}]+\}\}");
        assert_eq!(translate(r"\bab\\w"), r"(?-u:\b)ab\\w");
        let re = compile(r"(?i)[\w.-]{0,50}?(?:key)\s*=\s*(\w{8})\b").unwrap();
        assert!(re.is_match("API_KEY = abcd1234"));
        assert!(!re.is_match("API_KEY = ééééééééé"));
    }

    #[test]
    fn a_broken_file_gives_an_empty_set_not_a_panic() {
        let set = RuleSet::parse("[[rules]\nid = ");
        assert_eq!(set.report.loaded, 0);
        let mut spans = Vec::new();
        assert!(set.find("ghp_x", &mut spans).is_empty());
        let set = RuleSet::parse(
            "[[rules]]\nid = \"bad\"\nregex = '''(?<=x)y'''\n[[rules]]\nid = \"ok\"\nregex = '''tok_[a-z]{4}'''\nkeywords = [\"tok_\"]\n",
        );
        assert_eq!(set.report.loaded, 1);
        assert_eq!(set.report.skipped[0].0, "bad");
        let mut spans = Vec::new();
        assert_eq!(set.find("a tok_abcd b", &mut spans), vec!["ok"]);
        assert_eq!(spans, vec![2..10]);
    }
}
