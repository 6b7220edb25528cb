//! The error type of every [`crate::Store`] operation.

/// Result alias for [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file does not exist and the caller asked not to create it.
    #[error("no dream store at {path}; run `dream init` or pass --db PATH")]
    NotInitialized {
        /// The path that was looked at.
        path: String,
    },
    /// No record with that id.
    #[error("{kind} {reference} not found")]
    NotFound {
        /// What was looked for ("session").
        kind: &'static str,
        /// The id or reference given.
        reference: String,
    },
    /// A reference matched more than one record.
    #[error("{reference} matches {} sessions ({}); use the sesn_ id", matches.len(), matches.join(", "))]
    Ambiguous {
        /// The reference given.
        reference: String,
        /// The ids it matched.
        matches: Vec<String>,
    },
    /// A session with the same agent and source id was stored with other content, and
    /// the new content does not extend it.
    #[error(
        "session {source_session_id} (agent {agent}) is already stored as {session_id} with other \
         content (stored hash {stored_hash}, new content {reason}); pass --replace to overwrite it"
    )]
    SessionConflict {
        /// The stored session.
        session_id: String,
        /// Its source id.
        source_session_id: String,
        /// Its agent (`-` when none).
        agent: String,
        /// The stored content hash.
        stored_hash: String,
        /// How the new content differs.
        reason: String,
    },
    /// A value breaks a memory rule (path, content size, name, description, metadata).
    #[error("{0}")]
    Rule(#[from] dream_types::RuleError),
    /// A create or rename onto a path another memory has.
    #[error(
        "a memory already exists at {path} ({memory_id}); update that memory or choose another path"
    )]
    PathConflict {
        /// The path.
        path: String,
        /// The memory that has it.
        memory_id: String,
    },
    /// A precondition hash does not match the memory's current content.
    #[error(
        "memory {memory_id} ({path}) has content_sha256 {actual}, not the expected {expected}: it \
         changed since you read it; read it again and retry"
    )]
    PreconditionFailed {
        /// The memory.
        memory_id: String,
        /// Its path.
        path: String,
        /// The hash the caller expected.
        expected: String,
        /// The hash it has.
        actual: String,
    },
    /// A create or update in an archived store.
    #[error(
        "memory store {store_id} is archived and read-only; reads, deletes and redactions still work"
    )]
    StoreArchived {
        /// The store.
        store_id: String,
    },
    /// A dream tried to change a path under a protected prefix.
    #[error(
        "{path} is under the protected path {prefix}: dreams may not change it, only people can"
    )]
    ProtectedPath {
        /// The path.
        path: String,
        /// The protecting prefix.
        prefix: String,
    },
    /// Redaction of a version that holds a memory's current content.
    #[error(
        "version {version_id} holds the current content of {path}; change or delete the memory \
         first, then redact this version"
    )]
    RedactCurrent {
        /// The version.
        version_id: String,
        /// The memory's path.
        path: String,
    },
    /// A review lost a race: a change it meant to decide was decided by another review
    /// first (a concurrent approve, reject or supersede). Nothing was written.
    #[error(
        "change {change_id} of proposal {proposal_id} is already {status} (another review got \
         there first); nothing was written: read the proposal again"
    )]
    ReviewConflict {
        /// The proposal.
        proposal_id: String,
        /// The change that is no longer pending.
        change_id: String,
        /// The state it lost to (`applied`, `rejected`, `stale`, …).
        status: String,
    },
    /// A store version beyond the store's current one.
    #[error("store version {requested} does not exist; {store_id} is at version {current}")]
    VersionOutOfRange {
        /// The store.
        store_id: String,
        /// The version asked for.
        requested: u64,
        /// The store's current version.
        current: u64,
    },
    /// The event source stopped on bad input; nothing of the session was stored.
    #[error("the session's input is invalid; nothing of it was stored")]
    SourceAborted,
    /// An event broke an invariant the ingest layer must keep (indices without gaps).
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    /// A stored value that cannot be read back (a bug or a hand-edited database).
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// Returns the stable snake_case code (the Anthropic error `type` where one fits).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotInitialized { .. } => "store_not_initialized",
            StoreError::NotFound { .. } => "not_found_error",
            StoreError::Ambiguous { .. } => "invalid_request_error",
            StoreError::SessionConflict { .. } => "conflict_error",
            StoreError::Rule(rule) => rule.code,
            StoreError::PathConflict { .. } => "path_conflict",
            StoreError::PreconditionFailed { .. } => "memory_precondition_failed_error",
            StoreError::ReviewConflict { .. } => "review_conflict",
            StoreError::StoreArchived { .. } => "store_archived",
            StoreError::ProtectedPath { .. } => "protected_path",
            StoreError::RedactCurrent { .. } | StoreError::VersionOutOfRange { .. } => {
                "invalid_request_error"
            }
            StoreError::SourceAborted => "invalid_input",
            StoreError::InvalidEvent(_) | StoreError::Corrupt(_) => "api_error",
            StoreError::Database(_) | StoreError::Migration(_) => "api_error",
        }
    }
}
