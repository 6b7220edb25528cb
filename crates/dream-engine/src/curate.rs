//! Curating the store: turning lesson patterns into notes, refreshing notes that
//! already exist, merging near-duplicate notes, superseding keyed facts with newer
//! values, and compacting to `max_memory_bytes`; then dropping what reviewers rejected
//! before and what protected paths forbid.
//!
//! Memory layout written by dreams:
//! - `/lessons/tool-errors.md`: recurring tool errors, with the fix that worked;
//! - `/lessons/corrections.md`: recurring corrections and rejected tool uses;
//! - `/lessons/preferences.md`: preferences stated by enough users;
//! - `/facts.md`: keyed facts (`- subject: value`);
//! - scoped variants under `/segments/<segment>/lessons/…`, `/agents/<agent>/lessons/…`
//!   and `/users/<user>/…` for lessons concentrated in one segment, agent or user.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use dream_types::{
    Change, ChangeOp, DreamConfig, Edit, Evidence, Flag, HeldBack, HeldBackReason, OutcomeStats,
    Rejection, Support, Timestamp, path_has_prefix,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::check::check_change;
use crate::compact::{budget_bytes, compact, is_archive};
use crate::edit::line_aligned;
use crate::minhash::{cluster, jaccard, shingles};
use crate::note::{KeyedNote, Note, core_text, keyed, marker, parse_notes};
use crate::pattern::{Occurrence, Pattern, Scope, Verdict};
use crate::provenance::Provenance;
use crate::signal::SignalKind;
use crate::signal::signature::{normalize_text, normalize_words};

/// Most evidence entries cited by one change.
const MAX_EVIDENCE: usize = 50;
/// Half-life of a note's utility, in days.
pub(crate) const UTILITY_HALF_LIFE_DAYS: f64 = 90.0;
/// Similarity of a proposed text to a rejected one above which it is a look-alike.
const REJECTION_SIMILARITY: f64 = 0.8;
/// Share of a pattern's label words a person's note must contain to count as the
/// same lesson.
const LESSON_CONTAINMENT: f64 = 0.7;

/// One memory as the dream read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryFile {
    /// Its path.
    pub path: String,
    /// Its content.
    pub content: String,
    /// When it last changed.
    pub updated_at: Option<Timestamp>,
}

/// What curation needs.
#[derive(Debug, Clone, Copy)]
pub struct CurateInput<'a> {
    /// Mined patterns (all of them; the verdicts say which are lessons).
    pub patterns: &'a [Pattern],
    /// The store's memories at the base version.
    pub memories: &'a [MemoryFile],
    /// Protected path prefixes of the store.
    pub protected: &'a [String],
    /// Gates.
    pub config: &'a DreamConfig,
    /// Changes reviewers rejected in this store.
    pub rejections: &'a [Rejection],
    /// Who wrote each note, and the lessons people deleted (from the version history).
    pub provenance: &'a Provenance,
    /// The dream's clock.
    pub now: Timestamp,
}

/// Curation's result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curated {
    /// Changes, in a stable order.
    pub changes: Vec<Change>,
    /// What the gates held back.
    pub held_back: Vec<HeldBack>,
}

fn hex(bytes: &[u8], n: usize) -> String {
    bytes.iter().take(n).map(|b| format!("{b:02x}")).collect()
}

/// Builds a change; its id is derived from its op and edits, so identical dreams give
/// identical ids.
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_change(
    op: ChangeOp,
    edits: Vec<Edit>,
    justification: String,
    support: Support,
    stats: BTreeMap<String, Value>,
    evidence: Vec<Evidence>,
    flags: Vec<Flag>,
    pattern_key: Option<String>,
) -> Change {
    let mut hasher = Sha256::new();
    hasher.update(op.as_str());
    for edit in &edits {
        for part in [&edit.path, &edit.before, &edit.after] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
    }
    let id = format!("chg_{}", hex(&hasher.finalize(), 6));
    let primary = edits.first().cloned().unwrap_or(Edit {
        path: String::new(),
        before: String::new(),
        after: String::new(),
    });
    Change {
        id,
        op,
        path: primary.path,
        before: primary.before,
        after: primary.after,
        edits,
        justification,
        support,
        stats,
        evidence,
        flags,
        pattern_key,
    }
}

fn evidence_from(occurrences: &[&Occurrence]) -> Vec<Evidence> {
    occurrences
        .iter()
        .take(MAX_EVIDENCE)
        .map(|o| Evidence {
            session_id: o.signal.evidence.session_id.clone(),
            source_session_id: o.signal.evidence.source_session_id.clone(),
            event_index: o.signal.evidence.event_index,
            quote: o.signal.evidence.quote.clone(),
            redacted: false,
        })
        .collect()
}

