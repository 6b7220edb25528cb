//! Writing a stored session back as one canonical JSONL record.
//!
//! The record uses Anthropic-style messages, one per event, with `timestamp` on each;
//! re-ingesting it gives the same content hash as the original ingest, whatever the
//! original format was. Two extensions of the Anthropic shapes keep the round trip
//! lossless: `role: "system"` messages, and `name` / `rejected` on `tool_result`
//! blocks; `outcome_evaluation` blocks carry grader verdicts.

use dream_types::{Event, EventKind, Session, canonical_json};
use serde_json::{Map, Value, json};

/// Returns the canonical JSONL record of `session` with `events`.
///
/// Besides the canonical fields the record holds a `dream` object (store id, content
/// hash, source format and path, counts) that ingest ignores.
pub fn session_record(session: &Session, events: &[Event]) -> Value {
    let mut record = Map::new();
    record.insert("id".into(), json!(session.source_session_id));
    if let Some(agent) = &session.agent {
        record.insert("agent".into(), json!(agent));
    }
    if let Some(user) = &session.user {
        record.insert("user".into(), json!(user));
    }
    if let Some(started) = session.started_at {
        record.insert("started_at".into(), json!(started));
    }
    if let Some(ended) = session.ended_at {
        record.insert("ended_at".into(), json!(ended));
    }
    if !session.metadata.is_empty() {
        record.insert("metadata".into(), json!(session.metadata));
    }
    if let Some(parent) = &session.parent_source_session_id {
        record.insert("parent_id".into(), json!(parent));
    }
    if let Some(version) = &session.memory_version {
        record.insert("memory_version".into(), json!(version));
    }
    record.insert(
        "messages".into(),
        Value::Array(events.iter().map(event_message).collect()),
    );
    if !session.outcomes.is_empty() {
        record.insert("outcomes".into(), json!(session.outcomes));
    }
    record.insert(
        "dream".into(),
        json!({
            "session_id": session.id,
            "content_hash": session.content_hash,
            "source_kind": session.source_kind,
            "source_path": session.source_path,
            "parent_session_id": session.parent_id,
            "event_count": session.event_count,
            "tool_error_count": session.tool_error_count,
            "ingested_at": session.ingested_at,
            "updated_at": session.updated_at,
        }),
    );
    Value::Object(record)
}

/// Returns tool input for a `tool_use` block: the JSON the event text encodes, or the
/// text itself when it is not canonical JSON of a non-string value.
fn tool_input(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(value) if !value.is_string() && canonical_json(&value) == text => value,
        _ => Value::String(text.to_owned()),
    }
}

fn event_message(event: &Event) -> Value {
    let (role, content) = match event.kind {
        EventKind::UserMessage => ("user", json!(event.text)),
        EventKind::AgentMessage => ("assistant", json!(event.text)),
        EventKind::System => ("system", json!(event.text)),
        EventKind::Thinking => (
            "assistant",
            json!([{"type": "thinking", "thinking": event.text}]),
        ),
        EventKind::Compaction => (
            "user",
            json!([{"type": "compaction", "content": event.text}]),
        ),
        EventKind::OutcomeEvaluation => (
            "system",
            json!([{"type": "outcome_evaluation", "text": event.text}]),
        ),
        EventKind::ToolUse => {
            let mut block = Map::new();
            block.insert("type".into(), json!("tool_use"));
            if let Some(id) = &event.tool_use_id {
                block.insert("id".into(), json!(id));
            }
            block.insert(
                "name".into(),
                json!(event.tool_name.clone().unwrap_or_default()),
            );
            block.insert("input".into(), tool_input(&event.text));
            ("assistant", Value::Array(vec![Value::Object(block)]))
        }
        EventKind::ToolResult => {
            let mut block = Map::new();
            block.insert("type".into(), json!("tool_result"));
            if let Some(id) = &event.tool_use_id {
                block.insert("tool_use_id".into(), json!(id));
            }
            if let Some(name) = &event.tool_name {
                block.insert("name".into(), json!(name));
            }
            block.insert("content".into(), json!(event.text));
            block.insert("is_error".into(), json!(event.is_error));
            if event.rejected {
                block.insert("rejected".into(), json!(true));
            }
            ("user", Value::Array(vec![Value::Object(block)]))
        }
    };
    let mut message = Map::new();
    message.insert("role".into(), json!(role));
    message.insert("content".into(), content);
    if let Some(ts) = event.timestamp {
        message.insert("timestamp".into(), json!(ts));
    }
    Value::Object(message)
}
