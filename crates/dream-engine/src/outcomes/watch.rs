//! The regression watch: after a dream is applied to a store, once enough sessions ran
//! with the new memory, compare them with the sessions before it; when a watched
//! metric regressed, alert, and with the store's `auto_rollback` policy restore the
//! store to its state before the dream — as new versions, never rewriting history,
//! with the comparison recorded as the reason.
//!
//! Each applied dream is judged once: its [`RegressionCheck`] is stored, and a dream
//! with a check is not judged again. Until both sides have `policy.min_sessions`
//! linked sessions the dream is listed as waiting.

use dream_store::Store;
use dream_types::{Actor, DreamId, MemoryStoreId, RegressionCheck, Timestamp};
use serde::Serialize;
use serde_json::json;

use crate::EngineResult;
use crate::memory::restore;
use crate::outcomes::Verdict;
use crate::outcomes::compare::compare_metric;
use crate::outcomes::groups::{AppliedDream, applied_dreams, metric_shape, metric_table};

/// The actor of rollbacks: the watch itself (a service account, as Anthropic's actor
/// types have no better fit).
pub fn watch_actor() -> Actor {
    Actor::ServiceAccount {
        service_account_id: "svac_dream_outcomes_watch".into(),
    }
}

/// A dream the watch cannot judge yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiting {
    /// The dream.
    pub dream_id: DreamId,
    /// Linked sessions before and after it so far.
    pub baseline_sessions: u64,
    /// After it.
    pub candidate_sessions: u64,
    /// Needed on each side.
    pub min_sessions: u64,
}

/// What one pass of the watch did for a store.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WatchReport {
    /// Checks made in this pass (regressed ones first in importance: see `verdict`).
    pub checks: Vec<RegressionCheck>,
    /// Dreams still waiting for sessions.
    pub waiting: Vec<Waiting>,
}

/// Judges every applied dream of `store_id` that has no check yet (oldest first).
///
/// # Errors
/// Store errors; a failed rollback (e.g. the store was archived) is an error after
/// the alert is recorded.
pub async fn watch_store(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    now: Timestamp,
) -> EngineResult<WatchReport> {
    let config = store.outcomes_config(store_id).await?;
    let mut report = WatchReport::default();
    if !config.policy.watch {
        return Ok(report);
    }
    let applied = applied_dreams(store, store_id).await?;
    let checked: Vec<DreamId> = store
        .regression_checks(store_id)
        .await?
        .into_iter()
        .map(|c| c.dream_id)
        .collect();
    if applied.iter().all(|d| checked.contains(&d.dream_id)) {
        return Ok(report);
    }
    let table = metric_table(store, store_id, &config).await?;
    let min = config.policy.min_sessions.max(1);
    for (i, dream) in applied.iter().enumerate() {
        if checked.contains(&dream.dream_id) {
            continue;
        }
        let from = if i == 0 {
            0
        } else {
            applied[i - 1].applied_store_version
        };
        let until = applied
            .get(i + 1)
            .map_or(u64::MAX, |d: &AppliedDream| d.applied_store_version);
        let before: Vec<_> = table
            .sessions
            .iter()
            .filter(|(_, v)| *v >= from && *v < dream.applied_store_version)
            .collect();
        let after: Vec<_> = table
            .sessions
            .iter()
            .filter(|(_, v)| *v >= dream.applied_store_version && *v < until)
            .collect();
        if (before.len() as u64) < min || (after.len() as u64) < min {
            report.waiting.push(Waiting {
                dream_id: dream.dream_id.clone(),
                baseline_sessions: before.len() as u64,
                candidate_sessions: after.len() as u64,
                min_sessions: min,
            });
            continue;
        }
        let mut comparisons = Vec::new();
        for metric in &config.policy.metrics {
            let Some(values) = table.values.get(metric) else {
                continue;
            };
            let side = |rows: &[&(dream_types::Session, u64)]| -> Vec<f64> {
                rows.iter()
                    .filter_map(|(s, _)| values.get(&s.id).copied())
                    .collect()
            };
            let (kind, direction) = metric_shape(metric, &config);
            comparisons.push(compare_metric(
                metric,
                kind,
                direction,
                &side(&before),
                &side(&after),
            ));
        }
        let regressed: Vec<&str> = comparisons
            .iter()
            .filter(|c| c.verdict == Verdict::Regressed)
            .map(|c| c.metric.as_str())
            .collect();
        let restored_to = dream.applied_store_version.saturating_sub(1);
        let comparison = json!({
            "reason": if regressed.is_empty() {
                format!("no watched metric regressed after dream {}", dream.dream_id)
            } else {
                format!(
                    "{} regressed after dream {} (store version {}): {} sessions before, {} after",
                    regressed.join(", "),
                    dream.dream_id,
                    dream.applied_store_version,
                    before.len(),
                    after.len()
                )
            },
            "baseline": {"store_versions": [from, dream.applied_store_version - 1], "sessions": before.len()},
            "candidate": {"store_versions": [dream.applied_store_version, until.min(u64::MAX - 1)], "sessions": after.len()},
            "regressed": regressed,
            "comparisons": comparisons,
            "judged_at": now,
        });
        let mut check = RegressionCheck {
            id: "rchk_pending"
                .parse()
                .map_err(|_| crate::EngineError::InvalidRequest("id".into()))?,
            memory_store_id: store_id.clone(),
            dream_id: dream.dream_id.clone(),
            applied_store_version: dream.applied_store_version,
            verdict: if regressed.is_empty() {
                "ok"
            } else {
                "regressed"
            }
            .into(),
            action: if regressed.is_empty() {
                "none"
            } else {
                "alerted"
            }
            .into(),
            restored_to_version: None,
            rollback_store_version: None,
            comparison,
            checked_at: now,
        };
        if !regressed.is_empty() && config.policy.auto_rollback {
            // Record the alert first: a failed restore must not lose it.
            store.record_regression_check(check.clone()).await?;
            let restored = restore(store, store_id, restored_to, &watch_actor()).await?;
            check.action = "rolled_back".into();
            check.restored_to_version = Some(restored_to);
            check.rollback_store_version = Some(restored.new_version);
        }
        report
            .checks
            .push(store.record_regression_check(check).await?);
    }
    Ok(report)
}
