//! OpenAI chat and Anthropic Messages conversations, and the canonical JSONL session
//! record built on them (README, "Canonical JSONL").

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use dream_types::{
    Event, EventKind, MemoryVersionRef, Outcome, OutcomeResult, REJECTION_PREFIX, SessionHead,
    SourceKind, Timestamp, canonical_json,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::FieldError;
use crate::json::{Obj, type_name};

/// Keys that only the canonical format has; their presence makes a record canonical.
const CANONICAL_KEYS: [&str; 10] = [
    "id",
    "agent",
    "user",
    "started_at",
    "ended_at",
    "metadata",
    "outcomes",
    "reward",
    "parent_id",
    "memory_version",
];

/// Turns chat messages into events. Keeps the tool names of tool calls seen so far,
/// so that results (which carry only the call id) get the tool's name.
#[derive(Debug, Default)]
pub(crate) struct MessageConverter {
    tool_names: HashMap<String, String>,
}

/// Returns the text of message content: a string, or the `text` of text parts, with
/// other parts written as `[type]` (`[image]`).
pub(crate) fn content_text(content: Option<&Value>, path: &str) -> Result<String, FieldError> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let mut pieces = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                pieces.push(part_text(part, &format!("{path}[{i}]"))?);
            }
            Ok(pieces.join("\n"))
        }
        Some(other) => Err(FieldError::invalid(format!(
            "{path} must be a string or an array of content blocks, found {}",
            type_name(other)
        ))),
    }
}

fn part_text(part: &Value, path: &str) -> Result<String, FieldError> {
    if let Value::String(text) = part {
        return Ok(text.clone());
    }
    let obj = Obj::new(part, path)?;
    let kind = obj.opt_str("type")?.unwrap_or("text");
    Ok(match kind {
        "text" | "input_text" | "output_text" => obj.opt_str("text")?.unwrap_or("").to_owned(),
        "image_url" | "input_image" => "[image]".to_owned(),
        other => format!("[{other}]"),
    })
}

/// Returns tool input as event text: strings as they are, anything else as canonical JSON.
pub(crate) fn input_text(input: Option<&Value>) -> String {
    match input {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => canonical_json(other),
    }
}

/// Returns whether a tool result's text says the user refused the call.
pub(crate) fn is_rejection(text: &str) -> bool {
    text.trim_start().starts_with(REJECTION_PREFIX)
}

fn event(kind: EventKind, text: String, timestamp: Option<Timestamp>) -> Event {
    let mut event = Event::new(0, kind, text);
    event.timestamp = timestamp;
    event
}

impl MessageConverter {
    /// Remembers that tool call `id` is tool `name`.
    pub fn note_tool(&mut self, id: &str, name: &str) {
        self.tool_names.insert(id.to_owned(), name.to_owned());
    }

    /// Returns the tool name of call `id`, if it was seen.
    pub fn tool_name(&self, id: &str) -> Option<String> {
        self.tool_names.get(id).cloned()
    }

    /// Builds a `tool_result` event.
    pub fn tool_result(
        &self,
        tool_use_id: Option<&str>,
        name: Option<&str>,
        text: String,
        is_error: bool,
        rejected: bool,
        timestamp: Option<Timestamp>,
    ) -> Event {
        let rejected = rejected || is_rejection(&text);
        let mut result = event(EventKind::ToolResult, text, timestamp);
        result.tool_name = name
            .map(str::to_owned)
            .or_else(|| tool_use_id.and_then(|id| self.tool_name(id)));
        result.tool_use_id = tool_use_id.map(str::to_owned);
        result.is_error = is_error || rejected;
        result.rejected = rejected;
        result
    }

    /// Builds a `tool_use` event and remembers its name.
    pub fn tool_use(
        &mut self,
        id: Option<&str>,
        name: &str,
        input: Option<&Value>,
        timestamp: Option<Timestamp>,
    ) -> Event {
        if let Some(id) = id {
            self.note_tool(id, name);
        }
        let mut call = event(EventKind::ToolUse, input_text(input), timestamp);
        call.tool_name = Some(name.to_owned());
        call.tool_use_id = id.map(str::to_owned);
        call
    }