fn pattern_evidence(pattern: &Pattern) -> Vec<Evidence> {
    let mut evidence = evidence_from(&pattern.first_per_session());
    if let Some(fix) = pattern.fixes.first() {
        let pointer = &fix.evidence;
        evidence.push(Evidence {
            session_id: pointer.session_id.clone(),
            source_session_id: pointer.source_session_id.clone(),
            event_index: pointer.event_index,
            quote: pointer.quote.clone(),
            redacted: false,
        });
    }
    evidence
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn support_clause(pattern: &Pattern) -> String {
    let mut clause = format!(
        "Seen in {}",
        plural(pattern.support.sessions, "session", "sessions")
    );
    if pattern.support.users > 0 {
        clause.push_str(&format!(
            " ({})",
            plural(pattern.support.users, "user", "users")
        ));
    }
    if let Some(last) = pattern.last_seen {
        clause.push_str(&format!(", last {}", &last.to_rfc3339()[..10]));
    }
    format!("_{clause}._")
}

fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        "0%".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / of as f64)
    }
}

/// The outcome sentence a lesson may carry, only when the association is significant.
fn outcome_sentence(stats: &OutcomeStats) -> String {
    format!(
        "Sessions with it failed more often: {} of {} ({}) against {} of {} ({}) without (Fisher's exact test, p = {:.3}).",
        stats.with_failed,
        stats.with_sessions,
        percent(stats.with_failed, stats.with_sessions),
        stats.without_failed,
        stats.without_sessions,
        percent(stats.without_failed, stats.without_sessions),
        stats.p_value
    )
}

fn quote_inline(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = one_line.chars().take(160).collect();
    if cut.len() < one_line.len() {
        format!("“{cut}…”")
    } else {
        format!("“{cut}”")
    }
}

fn actions_of(pattern: &Pattern) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for o in &pattern.occurrences {
        let actions = if o.signal.actions.is_empty() {
            o.signal.tool.clone().unwrap_or_default()
        } else {
            o.signal.actions.join(" && ")
        };
        *counts.entry(actions).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(a, _)| a)
        .unwrap_or_default()
}

/// Renders the note of a lesson pattern (one bullet, readable on its own).
fn render_lesson(pattern: &Pattern) -> String {
    let first = &pattern.occurrences[0].signal;
    let marker = format!("<!-- dream:pattern {} -->", pattern.key);
    let clause = support_clause(pattern);
    let scope = match &pattern.scope {
        Scope::General => String::new(),
        Scope::Segment(s) => format!("In the {s} segment: "),
        Scope::Agent(a) => format!("For agent {a}: "),
        Scope::User(u) => format!("For user {u}: "),
    };
    let outcome = pattern
        .stats
        .as_ref()
        .filter(|s| s.significant)
        .map(|s| format!(" {}", outcome_sentence(s)))
        .unwrap_or_default();
    match pattern.kind {
        SignalKind::ToolError => {
            let action = actions_of(pattern);
            let advice = match pattern.fixes.first() {
                Some(fix) => {
                    let example = if fix.example == fix.description {
                        String::new()
                    } else {
                        format!(" (e.g. {})", fix.example)
                    };
                    format!(
                        "Fix that worked in {} of {}: {}{example}.",
                        fix.sessions,
                        plural(pattern.support.sessions, "session", "sessions"),
                        fix.description,
                    )
                }
                None => format!("No fix was seen; check for this before running `{action}`."),
            };
            format!(
                "- {scope}**`{action}` fails with {}** {advice}{outcome} {clause} {marker}",
                quote_inline(&first.text)
            )
        }
        SignalKind::Rejection => format!(
            "- {scope}**Users rejected `{}` calls** such as `{}`; ask before making this call.{outcome} {clause} {marker}",
            first.tool.clone().unwrap_or_default(),
            first
                .input
                .clone()
                .unwrap_or_default()
                .chars()
                .take(120)
                .collect::<String>()
        ),
        SignalKind::Correction => format!(
            "- {scope}**Users corrected the agent:** {}.{outcome} {clause} {marker}",
            quote_inline(&first.text)
        ),
        SignalKind::Preference => format!(
            "- {scope}**Preference:** {}.{outcome} {} {marker}",
            quote_inline(&first.text),
            clause.replacen("Seen in", "Stated in", 1)
        ),
        SignalKind::Fact | SignalKind::Recovery => String::new(),
    }
}

fn safe_segment(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches(['-', '.']).to_owned();
    if cleaned.is_empty() {
        "unnamed".into()
    } else {
        cleaned
    }
}

