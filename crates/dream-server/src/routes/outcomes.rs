//! `dream`'s outcomes endpoints: a store's rubric and watch policy, per-session
//! metrics, before/after comparisons (JSON or the HTML report), regression checks,
//! and a watch pass on demand. The server also runs the watch on every scheduler tick
//! ([`watch_all`]), emitting `outcomes.regressed` (and `memory_store.restored` after
//! an automatic rollback).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use dream_engine::outcomes::groups::{compare_groups, report_data};
use dream_engine::outcomes::metrics::{self, is_builtin};
use dream_engine::outcomes::report::render_html;
use dream_engine::outcomes::watch::{WatchReport, watch_store};
use dream_engine::outcomes::{validate_config, validate_metric_name};
use dream_store::SessionRef;
use dream_types::{MemoryStoreId, MetricSource, OutcomesConfig, SessionId, SessionMetric};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::extract::{Json, Query};
use crate::routes::id;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_config, set_config))
        .routes(routes!(compare))
        .routes(routes!(regression_checks))
        .routes(routes!(watch))
        .routes(routes!(session_metrics, record_metric))
}

/// A store's outcomes configuration.
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/outcomes_config", tag = "outcomes",
    params(("memory_store_id" = String, Path)),
    responses((status = 200, description = "`{outcomes: [{name, description, signal}], policy: {watch, auto_rollback, min_sessions, metrics}, lower_is_better}`", body = Object), (status = 404)))]
async fn get_config(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<OutcomesConfig>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    Ok(axum::Json(state.store().outcomes_config(&id).await?))
}

/// Replace a store's outcomes configuration (fields left out take their defaults).
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/outcomes_config", tag = "outcomes",
    params(("memory_store_id" = String, Path)),
    request_body = Object,
    responses((status = 200, body = Object), (status = 400), (status = 404)))]
async fn set_config(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Json(config): Json<OutcomesConfig>,
) -> ApiResult<axum::Json<OutcomesConfig>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    validate_config(&config).map_err(|e| ApiError::invalid_with_code("invalid_config", e))?;
    state.store().set_outcomes_config(&id, &config).await?;
    Ok(axum::Json(state.store().outcomes_config(&id).await?))
}

/// Query of the comparison.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CompareQuery {
    /// The reference group: `v7`, `v3..v7`, `drm_…` (before it), `before:drm_…`,
    /// `after:drm_…`, or `2026-03-01..2026-04-01`.
    pub baseline: String,
    /// The group judged (`drm_…` means after it).
    pub candidate: String,
    /// Only these metrics, comma-separated.
    pub metrics: Option<String>,
    /// `json` (default) or `html` (the self-contained report).
    pub format: Option<String>,
}

/// Compare two groups of the store's sessions on every metric: n, mean or rate,
/// difference, 95% CI, verdict (`improved`, `regressed`, `no_change`,
/// `insufficient_data`).
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/outcomes/compare", tag = "outcomes",
    params(("memory_store_id" = String, Path), CompareQuery),
    responses((status = 200, description = "The comparison (JSON) or the HTML report", body = Object), (status = 400), (status = 404)))]
