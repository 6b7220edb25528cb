//! The conformance suite every [`Store`] backend must pass (quickwit's
//! `metastore_test_suite!` pattern): each test is a function over `&dyn Store`, and
//! [`store_conformance_suite!`] instantiates all of them for one backend.

use std::collections::BTreeMap;

use async_trait::async_trait;
use dream_store::{
    EventSource, SessionRef, SourceEnd, Store, StoreError, StoreResult, VecSource, WriteOptions,
    WriteReport, WriteStatus,
};
use dream_types::{
    Event, EventKind, Outcome, OutcomeFilter, OutcomeResult, SessionFilter, SessionHead,
    SourceKind, Timestamp,
};

/// Instantiates every conformance test for a backend. `$make` is an expression of a
/// future that yields something that derefs to a `Store` and has a `clock` field
/// (`Arc<FixedClock>`, the store's clock) for the tests where time passes.
#[macro_export]
macro_rules! store_conformance_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let store = $make.await;
                        $crate::conformance::$name(&*store).await;
                    }
                };
            }
            macro_rules! memory_case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let store = $make.await;
                        $crate::memory_conformance::$name(&*store).await;
                    }
                };
            }
            macro_rules! platform_case {
                ($name:ident) => {
                    #[tokio::test]
                    async fn $name() {
                        let store = $make.await;
                        $crate::platform_conformance::$name(&*store, &store.clock).await;
                    }
                };
            }
            case!(new_session_is_created_then_unchanged);
            case!(longer_content_with_same_prefix_is_appended);
            case!(same_events_with_other_fields_is_updated);
            case!(different_content_is_a_conflict_and_changes_nothing);
            case!(shorter_content_is_a_conflict);
            case!(replace_overwrites_a_conflicting_session_keeping_its_id);
            case!(an_aborted_source_stores_nothing);
            case!(an_aborted_extension_keeps_the_stored_session);
            case!(index_gaps_are_rejected_and_nothing_is_stored);
            case!(children_find_parents_in_either_order);
            case!(sessions_are_found_by_id_or_source_id);
            case!(list_filters_match_the_reference_semantics);
            case!(outcomes_and_times_are_stored);
            case!(event_fields_round_trip);
            case!(event_ranges);
            case!(concurrent_writers_of_one_session_store_it_once);
            memory_case!(stores_are_created_validated_updated_and_listed);
            memory_case!(every_change_is_a_version_that_advances_the_store_version);
            memory_case!(a_rejected_write_leaves_no_version);
            memory_case!(renames_cannot_take_a_used_path);
            memory_case!(listing_filters_by_whole_segment_prefixes);
            memory_case!(archived_stores_are_read_only_but_allow_deletes_and_redactions);
            memory_case!(dreams_cannot_touch_protected_paths_but_people_can);
            memory_case!(the_log_filters_by_memory_actor_operation_and_time);
            memory_case!(redaction_wipes_one_version_and_keeps_the_record);
            memory_case!(the_store_reads_as_of_any_store_version);
            memory_case!(concurrent_writers_with_one_precondition_exactly_one_wins);
            memory_case!(deleting_a_store_removes_its_memories_and_versions);
            memory_case!(a_derived_store_remembers_its_source);
            platform_case!(api_keys_are_found_by_secret_hash_and_revoked_one_way);
            platform_case!(schedules_are_created_updated_listed_and_deleted);
            platform_case!(schedule_filters_round_trip);
            platform_case!(a_slot_is_claimed_once_even_by_concurrent_workers);
            platform_case!(schedule_runs_are_listed_newest_slot_first);
            platform_case!(deleting_a_store_deletes_its_schedules);
            platform_case!(webhooks_are_created_updated_listed_and_deleted);
            platform_case!(events_go_only_to_enabled_subscribed_webhooks);
            platform_case!(due_deliveries_are_leased_to_one_worker_until_the_lease_ends);
            platform_case!(attempts_are_recorded_in_order_and_move_the_delivery);
            platform_case!(
                an_attempt_is_visible_before_its_answer_and_a_crash_leaves_it_interrupted
            );
            platform_case!(deleting_a_webhook_deletes_its_deliveries);
        }
    };
}