/// Returns (path, heading) of the file a lesson goes to.
fn lesson_path(kind: SignalKind, scope: &Scope) -> (String, &'static str) {
    let (file, heading) = match kind {
        SignalKind::ToolError => ("lessons/tool-errors.md", "# Lessons: tool errors"),
        SignalKind::Preference => ("lessons/preferences.md", "# Lessons: preferences"),
        _ => ("lessons/corrections.md", "# Lessons: corrections"),
    };
    let prefix = match scope {
        Scope::General => String::new(),
        Scope::Segment(s) => format!("/segments/{}", safe_segment(s)),
        Scope::Agent(a) => format!("/agents/{}", safe_segment(a)),
        Scope::User(u) => format!("/users/{}", safe_segment(u)),
    };
    (format!("{prefix}/{file}"), heading)
}

fn held_back(pattern: &Pattern, reason: HeldBackReason) -> HeldBack {
    let first = &pattern.occurrences[0].signal;
    let summary = match pattern.kind {
        SignalKind::ToolError => format!(
            "`{}` fails with {}",
            actions_of(pattern),
            quote_inline(&first.text)
        ),
        SignalKind::Rejection => format!(
            "users rejected `{}` calls",
            first.tool.clone().unwrap_or_default()
        ),
        SignalKind::Correction => format!("correction {}", quote_inline(&first.text)),
        SignalKind::Preference => format!("preference {}", quote_inline(&first.text)),
        SignalKind::Fact => format!("fact {}", quote_inline(&first.text)),
        SignalKind::Recovery => String::new(),
    };
    let stats = pattern_stats(pattern);
    HeldBack {
        reason,
        summary,
        support: pattern.support,
        evidence: evidence_from(&pattern.first_per_session()),
        stats,
        pattern_key: Some(pattern.key.clone()),
    }
}

fn pattern_stats(pattern: &Pattern) -> BTreeMap<String, Value> {
    let mut stats = BTreeMap::new();
    if let Some(outcome) = &pattern.stats {
        stats.insert("outcome".into(), json!(outcome));
    }
    if !pattern.fixes.is_empty() {
        stats.insert(
            "fixes".into(),
            json!(pattern
                .fixes
                .iter()
                .map(|f| json!({"description": f.description, "sessions": f.sessions, "example": f.example}))
                .collect::<Vec<_>>()),
        );
    }
    if let Some(first) = pattern.first_seen {
        stats.insert("first_seen".into(), json!(first));
    }
    if let Some(last) = pattern.last_seen {
        stats.insert("last_seen".into(), json!(last));
    }
    stats.insert(
        "user_share".into(),
        json!((pattern.user_share * 1000.0).round() / 1000.0),
    );
    let scope = match &pattern.scope {
        Scope::General => json!({"type": "general"}),
        Scope::Segment(s) => json!({"type": "segment", "segment": s}),
        Scope::Agent(a) => json!({"type": "agent", "agent": a}),
        Scope::User(u) => json!({"type": "user", "user": u}),
    };
    stats.insert("scope".into(), scope);
    stats
}

/// A note located in a memory.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub(crate) path: String,
    pub(crate) text: String,
    pub(crate) start: usize,
    pub(crate) updated_at: Option<Timestamp>,
}

/// Returns an anchor for removing `note` that occurs once in `content`: the note
/// itself, or the line before and the note. `None` when neither is unique.
pub(crate) fn removal_anchor(content: &str, note: &Located) -> Option<(String, String)> {
    if line_aligned(content, &note.text).len() == 1 {
        return Some((note.text.clone(), String::new()));
    }
    let before = &content[..note.start];
    let previous_line_start = before
        .trim_end_matches('\n')
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let anchor = &content[previous_line_start..note.start + note.text.len()];
    let keep = content[previous_line_start..note.start]
        .trim_end_matches('\n')
        .to_owned();
    (line_aligned(content, anchor).len() == 1).then(|| (anchor.to_owned(), keep))
}

pub(crate) fn age_days(date: Option<&str>, fallback: Option<Timestamp>, now: Timestamp) -> f64 {
    let when = date
        .and_then(|d| Timestamp::parse(&format!("{d}T00:00:00Z")).ok())
        .or(fallback)
        .unwrap_or(now);
    ((now.unix_micros() - when.unix_micros()) as f64 / 86_400e6).max(0.0)
}

