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
    check_names, checks_signature, clean_command, command_actions, error_signature, headline,
    is_answer_status, is_cascade, is_command_not_found, is_transient, quote_line, shell_command,
};

/// Bump when extraction changes, so cached signals are recomputed.
///
/// 3: corrections and preferences in French, German, Spanish and Portuguese; normal
/// answers of `grep`, `diff`, `test` are not errors; transient failures are marked;
/// fixes across tools on the same target; named checks of one failing step share
/// one key; the quote is the line that states the error.
pub const EXTRACTOR_VERSION: u32 = 3;

/// Tool calls after a failure within which a retry counts as its fix.
const RECOVERY_WINDOW: usize = 10;
/// Tool calls after a failure within which a call of another tool on the same target
/// (path, file name or argument value), or a command run in place of one that was not
/// found, counts as its fix.
const TARGET_WINDOW: usize = 5;
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
    /// For tool errors: the error reads as transient (timeout, rate limit, 5xx, "try
    /// again later", reset connection). Absent in signals cached before version 3.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
    /// For tool errors of a step that runs named checks (a pre-commit hook's
    /// `[FORMAT]`, `[CREDO]`, `[DIALYZER]`): the checks that failed, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// For tool errors: the same command (or tool) was tried again later in the
    /// session, so the failure cost a retry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retried: bool,
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

/// What a call acts on, for linking a failure to a fix made with another tool.
#[derive(Debug, Default)]
struct Targets {
    /// Paths and globs, normalised (no `./`, no trailing `/`), without their wildcard
    /// part: `test/support/**/*.ex` gives `test/support`.
    paths: Vec<String>,
    /// File names (`conn_case.ex`).
    names: Vec<String>,
    /// Other argument values (`HAT030`, `2024-05-13`), for values an error mentions.
    values: Vec<String>,
}

fn looks_like_path(value: &str) -> bool {
    !value.contains(char::is_whitespace)
        && !value.contains("://")
        && (value.contains('/')
            || value.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && (1..=6).contains(&ext.len())
                    && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    && ext.chars().any(|c| c.is_ascii_alphabetic())
            }))
}

impl Targets {
    fn add(&mut self, value: &str) {
        let value = value.trim().trim_matches(['"', '\'']);
        if value.is_empty() || value.len() > 300 {
            return;
        }
        if looks_like_path(value) {
            let literal: Vec<&str> = value
                .split('/')
                .take_while(|c| !c.contains(['*', '?', '[', '{']))
                .collect();
            let path = literal.join("/");
            let path = path
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned();
            let name = value.rsplit('/').next().unwrap_or(value);
            if !name.contains(['*', '?', '[', '{']) && name.len() >= 3 {
                self.names.push(name.to_owned());
            }
            if !path.is_empty() && path != "." {
                self.paths.push(path);
            }
        } else if value.chars().count() >= 3 && !value.contains(char::is_whitespace) {
            self.values.push(value.to_owned());
        }
    }

    /// Adds the string values of a tool input, nested objects and arrays included
    /// (a booking's `flights: [{flight_number, date}]`), a few levels deep.
    fn add_values(&mut self, value: &serde_json::Value, depth: usize) {
        match value {
            serde_json::Value::String(s) if depth > 0 => self.add(s),
            serde_json::Value::Array(items) if depth < 4 => {
                items.iter().for_each(|v| self.add_values(v, depth + 1));
            }
            serde_json::Value::Object(map) if depth < 4 => {
                map.values().for_each(|v| self.add_values(v, depth + 1));
            }
            _ => {}
        }
    }

    fn of(call: &Call<'_>) -> Self {
        let mut out = Self::default();
        match &call.command {
            Some(command) => {
                // Program and subcommand are the action, not its target; quoted text
                // (a commit message) is not a target either.
                let action_words: Vec<&str> = call
                    .actions
                    .iter()
                    .flat_map(|a| a.split_whitespace())
                    .collect();
                let bare = signature::without_quotes(command);
                for part in bare.split(['\n', ';', '|']).flat_map(|p| p.split("&&")) {
                    for word in part.split_whitespace().skip(1) {
                        if !word.starts_with(['-', '>', '<', '$', '(', '&'])
                            && word != "Q"
                            && !word.contains('=')
                            && !action_words.contains(&word)
                        {
                            out.add(word);
                        }
                    }
                }
            }
            None => out.add_values(&call.input, 0),
        }
        out
    }
}

