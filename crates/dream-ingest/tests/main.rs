//! Integration tests of dream-ingest, on the real transcripts in `../shared/data`
//! where they exist.

mod common;
mod real_data;
