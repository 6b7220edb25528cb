//! `dream proposals list|show|approve|reject|accept`: review what dreams propose.

use std::path::Path;

use clap::{Args, Subcommand};
use console::Style;
use dream_engine::review::{ReviewReport, approve, reject};
use dream_store::{DreamFilter, OpenMode, Store};
use dream_types::{
    Change, ChangeReview, ChangeStatus, DreamId, Flag, HeldBackReason, Proposal, ProposalId,
};
use serde::Serialize;

use super::stores::resolve_store;
use super::{cli_actor, clock_and_ids, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, count, dim, good, strong, truncate};

/// Held-back entries shown before folding.
const HELD_BACK_SHOWN: usize = 15;

/// `dream proposals …`
#[derive(Debug, Subcommand)]
pub enum ProposalsCommand {
    /// List proposals, newest first, with their review state.
    List(ListArgs),
    /// Show a proposal: each change as a diff with its justification, support and
    /// evidence, then what the gates held back.
    Show(ShowArgs),
    /// Apply every pending change (changes whose text moved are marked stale).
    Approve(ApproveArgs),
    /// Reject pending changes, with a reason later dreams remember.
    Reject(RejectArgs),
    /// Apply only some changes.
    Accept(AcceptArgs),
}

/// Arguments of `dream proposals list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only proposals of this store (id or name).
    #[arg(long)]
    store: Option<String>,
    /// Only proposals with pending changes.
    #[arg(long)]
    pending: bool,
    /// At most this many.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: u64,
}

/// Arguments of `dream proposals show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A `prop_…` id, or a `drm_…` dream id.
    id: String,
    /// List every held-back entry (the first 15 otherwise).
    #[arg(long)]
    all: bool,
}

/// Arguments of `dream proposals approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// A `prop_…` id, or a `drm_…` dream id.
    id: String,
}

/// Arguments of `dream proposals reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// A `prop_…` id, or a `drm_…` dream id.
    id: String,
    /// Why: later dreams show it when they hold back look-alikes.
    #[arg(long)]
    reason: String,
    /// Only these changes (comma separated `chg_…` ids); all pending ones otherwise.
    #[arg(long, value_delimiter = ',', value_name = "CHANGE_IDS")]
    only: Option<Vec<String>>,
}

/// Arguments of `dream proposals accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// A `prop_…` id, or a `drm_…` dream id.
    id: String,
    /// The changes to apply (comma separated `chg_…` ids).
    #[arg(
        long,
        required = true,
        value_delimiter = ',',
        value_name = "CHANGE_IDS"
    )]
    only: Vec<String>,
}

/// Runs a `dream proposals` subcommand.
pub async fn cmd_proposals(db: &Path, command: ProposalsCommand, out: Output) -> CliResult<u8> {
    let store = open_store(db, OpenMode::MustExist).await?;
    let result = match command {
        ProposalsCommand::List(args) => cmd_list(&store, args, out).await,
        ProposalsCommand::Show(args) => {
            let proposal = resolve_proposal(&store, &args.id).await?;
            let reviews = store.change_reviews(&proposal.id).await?;
            if out.json {
                out.json(&ProposalView::new(&proposal, &reviews))?;
            } else {
                print_proposal(out, &proposal, &reviews, args.all)?;
            }
            Ok(0)
        }
        ProposalsCommand::Approve(args) => review(&store, &args.id, None, None, out).await,
        ProposalsCommand::Accept(args) => {
            review(&store, &args.id, Some(args.only), None, out).await
        }
        ProposalsCommand::Reject(args) => {
            review(&store, &args.id, args.only, Some(args.reason), out).await
        }
    };
    store.close().await;
    result
}

/// Finds a proposal by its id or by its dream's id.
pub async fn resolve_proposal(store: &dyn Store, id: &str) -> CliResult<Proposal> {
    if let Ok(proposal_id) = id.parse::<ProposalId>() {
        return Ok(store.get_proposal(&proposal_id).await?);
    }
    if let Ok(dream_id) = id.parse::<DreamId>() {
        return Ok(dream_engine::dream::dream_proposal(store, &dream_id).await?);
    }
    Err(CliError::usage(
        "invalid_request_error",
        format!("{id:?} is neither a prop_… proposal id nor a drm_… dream id"),
    ))
}

