//! Format detection and the reader of each transcript format.
//!
//! Every reader turns one file into [`Item`]s: per session a `Begin`, its events, an
//! `End`; `Invalid` for a bad record (abandoning the session it belongs to);
//! `Progress` now and then. Files are read record by record and never whole.

mod claude_code;
mod managed_agents;
mod sessions;
mod tau_bench;

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use dream_types::{SessionHead, SourceKind};
use serde_json::Value;

use crate::emit::{Emitter, Item, Sink};
use crate::error::{InputError, InputErrorCode};
use crate::record::{Layout, RecordInfo, RecordReader, Sniff, parse_record, sniff};

pub use crate::record::DEFAULT_MAX_RECORD_BYTES;

/// Buffer size for reading transcript files.
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// Records between two progress reports.
const PROGRESS_EVERY: u64 = 64;

/// How to read one file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Read as this format instead of detecting it (`--format`).
    pub format: Option<SourceKind>,
    /// Agent name for sessions whose source names none (`--agent`).
    pub agent: Option<String>,
    /// Largest record accepted, in bytes. Default [`DEFAULT_MAX_RECORD_BYTES`].
    pub max_record_bytes: usize,
    /// The memory store version the sessions ran with, for sessions whose source names
    /// none (`--memory-store`, `--memory-version`); a source naming only a version
    /// gets this store id. Default none.
    pub memory_version: Option<dream_types::MemoryVersionRef>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            format: None,
            agent: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            memory_version: None,
        }
    }
}

/// What one file holds, as far as its first record tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Each record is a session `{"messages": [...], ...}` (canonical, OpenAI, Anthropic).
    SessionRecords,
    /// Each record is one chat message; the file is one session.
    MessageList,
    /// Each record is a tau-bench trajectory `{"task_id", "trial", "reward", "traj"}`.
    TauBench,
    /// Claude Code lines (`type`, `sessionId`, `uuid`).
    ClaudeCode,
    /// Each record is one Managed Agents event (or a list page `{"data": [...]}` of
    /// them); the file is one session.
    ManagedEvents,
    /// Each record is `{"session": {...}, "events": [...]}`.
    ManagedWrapped,
}

const CLAUDE_CODE_TYPES: [&str; 7] = [
    "user",
    "assistant",
    "system",
    "summary",
    "progress",
    "file-history-snapshot",
    "queue-operation",
];

fn is_managed_event(value: &Value) -> bool {
    value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.contains('.'))
}

/// Tells the shape from the first record.
fn detect(first: &Value, layout: Layout) -> Option<Shape> {
    let obj = first.as_object()?;
    if obj.contains_key("traj") {
        return Some(Shape::TauBench);
    }
    if obj.contains_key("messages") {
        return Some(Shape::SessionRecords);
    }
    if obj.get("session").is_some_and(Value::is_object) && obj.contains_key("events") {
        return Some(Shape::ManagedWrapped);
    }
    if let Some(Value::Array(data)) = obj.get("data")
        && data.first().is_none_or(is_managed_event)
    {
        return Some(Shape::ManagedEvents);
    }
    if is_managed_event(first) {
        return Some(Shape::ManagedEvents);
    }
    let kind = obj.get("type").and_then(Value::as_str);
    let claude_keys = ["sessionId", "uuid", "leafUuid", "messageId"]
        .iter()
        .any(|k| obj.contains_key(*k));
    if layout == Layout::Lines
        && claude_keys
        && kind.is_some_and(|k| CLAUDE_CODE_TYPES.contains(&k))
    {
        return Some(Shape::ClaudeCode);
    }
    if obj.contains_key("role") {
        return Some(Shape::MessageList);
    }
    None
}

/// Returns the shape a forced format implies, given the first record.
fn forced_shape(format: SourceKind, first: &Value) -> Shape {
    match format {
        SourceKind::ClaudeCode => Shape::ClaudeCode,
        SourceKind::TauBench => Shape::TauBench,
        SourceKind::ManagedAgents => {
            if first.get("session").is_some() {
                Shape::ManagedWrapped
            } else {
                Shape::ManagedEvents
            }
        }
        SourceKind::Canonical | SourceKind::OpenaiChat | SourceKind::AnthropicMessages => {
            if first.get("role").is_some() && first.get("messages").is_none() {
                Shape::MessageList
            } else {
                Shape::SessionRecords
            }
        }
    }
}

