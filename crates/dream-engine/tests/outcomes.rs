//! Outcomes tracking on a real store: the tau-bench split, planted effects, the
//! regression watch with and without auto_rollback, metrics and the rubric.

use dream_engine::outcomes::groups::compare_groups;
use dream_engine::outcomes::metrics::refresh;
use dream_engine::outcomes::watch::watch_store;
use dream_engine::outcomes::{MetricComparison, Verdict};
use dream_engine::review::approve;
use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress, ReadOptions};
use dream_store::Store;
use dream_types::{
    Clock as _, Criterion, MemoryStore, MemoryVersionRef, OutcomePolicy, OutcomesConfig,
    SessionMetric, SignalWeight,
};
use serde_json::{Value, json};

use crate::common::{TempStore, me, put, temp_store};
use crate::dream_real::{agent_store, clock, dream, request, shared};

/// Ingests canonical sessions with a memory-version link.
async fn ingest_linked(
    t: &TempStore,
    name: &str,
    sessions: &[Value],
    link: Option<(&MemoryStore, u64)>,
) {
    let path = t.dir.path().join(name);
    let lines: Vec<String> = sessions.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let options = IngestOptions {
        read: ReadOptions {
            memory_version: link.map(|(s, version)| MemoryVersionRef {
                store_id: Some(s.id.to_string()),
                version,
            }),
            ..ReadOptions::default()
        },
        ..IngestOptions::default()
    };
    let report = Ingestor::new(&t.store, options, &NoProgress)
        .ingest(&[InputPath::Path(path)])
        .await
        .unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
}

/// `n` sessions, the first `succeeded` with reward 1 and the rest 0.
fn sessions(prefix: &str, n: usize, succeeded: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({
                "id": format!("{prefix}-{i}"),
                "agent": "support",
                "user": format!("u{}", i % 7),
                "started_at": format!("2026-03-{:02}T10:{:02}:00Z", 1 + i % 28, i % 60),
                "messages": [
                    {"role": "user", "content": "please refund my order"},
                    {"role": "assistant", "content": "Done."}
                ],
                "reward": if i < succeeded { 1.0 } else { 0.0 },
            })
        })
        .collect()
}

fn metric<'a>(comparisons: &'a [MetricComparison], name: &str) -> &'a MetricComparison {
    comparisons
        .iter()
        .find(|c| c.metric == name)
        .unwrap_or_else(|| panic!("no {name} in {comparisons:?}"))
}

/// A store at version `n` (n writes of one memory).
async fn store_at(t: &TempStore, n: u64) -> MemoryStore {
    let s = agent_store(t).await;
    for i in 0..n {
        put(&t.store, &s, "/notes.md", &format!("- note {i}\n")).await;
    }
    t.store.get_memory_store(&s.id).await.unwrap()
}

#[tokio::test]
async fn tau_bench_split_by_trial_gives_the_true_rates_and_a_ci_around_the_difference() {
    let Some(path) = shared("tau-bench/historical_trajectories/gpt-4o-airline.json") else {
        return;
    };
    let t = temp_store().await;
    let s = store_at(&t, 2).await;
    let records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (before, after): (Vec<Value>, Vec<Value>) = records
        .into_iter()
        .partition(|r| r["trial"].as_u64().unwrap() < 2);
    // The hand count: rewards of trials 0–1 and of trials 2–3.
    let rate = |group: &[Value]| {
        group
            .iter()
            .map(|r| r["reward"].as_f64().unwrap())
            .sum::<f64>()
            / group.len() as f64
    };
    let (want_before, want_after) = (rate(&before), rate(&after));
    for (name, group, version) in [("before.json", &before, 1), ("after.json", &after, 2)] {
        let file = t.dir.path().join(name);
        std::fs::write(&file, serde_json::to_string(group).unwrap()).unwrap();
        let options = IngestOptions {
            read: ReadOptions {
                memory_version: Some(MemoryVersionRef {
                    store_id: Some(s.id.to_string()),
                    version,
                }),
                ..ReadOptions::default()
            },
            ..IngestOptions::default()
        };
        Ingestor::new(&t.store, options, &NoProgress)
            .ingest(&[InputPath::Path(file)])
            .await
            .unwrap();
    }
    let report = compare_groups(&t.store, &s.id, "v1", "v2", None)
        .await
        .unwrap();
    assert_eq!(report.baseline.sessions, 100);
    assert_eq!(report.candidate.sessions, 100);
    assert_eq!(report.excluded_unlinked, 0);
    let completion = metric(&report.comparisons, "task_completion");
    assert_eq!(completion.baseline.n, 100);
    assert_eq!(completion.candidate.n, 100);
    assert!((completion.baseline.mean.unwrap() - want_before).abs() < 1e-12);
    assert!((completion.candidate.mean.unwrap() - want_after).abs() < 1e-12);
    let by_hand = want_after - want_before;
    assert!((completion.difference.unwrap() - by_hand).abs() < 1e-12);
    assert!(completion.ci_low.unwrap() < by_hand && by_hand < completion.ci_high.unwrap());
    assert_eq!(completion.method, "newcombe_hybrid_score");
    // 43% vs 41%: no detectable change.
    assert_eq!(completion.verdict, Verdict::NoChange);
    // Every tau session has tool results, so error_rate is compared too (Welch).
    assert_eq!(metric(&report.comparisons, "error_rate").method, "welch_t");
}

