//! `/v1/dream_schedules` (`dream`'s extension): create, list, retrieve, update and
//! delete dream schedules, and list a schedule's runs (one per slot).
//!
//! Reading needs the `dreams:read` scope, everything else `dreams:write`.

use axum::extract::{Path, State};
use dream_store::NewSchedule;
use dream_types::{
    DreamMode, DreamSchedule, MemoryStoreId, OutputBehavior, ScheduleId, ScheduleRun,
    ScheduleWindow, Timestamp, WindowFilters,
};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::page::{self, Order, Page};
use crate::routes::id;
use crate::scheduler::timetable::{DEFAULT_TIMEZONE, Timetable, TimetableError};
use crate::wire::Deleted;

/// Window of a schedule whose interval cannot be measured (fewer than two slots
/// follow): one day, in seconds.
const FALLBACK_WINDOW_SECS: u64 = 86_400;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(retrieve, update, delete))
        .routes(routes!(runs))
}

/// Which sessions each scheduled dream reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScheduleWindowParam {
    /// The newest `count` top-level sessions.
    LastSessions {
        /// How many (≥ 1).
        count: u64,
    },
    /// Top-level sessions started in the `seconds` before the dream starts.
    Since {
        /// Window length in seconds (≥ 1).
        seconds: u64,
    },
    /// Every top-level session.
    All,
}

impl ScheduleWindowParam {
    fn checked(self) -> ApiResult<ScheduleWindow> {
        match self {
            ScheduleWindowParam::LastSessions { count: 0 }
            | ScheduleWindowParam::Since { seconds: 0 } => Err(ApiError::invalid_with_code(
                "invalid_window",
                "window count and seconds must be at least 1; for every session use {\"type\": \"all\"}",
            )),
            ScheduleWindowParam::LastSessions { count } => Ok(ScheduleWindow {
                last_sessions: Some(count),
                since_seconds: None,
            }),
            ScheduleWindowParam::Since { seconds } => Ok(ScheduleWindow {
                last_sessions: None,
                since_seconds: Some(seconds),
            }),
            ScheduleWindowParam::All => Ok(ScheduleWindow::default()),
        }
    }
}

impl From<ScheduleWindow> for ScheduleWindowParam {
    fn from(window: ScheduleWindow) -> Self {
        match (window.last_sessions, window.since_seconds) {
            (Some(count), _) => ScheduleWindowParam::LastSessions { count },
            (None, Some(seconds)) => ScheduleWindowParam::Since { seconds },
            (None, None) => ScheduleWindowParam::All,
        }
    }
}

/// Filters on the sessions a dream reads (`dream`'s extension): the same fields as a
/// dream's `window` takes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FiltersParam {
    /// Only sessions of these agents. Empty (default): the store's pinned agents
    /// (`dream_config.agents`), or every agent.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Only sessions whose metadata has every one of these pairs.
    #[serde(default)]
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Also read sessions with no start time of their own (a `since` window goes by
    /// each session's own start time). Default false.
    #[serde(default)]
    pub include_undated: bool,
}

impl FiltersParam {
    /// Checks the filters and returns them as the engine takes them.
    ///
    /// # Errors
    /// `invalid_request_error` for an empty agent name or metadata key.
    pub fn checked(self) -> ApiResult<WindowFilters> {
        if self.agents.iter().any(|a| a.trim().is_empty()) {
            return Err(ApiError::invalid("agents must be non-empty agent names"));
        }
        if self.metadata.keys().any(|k| k.trim().is_empty()) {
            return Err(ApiError::invalid("metadata keys must be non-empty"));
        }
        Ok(WindowFilters {
            agents: self.agents,
            metadata: self.metadata,
            include_undated: self.include_undated,
        })
    }
}

impl From<WindowFilters> for FiltersParam {
    fn from(f: WindowFilters) -> Self {
        Self {
            agents: f.agents,
            metadata: f.metadata,
            include_undated: f.include_undated,
        }
    }
}

