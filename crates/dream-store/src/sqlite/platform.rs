//! API keys, dream schedules and their runs, webhooks and their delivery outbox in SQLite.

use std::collections::HashMap;
use std::str::FromStr;

use dream_types::{
    ApiKey, ApiKeyId, DeliveryAttempt, DeliveryId, DeliveryStatus, DreamId, DreamSchedule,
    ScheduleId, ScheduleRun, ScheduleWindow, Timestamp, Webhook, WebhookDelivery, WebhookId,
    WindowFilters, new_id,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::dream::from_json;
use super::memory::{json, not_found, to_i64, to_u64};
use super::{SqliteStore, corrupt, parse_time};
use crate::{DeliveryOutcome, NewApiKey, NewSchedule, NewWebhook, StoreResult};

const API_KEY_COLUMNS: &str = "id, name, hint, scopes, created_at, last_used_at, revoked_at";
const SCHEDULE_COLUMNS: &str = "id, memory_store_id, cron, timezone, window_last_sessions, \
    window_since_seconds, min_new_sessions, mode, output_behavior, min_support, enabled, \
    created_at, updated_at, window_filters";
const WEBHOOK_COLUMNS: &str = "id, url, events, secret, description, enabled, created_at";
const DELIVERY_COLUMNS: &str =
    "id, webhook_id, event_type, payload, status, next_attempt_at, created_at, delivered_at";

/// How many ids one `IN (…)` list binds, well under SQLite's variable limit.
const IDS_PER_QUERY: usize = 500;

fn parse_id<T: FromStr>(row: &SqliteRow, column: &str, what: &str) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    T::from_str(&text).map_err(|_| corrupt(what, &text))
}

fn required_time(row: &SqliteRow, column: &str) -> StoreResult<Timestamp> {
    let text: String = row.try_get(column)?;
    parse_time(Some(text.clone()), column)?.ok_or_else(|| corrupt(column, &text))
}

fn optional_time(row: &SqliteRow, column: &str) -> StoreResult<Option<Timestamp>> {
    parse_time(row.try_get(column)?, column)
}

fn optional_u64(row: &SqliteRow, column: &str) -> StoreResult<Option<u64>> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(to_u64))
}

/// Returns the serde name of a unit enum (`review`, `create_new`).
fn enum_name<T: Serialize>(value: &T) -> StoreResult<String> {
    let text = json(value)?;
    Ok(text.trim_matches('"').to_owned())
}

fn enum_from_name<T: DeserializeOwned>(what: &str, name: &str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned()))
        .map_err(|_| corrupt(what, name))
}

/// Returns a schedule's window filters as stored: NULL when none is set.
fn filters_json(filters: &WindowFilters) -> StoreResult<Option<String>> {
    if filters.is_empty() {
        Ok(None)
    } else {
        json(filters).map(Some)
    }
}

fn api_key_from_row(row: &SqliteRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: parse_id(row, "id", "API key id")?,
        name: row.try_get("name")?,
        hint: row.try_get("hint")?,
        scopes: from_json("API key scopes", &row.try_get::<String, _>("scopes")?)?,
        created_at: required_time(row, "created_at")?,
        last_used_at: optional_time(row, "last_used_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
    })
}

fn schedule_from_row(row: &SqliteRow) -> StoreResult<DreamSchedule> {
    Ok(DreamSchedule {
        id: parse_id(row, "id", "dream schedule id")?,
        memory_store_id: parse_id(row, "memory_store_id", "memory store id")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        window: ScheduleWindow {
            last_sessions: optional_u64(row, "window_last_sessions")?,
            since_seconds: optional_u64(row, "window_since_seconds")?,
        },
        filters: match row.try_get::<Option<String>, _>("window_filters")? {
            Some(text) => from_json("schedule window filters", &text)?,
            None => WindowFilters::default(),
        },
        min_new_sessions: optional_u64(row, "min_new_sessions")?,
        mode: enum_from_name("dream mode", &row.try_get::<String, _>("mode")?)?,
        output_behavior: enum_from_name(
            "output behavior",
            &row.try_get::<String, _>("output_behavior")?,
        )?,
        min_support: optional_u64(row, "min_support")?,
        enabled: row.try_get("enabled")?,
        created_at: required_time(row, "created_at")?,
        updated_at: required_time(row, "updated_at")?,
    })
}

