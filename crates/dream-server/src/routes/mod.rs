//! HTTP handlers, one module per resource. Each module's `router()` registers its
//! handlers with their OpenAPI descriptions (`#[utoipa::path]`), so `/openapi.json`
//! lists exactly the routes that exist.

use axum::Json;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::error::{ApiError, ApiResult};

pub mod dreams;
pub mod memories;
pub mod memory_stores;
pub mod memory_versions;
pub mod outcomes;
pub mod proposals;
pub mod sessions;

/// The document's header; paths are added by the routers.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "dream",
        description = "Memory consolidation for AI agents. The memory store, memory, memory version, \
                       dream and session endpoints are wire-compatible with Anthropic's (official \
                       `anthropic` SDK 2.10.0, `client.beta.*`); the others are dream's extensions. \
                       Authenticate with `x-api-key`; errors are `{\"type\": \"error\", \"error\": \
                       {\"type\", \"message\", \"code\"}}`."
    ),
    components(schemas(crate::page::Page<Value>)),
    modifiers(&ApiKeyAuth)
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl utoipa::Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("x-api-key"))),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "api_key",
            Vec::<String>::new(),
        )]);
    }
}

/// `GET /health`: `{"status": "ok"}` once the store answers (no key needed). With a
/// valid key it adds `version`, `backend`, `sessions` (how many) and `auth`; without
/// one it says nothing more, so an unauthenticated caller learns only that the
/// server is up.
pub async fn health(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Json<Value>> {
    let sessions = state.store().count_sessions().await?;
    let key = match crate::auth::presented_secret(&headers) {
        Some(secret) => crate::auth::find_key(&state, &secret).await.ok(),
        None => None,
    };
    if key.is_none() {
        return Ok(Json(json!({"status": "ok"})));
    }
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "backend": state.store().backend(),
        "sessions": sessions,
        "auth": if state.open() { "open" } else { "api_key" },
    })))
}

/// A time filter value (`created_at[gte]=…`): RFC 3339.
pub(crate) fn parse_time(
    field: &str,
    value: &Option<String>,
) -> ApiResult<Option<dream_types::Timestamp>> {
    value
        .as_deref()
        .map(|text| {
            dream_types::Timestamp::parse(text).map_err(|_| {
                ApiError::invalid_with_code(
                    "invalid_timestamp",
                    format!("{field} must be an RFC 3339 time such as 2026-11-21T09:30:00Z, got {text:?}"),
                )
            })
        })
        .transpose()
}

/// `{"view": "basic"|"full"}` in a query string.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ViewQuery {
    /// `basic` (no content) or `full`.
    pub view: Option<crate::wire::View>,
}

/// Parses a path id (`memstore_…`), answering 404 for a malformed one, as for an
/// unknown one.
pub(crate) fn id<T: std::str::FromStr>(kind: &str, text: &str) -> ApiResult<T> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("{kind} {text} not found")))
}