    /// Converts one OpenAI or Anthropic message at `path` (`messages[3]`) to events,
    /// appended to `out`. `timestamp` applies when the message has none of its own.
    pub fn convert(
        &mut self,
        message: &Value,
        path: &str,
        timestamp: Option<Timestamp>,
        out: &mut Vec<Event>,
    ) -> Result<(), FieldError> {
        let obj = Obj::new(message, path)?;
        let role = obj.str("role")?;
        let timestamp = obj.opt_time("timestamp")?.or(timestamp);
        let first = out.len();
        let content_path = format!("{path}.content");
        match role {
            "user" | "assistant" | "system" | "developer" => {
                let text_kind = match role {
                    "user" => EventKind::UserMessage,
                    "assistant" => EventKind::AgentMessage,
                    _ => EventKind::System,
                };
                match obj.get("content") {
                    None => {}
                    Some(Value::String(text)) => {
                        out.push(event(text_kind, text.clone(), timestamp));
                    }
                    Some(Value::Array(blocks)) => {
                        for (i, block) in blocks.iter().enumerate() {
                            let block_path = format!("{content_path}[{i}]");
                            if let Some(event) =
                                self.block(block, &block_path, text_kind, timestamp)?
                            {
                                out.push(event);
                            }
                        }
                    }
                    Some(other) => {
                        return Err(FieldError::invalid(format!(
                            "field `{content_path}` must be a string or an array of content \
                             blocks, found {}",
                            type_name(other)
                        )));
                    }
                }
                if let Some(calls) = obj.opt_array("tool_calls")? {
                    for (i, call) in calls.iter().enumerate() {
                        out.push(self.openai_call(
                            call,
                            &format!("{path}.tool_calls[{i}]"),
                            timestamp,
                        )?);
                    }
                }
                if let Some(call) = obj.opt_obj("function_call")? {
                    let call = Value::Object(call.clone());
                    let wrapped = serde_json::json!({"function": call});
                    out.push(self.openai_call(
                        &wrapped,
                        &format!("{path}.function_call"),
                        timestamp,
                    )?);
                }
            }
            "tool" | "function" => {
                let text = content_text(obj.get("content"), &content_path)?;
                let id = obj.opt_str("tool_call_id")?;
                let name = obj.opt_str("name")?;
                // OpenAI has no error flag; tau-bench and most harnesses start failures
                // with "Error". An explicit `is_error` wins.
                let is_error = match obj.opt_bool("is_error")? {
                    Some(flag) => flag,
                    None => text.trim_start().starts_with("Error"),
                };
                let rejected = obj.opt_bool("rejected")?.unwrap_or(false);
                out.push(self.tool_result(id, name, text, is_error, rejected, timestamp));
            }
            other => {
                return Err(FieldError::invalid(format!(
                    "field `{path}.role` must be one of user, assistant, system, developer, tool; \
                     found {other:?}"
                )));
            }
        }
        // One event keeps the whole message as its source; several keep their blocks.
        if out.len() - first == 1 {
            out[first].raw = Some(message.to_string());
        }
        Ok(())
    }

    fn openai_call(
        &mut self,
        call: &Value,
        path: &str,
        timestamp: Option<Timestamp>,
    ) -> Result<Event, FieldError> {
        let obj = Obj::new(call, path)?;
        let function = obj.opt_obj("function")?.ok_or_else(|| {
            FieldError::invalid(format!("missing required field `{path}.function`"))
        })?;
        let function_value = Value::Object(function.clone());
        let function_path = format!("{path}.function");
        let function = Obj::new(&function_value, &function_path)?;
        let name = function.str("name")?;
        let arguments = match function.get("arguments") {
            // Arguments are a JSON string; keep them verbatim when they do not parse.
            Some(Value::String(text)) => match serde_json::from_str::<Value>(text) {
                Ok(parsed) if !parsed.is_string() => Some(parsed),
                _ => Some(Value::String(text.clone())),
            },
            Some(other) => Some(other.clone()),
            None => None,
        };
        let mut event = self.tool_use(obj.opt_str("id")?, name, arguments.as_ref(), timestamp);
        event.raw = Some(call.to_string());
        Ok(event)
    }

