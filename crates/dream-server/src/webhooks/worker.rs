//! The delivery worker: takes due deliveries from the outbox and POSTs them, signed,
//! to their webhooks.
//!
//! Each round claims up to [`BATCH`] due deliveries under a [`LEASE_SECS`] lease
//! (a worker that dies mid-round leaves them to be claimed again when the lease runs
//! out), sends them concurrently, and records every attempt — as in flight before its
//! request goes out, so a crash mid-send leaves it in the log (the next claim marks
//! it interrupted, and the event is sent again). A 2xx answer delivers;
//! anything else — another status, a timeout after [`TIMEOUT`], a refused connection —
//! is a failed attempt, tried again after the next step of [`RETRY_SCHEDULE_SECS`]
//! (times `webhook_retry_scale`) until the schedule runs out and the delivery is
//! `failed`. Between rounds the worker waits for the outbox's wake-up signal, the next
//! retry it scheduled, or [`IDLE_POLL`], whichever comes first.
//!
//! Deliveries of a disabled webhook are held, not attempted: each stays `pending` and
//! is looked at again when its lease runs out, so re-enabling the webhook resumes them
//! (within [`LEASE_SECS`]). Times written to the store come from the server's clock;
//! waits use real time.

use std::collections::HashMap;
use std::error::Error as _;
use std::time::{Duration, Instant};

use dream_store::{DeliveryOutcome, StoreError};
use dream_types::{DeliveryAttempt, Timestamp, Webhook, WebhookDelivery, WebhookId};
use tokio::task::{JoinHandle, JoinSet};

use crate::AppState;
use crate::webhooks::sign::{self, HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP};

/// Waits after the 1st, 2nd, … failed attempt, in seconds: 5 s, 5 min, 30 min, 2 h,
/// 5 h, 10 h, 10 h — Svix's schedule, which the Standard Webhooks spec recommends
/// ("Retry schedule"); about 27.6 h in all, so a receiver down for a day loses
/// nothing. A delivery gets 1 + 7 attempts.
pub const RETRY_SCHEDULE_SECS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// How long a claimed delivery is reserved for the worker that claimed it, in
/// seconds (well above [`TIMEOUT`]).
pub const LEASE_SECS: i64 = 60;
/// Most deliveries claimed, and sent concurrently, per round.
pub const BATCH: u64 = 16;
/// Limit on one POST, connecting and reading the answer included.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait between rounds when nothing wakes the worker, so deliveries enqueued
/// by another process and expired leases are picked up.
pub const IDLE_POLL: Duration = Duration::from_secs(1);
/// Bytes of a non-2xx answer's body kept in the attempt's `error`.
const EXCERPT_BYTES: usize = 256;
/// Characters of an attempt's `error` kept at most.
const MAX_ERROR_CHARS: usize = 500;

/// Returns the `user-agent` of deliveries: `dream-webhooks/<version>`.
pub fn user_agent() -> String {
    format!("dream-webhooks/{}", env!("CARGO_PKG_VERSION"))
}

/// Starts the delivery worker. It runs until the handle is aborted; errors are
/// logged, never fatal (the outbox keeps what could not be sent).
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let client = match http_client() {
            Ok(client) => client,
            Err(err) => {
                tracing::error!(error = %error_chain(&err), "webhook deliveries are off: cannot build the HTTP client");
                return;
            }
        };
        run(state, client).await;
    })
}

/// Returns the client deliveries go through: [`TIMEOUT`], [`user_agent`], and no
/// redirects (a 3xx is a failed attempt: the signature was made for this URL's
/// receiver, and a webhook URL that moved should be updated).
///
/// # Errors
/// When the TLS backend cannot be set up.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(user_agent())
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

