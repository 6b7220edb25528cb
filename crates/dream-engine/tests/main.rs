//! Integration tests of dream-engine's memory operations on a real SQLite store.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
mod dream_fixtures;
mod dream_real;
mod export;
mod history;
mod outcomes;
mod properties;
mod report_chromium;
mod review_trust;
mod safety;
mod signals_fixtures;
mod signals_real;
