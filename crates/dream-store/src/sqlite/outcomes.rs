//! Outcomes tracking in SQLite: configuration, session metrics, regression checks.

use dream_types::{MemoryStoreId, MetricSource, RegressionCheck, SessionId, SessionMetric};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::dream::from_json;
use super::memory::{json, not_found};
use super::{SqliteStore, corrupt, parse_time};
use crate::StoreResult;

/// Most ids bound in one `IN (…)` list (SQLite's default limit is 32,766 variables).
const IN_CHUNK: usize = 500;

fn source_name(source: MetricSource) -> &'static str {
    match source {
        MetricSource::Builtin => "builtin",
        MetricSource::Custom => "custom",
    }
}

impl SqliteStore {
    pub(super) async fn put_builtin_metrics_impl(
        &self,
        session: &SessionId,
        definition_version: u32,
        content_hash: &str,
        metrics: &[(String, f64)],
    ) -> StoreResult<()> {
        let now = self.clock.now().to_rfc3339();
        // IMMEDIATE: this transaction reads before it writes; a deferred one could not
        // upgrade to a writer once another connection committed (SQLITE_BUSY, no wait).
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM sessions WHERE id = ?")
            .bind(session.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(not_found("session", session));
        }
        Self::write_builtin_metrics(
            &mut tx,
            session.as_str(),
            definition_version,
            content_hash,
            metrics,
            &now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces a session's built-in metrics inside `tx` (the session's own write
    /// transaction at ingest, or [`Self::put_builtin_metrics_impl`]'s).
    pub(super) async fn write_builtin_metrics(
        tx: &mut Transaction<'static, Sqlite>,
        session: &str,
        definition_version: u32,
        content_hash: &str,
        metrics: &[(String, f64)],
        now: &str,
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM session_metrics WHERE session_id = ? AND source = 'builtin'")
            .bind(session)
            .execute(&mut **tx)
            .await?;
        for (name, value) in metrics {
            sqlx::query(
                "INSERT INTO session_metrics (session_id, name, value, source, definition_version, recorded_at) \
                 VALUES (?, ?, ?, 'builtin', ?, ?) \
                 ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value, \
                 source = 'builtin', definition_version = excluded.definition_version, \
                 recorded_at = excluded.recorded_at",
            )
            .bind(session)
            .bind(name)
            .bind(value)
            .bind(i64::from(definition_version))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO session_metrics_state (session_id, definition_version, content_hash, computed_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET \
             definition_version = excluded.definition_version, content_hash = excluded.content_hash, \
             computed_at = excluded.computed_at",
        )
        .bind(session)
        .bind(i64::from(definition_version))
        .bind(content_hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    pub(super) async fn record_metric_impl(&self, metric: &SessionMetric) -> StoreResult<()> {
        let result = sqlx::query(
            "INSERT INTO session_metrics (session_id, name, value, source, definition_version, recorded_at) \
             SELECT id, ?, ?, ?, ?, ? FROM sessions WHERE id = ? \
             ON CONFLICT (session_id, name) DO UPDATE SET value = excluded.value, \
             source = excluded.source, definition_version = excluded.definition_version, \
             recorded_at = excluded.recorded_at",
        )
        .bind(&metric.name)
        .bind(metric.value)
        .bind(source_name(metric.source))
        .bind(i64::from(metric.definition_version))
        .bind(metric.recorded_at.to_rfc3339())
        .bind(metric.session_id.as_str())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("session", &metric.session_id));
        }
        Ok(())
    }

    pub(super) async fn session_metrics_impl(
        &self,
        sessions: &[SessionId],
    ) -> StoreResult<Vec<SessionMetric>> {
        let mut out = Vec::new();
        for chunk in sessions.chunks(IN_CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT session_id, name, value, source, definition_version, recorded_at \
                 FROM session_metrics WHERE session_id IN (",
            );
            let mut list = query.separated(", ");
            for id in chunk {
                list.push_bind(id.as_str().to_owned());
            }
            query.push(") ORDER BY session_id, name");
            for row in query.build().fetch_all(&self.pool).await? {
                let session: String = row.try_get("session_id")?;
                let source: String = row.try_get("source")?;
                out.push(SessionMetric {
                    session_id: session
                        .parse()
                        .map_err(|_| corrupt("session id", &session))?,
                    name: row.try_get("name")?,
                    value: row.try_get("value")?,
                    source: match source.as_str() {
                        "builtin" => MetricSource::Builtin,
                        "custom" => MetricSource::Custom,
                        other => return Err(corrupt("metric source", other)),
                    },
                    definition_version: u32::try_from(row.try_get::<i64, _>("definition_version")?)
                        .unwrap_or(0),
                    recorded_at: parse_time(row.try_get("recorded_at")?, "metric time")?
                        .ok_or_else(|| corrupt("metric time", "NULL"))?,
                });
            }
        }
        Ok(out)
    }

    pub(super) async fn sessions_needing_metrics_impl(
        &self,
        definition_version: u32,
        limit: u64,
    ) -> StoreResult<Vec<SessionId>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT s.id FROM sessions s LEFT JOIN session_metrics_state m ON m.session_id = s.id \
             WHERE m.session_id IS NULL OR m.definition_version != ? OR m.content_hash != s.content_hash \
             ORDER BY s.ingested_at, s.id LIMIT ?",
        )
        .bind(i64::from(definition_version))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|id| id.parse().map_err(|_| corrupt("session id", id)))
            .collect()
    }