/// Everything a reader needs to know about the file besides its records.
#[derive(Debug, Clone)]
pub(crate) struct FileContext<'a> {
    /// The path as given (`-` for standard input), for messages.
    pub label: &'a str,
    /// The file to read.
    pub path: &'a Path,
    /// The file name without extension (the session id of one-session files).
    pub stem: String,
    pub options: &'a ReadOptions,
    pub layout: Layout,
    /// The file's size in bytes.
    pub size: u64,
}

impl FileContext<'_> {
    fn records(&self) -> Result<RecordReader<BufReader<File>>, InputError> {
        let file = File::open(self.path).map_err(|e| self.io(e))?;
        Ok(RecordReader::new(
            BufReader::with_capacity(READ_BUFFER_BYTES, file),
            self.layout,
            self.label,
            self.options.max_record_bytes,
        ))
    }

    fn io(&self, err: std::io::Error) -> InputError {
        InputError::new(
            self.label,
            None,
            InputErrorCode::Io,
            format!("cannot read: {err}"),
        )
    }

    /// Fills in what every head gets: the agent default and the source path.
    fn finish_head(&self, head: &mut SessionHead, default_agent: Option<&str>) {
        if head.agent.is_none() {
            head.agent = self
                .options
                .agent
                .clone()
                .or_else(|| default_agent.map(str::to_owned));
        }
        head.source_path = Some(self.label.to_owned());
        if let Some(link) = &self.options.memory_version {
            match &mut head.memory_version {
                None => head.memory_version = Some(link.clone()),
                Some(own) if own.store_id.is_none() => own.store_id.clone_from(&link.store_id),
                Some(_) => {}
            }
        }
    }

    /// Reads every record, parsed, and hands it to `each` with its position.
    /// A bad record is sent as `Invalid`; when a session is open it abandons that
    /// session, and reading stops there (what follows belongs to a session that will
    /// not be stored). Stops when `each` or the sink returns false.
    fn for_each_record(
        &self,
        emit: &mut Emitter<'_>,
        mut each: impl FnMut(&mut Emitter<'_>, Value, RecordInfo) -> bool,
    ) -> Result<(), InputError> {
        let mut records = self.records()?;
        let mut buf = Vec::new();
        let mut count = 0_u64;
        loop {
            let info = match records.next_record(&mut buf) {
                Ok(Some(info)) => info,
                Ok(None) => break,
                Err(err) => {
                    let fatal = err.code == InputErrorCode::Io
                        || (err.code == InputErrorCode::InvalidJson
                            && self.layout != Layout::Lines)
                        || emit.is_open();
                    if !emit.invalid(err) || fatal {
                        break;
                    }
                    continue;
                }
            };
            count += 1;
            if count.is_multiple_of(PROGRESS_EVERY) && !emit.progress(records.offset()) {
                break;
            }
            let keep_going = match parse_record(&buf, info, self.label) {
                Ok(value) => each(emit, value, info),
                Err(err) => {
                    let was_open = emit.is_open();
                    emit.invalid(err) && !was_open
                }
            };
            if !keep_going {
                break;
            }
        }
        emit.progress(records.offset());
        Ok(())
    }
}

/// Reads one file (already on disk; standard input is spooled first) into `sink`.
///
/// `label` is how messages name the file. Errors about the file as a whole (empty,
/// binary, not JSON, unreadable, unknown format) are sent as `Item::Invalid`.
pub fn read_file(path: &Path, label: &str, options: &ReadOptions, sink: &mut dyn Sink) {
    let mut emit = Emitter::new(sink);
    if let Err(err) = read_file_inner(path, label, options, &mut emit) {
        emit.invalid(err);
    }
}

