//! Dreams, proposals and changes: a consolidation job and its reviewable result
//! (DESIGN.md glossary). The job shape follows Anthropic's `BetaDream` (official
//! `anthropic` SDK 2.10.0, `types/beta/beta_dream.py`); proposals, changes, review and
//! the gates are `dream`'s own.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MemoryStoreId, SessionId, Timestamp, define_id};

define_id!(
    /// Identifies a dream (`drm_…`).
    DreamId,
    "drm",
    "dream"
);
define_id!(
    /// Identifies a proposal (`prop_…`).
    ProposalId,
    "prop",
    "proposal"
);

/// Where a dream is in its lifecycle; `completed`, `failed` and `canceled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DreamStatus {
    /// Created, not started.
    Pending,
    /// Reading sessions and mining.
    Running,
    /// The proposal is stored (and, in auto mode, applied).
    Completed,
    /// Stopped by an error (see `error`).
    Failed,
    /// Stopped by a person before it completed.
    Canceled,
}

impl DreamStatus {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DreamStatus::Pending => "pending",
            DreamStatus::Running => "running",
            DreamStatus::Completed => "completed",
            DreamStatus::Failed => "failed",
            DreamStatus::Canceled => "canceled",
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Running,
            Self::Completed,
            Self::Failed,
            Self::Canceled,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// Returns whether the status never changes again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Canceled)
    }
}

impl fmt::Display for DreamStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which store a dream writes its result to (Anthropic's `output_behavior`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputBehavior {
    /// A new store starting as a copy of the input; the input store is untouched.
    #[default]
    CreateNew,
    /// The input store itself (in review mode, only after approval).
    UpdateExisting,
}

/// Whether a person reviews the proposal first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DreamMode {
    /// Nothing is applied until a person approves.
    #[default]
    Review,
    /// Everything not flagged `needs_human` is applied when the dream completes.
    Auto,
}

/// Token counts (Anthropic's `BetaDreamUsage`); all zero for the `local` engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DreamUsage {
    /// Input tokens not read from or written to a prompt cache.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to a prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from a prompt cache.
    pub cache_read_input_tokens: u64,
}

/// Why a dream failed (Anthropic's `BetaDreamErrorObject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DreamError {
    /// A code such as `invalid_request_error` or `internal_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// How many things each stage saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DreamCounts {
    /// Sessions read (top-level; their subagent sessions are read with them).
    pub sessions_read: u64,
    /// Of those, sessions whose signals came from the cache.
    pub sessions_cached: u64,
    /// Signals extracted.
    pub signals: u64,
    /// Patterns mined.
    pub patterns: u64,
    /// Changes proposed.
    pub changes: u64,
    /// Patterns or changes held back.
    pub held_back: u64,
    /// Sessions the window matched that have no start time of their own (tau-bench
    /// runs, say): read only with `include_undated`, else left out and listed in
    /// [`Dream::undated_session_ids`]. 0 in dreams stored before this count existed.
    #[serde(default)]
    pub undated: u64,
}

/// Milliseconds spent per pipeline stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTimings {
    /// Choosing sessions and reading the store.
    pub select_ms: u64,
    /// Extracting signals.
    pub extract_ms: u64,
    /// Clustering and statistics.
    pub mine_ms: u64,
    /// Building changes against the store.
    pub curate_ms: u64,
    /// Verifying evidence, secrets and injection.
    pub check_ms: u64,
    /// Storing (and in auto mode applying) the proposal.
    pub output_ms: u64,
}

