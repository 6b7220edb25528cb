//! Events into the webhook outbox. Emitting stores one pending delivery per subscribed
//! webhook (so a receiver that is down loses nothing) and wakes the delivery worker
//! ([`crate::webhooks::worker`]).
//!
//! Every payload has the shape the Standard Webhooks spec recommends:
//! `{"type": "dream.completed", "timestamp": "RFC 3339", "data": {…}}`.
//!
//! Secrets never leave in a payload: every string in `data` goes through the engine's
//! one redaction step ([`dream_engine::check::redact_json`]) before it is stored.

use std::sync::Arc;

use dream_engine::check::redact_json;
use dream_store::Store;
use dream_types::Clock;
use serde_json::{Value, json};
use tokio::sync::Notify;

/// The outbox handle.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    wake: Arc<Notify>,
}

impl Outbox {
    /// Returns a handle with its own wake-up signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `event_type` with `data` (secrets redacted, recursively) for every enabled
    /// webhook subscribed to it, then wakes the delivery worker. A failure is logged, not
    /// returned: an event never fails the request that caused it.
    pub async fn emit(
        &self,
        store: &dyn Store,
        clock: &dyn Clock,
        event_type: &str,
        mut data: Value,
    ) {
        redact_json(&mut data);
        let payload = json!({
            "type": event_type,
            "timestamp": clock.now(),
            "data": data,
        });
        match store.enqueue_event(event_type, &payload).await {
            Ok(deliveries) if !deliveries.is_empty() => self.wake.notify_one(),
            Ok(_) => {}
            Err(err) => {
                tracing::error!(event = event_type, error = %err, "cannot store webhook event")
            }
        }
    }

    /// The signal the delivery worker waits on.
    pub fn wake_signal(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }
}
