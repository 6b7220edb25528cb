//! Requests for memory stores, memories and memory versions.

use std::collections::BTreeMap;

use dream_types::{MemoryId, MemoryOperation, MemoryStoreId, Timestamp};
use serde::{Deserialize, Serialize};

/// A memory store to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMemoryStore {
    /// 1–255 characters, no control characters.
    pub name: String,
    /// At most 1,024 characters; empty when unset.
    #[serde(default)]
    pub description: String,
    /// At most 16 pairs (keys 1–64 characters, values at most 512).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Path prefixes dreams may never change (each `/` or ending with `/`).
    #[serde(default)]
    pub protected_paths: Vec<String>,
    /// The store it is derived from (a `create_new` dream's input store); `None`
    /// (default) for a store made by a person.
    #[serde(default)]
    pub derived_from: Option<MemoryStoreId>,
}

/// Changes to a memory store; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStorePatch {
    /// New name.
    pub name: Option<String>,
    /// New description (`""` clears it).
    pub description: Option<String>,
    /// Metadata changes: a string adds or replaces the key, `None` removes it; keys
    /// not named keep their values (Anthropic's update semantics).
    pub metadata: Option<BTreeMap<String, Option<String>>>,
    /// New protected path prefixes (replaces the list).
    pub protected_paths: Option<Vec<String>>,
}

/// One change to write with [`crate::Store::write_memories`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MemoryWrite {
    /// Create a memory at a path no memory has.
    Create {
        /// Its path.
        path: String,
        /// Its content.
        content: String,
    },
    /// Bring a deleted memory back under its old id (restores use it, so that a
    /// memory's history stays one lineage). The id must have versions in this store
    /// and no live memory.
    Recreate {
        /// The deleted memory.
        memory_id: MemoryId,
        /// Its path.
        path: String,
        /// Its content.
        content: String,
    },
    /// Change a memory's content and/or path. A change that changes nothing writes no version.
    Update {
        /// The memory.
        memory_id: MemoryId,
        /// New content, or `None` to keep it.
        content: Option<String>,
        /// New path (a rename), or `None` to keep it.
        path: Option<String>,
        /// The `content_sha256` the caller last saw; a mismatch fails the whole write.
        precondition: Option<String>,
    },
    /// Delete a memory (its versions stay).
    Delete {
        /// The memory.
        memory_id: MemoryId,
        /// The `content_sha256` the caller last saw.
        precondition: Option<String>,
    },
}

/// Filters for [`crate::Store::list_memory_versions`]; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VersionFilter {
    /// Versions of this memory.
    pub memory_id: Option<MemoryId>,
    /// Versions by this actor type (`user_actor`, `dream_actor`, …).
    pub actor_type: Option<String>,
    /// Versions by this actor id (with or without `actor_type`).
    pub actor_id: Option<String>,
    /// Versions recording this operation.
    pub operation: Option<MemoryOperation>,
    /// Written at or after this time.
    pub since: Option<Timestamp>,
    /// Written at or before this time.
    pub until: Option<Timestamp>,
    /// Only versions with a store version below this one (for paging, newest first).
    pub before_store_version: Option<u64>,
    /// At most this many.
    pub limit: Option<u64>,
}
