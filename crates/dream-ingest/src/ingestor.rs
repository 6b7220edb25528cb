//! Ingesting files into a store: walking paths, reading each file on a blocking
//! thread, and streaming its sessions into [`Store::write_session`].

use std::io::Read;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use dream_store::{
    EventSource, SessionMetrics, SourceEnd, Store, StoreError, WriteOptions, WriteStatus,
};
use dream_types::{Event, SessionId};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::emit::{Item, Sink};
use crate::error::{IngestError, IngestResult, InputError};
use crate::readers::{ReadOptions, read_file};

/// Items buffered between a reader thread and the store writer.
const CHANNEL_ITEMS: usize = 1024;

/// File extensions picked up when walking a directory.
const TRANSCRIPT_EXTENSIONS: [&str; 2] = ["jsonl", "json"];

/// What to ingest: a file, a directory (walked for `*.jsonl` and `*.json`), or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPath {
    /// A file or directory.
    Path(PathBuf),
    /// Standard input (`-`), spooled to a temporary file first.
    Stdin,
}

impl InputPath {
    /// Reads `-` as standard input and anything else as a path.
    pub fn parse(text: &str) -> Self {
        if text == "-" {
            InputPath::Stdin
        } else {
            InputPath::Path(PathBuf::from(text))
        }
    }
}

/// Options for [`Ingestor`].
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// How to read each file.
    pub read: ReadOptions,
    /// Store the valid sessions and list the invalid ones instead of stopping at the
    /// first invalid one (`--skip-invalid`). Default: false.
    pub skip_invalid: bool,
    /// Overwrite stored sessions whose content conflicts (`--replace`). Default: false.
    pub replace: bool,
}

/// Watches an ingest; every method has an empty default.
pub trait IngestObserver: Send + Sync {
    /// Called once with the total bytes of all files to read.
    fn start(&self, _total_bytes: u64, _files: usize) {}
    /// Called as bytes are read (monotonic across files) and sessions are stored.
    fn advance(&self, _bytes_done: u64, _sessions_done: u64) {}
    /// Called when a file starts.
    fn file(&self, _label: &str) {}
}

/// An observer that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl IngestObserver for NoProgress {}

/// One session written (or found unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionReport {
    /// The file it came from.
    pub path: String,
    /// Its id in that file.
    pub source_session_id: String,
    /// The stored session.
    pub session_id: SessionId,
    /// What happened.
    pub status: WriteStatus,
    /// Events in the stored session.
    pub event_count: u64,
    /// Events written now.
    pub events_written: u64,
}

/// A session or file that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedReport {
    /// Stable code (`invalid_json`, `conflict_error`, …).
    pub code: String,
    /// `file:line: message (code)`.
    pub message: String,
    /// The file.
    pub path: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The session it belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_session_id: Option<String>,
}

impl SkippedReport {
    fn from_input(err: &InputError) -> Self {
        Self {
            code: err.code.as_str().to_owned(),
            message: err.to_string(),
            path: err.path.clone(),
            line: err.line,
            source_session_id: err.source_session_id.clone(),
        }
    }
}

/// Counts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IngestCounts {
    /// Files read.
    pub files: u64,
    /// New sessions.
    pub created: u64,
    /// Sessions that grew.
    pub appended: u64,
    /// Sessions whose fields changed.
    pub updated: u64,
    /// Sessions overwritten with `--replace`.
    pub replaced: u64,
    /// Sessions already stored as they are.
    pub unchanged: u64,
    /// Sessions or files not stored.
    pub skipped: u64,
    /// Events written.
    pub events_written: u64,
}

/// The result of an ingest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    /// Totals.
    pub counts: IngestCounts,
    /// Every session stored or found unchanged, in input order.
    pub sessions: Vec<SessionReport>,
    /// Everything not stored.
    pub skipped: Vec<SkippedReport>,
    /// True when the ingest stopped at the first invalid session (no `--skip-invalid`).
    pub stopped_early: bool,
}

