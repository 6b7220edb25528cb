//! Sessions: one run of an agent, as stored after ingestion.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Outcome, OutcomeResult, SessionId, Timestamp, TypesError};

/// The transcript format a session was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// `dream`'s own one-session-per-line JSONL (README, "Canonical JSONL").
    Canonical,
    /// OpenAI chat completions messages (`tool_calls`, `role: "tool"`).
    OpenaiChat,
    /// Anthropic Messages content blocks (`tool_use`, `tool_result`).
    AnthropicMessages,
    /// Claude Code's `~/.claude/projects/<project>/<session-id>.jsonl`.
    ClaudeCode,
    /// tau-bench `historical_trajectories/*.json` records.
    TauBench,
    /// Anthropic Managed Agents session events (`client.beta.sessions.events.list`).
    ManagedAgents,
}

impl SourceKind {
    /// Every kind, in declaration order.
    pub const ALL: [SourceKind; 6] = [
        SourceKind::Canonical,
        SourceKind::OpenaiChat,
        SourceKind::AnthropicMessages,
        SourceKind::ClaudeCode,
        SourceKind::TauBench,
        SourceKind::ManagedAgents,
    ];

    /// Returns the snake_case name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Canonical => "canonical",
            SourceKind::OpenaiChat => "openai_chat",
            SourceKind::AnthropicMessages => "anthropic_messages",
            SourceKind::ClaudeCode => "claude_code",
            SourceKind::TauBench => "tau_bench",
            SourceKind::ManagedAgents => "managed_agents",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceKind {
    type Err = TypesError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SourceKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| TypesError::InvalidName {
                kind: "source kind",
                value: text.to_owned(),
                expected: "canonical, openai_chat, anthropic_messages, claude_code, tau_bench, \
                           managed_agents",
            })
    }
}

/// The memory store version a session ran with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryVersionRef {
    /// The memory store (`memstore_…`), when the source names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    /// The store version number.
    pub version: u64,
}

/// What a reader knows about a session before its events: everything but the events,
/// the outcomes, and the values the store derives (id, hash, counts).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionHead {
    /// The format it was read from.
    pub source_kind: Option<SourceKind>,
    /// The id in the imported file (Claude Code `sessionId`, canonical `id`, …).
    pub source_session_id: String,
    /// The agent that ran it; together with `source_session_id` this identifies
    /// the session across ingests.
    pub agent: Option<String>,
    /// The person (or simulated user) it served.
    pub user: Option<String>,
    /// When it started; when absent, the first event timestamp is used.
    pub started_at: Option<Timestamp>,
    /// When it ended; when absent, the last event timestamp is used.
    pub ended_at: Option<Timestamp>,
    /// Free-form string pairs (`segment`, `task_id`, `cwd`, …).
    pub metadata: BTreeMap<String, String>,
    /// The memory store version it ran with.
    pub memory_version: Option<MemoryVersionRef>,
    /// The `source_session_id` of the session that spawned it (Claude Code subagents).
    pub parent_source_session_id: Option<String>,
    /// The file it was read from (`-` for standard input); not part of the content hash.
    pub source_path: Option<String>,
}

/// A stored session with its outcomes (events are read separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `sesn_…`, minted at first ingest and kept when the session grows.
    pub id: SessionId,
    /// The format it was first read from.
    pub source_kind: SourceKind,
    /// The id in the imported file.
    pub source_session_id: String,
    /// The agent that ran it.
    pub agent: Option<String>,
    /// The person it served.
    pub user: Option<String>,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub ended_at: Option<Timestamp>,
    /// Free-form string pairs.
    pub metadata: BTreeMap<String, String>,
    /// SHA-256 (hex) of the session's content: see [`crate::session_content_hash`].
    pub content_hash: String,
    /// The memory store version it ran with.
    pub memory_version: Option<MemoryVersionRef>,
    /// The parent session, once both are stored.
    pub parent_id: Option<SessionId>,
    /// The parent's id in the imported files.
    pub parent_source_session_id: Option<String>,
    /// Number of events.
    pub event_count: u64,
    /// Number of `tool_result` events with `is_error`.
    pub tool_error_count: u64,
    /// The file it was last read from.
    pub source_path: Option<String>,
    /// Results against rubric criteria, rewards, metrics.
    pub outcomes: Vec<Outcome>,
    /// When it was first stored.
    pub ingested_at: Timestamp,
    /// When it was last changed (grown or replaced).
    pub updated_at: Timestamp,
}

