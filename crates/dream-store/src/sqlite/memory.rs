//! Memory stores, memories and memory versions in SQLite.

use std::collections::BTreeMap;
use std::str::FromStr;

use dream_types::{
    Actor, Memory, MemoryId, MemoryOperation, MemorySnapshot, MemoryStore, MemoryStoreId,
    MemoryVersion, MemoryVersionId, RuleError, content_sha256, new_id, path_has_prefix,
    validate_content, validate_description, validate_metadata, validate_path, validate_prefix,
    validate_store_name,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::{SqliteStore, corrupt, parse_time};
use crate::{
    MemoryStorePatch, MemoryWrite, NewMemoryStore, StoreError, StoreResult, VersionFilter,
};

const STORE_COLUMNS: &str = "id, name, description, metadata, protected_paths, store_version, \
    created_at, updated_at, archived_at, derived_from";
const MEMORY_COLUMNS: &str = "id, store_id, path, content, content_sha256, content_size_bytes, \
    memory_version_id, created_at, updated_at";
const VERSION_COLUMNS: &str = "id, store_id, memory_id, store_version, operation, path, content, \
    content_sha256, content_size_bytes, created_by, created_at, redacted_at, redacted_by";

pub(super) fn not_found(kind: &'static str, reference: impl ToString) -> StoreError {
    StoreError::NotFound {
        kind,
        reference: reference.to_string(),
    }
}

pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Checks one protected path entry: a prefix ending with `/`, or an exact path.
fn validate_protected(entry: &str) -> Result<(), RuleError> {
    if entry.ends_with('/') {
        validate_prefix(entry)
    } else {
        validate_path(entry)
    }
}

fn store_from_row(row: &SqliteRow) -> StoreResult<MemoryStore> {
    let id: String = row.try_get("id")?;
    let metadata: String = row.try_get("metadata")?;
    let protected: String = row.try_get("protected_paths")?;
    let created: String = row.try_get("created_at")?;
    let updated: String = row.try_get("updated_at")?;
    Ok(MemoryStore {
        id: MemoryStoreId::from_str(&id).map_err(|_| corrupt("memory store id", &id))?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata", &metadata))?,
        protected_paths: serde_json::from_str(&protected)
            .map_err(|_| corrupt("protected paths", &protected))?,
        store_version: to_u64(row.try_get("store_version")?),
        created_at: parse_time(Some(created.clone()), "created_at")?
            .ok_or_else(|| corrupt("created_at", &created))?,
        updated_at: parse_time(Some(updated.clone()), "updated_at")?
            .ok_or_else(|| corrupt("updated_at", &updated))?,
        archived_at: parse_time(row.try_get("archived_at")?, "archived_at")?,
        derived_from: row
            .try_get::<Option<String>, _>("derived_from")?
            .map(|text| MemoryStoreId::from_str(&text).map_err(|_| corrupt("derived_from", &text)))
            .transpose()?,
    })
}

fn memory_from_row(row: &SqliteRow) -> StoreResult<Memory> {
    let id: String = row.try_get("id")?;
    let store: String = row.try_get("store_id")?;
    let version: String = row.try_get("memory_version_id")?;
    let created: String = row.try_get("created_at")?;
    let updated: String = row.try_get("updated_at")?;
    Ok(Memory {
        id: MemoryId::from_str(&id).map_err(|_| corrupt("memory id", &id))?,
        memory_store_id: MemoryStoreId::from_str(&store)
            .map_err(|_| corrupt("store id", &store))?,
        path: row.try_get("path")?,
        content: row.try_get("content")?,
        content_sha256: row.try_get("content_sha256")?,
        content_size_bytes: to_u64(row.try_get("content_size_bytes")?),
        memory_version_id: MemoryVersionId::from_str(&version)
            .map_err(|_| corrupt("memory version id", &version))?,
        created_at: parse_time(Some(created.clone()), "created_at")?
            .ok_or_else(|| corrupt("created_at", &created))?,
        updated_at: parse_time(Some(updated.clone()), "updated_at")?
            .ok_or_else(|| corrupt("updated_at", &updated))?,
    })
}

fn actor_from_json(text: &str) -> StoreResult<Actor> {
    serde_json::from_str(text).map_err(|_| corrupt("actor", text))
}

fn version_from_row(row: &SqliteRow) -> StoreResult<MemoryVersion> {
    let id: String = row.try_get("id")?;
    let store: String = row.try_get("store_id")?;
    let memory: String = row.try_get("memory_id")?;
    let operation: String = row.try_get("operation")?;
    let created_by: String = row.try_get("created_by")?;
    let created: String = row.try_get("created_at")?;
    let redacted_by: Option<String> = row.try_get("redacted_by")?;
    Ok(MemoryVersion {
        id: MemoryVersionId::from_str(&id).map_err(|_| corrupt("memory version id", &id))?,
        memory_id: MemoryId::from_str(&memory).map_err(|_| corrupt("memory id", &memory))?,
        memory_store_id: MemoryStoreId::from_str(&store)
            .map_err(|_| corrupt("store id", &store))?,
        store_version: to_u64(row.try_get("store_version")?),
        operation: MemoryOperation::from_name(&operation)
            .ok_or_else(|| corrupt("operation", &operation))?,
        path: row.try_get("path")?,
        content: row.try_get("content")?,
        content_sha256: row.try_get("content_sha256")?,
        content_size_bytes: row
            .try_get::<Option<i64>, _>("content_size_bytes")?
            .map(to_u64),
        created_by: actor_from_json(&created_by)?,
        created_at: parse_time(Some(created.clone()), "created_at")?
            .ok_or_else(|| corrupt("created_at", &created))?,
        redacted_at: parse_time(row.try_get("redacted_at")?, "redacted_at")?,
        redacted_by: redacted_by.as_deref().map(actor_from_json).transpose()?,
    })
}

/// The state of one write transaction: the store row and the next store version.
struct WriteTx<'a> {
    tx: Transaction<'static, Sqlite>,
    store: MemoryStore,
    actor: &'a Actor,
    actor_json: String,
    now: String,
    versions: Vec<MemoryVersion>,
}

