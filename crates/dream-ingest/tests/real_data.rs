//! The real transcripts in `../shared/data`: tau-bench airline runs and Claude Code
//! sessions, ingested into a store.

use dream_ingest::{Item, ReadOptions, parse_file};
use dream_store::Store;
use dream_types::{EventKind, OutcomeFilter, SessionFilter, SourceKind};

use crate::common::{ingest, session_by_source, shared_data, temp_store};

const TAU: &str = "tau-bench/historical_trajectories/gpt-4o-airline.json";

#[tokio::test]
async fn tau_bench_airline_ingests_as_200_sessions_with_rewards_and_errors() {
    let Some(path) = shared_data(TAU) else { return };
    let t = temp_store().await;
    let report = ingest(&t.store, &[&path]).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.counts.created, 200);

    let all = t
        .store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 200);
    assert!(all.iter().all(|s| s.source_kind == SourceKind::TauBench));
    let rewarded = t
        .store
        .list_sessions(&SessionFilter {
            outcome: Some(OutcomeFilter::Value {
                name: "reward".into(),
                value: 1.0,
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(rewarded.len(), 84);
    let errors: u64 = all.iter().map(|s| s.tool_error_count).sum();
    assert_eq!(errors, 73);

    // Task, trial and user go to metadata and user; 4 trials of a task share a user.
    let (first, events) = session_by_source(&t.store, "gpt-4o-airline/task-0/trial-0").await;
    assert_eq!(first.user.as_deref(), Some("mia_li_3668"));
    assert_eq!(first.metadata["task_id"], "0");
    assert_eq!(first.metadata["trial"], "0");
    assert_eq!(first.agent.as_deref(), Some("gpt-4o-airline"));
    assert_eq!(events[0].kind, EventKind::System);
    assert!(events[0].text.starts_with("# Airline Agent Policy"));
    let failed = events.iter().find(|e| e.is_tool_error()).unwrap();
    assert!(failed.text.starts_with("Error:"));
    assert!(
        failed.tool_name.is_some(),
        "tool results carry the called tool's name"
    );
}

#[tokio::test]
async fn claude_code_sessions_keep_subagents_errors_rejection_and_compaction() {
    let Some(dir) = shared_data("claude-code") else {
        return;
    };
    let t = temp_store().await;
    let report = ingest(&t.store, &[&dir]).await;
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.counts.created, 16);

    let top = t
        .store
        .list_sessions(&SessionFilter {
            top_level_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(top.len(), 5);
    assert_eq!(top.iter().map(|s| s.tool_error_count).sum::<u64>(), 45);

    let mut children = 0;
    for parent in &top {
        let kids = t.store.child_sessions(&parent.id).await.unwrap();
        assert!(
            !kids.is_empty(),
            "{} has subagent files",
            parent.source_session_id
        );
        for kid in &kids {
            assert_eq!(kid.parent_id.as_ref(), Some(&parent.id));
            assert!(kid.source_session_id.starts_with(&parent.source_session_id));
        }
        children += kids.len();

        let events = t.store.session_events(&parent.id, None).await.unwrap();
        // Every session was compacted once; the continuation summary is a compaction event.
        assert!(events.iter().any(|e| {
            e.kind == EventKind::Compaction
                && e.text
                    .starts_with("This session is being continued from a previous conversation")
        }));
        // No skipped line type became an event.
        for event in &events {
            if let Some(raw) = &event.raw {
                let value: serde_json::Value = serde_json::from_str(raw).unwrap();
                let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("");
                assert!(
                    !["progress", "file-history-snapshot", "queue-operation"].contains(&kind),
                    "event {} came from a {kind} line",
                    event.index
                );
            }
        }
    }
    assert_eq!(children, 11);

    // Counted independently of the reader: every tool_use block of the file is one event.
    let (session, events) =
        session_by_source(&t.store, "258c7280-ae70-4798-800f-63464d01a85d").await;
    let file =
        std::fs::read_to_string(dir.join("258c7280-ae70-4798-800f-63464d01a85d.jsonl")).unwrap();
    let blocks: usize = file
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "assistant")
        .filter_map(|v| v["message"]["content"].as_array().cloned())
        .flatten()
        .filter(|b| b["type"] == "tool_use")
        .count();
    assert_eq!(blocks, 186);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::ToolUse)
            .count(),
        blocks
    );
    assert_eq!(session.metadata["git_branch"], "spotter-gqc");
    assert_eq!(session.metadata["claude_code_version"], "2.1.39");

    // The one tool call the user rejected, recorded as a rejection with its text.
    let rejected: Vec<_> = events.iter().filter(|e| e.rejected).collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].kind, EventKind::ToolResult);
    assert!(rejected[0].is_error);
    assert!(
        rejected[0]
            .text
            .starts_with("The user doesn't want to proceed with this tool use.")
    );
    let others: usize = {
        let mut n = 0;
        for parent in &top {
            n += t
                .store
                .session_events(&parent.id, None)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.rejected)
                .count();
        }
        n
    };
    assert_eq!(
        others, 1,
        "a file that merely quotes the rejection text is not a rejection"
    );

    // Harness text is not the user's speech.
    assert!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::UserMessage)
            .all(|e| !e.text.starts_with("<task-notification>")
                && !e.text.starts_with("<system-reminder>"))
    );
}

