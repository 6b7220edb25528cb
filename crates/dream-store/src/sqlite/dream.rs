//! Dreams, proposals, change reviews, rejections, the signal cache and dream gates in SQLite.

use dream_types::{
    Actor, ChangeReview, ChangeStatus, Dream, DreamId, MemoryStoreId, MemoryVersion, Proposal,
    ProposalId, Rejection, SessionId, new_id,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::memory::{json, not_found, to_i64, to_u64};
use super::{SqliteStore, corrupt, parse_time};
use crate::{DreamFilter, MemoryWrite, ReviewUpdate, StoreError, StoreResult};

pub(super) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("unreadable {what}: {e}")))
}

/// A per-store JSON settings column of `memory_stores` (a closed set: the column name
/// is never user input).
#[derive(Debug, Clone, Copy)]
pub(super) enum StoreSetting {
    /// The dream gates ([`dream_types::DreamConfig`]).
    Dream,
    /// The rubric and watch policy ([`dream_types::OutcomesConfig`]).
    Outcomes,
}

impl StoreSetting {
    fn name(self) -> &'static str {
        match self {
            StoreSetting::Dream => "dream_config",
            StoreSetting::Outcomes => "outcomes_config",
        }
    }
}

impl SqliteStore {
    /// Reads a per-store JSON settings column of `memory_stores` (`dream_config`,
    /// `outcomes_config`); NULL gives the defaults.
    pub(super) async fn store_setting<T: serde::de::DeserializeOwned + Default>(
        &self,
        column: StoreSetting,
        store: &MemoryStoreId,
    ) -> StoreResult<T> {
        let row: Option<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM memory_stores WHERE id = ?",
            column.name()
        )))
        .bind(store.as_str())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Err(not_found("memory store", store)),
            Some(None) => Ok(T::default()),
            Some(Some(text)) => from_json(column.name(), &text),
        }
    }

    /// Writes a per-store JSON settings column.
    pub(super) async fn set_store_setting<T: serde::Serialize>(
        &self,
        column: StoreSetting,
        store: &MemoryStoreId,
        value: &T,
    ) -> StoreResult<()> {
        let result = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE memory_stores SET {} = ? WHERE id = ?",
            column.name()
        )))
        .bind(json(value)?)
        .bind(store.as_str())
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("memory store", store));
        }
        Ok(())
    }

    pub(super) async fn create_dream_impl(&self, mut dream: Dream) -> StoreResult<Dream> {
        self.get_memory_store_impl(&dream.memory_store_id).await?;
        dream.id = new_id(self.ids.as_ref());
        dream.created_at = self.clock.now();
        sqlx::query(
            "INSERT INTO dreams (id, store_id, base_store_version, status, body, created_at, \
             archived_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(dream.id.as_str())
        .bind(dream.memory_store_id.as_str())
        .bind(to_i64(dream.base_store_version))
        .bind(dream.status.as_str())
        .bind(json(&dream)?)
        .bind(dream.created_at.to_rfc3339())
        .bind(dream.archived_at.map(|t| t.to_rfc3339()))
        .execute(&self.pool)
        .await?;
        Ok(dream)
    }

    pub(super) async fn update_dream_impl(&self, dream: &Dream) -> StoreResult<Dream> {
        // Only a dream that is not final yet may change; a final one stays as it is.
        let result = sqlx::query(
            "UPDATE dreams SET status = ?, body = ?, archived_at = ? WHERE id = ? \
             AND (status NOT IN ('completed', 'failed', 'canceled') OR status = ?)",
        )
        .bind(dream.status.as_str())
        .bind(json(dream)?)
        .bind(dream.archived_at.map(|t| t.to_rfc3339()))
        .bind(dream.id.as_str())
        .bind(dream.status.as_str())
        .execute(&self.pool)
        .await?;
        let stored = self.get_dream_impl(&dream.id).await?;
        if result.rows_affected() == 0 && !stored.status.is_final() {
            return Err(not_found("dream", &dream.id));
        }
        Ok(stored)
    }

    pub(super) async fn get_dream_impl(&self, id: &DreamId) -> StoreResult<Dream> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM dreams WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match body {
            Some(body) => from_json("dream", &body),
            None => Err(not_found("dream", id)),
        }
    }

    pub(super) async fn list_dreams_impl(&self, filter: &DreamFilter) -> StoreResult<Vec<Dream>> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT body FROM dreams WHERE 1 = 1");
        if let Some(store) = &filter.memory_store_id {
            query
                .push(" AND store_id = ")
                .push_bind(store.as_str().to_owned());
        }
        if !filter.statuses.is_empty() {
            query.push(" AND status IN (");
            let mut list = query.separated(", ");
            for status in &filter.statuses {
                list.push_bind(status.as_str());
            }
            query.push(")");
        }
        if !filter.include_archived {
            query.push(" AND archived_at IS NULL");
        }
        if let Some(after) = filter.created_after {
            query
                .push(" AND created_at > ")
                .push_bind(after.to_rfc3339());
        }
        if let Some(before) = filter.created_before {
            query
                .push(" AND created_at < ")
                .push_bind(before.to_rfc3339());
        }
        if let Some((at, id)) = &filter.after_key {
            query
                .push(" AND (created_at < ")
                .push_bind(at.to_rfc3339())
                .push(" OR (created_at = ")
                .push_bind(at.to_rfc3339())
                .push(" AND id < ")
                .push_bind(id.as_str().to_owned())
                .push("))");
        }
        query.push(" ORDER BY created_at DESC, id DESC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(to_i64(limit));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| from_json("dream", &row.try_get::<String, _>("body")?))
            .collect()
    }

    pub(super) async fn create_proposal_impl(
        &self,
        mut proposal: Proposal,
    ) -> StoreResult<Proposal> {
        self.get_dream_impl(&proposal.dream_id).await?;
        proposal.id = new_id(self.ids.as_ref());
        proposal.created_at = self.clock.now();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO proposals (id, dream_id, store_id, base_store_version, body, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(proposal.id.as_str())
        .bind(proposal.dream_id.as_str())
        .bind(proposal.store_id.as_str())
        .bind(to_i64(proposal.base_store_version))
        .bind(json(&proposal)?)
        .bind(proposal.created_at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
        for change in &proposal.changes {
            sqlx::query(
                "INSERT INTO change_reviews (proposal_id, change_id, status) VALUES (?, ?, 'pending')",
            )
            .bind(proposal.id.as_str())
            .bind(&change.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(proposal)
    }

    pub(super) async fn get_proposal_impl(&self, id: &ProposalId) -> StoreResult<Proposal> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM proposals WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match body {
            Some(body) => from_json("proposal", &body),
            None => Err(not_found("proposal", id)),
        }
    }

    pub(super) async fn change_reviews_impl(
        &self,
        id: &ProposalId,
    ) -> StoreResult<Vec<ChangeReview>> {
        let proposal = self.get_proposal_impl(id).await?;
        let rows = sqlx::query(
            "SELECT change_id, status, reason, applied_store_version, reviewed_at, reviewed_by \
             FROM change_reviews WHERE proposal_id = ?",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut reviews = Vec::with_capacity(rows.len());
        for row in &rows {
            let status: String = row.try_get("status")?;
            reviews.push(ChangeReview {
                change_id: row.try_get("change_id")?,
                status: ChangeStatus::from_name(&status)
                    .ok_or_else(|| corrupt("change status", &status))?,
                reason: row.try_get("reason")?,
                applied_store_version: row
                    .try_get::<Option<i64>, _>("applied_store_version")?
                    .map(to_u64),
                reviewed_at: parse_time(row.try_get("reviewed_at")?, "reviewed_at")?,
                reviewed_by: row.try_get("reviewed_by")?,
            });
        }
        let position = |id: &str| {
            proposal
                .changes
                .iter()
                .position(|c| c.id == id)
                .unwrap_or(usize::MAX)
        };
        reviews.sort_by_key(|r| position(&r.change_id));
        Ok(reviews)
    }

    pub(super) async fn write_reviewed_impl(
        &self,
        store: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
        review: &ReviewUpdate,
    ) -> StoreResult<Vec<MemoryVersion>> {
        // The write lock is taken first, so the pending check below and the writes are
        // one serialisable step: of two concurrent reviews, the second sees the first's
        // decisions and fails without writing anything.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM proposals WHERE id = ?")
            .bind(review.proposal_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(not_found("proposal", &review.proposal_id));
        }
        for r in &review.reviews {
            let status: Option<String> = sqlx::query_scalar(
                "SELECT status FROM change_reviews WHERE proposal_id = ? AND change_id = ?",
            )
            .bind(review.proposal_id.as_str())
            .bind(&r.change_id)
            .fetch_optional(&mut *tx)
            .await?;
            match status.as_deref() {
                Some("pending") => {}
                Some(other) => {
                    return Err(StoreError::ReviewConflict {
                        proposal_id: review.proposal_id.to_string(),
                        change_id: r.change_id.clone(),
                        status: other.to_owned(),
                    });
                }
                None => return Err(not_found("change", &r.change_id)),
            }
        }
        let (mut tx, versions) = if writes.is_empty() {
            (tx, Vec::new())
        } else {
            self.write_in(tx, store, writes, actor).await?
        };
        let last_version = versions.last().map(|v| v.store_version);
        for r in &review.reviews {
            let applied_version = match (r.status, r.applied_store_version) {
                (ChangeStatus::Applied, None) => last_version,
                (_, version) => version,
            };
            sqlx::query(
                "UPDATE change_reviews SET status = ?, reason = ?, applied_store_version = ?, \
                 reviewed_at = ?, reviewed_by = ? WHERE proposal_id = ? AND change_id = ?",
            )
            .bind(r.status.as_str())
            .bind(&r.reason)
            .bind(applied_version.map(to_i64))
            .bind(r.reviewed_at.map(|t| t.to_rfc3339()))
            .bind(&r.reviewed_by)
            .bind(review.proposal_id.as_str())
            .bind(&r.change_id)
            .execute(&mut *tx)
            .await?;
        }
        for rejection in &review.rejections {
            sqlx::query(
                "INSERT OR REPLACE INTO rejections (store_id, change_id, pattern_key, after_text, \
                 reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(rejection.memory_store_id.as_str())
            .bind(&rejection.change_id)
            .bind(&rejection.pattern_key)
            .bind(&rejection.after)
            .bind(&rejection.reason)
            .bind(rejection.created_at.to_rfc3339())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(versions)
    }

    pub(super) async fn rejections_impl(
        &self,
        store: &MemoryStoreId,
    ) -> StoreResult<Vec<Rejection>> {
        let rows = sqlx::query(
            "SELECT change_id, pattern_key, after_text, reason, created_at FROM rejections \
             WHERE store_id = ? ORDER BY created_at, change_id",
        )
        .bind(store.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let created: String = row.try_get("created_at")?;
                Ok(Rejection {
                    memory_store_id: store.clone(),
                    change_id: row.try_get("change_id")?,
                    pattern_key: row.try_get("pattern_key")?,
                    after: row.try_get("after_text")?,
                    reason: row.try_get("reason")?,
                    created_at: parse_time(Some(created.clone()), "created_at")?
                        .ok_or_else(|| corrupt("created_at", &created))?,
                })
            })
            .collect()
    }

    pub(super) async fn cached_signals_impl(
        &self,
        session: &SessionId,
        extractor_version: u32,
    ) -> StoreResult<Option<(String, String)>> {
        let row = sqlx::query(
            "SELECT content_hash, signals FROM session_signals \
             WHERE session_id = ? AND extractor_version = ?",
        )
        .bind(session.as_str())
        .bind(i64::from(extractor_version))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok((row.try_get("content_hash")?, row.try_get("signals")?)))
            .transpose()
    }

    pub(super) async fn cache_signals_impl(
        &self,
        session: &SessionId,
        extractor_version: u32,
        content_hash: &str,
        signals: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO session_signals (session_id, extractor_version, content_hash, \
             signals) VALUES (?, ?, ?, ?)",
        )
        .bind(session.as_str())
        .bind(i64::from(extractor_version))
        .bind(content_hash)
        .bind(signals)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