fn run_from_row(row: &SqliteRow) -> StoreResult<ScheduleRun> {
    let dream_id: Option<String> = row.try_get("dream_id")?;
    Ok(ScheduleRun {
        schedule_id: parse_id(row, "schedule_id", "dream schedule id")?,
        slot: required_time(row, "slot")?,
        dream_id: dream_id
            .map(|text| DreamId::from_str(&text).map_err(|_| corrupt("dream id", &text)))
            .transpose()?,
        skipped_reason: row.try_get("skipped_reason")?,
        claimed_at: required_time(row, "claimed_at")?,
    })
}

fn webhook_from_row(row: &SqliteRow) -> StoreResult<Webhook> {
    Ok(Webhook {
        id: parse_id(row, "id", "webhook id")?,
        url: row.try_get("url")?,
        events: from_json("webhook events", &row.try_get::<String, _>("events")?)?,
        secret: row.try_get("secret")?,
        description: row.try_get("description")?,
        enabled: row.try_get("enabled")?,
        created_at: required_time(row, "created_at")?,
    })
}

/// Reads a delivery row without its attempts.
fn delivery_from_row(row: &SqliteRow) -> StoreResult<WebhookDelivery> {
    let status: String = row.try_get("status")?;
    Ok(WebhookDelivery {
        id: parse_id(row, "id", "webhook delivery id")?,
        webhook_id: parse_id(row, "webhook_id", "webhook id")?,
        event_type: row.try_get("event_type")?,
        payload: from_json("delivery payload", &row.try_get::<String, _>("payload")?)?,
        status: DeliveryStatus::from_name(&status)
            .ok_or_else(|| corrupt("delivery status", &status))?,
        attempts: Vec::new(),
        next_attempt_at: optional_time(row, "next_attempt_at")?,
        created_at: required_time(row, "created_at")?,
        delivered_at: optional_time(row, "delivered_at")?,
    })
}

fn attempt_from_row(row: &SqliteRow) -> StoreResult<DeliveryAttempt> {
    let attempt: i64 = row.try_get("attempt")?;
    let status_code: Option<i64> = row.try_get("status_code")?;
    Ok(DeliveryAttempt {
        attempt: u32::try_from(attempt).map_err(|_| corrupt("attempt", &attempt.to_string()))?,
        at: required_time(row, "at")?,
        status_code: status_code
            .map(|code| u16::try_from(code).map_err(|_| corrupt("status code", &code.to_string())))
            .transpose()?,
        error: row.try_get("error")?,
        duration_ms: to_u64(row.try_get("duration_ms")?),
        in_flight: row.try_get::<i64, _>("in_flight")? != 0,
    })
}

/// The `error` of an attempt that was in flight when its worker went away.
const INTERRUPTED_ATTEMPT: &str = "interrupted: no answer was recorded (the server stopped \
                                       or lost its lease while sending); the event is sent again";

/// Reads the deliveries with these ids, with their attempts, in the order of `ids`
/// (ids not stored are left out).
async fn read_deliveries(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> StoreResult<Vec<WebhookDelivery>> {
    let mut found: HashMap<String, WebhookDelivery> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id IN ("
        ));
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(id.as_str());
        }
        query.push(")");
        for row in query.build().fetch_all(&mut *conn).await? {
            let delivery = delivery_from_row(&row)?;
            found.insert(delivery.id.as_str().to_owned(), delivery);
        }

        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT delivery_id, attempt, at, status_code, error, duration_ms, in_flight \
             FROM delivery_attempts WHERE delivery_id IN (",
        );
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(id.as_str());
        }
        query.push(") ORDER BY delivery_id, attempt");
        for row in query.build().fetch_all(&mut *conn).await? {
            let delivery_id: String = row.try_get("delivery_id")?;
            if let Some(delivery) = found.get_mut(&delivery_id) {
                delivery.attempts.push(attempt_from_row(&row)?);
            }
        }
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

impl SqliteStore {
    // --- API keys -----------------------------------------------------------------

