//! Backend-independent rules for writing a session over what is already stored:
//! digest tracking, prefix detection, derived times and counters.

use dream_types::{
    Event, EventDigest, HashedSession, Outcome, SessionHead, Timestamp, session_content_hash,
};

use crate::{StoreError, StoreResult};

/// What is stored under the same `(agent, source_session_id)`.
#[derive(Debug, Clone)]
pub(crate) struct Existing {
    pub id: String,
    pub event_count: u64,
    pub events_digest: String,
    pub content_hash: String,
}

/// How the incoming events relate to the stored ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Nothing stored: write everything.
    Create,
    /// Stored events must be a prefix: skip them, write the rest.
    Extend,
    /// Stored events were deleted: write everything.
    Rewrite,
}

/// Tracks one session's events as they stream in.
#[derive(Debug)]
pub(crate) struct Merge {
    plan: Plan,
    stored_count: u64,
    stored_digest: String,
    digest: EventDigest,
    tool_errors: u64,
    earliest: Option<Timestamp>,
    latest: Option<Timestamp>,
}

/// The session fields a backend writes after the last event.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub event_count: u64,
    pub tool_error_count: u64,
    pub events_digest: String,
    pub content_hash: String,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

impl Merge {
    pub fn new(plan: Plan, existing: Option<&Existing>) -> Self {
        let (stored_count, stored_digest) = match (plan, existing) {
            (Plan::Extend, Some(e)) => (e.event_count, e.events_digest.clone()),
            _ => (0, String::new()),
        };
        Self {
            plan,
            stored_count,
            stored_digest,
            digest: EventDigest::new(),
            tool_errors: 0,
            earliest: None,
            latest: None,
        }
    }

    /// Folds `event` in. Returns `Ok(true)` when it must be written, `Ok(false)` when
    /// it is already stored.
    ///
    /// # Errors
    /// `InvalidEvent` on an index gap; `Err(None)`-like divergence is reported through
    /// [`Merge::diverged_at`] by returning [`MergeStep::Diverged`].
    pub fn accept(&mut self, event: &Event) -> StoreResult<MergeStep> {
        if u64::from(event.index) != self.digest.count() {
            return Err(StoreError::InvalidEvent(format!(
                "event index {} where {} was expected",
                event.index,
                self.digest.count()
            )));
        }
        self.digest.push(event);
        if event.is_tool_error() {
            self.tool_errors += 1;
        }
        if let Some(ts) = event.timestamp {
            self.earliest = Some(self.earliest.map_or(ts, |e| e.min(ts)));
            self.latest = Some(self.latest.map_or(ts, |l| l.max(ts)));
        }
        let seen = self.digest.count();
        if self.plan == Plan::Extend && seen <= self.stored_count {
            if seen == self.stored_count && self.digest.hex() != self.stored_digest {
                return Ok(MergeStep::Diverged);
            }
            return Ok(MergeStep::AlreadyStored);
        }
        Ok(MergeStep::Write)
    }

    /// Returns whether the new events ended before covering the stored ones.
    pub fn is_shorter_than_stored(&self) -> bool {
        self.plan == Plan::Extend && self.digest.count() < self.stored_count
    }

    /// Completes the session: derives missing times from events and hashes the content.
    pub fn finish(&self, head: &SessionHead, outcomes: &[Outcome]) -> Finished {
        let started_at = head.started_at.or(self.earliest);
        let ended_at = head.ended_at.or(self.latest);
        let content_hash = session_content_hash(
            HashedSession {
                source_session_id: &head.source_session_id,
                agent: head.agent.as_deref(),
                user: head.user.as_deref(),
                started_at,
                ended_at,
                metadata: &head.metadata,
                memory_version: head.memory_version.as_ref(),
                parent_source_session_id: head.parent_source_session_id.as_deref(),
                outcomes,
            },
            &self.digest,
        );
        Finished {
            event_count: self.digest.count(),
            tool_error_count: self.tool_errors,
            events_digest: self.digest.hex(),
            content_hash,
            started_at,
            ended_at,
        }
    }
}

/// What to do with one accepted event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeStep {
    /// Write it.
    Write,
    /// Already stored (part of the stored prefix).
    AlreadyStored,
    /// The stored events are not a prefix of the new ones.
    Diverged,
}