/// Body of `POST /v1/dream_schedules`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSchedule {
    /// The store to dream on (`memstore_…`; must exist and not be archived).
    pub memory_store_id: String,
    /// When: a 5-field cron expression (`minute hour day-of-month month day-of-week`,
    /// Vixie cron syntax plus croner's `L`, `W` and `#`), or a shorthand: `nightly`
    /// (`0 3 * * *`, every day at 03:00), `weekly` (`0 3 * * 0`, Sundays at 03:00) or
    /// `monthly` (`0 3 1 * *`, the 1st at 03:00). Also accepted as `cron`.
    #[serde(alias = "cron")]
    pub schedule: String,
    /// IANA time zone the expression is read in. Default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Which sessions each dream reads. Default: `{"type": "since", "seconds": P}`
    /// where P is the longest interval between consecutive slots (86,400 for
    /// `nightly`, 604,800 for `weekly`, 2,678,400 for `monthly`), so each dream reads
    /// what arrived since the previous one.
    #[serde(default)]
    pub window: Option<ScheduleWindowParam>,
    /// `dream`: filters on the window's sessions (agents, metadata, undated sessions).
    /// Default: none (the store's pinned agents still apply).
    #[serde(default)]
    pub filters: Option<FiltersParam>,
    /// Skip a slot (recording why) when fewer top-level sessions were imported since
    /// the store's last completed dream (≥ 1). Default: never skip.
    #[serde(default)]
    pub min_new_sessions: Option<u64>,
    /// `review` (default: nothing changes until a person approves) or `auto`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `update_existing` (default: proposals against the store itself, what a recurring
    /// dream is for) or `create_new` (a new store per dream).
    #[serde(default)]
    pub output_behavior: Option<String>,
    /// Distinct sessions a pattern needs (≥ 1). Default: the store's setting.
    #[serde(default)]
    pub min_support: Option<u64>,
    /// Whether slots run. Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Body of `POST /v1/dream_schedules/{schedule_id}`: fields left out keep their values;
/// `null` clears `min_new_sessions` and `min_support`. Any change counts as a new start:
/// slots before it never run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSchedule {
    /// A new cron expression or shorthand (see create). A window left at the default of
    /// the old expression follows the new one unless `window` is given.
    #[serde(default, alias = "cron")]
    pub schedule: Option<String>,
    /// A new IANA time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// A new window.
    #[serde(default)]
    pub window: Option<ScheduleWindowParam>,
    /// New filters (replace the old ones; `{}` clears them).
    #[serde(default)]
    pub filters: Option<FiltersParam>,
    /// A new threshold (≥ 1), or `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    pub min_new_sessions: Option<Option<u64>>,
    /// `review` or `auto`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `update_existing` or `create_new`.
    #[serde(default)]
    pub output_behavior: Option<String>,
    /// A new `min_support` (≥ 1), or `null` for the store's setting.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    pub min_support: Option<Option<u64>>,
    /// Pause (`false`) or resume (`true`). Resuming does not run slots missed while
    /// paused.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Tells a field given as `null` (`Some(None)`) from a field left out (`None`).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Query of `GET /v1/dream_schedules`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListSchedules {
    /// Only schedules of this store.
    pub memory_store_id: Option<String>,
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

/// Query of `GET /v1/dream_schedules/{schedule_id}/runs`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListRuns {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

/// A dream schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleOut {
    /// `"dream_schedule"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `dsch_…`.
    pub id: String,
    /// The store it dreams on.
    pub memory_store_id: String,
    /// The 5-field cron expression, shorthands expanded (`nightly` → `0 3 * * *`).
    pub cron: String,
    /// The IANA time zone it is read in.
    pub timezone: String,
    /// Which sessions each dream reads.
    pub window: ScheduleWindowParam,
    /// Filters on those sessions.
    pub filters: FiltersParam,
    /// Slots are skipped when fewer sessions arrived since the last dream; or null.
    pub min_new_sessions: Option<u64>,
    /// `review` or `auto`.
    pub mode: &'static str,
    /// `update_existing` or `create_new`.
    pub output_behavior: &'static str,
    /// `min_support` override, or null for the store's setting.
    pub min_support: Option<u64>,
    /// Whether slots run.
    pub enabled: bool,
    /// The next slot (RFC 3339, UTC); null when paused or when the expression matches
    /// no later time.
    #[schema(value_type = Option<String>)]
    pub next_run_at: Option<Timestamp>,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// RFC 3339: the last change. Slots before it never run.
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

