//! Pending proposals: the proposals of a store's dreams that still have changes
//! nobody reviewed, and marking them `superseded` when a newer proposal replaces them
//! (issue 9, "review you can trust": a dream run on a store with unreviewed proposals
//! says so, and can retire them instead of piling up look-alike diffs).

use dream_store::{DreamFilter, ReviewUpdate, Store};
use dream_types::{
    Actor, ChangeReview, ChangeStatus, Clock, DreamId, DreamStatus, MemoryStoreId, ProposalId,
    Timestamp,
};
use serde::Serialize;

use crate::EngineResult;

/// A proposal with changes still pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingProposal {
    /// The proposal (`prop_…`).
    pub proposal_id: ProposalId,
    /// The dream that produced it.
    pub dream_id: DreamId,
    /// The store its changes apply to (the dream's output store).
    pub store_id: MemoryStoreId,
    /// Changes still `pending` (at least 1).
    pub pending_changes: u64,
    /// When the proposal was stored.
    pub created_at: Timestamp,
}

/// A proposal whose pending changes [`supersede_pending`] marked `superseded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupersededProposal {
    /// The older proposal.
    pub proposal_id: ProposalId,
    /// Its dream.
    pub dream_id: DreamId,
    /// The changes marked `superseded`, in the proposal's order.
    pub change_ids: Vec<String>,
}

/// Returns the proposals of the completed dreams on `store_id` (archived dreams
/// included) that still have pending changes, oldest first.
///
/// A dream's proposal belongs to the store the dream read, whatever its output
/// behavior: a `create_new` dream's changes apply to its output store, but they are
/// still that store's unreviewed work.
///
/// # Errors
/// Store errors.
pub async fn pending_proposals(
    store: &dyn Store,
    store_id: &MemoryStoreId,
) -> EngineResult<Vec<PendingProposal>> {
    let dreams = store
        .list_dreams(&DreamFilter {
            memory_store_id: Some(store_id.clone()),
            statuses: vec![DreamStatus::Completed],
            include_archived: true,
            ..DreamFilter::default()
        })
        .await?;
    let mut pending = Vec::new();
    for dream in dreams {
        let Some(proposal_id) = dream.proposal_id else {
            continue;
        };
        let proposal = store.get_proposal(&proposal_id).await?;
        let count = store
            .change_reviews(&proposal_id)
            .await?
            .iter()
            .filter(|r| r.status == ChangeStatus::Pending)
            .count() as u64;
        if count > 0 {
            pending.push(PendingProposal {
                proposal_id,
                dream_id: dream.id,
                store_id: proposal.store_id,
                pending_changes: count,
                created_at: proposal.created_at,
            });
        }
    }
    pending.sort_by(|a, b| (a.created_at, &a.proposal_id).cmp(&(b.created_at, &b.proposal_id)));
    Ok(pending)
}

/// Marks every pending change of the store's proposals stored before `newer` as
/// `superseded`, with a reason naming `newer`, reviewed by `reviewer`. Superseded
/// changes can no longer be approved (approving reports them as skipped, "already
/// superseded"). Changes already applied, rejected or stale keep their state; no
/// memory is written and no rejection is remembered (superseding is not a verdict on
/// the change). Returns what was marked, oldest proposal first.
///
/// # Errors
/// Store errors (`NotFound` for an unknown `newer`).
pub async fn supersede_pending(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    newer: &ProposalId,
    reviewer: &Actor,
    clock: &dyn Clock,
) -> EngineResult<Vec<SupersededProposal>> {
    let newest = store.get_proposal(newer).await?;
    let reason = format!("superseded by proposal {newer} (dream {})", newest.dream_id);
    let now = clock.now();
    let mut done = Vec::new();
    for older in pending_proposals(store, store_id).await? {
        // A proposal stored after `newer` is not older (equal times count as older:
        // `newer` is the one being stored now).
        if &older.proposal_id == newer || older.created_at > newest.created_at {
            continue;
        }
        let reviews: Vec<ChangeReview> = store
            .change_reviews(&older.proposal_id)
            .await?
            .into_iter()
            .filter(|r| r.status == ChangeStatus::Pending)
            .map(|r| ChangeReview {
                change_id: r.change_id,
                status: ChangeStatus::Superseded,
                reason: Some(reason.clone()),
                applied_store_version: None,
                reviewed_at: Some(now),
                reviewed_by: Some(reviewer.to_string()),
            })
            .collect();
        let change_ids = reviews.iter().map(|r| r.change_id.clone()).collect();
        store
            .write_reviewed(
                &older.store_id,
                &[],
                reviewer,
                &ReviewUpdate {
                    proposal_id: older.proposal_id.clone(),
                    reviews,
                    rejections: Vec::new(),
                },
            )
            .await?;
        done.push(SupersededProposal {
            proposal_id: older.proposal_id,
            dream_id: older.dream_id,
            change_ids,
        });
    }
    Ok(done)
}
