//! Anthropic Managed Agents session events, as `client.beta.sessions.events.list`
//! returns them (official `anthropic` SDK 2.10.0, `types/beta/sessions/`).
//!
//! A file is either the events of one session (JSONL, a JSON array, or list pages
//! `{"data": [...]}`), named after the file, or records `{"session": {...}, "events":
//! [...]}` carrying the session object (`BetaManagedAgentsSession`) too.
//!
//! Mapping: `user.message` → user_message; `agent.message` → agent_message;
//! `agent.thinking` → thinking (it carries no text and is dropped);
//! `agent.tool_use` / `agent.mcp_tool_use` (named `mcp__<server>__<tool>`) /
//! `agent.custom_tool_use` → tool_use; `agent.tool_result` / `agent.mcp_tool_result` /
//! `user.tool_result` / `user.custom_tool_result` → tool_result; a denied
//! `user.tool_confirmation` → a rejected tool_result; `span.outcome_evaluation_end`
//! → outcome_evaluation and an outcome; `agent.thread_context_compacted` → compaction;
//! `system.message`, `session.error`, `user.define_outcome`, `user.interrupt` and
//! agent-to-agent thread messages → system. Status, span timing, usage and workflow
//! events carry nothing a transcript needs and are skipped.

use std::collections::{BTreeMap, HashMap};

use dream_types::{Event, EventKind, Outcome, OutcomeResult, SessionHead, SourceKind};
use serde_json::Value;

use super::FileContext;
use super::sessions::emit_session;
use crate::emit::Emitter;
use crate::error::{FieldError, InputError};
use crate::json::Obj;
use crate::messages::{MessageConverter, ParsedSession, content_text};

/// Converts events of one session, collecting outcomes.
#[derive(Debug, Default)]
struct Converter {
    messages: MessageConverter,
    descriptions: HashMap<String, String>,
    outcomes: BTreeMap<usize, (String, Outcome)>,
    outcome_slots: HashMap<String, usize>,
}

impl Converter {
    fn outcomes(self) -> Vec<Outcome> {
        self.outcomes.into_values().map(|(_, o)| o).collect()
    }

    /// Converts one event; `Ok(None)` for event types that are skipped.
    fn convert(&mut self, value: &Value, path: &str) -> Result<Option<Event>, FieldError> {
        let obj = Obj::new(value, path)?;
        let kind = obj.str("type")?;
        let timestamp = obj.opt_time("processed_at")?;
        let id = obj.opt_str("id")?;
        let text = |obj: &Obj<'_>| content_text(obj.get("content"), &format!("{path}.content"));
        let plain = |kind: EventKind, text: String| {
            let mut event = Event::new(0, kind, text);
            event.timestamp = timestamp;
            event
        };
        let event = match kind {
            "user.message" => plain(EventKind::UserMessage, text(&obj)?),
            "agent.message" => plain(EventKind::AgentMessage, text(&obj)?),
            "agent.thinking" => plain(EventKind::Thinking, String::new()),
            "system.message" | "agent.thread_message_sent" | "agent.thread_message_received" => {
                plain(EventKind::System, text(&obj)?)
            }
            "agent.tool_use" | "agent.custom_tool_use" => {
                self.messages
                    .tool_use(id, obj.str("name")?, obj.get("input"), timestamp)
            }
            "agent.mcp_tool_use" => {
                let name = format!("mcp__{}__{}", obj.str("mcp_server_name")?, obj.str("name")?);
                self.messages
                    .tool_use(id, &name, obj.get("input"), timestamp)
            }
            "agent.tool_result"
            | "user.tool_result"
            | "agent.mcp_tool_result"
            | "user.custom_tool_result" => {
                let key = match kind {
                    "agent.mcp_tool_result" => "mcp_tool_use_id",
                    "user.custom_tool_result" => "custom_tool_use_id",
                    _ => "tool_use_id",
                };
                self.messages.tool_result(
                    Some(obj.str(key)?),
                    None,
                    text(&obj)?,
                    obj.opt_bool("is_error")?.unwrap_or(false),
                    false,
                    timestamp,
                )
            }
            "user.tool_confirmation" => {
                if obj.str("result")? != "deny" {
                    return Ok(None);
                }
                self.messages.tool_result(
                    Some(obj.str("tool_use_id")?),
                    None,
                    obj.opt_str("deny_message")?.unwrap_or("").to_owned(),
                    true,
                    true,
                    timestamp,
                )
            }
            "user.interrupt" => plain(EventKind::System, "user.interrupt".to_owned()),
            "user.define_outcome" => {
                let description = obj.str("description")?.to_owned();
                if let Some(outcome_id) = obj.opt_str("outcome_id")? {
                    self.descriptions
                        .insert(outcome_id.to_owned(), description.clone());
                }
                plain(EventKind::System, description)
            }
            "span.outcome_evaluation_end" => {
                let outcome_id = obj.str("outcome_id")?.to_owned();
                let result = obj.str("result")?.to_owned();
                let explanation = obj.opt_str("explanation")?.unwrap_or("").to_owned();
                let name = self
                    .descriptions
                    .get(&outcome_id)
                    .cloned()
                    .unwrap_or_else(|| outcome_id.clone());
                let next = self.outcome_slots.len();
                let slot = *self.outcome_slots.entry(outcome_id.clone()).or_insert(next);
                // The last verdict for an outcome is its final one (`needs_revision` is
                // followed by another cycle).
                self.outcomes.insert(
                    slot,
                    (
                        outcome_id,
                        Outcome {
                            name,
                            result: Some(OutcomeResult::from_name(&result)),
                            value: None,
                            explanation: (!explanation.is_empty()).then(|| explanation.clone()),
                        },
                    ),
                );
                plain(
                    EventKind::OutcomeEvaluation,
                    format!("{result}: {explanation}"),
                )
            }
            "agent.thread_context_compacted" => plain(EventKind::Compaction, String::new()),
            "session.error" => {
                let error = obj.get("error");
                let message = error
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .or_else(|| error.and_then(|e| e.get("type")).and_then(Value::as_str))
                    .unwrap_or("session error");
                plain(EventKind::System, message.to_owned())
            }
            _ => return Ok(None),
        };
        let mut event = event;
        event.raw = Some(value.to_string());
        Ok(Some(event))
    }
}

