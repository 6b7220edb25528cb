//! `dream ingest PATH...`: read transcripts into the store.

use std::path::Path;

use clap::{Args, ValueEnum};
use dream_ingest::{
    DEFAULT_MAX_RECORD_BYTES, IngestOptions, IngestReport, Ingestor, InputPath, ReadOptions,
};
use dream_store::OpenMode;
use dream_types::SourceKind;

use super::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, dim, good, thousands};
use crate::progress::IngestProgress;

/// A transcript format name for `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// dream's canonical JSONL (one session per line).
    Canonical,
    /// OpenAI chat messages.
    Openai,
    /// Anthropic Messages content blocks.
    Anthropic,
    /// Claude Code ~/.claude/projects JSONL.
    ClaudeCode,
    /// tau-bench historical trajectories.
    TauBench,
    /// Anthropic Managed Agents session events.
    ManagedAgents,
}

impl From<FormatArg> for SourceKind {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Canonical => SourceKind::Canonical,
            FormatArg::Openai => SourceKind::OpenaiChat,
            FormatArg::Anthropic => SourceKind::AnthropicMessages,
            FormatArg::ClaudeCode => SourceKind::ClaudeCode,
            FormatArg::TauBench => SourceKind::TauBench,
            FormatArg::ManagedAgents => SourceKind::ManagedAgents,
        }
    }
}

/// Arguments of `dream ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or directories (walked for *.jsonl and *.json); `-` reads standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<String>,

    /// Agent name for sessions whose transcript names none.
    #[arg(long)]
    agent: Option<String>,

    /// Read every file as this format instead of detecting it.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    /// Store the valid sessions and list the invalid ones, instead of stopping at the
    /// first invalid session.
    #[arg(long)]
    skip_invalid: bool,

    /// Overwrite a stored session when the same session id arrives with different
    /// content that does not extend it (default: report a conflict).
    #[arg(long)]
    replace: bool,

    /// Largest accepted line or record, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD_BYTES, value_name = "BYTES")]
    max_record_bytes: usize,

    /// The memory store the sessions ran with (name or memstore_ id), for sessions
    /// whose transcript names none; needs --memory-version. Outcome comparisons use
    /// this link.
    #[arg(long, value_name = "STORE", requires = "memory_version")]
    memory_store: Option<String>,

    /// The store version the sessions ran with (see --memory-store).
    #[arg(long, value_name = "N", requires = "memory_store")]
    memory_version: Option<u64>,
}

/// Ingests the paths; exits 1 (3 for a conflict) when a session was not stored and
/// `--skip-invalid` was not given.
pub async fn cmd_ingest(db: &Path, args: IngestArgs, out: Output) -> CliResult<u8> {
    if args.max_record_bytes == 0 {
        return Err(CliError::usage(
            "invalid_request_error",
            "--max-record-bytes must be at least 1",
        ));
    }
    let existed = db.exists();
    let store = open_store(db, OpenMode::Create).await?;
    if !existed {
        out.note(format!("created dream store at {}", db.display()));
    }
    let memory_version = match (&args.memory_store, args.memory_version) {
        (Some(reference), Some(version)) => {
            let linked = super::stores::resolve_store(&store, Some(reference)).await?;
            if version > linked.store_version {
                return Err(CliError::usage(
                    "invalid_request_error",
                    format!(
                        "--memory-version {version} does not exist: {} is at version {}",
                        linked.id, linked.store_version
                    ),
                ));
            }
            Some(dream_types::MemoryVersionRef {
                store_id: Some(linked.id.to_string()),
                version,
            })
        }
        _ => None,
    };
    let options = IngestOptions {
        read: ReadOptions {
            format: args.format.map(SourceKind::from),
            agent: args.agent,
            max_record_bytes: args.max_record_bytes,
            memory_version,
        },
        skip_invalid: args.skip_invalid,
        replace: args.replace,
    };
    let inputs: Vec<InputPath> = args.paths.iter().map(|p| InputPath::parse(p)).collect();
    let progress = IngestProgress::new(out);
    let result = Ingestor::new(&store, options, &progress)
        .with_metrics(dream_engine::outcomes::metrics::at_ingest)
        .ingest(&inputs)
        .await;
    progress.finish();
    // Sessions are stored with their metrics; this computes those of sessions stored
    // before that (or by older definitions). A failure here loses nothing ingested.
    let metrics = match &result {
        Ok(_) => dream_engine::outcomes::metrics::refresh(&store).await,
        Err(_) => Ok(Default::default()),
    };
    store.close().await;
    let report = result?;
    metrics?;

    if out.json {
        out.json(&report)?;
    } else {
        print_report(&report, args.skip_invalid, out)?;
    }
    Ok(exit_code(&report, args.skip_invalid))
}

fn exit_code(report: &IngestReport, skip_invalid: bool) -> u8 {
    if report.skipped.is_empty() || skip_invalid {
        0
    } else if report.skipped.iter().any(|s| s.code == "conflict_error") {
        3
    } else {
        1
    }
}

fn print_report(report: &IngestReport, skip_invalid: bool, out: Output) -> CliResult<()> {
    let c = &report.counts;
    let files = plural(c.files, "file", "files");
    let seen = report.sessions.len() as u64;
    if report.nothing_new() && report.skipped.is_empty() {
        out.line(format!(
            "Nothing new: all {} in {} {files} were already stored.",
            crate::output::count(seen, "session", "sessions"),
            thousands(c.files)
        ))?;
        return Ok(());
    }
    let mut parts = vec![format!("{} new", thousands(c.created))];
    if c.appended > 0 {
        parts.push(format!("{} grown", thousands(c.appended)));
    }
    if c.updated > 0 {
        parts.push(format!("{} updated", thousands(c.updated)));
    }
    if c.replaced > 0 {
        parts.push(format!("{} replaced", thousands(c.replaced)));
    }
    if c.unchanged > 0 {
        parts.push(format!("{} already stored", thousands(c.unchanged)));
    }
    out.line(format!(
        "{} {} {} from {} {files}: {} ({} {} written)",
        good().apply_to("Ingested"),
        thousands(seen),
        plural(seen, "session", "sessions"),
        thousands(c.files),
        parts.join(", "),
        thousands(c.events_written),
        plural(c.events_written, "event", "events"),
    ))?;
    if !report.skipped.is_empty() {
        out.line(format!(
            "{} {} not stored:",
            bad().apply_to("Skipped"),
            thousands(c.skipped),
        ))?;
        for skipped in &report.skipped {
            out.line(format!("  {}", skipped.message))?;
        }
    }
    if report.stopped_early {
        out.line(
            "Stopped at the first session that could not be stored; the sessions before it \
             were stored. Fix the input, or pass --skip-invalid to store every valid session \
             and list the rest.",
        )?;
    } else if skip_invalid && !report.skipped.is_empty() {
        out.line(
            dim()
                .apply_to("(--skip-invalid: every valid session was stored)")
                .to_string(),
        )?;
    }
    Ok(())
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