impl ScheduleOut {
    /// Shapes a stored schedule, with its next slot after `now`.
    pub fn new(schedule: DreamSchedule, now: Timestamp) -> Self {
        let next_run_at = if schedule.enabled {
            Timetable::parse(&schedule.cron, &schedule.timezone)
                .ok()
                .and_then(|t| t.next_after(now))
        } else {
            None
        };
        Self {
            kind: "dream_schedule",
            id: schedule.id.to_string(),
            memory_store_id: schedule.memory_store_id.to_string(),
            cron: schedule.cron,
            timezone: schedule.timezone,
            window: schedule.window.into(),
            filters: schedule.filters.into(),
            min_new_sessions: schedule.min_new_sessions,
            mode: match schedule.mode {
                DreamMode::Review => "review",
                DreamMode::Auto => "auto",
            },
            output_behavior: match schedule.output_behavior {
                OutputBehavior::CreateNew => "create_new",
                OutputBehavior::UpdateExisting => "update_existing",
            },
            min_support: schedule.min_support,
            enabled: schedule.enabled,
            next_run_at,
            created_at: schedule.created_at,
            updated_at: schedule.updated_at,
        }
    }
}

/// One slot of a schedule and what happened at it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleRunOut {
    /// `"dream_schedule_run"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The schedule.
    pub schedule_id: String,
    /// The slot's time (RFC 3339, UTC).
    #[schema(value_type = String)]
    pub slot: Timestamp,
    /// When a server claimed the slot (RFC 3339).
    #[schema(value_type = String)]
    pub claimed_at: Timestamp,
    /// `started` (a dream was created: `dream_id`), `skipped` (`skipped_reason` says
    /// why) or `claimed` (the server stopped before recording an outcome).
    pub status: &'static str,
    /// The dream it started, or null.
    pub dream_id: Option<String>,
    /// Why no dream started, or null: the engine's sentence when `min_new_sessions`
    /// was not met, `error: …` when the engine refused.
    pub skipped_reason: Option<String>,
}

impl From<ScheduleRun> for ScheduleRunOut {
    fn from(run: ScheduleRun) -> Self {
        let status = match (&run.dream_id, &run.skipped_reason) {
            (Some(_), _) => "started",
            (None, Some(_)) => "skipped",
            (None, None) => "claimed",
        };
        Self {
            kind: "dream_schedule_run",
            schedule_id: run.schedule_id.to_string(),
            slot: run.slot,
            claimed_at: run.claimed_at,
            status,
            dream_id: run.dream_id.map(|d| d.to_string()),
            skipped_reason: run.skipped_reason,
        }
    }
}

fn timetable_error(err: TimetableError) -> ApiError {
    ApiError::invalid_with_code(err.code(), err.to_string())
}

fn parse_mode(value: &str) -> ApiResult<DreamMode> {
    match value {
        "review" => Ok(DreamMode::Review),
        "auto" => Ok(DreamMode::Auto),
        other => Err(ApiError::invalid(format!(
            "mode must be review or auto, got {other:?}"
        ))),
    }
}

fn parse_output_behavior(value: &str) -> ApiResult<OutputBehavior> {
    match value {
        "update_existing" => Ok(OutputBehavior::UpdateExisting),
        "create_new" => Ok(OutputBehavior::CreateNew),
        other => Err(ApiError::invalid(format!(
            "output_behavior must be update_existing or create_new, got {other:?}"
        ))),
    }
}

fn at_least_one(field: &str, value: Option<u64>) -> ApiResult<Option<u64>> {
    match value {
        Some(0) => Err(ApiError::invalid(format!(
            "{field} must be at least 1; leave it out (or null) for none"
        ))),
        other => Ok(other),
    }
}

/// The window a schedule gets when none is given: the longest interval between its
/// slots.
fn default_window(timetable: &Timetable, now: Timestamp) -> ScheduleWindow {
    ScheduleWindow {
        last_sessions: None,
        since_seconds: Some(
            timetable
                .longest_interval_secs(now)
                .unwrap_or(FALLBACK_WINDOW_SECS),
        ),
    }
}

async fn get(state: &AppState, raw: &str) -> ApiResult<DreamSchedule> {
    let id: ScheduleId = id("dream schedule", raw)?;
    Ok(state.store().get_schedule(&id).await?)
}

/// Create a dream schedule: a dream on the store at every slot of a cron expression.
#[utoipa::path(post, path = "/v1/dream_schedules", tag = "dream_schedules",
    request_body = CreateSchedule,
    responses((status = 200, body = ScheduleOut),
        (status = 400, description = "`invalid_cron`, `invalid_timezone`, `invalid_window`, `store_archived`, …"),
        (status = 404, description = "Unknown memory store")))]
