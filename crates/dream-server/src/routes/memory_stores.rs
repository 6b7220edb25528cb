//! `client.beta.memory_stores`: create, retrieve, update, list, delete, archive; and
//! `dream`'s restore, diff and dream configuration of a store.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use dream_engine::memory::{diff_store, restore};
use dream_store::{MemoryStorePatch, NewMemoryStore};
use dream_types::{DreamConfig, MemoryStore, MemoryStoreId};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::extract::{Json, Query};
use crate::page::{self, Order, Page};
use crate::routes::{id, parse_time};
use crate::wire::{Deleted, MemoryStoreOut, MemoryVersionOut, View};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(retrieve, update, delete))
        .routes(routes!(archive))
        .routes(routes!(restore_store))
        .routes(routes!(diff))
        .routes(routes!(get_dream_config, set_dream_config))
}

/// Body of `POST /v1/memory_stores`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStore {
    /// 1–255 characters, no control characters.
    pub name: String,
    /// At most 1,024 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// At most 16 pairs (keys 1–64 characters, values at most 512).
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
    /// `dream`: path prefixes dreams may never change (each ends with `/`).
    #[serde(default)]
    pub protected_paths: Option<Vec<String>>,
}

/// Body of `POST /v1/memory_stores/{id}`: fields left out keep their values.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateStore {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New description (`""` clears it).
    #[serde(default)]
    pub description: Option<String>,
    /// Metadata changes: a string sets a key, `null` removes it; keys left out stay.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, Option<String>>>,
    /// `dream`: new protected path prefixes (replaces the list).
    #[serde(default)]
    pub protected_paths: Option<Vec<String>>,
}

/// Query of `GET /v1/memory_stores`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListStores {
    /// Created at or after (RFC 3339).
    #[serde(rename = "created_at[gte]")]
    #[param(rename = "created_at[gte]")]
    pub created_gte: Option<String>,
    /// Created at or before (RFC 3339).
    #[serde(rename = "created_at[lte]")]
    #[param(rename = "created_at[lte]")]
    pub created_lte: Option<String>,
    /// Include archived stores (default false).
    pub include_archived: Option<bool>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

async fn get_store(state: &AppState, raw: &str) -> ApiResult<MemoryStore> {
    let id: MemoryStoreId = id("memory store", raw)?;
    Ok(state.store().get_memory_store(&id).await?)
}

/// Create a memory store.
#[utoipa::path(post, path = "/v1/memory_stores", tag = "memory_stores",
    request_body = CreateStore,
    responses((status = 200, body = MemoryStoreOut), (status = 400, description = "A rule broken")))]
async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateStore>,
) -> ApiResult<axum::Json<MemoryStoreOut>> {
    let store = state
        .store()
        .create_memory_store(NewMemoryStore {
            name: body.name,
            description: body.description.unwrap_or_default(),
            metadata: body.metadata.unwrap_or_default(),
            protected_paths: body.protected_paths.unwrap_or_default(),
            derived_from: None,
        })
        .await?;
    Ok(axum::Json(store.into()))
}

/// Retrieve a memory store.
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}", tag = "memory_stores",
    params(("memory_store_id" = String, Path, description = "`memstore_…`")),
    responses((status = 200, body = MemoryStoreOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<MemoryStoreOut>> {
    Ok(axum::Json(get_store(&state, &store_id).await?.into()))
}

/// Update a memory store (Anthropic uses POST).
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}", tag = "memory_stores",
    params(("memory_store_id" = String, Path)),
    request_body = UpdateStore,
    responses((status = 200, body = MemoryStoreOut), (status = 400), (status = 404)))]
async fn update(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Json(body): Json<UpdateStore>,
) -> ApiResult<axum::Json<MemoryStoreOut>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    let store = state
        .store()
        .update_memory_store(
            &id,
            MemoryStorePatch {
                name: body.name,
                description: body.description,
                metadata: body.metadata,
                protected_paths: body.protected_paths,
            },
        )
        .await?;
    Ok(axum::Json(store.into()))
}

/// List memory stores, newest first.
#[utoipa::path(get, path = "/v1/memory_stores", tag = "memory_stores",
    params(ListStores),
    responses((status = 200, body = Page<MemoryStoreOut>)))]
