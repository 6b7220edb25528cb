//! The wire shape of a stored session: Anthropic's `BetaManagedAgentsSession`
//! (official `anthropic` SDK 2.10.0, `types/beta/beta_managed_agents_session.py` and
//! the types it imports), plus `dream`'s fields about where the session came from.
//!
//! `dream` records sessions that ran elsewhere, so the Managed Agents fields that
//! describe a live run are fixed: `status` is always `terminated`, `archived_at`,
//! `budget` and `deployment_id` are null, `usage` is empty, `vault_ids` is empty, and
//! the agent snapshot carries only its name (tools, skills and MCP servers are not in
//! transcripts).

use std::collections::BTreeMap;

use dream_types::{Outcome, Session, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

/// The agent `version` every imported session reports: transcripts do not say which
/// version of an agent ran, and Managed Agents numbers versions from 1.
pub const AGENT_VERSION: u64 = 1;

/// The `status` of every imported session (it has ended; `dream` does not run agents).
pub const STATUS: &str = "terminated";

/// `BetaManagedAgentsSession`, plus `dream`'s provenance fields.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionOut {
    /// `"session"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `sesn_…`, minted at first import and kept when the session grows.
    pub id: String,
    /// The agent that ran it (`BetaManagedAgentsSessionAgent`).
    pub agent: AgentOut,
    /// Always null: imported sessions are not archived.
    #[schema(value_type = Option<String>)]
    pub archived_at: Option<Timestamp>,
    /// Always null: no spend ceiling applies to a recorded session.
    #[schema(value_type = Option<Object>)]
    pub budget: Option<()>,
    /// When it started (RFC 3339); the import time when the transcript has no times.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// The `environment_id` metadata value, else empty.
    pub environment_id: String,
    /// Free-form string pairs from the transcript (`segment`, `task_id`, `cwd`, …).
    pub metadata: BTreeMap<String, String>,
    /// One entry per outcome that carries a verdict (`satisfied`, `failed`, …);
    /// numeric outcomes such as a reward are in `outcomes` only.
    pub outcome_evaluations: Vec<OutcomeEvaluationOut>,
    /// A `memory_store` resource when the session names the store it ran with.
    pub resources: Vec<MemoryStoreResourceOut>,
    /// Timing statistics.
    pub stats: StatsOut,
    /// Always `terminated`.
    pub status: &'static str,
    /// The `title` metadata value, or null.
    pub title: Option<String>,
    /// Always empty: transcripts carry no token counts `dream` keeps.
    #[schema(value_type = Object)]
    pub usage: BTreeMap<String, u64>,
    /// Always empty.
    pub vault_ids: Vec<String>,
    /// Always null.
    pub deployment_id: Option<String>,
    /// When it was last changed in this store: grown, updated or replaced (RFC 3339).
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
    /// `dream`: the transcript format it was read from (`claude_code`, `tau_bench`,
    /// `managed_agents`, `canonical`, `openai_chat`, `anthropic_messages`).
    pub source_kind: &'static str,
    /// `dream`: its id in the imported transcript (a Claude Code session UUID, a
    /// tau-bench `<file>/task-N/trial-M`, a Managed Agents `sesn_…`).
    pub source_session_id: String,
    /// `dream`: the person (or simulated user) it served, when known.
    pub user: Option<String>,
    /// `dream`: the session that spawned it (a Claude Code subagent's main session),
    /// once that session is stored too; else null.
    pub parent_session_id: Option<String>,
    /// `dream`: the parent's id in the imported transcript, when it is a subagent.
    pub parent_source_session_id: Option<String>,
    /// `dream`: every outcome as imported: `name`, and `result`, `value`,
    /// `explanation` when the source gives them (tau-bench: `reward` 0 or 1).
    #[schema(value_type = Vec<Object>)]
    pub outcomes: Vec<Outcome>,
    /// `dream`: number of events (`GET /v1/sessions/{id}/events`).
    pub event_count: u64,
    /// `dream`: number of failed tool results.
    pub tool_error_count: u64,
    /// `dream`: lowercase hex SHA-256 of the session's content; the same transcript
    /// imported again has the same hash.
    pub content_sha256: String,
    /// `dream`: the memory store version it ran with, as `{"store_id", "version"}`
    /// (`store_id` absent when the transcript gives only the number), or null.
    #[schema(value_type = Option<Object>)]
    pub memory_version: Option<dream_types::MemoryVersionRef>,
    /// `dream`: when it was first stored (RFC 3339).
    #[schema(value_type = String)]
    pub ingested_at: Timestamp,
}

