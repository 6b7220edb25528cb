//! Signals: what one session says that might matter for memory — tool errors with a
//! normalised signature, the fixes that worked, user corrections and rejections,
//! stated preferences, and keyed facts.
//!
//! Extraction is a pure function of a session's events (and its subagent sessions'),
//! cached per session and [`EXTRACTOR_VERSION`], so a nightly dream re-reads only
//! sessions it has not seen.

pub mod cues;
pub mod signature;

use std::collections::HashMap;

use dream_types::{Event, EventKind, Session, SessionId, Timestamp};
use serde::{Deserialize, Serialize};

use self::signature::{
    clean_command, command_actions, error_signature, headline, is_cascade, shell_command,
};

/// Bump when extraction changes, so cached signals are recomputed.
pub const EXTRACTOR_VERSION: u32 = 2;

/// Tool calls after a failure within which a retry counts as its fix.
const RECOVERY_WINDOW: usize = 10;
/// Intermediate steps (other commands run between a failure and its successful retry)
/// kept as part of a fix.
const MAX_FIX_STEPS: usize = 2;
/// Longest quote kept as evidence, in characters.
const MAX_QUOTE_CHARS: usize = 300;

/// What a signal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// A failed tool call.
    ToolError,
    /// A failed call followed by a working one: the fix.
    Recovery,
    /// A user turn correcting or refusing what the agent just did.
    Correction,
    /// A tool use the user rejected.
    Rejection,
    /// "I prefer…", "always…", "never…".
    Preference,
    /// "my X is Y", "X is now Y".
    Fact,
}

/// An event and a verbatim quote of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pointer {
    /// The session holding the event (a subagent session for subagent events).
    pub session_id: SessionId,
    /// Its id in the imported file.
    pub source_session_id: String,
    /// The event.
    pub event_index: u32,
    /// Text that occurs verbatim in the event.
    pub quote: String,
}

/// How a failure was fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// The call that worked (or the first step before it).
    pub pointer: Pointer,
    /// What was done, masked so that fixes of different sessions compare
    /// (`add --set-upstream origin <branch>`, `run mix format first`).
    pub description: String,
    /// The same, unmasked, from this session.
    pub example: String,
}

/// A keyed fact's parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FactValue {
    /// The subject (`plan`).
    pub key: String,
    /// The value as written.
    pub value: String,
    /// About the speaker ("my …").
    pub personal: bool,
    /// States a change ("is now", "changed to").
    pub change: bool,
}

/// One thing a session says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// What it is.
    pub kind: SignalKind,
    /// The clustering key: `tool_error:<signature>`, `preference:<normalised text>`, …
    pub key: String,
    /// When it happened.
    pub at: Option<Timestamp>,
    /// The event it comes from.
    pub evidence: Pointer,
    /// The tool, for tool errors, recoveries and rejections.
    pub tool: Option<String>,
    /// Shell actions of the call (`git push`), or the tool name.
    pub actions: Vec<String>,
    /// The failing input, cleaned (a shell command, or compact JSON).
    pub input: Option<String>,
    /// The error headline or the user's statement, verbatim.
    pub text: String,
    /// For recoveries: the fix.
    pub fix: Option<Fix>,
    /// For corrections and rejections: the agent's turn it answers.
    pub context: Option<Pointer>,
    /// For facts.
    pub fact: Option<FactValue>,
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

fn pointer(session: &Session, event: &Event, quote: &str) -> Pointer {
    Pointer {
        session_id: session.id.clone(),
        source_session_id: session.source_session_id.clone(),
        event_index: event.index,
        quote: truncate_chars(quote.trim(), MAX_QUOTE_CHARS).to_owned(),
    }
}

/// A tool call and its result.
#[derive(Debug)]
struct Call<'a> {
    use_event: &'a Event,
    tool: String,
    input: serde_json::Value,
    command: Option<String>,
    actions: Vec<String>,
    result: Option<&'a Event>,
}

impl Call<'_> {
    fn failed(&self) -> bool {
        self.result.is_some_and(|r| r.is_error && !r.rejected)
    }

    fn succeeded(&self) -> bool {
        self.result.is_some_and(|r| !r.is_error)
    }

    fn display_input(&self) -> String {
        match &self.command {
            Some(command) => truncate_chars(&clean_command(command), 200).to_owned(),
            None => truncate_chars(&dream_types::canonical_json(&self.input), 200).to_owned(),
        }
    }

    /// The verbatim text of the call's input in the event: the JSON-escaped command for
    /// shell calls, else the start of the event text.
    fn quote(&self) -> String {
        if let Some(command) = &self.command {
            let escaped = serde_json::to_string(command).unwrap_or_default();
            let inner = escaped.trim_matches('"');
            if self.use_event.text.contains(inner) {
                return inner.to_owned();
            }
        }
        self.use_event.text.clone()
    }
}

