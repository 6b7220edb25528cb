//! `dream run` and `dream dreams list|show|cancel`: consolidation jobs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::progress::DreamProgress;
use clap::{Args, Subcommand, ValueEnum};
use dream_engine::dream::{DreamRequest, DreamRun, LOCAL_ENGINE, Skip, cancel_dream, run_dream};
use dream_engine::pending::{PendingProposal, pending_proposals};
use dream_store::{DreamFilter, NewMemoryStore, OpenMode, SessionRef, Store};
use dream_types::{
    Dream, DreamId, DreamMode, DreamStatus, MemoryStore, OutputBehavior, SessionWindow,
    WindowFilters,
};

use super::proposals::{ProposalView, print_proposal};
use super::stores::resolve_store;
use super::{clock_and_ids, now, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, count, dim, good, strong, thousands};
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
    /// Sessions started since: a duration back from now (`24h`, `7d`), a date, or RFC
    /// 3339. Goes by each session's own start time; sessions with none (tau-bench runs)
    /// are listed as undated and left out unless --include-undated.
    #[arg(long, value_name = "WHEN")]
    pub(crate) since: Option<String>,
    /// Also read sessions with no start time of their own (placed by ingest time).
    #[arg(long)]
    pub(crate) include_undated: bool,
    /// Only sessions of this agent (repeatable; default: the store's pinned agents, or
    /// every agent).
    #[arg(long = "agent", value_name = "NAME")]
    pub(crate) agents: Vec<String>,
    /// Only sessions whose metadata has this pair (repeatable; all must match).
    #[arg(long, value_name = "KEY=VALUE", value_parser = super::stores::parse_pair)]
    pub(crate) metadata: Vec<(String, String)>,
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
    /// Budget for this dream: the store's size in bytes after it (default: the store's,
    /// `dream stores update --max-memory-bytes`).
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_memory_bytes: Option<u64>,
    /// Budget for this dream in tokens (4 bytes a token; default: the store's).
    #[arg(long, value_name = "TOKENS")]
    pub(crate) max_memory_tokens: Option<u64>,
    /// Where the result goes (default: the store's setting, `dream stores update
    /// --output`; else the store itself, after review).
    #[arg(long, value_enum)]
    pub(crate) output: Option<OutputArg>,
    /// Mark the store's older pending proposals `superseded` by this dream's proposal
    /// (they can no longer be approved).
    #[arg(long)]
    pub(crate) supersede_pending: bool,
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
    if args.sessions.is_some()
        && (!args.agents.is_empty() || !args.metadata.is_empty() || args.include_undated)
    {
        return Err(CliError::usage(
            "invalid_request_error",
            "--sessions names the sessions exactly; --agent, --metadata and --include-undated \
             filter a window (--last, --since, or every session)",
        ));
    }
    let output_behavior = match args.output {
        Some(OutputArg::CreateNew) => OutputBehavior::CreateNew,
        Some(OutputArg::UpdateExisting) => OutputBehavior::UpdateExisting,
        // One store stays one store: review is the gate, not a copy per dream.
        None => store
            .dream_config(&target.id)
            .await?
            .output_behavior
            .unwrap_or(OutputBehavior::UpdateExisting),
    };
    Ok(DreamRequest {
        memory_store_id: target.id.clone(),
        window,
        min_new_sessions: args.min_new_sessions,
        engine: args.engine.clone(),
        instructions: args.instructions.clone(),
        output_behavior,
        mode: if args.auto {
            DreamMode::Auto
        } else {
            DreamMode::Review
        },
        config: if args.max_memory_bytes.is_some() || args.max_memory_tokens.is_some() {
            let mut config = store.dream_config(&target.id).await?;
            if args.max_memory_bytes.is_some() {
                config.max_memory_bytes = args.max_memory_bytes.filter(|b| *b > 0);
            }
            if args.max_memory_tokens.is_some() {
                config.max_memory_tokens = args.max_memory_tokens.filter(|t| *t > 0);
            }
            Some(config)
        } else {
            None
        },
        min_support: args.min_support,
        filters: WindowFilters {
            agents: args.agents.clone(),
            metadata: args.metadata.iter().cloned().collect::<BTreeMap<_, _>>(),
            include_undated: args.include_undated,
        },
        supersede_pending: args.supersede_pending,
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
    let pending = pending_proposals(store, &target.id).await?;
    if !pending.is_empty() && !args.supersede_pending {
        out.warn(pending_warning(&pending));
    }
    let (clock, _) = clock_and_ids()?;
    let progress = DreamProgress::new(out);
    let result = run_dream(store, &request, clock.as_ref(), &progress).await;
    progress.finish();
    match result? {
        DreamRun::Skipped(Skip { reason, .. }) => {
            if out.json {
                out.json(&serde_json::json!({
                    "skipped": true,
                    "reason": reason,
                    "pending_proposals": pending,
                }))?;
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
            let output_store = match &dream.output_store_id {
                Some(id) => Some(store.get_memory_store(id).await?),
                None => None,
            };
            if out.json {
                let mut view = serde_json::to_value(ProposalView::new(&proposal, &reviews))
                    .map_err(|e| CliError::Internal(e.to_string()))?;
                view["dream"] = serde_json::json!({
                    "status": dream.status,
                    "mode": dream.mode,
                    "output_behavior": dream.output_behavior,
                    "output_store_id": dream.output_store_id,
                    "output_store_name": output_store.as_ref().map(|s| &s.name),
                    "window": dream.window,
                    "window_time": "started_at",
                    "filters": dream.filters,
                    "undated_session_ids": dream.undated_session_ids,
                    "superseded_proposal_ids": dream.superseded_proposal_ids,
                    "counts": dream.counts,
                    "timings": dream.timings,
                    "usage": dream.usage,
                    "session_ids": dream.session_ids,
                });
                view["pending_proposals"] = serde_json::to_value(&pending)
                    .map_err(|e| CliError::Internal(e.to_string()))?;
                out.json(&view)?;
                return Ok(0);
            }
            print_summary(out, &dream)?;
            print_window(out, &dream)?;
            if let Some(output) = &output_store {
                out.line(format!(
                    "Output: memory store {} ({}), {}.",
                    strong().apply_to(&output.name),
                    output.id,
                    match dream.output_behavior {
                        OutputBehavior::CreateNew => "a new store derived from the input",
                        OutputBehavior::UpdateExisting => "the input store itself",
                    }
                ))?;
            }
            if !dream.superseded_proposal_ids.is_empty() {
                let ids: Vec<String> = dream
                    .superseded_proposal_ids
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                out.line(format!(
                    "Superseded {}: {}.",
                    count(
                        ids.len() as u64,
                        "older pending proposal",
                        "older pending proposals"
                    ),
                    ids.join(", ")
                ))?;
            }
            out.line("")?;
            print_proposal(out, &proposal, &reviews, args.all)?;
            out.line("")?;
            match applied {
                Some(report) => out.line(format!(
                    "{} {} (auto mode); {} left for a person.",
                    good().apply_to("Applied"),
                    count(report.applied.len() as u64, "change", "changes"),
                    thousands(report.skipped.len() as u64)
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

/// The stderr warning of a run on a store whose earlier proposals wait for review.
fn pending_warning(pending: &[PendingProposal]) -> String {
    let changes: u64 = pending.iter().map(|p| p.pending_changes).sum();
    let list: Vec<String> = pending
        .iter()
        .map(|p| {
            format!(
                "{} (dream {}, {})",
                p.proposal_id,
                p.dream_id,
                count(p.pending_changes, "pending change", "pending changes")
            )
        })
        .collect();
    format!(
        "warning: this store already has {} with {} nobody reviewed: {}; review them \
         (`dream proposals show ID`), or pass --supersede-pending to retire them in favour \
         of this dream's proposal",
        count(pending.len() as u64, "proposal", "proposals"),
        count(changes, "change", "changes"),
        list.join(", ")
    )
}

fn print_summary(out: Output, dream: &Dream) -> CliResult<()> {
    let c = dream.counts;
    let t = dream.timings;
    let total = t.select_ms + t.extract_ms + t.mine_ms + t.curate_ms + t.check_ms + t.output_ms;
    out.line(format!(
        "{} {} {} in {:.1}s: read {} ({} from cache), {}, {} → {}, {} held back.",
        strong().apply_to("Dream"),
        dream.id,
        match dream.status {
            DreamStatus::Completed => good().apply_to("completed"),
            _ => bad().apply_to(dream.status.as_str()),
        },
        total as f64 / 1000.0,
        count(c.sessions_read, "session", "sessions"),
        thousands(c.sessions_cached),
        count(c.signals, "signal", "signals"),
        count(c.patterns, "pattern", "patterns"),
        count(c.changes, "change", "changes"),
        thousands(c.held_back)
    ))
}

/// Says which sessions the window took: the time it goes by, the filters, and the
/// undated sessions (read or left out).
fn print_window(out: Output, dream: &Dream) -> CliResult<()> {
    let f = &dream.filters;
    let mut parts = Vec::new();
    if let SessionWindow::Since { seconds } = dream.window {
        let since = dream
            .created_at
            .plus_secs(-i64::try_from(seconds).unwrap_or(i64::MAX));
        parts.push(format!(
            "sessions started since {} UTC (by each session's own start time)",
            since.to_display_minutes()
        ));
    }
    if !f.agents.is_empty() {
        parts.push(format!("agents {}", f.agents.join(", ")));
    }
    if !f.metadata.is_empty() {
        let pairs: Vec<String> = f.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
        parts.push(format!("metadata {}", pairs.join(", ")));
    }
    if !parts.is_empty() {
        out.line(format!("Window: {}.", parts.join("; ")))?;
    }
    let undated = dream.undated_session_ids.len() as u64;
    if undated > 0 {
        let read = dream
            .undated_session_ids
            .iter()
            .filter(|id| dream.session_ids.contains(id))
            .count() as u64;
        if read == undated {
            out.line(format!(
                "Undated: {} with no start time of their own {} read{}.",
                count(undated, "session", "sessions"),
                if undated == 1 { "was" } else { "were" },
                if matches!(dream.window, SessionWindow::Since { .. }) {
                    " (--include-undated, placed by ingest time)"
                } else {
                    ""
                }
            ))?;
        } else {
            out.line(format!(
                "Undated: {} with no start time of their own left out (--include-undated reads \
                 them; `dream dreams show {} --json` lists them).",
                count(undated - read, "session", "sessions"),
                dream.id
            ))?;
        }
    }
    Ok(())
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
            "{} read ({} cached), {}, {}, {}, {} held back{}",
            count(c.sessions_read, "session", "sessions"),
            c.sessions_cached,
            count(c.signals, "signal", "signals"),
            count(c.patterns, "pattern", "patterns"),
            count(c.changes, "change", "changes"),
            c.held_back,
            if c.undated > 0 {
                format!(", {} undated", c.undated)
            } else {
                String::new()
            }
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
