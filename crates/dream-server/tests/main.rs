//! The server over HTTP: one binary, one module per area.

mod api;
mod common;
mod dreams;
mod memory;
mod schedules;
mod sessions;
mod webhooks;