fn read_file_inner(
    path: &Path,
    label: &str,
    options: &ReadOptions,
    emit: &mut Emitter<'_>,
) -> Result<(), InputError> {
    let io = |err: std::io::Error| {
        InputError::new(
            label,
            None,
            InputErrorCode::Io,
            format!("cannot read: {err}"),
        )
    };
    let file = File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let layout = match sniff(&file).map_err(io)? {
        Sniff::Empty => {
            return Err(InputError::new(
                label,
                None,
                InputErrorCode::EmptyFile,
                "file is empty; there is nothing to ingest",
            ));
        }
        Sniff::Binary { offset } => {
            return Err(InputError::new(
                label,
                None,
                InputErrorCode::BinaryFile,
                format!(
                    "file looks binary (NUL byte at offset {offset}); dream ingests JSON or JSONL \
                     transcripts"
                ),
            ));
        }
        Sniff::NotJson { first } => {
            return Err(InputError::new(
                label,
                Some(1),
                InputErrorCode::UnknownFormat,
                format!(
                    "not JSON: the file starts with {first:?}; dream ingests JSON or JSONL \
                     transcripts (see the README's Formats section)"
                ),
            ));
        }
        Sniff::Array => Layout::Array,
        Sniff::Object => Layout::Lines,
    };
    let stem = path_stem(path, label);
    let mut ctx = FileContext {
        label,
        path,
        stem,
        options,
        layout,
        size,
    };
    let first = first_record(&mut ctx)?;
    let Some(first) = first else {
        // An array with no elements: a valid file with no sessions.
        return Ok(());
    };
    let shape = match options.format {
        Some(format) => forced_shape(format, &first),
        None => detect(&first, ctx.layout).ok_or_else(|| {
            InputError::new(
                label,
                Some(1),
                InputErrorCode::UnknownFormat,
                "unrecognised transcript: the first record has none of `messages`, `traj`, \
                 `role`, a Claude Code `type`/`sessionId`, or a Managed Agents event `type`; \
                 pass --format to say which format it is",
            )
        })?,
    };
    // The first record is read again by the reader; holding this copy meanwhile would
    // double the memory of a file that is one large record.
    drop(first);
    match shape {
        Shape::SessionRecords => sessions::read_session_records(&ctx, emit),
        Shape::MessageList => sessions::read_message_list(&ctx, emit),
        Shape::TauBench => tau_bench::read(&ctx, emit),
        Shape::ClaudeCode => {
            if ctx.layout != Layout::Lines {
                return Err(InputError::new(
                    label,
                    None,
                    InputErrorCode::UnknownFormat,
                    "Claude Code transcripts are JSONL (one object per line)",
                ));
            }
            claude_code::read(&ctx, emit)
        }
        Shape::ManagedEvents => managed_agents::read_events(&ctx, emit),
        Shape::ManagedWrapped => managed_agents::read_wrapped(&ctx, emit),
    }
}

/// Returns the first record that parses (of the first 1,000), for detection.
/// When the very first JSONL line is an incomplete object, the file is re-read as one
/// pretty-printed JSON document. `Ok(None)` means no records (an empty array).
fn first_record(ctx: &mut FileContext<'_>) -> Result<Option<Value>, InputError> {
    let mut records = ctx.records()?;
    let mut buf = Vec::new();
    let mut first_error = None;
    for n in 0..1000 {
        match records.next_record(&mut buf) {
            Ok(None) => break,
            Ok(Some(info)) => match parse_record(&buf, info, ctx.label) {
                Ok(value) => return Ok(Some(value)),
                Err(err) => {
                    if n == 0
                        && ctx.layout == Layout::Lines
                        && is_truncation(&err)
                        && let Some(value) = as_document(ctx)?
                    {
                        return Ok(Some(value));
                    }
                    first_error.get_or_insert(err);
                }
            },
            Err(err) if err.code == InputErrorCode::Io => return Err(err),
            Err(err) => {
                first_error.get_or_insert(err);
                if ctx.layout != Layout::Lines {
                    break;
                }
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(None),
    }
}

fn is_truncation(err: &InputError) -> bool {
    err.code == InputErrorCode::InvalidJson && err.message.starts_with("truncated JSON")
}

/// Re-reads the file as one JSON document; on success switches `ctx` to that layout.
fn as_document(ctx: &mut FileContext<'_>) -> Result<Option<Value>, InputError> {
    let document = FileContext {
        layout: Layout::Document,
        ..ctx.clone()
    };
    let mut records = document.records()?;
    let mut buf = Vec::new();
    let Ok(Some(info)) = records.next_record(&mut buf) else {
        return Ok(None);
    };
    match parse_record(&buf, info, ctx.label) {
        Ok(value) => {
            ctx.layout = Layout::Document;
            Ok(Some(value))
        }
        Err(_) => Ok(None),
    }
}

fn path_stem(path: &Path, label: &str) -> String {
    if label == "-" {
        return "stdin".to_owned();
    }
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "transcript".to_owned())
}

/// Parses a whole file into items in memory (tests and tools; ingest streams instead).
pub fn parse_file(path: &Path, options: &ReadOptions) -> Vec<Item> {
    let mut sink = crate::emit::CollectSink::default();
    read_file(path, &path.display().to_string(), options, &mut sink);
    sink.items
}
