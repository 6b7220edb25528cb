//! `/v1/webhooks`: create, list, retrieve, update and delete webhooks, and read a
//! webhook's delivery log. Every route needs the `admin` scope (see [`crate::auth`]).
//!
//! A webhook's signing secret is shown in full only when it is made: in the answer
//! to `POST /v1/webhooks` and to an update with `rotate_secret: true`. Everywhere
//! else `secret` is `null` and `secret_hint` (its first 10 characters and `…`)
//! identifies it.

use axum::extract::{Path, State};
use dream_store::NewWebhook;
use dream_types::{
    DeliveryAttempt, Timestamp, WEBHOOK_EVENTS, Webhook, WebhookDelivery, WebhookId,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::page::{self, Order, Page};
use crate::routes::id;
use crate::webhooks::sign;
use crate::wire::Deleted;

/// Longest webhook URL, in bytes (what browsers and most proxies accept).
pub const MAX_URL_BYTES: usize = 2_048;
/// Characters of the secret shown in `secret_hint` (`whsec_` and 4 more).
pub const SECRET_HINT_CHARS: usize = 10;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(retrieve, update, delete))
        .routes(routes!(deliveries))
}

/// Body of `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where events are POSTed: an `http` or `https` URL, at most 2,048 bytes.
    pub url: String,
    /// Event types to receive, at least one, each one of `dream.completed`,
    /// `dream.failed`, `proposal.created`, `proposal.applied`, `proposal.rejected`,
    /// `memory_store.restored`, `outcomes.regressed`.
    pub events: Vec<String>,
    /// The signing secret, `whsec_` + base64 of 24–64 bytes (Standard Webhooks);
    /// generated (32 random bytes) when left out.
    #[serde(default)]
    pub secret: Option<String>,
    /// A label, at most 1,024 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether it receives events (default true).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Body of `POST /v1/webhooks/{webhook_id}`: fields left out keep their values.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    /// New URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types (replaces the list).
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// New label (`""` clears it).
    #[serde(default)]
    pub description: Option<String>,
    /// Enable or disable. A disabled webhook gets no new events; its pending
    /// deliveries are held until it is enabled again.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replace the secret with a fresh one, returned once in this answer. The old
    /// secret stops signing at once.
    #[serde(default)]
    pub rotate_secret: Option<bool>,
}

/// A webhook (`"type": "webhook"`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookOut {
    /// `"webhook"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `whk_…`.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// Event types it receives.
    pub events: Vec<String>,
    /// The full signing secret in the answer that made it (create, `rotate_secret`);
    /// `null` everywhere else.
    pub secret: Option<String>,
    /// The secret's first 10 characters and `…`, to recognise it.
    pub secret_hint: String,
    /// A label; empty when unset.
    pub description: String,
    /// Whether it receives new events.
    pub enabled: bool,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

impl WebhookOut {
    /// The wire shape, with the secret in full only when `reveal`.
    pub fn new(webhook: Webhook, reveal: bool) -> Self {
        Self {
            kind: "webhook",
            id: webhook.id.to_string(),
            url: webhook.url,
            events: webhook.events,
            secret_hint: secret_hint(&webhook.secret),
            secret: reveal.then_some(webhook.secret),
            description: webhook.description,
            enabled: webhook.enabled,
            created_at: webhook.created_at,
        }
    }
}

