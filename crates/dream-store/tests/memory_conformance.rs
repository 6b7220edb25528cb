//! Conformance tests for memory stores, memories and memory versions; instantiated for
//! every backend by `store_conformance_suite!`.

use std::collections::BTreeMap;

use dream_store::{
    MemoryStorePatch, MemoryWrite, NewMemoryStore, Store, StoreError, VersionFilter,
};
use dream_types::{
    Actor, MemoryId, MemoryOperation, MemoryStore, MemoryVersion, Timestamp, content_sha256,
};

pub fn user() -> Actor {
    Actor::User {
        user_id: "user_ana".into(),
    }
}

pub fn dream() -> Actor {
    Actor::Dream {
        dream_id: "drm_1".into(),
    }
}

pub async fn new_store(store: &dyn Store) -> MemoryStore {
    store
        .create_memory_store(NewMemoryStore {
            name: "support".into(),
            description: "what the support agent knows".into(),
            metadata: BTreeMap::from([("team".into(), "billing".into())]),
            protected_paths: vec!["/policies/".into()],
            derived_from: None,
        })
        .await
        .unwrap()
}

pub async fn create(
    store: &dyn Store,
    s: &MemoryStore,
    path: &str,
    content: &str,
) -> MemoryVersion {
    let mut versions = store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: path.into(),
                content: content.into(),
            }],
            &user(),
        )
        .await
        .unwrap();
    versions.remove(0)
}

fn update(
    id: &MemoryId,
    content: Option<&str>,
    path: Option<&str>,
    precondition: Option<String>,
) -> MemoryWrite {
    MemoryWrite::Update {
        memory_id: id.clone(),
        content: content.map(str::to_owned),
        path: path.map(str::to_owned),
        precondition,
    }
}