/// `BetaManagedAgentsSessionAgent`: what a transcript says about the agent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentOut {
    /// `"agent"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The agent's name (what `agent_id` filters on); empty when the transcript names
    /// none and the import passed no `agent`.
    pub id: String,
    /// The same name.
    pub name: String,
    /// Always 1.
    pub version: u64,
    /// The model: the `model` metadata value (Claude Code records it), else `unknown`.
    pub model: ModelOut,
    /// Always null.
    pub description: Option<String>,
    /// Always null.
    pub system: Option<String>,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    pub tools: Vec<()>,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    pub skills: Vec<()>,
    /// Always empty.
    #[schema(value_type = Vec<Object>)]
    pub mcp_servers: Vec<()>,
    /// Always null.
    #[schema(value_type = Option<Object>)]
    pub multiagent: Option<()>,
    /// Always `{"type": "service_account"}` (a transcript names no principal).
    pub execution_identity: ExecutionIdentityOut,
}

/// `BetaManagedAgentsModelConfig`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelOut {
    /// The model id.
    pub id: String,
}

/// `BetaManagedAgentsServiceAccountExecutionIdentity`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExecutionIdentityOut {
    /// `"service_account"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// `BetaManagedAgentsSessionStats`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatsOut {
    /// Seconds from the first to the last event, when the transcript has times.
    pub duration_seconds: Option<f64>,
    /// Always null: transcripts do not say when the agent was idle.
    pub active_seconds: Option<f64>,
}

/// `BetaManagedAgentsOutcomeEvaluationResource`, from an outcome with a verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutcomeEvaluationOut {
    /// `"outcome_evaluation"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `outc_…`, derived from the session and the outcome's name (stable).
    pub outcome_id: String,
    /// The outcome's name (a Managed Agents outcome's description, a rubric criterion).
    pub description: String,
    /// The verdict: `satisfied`, `needs_revision`, `max_iterations_reached`, `failed`,
    /// `interrupted`, or the name the source used.
    pub result: String,
    /// The grader's explanation, or null.
    pub explanation: Option<String>,
    /// Always 0: imports keep the final verdict only.
    pub iteration: u64,
    /// When the session ended, or null.
    #[schema(value_type = Option<String>)]
    pub completed_at: Option<Timestamp>,
}

/// `BetaManagedAgentsMemoryStoreResource`: the store the session ran with.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemoryStoreResourceOut {
    /// `"memory_store"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `memstore_…`.
    pub memory_store_id: String,
    /// `dream`: the store version the session started with.
    pub store_version: u64,
}

/// Returns the time a session is listed and filtered by: when it started, else when
/// it was first stored (the store's sort key).
pub fn session_time(session: &Session) -> Timestamp {
    session.started_at.unwrap_or(session.ingested_at)
}

/// Returns a stable id: `prefix_` and 26 hex digits of SHA-256 of `seed` (the layout
/// of `dream`'s other ids).
pub fn derived_id(prefix: &str, seed: &str) -> String {
    let hash = dream_types::sha256_hex(seed.as_bytes());
    format!("{prefix}_{}", &hash[..26.min(hash.len())])
}