#[tokio::test]
async fn planted_improvement_regression_and_no_change_get_the_right_verdicts() {
    let t = temp_store().await;
    let s = store_at(&t, 6).await;
    // v1 → v2: 30% → 75% (improved); v3 → v4: 75% → 30% (regressed);
    // v5 → v6: 50% → 50% (no change); tiny groups at v1 vs v3 windows below MIN_N.
    let plan = [
        ("a", 1, 40, 12),
        ("b", 2, 40, 30),
        ("c", 3, 40, 30),
        ("d", 4, 40, 12),
        ("e", 5, 40, 20),
        ("f", 6, 40, 20),
    ];
    for (prefix, version, n, ok) in plan {
        ingest_linked(
            &t,
            &format!("{prefix}.jsonl"),
            &sessions(prefix, n, ok),
            Some((&s, version)),
        )
        .await;
    }
    // Sessions without a link are left out and counted.
    ingest_linked(&t, "loose.jsonl", &sessions("loose", 5, 5), None).await;
    let verdict = |base: &'static str, cand: &'static str| {
        let t = &t;
        let id = s.id.clone();
        async move {
            let report = compare_groups(
                &t.store,
                &id,
                base,
                cand,
                Some(&["task_completion".to_owned()]),
            )
            .await
            .unwrap();
            assert_eq!(report.excluded_unlinked, 5);
            report.comparisons[0].verdict
        }
    };
    assert_eq!(verdict("v1", "v2").await, Verdict::Improved);
    assert_eq!(verdict("v3", "v4").await, Verdict::Regressed);
    assert_eq!(verdict("v5", "v6").await, Verdict::NoChange);
    assert_eq!(verdict("v1..v2", "v3..v4").await, Verdict::NoChange);

    // Small n: 8 sessions a side with a large planted gap is still not a verdict.
    let t2 = temp_store().await;
    let s2 = store_at(&t2, 2).await;
    ingest_linked(&t2, "x.jsonl", &sessions("x", 8, 1), Some((&s2, 1))).await;
    ingest_linked(&t2, "y.jsonl", &sessions("y", 8, 7), Some((&s2, 2))).await;
    let small = compare_groups(&t2.store, &s2.id, "v1", "v2", None)
        .await
        .unwrap();
    let completion = metric(&small.comparisons, "task_completion");
    assert_eq!(completion.baseline.n, 8);
    assert_eq!(completion.verdict, Verdict::InsufficientData);

    let err = compare_groups(&t.store, &s.id, "v9..v3", "v1", None)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("first version is after the last"),
        "{err}"
    );
}

