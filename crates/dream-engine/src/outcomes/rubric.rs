//! A rubric's criteria, judged per session.
//!
//! A criterion's result comes from the transcript's own outcome of the same name
//! (canonical JSONL `outcomes`, Managed Agents outcome evaluations, tau-bench
//! `reward`): a verdict `satisfied` is met, `failed` or a final `needs_revision` is
//! not; a bare value is met at 0.5 or more (as `reward`). `task_completion` and
//! `reward` read the session's reward or verdicts. One criterion is derived where a
//! deterministic rule exists: `avoided_known_mistake` — the session ran with a memory
//! version holding tool-error lessons and hit none of those errors ([`KnownMistakes`]).
//! A criterion with no data for a session is `unknown`, never guessed.

use std::collections::{BTreeMap, BTreeSet};

use dream_store::Store;
use dream_types::{Criterion, Event, OutcomeResult, Session};
use serde::{Deserialize, Serialize};

use crate::EngineResult;
use crate::dream::{REWARD_FAILURE_BELOW, session_failed};
use crate::minhash::{jaccard, shingles};
use crate::note::{core_text, marker, parse_notes};
use crate::signal::signature::mask;
use crate::signal::{Signal, SignalKind, extract};

/// The criterion derived from memory and transcript rather than read from outcomes.
pub const AVOIDED_KNOWN_MISTAKE: &str = "avoided_known_mistake";

/// Text similarity (Jaccard over shingles) at which a session's error matches a
/// lesson's text when their pattern keys differ (a cluster member's signature).
const LESSON_MATCH: f64 = 0.5;

/// A criterion's result for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionResult {
    /// Met.
    Satisfied,
    /// Not met.
    Failed,
    /// No data.
    Unknown,
}

impl CriterionResult {
    /// 1 for met, 0 for not met, `None` for unknown (the value compared as a binary metric).
    pub fn value(self) -> Option<f64> {
        match self {
            CriterionResult::Satisfied => Some(1.0),
            CriterionResult::Failed => Some(0.0),
            CriterionResult::Unknown => None,
        }
    }
}

/// Returns a criterion's result from the session's outcomes (not for
/// [`AVOIDED_KNOWN_MISTAKE`], which needs the memory: see [`KnownMistakes`]).
pub fn from_outcomes(criterion: &str, session: &Session) -> CriterionResult {
    if matches!(criterion, "task_completion" | "reward") {
        return match session_failed(session) {
            Some(true) => CriterionResult::Failed,
            Some(false) => CriterionResult::Satisfied,
            None => CriterionResult::Unknown,
        };
    }
    let mut results = session
        .outcomes
        .iter()
        .filter(|o| o.name == criterion)
        .filter_map(|o| match (&o.result, o.value) {
            (Some(OutcomeResult::Satisfied), _) => Some(true),
            (Some(_), _) => Some(false),
            (None, Some(value)) => Some(value >= REWARD_FAILURE_BELOW),
            (None, None) => None,
        })
        .peekable();
    if results.peek().is_none() {
        return CriterionResult::Unknown;
    }
    // Several evaluations of one criterion: the last one is the final word.
    match results.last() {
        Some(true) => CriterionResult::Satisfied,
        _ => CriterionResult::Failed,
    }
}

/// Whether a session went badly, judged by the rubric's weights (high 3, medium 2,
/// low 1): the weighted share of known criteria met is below one half. Criteria
/// derived from memory are left out (a dream must not judge sessions by its own
/// lessons). Without a rubric, or when no criterion is known for the session, the
/// default judgement applies ([`session_failed`]). `None`: nothing known.
pub fn judged_failed(session: &Session, rubric: &[Criterion]) -> Option<bool> {
    let mut met = 0u32;
    let mut known = 0u32;
    for criterion in rubric.iter().filter(|c| c.name != AVOIDED_KNOWN_MISTAKE) {
        let weight = criterion.signal.weight();
        match from_outcomes(&criterion.name, session) {
            CriterionResult::Satisfied => {
                met += weight;
                known += weight;
            }
            CriterionResult::Failed => known += weight,
            CriterionResult::Unknown => {}
        }
    }
    if known == 0 {
        return session_failed(session);
    }
    Some(f64::from(met) / f64::from(known) < 0.5)
}

/// A tool-error lesson in a memory version: its pattern key and its text, masked.
#[derive(Debug, Clone)]
struct Lesson {
    key: String,
    shingles: BTreeSet<u64>,
}

/// Judges `avoided_known_mistake`, remembering each memory version's lessons.
#[derive(Debug, Default)]
pub struct KnownMistakes {
    lessons: BTreeMap<(String, u64), Vec<Lesson>>,
}

