//! `client.beta.memory_stores.memories`: create, retrieve, update, list, delete.
//! `view` defaults to `full` on retrieve and `basic` elsewhere (SDK docstrings).

use axum::extract::{Path, State};
use dream_store::MemoryWrite;
use dream_types::{MemoryId, MemoryStoreId, roll_up, validate_prefix};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::page::{self, MAX_FULL_LIMIT, Order, Page};
use crate::routes::{ViewQuery, id};
use crate::wire::{Deleted, MemoryItemOut, MemoryOut, View};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(retrieve, update, delete))
}

/// Body of `POST …/memories`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemory {
    /// `/projects/foo/notes.md`: starts with `/`, 1–20 segments, ≤ 1,024 bytes, NFC.
    pub path: String,
    /// UTF-8 text, ≤ 102,400 bytes; `""` (or null) for an empty memory.
    pub content: Option<String>,
}

/// `{"type": "content_sha256", "content_sha256": "…"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Precondition {
    /// `"content_sha256"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The hash the caller last saw.
    pub content_sha256: Option<String>,
}

/// Body of `POST …/memories/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMemory {
    /// New content; left out keeps it.
    #[serde(default)]
    pub content: Option<String>,
    /// New path (a rename); left out keeps it.
    #[serde(default)]
    pub path: Option<String>,
    /// Apply only if the memory still has this content (else 409
    /// `memory_precondition_failed_error`).
    #[serde(default)]
    pub precondition: Option<Precondition>,
}

/// Query of `GET …/memories`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListMemories {
    /// Only paths below this prefix (must end with `/`).
    pub path_prefix: Option<String>,
    /// 0 (default): every memory below the prefix; N: N levels, deeper ones rolled up
    /// into `memory_prefix` items.
    pub depth: Option<u32>,
    /// 1–100, default 20 (at most 20 with `view=full`).
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
    /// `basic` (default) or `full`.
    pub view: Option<View>,
}

/// Query of `DELETE …/memories/{id}`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DeleteQuery {
    /// Delete only if the memory still has this `content_sha256`.
    pub expected_content_sha256: Option<String>,
}

fn ids(store: &str, memory: &str) -> ApiResult<(MemoryStoreId, MemoryId)> {
    Ok((id("memory store", store)?, id("memory", memory)?))
}

fn check_sha(field: &str, value: &str) -> ApiResult<()> {
    if value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(ApiError::invalid_with_code(
            "invalid_sha256",
            format!("{field} must be 64 lowercase hexadecimal characters, got {value:?}"),
        ))
    }
}

/// Create a memory.
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/memories", tag = "memories",
    params(("memory_store_id" = String, Path), ViewQuery),
    request_body = CreateMemory,
    responses((status = 200, body = MemoryOut), (status = 400), (status = 404), (status = 409)))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(store_id): Path<String>,
    Query(view): Query<ViewQuery>,
    Json(body): Json<CreateMemory>,
) -> ApiResult<axum::Json<MemoryOut>> {
    let store_id: MemoryStoreId = id("memory store", &store_id)?;
    let versions = state
        .store()
        .write_memories(
            &store_id,
            &[MemoryWrite::Create {
                path: body.path,
                content: body.content.unwrap_or_default(),
            }],
            &principal.actor(),
        )
        .await?;
    let memory_id = versions
        .first()
        .map(|v| v.memory_id.clone())
        .ok_or_else(|| ApiError::internal("a create wrote no version"))?;
    let memory = state.store().get_memory(&store_id, &memory_id).await?;
    Ok(axum::Json(MemoryOut::new(
        memory,
        view.view.unwrap_or_default(),
    )))
}

