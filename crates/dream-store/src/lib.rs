//! Storage for `dream`: the [`Store`] trait and its backends.
//!
//! The SQLite backend ([`SqliteStore`]) keeps everything in one file in WAL mode,
//! created on first use, with migrations under `migrations/sqlite/`. Dialect-specific
//! SQL stays inside the backend module so that a PostgreSQL backend can follow.
//!
//! Sessions are written through [`Store::write_session`], which streams events from an
//! [`EventSource`] inside one transaction: a session is stored completely or not at all.
//! Writing the same content again is a no-op; content that extends what is stored (a
//! Claude Code file that grew) appends the new events.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dream_store::{OpenMode, SqliteStore, Store, VecSource, WriteOptions, WriteStatus};
//! use dream_types::{Event, EventKind, SessionHead};
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(&dir.path().join("dream.db"), OpenMode::Create).await?;
//! let head = SessionHead { source_session_id: "s1".into(), ..Default::default() };
//! let events = vec![Event::new(0, EventKind::UserMessage, "hello")];
//!
//! let first = store
//!     .write_session(&head, &mut VecSource::new(events.clone()), WriteOptions::default())
//!     .await?;
//! assert_eq!(first.status, WriteStatus::Created);
//! let again = store
//!     .write_session(&head, &mut VecSource::new(events), WriteOptions::default())
//!     .await?;
//! assert_eq!(again.status, WriteStatus::Unchanged);
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod error;
mod memory;
mod merge;
mod platform;
pub mod sqlite;

use std::ops::Range;

use async_trait::async_trait;
use dream_types::{
    Actor, ChangeReview, Dream, DreamConfig, DreamId, DreamStatus, Event, Memory, MemoryId,
    MemorySnapshot, MemoryStore, MemoryStoreId, MemoryVersion, MemoryVersionId, Outcome, Proposal,
    ProposalId, Rejection, Session, SessionFilter, SessionHead, SessionId,
};
use dream_types::{
    ApiKey, ApiKeyId, DeliveryId, DreamSchedule, ScheduleId, ScheduleRun, Timestamp, Webhook,
    WebhookDelivery, WebhookId,
};
use dream_types::{OutcomesConfig, RegressionCheck, SessionMetric};
use serde::Serialize;

pub use error::{StoreError, StoreResult};
pub use memory::{MemoryStorePatch, MemoryWrite, NewMemoryStore, VersionFilter};
pub use platform::{DeliveryOutcome, NewApiKey, NewSchedule, NewWebhook};

/// Filters for [`Store::list_dreams`]; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DreamFilter {
    /// Dreams of this store.
    pub memory_store_id: Option<MemoryStoreId>,
    /// Dreams with one of these statuses (all when empty).
    pub statuses: Vec<DreamStatus>,
    /// Include archived dreams. Default false.
    pub include_archived: bool,
    /// Created strictly after this time.
    pub created_after: Option<Timestamp>,
    /// Created strictly before this time.
    pub created_before: Option<Timestamp>,
    /// Only dreams listed after this one, newest first (`(created_at, id)` of the last
    /// dream of the previous page): keyset paging.
    pub after_key: Option<(Timestamp, DreamId)>,
    /// At most this many, newest first.
    pub limit: Option<u64>,
}

/// A review decision to store together with the memory writes it causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewUpdate {
    /// The proposal.
    pub proposal_id: ProposalId,
    /// New states of some of its changes.
    pub reviews: Vec<ChangeReview>,
    /// Rejections to remember for the store.
    pub rejections: Vec<Rejection>,
}
pub use sqlite::{OpenMode, SqliteStore};

/// Supplies a session's events, in index order, to [`Store::write_session`].
#[async_trait]
pub trait EventSource: Send {
    /// Returns the next event, or `None` when the session ends or its input turned
    /// out to be invalid (then [`EventSource::finish`] says which).
    async fn next_event(&mut self) -> Option<Event>;

    /// Says how the events ended; called once, after `next_event` returned `None`.
    fn finish(&mut self) -> SourceEnd;

