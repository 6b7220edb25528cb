//! Signals on small generated workloads, seen through a whole dream: what a reviewer
//! finds in the proposal.

use dream_types::HeldBackReason;
use serde_json::{Value, json};

use crate::common::temp_store;
use crate::dream_real::{agent_store, dream, ingest, request};

fn session(id: &str, user: &str, day: u32, messages: Vec<Value>) -> Value {
    json!({
        "id": id,
        "agent": "support",
        "user": user,
        "started_at": format!("2026-03-{day:02}T10:00:00Z"),
        "messages": messages,
    })
}

fn call(id: &str, tool: &str, args: Value, result: &str, is_error: bool) -> Vec<Value> {
    vec![
        json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": tool, "input": args}]}),
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "is_error": is_error, "content": result}]}),
    ]
}

fn write(t: &crate::common::TempStore, sessions: &[Value]) -> std::path::PathBuf {
    let path = t.dir.path().join("w.jsonl");
    let lines: Vec<String> = sessions.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[tokio::test]
async fn recurring_timeouts_are_held_back_as_transient_and_never_become_lessons() {
    let t = temp_store().await;
    let s = agent_store(&t).await;
    let sessions: Vec<Value> = (0..4)
        .map(|i| {
            let mut messages = call(
                "c1",
                "get_order",
                json!({"order": format!("o{i}")}),
                "Error: 503 Service Unavailable, please try again later",
                true,
            );
            // The same call again works: a retry, not a fix.
            messages.extend(call(
                "c2",
                "get_order",
                json!({"order": format!("o{i}")}),
                "{\"status\": \"shipped\"}",
                false,
            ));
            session(&format!("s{i}"), &format!("u{i}"), 1 + i, messages)
        })
        .collect();
    ingest(&t, &write(&t, &sessions)).await;
    let (_, proposal) = dream(&t, &request(&s)).await;
    assert!(proposal.changes.is_empty(), "{:#?}", proposal.changes);
    let held = proposal
        .held_back
        .iter()
        .find(|h| h.summary.contains("503 Service Unavailable"))
        .expect("listed as held back");
    assert_eq!(held.reason, HeldBackReason::Transient);
    assert_eq!(held.support.sessions, 4);
    assert_eq!(
        serde_json::to_value(held.reason).unwrap(),
        "transient",
        "the wire name"
    );
}

#[tokio::test]
async fn grep_finding_nothing_is_not_a_mistake() {
    let t = temp_store().await;
    let s = agent_store(&t).await;
    let sessions: Vec<Value> = (0..4)
        .map(|i| {
            let messages = call(
                "c1",
                "Bash",
                json!({"command": format!("grep -rn 'legacy_{i}' lib/")}),
                "Exit code 1",
                true,
            );
            session(&format!("s{i}"), "u", 1 + i, messages)
        })
        .collect();
    ingest(&t, &write(&t, &sessions)).await;
    let (dream, proposal) = dream(&t, &request(&s)).await;
    assert_eq!(dream.counts.signals, 0);
    assert!(proposal.changes.is_empty() && proposal.held_back.is_empty());
}