/// Retrieve a memory (`view` defaults to `full`).
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/memories/{memory_id}", tag = "memories",
    params(("memory_store_id" = String, Path), ("memory_id" = String, Path), ViewQuery),
    responses((status = 200, body = MemoryOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path((store_id, memory_id)): Path<(String, String)>,
    Query(view): Query<ViewQuery>,
) -> ApiResult<axum::Json<MemoryOut>> {
    let (store_id, memory_id) = ids(&store_id, &memory_id)?;
    let memory = state.store().get_memory(&store_id, &memory_id).await?;
    Ok(axum::Json(MemoryOut::new(
        memory,
        view.view.unwrap_or(View::Full),
    )))
}

/// Update a memory's content and/or path (Anthropic uses POST).
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/memories/{memory_id}", tag = "memories",
    params(("memory_store_id" = String, Path), ("memory_id" = String, Path), ViewQuery),
    request_body = UpdateMemory,
    responses((status = 200, body = MemoryOut), (status = 400), (status = 404),
        (status = 409, description = "`memory_precondition_failed_error` or `memory_path_conflict_error`")))]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((store_id, memory_id)): Path<(String, String)>,
    Query(view): Query<ViewQuery>,
    Json(body): Json<UpdateMemory>,
) -> ApiResult<axum::Json<MemoryOut>> {
    let (store_id, memory_id) = ids(&store_id, &memory_id)?;
    let precondition = match body.precondition {
        None => None,
        Some(p) if p.kind == "content_sha256" => {
            let sha = p.content_sha256.ok_or_else(|| {
                ApiError::invalid(
                    "precondition.content_sha256 is required with type content_sha256",
                )
            })?;
            check_sha("precondition.content_sha256", &sha)?;
            Some(sha)
        }
        Some(p) => {
            return Err(ApiError::invalid(format!(
                "precondition.type {:?} is not supported; use \"content_sha256\"",
                p.kind
            )));
        }
    };
    state
        .store()
        .write_memories(
            &store_id,
            &[MemoryWrite::Update {
                memory_id: memory_id.clone(),
                content: body.content,
                path: body.path,
                precondition,
            }],
            &principal.actor(),
        )
        .await?;
    let memory = state.store().get_memory(&store_id, &memory_id).await?;
    Ok(axum::Json(MemoryOut::new(
        memory,
        view.view.unwrap_or_default(),
    )))
}

/// List memories by path, optionally below a prefix and rolled up to a depth.
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/memories", tag = "memories",
    params(("memory_store_id" = String, Path), ListMemories),
    responses((status = 200, body = Page<MemoryItemOut>), (status = 400), (status = 404)))]
async fn list(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Query(query): Query<ListMemories>,
) -> ApiResult<axum::Json<Page<MemoryItemOut>>> {
    let store_id: MemoryStoreId = id("memory store", &store_id)?;
    let view = query.view.unwrap_or_default();
    let mut limit = page::limit(query.limit)?;
    if view == View::Full {
        limit = limit.min(MAX_FULL_LIMIT);
    }
    if let Some(prefix) = &query.path_prefix {
        validate_prefix(prefix).map_err(|e| ApiError::invalid_with_code(e.code, e.message))?;
    }
    let prefix = query.path_prefix.as_deref().unwrap_or("/");
    // Listing checks the store exists (an archived one lists too).
    state.store().get_memory_store(&store_id).await?;
    let memories = state
        .store()
        .list_memories(&store_id, query.path_prefix.as_deref())
        .await?;
    let items: Vec<MemoryItemOut> = roll_up(memories, prefix, query.depth.unwrap_or(0) as usize)
        .into_iter()
        .map(|item| MemoryItemOut::new(item, view))
        .collect();
    let page = page::paginate(
        items,
        |item| item.path().to_owned(),
        Order::Asc,
        query.page.as_deref(),
        limit,
    )?;
    Ok(axum::Json(page))
}

/// Delete a memory (its versions stay).
#[utoipa::path(delete, path = "/v1/memory_stores/{memory_store_id}/memories/{memory_id}", tag = "memories",
    params(("memory_store_id" = String, Path), ("memory_id" = String, Path), DeleteQuery),
    responses((status = 200, body = Deleted), (status = 404), (status = 409)))]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path((store_id, memory_id)): Path<(String, String)>,
    Query(query): Query<DeleteQuery>,
) -> ApiResult<axum::Json<Deleted>> {
    let (store_id, memory_id) = ids(&store_id, &memory_id)?;
    if let Some(sha) = &query.expected_content_sha256 {
        check_sha("expected_content_sha256", sha)?;
    }
    state
        .store()
        .write_memories(
            &store_id,
            &[MemoryWrite::Delete {
                memory_id: memory_id.clone(),
                precondition: query.expected_content_sha256,
            }],
            &principal.actor(),
        )
        .await?;
    Ok(axum::Json(Deleted {
        kind: "memory_deleted",
        id: memory_id.to_string(),
    }))
}
