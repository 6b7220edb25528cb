//! The source of "now", injected so that tests and dreams are deterministic.

use std::sync::Mutex;

use crate::Timestamp;

/// Tells the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Returns the current time in UTC, truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that returns a set time, advanced only by [`FixedClock::advance_secs`].
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<Timestamp>,
}

impl FixedClock {
    /// Returns a clock stopped at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// Moves the clock forward by `secs` seconds (negative moves it back).
    pub fn advance_secs(&self, secs: i64) {
        let mut now = self.now.lock().unwrap_or_else(|poison| poison.into_inner());
        *now = now.plus_secs(secs);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}
