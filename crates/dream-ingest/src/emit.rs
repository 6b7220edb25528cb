//! The stream a reader produces: sessions as begin / events / end, bad records, progress.

use dream_types::{Event, EventKind, Outcome, SessionHead};

use crate::error::InputError;

/// One item of a reader's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A session starts; its events follow.
    Begin(Box<SessionHead>),
    /// The next event of the open session (indices are assigned in order from 0).
    Event(Event),
    /// The open session is complete, with these outcomes.
    End(Vec<Outcome>),
    /// A bad record. If a session is open, it is abandoned: nothing of it may be stored.
    Invalid(InputError),
    /// Bytes of the current file read so far.
    Progress(u64),
}

/// Receives a reader's items. Returning `false` asks the reader to stop.
pub trait Sink {
    /// Takes one item.
    fn send(&mut self, item: Item) -> bool;
}

/// A sink that keeps everything in memory (tests, `parse_file`).
#[derive(Debug, Default)]
pub struct CollectSink {
    /// Items in the order received, without `Progress`.
    pub items: Vec<Item>,
}

impl Sink for CollectSink {
    fn send(&mut self, item: Item) -> bool {
        if !matches!(item, Item::Progress(_)) {
            self.items.push(item);
        }
        true
    }
}

/// Wraps a sink for a reader: numbers events, drops blank message events, and keeps
/// track of whether a session is open.
pub(crate) struct Emitter<'a> {
    sink: &'a mut dyn Sink,
    open: bool,
    next_index: u32,
    stopped: bool,
}

impl std::fmt::Debug for Emitter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("open", &self.open)
            .field("next_index", &self.next_index)
            .finish()
    }
}

impl<'a> Emitter<'a> {
    pub fn new(sink: &'a mut dyn Sink) -> Self {
        Self {
            sink,
            open: false,
            next_index: 0,
            stopped: false,
        }
    }

    fn send(&mut self, item: Item) -> bool {
        if self.stopped {
            return false;
        }
        if !self.sink.send(item) {
            self.stopped = true;
        }
        !self.stopped
    }

    /// Returns whether a session was begun and not yet ended or abandoned.
    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn begin(&mut self, head: SessionHead) -> bool {
        self.open = true;
        self.next_index = 0;
        self.send(Item::Begin(Box::new(head)))
    }

    /// Sends `event` with the next index. Message-like events whose text is blank
    /// (Claude Code writes `"\n\n"` text blocks; Managed Agents thinking events carry
    /// no text) are dropped: they say nothing and would only shift indices.
    pub fn event(&mut self, mut event: Event) -> bool {
        let blank_message = !matches!(
            event.kind,
            EventKind::ToolUse
                | EventKind::ToolResult
                | EventKind::Compaction
                | EventKind::OutcomeEvaluation
        ) && event.text.trim().is_empty();
        if blank_message {
            return !self.stopped;
        }
        event.index = self.next_index;
        self.next_index += 1;
        self.send(Item::Event(event))
    }

    pub fn end(&mut self, outcomes: Vec<Outcome>) -> bool {
        self.open = false;
        self.send(Item::End(outcomes))
    }

    pub fn invalid(&mut self, error: InputError) -> bool {
        self.open = false;
        self.send(Item::Invalid(error))
    }

    pub fn progress(&mut self, bytes: u64) -> bool {
        self.send(Item::Progress(bytes))
    }
}
