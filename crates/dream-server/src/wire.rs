//! Response shapes. The Anthropic-compatible ones copy the official SDK's models
//! (`anthropic` 2.10.0, `types/beta/`): field names, `type` tags and nullability are
//! theirs. `dream` adds fields only where it knows more (`store_version`,
//! `protected_paths`, a dream's `mode`, `counts` and `proposal_id`); the SDK keeps
//! unknown fields available, so adding never breaks a client.

use std::collections::BTreeMap;

use dream_types::{
    Actor, Dream, DreamCounts, DreamMode, DreamStatus, Memory, MemoryListItem, MemoryStore,
    MemoryVersion, OutputBehavior, SessionWindow, StageTimings, Timestamp,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The `local` engine's names accepted as a dream's `model`: `dream-local` (what the
/// API documents) and `local` (what the CLI calls it).
pub const LOCAL_MODELS: [&str; 2] = ["dream-local", "local"];

/// Whether content is included (Anthropic's `BetaManagedAgentsMemoryView`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Without `content`.
    #[default]
    Basic,
    /// With `content`.
    Full,
}

/// `BetaManagedAgentsMemoryStore`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemoryStoreOut {
    /// `"memory_store"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `memstore_…`.
    pub id: String,
    /// 1–255 characters.
    pub name: String,
    /// At most 1,024 characters; empty when unset.
    pub description: String,
    /// At most 16 pairs.
    pub metadata: BTreeMap<String, String>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
    /// RFC 3339, or null.
    #[schema(value_type = Option<String>)]
    pub archived_at: Option<Timestamp>,
    /// `dream`: path prefixes dreams may never change.
    pub protected_paths: Vec<String>,
    /// `dream`: the current store version (memory versions written so far).
    pub store_version: u64,
    /// `dream`: the store it was derived from (the input of the `create_new` dream
    /// that created it); absent for a store made by a person. An extra field the SDK's
    /// models keep (they allow extra fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<String>,
}

impl From<MemoryStore> for MemoryStoreOut {
    fn from(s: MemoryStore) -> Self {
        Self {
            kind: "memory_store",
            id: s.id.to_string(),
            name: s.name,
            description: s.description,
            metadata: s.metadata,
            created_at: s.created_at,
            updated_at: s.updated_at,
            archived_at: s.archived_at,
            protected_paths: s.protected_paths,
            store_version: s.store_version,
            derived_from: s.derived_from.map(|id| id.to_string()),
        }
    }
}

/// `BetaManagedAgentsDeletedMemoryStore` / `…DeletedMemory` / any `{id, type}` receipt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deleted {
    /// `memory_store_deleted`, `memory_deleted`, ….
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The deleted object's id.
    pub id: String,
}

/// `BetaManagedAgentsMemory`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemoryOut {
    /// `"memory"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `mem_…`.
    pub id: String,
    /// The store.
    pub memory_store_id: String,
    /// The version holding the current content.
    pub memory_version_id: String,
    /// The path.
    pub path: String,
    /// The content with `view=full`, else null.
    pub content: Option<String>,
    /// Lowercase hex SHA-256 of the content.
    pub content_sha256: String,
    /// UTF-8 bytes of the content.
    pub content_size_bytes: u64,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

impl MemoryOut {
    /// The wire shape of `memory`, with content only for `View::Full`.
    pub fn new(memory: Memory, view: View) -> Self {
        Self {
            kind: "memory",
            id: memory.id.to_string(),
            memory_store_id: memory.memory_store_id.to_string(),
            memory_version_id: memory.memory_version_id.to_string(),
            path: memory.path,
            content: (view == View::Full).then_some(memory.content),
            content_sha256: memory.content_sha256,
            content_size_bytes: memory.content_size_bytes,
            created_at: memory.created_at,
            updated_at: memory.updated_at,
        }
    }
}

/// An item of a memory listing: a `memory`, or a `memory_prefix` standing for a folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum MemoryItemOut {
    /// `BetaManagedAgentsMemory`.
    Memory(MemoryOut),
    /// `BetaManagedAgentsMemoryPrefix`.
    Prefix(PrefixOut),
}

/// `BetaManagedAgentsMemoryPrefix`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrefixOut {
    /// `"memory_prefix"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The folder, ending with `/`.
    pub path: String,
}

