//! What the server keeps besides memory and sessions: API keys with scopes, dream
//! schedules and their runs, webhooks and their delivery outbox.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{DreamId, DreamMode, MemoryStoreId, OutputBehavior, Timestamp, define_id};

define_id!(
    /// Identifies an API key (`apikey_…`; Anthropic's `api_key_id` prefix).
    ApiKeyId,
    "apikey",
    "API key"
);
define_id!(
    /// Identifies a dream schedule (`dsch_…`).
    ScheduleId,
    "dsch",
    "dream schedule"
);
define_id!(
    /// Identifies a webhook (`whk_…`).
    WebhookId,
    "whk",
    "webhook"
);
define_id!(
    /// Identifies one event delivery to one webhook (`msg_…`): the Standard Webhooks
    /// `webhook-id`, the same on every retry.
    DeliveryId,
    "msg",
    "webhook delivery"
);

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Read memory stores, memories and versions.
    #[serde(rename = "memory:read")]
    MemoryRead,
    /// Create, change and delete them.
    #[serde(rename = "memory:write")]
    MemoryWrite,
    /// Read imported sessions and their events.
    #[serde(rename = "sessions:read")]
    SessionsRead,
    /// Import sessions.
    #[serde(rename = "sessions:write")]
    SessionsWrite,
    /// Read dreams and proposals.
    #[serde(rename = "dreams:read")]
    DreamsRead,
    /// Create, cancel and archive dreams and dream schedules.
    #[serde(rename = "dreams:write")]
    DreamsWrite,
    /// Approve, reject and accept proposals. An agent's key should not have it: an
    /// agent must not approve its own memory changes.
    #[serde(rename = "proposals:review")]
    ProposalsReview,
    /// Everything, including API keys and webhooks.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 8] = [
        Scope::MemoryRead,
        Scope::MemoryWrite,
        Scope::SessionsRead,
        Scope::SessionsWrite,
        Scope::DreamsRead,
        Scope::DreamsWrite,
        Scope::ProposalsReview,
        Scope::Admin,
    ];

    /// Returns the wire name (`memory:read`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::MemoryRead => "memory:read",
            Scope::MemoryWrite => "memory:write",
            Scope::SessionsRead => "sessions:read",
            Scope::SessionsWrite => "sessions:write",
            Scope::DreamsRead => "dreams:read",
            Scope::DreamsWrite => "dreams:write",
            Scope::ProposalsReview => "proposals:review",
            Scope::Admin => "admin",
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API key as stored: the secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// `apikey_…`.
    pub id: ApiKeyId,
    /// A label.
    pub name: String,
    /// The first characters of the secret, to recognise it (`dream_sk_3fa9…`).
    pub hint: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked (it no longer authenticates).
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    /// Returns whether the key grants `scope` (`admin` grants every scope; a revoked
    /// key grants none).
    pub fn allows(&self, scope: Scope) -> bool {
        self.revoked_at.is_none()
            && (self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope))
    }
}

/// Which sessions a scheduled dream reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleWindow {
    /// The newest N top-level sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sessions: Option<u64>,
    /// Sessions started in the last N seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_seconds: Option<u64>,
}

/// A dream that runs on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DreamSchedule {
    /// `dsch_…`.
    pub id: ScheduleId,
    /// The store it dreams on.
    pub memory_store_id: MemoryStoreId,
    /// A 5-field cron expression (`0 3 * * *`), after expanding shorthands.
    pub cron: String,
    /// IANA time zone the expression is read in (`Europe/Paris`).
    pub timezone: String,
    /// Which sessions.
    pub window: ScheduleWindow,
    /// Filters on the window's sessions (agents, metadata, undated sessions).
    #[serde(default, skip_serializing_if = "crate::WindowFilters::is_empty")]
    pub filters: crate::WindowFilters,
    /// Skip a slot when fewer sessions arrived since the store's last dream.
    pub min_new_sessions: Option<u64>,
    /// Review or auto.
    pub mode: DreamMode,
    /// Where results go.
    pub output_behavior: OutputBehavior,
    /// `min_support` override.
    pub min_support: Option<u64>,
    /// Paused schedules do not run.
    pub enabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last changed.
    pub updated_at: Timestamp,
}

/// One slot of a schedule, claimed once: what happened at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRun {
    /// The schedule.
    pub schedule_id: ScheduleId,
    /// The slot's time (UTC).
    pub slot: Timestamp,
    /// The dream it started, if it ran.
    pub dream_id: Option<DreamId>,
    /// Why it did not run (`min_new_sessions`: …), if it was skipped.
    pub skipped_reason: Option<String>,
    /// When the slot was claimed.
    pub claimed_at: Timestamp,
}

/// Events a webhook can subscribe to.
pub const WEBHOOK_EVENTS: [&str; 7] = [
    "dream.completed",
    "dream.failed",
    "proposal.created",
    "proposal.applied",
    "proposal.rejected",
    "memory_store.restored",
    "outcomes.regressed",
];

/// A receiver of signed event notifications (Standard Webhooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// `whk_…`.
    pub id: WebhookId,
    /// Where events are POSTed.
    pub url: String,
    /// Event types it receives (see [`WEBHOOK_EVENTS`]).
    pub events: Vec<String>,
    /// The signing secret, `whsec_` + base64 (Standard Webhooks).
    pub secret: String,
    /// A label.
    pub description: String,
    /// Disabled webhooks receive nothing new.
    pub enabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; retried at `next_attempt_at`.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Retries ran out.
    Failed,
}

impl DeliveryStatus {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One try of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    /// 1 for the first try.
    pub attempt: u32,
    /// When it was made.
    pub at: Timestamp,
    /// The HTTP status, if the receiver answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Recorded before the request went out and not finished yet: no answer is known
    /// (an attempt a crash cut short is finished as interrupted when the delivery is
    /// claimed again).
    #[serde(default)]
    pub in_flight: bool,
}

/// One event for one webhook, in the outbox until delivered (or given up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// `msg_…`: the `webhook-id` header, the same on every retry.
    pub id: DeliveryId,
    /// The webhook.
    pub webhook_id: WebhookId,
    /// The event type.
    pub event_type: String,
    /// The JSON body sent.
    pub payload: serde_json::Value,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Tries so far.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next try is due (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// When it was delivered.
    pub delivered_at: Option<Timestamp>,
}
