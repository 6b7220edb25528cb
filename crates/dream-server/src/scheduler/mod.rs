//! Dream schedules: `/v1/dream_schedules` CRUD ([`routes`]) and the loop that runs due
//! slots ([`spawn`]).
//!
//! Every `scheduler_tick` (30 s by default), the loop takes each enabled schedule,
//! finds in its time zone the latest slot at or before now ([`Timetable`]), and runs it
//! when it is due:
//!
//! - a slot before the schedule's last change (`updated_at`, which is `created_at`
//!   until it is first changed) never runs, so creating, re-enabling or editing a
//!   schedule does not fire a slot from the past;
//! - each slot is claimed in the store first ([`dream_store::Store::claim_schedule_slot`]),
//!   which answers yes to exactly one caller ever: a slot runs once across restarts
//!   and across servers sharing a database;
//! - only the latest slot is considered, so after downtime the latest missed slot runs
//!   once, at start-up, and older missed slots are not replayed (a nightly dream
//!   missed for a week runs once, not seven times).
//!
//! Running a slot starts a dream ([`dream_engine::dream::start_dream`]) and queues it
//! on the dream runner; the slot's run records the dream, or why none started: the
//! engine's sentence when `min_new_sessions` is not met, `error: …` when the engine
//! refused (no sessions in the window, an archived or deleted store). A slot claimed
//! by a server that stopped before recording its outcome keeps neither.

pub mod routes;
pub mod timetable;

use std::collections::HashMap;
use std::time::Duration;

use dream_engine::dream::{DreamRequest, DreamStart, LOCAL_ENGINE, start_dream};
use dream_types::{DreamId, DreamSchedule, ScheduleId, ScheduleWindow, SessionWindow, Timestamp};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::AppState;
pub use timetable::{Timetable, TimetableError};

/// Shortest tick the loop accepts; a zero `scheduler_tick` would spin.
const MIN_TICK: Duration = Duration::from_millis(10);

/// Starts the scheduler loop: a first pass at once (to run a slot missed while the
/// server was down), then one every `scheduler_tick` (at least 10 ms). The loop never
/// ends by itself; abort the handle to stop it.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(state.config().scheduler_tick.max(MIN_TICK));
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut scheduler = Scheduler::default();
        loop {
            interval.tick().await;
            scheduler.tick(&state).await;
        }
    })
}

/// Returns the engine's window for a stored schedule window (`last_sessions` first;
/// neither set means every session).
pub fn session_window(window: ScheduleWindow) -> SessionWindow {
    match (window.last_sessions, window.since_seconds) {
        (Some(count), _) => SessionWindow::Last { count },
        (None, Some(seconds)) => SessionWindow::Since { seconds },
        (None, None) => SessionWindow::All,
    }
}

/// What the loop remembers about a schedule between ticks, to spare the store a claim
/// per tick and the log a warning per tick.
#[derive(Debug)]
struct Known {
    cron: String,
    timezone: String,
    timetable: Option<Timetable>,
    /// The latest slot this loop claimed or found claimed.
    settled: Option<Timestamp>,
}

/// The loop's memory.
#[derive(Debug, Default)]
struct Scheduler {
    known: HashMap<ScheduleId, Known>,
}

impl Scheduler {
    /// Runs every due slot once.
    async fn tick(&mut self, state: &AppState) {
        let schedules = match state.store().list_schedules().await {
            Ok(schedules) => schedules,
            Err(err) => {
                tracing::error!(error = %err, "scheduler: cannot list dream schedules");
                return;
            }
        };
        self.known
            .retain(|id, _| schedules.iter().any(|s| &s.id == id));
        for schedule in schedules.into_iter().filter(|s| s.enabled) {
            self.consider(state, &schedule).await;
        }
    }

    /// Runs the schedule's latest slot if it is due and nobody claimed it.
    async fn consider(&mut self, state: &AppState, schedule: &DreamSchedule) {
        let known = self.known.entry(schedule.id.clone()).or_insert(Known {
            cron: String::new(),
            timezone: String::new(),
            timetable: None,
            settled: None,
        });
        if known.cron != schedule.cron || known.timezone != schedule.timezone {
            known.cron.clone_from(&schedule.cron);
            known.timezone.clone_from(&schedule.timezone);
            known.timetable = match Timetable::parse(&schedule.cron, &schedule.timezone) {
                Ok(timetable) => Some(timetable),
                Err(err) => {
                    tracing::warn!(schedule = %schedule.id, error = %err, "scheduler: stored schedule is invalid and will not run until it is updated");
                    None
                }
            };
        }
        let Some(timetable) = &known.timetable else {
            return;
        };
        let Some(slot) = timetable.latest_at_or_before(state.now()) else {
            return;
        };
        if slot < schedule.updated_at.max(schedule.created_at) || known.settled == Some(slot) {
            return;
        }
        match state.store().claim_schedule_slot(&schedule.id, slot).await {
            Ok(true) => {}
            Ok(false) => {
                known.settled = Some(slot);
                return;
            }
            Err(err) => {
                // Deleted meanwhile, or the store is down: look again next tick.
                tracing::warn!(schedule = %schedule.id, %slot, error = %err, "scheduler: cannot claim slot");
                return;
            }
        }
        known.settled = Some(slot);
        let (dream_id, skipped_reason) = run_slot(state, schedule, slot).await;
        if let Err(err) = state
            .store()
            .finish_schedule_run(
                &schedule.id,
                slot,
                dream_id.as_ref(),
                skipped_reason.as_deref(),
            )
            .await
        {
            tracing::warn!(schedule = %schedule.id, %slot, error = %err, "scheduler: cannot record slot outcome");
        }
    }
}

/// Starts the slot's dream; returns the dream started, or why none did.
async fn run_slot(
    state: &AppState,
    schedule: &DreamSchedule,
    slot: Timestamp,
) -> (Option<DreamId>, Option<String>) {
    let request = DreamRequest {
        memory_store_id: schedule.memory_store_id.clone(),
        window: session_window(schedule.window),
        min_new_sessions: schedule.min_new_sessions,
        engine: LOCAL_ENGINE.to_owned(),
        instructions: None,
        output_behavior: schedule.output_behavior,
        mode: schedule.mode,
        config: None,
        min_support: schedule.min_support,
        filters: schedule.filters.clone(),
        supersede_pending: false,
    };
    match start_dream(state.store(), &request, state.clock()).await {
        Ok(DreamStart::Pending(dream)) => {
            tracing::info!(schedule = %schedule.id, %slot, dream = %dream.id, "scheduler: dream started");
            state.runner().spawn(state.clone(), dream.id.clone());
            (Some(dream.id), None)
        }
        Ok(DreamStart::Skipped(skip)) => {
            tracing::info!(schedule = %schedule.id, %slot, reason = %skip.reason, "scheduler: slot skipped");
            (None, Some(skip.reason))
        }
        Err(err) => {
            tracing::warn!(schedule = %schedule.id, %slot, error = %err, "scheduler: dream not started");
            (None, Some(format!("error: {err}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_windows_map_to_engine_windows() {
        assert_eq!(
            session_window(ScheduleWindow {
                last_sessions: Some(5),
                since_seconds: None
            }),
            SessionWindow::Last { count: 5 }
        );
        assert_eq!(
            session_window(ScheduleWindow {
                last_sessions: None,
                since_seconds: Some(60)
            }),
            SessionWindow::Since { seconds: 60 }
        );
        assert_eq!(
            session_window(ScheduleWindow::default()),
            SessionWindow::All
        );
    }
}
