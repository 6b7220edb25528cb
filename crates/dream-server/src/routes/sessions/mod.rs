//! `client.beta.sessions` (retrieve, list) and `client.beta.sessions.events.list` for
//! imported sessions, and `dream`'s `POST /v1/sessions/import`.
//!
//! `dream` records sessions that ran elsewhere; it does not run agents. So sessions
//! are read-only here except import: the SDK's create, update, archive, delete and
//! event-sending calls are answered 404 or 405.

use axum::extract::{Path, State};
use dream_store::SessionRef;
use dream_types::{Session, SessionFilter, SessionId, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::page;
use crate::routes::parse_time;

mod events;
mod import;
pub mod view;

pub use view::SessionOut;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(import::import))
        .routes(routes!(retrieve))
        .routes(routes!(events::list_events))
}

/// The session statuses of Managed Agents (`statuses[]` values).
const STATUSES: [&str; 4] = ["rescheduling", "running", "idle", "terminated"];

/// Sort direction (`order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// Query of `GET /v1/sessions` (SDK `SessionListParams`).
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListSessions {
    /// Sessions of this agent: the agent's name as imported (`claude-code` for Claude
    /// Code transcripts, the import's `agent` otherwise). Empty: sessions that name no
    /// agent.
    pub agent_id: Option<String>,
    /// Every imported session reports agent version 1; any other version matches none.
    pub agent_version: Option<i64>,
    /// Created strictly after (RFC 3339). `created_at` is when the session started,
    /// else when it was first stored.
    #[serde(rename = "created_at[gt]")]
    #[param(rename = "created_at[gt]")]
    pub created_gt: Option<String>,
    /// Created at or after (RFC 3339).
    #[serde(rename = "created_at[gte]")]
    #[param(rename = "created_at[gte]")]
    pub created_gte: Option<String>,
    /// Created strictly before (RFC 3339).
    #[serde(rename = "created_at[lt]")]
    #[param(rename = "created_at[lt]")]
    pub created_lt: Option<String>,
    /// Created at or before (RFC 3339).
    #[serde(rename = "created_at[lte]")]
    #[param(rename = "created_at[lte]")]
    pub created_lte: Option<String>,
    /// Imported sessions have no deployment; any value matches none.
    pub deployment_id: Option<String>,
    /// Accepted; imported sessions are never archived.
    pub include_archived: Option<bool>,
    /// Sessions whose `resources` hold this memory store (`memstore_…`): those whose
    /// transcript names the store version they ran with.
    pub memory_store_id: Option<String>,
    /// `desc` (default: newest first) or `asc`.
    #[param(value_type = Option<String>)]
    pub order: Option<SortOrder>,
    /// Only these statuses (`statuses[]=idle&statuses[]=terminated`). Every imported
    /// session is `terminated`.
    #[serde(default, rename = "statuses[]", alias = "statuses")]
    #[param(rename = "statuses[]")]
    pub statuses: Vec<String>,
    /// `dream`: include subagent sessions (Claude Code Task and compaction agents).
    /// Default false: only top-level sessions, as Managed Agents lists sessions and
    /// not their threads.
    pub include_subagents: Option<bool>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

/// A page of sessions (SDK `SyncBidirectionalPageCursor`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionPage {
    /// The sessions.
    pub data: Vec<SessionOut>,
    /// The `page` value for the next page; null on the last page.
    pub next_page: Option<String>,
    /// Always null: walk backwards by listing in the other `order`.
    pub prev_page: Option<String>,
}

/// Reads a session by its path id: a `dream` id, or the original id of an imported
/// Managed Agents session (`sesn_011CZ…`, not a `dream` id). Anything else, or an
/// unknown id, is a 404.
async fn find(state: &AppState, raw: &str) -> ApiResult<Session> {
    let reference = match raw.parse::<SessionId>() {
        Ok(session_id) => SessionRef::Id(session_id),
        Err(_) if raw.starts_with("sesn_") => SessionRef::Source(raw.to_owned()),
        Err(_) => return Err(ApiError::not_found(format!("session {raw} not found"))),
    };
    state
        .store()
        .get_session(&reference)
        .await
        .map_err(|err| match err {
            dream_store::StoreError::NotFound { .. } => {
                ApiError::not_found(format!("session {raw} not found"))
            }
            other => other.into(),
        })
}