/// One path names the same thing as another: equal, or one ends with the other at a
/// `/` (a relative and an absolute path).
fn same_path(a: &str, b: &str) -> bool {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    long == short || (long.ends_with(short) && long[..long.len() - short.len()].ends_with('/'))
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/')
        .map(|(dir, _)| dir)
        .filter(|d| !d.is_empty())
}

/// Returns whether `later` acts on a target of `failed`: the same path or file name;
/// for a failure that says something does not exist, also the directory it was
/// looked for in; and an argument value the error text mentions.
fn shares_target(failed: &Targets, later: &Targets, error: &str, not_found: bool) -> bool {
    let path_hit = failed
        .paths
        .iter()
        .any(|a| later.paths.iter().any(|b| same_path(a, b)));
    let name_hit = failed.names.iter().any(|a| later.names.contains(a));
    let dir_hit = not_found
        && failed.paths.iter().filter_map(|p| parent(p)).any(|dir| {
            later
                .paths
                .iter()
                .any(|b| same_path(dir, b) || parent(b).is_some_and(|d| same_path(dir, d)))
        });
    let value_hit = failed
        .values
        .iter()
        .any(|v| error.contains(v.as_str()) && later.values.contains(v));
    path_hit || name_hit || dir_hit || value_hit
}

/// Tools and programs whose job is to find where something is.
fn is_locator(call: &Call<'_>) -> bool {
    let tool = call.tool.to_ascii_lowercase();
    matches!(
        tool.as_str(),
        "glob"
            | "grep"
            | "ls"
            | "list_directory"
            | "list_files"
            | "find_files"
            | "search_files"
            | "find"
    ) || call.actions.iter().any(|a| {
        matches!(
            a.as_str(),
            "find" | "fd" | "ls" | "locate" | "tree" | "git ls-files" | "rg" | "which"
        )
    })
}

/// The same tool, and for shell calls a shared action: a retry of the failed call.
fn is_retry_of(failed: &Call<'_>, later: &Call<'_>) -> bool {
    later.tool == failed.tool && later.actions.iter().any(|a| failed.actions.contains(a))
}

/// The argument that says what a call acts on: the command of a shell call, else the
/// first string value of its input (`file_path`, `pattern`), else its whole input.
fn main_argument(call: &Call<'_>) -> String {
    if let Some(command) = &call.command {
        return clean_command(command);
    }
    call.input
        .as_object()
        .and_then(|map| map.values().find_map(serde_json::Value::as_str))
        .map_or_else(|| call.display_input(), str::to_owned)
}

fn shell_word(call: &Call<'_>) -> String {
    match &call.command {
        Some(command) => clean_command(command),
        None => call.tool.clone(),
    }
}