impl SessionOut {
    /// The wire shape of `session`.
    pub fn new(session: Session) -> Self {
        let agent_name = session.agent.clone().unwrap_or_default();
        let model = session
            .metadata
            .get("model")
            .cloned()
            .unwrap_or_else(|| "unknown".to_owned());
        let duration_seconds = match (session.started_at, session.ended_at) {
            (Some(start), Some(end)) if end >= start => {
                Some((end.unix_micros() - start.unix_micros()) as f64 / 1e6)
            }
            _ => None,
        };
        let outcome_evaluations = session
            .outcomes
            .iter()
            .filter_map(|outcome| {
                let result = outcome.result.as_ref()?;
                Some(OutcomeEvaluationOut {
                    kind: "outcome_evaluation",
                    outcome_id: derived_id("outc", &format!("{}#{}", session.id, outcome.name)),
                    description: outcome.name.clone(),
                    result: result.as_str().to_owned(),
                    explanation: outcome.explanation.clone(),
                    iteration: 0,
                    completed_at: session.ended_at,
                })
            })
            .collect();
        let resources = session
            .memory_version
            .as_ref()
            .and_then(|version| {
                Some(MemoryStoreResourceOut {
                    kind: "memory_store",
                    memory_store_id: version.store_id.clone()?,
                    store_version: version.version,
                })
            })
            .into_iter()
            .collect();
        Self {
            kind: "session",
            id: session.id.to_string(),
            agent: AgentOut {
                kind: "agent",
                id: agent_name.clone(),
                name: agent_name,
                version: AGENT_VERSION,
                model: ModelOut { id: model },
                description: None,
                system: None,
                tools: Vec::new(),
                skills: Vec::new(),
                mcp_servers: Vec::new(),
                multiagent: None,
                execution_identity: ExecutionIdentityOut {
                    kind: "service_account",
                },
            },
            archived_at: None,
            budget: None,
            created_at: session_time(&session),
            environment_id: session
                .metadata
                .get("environment_id")
                .cloned()
                .unwrap_or_default(),
            title: session.metadata.get("title").cloned(),
            metadata: session.metadata,
            outcome_evaluations,
            resources,
            stats: StatsOut {
                duration_seconds,
                active_seconds: None,
            },
            status: STATUS,
            usage: BTreeMap::new(),
            vault_ids: Vec::new(),
            deployment_id: None,
            updated_at: session.updated_at,
            source_kind: session.source_kind.as_str(),
            source_session_id: session.source_session_id,
            user: session.user,
            parent_session_id: session.parent_id.map(|id| id.to_string()),
            parent_source_session_id: session.parent_source_session_id,
            outcomes: session.outcomes,
            event_count: session.event_count,
            tool_error_count: session.tool_error_count,
            content_sha256: session.content_hash,
            memory_version: session.memory_version,
            ingested_at: session.ingested_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_types::{MemoryVersionRef, OutcomeResult, SessionId, SourceKind};

    fn session() -> Session {
        let at = |s: &str| Timestamp::parse(s).ok();
        Session {
            id: "sesn_01jabcdefghjkmnpqrstvwxyz0"
                .parse::<SessionId>()
                .unwrap_or_else(|e| panic!("{e}")),
            source_kind: SourceKind::ManagedAgents,
            source_session_id: "sesn_src".into(),
            agent: Some("support".into()),
            user: Some("u1".into()),
            started_at: at("2026-01-01T10:00:00Z"),
            ended_at: at("2026-01-01T10:01:30.5Z"),
            metadata: BTreeMap::from([
                ("title".to_owned(), "refund".to_owned()),
                ("model".to_owned(), "claude-x".to_owned()),
            ]),
            content_hash: "ab".repeat(32),
            memory_version: Some(MemoryVersionRef {
                store_id: Some("memstore_1".into()),
                version: 7,
            }),
            parent_id: None,
            parent_source_session_id: None,
            event_count: 4,
            tool_error_count: 1,
            source_path: None,
            outcomes: vec![
                Outcome::reward(1.0),
                Outcome {
                    name: "answers politely".into(),
                    result: Some(OutcomeResult::Satisfied),
                    value: None,
                    explanation: Some("it did".into()),
                },
            ],
            ingested_at: Timestamp::parse("2026-02-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}")),
            updated_at: Timestamp::parse("2026-02-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}")),
        }
    }

    #[test]
    fn a_session_has_the_managed_agents_shape_with_provenance() {
        let out = serde_json::to_value(SessionOut::new(session())).unwrap_or_default();
        assert_eq!(out["type"], "session");
        assert_eq!(out["status"], "terminated");
        assert_eq!(out["agent"]["name"], "support");
        assert_eq!(out["agent"]["model"]["id"], "claude-x");
        assert_eq!(out["title"], "refund");
        assert_eq!(out["created_at"], "2026-01-01T10:00:00.000000Z");
        assert_eq!(out["stats"]["duration_seconds"], 90.5);
        assert_eq!(
            out["outcome_evaluations"].as_array().map(Vec::len),
            Some(1),
            "the reward has no verdict: {out}"
        );
        assert_eq!(out["outcome_evaluations"][0]["result"], "satisfied");
        assert_eq!(out["resources"][0]["memory_store_id"], "memstore_1");
        assert_eq!(out["resources"][0]["store_version"], 7);
        assert_eq!(out["outcomes"][0]["value"], 1.0);
        assert_eq!(out["archived_at"], serde_json::Value::Null);
        assert_eq!(out["usage"], serde_json::json!({}));
    }
}