fn pair_calls(events: &[Event]) -> Vec<Call<'_>> {
    let mut calls: Vec<Call<'_>> = Vec::new();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for event in events {
        match event.kind {
            EventKind::ToolUse => {
                let tool = event.tool_name.clone().unwrap_or_default();
                let input: serde_json::Value = serde_json::from_str(&event.text)
                    .unwrap_or(serde_json::Value::String(event.text.clone()));
                let command = shell_command(&tool, &input);
                let actions = match &command {
                    Some(c) => command_actions(c),
                    None => vec![tool.clone()],
                };
                if let Some(id) = &event.tool_use_id {
                    by_id.insert(id.as_str(), calls.len());
                }
                calls.push(Call {
                    use_event: event,
                    tool,
                    input,
                    command,
                    actions,
                    result: None,
                });
            }
            EventKind::ToolResult => {
                let slot = match &event.tool_use_id {
                    Some(id) => by_id.get(id.as_str()).copied(),
                    // Without ids, a result answers the latest unanswered call.
                    None => calls.iter().rposition(|c| c.result.is_none()),
                };
                if let Some(slot) = slot
                    && calls[slot].result.is_none()
                {
                    calls[slot].result = Some(event);
                }
            }
            _ => {}
        }
    }
    calls
}

/// Describes how `retry` differs from `failed`: tokens added or removed for shell
/// commands, changed argument names for other tools. Returns (masked, example).
fn describe_retry(failed: &Call<'_>, retry: &Call<'_>) -> (String, String) {
    if let (Some(a), Some(b)) = (&failed.command, &retry.command) {
        let (a, b) = (clean_command(a), clean_command(b));
        let old: Vec<&str> = a.split_whitespace().collect();
        let new: Vec<&str> = b.split_whitespace().collect();
        let added: Vec<&str> = new.iter().copied().filter(|t| !old.contains(t)).collect();
        let removed: Vec<&str> = old.iter().copied().filter(|t| !new.contains(t)).collect();
        let (masked, example) = match (added.is_empty(), removed.is_empty()) {
            (false, true) => (
                format!("add `{}`", signature::mask(&added.join(" "))),
                format!("add `{}`", added.join(" ")),
            ),
            (true, false) => (
                format!("leave out `{}`", signature::mask(&removed.join(" "))),
                format!("leave out `{}`", removed.join(" ")),
            ),
            _ => (
                format!("run `{}`", signature::mask(&b)),
                format!("run `{b}`"),
            ),
        };
        return (masked, truncate_chars(&example, 240).to_owned());
    }
    let changed: Vec<String> = match (&failed.input, &retry.input) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            let mut keys: Vec<String> = a
                .keys()
                .chain(b.keys())
                .filter(|k| a.get(*k) != b.get(*k))
                .cloned()
                .collect();
            keys.sort();
            keys.dedup();
            keys
        }
        _ => Vec::new(),
    };
    let masked = if changed.is_empty() {
        format!("call `{}` again with other arguments", retry.tool)
    } else {
        format!(
            "call `{}` again with `{}` changed",
            retry.tool,
            changed.join("`, `")
        )
    };
    (masked.clone(), masked)
}