/// Returns the first [`SECRET_HINT_CHARS`] characters of `secret` and `…`.
pub fn secret_hint(secret: &str) -> String {
    let mut hint: String = secret.chars().take(SECRET_HINT_CHARS).collect();
    hint.push('…');
    hint
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptOut {
    /// 1 for the first.
    pub attempt: u32,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// The receiver's HTTP status; `null` when it did not answer.
    pub status_code: Option<u16>,
    /// What went wrong; `null` for a 2xx.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// True while the request is under way (no answer yet). An attempt cut short by
    /// a crash reads `false` with an `error` starting `interrupted` once the event
    /// is picked up again.
    pub in_flight: bool,
}

impl From<DeliveryAttempt> for AttemptOut {
    fn from(a: DeliveryAttempt) -> Self {
        Self {
            attempt: a.attempt,
            at: a.at,
            status_code: a.status_code,
            error: a.error,
            duration_ms: a.duration_ms,
            in_flight: a.in_flight,
        }
    }
}

/// One event for one webhook (`"type": "webhook_delivery"`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `"webhook_delivery"`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `msg_…`, sent as `webhook-id` on every attempt.
    pub id: String,
    /// The webhook.
    pub webhook_id: String,
    /// The event type (`dream.completed`, …).
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: &'static str,
    /// RFC 3339: when the event was enqueued.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    /// RFC 3339: when a 2xx came back; `null` until then.
    #[schema(value_type = Option<String>)]
    pub delivered_at: Option<Timestamp>,
    /// RFC 3339: when the next attempt is due (`pending` only; while an attempt is
    /// under way, when its lease runs out).
    #[schema(value_type = Option<String>)]
    pub next_attempt_at: Option<Timestamp>,
    /// Attempts so far, first first.
    pub attempts: Vec<AttemptOut>,
    /// The JSON body sent, with `include_payload=true`; else `null`.
    #[schema(value_type = Option<Object>)]
    pub payload: Option<serde_json::Value>,
}

impl DeliveryOut {
    /// The wire shape, with the payload only when `include_payload`.
    pub fn new(delivery: WebhookDelivery, include_payload: bool) -> Self {
        Self {
            kind: "webhook_delivery",
            id: delivery.id.to_string(),
            webhook_id: delivery.webhook_id.to_string(),
            event_type: delivery.event_type,
            status: delivery.status.as_str(),
            created_at: delivery.created_at,
            delivered_at: delivery.delivered_at,
            next_attempt_at: delivery.next_attempt_at,
            attempts: delivery
                .attempts
                .into_iter()
                .map(AttemptOut::from)
                .collect(),
            payload: include_payload.then_some(delivery.payload),
        }
    }
}

/// Query of `GET /v1/webhooks`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListWebhooks {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
}

/// Query of `GET /v1/webhooks/{webhook_id}/deliveries`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListDeliveries {
    /// 1–100, default 20.
    pub limit: Option<i64>,
    /// `next_page` of the previous page.
    pub page: Option<String>,
    /// Include each delivery's JSON body (default false).
    pub include_payload: Option<bool>,
}