impl KnownMistakes {
    /// Returns an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    async fn lessons(
        &mut self,
        store: &dyn Store,
        store_id: &str,
        version: u64,
    ) -> EngineResult<&[Lesson]> {
        let key = (store_id.to_owned(), version);
        if !self.lessons.contains_key(&key) {
            let mut found = Vec::new();
            if let Ok(id) = store_id.parse() {
                let snapshot = match store.memories_at(&id, version).await {
                    Ok(snapshot) => snapshot,
                    Err(dream_store::StoreError::NotFound { .. })
                    | Err(dream_store::StoreError::VersionOutOfRange { .. }) => Vec::new(),
                    Err(err) => return Err(err.into()),
                };
                for memory in snapshot {
                    let Some(content) = memory.content else {
                        continue;
                    };
                    for note in parse_notes(&content) {
                        if let Some(key) =
                            marker(note.text).filter(|k| k.starts_with("tool_error:"))
                        {
                            found.push(Lesson {
                                key,
                                shingles: shingles(&mask(&core_text(note.text))),
                            });
                        }
                    }
                }
            }
            self.lessons.insert(key.clone(), found);
        }
        Ok(self
            .lessons
            .get(&key)
            .map(Vec::as_slice)
            .unwrap_or_default())
    }

    /// Judges one session: `unknown` when it names no memory version or its version
    /// holds no tool-error lesson; `failed` when it hit an error a lesson warns about
    /// (same pattern key, or the lesson's text within [`LESSON_MATCH`]); else
    /// `satisfied`.
    ///
    /// # Errors
    /// Store errors.
    pub async fn judge(
        &mut self,
        store: &dyn Store,
        session: &Session,
        events: &[Event],
    ) -> EngineResult<CriterionResult> {
        let Some(link) = &session.memory_version else {
            return Ok(CriterionResult::Unknown);
        };
        let Some(store_id) = &link.store_id else {
            return Ok(CriterionResult::Unknown);
        };
        let lessons = self.lessons(store, store_id, link.version).await?.to_vec();
        if lessons.is_empty() {
            return Ok(CriterionResult::Unknown);
        }
        let errors: Vec<Signal> = extract(session, events, &[])
            .into_iter()
            .filter(|s| s.kind == SignalKind::ToolError)
            .collect();
        let hit = errors.iter().any(|error| {
            let key = crate::pattern::stable_key(SignalKind::ToolError, &error.key);
            let text = shingles(&mask(&error.text));
            lessons
                .iter()
                .any(|l| l.key == key || jaccard(&l.shingles, &text) >= LESSON_MATCH)
        });
        Ok(if hit {
            CriterionResult::Failed
        } else {
            CriterionResult::Satisfied
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_types::{Outcome, SignalWeight};

    fn session(outcomes: Vec<Outcome>) -> Session {
        let mut s: Session = serde_json::from_value(serde_json::json!({
            "id": "sesn_01", "source_kind": "canonical", "source_session_id": "s",
            "agent": null, "user": null, "started_at": null, "ended_at": null,
            "metadata": {}, "content_hash": "h", "event_count": 0, "tool_error_count": 0,
            "memory_version": null, "parent_source_session_id": null, "parent_id": null,
            "source_path": null, "outcomes": [],
            "ingested_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        s.outcomes = outcomes;
        s
    }

    fn outcome(name: &str, result: Option<OutcomeResult>, value: Option<f64>) -> Outcome {
        Outcome {
            name: name.into(),
            result,
            value,
            explanation: None,
        }
    }

    #[test]
    fn criteria_read_outcomes_and_unknown_is_never_guessed() {
        let s = session(vec![
            outcome("polite", Some(OutcomeResult::Satisfied), None),
            outcome("resolved", None, Some(0.2)),
            outcome("reward", None, Some(1.0)),
        ]);
        assert_eq!(from_outcomes("polite", &s), CriterionResult::Satisfied);
        assert_eq!(from_outcomes("resolved", &s), CriterionResult::Failed);
        assert_eq!(
            from_outcomes("task_completion", &s),
            CriterionResult::Satisfied
        );
        assert_eq!(from_outcomes("cited_sources", &s), CriterionResult::Unknown);
    }

    #[test]
    fn weights_decide_whether_a_session_went_well() {
        let rubric = |polite: SignalWeight, resolved: SignalWeight| {
            vec![
                Criterion {
                    name: "polite".into(),
                    description: String::new(),
                    signal: polite,
                },
                Criterion {
                    name: "resolved".into(),
                    description: String::new(),
                    signal: resolved,
                },
            ]
        };
        let s = session(vec![
            outcome("polite", Some(OutcomeResult::Satisfied), None),
            outcome("resolved", Some(OutcomeResult::Failed), None),
        ]);
        // Resolution weighs more: the session went badly; politeness weighs more: well.
        assert_eq!(
            judged_failed(&s, &rubric(SignalWeight::Low, SignalWeight::High)),
            Some(true)
        );
        assert_eq!(
            judged_failed(&s, &rubric(SignalWeight::High, SignalWeight::Low)),
            Some(false)
        );
        // Nothing known: the default judgement (no outcome at all: unknown).
        assert_eq!(
            judged_failed(
                &session(vec![]),
                &rubric(SignalWeight::High, SignalWeight::Low)
            ),
            None
        );
    }
}
