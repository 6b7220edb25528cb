//! The server over HTTP: one binary, one module per area.

mod common;
mod memory;
mod schedules;
mod sessions;
mod webhooks;