pub fn head(source_id: &str) -> SessionHead {
    SessionHead {
        source_kind: Some(SourceKind::Canonical),
        source_session_id: source_id.to_owned(),
        agent: Some("support".to_owned()),
        ..SessionHead::default()
    }
}

pub fn events(n: u32) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut event = Event::new(i, EventKind::UserMessage, format!("message {i}"));
            event.timestamp = Some(
                Timestamp::parse("2026-02-01T10:00:00Z")
                    .unwrap()
                    .plus_secs(i64::from(i) * 60),
            );
            event
        })
        .collect()
}

pub async fn write(
    store: &dyn Store,
    head: &SessionHead,
    events: Vec<Event>,
) -> StoreResult<WriteReport> {
    store
        .write_session(head, &mut VecSource::new(events), WriteOptions::default())
        .await
}

/// Yields some events, then reports invalid input.
struct FailingSource {
    events: std::vec::IntoIter<Event>,
}

#[async_trait]
impl EventSource for FailingSource {
    async fn next_event(&mut self) -> Option<Event> {
        self.events.next()
    }
    fn finish(&mut self) -> SourceEnd {
        SourceEnd::Aborted
    }
}

pub async fn new_session_is_created_then_unchanged(store: &dyn Store) {
    let first = write(store, &head("s1"), events(3)).await.unwrap();
    assert_eq!(first.status, WriteStatus::Created);
    assert_eq!((first.event_count, first.events_written), (3, 3));
    let before = store
        .get_session(&SessionRef::Id(first.session_id.clone()))
        .await
        .unwrap();

    let again = write(store, &head("s1"), events(3)).await.unwrap();
    assert_eq!(again.status, WriteStatus::Unchanged);
    assert_eq!(again.session_id, first.session_id);
    assert_eq!(again.events_written, 0);
    assert_eq!(again.content_hash, first.content_hash);
    let after = store
        .get_session(&SessionRef::Id(first.session_id))
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "an unchanged write must not touch the stored session"
    );
    assert_eq!(store.count_sessions().await.unwrap(), 1);
}

