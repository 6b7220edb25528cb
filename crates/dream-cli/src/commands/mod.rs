//! One module per subcommand: an `XxxArgs` clap struct and a `cmd_xxx` function.

pub mod demo;
pub mod dreams;
pub mod ingest;
pub mod init;
pub mod keys;
pub mod memory;
pub mod outcomes;
pub mod proposals;
pub mod serve;
pub mod sessions;
pub mod stores;

use std::path::Path;
use std::sync::Arc;

use dream_store::{OpenMode, SqliteStore};
use dream_types::{
    Actor, Clock, FixedClock, IdGenerator, RandomIds, SequentialIds, SystemClock, Timestamp,
};

use crate::error::{CliError, CliResult};

/// Environment variable that fixes the id sequence (an unsigned integer seed), for
/// reproducible output in tests and demos.
pub const ID_SEED_ENV: &str = "DREAM_ID_SEED";
/// Environment variable that fixes "now" (RFC 3339), for reproducible output.
pub const NOW_ENV: &str = "DREAM_NOW";
/// Environment variable naming the person the CLI writes as (before `USER`).
pub const USER_ENV: &str = "DREAM_USER";

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

/// Returns the current time: the system's, unless `DREAM_NOW` fixes it.
pub fn now() -> CliResult<Timestamp> {
    Ok(clock_and_ids()?.0.now())
}

/// Returns who the CLI writes as: `user_<login>`, the login being `DREAM_USER`, else
/// `USER`, else `local`.
pub fn cli_actor() -> Actor {
    let login = [USER_ENV, "USER"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty());
    Actor::User {
        user_id: format!("user_{}", login_name(login.as_deref().unwrap_or("local"))),
    }
}

/// Lowercases a login and replaces characters outside `[a-z0-9_-]` with `-`, so that
/// the user id is safe in ids, paths and filters.
fn login_name(login: &str) -> String {
    login
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_become_safe_user_ids() {
        assert_eq!(login_name("alice"), "alice");
        assert_eq!(login_name(" Dana.O'Neil "), "dana-o-neil");
        assert_eq!(login_name("jörg"), "j-rg");
        assert_eq!(login_name("ci_bot-2"), "ci_bot-2");
    }
}
