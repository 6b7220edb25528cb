//! `client.beta.dreams`: create, retrieve, list, cancel, archive. A created dream is
//! stored `pending` and answered at once; a background job runs it
//! ([`crate::runner`]). The `model` is `dream-local`, the deterministic engine; any
//! other model is a 400 naming what this server can run.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use dream_engine::dream::{DreamRequest, DreamStart, LOCAL_ENGINE, cancel_dream, start_dream};
use dream_store::DreamFilter;
use dream_types::{
    Dream, DreamId, DreamMode, DreamStatus, MemoryStoreId, OutputBehavior, Scope, SessionId,
    SessionWindow, Timestamp,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::page::{self, Page};
use crate::routes::{id, parse_time};
use crate::scheduler::routes::FiltersParam;
use crate::wire::{
    DreamInput, DreamOut, LOCAL_MODELS, MODEL_SPEEDS, ModelConfig, OutputBehaviorOut,
};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(retrieve))
        .routes(routes!(cancel))
        .routes(routes!(archive))
}

/// A model given as an id or as `{"id", "speed"}`. Read through [`serde_json::Value`]
/// so that a body matching neither shape says which shapes `model` takes (serde's
/// untagged enums only say "did not match any variant").
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged, try_from = "serde_json::Value")]
pub enum ModelParam {
    /// `"dream-local"`.
    Id(String),
    /// `{"id": "dream-local", "speed": "standard"}`.
    Config(ModelConfig),
}

/// Which sessions a dream reads when `inputs` has no `sessions` entry (`dream`'s
/// extension; Anthropic's API always takes explicit ids). Every kind takes the same
/// filters: `agents` (default: the store's pinned agents, else every agent),
/// `metadata` (pairs that must all match) and `include_undated` (default false:
/// sessions with no start time of their own are left out of a `since` window and
/// listed in the dream's `undated_session_ids`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WindowParam {
    /// The newest `count` top-level sessions.
    LastSessions {
        /// How many (≥ 1).
        count: u64,
        /// Only these agents.
        #[serde(default)]
        agents: Vec<String>,
        /// Only sessions with all these metadata pairs.
        #[serde(default)]
        metadata: BTreeMap<String, String>,
        /// Also read undated sessions.
        #[serde(default)]
        include_undated: bool,
    },
    /// Sessions started (by their own start time) in the last `seconds`.
    Since {
        /// Window length in seconds (≥ 1).
        seconds: u64,
        /// Only these agents.
        #[serde(default)]
        agents: Vec<String>,
        /// Only sessions with all these metadata pairs.
        #[serde(default)]
        metadata: BTreeMap<String, String>,
        /// Also read undated sessions (placed by ingest time).
        #[serde(default)]
        include_undated: bool,
    },
    /// Every session.
    All {
        /// Only these agents.
        #[serde(default)]
        agents: Vec<String>,
        /// Only sessions with all these metadata pairs.
        #[serde(default)]
        metadata: BTreeMap<String, String>,
        /// Also read undated sessions.
        #[serde(default)]
        include_undated: bool,
    },
}

impl WindowParam {
    /// Returns the window and its filters.
    fn split(self) -> (SessionWindow, FiltersParam) {
        let filters = |agents, metadata, include_undated| FiltersParam {
            agents,
            metadata,
            include_undated,
        };
        match self {
            WindowParam::LastSessions {
                count,
                agents,
                metadata,
                include_undated,
            } => (
                SessionWindow::Last { count },
                filters(agents, metadata, include_undated),
            ),
            WindowParam::Since {
                seconds,
                agents,
                metadata,
                include_undated,
            } => (
                SessionWindow::Since { seconds },
                filters(agents, metadata, include_undated),
            ),
            WindowParam::All {
                agents,
                metadata,
                include_undated,
            } => (
                SessionWindow::All,
                filters(agents, metadata, include_undated),
            ),
        }
    }
}

impl TryFrom<serde_json::Value> for ModelParam {
    type Error = String;

    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        const SHAPES: &str = "a model id such as \"dream-local\" or an object \
                              {\"id\": \"dream-local\", \"speed\": \"standard\"}";
        match value {
            serde_json::Value::String(id) => Ok(Self::Id(id)),
            serde_json::Value::Object(_) => serde_json::from_value(value)
                .map(Self::Config)
                .map_err(|err| format!("model must be {SHAPES}: {err}")),
            other => Err(format!("model must be {SHAPES}, got {}", json_kind(&other))),
        }
    }
}

