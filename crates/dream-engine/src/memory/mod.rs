//! Operations on a memory store's history and files: [`diff_store`], [`restore`],
//! directory and Markdown [`export`]/import, and managed sections in `CLAUDE.md` /
//! `AGENTS.md`.

mod diff;
pub mod export;
mod restore;

pub use diff::{DiffKind, MemoryDiff, StoreDiff, diff_store, unified_diff};
pub use restore::{RestoreReport, restore};
