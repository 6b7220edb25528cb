//! End-to-end tests of the `dream` binary: snapshots of its output with a fixed clock
//! and id seed (jj's `test_environment.rs` approach), exit codes, and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod cli;
mod dreams;
mod errors;
mod memory;
mod outcomes;
mod races;
mod review;
mod serve;
mod sessions;
mod stores;