/// The JSON shape of a proposal (README, "Proposal JSON").
#[derive(Debug, Serialize)]
pub struct ProposalView<'a> {
    dream_id: &'a DreamId,
    proposal_id: &'a ProposalId,
    store_id: &'a dream_types::MemoryStoreId,
    base_store_version: u64,
    changes: Vec<ChangeView<'a>>,
    held_back: &'a [dream_types::HeldBack],
}

#[derive(Debug, Serialize)]
struct ChangeView<'a> {
    #[serde(flatten)]
    change: &'a Change,
    status: ChangeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<&'a str>,
}

impl<'a> ProposalView<'a> {
    /// Pairs a proposal with its review state.
    pub fn new(proposal: &'a Proposal, reviews: &'a [ChangeReview]) -> Self {
        Self {
            dream_id: &proposal.dream_id,
            proposal_id: &proposal.id,
            store_id: &proposal.store_id,
            base_store_version: proposal.base_store_version,
            changes: proposal
                .changes
                .iter()
                .map(|change| {
                    let review = reviews.iter().find(|r| r.change_id == change.id);
                    ChangeView {
                        change,
                        status: review.map_or(ChangeStatus::Pending, |r| r.status),
                        status_reason: review.and_then(|r| r.reason.as_deref()),
                    }
                })
                .collect(),
            held_back: &proposal.held_back,
        }
    }
}

/// "4 sessions, 2 users, 1 agent" (users and agents only when known).
fn support_text(support: dream_types::Support) -> String {
    let count = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = vec![count(support.sessions, "session", "sessions")];
    if support.users > 0 {
        parts.push(count(support.users, "user", "users"));
    }
    if support.agents > 0 {
        parts.push(count(support.agents, "agent", "agents"));
    }
    parts.join(", ")
}

fn status_style(status: ChangeStatus) -> Style {
    match status {
        ChangeStatus::Pending => Style::new().yellow(),
        ChangeStatus::Applied => good(),
        ChangeStatus::Rejected => bad(),
        ChangeStatus::Stale => Style::new().magenta(),
        ChangeStatus::Superseded => dim(),
    }
}

fn print_text_diff(out: Output, before: &str, after: &str) -> CliResult<()> {
    for line in before.lines() {
        out.line(format!(
            "      {}",
            Style::new().red().apply_to(format!("- {line}"))
        ))?;
    }
    for line in after.lines() {
        out.line(format!(
            "      {}",
            Style::new().green().apply_to(format!("+ {line}"))
        ))?;
    }
    Ok(())
}

fn reason_label(reason: HeldBackReason) -> &'static str {
    match reason {
        HeldBackReason::BelowMinSupport => "below_min_support",
        HeldBackReason::NotSignificant => "not_significant",
        HeldBackReason::UserShareTooLow => "user_share_too_low",
        HeldBackReason::SuppressedByRejection => "suppressed_by_rejection",
        HeldBackReason::ProtectedPath => "protected_path",
        HeldBackReason::EvidenceNotVerified => "evidence_not_verified",
        HeldBackReason::PreviouslyDeleted => "previously_deleted",
        HeldBackReason::Transient => "transient",
    }
}