    /// Converts one Anthropic content block (or OpenAI content part).
    fn block(
        &mut self,
        block: &Value,
        path: &str,
        text_kind: EventKind,
        timestamp: Option<Timestamp>,
    ) -> Result<Option<Event>, FieldError> {
        if let Value::String(text) = block {
            return Ok(Some(event(text_kind, text.clone(), timestamp)));
        }
        let obj = Obj::new(block, path)?;
        let kind = obj.opt_str("type")?.unwrap_or("text");
        let mut out = match kind {
            "text" | "input_text" | "output_text" => Some(event(
                text_kind,
                obj.opt_str("text")?.unwrap_or("").to_owned(),
                timestamp,
            )),
            "thinking" => Some(event(
                EventKind::Thinking,
                obj.opt_str("thinking")?.unwrap_or("").to_owned(),
                timestamp,
            )),
            "redacted_thinking" => None,
            "tool_use" | "server_tool_use" | "mcp_tool_use" => {
                let name = obj.str("name")?;
                Some(self.tool_use(obj.opt_str("id")?, name, obj.get("input"), timestamp))
            }
            "tool_result" | "mcp_tool_result" => {
                let text = content_text(obj.get("content"), &format!("{path}.content"))?;
                Some(self.tool_result(
                    obj.opt_str("tool_use_id")?,
                    obj.opt_str("name")?,
                    text,
                    obj.opt_bool("is_error")?.unwrap_or(false),
                    obj.opt_bool("rejected")?.unwrap_or(false),
                    timestamp,
                ))
            }
            "compaction" => Some(event(
                EventKind::Compaction,
                obj.opt_str("content")?.unwrap_or("").to_owned(),
                timestamp,
            )),
            "outcome_evaluation" => Some(event(
                EventKind::OutcomeEvaluation,
                obj.opt_str("text")?.unwrap_or("").to_owned(),
                timestamp,
            )),
            other if other.ends_with("_tool_result") => {
                // Server tool results (web search, code execution): the content as JSON.
                let text = match obj.get("content") {
                    Some(Value::String(s)) => s.clone(),
                    Some(value) => canonical_json(value),
                    None => String::new(),
                };
                let is_error = obj
                    .get("content")
                    .and_then(|c| c.get("type"))
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.ends_with("_error"));
                Some(self.tool_result(
                    obj.opt_str("tool_use_id")?,
                    None,
                    text,
                    is_error,
                    false,
                    timestamp,
                ))
            }
            other => Some(event(text_kind, format!("[{other}]"), timestamp)),
        };
        if let Some(event) = out.as_mut() {
            event.raw = Some(block.to_string());
        }
        Ok(out)
    }
}

/// Returns which chat dialect a list of messages is written in: Anthropic when any
/// content block is a tool or thinking block, OpenAI otherwise (the plain-text subset
/// of the two is the same).
pub(crate) fn dialect(messages: &[Value]) -> SourceKind {
    if messages.iter().any(is_anthropic_message) {
        SourceKind::AnthropicMessages
    } else {
        SourceKind::OpenaiChat
    }
}

/// Returns whether one message has a content block only Anthropic Messages has (a
/// tool, thinking or compaction block); see [`dialect`].
pub(crate) fn is_anthropic_message(message: &Value) -> bool {
    message
        .get("content")
        .and_then(Value::as_array)
        .is_some_and(|blocks| {
            blocks.iter().any(|b| {
                matches!(
                    b.get("type").and_then(Value::as_str),
                    Some(
                        "tool_use"
                            | "tool_result"
                            | "thinking"
                            | "redacted_thinking"
                            | "compaction"
                    )
                )
            })
        })
}

/// A session record with everything but its messages parsed: what must be known
/// before its first event is sent. The messages are converted one at a time by
/// [`SessionRecord::for_each_event`], so a record's events are never all in memory.
#[derive(Debug)]
pub(crate) struct SessionRecord<'v> {
    pub head: SessionHead,
    pub outcomes: Vec<Outcome>,
    /// The `system` prompt, sent as the first event.
    system: Option<Event>,
    messages: &'v [Value],
}

