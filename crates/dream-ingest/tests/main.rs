//! Integration tests of dream-ingest: real transcripts from `../shared/data` (skipped
//! with a message when absent), the example files of the README, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;
mod errors;
mod formats;
mod memory;
mod real_data;
mod round_trip;