impl IngestReport {
    /// Returns true when nothing new was stored.
    pub fn nothing_new(&self) -> bool {
        let c = &self.counts;
        c.created + c.appended + c.updated + c.replaced == 0
    }

    fn record(&mut self, session: SessionReport) {
        let c = &mut self.counts;
        match session.status {
            WriteStatus::Created => c.created += 1,
            WriteStatus::Appended => c.appended += 1,
            WriteStatus::Updated => c.updated += 1,
            WriteStatus::Replaced => c.replaced += 1,
            WriteStatus::Unchanged => c.unchanged += 1,
        }
        c.events_written += session.events_written;
        self.sessions.push(session);
    }

    fn skip(&mut self, skipped: SkippedReport) {
        self.counts.skipped += 1;
        self.skipped.push(skipped);
    }
}

/// Returns a fresh fold of a session's built-in metrics (see [`Ingestor::with_metrics`]).
pub type MetricsFactory = fn() -> Box<dyn SessionMetrics>;

/// Ingests transcripts into a store.
pub struct Ingestor<'a> {
    store: &'a dyn Store,
    options: IngestOptions,
    observer: &'a dyn IngestObserver,
    metrics: Option<MetricsFactory>,
}

impl std::fmt::Debug for Ingestor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingestor")
            .field("options", &self.options)
            .finish()
    }
}

struct ChannelSink {
    tx: mpsc::Sender<Item>,
}

impl Sink for ChannelSink {
    fn send(&mut self, item: Item) -> bool {
        self.tx.blocking_send(item).is_ok()
    }
}

/// Feeds one session's events from the reader channel to the store.
struct ChannelSource<'a> {
    rx: &'a mut mpsc::Receiver<Item>,
    /// Set once the session's last item (End, Invalid, or a closed channel) was read.
    done: bool,
    end: Option<SourceEnd>,
    error: Option<InputError>,
    progress: &'a (dyn Fn(u64) + Sync),
    metrics: Option<Box<dyn SessionMetrics>>,
}

impl ChannelSource<'_> {
    /// Reads and discards the rest of the session after the store stopped early.
    async fn drain(&mut self) {
        while !self.done {
            self.next_event().await;
        }
    }

    fn close(&mut self, end: SourceEnd) {
        self.done = true;
        self.end = Some(end);
    }
}

#[async_trait]
impl EventSource for ChannelSource<'_> {
    async fn next_event(&mut self) -> Option<Event> {
        if self.done {
            return None;
        }
        loop {
            match self.rx.recv().await {
                Some(Item::Event(event)) => return Some(event),
                Some(Item::End(outcomes)) => {
                    self.close(SourceEnd::Complete { outcomes });
                    return None;
                }
                Some(Item::Invalid(err)) => {
                    self.error = Some(err);
                    self.close(SourceEnd::Aborted);
                    return None;
                }
                Some(Item::Progress(bytes)) => (self.progress)(bytes),
                // A reader never begins a session inside another; a closed channel
                // means the reader thread ended without finishing the session.
                Some(Item::Begin(_)) | None => {
                    self.close(SourceEnd::Aborted);
                    return None;
                }
            }
        }
    }

    fn finish(&mut self) -> SourceEnd {
        self.end.take().unwrap_or(SourceEnd::Aborted)
    }

    fn metrics(&mut self) -> Option<&mut dyn SessionMetrics> {
        // A `match` rather than `as_deref_mut`: the trait object's lifetime must be
        // shortened to the borrow, which an `Option` map cannot do.
        match &mut self.metrics {
            Some(metrics) => Some(metrics.as_mut()),
            None => None,
        }
    }
}

impl<'a> Ingestor<'a> {
    /// Returns an ingestor writing to `store`.
    pub fn new(
        store: &'a dyn Store,
        options: IngestOptions,
        observer: &'a dyn IngestObserver,
    ) -> Self {
        Self {
            store,
            options,
            observer,
            metrics: None,
        }
    }

