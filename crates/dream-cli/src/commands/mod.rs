//! One module per subcommand: an `XxxArgs` clap struct and a `cmd_xxx` function.

pub mod ingest;
pub mod init;
pub mod sessions;

use std::path::Path;

use dream_store::{OpenMode, SqliteStore};

use crate::error::CliResult;

/// Opens the store at `db`; read commands use `MustExist` so a typo does not create files.
pub async fn open_store(db: &Path, mode: OpenMode) -> CliResult<SqliteStore> {
    Ok(SqliteStore::open(db, mode).await?)
}