    /// Returns the fold that computes the session's built-in metrics, if the source
    /// has one. The store pushes every event it reads from the source into it (the
    /// already-stored prefix of a grown session too) and, when the session is
    /// written, stores what [`SessionMetrics::finish`] returns in the same
    /// transaction, so a session never exists without its metrics. Default: none
    /// (metrics are then computed later, from the stored events).
    fn metrics(&mut self) -> Option<&mut dyn SessionMetrics> {
        None
    }
}

/// Computes a session's built-in metrics from its events, one event at a time, as
/// they stream into [`Store::write_session`] (see [`EventSource::metrics`]). The
/// definitions live in the engine; the store only carries the fold.
pub trait SessionMetrics: Send {
    /// Folds in the next event, in index order.
    fn push(&mut self, event: &Event);

    /// Returns the metrics of `session` (as it is about to be committed: times,
    /// outcomes and content hash final) from the events pushed so far.
    fn finish(&mut self, session: &Session) -> BuiltinMetrics;
}

/// Built-in metric values computed by one version of their definitions, as
/// [`Store::put_builtin_metrics`] takes them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuiltinMetrics {
    /// Version of the definitions that computed them.
    pub definition_version: u32,
    /// `(name, value)` pairs in display order.
    pub values: Vec<(String, f64)>,
}

/// How an [`EventSource`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEnd {
    /// All events were delivered; these are the session's outcomes.
    Complete {
        /// Outcomes in source order.
        outcomes: Vec<Outcome>,
    },
    /// The input was invalid; the store must roll the session back.
    Aborted,
}

/// An [`EventSource`] over events already in memory (tests, small imports).
#[derive(Debug, Clone, Default)]
pub struct VecSource {
    events: std::vec::IntoIter<Event>,
    outcomes: Vec<Outcome>,
}

impl VecSource {
    /// Returns a source of `events` with no outcomes.
    pub fn new(events: Vec<Event>) -> Self {
        Self::with_outcomes(events, Vec::new())
    }

    /// Returns a source of `events` ending with `outcomes`.
    pub fn with_outcomes(events: Vec<Event>, outcomes: Vec<Outcome>) -> Self {
        Self {
            events: events.into_iter(),
            outcomes,
        }
    }
}

#[async_trait]
impl EventSource for VecSource {
    async fn next_event(&mut self) -> Option<Event> {
        self.events.next()
    }

    fn finish(&mut self) -> SourceEnd {
        SourceEnd::Complete {
            outcomes: std::mem::take(&mut self.outcomes),
        }
    }
}

/// Options for [`Store::write_session`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Overwrite a stored session whose content conflicts instead of failing with
    /// [`StoreError::SessionConflict`]. The session keeps its id. Default: false.
    pub replace: bool,
}

/// What [`Store::write_session`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStatus {
    /// A new session was stored.
    Created,
    /// The stored events were a prefix of the new ones; the rest was appended.
    Appended,
    /// Same events, but other session fields (times, metadata, outcomes) changed.
    Updated,
    /// A conflicting session was overwritten ([`WriteOptions::replace`]).
    Replaced,
    /// Identical content was already stored; nothing was written.
    Unchanged,
}

impl WriteStatus {
    /// Returns the snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WriteStatus::Created => "created",
            WriteStatus::Appended => "appended",
            WriteStatus::Updated => "updated",
            WriteStatus::Replaced => "replaced",
            WriteStatus::Unchanged => "unchanged",
        }
    }
}

/// The result of writing one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WriteReport {
    /// The stored session.
    pub session_id: SessionId,
    /// What happened.
    pub status: WriteStatus,
    /// Events in the session after the write.
    pub event_count: u64,
    /// Events written by this call (0 when unchanged).
    pub events_written: u64,
    /// The session's content hash after the write.
    pub content_hash: String,
}

/// How a session is named on the command line or in an API path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionRef {
    /// A `sesn_…` id; when no stored session has it, it is looked up as a source id
    /// (Anthropic Managed Agents session ids have the same prefix).
    Id(SessionId),
    /// The id in the imported file; must match exactly one stored session.
    Source(String),
}

