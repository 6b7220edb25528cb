//! `GET /v1/sessions/{session_id}/events`: a session's events as Managed Agents event
//! objects (official `anthropic` SDK 2.10.0, `types/beta/sessions/
//! beta_managed_agents_*_event.py`).
//!
//! A session imported from Managed Agents events answers with the events as they were
//! imported (each stored whole), so nothing is lost. Any other session's events are
//! written in that shape from `dream`'s event kinds:
//!
//! | `dream_kind` | `type` | fields |
//! |---|---|---|
//! | `user_message` | `user.message` | `content: [{"type": "text", "text"}]` |
//! | `agent_message` | `agent.message` | `content` |
//! | `thinking` | `agent.thinking` | (the SDK shape has no text; see `text`) |
//! | `tool_use` | `agent.tool_use` | `name`, `input` (an object; other JSON is `{"value": …}`) |
//! | `tool_result` | `agent.tool_result` | `tool_use_id`, `content`, `is_error` |
//! | `system` | `system.message` | `content` |
//! | `outcome_evaluation` | `span.outcome_evaluation_end` | `result`, `explanation` |
//! | `compaction` | `agent.thread_context_compacted` | (see `text`) |
//!
//! Every event has an `id` (`sevt_…`, stable across imports; a tool use's id is
//! derived from its tool-use id, so a result's `tool_use_id` names it) and
//! `processed_at` (the event's time, else the session's `created_at`). `dream` adds
//! `index` (the position in the session, from 0, as evidence cites it), `dream_kind`,
//! and `text` where the SDK shape has no place for it (thinking, compaction);
//! `tool_name` and `rejected` on tool results.

use axum::extract::{Path, State};
use dream_types::{Event, EventKind, Session, SourceKind, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::IntoParams;

use super::view::{derived_id, session_time};
use super::{SortOrder, find, time_bounds};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::page::{self, Page};

/// Every event `type` of Managed Agents (SDK `BetaManagedAgentsSessionEventType`):
/// the values `types[]` accepts.
const EVENT_TYPES: [&str; 41] = [
    "user.message",
    "user.interrupt",
    "user.tool_confirmation",
    "user.custom_tool_result",
    "agent.custom_tool_use",
    "agent.message",
    "agent.thinking",
    "agent.mcp_tool_use",
    "agent.mcp_tool_result",
    "agent.tool_use",
    "agent.tool_result",
    "agent.thread_message_received",
    "agent.thread_message_sent",
    "agent.thread_context_compacted",
    "session.error",
    "session.status_rescheduled",
    "session.status_running",
    "session.status_idle",
    "session.status_terminated",
    "session.thread_created",
    "span.outcome_evaluation_start",
    "span.outcome_evaluation_end",
    "span.model_request_start",
    "span.model_request_end",
    "span.outcome_evaluation_ongoing",
    "user.define_outcome",
    "session.thread_status_running",
    "session.thread_status_idle",
    "session.thread_status_terminated",
    "user.tool_result",
    "session.thread_status_rescheduled",
    "session.updated",
    "system.message",
    "session.usage",
    "workflow_run.created",
    "workflow_run.status_running",
    "workflow_run.status_idle",
    "workflow_run.status_ended",
    "workflow_run.error",
    "workflow_run.phase_started",
    "workflow_run.phase_ended",
];

/// Events read per store query while filters drop some.
const SCAN_BATCH: u32 = 500;

/// Query of `GET /v1/sessions/{session_id}/events` (SDK `EventListParams`).
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListEvents {
    /// Only events of these types (`types[]=agent.tool_use&types[]=agent.tool_result`).
    #[serde(default, rename = "types[]", alias = "types")]
    #[param(rename = "types[]")]
    pub types: Vec<String>,
    /// `asc` (default: transcript order) or `desc`.
    #[param(value_type = Option<String>)]
    pub order: Option<SortOrder>,
    /// `processed_at` strictly after (RFC 3339).
    #[serde(rename = "created_at[gt]")]
    #[param(rename = "created_at[gt]")]
    pub created_gt: Option<String>,
    /// `processed_at` at or after (RFC 3339).
    #[serde(rename = "created_at[gte]")]
    #[param(rename = "created_at[gte]")]
    pub created_gte: Option<String>,
    /// `processed_at` strictly before (RFC 3339).
    #[serde(rename = "created_at[lt]")]
    #[param(rename = "created_at[lt]")]
    pub created_lt: Option<String>,
    /// `processed_at` at or before (RFC 3339).
    #[serde(rename = "created_at[lte]")]
    #[param(rename = "created_at[lte]")]
    pub created_lte: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

/// List a session's events, in transcript order (`order=desc` for newest first).
#[utoipa::path(get, path = "/v1/sessions/{session_id}/events", tag = "sessions",
    params(("session_id" = String, Path, description = "`sesn_…`"), ListEvents),
    responses((status = 200, body = Page<Value>), (status = 400), (status = 404)))]
