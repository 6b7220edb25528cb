//! `dream sessions list|show`: browse stored sessions.

use std::path::Path;

use clap::{Args, Subcommand};
use console::Style;
use dream_store::{OpenMode, SessionRef, Store};
use dream_types::{
    Event, EventKind, Outcome, OutcomeFilter, OutcomeResult, Session, SessionFilter, Timestamp,
};
use serde::Serialize;

use super::{now, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, dim, strong, thousands, truncate};
use crate::when::{DateAs, parse_when};

/// `dream sessions …`
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions, newest first.
    List(ListArgs),
    /// Show one session as a readable transcript (`--json`: its canonical JSONL record).
    Show(ShowArgs),
}

/// Arguments of `dream sessions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this agent's sessions.
    #[arg(long)]
    agent: Option<String>,
    /// Only this user's sessions.
    #[arg(long)]
    user: Option<String>,
    /// Only sessions started since: a duration back from now (`90m`, `24h`, `7d`, `2w`),
    /// a date (`2026-02-11`) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only sessions with at least one failed tool result.
    #[arg(long, conflicts_with = "no_errors")]
    has_errors: bool,
    /// Only sessions without failed tool results.
    #[arg(long)]
    no_errors: bool,
    /// Only sessions with this outcome: `failed` (a failed verdict or a reward below
    /// 0.5), `satisfied` (a satisfied verdict or a reward of 0.5 or more),
    /// `needs_revision`, `max_iterations_reached`, `interrupted`, or `NAME=VALUE`
    /// (`reward=1`).
    #[arg(long, value_name = "OUTCOME")]
    outcome: Option<String>,
    /// Include subagent sessions (hidden by default; `show` lists them under their parent).
    #[arg(long)]
    all: bool,
    /// At most this many sessions.
    #[arg(long, short = 'n')]
    limit: Option<u64>,
}

/// Arguments of `dream sessions show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A `sesn_…` id, or the session's id in its transcript file (a `#EVENT` suffix,
    /// as evidence prints it, is accepted).
    id: String,
    /// Show long texts whole instead of folding them.
    #[arg(long)]
    full: bool,
}

/// Runs a `dream sessions` subcommand.
pub async fn cmd_sessions(db: &Path, command: SessionsCommand, out: Output) -> CliResult<u8> {
    let store = open_store(db, OpenMode::MustExist).await?;
    let result = match command {
        SessionsCommand::List(args) => cmd_list(&store, args, out).await,
        SessionsCommand::Show(args) => cmd_show(&store, args, out).await,
    };
    store.close().await;
    result
}

fn parse_outcome(text: &str) -> CliResult<OutcomeFilter> {
    match text.split_once('=') {
        Some((name, value)) => {
            let value = value.trim().parse::<f64>().map_err(|_| {
                CliError::usage(
                    "invalid_request_error",
                    format!("--outcome {text:?}: the value after `=` must be a number"),
                )
            })?;
            Ok(OutcomeFilter::Value {
                name: name.trim().to_owned(),
                value,
            })
        }
        None => match text.trim() {
            "failed" => Ok(OutcomeFilter::Failed),
            "satisfied" => Ok(OutcomeFilter::Succeeded),
            name @ ("needs_revision" | "max_iterations_reached" | "interrupted") => {
                Ok(OutcomeFilter::Result(OutcomeResult::from_name(name)))
            }
            other => Err(CliError::usage(
                "invalid_request_error",
                format!(
                    "--outcome {other:?} is not an outcome; accepted: failed (a failed verdict \
                     or a reward below 0.5), satisfied (a satisfied verdict or a reward of 0.5 \
                     or more), needs_revision, max_iterations_reached, interrupted, or \
                     NAME=VALUE (reward=1)"
                ),
            )),
        },
    }
}

fn outcome_summary(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| match (&o.result, o.value) {
            (Some(result), _) if o.name == "reward" => result.to_string(),
            (Some(result), _) => format!("{}:{result}", o.name),
            (None, Some(value)) => format!("{}={value}", o.name),
            (None, None) => o.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Debug, Serialize)]
struct SessionList<'a> {
    sessions: &'a [Session],
    count: usize,
}