/// The fix of a failure that says a command does not exist: the next successful
/// shell call within [`TARGET_WINDOW`] that runs another program on the same
/// arguments, or the very next call when it is such a shell call.
fn substitute_fix(calls: &[Call<'_>], i: usize, session: &Session) -> Option<Fix> {
    let failed = &calls[i];
    let missing = failed.command.as_deref().map(command_actions)?;
    let program = |actions: &[String]| -> Vec<String> {
        actions
            .iter()
            .map(|a| a.split_whitespace().next().unwrap_or("").to_owned())
            .collect()
    };
    let missing_programs = program(&missing);
    let failed_targets = Targets::of(failed);
    for (offset, later) in calls.iter().enumerate().skip(i + 1).take(TARGET_WINDOW) {
        let Some(command) = &later.command else {
            continue;
        };
        if !later.succeeded() {
            continue;
        }
        let programs = program(&later.actions);
        let other_program = programs.iter().any(|p| !missing_programs.contains(p));
        let same_args = shares_target(&failed_targets, &Targets::of(later), "", false);
        if other_program && (same_args || offset == i + 1) {
            let replacement = programs
                .iter()
                .find(|p| !missing_programs.contains(p))
                .cloned()
                .unwrap_or_default();
            let example = truncate_chars(
                &format!("use `{replacement}` instead: `{}`", clean_command(command)),
                240,
            )
            .to_owned();
            return Some(Fix {
                pointer: pointer(session, later.use_event, &later.quote()),
                description: format!("use `{replacement}` instead"),
                example,
            });
        }
    }
    None
}

/// The fix of a failure found through its target: the first successful call of
/// another tool (or, for shell calls, another action) within [`TARGET_WINDOW`] calls
/// that acts on the same target, before any retry of the failed call. A locator
/// (`Glob`, `Grep`, `find`, `ls`) fixes a failure that says something is not there
/// ("locate it with `Glob` first"); another call fixes a failed tool call (not a
/// shell command) that then worked on the same target ("call `Read` first").
fn target_fix(calls: &[Call<'_>], i: usize, session: &Session) -> Option<Fix> {
    let failed = &calls[i];
    let result = failed.result?;
    let failed_targets = Targets::of(failed);
    let not_found = error_signature(&result.text).contains("not exist")
        || SALIENT_NOT_FOUND
            .iter()
            .any(|w| result.text.to_lowercase().contains(w));
    for (j, later) in calls.iter().enumerate().skip(i + 1).take(TARGET_WINDOW) {
        if is_retry_of(failed, later) {
            // The retry came first: the same-tool rule explains the fix.
            return None;
        }
        if !later.succeeded()
            || !shares_target(
                &failed_targets,
                &Targets::of(later),
                &result.text,
                not_found,
            )
        {
            continue;
        }
        let what = shell_word(later);
        if is_locator(later) {
            // Finding where something is fixes only a failure to find it.
            if !not_found {
                continue;
            }
            let tool = if later.command.is_some() {
                later.actions.first().cloned().unwrap_or_default()
            } else {
                later.tool.clone()
            };
            let example = truncate_chars(
                &format!("locate it with `{tool}` first: `{}`", main_argument(later)),
                240,
            )
            .to_owned();
            return Some(Fix {
                pointer: pointer(session, later.use_event, &later.quote()),
                description: format!("locate it with `{tool}` first"),
                example,
            });
        }
        let retried = calls.iter().skip(j + 1).take(RECOVERY_WINDOW).any(|again| {
            is_retry_of(failed, again)
                && again.succeeded()
                && shares_target(&failed_targets, &Targets::of(again), &result.text, false)
        });
        // A shell command that failed and later worked was fixed by what ran in
        // between; the same-tool rule names those steps. Here only tool calls
        // (an `Edit` that needed a `Read`) count.
        if !retried || failed.command.is_some() {
            continue;
        }
        let (description, example) = match &later.command {
            Some(_) => (
                format!("run `{}` first", signature::mask(&what)),
                format!("run `{what}` first"),
            ),
            None => (
                format!("call `{}` first", later.tool),
                format!("call `{}` first: `{}`", later.tool, main_argument(later)),
            ),
        };
        return Some(Fix {
            pointer: pointer(session, later.use_event, &later.quote()),
            description,
            example: truncate_chars(&example, 240).to_owned(),
        });
    }
    None
}

/// Words of errors that say something is not where it was looked for (or is not what
/// was expected there).
const SALIENT_NOT_FOUND: [&str; 9] = [
    "no such file",
    "not found",
    "does not exist",
    "enoent",
    "cannot find",
    "eisdir",
    "is a directory",
    "not a directory",
    "could not resolve",
];

/// Finds the fix of the failed call `i`. The rules, in order (the first that applies
/// wins):
///
/// 1. a command that was not found (exit 127): the command run in its place
///    ([`substitute_fix`]: "use `python3` instead");
/// 2. a call of another tool on the same target, when it comes before any retry of
///    the failed call ([`target_fix`]: "locate it with `Glob` first", "call `Read`
///    first");
/// 3. the same tool, retried ([`retry_fix`]): tokens added or removed, changed
///    arguments, or the commands run in between ("run `mix format` first").
fn find_fix(calls: &[Call<'_>], i: usize, session: &Session, signature: &str) -> Option<Fix> {
    let result = calls[i].result?;
    if is_command_not_found(&result.text)
        && let Some(fix) = substitute_fix(calls, i, session)
    {
        return Some(fix);
    }
    target_fix(calls, i, session).or_else(|| retry_fix(calls, i, session, signature))
}

/// Finds the fix of the failed call `i`: the next call of the same tool (sharing a
/// shell action) within [`RECOVERY_WINDOW`] calls that works, or fails differently.
fn retry_fix(calls: &[Call<'_>], i: usize, session: &Session, signature: &str) -> Option<Fix> {
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
                transient: false,
                checks: Vec::new(),
                retried: false,
            });
            continue;
        }
        if !call.failed() || is_cascade(&result.text) {
            continue;
        }
        // `grep` finding nothing or `diff` finding differences answered; nothing failed.
        if call
            .command
            .as_deref()
            .is_some_and(|c| is_answer_status(c, &result.text))
        {
            continue;
        }
        let lines = headline(&result.text);
        if lines.is_empty() {
            continue;
        }
        // The detailed signature tells a failure from a different one (a fix that
        // cleared `[FORMAT]` but met `[CREDO]` still fixed something); the key groups
        // every failure of a multi-check step into one pattern.
        let signature = error_signature(&result.text);
        let key_signature = checks_signature(&result.text).unwrap_or_else(|| signature.clone());
        let text = lines.join(" / ");
        let retried = calls
            .iter()
            .skip(i + 1)
            .take(RECOVERY_WINDOW)
            .any(|later| is_retry_of(call, later));
        let base = Signal {
            kind: SignalKind::ToolError,
            key: format!("tool_error:{key_signature}"),
            at: result.timestamp,
            evidence: pointer(session, result, quote_line(&result.text)),
            tool: Some(call.tool.clone()),
            actions: call.actions.clone(),
            input: Some(call.display_input()),
            text,
            fix: None,
            context: Some(pointer(session, call.use_event, &call.quote())),
            fact: None,
            transient: is_transient(&result.text),
            checks: check_names(&result.text),
            retried,
        };
        if let Some(fix) = find_fix(&calls, i, session, &signature) {
            out.push(Signal {
                kind: SignalKind::Recovery,
                key: format!("recovery:{key_signature}"),
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
                        transient: false,
                        checks: Vec::new(),
                        retried: false,
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
                        transient: false,
                        checks: Vec::new(),
                        retried: false,
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
                        transient: false,
                        checks: Vec::new(),
                        retried: false,
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

    fn tool_call(index: u32, id: &str, tool: &str, input: serde_json::Value) -> Event {
        let mut e = Event::new(
            index,
            EventKind::ToolUse,
            dream_types::canonical_json(&input),
        );
        e.tool_name = Some(tool.into());
        e.tool_use_id = Some(id.into());
        e
    }

    fn tool_result(index: u32, id: &str, tool: &str, text: &str, is_error: bool) -> Event {
        let mut e = result(index, id, text, is_error);
        e.tool_name = Some(tool.into());
        e
    }

    fn errors(signals: &[Signal]) -> Vec<&Signal> {
        signals
            .iter()
            .filter(|s| s.kind == SignalKind::ToolError)
            .collect()
    }

    #[test]
    fn normal_answers_of_search_compare_and_test_are_not_errors() {
        let answers = [
            ("grep -rn 'TODO' lib/", "Exit code 1"),
            (
                "rg --files-with-matches secret_key_base config/",
                "Exit code 1\n",
            ),
            ("cd /repo && git grep -n oldName", "Exit code 1"),
            (
                "diff a.txt b.txt",
                "Exit code 1\n3c3\n< error: old\n---\n> error: new",
            ),
            ("git diff --quiet HEAD -- lib/", "Exit code 1"),
            ("test -f priv/static/app.css", "Exit code 1"),
            ("[ -d node_modules ]", "Exit code 1"),
            ("cat mix.exs | grep -c lazy_html", "Exit code 1\n0"),
        ];
        for (command, output) in answers {
            let events = vec![call(0, "a", command), result(1, "a", output, true)];
            let signals = extract(&session(), &events, &[]);
            assert!(signals.is_empty(), "{command}: {signals:?}");
        }
        let real_errors = [
            (
                "grep -rn TODO missing/",
                "Exit code 2\ngrep: missing/: No such file or directory",
            ),
            (
                "diff a.txt gone.txt",
                "Exit code 2\ndiff: gone.txt: No such file or directory",
            ),
            ("mix test", "Exit code 1\n** (Mix) Could not find task"),
        ];
        for (command, output) in real_errors {
            let events = vec![call(0, "a", command), result(1, "a", output, true)];
            assert_eq!(
                errors(&extract(&session(), &events, &[])).len(),
                1,
                "{command} failed"
            );
        }
    }

    #[test]
    fn transient_failures_are_marked_and_mistakes_are_not() {
        let transient = [
            "Exit code 28\ncurl: (28) Operation timed out after 30001 milliseconds with 0 bytes received",
            "Error: 429 Too Many Requests",
            "HTTP 503 Service Unavailable",
            "error: The requested URL returned error: 502 Bad Gateway",
            "Resource temporarily unavailable, please try again later",
            "fatal: unable to access 'https://github.com/x/y/': Connection reset by peer",
            "npm ERR! code ECONNRESET",
        ];
        for text in transient {
            let events = vec![
                call(0, "a", "curl https://api.example.com"),
                result(1, "a", text, true),
            ];
            let signals = extract(&session(), &events, &[]);
            assert!(errors(&signals)[0].transient, "{text}");
        }
        for text in [
            "fatal: The current branch x has no upstream branch.",
            "Exit code 2\n  1) test handles a timeout option (FooTest)\n     ** (RuntimeError) expected :ok",
        ] {
            let events = vec![call(0, "a", "git push"), result(1, "a", text, true)];
            assert!(
                !errors(&extract(&session(), &events, &[]))[0].transient,
                "{text}"
            );
        }
    }

    #[test]
    fn a_missing_file_is_fixed_by_locating_it_with_another_tool() {
        let events = vec![
            tool_call(
                0,
                "a",
                "Read",
                serde_json::json!({"file_path": "/home/u/app/test/support/conn_case.ex"}),
            ),
            tool_result(
                1,
                "a",
                "Read",
                "<tool_use_error>File does not exist.</tool_use_error>",
                true,
            ),
            tool_call(
                2,
                "b",
                "Glob",
                serde_json::json!({"pattern": "test/support/**/*.ex"}),
            ),
            tool_result(
                3,
                "b",
                "Glob",
                "/home/u/app/test/support/data_case.ex",
                false,
            ),
            tool_call(
                4,
                "c",
                "Read",
                serde_json::json!({"file_path": "/home/u/app/test/support/data_case.ex"}),
            ),
            tool_result(5, "c", "Read", "defmodule App.DataCase do", false),
        ];
        let signals = extract(&session(), &events, &[]);
        let fix = signals[0].fix.as_ref().expect("a fix");
        assert_eq!(fix.description, "locate it with `Glob` first");
        assert_eq!(fix.pointer.event_index, 2);
        assert!(events[2].text.contains(&fix.pointer.quote));

        // Without the locator, the same-tool rule still explains the fix.
        let retried = vec![
            events[0].clone(),
            events[1].clone(),
            events[4].clone(),
            events[5].clone(),
        ];
        let signals = extract(&session(), &retried, &[]);
        assert_eq!(
            signals[0].fix.as_ref().unwrap().description,
            "call `Read` again with `file_path` changed"
        );
    }

    #[test]
    fn a_stale_edit_is_fixed_by_reading_the_same_file_first() {
        let path = "/repo/lib/otel.ex";
        let events = vec![
            tool_call(
                0,
                "a",
                "Edit",
                serde_json::json!({"file_path": path, "old_string": "a", "new_string": "b"}),
            ),
            tool_result(
                1,
                "a",
                "Edit",
                "<tool_use_error>String to replace not found in file.</tool_use_error>",
                true,
            ),
            tool_call(
                2,
                "b",
                "Bash",
                serde_json::json!({"command": "mix compile"}),
            ),
            tool_result(3, "b", "Bash", "Compiling 1 file (.ex)", false),
            tool_call(4, "c", "Read", serde_json::json!({"file_path": path})),
            tool_result(5, "c", "Read", "defmodule Otel do", false),
            tool_call(
                6,
                "d",
                "Edit",
                serde_json::json!({"file_path": path, "old_string": "c", "new_string": "b"}),
            ),
            tool_result(
                7,
                "d",
                "Edit",
                "The file has been updated successfully.",
                false,
            ),
        ];
        let signals = extract(&session(), &events, &[]);
        let fix = signals[0].fix.as_ref().expect("a fix");
        assert_eq!(fix.description, "call `Read` first");
        assert_eq!(fix.pointer.event_index, 4);
    }

    #[test]
    fn a_failing_test_run_is_not_fixed_by_editing_the_file_it_names() {
        let test = "test/app_test.exs";
        let events = vec![
            call(0, "a", &format!("mix test {test}")),
            result(
                1,
                "a",
                &format!(
                    "Exit code 2\n  1) test renders ({test}:12)\n     Assertion with == failed"
                ),
                true,
            ),
            tool_call(
                2,
                "b",
                "Edit",
                serde_json::json!({"file_path": test, "old_string": "a", "new_string": "b"}),
            ),
            tool_result(
                3,
                "b",
                "Edit",
                "The file has been updated successfully.",
                false,
            ),
            tool_call(
                4,
                "c",
                "Grep",
                serde_json::json!({"pattern": "renders", "path": test}),
            ),
            tool_result(5, "c", "Grep", "12: test renders", false),
            call(6, "d", &format!("mix test {test}")),
            result(7, "d", "1 test, 0 failures", false),
        ];
        let signals = extract(&session(), &events, &[]);
        assert_eq!(errors(&signals).len(), 1);
        for fix in signals.iter().filter_map(|s| s.fix.as_ref()) {
            assert!(
                !fix.description.contains("Edit") && !fix.description.contains("locate"),
                "a test failure is not a missing file: {}",
                fix.description
            );
        }
        // Without the target rule's limits, the Edit (same path) would have been the fix.
        assert!(
            signals.iter().all(|s| s.kind != SignalKind::Recovery),
            "an identical re-run after editing is no fix of the command: {signals:?}"
        );
    }

    #[test]
    fn a_command_not_found_is_fixed_by_the_command_run_in_its_place() {
        let events = vec![
            call(0, "a", "python scripts/check.py --strict"),
            result(
                1,
                "a",
                "Exit code 127\n(eval):1: command not found: python",
                true,
            ),
            call(2, "b", "python3 scripts/check.py --strict"),
            result(3, "b", "ok", false),
        ];
        let signals = extract(&session(), &events, &[]);
        let fix = signals[0].fix.as_ref().expect("a fix");
        assert_eq!(fix.description, "use `python3` instead");
        assert_eq!(fix.pointer.event_index, 2);
    }

    #[test]
    fn a_hook_failure_names_its_checks_and_shares_one_key() {
        let commit = "git add -A && git commit -m 'feat: x'";
        let events = vec![
            call(0, "a", commit),
            result(
                1,
                "a",
                "Pre-commit validation failed:\\n\\n[FORMAT] Code is not formatted.\\nRun 'mix format' to fix.\\n\\n[CREDO]\\nChecking 114 source files",
                true,
            ),
            call(2, "b", commit),
            result(
                3,
                "b",
                "Pre-commit validation failed:\\n\\n[DIALYZER]\\nFinding suitable PLTs",
                true,
            ),
            call(4, "c", "mix test"),
            result(5, "c", "ok", false),
        ];
        let signals = extract(&session(), &events, &[]);
        let errors = errors(&signals);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].key, errors[1].key);
        assert_eq!(
            errors[0].key,
            "tool_error:pre-commit validation failed: <checks>"
        );
        assert_eq!(errors[0].checks, ["FORMAT", "CREDO"]);
        assert_eq!(errors[1].checks, ["DIALYZER"]);
        assert!(errors[0].retried, "the commit was run again");
        assert!(!errors[1].retried, "nothing ran the commit again");
    }

    #[test]
    fn the_quote_is_the_line_that_states_the_error() {
        let cases = [
            (
                "Exit code 2\nGetting extensions in current project...\nRunning ExUnit with seed: 1\n\n  1) test renders (AppTest)\n     ** (RuntimeError) no :secret_key_base configuration found",
                "** (RuntimeError) no :secret_key_base configuration found",
            ),
            (
                "Exit code 6\nChecking 1 source file ...\n\n  Software Design\n┃ [D] ↘ Nested modules could be aliased",
                "Exit code 6",
            ),
        ];
        for (text, quote) in cases {
            let events = vec![call(0, "a", "mix check"), result(1, "a", text, true)];
            let signals = extract(&session(), &events, &[]);
            assert_eq!(signals[0].evidence.quote, quote);
            assert!(events[1].text.contains(&signals[0].evidence.quote));
        }
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