pub(super) async fn list_events(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Query(query): Query<ListEvents>,
) -> ApiResult<axum::Json<Page<Value>>> {
    let limit = page::limit(query.limit)?;
    for kind in &query.types {
        if !EVENT_TYPES.contains(&kind.as_str()) {
            return Err(ApiError::invalid_with_code(
                "invalid_event_type",
                format!(
                    "unknown event type {kind:?}; types are Managed Agents event types such as \
                     user.message, agent.message, agent.tool_use, agent.tool_result"
                ),
            ));
        }
    }
    let (since, until) = time_bounds(
        &query.created_gt,
        &query.created_gte,
        &query.created_lt,
        &query.created_lte,
    )?;
    let cursor = query
        .page
        .as_deref()
        .map(|cursor| {
            page::decode(cursor)?.parse::<u32>().map_err(|_| {
                ApiError::invalid_with_code("invalid_page", "page is not a cursor from this list")
            })
        })
        .transpose()?;
    let session = find(&state, &session_id).await?;
    let keep = |at: Timestamp, event: &Value| {
        since.is_none_or(|since| at >= since)
            && until.is_none_or(|until| at <= until)
            && (query.types.is_empty()
                || event
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| query.types.iter().any(|want| want == t)))
    };
    let filtering = !query.types.is_empty() || since.is_some() || until.is_some();
    let want = limit + 1;
    let batch = if filtering {
        SCAN_BATCH
    } else {
        u32::try_from(want).unwrap_or(SCAN_BATCH)
    };
    let total = u32::try_from(session.event_count).unwrap_or(u32::MAX);
    let mut out: Vec<(u32, Value)> = Vec::new();
    let order = query.order.unwrap_or(SortOrder::Asc);
    let (mut low, mut high) = match order {
        SortOrder::Asc => (cursor.map_or(0, |c| c.saturating_add(1)), total),
        SortOrder::Desc => (0, cursor.map_or(total, |c| c.min(total))),
    };
    while low < high && out.len() < want {
        let range = match order {
            SortOrder::Asc => low..high.min(low.saturating_add(batch)),
            SortOrder::Desc => high.saturating_sub(batch).max(low)..high,
        };
        let mut events = state
            .store()
            .session_events(&session.id, Some(range.clone()))
            .await?;
        if order == SortOrder::Desc {
            events.reverse();
        }
        for event in events {
            let index = event.index;
            let (at, value) = wire_event(&session, event);
            if keep(at, &value) {
                out.push((index, value));
                if out.len() >= want {
                    break;
                }
            }
        }
        match order {
            SortOrder::Asc => low = range.end,
            SortOrder::Desc => high = range.start,
        }
    }
    let page = page::from_fetched(out, limit, |(index, _)| index.to_string());
    Ok(axum::Json(page.map(|(_, value)| value)))
}

/// The `sevt_…` id of the event at `index`.
fn event_id(session: &Session, index: u32) -> String {
    derived_id("sevt", &format!("{}#{index}", session.id))
}

/// The `sevt_…` id of the tool use with this source tool-use id.
fn tool_use_event_id(session: &Session, tool_use_id: &str) -> String {
    derived_id("sevt", &format!("{}#tool_use#{tool_use_id}", session.id))
}

fn text_content(text: &str) -> Value {
    if text.is_empty() {
        json!([])
    } else {
        json!([{"type": "text", "text": text}])
    }
}

/// A tool use's input: the JSON its canonical text encodes when that is an object,
/// else `{"value": …}` holding the JSON value or, when it is not JSON, the text.
fn tool_input(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(other) => json!({ "value": other }),
        Err(_) => json!({ "value": text }),
    }
}