pub async fn stores_are_created_validated_updated_and_listed(store: &dyn Store) {
    let s = new_store(store).await;
    assert!(s.id.as_str().starts_with("memstore_"));
    assert_eq!((s.store_version, s.archived_at), (0, None));
    assert_eq!(s.protected_paths, ["/policies/"]);

    let err = store
        .create_memory_store(NewMemoryStore {
            name: String::new(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        (
            "invalid_name",
            "store name must be 1 to 255 characters, got 0"
        )
    );
    let err = store
        .create_memory_store(NewMemoryStore {
            name: "x".into(),
            protected_paths: vec!["policies".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_path");

    let patched = store
        .update_memory_store(
            &s.id,
            MemoryStorePatch {
                name: Some("support-eu".into()),
                metadata: Some(BTreeMap::from([
                    ("team".into(), None),
                    ("region".into(), Some("eu".into())),
                ])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.name, "support-eu");
    assert_eq!(
        patched.description, "what the support agent knows",
        "unnamed fields keep their values"
    );
    assert_eq!(
        patched.metadata,
        BTreeMap::from([("region".into(), "eu".into())])
    );
    let too_many: BTreeMap<String, Option<String>> = (0..16)
        .map(|i| (format!("k{i}"), Some("v".into())))
        .collect();
    let err = store
        .update_memory_store(
            &s.id,
            MemoryStorePatch {
                metadata: Some(too_many),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "metadata has 17 pairs; the limit is 16");

    let other = store
        .create_memory_store(NewMemoryStore {
            name: "b".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ids: Vec<_> = store
        .list_memory_stores(false)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, [s.id.clone(), other.id.clone()]);
    store.delete_memory_store(&other.id).await.unwrap();
    assert!(matches!(
        store.get_memory_store(&other.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn every_change_is_a_version_that_advances_the_store_version(store: &dyn Store) {
    let s = new_store(store).await;
    let created = create(store, &s, "/notes/todo.md", "- buy milk").await;
    assert_eq!(
        (created.operation, created.store_version),
        (MemoryOperation::Created, 1)
    );
    assert_eq!(
        created.content_sha256.as_deref(),
        Some(content_sha256("- buy milk").as_str())
    );
    let id = created.memory_id.clone();

    let modified = store
        .write_memories(
            &s.id,
            &[update(&id, Some("- buy oat milk"), None, None)],
            &user(),
        )
        .await
        .unwrap();
    assert_eq!(
        (modified[0].operation, modified[0].store_version),
        (MemoryOperation::Modified, 2)
    );
    let renamed = store
        .write_memories(
            &s.id,
            &[update(&id, None, Some("/notes/shopping.md"), None)],
            &user(),
        )
        .await
        .unwrap();
    assert_eq!(renamed[0].path.as_deref(), Some("/notes/shopping.md"));
    assert_eq!(renamed[0].content.as_deref(), Some("- buy oat milk"));

    let memory = store.get_memory(&s.id, &id).await.unwrap();
    assert_eq!(
        (memory.path.as_str(), memory.content.as_str()),
        ("/notes/shopping.md", "- buy oat milk")
    );
    assert_eq!(memory.memory_version_id, renamed[0].id);
    assert_eq!(memory.content_size_bytes, 14);
    assert!(
        store
            .find_memory(&s.id, "/notes/todo.md")
            .await
            .unwrap()
            .is_none()
    );

    // A change that changes nothing writes nothing.
    let none = store
        .write_memories(
            &s.id,
            &[update(&id, Some("- buy oat milk"), None, None)],
            &user(),
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    let deleted = store
        .write_memories(
            &s.id,
            &[MemoryWrite::Delete {
                memory_id: id.clone(),
                precondition: None,
            }],
            &user(),
        )
        .await
        .unwrap();
    assert_eq!(
        (deleted[0].operation, deleted[0].store_version),
        (MemoryOperation::Deleted, 4)
    );
    assert_eq!(deleted[0].path.as_deref(), Some("/notes/shopping.md"));
    assert_eq!(deleted[0].content, None);
    assert!(matches!(
        store.get_memory(&s.id, &id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        store.get_memory_store(&s.id).await.unwrap().store_version,
        4
    );

    let log = store
        .list_memory_versions(
            &s.id,
            &VersionFilter {
                memory_id: Some(id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        log.iter().map(|v| v.store_version).collect::<Vec<_>>(),
        [4, 3, 2, 1],
        "newest first"
    );
}

pub async fn a_rejected_write_leaves_no_version(store: &dyn Store) {
    let s = new_store(store).await;
    let a = create(store, &s, "/a.md", "a").await;
    let before = store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap();

    let cases: Vec<(Vec<MemoryWrite>, &str)> = vec![
        (
            vec![MemoryWrite::Create {
                path: "/a.md".into(),
                content: "again".into(),
            }],
            "path_conflict",
        ),
        (
            vec![MemoryWrite::Create {
                path: "b.md".into(),
                content: "b".into(),
            }],
            "invalid_path",
        ),
        (
            vec![MemoryWrite::Create {
                path: "/big.md".into(),
                content: "x".repeat(102_401),
            }],
            "content_too_large",
        ),
        (
            vec![update(
                &a.memory_id,
                Some("x"),
                None,
                Some(content_sha256("stale")),
            )],
            "memory_precondition_failed_error",
        ),
        (
            vec![update(&a.memory_id, None, Some("/a/../b.md"), None)],
            "invalid_path",
        ),
        // A batch is all or nothing: the first write is valid, the second is not.
        (
            vec![
                MemoryWrite::Create {
                    path: "/c.md".into(),
                    content: "c".into(),
                },
                MemoryWrite::Create {
                    path: "/c.md".into(),
                    content: "c again".into(),
                },
            ],
            "path_conflict",
        ),
    ];
    for (writes, code) in cases {
        let err = store
            .write_memories(&s.id, &writes, &user())
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{err}");
    }
    let after = store
        .list_memory_versions(&s.id, &VersionFilter::default())
        .await
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(
        store.get_memory_store(&s.id).await.unwrap().store_version,
        1
    );
    assert!(store.find_memory(&s.id, "/c.md").await.unwrap().is_none());

    let conflict = store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: "/a.md".into(),
                content: "x".into(),
            }],
            &user(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        conflict.to_string(),
        format!(
            "a memory already exists at /a.md ({}); update that memory or choose another path",
            a.memory_id
        )
    );
    let stale = store
        .write_memories(
            &s.id,
            &[update(&a.memory_id, Some("x"), None, Some("0".repeat(64)))],
            &user(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        stale.to_string(),
        format!(
            "memory {} (/a.md) has content_sha256 {}, not the expected {}: it changed since you read it; read it again and retry",
            a.memory_id,
            content_sha256("a"),
            "0".repeat(64)
        )
    );
}

pub async fn renames_cannot_take_a_used_path(store: &dyn Store) {
    let s = new_store(store).await;
    let a = create(store, &s, "/a.md", "a").await;
    create(store, &s, "/b.md", "b").await;
    let err = store
        .write_memories(
            &s.id,
            &[update(&a.memory_id, None, Some("/b.md"), None)],
            &user(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::PathConflict { ref path, .. } if path == "/b.md"));
    // Swapping two paths in one batch works through a free path.
    let b = store.find_memory(&s.id, "/b.md").await.unwrap().unwrap();
    store
        .write_memories(
            &s.id,
            &[
                update(&a.memory_id, None, Some("/tmp.md"), None),
                update(&b.id, None, Some("/a.md"), None),
                update(&a.memory_id, None, Some("/b.md"), None),
            ],
            &user(),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .find_memory(&s.id, "/a.md")
            .await
            .unwrap()
            .unwrap()
            .content,
        "b"
    );
    assert_eq!(
        store
            .find_memory(&s.id, "/b.md")
            .await
            .unwrap()
            .unwrap()
            .content,
        "a"
    );
}

pub async fn listing_filters_by_whole_segment_prefixes(store: &dyn Store) {
    let s = new_store(store).await;
    for path in [
        "/notes/a.md",
        "/notes/deep/b.md",
        "/notes-archive/c.md",
        "/50%_off.md",
        "/5xx_off.md",
    ] {
        create(store, &s, path, "x").await;
    }
    let paths = |ms: Vec<dream_types::Memory>| ms.into_iter().map(|m| m.path).collect::<Vec<_>>();
    assert_eq!(
        paths(store.list_memories(&s.id, Some("/notes/")).await.unwrap()),
        ["/notes/a.md", "/notes/deep/b.md"]
    );
    assert_eq!(store.list_memories(&s.id, None).await.unwrap().len(), 5);
    // `%` and `_` are not wildcards.
    let all = paths(store.list_memories(&s.id, Some("/")).await.unwrap());
    assert_eq!(
        all,
        [
            "/50%_off.md",
            "/5xx_off.md",
            "/notes-archive/c.md",
            "/notes/a.md",
            "/notes/deep/b.md"
        ]
    );
    let rolled = dream_types::roll_up(store.list_memories(&s.id, Some("/")).await.unwrap(), "/", 1);
    let kinds: Vec<String> = rolled
        .iter()
        .map(|i| match i {
            dream_types::MemoryListItem::Memory(m) => m.path.clone(),
            dream_types::MemoryListItem::MemoryPrefix { path } => format!("{path} (prefix)"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "/50%_off.md",
            "/5xx_off.md",
            "/notes-archive/ (prefix)",
            "/notes/ (prefix)"
        ]
    );
}

pub async fn archived_stores_are_read_only_but_allow_deletes_and_redactions(store: &dyn Store) {
    let s = new_store(store).await;
    let a = create(store, &s, "/a.md", "v1").await;
    store
        .write_memories(
            &s.id,
            &[update(&a.memory_id, Some("v2"), None, None)],
            &user(),
        )
        .await
        .unwrap();
    let archived = store.archive_memory_store(&s.id).await.unwrap();
    assert!(archived.archived_at.is_some());
    assert_eq!(
        store.archive_memory_store(&s.id).await.unwrap().archived_at,
        archived.archived_at,
        "one-way, idempotent"
    );
    assert!(store.list_memory_stores(false).await.unwrap().is_empty());
    assert_eq!(store.list_memory_stores(true).await.unwrap().len(), 1);

    let err = store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: "/b.md".into(),
                content: "b".into(),
            }],
            &user(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_archived");
    assert_eq!(
        err.to_string(),
        format!(
            "memory store {} is archived and read-only; reads, deletes and redactions still work",
            s.id
        )
    );
    let err = store
        .update_memory_store(
            &s.id,
            MemoryStorePatch {
                name: Some("x".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "store_archived");
    assert_eq!(
        store.get_memory(&s.id, &a.memory_id).await.unwrap().content,
        "v2"
    );
    store
        .redact_memory_version(&s.id, &a.id, &user())
        .await
        .unwrap();
    store
        .write_memories(
            &s.id,
            &[MemoryWrite::Delete {
                memory_id: a.memory_id.clone(),
                precondition: None,
            }],
            &user(),
        )
        .await
        .unwrap();
}

pub async fn dreams_cannot_touch_protected_paths_but_people_can(store: &dyn Store) {
    let s = new_store(store).await;
    let err = store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: "/policies/refunds.md".into(),
                content: "x".into(),
            }],
            &dream(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "protected_path");
    assert_eq!(
        err.to_string(),
        "/policies/refunds.md is under the protected path /policies/: dreams may not change it, only people can"
    );
    let v = create(store, &s, "/policies/refunds.md", "refund within 30 days").await;
    for write in [
        update(&v.memory_id, Some("changed"), None, None),
        update(&v.memory_id, None, Some("/lessons/refunds.md"), None),
        MemoryWrite::Delete {
            memory_id: v.memory_id.clone(),
            precondition: None,
        },
    ] {
        let err = store
            .write_memories(&s.id, &[write], &dream())
            .await
            .unwrap_err();
        assert_eq!(err.code(), "protected_path");
    }
    let moved_in = create(store, &s, "/lessons/x.md", "x").await;
    let err = store
        .write_memories(
            &s.id,
            &[update(
                &moved_in.memory_id,
                None,
                Some("/policies/x.md"),
                None,
            )],
            &dream(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "protected_path",
        "a dream may not move a memory into a protected path either"
    );
    store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: "/lessons/y.md".into(),
                content: "y".into(),
            }],
            &dream(),
        )
        .await
        .unwrap();
}

pub async fn the_log_filters_by_memory_actor_operation_and_time(store: &dyn Store) {
    let s = new_store(store).await;
    let a = create(store, &s, "/a.md", "a").await;
    store
        .write_memories(
            &s.id,
            &[MemoryWrite::Create {
                path: "/b.md".into(),
                content: "b".into(),
            }],
            &dream(),
        )
        .await
        .unwrap();
    store
        .write_memories(
            &s.id,
            &[update(&a.memory_id, Some("a2"), None, None)],
            &dream(),
        )
        .await
        .unwrap();
    let sid = &s.id;
    let log = |filter: VersionFilter| async move {
        store
            .list_memory_versions(sid, &filter)
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.store_version)
            .collect::<Vec<_>>()
    };
    assert_eq!(log(VersionFilter::default()).await, [3, 2, 1]);
    assert_eq!(
        log(VersionFilter {
            actor_type: Some("dream_actor".into()),
            ..Default::default()
        })
        .await,
        [3, 2]
    );
    assert_eq!(
        log(VersionFilter {
            actor_id: Some("user_ana".into()),
            ..Default::default()
        })
        .await,
        [1]
    );
    assert_eq!(
        log(VersionFilter {
            memory_id: Some(a.memory_id.clone()),
            ..Default::default()
        })
        .await,
        [3, 1]
    );
    assert_eq!(
        log(VersionFilter {
            operation: Some(MemoryOperation::Modified),
            ..Default::default()
        })
        .await,
        [3]
    );
    assert_eq!(
        log(VersionFilter {
            limit: Some(2),
            ..Default::default()
        })
        .await,
        [3, 2]
    );
    assert_eq!(
        log(VersionFilter {
            before_store_version: Some(3),
            ..Default::default()
        })
        .await,
        [2, 1]
    );
    let later = Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    assert!(
        log(VersionFilter {
            since: Some(later),
            ..Default::default()
        })
        .await
        .is_empty()
    );
    assert_eq!(
        log(VersionFilter {
            until: Some(later),
            ..Default::default()
        })
        .await
        .len(),
        3
    );
}

pub async fn redaction_wipes_one_version_and_keeps_the_record(store: &dyn Store) {
    let s = new_store(store).await;
    let secret = create(store, &s, "/keys.md", "token sk-live-123").await;
    let err = store
        .redact_memory_version(&s.id, &secret.id, &user())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::RedactCurrent { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("change or delete the memory first")
    );
    store
        .write_memories(
            &s.id,
            &[update(
                &secret.memory_id,
                Some("token: see vault"),
                None,
                None,
            )],
            &user(),
        )
        .await
        .unwrap();

    let redacted = store
        .redact_memory_version(&s.id, &secret.id, &user())
        .await
        .unwrap();
    assert_eq!(
        (redacted.content.as_deref(), redacted.path.as_deref()),
        (None, None)
    );
    assert_eq!(
        (
            redacted.content_sha256.as_deref(),
            redacted.content_size_bytes
        ),
        (None, None)
    );
    assert!(redacted.redacted_at.is_some());
    assert_eq!(redacted.redacted_by, Some(user()));
    assert_eq!(redacted.created_by, user(), "the author stays");
    assert_eq!(
        (redacted.operation, redacted.store_version),
        (MemoryOperation::Created, 1)
    );
    assert_eq!(
        store
            .redact_memory_version(&s.id, &secret.id, &user())
            .await
            .unwrap(),
        redacted
    );

    let at_one = store.memories_at(&s.id, 1).await.unwrap();
    assert_eq!(at_one.len(), 1);
    assert!(at_one[0].is_redacted());
    assert_eq!(
        store.memories_at(&s.id, 2).await.unwrap()[0]
            .content
            .as_deref(),
        Some("token: see vault")
    );
}

pub async fn the_store_reads_as_of_any_store_version(store: &dyn Store) {
    let s = new_store(store).await;
    assert!(store.memories_at(&s.id, 0).await.unwrap().is_empty());
    let a = create(store, &s, "/a.md", "a1").await;
    create(store, &s, "/b.md", "b1").await;
    store
        .write_memories(
            &s.id,
            &[update(&a.memory_id, Some("a2"), Some("/z.md"), None)],
            &user(),
        )
        .await
        .unwrap();
    store
        .write_memories(
            &s.id,
            &[MemoryWrite::Delete {
                memory_id: a.memory_id.clone(),
                precondition: None,
            }],
            &user(),
        )
        .await
        .unwrap();
    let sid = &s.id;
    let at = |v: u64| async move {
        store
            .memories_at(sid, v)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.path.unwrap(), m.content.unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(at(1).await, [("/a.md".into(), "a1".into())]);
    assert_eq!(
        at(2).await,
        [
            ("/a.md".to_owned(), "a1".to_owned()),
            ("/b.md".into(), "b1".into())
        ]
    );
    assert_eq!(
        at(3).await,
        [
            ("/b.md".to_owned(), "b1".to_owned()),
            ("/z.md".into(), "a2".into())
        ]
    );
    assert_eq!(at(4).await, [("/b.md".to_owned(), "b1".to_owned())]);
    let err = store.memories_at(&s.id, 5).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("store version 5 does not exist; {} is at version 4", s.id)
    );
}

pub async fn concurrent_writers_with_one_precondition_exactly_one_wins(store: &dyn Store) {
    let s = new_store(store).await;
    let a = create(store, &s, "/a.md", "base").await;
    let seen = content_sha256("base");
    let first = [update(
        &a.memory_id,
        Some("from writer 1"),
        None,
        Some(seen.clone()),
    )];
    let second = [update(
        &a.memory_id,
        Some("from writer 2"),
        None,
        Some(seen.clone()),
    )];
    let ana = user();
    let (r1, r2) = tokio::join!(
        store.write_memories(&s.id, &first, &ana),
        store.write_memories(&s.id, &second, &ana)
    );
    let (winner, loser) = match (r1, r2) {
        (Ok(v), Err(e)) => (("from writer 1", v), e),
        (Err(e), Ok(v)) => (("from writer 2", v), e),
        other => panic!("exactly one writer must win: {other:?}"),
    };
    assert!(
        matches!(loser, StoreError::PreconditionFailed { ref expected, .. } if *expected == seen),
        "{loser:?}"
    );
    assert_eq!(winner.1.len(), 1);
    assert_eq!(
        store.get_memory(&s.id, &a.memory_id).await.unwrap().content,
        winner.0
    );
    assert_eq!(
        store.get_memory_store(&s.id).await.unwrap().store_version,
        2,
        "one version, nothing lost"
    );
}

pub async fn deleting_a_store_removes_its_memories_and_versions(store: &dyn Store) {
    let s = new_store(store).await;
    let a = create(store, &s, "/a.md", "a").await;
    store.delete_memory_store(&s.id).await.unwrap();
    assert!(matches!(
        store.get_memory(&s.id, &a.memory_id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store
            .list_memory_versions(&s.id, &VersionFilter::default())
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.delete_memory_store(&s.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn a_derived_store_remembers_its_source(store: &dyn Store) {
    let source = new_store(store).await;
    assert_eq!(source.derived_from, None);
    let derived = store
        .create_memory_store(NewMemoryStore {
            name: "support (dream 1)".into(),
            derived_from: Some(source.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(derived.derived_from.as_ref(), Some(&source.id));
    let listed = store.list_memory_stores(false).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|s| s.id == derived.id)
            .unwrap()
            .derived_from
            .as_ref(),
        Some(&source.id)
    );
    // The lineage stays readable after its source is deleted.
    store.delete_memory_store(&source.id).await.unwrap();
    let kept = store.get_memory_store(&derived.id).await.unwrap();
    assert_eq!(kept.derived_from, Some(source.id));
}
