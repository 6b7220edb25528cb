//! `client.beta.sessions` (retrieve, list) and `client.beta.sessions.events.list` for
//! imported sessions, and `dream`'s `POST /v1/sessions/import`.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