async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateSchedule>,
) -> ApiResult<axum::Json<ScheduleOut>> {
    let now = state.now();
    let memory_store_id: MemoryStoreId = body.memory_store_id.parse().map_err(|_| {
        ApiError::invalid(format!(
            "{:?} is not a memory store id (memstore_…)",
            body.memory_store_id
        ))
    })?;
    let timetable = Timetable::parse_at(
        &body.schedule,
        body.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE),
        now,
    )
    .map_err(timetable_error)?;
    let window = match body.window {
        Some(window) => window.checked()?,
        None => default_window(&timetable, now),
    };
    let store = state.store().get_memory_store(&memory_store_id).await?;
    if store.archived_at.is_some() {
        return Err(ApiError::invalid_with_code(
            "store_archived",
            format!(
                "memory store {} is archived; schedules dream on active stores only",
                store.id
            ),
        ));
    }
    let schedule = state
        .store()
        .create_schedule(NewSchedule {
            memory_store_id,
            cron: timetable.expression().to_owned(),
            timezone: timetable.timezone().to_owned(),
            window,
            filters: body.filters.unwrap_or_default().checked()?,
            min_new_sessions: at_least_one("min_new_sessions", body.min_new_sessions)?,
            mode: body
                .mode
                .as_deref()
                .map(parse_mode)
                .transpose()?
                .unwrap_or(DreamMode::Review),
            output_behavior: body
                .output_behavior
                .as_deref()
                .map(parse_output_behavior)
                .transpose()?
                .unwrap_or(OutputBehavior::UpdateExisting),
            min_support: at_least_one("min_support", body.min_support)?,
            enabled: body.enabled.unwrap_or(true),
        })
        .await?;
    tracing::info!(schedule = %schedule.id, cron = %schedule.cron, timezone = %schedule.timezone, "dream schedule created");
    Ok(axum::Json(ScheduleOut::new(schedule, now)))
}

/// Retrieve a dream schedule.
#[utoipa::path(get, path = "/v1/dream_schedules/{schedule_id}", tag = "dream_schedules",
    params(("schedule_id" = String, Path, description = "`dsch_…`")),
    responses((status = 200, body = ScheduleOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path(schedule_id): Path<String>,
) -> ApiResult<axum::Json<ScheduleOut>> {
    let schedule = get(&state, &schedule_id).await?;
    Ok(axum::Json(ScheduleOut::new(schedule, state.now())))
}

/// Update a dream schedule (fields left out keep their values).
#[utoipa::path(post, path = "/v1/dream_schedules/{schedule_id}", tag = "dream_schedules",
    params(("schedule_id" = String, Path)),
    request_body = UpdateSchedule,
    responses((status = 200, body = ScheduleOut), (status = 400), (status = 404)))]
async fn update(
    State(state): State<AppState>,
    Path(schedule_id): Path<String>,
    Json(body): Json<UpdateSchedule>,
) -> ApiResult<axum::Json<ScheduleOut>> {
    let now = state.now();
    let old = get(&state, &schedule_id).await?;
    let old_timetable = Timetable::parse(&old.cron, &old.timezone).ok();
    let timetable = Timetable::parse_at(
        body.schedule.as_deref().unwrap_or(&old.cron),
        body.timezone.as_deref().unwrap_or(&old.timezone),
        now,
    )
    .map_err(timetable_error)?;
    let window = match body.window {
        Some(window) => window.checked()?,
        None if old_timetable
            .as_ref()
            .is_some_and(|t| default_window(t, now) == old.window) =>
        {
            default_window(&timetable, now)
        }
        None => old.window,
    };
    let new = NewSchedule {
        memory_store_id: old.memory_store_id.clone(),
        cron: timetable.expression().to_owned(),
        timezone: timetable.timezone().to_owned(),
        window,
        filters: match body.filters {
            Some(filters) => filters.checked()?,
            None => old.filters.clone(),
        },
        min_new_sessions: match body.min_new_sessions {
            Some(value) => at_least_one("min_new_sessions", value)?,
            None => old.min_new_sessions,
        },
        mode: match body.mode.as_deref() {
            Some(mode) => parse_mode(mode)?,
            None => old.mode,
        },
        output_behavior: match body.output_behavior.as_deref() {
            Some(output) => parse_output_behavior(output)?,
            None => old.output_behavior,
        },
        min_support: match body.min_support {
            Some(value) => at_least_one("min_support", value)?,
            None => old.min_support,
        },
        enabled: body.enabled.unwrap_or(old.enabled),
    };
    let schedule = state.store().update_schedule(&old.id, new).await?;
    Ok(axum::Json(ScheduleOut::new(schedule, now)))
}

