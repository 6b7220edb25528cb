//! The router and the server's life: bind, start the background workers (dream jobs,
//! scheduler, webhook deliveries), serve until shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use dream_store::Store;
use dream_types::Clock;
use rand::RngCore as _;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::routes;
use crate::state::{AppState, ServerConfig};

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No API key exists and the address is not loopback.
    #[error(
        "refusing to listen on {addr} without API keys: anyone who can reach it could read \
         and change memory. Create a key first (`dream keys create --name admin --scopes admin`), \
         or listen on 127.0.0.1"
    )]
    OpenNonLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] dream_store::StoreError),
}

impl StartError {
    /// Returns the stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            StartError::OpenNonLoopback { .. } => "api_keys_required",
            StartError::Bind { .. } => "bind_failed",
            StartError::Store(err) => err.code(),
        }
    }
}

/// A bound server, ready to run.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    /// Checks the key rule and binds the address (port 0 picks a free port; see
    /// [`Server::local_addr`]).
    ///
    /// # Errors
    /// [`StartError::OpenNonLoopback`] when no unrevoked key exists and the address is
    /// not loopback; [`StartError::Bind`]; store errors.
    pub async fn bind(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: ServerConfig,
    ) -> Result<Self, StartError> {
        let open = !store
            .list_api_keys()
            .await?
            .iter()
            .any(|k| k.revoked_at.is_none());
        let addr = config.listen;
        if open && !addr.ip().is_loopback() {
            return Err(StartError::OpenNonLoopback { addr });
        }
        if open {
            tracing::warn!(
                "no API keys: serving OPEN on loopback {addr} — every local process can read and change memory. \
                 Create one with `dream keys create --name admin --scopes admin` and restart."
            );
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        let mut config = config;
        // The `Host` check needs the real port when port 0 asked for any.
        config.listen = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr, source })?;
        let state = AppState::new(store, clock, open, config);
        Ok(Self { listener, state })
    }

    /// The bound address.
    ///
    /// # Errors
    /// When the socket cannot say (not expected once bound).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Whether the server runs without API keys.
    pub fn is_open(&self) -> bool {
        self.state.open()
    }

    /// The shared state (for tests that drive the workers directly).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts the workers and serves until `shutdown` completes.
    ///
    /// # Errors
    /// I/O errors of the listener.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let state = self.state.clone();
        state.runner().recover(&state).await;
        let scheduler = crate::scheduler::spawn(state.clone());
        let deliveries = crate::webhooks::worker::spawn(state.clone());
        let watch = crate::routes::outcomes::spawn_watch(state.clone());
        let result = axum::serve(self.listener, router(state))
            .with_graceful_shutdown(shutdown)
            .await;
        scheduler.abort();
        deliveries.abort();
        watch.abort();
        result
    }
}

/// Every documented route, with its OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(crate::routes::ApiDoc::openapi())
        .merge(routes::memory_stores::router())
        .merge(routes::memories::router())
        .merge(routes::memory_versions::router())
        .merge(routes::dreams::router())
        .merge(routes::proposals::router())
        .merge(routes::sessions::router())
        .merge(routes::outcomes::router())
        .merge(crate::scheduler::routes::router())
        .merge(crate::webhooks::routes::router())
}

/// The HTTP application: authenticated API routes, `/health`, `/openapi.json`, and
/// Anthropic-shaped 404/405 answers, all behind [`crate::guard`] (`Host`, `Origin`
/// and `content-type` checks).
pub fn router(state: AppState) -> Router {
    let (api_router, openapi) = api().split_for_parts();
    let openapi = Arc::new(openapi);
    api_router
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::authenticate,
        ))
        .route("/health", get(routes::health))
        .route(
            "/openapi.json",
            get(move || {
                let openapi = Arc::clone(&openapi);
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::guard::guard,
        ))
        .layer(middleware::from_fn(request_id))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}; GET /openapi.json lists every endpoint",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        format!(
            "{} is not allowed on {}; GET /openapi.json lists the methods of every endpoint",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Adds a `request-id` header (`req_` + 24 hex digits), as Anthropic's API does.
async fn request_id(request: Request, next: Next) -> Response {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut response = next.run(request).await.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("req_{id}")) {
        response.headers_mut().insert("request-id", value);
    }
    response
}