/// Returns whether two fact subjects name the same thing: their words (lowercased,
/// articles and possessives dropped) are equal, or one's are all in the other's
/// ("staging" and "staging database").
fn same_subject(a: &str, b: &str) -> bool {
    let words = |s: &str| -> BTreeSet<String> {
        s.to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && !matches!(*w, "the" | "our" | "my" | "a" | "an" | "your"))
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (words(a), words(b));
    !a.is_empty() && !b.is_empty() && (a.is_subset(&b) || b.is_subset(&a))
}

/// Returns whether a note's text is negated: it says never / not / don't / avoid (or
/// jamais, nie, nunca, não, ne … pas), so that it states the opposite of an otherwise
/// identical note without those words.
pub(crate) fn negated(text: &str) -> bool {
    static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:never|not|no|don't|dont|doesn't|mustn't|shouldn't|avoid|without|no longer|jamais|pas|nie|nicht|kein|keine|nunca|não|nao)\b|n't\b",
        )
        .unwrap_or_else(|e| panic!("built-in: {e}"))
    });
    NEGATION.is_match(text)
}

/// Returns a `needs_human` change for two notes that contradict each other: it removes
/// the older one (the later in the file when their age is equal), quoting both, so a
/// person keeps the one that holds. `None` when the note cannot be anchored.
fn contradiction(a: &Located, b: &Located, contents: &BTreeMap<&str, &str>) -> Option<Change> {
    let (old, new) = match (a.updated_at, b.updated_at) {
        (Some(x), Some(y)) if x < y => (a, b),
        (Some(x), Some(y)) if y < x => (b, a),
        _ if (a.path.as_str(), a.start) > (b.path.as_str(), b.start) => (a, b),
        _ => (b, a),
    };
    let content = contents.get(old.path.as_str()).copied().unwrap_or("");
    let (before, after) = removal_anchor(content, old)?;
    let mut stats = BTreeMap::new();
    stats.insert(
        "contradiction".into(),
        json!([
            {"path": old.path, "text": old.text},
            {"path": new.path, "text": new.text},
        ]),
    );
    Some(make_change(
        ChangeOp::Delete,
        vec![Edit {
            path: old.path.clone(),
            before,
            after,
        }],
        format!(
            "contradiction a dream cannot settle: “{}” ({}) against “{}” ({}); this removes the first — reject it and edit by hand if the other is wrong",
            core_text(&old.text),
            old.path,
            core_text(&new.text),
            new.path
        ),
        Support::default(),
        stats,
        Vec::new(),
        vec![Flag::NeedsHuman],
        None,
    ))
}

/// Returns the distinct sessions of `pattern` with an occurrence after `at`.
fn sessions_since(pattern: &Pattern, at: Timestamp) -> u64 {
    pattern
        .occurrences
        .iter()
        .filter(|o| o.at.is_some_and(|t| t > at))
        .map(|o| &o.session)
        .collect::<BTreeSet<_>>()
        .len() as u64
}

/// The support clause a note carries (`_Seen in 4 sessions (2 users), last …._`).
static SUPPORT_CLAUSE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"_(?:Seen|Stated) in [^_\n]*_").unwrap_or_else(|e| panic!("built-in: {e}"))
});

/// Returns the change that brings an existing lesson note up to date, if any.
///
/// A note a person last worded keeps its wording: only its support clause is
/// replaced, and only when the figures changed (a note with no clause is left alone).
/// A note the dream wrote is re-rendered when its text differs; the justification
/// says whether the support or only the wording changed.
fn refresh(
    found: &Located,
    rendered: &str,
    pattern: &Pattern,
    provenance: &Provenance,
    (stats, evidence, mut flags): (BTreeMap<String, Value>, Vec<Evidence>, Vec<Flag>),
) -> Option<Change> {
    let clause = support_clause(pattern);
    let old_clause = SUPPORT_CLAUSE.find(&found.text).map(|m| m.as_str());
    let (after, justification) = if provenance.person_wrote(&found.path, &found.text) {
        let old_clause = old_clause?;
        if old_clause == clause {
            return None;
        }
        flags.push(Flag::PersonWritten);
        (
            found.text.replacen(old_clause, &clause, 1),
            format!(
                "support changed ({} → {}); the wording is a person's and stays as written",
                old_clause.trim_matches('_'),
                clause.trim_matches('_')
            ),
        )
    } else {
        if found.text == rendered {
            return None;
        }
        let justification = match old_clause {
            Some(old) if old != clause => format!(
                "this lesson is already in memory; its support is refreshed ({} → {})",
                old.trim_matches('_'),
                clause.trim_matches('_')
            ),
            _ => "this lesson is already in memory; its support is unchanged and its wording is regenerated from the evidence".into(),
        };
        (rendered.to_owned(), justification)
    };
    Some(make_change(
        ChangeOp::Update,
        vec![Edit {
            path: found.path.clone(),
            before: found.text.clone(),
            after,
        }],
        justification,
        pattern.support,
        stats,
        evidence,
        flags,
        Some(pattern.key.clone()),
    ))
}