async fn cmd_list(store: &dyn Store, args: ListArgs, out: Output) -> CliResult<u8> {
    let filter = SessionFilter {
        agent: args.agent,
        user: args.user,
        since: args
            .since
            .as_deref()
            .map(|s| parse_when("--since", s, now()?, DateAs::Start))
            .transpose()?,
        has_errors: match (args.has_errors, args.no_errors) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        outcome: args.outcome.as_deref().map(parse_outcome).transpose()?,
        ingested_after: None,
        top_level_only: !args.all,
        until: None,
        after_key: None,
        memory_store_id: None,
        limit: args.limit,
    };
    let sessions = store.list_sessions(&filter).await?;
    if out.json {
        out.json(&SessionList {
            sessions: &sessions,
            count: sessions.len(),
        })?;
        return Ok(0);
    }
    if sessions.is_empty() {
        out.line("No sessions match.")?;
        return Ok(0);
    }
    out.line(
        strong()
            .apply_to(format!(
                "{:<31}  {:<38}  {:<16}  {:<16}  {:>6}  {:>4}  OUTCOME",
                "ID", "SOURCE ID", "AGENT", "STARTED (UTC)", "EVENTS", "ERR"
            ))
            .to_string(),
    )?;
    for s in &sessions {
        let errors = if s.tool_error_count > 0 {
            bad()
                .apply_to(format!("{:>4}", s.tool_error_count))
                .to_string()
        } else {
            format!("{:>4}", 0)
        };
        out.line(format!(
            "{:<31}  {:<38}  {:<16}  {:<16}  {:>6}  {}  {}",
            s.id,
            truncate(&s.source_session_id, 38),
            truncate(s.agent.as_deref().unwrap_or("-"), 16),
            s.started_at
                .map_or_else(|| "-".to_owned(), |t| t.to_display_minutes()),
            thousands(s.event_count),
            errors,
            outcome_summary(&s.outcomes)
        ))?;
    }
    out.line(
        dim()
            .apply_to(crate::output::count(
                sessions.len() as u64,
                "session",
                "sessions",
            ))
            .to_string(),
    )?;
    Ok(0)
}

async fn cmd_show(store: &dyn Store, args: ShowArgs, out: Output) -> CliResult<u8> {
    // Evidence is printed as `sesn_…#EVENT`; the session part names the session.
    let id = match args.id.rsplit_once('#') {
        Some((id, event)) if event.parse::<u32>().is_ok() => id,
        _ => args.id.as_str(),
    };
    let session = store.get_session(&SessionRef::parse(id)).await?;
    let events = store.session_events(&session.id, None).await?;
    if out.json {
        let record = dream_ingest::canonical::session_record(&session, &events);
        out.line(record.to_string())?;
        return Ok(0);
    }
    let children = store.child_sessions(&session.id).await?;
    print_header(&session, &children, out)?;
    for event in &events {
        print_event(event, session.started_at, args.full, out)?;
    }
    Ok(0)
}

fn print_header(session: &Session, children: &[Session], out: Output) -> CliResult<()> {
    out.line(format!(
        "{}  {}",
        strong().apply_to(&session.id),
        session.source_session_id
    ))?;
    let field = |name: &str, value: String| format!("  {:<9} {value}", dim().apply_to(name));
    out.line(field(
        "source",
        format!(
            "{} · {}",
            session.source_kind,
            session.source_path.as_deref().unwrap_or("-")
        ),
    ))?;
    out.line(field(
        "agent",
        format!(
            "{}   user {}",
            session.agent.as_deref().unwrap_or("-"),
            session.user.as_deref().unwrap_or("-")
        ),
    ))?;
    if let (Some(start), end) = (session.started_at, session.ended_at) {
        let span = end.map_or(String::new(), |end| {
            let minutes = (end.unix_micros() - start.unix_micros()) / 60_000_000;
            format!(" → {} ({minutes} min)", end.to_display_minutes())
        });
        out.line(field(
            "time",
            format!("{} UTC{span}", start.to_display_minutes()),
        ))?;
    }
    let errors = if session.tool_error_count > 0 {
        bad()
            .apply_to(format!("{} failed tool results", session.tool_error_count))
            .to_string()
    } else {
        "no failed tool results".to_owned()
    };
    out.line(field(
        "events",
        format!("{} · {errors}", thousands(session.event_count)),
    ))?;
    if !session.outcomes.is_empty() {
        out.line(field("outcomes", outcome_summary(&session.outcomes)))?;
    }
    if !session.metadata.is_empty() {
        let pairs: Vec<String> = session
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}={}", truncate(v, 60)))
            .collect();
        out.line(field("metadata", pairs.join("  ")))?;
    }
    if let Some(parent) = &session.parent_id {
        out.line(field("parent", parent.to_string()))?;
    } else if let Some(parent) = &session.parent_source_session_id {
        out.line(field("parent", format!("{parent} (not ingested)")))?;
    }
    for child in children {
        out.line(field(
            "subagent",
            format!(
                "{}  {} ({})",
                child.id,
                child.source_session_id,
                crate::output::count(child.event_count, "event", "events")
            ),
        ))?;
    }
    out.line(format!(
        "  {:<9} {}",
        dim().apply_to("content"),
        dim().apply_to(&session.content_hash)
    ))?;
    out.line("")?;
    Ok(())
}

