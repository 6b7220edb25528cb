//! The `dream` engine: operations over memory stores (diff, restore, export, import)
//! and, with the next issue, the dream pipeline itself. Deterministic; it talks to
//! storage only through [`dream_store::Store`] and never to a terminal or network.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dream_engine::memory::{diff_store, restore};
//! use dream_store::{MemoryWrite, NewMemoryStore, OpenMode, SqliteStore, Store};
//! use dream_types::Actor;
//!
//! let dir = tempfile::tempdir()?;
//! let store = SqliteStore::open(&dir.path().join("dream.db"), OpenMode::Create).await?;
//! let s = store.create_memory_store(NewMemoryStore { name: "demo".into(), ..Default::default() }).await?;
//! let me = Actor::User { user_id: "user_me".into() };
//! let write = MemoryWrite::Create { path: "/facts.md".into(), content: "- plan: team\n".into() };
//! store.write_memories(&s.id, &[write], &me).await?;
//! let memory = store.find_memory(&s.id, "/facts.md").await?.expect("just written");
//! let update = MemoryWrite::Update {
//!     memory_id: memory.id,
//!     content: Some("- plan: enterprise\n".into()),
//!     path: None,
//!     precondition: None,
//! };
//! store.write_memories(&s.id, &[update], &me).await?;
//!
//! let diff = diff_store(&store, &s.id, 1, None).await?;
//! assert!(diff.entries[0].unified.contains("+- plan: enterprise"));
//! let report = restore(&store, &s.id, 1, &me).await?;
//! assert_eq!(report.new_version, 3); // the restore is a new version; history is kept
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod check;
pub mod compact;
pub mod curate;
pub mod dream;
pub mod edit;
mod error;
pub mod memory;
pub mod minhash;
pub mod note;
pub mod outcomes;
pub mod pattern;
pub mod pending;
pub mod provenance;
pub mod review;
pub mod signal;
pub mod similarity;
pub mod stats;

pub use error::{EngineError, EngineResult};
