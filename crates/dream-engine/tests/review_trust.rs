//! Review you can trust, on the real Claude Code sessions: an approval never writes a
//! lesson twice, concurrent reviews apply a proposal once, a person's wording and
//! deletions stand, and compaction never deletes what a person wrote.

use std::collections::BTreeMap;
use std::sync::Arc;

use dream_engine::review::{approve, reject};
use dream_store::{MemoryWrite, OpenMode, SqliteStore, Store, StoreError};
use dream_types::{
    Actor, ChangeOp, ChangeStatus, DreamConfig, Flag, HeldBackReason, MemoryStore, Proposal,
    RandomIds,
};

use crate::common::{TempStore, live, me, put, temp_store};
use crate::dream_real::{agent_store, clock, dream, ingest, request, shared};

const LESSONS: &str = "/lessons/tool-errors.md";

/// Returns how often each dream marker occurs in the store's memories.
async fn marker_counts(store: &dyn Store, s: &MemoryStore) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (_, content) in live(store, s).await {
        for part in content.split("<!-- dream:pattern ").skip(1) {
            let key = part.split(' ').next().unwrap_or_default().to_owned();
            *counts.entry(key).or_default() += 1;
        }
    }
    counts
}

async fn claude_code() -> Option<TempStore> {
    let path = shared("claude-code")?;
    let t = temp_store().await;
    ingest(&t, &path).await;
    Some(t)
}

async fn lessons(t: &TempStore, s: &MemoryStore) -> String {
    t.store
        .find_memory(&s.id, LESSONS)
        .await
        .unwrap()
        .map(|m| m.content)
        .unwrap_or_default()
}

/// The note (one line) of `lessons` that carries the `git push` lesson.
fn git_push_note(lessons: &str) -> String {
    lessons
        .lines()
        .find(|l| l.contains("`git push`"))
        .expect("the git push lesson")
        .to_owned()
}

#[tokio::test]
async fn approving_an_older_proposal_after_a_newer_one_adds_no_lesson_twice() {
    let Some(t) = claude_code().await else { return };
    let s = agent_store(&t).await;
    let (_, first) = dream(&t, &request(&s)).await;
    let (_, second) = dream(&t, &request(&s)).await;
    assert!(first.changes.iter().any(|c| c.op == ChangeOp::Add));

    let newer = approve(&t.store, &second.id, None, &me(), &clock(), false)
        .await
        .unwrap();
    assert!(!newer.applied.is_empty());
    let older = approve(&t.store, &first.id, None, &me(), &clock(), false)
        .await
        .unwrap();
    assert!(older.applied.is_empty(), "{older:#?}");
    assert_eq!(older.stale.len(), first.changes.len());
    for (_, reason) in &older.stale {
        assert!(reason.contains("nothing added twice"), "{reason}");
    }
    let counts = marker_counts(&t.store, &s).await;
    assert!(!counts.is_empty());
    assert!(counts.values().all(|&n| n == 1), "{counts:#?}");
    // The review record says why.
    let reviews = t.store.change_reviews(&first.id).await.unwrap();
    assert!(reviews.iter().all(|r| r.status == ChangeStatus::Stale
        && r.reason.as_deref().is_some_and(|r| r.contains("already"))));
}

/// Opens another handle on the same database file, as another process would.
async fn another_handle(t: &TempStore) -> SqliteStore {
    SqliteStore::open_with(
        &t.dir.path().join("dream.db"),
        OpenMode::MustExist,
        Arc::new(clock()),
        Arc::new(RandomIds),
    )
    .await
    .unwrap()
}

