//! `dream serve`: an HTTP API wire-compatible with Anthropic's memory stores, memory
//! versions, dreams and (imported, read-only) sessions — the official `anthropic`
//! SDK 2.10.0 works against it by changing `base_url` — plus `dream`'s own
//! extensions: session import, proposal review, store restore and diff, dream
//! schedules, signed webhooks and API keys (DESIGN.md, "Server").
//!
//! Nothing below this crate knows HTTP: handlers parse, call `dream-engine` /
//! `dream-store`, and shape the answer.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use dream_server::{Server, ServerConfig};
//! use dream_types::SystemClock;
//!
//! use dream_store::sqlite::{OpenMode, SqliteStore};
//! let store = SqliteStore::open(".dream/dream.db".as_ref(), OpenMode::Create).await?;
//! let config = ServerConfig::new("127.0.0.1:8377".parse()?);
//! let server = Server::bind(Arc::new(store), Arc::new(SystemClock), config).await?;
//! server.run(std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```

pub mod app;
pub mod auth;
pub mod error;
pub mod events;
pub mod extract;
pub mod guard;
pub mod outbox;
pub mod page;
pub mod routes;
pub mod runner;
pub mod scheduler;
pub mod state;
pub mod webhooks;
pub mod wire;

pub use app::{Server, StartError, router};
pub use error::{ApiError, ApiResult};
pub use state::{AppState, ServerConfig};