/// The gates and budgets of the local engine; stored per memory store, overridable
/// per dream. Defaults are documented on each field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DreamConfig {
    /// Distinct sessions a pattern needs to become a lesson. Default 3: two sessions
    /// can be coincidence; three in a window is a habit.
    pub min_support: u64,
    /// Significance level for outcome claims (Fisher's exact test, two-sided).
    /// Default 0.05.
    pub significance: f64,
    /// Share of the window's distinct users who must state a preference for it to
    /// become a general rule (otherwise it is scoped to its user, or held back).
    /// Default 0.25.
    pub min_user_share: f64,
    /// Share of a pattern's sessions in one segment (or agent) above which its
    /// lesson is scoped to that segment. Default 0.9.
    pub scope_share: f64,
    /// Largest store size in bytes after the dream; lowest-utility notes are compacted
    /// away to fit. `None` (default): no limit.
    pub max_memory_bytes: Option<u64>,
    /// Largest store size in tokens after the dream, estimated as the exported agents
    /// file would be read (about 4 bytes a token, the rule of thumb in Anthropic's and
    /// OpenAI's tokenizer docs for English text). Applies together with
    /// `max_memory_bytes`; the tighter one wins. `None` (default): no limit.
    pub max_memory_tokens: Option<u64>,
    /// Jaccard similarity at or above which two notes are near-duplicates. Default 0.7.
    pub duplicate_similarity: f64,
    /// Where dreams on this store write their result when the dream does not say.
    /// `None` (default): the front end decides (the CLI writes to the store itself in
    /// review mode; the HTTP API keeps Anthropic's default, `create_new`).
    pub output_behavior: Option<OutputBehavior>,
    /// The agents whose sessions dreams on this store read (empty, the default: every
    /// agent). A dream that names agents itself reads those instead; a dream given
    /// explicit session ids reads exactly those.
    pub agents: Vec<String>,
}

impl Default for DreamConfig {
    fn default() -> Self {
        Self {
            min_support: 3,
            significance: 0.05,
            min_user_share: 0.25,
            scope_share: 0.9,
            max_memory_bytes: None,
            max_memory_tokens: None,
            duplicate_similarity: 0.7,
            output_behavior: None,
            agents: Vec::new(),
        }
    }
}

/// Which sessions a dream reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionWindow {
    /// Exactly these sessions (1–100, as Anthropic's API).
    Explicit {
        /// `sesn_…` ids.
        session_ids: Vec<SessionId>,
    },
    /// The newest top-level sessions.
    Last {
        /// How many.
        count: u64,
    },
    /// Top-level sessions started in the last `seconds`.
    Since {
        /// Window length in seconds.
        seconds: u64,
    },
    /// Every top-level session.
    All,
}

/// Which of the window's sessions a dream reads: filters on agent and metadata, and
/// whether sessions with no start time of their own count. Time windows (`since`) go
/// by a session's own start time (`started_at`), never by when it was ingested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowFilters {
    /// Only sessions of these agents (any of them); empty: every agent (or the
    /// store's pinned agents, [`DreamConfig::agents`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// Only sessions whose metadata has every one of these pairs.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Also read sessions with no start time of their own (a `since` window cannot
    /// place them in time). Default false: they are left out and listed as undated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub include_undated: bool,
}

impl WindowFilters {
    /// Returns true when no filter is set.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty() && self.metadata.is_empty() && !self.include_undated
    }
}

/// A consolidation job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dream {
    /// `drm_…`.
    pub id: DreamId,
    /// The store it reads.
    pub memory_store_id: MemoryStoreId,
    /// The store version it read.
    pub base_store_version: u64,
    /// The sessions it read, sorted.
    pub session_ids: Vec<SessionId>,
    /// How they were chosen.
    pub window: SessionWindow,
    /// Filters applied to the window (the store's pinned agents included).
    #[serde(default, skip_serializing_if = "WindowFilters::is_empty")]
    pub filters: WindowFilters,
    /// Sessions the window matched but left out for having no start time of their
    /// own (see [`WindowFilters::include_undated`]), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undated_session_ids: Vec<SessionId>,
    /// Whether the dream's proposal marks the store's older pending proposals
    /// `superseded` when it is stored.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supersede_pending: bool,
    /// The older proposals of the store whose pending changes this dream's proposal
    /// marked `superseded`, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded_proposal_ids: Vec<ProposalId>,
    /// `local` (deterministic, no LLM).
    pub engine: String,
    /// Guidance, kept for LLM engines (the local engine records it only).
    pub instructions: Option<String>,
    /// Where the result goes.
    pub output_behavior: OutputBehavior,
    /// Review or auto.
    pub mode: DreamMode,
    /// Gates used.
    pub config: DreamConfig,
    /// Lifecycle.
    pub status: DreamStatus,
    /// Why it failed.
    pub error: Option<DreamError>,
    /// Tokens (zero for `local`).
    pub usage: DreamUsage,
    /// The store holding the result, once known.
    pub output_store_id: Option<MemoryStoreId>,
    /// The proposal, once stored.
    pub proposal_id: Option<ProposalId>,
    /// Per-stage counts.
    pub counts: DreamCounts,
    /// Per-stage time.
    pub timings: StageTimings,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it started running.
    pub started_at: Option<Timestamp>,
    /// When it reached a final status.
    pub ended_at: Option<Timestamp>,
    /// When it was archived.
    pub archived_at: Option<Timestamp>,
}

