//! Built-in per-session metrics, computed from a stored transcript.
//!
//! | metric | value | absent when |
//! |---|---|---|
//! | `task_completion` | 1 when the session succeeded, 0 when it failed ([`session_failed`]: a `reward` ≥ 0.5, or every verdict `satisfied`) | it has no outcome |
//! | `duration_secs` | `ended_at − started_at`, seconds | a time is missing |
//! | `memory_lookup_count` | memory reads: the memory tool's `view`, MCP memory reads/searches, file reads under `/memories/` or of `CLAUDE.md`/`AGENTS.md` | never (0) |
//! | `error_rate` | failed tool results / tool results | no tool result |
//! | `user_correction_rate` | (correcting user turns + refused tool uses) / (user turns + refused tool uses) | no user turn |
//! | `input_tokens`, `output_tokens` | model usage summed per model message (Claude Code repeats a message's usage on each of its records; each message counts once) | the source records no usage |
//!
//! [`DEFINITION_VERSION`] changes whenever a definition does; stored values from other
//! versions are recomputed ([`refresh`]).

use std::collections::BTreeMap;

use dream_store::{BuiltinMetrics, SessionMetrics, SessionRef, Store};
use dream_types::{Event, EventKind, Session, SessionId};
use serde_json::Value;

use crate::EngineResult;
use crate::dream::session_failed;
use crate::signal::cues::is_correction;

/// Events read per query when [`refresh`] recomputes a stored session.
const REFRESH_PAGE_EVENTS: u32 = 2_000;

/// Version of the definitions above; stored metrics of another version are stale.
pub const DEFINITION_VERSION: u32 = 1;

/// The built-in metric names, in display order.
pub const BUILTIN: [&str; 7] = [
    "task_completion",
    "duration_secs",
    "memory_lookup_count",
    "error_rate",
    "user_correction_rate",
    "input_tokens",
    "output_tokens",
];

/// Returns whether `name` is a built-in metric (custom metrics may not take these names).
pub fn is_builtin(name: &str) -> bool {
    BUILTIN.contains(&name)
}

/// Computes the built-in metrics of one session from its events (see the module table).
pub fn compute(session: &Session, events: &[Event]) -> Vec<(String, f64)> {
    let mut fold = MetricsFold::default();
    for event in events {
        fold.push(event);
    }
    fold.values(session)
}

/// The built-in metrics of one session, folded one event at a time so that a
/// transcript is never held whole: at ingest (as the events stream into the store,
/// [`at_ingest`]) and in [`refresh`] (a page of stored events at a time). Holds a few
/// counters and one entry per model message that reports usage.
#[derive(Debug, Default, Clone)]
pub struct MetricsFold {
    lookups: u64,
    results: u64,
    failed_results: u64,
    user_turns: u64,
    refusals: u64,
    corrections: u64,
    /// The last usage seen of each model message, by message id.
    usage_by_message: BTreeMap<String, (u64, u64)>,
    /// Usage of records that name no message, summed.
    usage_anonymous: (u64, u64),
    any_usage: bool,
}

impl MetricsFold {
    /// Folds in the next event.
    pub fn push(&mut self, event: &Event) {
        match event.kind {
            EventKind::ToolUse if is_memory_lookup(event) => self.lookups += 1,
            EventKind::ToolResult => {
                self.results += 1;
                if event.is_error {
                    self.failed_results += 1;
                }
            }
            EventKind::UserMessage => {
                self.user_turns += 1;
                if event.rejected || is_correction(&event.text) {
                    self.corrections += 1;
                }
            }
            _ => {}
        }
        if event.rejected && event.kind != EventKind::UserMessage {
            self.refusals += 1;
        }
        if let Some((message, pair)) = event_usage(event) {
            self.any_usage = true;
            match message {
                Some(id) => {
                    self.usage_by_message.insert(id, pair);
                }
                None => {
                    self.usage_anonymous.0 += pair.0;
                    self.usage_anonymous.1 += pair.1;
                }
            }
        }
    }

    /// Returns the metrics of `session` from the events folded so far, in the order
    /// of [`BUILTIN`].
    pub fn values(&self, session: &Session) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = Vec::new();
        if let Some(failed) = session_failed(session) {
            out.push(("task_completion".into(), if failed { 0.0 } else { 1.0 }));
        }
        if let (Some(start), Some(end)) = (session.started_at, session.ended_at) {
            let secs = (end.unix_micros() - start.unix_micros()) as f64 / 1e6;
            if secs >= 0.0 {
                out.push(("duration_secs".into(), secs));
            }
        }
        out.push(("memory_lookup_count".into(), self.lookups as f64));
        if self.results > 0 {
            out.push((
                "error_rate".into(),
                self.failed_results as f64 / self.results as f64,
            ));
        }
        if self.user_turns + self.refusals > 0 {
            out.push((
                "user_correction_rate".into(),
                (self.corrections + self.refusals) as f64
                    / (self.user_turns + self.refusals) as f64,
            ));
        }
        if self.any_usage {
            let (input, output) = self
                .usage_by_message
                .values()
                .fold(self.usage_anonymous, |(i, o), (a, b)| (i + a, o + b));
            out.push(("input_tokens".into(), input as f64));
            out.push(("output_tokens".into(), output as f64));
        }
        out
    }
}

impl SessionMetrics for MetricsFold {
    fn push(&mut self, event: &Event) {
        MetricsFold::push(self, event);
    }

    fn finish(&mut self, session: &Session) -> BuiltinMetrics {
        BuiltinMetrics {
            definition_version: DEFINITION_VERSION,
            values: self.values(session),
        }
    }
}

