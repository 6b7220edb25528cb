//! `dream`'s review endpoints: a dream's proposal with each change's review state,
//! and approve (all), accept (some), reject (some or all, with a reason). Reviewing
//! needs the `proposals:review` scope, which an agent's key should not have.
//! Emits `proposal.applied` / `proposal.rejected`.

use axum::extract::{Path, State};
use dream_engine::dream::dream_proposal;
use dream_engine::review::{ReviewReport, approve, reject};
use dream_types::{DreamId, Proposal};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::extract::Json;
use crate::routes::id;
use crate::wire::{MemoryVersionOut, View};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(retrieve))
        .routes(routes!(approve_all))
        .routes(routes!(accept))
        .routes(routes!(reject_changes))
}

/// Body of `…/proposal/approve`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Only these changes (`chg_…`); all pending ones when left out.
    #[serde(default)]
    pub change_ids: Option<Vec<String>>,
}

/// Body of `…/proposal/accept`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The changes to apply (`chg_…`, at least one); the others stay pending.
    pub change_ids: Vec<String>,
}

/// Body of `…/proposal/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectBody {
    /// Why (shown when later dreams suppress look-alikes).
    pub reason: String,
    /// Only these changes; all pending ones when left out.
    #[serde(default)]
    pub change_ids: Option<Vec<String>>,
}

async fn load(state: &AppState, raw: &str) -> ApiResult<Proposal> {
    let dream_id: DreamId = id("dream", raw)?;
    Ok(dream_proposal(state.store(), &dream_id).await?)
}

/// The proposal with each change's review state (`pending`, `applied`, `rejected`,
/// `stale`).
async fn proposal_json(state: &AppState, proposal: &Proposal) -> ApiResult<Value> {
    let reviews = state.store().change_reviews(&proposal.id).await?;
    let mut out = json!(proposal);
    out["type"] = json!("proposal");
    if let Some(changes) = out["changes"].as_array_mut() {
        for change in changes {
            let review = reviews
                .iter()
                .find(|r| change["id"].as_str() == Some(r.change_id.as_str()));
            change["review"] = json!(review);
        }
    }
    Ok(out)
}

fn report_json(report: &ReviewReport) -> Value {
    json!({
        "type": "proposal_review",
        "proposal_id": report.proposal_id,
        "applied": report.applied,
        "stale": report.stale.iter().map(|(id, why)| json!({"change_id": id, "reason": why})).collect::<Vec<_>>(),
        "rejected": report.rejected,
        "skipped": report.skipped.iter().map(|(id, why)| json!({"change_id": id, "reason": why})).collect::<Vec<_>>(),
        "versions": report.versions.iter().cloned().map(|v| MemoryVersionOut::new(v, View::Basic)).collect::<Vec<_>>(),
    })
}

/// A dream's proposal: every change with its diff, justification, support, evidence
/// and review state, and what the gates held back.
#[utoipa::path(get, path = "/v1/dreams/{dream_id}/proposal", tag = "proposals",
    params(("dream_id" = String, Path)),
    responses((status = 200, body = Object), (status = 400, description = "No proposal yet"), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path(dream_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let proposal = load(&state, &dream_id).await?;
    Ok(axum::Json(proposal_json(&state, &proposal).await?))
}

async fn apply(
    state: &AppState,
    principal: &Principal,
    dream_id: &str,
    only: Option<Vec<String>>,
) -> ApiResult<axum::Json<Value>> {
    let proposal = load(state, dream_id).await?;
    let report = approve(
        state.store(),
        &proposal.id,
        only.as_deref(),
        &principal.actor(),
        state.clock(),
        false,
    )
    .await?;
    if !report.applied.is_empty() || !report.stale.is_empty() {
        events::proposal_reviewed(state, &proposal, "proposal.applied", report_json(&report)).await;
    }
    Ok(axum::Json(report_json(&report)))
}

/// Approve every pending change (or the `change_ids` given): they are written to the
/// store as memory versions; a change whose target moved is marked `stale`.
#[utoipa::path(post, path = "/v1/dreams/{dream_id}/proposal/approve", tag = "proposals",
    params(("dream_id" = String, Path)),
    request_body = ApproveBody,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
async fn approve_all(
    State(state): State<AppState>,
    principal: Principal,
    Path(dream_id): Path<String>,
    Json(body): Json<ApproveBody>,
) -> ApiResult<axum::Json<Value>> {
    apply(&state, &principal, &dream_id, body.change_ids).await
}

/// Accept some changes (partial review); the rest stay pending.
#[utoipa::path(post, path = "/v1/dreams/{dream_id}/proposal/accept", tag = "proposals",
    params(("dream_id" = String, Path)),
    request_body = AcceptBody,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    Path(dream_id): Path<String>,
    Json(body): Json<AcceptBody>,
) -> ApiResult<axum::Json<Value>> {
    if body.change_ids.is_empty() {
        return Err(ApiError::invalid(
            "change_ids must name at least one change; approve applies them all",
        ));
    }
    apply(&state, &principal, &dream_id, Some(body.change_ids)).await
}

/// Reject pending changes with a reason; later dreams suppress look-alikes.
#[utoipa::path(post, path = "/v1/dreams/{dream_id}/proposal/reject", tag = "proposals",
    params(("dream_id" = String, Path)),
    request_body = RejectBody,
    responses((status = 200, body = Object), (status = 400), (status = 403), (status = 404)))]
async fn reject_changes(
    State(state): State<AppState>,
    principal: Principal,
    Path(dream_id): Path<String>,
    Json(body): Json<RejectBody>,
) -> ApiResult<axum::Json<Value>> {
    let proposal = load(&state, &dream_id).await?;
    let report = reject(
        state.store(),
        &proposal.id,
        body.change_ids.as_deref(),
        &body.reason,
        &principal.actor(),
        state.clock(),
    )
    .await?;
    if !report.rejected.is_empty() {
        let mut data = report_json(&report);
        data["reason"] = json!(body.reason);
        events::proposal_reviewed(&state, &proposal, "proposal.rejected", data).await;
    }
    Ok(axum::Json(report_json(&report)))
}
