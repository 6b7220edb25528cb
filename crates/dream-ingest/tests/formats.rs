//! Each supported format, on the README's example files.

use dream_ingest::{IngestOptions, ReadOptions};
use dream_types::{EventKind, OutcomeResult, SourceKind};

use crate::common::{example, ingest, ingest_with, session_by_source, temp_store, write_file};

#[tokio::test]
async fn canonical_jsonl_keeps_fields_outcomes_and_the_reward_shorthand() {
    let t = temp_store().await;
    let report = ingest(&t.store, &[&example("canonical.jsonl")]).await;
    assert_eq!(report.counts.created, 2);
    let (s, events) = session_by_source(&t.store, "support-0001").await;
    assert_eq!(s.source_kind, SourceKind::Canonical);
    assert_eq!(
        (s.agent.as_deref(), s.user.as_deref()),
        (Some("support-bot"), Some("dana"))
    );
    assert_eq!(s.metadata["segment"], "enterprise");
    assert_eq!(
        s.started_at.unwrap().to_rfc3339(),
        "2026-03-02T09:14:00.000000Z"
    );
    let names: Vec<_> = s.outcomes.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["resolved", "reward"]);
    assert_eq!(s.outcomes[1].value, Some(1.0));
    assert_eq!(s.tool_error_count, 1);
    let failed = events.iter().find(|e| e.is_tool_error()).unwrap();
    assert_eq!(failed.tool_name.as_deref(), Some("get_invoices"));
    assert_eq!(failed.tool_use_id.as_deref(), Some("call_1"));

    // The second line uses Anthropic blocks; no explicit times, so they come from events.
    let (s2, events2) = session_by_source(&t.store, "support-0002").await;
    assert_eq!(
        s2.started_at.unwrap().to_rfc3339(),
        "2026-03-03T11:00:00.000000Z"
    );
    assert_eq!(s2.outcomes[0].result, Some(OutcomeResult::NeedsRevision));
    let kinds: Vec<_> = events2.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::UserMessage,
            EventKind::Thinking,
            EventKind::ToolUse,
            EventKind::ToolResult,
            EventKind::AgentMessage
        ]
    );
}

