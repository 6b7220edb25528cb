//! A session exported as canonical JSONL (`dream sessions show ID --json`) re-ingests
//! to the same content hash, whatever format it came from.

use std::io::Write;

use dream_ingest::canonical::session_record;
use dream_store::Store;
use dream_types::SessionFilter;

use crate::common::{example, ingest, shared_data, temp_store};

async fn assert_round_trip(paths: &[&std::path::Path], expected: usize) {
    let original = temp_store().await;
    ingest(&original.store, paths).await;
    let sessions = original
        .store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    assert_eq!(sessions.len(), expected);

    let export = original.dir.path().join("export.jsonl");
    let mut file = std::fs::File::create(&export).unwrap();
    for session in &sessions {
        let events = original
            .store
            .session_events(&session.id, None)
            .await
            .unwrap();
        writeln!(file, "{}", session_record(session, &events)).unwrap();
    }
    drop(file);

    // Into the same store: every session is recognised as already stored.
    let same = ingest(&original.store, &[&export]).await;
    assert!(same.skipped.is_empty(), "{:?}", same.skipped);
    assert_eq!(
        same.counts.unchanged as usize, expected,
        "{:?}",
        same.counts
    );

    // Into a fresh store: the same content hashes.
    let fresh = temp_store().await;
    let report = ingest(&fresh.store, &[&export]).await;
    assert_eq!(report.counts.created as usize, expected);
    for session in &sessions {
        let copy = fresh
            .store
            .get_session(&dream_store::SessionRef::Source(
                session.source_session_id.clone(),
            ))
            .await
            .unwrap();
        assert_eq!(
            copy.content_hash, session.content_hash,
            "{}",
            session.source_session_id
        );
        assert_eq!(copy.event_count, session.event_count);
        assert_eq!(
            copy.parent_source_session_id,
            session.parent_source_session_id
        );
    }
}

#[tokio::test]
async fn real_transcripts_round_trip_through_canonical_jsonl() {
    let Some(data) = shared_data("") else { return };
    assert_round_trip(&[&data], 216).await;
}

#[tokio::test]
async fn example_transcripts_round_trip_through_canonical_jsonl() {
    let files = [
        example("canonical.jsonl"),
        example("openai-chat.json"),
        example("anthropic-messages.jsonl"),
        example("managed-agents-session.json"),
        example("managed-agents-events.jsonl"),
    ];
    let paths: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    assert_round_trip(&paths, 7).await;
}