impl SessionRef {
    /// Reads `text` as a `sesn_…` id when it has that prefix, else as a source id.
    pub fn parse(text: &str) -> Self {
        match text.parse::<SessionId>() {
            Ok(id) => SessionRef::Id(id),
            Err(_) => SessionRef::Source(text.to_owned()),
        }
    }
}

/// Persistent state of `dream`. Every backend passes the same conformance suite
/// (`tests/conformance.rs`).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Returns the backend's name (`"sqlite"`).
    fn backend(&self) -> &'static str;

    /// Stores one session and its events in a single transaction.
    ///
    /// Identity is `(agent, source_session_id)`. When no such session is stored, it is
    /// created. When one is, the new events are compared with the stored ones by their
    /// running digest ([`dream_types::EventDigest`]): the same content is `Unchanged`,
    /// an extension is `Appended`, same events with other fields is `Updated`.
    ///
    /// # Errors
    /// - [`StoreError::SourceAborted`] when the source reports invalid input (nothing stored);
    /// - [`StoreError::SessionConflict`] when the stored session is not a prefix of the new
    ///   one and `options.replace` is false (nothing changed);
    /// - [`StoreError::InvalidEvent`] when event indices are not `0, 1, 2, …`;
    /// - [`StoreError::Database`] on I/O or SQL failure.
    async fn write_session(
        &self,
        head: &SessionHead,
        events: &mut dyn EventSource,
        options: WriteOptions,
    ) -> StoreResult<WriteReport>;

    /// Returns one session with its outcomes.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Ambiguous`] when a source id matches
    /// sessions of several agents.
    async fn get_session(&self, reference: &SessionRef) -> StoreResult<Session>;

    /// Returns the sessions that pass `filter`, newest first (by start time, then
    /// ingest time, then id).
    async fn list_sessions(&self, filter: &SessionFilter) -> StoreResult<Vec<Session>>;

    /// Returns the events of a session with index in `range` (all when `None`), in order.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the session does not exist.
    async fn session_events(
        &self,
        id: &SessionId,
        range: Option<Range<u32>>,
    ) -> StoreResult<Vec<Event>>;

    /// Returns the sessions whose parent is `id` (Claude Code subagents), oldest first.
    async fn child_sessions(&self, id: &SessionId) -> StoreResult<Vec<Session>>;

    /// Returns the number of stored sessions.
    async fn count_sessions(&self) -> StoreResult<u64>;

    /// Creates a memory store (store version 0, no memories).
    ///
    /// # Errors
    /// [`StoreError::Rule`] when the name, description, metadata or a protected path
    /// breaks a rule.
    async fn create_memory_store(&self, new: NewMemoryStore) -> StoreResult<MemoryStore>;

    /// Returns a memory store.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_memory_store(&self, id: &MemoryStoreId) -> StoreResult<MemoryStore>;

    /// Returns memory stores, oldest first; archived ones only when asked.
    async fn list_memory_stores(&self, include_archived: bool) -> StoreResult<Vec<MemoryStore>>;

    /// Changes a store's name, description, metadata or protected paths.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::StoreArchived`]; [`StoreError::Rule`].
    async fn update_memory_store(
        &self,
        id: &MemoryStoreId,
        patch: MemoryStorePatch,
    ) -> StoreResult<MemoryStore>;

    /// Archives a store: from then on it is read-only (reads, deletes and redactions
    /// still work). One-way; archiving an archived store returns it unchanged.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn archive_memory_store(&self, id: &MemoryStoreId) -> StoreResult<MemoryStore>;

    /// Deletes a store with all its memories and versions.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete_memory_store(&self, id: &MemoryStoreId) -> StoreResult<()>;

    /// Applies `writes` in order, in one transaction, as `actor`: either every write
    /// becomes memory versions or none does. Each change advances the store version
    /// by one; a write that changes nothing writes no version. Returns the versions
    /// written, in order.
    ///
    /// # Errors
    /// - [`StoreError::Rule`]: a path or content breaks a rule;
    /// - [`StoreError::PathConflict`]: a create or rename onto a path in use;
    /// - [`StoreError::PreconditionFailed`]: a precondition hash does not match;
    /// - [`StoreError::StoreArchived`]: a create or update in an archived store;
    /// - [`StoreError::ProtectedPath`]: a dream actor touching a protected path;
    /// - [`StoreError::NotFound`]: an unknown store or memory.
    async fn write_memories(
        &self,
        store: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
    ) -> StoreResult<Vec<MemoryVersion>>;

    /// Returns a memory as it is now.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] (also for a deleted memory).
    async fn get_memory(&self, store: &MemoryStoreId, id: &MemoryId) -> StoreResult<Memory>;

    /// Returns the memory at `path`, if any.
    async fn find_memory(&self, store: &MemoryStoreId, path: &str) -> StoreResult<Option<Memory>>;

    /// Returns the memories whose path starts with `path_prefix` (all when `None`),
    /// sorted by path.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown store.
    async fn list_memories(
        &self,
        store: &MemoryStoreId,
        path_prefix: Option<&str>,
    ) -> StoreResult<Vec<Memory>>;

    /// Returns memory versions, newest first.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown store.
    async fn list_memory_versions(
        &self,
        store: &MemoryStoreId,
        filter: &VersionFilter,
    ) -> StoreResult<Vec<MemoryVersion>>;

    /// Returns one memory version.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_memory_version(
        &self,
        store: &MemoryStoreId,
        id: &MemoryVersionId,
    ) -> StoreResult<MemoryVersion>;

    /// Wipes the path and content of one version, keeping the record (for secrets and
    /// personal data). Redacting a redacted version returns it unchanged.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::RedactCurrent`] when the version holds
    /// a memory's current content (change or delete the memory first).
    async fn redact_memory_version(
        &self,
        store: &MemoryStoreId,
        id: &MemoryVersionId,
        actor: &Actor,
    ) -> StoreResult<MemoryVersion>;

    /// Returns every memory as of store version `store_version` (0 is the empty
    /// store), sorted by path; memories whose state was redacted have no content.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::VersionOutOfRange`] above the current version.
    async fn memories_at(
        &self,
        store: &MemoryStoreId,
        store_version: u64,
    ) -> StoreResult<Vec<MemorySnapshot>>;

    /// Returns the store's dream gates (the defaults when never set).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn dream_config(&self, store: &MemoryStoreId) -> StoreResult<DreamConfig>;

    /// Sets the store's dream gates.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn set_dream_config(
        &self,
        store: &MemoryStoreId,
        config: &DreamConfig,
    ) -> StoreResult<()>;

    /// Stores a new dream, minting its id and creation time (both fields of `dream`
    /// are replaced). Returns it as stored.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown store.
    async fn create_dream(&self, dream: Dream) -> StoreResult<Dream>;

    /// Saves a dream's progress (status, counts, timings, outputs). A dream whose
    /// stored status is final is not changed: the stored dream is returned instead
    /// (so a cancel is never overwritten by a worker that did not see it).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn update_dream(&self, dream: &Dream) -> StoreResult<Dream>;

    /// Returns a dream.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_dream(&self, id: &DreamId) -> StoreResult<Dream>;

    /// Returns dreams, newest first.
    async fn list_dreams(&self, filter: &DreamFilter) -> StoreResult<Vec<Dream>>;

    /// Stores a proposal, minting its id and creation time, with every change pending.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown dream.
    async fn create_proposal(&self, proposal: Proposal) -> StoreResult<Proposal>;

    /// Returns a proposal.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_proposal(&self, id: &ProposalId) -> StoreResult<Proposal>;

    /// Returns the review state of every change of a proposal, in the proposal's order.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn change_reviews(&self, id: &ProposalId) -> StoreResult<Vec<ChangeReview>>;

    /// Applies `writes` as `actor` (exactly as [`Store::write_memories`]) and records
    /// `review` in the same transaction, so applied changes and their review state
    /// never disagree. `writes` may be empty (a rejection). Applied reviews without an
    /// `applied_store_version` get the store version of the last write.
    ///
    /// # Errors
    /// As [`Store::write_memories`]; nothing is recorded when a write fails.
    async fn write_reviewed(
        &self,
        store: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
        review: &ReviewUpdate,
    ) -> StoreResult<Vec<MemoryVersion>>;

    /// Returns the rejections remembered for a store, oldest first.
    async fn rejections(&self, store: &MemoryStoreId) -> StoreResult<Vec<Rejection>>;

    /// Returns a session's cached signals for an extractor version, with the content
    /// hash they were extracted from.
    async fn cached_signals(
        &self,
        session: &SessionId,
        extractor_version: u32,
    ) -> StoreResult<Option<(String, String)>>;

    /// Caches a session's signals (JSON) for an extractor version and content hash.
    async fn cache_signals(
        &self,
        session: &SessionId,
        extractor_version: u32,
        content_hash: &str,
        signals: &str,
    ) -> StoreResult<()>;

    // --- API keys -------------------------------------------------------------

    /// Stores an API key (`apikey_…` id and creation time minted here).
    async fn create_api_key(&self, new: NewApiKey) -> StoreResult<ApiKey>;

    /// Returns the key whose secret has this SHA-256, revoked or not.
    async fn api_key_by_secret(&self, secret_sha256: &str) -> StoreResult<Option<ApiKey>>;

    /// Returns every key, oldest first.
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>>;

    /// Revokes a key (one-way; revoking twice keeps the first time).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn revoke_api_key(&self, id: &ApiKeyId) -> StoreResult<ApiKey>;

    /// Records that a key was used at `at` (never moves `last_used_at` backwards; an
    /// unknown id is ignored, as a key revoked and deleted mid-request is no error).
    async fn touch_api_key(&self, id: &ApiKeyId, at: Timestamp) -> StoreResult<()>;

    // --- Dream schedules ------------------------------------------------------

    /// Stores a schedule.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown memory store.
    async fn create_schedule(&self, new: NewSchedule) -> StoreResult<DreamSchedule>;

    /// Returns a schedule.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_schedule(&self, id: &ScheduleId) -> StoreResult<DreamSchedule>;

    /// Returns every schedule, oldest first.
    async fn list_schedules(&self) -> StoreResult<Vec<DreamSchedule>>;

    /// Replaces a schedule's fields (its id, creation time and runs stay).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn update_schedule(
        &self,
        id: &ScheduleId,
        new: NewSchedule,
    ) -> StoreResult<DreamSchedule>;

    /// Deletes a schedule and its run records.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete_schedule(&self, id: &ScheduleId) -> StoreResult<()>;

    /// Claims one slot of a schedule: returns true for the one caller that claims it
    /// first, false for every later caller (another worker, or the same server after a
    /// restart). A claimed slot is never run again.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown schedule.
    async fn claim_schedule_slot(&self, id: &ScheduleId, slot: Timestamp) -> StoreResult<bool>;

    /// Records what a claimed slot did: the dream it started, or why it was skipped.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the slot was never claimed (claim it first).
    async fn finish_schedule_run(
        &self,
        id: &ScheduleId,
        slot: Timestamp,
        dream_id: Option<&dream_types::DreamId>,
        skipped_reason: Option<&str>,
    ) -> StoreResult<()>;

    /// Returns a schedule's runs, newest slot first (empty for an unknown schedule).
    async fn schedule_runs(&self, id: &ScheduleId, limit: u64) -> StoreResult<Vec<ScheduleRun>>;

    // --- Webhooks ---------------------------------------------------------------

    /// Stores a webhook.
    async fn create_webhook(&self, new: NewWebhook) -> StoreResult<Webhook>;

    /// Returns a webhook.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn get_webhook(&self, id: &WebhookId) -> StoreResult<Webhook>;

    /// Returns every webhook, oldest first.
    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>>;

    /// Replaces a webhook's fields.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn update_webhook(&self, id: &WebhookId, new: NewWebhook) -> StoreResult<Webhook>;

    /// Deletes a webhook and its deliveries.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn delete_webhook(&self, id: &WebhookId) -> StoreResult<()>;

    /// Puts an event in the outbox: one pending delivery (`msg_…`, due now) per enabled
    /// webhook subscribed to `event_type`. Returns them.
    async fn enqueue_event(
        &self,
        event_type: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<Vec<WebhookDelivery>>;

    /// Leases up to `limit` pending deliveries due at `now`: their `next_attempt_at`
    /// moves to `lease_until` in the same transaction, so two workers never send the
    /// same try. Oldest due first. Attempts of theirs still in flight belong to a
    /// worker whose lease ran out (it died, or lost the store): they are finished as
    /// interrupted, with no status code, before the deliveries are returned.
    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDelivery>>;

    /// Records that a try starts at `at`, before its request goes out: an attempt
    /// `in_flight`, numbered after those recorded, whose number is returned. A crash
    /// while sending thus leaves the attempt visible; the next
    /// [`Store::claim_due_deliveries`] of the delivery finishes it as interrupted.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn start_delivery_attempt(&self, id: &DeliveryId, at: Timestamp) -> StoreResult<u32>;

    /// Records one try: delivered, rescheduled, or given up. When attempt
    /// `outcome.attempt.attempt` is still in flight (see
    /// [`Store::start_delivery_attempt`]) it is finished with the outcome; otherwise
    /// the attempt gets the next free number (a late report after the attempt was
    /// marked interrupted is kept as its own attempt). A delivered delivery stays
    /// delivered when a late report arrives.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn record_delivery_attempt(
        &self,
        id: &DeliveryId,
        outcome: DeliveryOutcome,
    ) -> StoreResult<WebhookDelivery>;

    /// Returns a webhook's deliveries, newest first, with every attempt (empty for an
    /// unknown webhook).
    async fn list_deliveries(
        &self,
        webhook: &WebhookId,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDelivery>>;

    // --- Outcomes ---------------------------------------------------------------

    /// Returns a store's outcomes configuration (the defaults when never set).
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn outcomes_config(&self, store: &MemoryStoreId) -> StoreResult<OutcomesConfig>;

    /// Sets a store's outcomes configuration.
    ///
    /// # Errors
    /// [`StoreError::NotFound`].
    async fn set_outcomes_config(
        &self,
        store: &MemoryStoreId,
        config: &OutcomesConfig,
    ) -> StoreResult<()>;

    /// Replaces a session's built-in metrics with `metrics` (computed by definitions
    /// `definition_version` from content `content_hash`), in one transaction; custom
    /// metrics stay.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown session.
    async fn put_builtin_metrics(
        &self,
        session: &SessionId,
        definition_version: u32,
        content_hash: &str,
        metrics: &[(String, f64)],
    ) -> StoreResult<()>;

    /// Records one metric value (a custom metric, usually), replacing an earlier value
    /// of the same name.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown session.
    async fn record_metric(&self, metric: &SessionMetric) -> StoreResult<()>;

    /// Returns every metric of these sessions, by session then name.
    async fn session_metrics(&self, sessions: &[SessionId]) -> StoreResult<Vec<SessionMetric>>;

    /// Returns up to `limit` sessions whose built-in metrics are missing, were computed
    /// by other definitions than `definition_version`, or from content that has since
    /// grown; oldest ingest first.
    async fn sessions_needing_metrics(
        &self,
        definition_version: u32,
        limit: u64,
    ) -> StoreResult<Vec<SessionId>>;

    /// Stores what the regression watch concluded about a dream (one record per dream:
    /// a later check replaces it), minting its id and time.
    async fn record_regression_check(&self, check: RegressionCheck)
    -> StoreResult<RegressionCheck>;

    /// Returns a store's regression checks, newest first.
    async fn regression_checks(&self, store: &MemoryStoreId) -> StoreResult<Vec<RegressionCheck>>;
}