/// A store with a dream applied at some version: returns the store, the dream's
/// first applied version and the store version before it.
async fn applied_dream(t: &TempStore) -> (MemoryStore, u64) {
    let s = agent_store(t).await;
    put(&t.store, &s, "/notes.md", "- be kind\n").await;
    // Three sessions with the same tool error make a lesson.
    let erring: Vec<Value> = (0..3)
        .map(|i| {
            json!({
                "id": format!("err-{i}"), "agent": "support", "user": format!("u{i}"),
                "started_at": format!("2026-02-0{}T10:00:00Z", i + 1),
                "messages": [
                    {"role": "user", "content": "please refund my order"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "issue_refund", "input": {"order": i}}]},
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "is_error": true, "content": "Error: refund window closed for order 7731"}]},
                ],
            })
        })
        .collect();
    ingest_linked(t, "err.jsonl", &erring, Some((&s, 1))).await;
    let (_, proposal) = dream(t, &request(&s)).await;
    assert!(!proposal.changes.is_empty());
    let report = approve(&t.store, &proposal.id, None, &me(), &clock(), false)
        .await
        .unwrap();
    let first = report
        .versions
        .iter()
        .map(|v| v.store_version)
        .min()
        .unwrap();
    (t.store.get_memory_store(&s.id).await.unwrap(), first)
}