/// Checks a webhook URL: `http` or `https`, with a host, at most [`MAX_URL_BYTES`].
fn validate_url(url: &str) -> ApiResult<String> {
    let bad = |why: &str| ApiError::invalid_with_code("invalid_url", format!("url {why}"));
    if url.len() > MAX_URL_BYTES {
        return Err(bad(&format!(
            "is {} bytes; the limit is {MAX_URL_BYTES}",
            url.len()
        )));
    }
    let parsed = reqwest::Url::parse(url.trim()).map_err(|err| {
        bad(&format!(
            "{url:?} is not an absolute URL ({err}); give one such as https://example.com/hooks/dream"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(&format!(
            "{url:?} has scheme {:?}; webhooks are delivered over http or https",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad(&format!("{url:?} has no host")));
    }
    Ok(url.trim().to_owned())
}

/// Checks event types: at least one, each known; duplicates are dropped, order kept.
fn validate_events(events: Vec<String>) -> ApiResult<Vec<String>> {
    let allowed = || WEBHOOK_EVENTS.join(", ");
    if events.is_empty() {
        return Err(ApiError::invalid_with_code(
            "invalid_events",
            format!(
                "events must name at least one event type; they are {}",
                allowed()
            ),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for event in events {
        if !WEBHOOK_EVENTS.contains(&event.as_str()) {
            return Err(ApiError::invalid_with_code(
                "invalid_events",
                format!(
                    "unknown event type {event:?}; event types are {}",
                    allowed()
                ),
            ));
        }
        if !out.contains(&event) {
            out.push(event);
        }
    }
    Ok(out)
}

fn validate_description(description: String) -> ApiResult<String> {
    dream_types::validate_description(&description)
        .map_err(|err| ApiError::invalid_with_code(err.code, err.message))?;
    Ok(description)
}

fn validate_secret(secret: String) -> ApiResult<String> {
    sign::decode_secret(&secret)
        .map_err(|err| ApiError::invalid_with_code(err.code(), format!("secret: {err}")))?;
    Ok(secret)
}

/// Returns whether a webhook URL (already checked by `validate_url`) points at this
/// machine: `localhost` (or a `*.localhost` name, which resolvers keep local) or a
/// loopback IP literal. Other names are remote whatever they resolve to, since DNS
/// can change after the check.
fn is_loopback_target(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(host) = parsed.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// On an open server (no API keys) webhooks may only target this machine unless
/// `--allow-remote-webhooks` was given: anyone who can reach an open server could
/// otherwise have every memory event sent anywhere.
fn check_target(state: &AppState, url: &str) -> ApiResult<()> {
    if !state.open() || state.config().allow_remote_webhooks || is_loopback_target(url) {
        return Ok(());
    }
    Err(ApiError::invalid_with_code(
        "remote_webhook_not_allowed",
        format!(
            "url {url:?} is not on this machine: a server without API keys delivers webhooks \
             only to localhost, 127.0.0.1 or [::1]. Start it with `dream serve \
             --allow-remote-webhooks` to allow other hosts, or create an API key \
             (`dream keys create --name admin --scopes admin`) and restart"
        ),
    ))
}

async fn get_webhook(state: &AppState, raw: &str) -> ApiResult<Webhook> {
    let id: WebhookId = id("webhook", raw)?;
    Ok(state.store().get_webhook(&id).await?)
}

/// `dream`: create a webhook. Its events are POSTed to `url`, signed with the secret
/// as the Standard Webhooks spec says; the answer is the only one that shows the
/// secret in full.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    request_body = CreateWebhook,
    responses((status = 200, body = WebhookOut), (status = 400, description = "A rule broken")))]
async fn create(
    State(state): State<AppState>,
    Json(body): Json<CreateWebhook>,
) -> ApiResult<axum::Json<WebhookOut>> {
    let url = validate_url(&body.url)?;
    check_target(&state, &url)?;
    let events = validate_events(body.events)?;
    let secret = match body.secret {
        Some(secret) => validate_secret(secret)?,
        None => sign::generate_secret(),
    };
    let description = validate_description(body.description.unwrap_or_default())?;
    let webhook = state
        .store()
        .create_webhook(NewWebhook {
            url,
            events,
            secret,
            description,
            enabled: body.enabled.unwrap_or(true),
        })
        .await?;
    Ok(axum::Json(WebhookOut::new(webhook, true)))
}

/// `dream`: list webhooks, newest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    params(ListWebhooks),
    responses((status = 200, body = Page<WebhookOut>), (status = 400)))]
async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListWebhooks>,
) -> ApiResult<axum::Json<Page<WebhookOut>>> {
    let limit = page::limit(query.limit)?;
    let mut webhooks = state.store().list_webhooks().await?;
    webhooks.reverse();
    let page = page::paginate(
        webhooks,
        |w| format!("{}|{}", w.created_at, w.id),
        Order::Desc,
        query.page.as_deref(),
        limit,
    )?;
    Ok(axum::Json(page.map(|w| WebhookOut::new(w, false))))
}

/// `dream`: retrieve a webhook (the secret as a hint only).
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path, description = "`whk_…`")),
    responses((status = 200, body = WebhookOut), (status = 404)))]
async fn retrieve(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
) -> ApiResult<axum::Json<WebhookOut>> {
    Ok(axum::Json(WebhookOut::new(
        get_webhook(&state, &webhook_id).await?,
        false,
    )))
}

/// `dream`: update a webhook; fields left out keep their values. With
/// `rotate_secret: true` the answer shows the new secret in full, once.
#[utoipa::path(post, path = "/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path)),
    request_body = UpdateWebhook,
    responses((status = 200, body = WebhookOut), (status = 400), (status = 404)))]
async fn update(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
    Json(body): Json<UpdateWebhook>,
) -> ApiResult<axum::Json<WebhookOut>> {
    let current = get_webhook(&state, &webhook_id).await?;
    let rotate = body.rotate_secret.unwrap_or(false);
    let url = body.url.as_deref().map(validate_url).transpose()?;
    if let Some(url) = &url {
        check_target(&state, url)?;
    }
    let new = NewWebhook {
        url: url.unwrap_or(current.url),
        events: body
            .events
            .map(validate_events)
            .transpose()?
            .unwrap_or(current.events),
        secret: if rotate {
            sign::generate_secret()
        } else {
            current.secret
        },
        description: body
            .description
            .map(validate_description)
            .transpose()?
            .unwrap_or(current.description),
        enabled: body.enabled.unwrap_or(current.enabled),
    };
    let webhook = state.store().update_webhook(&current.id, new).await?;
    Ok(axum::Json(WebhookOut::new(webhook, rotate)))
}

