//! The webhook events `dream` emits and their `data` (see [`dream_types::WEBHOOK_EVENTS`]):
//!
//! | event | when | `data` |
//! |---|---|---|
//! | `dream.completed` | a dream completed | `{"dream": Dream}` |
//! | `dream.failed` | a dream failed (or was interrupted) | `{"dream": Dream}` |
//! | `proposal.created` | its proposal was stored | the summary below |
//! | `proposal.applied` | changes were applied (review or auto mode) | `{"proposal_id", "dream_id", "store_id", "applied", "stale", "skipped"}` |
//! | `proposal.rejected` | changes were rejected | `{"proposal_id", "dream_id", "store_id", "rejected", "reason"}` |
//! | `memory_store.restored` | a store was restored to a version | `{"memory_store_id", "to_store_version", "store_version", "changed"}` |
//!
//! `proposal.created` carries what a reviewer needs to decide from a chat message:
//! counts per operation, each change's path, justification and support, what was
//! held back, and a suggested action with the endpoint to call.

use dream_types::{Dream, DreamStatus, Flag, Proposal};
use serde_json::{Value, json};

use crate::AppState;
use crate::wire::DreamOut;

/// Emits `dream.completed` or `dream.failed` for a dream in a final status (nothing
/// for `canceled`: the canceller knows).
pub async fn dream_finished(state: &AppState, dream: &Dream) {
    let event = match dream.status {
        DreamStatus::Completed => "dream.completed",
        DreamStatus::Failed => "dream.failed",
        _ => return,
    };
    emit(
        state,
        event,
        json!({ "dream": DreamOut::new(dream.clone()) }),
    )
    .await;
}

/// Emits `proposal.created`.
pub async fn proposal_created(state: &AppState, dream: &Dream, proposal: &Proposal) {
    emit(state, "proposal.created", proposal_summary(dream, proposal)).await;
}

/// Emits `proposal.applied` or `proposal.rejected` with the review's report.
pub async fn proposal_reviewed(state: &AppState, proposal: &Proposal, event: &str, report: Value) {
    let mut data = json!({
        "proposal_id": proposal.id,
        "dream_id": proposal.dream_id,
        "store_id": proposal.store_id,
    });
    if let (Some(data), Value::Object(report)) = (data.as_object_mut(), report) {
        for (key, value) in report {
            if !matches!(key.as_str(), "versions" | "proposal_id" | "type") {
                data.insert(key, value);
            }
        }
    }
    emit(state, event, data).await;
}

/// Emits an event with `data`.
pub async fn emit(state: &AppState, event: &str, data: Value) {
    state
        .outbox()
        .emit(state.store(), state.clock(), event, data)
        .await;
}

/// The `data` of `proposal.created`.
pub fn proposal_summary(dream: &Dream, proposal: &Proposal) -> Value {
    let mut by_op = serde_json::Map::new();
    for change in &proposal.changes {
        let count = by_op.entry(change.op.as_str()).or_insert(Value::from(0u64));
        *count = Value::from(count.as_u64().unwrap_or(0) + 1);
    }
    let needs_human = proposal
        .changes
        .iter()
        .filter(|c| c.flags.contains(&Flag::NeedsHuman))
        .count();
    let changes: Vec<Value> = proposal
        .changes
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "op": c.op.as_str(),
                "path": c.path,
                "justification": c.justification,
                "support": c.support,
                "flags": c.flags,
                "after": c.after,
            })
        })
        .collect();
    let held_back: Vec<Value> = proposal
        .held_back
        .iter()
        .map(|h| json!({"reason": h.reason, "summary": h.summary, "support": h.support}))
        .collect();
    let approve = format!("/v1/dreams/{}/proposal/approve", dream.id);
    let suggested_action = if proposal.changes.is_empty() {
        json!({"action": "none", "reason": "the dream proposed no changes"})
    } else if dream.mode == dream_types::DreamMode::Auto {
        json!({"action": "none", "reason": "auto mode: changes not flagged needs_human were applied"})
    } else if needs_human > 0 {
        json!({
            "action": "review",
            "reason": format!("{needs_human} change(s) are flagged needs_human: read them before approving"),
            "endpoint": format!("/v1/dreams/{}/proposal", dream.id),
        })
    } else {
        json!({
            "action": "approve",
            "reason": format!(
                "{} change(s), each backed by at least {} sessions with verified quotes",
                proposal.changes.len(),
                dream.config.min_support
            ),
            "endpoint": approve,
        })
    };
    json!({
        "dream_id": dream.id,
        "proposal_id": proposal.id,
        "store_id": proposal.store_id,
        "base_store_version": proposal.base_store_version,
        "mode": dream.mode,
        "summary": {
            "changes": proposal.changes.len(),
            "by_op": by_op,
            "held_back": proposal.held_back.len(),
            "needs_human": needs_human,
        },
        "changes": changes,
        "held_back": held_back,
        "suggested_action": suggested_action,
    })
}