/// Curates the store (see the module docs).
pub fn curate(input: CurateInput<'_>) -> Curated {
    let protected = |path: &str| input.protected.iter().any(|p| path_has_prefix(path, p));
    let mut changes: Vec<Change> = Vec::new();
    let mut held: Vec<HeldBack> = Vec::new();

    // Every note of every unprotected memory.
    let mut notes: Vec<Located> = Vec::new();
    for memory in input
        .memories
        .iter()
        .filter(|m| !protected(&m.path) && !is_archive(&m.path))
    {
        for note in parse_notes(&memory.content) {
            notes.push(Located {
                path: memory.path.clone(),
                text: note.text.to_owned(),
                start: note.start,
                updated_at: memory.updated_at,
            });
        }
    }
    let existing_paths: BTreeSet<&str> = input.memories.iter().map(|m| m.path.as_str()).collect();
    let mut touched: BTreeSet<(String, usize)> = BTreeSet::new();

    // Lessons.
    for pattern in input.patterns.iter().filter(|p| p.kind != SignalKind::Fact) {
        match pattern.verdict {
            Verdict::HeldBack(reason) => {
                held.push(held_back(pattern, reason));
                continue;
            }
            Verdict::Lesson => {}
        }
        if let Some(stats) = pattern
            .stats
            .as_ref()
            .filter(|s| !s.significant && s.failure_rate_with > s.failure_rate_without)
        {
            let mut entry = held_back(pattern, HeldBackReason::NotSignificant);
            entry.summary = format!(
                "outcome claim left out of the lesson on {}: failure {} of {} with vs {} of {} without, p = {:.3} ≥ {}",
                entry.summary,
                stats.with_failed,
                stats.with_sessions,
                stats.without_failed,
                stats.without_sessions,
                stats.p_value,
                input.config.significance
            );
            held.push(entry);
        }
        let note = render_lesson(pattern);
        let evidence = pattern_evidence(pattern);
        let stats = pattern_stats(pattern);
        let mut flags = Vec::new();
        if !matches!(pattern.scope, Scope::General) {
            flags.push(Flag::Scoped);
        }
        if matches!(pattern.scope, Scope::User(_)) {
            flags.push(Flag::SingleUser);
        }
        let marked = notes
            .iter()
            .find(|n| marker(&n.text).as_deref() == Some(pattern.key.as_str()));
        if let Some(found) = marked {
            touched.insert((found.path.clone(), found.start));
            if let Some(change) = refresh(
                found,
                &note,
                pattern,
                input.provenance,
                (stats, evidence, flags),
            ) {
                changes.push(change);
            }
            continue;
        }
        if let Some(deleted) = input.provenance.deleted(&pattern.key) {
            let after_deletion = sessions_since(pattern, deleted.at);
            if after_deletion < input.config.min_support {
                let mut entry = held_back(pattern, HeldBackReason::PreviouslyDeleted);
                entry.summary = format!(
                    "{} was deleted from memory by {} on {}; {} since then (min_support {})",
                    entry.summary,
                    deleted.by,
                    &deleted.at.to_rfc3339()[..10],
                    plural(after_deletion, "session", "sessions"),
                    input.config.min_support
                );
                entry.stats.insert("deleted_at".into(), json!(deleted.at));
                entry.stats.insert("deleted_by".into(), json!(deleted.by));
                held.push(entry);
                continue;
            }
            flags.push(Flag::PreviouslyDeleted);
            flags.push(Flag::NeedsHuman);
        }
        let label = shingles(&normalize_text(&pattern.label));
        let human = notes.iter().find(|n| {
            if marker(&n.text).is_some() || label.is_empty() {
                return false;
            }
            let words = shingles(&normalize_text(&core_text(&n.text)));
            label.intersection(&words).count() as f64 / label.len() as f64 >= LESSON_CONTAINMENT
        });
        if let Some(found) = human {
            touched.insert((found.path.clone(), found.start));
            if input.provenance.person_wrote(&found.path, &found.text) {
                // Appending our clause and marker changes a person's note: theirs to allow.
                flags.push(Flag::PersonWritten);
                flags.push(Flag::NeedsHuman);
            }
            let after = format!(
                "{} {} <!-- dream:pattern {} -->",
                found.text,
                support_clause(pattern),
                pattern.key
            );
            changes.push(make_change(
                ChangeOp::Update,
                vec![Edit {
                    path: found.path.clone(),
                    before: found.text.clone(),
                    after,
                }],
                "a note already says this; it gets the pattern's support instead of a new note"
                    .into(),
                pattern.support,
                stats,
                evidence,
                flags,
                Some(pattern.key.clone()),
            ));
            continue;
        }
        let (path, heading) = lesson_path(pattern.kind, &pattern.scope);
        let after = if existing_paths.contains(path.as_str()) {
            note
        } else {
            format!("{heading}\n\n{note}")
        };
        let mut justification = match pattern.kind {
            SignalKind::ToolError => format!(
                "the same tool error recurs in {} (min_support {})",
                plural(pattern.support.sessions, "session", "sessions"),
                input.config.min_support
            ),
            SignalKind::Preference => format!(
                "stated in {} by {}",
                plural(pattern.support.sessions, "session", "sessions"),
                plural(pattern.support.users, "user", "users")
            ),
            _ => format!(
                "recurs in {}",
                plural(pattern.support.sessions, "session", "sessions")
            ),
        };
        if let Some(deleted) = input.provenance.deleted(&pattern.key) {
            justification.push_str(&format!(
                "; previously_deleted: {} deleted this lesson on {}, and {} since then reached min_support on their own",
                deleted.by,
                &deleted.at.to_rfc3339()[..10],
                plural(sessions_since(pattern, deleted.at), "session", "sessions"),
            ));
        }
        changes.push(make_change(
            ChangeOp::Add,
            vec![Edit {
                path,
                before: String::new(),
                after,
            }],
            justification,
            pattern.support,
            stats,
            evidence,
            flags,
            Some(pattern.key.clone()),
        ));
    }

    // Keyed facts: supersede outdated values; add new ones stated as changes.
    let keyed_notes: Vec<(Located, String, String)> = notes
        .iter()
        .filter_map(|n| {
            let parsed = parse_notes(&n.text);
            let first: &Note<'_> = parsed.first()?;
            let KeyedNote { key, value } = keyed(first)?;
            Some((n.clone(), key, value.trim_end_matches('.').to_owned()))
        })
        .collect();
    for pattern in input.patterns.iter().filter(|p| p.kind == SignalKind::Fact) {
        let key = pattern.label.clone();
        let newest = pattern
            .occurrences
            .iter()
            .enumerate()
            .max_by(|(ia, a), (ib, b)| a.at.cmp(&b.at).then(ia.cmp(ib)))
            .map(|(_, o)| o);
        let Some(newest) = newest else { continue };
        let Some(fact) = newest.signal.fact.clone() else {
            continue;
        };
        let same_value: Vec<&Occurrence> = pattern
            .occurrences
            .iter()
            .filter(|o| {
                o.signal
                    .fact
                    .as_ref()
                    .is_some_and(|f| f.value.eq_ignore_ascii_case(&fact.value))
            })
            .collect();
        let mut seen_sessions = BTreeSet::new();
        let citing: Vec<&Occurrence> = same_value
            .iter()
            .rev()
            .filter(|o| seen_sessions.insert(o.session.clone()))
            .copied()
            .collect();
        let support = Support {
            sessions: seen_sessions.len() as u64,
            users: pattern.support.users.min(seen_sessions.len() as u64),
            agents: pattern.support.agents.min(seen_sessions.len() as u64),
        };
        let date = newest.at.map(|t| t.to_rfc3339()[..10].to_owned());
        let as_of = date
            .as_deref()
            .map(|d| format!(" _(as of {d})_"))
            .unwrap_or_default();
        let rendered = format!("- {key}: {}{as_of} <!-- dream:fact {key} -->", fact.value);
        let in_memory: Vec<&(Located, String, String)> = keyed_notes
            .iter()
            .filter(|(n, k, _)| {
                same_subject(k, &key) && !touched.contains(&(n.path.clone(), n.start))
            })
            .collect();
        if in_memory.is_empty() {
            if !fact.change {
                continue;
            }
            if pattern.support.sessions < input.config.min_support {
                held.push(held_back(pattern, HeldBackReason::BelowMinSupport));
                continue;
            }
            let after = if existing_paths.contains("/facts.md") {
                rendered
            } else {
                format!("# Facts\n\n{rendered}")
            };
            changes.push(make_change(
                ChangeOp::Add,
                vec![Edit {
                    path: "/facts.md".into(),
                    before: String::new(),
                    after,
                }],
                format!(
                    "“{key}” changed to “{}”, stated in {}",
                    fact.value,
                    plural(support.sessions, "session", "sessions")
                ),
                support,
                pattern_stats(pattern),
                evidence_from(&citing),
                Vec::new(),
                Some(format!("{}:{key}", "fact")),
            ));
            continue;
        }
        for (note, _, value) in in_memory {
            if value.eq_ignore_ascii_case(fact.value.trim_end_matches('.')) {
                continue;
            }
            let newer = match (newest.at, note.updated_at) {
                (Some(said), Some(written)) => said > written,
                _ => true,
            };
            if !newer {
                continue;
            }
            touched.insert((note.path.clone(), note.start));
            let mut flags = Vec::new();
            if support.users == 1 {
                flags.push(Flag::SingleUser);
            }
            // The old value's standing: the sessions of the window that still state it,
            // or the support its note claims, whichever is larger.
            let old_stated: Vec<&Occurrence> = pattern
                .occurrences
                .iter()
                .filter(|o| {
                    o.signal
                        .fact
                        .as_ref()
                        .is_some_and(|f| f.value.trim_end_matches('.').eq_ignore_ascii_case(value))
                })
                .collect();
            let old_sessions = old_stated
                .iter()
                .map(|o| &o.session)
                .collect::<BTreeSet<_>>()
                .len() as u64;
            let old_support = old_sessions.max(
                parse_notes(&note.text)
                    .first()
                    .and_then(Note::support)
                    .unwrap_or(0),
            );
            let old_last_stated = old_stated
                .iter()
                .filter_map(|o| o.at)
                .max()
                .or(note.updated_at);
            let mut stats = pattern_stats(pattern);
            stats.insert("previous_value".into(), json!(value));
            stats.insert("previous_value_sessions".into(), json!(old_support));
            stats.insert("previous_value_last_stated".into(), json!(old_last_stated));
            stats.insert("value_last_stated".into(), json!(newest.at));
            let contested = support.sessions < old_support;
            if contested {
                flags.push(Flag::NeedsHuman);
            }
            changes.push(make_change(
                ChangeOp::Supersede,
                vec![Edit {
                    path: note.path.clone(),
                    before: note.text.clone(),
                    after: rendered.clone(),
                }],
                if contested {
                    format!(
                        "“{key}” may now be “{}” (was “{value}”), but the new value is stated in fewer sessions ({}) than the old one ({old_support}): a person decides",
                        fact.value, support.sessions
                    )
                } else {
                    format!(
                        "“{key}” is now “{}” (was “{value}”); the old text stays in version history",
                        fact.value
                    )
                },
                support,
                stats,
                evidence_from(&citing),
                flags,
                Some(format!("fact:{key}")),
            ));
        }
    }

    // Near-duplicate notes.
    let candidates: Vec<&Located> = notes
        .iter()
        .filter(|n| !touched.contains(&(n.path.clone(), n.start)))
        .collect();
    let items: Vec<_> = candidates
        .iter()
        .map(|n| shingles(&normalize_words(&core_text(&n.text))))
        .collect();
    let roots = cluster(&items, input.config.duplicate_similarity);
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, root) in roots.iter().enumerate() {
        groups.entry(*root).or_default().push(i);
    }
    let contents: BTreeMap<&str, &str> = input
        .memories
        .iter()
        .map(|m| (m.path.as_str(), m.content.as_str()))
        .collect();
    // Notes that say opposite things look alike in words; they are a contradiction for
    // a person to settle, never a merge.
    let mut merge_groups: Vec<Vec<usize>> = Vec::new();
    for members in groups.values().filter(|m| m.len() > 1) {
        let (negative, positive): (Vec<usize>, Vec<usize>) = members
            .iter()
            .partition(|&&i| negated(&core_text(&candidates[i].text)));
        if let (Some(&p), Some(&n)) = (positive.first(), negative.first())
            && let Some(change) = contradiction(candidates[p], candidates[n], &contents)
        {
            changes.push(change);
        }
        merge_groups.extend([positive, negative].into_iter().filter(|g| g.len() > 1));
    }
    for members in &merge_groups {
        let best = *members
            .iter()
            .max_by(|a, b| {
                core_text(&candidates[**a].text)
                    .len()
                    .cmp(&core_text(&candidates[**b].text).len())
                    .then(b.cmp(a))
            })
            .unwrap_or(&members[0]);
        let kept = candidates[best];
        let mut merged = kept.text.clone();
        for &i in members {
            if let Some(m) = marker(&candidates[i].text).filter(|m| !merged.contains(m.as_str())) {
                merged.push_str(&format!(" <!-- dream:pattern {m} -->"));
            }
        }
        let mut edits = vec![Edit {
            path: kept.path.clone(),
            before: kept.text.clone(),
            after: merged.clone(),
        }];
        let mut merged_from = vec![json!({"path": kept.path, "text": kept.text, "kept": true})];
        let mut similarity = Vec::new();
        let mut ok = true;
        for &i in members.iter().filter(|i| **i != best) {
            let other = candidates[i];
            let content = contents.get(other.path.as_str()).copied().unwrap_or("");
            match removal_anchor(content, other) {
                Some((before, after)) => edits.push(Edit {
                    path: other.path.clone(),
                    before,
                    after,
                }),
                None => ok = false,
            }
            merged_from.push(json!({"path": other.path, "text": other.text, "kept": false}));
            similarity.push((jaccard(&items[best], &items[i]) * 1000.0).round() / 1000.0);
        }
        if !ok {
            continue;
        }
        let mut stats = BTreeMap::new();
        stats.insert("merged_from".into(), json!(merged_from));
        stats.insert("similarity".into(), json!(similarity));
        changes.push(make_change(
            ChangeOp::Merge,
            edits,
            format!(
                "{} notes say the same thing (similarity ≥ {}); the most specific wording is kept",
                members.len(),
                input.config.duplicate_similarity
            ),
            Support::default(),
            stats,
            Vec::new(),
            Vec::new(),
            None,
        ));
    }

    // Checks that need no transcripts: secrets and steering (`check::check_change`).
    for change in &mut changes {
        check_change(change);
    }

    // Look-alikes of rejected changes, and protected paths.
    let rejected_texts: Vec<(std::collections::BTreeSet<u64>, &Rejection)> = input
        .rejections
        .iter()
        .map(|r| (shingles(&normalize_words(&core_text(&r.after))), r))
        .collect();
    let mut kept_changes = Vec::new();
    for change in changes {
        if let Some(path) = change.edits.iter().map(|e| &e.path).find(|p| protected(p)) {
            held.push(HeldBack {
                reason: HeldBackReason::ProtectedPath,
                summary: format!("{} change to the protected path {path}", change.op.as_str()),
                support: change.support,
                evidence: change.evidence.clone(),
                stats: change.stats.clone(),
                pattern_key: change.pattern_key.clone(),
            });
            continue;
        }
        let text = shingles(&normalize_words(&core_text(&change.after)));
        let rejected = rejected_texts.iter().find(|(words, r)| {
            (r.pattern_key.is_some() && r.pattern_key == change.pattern_key)
                || r.change_id == change.id
                || (!text.is_empty() && jaccard(words, &text) >= REJECTION_SIMILARITY)
        });
        if let Some((_, rejection)) = rejected {
            let mut stats = change.stats.clone();
            stats.insert("rejected_change".into(), json!(rejection.change_id));
            stats.insert("rejection_reason".into(), json!(rejection.reason));
            stats.insert("rejected_at".into(), json!(rejection.created_at));
            held.push(HeldBack {
                reason: HeldBackReason::SuppressedByRejection,
                summary: format!(
                    "{} of {} looks like a change a reviewer rejected: “{}”",
                    change.op.as_str(),
                    change.path,
                    rejection.reason
                ),
                support: change.support,
                evidence: change.evidence,
                stats,
                pattern_key: change.pattern_key,
            });
            continue;
        }
        kept_changes.push(change);
    }
    let mut changes = kept_changes;

    // Compaction to the budget: merge related notes, then archive what still does
    // not fit.
    if let Some(max) = budget_bytes(input.config) {
        let compacted = compact(&input, &changes, max);
        changes.extend(compacted);
    }

    let rank = |op: ChangeOp| match op {
        ChangeOp::Supersede => 0,
        ChangeOp::Merge => 1,
        ChangeOp::Update => 2,
        ChangeOp::Add => 3,
        ChangeOp::Delete => 4,
        ChangeOp::Compact => 5,
    };
    // Compaction must come last (it was computed on top of the others); the rest sort.
    let (mut main, compact): (Vec<Change>, Vec<Change>) =
        changes.into_iter().partition(|c| c.op != ChangeOp::Compact);
    main.sort_by(|a, b| {
        rank(a.op)
            .cmp(&rank(b.op))
            .then(a.path.cmp(&b.path))
            .then(b.support.sessions.cmp(&a.support.sessions))
            .then(a.id.cmp(&b.id))
    });
    changes = main;
    changes.extend(compact);
    // Strongest first, so the entries a reviewer should see are not folded away.
    held.sort_by(|a, b| {
        b.support
            .sessions
            .cmp(&a.support.sessions)
            .then(a.reason.cmp(&b.reason))
            .then(a.pattern_key.cmp(&b.pattern_key))
            .then(a.summary.cmp(&b.summary))
    });
    Curated {
        changes,
        held_back: held,
    }
}