/// `output_behavior` as the SDK sends it (an object), or a bare name. Read through
/// [`serde_json::Value`], as [`ModelParam`], to name the accepted shapes on error.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged, try_from = "serde_json::Value")]
pub enum OutputParam {
    /// `BetaOutputBehaviorParam`.
    Object(OutputBehaviorOut),
    /// `"create_new"` or `"update_existing"`.
    Name(String),
}

/// The shapes `output_behavior` takes, for error messages.
const OUTPUT_SHAPES: &str = "{\"type\": \"create_new\"} or {\"type\": \"update_existing\", \
                             \"memory_store_id\": \"memstore_…\"} (or the bare name \
                             \"create_new\" or \"update_existing\")";

impl TryFrom<serde_json::Value> for OutputParam {
    type Error = String;

    fn try_from(value: serde_json::Value) -> Result<Self, String> {
        match value {
            serde_json::Value::String(name) => Ok(Self::Name(name)),
            serde_json::Value::Object(_) => serde_json::from_value(value)
                .map(Self::Object)
                .map_err(|err| format!("output_behavior must be {OUTPUT_SHAPES}: {err}")),
            other => Err(format!(
                "output_behavior must be {OUTPUT_SHAPES}, got {}",
                json_kind(&other)
            )),
        }
    }
}

/// `a number`, `an array`, … for error messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Body of `POST /v1/dreams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDream {
    /// Exactly one `memory_store` entry and one `sessions` entry (1–100 ids).
    pub inputs: Vec<DreamInput>,
    /// `dream-local` (or `{"id": "dream-local"}`).
    pub model: ModelParam,
    /// Guidance, 1–4,096 characters (recorded; the local engine does not read it).
    #[serde(default)]
    pub instructions: Option<String>,
    /// `{"type": "create_new"}` (default) or `{"type": "update_existing",
    /// "memory_store_id": <the input store>}` (the bare names are accepted too).
    #[serde(default)]
    pub output_behavior: Option<OutputParam>,
    /// `dream`: `review` (default: nothing changes until a person approves) or `auto`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `dream`: distinct sessions a pattern needs (default: the store's setting, 3).
    #[serde(default)]
    pub min_support: Option<u64>,
    /// `dream`: the sessions to read when `inputs` has no `sessions` entry.
    #[serde(default)]
    pub window: Option<WindowParam>,
    /// `dream`: mark the store's older pending proposals `superseded` by this dream's
    /// proposal once it is stored (they can no longer be approved). Default false.
    #[serde(default)]
    pub supersede_pending: bool,
}

/// Query of `GET /v1/dreams`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListDreams {
    /// Only these statuses (`statuses[]=running&statuses[]=pending`).
    #[serde(default, rename = "statuses[]", alias = "statuses")]
    #[param(rename = "statuses[]")]
    pub statuses: Vec<String>,
    /// Created strictly after (RFC 3339).
    #[serde(rename = "created_at[gt]")]
    #[param(rename = "created_at[gt]")]
    pub created_gt: Option<String>,
    /// Created strictly before (RFC 3339).
    #[serde(rename = "created_at[lt]")]
    #[param(rename = "created_at[lt]")]
    pub created_lt: Option<String>,
    /// Include archived dreams (default false).
    pub include_archived: Option<bool>,
    /// `dream`: only dreams reading this store.
    pub memory_store_id: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