/// `dream`: delete a webhook with its delivery log; pending deliveries are dropped.
#[utoipa::path(delete, path = "/v1/webhooks/{webhook_id}", tag = "webhooks",
    params(("webhook_id" = String, Path)),
    responses((status = 200, body = Deleted), (status = 404)))]
async fn delete(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
) -> ApiResult<axum::Json<Deleted>> {
    let id: WebhookId = id("webhook", &webhook_id)?;
    state.store().delete_webhook(&id).await?;
    Ok(axum::Json(Deleted {
        kind: "webhook_deleted",
        id: id.to_string(),
    }))
}

/// `dream`: a webhook's delivery log, newest first, each delivery with its attempts.
#[utoipa::path(get, path = "/v1/webhooks/{webhook_id}/deliveries", tag = "webhooks",
    params(("webhook_id" = String, Path), ListDeliveries),
    responses((status = 200, body = Page<DeliveryOut>), (status = 400), (status = 404)))]
async fn deliveries(
    State(state): State<AppState>,
    Path(webhook_id): Path<String>,
    Query(query): Query<ListDeliveries>,
) -> ApiResult<axum::Json<Page<DeliveryOut>>> {
    let limit = page::limit(query.limit)?;
    let webhook = get_webhook(&state, &webhook_id).await?;
    let key = |d: &WebhookDelivery| format!("{}|{}", d.created_at, d.id);
    let cursor = query.page.as_deref();
    // The store lists the newest N; read more until the page after the cursor is
    // full or the log ends.
    let mut fetch = limit.saturating_add(1);
    let page = loop {
        let fetched = state
            .store()
            .list_deliveries(&webhook.id, u64::try_from(fetch).unwrap_or(u64::MAX))
            .await?;
        let exhausted = fetched.len() < fetch;
        let page = page::paginate(fetched, key, Order::Desc, cursor, limit)?;
        if exhausted || page.next_page.is_some() {
            break page;
        }
        fetch = fetch.saturating_mul(4);
    };
    let include_payload = query.include_payload.unwrap_or(false);
    Ok(axum::Json(
        page.map(|d| DeliveryOut::new(d, include_payload)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert_eq!(
            validate_url("https://example.com/hooks").unwrap(),
            "https://example.com/hooks"
        );
        assert!(validate_url("http://127.0.0.1:9/x?y=1").is_ok());
        for bad in ["ftp://example.com/", "example.com/hooks", "", "http://"] {
            let err = validate_url(bad).unwrap_err();
            assert_eq!(err.code.as_deref(), Some("invalid_url"), "{bad}: {err}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(validate_url(&long).unwrap_err().message.contains("limit"));
    }

    #[test]
    fn only_loopback_hosts_are_local_targets() {
        for local in [
            "http://localhost:9/x",
            "http://LOCALHOST./x",
            "http://hooks.localhost/x",
            "http://127.0.0.1/x",
            "http://127.8.9.1/x",
            "http://[::1]:80/x",
        ] {
            assert!(is_loopback_target(local), "{local}");
        }
        for remote in [
            "https://example.com/x",
            "http://10.0.0.1/x",
            "http://localhost.example.com/x",
            "http://[::ffff:8.8.8.8]/x",
            "http://0.0.0.0/x",
        ] {
            assert!(!is_loopback_target(remote), "{remote}");
        }
    }

    #[test]
    fn events_must_be_known_and_are_deduplicated() {
        assert_eq!(
            validate_events(vec!["dream.completed".into(), "dream.completed".into()]).unwrap(),
            ["dream.completed"]
        );
        let err = validate_events(vec!["dream.started".into()]).unwrap_err();
        assert!(err.message.contains("\"dream.started\""), "{err}");
        assert!(err.message.contains("memory_store.restored"), "{err}");
        assert!(validate_events(Vec::new()).is_err());
    }

    #[test]
    fn hints_show_ten_characters() {
        assert_eq!(
            secret_hint("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
            "whsec_MfKQ…"
        );
    }
}