pub async fn longer_content_with_same_prefix_is_appended(store: &dyn Store) {
    let first = write(store, &head("grow"), events(3)).await.unwrap();
    let grown = write(store, &head("grow"), events(5)).await.unwrap();
    assert_eq!(grown.status, WriteStatus::Appended);
    assert_eq!(grown.session_id, first.session_id);
    assert_eq!((grown.event_count, grown.events_written), (5, 2));
    assert_ne!(grown.content_hash, first.content_hash);
    let stored = store.session_events(&grown.session_id, None).await.unwrap();
    assert_eq!(
        stored.iter().map(|e| e.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(stored[4].text, "message 4");
    // The grown session hashes like a fresh ingest of the full content.
    let session = store
        .get_session(&SessionRef::Id(grown.session_id))
        .await
        .unwrap();
    assert_eq!(session.event_count, 5);
    assert_eq!(session.ended_at, events(5)[4].timestamp);
    assert_eq!(store.count_sessions().await.unwrap(), 1);
}

pub async fn same_events_with_other_fields_is_updated(store: &dyn Store) {
    let first = write(store, &head("meta"), events(2)).await.unwrap();
    let mut changed = head("meta");
    changed.metadata = BTreeMap::from([("segment".to_owned(), "enterprise".to_owned())]);
    let updated = write(store, &changed, events(2)).await.unwrap();
    assert_eq!(updated.status, WriteStatus::Updated);
    assert_eq!(updated.events_written, 0);
    let session = store
        .get_session(&SessionRef::Id(first.session_id))
        .await
        .unwrap();
    assert_eq!(session.metadata["segment"], "enterprise");
    assert_eq!(session.content_hash, updated.content_hash);
}

pub async fn different_content_is_a_conflict_and_changes_nothing(store: &dyn Store) {
    let first = write(store, &head("c"), events(3)).await.unwrap();
    let mut other = events(4);
    other[1].text = "edited".to_owned();
    let err = write(store, &head("c"), other).await.unwrap_err();
    match &err {
        StoreError::SessionConflict {
            session_id,
            stored_hash,
            ..
        } => {
            assert_eq!(session_id, first.session_id.as_str());
            assert_eq!(stored_hash, &first.content_hash);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(err.code(), "conflict_error");
    assert!(err.to_string().contains("--replace"), "{err}");
    let stored = store.session_events(&first.session_id, None).await.unwrap();
    assert_eq!(stored, events(3));
}

pub async fn shorter_content_is_a_conflict(store: &dyn Store) {
    write(store, &head("short"), events(4)).await.unwrap();
    let err = write(store, &head("short"), events(2)).await.unwrap_err();
    assert!(
        matches!(err, StoreError::SessionConflict { ref reason, .. } if reason.contains("fewer events")),
        "{err:?}"
    );
}

pub async fn replace_overwrites_a_conflicting_session_keeping_its_id(store: &dyn Store) {
    let first = write(store, &head("r"), events(3)).await.unwrap();
    let mut other = events(2);
    other[0].text = "new start".to_owned();
    let replaced = store
        .write_session(
            &head("r"),
            &mut VecSource::new(other.clone()),
            WriteOptions { replace: true },
        )
        .await
        .unwrap();
    assert_eq!(replaced.status, WriteStatus::Replaced);
    assert_eq!(replaced.session_id, first.session_id);
    assert_eq!(
        store.session_events(&first.session_id, None).await.unwrap(),
        other
    );
    // Replacing with identical content is still a no-op.
    let again = store
        .write_session(
            &head("r"),
            &mut VecSource::new(other),
            WriteOptions { replace: true },
        )
        .await
        .unwrap();
    assert_eq!(again.status, WriteStatus::Unchanged);
}

pub async fn an_aborted_source_stores_nothing(store: &dyn Store) {
    let mut source = FailingSource {
        events: events(700).into_iter(),
    };
    let err = store
        .write_session(&head("bad"), &mut source, WriteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SourceAborted));
    assert_eq!(
        store.count_sessions().await.unwrap(),
        0,
        "a session is stored completely or not at all"
    );
    assert!(matches!(
        store.get_session(&SessionRef::Source("bad".into())).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn an_aborted_extension_keeps_the_stored_session(store: &dyn Store) {
    let first = write(store, &head("keep"), events(2)).await.unwrap();
    let mut source = FailingSource {
        events: events(600).into_iter(),
    };
    let err = store
        .write_session(&head("keep"), &mut source, WriteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::SourceAborted));
    let session = store
        .get_session(&SessionRef::Id(first.session_id.clone()))
        .await
        .unwrap();
    assert_eq!(session.event_count, 2);
    assert_eq!(session.content_hash, first.content_hash);
    assert_eq!(
        store
            .session_events(&first.session_id, None)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn index_gaps_are_rejected_and_nothing_is_stored(store: &dyn Store) {
    let mut gappy = events(3);
    gappy[2].index = 5;
    let err = write(store, &head("gap"), gappy).await.unwrap_err();
    assert!(
        matches!(err, StoreError::InvalidEvent(ref m) if m.contains("index 5")),
        "{err:?}"
    );
    assert_eq!(store.count_sessions().await.unwrap(), 0);
}

pub async fn children_find_parents_in_either_order(store: &dyn Store) {
    let mut early_child = head("p1:agent-a");
    early_child.parent_source_session_id = Some("p1".into());
    let child = write(store, &early_child, events(1)).await.unwrap();
    let orphan = store
        .get_session(&SessionRef::Id(child.session_id.clone()))
        .await
        .unwrap();
    assert_eq!(orphan.parent_id, None, "the parent is not stored yet");

    let parent = write(store, &head("p1"), events(2)).await.unwrap();
    let adopted = store
        .get_session(&SessionRef::Id(child.session_id.clone()))
        .await
        .unwrap();
    assert_eq!(adopted.parent_id.as_ref(), Some(&parent.session_id));

    let mut late_child = head("p1:agent-b");
    late_child.parent_source_session_id = Some("p1".into());
    let late = write(store, &late_child, events(1)).await.unwrap();
    let late = store
        .get_session(&SessionRef::Id(late.session_id))
        .await
        .unwrap();
    assert_eq!(late.parent_id.as_ref(), Some(&parent.session_id));

    let children = store.child_sessions(&parent.session_id).await.unwrap();
    let ids: Vec<_> = children
        .iter()
        .map(|c| c.source_session_id.as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&"p1:agent-a") && ids.contains(&"p1:agent-b"));
}

pub async fn sessions_are_found_by_id_or_source_id(store: &dyn Store) {
    let a = write(store, &head("shared"), events(1)).await.unwrap();
    let by_source = store
        .get_session(&SessionRef::Source("shared".into()))
        .await
        .unwrap();
    assert_eq!(by_source.id, a.session_id);

    let mut other_agent = head("shared");
    other_agent.agent = Some("billing".into());
    write(store, &other_agent, events(1)).await.unwrap();
    let err = store
        .get_session(&SessionRef::Source("shared".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Ambiguous { ref matches, .. } if matches.len() == 2),
        "{err:?}"
    );
    assert!(err.to_string().contains("use the sesn_ id"));

    let err = store
        .get_session(&SessionRef::parse("nope"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found_error");
    assert_eq!(err.to_string(), "session nope not found");
}

pub async fn list_filters_match_the_reference_semantics(store: &dyn Store) {
    for i in 0..12_u32 {
        let mut h = head(&format!("l{i}"));
        h.agent = Some(if i % 3 == 0 { "a" } else { "b" }.to_owned());
        h.user = Some(format!("u{}", i % 4));
        h.started_at = Some(
            Timestamp::parse("2026-01-01T00:00:00Z")
                .unwrap()
                .plus_secs(i64::from(i) * 86_400),
        );
        if i % 5 == 0 {
            h.parent_source_session_id = Some("l1".into());
        }
        let mut evs = events(2);
        if i % 2 == 0 {
            evs[1].kind = EventKind::ToolResult;
            evs[1].is_error = true;
        }
        let outcomes = vec![Outcome {
            name: "reward".into(),
            result: Some(if i % 4 == 0 {
                OutcomeResult::Satisfied
            } else {
                OutcomeResult::Failed
            }),
            value: Some(f64::from(i % 2)),
            explanation: None,
        }];
        store
            .write_session(
                &h,
                &mut VecSource::with_outcomes(evs, outcomes),
                WriteOptions::default(),
            )
            .await
            .unwrap();
    }
    let all = store
        .list_sessions(&SessionFilter::default())
        .await
        .unwrap();
    assert_eq!(all.len(), 12);
    let starts: Vec<_> = all.iter().map(|s| s.started_at).collect();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts, sorted, "newest first");

    let filters = [
        SessionFilter {
            agent: Some("a".into()),
            ..Default::default()
        },
        SessionFilter {
            user: Some("u1".into()),
            ..Default::default()
        },
        SessionFilter {
            has_errors: Some(true),
            ..Default::default()
        },
        SessionFilter {
            has_errors: Some(false),
            ..Default::default()
        },
        SessionFilter {
            top_level_only: true,
            ..Default::default()
        },
        SessionFilter {
            since: Some(Timestamp::parse("2026-01-08T00:00:00Z").unwrap()),
            ..Default::default()
        },
        SessionFilter {
            outcome: Some(OutcomeFilter::Result(OutcomeResult::Satisfied)),
            ..Default::default()
        },
        SessionFilter {
            // A satisfied verdict or a reward of 0.5 or more.
            outcome: Some(OutcomeFilter::Succeeded),
            ..Default::default()
        },
        SessionFilter {
            outcome: Some(OutcomeFilter::Value {
                name: "reward".into(),
                value: 1.0,
            }),
            ..Default::default()
        },
        SessionFilter {
            agent: Some("b".into()),
            has_errors: Some(true),
            top_level_only: true,
            ..Default::default()
        },
        SessionFilter {
            until: Some(Timestamp::parse("2026-01-05T00:00:00Z").unwrap()),
            ..Default::default()
        },
        SessionFilter {
            after_key: Some((all[4].started_at.unwrap(), all[4].id.clone())),
            ..Default::default()
        },
    ];
    for filter in filters {
        let got: Vec<_> = store
            .list_sessions(&filter)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect();
        let want: Vec<_> = all
            .iter()
            .filter(|s| filter.matches(s))
            .map(|s| s.id.clone())
            .collect();
        assert!(
            !want.is_empty() && want.len() < 12,
            "filter {filter:?} should narrow the list"
        );
        assert_eq!(got, want, "filter {filter:?}");
    }
    let limited = store
        .list_sessions(&SessionFilter {
            limit: Some(3),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        limited.iter().map(|s| &s.id).collect::<Vec<_>>(),
        all.iter().take(3).map(|s| &s.id).collect::<Vec<_>>()
    );

    // Keyset pages of 5 walk the whole list once, in order.
    let mut walked = Vec::new();
    let mut after_key = None;
    loop {
        let page = store
            .list_sessions(&SessionFilter {
                after_key: after_key.clone(),
                limit: Some(5),
                ..Default::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after_key = Some((last.started_at.unwrap_or(last.ingested_at), last.id.clone()));
        walked.extend(page.into_iter().map(|s| s.id));
    }
    assert_eq!(walked, all.iter().map(|s| s.id.clone()).collect::<Vec<_>>());
}

pub async fn outcomes_and_times_are_stored(store: &dyn Store) {
    let outcomes = vec![
        Outcome {
            name: "resolved".into(),
            result: Some(OutcomeResult::NeedsRevision),
            value: None,
            explanation: Some("missing refund".into()),
        },
        Outcome::reward(0.25),
        Outcome {
            name: "custom".into(),
            result: Some(OutcomeResult::Other("partial".into())),
            value: Some(3.5),
            explanation: None,
        },
    ];
    let report = store
        .write_session(
            &head("o"),
            &mut VecSource::with_outcomes(events(3), outcomes.clone()),
            WriteOptions::default(),
        )
        .await
        .unwrap();
    let session = store
        .get_session(&SessionRef::Id(report.session_id))
        .await
        .unwrap();
    assert_eq!(session.outcomes, outcomes);
    // No times in the head: they come from the first and last event.
    assert_eq!(session.started_at, events(3)[0].timestamp);
    assert_eq!(session.ended_at, events(3)[2].timestamp);
    assert_eq!(
        session.ingested_at,
        Timestamp::parse("2026-03-01T09:00:00Z").unwrap()
    );
}

pub async fn event_fields_round_trip(store: &dyn Store) {
    let mut call = Event::new(0, EventKind::ToolUse, r#"{"command":"git push"}"#);
    call.tool_name = Some("Bash".into());
    call.tool_use_id = Some("t1".into());
    call.raw = Some(r#"{"type":"tool_use"}"#.into());
    let mut result = Event::new(1, EventKind::ToolResult, "fatal: no upstream");
    result.tool_name = Some("Bash".into());
    result.tool_use_id = Some("t1".into());
    result.is_error = true;
    result.rejected = true;
    result.timestamp = Some(Timestamp::parse("2026-02-11T20:36:45.618Z").unwrap());
    let report = write(store, &head("fields"), vec![call.clone(), result.clone()])
        .await
        .unwrap();
    let stored = store
        .session_events(&report.session_id, None)
        .await
        .unwrap();
    assert_eq!(stored, vec![call, result]);
    let session = store
        .get_session(&SessionRef::Id(report.session_id))
        .await
        .unwrap();
    assert_eq!(session.tool_error_count, 1);
}

pub async fn event_ranges(store: &dyn Store) {
    let report = write(store, &head("range"), events(10)).await.unwrap();
    let middle = store
        .session_events(&report.session_id, Some(3..6))
        .await
        .unwrap();
    assert_eq!(
        middle.iter().map(|e| e.index).collect::<Vec<_>>(),
        [3, 4, 5]
    );
    let missing: dream_types::SessionId = "sesn_missing".parse().unwrap();
    assert!(matches!(
        store.session_events(&missing, None).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn concurrent_writers_of_one_session_store_it_once(store: &dyn Store) {
    let race = head("race");
    let (a, b) = tokio::join!(
        write(store, &race, events(300)),
        write(store, &race, events(300))
    );
    let mut statuses = vec![a.unwrap().status, b.unwrap().status];
    statuses.sort_by_key(|s| s.as_str());
    assert_eq!(statuses, [WriteStatus::Created, WriteStatus::Unchanged]);
    assert_eq!(store.count_sessions().await.unwrap(), 1);
}