impl SessionRecord<'_> {
    /// Converts the messages in order, handing each event to `each`. Returns
    /// `Ok(false)` when `each` asked to stop.
    ///
    /// # Errors
    /// The first message that cannot be converted (events before it were handed out).
    pub fn for_each_event(
        &mut self,
        mut each: impl FnMut(Event) -> bool,
    ) -> Result<bool, FieldError> {
        if let Some(system) = self.system.take()
            && !each(system)
        {
            return Ok(false);
        }
        let mut converter = MessageConverter::default();
        let mut events = Vec::new();
        for (i, message) in self.messages.iter().enumerate() {
            converter.convert(message, &format!("messages[{i}]"), None, &mut events)?;
            for event in events.drain(..) {
                if !each(event) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// A whole session parsed from one record, ready to emit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedSession {
    pub head: SessionHead,
    pub events: Vec<Event>,
    pub outcomes: Vec<Outcome>,
}

/// Per-file state for sessions that carry no id: the n-th identical conversation of
/// a file gets suffix `-n`, so duplicates stay distinct and re-ingesting is stable.
#[derive(Debug, Default)]
pub(crate) struct AnonymousIds {
    seen: HashMap<String, u32>,
}

impl AnonymousIds {
    /// Returns `sha256-<16 hex>` of the conversation (its canonical JSON, hashed a
    /// message at a time rather than cloned whole), with `-n` for repeats.
    pub fn id_for(&mut self, messages: &[Value]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"[");
        for (i, message) in messages.iter().enumerate() {
            if i > 0 {
                hasher.update(b",");
            }
            hasher.update(canonical_json(message).as_bytes());
        }
        hasher.update(b"]");
        let digest = hasher.finalize();
        let mut base = String::from("sha256-");
        for byte in &digest[..8] {
            let _ = write!(base, "{byte:02x}");
        }
        let count = self.seen.entry(base.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            base
        } else {
            format!("{base}-{count}")
        }
    }
}

/// Parses outcomes: `[{"name", "result"?, "value"?, "explanation"?}]`.
pub(crate) fn parse_outcomes(items: &[Value], path: &str) -> Result<Vec<Outcome>, FieldError> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let item_path = format!("{path}[{i}]");
            let obj = Obj::new(item, &item_path)?;
            let outcome = Outcome {
                name: obj.str("name")?.to_owned(),
                result: obj.opt_str("result")?.map(OutcomeResult::from_name),
                value: obj.opt_f64("value")?,
                explanation: obj.opt_str("explanation")?.map(str::to_owned),
            };
            if outcome.result.is_none() && outcome.value.is_none() {
                return Err(FieldError::invalid(format!(
                    "{item_path} needs a `result` or a `value`"
                )));
            }
            Ok(outcome)
        })
        .collect()
}

fn parse_memory_version(value: &Value, path: &str) -> Result<MemoryVersionRef, FieldError> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .map(|version| MemoryVersionRef {
                store_id: None,
                version,
            })
            .ok_or_else(|| FieldError::invalid(format!("{path} must be a non-negative integer"))),
        Value::Object(_) => {
            let obj = Obj::new(value, path)?;
            let version = obj.get("version").and_then(Value::as_u64).ok_or_else(|| {
                FieldError::invalid(format!("{path}.version must be a non-negative integer"))
            })?;
            Ok(MemoryVersionRef {
                store_id: obj.opt_str("store_id")?.map(str::to_owned),
                version,
            })
        }
        other => Err(FieldError::invalid(format!(
            "{path} must be a store version number or {{\"store_id\", \"version\"}}, found {}",
            type_name(other)
        ))),
    }
}