async fn run(state: AppState, client: reqwest::Client) {
    let wake = state.outbox().wake_signal();
    // The earliest retry this worker scheduled and has not claimed yet.
    let mut next_due: Option<Timestamp> = None;
    loop {
        let now = state.now();
        if next_due.is_some_and(|due| due <= now) {
            next_due = None;
        }
        let mut full = false;
        match deliver_due(&state, &client).await {
            Ok(round) => {
                full = round.claimed as u64 >= BATCH;
                next_due = earliest(next_due, round.next_due);
            }
            Err(err) => {
                tracing::error!(error = %err, code = err.code(), "cannot claim webhook deliveries")
            }
        }
        if full {
            continue;
        }
        let wait = next_due.map_or(IDLE_POLL, |due| until(&state, due).min(IDLE_POLL));
        if !wait.is_zero() {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

fn earliest(a: Option<Timestamp>, b: Option<Timestamp>) -> Option<Timestamp> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Real time until `due` by the server's clock (zero when past).
fn until(state: &AppState, due: Timestamp) -> Duration {
    let micros = due.unix_micros().saturating_sub(state.now().unix_micros());
    Duration::from_micros(u64::try_from(micros).unwrap_or(0))
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Of those, delivered now.
    pub delivered: usize,
    /// The earliest retry scheduled in this round.
    pub next_due: Option<Timestamp>,
}

/// Runs one round: claims up to [`BATCH`] due deliveries, sends them concurrently,
/// records each attempt, and returns what happened. Tests may call it directly.
///
/// # Errors
/// When claiming fails; failures of single deliveries are logged and left to the
/// lease.
pub async fn deliver_due(state: &AppState, client: &reqwest::Client) -> Result<Round, StoreError> {
    let now = state.now();
    let batch = state
        .store()
        .claim_due_deliveries(now, now.plus_secs(LEASE_SECS), BATCH)
        .await?;
    let mut round = Round {
        claimed: batch.len(),
        ..Round::default()
    };
    let mut webhooks: HashMap<WebhookId, Option<Webhook>> = HashMap::new();
    let mut sends = JoinSet::new();
    for delivery in batch {
        if !webhooks.contains_key(&delivery.webhook_id) {
            let webhook = match state.store().get_webhook(&delivery.webhook_id).await {
                Ok(webhook) => Some(webhook),
                // Deleted meanwhile: its deliveries went with it.
                Err(StoreError::NotFound { .. }) => None,
                Err(err) => {
                    tracing::error!(webhook = %delivery.webhook_id, error = %err, "cannot read webhook; its deliveries wait for their lease to run out");
                    None
                }
            };
            webhooks.insert(delivery.webhook_id.clone(), webhook);
        }
        let Some(Some(webhook)) = webhooks.get(&delivery.webhook_id) else {
            continue;
        };
        if !webhook.enabled {
            tracing::debug!(delivery = %delivery.id, webhook = %webhook.id, "webhook disabled: delivery held");
            continue;
        }
        let (state, client, webhook) = (state.clone(), client.clone(), webhook.clone());
        sends.spawn(async move { deliver(&state, &client, &webhook, delivery).await });
    }
    while let Some(joined) = sends.join_next().await {
        match joined {
            Ok(Sent::Delivered) => round.delivered += 1,
            Ok(Sent::Retry(at)) => round.next_due = earliest(round.next_due, Some(at)),
            Ok(Sent::GaveUp | Sent::NotRecorded) => {}
            Err(err) => tracing::error!(error = %err, "a webhook delivery task failed"),
        }
    }
    Ok(round)
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Delivered,
    Retry(Timestamp),
    GaveUp,
    /// The attempt could not be recorded; the lease will bring the delivery back.
    NotRecorded,
}

/// Makes one attempt and records it: first as in flight, so that a crash while
/// sending leaves a visible attempt (the receiver may have got the event), then with
/// its result.
async fn deliver(
    state: &AppState,
    client: &reqwest::Client,
    webhook: &Webhook,
    delivery: WebhookDelivery,
) -> Sent {
    let at = state.now();
    let attempt_number = match state.store().start_delivery_attempt(&delivery.id, at).await {
        Ok(number) => number,
        Err(err) => {
            // Not sent: an attempt that could not be recorded is not made.
            tracing::error!(delivery = %delivery.id, error = %err, "cannot record a webhook delivery attempt; not sending it");
            return Sent::NotRecorded;
        }
    };
    let started = Instant::now();
    let (status_code, error) = post(client, webhook, &delivery, at).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let delivered = error.is_none();
    let attempt_number = usize::try_from(attempt_number).unwrap_or(usize::MAX);
    let next_attempt_at = if delivered {
        None
    } else {
        retry_delay(attempt_number, state.config().webhook_retry_scale)
            .map(|delay| after(state.now(), delay))
    };
    let outcome = DeliveryOutcome {
        attempt: DeliveryAttempt {
            attempt: u32::try_from(attempt_number).unwrap_or(u32::MAX),
            at,
            status_code,
            error: error.clone(),
            duration_ms,
            in_flight: false,
        },
        delivered,
        next_attempt_at,
    };
    if let Err(err) = state
        .store()
        .record_delivery_attempt(&delivery.id, outcome)
        .await
    {
        tracing::error!(delivery = %delivery.id, error = %err, "cannot record a webhook delivery attempt");
        return Sent::NotRecorded;
    }
    let error = error.unwrap_or_default();
    match (delivered, next_attempt_at) {
        (true, _) => {
            tracing::debug!(delivery = %delivery.id, webhook = %webhook.id, event = %delivery.event_type, attempt = attempt_number, duration_ms, "webhook delivered");
            Sent::Delivered
        }
        (false, Some(next)) => {
            tracing::warn!(delivery = %delivery.id, webhook = %webhook.id, attempt = attempt_number, %error, next_attempt_at = %next, "webhook delivery attempt failed");
            Sent::Retry(next)
        }
        (false, None) => {
            tracing::error!(delivery = %delivery.id, webhook = %webhook.id, attempts = attempt_number, %error, "webhook delivery failed: retries ran out");
            Sent::GaveUp
        }
    }
}

/// POSTs the payload, signed for this attempt. Returns the status the receiver
/// answered, if any, and what went wrong (`None` for a 2xx).
async fn post(
    client: &reqwest::Client,
    webhook: &Webhook,
    delivery: &WebhookDelivery,
    at: Timestamp,
) -> (Option<u16>, Option<String>) {
    let body = match serde_json::to_vec(&delivery.payload) {
        Ok(body) => body,
        Err(err) => return (None, Some(format!("cannot encode the payload: {err}"))),
    };
    let timestamp = at.unix_micros().div_euclid(1_000_000);
    let signature = match sign::sign(&webhook.secret, delivery.id.as_str(), timestamp, &body) {
        Ok(signature) => signature,
        Err(err) => {
            return (
                None,
                Some(format!(
                    "cannot sign: {err}; rotate the webhook's secret (`rotate_secret`)"
                )),
            );
        }
    };
    let sent = client
        .post(&webhook.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_ID, delivery.id.as_str())
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(err) => return (None, Some(clip(describe(&err)))),
    };
    let status = response.status();
    if status.is_success() {
        return (Some(status.as_u16()), None);
    }
    // A little of the answer helps the receiver's owner see why it refused.
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    excerpt.truncate(EXCERPT_BYTES);
    let excerpt = String::from_utf8_lossy(&excerpt);
    let excerpt = excerpt.trim();
    let mut error = format!("receiver answered HTTP {status}");
    if !excerpt.is_empty() {
        error.push_str(": ");
        error.push_str(excerpt);
    }
    (Some(status.as_u16()), Some(clip(error)))
}

fn describe(err: &reqwest::Error) -> String {
    let text = error_chain(err);
    if err.is_timeout() {
        format!("timed out after {} s: {text}", TIMEOUT.as_secs())
    } else if err.is_connect() {
        format!("cannot connect: {text}")
    } else {
        text
    }
}

/// An error with its sources (reqwest's own message alone rarely says why).
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn clip(text: String) -> String {
    if text.chars().count() <= MAX_ERROR_CHARS {
        text
    } else {
        let mut clipped: String = text.chars().take(MAX_ERROR_CHARS).collect();
        clipped.push('…');
        clipped
    }
}

/// Returns how long to wait after the `attempt`th attempt failed (1 for the first),
/// [`RETRY_SCHEDULE_SECS`] times `scale`; `None` once the schedule is used up (the
/// delivery is then `failed`). A `scale` that is negative or not finite counts as 1.
pub fn retry_delay(attempt: usize, scale: f64) -> Option<Duration> {
    let secs = *RETRY_SCHEDULE_SECS.get(attempt.checked_sub(1)?)?;
    let scale = if scale.is_finite() && scale >= 0.0 {
        scale
    } else {
        1.0
    };
    Some(Duration::try_from_secs_f64(secs as f64 * scale).unwrap_or(Duration::MAX))
}

/// `at` plus `delay`, saturating.
fn after(at: Timestamp, delay: Duration) -> Timestamp {
    let micros = i64::try_from(delay.as_micros()).unwrap_or(i64::MAX);
    Timestamp::from_unix_micros(at.unix_micros().saturating_add(micros))
        .unwrap_or_else(|| at.plus_secs(i64::try_from(delay.as_secs()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_covers_a_day_and_then_gives_up() {
        let total: u64 = RETRY_SCHEDULE_SECS.iter().sum();
        assert!(total >= 24 * 3600, "{total} s");
        assert_eq!(retry_delay(1, 1.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(2, 1.0), Some(Duration::from_secs(300)));
        assert_eq!(retry_delay(7, 1.0), Some(Duration::from_secs(36_000)));
        assert_eq!(retry_delay(8, 1.0), None, "1 + 7 attempts, then failed");
        assert_eq!(retry_delay(0, 1.0), None);
    }

    #[test]
    fn the_scale_shrinks_every_wait_and_bad_scales_count_as_one() {
        assert_eq!(retry_delay(1, 0.001), Some(Duration::from_millis(5)));
        assert_eq!(retry_delay(2, 0.5), Some(Duration::from_secs(150)));
        assert_eq!(retry_delay(1, f64::NAN), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(1, -2.0), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(1, 1e300), Some(Duration::MAX));
    }

    #[test]
    fn times_add_saturating() {
        let at = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(
            after(at, Duration::from_millis(1500)).to_rfc3339(),
            "2026-01-01T00:00:01.500000Z"
        );
        assert!(after(at, Duration::MAX) > at);
    }

    #[test]
    fn long_errors_are_clipped() {
        assert_eq!(clip("short".into()), "short");
        let long = clip("x".repeat(2 * MAX_ERROR_CHARS));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