/// Finds the fix of the failed call `i`: the next call of the same tool (sharing a
/// shell action) within [`RECOVERY_WINDOW`] calls that works, or fails differently.
fn find_fix(calls: &[Call<'_>], i: usize, session: &Session, signature: &str) -> Option<Fix> {
    let failed = &calls[i];
    let mut steps: Vec<&Call<'_>> = Vec::new();
    for later in calls.iter().skip(i + 1).take(RECOVERY_WINDOW) {
        if later.tool != failed.tool {
            continue;
        }
        let related = later.actions.iter().any(|a| failed.actions.contains(a));
        if !related {
            if later.succeeded() && failed.command.is_some() && steps.len() < MAX_FIX_STEPS {
                steps.push(later);
            }
            continue;
        }
        let same_input = later.use_event.text == failed.use_event.text;
        let resolved = match later.result {
            Some(result) if !result.is_error => true,
            Some(result) if result.is_error && !result.rejected => {
                error_signature(&result.text) != signature
            }
            _ => false,
        };
        if !resolved || (same_input && steps.is_empty()) {
            return None;
        }
        let (description, example, at) = if steps.is_empty() {
            let (masked, example) = describe_retry(failed, later);
            (masked, example, later)
        } else {
            let commands: Vec<String> = steps
                .iter()
                .filter_map(|s| s.command.as_deref().map(clean_command))
                .collect();
            let masked = format!(
                "run {} first",
                commands
                    .iter()
                    .map(|c| format!("`{}`", signature::mask(c)))
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            let example = format!(
                "run {} first",
                commands
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            );
            (masked, example, steps[0])
        };
        return Some(Fix {
            pointer: pointer(session, at.use_event, &at.quote()),
            description,
            example,
        });
    }
    None
}

/// Extracts the signals of one transcript. `user_cues` is false for subagent sessions,
/// whose "user" turns are prompts from the parent agent, not a person.
fn extract_one(session: &Session, events: &[Event], user_cues: bool, out: &mut Vec<Signal>) {
    let calls = pair_calls(events);
    for (i, call) in calls.iter().enumerate() {
        let Some(result) = call.result else { continue };
        if result.rejected {
            let first_line = result.text.lines().next().unwrap_or("").trim();
            out.push(Signal {
                kind: SignalKind::Rejection,
                key: format!("rejection:{}", call.tool.to_lowercase()),
                at: result.timestamp,
                evidence: pointer(session, result, first_line),
                tool: Some(call.tool.clone()),
                actions: call.actions.clone(),
                input: Some(call.display_input()),
                text: first_line.to_owned(),
                fix: None,
                context: Some(pointer(session, call.use_event, &call.quote())),
                fact: None,
            });
            continue;
        }
        if !call.failed() || is_cascade(&result.text) {
            continue;
        }
        let lines = headline(&result.text);
        if lines.is_empty() {
            continue;
        }
        let signature = error_signature(&result.text);
        let text = lines.join(" / ");
        let base = Signal {
            kind: SignalKind::ToolError,
            key: format!("tool_error:{signature}"),
            at: result.timestamp,
            evidence: pointer(session, result, lines[0]),
            tool: Some(call.tool.clone()),
            actions: call.actions.clone(),
            input: Some(call.display_input()),
            text,
            fix: None,
            context: Some(pointer(session, call.use_event, &call.quote())),
            fact: None,
        };
        if let Some(fix) = find_fix(&calls, i, session, &signature) {
            out.push(Signal {
                kind: SignalKind::Recovery,
                key: format!("recovery:{signature}"),
                fix: Some(fix),
                ..base.clone()
            });
        }
        out.push(base);
    }

    if !user_cues {
        return;
    }
    let mut last_agent: Option<&Event> = None;
    for event in events {
        match event.kind {
            EventKind::AgentMessage | EventKind::ToolUse => last_agent = Some(event),
            EventKind::UserMessage if !event.rejected => {
                let text = event.text.as_str();
                if let Some(agent) = last_agent.filter(|_| cues::is_correction(text)) {
                    out.push(Signal {
                        kind: SignalKind::Correction,
                        key: format!(
                            "correction:{}",
                            truncate_chars(&signature::normalize_text(text), 200)
                        ),
                        at: event.timestamp,
                        evidence: pointer(session, event, text),
                        tool: None,
                        actions: Vec::new(),
                        input: None,
                        text: truncate_chars(text.trim(), MAX_QUOTE_CHARS).to_owned(),
                        fix: None,
                        context: Some(pointer(session, agent, &agent.text)),
                        fact: None,
                    });
                }
                if let Some(sentence) = cues::preference_sentence(text) {
                    out.push(Signal {
                        kind: SignalKind::Preference,
                        key: format!(
                            "preference:{}",
                            truncate_chars(&signature::normalize_text(sentence), 200)
                        ),
                        at: event.timestamp,
                        evidence: pointer(session, event, sentence),
                        tool: None,
                        actions: Vec::new(),
                        input: None,
                        text: truncate_chars(sentence, MAX_QUOTE_CHARS).to_owned(),
                        fix: None,
                        context: None,
                        fact: None,
                    });
                }
                for fact in cues::facts(text) {
                    out.push(Signal {
                        kind: SignalKind::Fact,
                        key: format!("fact:{}", fact.key),
                        at: event.timestamp,
                        evidence: pointer(session, event, fact.sentence),
                        tool: None,
                        actions: Vec::new(),
                        input: None,
                        text: fact.sentence.to_owned(),
                        fix: None,
                        context: None,
                        fact: Some(FactValue {
                            key: fact.key.clone(),
                            value: fact.value.to_owned(),
                            personal: fact.personal,
                            change: fact.change,
                        }),
                    });
                }
            }
            _ => {}
        }
    }
}

/// Extracts the signals of a session and its subagent sessions. Events of a signal
/// keep pointing at the session that holds them.
pub fn extract(
    session: &Session,
    events: &[Event],
    children: &[(Session, Vec<Event>)],
) -> Vec<Signal> {
    let mut out = Vec::new();
    extract_one(session, events, true, &mut out);
    for (child, child_events) in children {
        extract_one(child, child_events, false, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_types::{SourceKind, Timestamp};

    fn session() -> Session {
        Session {
            id: "sesn_test".parse().unwrap(),
            source_kind: SourceKind::Canonical,
            source_session_id: "s1".into(),
            agent: None,
            user: None,
            started_at: None,
            ended_at: None,
            metadata: Default::default(),
            content_hash: String::new(),
            memory_version: None,
            parent_id: None,
            parent_source_session_id: None,
            event_count: 0,
            tool_error_count: 0,
            source_path: None,
            outcomes: Vec::new(),
            ingested_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    fn call(index: u32, id: &str, command: &str) -> Event {
        let mut e = Event::new(
            index,
            EventKind::ToolUse,
            dream_types::canonical_json(&serde_json::json!({"command": command})),
        );
        e.tool_name = Some("Bash".into());
        e.tool_use_id = Some(id.into());
        e
    }

    fn result(index: u32, id: &str, text: &str, is_error: bool) -> Event {
        let mut e = Event::new(index, EventKind::ToolResult, text);
        e.tool_name = Some("Bash".into());
        e.tool_use_id = Some(id.into());
        e.is_error = is_error;
        e
    }

    #[test]
    fn a_failed_push_and_its_fix() {
        let events = vec![
            call(0, "a", "git push 2>&1"),
            result(
                1,
                "a",
                "Exit code 128\nfatal: The current branch feat-x has no upstream branch.",
                true,
            ),
            call(2, "b", "git push --set-upstream origin feat-x 2>&1"),
            result(
                3,
                "b",
                "branch 'feat-x' set up to track 'origin/feat-x'.",
                false,
            ),
        ];
        let signals = extract(&session(), &events, &[]);
        let kinds: Vec<_> = signals.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [SignalKind::Recovery, SignalKind::ToolError]);
        let error = &signals[1];
        assert_eq!(
            error.key,
            "tool_error:fatal: the current branch <branch> has no upstream branch."
        );
        assert_eq!(
            error.evidence.quote,
            "fatal: The current branch feat-x has no upstream branch."
        );
        assert_eq!(error.input.as_deref(), Some("git push"));
        let fix = signals[0].fix.as_ref().unwrap();
        assert_eq!(fix.description, "add `--set-upstream origin <branch>`");
        assert_eq!(fix.example, "add `--set-upstream origin feat-x`");
        assert_eq!(fix.pointer.event_index, 2);
        assert!(events[2].text.contains(&fix.pointer.quote));
    }

    #[test]
    fn steps_between_a_failure_and_its_retry_are_the_fix() {
        let events = vec![
            call(0, "a", "git add -A && git commit -m x"),
            result(
                1,
                "a",
                "Pre-commit validation failed:\\n\\n[FORMAT] Code is not formatted.\\nRun 'mix format' to fix.",
                true,
            ),
            call(2, "b", "mix format 2>&1"),
            result(3, "b", "", false),
            call(4, "c", "git add -A && git commit -m x"),
            result(5, "c", "[main 12e2d10] x", false),
        ];
        let signals = extract(&session(), &events, &[]);
        let fix = signals[0].fix.as_ref().unwrap();
        assert_eq!(fix.description, "run `mix format` first");
        assert_eq!(fix.pointer.event_index, 2);
    }

    #[test]
    fn cascades_and_identical_retries_are_not_signals_or_fixes() {
        let events = vec![
            call(0, "a", "make"),
            result(
                1,
                "a",
                "<tool_use_error>Sibling tool call errored</tool_use_error>",
                true,
            ),
            call(2, "b", "make test"),
            result(3, "b", "error: flaky", true),
            call(4, "c", "make test"),
            result(5, "c", "ok", false),
        ];
        let signals = extract(&session(), &events, &[]);
        assert_eq!(signals.len(), 1, "{signals:?}");
        assert_eq!(signals[0].kind, SignalKind::ToolError);
    }

    #[test]
    fn user_turns_give_corrections_preferences_and_facts() {
        let mut agent = Event::new(0, EventKind::AgentMessage, "I'll use npm install.");
        agent.timestamp = Some(Timestamp::now());
        let user = Event::new(
            1,
            EventKind::UserMessage,
            "No, always use pnpm. Our plan is now enterprise.",
        );
        let signals = extract(&session(), &[agent, user], &[]);
        let kinds: Vec<_> = signals.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                SignalKind::Correction,
                SignalKind::Preference,
                SignalKind::Fact
            ]
        );
        assert_eq!(signals[0].context.as_ref().unwrap().event_index, 0);
        assert_eq!(signals[1].evidence.quote, "No, always use pnpm.");
        let fact = signals[2].fact.as_ref().unwrap();
        assert_eq!(
            (fact.key.as_str(), fact.value.as_str(), fact.change),
            ("plan", "enterprise", true)
        );
    }
}