/// What a change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// A new note (a lesson, preference or fact).
    Add,
    /// A note rewritten (support refreshed, contradicted note corrected).
    Update,
    /// Near-duplicate notes folded into one.
    Merge,
    /// A keyed fact replaced by a newer value.
    Supersede,
    /// A note removed.
    Delete,
    /// Notes removed to fit `max_memory_bytes`.
    Compact,
}

impl ChangeOp {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Add => "add",
            ChangeOp::Update => "update",
            ChangeOp::Merge => "merge",
            ChangeOp::Supersede => "supersede",
            ChangeOp::Delete => "delete",
            ChangeOp::Compact => "compact",
        }
    }
}

/// One text edit of one memory: `before` (empty to append) becomes `after` (empty to remove).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// The memory's path.
    pub path: String,
    /// The exact text replaced; empty when appending.
    pub before: String,
    /// The new text; empty when removing.
    pub after: String,
}

/// Distinct sessions, users and agents behind a pattern or change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Support {
    /// Distinct sessions.
    pub sessions: u64,
    /// Distinct known users.
    pub users: u64,
    /// Distinct known agents.
    pub agents: u64,
}

/// A pointer into a transcript with a quote that must appear verbatim in that event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The stored session holding the event.
    pub session_id: SessionId,
    /// Its id in the imported file.
    pub source_session_id: String,
    /// The event's index.
    pub event_index: u32,
    /// Verbatim text of the event (secrets redacted, see `redacted`).
    pub quote: String,
    /// The quote had a secret replaced by `[REDACTED]` after verification.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// A failure-rate comparison: sessions with a pattern against sessions without.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeStats {
    /// Sessions with the pattern and a known outcome.
    pub with_sessions: u64,
    /// Of those, failed.
    pub with_failed: u64,
    /// Sessions without the pattern and with a known outcome.
    pub without_sessions: u64,
    /// Of those, failed.
    pub without_failed: u64,
    /// `with_failed / with_sessions`.
    pub failure_rate_with: f64,
    /// `without_failed / without_sessions`.
    pub failure_rate_without: f64,
    /// `failure_rate_with / failure_rate_without` (`None` when the latter is 0).
    pub lift: Option<f64>,
    /// Two-sided p-value of Fisher's exact test on the 2×2 table.
    pub p_value: f64,
    /// `"fisher_exact_two_sided"`.
    pub test: String,
    /// `p_value < significance` and the pattern fails more often.
    pub significant: bool,
}

/// Flags that change how a change may be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// A lesson a person deleted before, proposed again because sessions after the
    /// deletion reached `min_support` on their own; always needs a person.
    PreviouslyDeleted,
    /// Changes text a person wrote (a note whose latest wording came from a user or
    /// API actor): only its support figures may change, so a person decides.
    PersonWritten,
    /// Looks like an attempt to steer the agent (injection shape, exfiltration URL,
    /// text from tool output giving orders): never auto-applied.
    NeedsHuman,
    /// A secret was redacted from the text.
    SecretRedacted,
    /// Rests on one user's statements.
    SingleUser,
    /// Scoped to one segment, agent or user.
    Scoped,
}