/// Lines of a long text shown before folding.
const FOLD_LINES: usize = 8;
/// Characters of one line shown before folding.
const FOLD_CHARS: usize = 240;

fn print_event(event: &Event, start: Option<Timestamp>, full: bool, out: Output) -> CliResult<()> {
    let time = match (event.timestamp, start) {
        (Some(ts), Some(start))
            if ts.to_display_minutes()[..10] == start.to_display_minutes()[..10] =>
        {
            ts.to_rfc3339()[11..19].to_owned()
        }
        (Some(ts), _) => ts.to_display_minutes(),
        (None, _) => String::new(),
    };
    let (label, style): (&str, Style) = match event.kind {
        EventKind::UserMessage => ("user", Style::new().cyan().bold()),
        EventKind::AgentMessage => ("agent", Style::new()),
        EventKind::Thinking => ("thinking", dim()),
        EventKind::ToolUse => ("tool_use", Style::new().yellow()),
        EventKind::ToolResult if event.rejected => ("rejected", bad()),
        EventKind::ToolResult if event.is_error => ("tool_error", bad()),
        EventKind::ToolResult => ("tool_result", Style::new().green()),
        EventKind::System => ("system", dim()),
        EventKind::OutcomeEvaluation => ("outcome", Style::new().magenta().bold()),
        EventKind::Compaction => ("compaction", Style::new().magenta()),
    };
    let tool = event.tool_name.as_deref().unwrap_or("");
    out.line(format!(
        "{} {} {} {}",
        dim().apply_to(format!("#{:<5}", event.index)),
        dim().apply_to(format!("{time:>8}")),
        style.apply_to(format!("{label:<11}")),
        strong().apply_to(tool)
    ))?;
    let body_style = match event.kind {
        EventKind::ToolResult if event.is_error => bad(),
        EventKind::System | EventKind::Thinking | EventKind::Compaction => dim(),
        _ => Style::new(),
    };
    let lines: Vec<&str> = event.text.lines().collect();
    let shown = if full {
        lines.len()
    } else {
        lines.len().min(FOLD_LINES)
    };
    for line in &lines[..shown] {
        let line = if full {
            (*line).to_owned()
        } else {
            truncate(line, FOLD_CHARS)
        };
        out.line(format!("        {}", body_style.apply_to(line)))?;
    }
    if shown < lines.len() {
        out.line(format!(
            "        {}",
            dim().apply_to(format!(
                "… {} more lines (--full shows them)",
                lines.len() - shown
            ))
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_filter_reads_verdicts_and_values() {
        assert_eq!(
            parse_outcome("reward=1").unwrap(),
            OutcomeFilter::Value {
                name: "reward".into(),
                value: 1.0
            }
        );
        assert_eq!(parse_outcome("failed").unwrap(), OutcomeFilter::Failed);
        assert_eq!(
            parse_outcome("needs_revision").unwrap(),
            OutcomeFilter::Result(OutcomeResult::NeedsRevision)
        );
        assert!(parse_outcome("reward=high").is_err());
        let unknown = parse_outcome("failure").unwrap_err();
        assert!(
            unknown.to_string().contains("accepted: failed"),
            "{unknown}"
        );
    }
}
