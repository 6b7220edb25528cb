//! The SQLite backend: one database file in WAL mode, created on first use.

mod dream;
mod memory;
mod outcomes;
mod platform;
mod session;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dream_types::{
    Actor, ApiKey, ApiKeyId, ChangeReview, Clock, DeliveryId, Dream, DreamConfig, DreamId,
    DreamSchedule, Event, IdGenerator, Memory, MemoryId, MemorySnapshot, MemoryStore,
    MemoryStoreId, MemoryVersion, MemoryVersionId, Proposal, ProposalId, RandomIds, Rejection,
    ScheduleId, ScheduleRun, Session, SessionFilter, SessionHead, SessionId, SystemClock,
    Timestamp, Webhook, WebhookDelivery, WebhookId,
};
use dream_types::{OutcomesConfig, RegressionCheck, SessionMetric};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::{
    DeliveryOutcome, DreamFilter, EventSource, MemoryStorePatch, MemoryWrite, NewApiKey,
    NewMemoryStore, NewSchedule, NewWebhook, ReviewUpdate, SessionRef, Store, StoreError,
    StoreResult, VersionFilter, WriteOptions, WriteReport,
};

/// Whether [`SqliteStore::open`] may create the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its parent directory) when missing.
    Create,
    /// Fail with [`StoreError::NotInitialized`] when the file is missing.
    MustExist,
}

/// A [`Store`] in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl SqliteStore {
    /// Opens (and with [`OpenMode::Create`], creates) the database at `path` and
    /// applies pending migrations. Uses the system clock and random ids.
    ///
    /// # Errors
    /// [`StoreError::NotInitialized`] when the file is missing under `MustExist`;
    /// [`StoreError::Database`] when the file cannot be opened or is not a database;
    /// [`StoreError::Migration`] when the schema cannot be brought up to date.
    pub async fn open(path: &Path, mode: OpenMode) -> StoreResult<Self> {
        Self::open_with(path, mode, Arc::new(SystemClock), Arc::new(RandomIds)).await
    }

    /// Like [`SqliteStore::open`] with an injected clock and id generator (for tests).
    ///
    /// # Errors
    /// As [`SqliteStore::open`].
    pub async fn open_with(
        path: &Path,
        mode: OpenMode,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> StoreResult<Self> {
        if !path.exists() {
            if mode == OpenMode::MustExist {
                return Err(StoreError::NotInitialized {
                    path: path.display().to_string(),
                });
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_private_dir(parent).map_err(sqlx::Error::Io)?;
            }
            create_private_file(path).map_err(sqlx::Error::Io)?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(mode == OpenMode::Create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool,
            path: path.to_owned(),
            clock,
            ids,
        })
    }

    /// Returns the database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes the connection pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Creates `dir` and its missing parents, owner-only (0700 on unix): the store holds
/// memory, transcripts and webhook secrets. Existing folders keep their modes.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the empty database file, owner-only (0600 on unix); SQLite gives its
/// `-wal` and `-shm` files the same mode. A file that appeared meanwhile is kept.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}

pub(super) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unreadable {what} {value:?}"))
}

