//! Sessions, events and outcomes in SQLite.

use std::ops::Range;
use std::str::FromStr;

use dream_types::{
    Event, EventKind, MemoryVersionRef, Outcome, OutcomeFilter, OutcomeResult, Session,
    SessionFilter, SessionHead, SessionId, SourceKind, Timestamp, new_id,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite, Transaction};

use super::{SqliteStore, corrupt, parse_time};
use crate::merge::{Existing, Merge, MergeStep, Plan};
use crate::{
    EventSource, SessionRef, SourceEnd, StoreError, StoreResult, WriteOptions, WriteReport,
    WriteStatus,
};

/// Events written per `INSERT` statement (10 columns each, well under SQLite's
/// 32,766 bound-parameter limit).
const EVENT_BATCH: usize = 256;

impl SqliteStore {
    async fn find_existing(
        tx: &mut Transaction<'static, Sqlite>,
        head: &SessionHead,
    ) -> StoreResult<Option<Existing>> {
        let row = sqlx::query(
            "SELECT id, event_count, events_digest, content_hash FROM sessions \
             WHERE agent = ? AND source_session_id = ?",
        )
        .bind(head.agent.clone().unwrap_or_default())
        .bind(&head.source_session_id)
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|row| {
            Ok(Existing {
                id: row.try_get("id")?,
                event_count: u64::try_from(row.try_get::<i64, _>("event_count")?).unwrap_or(0),
                events_digest: row.try_get("events_digest")?,
                content_hash: row.try_get("content_hash")?,
            })
        })
        .transpose()
    }

    async fn insert_events(
        tx: &mut Transaction<'static, Sqlite>,
        session_id: &str,
        batch: &[Event],
    ) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (session_id, idx, ts, kind, tool_name, tool_use_id, is_error, \
             rejected, text, raw) ",
        );
        query.push_values(batch, |mut row, event| {
            row.push_bind(session_id.to_owned())
                .push_bind(i64::from(event.index))
                .push_bind(event.timestamp.map(|t| t.to_rfc3339()))
                .push_bind(event.kind.as_str())
                .push_bind(event.tool_name.clone())
                .push_bind(event.tool_use_id.clone())
                .push_bind(event.is_error)
                .push_bind(event.rejected)
                .push_bind(event.text.clone())
                .push_bind(event.raw.clone());
        });
        query.build().execute(&mut **tx).await?;
        Ok(())
    }

    async fn load_outcomes(&self, sessions: &mut [Session]) -> StoreResult<()> {
        for chunk in sessions.chunks_mut(500) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT session_id, name, result, value, explanation FROM outcomes \
                 WHERE session_id IN (",
            );
            let mut ids = query.separated(", ");
            for session in chunk.iter() {
                ids.push_bind(session.id.as_str().to_owned());
            }
            query.push(") ORDER BY session_id, idx");
            let rows = query.build().fetch_all(&self.pool).await?;
            for row in rows {
                let session_id: String = row.try_get("session_id")?;
                let result: Option<String> = row.try_get("result")?;
                let outcome = Outcome {
                    name: row.try_get("name")?,
                    result: result.as_deref().map(OutcomeResult::from_name),
                    value: row.try_get("value")?,
                    explanation: row.try_get("explanation")?,
                };
                if let Some(session) = chunk.iter_mut().find(|s| s.id.as_str() == session_id) {
                    session.outcomes.push(outcome);
                }
            }
        }
        Ok(())
    }
    pub(super) async fn write_session_impl(
        &self,
        head: &SessionHead,
        events: &mut dyn EventSource,
        options: WriteOptions,
    ) -> StoreResult<WriteReport> {
        // IMMEDIATE takes the write lock now, so two writers of the same session
        // serialise instead of failing on a lock upgrade.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let existing = Self::find_existing(&mut tx, head).await?;
        let now = self.clock.now().to_rfc3339();
        let (session_id, plan) = match &existing {
            None => {
                let id: SessionId = new_id(self.ids.as_ref());
                // Placeholder row so that events can reference it; finished below.
                sqlx::query(
                    "INSERT INTO sessions (id, source_kind, source_session_id, agent, \
                     content_hash, events_digest, ingested_at, updated_at) \
                     VALUES (?, ?, ?, ?, '', '', ?, ?)",
                )
                .bind(id.as_str())
                .bind(head.source_kind.unwrap_or(SourceKind::Canonical).as_str())
                .bind(&head.source_session_id)
                .bind(head.agent.clone().unwrap_or_default())
                .bind(&now)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
                (id.as_str().to_owned(), Plan::Create)
            }
            Some(found) if options.replace => {
                sqlx::query("DELETE FROM events WHERE session_id = ?")
                    .bind(&found.id)
                    .execute(&mut *tx)
                    .await?;
                (found.id.clone(), Plan::Rewrite)
            }
            Some(found) => (found.id.clone(), Plan::Extend),
        };

        let mut merge = Merge::new(plan, existing.as_ref());
        let mut batch: Vec<Event> = Vec::with_capacity(EVENT_BATCH);
        let mut written = 0_u64;
        let conflict = |reason: String| {
            let found = existing.clone();
            StoreError::SessionConflict {
                session_id: session_id.clone(),
                source_session_id: head.source_session_id.clone(),
                agent: head.agent.clone().unwrap_or_else(|| "-".into()),
                stored_hash: found.map(|f| f.content_hash).unwrap_or_default(),
                reason,
            }
        };
        while let Some(event) = events.next_event().await {
            if let Some(metrics) = events.metrics() {
                metrics.push(&event);
            }
            match merge.accept(&event)? {
                MergeStep::AlreadyStored => {}
                MergeStep::Diverged => {
                    tx.rollback().await?;
                    return Err(conflict(format!(
                        "differs within the first {} stored events",
                        event.index + 1
                    )));
                }
                MergeStep::Write => {
                    batch.push(event);
                    if batch.len() == EVENT_BATCH {
                        Self::insert_events(&mut tx, &session_id, &batch).await?;
                        written += batch.len() as u64;
                        batch.clear();
                    }
                }
            }
        }
        let outcomes = match events.finish() {
            SourceEnd::Aborted => {
                tx.rollback().await?;
                return Err(StoreError::SourceAborted);
            }
            SourceEnd::Complete { outcomes } => outcomes,
        };
        if merge.is_shorter_than_stored() {
            tx.rollback().await?;
            return Err(conflict("has fewer events than the stored session".into()));
        }
        Self::insert_events(&mut tx, &session_id, &batch).await?;
        written += batch.len() as u64;

        let finished = merge.finish(head, &outcomes);
        let status = match (plan, &existing) {
            (Plan::Create, _) => WriteStatus::Created,
            (_, Some(found)) if found.content_hash == finished.content_hash => {
                WriteStatus::Unchanged
            }
            (Plan::Rewrite, _) => WriteStatus::Replaced,
            (Plan::Extend, _) if written > 0 => WriteStatus::Appended,
            (Plan::Extend, _) => WriteStatus::Updated,
        };
        if status == WriteStatus::Unchanged {
            tx.rollback().await?;
            return Ok(WriteReport {
                session_id: SessionId::from_str(&session_id)
                    .map_err(|_| corrupt("session id", &session_id))?,
                status,
                event_count: finished.event_count,
                events_written: 0,
                content_hash: finished.content_hash,
            });
        }

        let metadata = serde_json::to_string(&head.metadata)
            .map_err(|e| StoreError::InvalidEvent(format!("metadata: {e}")))?;
        let parent_id: Option<String> = match &head.parent_source_session_id {
            None => None,
            Some(parent) => {
                sqlx::query_scalar(
                    "SELECT id FROM sessions WHERE source_session_id = ? \
                     ORDER BY (agent = ?) DESC, ingested_at LIMIT 1",
                )
                .bind(parent)
                .bind(head.agent.clone().unwrap_or_default())
                .fetch_optional(&mut *tx)
                .await?
            }
        };
        sqlx::query(
            "UPDATE sessions SET source_kind = ?, user_id = ?, started_at = ?, ended_at = ?, \
             metadata = ?, content_hash = ?, events_digest = ?, event_count = ?, \
             tool_error_count = ?, memory_store_id = ?, memory_store_version = ?, \
             parent_source_session_id = ?, parent_id = ?, source_path = ?, updated_at = ? \
             WHERE id = ?",
        )
        .bind(head.source_kind.unwrap_or(SourceKind::Canonical).as_str())
        .bind(&head.user)
        .bind(finished.started_at.map(|t| t.to_rfc3339()))
        .bind(finished.ended_at.map(|t| t.to_rfc3339()))
        .bind(metadata)
        .bind(&finished.content_hash)
        .bind(&finished.events_digest)
        .bind(i64::try_from(finished.event_count).unwrap_or(i64::MAX))
        .bind(i64::try_from(finished.tool_error_count).unwrap_or(i64::MAX))
        .bind(
            head.memory_version
                .as_ref()
                .and_then(|m| m.store_id.clone()),
        )
        .bind(
            head.memory_version
                .as_ref()
                .map(|m| i64::try_from(m.version).unwrap_or(i64::MAX)),
        )
        .bind(&head.parent_source_session_id)
        .bind(parent_id)
        .bind(&head.source_path)
        .bind(&now)
        .bind(&session_id)
        .execute(&mut *tx)
        .await?;
        // Children ingested before their parent are adopted now.
        sqlx::query(
            "UPDATE sessions SET parent_id = ? WHERE parent_source_session_id = ? \
             AND agent = ? AND parent_id IS NULL AND id != ?",
        )
        .bind(&session_id)
        .bind(&head.source_session_id)
        .bind(head.agent.clone().unwrap_or_default())
        .bind(&session_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM outcomes WHERE session_id = ?")
            .bind(&session_id)
            .execute(&mut *tx)
            .await?;
        for (idx, outcome) in outcomes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO outcomes (session_id, idx, name, result, value, explanation) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(&session_id)
            .bind(i64::try_from(idx).unwrap_or(i64::MAX))
            .bind(&outcome.name)
            .bind(outcome.result.as_ref().map(|r| r.as_str().to_owned()))
            .bind(outcome.value)
            .bind(&outcome.explanation)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(metrics) = events.metrics() {
            // The session as it is about to be committed, so the metrics see exactly
            // what a later read of the session would.
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ?"
            )))
            .bind(&session_id)
            .fetch_one(&mut *tx)
            .await?;
            let mut stored = session_from_row(&row)?;
            stored.outcomes = outcomes;
            let computed = metrics.finish(&stored);
            Self::write_builtin_metrics(
                &mut tx,
                &session_id,
                computed.definition_version,
                &finished.content_hash,
                &computed.values,
                &now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(WriteReport {
            session_id: SessionId::from_str(&session_id)
                .map_err(|_| corrupt("session id", &session_id))?,
            status,
            event_count: finished.event_count,
            events_written: written,
            content_hash: finished.content_hash,
        })
    }

    pub(super) async fn get_session_impl(&self, reference: &SessionRef) -> StoreResult<Session> {
        let by_source = |source: String| async move {
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.source_session_id = ? \
                 ORDER BY s.id"
            )))
            .bind(source)
            .fetch_all(&self.pool)
            .await
        };
        let rows = match reference {
            SessionRef::Id(id) => {
                let rows = sqlx::query(AssertSqlSafe(format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.id = ?"
                )))
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
                // Managed Agents session ids are `sesn_…` too: fall back to source ids.
                if rows.is_empty() {
                    by_source(id.to_string()).await?
                } else {
                    rows
                }
            }
            SessionRef::Source(source) => by_source(source.clone()).await?,
        };
        let label = match reference {
            SessionRef::Id(id) => id.to_string(),
            SessionRef::Source(source) => source.clone(),
        };
        let mut sessions = rows
            .iter()
            .map(session_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        match sessions.len() {
            0 => Err(StoreError::NotFound {
                kind: "session",
                reference: label,
            }),
            1 => {
                self.load_outcomes(&mut sessions).await?;
                sessions.pop().ok_or(StoreError::NotFound {
                    kind: "session",
                    reference: label,
                })
            }
            _ => Err(StoreError::Ambiguous {
                reference: label,
                matches: sessions.iter().map(|s| s.id.to_string()).collect(),
            }),
        }
    }

    pub(super) async fn list_sessions_impl(
        &self,
        filter: &SessionFilter,
    ) -> StoreResult<Vec<Session>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE 1 = 1"
        ));
        if let Some(agent) = &filter.agent {
            query.push(" AND s.agent = ").push_bind(agent.clone());
        }
        if let Some(user) = &filter.user {
            query.push(" AND s.user_id = ").push_bind(user.clone());
        }
        if let Some(since) = filter.since {
            query
                .push(" AND COALESCE(s.started_at, s.ingested_at) >= ")
                .push_bind(since.to_rfc3339());
        }
        match filter.has_errors {
            Some(true) => {
                query.push(" AND s.tool_error_count > 0");
            }
            Some(false) => {
                query.push(" AND s.tool_error_count = 0");
            }
            None => {}
        }
        if let Some(after) = filter.ingested_after {
            query
                .push(" AND s.ingested_at > ")
                .push_bind(after.to_rfc3339());
        }
        if filter.top_level_only {
            query.push(" AND s.parent_source_session_id IS NULL");
        }
        if let Some(store) = &filter.memory_store_id {
            query
                .push(" AND s.memory_store_id = ")
                .push_bind(store.clone());
        }
        if let Some(until) = filter.until {
            query
                .push(" AND COALESCE(s.started_at, s.ingested_at) <= ")
                .push_bind(until.to_rfc3339());
        }
        if let Some((at, id)) = &filter.after_key {
            let at = at.to_rfc3339();
            query
                .push(" AND (COALESCE(s.started_at, s.ingested_at) < ")
                .push_bind(at.clone())
                .push(" OR (COALESCE(s.started_at, s.ingested_at) = ")
                .push_bind(at)
                .push(" AND s.id < ")
                .push_bind(id.as_str().to_owned())
                .push("))");
        }
        match &filter.outcome {
            None => {}
            Some(filter @ (OutcomeFilter::Failed | OutcomeFilter::Succeeded)) => {
                let (verdict, comparison) = if *filter == OutcomeFilter::Failed {
                    ("failed", "<")
                } else {
                    ("satisfied", ">=")
                };
                query
                    .push(" AND EXISTS (SELECT 1 FROM outcomes o WHERE o.session_id = s.id AND (o.result = ")
                    .push_bind(verdict)
                    .push(" OR (o.name = 'reward' AND o.value ")
                    .push(comparison)
                    .push(" ")
                    .push_bind(dream_types::REWARD_FAILED_BELOW)
                    .push(")))");
            }
            Some(OutcomeFilter::Result(result)) => {
                query
                    .push(" AND EXISTS (SELECT 1 FROM outcomes o WHERE o.session_id = s.id AND o.result = ")
                    .push_bind(result.as_str().to_owned())
                    .push(")");
            }
            Some(OutcomeFilter::Value { name, value }) => {
                query
                    .push(" AND EXISTS (SELECT 1 FROM outcomes o WHERE o.session_id = s.id AND o.name = ")
                    .push_bind(name.clone())
                    .push(" AND abs(o.value - ")
                    .push_bind(*value)
                    .push(") < 1e-9)");
            }
        }
        query.push(" ORDER BY COALESCE(s.started_at, s.ingested_at) DESC, s.id DESC");
        if let Some(limit) = filter.limit {
            query
                .push(" LIMIT ")
                .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        let mut sessions = rows
            .iter()
            .map(session_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        self.load_outcomes(&mut sessions).await?;
        Ok(sessions)
    }

    pub(super) async fn session_events_impl(
        &self,
        id: &SessionId,
        range: Option<Range<u32>>,
    ) -> StoreResult<Vec<Event>> {
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM sessions WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound {
                kind: "session",
                reference: id.to_string(),
            });
        }
        let range = range.unwrap_or(0..u32::MAX);
        let rows = sqlx::query(
            "SELECT idx, ts, kind, tool_name, tool_use_id, is_error, rejected, text, raw \
             FROM events WHERE session_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
        )
        .bind(id.as_str())
        .bind(i64::from(range.start))
        .bind(i64::from(range.end))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    pub(super) async fn child_sessions_impl(&self, id: &SessionId) -> StoreResult<Vec<Session>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions s WHERE s.parent_id = ? \
             ORDER BY COALESCE(s.started_at, s.ingested_at), s.id"
        )))
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut sessions = rows
            .iter()
            .map(session_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        self.load_outcomes(&mut sessions).await?;
        Ok(sessions)
    }

    pub(super) async fn count_sessions_impl(&self) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