    /// Stores each session's built-in metrics in the same transaction as the session,
    /// folded by a fresh `new()` per session as its events stream in (the engine's
    /// `outcomes::metrics::at_ingest`). Without it, sessions are stored without
    /// metrics and a later refresh computes them from the stored events.
    #[must_use]
    pub fn with_metrics(mut self, new: MetricsFactory) -> Self {
        self.metrics = Some(new);
        self
    }

    /// Ingests every input, in order; directories are walked in file-name order.
    ///
    /// Bad input never fails the call: it is listed in [`IngestReport::skipped`], and
    /// without `skip_invalid` the ingest stops there ([`IngestReport::stopped_early`]).
    ///
    /// # Errors
    /// [`IngestError::Path`] when an input path does not exist or cannot be listed
    /// (checked before anything is read); [`IngestError::Store`] when the store fails.
    pub async fn ingest(&self, inputs: &[InputPath]) -> IngestResult<IngestReport> {
        let files = expand(inputs)?;
        let mut spooled = Vec::new();
        let mut plan: Vec<(PathBuf, String, u64)> = Vec::new();
        for file in files {
            match file {
                InputPath::Stdin => {
                    let temp = tokio::task::spawn_blocking(spool_stdin)
                        .await
                        .map_err(|e| IngestError::Internal(e.to_string()))?
                        .map_err(|source| IngestError::Path {
                            path: "-".into(),
                            source,
                        })?;
                    let size = temp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
                    plan.push((temp.path().to_owned(), "-".to_owned(), size));
                    spooled.push(temp);
                }
                InputPath::Path(path) => {
                    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                    let label = path.display().to_string();
                    plan.push((path, label, size));
                }
            }
        }
        let total: u64 = plan.iter().map(|(_, _, size)| size).sum();
        self.observer.start(total, plan.len());
        let mut report = IngestReport::default();
        let mut bytes_before = 0_u64;
        for (path, label, size) in plan {
            self.observer.file(&label);
            report.counts.files += 1;
            let keep_going = self
                .ingest_file(&path, &label, bytes_before, &mut report)
                .await?;
            bytes_before += size;
            let stored = report.sessions.len() as u64;
            self.observer.advance(bytes_before, stored);
            if !keep_going {
                report.stopped_early = true;
                break;
            }
        }
        drop(spooled);
        Ok(report)
    }

