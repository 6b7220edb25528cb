//! Diff and restore.

use dream_engine::memory::{DiffKind, diff_store, restore};
use dream_store::{MemoryWrite, Store, VersionFilter};

use crate::common::{live, me, memory_store, put, temp_store};

#[tokio::test]
async fn diff_shows_added_removed_modified_and_renamed_memories() {
    let t = temp_store().await;
    let s = memory_store(&t.store).await;
    put(&t.store, &s, "/facts.md", "- plan: team\n- region: eu\n").await; // v1
    put(&t.store, &s, "/old.md", "obsolete\n").await; // v2
    put(&t.store, &s, "/move-me.md", "stays the same\n").await; // v3
    put(
        &t.store,
        &s,
        "/facts.md",
        "- plan: enterprise\n- region: eu\n",
    )
    .await; // v4
    let old = t
        .store
        .find_memory(&s.id, "/old.md")
        .await
        .unwrap()
        .unwrap();
    let moving = t
        .store
        .find_memory(&s.id, "/move-me.md")
        .await
        .unwrap()
        .unwrap();
    t.store
        .write_memories(
            &s.id,
            &[
                MemoryWrite::Delete {
                    memory_id: old.id,
                    precondition: None,
                },
                MemoryWrite::Update {
                    memory_id: moving.id,
                    content: None,
                    path: Some("/moved.md".into()),
                    precondition: None,
                },
                MemoryWrite::Create {
                    path: "/lessons.md".into(),
                    content: "- run mix format\n".into(),
                },
            ],
            &me(),
        )
        .await
        .unwrap(); // v5..v7

    let diff = diff_store(&t.store, &s.id, 3, None).await.unwrap();
    assert_eq!((diff.from_version, diff.to_version), (3, 7));
    let kinds: Vec<_> = diff
        .entries
        .iter()
        .map(|e| (e.path().to_owned(), e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("/facts.md".to_owned(), DiffKind::Modified),
            ("/lessons.md".to_owned(), DiffKind::Added),
            ("/moved.md".to_owned(), DiffKind::Renamed),
            ("/old.md".to_owned(), DiffKind::Removed),
        ]
    );
    let text: String = diff.entries.iter().map(|e| e.unified.clone()).collect();
    insta::assert_snapshot!("diff_v3_to_now", text);
    assert!(
        diff.entries[2].unified.is_empty(),
        "a pure rename has no content diff"
    );
    assert!(
        diff_store(&t.store, &s.id, 7, Some(7))
            .await
            .unwrap()
            .entries
            .is_empty()
    );
}

#[tokio::test]
async fn restore_writes_new_versions_and_can_be_restored_away() {
    let t = temp_store().await;
    let s = memory_store(&t.store).await;
    put(&t.store, &s, "/a.md", "a1").await; // v1
    put(&t.store, &s, "/b.md", "b1").await; // v2
    let at_two = live(&t.store, &s).await;
    put(&t.store, &s, "/a.md", "a2").await; // v3
    let b = t.store.find_memory(&s.id, "/b.md").await.unwrap().unwrap();
    t.store
        .write_memories(
            &s.id,
            &[MemoryWrite::Delete {
                memory_id: b.id.clone(),
                precondition: None,
            }],
            &me(),
        )
        .await
        .unwrap(); // v4
    put(&t.store, &s, "/c.md", "c1").await; // v5
    let at_five = live(&t.store, &s).await;
    let history_before = t
        .store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap();

    let report = restore(&t.store, &s.id, 2, &me()).await.unwrap();
    assert_eq!(
        (
            report.from_version,
            report.new_version,
            report.target_version
        ),
        (5, 8, 2)
    );
    assert_eq!(live(&t.store, &s).await, at_two);
    // The deleted memory came back under its old id.
    assert_eq!(
        t.store
            .find_memory(&s.id, "/b.md")
            .await
            .unwrap()
            .unwrap()
            .id,
        b.id
    );
    let history_after = t
        .store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap();
    assert_eq!(
        &history_after[3..],
        &history_before[..],
        "history is never rewritten"
    );

    let back = restore(&t.store, &s.id, 5, &me()).await.unwrap();
    assert_eq!(
        live(&t.store, &s).await,
        at_five,
        "a restore can itself be restored away"
    );
    assert_eq!(back.versions.len(), 3);

    let none = restore(&t.store, &s.id, 5, &me()).await.unwrap();
    assert!(none.versions.is_empty());
    assert_eq!(none.new_version, none.from_version);
}

#[tokio::test]
async fn restore_swaps_paths_through_a_temporary_path() {
    let t = temp_store().await;
    let s = memory_store(&t.store).await;
    put(&t.store, &s, "/x.md", "first").await;
    put(&t.store, &s, "/y.md", "second").await;
    let before = live(&t.store, &s).await;
    let x = t.store.find_memory(&s.id, "/x.md").await.unwrap().unwrap();
    let y = t.store.find_memory(&s.id, "/y.md").await.unwrap().unwrap();
    t.store
        .write_memories(
            &s.id,
            &[
                MemoryWrite::Update {
                    memory_id: x.id.clone(),
                    content: None,
                    path: Some("/tmp.md".into()),
                    precondition: None,
                },
                MemoryWrite::Update {
                    memory_id: y.id.clone(),
                    content: None,
                    path: Some("/x.md".into()),
                    precondition: None,
                },
                MemoryWrite::Update {
                    memory_id: x.id.clone(),
                    content: None,
                    path: Some("/y.md".into()),
                    precondition: None,
                },
            ],
            &me(),
        )
        .await
        .unwrap();
    restore(&t.store, &s.id, 2, &me()).await.unwrap();
    assert_eq!(live(&t.store, &s).await, before);
    assert_eq!(
        t.store
            .find_memory(&s.id, "/x.md")
            .await
            .unwrap()
            .unwrap()
            .id,
        x.id
    );
}

#[tokio::test]
async fn restore_leaves_redacted_states_alone_and_says_so() {
    let t = temp_store().await;
    let s = memory_store(&t.store).await;
    put(&t.store, &s, "/secret.md", "password=hunter2").await; // v1
    put(&t.store, &s, "/secret.md", "password in the vault").await; // v2
    let first = t
        .store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap()
        .pop()
        .unwrap();
    t.store
        .redact_memory_version(&s.id, &first.id, &me())
        .await
        .unwrap();
    let report = restore(&t.store, &s.id, 1, &me()).await.unwrap();
    assert_eq!(report.skipped_redacted, [first.memory_id]);
    assert!(report.versions.is_empty());
    assert_eq!(
        live(&t.store, &s).await,
        [("/secret.md".to_owned(), "password in the vault".to_owned())]
    );
}

#[tokio::test]
async fn restoring_an_archived_store_fails_and_writes_nothing() {
    let t = temp_store().await;
    let s = memory_store(&t.store).await;
    put(&t.store, &s, "/a.md", "1").await;
    put(&t.store, &s, "/a.md", "2").await;
    t.store.archive_memory_store(&s.id).await.unwrap();
    let err = restore(&t.store, &s.id, 1, &me()).await.unwrap_err();
    assert_eq!(err.code(), "store_archived");
    assert_eq!(
        t.store.get_memory_store(&s.id).await.unwrap().store_version,
        2
    );
}