const SESSION_COLUMNS: &str = "s.id, s.source_kind, s.source_session_id, s.agent, s.user_id, \
    s.started_at, s.ended_at, s.metadata, s.content_hash, s.event_count, s.tool_error_count, \
    s.memory_store_id, s.memory_store_version, s.parent_source_session_id, s.parent_id, \
    s.source_path, s.ingested_at, s.updated_at";

fn session_from_row(row: &SqliteRow) -> StoreResult<Session> {
    let id: String = row.try_get("id")?;
    let kind: String = row.try_get("source_kind")?;
    let agent: String = row.try_get("agent")?;
    let metadata: String = row.try_get("metadata")?;
    let store_id: Option<String> = row.try_get("memory_store_id")?;
    let store_version: Option<i64> = row.try_get("memory_store_version")?;
    let parent_id: Option<String> = row.try_get("parent_id")?;
    let ingested_at: String = row.try_get("ingested_at")?;
    let updated_at: String = row.try_get("updated_at")?;
    let count = |column: &str| -> StoreResult<u64> {
        Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
    };
    Ok(Session {
        id: SessionId::from_str(&id).map_err(|_| corrupt("session id", &id))?,
        source_kind: SourceKind::from_str(&kind).map_err(|_| corrupt("source kind", &kind))?,
        source_session_id: row.try_get("source_session_id")?,
        agent: (!agent.is_empty()).then_some(agent),
        user: row.try_get("user_id")?,
        started_at: parse_time(row.try_get("started_at")?, "started_at")?,
        ended_at: parse_time(row.try_get("ended_at")?, "ended_at")?,
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata", &metadata))?,
        content_hash: row.try_get("content_hash")?,
        memory_version: store_version.map(|version| MemoryVersionRef {
            store_id,
            version: u64::try_from(version).unwrap_or(0),
        }),
        parent_id: parent_id
            .map(|p| SessionId::from_str(&p).map_err(|_| corrupt("parent id", &p)))
            .transpose()?,
        parent_source_session_id: row.try_get("parent_source_session_id")?,
        event_count: count("event_count")?,
        tool_error_count: count("tool_error_count")?,
        source_path: row.try_get("source_path")?,
        outcomes: Vec::new(),
        ingested_at: parse_time(Some(ingested_at), "ingested_at")?.unwrap_or_else(Timestamp::now),
        updated_at: parse_time(Some(updated_at), "updated_at")?.unwrap_or_else(Timestamp::now),
    })
}

fn event_from_row(row: &SqliteRow) -> StoreResult<Event> {
    let kind: String = row.try_get("kind")?;
    Ok(Event {
        index: u32::try_from(row.try_get::<i64, _>("idx")?).unwrap_or(u32::MAX),
        timestamp: parse_time(row.try_get("ts")?, "event timestamp")?,
        kind: EventKind::from_str(&kind).map_err(|_| corrupt("event kind", &kind))?,
        tool_name: row.try_get("tool_name")?,
        tool_use_id: row.try_get("tool_use_id")?,
        is_error: row.try_get("is_error")?,
        rejected: row.try_get("rejected")?,
        text: row.try_get("text")?,
        raw: row.try_get("raw")?,
    })
}