/// Splits an outcome evaluation's text, `"<result>: <explanation>"` as imported, into
/// its verdict and explanation; text without a verdict word is all explanation, with
/// the verdict `unknown`.
fn verdict(text: &str) -> (&str, &str) {
    let is_word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    match text.split_once(": ") {
        Some((result, explanation)) if is_word(result) => (result, explanation),
        _ if is_word(text.trim()) => (text.trim(), ""),
        _ => ("unknown", text),
    }
}

/// Returns the event's `processed_at` and its wire shape (see the module docs).
pub(crate) fn wire_event(session: &Session, event: Event) -> (Timestamp, Value) {
    let fallback = event.timestamp.unwrap_or_else(|| session_time(session));
    if session.source_kind == SourceKind::ManagedAgents
        && let Some(Value::Object(mut raw)) = event
            .raw
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        && raw.get("type").is_some_and(Value::is_string)
    {
        if !raw.get("id").is_some_and(Value::is_string) {
            raw.insert("id".into(), json!(event_id(session, event.index)));
        }
        let stated = raw
            .get("processed_at")
            .and_then(Value::as_str)
            .and_then(|text| Timestamp::parse(text).ok());
        let at = match stated {
            Some(at) => at,
            None => {
                raw.insert("processed_at".into(), json!(fallback.to_rfc3339()));
                fallback
            }
        };
        raw.entry("index").or_insert(json!(event.index));
        raw.entry("dream_kind")
            .or_insert(json!(event.kind.as_str()));
        return (at, Value::Object(raw));
    }
    let mut out = Map::new();
    let kind = match event.kind {
        EventKind::UserMessage => "user.message",
        EventKind::AgentMessage => "agent.message",
        EventKind::Thinking => "agent.thinking",
        EventKind::ToolUse => "agent.tool_use",
        EventKind::ToolResult => "agent.tool_result",
        EventKind::System => "system.message",
        EventKind::OutcomeEvaluation => "span.outcome_evaluation_end",
        EventKind::Compaction => "agent.thread_context_compacted",
    };
    out.insert("type".into(), json!(kind));
    let id = match (event.kind, &event.tool_use_id) {
        (EventKind::ToolUse, Some(tool_use_id)) => tool_use_event_id(session, tool_use_id),
        _ => event_id(session, event.index),
    };
    out.insert("id".into(), json!(id));
    match event.kind {
        EventKind::UserMessage | EventKind::AgentMessage | EventKind::System => {
            out.insert("content".into(), text_content(&event.text));
        }
        EventKind::Thinking | EventKind::Compaction => {
            out.insert("text".into(), json!(event.text));
        }
        EventKind::ToolUse => {
            out.insert(
                "name".into(),
                json!(event.tool_name.clone().unwrap_or_default()),
            );
            out.insert("input".into(), tool_input(&event.text));
        }
        EventKind::ToolResult => {
            let tool_use_id = event
                .tool_use_id
                .as_deref()
                .map(|id| tool_use_event_id(session, id))
                .unwrap_or_default();
            out.insert("tool_use_id".into(), json!(tool_use_id));
            out.insert("content".into(), text_content(&event.text));
            out.insert("is_error".into(), json!(event.is_error));
            if let Some(name) = &event.tool_name {
                out.insert("tool_name".into(), json!(name));
            }
            if event.rejected {
                out.insert("rejected".into(), json!(true));
            }
        }
        EventKind::OutcomeEvaluation => {
            let (result, explanation) = verdict(&event.text);
            out.insert("result".into(), json!(result));
            out.insert("explanation".into(), json!(explanation));
            out.insert(
                "outcome_id".into(),
                json!(derived_id(
                    "outc",
                    &format!("{}#{}", session.id, event.index)
                )),
            );
            out.insert("outcome_evaluation_start_id".into(), json!(""));
            out.insert("iteration".into(), json!(0));
            out.insert(
                "usage".into(),
                json!({
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                }),
            );
        }
    }
    out.insert("processed_at".into(), json!(fallback.to_rfc3339()));
    out.insert("index".into(), json!(event.index));
    out.insert("dream_kind".into(), json!(event.kind.as_str()));
    (fallback, Value::Object(out))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use dream_types::SessionId;

    use super::*;

    fn session(kind: SourceKind) -> Session {
        let at = Timestamp::parse("2026-03-01T12:00:00Z").unwrap_or_else(|e| panic!("{e}"));
        Session {
            id: "sesn_01jabcdefghjkmnpqrstvwxyz0"
                .parse::<SessionId>()
                .unwrap_or_else(|e| panic!("{e}")),
            source_kind: kind,
            source_session_id: "s".into(),
            agent: None,
            user: None,
            started_at: None,
            ended_at: None,
            metadata: BTreeMap::new(),
            content_hash: String::new(),
            memory_version: None,
            parent_id: None,
            parent_source_session_id: None,
            event_count: 0,
            tool_error_count: 0,
            source_path: None,
            outcomes: Vec::new(),
            ingested_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_tool_call_and_its_failed_result_pair_up() {
        let s = session(SourceKind::TauBench);
        let mut call = Event::new(3, EventKind::ToolUse, r#"{"user_id":"mia"}"#);
        call.tool_name = Some("get_user_details".into());
        call.tool_use_id = Some("call_1".into());
        let mut result = Event::new(4, EventKind::ToolResult, "Error: user not found");
        result.tool_use_id = Some("call_1".into());
        result.is_error = true;
        let (at, call) = wire_event(&s, call);
        let (_, result) = wire_event(&s, result);
        assert_eq!(call["type"], "agent.tool_use");
        assert_eq!(call["input"], json!({"user_id": "mia"}));
        assert_eq!(call["processed_at"], "2026-03-01T12:00:00.000000Z");
        assert_eq!(at, s.ingested_at);
        assert_eq!(result["type"], "agent.tool_result");
        assert_eq!(result["tool_use_id"], call["id"]);
        assert_eq!(result["is_error"], true);
        assert_eq!(result["index"], 4);
        assert_eq!(
            result["content"],
            json!([{"type": "text", "text": "Error: user not found"}])
        );
        assert_ne!(result["id"], call["id"]);
        assert!(
            call["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("sevt_"))
        );
    }

    #[test]
    fn kinds_without_a_text_field_keep_their_text() {
        let s = session(SourceKind::ClaudeCode);
        let (_, thinking) = wire_event(&s, Event::new(0, EventKind::Thinking, "hmm"));
        assert_eq!(thinking["type"], "agent.thinking");
        assert_eq!(thinking["text"], "hmm");
        let (_, summary) = wire_event(&s, Event::new(1, EventKind::Compaction, "so far"));
        assert_eq!(summary["type"], "agent.thread_context_compacted");
        assert_eq!(summary["text"], "so far");
        let (_, verdict) = wire_event(
            &s,
            Event::new(2, EventKind::OutcomeEvaluation, "failed: wrong fare"),
        );
        assert_eq!(verdict["result"], "failed");
        assert_eq!(verdict["explanation"], "wrong fare");
        let (_, odd) = wire_event(&s, Event::new(3, EventKind::ToolUse, "[1,2]"));
        assert_eq!(odd["input"], json!({"value": [1, 2]}));
    }

    #[test]
    fn managed_agents_events_come_back_as_imported() {
        let s = session(SourceKind::ManagedAgents);
        let mut event = Event::new(0, EventKind::UserMessage, "hi");
        event.raw = Some(
            json!({"type": "user.message", "id": "sevt_orig", "content": [{"type": "text", "text": "hi"}], "processed_at": "2026-01-02T03:04:05Z"})
                .to_string(),
        );
        let (at, value) = wire_event(&s, event);
        assert_eq!(value["id"], "sevt_orig");
        assert_eq!(value["processed_at"], "2026-01-02T03:04:05Z");
        assert_eq!(at.to_rfc3339(), "2026-01-02T03:04:05.000000Z");
        assert_eq!(value["index"], 0);
        let mut bare = Event::new(1, EventKind::Compaction, "");
        bare.raw = Some(json!({"type": "agent.thread_context_compacted"}).to_string());
        let (_, value) = wire_event(&s, bare);
        assert!(
            value["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("sevt_"))
        );
        assert_eq!(value["processed_at"], "2026-03-01T12:00:00.000000Z");
    }
}