#[tokio::test]
async fn a_pretty_printed_openai_document_is_one_session() {
    let t = temp_store().await;
    let report = ingest(&t.store, &[&example("openai-chat.json")]).await;
    assert_eq!(report.counts.created, 1, "{report:?}");
    let id = &report.sessions[0].source_session_id;
    assert!(
        id.starts_with("sha256-"),
        "no id in the file: derived from the content ({id})"
    );
    let (s, events) = session_by_source(&t.store, id).await;
    assert_eq!(s.source_kind, SourceKind::OpenaiChat);
    assert_eq!(s.metadata["model"], "gpt-4o");
    assert_eq!(events[2].kind, EventKind::ToolUse);
    assert_eq!(events[2].text, r#"{"date":"2024-05-13","flight":"HAT030"}"#);
    assert!(
        events[3].is_error,
        "`Error…` content marks an OpenAI tool result failed"
    );
}

#[tokio::test]
async fn anthropic_messages_keep_system_prompts_and_block_order() {
    let t = temp_store().await;
    let report = ingest(&t.store, &[&example("anthropic-messages.jsonl")]).await;
    assert_eq!(report.counts.created, 2);
    for session in &report.sessions {
        let (s, events) = session_by_source(&t.store, &session.source_session_id).await;
        assert_eq!(s.source_kind, SourceKind::AnthropicMessages);
        assert_eq!(events[0].kind, EventKind::System);
        assert_eq!(events[0].text, "You are a coding agent.");
    }
    let (_, events) = session_by_source(&t.store, &report.sessions[1].source_session_id).await;
    let last_two: Vec<_> = events.iter().rev().take(2).map(|e| e.kind).collect();
    assert_eq!(last_two, [EventKind::UserMessage, EventKind::ToolResult]);
    assert_eq!(events.last().unwrap().text, "no, run mix format first");
}

#[tokio::test]
async fn managed_agents_session_with_events_maps_every_event_type() {
    let t = temp_store().await;
    let report = ingest(&t.store, &[&example("managed-agents-session.json")]).await;
    assert_eq!(report.counts.created, 1, "{report:?}");
    let (s, events) = session_by_source(&t.store, "sesn_011CZkZAtmR3yMPDzynEDxu7").await;
    assert_eq!(s.source_kind, SourceKind::ManagedAgents);
    assert_eq!(s.agent.as_deref(), Some("billing-agent"));
    assert_eq!(s.user.as_deref(), Some("olu"));
    assert_eq!(s.metadata["title"], "Refund request");
    assert_eq!(s.outcomes.len(), 1);
    assert_eq!(
        s.outcomes[0].name,
        "Refund issued and confirmed to the customer"
    );
    assert_eq!(s.outcomes[0].result, Some(OutcomeResult::Satisfied));
    let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
    // define_outcome, message, (thinking dropped: no text), mcp use/result, tool use,
    // denied confirmation, message, evaluation; status events skipped.
    assert_eq!(
        kinds,
        [
            EventKind::System,
            EventKind::UserMessage,
            EventKind::ToolUse,
            EventKind::ToolResult,
            EventKind::ToolUse,
            EventKind::ToolResult,
            EventKind::AgentMessage,
            EventKind::OutcomeEvaluation,
        ]
    );
    assert_eq!(
        events[2].tool_name.as_deref(),
        Some("mcp__stripe__create_refund")
    );
    assert_eq!(
        events[3].tool_name.as_deref(),
        Some("mcp__stripe__create_refund")
    );
    assert!(events[3].is_error);
    assert!(
        events[5].rejected,
        "a denied tool confirmation is a rejection"
    );
    assert_eq!(events[5].text, "do not run shell commands against billing");
    assert_eq!(
        events[7].text,
        "satisfied: Refund confirmed in the final message."
    );
}

#[tokio::test]
async fn managed_agents_event_lists_are_one_session_named_after_the_file() {
    let t = temp_store().await;
    let report = ingest(&t.store, &[&example("managed-agents-events.jsonl")]).await;
    assert_eq!(report.counts.created, 1);
    let (s, events) = session_by_source(&t.store, "managed-agents-events").await;
    assert_eq!(s.tool_error_count, 1);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::Compaction)
            .count(),
        1
    );
    assert_eq!(events[2].tool_name.as_deref(), Some("read"));

    // The same events as a list page `{"data": [...]}` read the same way.
    let page = serde_json::json!({
        "data": std::fs::read_to_string(example("managed-agents-events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>(),
        "next_page": null
    });
    let path = write_file(t.dir.path(), "managed-agents-events.json", page.to_string());
    let other = temp_store().await;
    ingest(&other.store, &[&path]).await;
    let (copy, _) = session_by_source(&other.store, "managed-agents-events").await;
    assert_eq!(copy.content_hash, s.content_hash);
}

#[tokio::test]
async fn a_bare_message_list_is_one_session_and_format_can_be_forced() {
    let t = temp_store().await;
    let path = write_file(
        t.dir.path(),
        "chat-42.json",
        r#"[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]"#,
    );
    let options = IngestOptions {
        read: ReadOptions {
            format: Some(SourceKind::Canonical),
            agent: Some("demo".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let report = ingest_with(&t.store, &[&path], options).await;
    assert_eq!(report.counts.created, 1, "{report:?}");
    let (s, events) = session_by_source(&t.store, "chat-42").await;
    assert_eq!(s.source_kind, SourceKind::Canonical);
    assert_eq!(
        s.agent.as_deref(),
        Some("demo"),
        "--agent names sessions whose source names none"
    );
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn directories_are_walked_for_transcripts_only() {
    let t = temp_store().await;
    let dir = t.dir.path().join("in");
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    std::fs::copy(example("canonical.jsonl"), dir.join("nested/a.jsonl")).unwrap();
    std::fs::copy(example("openai-chat.json"), dir.join("b.json")).unwrap();
    std::fs::write(dir.join("notes.txt"), "not a transcript").unwrap();
    let report = ingest(&t.store, &[&dir]).await;
    assert_eq!((report.counts.files, report.counts.created), (2, 3));
    assert!(report.skipped.is_empty());
}
