//! Integration tests of dream-store: the backend conformance suite, instantiated for
//! every backend.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod conformance;
mod memory_conformance;
mod platform_conformance;
mod sqlite;