/// Prints a proposal for people: each change as a coloured diff with justification,
/// support, outcome numbers and evidence quotes; then the held-back list.
pub fn print_proposal(
    out: Output,
    proposal: &Proposal,
    reviews: &[ChangeReview],
    all_held_back: bool,
) -> CliResult<()> {
    out.line(format!(
        "{}  dream {}  store {} (base version {})",
        strong().apply_to(&proposal.id),
        proposal.dream_id,
        proposal.store_id,
        proposal.base_store_version
    ))?;
    if proposal.changes.is_empty() {
        out.line("  No changes: memory already says what these sessions teach.")?;
    }
    for (i, change) in proposal.changes.iter().enumerate() {
        let review = reviews.iter().find(|r| r.change_id == change.id);
        let status = review.map_or(ChangeStatus::Pending, |r| r.status);
        let support = change.support;
        out.line("")?;
        out.line(format!(
            "[{}] {}  {}  {}  {}",
            i + 1,
            strong().apply_to(&change.id),
            Style::new().cyan().bold().apply_to(change.op.as_str()),
            change.path,
            status_style(status).apply_to(status.as_str())
        ))?;
        out.line(format!("    {}", change.justification))?;
        if support.sessions > 0 {
            out.line(format!(
                "    {}",
                dim().apply_to(format!("support: {}", support_text(support)))
            ))?;
        }
        if let Some(outcome) = change.stats.get("outcome") {
            out.line(format!(
                "    {}",
                dim().apply_to(format!(
                    "outcome: failed {}/{} with vs {}/{} without, p = {:.4}{}",
                    outcome["with_failed"],
                    outcome["with_sessions"],
                    outcome["without_failed"],
                    outcome["without_sessions"],
                    outcome["p_value"].as_f64().unwrap_or(1.0),
                    if outcome["significant"] == true {
                        " (significant)"
                    } else {
                        ""
                    }
                ))
            ))?;
        }
        if !change.flags.is_empty() {
            let flags: Vec<&str> = change
                .flags
                .iter()
                .map(|f| match f {
                    Flag::NeedsHuman => "needs_human",
                    Flag::SecretRedacted => "secret_redacted",
                    Flag::SingleUser => "single_user",
                    Flag::Scoped => "scoped",
                    Flag::PreviouslyDeleted => "previously_deleted",
                    Flag::PersonWritten => "person_written",
                })
                .collect();
            out.line(format!(
                "    {}",
                bad().apply_to(format!("flags: {}", flags.join(", ")))
            ))?;
        }
        if let Some(reason) = review.and_then(|r| r.reason.as_deref()) {
            out.line(format!(
                "    {}",
                dim().apply_to(format!("{}: {reason}", status.as_str()))
            ))?;
        }
        for edit in &change.edits {
            if change.edits.len() > 1 {
                out.line(format!("    {}", dim().apply_to(&edit.path)))?;
            }
            print_text_diff(out, &edit.before, &edit.after)?;
        }
        for evidence in change.evidence.iter().take(6) {
            out.line(format!(
                "    {} {}#{} “{}”",
                dim().apply_to("evidence"),
                evidence.session_id,
                evidence.event_index,
                truncate(
                    &evidence
                        .quote
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" "),
                    110
                )
            ))?;
        }
        if change.evidence.len() > 6 {
            out.line(format!(
                "    {}",
                dim().apply_to(format!(
                    "… {} more (--json lists them)",
                    count((change.evidence.len() - 6) as u64, "quote", "quotes")
                ))
            ))?;
        }
    }
    if !proposal.held_back.is_empty() {
        out.line("")?;
        out.line(format!(
            "{} ({})",
            strong().apply_to("Held back"),
            proposal.held_back.len()
        ))?;
        let shown = if all_held_back {
            proposal.held_back.len()
        } else {
            proposal.held_back.len().min(HELD_BACK_SHOWN)
        };
        for entry in &proposal.held_back[..shown] {
            out.line(format!(
                "  {} {} {}",
                Style::new()
                    .yellow()
                    .apply_to(format!("{:<24}", reason_label(entry.reason))),
                truncate(&entry.summary, 110),
                dim().apply_to(format!("({})", support_text(entry.support)))
            ))?;
        }
        if shown < proposal.held_back.len() {
            out.line(format!(
                "  {}",
                dim().apply_to(format!(
                    "… {} more (--all shows them)",
                    proposal.held_back.len() - shown
                ))
            ))?;
        }
    }
    Ok(())
}