/// Parses a canonical / OpenAI / Anthropic session record `{"messages": [...], ...}`.
///
/// `forced` fixes the source kind (from `--format`); otherwise it is canonical when the
/// record has a canonical-only key, else the messages' dialect.
pub(crate) fn parse_session_record<'v>(
    record: &'v Value,
    forced: Option<SourceKind>,
    anonymous: &mut AnonymousIds,
) -> Result<SessionRecord<'v>, FieldError> {
    let obj = Obj::new(record, "")?;
    let messages = obj.array("messages")?;
    let source_kind = forced.unwrap_or_else(|| {
        if CANONICAL_KEYS.iter().any(|k| obj.get(k).is_some()) {
            SourceKind::Canonical
        } else if obj.get("system").is_some() {
            SourceKind::AnthropicMessages
        } else {
            dialect(messages)
        }
    });
    let source_session_id = match obj.opt_scalar("id")? {
        Some(id) if !id.trim().is_empty() => id,
        Some(_) => return Err(FieldError::invalid("field `id` must not be empty")),
        None => anonymous.id_for(messages),
    };
    let mut metadata: BTreeMap<String, String> = obj.opt_string_map("metadata")?;
    if let Some(model) = obj.opt_str("model")? {
        metadata
            .entry("model".to_owned())
            .or_insert_with(|| model.to_owned());
    }
    let head = SessionHead {
        source_kind: Some(source_kind),
        source_session_id,
        agent: obj.opt_scalar("agent")?,
        user: obj.opt_scalar("user")?,
        started_at: obj.opt_time("started_at")?,
        ended_at: obj.opt_time("ended_at")?,
        metadata,
        memory_version: obj
            .get("memory_version")
            .map(|v| parse_memory_version(v, "field `memory_version`"))
            .transpose()?,
        parent_source_session_id: obj.opt_scalar("parent_id")?,
        source_path: None,
    };

    let system = match obj.get("system") {
        None => None,
        Some(system) => {
            let text = content_text(Some(system), "field `system`")?;
            let mut event = Event::new(0, EventKind::System, text);
            event.raw = Some(serde_json::json!({ "system": system }).to_string());
            Some(event)
        }
    };

    let mut outcomes = match obj.opt_array("outcomes")? {
        Some(items) => parse_outcomes(items, "outcomes")?,
        None => Vec::new(),
    };
    if let Some(reward) = obj.opt_f64("reward")?
        && !outcomes.iter().any(|o| o.name == "reward")
    {
        outcomes.push(Outcome::reward(reward));
    }
    Ok(SessionRecord {
        head,
        outcomes,
        system,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_types::sha256_hex;
    use serde_json::json;

    /// Parses a record and converts all of its messages.
    fn parse_all(
        record: &Value,
        anonymous: &mut AnonymousIds,
    ) -> Result<ParsedSession, FieldError> {
        let mut parsed = parse_session_record(record, None, anonymous)?;
        let mut events = Vec::new();
        parsed.for_each_event(|event| {
            events.push(event);
            true
        })?;
        Ok(ParsedSession {
            head: parsed.head,
            events,
            outcomes: parsed.outcomes,
        })
    }

    fn parse(record: Value) -> ParsedSession {
        parse_all(&record, &mut AnonymousIds::default()).unwrap()
    }

    #[test]
    fn anonymous_ids_hash_the_canonical_conversation() {
        // The id of a record without one must not change between versions: it is the
        // hash of the messages' canonical JSON array, however it is computed.
        let messages = vec![
            json!({"role": "user", "content": "hi", "b": [2, {"z": 1, "a": null}]}),
            json!({"content": "hello", "role": "assistant"}),
        ];
        let whole = sha256_hex(canonical_json(&Value::Array(messages.clone())).as_bytes());
        let id = AnonymousIds::default().id_for(&messages);
        assert_eq!(id, format!("sha256-{}", &whole[..16]));
    }

    #[test]
    fn openai_tool_calls_pair_with_results_and_error_prefix_marks_failure() {
        let session = parse(json!({"messages": [
            {"role": "user", "content": "book it"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "book", "arguments": "{\"b\":1,\"a\":2}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "Error: flight HAT030 not available"}
        ]}));
        assert_eq!(session.head.source_kind, Some(SourceKind::OpenaiChat));
        let kinds: Vec<_> = session.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::UserMessage,
                EventKind::ToolUse,
                EventKind::ToolResult
            ]
        );
        assert_eq!(session.events[1].text, r#"{"a":2,"b":1}"#);
        assert_eq!(session.events[2].tool_name.as_deref(), Some("book"));
        assert!(session.events[2].is_error);
    }

    #[test]
    fn explicit_is_error_false_overrides_the_error_prefix() {
        let session = parse(json!({"messages": [
            {"role": "tool", "tool_call_id": "c1", "content": "Error rate is 2%", "is_error": false}
        ]}));
        assert!(!session.events[0].is_error);
    }

    #[test]
    fn anthropic_blocks_become_one_event_each() {
        let session = parse(json!({"system": "be brief", "messages": [
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "hmm"},
                {"type": "text", "text": "running"},
                {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "git push"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "is_error": true,
                 "content": [{"type": "text", "text": "fatal: no upstream"}]}
            ]}
        ]}));
        assert_eq!(
            session.head.source_kind,
            Some(SourceKind::AnthropicMessages)
        );
        let kinds: Vec<_> = session.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::System,
                EventKind::Thinking,
                EventKind::AgentMessage,
                EventKind::ToolUse,
                EventKind::ToolResult
            ]
        );
        assert_eq!(session.events[4].tool_name.as_deref(), Some("Bash"));
        assert_eq!(session.events[4].text, "fatal: no upstream");
        assert!(session.events[4].is_error);
    }

    #[test]
    fn canonical_fields_and_reward_shorthand() {
        let session = parse(json!({
            "id": 42, "agent": "support", "user": "u1", "started_at": "2026-01-01T00:00:00Z",
            "metadata": {"segment": "enterprise", "tier": 2},
            "messages": [{"role": "user", "content": "hi", "timestamp": "2026-01-01T00:00:01Z"}],
            "outcomes": [{"name": "resolved", "result": "satisfied"}],
            "reward": 0.5
        }));
        assert_eq!(session.head.source_kind, Some(SourceKind::Canonical));
        assert_eq!(session.head.source_session_id, "42");
        assert_eq!(session.head.metadata["tier"], "2");
        assert_eq!(session.outcomes.len(), 2);
        assert_eq!(session.outcomes[1], Outcome::reward(0.5));
        assert!(session.events[0].timestamp.is_some());
    }

    #[test]
    fn errors_name_the_field_and_what_was_found() {
        let err = parse_all(&json!({"messages": "hi"}), &mut AnonymousIds::default()).unwrap_err();
        assert_eq!(
            err.message,
            "field `messages` must be an array, found a string"
        );
        let err = parse_all(&json!({"id": "x"}), &mut AnonymousIds::default()).unwrap_err();
        assert_eq!(err.message, "missing required field `messages`");
        let err = parse_all(
            &json!({"messages": [{"role": "robot", "content": "x"}]}),
            &mut AnonymousIds::default(),
        )
        .unwrap_err();
        assert!(err.message.contains("messages[0].role"), "{}", err.message);
        let err = parse_all(
            &json!({"started_at": "soon", "messages": []}),
            &mut AnonymousIds::default(),
        )
        .unwrap_err();
        assert_eq!(err.code, crate::error::InputErrorCode::InvalidTimestamp);
    }

    #[test]
    fn anonymous_sessions_get_stable_distinct_ids() {
        let record = json!({"messages": [{"role": "user", "content": "hi"}]});
        let mut ids = AnonymousIds::default();
        let a = parse_all(&record, &mut ids).unwrap();
        let b = parse_all(&record, &mut ids).unwrap();
        assert_ne!(a.head.source_session_id, b.head.source_session_id);
        let again = parse_all(&record, &mut AnonymousIds::default()).unwrap();
        assert_eq!(a.head.source_session_id, again.head.source_session_id);
    }

    #[test]
    fn claude_code_rejection_text_marks_the_result_rejected() {
        let session = parse(json!({"messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
              "content": "The user doesn't want to proceed with this tool use. The tool use was rejected"}]}
        ]}));
        assert!(session.events[0].rejected);
    }
}
