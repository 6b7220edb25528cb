//! The server over HTTP: one binary, one module per area.

// clippy.toml allows `expect` in `#[test]` functions; the helpers they call (the
// harness in `common`) may panic the same way.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod api;
mod common;
mod dreams;
mod hardening;
mod memory;
mod outcomes;
mod schedules;
mod sessions;
mod webhooks;
