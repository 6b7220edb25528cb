//! Dream schedules: `/v1/dream_schedules` CRUD and the loop that runs due slots.

pub mod routes;

use tokio::task::JoinHandle;

use crate::AppState;

/// Starts the scheduler loop.
pub fn spawn(_state: AppState) -> JoinHandle<()> {
    tokio::spawn(async {})
}
