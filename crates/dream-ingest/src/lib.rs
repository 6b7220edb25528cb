//! Transcript readers for `dream`: canonical JSONL, OpenAI chat, Anthropic Messages,
//! Claude Code projects (with subagents and compaction), tau-bench trajectories and
//! Anthropic Managed Agents session events.
//!
//! The format of each file is detected from its first record (or forced with
//! [`ReadOptions::format`]). Files are streamed record by record on a blocking thread
//! and each session is written to the [`dream_store::Store`] in one transaction, so a
//! session is stored completely or not at all. Bad input is reported as
//! `file:line: what is wrong (code)` and never half-stored.
//!
//! ```no_run
//! # async fn demo(store: &dyn dream_store::Store) -> Result<(), dream_ingest::IngestError> {
//! use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress};
//!
//! let ingestor = Ingestor::new(store, IngestOptions::default(), &NoProgress);
//! let report = ingestor.ingest(&[InputPath::parse("../shared/data/claude-code")]).await?;
//! println!("{} new sessions", report.counts.created);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod canonical;
mod emit;
mod error;
mod ingestor;
mod json;
mod messages;
mod readers;
mod record;

pub use emit::{CollectSink, Item, Sink};
pub use error::{IngestError, IngestResult, InputError, InputErrorCode};
pub use ingestor::{
    IngestCounts, IngestObserver, IngestOptions, IngestReport, Ingestor, InputPath, MetricsFactory,
    NoProgress, SessionReport, SkippedReport,
};
pub use readers::{DEFAULT_MAX_RECORD_BYTES, ReadOptions, parse_file, read_file};
