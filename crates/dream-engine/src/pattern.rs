//! Patterns: signals clustered across sessions, with support, outcome association,
//! scope, and the gate verdict that decides whether a pattern becomes a lesson.
//!
//! Clustering is two-step: by exact key (the normalised signature or text), then by
//! text similarity: tool-error signatures by MinHash ([`crate::minhash`]), and the
//! statements of preferences and corrections by paraphrase similarity
//! ([`crate::similarity`]: stems, stop words, abbreviations, character n-gram TF-IDF),
//! so that "Confirm the order number before cancelling." and "Cancellations: verify
//! the order no. first." gather their support in one pattern. Neither compares all
//! pairs.

use std::collections::{BTreeMap, BTreeSet};

use dream_types::{DreamConfig, HeldBackReason, OutcomeStats, SessionId, Support, Timestamp};
use sha2::{Digest, Sha256};

use crate::minhash::{cluster, shingles};
use crate::signal::{Pointer, Signal, SignalKind};
use crate::similarity::Similarity;
use crate::stats::outcome_stats;

/// What the miner needs to know about each session of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    /// The session.
    pub id: SessionId,
    /// Its id in the imported file.
    pub source_session_id: String,
    /// Its user.
    pub user: Option<String>,
    /// Its agent.
    pub agent: Option<String>,
    /// Its segment (metadata `segment`).
    pub segment: Option<String>,
    /// Whether it failed: `None` when it has no outcome.
    pub failed: Option<bool>,
    /// When it started.
    pub started_at: Option<Timestamp>,
}

/// Where a lesson applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Everywhere.
    General,
    /// Sessions of one segment.
    Segment(String),
    /// Sessions of one agent.
    Agent(String),
    /// One user.
    User(String),
}

/// The gate's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Becomes a lesson (or, for facts, may supersede memory).
    Lesson,
    /// Held back, listed in the proposal with this reason.
    HeldBack(HeldBackReason),
}

/// One signal of a pattern, with the top-level session it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// The top-level session (a subagent's signal belongs to its parent).
    pub session: SessionId,
    /// When it happened: the event's time, else the session's start.
    pub at: Option<Timestamp>,
    /// The signal.
    pub signal: Signal,
}

/// A fix seen for a tool-error pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct FixSummary {
    /// The masked description shared by these fixes.
    pub description: String,
    /// Distinct sessions where it worked.
    pub sessions: u64,
    /// An unmasked example.
    pub example: String,
    /// The call that worked, in the first session.
    pub evidence: Pointer,
}

/// One named check of a multi-check step (a pre-commit hook's `[DIALYZER]`) and
/// what its failures cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// The check's name as the tool prints it (`DIALYZER`).
    pub name: String,
    /// Failed runs of the step that reported this check.
    pub failures: u64,
    /// Distinct top-level sessions with such a failure.
    pub sessions: u64,
    /// Of those failures, the ones followed by another run of the same command in the
    /// same session: the retries the check cost.
    pub retries: u64,
}

/// Signals that recur, and what the gates make of them.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// What kind of signal.
    pub kind: SignalKind,
    /// Stable key: `tool_error:<8 hex>` of the representative signal key.
    pub key: String,
    /// The representative key text (a signature or normalised statement).
    pub label: String,
    /// Every occurrence, by session then event.
    pub occurrences: Vec<Occurrence>,
    /// Distinct top-level sessions, sorted.
    pub sessions: Vec<SessionId>,
    /// Support.
    pub support: Support,
    /// Earliest occurrence.
    pub first_seen: Option<Timestamp>,
    /// Latest occurrence.
    pub last_seen: Option<Timestamp>,
    /// Failure rate with and without, when the window has outcomes.
    pub stats: Option<OutcomeStats>,
    /// Fixes that worked (tool errors), most common first.
    pub fixes: Vec<FixSummary>,
    /// For a step that runs named checks (a pre-commit hook): each check that failed,
    /// most failures first. Empty otherwise.
    pub checks: Vec<CheckSummary>,
    /// Where the lesson applies.
    pub scope: Scope,
    /// Distinct users of the pattern ÷ distinct users of the window.
    pub user_share: f64,
    /// The gate's decision.
    pub verdict: Verdict,
}