    /// Ingests one file that holds the bytes of a stream (an HTTP request body) exactly
    /// as standard input is ingested: messages and `source_path` say `-`, no project
    /// is read from the file's location, and a file that names no session is the
    /// session `stdin`. So a body gives the same sessions as its bytes piped to
    /// `dream ingest -`. The caller owns the file and removes it.
    ///
    /// # Errors
    /// As [`Ingestor::ingest`]: [`IngestError::Store`] when the store fails.
    pub async fn ingest_spooled(&self, path: &Path) -> IngestResult<IngestReport> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        self.observer.start(size, 1);
        self.observer.file("-");
        let mut report = IngestReport::default();
        report.counts.files = 1;
        let keep_going = self.ingest_file(path, "-", 0, &mut report).await?;
        self.observer.advance(size, report.sessions.len() as u64);
        report.stopped_early = !keep_going;
        Ok(report)
    }

    /// Returns false when the ingest must stop (an invalid session without `skip_invalid`).
    async fn ingest_file(
        &self,
        path: &Path,
        label: &str,
        bytes_before: u64,
        report: &mut IngestReport,
    ) -> IngestResult<bool> {
        let (tx, mut rx) = mpsc::channel(CHANNEL_ITEMS);
        let read_options = self.options.read.clone();
        let (thread_path, thread_label) = (path.to_owned(), label.to_owned());
        let reader = tokio::task::spawn_blocking(move || {
            let mut sink = ChannelSink { tx };
            read_file(&thread_path, &thread_label, &read_options, &mut sink);
        });
        let write_options = WriteOptions {
            replace: self.options.replace,
        };
        let max_seen = std::sync::atomic::AtomicU64::new(0);
        let sessions_before = report.sessions.len() as u64;
        let observer = self.observer;
        let progress = |bytes: u64| {
            let done = max_seen
                .fetch_max(bytes, std::sync::atomic::Ordering::Relaxed)
                .max(bytes);
            observer.advance(bytes_before + done, sessions_before);
        };
        let mut keep_going = true;
        while let Some(item) = rx.recv().await {
            match item {
                Item::Begin(head) => {
                    let mut source = ChannelSource {
                        rx: &mut rx,
                        done: false,
                        end: None,
                        error: None,
                        progress: &progress,
                        metrics: self.metrics.map(|new| new()),
                    };
                    let written = self
                        .store
                        .write_session(&head, &mut source, write_options)
                        .await;
                    source.drain().await;
                    let input_error = source.error.take();
                    match written {
                        Ok(done) => report.record(SessionReport {
                            path: label.to_owned(),
                            source_session_id: head.source_session_id.clone(),
                            session_id: done.session_id,
                            status: done.status,
                            event_count: done.event_count,
                            events_written: done.events_written,
                        }),
                        Err(StoreError::SourceAborted) => {
                            let err = input_error.unwrap_or_else(|| {
                                InputError::new(
                                    label,
                                    None,
                                    crate::error::InputErrorCode::Io,
                                    "the reader stopped before the session ended",
                                )
                            });
                            report.skip(SkippedReport::from_input(
                                &err.clone().in_session(head.source_session_id.clone()),
                            ));
                            keep_going = self.options.skip_invalid;
                        }
                        Err(err @ StoreError::SessionConflict { .. }) => {
                            report.skip(SkippedReport {
                                code: err.code().to_owned(),
                                message: format!("{label}: {err} ({})", err.code()),
                                path: label.to_owned(),
                                line: None,
                                source_session_id: Some(head.source_session_id.clone()),
                            });
                            keep_going = self.options.skip_invalid;
                        }
                        Err(other) => {
                            drop(rx);
                            let _ = reader.await;
                            return Err(other.into());
                        }
                    }
                }
                Item::Invalid(err) => {
                    report.skip(SkippedReport::from_input(&err));
                    keep_going = self.options.skip_invalid;
                }
                Item::Progress(bytes) => progress(bytes),
                // Events outside a session cannot happen; a stray End is harmless.
                Item::Event(_) | Item::End(_) => {}
            }
            if !keep_going {
                break;
            }
        }
        drop(rx);
        reader
            .await
            .map_err(|e| IngestError::Internal(format!("reader thread failed: {e}")))?;
        Ok(keep_going)
    }
}

/// Expands directories into their transcript files, checking that every path exists.
fn expand(inputs: &[InputPath]) -> IngestResult<Vec<InputPath>> {
    let mut out = Vec::new();
    for input in inputs {
        match input {
            InputPath::Stdin => out.push(InputPath::Stdin),
            InputPath::Path(path) => {
                let meta = std::fs::metadata(path).map_err(|source| IngestError::Path {
                    path: path.display().to_string(),
                    source,
                })?;
                if !meta.is_dir() {
                    out.push(InputPath::Path(path.clone()));
                    continue;
                }
                for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                    let entry = entry.map_err(|err| IngestError::Path {
                        path: err.path().map_or_else(
                            || path.display().to_string(),
                            |p| p.display().to_string(),
                        ),
                        source: err.into(),
                    })?;
                    let is_transcript = entry.file_type().is_file()
                        && entry
                            .path()
                            .extension()
                            .and_then(|e| e.to_str())
                            .is_some_and(|e| TRANSCRIPT_EXTENSIONS.contains(&e));
                    if is_transcript {
                        out.push(InputPath::Path(entry.into_path()));
                    }
                }
            }
        }
    }
    Ok(out)
}

fn spool_stdin() -> std::io::Result<tempfile::NamedTempFile> {
    let mut temp = tempfile::NamedTempFile::new()?;
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0_u8; 256 * 1024];
    loop {
        let read = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        std::io::Write::write_all(temp.as_file_mut(), &buf[..read])?;
    }
    Ok(temp)
}
