//! Outcomes tracking: did a dream help? Per-session metrics ([`metrics`]), a rubric's
//! criteria ([`rubric`]), before/after comparison with confidence intervals and
//! verdicts ([`compare`]), a self-contained HTML report ([`report`]), and the
//! regression watch that alerts and, by policy, rolls back ([`watch`]).
//!
//! The comparison types live here because every part speaks them.

use dream_types::OutcomesConfig;
use serde::{Deserialize, Serialize};

pub mod compare;
pub mod groups;
pub mod metrics;
pub mod report;
pub mod rubric;
pub mod watch;

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A larger value is better (`task_completion`).
    HigherIsBetter,
    /// A smaller value is better (`error_rate`, `user_correction_rate`, `duration_secs`).
    LowerIsBetter,
}

/// How a metric's values are distributed, which picks the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Each session is 0 or 1 (`task_completion`): compared as two proportions.
    Binary,
    /// Any real value (durations, per-session rates, counts): compared by their means.
    Continuous,
}

/// What a comparison concludes for one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The 95% interval of the difference lies entirely on the better side.
    Improved,
    /// The 95% interval lies entirely on the worse side.
    Regressed,
    /// The interval contains zero.
    NoChange,
    /// Too few sessions on a side to say anything (see `min_n`).
    InsufficientData,
}

impl Verdict {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoChange => "no_change",
            Verdict::InsufficientData => "insufficient_data",
        }
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SideStats {
    /// Sessions with a value for the metric.
    pub n: u64,
    /// Their mean (for a binary metric: the rate of 1s). `None` when `n` is 0.
    pub mean: Option<f64>,
    /// Sample standard deviation (n − 1 denominator); `None` when `n` < 2.
    pub sd: Option<f64>,
}

/// The comparison of one metric between a baseline and a candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// The metric's name.
    pub metric: String,
    /// Binary or continuous.
    pub kind: MetricKind,
    /// Which way is better.
    pub direction: Direction,
    /// The baseline side.
    pub baseline: SideStats,
    /// The candidate side.
    pub candidate: SideStats,
    /// `candidate.mean − baseline.mean`; `None` when a side is empty.
    pub difference: Option<f64>,
    /// Lower end of the 95% confidence interval of the difference.
    pub ci_low: Option<f64>,
    /// Upper end.
    pub ci_high: Option<f64>,
    /// The confidence level (0.95).
    pub confidence: f64,
    /// The method behind the interval (`newcombe_hybrid_score`, `welch_t`).
    pub method: String,
    /// Two-sided p-value of the matching test, where one is computed.
    pub p_value: Option<f64>,
    /// Sessions each side needs before a verdict other than `insufficient_data`.
    pub min_n: u64,
    /// The conclusion.
    pub verdict: Verdict,
}

/// Checks a metric or criterion name: snake_case (`a-z`, `0-9`, `_`), 1 to 64
/// characters.
///
/// # Errors
/// What is wrong, in one line.
pub fn validate_metric_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} must be snake_case (a-z, 0-9, _), 1 to 64 characters"
        ))
    }
}

/// Checks an outcomes configuration: criterion names (snake_case, each once),
/// `policy.min_sessions` ≥ 1, and the watched metric names.
///
/// # Errors
/// What is wrong, in one line, naming the field.
pub fn validate_config(config: &OutcomesConfig) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for criterion in &config.outcomes {
        validate_metric_name(&criterion.name).map_err(|e| format!("outcomes: criterion {e}"))?;
        if !seen.insert(&criterion.name) {
            return Err(format!(
                "outcomes: criterion {:?} is listed twice",
                criterion.name
            ));
        }
    }
    if config.policy.min_sessions == 0 {
        return Err("policy.min_sessions must be at least 1".into());
    }
    for metric in &config.policy.metrics {
        validate_metric_name(metric.trim_start_matches("criterion:"))
            .map_err(|e| format!("policy.metrics: {e}"))?;
    }
    for metric in &config.lower_is_better {
        validate_metric_name(metric).map_err(|e| format!("lower_is_better: {e}"))?;
    }
    Ok(())
}