/// Retrieve a session.
#[utoipa::path(get, path = "/v1/sessions/{session_id}", tag = "sessions",
    params(("session_id" = String, Path, description = "`sesn_…`; an imported Managed Agents session is also found by its original `sesn_` id")),
    responses((status = 200, body = SessionOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> ApiResult<axum::Json<SessionOut>> {
    Ok(axum::Json(SessionOut::new(
        find(&state, &session_id).await?,
    )))
}

/// One microsecond, the store's time resolution: strict bounds are inclusive bounds
/// moved by it.
fn shift(at: Timestamp, micros: i64) -> ApiResult<Timestamp> {
    Timestamp::from_unix_micros(at.unix_micros().saturating_add(micros))
        .ok_or_else(|| ApiError::invalid_with_code("invalid_timestamp", "time out of range"))
}

/// The tightest of two optional bounds.
fn tighter(a: Option<Timestamp>, b: Option<Timestamp>, later: bool) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if later { a.max(b) } else { a.min(b) }),
        (a, b) => a.or(b),
    }
}

/// The inclusive `(since, until)` bounds of `created_at[gt|gte|lt|lte]`.
pub(crate) fn time_bounds(
    gt: &Option<String>,
    gte: &Option<String>,
    lt: &Option<String>,
    lte: &Option<String>,
) -> ApiResult<(Option<Timestamp>, Option<Timestamp>)> {
    let gt = parse_time("created_at[gt]", gt)?
        .map(|t| shift(t, 1))
        .transpose()?;
    let lt = parse_time("created_at[lt]", lt)?
        .map(|t| shift(t, -1))
        .transpose()?;
    let since = tighter(gt, parse_time("created_at[gte]", gte)?, true);
    let until = tighter(lt, parse_time("created_at[lte]", lte)?, false);
    Ok((since, until))
}

fn session_key(session: &Session) -> String {
    format!("{}|{}", view::session_time(session), session.id)
}

fn decode_session_cursor(cursor: &str) -> ApiResult<(Timestamp, SessionId)> {
    let key = page::decode(cursor)?;
    key.split_once('|')
        .and_then(|(at, id)| Some((Timestamp::parse(at).ok()?, id.parse::<SessionId>().ok()?)))
        .ok_or_else(|| {
            ApiError::invalid_with_code("invalid_page", "page is not a cursor from this list")
        })
}

/// Sessions read per store query while a filter the store cannot apply
/// (`memory_store_id`) drops some.
const SCAN_BATCH: u64 = 200;

/// A filter the store cannot apply, checked on each listed session.
fn in_memory_store(session: &Session, memory_store_id: Option<&str>) -> bool {
    memory_store_id.is_none_or(|want| {
        session
            .memory_version
            .as_ref()
            .and_then(|v| v.store_id.as_deref())
            == Some(want)
    })
}

