//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dream_ingest::{IngestOptions, IngestReport, Ingestor, InputPath, NoProgress};
use dream_store::{OpenMode, SessionRef, SqliteStore, Store};
use dream_types::{Event, FixedClock, SequentialIds, Session, Timestamp};

/// Returns `../shared/data/<rel>` from the workspace root, or `None` (after saying so)
/// when the shared data is absent.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let path = workspace_root().join("../shared/data").join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} is absent (CI always has ../shared)",
            path.display()
        );
        None
    }
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Returns `examples/transcripts/<name>`.
pub fn example(name: &str) -> PathBuf {
    workspace_root().join("examples/transcripts").join(name)
}

/// A store in a temporary directory with a fixed clock and seeded ids.
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
        Arc::new(SequentialIds::new(7)),
    )
    .await
    .unwrap();
    TempStore { store, dir }
}

pub async fn ingest_with(
    store: &dyn Store,
    paths: &[&Path],
    options: IngestOptions,
) -> IngestReport {
    let inputs: Vec<InputPath> = paths
        .iter()
        .map(|p| InputPath::Path(p.to_path_buf()))
        .collect();
    Ingestor::new(store, options, &NoProgress)
        .ingest(&inputs)
        .await
        .unwrap()
}

pub async fn ingest(store: &dyn Store, paths: &[&Path]) -> IngestReport {
    ingest_with(store, paths, IngestOptions::default()).await
}

pub async fn session_by_source(store: &dyn Store, source_id: &str) -> (Session, Vec<Event>) {
    let session = store
        .get_session(&SessionRef::Source(source_id.to_owned()))
        .await
        .unwrap();
    let events = store.session_events(&session.id, None).await.unwrap();
    (session, events)
}

/// Writes `text` to `name` in `dir` and returns the path.
pub fn write_file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}