impl MemoryItemOut {
    /// The wire shape of a listing item.
    pub fn new(item: MemoryListItem, view: View) -> Self {
        match item {
            MemoryListItem::Memory(memory) => Self::Memory(MemoryOut::new(memory, view)),
            MemoryListItem::MemoryPrefix { path } => Self::Prefix(PrefixOut {
                kind: "memory_prefix",
                path,
            }),
        }
    }

    /// The item's path (its sort key).
    pub fn path(&self) -> &str {
        match self {
            Self::Memory(m) => &m.path,
            Self::Prefix(p) => &p.path,
        }
    }
}

/// `BetaManagedAgentsMemoryVersion`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemoryVersionOut {
    /// `"memory_version"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `memver_…`.
    pub id: String,
    /// The memory.
    pub memory_id: String,
    /// The store.
    pub memory_store_id: String,
    /// `created`, `modified` or `deleted`.
    pub operation: &'static str,
    /// The path after the change; null once redacted.
    pub path: Option<String>,
    /// The content (with `view=full`); null for `deleted` and once redacted.
    pub content: Option<String>,
    /// SHA-256 of the content; null for `deleted` and once redacted.
    pub content_sha256: Option<String>,
    /// Bytes of the content.
    pub content_size_bytes: Option<u64>,
    /// Who made the change (`user_actor`, `api_actor`, `session_actor`, `dream_actor`).
    #[schema(value_type = Object)]
    pub created_by: Actor,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// RFC 3339, or null.
    #[schema(value_type = Option<String>)]
    pub redacted_at: Option<Timestamp>,
    /// Who redacted it.
    #[schema(value_type = Option<Object>)]
    pub redacted_by: Option<Actor>,
    /// `dream`: the store version this change produced.
    pub store_version: u64,
}

impl MemoryVersionOut {
    /// The wire shape of a version, with content only for `View::Full`.
    pub fn new(version: MemoryVersion, view: View) -> Self {
        Self {
            kind: "memory_version",
            id: version.id.to_string(),
            memory_id: version.memory_id.to_string(),
            memory_store_id: version.memory_store_id.to_string(),
            operation: version.operation.as_str(),
            path: version.path,
            content: if view == View::Full {
                version.content
            } else {
                None
            },
            content_sha256: version.content_sha256,
            content_size_bytes: version.content_size_bytes,
            created_by: version.created_by,
            created_at: version.created_at,
            redacted_at: version.redacted_at,
            redacted_by: version.redacted_by,
            store_version: version.store_version,
        }
    }
}

/// `BetaDreamInput`: a memory store or a list of sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DreamInput {
    /// `BetaDreamMemoryStoreInput`.
    MemoryStore {
        /// `memstore_…`.
        memory_store_id: String,
    },
    /// `BetaDreamSessionsInput` (1–100 `sesn_…` ids).
    Sessions {
        /// The sessions.
        session_ids: Vec<String>,
    },
}

/// The values `model.speed` takes: Anthropic's request docs say "In the object form,
/// `speed` can only be `standard`" (SDK 2.10.0 `dream_create_params.py`; its type
/// also names `fast`, which no dream runs at).
pub const MODEL_SPEEDS: [&str; 1] = ["standard"];

/// `BetaDreamModelConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModelConfig {
    /// The model (`dream-local`).
    pub id: String,
    /// `standard`: accepted in requests and always given in answers (the SDK's
    /// `BetaDreamModelConfig.speed`: "Always `standard`").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<String>,
}

/// `BetaDreamOutput`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DreamOutput {
    /// `"memory_store"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The store holding the result.
    pub memory_store_id: String,
}

/// `BetaDreamUsage`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct UsageOut {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to a prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from a prompt cache.
    pub cache_read_input_tokens: u64,
}

/// `BetaDreamErrorObject`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DreamErrorOut {
    /// A code such as `invalid_request_error` or `interrupted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// `BetaOutputBehavior`: where a dream writes its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputBehaviorOut {
    /// A new store, starting as a copy of the input (the default).
    CreateNew,
    /// The input store itself.
    UpdateExisting {
        /// The input store (`memstore_…`).
        memory_store_id: String,
    },
}