/// The file is one session's events; its id is the file name.
pub(super) fn read_events(ctx: &FileContext<'_>, emit: &mut Emitter<'_>) -> Result<(), InputError> {
    let mut head = SessionHead {
        source_kind: Some(SourceKind::ManagedAgents),
        source_session_id: ctx.stem.clone(),
        ..SessionHead::default()
    };
    ctx.finish_head(&mut head, None);
    if !emit.begin(head) {
        return Ok(());
    }
    let mut converter = Converter::default();
    let mut failed = false;
    let mut number = 0_usize;
    ctx.for_each_record(emit, |emit, value, info| {
        // A list page holds several events.
        let events: Vec<&Value> = match value.get("data").and_then(Value::as_array) {
            Some(data) if value.get("type").is_none() => data.iter().collect(),
            _ => vec![&value],
        };
        for event in events {
            number += 1;
            match converter.convert(event, &format!("event {number}")) {
                Ok(Some(event)) => {
                    if !emit.event(event) {
                        return false;
                    }
                }
                Ok(None) => {}
                Err(err) => {
                    // The session is abandoned; nothing after this event belongs to one.
                    failed = true;
                    emit.invalid(
                        err.at(ctx.label, Some(info.line))
                            .in_session(ctx.stem.clone()),
                    );
                    return false;
                }
            }
        }
        true
    })?;
    if !failed && emit.is_open() {
        emit.end(converter.outcomes());
    }
    Ok(())
}

/// Each record is `{"session": {...}, "events": [...]}`: one session per record.
pub(super) fn read_wrapped(
    ctx: &FileContext<'_>,
    emit: &mut Emitter<'_>,
) -> Result<(), InputError> {
    ctx.for_each_record(emit, |emit, value, info| match parse_wrapped(ctx, &value) {
        Ok(session) => emit_session(emit, session),
        Err((err, id)) => emit.invalid(err.at(ctx.label, Some(info.line)).in_session(id)),
    })
}

fn parse_wrapped(
    ctx: &FileContext<'_>,
    record: &Value,
) -> Result<ParsedSession, (FieldError, String)> {
    let obj = Obj::new(record, "").map_err(|e| (e, ctx.stem.clone()))?;
    let session_value = obj.get("session").ok_or_else(|| {
        (
            FieldError::invalid("missing required field `session`"),
            ctx.stem.clone(),
        )
    })?;
    let session = Obj::new(session_value, "session").map_err(|e| (e, ctx.stem.clone()))?;
    let id = session
        .opt_scalar("id")
        .map_err(|e| (e, ctx.stem.clone()))?
        .unwrap_or_else(|| ctx.stem.clone());
    let fail = |e: FieldError| (e, id.clone());
    let mut metadata = session.opt_string_map("metadata").map_err(fail)?;
    if let Some(title) = session.opt_str("title").map_err(fail)? {
        metadata.insert("title".to_owned(), title.to_owned());
    }
    let agent = match session.get("agent") {
        Some(Value::Object(agent)) => agent
            .get("name")
            .or_else(|| agent.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        Some(Value::String(name)) => Some(name.clone()),
        _ => None,
    };
    let user = metadata
        .get("user_id")
        .or_else(|| metadata.get("user"))
        .cloned();
    let mut head = SessionHead {
        source_kind: Some(SourceKind::ManagedAgents),
        source_session_id: id.clone(),
        agent,
        user,
        started_at: session.opt_time("created_at").map_err(fail)?,
        metadata,
        ..SessionHead::default()
    };
    ctx.finish_head(&mut head, None);

    let mut converter = Converter::default();
    let mut events = Vec::new();
    for (i, event) in obj.array("events").map_err(fail)?.iter().enumerate() {
        if let Some(event) = converter
            .convert(event, &format!("events[{i}]"))
            .map_err(fail)?
        {
            events.push(event);
        }
    }
    // The session's own evaluation list is the final state when present.
    let outcomes = match session.opt_array("outcome_evaluations").map_err(fail)? {
        Some(items) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("session.outcome_evaluations[{i}]");
                let o = Obj::new(item, &path)?;
                Ok(Outcome {
                    name: o
                        .opt_str("description")?
                        .or(o.opt_str("outcome_id")?)
                        .unwrap_or("outcome")
                        .to_owned(),
                    result: o.opt_str("result")?.map(OutcomeResult::from_name),
                    value: None,
                    explanation: o.opt_str("explanation")?.map(str::to_owned),
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()
            .map_err(fail)?,
        _ => converter.outcomes(),
    };
    Ok(ParsedSession {
        head,
        events,
        outcomes,
    })
}
