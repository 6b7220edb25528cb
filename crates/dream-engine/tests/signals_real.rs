//! Signal extraction and pattern mining on the real transcripts in `../shared/data`:
//! what a reviewer sees of recurring mistakes, read straight from the miner.

use std::collections::BTreeMap;

use dream_engine::pattern::{Pattern, SessionInfo, Verdict, mine};
use dream_engine::signal::{Signal, SignalKind, extract};
use dream_store::Store;
use dream_types::{DreamConfig, SessionFilter, SessionId};

use crate::common::temp_store;
use crate::dream_real::{ingest, shared};

/// Ingests `rel` and returns the miner's patterns with min_support 3.
async fn patterns_of(rel: &str) -> Option<(Vec<Pattern>, BTreeMap<SessionId, Vec<Signal>>)> {
    let path = shared(rel)?;
    let t = temp_store().await;
    ingest(&t, &path).await;
    let sessions = t
        .store
        .list_sessions(&SessionFilter {
            top_level_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut signals = BTreeMap::new();
    let mut infos = Vec::new();
    for session in &sessions {
        let events = t.store.session_events(&session.id, None).await.unwrap();
        let mut children = Vec::new();
        for child in t.store.child_sessions(&session.id).await.unwrap() {
            let events = t.store.session_events(&child.id, None).await.unwrap();
            children.push((child, events));
        }
        signals.insert(session.id.clone(), extract(session, &events, &children));
        infos.push(SessionInfo {
            id: session.id.clone(),
            source_session_id: session.source_session_id.clone(),
            user: session.user.clone(),
            agent: session.agent.clone(),
            segment: None,
            failed: None,
            started_at: session.started_at,
        });
    }
    let config = DreamConfig {
        min_support: 3,
        ..Default::default()
    };
    Some((mine(&infos, &signals, &config), signals))
}

#[tokio::test]
async fn one_failing_hook_is_one_pattern_naming_its_checks_and_their_retries() {
    let Some((patterns, _)) = patterns_of("claude-code").await else {
        return;
    };
    let hooks: Vec<&Pattern> = patterns
        .iter()
        .filter(|p| {
            p.occurrences
                .iter()
                .any(|o| o.signal.text.contains("Pre-commit validation failed"))
        })
        .collect();
    assert_eq!(hooks.len(), 1, "one step, one pattern: {hooks:#?}");
    let hook = hooks[0];
    assert_eq!(hook.verdict, Verdict::Lesson);
    assert_eq!(hook.support.sessions, 3);
    let checks: Vec<(&str, u64, u64, u64)> = hook
        .checks
        .iter()
        .map(|c| (c.name.as_str(), c.failures, c.sessions, c.retries))
        .collect();
    // The hook runs every check and reports each that failed: DIALYZER failed in 10
    // runs (six in a row in one session, each but the last followed by another commit),
    // CREDO in 4, FORMAT in 3 — once per session, fixed by `mix format`.
    assert_eq!(
        checks,
        [
            ("DIALYZER", 10, 2, 7),
            ("CREDO", 4, 2, 2),
            ("FORMAT", 3, 3, 3)
        ],
        "{:#?}",
        hook.checks
    );
    assert!(
        hook.fixes
            .iter()
            .any(|f| f.description == "run `mix format` first"),
        "{:#?}",
        hook.fixes
    );
}

#[tokio::test]
async fn quotes_state_the_error_and_occur_verbatim() {
    let Some((patterns, _)) = patterns_of("claude-code").await else {
        return;
    };
    for pattern in patterns.iter().filter(|p| p.kind == SignalKind::ToolError) {
        for o in &pattern.occurrences {
            let quote = &o.signal.evidence.quote;
            assert!(
                !quote.starts_with("Getting extensions") && !quote.starts_with("Checking "),
                "a progress line is not the error: {quote}"
            );
        }
    }
}

#[tokio::test]
async fn a_missing_file_is_located_with_glob_in_the_claude_code_data() {
    let Some((patterns, _)) = patterns_of("claude-code").await else {
        return;
    };
    let read = patterns
        .iter()
        .find(|p| p.kind == SignalKind::ToolError && p.label == "file does not exist.")
        .expect("the Read pattern");
    // One session located the file with Glob, another read some other file: the fix
    // that names what to do is the one a lesson shows first.
    assert_eq!(
        read.fixes[0].description, "locate it with `Glob` first",
        "{:#?}",
        read.fixes
    );
    assert_eq!(read.fixes[0].sessions, 1);
    let edit_fixes: Vec<&str> = patterns
        .iter()
        .filter(|p| p.label.starts_with("string to replace not found"))
        .flat_map(|p| p.fixes.iter().map(|f| f.description.as_str()))
        .collect();
    assert!(
        !edit_fixes.is_empty() && edit_fixes.iter().all(|d| *d == "call `Read` first"),
        "a stale Edit is fixed by reading the file first: {edit_fixes:?}"
    );
}
