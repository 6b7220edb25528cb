//! Review: approving (all or some) and rejecting a proposal's changes, and applying
//! approved changes to their store with rebase-or-stale semantics.

use std::collections::BTreeMap;

use dream_store::{MemoryWrite, ReviewUpdate, Store, StoreError};
use dream_types::{
    Actor, Change, ChangeOp, ChangeReview, ChangeStatus, Clock, Flag, MemoryVersion, ProposalId,
    Rejection, content_sha256,
};
use serde::Serialize;

use crate::curate::negated;
use crate::edit::apply_edits;
use crate::minhash::{jaccard, shingles};
use crate::note::{Note, core_text, parse_notes};
use crate::signal::signature::normalize_words;
use crate::{EngineError, EngineResult};

/// What a review did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReviewReport {
    /// The proposal.
    pub proposal_id: ProposalId,
    /// Changes written to the store.
    pub applied: Vec<String>,
    /// Changes whose target moved so that they no longer fit, with why.
    pub stale: Vec<(String, String)>,
    /// Changes rejected.
    pub rejected: Vec<String>,
    /// Changes left as they were, with why (already reviewed, needs a person).
    pub skipped: Vec<(String, String)>,
    /// The memory versions written.
    pub versions: Vec<MemoryVersion>,
}

/// Loads a proposal and splits the selected changes (all when `only` is `None`) into
/// pending ones and the rest, which are reported as skipped.
async fn select(
    store: &dyn Store,
    proposal_id: &ProposalId,
    only: Option<&[String]>,
) -> EngineResult<(dream_types::Proposal, Vec<String>, ReviewReport)> {
    let proposal = store.get_proposal(proposal_id).await?;
    let reviews = store.change_reviews(proposal_id).await?;
    if let Some(ids) = only
        && let Some(unknown) = ids
            .iter()
            .find(|id| !proposal.changes.iter().any(|c| &c.id == *id))
    {
        return Err(EngineError::InvalidRequest(format!(
            "proposal {proposal_id} has no change {unknown}; `dream proposals show {proposal_id}` lists them"
        )));
    }
    let status: BTreeMap<&str, ChangeStatus> = reviews
        .iter()
        .map(|r| (r.change_id.as_str(), r.status))
        .collect();
    let mut report = ReviewReport {
        proposal_id: proposal_id.clone(),
        applied: Vec::new(),
        stale: Vec::new(),
        rejected: Vec::new(),
        skipped: Vec::new(),
        versions: Vec::new(),
    };
    let mut pending = Vec::new();
    for change in &proposal.changes {
        if only.is_some_and(|ids| !ids.contains(&change.id)) {
            continue;
        }
        match status.get(change.id.as_str()) {
            Some(ChangeStatus::Pending) | None => pending.push(change.id.clone()),
            Some(other) => report
                .skipped
                .push((change.id.clone(), format!("already {}", other.as_str()))),
        }
    }
    Ok((proposal, pending, report))
}

/// Applies the selected pending changes of a proposal (all when `only` is `None`) to
/// its store, in the proposal's order, as memory versions by the dream's
/// `dream_actor`, recording `reviewer` on each review.
///
/// Each change's edits must still fit the store as it is now: a change whose text
/// was edited since the base version is marked `stale` (never silently dropped);
/// changes elsewhere in the same memory are rebased onto it. With
/// `hold_needs_human`, changes flagged `needs_human` are skipped (auto mode).
/// Everything is written in one transaction with the review state.
///
/// # Errors
/// [`EngineError::InvalidRequest`] for an unknown change id; store errors (nothing is
/// written then).
pub async fn approve(
    store: &dyn Store,
    proposal_id: &ProposalId,
    only: Option<&[String]>,
    reviewer: &Actor,
    clock: &dyn Clock,
    hold_needs_human: bool,
) -> EngineResult<ReviewReport> {
    // A memory written between our read and the write transaction fails the write's
    // precondition; reading again and re-deciding is then safe (nothing was written).
    let mut attempts = 0;
    loop {
        attempts += 1;
        match approve_once(store, proposal_id, only, reviewer, clock, hold_needs_human).await {
            Err(EngineError::Store(StoreError::PreconditionFailed { .. })) if attempts < 3 => {}
            other => return other,
        }
    }
}

