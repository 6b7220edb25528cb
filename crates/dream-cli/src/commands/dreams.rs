//! `dream run` and `dream dreams list|show|cancel`: consolidation jobs.

use std::path::Path;

use crate::progress::DreamProgress;
use clap::{Args, Subcommand, ValueEnum};
use dream_engine::dream::{DreamRequest, DreamRun, LOCAL_ENGINE, Skip, cancel_dream, run_dream};
use dream_store::{DreamFilter, NewMemoryStore, OpenMode, SessionRef, Store};
use dream_types::{
    Dream, DreamId, DreamMode, DreamStatus, MemoryStore, OutputBehavior, SessionWindow,
};

use super::proposals::{ProposalView, print_proposal};
use super::stores::resolve_store;
use super::{clock_and_ids, now, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, dim, good, strong, thousands};
use crate::when::{DateAs, parse_when};

/// Where a dream's result goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// A new store starting as a copy of the input (the input is untouched).
    CreateNew,
    /// The input store itself, after approval (or at once with --auto).
    UpdateExisting,
}

/// Arguments of `dream run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The memory store to dream on (id or name; the only store when omitted; a store
    /// named `default` is created when there is none).
    #[arg(long, env = "DREAM_STORE")]
    pub(crate) store: Option<String>,
    /// Exactly these sessions (comma separated `sesn_…` or source ids; 1 to 100).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["last", "since"])]
    pub(crate) sessions: Option<Vec<String>>,
    /// The newest N top-level sessions.
    #[arg(long, conflicts_with = "since")]
    pub(crate) last: Option<u64>,
    /// Sessions started since: a duration back from now (`24h`, `7d`), a date, or RFC 3339.
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: Option<String>,
    /// Skip the dream when fewer sessions arrived since the store's last dream.
    #[arg(long, value_name = "N")]
    pub(crate) min_new_sessions: Option<u64>,
    /// A person reviews the proposal before anything is written (the default).
    #[arg(long, conflicts_with = "auto")]
    pub(crate) review: bool,
    /// Apply every change not flagged needs_human when the dream completes.
    #[arg(long)]
    pub(crate) auto: bool,
    /// Distinct sessions a pattern needs to become a lesson (default: the store's, 3).
    #[arg(long, value_name = "N")]
    pub(crate) min_support: Option<u64>,
    /// Where the result goes.
    #[arg(long, value_enum, default_value_t = OutputArg::CreateNew)]
    pub(crate) output: OutputArg,
    /// Guidance for the dream (kept with it; read by model-based engines).
    #[arg(long)]
    pub(crate) instructions: Option<String>,
    /// The engine: `local` (deterministic, no model).
    #[arg(long, default_value = LOCAL_ENGINE)]
    pub(crate) engine: String,
    /// List every held-back entry.
    #[arg(long)]
    pub(crate) all: bool,
}

/// `dream dreams …`
#[derive(Debug, Subcommand)]
pub enum DreamsCommand {
    /// List dreams, newest first.
    List(ListArgs),
    /// Show one dream: status, inputs, counts and time per stage.
    Show(ShowArgs),
    /// Cancel a dream that has not finished.
    Cancel(ShowArgs),
}

/// Arguments of `dream dreams list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only dreams of this store (id or name).
    #[arg(long)]
    store: Option<String>,
    /// Only these statuses (comma separated).
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// Include archived dreams.
    #[arg(long)]
    all: bool,
    /// At most this many.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: u64,
}

/// Arguments naming one dream.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A `drm_…` id.
    id: String,
}

async fn store_for_run(
    store: &dyn Store,
    reference: Option<&str>,
    out: Output,
) -> CliResult<MemoryStore> {
    if reference.is_none() && store.list_memory_stores(false).await?.is_empty() {
        let created = store
            .create_memory_store(NewMemoryStore {
                name: "default".into(),
                description: "Lessons and facts from this agent's sessions, written by dream."
                    .into(),
                ..NewMemoryStore::default()
            })
            .await?;
        out.note(format!("created memory store `default` ({})", created.id));
        return Ok(created);
    }
    resolve_store(store, reference).await
}