/// List dream schedules, newest first.
#[utoipa::path(get, path = "/v1/dream_schedules", tag = "dream_schedules",
    params(ListSchedules),
    responses((status = 200, body = Page<ScheduleOut>), (status = 400)))]
async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListSchedules>,
) -> ApiResult<axum::Json<Page<ScheduleOut>>> {
    let limit = page::limit(query.limit)?;
    let store_id: Option<MemoryStoreId> = query
        .memory_store_id
        .as_deref()
        .map(|raw| {
            raw.parse().map_err(|_| {
                ApiError::invalid(format!("{raw:?} is not a memory store id (memstore_…)"))
            })
        })
        .transpose()?;
    let mut schedules: Vec<DreamSchedule> = state
        .store()
        .list_schedules()
        .await?
        .into_iter()
        .filter(|s| store_id.as_ref().is_none_or(|id| &s.memory_store_id == id))
        .collect();
    schedules.reverse();
    let page = page::paginate(
        schedules,
        |s| format!("{}|{}", s.created_at, s.id),
        Order::Desc,
        query.page.as_deref(),
        limit,
    )?;
    let now = state.now();
    Ok(axum::Json(page.map(|s| ScheduleOut::new(s, now))))
}

/// Delete a dream schedule and its run log (the dreams it started stay).
#[utoipa::path(delete, path = "/v1/dream_schedules/{schedule_id}", tag = "dream_schedules",
    params(("schedule_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404)))]
async fn delete(
    State(state): State<AppState>,
    Path(schedule_id): Path<String>,
) -> ApiResult<axum::Json<Deleted>> {
    let id: ScheduleId = id("dream schedule", &schedule_id)?;
    state.store().delete_schedule(&id).await?;
    Ok(axum::Json(Deleted {
        kind: "dream_schedule_deleted",
        id: id.to_string(),
    }))
}

/// List a schedule's runs, newest slot first: one per slot that came due, with the
/// dream it started or why none did.
#[utoipa::path(get, path = "/v1/dream_schedules/{schedule_id}/runs", tag = "dream_schedules",
    params(("schedule_id" = String, Path), ListRuns),
    responses((status = 200, body = Page<ScheduleRunOut>), (status = 400), (status = 404)))]
async fn runs(
    State(state): State<AppState>,
    Path(schedule_id): Path<String>,
    Query(query): Query<ListRuns>,
) -> ApiResult<axum::Json<Page<ScheduleRunOut>>> {
    let limit = page::limit(query.limit)?;
    let schedule = get(&state, &schedule_id).await?;
    // The store pages by count only: the first page needs `limit + 1` runs, a later
    // one every run up to its cursor.
    let fetch = if query.page.is_some() {
        u64::MAX
    } else {
        limit as u64 + 1
    };
    let runs = state.store().schedule_runs(&schedule.id, fetch).await?;
    let page = page::paginate(
        runs,
        |run| run.slot.to_rfc3339(),
        Order::Desc,
        query.page.as_deref(),
        limit,
    )?;
    Ok(axum::Json(page.map(ScheduleRunOut::from)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_lists_every_schedule_route() {
        let (_, openapi) = crate::app::api().split_for_parts();
        let paths = &openapi.paths.paths;
        for (path, methods) in [
            ("/v1/dream_schedules", 2),
            ("/v1/dream_schedules/{schedule_id}", 3),
            ("/v1/dream_schedules/{schedule_id}/runs", 1),
        ] {
            let item = paths.get(path).unwrap_or_else(|| panic!("{path} missing"));
            let documented = [&item.get, &item.post, &item.delete]
                .iter()
                .filter(|op| op.is_some())
                .count();
            assert_eq!(documented, methods, "{path}");
        }
    }

    #[test]
    fn windows_round_trip_through_the_store_shape() {
        for param in [
            ScheduleWindowParam::LastSessions { count: 10 },
            ScheduleWindowParam::Since { seconds: 3_600 },
            ScheduleWindowParam::All,
        ] {
            let stored = param.checked().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(ScheduleWindowParam::from(stored), param);
        }
        let zero = ScheduleWindowParam::Since { seconds: 0 }.checked();
        assert_eq!(zero.unwrap_err().code.as_deref(), Some("invalid_window"));
    }
}