    pub(super) async fn create_api_key_impl(&self, new: NewApiKey) -> StoreResult<ApiKey> {
        let key = ApiKey {
            id: new_id(self.ids.as_ref()),
            name: new.name,
            hint: new.hint,
            scopes: new.scopes,
            created_at: self.clock.now(),
            last_used_at: None,
            revoked_at: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, name, hint, scopes, secret_sha256, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.as_str())
        .bind(&key.name)
        .bind(&key.hint)
        .bind(json(&key.scopes)?)
        .bind(&new.secret_sha256)
        .bind(key.created_at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(key)
    }

    pub(super) async fn api_key_by_secret_impl(
        &self,
        secret_sha256: &str,
    ) -> StoreResult<Option<ApiKey>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE secret_sha256 = ?"
        )))
        .bind(secret_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(api_key_from_row).transpose()
    }

    async fn get_api_key(&self, id: &ApiKeyId) -> StoreResult<ApiKey> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(api_key_from_row)
            .transpose()?
            .ok_or_else(|| not_found("API key", id))
    }

    pub(super) async fn list_api_keys_impl(&self) -> StoreResult<Vec<ApiKey>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(api_key_from_row).collect()
    }

    pub(super) async fn revoke_api_key_impl(&self, id: &ApiKeyId) -> StoreResult<ApiKey> {
        let result =
            sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
                .bind(self.clock.now().to_rfc3339())
                .bind(id.as_str())
                .execute(&self.pool)
                .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("API key", id));
        }
        self.get_api_key(id).await
    }

    pub(super) async fn touch_api_key_impl(&self, id: &ApiKeyId, at: Timestamp) -> StoreResult<()> {
        // Requests finish out of order; the last use never moves back.
        let at = at.to_rfc3339();
        sqlx::query(
            "UPDATE api_keys SET last_used_at = ? \
             WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
        )
        .bind(&at)
        .bind(id.as_str())
        .bind(&at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // --- Dream schedules ----------------------------------------------------------

    pub(super) async fn create_schedule_impl(
        &self,
        new: NewSchedule,
    ) -> StoreResult<DreamSchedule> {
        self.get_memory_store_impl(&new.memory_store_id).await?;
        let id: ScheduleId = new_id(self.ids.as_ref());
        let now = self.clock.now().to_rfc3339();
        sqlx::query(
            "INSERT INTO dream_schedules (id, memory_store_id, cron, timezone, \
             window_last_sessions, window_since_seconds, min_new_sessions, mode, output_behavior, \
             min_support, enabled, created_at, updated_at, window_filters) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(new.memory_store_id.as_str())
        .bind(&new.cron)
        .bind(&new.timezone)
        .bind(new.window.last_sessions.map(to_i64))
        .bind(new.window.since_seconds.map(to_i64))
        .bind(new.min_new_sessions.map(to_i64))
        .bind(enum_name(&new.mode)?)
        .bind(enum_name(&new.output_behavior)?)
        .bind(new.min_support.map(to_i64))
        .bind(new.enabled)
        .bind(&now)
        .bind(&now)
        .bind(filters_json(&new.filters)?)
        .execute(&self.pool)
        .await?;
        self.get_schedule_impl(&id).await
    }

    pub(super) async fn get_schedule_impl(&self, id: &ScheduleId) -> StoreResult<DreamSchedule> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM dream_schedules WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(schedule_from_row)
            .transpose()?
            .ok_or_else(|| not_found("dream schedule", id))
    }

    pub(super) async fn list_schedules_impl(&self) -> StoreResult<Vec<DreamSchedule>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM dream_schedules ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    pub(super) async fn update_schedule_impl(
        &self,
        id: &ScheduleId,
        new: NewSchedule,
    ) -> StoreResult<DreamSchedule> {
        self.get_schedule_impl(id).await?;
        self.get_memory_store_impl(&new.memory_store_id).await?;
        let result = sqlx::query(
            "UPDATE dream_schedules SET memory_store_id = ?, cron = ?, timezone = ?, \
             window_last_sessions = ?, window_since_seconds = ?, min_new_sessions = ?, mode = ?, \
             output_behavior = ?, min_support = ?, enabled = ?, updated_at = ?, \
             window_filters = ? WHERE id = ?",
        )
        .bind(new.memory_store_id.as_str())
        .bind(&new.cron)
        .bind(&new.timezone)
        .bind(new.window.last_sessions.map(to_i64))
        .bind(new.window.since_seconds.map(to_i64))
        .bind(new.min_new_sessions.map(to_i64))
        .bind(enum_name(&new.mode)?)
        .bind(enum_name(&new.output_behavior)?)
        .bind(new.min_support.map(to_i64))
        .bind(new.enabled)
        .bind(self.clock.now().to_rfc3339())
        .bind(filters_json(&new.filters)?)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("dream schedule", id));
        }
        self.get_schedule_impl(id).await
    }

    pub(super) async fn delete_schedule_impl(&self, id: &ScheduleId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM dream_schedules WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("dream schedule", id));
        }
        Ok(())
    }

    pub(super) async fn claim_schedule_slot_impl(
        &self,
        id: &ScheduleId,
        slot: Timestamp,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM dream_schedules WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(not_found("dream schedule", id));
        }
        // The primary key decides: only the first insert of (schedule, slot) adds a row.
        let result = sqlx::query(
            "INSERT INTO schedule_runs (schedule_id, slot, claimed_at) VALUES (?, ?, ?) \
             ON CONFLICT (schedule_id, slot) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(slot.to_rfc3339())
        .bind(self.clock.now().to_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(result.rows_affected() == 1)
    }

    pub(super) async fn finish_schedule_run_impl(
        &self,
        id: &ScheduleId,
        slot: Timestamp,
        dream_id: Option<&DreamId>,
        skipped_reason: Option<&str>,
    ) -> StoreResult<()> {
        let result = sqlx::query(
            "UPDATE schedule_runs SET dream_id = ?, skipped_reason = ? \
             WHERE schedule_id = ? AND slot = ?",
        )
        .bind(dream_id.map(DreamId::as_str))
        .bind(skipped_reason)
        .bind(id.as_str())
        .bind(slot.to_rfc3339())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            // Either the schedule is gone or the slot was never claimed.
            self.get_schedule_impl(id).await?;
            return Err(not_found(
                "dream schedule",
                format!("{id} run at {slot} (claim the slot first)"),
            ));
        }
        Ok(())
    }

    pub(super) async fn schedule_runs_impl(
        &self,
        id: &ScheduleId,
        limit: u64,
    ) -> StoreResult<Vec<ScheduleRun>> {
        let rows = sqlx::query(
            "SELECT schedule_id, slot, dream_id, skipped_reason, claimed_at FROM schedule_runs \
             WHERE schedule_id = ? ORDER BY slot DESC LIMIT ?",
        )
        .bind(id.as_str())
        .bind(to_i64(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(run_from_row).collect()
    }

    // --- Webhooks -----------------------------------------------------------------

    pub(super) async fn create_webhook_impl(&self, new: NewWebhook) -> StoreResult<Webhook> {
        let webhook = Webhook {
            id: new_id(self.ids.as_ref()),
            url: new.url,
            events: new.events,
            secret: new.secret,
            description: new.description,
            enabled: new.enabled,
            created_at: self.clock.now(),
        };
        sqlx::query(
            "INSERT INTO webhooks (id, url, events, secret, description, enabled, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(webhook.id.as_str())
        .bind(&webhook.url)
        .bind(json(&webhook.events)?)
        .bind(&webhook.secret)
        .bind(&webhook.description)
        .bind(webhook.enabled)
        .bind(webhook.created_at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(webhook)
    }

    pub(super) async fn get_webhook_impl(&self, id: &WebhookId) -> StoreResult<Webhook> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref()
            .map(webhook_from_row)
            .transpose()?
            .ok_or_else(|| not_found("webhook", id))
    }

    pub(super) async fn list_webhooks_impl(&self) -> StoreResult<Vec<Webhook>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(webhook_from_row).collect()
    }

    pub(super) async fn update_webhook_impl(
        &self,
        id: &WebhookId,
        new: NewWebhook,
    ) -> StoreResult<Webhook> {
        let result = sqlx::query(
            "UPDATE webhooks SET url = ?, events = ?, secret = ?, description = ?, enabled = ? \
             WHERE id = ?",
        )
        .bind(&new.url)
        .bind(json(&new.events)?)
        .bind(&new.secret)
        .bind(&new.description)
        .bind(new.enabled)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("webhook", id));
        }
        self.get_webhook_impl(id).await
    }

    pub(super) async fn delete_webhook_impl(&self, id: &WebhookId) -> StoreResult<()> {
        // Deliveries and their attempts go with it (ON DELETE CASCADE).
        let result = sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("webhook", id));
        }
        Ok(())
    }

    pub(super) async fn enqueue_event_impl(
        &self,
        event_type: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let now = self.clock.now();
        let payload_json = json(payload)?;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE enabled = 1 ORDER BY created_at, id"
        )))
        .fetch_all(&mut *tx)
        .await?;
        let mut deliveries = Vec::new();
        for row in &rows {
            let webhook = webhook_from_row(row)?;
            if !webhook.events.iter().any(|e| e == event_type) {
                continue;
            }
            let delivery = WebhookDelivery {
                id: new_id(self.ids.as_ref()),
                webhook_id: webhook.id,
                event_type: event_type.to_owned(),
                payload: payload.clone(),
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
                delivered_at: None,
            };
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_type, payload, status, \
                 next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            )
            .bind(delivery.id.as_str())
            .bind(delivery.webhook_id.as_str())
            .bind(event_type)
            .bind(&payload_json)
            .bind(now.to_rfc3339())
            .bind(now.to_rfc3339())
            .execute(&mut *tx)
            .await?;
            deliveries.push(delivery);
        }
        tx.commit().await?;
        Ok(deliveries)
    }

    pub(super) async fn claim_due_deliveries_impl(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, created_at, id LIMIT ?",
        )
        .bind(now.to_rfc3339())
        .bind(to_i64(limit))
        .fetch_all(&mut *tx)
        .await?;
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let mut query =
                QueryBuilder::<Sqlite>::new("UPDATE webhook_deliveries SET next_attempt_at = ");
            query.push_bind(lease_until.to_rfc3339());
            query.push(" WHERE id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            query.push(")");
            query.build().execute(&mut *tx).await?;
            let mut query =
                QueryBuilder::<Sqlite>::new("UPDATE delivery_attempts SET in_flight = 0, error = ");
            query.push_bind(INTERRUPTED_ATTEMPT);
            query.push(" WHERE in_flight = 1 AND delivery_id IN (");
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str());
            }
            query.push(")");
            query.build().execute(&mut *tx).await?;
        }
        let deliveries = read_deliveries(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(deliveries)
    }

    pub(super) async fn start_delivery_attempt_impl(
        &self,
        id: &DeliveryId,
        at: Timestamp,
    ) -> StoreResult<u32> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let last_attempt: Option<i64> = sqlx::query_scalar(
            "SELECT COALESCE(MAX(a.attempt), 0) FROM webhook_deliveries d \
             LEFT JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.id = ? GROUP BY d.id",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(last_attempt) = last_attempt else {
            return Err(not_found("webhook delivery", id));
        };
        let number = last_attempt + 1;
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, \
             duration_ms, in_flight) VALUES (?, ?, ?, NULL, NULL, 0, 1)",
        )
        .bind(id.as_str())
        .bind(number)
        .bind(at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        u32::try_from(number).map_err(|_| corrupt("attempt", &number.to_string()))
    }

    pub(super) async fn record_delivery_attempt_impl(
        &self,
        id: &DeliveryId,
        outcome: DeliveryOutcome,
    ) -> StoreResult<WebhookDelivery> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT d.status, COALESCE(MAX(a.attempt), 0) FROM webhook_deliveries d \
             LEFT JOIN delivery_attempts a ON a.delivery_id = d.id WHERE d.id = ? GROUP BY d.id",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((status, last_attempt)) = row else {
            return Err(not_found("webhook delivery", id));
        };
        // Attempts are numbered by the store, after those already recorded: two workers
        // that both tried (a lease ran out mid-send) get two attempts, not a clash.
        let DeliveryOutcome {
            attempt,
            delivered,
            next_attempt_at,
        } = outcome;
        let finished = sqlx::query(
            "UPDATE delivery_attempts SET in_flight = 0, status_code = ?, error = ?, \
             duration_ms = ? WHERE delivery_id = ? AND attempt = ? AND in_flight = 1",
        )
        .bind(attempt.status_code.map(i64::from))
        .bind(&attempt.error)
        .bind(to_i64(attempt.duration_ms))
        .bind(id.as_str())
        .bind(i64::from(attempt.attempt))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if finished == 0 {
            sqlx::query(
                "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, \
                 duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(id.as_str())
            .bind(last_attempt + 1)
            .bind(attempt.at.to_rfc3339())
            .bind(attempt.status_code.map(i64::from))
            .bind(&attempt.error)
            .bind(to_i64(attempt.duration_ms))
            .execute(&mut *tx)
            .await?;
        }
        // A delivered event stays delivered: a late report from a worker whose lease
        // ran out must not send it again.
        if status != DeliveryStatus::Delivered.as_str() {
            let (status, next_attempt_at, delivered_at) = match (delivered, next_attempt_at) {
                (true, _) => (DeliveryStatus::Delivered, None, Some(attempt.at)),
                (false, Some(next)) => (DeliveryStatus::Pending, Some(next), None),
                (false, None) => (DeliveryStatus::Failed, None, None),
            };
            sqlx::query(
                "UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, delivered_at = ? \
                 WHERE id = ?",
            )
            .bind(status.as_str())
            .bind(next_attempt_at.map(|t| t.to_rfc3339()))
            .bind(delivered_at.map(|t| t.to_rfc3339()))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        }
        let delivery = read_deliveries(&mut tx, &[id.as_str().to_owned()])
            .await?
            .pop()
            .ok_or_else(|| not_found("webhook delivery", id))?;
        tx.commit().await?;
        Ok(delivery)
    }

    pub(super) async fn list_deliveries_impl(
        &self,
        webhook: &WebhookId,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let mut conn = self.pool.acquire().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE webhook_id = ? \
             ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(webhook.as_str())
        .bind(to_i64(limit))
        .fetch_all(&mut *conn)
        .await?;
        read_deliveries(&mut conn, &ids).await
    }
}