/// Fetches up to `want` sessions after `cursor` in `order`, in that order, that pass
/// `base` and ran with `memory_store_id` (when given).
///
/// The store lists newest first with keyset paging, so `desc` reads from the cursor
/// down (in batches of [`SCAN_BATCH`] while `memory_store_id` drops some). `asc`
/// reads every session from the cursor's time up and reverses them: a page costs the
/// rest of the list, acceptable for the thousands of sessions a team imports.
async fn fetch_sessions(
    state: &AppState,
    base: SessionFilter,
    order: SortOrder,
    cursor: Option<(Timestamp, SessionId)>,
    want: usize,
    memory_store_id: Option<&str>,
) -> ApiResult<Vec<Session>> {
    match order {
        SortOrder::Desc => {
            let batch = if memory_store_id.is_some() {
                SCAN_BATCH.max(want as u64)
            } else {
                want as u64
            };
            let mut out = Vec::new();
            let mut after = cursor;
            loop {
                let sessions = state
                    .store()
                    .list_sessions(&SessionFilter {
                        after_key: after.clone(),
                        limit: Some(batch),
                        ..base.clone()
                    })
                    .await?;
                let fetched = sessions.len() as u64;
                after = sessions
                    .last()
                    .map(|s| (view::session_time(s), s.id.clone()));
                out.extend(
                    sessions
                        .into_iter()
                        .filter(|s| in_memory_store(s, memory_store_id)),
                );
                if out.len() >= want || fetched < batch {
                    break;
                }
            }
            out.truncate(want);
            Ok(out)
        }
        SortOrder::Asc => {
            let since = tighter(base.since, cursor.as_ref().map(|(at, _)| *at), true);
            let mut sessions = state
                .store()
                .list_sessions(&SessionFilter {
                    since,
                    limit: None,
                    after_key: None,
                    ..base
                })
                .await?;
            sessions.reverse();
            Ok(sessions
                .into_iter()
                .filter(|s| match &cursor {
                    Some((at, id)) => (view::session_time(s), &s.id) > (*at, id),
                    None => true,
                })
                .filter(|s| in_memory_store(s, memory_store_id))
                .take(want)
                .collect())
        }
    }
}

/// List sessions, newest first (or `order=asc`). Top-level sessions only unless
/// `include_subagents=true`.
#[utoipa::path(get, path = "/v1/sessions", tag = "sessions",
    params(ListSessions),
    responses((status = 200, body = SessionPage), (status = 400)))]
async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListSessions>,
) -> ApiResult<axum::Json<SessionPage>> {
    let limit = page::limit(query.limit)?;
    let order = query.order.unwrap_or(SortOrder::Desc);
    for status in &query.statuses {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::invalid_with_code(
                "invalid_status",
                format!(
                    "unknown status {status:?}; statuses are rescheduling, running, idle, terminated"
                ),
            ));
        }
    }
    let (since, until) = time_bounds(
        &query.created_gt,
        &query.created_gte,
        &query.created_lt,
        &query.created_lte,
    )?;
    let cursor = query
        .page
        .as_deref()
        .map(decode_session_cursor)
        .transpose()?;
    let empty = || {
        axum::Json(SessionPage {
            data: Vec::new(),
            next_page: None,
            prev_page: None,
        })
    };
    // Filters no imported session can pass.
    let none_match = (!query.statuses.is_empty()
        && !query.statuses.iter().any(|s| s == view::STATUS))
        || query
            .agent_version
            .is_some_and(|v| v != view::AGENT_VERSION as i64)
        || query.deployment_id.is_some()
        || since.zip(until).is_some_and(|(since, until)| since > until);
    if none_match {
        return Ok(empty());
    }
    let base = SessionFilter {
        agent: query.agent_id.clone(),
        since,
        until,
        top_level_only: !query.include_subagents.unwrap_or(false),
        ..SessionFilter::default()
    };
    let sessions = fetch_sessions(
        &state,
        base,
        order,
        cursor,
        limit + 1,
        query.memory_store_id.as_deref(),
    )
    .await?;
    let page = page::from_fetched(sessions, limit, session_key);
    Ok(axum::Json(SessionPage {
        data: page.data.into_iter().map(SessionOut::new).collect(),
        next_page: page.next_page,
        prev_page: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_bounds_move_by_a_microsecond_and_the_tighter_bound_wins() {
        let at = |s: &str| Some(s.to_owned());
        let (since, until) = time_bounds(
            &at("2026-01-01T00:00:00Z"),
            &at("2025-01-01T00:00:00Z"),
            &at("2026-02-01T00:00:00Z"),
            &None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            since.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-01T00:00:00.000001Z")
        );
        assert_eq!(
            until.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-31T23:59:59.999999Z")
        );
        let err = time_bounds(&at("yesterday"), &None, &None, &None).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("invalid_timestamp"));
    }
}