/// Returns a fresh fold of the built-in metrics for one session, for
/// `Ingestor::with_metrics` (dream-ingest): the session and its metrics are then
/// stored in one transaction.
pub fn at_ingest() -> Box<dyn SessionMetrics> {
    Box::new(MetricsFold::default())
}

/// Returns whether a tool call reads memory.
fn is_memory_lookup(event: &Event) -> bool {
    let name = event
        .tool_name
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let input: Value = serde_json::from_str(&event.text).unwrap_or(Value::Null);
    let field = |key: &str| input.get(key).and_then(Value::as_str).unwrap_or_default();
    if name == "memory" || name.starts_with("memory_") {
        // Anthropic's memory tool: `view` reads; create/str_replace/insert/delete/rename write.
        return field("command") == "view";
    }
    if name.contains("memory") {
        return [
            "read", "get", "search", "list", "view", "recall", "query", "fetch",
        ]
        .iter()
        .any(|verb| name.contains(verb));
    }
    if matches!(name.as_str(), "read" | "read_file" | "view" | "cat") {
        let path = [field("file_path"), field("path")].concat();
        return path.contains("/memories/")
            || path.ends_with("CLAUDE.md")
            || path.ends_with("AGENTS.md");
    }
    false
}

/// Returns the model usage an event's source record reports, with the id of its
/// model message when it names one (the last record of a message carries its final
/// output count, so a later record of the same message replaces an earlier one).
fn event_usage(event: &Event) -> Option<(Option<String>, (u64, u64))> {
    let raw = event.raw.as_deref()?;
    if !raw.contains("\"usage\"") {
        return None;
    }
    let record = serde_json::from_str::<Value>(raw).ok()?;
    let message = record.get("message").unwrap_or(&record);
    let usage = message.get("usage").or_else(|| record.get("usage"))?;
    let count = |key: &str| usage.get(key).and_then(Value::as_u64).unwrap_or(0);
    let input = count("input_tokens")
        + count("cache_creation_input_tokens")
        + count("cache_read_input_tokens");
    let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
    Some((id, (input, count("output_tokens"))))
}

/// Sums model usage over the session's model messages, each message once. `None`
/// without any usage.
#[cfg(test)]
fn token_usage(events: &[Event]) -> Option<(u64, u64)> {
    let mut fold = MetricsFold::default();
    for event in events {
        fold.push(event);
    }
    fold.any_usage.then(|| {
        fold.usage_by_message
            .values()
            .fold(fold.usage_anonymous, |(i, o), (a, b)| (i + a, o + b))
    })
}

/// What [`refresh`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RefreshReport {
    /// Sessions whose metrics were computed.
    pub computed: u64,
}

/// Computes the built-in metrics of every session that lacks them, has them from other
/// definitions, or grew since (in batches of 500). Run after an ingest and before a
/// comparison.
///
/// # Errors
/// Store errors.
pub async fn refresh(store: &dyn Store) -> EngineResult<RefreshReport> {
    let mut report = RefreshReport::default();
    loop {
        let batch = store
            .sessions_needing_metrics(DEFINITION_VERSION, 500)
            .await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for id in &batch {
            refresh_one(store, id).await?;
            report.computed += 1;
        }
    }
}

async fn refresh_one(store: &dyn Store, id: &SessionId) -> EngineResult<()> {
    let session = store.get_session(&SessionRef::Id(id.clone())).await?;
    // A page of events at a time: a session of 300,000 events is never loaded whole.
    let mut fold = MetricsFold::default();
    let mut start = 0_u32;
    loop {
        let end = start.saturating_add(REFRESH_PAGE_EVENTS);
        let page = store.session_events(id, Some(start..end)).await?;
        for event in &page {
            fold.push(event);
        }
        if page.len() < REFRESH_PAGE_EVENTS as usize || end == u32::MAX {
            break;
        }
        start = end;
    }
    let metrics = fold.values(&session);
    store
        .put_builtin_metrics(id, DEFINITION_VERSION, &session.content_hash, &metrics)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(index: u32, kind: EventKind, text: &str) -> Event {
        Event::new(index, kind, text)
    }

    #[test]
    fn memory_reads_are_told_from_writes() {
        let mut view = event(
            0,
            EventKind::ToolUse,
            r#"{"command":"view","path":"/memories"}"#,
        );
        view.tool_name = Some("memory".into());
        let mut write = event(
            1,
            EventKind::ToolUse,
            r#"{"command":"create","path":"/memories/a.md"}"#,
        );
        write.tool_name = Some("memory".into());
        let mut mcp = event(2, EventKind::ToolUse, "{}");
        mcp.tool_name = Some("mcp__memory__search_nodes".into());
        let mut claude_md = event(3, EventKind::ToolUse, r#"{"file_path":"/repo/CLAUDE.md"}"#);
        claude_md.tool_name = Some("Read".into());
        let mut other = event(
            4,
            EventKind::ToolUse,
            r#"{"file_path":"/repo/src/main.rs"}"#,
        );
        other.tool_name = Some("Read".into());
        let flags: Vec<bool> = [view, write, mcp, claude_md, other]
            .iter()
            .map(is_memory_lookup)
            .collect();
        assert_eq!(flags, [true, false, true, true, false]);
    }

    #[test]
    fn usage_counts_each_message_once() {
        let record = |id: &str, output: u64| {
            let mut e = event(0, EventKind::AgentMessage, "x");
            e.raw = Some(format!(
                r#"{{"type":"assistant","message":{{"id":"{id}","usage":{{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":{output}}}}}}}"#
            ));
            e
        };
        let events = [record("m1", 3), record("m1", 7), record("m2", 1)];
        assert_eq!(token_usage(&events), Some((30, 8)));
        assert_eq!(token_usage(&[event(0, EventKind::AgentMessage, "x")]), None);
    }
}