#[tokio::test]
async fn reingesting_everything_stores_nothing_new() {
    let Some(dir) = shared_data("") else { return };
    let t = temp_store().await;
    let first = ingest(&t.store, &[&dir]).await;
    assert_eq!(first.counts.created, 216);
    let second = ingest(&t.store, &[&dir]).await;
    assert!(second.nothing_new());
    assert_eq!(second.counts.unchanged, 216);
    assert_eq!(second.counts.events_written, 0);
    assert_eq!(t.store.count_sessions().await.unwrap(), 216);
}

#[tokio::test]
async fn a_claude_code_file_that_grew_is_appended_not_duplicated() {
    let Some(dir) = shared_data("claude-code") else {
        return;
    };
    let name = "258c7280-ae70-4798-800f-63464d01a85d.jsonl";
    let full = std::fs::read_to_string(dir.join(name)).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    let t = temp_store().await;
    let project = t.dir.path().join("-home-USER-projects-spotter");
    std::fs::create_dir_all(&project).unwrap();
    let path = project.join(name);
    std::fs::write(&path, lines[..lines.len() / 2].join("\n") + "\n").unwrap();
    let first = ingest(&t.store, &[&path]).await;
    assert_eq!(first.counts.created, 1);
    let half = first.sessions[0].event_count;

    std::fs::write(&path, &full).unwrap();
    let grown = ingest(&t.store, &[&path]).await;
    assert_eq!(grown.counts.appended, 1, "{grown:?}");
    let report = &grown.sessions[0];
    assert_eq!(report.session_id, first.sessions[0].session_id);
    assert_eq!(report.events_written, report.event_count - half);
    assert_eq!(t.store.count_sessions().await.unwrap(), 1);

    // The grown session is exactly what a fresh ingest of the full file stores.
    let fresh = temp_store().await;
    let fresh_path = fresh.dir.path().join("-home-USER-projects-spotter");
    std::fs::create_dir_all(&fresh_path).unwrap();
    std::fs::write(fresh_path.join(name), &full).unwrap();
    let again = ingest(&fresh.store, &[&fresh_path.join(name)]).await;
    assert_eq!(again.sessions[0].event_count, report.event_count);
    let (grown_session, _) =
        session_by_source(&t.store, "258c7280-ae70-4798-800f-63464d01a85d").await;
    let (fresh_session, _) =
        session_by_source(&fresh.store, "258c7280-ae70-4798-800f-63464d01a85d").await;
    assert_eq!(grown_session.content_hash, fresh_session.content_hash);
    assert_eq!(
        grown_session.metadata["project"],
        "-home-USER-projects-spotter"
    );
}

#[test]
fn readers_stream_the_tau_bench_array_record_by_record() {
    let Some(path) = shared_data(TAU) else { return };
    let items = parse_file(&path, &ReadOptions::default());
    let begins = items.iter().filter(|i| matches!(i, Item::Begin(_))).count();
    let ends = items.iter().filter(|i| matches!(i, Item::End(_))).count();
    assert_eq!((begins, ends), (200, 200));
}