impl Pattern {
    /// Returns the first occurrence of each session (the evidence to cite), in order.
    pub fn first_per_session(&self) -> Vec<&Occurrence> {
        let mut seen = BTreeSet::new();
        self.occurrences
            .iter()
            .filter(|o| seen.insert(o.session.clone()))
            .collect()
    }
}

/// Paraphrase similarity ([`Similarity::score`]) at which two statements of a
/// preference or a correction are one pattern. Measured on labelled pairs in
/// `similarity.rs`'s tests: paraphrases score 0.75–1, look-alikes that differ in
/// the word that matters ("before cancelling" / "before shipping") 0.5 or less.
pub const PARAPHRASE_THRESHOLD: f64 = 0.6;

/// Similarity above which two keys of a kind are one pattern.
fn merge_threshold(kind: SignalKind) -> Option<f64> {
    match kind {
        // Signatures are already normalised; only near-identical ones merge.
        SignalKind::ToolError => Some(0.75),
        SignalKind::Correction | SignalKind::Preference => Some(PARAPHRASE_THRESHOLD),
        SignalKind::Recovery | SignalKind::Rejection | SignalKind::Fact => None,
    }
}

fn kind_name(kind: SignalKind) -> &'static str {
    match kind {
        SignalKind::ToolError => "tool_error",
        SignalKind::Recovery => "recovery",
        SignalKind::Correction => "correction",
        SignalKind::Rejection => "rejection",
        SignalKind::Preference => "preference",
        SignalKind::Fact => "fact",
    }
}

fn key_text(key: &str) -> &str {
    key.split_once(':').map_or(key, |(_, rest)| rest)
}

pub(crate) fn stable_key(kind: SignalKind, representative: &str) -> String {
    let digest = Sha256::digest(representative.as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", kind_name(kind))
}

/// Mines patterns from each session's signals. Sessions missing from `sessions` are
/// ignored. The result is sorted by kind, then support (most first), then key.
pub fn mine(
    sessions: &[SessionInfo],
    signals: &BTreeMap<SessionId, Vec<Signal>>,
    config: &DreamConfig,
) -> Vec<Pattern> {
    let window = Window::new(sessions);
    let (info, order) = (&window.info, &window.order);

    // Exact keys first.
    let mut by_key: BTreeMap<(SignalKind, String), Vec<Occurrence>> = BTreeMap::new();
    for (session, list) in signals {
        if !info.contains_key(session) {
            continue;
        }
        for signal in list {
            by_key
                .entry((signal.kind, signal.key.clone()))
                .or_default()
                .push(Occurrence {
                    session: session.clone(),
                    at: signal.at.or(info[session].started_at),
                    signal: signal.clone(),
                });
        }
    }

    let mut patterns = Vec::new();
    for kind in [
        SignalKind::ToolError,
        SignalKind::Rejection,
        SignalKind::Correction,
        SignalKind::Preference,
        SignalKind::Fact,
    ] {
        let keys: Vec<&String> = by_key
            .keys()
            .filter(|(k, _)| *k == kind)
            .map(|(_, key)| key)
            .collect();
        let clusters: Vec<usize> = match merge_threshold(kind) {
            Some(threshold) if matches!(kind, SignalKind::Preference | SignalKind::Correction) => {
                // The statement as written (first occurrence of each key): the
                // abbreviations and accents that the key's normalisation removed
                // still help.
                let texts: Vec<&str> = keys
                    .iter()
                    .map(|k| {
                        by_key[&(kind, (*k).clone())]
                            .first()
                            .map_or(key_text(k), |o| o.signal.text.as_str())
                    })
                    .collect();
                let mut roots: Vec<usize> = (0..keys.len()).collect();
                for group in Similarity::new(&texts).groups(threshold) {
                    for &member in &group {
                        roots[member] = group[0];
                    }
                }
                roots
            }
            Some(threshold) => {
                let items: Vec<_> = keys.iter().map(|k| shingles(key_text(k))).collect();
                cluster(&items, threshold)
            }
            None => (0..keys.len()).collect(),
        };
        let mut groups: BTreeMap<usize, Vec<&String>> = BTreeMap::new();
        for (i, root) in clusters.iter().enumerate() {
            groups.entry(*root).or_default().push(keys[i]);
        }
        for members in groups.values() {
            let distinct = |key: &String| -> usize {
                by_key[&(kind, key.clone())]
                    .iter()
                    .map(|o| &o.session)
                    .collect::<BTreeSet<_>>()
                    .len()
            };
            let representative = members
                .iter()
                .max_by(|a, b| distinct(a).cmp(&distinct(b)).then_with(|| b.cmp(a)))
                .map(|k| (*k).clone())
                .unwrap_or_default();
            let mut occurrences: Vec<Occurrence> = members
                .iter()
                .flat_map(|k| by_key[&(kind, (*k).clone())].iter().cloned())
                .collect();
            let mut recoveries: Vec<Occurrence> = Vec::new();
            if kind == SignalKind::ToolError {
                for member in members {
                    let recovery = format!("recovery:{}", key_text(member));
                    if let Some(found) = by_key.get(&(SignalKind::Recovery, recovery)) {
                        recoveries.extend(found.iter().cloned());
                    }
                }
            }
            let sort = |list: &mut Vec<Occurrence>| {
                list.sort_by(|a, b| {
                    order[&a.session]
                        .cmp(&order[&b.session])
                        .then(
                            a.signal
                                .evidence
                                .session_id
                                .cmp(&b.signal.evidence.session_id),
                        )
                        .then(
                            a.signal
                                .evidence
                                .event_index
                                .cmp(&b.signal.evidence.event_index),
                        )
                });
            };
            sort(&mut occurrences);
            sort(&mut recoveries);
            patterns.push(build(
                kind,
                &representative,
                occurrences,
                recoveries,
                &window,
                config,
            ));
        }
    }
    patterns.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(b.support.sessions.cmp(&a.support.sessions))
            .then(a.key.cmp(&b.key))
    });
    patterns
}

