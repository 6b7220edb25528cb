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
mod merge;
pub mod sqlite;

use std::ops::Range;

use async_trait::async_trait;
use dream_types::{Event, Outcome, Session, SessionFilter, SessionHead, SessionId};
use serde::Serialize;

pub use error::{StoreError, StoreResult};
pub use sqlite::{OpenMode, SqliteStore};

/// Supplies a session's events, in index order, to [`Store::write_session`].
#[async_trait]
pub trait EventSource: Send {
    /// Returns the next event, or `None` when the session ends or its input turned
    /// out to be invalid (then [`EventSource::finish`] says which).
    async fn next_event(&mut self) -> Option<Event>;

    /// Says how the events ended; called once, after `next_event` returned `None`.
    fn finish(&mut self) -> SourceEnd;
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
}