async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListStores>,
) -> ApiResult<axum::Json<Page<MemoryStoreOut>>> {
    let limit = page::limit(query.limit)?;
    let gte = parse_time("created_at[gte]", &query.created_gte)?;
    let lte = parse_time("created_at[lte]", &query.created_lte)?;
    let mut stores: Vec<MemoryStore> = state
        .store()
        .list_memory_stores(query.include_archived.unwrap_or(false))
        .await?
        .into_iter()
        .filter(|s| gte.is_none_or(|t| s.created_at >= t) && lte.is_none_or(|t| s.created_at <= t))
        .collect();
    stores.reverse();
    let page = page::paginate(
        stores,
        |s| format!("{}|{}", s.created_at, s.id),
        Order::Desc,
        query.page.as_deref(),
        limit,
    )?;
    Ok(axum::Json(page.map(MemoryStoreOut::from)))
}

/// Delete a memory store with all its memories and versions.
#[utoipa::path(delete, path = "/v1/memory_stores/{memory_store_id}", tag = "memory_stores",
    params(("memory_store_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404)))]
async fn delete(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<Deleted>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    state.store().delete_memory_store(&id).await?;
    Ok(axum::Json(Deleted {
        kind: "memory_store_deleted",
        id: id.to_string(),
    }))
}

/// Archive a memory store (one-way; it becomes read-only).
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/archive", tag = "memory_stores",
    params(("memory_store_id" = String, Path)),
    responses((status = 200, body = MemoryStoreOut), (status = 404)))]
async fn archive(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<MemoryStoreOut>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    Ok(axum::Json(
        state.store().archive_memory_store(&id).await?.into(),
    ))
}

/// Body of `POST /v1/memory_stores/{id}/restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// The store version whose state to restore (0 is the empty store).
    pub store_version: u64,
}

/// `dream`: make the store equal to its state at a store version, by writing new
/// versions (history is kept; a restore can be restored away). Emits
/// `memory_store.restored`.
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/restore", tag = "memory_stores",
    params(("memory_store_id" = String, Path)),
    request_body = RestoreBody,
    responses((status = 200, description = "What the restore wrote", body = Object), (status = 400), (status = 404), (status = 409)))]
async fn restore_store(
    State(state): State<AppState>,
    principal: Principal,
    Path(store_id): Path<String>,
    Json(body): Json<RestoreBody>,
) -> ApiResult<axum::Json<Value>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    let report = restore(state.store(), &id, body.store_version, &principal.actor()).await?;
    let changed = report.versions.len();
    let data = json!({
        "memory_store_id": report.store_id,
        "to_store_version": report.target_version,
        "from_store_version": report.from_version,
        "store_version": report.new_version,
        "changed": changed,
        "skipped_redacted": report.skipped_redacted,
        "restored_by": principal.actor(),
    });
    if changed > 0 {
        events::emit(&state, "memory_store.restored", data.clone()).await;
    }
    let mut out = data;
    out["type"] = json!("memory_store_restore");
    out["versions"] = json!(
        report
            .versions
            .into_iter()
            .map(|v| MemoryVersionOut::new(v, View::Basic))
            .collect::<Vec<_>>()
    );
    Ok(axum::Json(out))
}

/// Query of `GET /v1/memory_stores/{id}/diff`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct DiffQuery {
    /// The earlier store version.
    pub from: u64,
    /// The later store version (default: the current one).
    pub to: Option<u64>,
}

/// `dream`: per memory, what differs between two store versions, with unified diffs.
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/diff", tag = "memory_stores",
    params(("memory_store_id" = String, Path), DiffQuery),
    responses((status = 200, body = Object), (status = 400), (status = 404)))]
async fn diff(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Query(query): Query<DiffQuery>,
) -> ApiResult<axum::Json<Value>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    if query.to.is_some_and(|to| to < query.from) {
        return Err(ApiError::invalid(format!(
            "`from` ({}) must not be after `to` ({})",
            query.from,
            query.to.unwrap_or_default()
        )));
    }
    let diff = diff_store(state.store(), &id, query.from, query.to).await?;
    let mut out = json!(diff);
    out["type"] = json!("memory_store_diff");
    Ok(axum::Json(out))
}

/// `dream`: the store's dream gates (`min_support`, `significance`, …).
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/dream_config", tag = "memory_stores",
    params(("memory_store_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
async fn get_dream_config(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<DreamConfig>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    Ok(axum::Json(state.store().dream_config(&id).await?))
}

/// `dream`: set the store's dream gates (fields left out take their defaults).
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/dream_config", tag = "memory_stores",
    params(("memory_store_id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 400), (status = 404)))]
async fn set_dream_config(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Json(config): Json<DreamConfig>,
) -> ApiResult<axum::Json<DreamConfig>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    if config.min_support == 0 || !(0.0..=1.0).contains(&config.significance) {
        return Err(ApiError::invalid(
            "min_support must be at least 1 and significance between 0 and 1",
        ));
    }
    state.store().set_dream_config(&id, &config).await?;
    Ok(axum::Json(state.store().dream_config(&id).await?))
}