async fn review(
    store: &dyn Store,
    id: &str,
    only: Option<Vec<String>>,
    reject_reason: Option<String>,
    out: Output,
) -> CliResult<u8> {
    let proposal = resolve_proposal(store, id).await?;
    let (clock, _) = clock_and_ids()?;
    let reviewer = cli_actor();
    let report: ReviewReport = match reject_reason {
        Some(reason) => {
            reject(
                store,
                &proposal.id,
                only.as_deref(),
                &reason,
                &reviewer,
                clock.as_ref(),
            )
            .await?
        }
        None => {
            approve(
                store,
                &proposal.id,
                only.as_deref(),
                &reviewer,
                clock.as_ref(),
                false,
            )
            .await?
        }
    };
    if out.json {
        out.json(&report)?;
        return Ok(0);
    }
    if !report.applied.is_empty() {
        let version = report.versions.last().map_or(String::new(), |v| {
            format!(", store version {}", v.store_version)
        });
        out.line(format!(
            "{} {} to {}{version}",
            good().apply_to("Applied"),
            count(report.applied.len() as u64, "change", "changes"),
            proposal.store_id
        ))?;
    }
    if !report.rejected.is_empty() {
        out.line(format!(
            "{} {}; later dreams will hold back look-alikes",
            bad().apply_to("Rejected"),
            count(report.rejected.len() as u64, "change", "changes")
        ))?;
    }
    for (change, reason) in &report.stale {
        out.line(format!(
            "{} {change}: {reason}",
            Style::new().magenta().apply_to("Stale")
        ))?;
    }
    for (change, reason) in &report.skipped {
        out.line(format!("{} {change}: {reason}", dim().apply_to("Skipped")))?;
    }
    if report.applied.is_empty() && report.rejected.is_empty() && report.stale.is_empty() {
        out.line("Nothing to do: no pending changes were selected.")?;
    }
    Ok(0)
}

#[derive(Debug, Serialize)]
struct ProposalSummary {
    proposal_id: ProposalId,
    dream_id: DreamId,
    store_id: dream_types::MemoryStoreId,
    created_at: dream_types::Timestamp,
    changes: usize,
    pending: usize,
    applied: usize,
    rejected: usize,
    stale: usize,
    superseded: usize,
    held_back: usize,
}

async fn cmd_list(store: &dyn Store, args: ListArgs, out: Output) -> CliResult<u8> {
    let memory_store = match &args.store {
        Some(reference) => Some(resolve_store(store, Some(reference)).await?.id),
        None => None,
    };
    let dreams = store
        .list_dreams(&DreamFilter {
            memory_store_id: memory_store,
            include_archived: true,
            ..DreamFilter::default()
        })
        .await?;
    let mut rows = Vec::new();
    for dream in dreams {
        let Some(proposal_id) = dream.proposal_id else {
            continue;
        };
        let proposal = store.get_proposal(&proposal_id).await?;
        let reviews = store.change_reviews(&proposal_id).await?;
        let count = |s: ChangeStatus| reviews.iter().filter(|r| r.status == s).count();
        let row = ProposalSummary {
            proposal_id,
            dream_id: dream.id,
            store_id: proposal.store_id.clone(),
            created_at: proposal.created_at,
            changes: proposal.changes.len(),
            pending: count(ChangeStatus::Pending),
            applied: count(ChangeStatus::Applied),
            rejected: count(ChangeStatus::Rejected),
            stale: count(ChangeStatus::Stale),
            superseded: count(ChangeStatus::Superseded),
            held_back: proposal.held_back.len(),
        };
        if args.pending && row.pending == 0 {
            continue;
        }
        rows.push(row);
        if rows.len() as u64 >= args.limit {
            break;
        }
    }
    if out.json {
        out.json(&serde_json::json!({"proposals": rows, "count": rows.len()}))?;
        return Ok(0);
    }
    if rows.is_empty() {
        out.line("No proposals yet: `dream run` makes one.")?;
        return Ok(0);
    }
    out.line(
        strong()
            .apply_to(format!(
                "{:<31}  {:<31}  {:<16}  {:>7}  {:>7}  {:>7}  {:>8}  {:>5}",
                "PROPOSAL",
                "STORE",
                "CREATED (UTC)",
                "CHANGES",
                "PENDING",
                "APPLIED",
                "REJECTED",
                "STALE"
            ))
            .to_string(),
    )?;
    for row in &rows {
        out.line(format!(
            "{:<31}  {:<31}  {:<16}  {:>7}  {:>7}  {:>7}  {:>8}  {:>5}",
            row.proposal_id,
            row.store_id,
            row.created_at.to_display_minutes(),
            row.changes,
            row.pending,
            row.applied,
            row.rejected,
            row.stale
        ))?;
    }
    Ok(0)
}
