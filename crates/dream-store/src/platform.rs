//! Requests for API keys, dream schedules and webhooks.

use dream_types::{
    DeliveryAttempt, DreamMode, MemoryStoreId, OutputBehavior, ScheduleWindow, Scope, Timestamp,
    WindowFilters,
};
use serde::{Deserialize, Serialize};

/// An API key to store. The caller generates the secret, shows it once, and passes
/// only its SHA-256 (hex) and a short hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// A label.
    pub name: String,
    /// What it may do (at least one).
    pub scopes: Vec<Scope>,
    /// The first characters of the secret, to recognise it later.
    pub hint: String,
    /// SHA-256 (lowercase hex) of the secret.
    pub secret_sha256: String,
}

/// A dream schedule to create, or the full new state of one to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSchedule {
    /// The store it dreams on.
    pub memory_store_id: MemoryStoreId,
    /// A 5-field cron expression (already validated and with shorthands expanded).
    pub cron: String,
    /// IANA time zone.
    pub timezone: String,
    /// Which sessions.
    pub window: ScheduleWindow,
    /// Filters on the window's sessions (agents, metadata, undated sessions).
    #[serde(default)]
    pub filters: WindowFilters,
    /// Skip a slot when fewer sessions arrived since the last dream.
    pub min_new_sessions: Option<u64>,
    /// Review or auto.
    pub mode: DreamMode,
    /// Where results go.
    pub output_behavior: OutputBehavior,
    /// `min_support` override.
    pub min_support: Option<u64>,
    /// Whether it runs.
    pub enabled: bool,
}

/// A webhook to create, or the full new state of one to update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewWebhook {
    /// Where events are POSTed (http or https).
    pub url: String,
    /// Event types (see [`dream_types::WEBHOOK_EVENTS`]).
    pub events: Vec<String>,
    /// The signing secret (`whsec_` + base64).
    pub secret: String,
    /// A label.
    pub description: String,
    /// Whether it receives new events.
    pub enabled: bool,
}

/// The result of one delivery try, to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    /// The try (its `attempt` number is assigned by the store).
    pub attempt: DeliveryAttempt,
    /// The receiver answered 2xx.
    pub delivered: bool,
    /// When to try again; `None` with `delivered == false` gives up (status `failed`).
    pub next_attempt_at: Option<Timestamp>,
}
