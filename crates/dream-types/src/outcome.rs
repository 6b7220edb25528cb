//! Outcomes: per-session results against a rubric criterion, a reward or a metric.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A verdict. The names follow Anthropic's Managed Agents `span.outcome_evaluation_end`
/// `result` field; any other name a source uses is kept as [`OutcomeResult::Other`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutcomeResult {
    /// The criteria are met.
    Satisfied,
    /// The criteria are not met yet; another revision follows.
    NeedsRevision,
    /// The evaluation budget ran out with the criteria unmet.
    MaxIterationsReached,
    /// The session failed the criterion.
    Failed,
    /// The user interrupted the evaluation.
    Interrupted,
    /// Any other verdict name, kept as written.
    Other(String),
}

impl OutcomeResult {
    /// Returns the snake_case name.
    pub fn as_str(&self) -> &str {
        match self {
            OutcomeResult::Satisfied => "satisfied",
            OutcomeResult::NeedsRevision => "needs_revision",
            OutcomeResult::MaxIterationsReached => "max_iterations_reached",
            OutcomeResult::Failed => "failed",
            OutcomeResult::Interrupted => "interrupted",
            OutcomeResult::Other(name) => name,
        }
    }

    /// Reads a verdict name; unknown names become [`OutcomeResult::Other`].
    pub fn from_name(name: &str) -> Self {
        match name {
            "satisfied" => OutcomeResult::Satisfied,
            "needs_revision" => OutcomeResult::NeedsRevision,
            "max_iterations_reached" => OutcomeResult::MaxIterationsReached,
            "failed" => OutcomeResult::Failed,
            "interrupted" => OutcomeResult::Interrupted,
            other => OutcomeResult::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for OutcomeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OutcomeResult {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OutcomeResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(OutcomeResult::from_name(&String::deserialize(d)?))
    }
}

/// One result of a session: a verdict, a number, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The criterion or metric name (`reward`, `task_completion`, a rubric criterion).
    pub name: String,
    /// The verdict, when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<OutcomeResult>,
    /// The numeric value (a reward in 0..=1, a score), when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// Why, in the grader's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

impl Outcome {
    /// Returns an outcome named `reward` with `value` (the canonical-JSONL `reward` shorthand).
    pub fn reward(value: f64) -> Self {
        Self {
            name: "reward".to_owned(),
            result: None,
            value: Some(value),
            explanation: None,
        }
    }
}