/// What every pattern compares itself with, computed once per window (computing it
/// per pattern made mining quadratic: 2.8 s at 10k sessions, `cargo xtask bench-dream`).
struct Window<'a> {
    info: BTreeMap<&'a SessionId, &'a SessionInfo>,
    order: BTreeMap<&'a SessionId, usize>,
    users: BTreeSet<&'a str>,
    /// Sessions with a known outcome, and of those the failed ones.
    known: u64,
    known_failed: u64,
    /// Distinct segments and agents in the window.
    segments: usize,
    agents: usize,
}

impl<'a> Window<'a> {
    fn new(sessions: &'a [SessionInfo]) -> Self {
        let distinct = |f: fn(&SessionInfo) -> Option<&str>| -> usize {
            sessions.iter().filter_map(f).collect::<BTreeSet<_>>().len()
        };
        Self {
            info: sessions.iter().map(|s| (&s.id, s)).collect(),
            order: sessions
                .iter()
                .enumerate()
                .map(|(i, s)| (&s.id, i))
                .collect(),
            users: sessions.iter().filter_map(|s| s.user.as_deref()).collect(),
            known: sessions.iter().filter(|s| s.failed.is_some()).count() as u64,
            known_failed: sessions.iter().filter(|s| s.failed == Some(true)).count() as u64,
            segments: distinct(|s| s.segment.as_deref()),
            agents: distinct(|s| s.agent.as_deref()),
        }
    }
}