/// Turns an API request into an engine request.
pub(crate) fn dream_request(body: CreateDream) -> ApiResult<DreamRequest> {
    let model = match body.model {
        ModelParam::Id(id) => ModelConfig { id, speed: None },
        ModelParam::Config(config) => config,
    };
    if !LOCAL_MODELS.contains(&model.id.as_str()) {
        return Err(ApiError::invalid_with_code(
            "model_not_available",
            format!(
                "model {:?} cannot run on this server: it runs `dream-local`, the deterministic \
                 engine that needs no LLM; pass \"model\": \"dream-local\"",
                model.id
            ),
        ));
    }
    if let Some(speed) = model.speed.as_deref()
        && !MODEL_SPEEDS.contains(&speed)
    {
        return Err(ApiError::invalid_with_code(
            "invalid_model_speed",
            format!(
                "model.speed must be one of: {}; got {speed:?} (or leave speed out)",
                MODEL_SPEEDS.map(|s| format!("{s:?}")).join(", ")
            ),
        ));
    }
    let mut store: Option<String> = None;
    let mut sessions: Option<Vec<String>> = None;
    for input in body.inputs {
        match input {
            DreamInput::MemoryStore { memory_store_id } if store.is_none() => {
                store = Some(memory_store_id);
            }
            DreamInput::Sessions { session_ids } if sessions.is_none() => {
                sessions = Some(session_ids);
            }
            DreamInput::MemoryStore { .. } | DreamInput::Sessions { .. } => {
                return Err(ApiError::invalid(
                    "inputs takes exactly one memory_store entry and one sessions entry",
                ));
            }
        }
    }
    let store = store.ok_or_else(|| {
        ApiError::invalid("inputs needs a memory_store entry: {\"type\": \"memory_store\", \"memory_store_id\": \"memstore_…\"}")
    })?;
    let memory_store_id: MemoryStoreId = store.parse().map_err(|_| {
        ApiError::invalid(format!("{store:?} is not a memory store id (memstore_…)"))
    })?;
    let mut filters = FiltersParam::default();
    let window = match (sessions, body.window.map(WindowParam::split)) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "give the sessions either as a sessions input or as `window`, not both",
            ));
        }
        (Some(ids), None) => SessionWindow::Explicit {
            session_ids: ids
                .iter()
                .map(|s| {
                    s.parse::<SessionId>().map_err(|_| {
                        ApiError::invalid(format!("{s:?} is not a session id (sesn_…)"))
                    })
                })
                .collect::<ApiResult<_>>()?,
        },
        (None, Some((window, given)))
            if !matches!(
                window,
                SessionWindow::Last { count: 0 } | SessionWindow::Since { seconds: 0 }
            ) =>
        {
            filters = given;
            window
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "window count and seconds must be at least 1",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "inputs needs a sessions entry: {\"type\": \"sessions\", \"session_ids\": [\"sesn_…\"]} (1 to 100 ids)",
            ));
        }
    };
    let output_behavior = match body.output_behavior {
        None | Some(OutputParam::Object(OutputBehaviorOut::CreateNew)) => OutputBehavior::CreateNew,
        Some(OutputParam::Object(OutputBehaviorOut::UpdateExisting {
            memory_store_id: target,
        })) => {
            if target != memory_store_id.as_str() {
                return Err(ApiError::invalid(format!(
                    "output_behavior.memory_store_id must be the input memory store {memory_store_id}, got {target}"
                )));
            }
            OutputBehavior::UpdateExisting
        }
        Some(OutputParam::Name(name)) => match name.as_str() {
            "create_new" => OutputBehavior::CreateNew,
            "update_existing" => OutputBehavior::UpdateExisting,
            other => {
                return Err(ApiError::invalid_with_code(
                    "invalid_output_behavior",
                    format!("output_behavior must be {OUTPUT_SHAPES}, got {other:?}"),
                ));
            }
        },
    };
    let mode = match body.mode.as_deref() {
        None | Some("review") => DreamMode::Review,
        Some("auto") => DreamMode::Auto,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "mode must be review or auto, got {other:?}"
            )));
        }
    };
    Ok(DreamRequest {
        memory_store_id,
        window,
        min_new_sessions: None,
        engine: LOCAL_ENGINE.to_owned(),
        instructions: body.instructions,
        output_behavior,
        mode,
        config: None,
        min_support: body.min_support,
        filters: filters.checked()?,
        supersede_pending: body.supersede_pending,
    })
}

/// Create a dream: stored `pending`, run in the background. Poll it until
/// `completed`, `failed` or `canceled`.
#[utoipa::path(post, path = "/v1/dreams", tag = "dreams",
    request_body = CreateDream,
    responses((status = 200, body = DreamOut), (status = 400), (status = 404)))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateDream>,
) -> ApiResult<axum::Json<DreamOut>> {
    let request = dream_request(body)?;
    if request.output_behavior == OutputBehavior::UpdateExisting {
        // Anthropic's rules for `update_existing` (SDK `BetaOutputBehaviorUpdateExisting`):
        // the key must be allowed to write memory, and one such dream per store at a time.
        if !principal.allows(Scope::MemoryWrite) {
            return Err(ApiError::forbidden(
                "output_behavior update_existing writes the input memory store: the key needs the `memory:write` scope",
            ));
        }
        let busy = state
            .store()
            .list_dreams(&DreamFilter {
                memory_store_id: Some(request.memory_store_id.clone()),
                statuses: vec![DreamStatus::Pending, DreamStatus::Running],
                include_archived: true,
                ..DreamFilter::default()
            })
            .await?
            .into_iter()
            .find(|d| d.output_behavior == OutputBehavior::UpdateExisting);
        if let Some(busy) = busy {
            return Err(ApiError::conflict(format!(
                "dream {} is still {} with update_existing on {}; wait for it or cancel it",
                busy.id, busy.status, request.memory_store_id
            )));
        }
    }
    match start_dream(state.store(), &request, state.clock()).await? {
        DreamStart::Pending(dream) => {
            state.runner().spawn(state.clone(), dream.id.clone());
            Ok(axum::Json(DreamOut::new(*dream)))
        }
        DreamStart::Skipped(skip) => Err(ApiError::invalid(skip.reason)),
    }
}