async fn fresh_proposal(t: &TempStore, name: &str) -> (MemoryStore, Proposal) {
    let s = t
        .store
        .create_memory_store(dream_store::NewMemoryStore {
            name: name.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let (_, proposal) = dream(t, &request(&s)).await;
    (s, proposal)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_apply_a_proposal_exactly_once() {
    let Some(t) = claude_code().await else { return };
    let handles: Vec<Arc<SqliteStore>> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(Arc::new(another_handle(&t).await));
        }
        v
    };
    for trial in 0..6 {
        let (s, proposal) = fresh_proposal(&t, &format!("race-{trial}")).await;
        let tasks: Vec<_> = handles
            .iter()
            .map(|h| {
                let h = Arc::clone(h);
                let id = proposal.id.clone();
                tokio::spawn(async move { approve(&*h, &id, None, &me(), &clock(), false).await })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(report) if !report.applied.is_empty() => won += 1,
                Ok(report) => assert!(report.applied.is_empty() && report.versions.is_empty()),
                Err(dream_engine::EngineError::Store(StoreError::ReviewConflict {
                    status,
                    ..
                })) => assert_eq!(status, "applied"),
                Err(other) => panic!("trial {trial}: {other}"),
            }
        }
        assert_eq!(won, 1, "trial {trial}: exactly one approval applies");
        let counts = marker_counts(&t.store, &s).await;
        assert!(
            counts.values().all(|&n| n == 1),
            "trial {trial}: {counts:#?}"
        );
        let reviews = t.store.change_reviews(&proposal.id).await.unwrap();
        assert!(reviews.iter().all(|r| r.status == ChangeStatus::Applied));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_racing_a_rejection_leaves_memory_matching_the_review_record() {
    let Some(t) = claude_code().await else { return };
    let a = Arc::new(another_handle(&t).await);
    let b = Arc::new(another_handle(&t).await);
    for trial in 0..8 {
        let (s, proposal) = fresh_proposal(&t, &format!("race-{trial}")).await;
        let id = proposal.id.clone();
        let approver = {
            let (a, id) = (Arc::clone(&a), id.clone());
            tokio::spawn(async move { approve(&*a, &id, None, &me(), &clock(), false).await })
        };
        let rejecter = {
            let (b, id) = (Arc::clone(&b), id.clone());
            tokio::spawn(async move { reject(&*b, &id, None, "not now", &me(), &clock()).await })
        };
        let approved = approver.await.unwrap();
        let rejected = rejecter.await.unwrap();
        // The loser either fails naming the state it lost to, or (when it started after
        // the winner finished) finds nothing pending and does nothing.
        for loser in [&approved, &rejected] {
            match loser {
                Ok(_) => {}
                Err(dream_engine::EngineError::Store(StoreError::ReviewConflict { .. })) => {}
                Err(other) => panic!("trial {trial}: {other}"),
            }
        }
        let approval_won = approved.as_ref().is_ok_and(|r| !r.applied.is_empty());
        let rejection_won = rejected.as_ref().is_ok_and(|r| !r.rejected.is_empty());
        assert!(
            approval_won != rejection_won,
            "trial {trial}: exactly one wins: {approved:?} / {rejected:?}"
        );
        let reviews = t.store.change_reviews(&id).await.unwrap();
        let memory = live(&t.store, &s).await;
        if approval_won {
            assert!(reviews.iter().all(|r| r.status == ChangeStatus::Applied));
            assert!(!memory.is_empty());
        } else {
            assert!(reviews.iter().all(|r| r.status == ChangeStatus::Rejected));
            assert!(memory.is_empty(), "trial {trial}: rejected yet written");
        }
    }
}

#[tokio::test]
async fn a_persons_rewording_of_a_lesson_stands_and_only_changed_support_is_updated() {
    let Some(t) = claude_code().await else { return };
    let s = agent_store(&t).await;
    let (_, first) = dream(&t, &request(&s)).await;
    approve(&t.store, &first.id, None, &me(), &clock(), false)
        .await
        .unwrap();
    let content = lessons(&t, &s).await;
    let note = git_push_note(&content);
    let (_, tail) = note.split_once(" _Seen in").expect("support clause");
    let reworded =
        format!("- Push a new branch with `git push -u origin HEAD` first. _Seen in{tail}");
    put(&t.store, &s, LESSONS, &content.replace(&note, &reworded)).await;

    // Support unchanged: nothing to propose about this lesson.
    let (_, again) = dream(&t, &request(&s)).await;
    assert!(
        again
            .changes
            .iter()
            .all(|c| !c.before.contains("git push -u origin HEAD first")),
        "{:#?}",
        again.changes
    );

    // Support figures that no longer hold are updated, and nothing else.
    let understated = reworded.replacen("Seen in 4 sessions", "Seen in 2 sessions", 1);
    assert_ne!(understated, reworded, "{reworded}");
    put(&t.store, &s, LESSONS, &content.replace(&note, &understated)).await;
    let (_, third) = dream(&t, &request(&s)).await;
    let update = third
        .changes
        .iter()
        .find(|c| c.before == understated)
        .expect("a support update");
    assert_eq!(update.op, ChangeOp::Update);
    assert_eq!(update.after, reworded, "only the figures change");
    assert!(update.flags.contains(&Flag::PersonWritten));
}

#[tokio::test]
async fn a_lesson_a_person_deleted_is_not_proposed_again_without_new_sessions() {
    let Some(t) = claude_code().await else { return };
    for keep_text in [false, true] {
        let s = t
            .store
            .create_memory_store(dream_store::NewMemoryStore {
                name: format!("deleted-{keep_text}"),
                ..Default::default()
            })
            .await
            .unwrap();
        let (_, first) = dream(&t, &request(&s)).await;
        approve(&t.store, &first.id, None, &me(), &clock(), false)
            .await
            .unwrap();
        let content = lessons(&t, &s).await;
        let note = git_push_note(&content);
        let key = note
            .split("<!-- dream:pattern ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap()
            .to_owned();
        // Delete the note, or only its marker.
        let replacement = if keep_text {
            note.split(" <!--").next().unwrap().to_owned()
        } else {
            String::new()
        };
        let edited = content.replace(
            &format!("{note}\n"),
            &if keep_text {
                format!("{replacement}\n")
            } else {
                String::new()
            },
        );
        put(&t.store, &s, LESSONS, &edited).await;

        let (_, again) = dream(&t, &request(&s)).await;
        assert!(
            again
                .changes
                .iter()
                .all(|c| c.pattern_key.as_deref() != Some(key.as_str())),
            "keep_text {keep_text}: {:#?}",
            again.changes
        );
        let held = again
            .held_back
            .iter()
            .find(|h| h.pattern_key.as_deref() == Some(key.as_str()))
            .expect("listed as held back");
        assert_eq!(held.reason, HeldBackReason::PreviouslyDeleted);
        assert!(
            held.summary.contains("user_actor:user_me"),
            "{}",
            held.summary
        );
    }
}

/// Fifty distinct hand-written notes, about 5 KB.
fn hand_written_notes() -> String {
    const WORDS: &[&str] = &[
        "deploy",
        "staging",
        "invoice",
        "customer",
        "region",
        "backup",
        "rotate",
        "ledger",
        "schema",
        "retry",
        "quota",
        "billing",
        "replica",
        "index",
        "vacuum",
        "cache",
        "token",
        "webhook",
        "cron",
        "archive",
        "tenant",
        "export",
        "import",
        "audit",
        "latency",
        "budget",
        "pager",
        "runbook",
        "rollback",
        "canary",
        "feature",
        "flag",
        "migration",
        "snapshot",
        "storage",
        "bucket",
        "policy",
        "refund",
        "escalate",
        "triage",
        "onboard",
        "offboard",
        "license",
        "vendor",
        "contract",
        "renewal",
        "timezone",
        "holiday",
    ];
    let mut x: u64 = 42;
    let mut out = String::from("# Team notes\n\n");
    for i in 0..50 {
        let mut words = Vec::new();
        for _ in 0..12 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            words.push(WORDS[(x >> 33) as usize % WORDS.len()]);
        }
        out.push_str(&format!("- Note {i}: {}.\n", words.join(" ")));
    }
    out
}

#[tokio::test]
async fn compaction_never_deletes_a_persons_notes_and_archives_instead() {
    let Some(t) = claude_code().await else { return };
    let s = agent_store(&t).await;
    let notes = hand_written_notes();
    assert!(notes.len() > 4000, "{}", notes.len());
    put(&t.store, &s, "/notes.md", &notes).await;
    let mut req = request(&s);
    req.config = Some(DreamConfig {
        max_memory_bytes: Some(3000),
        min_support: 3,
        ..Default::default()
    });
    let (_, proposal) = dream(&t, &req).await;
    let compacted: Vec<_> = proposal
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Compact)
        .collect();
    assert!(!compacted.is_empty(), "the store is over budget");
    for change in &compacted {
        let touches_notes = change.edits.iter().any(|e| e.path == "/notes.md");
        if touches_notes {
            assert!(change.flags.contains(&Flag::NeedsHuman), "{change:#?}");
            assert!(change.flags.contains(&Flag::PersonWritten), "{change:#?}");
        }
        assert!(
            change
                .edits
                .iter()
                .any(|e| e.path.starts_with("/archive/") && !e.after.is_empty()),
            "moved to the archive, not deleted: {change:#?}"
        );
    }
    assert!(
        compacted.len() < 10,
        "a person's notes leave in one reviewable change per memory, not one each: {}",
        compacted.len()
    );

    // Auto mode holds the person's notes back.
    let held = approve(
        &t.store,
        &proposal.id,
        None,
        &Actor::Dream {
            dream_id: "drm_auto".into(),
        },
        &clock(),
        true,
    )
    .await
    .unwrap();
    assert!(!held.skipped.is_empty());
    let after = t
        .store
        .find_memory(&s.id, "/notes.md")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after.content, notes,
        "nothing of the person's was moved without a person"
    );

    // Approved by a person, every note still exists, in place or in the archive.
    approve(&t.store, &proposal.id, None, &me(), &clock(), false)
        .await
        .unwrap();
    let memory: String = live(&t.store, &s)
        .await
        .into_iter()
        .map(|(_, c)| c)
        .collect::<Vec<_>>()
        .join("\n");
    for line in notes.lines().filter(|l| l.starts_with("- Note")) {
        assert!(memory.contains(line), "lost: {line}");
    }
}

#[tokio::test]
async fn compaction_merges_related_dream_lessons_before_archiving_keeping_both_markers() {
    let t = temp_store().await;
    let one = t.dir.path().join("one.jsonl");
    let session = serde_json::json!({
        "id": "quiet-1", "agent": "coder", "user": "dana",
        "started_at": "2026-03-01T08:00:00Z",
        "messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}],
    });
    std::fs::write(&one, format!("{session}\n")).unwrap();
    ingest(&t, &one).await;
    let s = crate::common::memory_store(&t.store).await;
    let dream_actor = Actor::Dream {
        dream_id: "drm_old".into(),
    };
    let content = "# Lessons: tool errors\n\n\
        - **`mix format` fails** on unformatted files. Run `mix format` before committing. _Seen in 3 sessions._ <!-- dream:pattern tool_error:aaaa -->\n\
        - **`mix format --check-formatted` fails** on unformatted files. Run `mix format` before committing, then commit again. _Seen in 4 sessions._ <!-- dream:pattern tool_error:bbbb -->\n\
        - **`cargo test` fails** when the database is down. Start PostgreSQL first. _Seen in 5 sessions._ <!-- dream:pattern tool_error:cccc -->\n";
    t.store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: LESSONS.into(),
                content: content.into(),
            }],
            &dream_actor,
        )
        .await
        .unwrap();
    let mut req = request(&s);
    req.config = Some(DreamConfig {
        max_memory_bytes: Some(content.len() as u64 - 60),
        ..Default::default()
    });
    let (_, proposal) = dream(&t, &req).await;
    let compact: Vec<_> = proposal
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Compact)
        .collect();
    assert_eq!(compact.len(), 1, "{compact:#?}");
    let merge = compact[0];
    assert!(
        merge.justification.contains("related notes"),
        "{}",
        merge.justification
    );
    assert!(merge.after.contains("tool_error:aaaa") && merge.after.contains("tool_error:bbbb"));
    assert!(
        merge.after.contains("then commit again"),
        "the most specific wording is kept"
    );
    assert!(
        merge.flags.is_empty(),
        "a dream's own notes: {:?}",
        merge.flags
    );
}

#[tokio::test]
async fn notes_that_say_opposite_things_are_a_contradiction_for_a_person_never_a_merge() {
    let Some(t) = claude_code().await else { return };
    let s = agent_store(&t).await;
    put(
        &t.store,
        &s,
        "/notes/refunds.md",
        "# Refunds\n\n- Always CC the account manager on refund emails.\n- Never CC the account manager on refund emails.\n",
    )
    .await;
    let (_, proposal) = dream(&t, &request(&s)).await;
    assert!(
        proposal.changes.iter().all(|c| c.op != ChangeOp::Merge),
        "{:#?}",
        proposal.changes
    );
    let flagged = proposal
        .changes
        .iter()
        .find(|c| c.path == "/notes/refunds.md")
        .expect("a change for the contradiction");
    assert_eq!(flagged.op, ChangeOp::Delete);
    assert!(flagged.flags.contains(&Flag::NeedsHuman));
    assert!(
        flagged
            .justification
            .contains("Always CC the account manager")
    );
    assert!(
        flagged
            .justification
            .contains("Never CC the account manager")
    );
}