impl SqliteStore {
    async fn load_store(
        tx: &mut Transaction<'static, Sqlite>,
        id: &MemoryStoreId,
    ) -> StoreResult<MemoryStore> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STORE_COLUMNS} FROM memory_stores WHERE id = ?"
        )))
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        row.as_ref()
            .map(store_from_row)
            .transpose()?
            .ok_or_else(|| not_found("memory store", id))
    }

    pub(super) async fn create_memory_store_impl(
        &self,
        new: NewMemoryStore,
    ) -> StoreResult<MemoryStore> {
        validate_store_name(&new.name)?;
        validate_description(&new.description)?;
        validate_metadata(&new.metadata)?;
        for entry in &new.protected_paths {
            validate_protected(entry)?;
        }
        let id: MemoryStoreId = new_id(self.ids.as_ref());
        let now = self.clock.now().to_rfc3339();
        sqlx::query(
            "INSERT INTO memory_stores (id, name, description, metadata, protected_paths, \
             store_version, created_at, updated_at, derived_from) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(&new.name)
        .bind(&new.description)
        .bind(json(&new.metadata)?)
        .bind(json(&new.protected_paths)?)
        .bind(&now)
        .bind(&now)
        .bind(new.derived_from.as_ref().map(|d| d.as_str().to_owned()))
        .execute(&self.pool)
        .await?;
        self.get_memory_store_impl(&id).await
    }

    /// Runs `sql` with `binds` and reads at most one row with `read`.
    async fn fetch_row<T>(
        &self,
        sql: String,
        binds: &[&str],
        read: fn(&SqliteRow) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in binds {
            query = query.bind(value.to_string());
        }
        let row = query.fetch_optional(&self.pool).await?;
        row.as_ref().map(read).transpose()
    }

    pub(super) async fn get_memory_store_impl(
        &self,
        id: &MemoryStoreId,
    ) -> StoreResult<MemoryStore> {
        let sql = format!("SELECT {STORE_COLUMNS} FROM memory_stores WHERE id = ?");
        self.fetch_row(sql, &[id.as_str()], store_from_row)
            .await?
            .ok_or_else(|| not_found("memory store", id))
    }

    pub(super) async fn list_memory_stores_impl(
        &self,
        include_archived: bool,
    ) -> StoreResult<Vec<MemoryStore>> {
        let filter = if include_archived {
            ""
        } else {
            "WHERE archived_at IS NULL"
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STORE_COLUMNS} FROM memory_stores {filter} ORDER BY created_at, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(store_from_row).collect()
    }

    pub(super) async fn update_memory_store_impl(
        &self,
        id: &MemoryStoreId,
        patch: MemoryStorePatch,
    ) -> StoreResult<MemoryStore> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut store = Self::load_store(&mut tx, id).await?;
        if store.archived_at.is_some() {
            return Err(StoreError::StoreArchived {
                store_id: id.to_string(),
            });
        }
        if let Some(name) = patch.name {
            validate_store_name(&name)?;
            store.name = name;
        }
        if let Some(description) = patch.description {
            validate_description(&description)?;
            store.description = description;
        }
        if let Some(changes) = patch.metadata {
            let mut metadata: BTreeMap<String, String> = store.metadata.clone();
            for (key, value) in changes {
                match value {
                    Some(value) => metadata.insert(key, value),
                    None => metadata.remove(&key),
                };
            }
            validate_metadata(&metadata)?;
            store.metadata = metadata;
        }
        if let Some(protected) = patch.protected_paths {
            for entry in &protected {
                validate_protected(entry)?;
            }
            store.protected_paths = protected;
        }
        sqlx::query(
            "UPDATE memory_stores SET name = ?, description = ?, metadata = ?, \
             protected_paths = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&store.name)
        .bind(&store.description)
        .bind(json(&store.metadata)?)
        .bind(json(&store.protected_paths)?)
        .bind(self.clock.now().to_rfc3339())
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_memory_store_impl(id).await
    }

    pub(super) async fn archive_memory_store_impl(
        &self,
        id: &MemoryStoreId,
    ) -> StoreResult<MemoryStore> {
        let now = self.clock.now().to_rfc3339();
        sqlx::query(
            "UPDATE memory_stores SET archived_at = ?, updated_at = ? \
             WHERE id = ? AND archived_at IS NULL",
        )
        .bind(&now)
        .bind(&now)
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        self.get_memory_store_impl(id).await
    }

    pub(super) async fn delete_memory_store_impl(&self, id: &MemoryStoreId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM memory_stores WHERE id = ?")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        if result.rows_affected() == 0 {
            return Err(not_found("memory store", id));
        }
        Ok(())
    }

    pub(super) async fn write_memories_impl(
        &self,
        store_id: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
    ) -> StoreResult<Vec<MemoryVersion>> {
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let (tx, versions) = self.write_in(tx, store_id, writes, actor).await?;
        tx.commit().await?;
        Ok(versions)
    }

    /// Applies `writes` inside `tx` and returns it uncommitted.
    pub(super) async fn write_in(
        &self,
        mut tx: Transaction<'static, Sqlite>,
        store_id: &MemoryStoreId,
        writes: &[MemoryWrite],
        actor: &Actor,
    ) -> StoreResult<(Transaction<'static, Sqlite>, Vec<MemoryVersion>)> {
        let store = Self::load_store(&mut tx, store_id).await?;
        let changes_content = writes
            .iter()
            .any(|w| !matches!(w, MemoryWrite::Delete { .. }));
        if store.archived_at.is_some() && changes_content {
            return Err(StoreError::StoreArchived {
                store_id: store_id.to_string(),
            });
        }
        let mut state = WriteTx {
            tx,
            store,
            actor,
            actor_json: json(actor)?,
            now: self.clock.now().to_rfc3339(),
            versions: Vec::with_capacity(writes.len()),
        };
        for write in writes {
            self.apply_write(&mut state, write).await?;
        }
        let WriteTx {
            mut tx,
            store,
            versions,
            ..
        } = state;
        sqlx::query("UPDATE memory_stores SET store_version = ? WHERE id = ?")
            .bind(to_i64(store.store_version))
            .bind(store_id.as_str())
            .execute(&mut *tx)
            .await?;
        Ok((tx, versions))
    }

    fn check_protected(state: &WriteTx<'_>, path: &str) -> StoreResult<()> {
        if state.actor.is_human() {
            return Ok(());
        }
        match state
            .store
            .protected_paths
            .iter()
            .find(|prefix| path_has_prefix(path, prefix))
        {
            Some(prefix) => Err(StoreError::ProtectedPath {
                path: path.to_owned(),
                prefix: prefix.clone(),
            }),
            None => Ok(()),
        }
    }

    async fn memory_at_path(
        tx: &mut Transaction<'static, Sqlite>,
        store: &MemoryStoreId,
        path: &str,
    ) -> StoreResult<Option<Memory>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMORY_COLUMNS} FROM memories WHERE store_id = ? AND path = ?"
        )))
        .bind(store.as_str())
        .bind(path)
        .fetch_optional(&mut **tx)
        .await?;
        row.as_ref().map(memory_from_row).transpose()
    }

    async fn apply_write(&self, state: &mut WriteTx<'_>, write: &MemoryWrite) -> StoreResult<()> {
        let store_id = state.store.id.clone();
        match write {
            MemoryWrite::Create { .. } | MemoryWrite::Recreate { .. } => {
                let (recreated, path, content) = match write {
                    MemoryWrite::Recreate {
                        memory_id,
                        path,
                        content,
                    } => (Some(memory_id), path, content),
                    MemoryWrite::Create { path, content } => (None, path, content),
                    _ => return Ok(()),
                };
                validate_path(path)?;
                validate_content(content)?;
                Self::check_protected(state, path)?;
                if let Some(existing) = Self::memory_at_path(&mut state.tx, &store_id, path).await?
                {
                    return Err(StoreError::PathConflict {
                        path: path.clone(),
                        memory_id: existing.id.to_string(),
                    });
                }
                let memory_id: MemoryId = match recreated {
                    None => new_id(self.ids.as_ref()),
                    Some(id) => {
                        Self::check_recreatable(&mut state.tx, &store_id, id).await?;
                        id.clone()
                    }
                };
                let version = self
                    .insert_version(
                        state,
                        &memory_id,
                        MemoryOperation::Created,
                        Some(path),
                        Some(content),
                    )
                    .await?;
                sqlx::query(
                    "INSERT INTO memories (id, store_id, path, content, content_sha256, \
                     content_size_bytes, memory_version_id, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(memory_id.as_str())
                .bind(store_id.as_str())
                .bind(path)
                .bind(content)
                .bind(content_sha256(content))
                .bind(to_i64(content.len() as u64))
                .bind(version.id.as_str())
                .bind(&state.now)
                .bind(&state.now)
                .execute(&mut *state.tx)
                .await?;
                state.versions.push(version);
            }
            MemoryWrite::Update {
                memory_id,
                content,
                path,
                precondition,
            } => {
                let current = Self::live_memory(&mut state.tx, &store_id, memory_id).await?;
                check_precondition(&current, precondition.as_deref())?;
                let new_path = path.clone().unwrap_or_else(|| current.path.clone());
                let new_content = content.clone().unwrap_or_else(|| current.content.clone());
                validate_path(&new_path)?;
                validate_content(&new_content)?;
                if new_path == current.path && new_content == current.content {
                    return Ok(());
                }
                Self::check_protected(state, &current.path)?;
                Self::check_protected(state, &new_path)?;
                if new_path != current.path
                    && let Some(other) =
                        Self::memory_at_path(&mut state.tx, &store_id, &new_path).await?
                {
                    return Err(StoreError::PathConflict {
                        path: new_path,
                        memory_id: other.id.to_string(),
                    });
                }
                let version = self
                    .insert_version(
                        state,
                        memory_id,
                        MemoryOperation::Modified,
                        Some(&new_path),
                        Some(&new_content),
                    )
                    .await?;
                sqlx::query(
                    "UPDATE memories SET path = ?, content = ?, content_sha256 = ?, \
                     content_size_bytes = ?, memory_version_id = ?, updated_at = ? WHERE id = ?",
                )
                .bind(&new_path)
                .bind(&new_content)
                .bind(content_sha256(&new_content))
                .bind(to_i64(new_content.len() as u64))
                .bind(version.id.as_str())
                .bind(&state.now)
                .bind(memory_id.as_str())
                .execute(&mut *state.tx)
                .await?;
                state.versions.push(version);
            }
            MemoryWrite::Delete {
                memory_id,
                precondition,
            } => {
                let current = Self::live_memory(&mut state.tx, &store_id, memory_id).await?;
                check_precondition(&current, precondition.as_deref())?;
                Self::check_protected(state, &current.path)?;
                let version = self
                    .insert_version(
                        state,
                        memory_id,
                        MemoryOperation::Deleted,
                        Some(&current.path),
                        None,
                    )
                    .await?;
                sqlx::query("DELETE FROM memories WHERE id = ?")
                    .bind(memory_id.as_str())
                    .execute(&mut *state.tx)
                    .await?;
                state.versions.push(version);
            }
        }
        Ok(())
    }

    /// A recreated memory must have been in this store and be deleted now.
    async fn check_recreatable(
        tx: &mut Transaction<'static, Sqlite>,
        store: &MemoryStoreId,
        id: &MemoryId,
    ) -> StoreResult<()> {
        let live: Option<String> = sqlx::query_scalar("SELECT path FROM memories WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        if let Some(path) = live {
            return Err(StoreError::PathConflict {
                path,
                memory_id: id.to_string(),
            });
        }
        let known: Option<String> = sqlx::query_scalar(
            "SELECT id FROM memory_versions WHERE store_id = ? AND memory_id = ? LIMIT 1",
        )
        .bind(store.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        match known {
            Some(_) => Ok(()),
            None => Err(not_found("memory", id)),
        }
    }

    async fn live_memory(
        tx: &mut Transaction<'static, Sqlite>,
        store: &MemoryStoreId,
        id: &MemoryId,
    ) -> StoreResult<Memory> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMORY_COLUMNS} FROM memories WHERE store_id = ? AND id = ?"
        )))
        .bind(store.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        row.as_ref()
            .map(memory_from_row)
            .transpose()?
            .ok_or_else(|| not_found("memory", id))
    }

    async fn insert_version(
        &self,
        state: &mut WriteTx<'_>,
        memory_id: &MemoryId,
        operation: MemoryOperation,
        path: Option<&str>,
        content: Option<&str>,
    ) -> StoreResult<MemoryVersion> {
        state.store.store_version += 1;
        let id: MemoryVersionId = new_id(self.ids.as_ref());
        let sha = content.map(content_sha256);
        let size = content.map(|c| c.len() as u64);
        sqlx::query(
            "INSERT INTO memory_versions (id, store_id, memory_id, store_version, operation, path, \
             content, content_sha256, content_size_bytes, created_by, actor_type, actor_id, \
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.as_str())
        .bind(state.store.id.as_str())
        .bind(memory_id.as_str())
        .bind(to_i64(state.store.store_version))
        .bind(operation.as_str())
        .bind(path)
        .bind(content)
        .bind(sha.clone())
        .bind(size.map(to_i64))
        .bind(&state.actor_json)
        .bind(state.actor.type_name())
        .bind(state.actor.id())
        .bind(&state.now)
        .execute(&mut *state.tx)
        .await?;
        Ok(MemoryVersion {
            id,
            memory_id: memory_id.clone(),
            memory_store_id: state.store.id.clone(),
            store_version: state.store.store_version,
            operation,
            path: path.map(str::to_owned),
            content: content.map(str::to_owned),
            content_sha256: sha,
            content_size_bytes: size,
            created_by: state.actor.clone(),
            created_at: parse_time(Some(state.now.clone()), "now")?
                .ok_or_else(|| corrupt("now", &state.now))?,
            redacted_at: None,
            redacted_by: None,
        })
    }

    async fn ensure_store(&self, store: &MemoryStoreId) -> StoreResult<MemoryStore> {
        self.get_memory_store_impl(store).await
    }

    pub(super) async fn get_memory_impl(
        &self,
        store: &MemoryStoreId,
        id: &MemoryId,
    ) -> StoreResult<Memory> {
        let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE store_id = ? AND id = ?");
        self.fetch_row(sql, &[store.as_str(), id.as_str()], memory_from_row)
            .await?
            .ok_or_else(|| not_found("memory", id))
    }

    pub(super) async fn find_memory_impl(
        &self,
        store: &MemoryStoreId,
        path: &str,
    ) -> StoreResult<Option<Memory>> {
        let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE store_id = ? AND path = ?");
        self.fetch_row(sql, &[store.as_str(), path], memory_from_row)
            .await
    }

    pub(super) async fn list_memories_impl(
        &self,
        store: &MemoryStoreId,
        path_prefix: Option<&str>,
    ) -> StoreResult<Vec<Memory>> {
        self.ensure_store(store).await?;
        let prefix = path_prefix.unwrap_or("/");
        // substr() rather than LIKE: paths may hold `%` and `_`.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MEMORY_COLUMNS} FROM memories WHERE store_id = ? \
             AND substr(path, 1, length(?)) = ? ORDER BY path"
        )))
        .bind(store.as_str())
        .bind(prefix)
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(memory_from_row).collect()
    }

    pub(super) async fn list_memory_versions_impl(
        &self,
        store: &MemoryStoreId,
        filter: &VersionFilter,
    ) -> StoreResult<Vec<MemoryVersion>> {
        self.ensure_store(store).await?;
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {VERSION_COLUMNS} FROM memory_versions WHERE store_id = "
        ));
        query.push_bind(store.as_str().to_owned());
        if let Some(memory) = &filter.memory_id {
            query
                .push(" AND memory_id = ")
                .push_bind(memory.as_str().to_owned());
        }
        if let Some(kind) = &filter.actor_type {
            query.push(" AND actor_type = ").push_bind(kind.clone());
        }
        if let Some(id) = &filter.actor_id {
            query.push(" AND actor_id = ").push_bind(id.clone());
        }
        if let Some(operation) = filter.operation {
            query
                .push(" AND operation = ")
                .push_bind(operation.as_str());
        }
        if let Some(since) = filter.since {
            query
                .push(" AND created_at >= ")
                .push_bind(since.to_rfc3339());
        }
        if let Some(until) = filter.until {
            query
                .push(" AND created_at <= ")
                .push_bind(until.to_rfc3339());
        }
        if let Some(before) = filter.before_store_version {
            query
                .push(" AND store_version < ")
                .push_bind(to_i64(before));
        }
        query.push(" ORDER BY store_version DESC");
        if let Some(limit) = filter.limit {
            query.push(" LIMIT ").push_bind(to_i64(limit));
        }
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(version_from_row).collect()
    }

    pub(super) async fn get_memory_version_impl(
        &self,
        store: &MemoryStoreId,
        id: &MemoryVersionId,
    ) -> StoreResult<MemoryVersion> {
        let sql =
            format!("SELECT {VERSION_COLUMNS} FROM memory_versions WHERE store_id = ? AND id = ?");
        self.fetch_row(sql, &[store.as_str(), id.as_str()], version_from_row)
            .await?
            .ok_or_else(|| not_found("memory version", id))
    }

    pub(super) async fn redact_memory_version_impl(
        &self,
        store: &MemoryStoreId,
        id: &MemoryVersionId,
        actor: &Actor,
    ) -> StoreResult<MemoryVersion> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Self::load_store(&mut tx, store).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM memory_versions WHERE store_id = ? AND id = ?"
        )))
        .bind(store.as_str())
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let version = row
            .as_ref()
            .map(version_from_row)
            .transpose()?
            .ok_or_else(|| not_found("memory version", id))?;
        if version.redacted_at.is_some() {
            return Ok(version);
        }
        let live: Option<String> =
            sqlx::query_scalar("SELECT path FROM memories WHERE memory_version_id = ?")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(path) = live {
            return Err(StoreError::RedactCurrent {
                version_id: id.to_string(),
                path,
            });
        }
        sqlx::query(
            "UPDATE memory_versions SET path = NULL, content = NULL, content_sha256 = NULL, \
             content_size_bytes = NULL, redacted_at = ?, redacted_by = ? WHERE id = ?",
        )
        .bind(self.clock.now().to_rfc3339())
        .bind(json(actor)?)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_memory_version_impl(store, id).await
    }

    pub(super) async fn memories_at_impl(
        &self,
        store: &MemoryStoreId,
        store_version: u64,
    ) -> StoreResult<Vec<MemorySnapshot>> {
        let current = self.ensure_store(store).await?;
        if store_version > current.store_version {
            return Err(StoreError::VersionOutOfRange {
                store_id: store.to_string(),
                requested: store_version,
                current: current.store_version,
            });
        }
        let rows = sqlx::query(
            "SELECT v.memory_id, v.path, v.content, v.content_sha256, v.id, v.store_version \
             FROM memory_versions v \
             JOIN (SELECT memory_id, MAX(store_version) AS last FROM memory_versions \
                   WHERE store_id = ? AND store_version <= ? GROUP BY memory_id) l \
               ON l.memory_id = v.memory_id AND l.last = v.store_version \
             WHERE v.store_id = ? AND v.operation != 'deleted' \
             ORDER BY v.path, v.memory_id",
        )
        .bind(store.as_str())
        .bind(to_i64(store_version))
        .bind(store.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let memory: String = row.try_get("memory_id")?;
                let version: String = row.try_get("id")?;
                Ok(MemorySnapshot {
                    memory_id: MemoryId::from_str(&memory)
                        .map_err(|_| corrupt("memory id", &memory))?,
                    path: row.try_get("path")?,
                    content: row.try_get("content")?,
                    content_sha256: row.try_get("content_sha256")?,
                    memory_version_id: MemoryVersionId::from_str(&version)
                        .map_err(|_| corrupt("memory version id", &version))?,
                    store_version: to_u64(row.try_get("store_version")?),
                })
            })
            .collect()
    }
}

fn check_precondition(memory: &Memory, expected: Option<&str>) -> StoreResult<()> {
    match expected {
        Some(expected) if expected != memory.content_sha256 => {
            Err(StoreError::PreconditionFailed {
                memory_id: memory.id.to_string(),
                path: memory.path.clone(),
                expected: expected.to_owned(),
                actual: memory.content_sha256.clone(),
            })
        }
        _ => Ok(()),
    }
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("cannot encode: {e}")))
}