#[tokio::test]
async fn a_regression_after_a_dream_rolls_back_when_the_policy_says_so() {
    let t = temp_store().await;
    let (s, applied) = applied_dream(&t).await;
    let before_dream = applied - 1;
    let state_before = t.store.memories_at(&s.id, before_dream).await.unwrap();
    t.store
        .set_outcomes_config(
            &s.id,
            &OutcomesConfig {
                policy: OutcomePolicy {
                    auto_rollback: true,
                    min_sessions: 30,
                    metrics: vec!["task_completion".into()],
                    ..OutcomePolicy::default()
                },
                ..OutcomesConfig::default()
            },
        )
        .await
        .unwrap();
    // Too few sessions after the dream: waiting, nothing done.
    ingest_linked(
        &t,
        "pre.jsonl",
        &sessions("pre", 40, 32),
        Some((&s, before_dream)),
    )
    .await;
    ingest_linked(
        &t,
        "post1.jsonl",
        &sessions("post1", 10, 2),
        Some((&s, applied)),
    )
    .await;
    let waiting = watch_store(&t.store, &s.id, clock().now()).await.unwrap();
    assert!(waiting.checks.is_empty());
    assert_eq!(waiting.waiting[0].candidate_sessions, 10);
    // Enough, and worse: rolled back to the state before the dream, as a new version.
    ingest_linked(
        &t,
        "post2.jsonl",
        &sessions("post2", 30, 6),
        Some((&s, applied)),
    )
    .await;
    let report = watch_store(&t.store, &s.id, clock().now()).await.unwrap();
    let check = &report.checks[0];
    assert_eq!(check.verdict, "regressed");
    assert_eq!(check.action, "rolled_back");
    assert_eq!(check.restored_to_version, Some(before_dream));
    let now = t.store.get_memory_store(&s.id).await.unwrap();
    assert_eq!(check.rollback_store_version, Some(now.store_version));
    assert!(
        now.store_version > s.store_version,
        "history is kept: the restore is new versions"
    );
    let live = t.store.memories_at(&s.id, now.store_version).await.unwrap();
    let contents = |list: &[dream_types::MemorySnapshot]| {
        list.iter()
            .map(|m| (m.path.clone(), m.content.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(contents(&live), contents(&state_before));
    assert!(
        check.comparison["reason"]
            .as_str()
            .unwrap()
            .contains("task_completion regressed")
    );
    let versions = t
        .store
        .list_memory_versions(&s.id, &Default::default())
        .await
        .unwrap();
    assert_eq!(versions[0].created_by.type_name(), "service_account_actor");
    // Judged once: a second pass does nothing.
    let again = watch_store(&t.store, &s.id, clock().now()).await.unwrap();
    assert!(again.checks.is_empty() && again.waiting.is_empty());
    assert_eq!(t.store.regression_checks(&s.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn with_the_policy_off_a_regression_only_alerts() {
    let t = temp_store().await;
    let (s, applied) = applied_dream(&t).await;
    ingest_linked(
        &t,
        "pre.jsonl",
        &sessions("pre", 40, 32),
        Some((&s, applied - 1)),
    )
    .await;
    ingest_linked(
        &t,
        "post.jsonl",
        &sessions("post", 40, 8),
        Some((&s, applied)),
    )
    .await;
    let report = watch_store(&t.store, &s.id, clock().now()).await.unwrap();
    assert_eq!(report.checks[0].verdict, "regressed");
    assert_eq!(report.checks[0].action, "alerted");
    assert_eq!(report.checks[0].restored_to_version, None);
    assert_eq!(
        t.store.get_memory_store(&s.id).await.unwrap().store_version,
        s.store_version,
        "nothing restored"
    );
    // The dream's own groups: before/after it, by id.
    let dream_id = report.checks[0].dream_id.to_string();
    let compared = compare_groups(
        &t.store,
        &s.id,
        &dream_id,
        &dream_id,
        Some(&["task_completion".to_owned()]),
    )
    .await
    .unwrap();
    assert_eq!(compared.baseline.sessions, 40 + 3);
    assert_eq!(compared.candidate.sessions, 40);
    assert_eq!(compared.comparisons[0].verdict, Verdict::Regressed);
}

#[tokio::test]
async fn metrics_are_computed_once_per_definition_and_custom_ones_are_kept() {
    let t = temp_store().await;
    let s = store_at(&t, 1).await;
    let mut records = sessions("m", 2, 1);
    records[0]["messages"] = json!([
        {"role": "user", "content": "refund order 12", "timestamp": "2026-03-01T10:00:00Z"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "memory", "input": {"command": "view", "path": "/memories"}}], "timestamp": "2026-03-01T10:00:05Z"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "- be kind"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c2", "name": "issue_refund", "input": {"order": 12}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c2", "is_error": true, "content": "Error: window closed"}]},
        {"role": "user", "content": "no, use the store credit instead"},
        {"role": "assistant", "content": "Done.", "timestamp": "2026-03-01T10:01:40Z"}
    ]);
    records[0]["ended_at"] = json!("2026-03-01T10:01:40Z");
    ingest_linked(&t, "m.jsonl", &records, Some((&s, 1))).await;
    assert_eq!(refresh(&t.store).await.unwrap().computed, 2);
    assert_eq!(
        refresh(&t.store).await.unwrap().computed,
        0,
        "nothing stale"
    );
    let all = t.store.list_sessions(&Default::default()).await.unwrap();
    let first = all.iter().find(|x| x.source_session_id == "m-0").unwrap();
    let values: Vec<SessionMetric> = t
        .store
        .session_metrics(std::slice::from_ref(&first.id))
        .await
        .unwrap();
    let get = |name: &str| values.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(get("task_completion"), Some(1.0));
    assert_eq!(get("duration_secs"), Some(100.0));
    assert_eq!(get("memory_lookup_count"), Some(1.0));
    assert_eq!(get("error_rate"), Some(0.5));
    // Two user turns before the tool results plus the correction: 1 correction of 2 turns.
    let rate = get("user_correction_rate").unwrap();
    assert!(rate > 0.0 && rate <= 0.5, "{rate}");
    t.store
        .record_metric(&SessionMetric {
            session_id: first.id.clone(),
            name: "csat".into(),
            value: 4.5,
            source: dream_types::MetricSource::Custom,
            definition_version: 0,
            recorded_at: clock().now(),
        })
        .await
        .unwrap();
    // Recomputing built-ins (the session grew) keeps the custom value.
    let mut grown = records.clone();
    grown[0]["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "user", "content": "thanks"}));
    ingest_linked(&t, "m.jsonl", &grown, Some((&s, 1))).await;
    assert_eq!(refresh(&t.store).await.unwrap().computed, 1);
    let values = t
        .store
        .session_metrics(std::slice::from_ref(&first.id))
        .await
        .unwrap();
    assert!(values.iter().any(|m| m.name == "csat" && m.value == 4.5));
}

#[tokio::test]
async fn rubric_criteria_are_compared_and_unknown_ones_stay_unknown() {
    let t = temp_store().await;
    let s = store_at(&t, 2).await;
    t.store
        .set_outcomes_config(
            &s.id,
            &OutcomesConfig {
                outcomes: vec![
                    Criterion {
                        name: "resolved".into(),
                        description: "fixed it".into(),
                        signal: SignalWeight::High,
                    },
                    Criterion {
                        name: "cited_policy".into(),
                        description: String::new(),
                        signal: SignalWeight::Low,
                    },
                ],
                ..OutcomesConfig::default()
            },
        )
        .await
        .unwrap();
    let with_outcome = |prefix: &str, n: usize, ok: usize| -> Vec<Value> {
        sessions(prefix, n, n)
            .into_iter()
            .enumerate()
            .map(|(i, mut r)| {
                r["outcomes"] = json!([{"name": "resolved", "result": if i < ok { "satisfied" } else { "failed" }}]);
                r
            })
            .collect()
    };
    ingest_linked(&t, "a.jsonl", &with_outcome("a", 30, 10), Some((&s, 1))).await;
    ingest_linked(&t, "b.jsonl", &with_outcome("b", 30, 27), Some((&s, 2))).await;
    let report = compare_groups(&t.store, &s.id, "v1", "v2", None)
        .await
        .unwrap();
    let resolved = metric(&report.comparisons, "criterion:resolved");
    assert_eq!((resolved.baseline.n, resolved.candidate.n), (30, 30));
    assert_eq!(resolved.verdict, Verdict::Improved);
    assert!(
        report
            .comparisons
            .iter()
            .all(|c| c.metric != "criterion:cited_policy"),
        "no session has data for cited_policy: it is not guessed"
    );
}

#[tokio::test]
async fn ingested_sessions_carry_their_metrics_from_the_same_transaction() {
    use dream_engine::outcomes::metrics::{at_ingest, compute};

    let t = temp_store().await;
    let mut records = sessions("tx", 3, 2);
    records[0]["messages"] = json!([
        {"role": "user", "content": "refund order 12", "timestamp": "2026-03-01T10:00:00Z"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "memory", "input": {"command": "view", "path": "/memories"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "is_error": true, "content": "Error: no such path"}]},
        {"role": "user", "content": "no, use the store credit instead"},
        {"role": "assistant", "content": "Done.", "timestamp": "2026-03-01T10:01:40Z"}
    ]);
    // The third session is invalid: it is stored neither with nor without metrics.
    records[2]["messages"] = json!([{"role": "robot", "content": "?"}]);
    let path = t.dir.path().join("tx.jsonl");
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let options = IngestOptions {
        skip_invalid: true,
        ..IngestOptions::default()
    };
    let report = Ingestor::new(&t.store, options, &NoProgress)
        .with_metrics(at_ingest)
        .ingest(&[InputPath::Path(path)])
        .await
        .unwrap();
    assert_eq!((report.counts.created, report.counts.skipped), (2, 1));

    // No refresh: every stored session already has current metrics, and they are
    // what a refresh from the stored events computes.
    assert!(
        t.store
            .sessions_needing_metrics(dream_engine::outcomes::metrics::DEFINITION_VERSION, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let all = t.store.list_sessions(&Default::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    for session in &all {
        let events = t.store.session_events(&session.id, None).await.unwrap();
        let mut expected = compute(session, &events);
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        let stored: Vec<(String, f64)> = t
            .store
            .session_metrics(std::slice::from_ref(&session.id))
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.name, m.value))
            .collect();
        assert_eq!(stored, expected, "{}", session.source_session_id);
    }
    let first = all.iter().find(|s| s.source_session_id == "tx-0").unwrap();
    let values = t
        .store
        .session_metrics(std::slice::from_ref(&first.id))
        .await
        .unwrap();
    let get = |name: &str| values.iter().find(|m| m.name == name).map(|m| m.value);
    assert_eq!(get("memory_lookup_count"), Some(1.0));
    assert_eq!(get("error_rate"), Some(1.0));
    assert_eq!(get("duration_secs"), Some(100.0));
    assert_eq!(refresh(&t.store).await.unwrap().computed, 0);
}