/// A `reward` below this counts as a failed session (as the engine judges sessions).
pub const REWARD_FAILED_BELOW: f64 = 0.5;

/// Which outcome a listed session must have.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeFilter {
    /// A session that went badly: a `failed` verdict, or a `reward` below
    /// [`REWARD_FAILED_BELOW`] (a tau-bench run with reward 0).
    Failed,
    /// A session that went well: a `satisfied` verdict, or a `reward` at or above
    /// [`REWARD_FAILED_BELOW`].
    Succeeded,
    /// Any outcome with this verdict.
    Result(OutcomeResult),
    /// An outcome with this name whose value equals `value` (within 1e-9).
    Value {
        /// Outcome name (`reward`).
        name: String,
        /// Required value.
        value: f64,
    },
}

/// Filters for listing sessions; every field narrows the list, `None` means any.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionFilter {
    /// Sessions of this agent.
    pub agent: Option<String>,
    /// Sessions of this user.
    pub user: Option<String>,
    /// Sessions that started (or, with no start time, were ingested) at or after this time.
    pub since: Option<Timestamp>,
    /// `Some(true)`: at least one failed tool result; `Some(false)`: none.
    pub has_errors: Option<bool>,
    /// Sessions with a matching outcome.
    pub outcome: Option<OutcomeFilter>,
    /// Sessions first stored after this time.
    pub ingested_after: Option<Timestamp>,
    /// Only top-level sessions (no parent), when true.
    pub top_level_only: bool,
    /// Sessions that started (or, with no start time, were ingested) at or before this time.
    pub until: Option<Timestamp>,
    /// Sessions that ran with a version of this memory store (`memstore_…`).
    pub memory_store_id: Option<String>,
    /// Only sessions listed after this one, newest first: the sort key (start time, or
    /// ingest time) and id of the last session of the previous page (keyset paging).
    pub after_key: Option<(Timestamp, SessionId)>,
    /// At most this many, newest first; `None` for all.
    pub limit: Option<u64>,
}

impl SessionFilter {
    /// Returns true when `session` passes every filter except `limit`.
    pub fn matches(&self, session: &Session) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| have.as_deref() == Some(w.as_str()))
        };
        if !eq(&self.agent, &session.agent) || !eq(&self.user, &session.user) {
            return false;
        }
        let sort_time = session.started_at.unwrap_or(session.ingested_at);
        if self.since.is_some_and(|since| sort_time < since)
            || self.until.is_some_and(|until| sort_time > until)
        {
            return false;
        }
        if let Some(store) = &self.memory_store_id
            && session
                .memory_version
                .as_ref()
                .and_then(|v| v.store_id.as_ref())
                != Some(store)
        {
            return false;
        }
        if let Some((at, id)) = &self.after_key
            && (sort_time, &session.id) >= (*at, id)
        {
            return false;
        }
        if let Some(want) = self.has_errors
            && (session.tool_error_count > 0) != want
        {
            return false;
        }
        if self
            .ingested_after
            .is_some_and(|after| session.ingested_at <= after)
        {
            return false;
        }
        if self.top_level_only && session.parent_source_session_id.is_some() {
            return false;
        }
        match &self.outcome {
            None => true,
            Some(OutcomeFilter::Failed) => session.outcomes.iter().any(|o| {
                o.result == Some(OutcomeResult::Failed)
                    || (o.name == "reward" && o.value.is_some_and(|v| v < REWARD_FAILED_BELOW))
            }),
            Some(OutcomeFilter::Succeeded) => session.outcomes.iter().any(|o| {
                o.result == Some(OutcomeResult::Satisfied)
                    || (o.name == "reward" && o.value.is_some_and(|v| v >= REWARD_FAILED_BELOW))
            }),
            Some(OutcomeFilter::Result(result)) => session
                .outcomes
                .iter()
                .any(|o| o.result.as_ref() == Some(result)),
            Some(OutcomeFilter::Value { name, value }) => session
                .outcomes
                .iter()
                .any(|o| &o.name == name && o.value.is_some_and(|v| (v - value).abs() < 1e-9)),
        }
    }
}