/// One proposed edit with everything a reviewer needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `chg_…`, derived from the change's content (stable across identical dreams).
    pub id: String,
    /// What it does.
    pub op: ChangeOp,
    /// The primary memory path.
    pub path: String,
    /// The primary edit's text before (empty for additions).
    pub before: String,
    /// The primary edit's text after (empty for removals).
    pub after: String,
    /// Every edit, the primary first (a merge across files removes the duplicate too).
    pub edits: Vec<Edit>,
    /// Why, in one line.
    pub justification: String,
    /// Who and how many stand behind it.
    pub support: Support,
    /// Outcome association and other numbers (keys are stable snake_case names).
    pub stats: BTreeMap<String, serde_json::Value>,
    /// Verbatim quotes from the sessions.
    pub evidence: Vec<Evidence>,
    /// Flags.
    pub flags: Vec<Flag>,
    /// The pattern it came from (`tool_error:…`, `preference:…`), used to refresh
    /// support later and to suppress look-alikes of rejected changes.
    pub pattern_key: Option<String>,
}

/// Why something was not proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeldBackReason {
    /// A lesson a person deleted from memory; proposed again only when sessions after
    /// the deletion reach `min_support` on their own (then flagged `needs_human`).
    PreviouslyDeleted,
    /// Fewer distinct sessions than `min_support`.
    BelowMinSupport,
    /// An outcome association that is not significant at the configured level.
    NotSignificant,
    /// A preference from too small a share of users.
    UserShareTooLow,
    /// A look-alike of a change a reviewer rejected.
    SuppressedByRejection,
    /// It would change a protected path.
    ProtectedPath,
    /// Its evidence did not verify (an engine bug; reported, never applied).
    EvidenceNotVerified,
    /// A failure that is not a mistake: a timeout, a rate limit, a server error or a
    /// reset connection, with no fix seen and no association with failed sessions.
    Transient,
}

/// A pattern or change held back by a gate, with the numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldBack {
    /// Which gate.
    pub reason: HeldBackReason,
    /// What it is, in one line.
    pub summary: String,
    /// Its support.
    pub support: Support,
    /// Its evidence.
    pub evidence: Vec<Evidence>,
    /// The numbers behind the decision.
    pub stats: BTreeMap<String, serde_json::Value>,
    /// The pattern key, when it came from a pattern.
    pub pattern_key: Option<String>,
}

/// A dream's result as a reviewable diff against its input store version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// `prop_…`.
    pub id: ProposalId,
    /// The dream that produced it.
    pub dream_id: DreamId,
    /// The store the changes apply to (the output store for `create_new`).
    pub store_id: MemoryStoreId,
    /// The store version the changes were computed against.
    pub base_store_version: u64,
    /// The changes, in a stable order.
    pub changes: Vec<Change>,
    /// What the gates held back.
    pub held_back: Vec<HeldBack>,
    /// When it was stored.
    pub created_at: Timestamp,
}

/// Where one change is in review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    /// Not reviewed yet.
    Pending,
    /// Written to the store.
    Applied,
    /// Rejected by a reviewer.
    Rejected,
    /// Its target moved since the base version and the edit no longer fits.
    Stale,
    /// A newer proposal replaced its proposal before anyone reviewed it; it can no
    /// longer be applied (the reason names the newer proposal).
    Superseded,
}

impl ChangeStatus {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Pending => "pending",
            ChangeStatus::Applied => "applied",
            ChangeStatus::Rejected => "rejected",
            ChangeStatus::Stale => "stale",
            ChangeStatus::Superseded => "superseded",
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Applied,
            Self::Rejected,
            Self::Stale,
            Self::Superseded,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// The review state of one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeReview {
    /// The change.
    pub change_id: String,
    /// Its status.
    pub status: ChangeStatus,
    /// The rejection reason, or why it went stale.
    pub reason: Option<String>,
    /// The store version its write produced.
    pub applied_store_version: Option<u64>,
    /// When it was reviewed.
    pub reviewed_at: Option<Timestamp>,
    /// Who reviewed it (`user_actor:user_ana`, `dream_actor:drm_…` in auto mode).
    pub reviewed_by: Option<String>,
}

/// A rejected change remembered per store, to suppress look-alikes later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The store.
    pub memory_store_id: MemoryStoreId,
    /// The rejected change.
    pub change_id: String,
    /// Its pattern, if any.
    pub pattern_key: Option<String>,
    /// Its text after.
    pub after: String,
    /// The reviewer's reason.
    pub reason: String,
    /// When.
    pub created_at: Timestamp,
}
