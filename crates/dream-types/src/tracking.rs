//! Outcomes tracking (DESIGN.md glossary: rubric, metric, comparison): what a good
//! session is, the numbers recorded per session, and the per-store policy that watches
//! them after a dream is applied.

use serde::{Deserialize, Serialize};

use crate::{DreamId, MemoryStoreId, SessionId, Timestamp, define_id};

define_id!(
    /// Identifies a regression check (`rchk_…`).
    RegressionCheckId,
    "rchk",
    "regression check"
);

/// How much a rubric criterion counts when judging whether a session went well (the
/// seeds' `signal: high|medium|low`). Weights 3, 2 and 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalWeight {
    /// Weight 3.
    High,
    /// Weight 2.
    #[default]
    Medium,
    /// Weight 1.
    Low,
}

impl SignalWeight {
    /// Returns the weight: 3, 2 or 1.
    pub fn weight(self) -> u32 {
        match self {
            SignalWeight::High => 3,
            SignalWeight::Medium => 2,
            SignalWeight::Low => 1,
        }
    }
}

/// One criterion of a rubric: what a good session does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// A snake_case name; outcomes with this name in a transcript are its results
    /// (`reward` and `avoided_known_mistake` are understood without being named).
    pub name: String,
    /// What it means, for people.
    #[serde(default)]
    pub description: String,
    /// How much it counts.
    #[serde(default)]
    pub signal: SignalWeight,
}

/// What the regression watch does for a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomePolicy {
    /// Watch applied dreams at all. Default true.
    pub watch: bool,
    /// Restore the store to its state before a dream whose outcomes regressed (as a
    /// new store version, with the comparison as the reason). Default false: alert only.
    pub auto_rollback: bool,
    /// Linked sessions needed after a dream before it is judged (also the minimum on
    /// the baseline side). Default 30.
    pub min_sessions: u64,
    /// The metrics watched; a regression in any of them counts. Default
    /// `task_completion`, `error_rate`, `user_correction_rate`.
    pub metrics: Vec<String>,
}

impl Default for OutcomePolicy {
    fn default() -> Self {
        Self {
            watch: true,
            auto_rollback: false,
            min_sessions: 30,
            metrics: vec![
                "task_completion".into(),
                "error_rate".into(),
                "user_correction_rate".into(),
            ],
        }
    }
}

/// A store's outcomes configuration: its rubric, its watch policy, and which custom
/// metrics are better when lower. The file form (YAML or TOML) is the same shape:
/// `outcomes: [{name, description, signal}]`, `policy: {…}`, `lower_is_better: […]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutcomesConfig {
    /// The rubric's criteria.
    pub outcomes: Vec<Criterion>,
    /// The regression watch.
    pub policy: OutcomePolicy,
    /// Custom metrics for which a smaller value is better (built-in metrics know).
    pub lower_is_better: Vec<String>,
}

/// Where a session's metric value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricSource {
    /// Computed from the transcript (recomputed when the definitions change).
    Builtin,
    /// Recorded by a person or a program (`dream outcomes record`, the API).
    Custom,
}

/// One number about one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionMetric {
    /// The session.
    pub session_id: SessionId,
    /// The metric (`task_completion`, `duration_secs`, or a custom name).
    pub name: String,
    /// Its value.
    pub value: f64,
    /// Built-in or custom.
    pub source: MetricSource,
    /// For built-in metrics, the definitions version that computed it (0 for custom).
    pub definition_version: u32,
    /// When it was recorded.
    pub recorded_at: Timestamp,
}

/// What the regression watch concluded about one applied dream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionCheck {
    /// `rchk_…`.
    pub id: RegressionCheckId,
    /// The store.
    pub memory_store_id: MemoryStoreId,
    /// The dream whose changes were applied.
    pub dream_id: DreamId,
    /// The first store version its applied changes wrote.
    pub applied_store_version: u64,
    /// `regressed` or `ok`.
    pub verdict: String,
    /// `none`, `alerted` or `rolled_back`.
    pub action: String,
    /// For a rollback: the store version restored (the one before the dream).
    pub restored_to_version: Option<u64>,
    /// For a rollback: the store version the restore produced.
    pub rollback_store_version: Option<u64>,
    /// The comparison behind it (baseline and candidate groups, per-metric results).
    pub comparison: serde_json::Value,
    /// When it was made.
    pub checked_at: Timestamp,
}
