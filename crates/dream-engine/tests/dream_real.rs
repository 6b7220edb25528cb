//! The dream engine on the real transcripts in `../shared/data`.

use std::collections::BTreeSet;

use dream_engine::dream::{DreamRequest, DreamRun, Quiet, run_dream};
use dream_engine::review::{approve, reject};
use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress};
use dream_store::{NewMemoryStore, Store};
use dream_types::{
    ChangeOp, DreamMode, FixedClock, HeldBackReason, MemoryStore, OutputBehavior, Proposal,
    SessionWindow, Timestamp,
};

use crate::common::{TempStore, me, temp_store};

pub fn shared(rel: &str) -> Option<std::path::PathBuf> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(rel);
    if path.exists() {
        Some(path)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{} is absent under CI=true: CI always has ../shared",
            path.display()
        );
        eprintln!(
            "skipped: {} is absent (CI always has ../shared)",
            path.display()
        );
        None
    }
}

pub fn clock() -> FixedClock {
    FixedClock::new(Timestamp::parse("2026-03-01T09:00:00Z").unwrap())
}

pub async fn ingest(t: &TempStore, path: &std::path::Path) {
    let report = Ingestor::new(&t.store, IngestOptions::default(), &NoProgress)
        .ingest(&[InputPath::Path(path.to_owned())])
        .await
        .unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
}

pub async fn agent_store(t: &TempStore) -> MemoryStore {
    t.store
        .create_memory_store(NewMemoryStore {
            name: "agent".into(),
            ..Default::default()
        })
        .await
        .unwrap()
}

pub fn request(store: &MemoryStore) -> DreamRequest {
    DreamRequest {
        memory_store_id: store.id.clone(),
        window: SessionWindow::All,
        min_new_sessions: None,
        engine: "local".into(),
        instructions: None,
        output_behavior: OutputBehavior::UpdateExisting,
        mode: DreamMode::Review,
        config: None,
        min_support: Some(3),
        filters: dream_types::WindowFilters::default(),
        supersede_pending: false,
    }
}

pub async fn dream(t: &TempStore, request: &DreamRequest) -> (dream_types::Dream, Proposal) {
    match run_dream(&t.store, request, &clock(), &Quiet)
        .await
        .unwrap()
    {
        DreamRun::Ran {
            dream, proposal, ..
        } => (*dream, *proposal.unwrap()),
        other => panic!("{other:?}"),
    }
}

fn sources(t: &[dream_types::Evidence]) -> BTreeSet<String> {
    t.iter().map(|e| e.source_session_id.clone()).collect()
}