async fn get(state: &AppState, raw: &str) -> ApiResult<Dream> {
    let id: DreamId = id("dream", raw)?;
    Ok(state.store().get_dream(&id).await?)
}

/// Retrieve a dream.
#[utoipa::path(get, path = "/v1/dreams/{dream_id}", tag = "dreams",
    params(("dream_id" = String, Path, description = "`drm_…`")),
    responses((status = 200, body = DreamOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path(dream_id): Path<String>,
) -> ApiResult<axum::Json<DreamOut>> {
    Ok(axum::Json(DreamOut::new(get(&state, &dream_id).await?)))
}

/// List dreams, newest first.
#[utoipa::path(get, path = "/v1/dreams", tag = "dreams",
    params(ListDreams),
    responses((status = 200, body = Page<DreamOut>), (status = 400)))]
async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListDreams>,
) -> ApiResult<axum::Json<Page<DreamOut>>> {
    let limit = page::limit(query.limit)?;
    let statuses = query
        .statuses
        .iter()
        .map(|name| {
            DreamStatus::from_name(name).ok_or_else(|| {
                ApiError::invalid(format!(
                    "unknown status {name:?}; statuses are pending, running, completed, failed, canceled"
                ))
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let after_key = query
        .page
        .as_deref()
        .map(|cursor| {
            let key = page::decode(cursor)?;
            key.split_once('|')
                .and_then(|(at, id)| {
                    Some((Timestamp::parse(at).ok()?, id.parse::<DreamId>().ok()?))
                })
                .ok_or_else(|| {
                    ApiError::invalid_with_code(
                        "invalid_page",
                        "page is not a cursor from this list",
                    )
                })
        })
        .transpose()?;
    let dreams = state
        .store()
        .list_dreams(&DreamFilter {
            memory_store_id: query
                .memory_store_id
                .as_deref()
                .map(|s| id("memory store", s))
                .transpose()?,
            statuses,
            include_archived: query.include_archived.unwrap_or(false),
            created_after: parse_time("created_at[gt]", &query.created_gt)?,
            created_before: parse_time("created_at[lt]", &query.created_lt)?,
            after_key,
            limit: Some(limit as u64 + 1),
        })
        .await?;
    let page = page::from_fetched(dreams, limit, |d| format!("{}|{}", d.created_at, d.id));
    Ok(axum::Json(page.map(DreamOut::new)))
}

/// Cancel a `pending` or `running` dream (a `canceled` one is returned unchanged; a
/// `completed` or `failed` one is a 400).
#[utoipa::path(post, path = "/v1/dreams/{dream_id}/cancel", tag = "dreams",
    params(("dream_id" = String, Path)),
    responses((status = 200, body = DreamOut), (status = 400), (status = 404)))]
async fn cancel(
    State(state): State<AppState>,
    Path(dream_id): Path<String>,
) -> ApiResult<axum::Json<DreamOut>> {
    let dream = get(&state, &dream_id).await?;
    if matches!(dream.status, DreamStatus::Completed | DreamStatus::Failed) {
        return Err(ApiError::invalid(format!(
            "dream {} is {}; only pending or running dreams can be canceled",
            dream.id, dream.status
        )));
    }
    let dream = cancel_dream(state.store(), &dream.id, state.clock()).await?;
    Ok(axum::Json(DreamOut::new(dream)))
}

/// Archive a finished dream: hidden from the default list, still retrievable
/// (archiving twice returns it unchanged; a `pending` or `running` one is a 400).
#[utoipa::path(post, path = "/v1/dreams/{dream_id}/archive", tag = "dreams",
    params(("dream_id" = String, Path)),
    responses((status = 200, body = DreamOut), (status = 400), (status = 404)))]
async fn archive(
    State(state): State<AppState>,
    Path(dream_id): Path<String>,
) -> ApiResult<axum::Json<DreamOut>> {
    let mut dream = get(&state, &dream_id).await?;
    if !dream.status.is_final() {
        return Err(ApiError::invalid(format!(
            "dream {} is {}; cancel it first, then archive it",
            dream.id, dream.status
        )));
    }
    if dream.archived_at.is_none() {
        dream.archived_at = Some(state.now());
        dream = state.store().update_dream(&dream).await?;
    }
    Ok(axum::Json(DreamOut::new(dream)))
}