async fn compare(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
    Query(query): Query<CompareQuery>,
) -> ApiResult<Response> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    let only: Option<Vec<String>> = query.metrics.as_deref().map(|m| {
        m.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    let report = compare_groups(
        state.store(),
        &id,
        &query.baseline,
        &query.candidate,
        only.as_deref(),
    )
    .await?;
    match query.format.as_deref() {
        None | Some("json") => {
            let mut out = json!(report);
            out["type"] = json!("outcomes_comparison");
            Ok(axum::Json(out).into_response())
        }
        Some("html") => {
            let data = report_data(state.store(), &report, &state.now().to_rfc3339()).await?;
            Ok((
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                render_html(&data),
            )
                .into_response())
        }
        Some(other) => Err(ApiError::invalid(format!(
            "format must be json or html, got {other:?}"
        ))),
    }
}

/// What the regression watch concluded about each applied dream, newest first.
#[utoipa::path(get, path = "/v1/memory_stores/{memory_store_id}/regression_checks", tag = "outcomes",
    params(("memory_store_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
async fn regression_checks(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    state.store().get_memory_store(&id).await?;
    let checks = state.store().regression_checks(&id).await?;
    Ok(axum::Json(json!({"data": checks, "next_page": null})))
}

/// Run the regression watch on this store now (the server also runs it on every
/// scheduler tick).
#[utoipa::path(post, path = "/v1/memory_stores/{memory_store_id}/outcomes/watch", tag = "outcomes",
    params(("memory_store_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
async fn watch(
    State(state): State<AppState>,
    Path(store_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    let id: MemoryStoreId = id("memory store", &store_id)?;
    let report = {
        let _one_pass = WATCH_PASS.lock().await;
        watch_store(state.store(), &id, state.now()).await?
    };
    announce(&state, &report).await;
    let mut out = json!(report);
    out["type"] = json!("outcomes_watch");
    Ok(axum::Json(out))
}

/// Emits the events of a watch pass.
async fn announce(state: &AppState, report: &WatchReport) {
    for check in report.checks.iter().filter(|c| c.verdict == "regressed") {
        events::emit(state, "outcomes.regressed", json!({ "check": check })).await;
        if check.action == "rolled_back" {
            events::emit(
                state,
                "memory_store.restored",
                json!({
                    "memory_store_id": check.memory_store_id,
                    "to_store_version": check.restored_to_version,
                    "store_version": check.rollback_store_version,
                    "reason": check.comparison["reason"],
                    "restored_by": dream_engine::outcomes::watch::watch_actor(),
                }),
            )
            .await;
        }
    }
}

/// One watch pass at a time in this process: the background loop and
/// `POST …/outcomes/watch` judging the same dream together would both roll it back,
/// and the second restore fails on memories the first already changed. (Several
/// workers on one database need a claim in the store; that comes with scale-out.)
static WATCH_PASS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One watch pass over every active store whose policy watches; errors are logged.
pub async fn watch_all(state: &AppState) {
    let stores = match state.store().list_memory_stores(false).await {
        Ok(stores) => stores,
        Err(err) => {
            tracing::error!(error = %err, "outcomes watch: cannot list stores");
            return;
        }
    };
    for store in stores {
        let pass = {
            let _one_pass = WATCH_PASS.lock().await;
            watch_store(state.store(), &store.id, state.now()).await
        };
        match pass {
            Ok(report) => announce(state, &report).await,
            Err(err) => tracing::error!(store = %store.id, error = %err, "outcomes watch failed"),
        }
    }
}

/// Body of `POST /v1/sessions/{id}/metrics`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMetric {
    /// A custom metric name (snake_case, not a built-in name).
    pub name: String,
    /// Its value (finite).
    pub value: f64,
}

/// A session's metrics: the built-in ones (computed from the transcript) and custom ones.
#[utoipa::path(get, path = "/v1/sessions/{session_id}/metrics", tag = "outcomes",
    params(("session_id" = String, Path)),
    responses((status = 200, body = Object), (status = 404)))]
async fn session_metrics(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
) -> ApiResult<axum::Json<Value>> {
    metrics::refresh(state.store()).await?;
    let session = state
        .store()
        .get_session(&SessionRef::parse(&session_id))
        .await?;
    let values = state
        .store()
        .session_metrics(std::slice::from_ref(&session.id))
        .await?;
    Ok(axum::Json(json!({
        "type": "session_metrics",
        "session_id": session.id,
        "memory_version": session.memory_version,
        "data": values,
    })))
}

/// Record a custom metric of a session (replacing an earlier value of that name).
#[utoipa::path(post, path = "/v1/sessions/{session_id}/metrics", tag = "outcomes",
    params(("session_id" = String, Path)),
    request_body = RecordMetric,
    responses((status = 200, body = Object), (status = 400), (status = 404)))]
async fn record_metric(
    State(state): State<AppState>,
    Path(session_id): Path<String>,
    Json(body): Json<RecordMetric>,
) -> ApiResult<axum::Json<SessionMetric>> {
    validate_metric_name(&body.name).map_err(|e| ApiError::invalid_with_code("invalid_name", e))?;
    if is_builtin(&body.name) {
        return Err(ApiError::invalid_with_code(
            "invalid_name",
            format!(
                "{:?} is a built-in metric, computed from the transcript; record custom metrics under another name",
                body.name
            ),
        ));
    }
    if !body.value.is_finite() {
        return Err(ApiError::invalid("value must be a finite number"));
    }
    let sid: SessionId = id("session", &session_id)?;
    let metric = SessionMetric {
        session_id: sid,
        name: body.name,
        value: body.value,
        source: MetricSource::Custom,
        definition_version: 0,
        recorded_at: state.now(),
    };
    state.store().record_metric(&metric).await?;
    Ok(axum::Json(metric))
}

/// Starts the regression watch loop: [`watch_all`] every scheduler tick.
pub fn spawn_watch(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let tick = state
            .config()
            .scheduler_tick
            .max(std::time::Duration::from_millis(10));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            watch_all(&state).await;
        }
    })
}