#[tokio::test]
async fn claude_code_recurring_mistakes_become_lessons_citing_their_sessions() {
    let Some(path) = shared("claude-code") else {
        return;
    };
    let t = temp_store().await;
    ingest(&t, &path).await;
    let s = agent_store(&t).await;
    let (dream, proposal) = dream(&t, &request(&s)).await;
    assert_eq!(
        dream.counts.sessions_read, 5,
        "subagent sessions are read with their parents"
    );

    let lesson = |needle: &str| {
        let found: Vec<_> = proposal
            .changes
            .iter()
            .filter(|c| c.after.contains(needle))
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one lesson mentions {needle:?}: {:#?}",
            proposal
                .changes
                .iter()
                .map(|c| &c.after)
                .collect::<Vec<_>>()
        );
        found[0].clone()
    };
    let push = lesson("has no upstream branch");
    assert_eq!(push.op, ChangeOp::Add);
    assert_eq!(push.path, "/lessons/tool-errors.md");
    assert_eq!(push.support.sessions, 4);
    assert_eq!(
        sources(&push.evidence),
        BTreeSet::from([
            "258c7280-ae70-4798-800f-63464d01a85d".to_owned(),
            "4d5611e5-241a-462a-8d15-5122611a9569".into(),
            "8463c716-a2ea-4c14-9efa-87158ebd9f20".into(),
            "fa812bfe-b295-4cca-9c2f-fdf01028cb46".into(),
        ])
    );
    assert!(push.after.contains("`git push` fails"), "{}", push.after);
    assert!(
        push.after.contains("--set-upstream origin <branch>"),
        "the fix is in the lesson: {}",
        push.after
    );

    let format = lesson("[FORMAT] Code is not formatted");
    assert_eq!(format.support.sessions, 3);
    assert_eq!(
        sources(&format.evidence),
        BTreeSet::from([
            "4d5611e5-241a-462a-8d15-5122611a9569".to_owned(),
            "ae4a77f8-aedd-4bc1-888f-c94edc91af04".into(),
            "fa812bfe-b295-4cca-9c2f-fdf01028cb46".into(),
        ])
    );
    assert!(
        format.after.contains("run `mix format` first"),
        "{}",
        format.after
    );

    let ignored = lesson("priv/static/assets");
    assert_eq!(ignored.support.sessions, 3);
    assert!(ignored.after.contains("`git add"), "{}", ignored.after);
    assert_eq!(
        sources(&ignored.evidence),
        BTreeSet::from([
            "4d5611e5-241a-462a-8d15-5122611a9569".to_owned(),
            "8463c716-a2ea-4c14-9efa-87158ebd9f20".into(),
            "fa812bfe-b295-4cca-9c2f-fdf01028cb46".into(),
        ])
    );

    // Every change rests on at least min_support sessions; the rest is held back.
    for change in &proposal.changes {
        assert!(change.support.sessions >= 3, "{change:?}");
    }
    let held: Vec<_> = proposal
        .held_back
        .iter()
        .filter(|h| h.reason == HeldBackReason::BelowMinSupport)
        .collect();
    // [CREDO] and [DIALYZER] fail in the same pre-commit hook as [FORMAT]: one step,
    // one pattern (its checks are counted in signals_real), nothing held back apart.
    assert!(
        !held
            .iter()
            .any(|h| h.summary.contains("[CREDO]") || h.summary.contains("[DIALYZER]")),
        "{held:#?}"
    );
    assert!(held.iter().all(|h| h.support.sessions < 3));
}

#[tokio::test]
async fn tau_bench_errors_are_one_pattern_each_with_outcome_association_and_distinct_users() {
    let Some(path) = shared("tau-bench") else {
        return;
    };
    let t = temp_store().await;
    ingest(&t, &path).await;
    let s = agent_store(&t).await;
    let (dream, proposal) = dream(&t, &request(&s)).await;
    assert_eq!(dream.counts.sessions_read, 200);
    let lesson = |needle: &str| {
        let found: Vec<_> = proposal
            .changes
            .iter()
            .filter(|c| c.after.contains(needle))
            .collect();
        assert_eq!(found.len(), 1, "exactly one pattern for {needle:?}");
        found[0].clone()
    };
    let outcome = |c: &dream_types::Change| c.stats["outcome"].clone();

    let payment = lesson("payment amount does not add up");
    assert_eq!(
        (payment.support.sessions, payment.support.users),
        (13, 5),
        "4 trials of one user are one user"
    );
    let o = outcome(&payment);
    assert_eq!(
        (o["with_failed"].as_u64(), o["with_sessions"].as_u64()),
        (Some(12), Some(13))
    );
    assert_eq!(
        (o["without_failed"].as_u64(), o["without_sessions"].as_u64()),
        (Some(104), Some(187))
    );
    assert!((o["p_value"].as_f64().unwrap() - 0.008_722).abs() < 1e-5);
    assert_eq!(o["significant"], true);
    assert!(
        payment.after.contains("failed more often: 12 of 13"),
        "{}",
        payment.after
    );

    let gift = lesson("gift card balance is not enough");
    assert_eq!((gift.support.sessions, gift.support.users), (6, 2));
    assert_eq!(outcome(&gift)["with_failed"], 6);

    let unavailable = lesson("not available on date");
    assert_eq!(
        (unavailable.support.sessions, unavailable.support.users),
        (5, 2)
    );
    assert_eq!(outcome(&unavailable)["significant"], false);
    assert!(
        !unavailable.after.contains("failed more often"),
        "no claim without significance"
    );

    let seats = lesson("not enough seats on flight");
    assert_eq!((seats.support.sessions, seats.support.users), (8, 4));
    // The claim the significance gate held back is listed with its numbers.
    assert!(
        proposal
            .held_back
            .iter()
            .any(|h| h.reason == HeldBackReason::NotSignificant
                && h.summary.contains("not enough seats")
                && h.stats["outcome"]["with_sessions"] == 8)
    );
}