/// Builds the engine request from `dream run` arguments.
async fn request(
    store: &dyn Store,
    args: &RunArgs,
    target: &MemoryStore,
) -> CliResult<DreamRequest> {
    let window = if let Some(ids) = &args.sessions {
        let mut resolved = Vec::with_capacity(ids.len());
        for id in ids {
            resolved.push(store.get_session(&SessionRef::parse(id.trim())).await?.id);
        }
        SessionWindow::Explicit {
            session_ids: resolved,
        }
    } else if let Some(count) = args.last {
        if count == 0 {
            return Err(CliError::usage(
                "invalid_request_error",
                "--last must be at least 1",
            ));
        }
        SessionWindow::Last { count }
    } else if let Some(since) = &args.since {
        let now = now()?;
        let start = parse_when("--since", since, now, DateAs::Start)?;
        let seconds = u64::try_from((now.unix_micros() - start.unix_micros()).max(0) / 1_000_000)
            .unwrap_or(0);
        SessionWindow::Since { seconds }
    } else {
        SessionWindow::All
    };
    Ok(DreamRequest {
        memory_store_id: target.id.clone(),
        window,
        min_new_sessions: args.min_new_sessions,
        engine: args.engine.clone(),
        instructions: args.instructions.clone(),
        output_behavior: match args.output {
            OutputArg::CreateNew => OutputBehavior::CreateNew,
            OutputArg::UpdateExisting => OutputBehavior::UpdateExisting,
        },
        mode: if args.auto {
            DreamMode::Auto
        } else {
            DreamMode::Review
        },
        config: None,
        min_support: args.min_support,
    })
}

/// Runs a dream and prints its proposal.
pub async fn cmd_run(db: &Path, args: RunArgs, out: Output) -> CliResult<u8> {
    let store = open_store(db, OpenMode::MustExist).await?;
    let result = run(&store, &args, out).await;
    store.close().await;
    result
}

/// Runs a dream on an open store (also used by `dream demo`).
pub async fn run(store: &dyn Store, args: &RunArgs, out: Output) -> CliResult<u8> {
    let target = store_for_run(store, args.store.as_deref(), out).await?;
    let request = request(store, args, &target).await?;
    let (clock, _) = clock_and_ids()?;
    let progress = DreamProgress::new(out);
    let result = run_dream(store, &request, clock.as_ref(), &progress).await;
    progress.finish();
    match result? {
        DreamRun::Skipped(Skip { reason, .. }) => {
            if out.json {
                out.json(&serde_json::json!({"skipped": true, "reason": reason}))?;
            } else {
                out.line(format!("Skipped: {reason}."))?;
            }
            Ok(0)
        }
        DreamRun::Ran {
            dream,
            proposal,
            applied,
        } => {
            let Some(proposal) = proposal else {
                out.line(format!(
                    "Dream {} was {} before it finished.",
                    dream.id, dream.status
                ))?;
                return Ok(1);
            };
            let reviews = store.change_reviews(&proposal.id).await?;
            if out.json {
                let mut view = serde_json::to_value(ProposalView::new(&proposal, &reviews))
                    .map_err(|e| CliError::Internal(e.to_string()))?;
                view["dream"] = serde_json::json!({
                    "status": dream.status,
                    "mode": dream.mode,
                    "output_behavior": dream.output_behavior,
                    "output_store_id": dream.output_store_id,
                    "counts": dream.counts,
                    "timings": dream.timings,
                    "usage": dream.usage,
                    "session_ids": dream.session_ids,
                });
                out.json(&view)?;
                return Ok(0);
            }
            print_summary(out, &dream)?;
            out.line("")?;
            print_proposal(out, &proposal, &reviews, args.all)?;
            out.line("")?;
            match applied {
                Some(report) => out.line(format!(
                    "{} {} changes (auto mode); {} left for a person.",
                    good().apply_to("Applied"),
                    report.applied.len(),
                    report.skipped.len()
                ))?,
                None if !proposal.changes.is_empty() => out.line(format!(
                    "Review: `dream proposals approve {}`, `dream proposals reject {} --reason …`, or \
                     `dream proposals accept {} --only CHANGE_IDS`.",
                    proposal.id, proposal.id, proposal.id
                ))?,
                None => {}
            }
            Ok(0)
        }
    }
}

fn print_summary(out: Output, dream: &Dream) -> CliResult<()> {
    let c = dream.counts;
    let t = dream.timings;
    let total = t.select_ms + t.extract_ms + t.mine_ms + t.curate_ms + t.check_ms + t.output_ms;
    out.line(format!(
        "{} {} {} in {:.1}s: read {} sessions ({} from cache), {} signals, {} patterns → {} changes, {} held back.",
        strong().apply_to("Dream"),
        dream.id,
        match dream.status {
            DreamStatus::Completed => good().apply_to("completed"),
            _ => bad().apply_to(dream.status.as_str()),
        },
        total as f64 / 1000.0,
        thousands(c.sessions_read),
        thousands(c.sessions_cached),
        thousands(c.signals),
        thousands(c.patterns),
        thousands(c.changes),
        thousands(c.held_back)
    ))
}

