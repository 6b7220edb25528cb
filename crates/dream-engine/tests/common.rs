//! Helpers shared by the engine tests.

use std::sync::Arc;

use dream_store::{MemoryWrite, NewMemoryStore, OpenMode, SqliteStore, Store};
use dream_types::{Actor, FixedClock, MemoryStore, SequentialIds, Timestamp};

pub struct TempStore {
    pub store: SqliteStore,
    pub dir: tempfile::TempDir,
}

pub async fn temp_store() -> TempStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with(
        &dir.path().join("dream.db"),
        OpenMode::Create,
        Arc::new(FixedClock::new(
            Timestamp::parse("2026-03-01T09:00:00Z").unwrap(),
        )),
        Arc::new(SequentialIds::new(11)),
    )
    .await
    .unwrap();
    TempStore { store, dir }
}

pub fn me() -> Actor {
    Actor::User {
        user_id: "user_me".into(),
    }
}

pub async fn memory_store(store: &dyn Store) -> MemoryStore {
    store
        .create_memory_store(NewMemoryStore {
            name: "agent".into(),
            ..Default::default()
        })
        .await
        .unwrap()
}

pub async fn put(store: &dyn Store, s: &MemoryStore, path: &str, content: &str) {
    match store.find_memory(&s.id, path).await.unwrap() {
        Some(m) => store
            .write_memories(
                &s.id,
                &[MemoryWrite::Update {
                    memory_id: m.id,
                    content: Some(content.into()),
                    path: None,
                    precondition: None,
                }],
                &me(),
            )
            .await
            .unwrap(),
        None => store
            .write_memories(
                &s.id,
                &[MemoryWrite::Create {
                    path: path.into(),
                    content: content.into(),
                }],
                &me(),
            )
            .await
            .unwrap(),
    };
}

/// Returns the live memories as `(path, content)` pairs, sorted by path.
pub async fn live(store: &dyn Store, s: &MemoryStore) -> Vec<(String, String)> {
    store
        .list_memories(&s.id, None)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.path, m.content))
        .collect()
}
