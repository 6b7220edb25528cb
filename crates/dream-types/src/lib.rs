//! Domain types shared by every `dream` crate: ids, timestamps, sessions, events,
//! outcomes, and the content hash that makes ingestion idempotent.
//!
//! Nothing here performs I/O. The clock and the id generator are traits so that the
//! engine and the tests can be deterministic (DESIGN.md, "Architecture").
//!
//! ```
//! use dream_types::{Event, EventKind, IdGenerator, SequentialIds, SessionId};
//!
//! let ids = SequentialIds::new(7);
//! let id: SessionId = ids.next_id();
//! assert!(id.as_str().starts_with("sesn_"));
//!
//! let event = Event::new(0, EventKind::UserMessage, "please use pnpm");
//! assert_eq!(event.kind.as_str(), "user_message");
//! ```
#![warn(missing_docs)]

pub mod clock;
pub mod dream;
pub mod error;
pub mod event;
pub mod hash;
pub mod id;
pub mod memory;
pub mod outcome;
pub mod platform;
pub mod session;
pub mod timestamp;
pub mod tracking;

pub use clock::{Clock, FixedClock, SystemClock};
pub use dream::{
    Change, ChangeOp, ChangeReview, ChangeStatus, Dream, DreamConfig, DreamCounts, DreamError,
    DreamId, DreamMode, DreamStatus, DreamUsage, Edit, Evidence, Flag, HeldBack, HeldBackReason,
    OutcomeStats, OutputBehavior, Proposal, ProposalId, Rejection, SessionWindow, StageTimings,
    Support, WindowFilters,
};
pub use error::{TypesError, TypesResult};
pub use event::{Event, EventKind, REJECTION_PREFIX};
pub use hash::{EventDigest, HashedSession, canonical_json, session_content_hash, sha256_hex};
pub use id::{IdGenerator, PrefixedId, RandomIds, SequentialIds, SessionId, new_id};
pub use memory::{
    Actor, Memory, MemoryId, MemoryListItem, MemoryOperation, MemorySnapshot, MemoryStore,
    MemoryStoreId, MemoryVersion, MemoryVersionId, RuleError, content_sha256, path_has_prefix,
    roll_up, validate_content, validate_description, validate_metadata, validate_path,
    validate_prefix, validate_store_name,
};
pub use outcome::{Outcome, OutcomeResult};
pub use platform::{
    ApiKey, ApiKeyId, DeliveryAttempt, DeliveryId, DeliveryStatus, DreamSchedule, ScheduleId,
    ScheduleRun, ScheduleWindow, Scope, WEBHOOK_EVENTS, Webhook, WebhookDelivery, WebhookId,
};
pub use session::{
    MemoryVersionRef, OutcomeFilter, REWARD_FAILED_BELOW, Session, SessionFilter, SessionHead,
    SourceKind,
};
pub use timestamp::Timestamp;
pub use tracking::{
    Criterion, MetricSource, OutcomePolicy, OutcomesConfig, RegressionCheck, RegressionCheckId,
    SessionMetric, SignalWeight,
};