    pub(super) async fn record_regression_check_impl(
        &self,
        mut check: RegressionCheck,
    ) -> StoreResult<RegressionCheck> {
        check.id = dream_types::new_id(self.ids.as_ref());
        check.checked_at = self.clock.now();
        sqlx::query(
            "INSERT INTO regression_checks (id, memory_store_id, dream_id, applied_store_version, \
             verdict, action, restored_to_version, rollback_store_version, comparison, checked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (dream_id) DO UPDATE SET verdict = excluded.verdict, action = excluded.action, \
             restored_to_version = excluded.restored_to_version, \
             rollback_store_version = excluded.rollback_store_version, \
             comparison = excluded.comparison, checked_at = excluded.checked_at",
        )
        .bind(check.id.as_str())
        .bind(check.memory_store_id.as_str())
        .bind(check.dream_id.as_str())
        .bind(i64::try_from(check.applied_store_version).unwrap_or(i64::MAX))
        .bind(&check.verdict)
        .bind(&check.action)
        .bind(check.restored_to_version.and_then(|v| i64::try_from(v).ok()))
        .bind(check.rollback_store_version.and_then(|v| i64::try_from(v).ok()))
        .bind(json(&check.comparison)?)
        .bind(check.checked_at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        let stored: String =
            sqlx::query_scalar("SELECT id FROM regression_checks WHERE dream_id = ?")
                .bind(check.dream_id.as_str())
                .fetch_one(&self.pool)
                .await?;
        check.id = stored
            .parse()
            .map_err(|_| corrupt("regression check id", &stored))?;
        Ok(check)
    }

    pub(super) async fn regression_checks_impl(
        &self,
        store: &MemoryStoreId,
    ) -> StoreResult<Vec<RegressionCheck>> {
        let rows = sqlx::query(
            "SELECT id, memory_store_id, dream_id, applied_store_version, verdict, action, \
             restored_to_version, rollback_store_version, comparison, checked_at \
             FROM regression_checks WHERE memory_store_id = ? ORDER BY checked_at DESC, id DESC",
        )
        .bind(store.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let text = |name: &str| -> StoreResult<String> { Ok(row.try_get(name)?) };
                let version = |name: &str| -> StoreResult<Option<u64>> {
                    Ok(row
                        .try_get::<Option<i64>, _>(name)?
                        .and_then(|v| u64::try_from(v).ok()))
                };
                Ok(RegressionCheck {
                    id: text("id")?
                        .parse()
                        .map_err(|_| corrupt("regression check id", "id"))?,
                    memory_store_id: text("memory_store_id")?
                        .parse()
                        .map_err(|_| corrupt("store id", "regression check"))?,
                    dream_id: text("dream_id")?
                        .parse()
                        .map_err(|_| corrupt("dream id", "regression check"))?,
                    applied_store_version: version("applied_store_version")?.unwrap_or(0),
                    verdict: text("verdict")?,
                    action: text("action")?,
                    restored_to_version: version("restored_to_version")?,
                    rollback_store_version: version("rollback_store_version")?,
                    comparison: from_json("comparison", &text("comparison")?)?,
                    checked_at: parse_time(Some(text("checked_at")?), "check time")?
                        .ok_or_else(|| corrupt("check time", "NULL"))?,
                })
            })
            .collect()
    }
}
