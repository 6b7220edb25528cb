//! Events: the ordered items of a session transcript.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Timestamp, TypesError};

/// The text with which Claude Code answers a tool use the user refused
/// (Claude Code 2.1.x writes it as the `tool_result` of the refused call).
pub const REJECTION_PREFIX: &str = "The user doesn't want to proceed with this tool use";

/// What an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Text a person typed (or a refusal of a tool use, see [`Event::rejected`]).
    UserMessage,
    /// Text the agent wrote to the user.
    AgentMessage,
    /// The agent's visible reasoning.
    Thinking,
    /// A tool call by the agent; `text` is its input as canonical JSON.
    ToolUse,
    /// The answer to a tool call; see [`Event::is_error`].
    ToolResult,
    /// Harness or system text: system prompts, reminders, notifications, status.
    System,
    /// A grader's verdict on the session (Managed Agents `span.outcome_evaluation_end`).
    OutcomeEvaluation,
    /// A summary that replaced earlier context ("This session is being continued…").
    Compaction,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 8] = [
        EventKind::UserMessage,
        EventKind::AgentMessage,
        EventKind::Thinking,
        EventKind::ToolUse,
        EventKind::ToolResult,
        EventKind::System,
        EventKind::OutcomeEvaluation,
        EventKind::Compaction,
    ];

    /// Returns the snake_case name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::UserMessage => "user_message",
            EventKind::AgentMessage => "agent_message",
            EventKind::Thinking => "thinking",
            EventKind::ToolUse => "tool_use",
            EventKind::ToolResult => "tool_result",
            EventKind::System => "system",
            EventKind::OutcomeEvaluation => "outcome_evaluation",
            EventKind::Compaction => "compaction",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = TypesError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| TypesError::InvalidName {
                kind: "event kind",
                value: text.to_owned(),
                expected: "user_message, agent_message, thinking, tool_use, tool_result, system, \
                           outcome_evaluation, compaction",
            })
    }
}

/// One item of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the session, from 0, without gaps.
    pub index: u32,
    /// When it happened, if the source says.
    pub timestamp: Option<Timestamp>,
    /// What it is.
    pub kind: EventKind,
    /// The tool's name, for `tool_use` and `tool_result` events.
    pub tool_name: Option<String>,
    /// The id that pairs a `tool_use` with its `tool_result`.
    pub tool_use_id: Option<String>,
    /// For `tool_result`: the tool failed. Always `false` for other kinds.
    pub is_error: bool,
    /// The user refused this tool use (a `tool_result` whose text starts with
    /// [`REJECTION_PREFIX`], or a denied tool confirmation).
    pub rejected: bool,
    /// The text: message text, tool input as canonical JSON, or tool output.
    pub text: String,
    /// The source JSON this event was read from (compact), not part of the content hash.
    /// A record that yields one event keeps the whole record; a record that yields
    /// several (a message with several content blocks) keeps each block.
    pub raw: Option<String>,
}

impl Event {
    /// Returns an event with no timestamp, tool, error flag or raw source.
    pub fn new(index: u32, kind: EventKind, text: impl Into<String>) -> Self {
        Self {
            index,
            timestamp: None,
            kind,
            tool_name: None,
            tool_use_id: None,
            is_error: false,
            rejected: false,
            text: text.into(),
            raw: None,
        }
    }

    /// Returns true for a failed tool result.
    pub fn is_tool_error(&self) -> bool {
        self.kind == EventKind::ToolResult && self.is_error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert!("message".parse::<EventKind>().is_err());
    }
}
