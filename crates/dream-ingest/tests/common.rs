//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// Returns `../shared/data/<rel>` from the workspace root, or `None` (after saying so)
/// when the shared data is absent.
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let path = root.join(rel);
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