/// Returns why an `add` change need not be written because memory (as the approval
/// has it so far) already holds its lesson: a note with the same dream marker, or a
/// note the duplicate check would merge with it (word-shingle Jaccard ≥
/// `duplicate_similarity`, as curation's merge step measures it).
fn already_present(
    contents: &BTreeMap<String, String>,
    change: &Change,
    duplicate_similarity: f64,
) -> Option<String> {
    let existing: Vec<(&str, Note<'_>)> = contents
        .iter()
        .flat_map(|(path, content)| {
            parse_notes(content)
                .into_iter()
                .map(move |n| (path.as_str(), n))
        })
        .collect();
    for edit in change.edits.iter().filter(|e| e.before.is_empty()) {
        for note in parse_notes(&edit.after) {
            if let Some(key) = note.marker()
                && let Some((path, _)) = existing
                    .iter()
                    .find(|(_, n)| n.marker().as_deref() == Some(key.as_str()))
            {
                return Some(format!(
                    "its lesson is already in {path} (marker {key}), written since this proposal was made; nothing added twice"
                ));
            }
            let words = shingles(&normalize_words(&core_text(note.text)));
            if words.is_empty() {
                continue;
            }
            let similar = existing.iter().find_map(|(path, n)| {
                let theirs = shingles(&normalize_words(&core_text(n.text)));
                let score = jaccard(&words, &theirs);
                let same_polarity = negated(&core_text(note.text)) == negated(&core_text(n.text));
                (score >= duplicate_similarity && same_polarity).then_some((path, n.text, score))
            });
            if let Some((path, text, score)) = similar {
                let text: String = text.chars().take(80).collect();
                return Some(format!(
                    "a note in {path} already says this (similarity {score:.2}): “{text}”; nothing added twice"
                ));
            }
        }
    }
    None
}

async fn approve_once(
    store: &dyn Store,
    proposal_id: &ProposalId,
    only: Option<&[String]>,
    reviewer: &Actor,
    clock: &dyn Clock,
    hold_needs_human: bool,
) -> EngineResult<ReviewReport> {
    let (proposal, pending, mut report) = select(store, proposal_id, only).await?;
    let duplicate_similarity = store
        .dream_config(&proposal.store_id)
        .await?
        .duplicate_similarity;
    let memories = store.list_memories(&proposal.store_id, None).await?;
    let original: BTreeMap<String, String> = memories
        .iter()
        .map(|m| (m.path.clone(), m.content.clone()))
        .collect();
    let mut contents = original.clone();
    for change in proposal.changes.iter().filter(|c| pending.contains(&c.id)) {
        if hold_needs_human && change.flags.contains(&Flag::NeedsHuman) {
            report.skipped.push((
                change.id.clone(),
                "flagged needs_human: a person must approve it".into(),
            ));
            continue;
        }
        if change.op == ChangeOp::Add
            && let Some(reason) = already_present(&contents, change, duplicate_similarity)
        {
            report.stale.push((change.id.clone(), reason));
            continue;
        }
        match apply_edits(&mut contents, &change.edits) {
            Ok(()) => report.applied.push(change.id.clone()),
            Err(mismatch) => report.stale.push((change.id.clone(), mismatch.reason)),
        }
    }
    let mut writes = Vec::new();
    for (path, content) in &contents {
        match original.get(path) {
            Some(old) if old == content => {}
            Some(old) => {
                let memory = memories.iter().find(|m| &m.path == path);
                let Some(memory) = memory else { continue };
                if content.trim().is_empty() {
                    writes.push(MemoryWrite::Delete {
                        memory_id: memory.id.clone(),
                        precondition: Some(content_sha256(old)),
                    });
                } else {
                    writes.push(MemoryWrite::Update {
                        memory_id: memory.id.clone(),
                        content: Some(content.clone()),
                        path: None,
                        precondition: Some(content_sha256(old)),
                    });
                }
            }
            None => writes.push(MemoryWrite::Create {
                path: path.clone(),
                content: content.clone(),
            }),
        }
    }
    let now = clock.now();
    let reviewed_by = Some(reviewer.to_string());
    let mut updates: Vec<ChangeReview> = report
        .applied
        .iter()
        .map(|id| ChangeReview {
            change_id: id.clone(),
            status: ChangeStatus::Applied,
            reason: None,
            applied_store_version: None,
            reviewed_at: Some(now),
            reviewed_by: reviewed_by.clone(),
        })
        .collect();
    updates.extend(report.stale.iter().map(|(id, reason)| ChangeReview {
        change_id: id.clone(),
        status: ChangeStatus::Stale,
        reason: Some(reason.clone()),
        applied_store_version: None,
        reviewed_at: Some(now),
        reviewed_by: reviewed_by.clone(),
    }));
    // Applied changes are written by the dream, reviewed by the person.
    let writer = Actor::Dream {
        dream_id: proposal.dream_id.to_string(),
    };
    let versions = store
        .write_reviewed(
            &proposal.store_id,
            &writes,
            &writer,
            &ReviewUpdate {
                proposal_id: proposal_id.clone(),
                reviews: updates,
                rejections: Vec::new(),
            },
        )
        .await?;
    report.versions = versions;
    Ok(report)
}

/// Rejects the selected pending changes (all when `only` is `None`) with `reason`.
/// Rejected changes are remembered per store, so later dreams drop look-alikes and
/// list them as `suppressed_by_rejection`.
///
/// # Errors
/// [`EngineError::InvalidRequest`] for an unknown change id or an empty reason; store errors.
pub async fn reject(
    store: &dyn Store,
    proposal_id: &ProposalId,
    only: Option<&[String]>,
    reason: &str,
    reviewer: &Actor,
    clock: &dyn Clock,
) -> EngineResult<ReviewReport> {
    if reason.trim().is_empty() {
        return Err(EngineError::InvalidRequest(
            "a rejection needs a reason; later dreams show it when they suppress look-alikes"
                .into(),
        ));
    }
    let (proposal, pending, mut report) = select(store, proposal_id, only).await?;
    let now = clock.now();
    let mut updates = Vec::new();
    let mut rejections = Vec::new();
    for change in proposal.changes.iter().filter(|c| pending.contains(&c.id)) {
        report.rejected.push(change.id.clone());
        updates.push(ChangeReview {
            change_id: change.id.clone(),
            status: ChangeStatus::Rejected,
            reason: Some(reason.to_owned()),
            applied_store_version: None,
            reviewed_at: Some(now),
            reviewed_by: Some(reviewer.to_string()),
        });
        rejections.push(Rejection {
            memory_store_id: proposal.store_id.clone(),
            change_id: change.id.clone(),
            pattern_key: change.pattern_key.clone(),
            after: change.after.clone(),
            reason: reason.to_owned(),
            created_at: now,
        });
    }
    store
        .write_reviewed(
            &proposal.store_id,
            &[],
            reviewer,
            &ReviewUpdate {
                proposal_id: proposal_id.clone(),
                reviews: updates,
                rejections,
            },
        )
        .await?;
    Ok(report)
}