pub(super) fn parse_time(value: Option<String>, what: &str) -> StoreResult<Option<Timestamp>> {
    value
        .map(|text| Timestamp::parse(&text).map_err(|_| corrupt(what, &text)))
        .transpose()
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn write_session(
        &self,
        head: &SessionHead,
        events: &mut dyn EventSource,
        options: WriteOptions,
    ) -> StoreResult<WriteReport> {
        self.write_session_impl(head, events, options).await
    }

    async fn get_session(&self, reference: &SessionRef) -> StoreResult<Session> {
        self.get_session_impl(reference).await
    }

    async fn list_sessions(&self, filter: &SessionFilter) -> StoreResult<Vec<Session>> {
        self.list_sessions_impl(filter).await
    }

    async fn session_events(
        &self,
        id: &SessionId,
        range: Option<Range<u32>>,
    ) -> StoreResult<Vec<Event>> {
        self.session_events_impl(id, range).await
    }

    async fn child_sessions(&self, id: &SessionId) -> StoreResult<Vec<Session>> {
        self.child_sessions_impl(id).await
    }

    async fn count_sessions(&self) -> StoreResult<u64> {
        self.count_sessions_impl().await
    }

    async fn create_memory_store(&self, new: NewMemoryStore) -> StoreResult<MemoryStore> {
        self.create_memory_store_impl(new).await
    }

    async fn get_memory_store(&self, id: &MemoryStoreId) -> StoreResult<MemoryStore> {
        self.get_memory_store_impl(id).await
    }

    async fn list_memory_stores(&self, include_archived: bool) -> StoreResult<Vec<MemoryStore>> {
        self.list_memory_stores_impl(include_archived).await
    }

    async fn update_memory_store(
        &self,
        id: &MemoryStoreId,
        patch: MemoryStorePatch,
    ) -> StoreResult<MemoryStore> {
        self.update_memory_store_impl(id, patch).await
    }

    async fn archive_memory_store(&self, id: &MemoryStoreId) -> StoreResult<MemoryStore> {
        self.archive_memory_store_impl(id).await
    }

    async fn delete_memory_store(&self, id: &MemoryStoreId) -> StoreResult<()> {
        self.delete_memory_store_impl(id).await
    }

    async fn write_memories(
        &self,
        store: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
    ) -> StoreResult<Vec<MemoryVersion>> {
        self.write_memories_impl(store, writes, actor).await
    }

    async fn get_memory(&self, store: &MemoryStoreId, id: &MemoryId) -> StoreResult<Memory> {
        self.get_memory_impl(store, id).await
    }

    async fn find_memory(&self, store: &MemoryStoreId, path: &str) -> StoreResult<Option<Memory>> {
        self.find_memory_impl(store, path).await
    }

    async fn list_memories(
        &self,
        store: &MemoryStoreId,
        path_prefix: Option<&str>,
    ) -> StoreResult<Vec<Memory>> {
        self.list_memories_impl(store, path_prefix).await
    }

    async fn list_memory_versions(
        &self,
        store: &MemoryStoreId,
        filter: &VersionFilter,
    ) -> StoreResult<Vec<MemoryVersion>> {
        self.list_memory_versions_impl(store, filter).await
    }

    async fn get_memory_version(
        &self,
        store: &MemoryStoreId,
        id: &MemoryVersionId,
    ) -> StoreResult<MemoryVersion> {
        self.get_memory_version_impl(store, id).await
    }

    async fn redact_memory_version(
        &self,
        store: &MemoryStoreId,
        id: &MemoryVersionId,
        actor: &Actor,
    ) -> StoreResult<MemoryVersion> {
        self.redact_memory_version_impl(store, id, actor).await
    }

    async fn memories_at(
        &self,
        store: &MemoryStoreId,
        store_version: u64,
    ) -> StoreResult<Vec<MemorySnapshot>> {
        self.memories_at_impl(store, store_version).await
    }

    async fn dream_config(&self, store: &MemoryStoreId) -> StoreResult<DreamConfig> {
        self.store_setting(dream::StoreSetting::Dream, store).await
    }

    async fn set_dream_config(
        &self,
        store: &MemoryStoreId,
        config: &DreamConfig,
    ) -> StoreResult<()> {
        self.set_store_setting(dream::StoreSetting::Dream, store, config)
            .await
    }

    async fn create_dream(&self, dream: Dream) -> StoreResult<Dream> {
        self.create_dream_impl(dream).await
    }

    async fn update_dream(&self, dream: &Dream) -> StoreResult<Dream> {
        self.update_dream_impl(dream).await
    }

    async fn get_dream(&self, id: &DreamId) -> StoreResult<Dream> {
        self.get_dream_impl(id).await
    }

    async fn list_dreams(&self, filter: &DreamFilter) -> StoreResult<Vec<Dream>> {
        self.list_dreams_impl(filter).await
    }

    async fn create_proposal(&self, proposal: Proposal) -> StoreResult<Proposal> {
        self.create_proposal_impl(proposal).await
    }

    async fn get_proposal(&self, id: &ProposalId) -> StoreResult<Proposal> {
        self.get_proposal_impl(id).await
    }

    async fn change_reviews(&self, id: &ProposalId) -> StoreResult<Vec<ChangeReview>> {
        self.change_reviews_impl(id).await
    }

    async fn write_reviewed(
        &self,
        store: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
        review: &ReviewUpdate,
    ) -> StoreResult<Vec<MemoryVersion>> {
        self.write_reviewed_impl(store, writes, actor, review).await
    }

    async fn rejections(&self, store: &MemoryStoreId) -> StoreResult<Vec<Rejection>> {
        self.rejections_impl(store).await
    }

    async fn cached_signals(
        &self,
        session: &SessionId,
        extractor_version: u32,
    ) -> StoreResult<Option<(String, String)>> {
        self.cached_signals_impl(session, extractor_version).await
    }

    async fn cache_signals(
        &self,
        session: &SessionId,
        extractor_version: u32,
        content_hash: &str,
        signals: &str,
    ) -> StoreResult<()> {
        self.cache_signals_impl(session, extractor_version, content_hash, signals)
            .await
    }

    async fn create_api_key(&self, new: NewApiKey) -> StoreResult<ApiKey> {
        self.create_api_key_impl(new).await
    }

    async fn api_key_by_secret(&self, secret_sha256: &str) -> StoreResult<Option<ApiKey>> {
        self.api_key_by_secret_impl(secret_sha256).await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.list_api_keys_impl().await
    }

    async fn revoke_api_key(&self, id: &ApiKeyId) -> StoreResult<ApiKey> {
        self.revoke_api_key_impl(id).await
    }

    async fn touch_api_key(&self, id: &ApiKeyId, at: Timestamp) -> StoreResult<()> {
        self.touch_api_key_impl(id, at).await
    }

    async fn create_schedule(&self, new: NewSchedule) -> StoreResult<DreamSchedule> {
        self.create_schedule_impl(new).await
    }

    async fn get_schedule(&self, id: &ScheduleId) -> StoreResult<DreamSchedule> {
        self.get_schedule_impl(id).await
    }

    async fn list_schedules(&self) -> StoreResult<Vec<DreamSchedule>> {
        self.list_schedules_impl().await
    }

    async fn update_schedule(
        &self,
        id: &ScheduleId,
        new: NewSchedule,
    ) -> StoreResult<DreamSchedule> {
        self.update_schedule_impl(id, new).await
    }

    async fn delete_schedule(&self, id: &ScheduleId) -> StoreResult<()> {
        self.delete_schedule_impl(id).await
    }

    async fn claim_schedule_slot(&self, id: &ScheduleId, slot: Timestamp) -> StoreResult<bool> {
        self.claim_schedule_slot_impl(id, slot).await
    }

    async fn finish_schedule_run(
        &self,
        id: &ScheduleId,
        slot: Timestamp,
        dream_id: Option<&DreamId>,
        skipped_reason: Option<&str>,
    ) -> StoreResult<()> {
        self.finish_schedule_run_impl(id, slot, dream_id, skipped_reason)
            .await
    }

    async fn schedule_runs(&self, id: &ScheduleId, limit: u64) -> StoreResult<Vec<ScheduleRun>> {
        self.schedule_runs_impl(id, limit).await
    }

    async fn create_webhook(&self, new: NewWebhook) -> StoreResult<Webhook> {
        self.create_webhook_impl(new).await
    }

    async fn get_webhook(&self, id: &WebhookId) -> StoreResult<Webhook> {
        self.get_webhook_impl(id).await
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        self.list_webhooks_impl().await
    }

    async fn update_webhook(&self, id: &WebhookId, new: NewWebhook) -> StoreResult<Webhook> {
        self.update_webhook_impl(id, new).await
    }

    async fn delete_webhook(&self, id: &WebhookId) -> StoreResult<()> {
        self.delete_webhook_impl(id).await
    }

    async fn enqueue_event(
        &self,
        event_type: &str,
        payload: &serde_json::Value,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.enqueue_event_impl(event_type, payload).await
    }

    async fn claim_due_deliveries(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.claim_due_deliveries_impl(now, lease_until, limit)
            .await
    }

    async fn start_delivery_attempt(&self, id: &DeliveryId, at: Timestamp) -> StoreResult<u32> {
        self.start_delivery_attempt_impl(id, at).await
    }

    async fn record_delivery_attempt(
        &self,
        id: &DeliveryId,
        outcome: DeliveryOutcome,
    ) -> StoreResult<WebhookDelivery> {
        self.record_delivery_attempt_impl(id, outcome).await
    }

    async fn list_deliveries(
        &self,
        webhook: &WebhookId,
        limit: u64,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        self.list_deliveries_impl(webhook, limit).await
    }

    async fn outcomes_config(&self, store: &MemoryStoreId) -> StoreResult<OutcomesConfig> {
        self.store_setting(dream::StoreSetting::Outcomes, store)
            .await
    }

    async fn set_outcomes_config(
        &self,
        store: &MemoryStoreId,
        config: &OutcomesConfig,
    ) -> StoreResult<()> {
        self.set_store_setting(dream::StoreSetting::Outcomes, store, config)
            .await
    }

    async fn put_builtin_metrics(
        &self,
        session: &SessionId,
        definition_version: u32,
        content_hash: &str,
        metrics: &[(String, f64)],
    ) -> StoreResult<()> {
        self.put_builtin_metrics_impl(session, definition_version, content_hash, metrics)
            .await
    }

    async fn record_metric(&self, metric: &SessionMetric) -> StoreResult<()> {
        self.record_metric_impl(metric).await
    }

    async fn session_metrics(&self, sessions: &[SessionId]) -> StoreResult<Vec<SessionMetric>> {
        self.session_metrics_impl(sessions).await
    }

    async fn sessions_needing_metrics(
        &self,
        definition_version: u32,
        limit: u64,
    ) -> StoreResult<Vec<SessionId>> {
        self.sessions_needing_metrics_impl(definition_version, limit)
            .await
    }

    async fn record_regression_check(
        &self,
        check: RegressionCheck,
    ) -> StoreResult<RegressionCheck> {
        self.record_regression_check_impl(check).await
    }

    async fn regression_checks(&self, store: &MemoryStoreId) -> StoreResult<Vec<RegressionCheck>> {
        self.regression_checks_impl(store).await
    }
}
