//! Restoring a store to an earlier store version by writing new versions.

use std::collections::{BTreeMap, HashMap};

use dream_store::{MemoryWrite, Store};
use dream_types::{Actor, MemoryId, MemorySnapshot, MemoryStoreId, MemoryVersion};
use serde::Serialize;

use crate::EngineResult;

/// Folder that holds a memory for a moment while two memories swap paths.
const SWAP_FOLDER: &str = "/.dream-restore";

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// The store.
    pub store_id: MemoryStoreId,
    /// The store version whose state was restored.
    pub target_version: u64,
    /// The store version before the restore.
    pub from_version: u64,
    /// The store version after it (equal to `from_version` when nothing changed).
    pub new_version: u64,
    /// The versions written, in order.
    pub versions: Vec<MemoryVersion>,
    /// Memories whose state at the target was redacted: left as they are.
    pub skipped_redacted: Vec<MemoryId>,
}

/// One memory that has to reach a path it does not have now.
#[derive(Debug)]
struct Move {
    id: MemoryId,
    to_path: String,
    content: Option<String>,
    recreate: bool,
}

/// Makes the store's memories equal to their state at store version `target`, by
/// writing new memory versions as `actor` in one transaction: history is never
/// rewritten, and a restore can itself be restored away. Deleted memories come back
/// under their old ids. Each update and delete carries the content hash read just
/// before, so a concurrent change fails the whole restore instead of being lost.
/// Memories whose state at `target` was redacted cannot be brought back and are left
/// as they are (listed in [`RestoreReport::skipped_redacted`]).
///
/// # Errors
/// From the store: `NotFound`, `VersionOutOfRange`, `StoreArchived` (nothing
/// written), `PreconditionFailed` (a concurrent change; nothing written).
pub async fn restore(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    target: u64,
    actor: &Actor,
) -> EngineResult<RestoreReport> {
    let from_version = store.get_memory_store(store_id).await?.store_version;
    let wanted: BTreeMap<MemoryId, MemorySnapshot> = store
        .memories_at(store_id, target)
        .await?
        .into_iter()
        .map(|s| (s.memory_id.clone(), s))
        .collect();
    let live = store.list_memories(store_id, None).await?;

    let mut writes = Vec::new();
    let mut skipped_redacted = Vec::new();
    let mut occupied: HashMap<String, MemoryId> = HashMap::new();
    let mut current_path: HashMap<MemoryId, String> = HashMap::new();
    let mut sha: HashMap<MemoryId, String> = HashMap::new();
    let mut moves = Vec::new();

    for memory in &live {
        match wanted.get(&memory.id) {
            None => writes.push(MemoryWrite::Delete {
                memory_id: memory.id.clone(),
                precondition: Some(memory.content_sha256.clone()),
            }),
            Some(target) => {
                occupied.insert(memory.path.clone(), memory.id.clone());
                current_path.insert(memory.id.clone(), memory.path.clone());
                sha.insert(memory.id.clone(), memory.content_sha256.clone());
                let (Some(path), Some(content)) = (&target.path, &target.content) else {
                    skipped_redacted.push(memory.id.clone());
                    continue;
                };
                let new_content = (content != &memory.content).then(|| content.clone());
                if path != &memory.path {
                    moves.push(Move {
                        id: memory.id.clone(),
                        to_path: path.clone(),
                        content: new_content,
                        recreate: false,
                    });
                } else if let Some(content) = new_content {
                    writes.push(MemoryWrite::Update {
                        memory_id: memory.id.clone(),
                        content: Some(content),
                        path: None,
                        precondition: Some(memory.content_sha256.clone()),
                    });
                }
            }
        }
    }
    let live_ids: std::collections::HashSet<&MemoryId> = live.iter().map(|m| &m.id).collect();
    for (id, target) in &wanted {
        if live_ids.contains(id) {
            continue;
        }
        match (&target.path, &target.content) {
            (Some(path), Some(content)) => moves.push(Move {
                id: id.clone(),
                to_path: path.clone(),
                content: Some(content.clone()),
                recreate: true,
            }),
            _ => skipped_redacted.push(id.clone()),
        }
    }

    // Moves go in an order where nobody lands on a path still in use; a cycle
    // (two memories swapping paths) goes through a temporary path.
    while !moves.is_empty() {
        let ready = moves.iter().position(|m| match occupied.get(&m.to_path) {
            None => true,
            Some(holder) => holder == &m.id,
        });
        match ready {
            Some(i) => {
                let m = moves.remove(i);
                if let Some(old) = current_path.insert(m.id.clone(), m.to_path.clone()) {
                    occupied.remove(&old);
                }
                occupied.insert(m.to_path.clone(), m.id.clone());
                writes.push(if m.recreate {
                    MemoryWrite::Recreate {
                        memory_id: m.id,
                        path: m.to_path,
                        content: m.content.unwrap_or_default(),
                    }
                } else {
                    MemoryWrite::Update {
                        memory_id: m.id.clone(),
                        content: m.content,
                        path: Some(m.to_path),
                        precondition: sha.get(&m.id).cloned(),
                    }
                });
            }
            None => {
                // Every pending move is blocked. Park the holder of the first blocked
                // path if it is moving too; otherwise the path is held by a memory that
                // stays (its target state was redacted) and the move cannot happen.
                let blocked = &moves[0];
                let holder = occupied.get(&blocked.to_path).cloned();
                match holder.filter(|h| moves.iter().any(|m| &m.id == h && !m.recreate)) {
                    Some(holder) => {
                        let parked = format!("{SWAP_FOLDER}/{holder}");
                        if let Some(old) = current_path.insert(holder.clone(), parked.clone()) {
                            occupied.remove(&old);
                        }
                        occupied.insert(parked.clone(), holder.clone());
                        writes.push(MemoryWrite::Update {
                            memory_id: holder.clone(),
                            content: None,
                            path: Some(parked),
                            precondition: sha.get(&holder).cloned(),
                        });
                    }
                    None => {
                        let m = moves.remove(0);
                        skipped_redacted.push(m.id);
                    }
                }
            }
        }
    }

    let versions = if writes.is_empty() {
        Vec::new()
    } else {
        store.write_memories(store_id, &writes, actor).await?
    };
    let new_version = versions.last().map_or(from_version, |v| v.store_version);
    skipped_redacted.sort();
    Ok(RestoreReport {
        store_id: store_id.clone(),
        target_version: target,
        from_version,
        new_version,
        versions,
        skipped_redacted,
    })
}
