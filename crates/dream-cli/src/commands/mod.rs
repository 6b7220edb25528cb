//! One module per subcommand: an `XxxArgs` clap struct and a `cmd_xxx` function.

pub mod ingest;
pub mod init;
pub mod sessions;

use std::path::Path;
use std::sync::Arc;

use dream_store::{OpenMode, SqliteStore};
use dream_types::{
    Clock, FixedClock, IdGenerator, RandomIds, SequentialIds, SystemClock, Timestamp,
};

use crate::error::{CliError, CliResult};

/// Environment variable that fixes the id sequence (an unsigned integer seed), for
/// reproducible output in tests and demos.
pub const ID_SEED_ENV: &str = "DREAM_ID_SEED";
/// Environment variable that fixes "now" (RFC 3339), for reproducible output.
pub const NOW_ENV: &str = "DREAM_NOW";

/// Returns the clock and id generator: the system's, unless `DREAM_NOW` /
/// `DREAM_ID_SEED` fix them.
pub fn clock_and_ids() -> CliResult<(Arc<dyn Clock>, Arc<dyn IdGenerator>)> {
    let clock: Arc<dyn Clock> = match std::env::var(NOW_ENV) {
        Ok(text) => Arc::new(FixedClock::new(Timestamp::parse(&text).map_err(|_| {
            CliError::usage(
                "invalid_request_error",
                format!("{NOW_ENV}={text:?} is not an RFC 3339 time"),
            )
        })?)),
        Err(_) => Arc::new(SystemClock),
    };
    let ids: Arc<dyn IdGenerator> = match std::env::var(ID_SEED_ENV) {
        Ok(text) => Arc::new(SequentialIds::new(text.parse().map_err(|_| {
            CliError::usage(
                "invalid_request_error",
                format!("{ID_SEED_ENV}={text:?} is not an unsigned integer"),
            )
        })?)),
        Err(_) => Arc::new(RandomIds),
    };
    Ok((clock, ids))
}

/// Opens the store at `db`; read commands use `MustExist` so a typo does not create files.
pub async fn open_store(db: &Path, mode: OpenMode) -> CliResult<SqliteStore> {
    let (clock, ids) = clock_and_ids()?;
    Ok(SqliteStore::open_with(db, mode, clock, ids).await?)
}