#[tokio::test]
async fn approving_then_dreaming_again_proposes_nothing_new() {
    let Some(path) = shared("claude-code") else {
        return;
    };
    let t = temp_store().await;
    ingest(&t, &path).await;
    let s = agent_store(&t).await;
    let (_, proposal) = dream(&t, &request(&s)).await;
    assert!(!proposal.changes.is_empty());
    let report = approve(&t.store, &proposal.id, None, &me(), &clock(), false)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), proposal.changes.len());
    let lessons = t
        .store
        .find_memory(&s.id, "/lessons/tool-errors.md")
        .await
        .unwrap()
        .unwrap();
    assert!(
        lessons
            .content
            .starts_with("# Lessons: tool errors\n\n- **`git push` fails"),
        "{}",
        lessons.content
    );

    let (again, second) = dream(&t, &request(&s)).await;
    assert!(second.changes.is_empty(), "{:#?}", second.changes);
    assert_eq!(
        again.counts.sessions_cached, 5,
        "signals come from the cache"
    );
}

#[tokio::test]
async fn a_rejected_change_suppresses_its_look_alike_in_later_dreams() {
    let Some(path) = shared("claude-code") else {
        return;
    };
    let t = temp_store().await;
    let dir = t.dir.path().join("projects");
    std::fs::create_dir_all(&dir).unwrap();
    // The first four sessions now, the fifth later.
    let mut names: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in &names {
        let name = name.to_string_lossy();
        if name.starts_with("fa812bfe") || name == "LICENSE" || name == "SOURCE" {
            continue;
        }
        copy(&path.join(&*name), &dir.join(&*name));
    }
    ingest(&t, &dir).await;
    let s = agent_store(&t).await;
    let (_, first) = dream(&t, &request(&s)).await;
    let push = first
        .changes
        .iter()
        .find(|c| c.after.contains("has no upstream branch"))
        .unwrap()
        .clone();
    assert_eq!(push.support.sessions, 3);
    reject(
        &t.store,
        &first.id,
        Some(std::slice::from_ref(&push.id)),
        "we push with an alias that sets upstream",
        &me(),
        &clock(),
    )
    .await
    .unwrap();

    for name in &names {
        let name = name.to_string_lossy();
        if name.starts_with("fa812bfe") {
            copy(&path.join(&*name), &dir.join(&*name));
        }
    }
    ingest(&t, &dir).await;
    let (_, second) = dream(&t, &request(&s)).await;
    assert!(
        !second
            .changes
            .iter()
            .any(|c| c.after.contains("has no upstream branch"))
    );
    let suppressed = second
        .held_back
        .iter()
        .find(|h| h.reason == HeldBackReason::SuppressedByRejection)
        .expect("the look-alike is listed");
    assert_eq!(suppressed.support.sessions, 4, "the new session counts");
    assert_eq!(
        suppressed.stats["rejection_reason"],
        "we push with an alias that sets upstream"
    );
    assert!(
        suppressed
            .summary
            .contains("we push with an alias that sets upstream")
    );
}

fn copy(from: &std::path::Path, to: &std::path::Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}
