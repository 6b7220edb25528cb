//! Differences between two states of a store.

use std::collections::BTreeMap;

use dream_store::Store;
use dream_types::{MemoryId, MemorySnapshot, MemoryStoreId};
use serde::Serialize;
use similar::TextDiff;

use crate::EngineResult;

/// How one memory differs between two store versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// Present only in the later state.
    Added,
    /// Present only in the earlier state.
    Removed,
    /// Content changed, path kept.
    Modified,
    /// Path changed (content may have changed too).
    Renamed,
}

/// One memory's difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryDiff {
    /// The memory.
    pub memory_id: MemoryId,
    /// What changed.
    pub kind: DiffKind,
    /// Its path before (`None` when added or redacted).
    pub old_path: Option<String>,
    /// Its path after (`None` when removed or redacted).
    pub new_path: Option<String>,
    /// SHA-256 of the content before.
    pub old_sha256: Option<String>,
    /// SHA-256 of the content after.
    pub new_sha256: Option<String>,
    /// A unified diff of the content (3 lines of context; empty when a side is redacted
    /// or only the path changed).
    pub unified: String,
    /// A side of the comparison was redacted, so its content cannot be shown.
    pub redacted: bool,
}

impl MemoryDiff {
    /// Returns the path to show: the later one, else the earlier one.
    pub fn path(&self) -> &str {
        self.new_path
            .as_deref()
            .or(self.old_path.as_deref())
            .unwrap_or("(redacted)")
    }
}

/// The differences between two store versions, by memory, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreDiff {
    /// The store.
    pub store_id: MemoryStoreId,
    /// The earlier store version.
    pub from_version: u64,
    /// The later store version.
    pub to_version: u64,
    /// One entry per memory that differs.
    pub entries: Vec<MemoryDiff>,
}

/// Returns a unified diff of two texts with 3 lines of context and `a/…`, `b/…` headers.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a{old_name}"), &format!("b{new_name}"))
        .to_string()
}

/// Compares store version `from` with `to` (the current version when `None`).
///
/// # Errors
/// [`dream_store::StoreError::NotFound`] and `VersionOutOfRange` from the store.
pub async fn diff_store(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    from: u64,
    to: Option<u64>,
) -> EngineResult<StoreDiff> {
    let to = match to {
        Some(to) => to,
        None => store.get_memory_store(store_id).await?.store_version,
    };
    let before = by_id(store.memories_at(store_id, from).await?);
    let after = by_id(store.memories_at(store_id, to).await?);
    let mut entries = Vec::new();
    for (id, old) in &before {
        match after.get(id) {
            None => entries.push(entry(id, DiffKind::Removed, Some(old), None)),
            Some(new) => {
                // A redacted side has no path: that is not a rename.
                let moved = old.path.is_some() && new.path.is_some() && old.path != new.path;
                let changed = old.content_sha256 != new.content_sha256
                    || old.is_redacted() != new.is_redacted();
                if moved {
                    entries.push(entry(id, DiffKind::Renamed, Some(old), Some(new)));
                } else if changed {
                    entries.push(entry(id, DiffKind::Modified, Some(old), Some(new)));
                }
            }
        }
    }
    for (id, new) in &after {
        if !before.contains_key(id) {
            entries.push(entry(id, DiffKind::Added, None, Some(new)));
        }
    }
    entries.sort_by(|a, b| {
        a.path()
            .cmp(b.path())
            .then_with(|| a.memory_id.cmp(&b.memory_id))
    });
    Ok(StoreDiff {
        store_id: store_id.clone(),
        from_version: from,
        to_version: to,
        entries,
    })
}

fn by_id(snapshots: Vec<MemorySnapshot>) -> BTreeMap<MemoryId, MemorySnapshot> {
    snapshots
        .into_iter()
        .map(|s| (s.memory_id.clone(), s))
        .collect()
}

fn entry(
    id: &MemoryId,
    kind: DiffKind,
    old: Option<&MemorySnapshot>,
    new: Option<&MemorySnapshot>,
) -> MemoryDiff {
    let redacted = old.is_some_and(MemorySnapshot::is_redacted)
        || new.is_some_and(MemorySnapshot::is_redacted);
    let old_path = old.and_then(|s| s.path.clone());
    let new_path = new.and_then(|s| s.path.clone());
    let unified = if redacted {
        String::new()
    } else {
        let old_text = old.and_then(|s| s.content.as_deref()).unwrap_or("");
        let new_text = new.and_then(|s| s.content.as_deref()).unwrap_or("");
        if old_text == new_text && old.is_some() && new.is_some() {
            String::new()
        } else {
            let old_name = old_path.clone().or(new_path.clone()).unwrap_or_default();
            let new_name = new_path.clone().or(old_path.clone()).unwrap_or_default();
            unified_diff(old_text, new_text, &old_name, &new_name)
        }
    };
    MemoryDiff {
        memory_id: id.clone(),
        kind,
        old_sha256: old.and_then(|s| s.content_sha256.clone()),
        new_sha256: new.and_then(|s| s.content_sha256.clone()),
        old_path,
        new_path,
        unified,
        redacted,
    }
}
