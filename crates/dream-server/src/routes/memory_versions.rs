//! `client.beta.memory_stores.memory_versions`: list (newest first, with filters),
//! retrieve, redact.

use axum::extract::{Path, State};
use dream_store::VersionFilter;
use dream_types::{MemoryOperation, MemoryStoreId, MemoryVersionId};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::page::{self, MAX_FULL_LIMIT, Page};
use crate::routes::{ViewQuery, id, parse_time};
use crate::wire::{MemoryVersionOut, View};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(retrieve))
        .routes(routes!(redact))
}

/// Query of `GET …/memory_versions`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListVersions {
    /// Versions of this memory.
    pub memory_id: Option<String>,
    /// `created`, `modified` or `deleted`.
    pub operation: Option<String>,
    /// Written with this API key (`apikey_…`).
    pub api_key_id: Option<String>,
    /// Written by this session (`sesn_…`).
    pub session_id: Option<String>,
    /// Written by this service account.
    pub service_account_id: Option<String>,
    /// `dream`: written by this dream (`drm_…`).
    pub dream_id: Option<String>,
    /// Created at or after (RFC 3339).
    #[serde(rename = "created_at[gte]")]
    #[param(rename = "created_at[gte]")]
    pub created_gte: Option<String>,
    /// Created at or before (RFC 3339).
    #[serde(rename = "created_at[lte]")]
    #[param(rename = "created_at[lte]")]
    pub created_lte: Option<String>,
    /// 1–100, default 20 (at most 20 with `view=full`).
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
    /// `basic` (default) or `full`.
    pub view: Option<View>,
}

/// List a store's memory versions, newest first.
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/memory_versions", tag = "memory_versions",
    params(("memory_store_id" = String, Path), ListVersions),
    responses((status = 200, body = Page<MemoryVersionOut>), (status = 400), (status = 404)))]
async fn list(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Query(query): Query<ListVersions>,
) -> ApiResult<axum::Json<Page<MemoryVersionOut>>> {
    let store_id: MemoryStoreId = id("memory store", &store_id)?;
    let view = query.view.unwrap_or_default();
    let mut limit = page::limit(query.limit)?;
    if view == View::Full {
        limit = limit.min(MAX_FULL_LIMIT);
    }
    let actors: Vec<(&str, &String)> = [
        ("api_actor", &query.api_key_id),
        ("session_actor", &query.session_id),
        ("service_account_actor", &query.service_account_id),
        ("dream_actor", &query.dream_id),
    ]
    .into_iter()
    .filter_map(|(kind, value)| value.as_ref().map(|v| (kind, v)))
    .collect();
    if actors.len() > 1 {
        return Err(ApiError::invalid(
            "filter by one actor at a time: api_key_id, session_id, service_account_id or dream_id",
        ));
    }
    let operation = query
        .operation
        .as_deref()
        .map(|name| {
            MemoryOperation::from_name(name).ok_or_else(|| {
                ApiError::invalid(format!(
                    "operation must be created, modified or deleted, got {name:?}"
                ))
            })
        })
        .transpose()?;
    let before = query
        .page
        .as_deref()
        .map(|cursor| {
            page::decode(cursor)?.parse::<u64>().map_err(|_| {
                ApiError::invalid_with_code("invalid_page", "page is not a cursor from this list")
            })
        })
        .transpose()?;
    let filter = VersionFilter {
        memory_id: query
            .memory_id
            .as_deref()
            .map(|m| id("memory", m))
            .transpose()?,
        actor_type: actors.first().map(|(kind, _)| (*kind).to_owned()),
        actor_id: actors.first().map(|(_, value)| (*value).clone()),
        operation,
        since: parse_time("created_at[gte]", &query.created_gte)?,
        until: parse_time("created_at[lte]", &query.created_lte)?,
        before_store_version: before,
        limit: Some(limit as u64 + 1),
    };
    let versions = state
        .store()
        .list_memory_versions(&store_id, &filter)
        .await?;
    let page = page::from_fetched(versions, limit, |v| v.store_version.to_string());
    Ok(axum::Json(page.map(|v| MemoryVersionOut::new(v, view))))
}

/// Retrieve a memory version (`view` defaults to `full`).
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/memory_versions/{memory_version_id}", tag = "memory_versions",
    params(("memory_store_id" = String, Path), ("memory_version_id" = String, Path), ViewQuery),
    responses((status = 200, body = MemoryVersionOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path((store_id, version_id)): Path<(String, String)>,
    Query(view): Query<ViewQuery>,
) -> ApiResult<axum::Json<MemoryVersionOut>> {
    let store_id: MemoryStoreId = id("memory store", &store_id)?;
    let version_id: MemoryVersionId = id("memory version", &version_id)?;
    let version = state
        .store()
        .get_memory_version(&store_id, &version_id)
        .await?;
    Ok(axum::Json(MemoryVersionOut::new(
        version,
        view.view.unwrap_or(View::Full),
    )))
}

/// Redact a memory version: its path and content are wiped, the record stays.
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/memory_versions/{memory_version_id}/redact", tag = "memory_versions",
    params(("memory_store_id" = String, Path), ("memory_version_id" = String, Path)),
    responses((status = 200, body = MemoryVersionOut), (status = 400), (status = 404)))]
async fn redact(
    State(state): State<AppState>,
    principal: Principal,
    Path((store_id, version_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<MemoryVersionOut>> {
    let store_id: MemoryStoreId = id("memory store", &store_id)?;
    let version_id: MemoryVersionId = id("memory version", &version_id)?;
    let version = state
        .store()
        .redact_memory_version(&store_id, &version_id, &principal.actor())
        .await?;
    Ok(axum::Json(MemoryVersionOut::new(version, View::Full)))
}