/// `BetaDream`, plus `dream`'s review fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DreamOut {
    /// `"dream"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `drm_…`.
    pub id: String,
    /// `pending`, `running`, `completed`, `failed` or `canceled`.
    pub status: &'static str,
    /// The memory store, then the sessions (as the request gave them).
    pub inputs: Vec<DreamInput>,
    /// The model, always as an object.
    pub model: ModelConfig,
    /// Guidance, or null.
    pub instructions: Option<String>,
    /// `{"type": "create_new"}` or `{"type": "update_existing", "memory_store_id"}`.
    pub output_behavior: OutputBehaviorOut,
    /// The store holding the result: one item once known, else empty.
    pub outputs: Vec<DreamOutput>,
    /// Token counts (zero for the local engine).
    pub usage: UsageOut,
    /// Why it failed, or null.
    pub error: Option<DreamErrorOut>,
    /// The session running the dream: always null (the local engine runs in-process).
    pub session_id: Option<String>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// RFC 3339, or null until final.
    #[schema(value_type = Option<String>)]
    pub ended_at: Option<Timestamp>,
    /// RFC 3339, or null.
    #[schema(value_type = Option<String>)]
    pub archived_at: Option<Timestamp>,
    /// `dream`: `review` (default) or `auto`.
    pub mode: &'static str,
    /// `dream`: the proposal, once stored (`GET /v1/dreams/{id}/proposal`).
    pub proposal_id: Option<String>,
    /// `dream`: the input store version it read.
    pub base_store_version: u64,
    /// `dream`: per-stage counts.
    #[schema(value_type = Object)]
    pub counts: DreamCounts,
    /// `dream`: per-stage milliseconds.
    #[schema(value_type = Object)]
    pub timings: StageTimings,
    /// `dream`: RFC 3339, when it started running.
    #[schema(value_type = Option<String>)]
    pub started_at: Option<Timestamp>,
}

impl DreamOut {
    /// The wire shape of a dream; `model` is the name the request used.
    pub fn new(dream: Dream) -> Self {
        let mut inputs = vec![DreamInput::MemoryStore {
            memory_store_id: dream.memory_store_id.to_string(),
        }];
        if let SessionWindow::Explicit { session_ids } = &dream.window {
            inputs.push(DreamInput::Sessions {
                session_ids: session_ids.iter().map(ToString::to_string).collect(),
            });
        }
        Self {
            kind: "dream",
            id: dream.id.to_string(),
            status: dream.status.as_str(),
            inputs,
            model: ModelConfig {
                id: model_name(&dream.engine),
                speed: Some(MODEL_SPEEDS[0].to_owned()),
            },
            instructions: dream.instructions,
            output_behavior: match dream.output_behavior {
                OutputBehavior::CreateNew => OutputBehaviorOut::CreateNew,
                OutputBehavior::UpdateExisting => OutputBehaviorOut::UpdateExisting {
                    memory_store_id: dream.memory_store_id.to_string(),
                },
            },
            outputs: dream
                .output_store_id
                .map(|id| DreamOutput {
                    kind: "memory_store",
                    memory_store_id: id.to_string(),
                })
                .into_iter()
                .collect(),
            usage: UsageOut {
                input_tokens: dream.usage.input_tokens,
                output_tokens: dream.usage.output_tokens,
                cache_creation_input_tokens: dream.usage.cache_creation_input_tokens,
                cache_read_input_tokens: dream.usage.cache_read_input_tokens,
            },
            error: dream.error.map(|e| DreamErrorOut {
                kind: e.kind,
                message: e.message,
            }),
            session_id: None,
            created_at: dream.created_at,
            ended_at: dream.ended_at,
            archived_at: dream.archived_at,
            mode: match dream.mode {
                DreamMode::Review => "review",
                DreamMode::Auto => "auto",
            },
            proposal_id: dream.proposal_id.map(|p| p.to_string()),
            base_store_version: dream.base_store_version,
            counts: dream.counts,
            timings: dream.timings,
            started_at: dream.started_at,
        }
    }
}

/// The API name of an engine (`local` is `dream-local`).
pub fn model_name(engine: &str) -> String {
    if engine == dream_engine::dream::LOCAL_ENGINE {
        LOCAL_MODELS[0].to_owned()
    } else {
        engine.to_owned()
    }
}

/// Parses a status filter value.
pub fn parse_status(name: &str) -> Option<DreamStatus> {
    DreamStatus::from_name(name)
}
