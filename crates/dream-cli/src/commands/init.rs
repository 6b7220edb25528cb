//! `dream init`: create the local store.

use std::path::Path;

use clap::Args;
use dream_store::{OpenMode, Store};

use super::open_store;
use crate::error::CliResult;
use crate::output::Output;

/// Arguments of `dream init`.
#[derive(Debug, Args)]
pub struct InitArgs {}

/// Creates the store at `db` (and its directory); a store that exists is left as it is.
pub async fn cmd_init(db: &Path, _args: InitArgs, out: Output) -> CliResult<u8> {
    let existed = db.exists();
    let store = open_store(db, OpenMode::Create).await?;
    let sessions = store.count_sessions().await?;
    store.close().await;
    if out.json {
        out.json(&serde_json::json!({
            "path": db.display().to_string(),
            "created": !existed,
            "backend": "sqlite",
            "sessions": sessions,
        }))?;
    } else if existed {
        out.line(format!(
            "dream store already exists at {} ({sessions} sessions)",
            db.display()
        ))?;
    } else {
        out.line(format!("Created dream store at {}", db.display()))?;
        out.line("Next: dream ingest ~/.claude/projects   (or any transcript file or directory)")?;
    }
    Ok(0)
}