/// Runs a `dream dreams` subcommand.
pub async fn cmd_dreams(db: &Path, command: DreamsCommand, out: Output) -> CliResult<u8> {
    let store = open_store(db, OpenMode::MustExist).await?;
    let result = match command {
        DreamsCommand::List(args) => list(&store, args, out).await,
        DreamsCommand::Show(args) => {
            let dream = store.get_dream(&parse_dream_id(&args.id)?).await?;
            show(out, &dream)
        }
        DreamsCommand::Cancel(args) => {
            let (clock, _) = clock_and_ids()?;
            let dream = cancel_dream(&store, &parse_dream_id(&args.id)?, clock.as_ref()).await?;
            if out.json {
                out.json(&dream)?;
            } else if dream.status == DreamStatus::Canceled {
                out.line(format!("Canceled {}.", dream.id))?;
            } else {
                out.line(format!(
                    "{} is already {}; nothing to cancel.",
                    dream.id, dream.status
                ))?;
            }
            Ok(0)
        }
    };
    store.close().await;
    result
}

fn parse_dream_id(text: &str) -> CliResult<DreamId> {
    text.parse().map_err(|_| {
        CliError::usage(
            "invalid_request_error",
            format!("{text:?} is not a drm_… dream id"),
        )
    })
}

async fn list(store: &dyn Store, args: ListArgs, out: Output) -> CliResult<u8> {
    let mut statuses = Vec::new();
    for name in &args.status {
        statuses.push(DreamStatus::from_name(name.trim()).ok_or_else(|| {
            CliError::usage(
                "invalid_request_error",
                format!(
                    "--status {name:?}: expected pending, running, completed, failed or canceled"
                ),
            )
        })?);
    }
    let memory_store_id = match &args.store {
        Some(reference) => Some(resolve_store(store, Some(reference)).await?.id),
        None => None,
    };
    let dreams = store
        .list_dreams(&DreamFilter {
            memory_store_id,
            statuses,
            include_archived: args.all,
            limit: Some(args.limit),
            ..DreamFilter::default()
        })
        .await?;
    if out.json {
        out.json(&serde_json::json!({"dreams": dreams, "count": dreams.len()}))?;
        return Ok(0);
    }
    if dreams.is_empty() {
        out.line("No dreams yet: `dream run` starts one.")?;
        return Ok(0);
    }
    out.line(
        strong()
            .apply_to(format!(
                "{:<30}  {:<31}  {:<10}  {:<16}  {:>8}  {:>7}",
                "DREAM", "STORE", "STATUS", "CREATED (UTC)", "SESSIONS", "CHANGES"
            ))
            .to_string(),
    )?;
    for d in &dreams {
        out.line(format!(
            "{:<30}  {:<31}  {:<10}  {:<16}  {:>8}  {:>7}",
            d.id,
            d.memory_store_id,
            d.status,
            d.created_at.to_display_minutes(),
            thousands(d.session_ids.len() as u64),
            thousands(d.counts.changes)
        ))?;
    }
    Ok(0)
}

fn show(out: Output, dream: &Dream) -> CliResult<u8> {
    if out.json {
        out.json(dream)?;
        return Ok(0);
    }
    out.line(format!(
        "{}  {}",
        strong().apply_to(&dream.id),
        dream.status
    ))?;
    let field = |name: &str, value: String| format!("  {:<15} {value}", dim().apply_to(name));
    out.line(field(
        "store",
        format!(
            "{} at version {}",
            dream.memory_store_id, dream.base_store_version
        ),
    ))?;
    out.line(field(
        "output",
        format!(
            "{} → {}",
            match dream.output_behavior {
                OutputBehavior::CreateNew => "create_new",
                OutputBehavior::UpdateExisting => "update_existing",
            },
            dream
                .output_store_id
                .as_ref()
                .map_or("-".to_owned(), ToString::to_string)
        ),
    ))?;
    out.line(field("mode", format!("{:?}", dream.mode).to_lowercase()))?;
    out.line(field("engine", dream.engine.clone()))?;
    out.line(field("sessions", thousands(dream.session_ids.len() as u64)))?;
    out.line(field("min_support", dream.config.min_support.to_string()))?;
    if let Some(proposal) = &dream.proposal_id {
        out.line(field("proposal", proposal.to_string()))?;
    }
    if let Some(error) = &dream.error {
        out.line(field(
            "error",
            bad()
                .apply_to(format!("{}: {}", error.kind, error.message))
                .to_string(),
        ))?;
    }
    let c = dream.counts;
    out.line(field(
        "counts",
        format!(
            "{} sessions read ({} cached), {} signals, {} patterns, {} changes, {} held back",
            c.sessions_read, c.sessions_cached, c.signals, c.patterns, c.changes, c.held_back
        ),
    ))?;
    let t = dream.timings;
    out.line(field(
        "timings (ms)",
        format!(
            "select {} · extract {} · mine {} · curate {} · check {} · output {}",
            t.select_ms, t.extract_ms, t.mine_ms, t.curate_ms, t.check_ms, t.output_ms
        ),
    ))?;
    out.line(field("created", dream.created_at.to_rfc3339()))?;
    if let Some(ended) = dream.ended_at {
        out.line(field("ended", ended.to_rfc3339()))?;
    }
    Ok(0)
}
