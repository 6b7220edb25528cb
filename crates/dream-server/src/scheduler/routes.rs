//! `/v1/dream_schedules`.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
