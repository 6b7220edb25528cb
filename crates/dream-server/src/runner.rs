//! Background dream jobs. `POST /v1/dreams` stores a `pending` dream and answers; a
//! job then runs it ([`dream_engine::dream::execute_dream`]) when one of the
//! `dream_workers` permits is free, and emits `dream.completed` / `dream.failed` /
//! `proposal.created` (and `proposal.applied` in auto mode).
//!
//! On start-up, dreams left `pending` are queued again; dreams left `running` by a
//! server that stopped are marked `failed` (`interrupted`), never silently resumed
//! half-way.

use std::sync::Arc;
use std::time::Duration;

use dream_engine::dream::{DreamObserver, DreamRun, execute_dream};
use dream_store::DreamFilter;
use dream_types::{DreamError, DreamId, DreamStatus};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::AppState;
use crate::events;

/// Runs dreams in the background, a bounded number at a time.
#[derive(Debug, Clone)]
pub struct DreamRunner {
    permits: Arc<Semaphore>,
}

impl DreamRunner {
    /// Returns a runner allowing `workers` dreams at once (at least 1).
    pub fn new(workers: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// Queues a pending dream; returns at once.
    pub fn spawn(&self, state: AppState, id: DreamId) {
        let permits = Arc::clone(&self.permits);
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            run(&state, &id).await;
        });
    }

    /// Re-queues pending dreams and fails the ones a stopped server left running.
    pub async fn recover(&self, state: &AppState) {
        let store = state.store();
        let stranded = match store
            .list_dreams(&DreamFilter {
                statuses: vec![DreamStatus::Pending, DreamStatus::Running],
                include_archived: true,
                ..DreamFilter::default()
            })
            .await
        {
            Ok(dreams) => dreams,
            Err(err) => {
                tracing::error!(error = %err, "cannot list unfinished dreams at start-up");
                return;
            }
        };
        // Oldest first, so they run in the order they were asked for.
        for mut dream in stranded.into_iter().rev() {
            if dream.status == DreamStatus::Pending {
                self.spawn(state.clone(), dream.id.clone());
                continue;
            }
            dream.status = DreamStatus::Failed;
            dream.error = Some(DreamError {
                kind: "interrupted".into(),
                message: "the server stopped while this dream was running; create it again".into(),
            });
            dream.ended_at = Some(state.now());
            match store.update_dream(&dream).await {
                Ok(dream) => {
                    events::dream_finished(state, &dream).await;
                }
                Err(err) => {
                    tracing::error!(dream = %dream.id, error = %err, "cannot fail a stranded dream")
                }
            }
        }
    }
}

/// Sleeps per extracted session (the `test_extract_delay` knob).
struct Slow(Duration);

impl DreamObserver for Slow {
    fn progress(&self, _done: u64, _total: u64) {
        // A test knob only: blocks this worker thread, not the runtime.
        tokio::task::block_in_place(|| std::thread::sleep(self.0));
    }
}

async fn run(state: &AppState, id: &DreamId) {
    let observer: Box<dyn DreamObserver> = match state.config().test_extract_delay {
        Some(delay) => Box::new(Slow(delay)),
        None => Box::new(dream_engine::dream::Quiet),
    };
    let result = execute_dream(state.store(), id, state.clock(), observer.as_ref()).await;
    match result {
        Ok(DreamRun::Ran {
            dream,
            proposal,
            applied,
        }) => {
            events::dream_finished(state, &dream).await;
            if let Some(proposal) = proposal {
                events::proposal_created(state, &dream, &proposal).await;
                if let Some(report) = applied {
                    events::proposal_reviewed(state, &proposal, "proposal.applied", json!(report))
                        .await;
                }
            }
        }
        Ok(DreamRun::Skipped(_)) => {}
        Err(err) => {
            tracing::warn!(dream = %id, error = %err, "dream failed");
            if let Ok(dream) = state.store().get_dream(id).await {
                events::dream_finished(state, &dream).await;
            }
        }
    }
}