fn build(
    kind: SignalKind,
    representative: &str,
    occurrences: Vec<Occurrence>,
    recoveries: Vec<Occurrence>,
    window: &Window<'_>,
    config: &DreamConfig,
) -> Pattern {
    let info = &window.info;
    let session_set: BTreeSet<&SessionId> = occurrences.iter().map(|o| &o.session).collect();
    let users: BTreeSet<&str> = session_set
        .iter()
        .filter_map(|s| info[*s].user.as_deref())
        .collect();
    let agents: BTreeSet<&str> = session_set
        .iter()
        .filter_map(|s| info[*s].agent.as_deref())
        .collect();
    let support = Support {
        sessions: session_set.len() as u64,
        users: users.len() as u64,
        agents: agents.len() as u64,
    };
    let times: Vec<Timestamp> = occurrences.iter().filter_map(|o| o.at).collect();

    let with: Vec<&SessionInfo> = session_set
        .iter()
        .map(|s| info[*s])
        .filter(|s| s.failed.is_some())
        .collect();
    // Only patterns seen in sessions with outcomes can be compared.
    let stats = (!with.is_empty()).then(|| {
        let with_failed = with.iter().filter(|s| s.failed == Some(true)).count() as u64;
        outcome_stats(
            with.len() as u64,
            with_failed,
            window.known - with.len() as u64,
            window.known_failed - with_failed,
            config.significance,
        )
    });

    let mut fixes: BTreeMap<String, (BTreeSet<SessionId>, String, Pointer)> = BTreeMap::new();
    for occurrence in &recoveries {
        if let Some(fix) = &occurrence.signal.fix {
            let entry = fixes
                .entry(fix.description.clone())
                .or_insert_with(|| (BTreeSet::new(), fix.example.clone(), fix.pointer.clone()));
            entry.0.insert(occurrence.session.clone());
        }
    }
    let mut fixes: Vec<FixSummary> = fixes
        .into_iter()
        .map(|(description, (sessions, example, evidence))| FixSummary {
            description,
            sessions: sessions.len() as u64,
            example,
            evidence,
        })
        .collect();
    // On a tie, a fix that names what to do ("locate it with `Glob` first") goes
    // before a retry that only changed an argument.
    let generic = |f: &FixSummary| f.description.contains(" again with ");
    fixes.sort_by(|a, b| {
        b.sessions
            .cmp(&a.sessions)
            .then(generic(a).cmp(&generic(b)))
            .then(a.description.cmp(&b.description))
    });

    let share = |distinct_in_window: usize,
                 values: &dyn Fn(&SessionInfo) -> Option<&str>|
     -> Option<String> {
        if distinct_in_window < 2 {
            return None;
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &session_set {
            if let Some(v) = values(info[*s]) {
                *counts.entry(v).or_default() += 1;
            }
        }
        let (top, count) = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
        (count as f64 / session_set.len() as f64 >= config.scope_share && session_set.len() > 1)
            .then(|| top.to_owned())
    };
    let user_share = if window.users.is_empty() {
        0.0
    } else {
        users.len() as f64 / window.users.len() as f64
    };
    let single_user = (users.len() == 1 && window.users.len() > 1)
        .then(|| users.iter().next().map(|u| (*u).to_owned()))
        .flatten();
    let mut scope =
        if let Some(segment) = share(window.segments, &|s: &SessionInfo| s.segment.as_deref()) {
            Scope::Segment(segment)
        } else if let Some(agent) = share(window.agents, &|s: &SessionInfo| s.agent.as_deref()) {
            Scope::Agent(agent)
        } else {
            Scope::General
        };

    let mut checks: BTreeMap<&str, (u64, BTreeSet<&SessionId>, u64)> = BTreeMap::new();
    for o in &occurrences {
        for name in &o.signal.checks {
            let entry = checks.entry(name.as_str()).or_default();
            entry.0 += 1;
            entry.1.insert(&o.session);
            entry.2 += u64::from(o.signal.retried);
        }
    }
    let mut checks: Vec<CheckSummary> = checks
        .into_iter()
        .map(|(name, (failures, sessions, retries))| CheckSummary {
            name: name.to_owned(),
            failures,
            sessions: sessions.len() as u64,
            retries,
        })
        .collect();
    checks.sort_by(|a, b| b.failures.cmp(&a.failures).then(a.name.cmp(&b.name)));

    // A timeout or a rate limit is not the agent's mistake, unless something was seen
    // to fix it or sessions that meet it fail more often.
    let transient = kind == SignalKind::ToolError
        && occurrences.iter().all(|o| o.signal.transient)
        && fixes.is_empty()
        && !stats.as_ref().is_some_and(|s| s.significant);
    let enough = support.sessions >= config.min_support;
    let verdict = match kind {
        _ if transient => Verdict::HeldBack(HeldBackReason::Transient),
        SignalKind::Preference | SignalKind::Correction => {
            if !enough {
                Verdict::HeldBack(HeldBackReason::BelowMinSupport)
            } else if let Some(user) = single_user {
                scope = Scope::User(user);
                Verdict::Lesson
            } else if kind == SignalKind::Preference
                && users.len() >= 2
                && user_share < config.min_user_share
            {
                Verdict::HeldBack(HeldBackReason::UserShareTooLow)
            } else {
                Verdict::Lesson
            }
        }
        _ if enough => Verdict::Lesson,
        _ => Verdict::HeldBack(HeldBackReason::BelowMinSupport),
    };

    let mut sessions: Vec<SessionId> = session_set.into_iter().cloned().collect();
    sessions.sort_by_key(|s| window.order.get(s).copied());
    Pattern {
        kind,
        key: stable_key(kind, representative),
        label: key_text(representative).to_owned(),
        occurrences,
        sessions,
        support,
        first_seen: times.iter().min().copied(),
        last_seen: times.iter().max().copied(),
        stats,
        fixes,
        checks,
        scope,
        user_share,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Fix;

    fn info(i: usize) -> SessionInfo {
        SessionInfo {
            id: format!("sesn_{i:04}").parse().unwrap(),
            source_session_id: format!("s{i}"),
            user: Some(format!("user{i}")),
            agent: None,
            segment: None,
            failed: None,
            started_at: None,
        }
    }

    fn signal(session: &SessionInfo, kind: SignalKind, key: &str, transient: bool) -> Signal {
        let pointer = Pointer {
            session_id: session.id.clone(),
            source_session_id: session.source_session_id.clone(),
            event_index: 1,
            quote: "Error: 503 Service Unavailable".into(),
        };
        Signal {
            kind,
            key: format!("{}:{key}", kind_name(kind)),
            at: None,
            evidence: pointer.clone(),
            tool: Some("fetch".into()),
            actions: vec!["fetch".into()],
            input: None,
            text: "Error: 503 Service Unavailable".into(),
            fix: (kind == SignalKind::Recovery).then(|| Fix {
                pointer,
                description: "add `--retry 3`".into(),
                example: "add `--retry 3`".into(),
            }),
            context: None,
            fact: None,
            transient,
            checks: Vec::new(),
            retried: false,
        }
    }

    #[test]
    fn paraphrased_preferences_of_one_segment_gather_their_support() {
        let mut sessions: Vec<SessionInfo> = (0..6).map(info).collect();
        for (i, s) in sessions.iter_mut().enumerate() {
            s.segment = Some(if i < 4 { "premium" } else { "basic" }.into());
        }
        let statements = [
            "Confirm the order number before cancelling.",
            "Before any cancellation, check the order number.",
            "Cancellations: verify the order no. first.",
            "Confirm the order number before shipping.",
            "I prefer aisle seats.",
            "Reply in French.",
        ];
        let signals: BTreeMap<SessionId, Vec<Signal>> = sessions
            .iter()
            .zip(statements)
            .map(|(s, text)| {
                let mut signal = signal(
                    s,
                    SignalKind::Preference,
                    &crate::signal::signature::normalize_text(text),
                    false,
                );
                text.clone_into(&mut signal.text);
                (s.id.clone(), vec![signal])
            })
            .collect();
        let config = DreamConfig::default();
        let patterns = mine(&sessions, &signals, &config);
        let cancel = patterns
            .iter()
            .find(|p| p.occurrences.len() > 1)
            .expect("the paraphrases are one pattern");
        assert_eq!(cancel.support.sessions, 3);
        assert_eq!(cancel.support.users, 3);
        assert_eq!(cancel.scope, Scope::Segment("premium".into()));
        assert_eq!(cancel.verdict, Verdict::Lesson);
        assert!(
            !cancel
                .occurrences
                .iter()
                .any(|o| o.signal.text.contains("shipping")),
            "shipping is another rule"
        );
        assert_eq!(patterns.len(), 4, "{patterns:#?}");
    }

    #[test]
    fn transient_failures_are_held_back_unless_fixed() {
        let sessions: Vec<SessionInfo> = (0..4).map(info).collect();
        let key = "error: <n> service unavailable";
        let mut signals: BTreeMap<SessionId, Vec<Signal>> = sessions
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    vec![signal(s, SignalKind::ToolError, key, true)],
                )
            })
            .collect();
        let config = DreamConfig::default();
        let patterns = mine(&sessions, &signals, &config);
        assert_eq!(
            patterns[0].verdict,
            Verdict::HeldBack(HeldBackReason::Transient)
        );

        // A fix that worked makes it a lesson after all.
        for s in &sessions {
            signals
                .get_mut(&s.id)
                .unwrap()
                .push(signal(s, SignalKind::Recovery, key, true));
        }
        let patterns = mine(&sessions, &signals, &config);
        assert_eq!(patterns[0].verdict, Verdict::Lesson);

        // The same failure that is not transient is a lesson too.
        let plain: BTreeMap<SessionId, Vec<Signal>> = sessions
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    vec![signal(s, SignalKind::ToolError, key, false)],
                )
            })
            .collect();
        assert_eq!(mine(&sessions, &plain, &config)[0].verdict, Verdict::Lesson);
    }
}
