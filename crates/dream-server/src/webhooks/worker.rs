//! The delivery worker.

use tokio::task::JoinHandle;

use crate::AppState;

/// Starts the delivery worker.
pub fn spawn(_state: AppState) -> JoinHandle<()> {
    tokio::spawn(async {})
}
