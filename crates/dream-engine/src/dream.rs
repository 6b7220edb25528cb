//! Running a dream end to end: select → extract → mine → curate → check → output
//! (DESIGN.md, "The dream pipeline"), with the job's status, timings and counts
//! recorded in the store as it goes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use dream_store::{
    DreamFilter, MemoryStorePatch, MemoryWrite, NewMemoryStore, SessionRef, Store, VersionFilter,
};
use dream_types::{
    Actor, Clock, Dream, DreamConfig, DreamCounts, DreamError, DreamId, DreamMode, DreamStatus,
    DreamUsage, HeldBack, HeldBackReason, MemoryStore, MemoryStoreId, OutputBehavior, Proposal,
    ProposalId, Rejection, Session, SessionFilter, SessionId, SessionWindow, StageTimings,
    Timestamp, WindowFilters,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::check::{check_change, redact_held_back, redact_text};
use crate::curate::{CurateInput, MemoryFile, curate};
use crate::pattern::{SessionInfo, mine};
use crate::pending::supersede_pending;
use crate::provenance::provenance;
use crate::review::{ReviewReport, approve};
use crate::signal::{EXTRACTOR_VERSION, Signal, extract};
use crate::{EngineError, EngineResult};

/// The engine that needs no model.
pub const LOCAL_ENGINE: &str = "local";
/// Most sessions a dream takes by explicit ids (Anthropic's limit).
pub const MAX_EXPLICIT_SESSIONS: usize = 100;
/// Longest `instructions` (Anthropic's limit), in characters.
pub const MAX_INSTRUCTIONS_CHARS: usize = 4_096;
/// A reward below this counts as a failed session.
pub const REWARD_FAILURE_BELOW: f64 = 0.5;

/// What to dream about, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct DreamRequest {
    /// The store to read.
    pub memory_store_id: MemoryStoreId,
    /// Which sessions.
    pub window: SessionWindow,
    /// Skip the dream when fewer top-level sessions arrived since the store's last
    /// completed dream.
    pub min_new_sessions: Option<u64>,
    /// `local`.
    pub engine: String,
    /// Guidance (kept; the local engine does not read it).
    pub instructions: Option<String>,
    /// Where the result goes.
    pub output_behavior: OutputBehavior,
    /// Review or auto.
    pub mode: DreamMode,
    /// Gate overrides for this dream (`None` uses the store's configuration).
    pub config: Option<DreamConfig>,
    /// Override of `min_support` only.
    pub min_support: Option<u64>,
    /// Filters on the window's sessions. Empty `agents` falls back to the store's
    /// pinned agents ([`DreamConfig::agents`]); explicit session ids are never filtered.
    pub filters: WindowFilters,
    /// Mark the store's older pending proposals `superseded` once this dream's
    /// proposal is stored ([`crate::pending::supersede_pending`]).
    pub supersede_pending: bool,
}

/// Watches a dream.
pub trait DreamObserver: Send + Sync {
    /// A stage starts (`select`, `extract`, `mine`, `curate`, `check`, `output`).
    fn stage(&self, _stage: &str) {}
    /// Sessions read so far during `extract`.
    fn progress(&self, _done: u64, _total: u64) {}
}

/// An observer that does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl DreamObserver for Quiet {}

/// Why a dream did not start: too few new sessions since the store's last dream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Why, in one line.
    pub reason: String,
    /// New top-level sessions since the last completed dream.
    pub new_sessions: u64,
    /// The threshold.
    pub min_new_sessions: u64,
    /// The last completed dream of the store.
    pub previous_dream_id: Option<DreamId>,
}

/// What [`start_dream`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum DreamStart {
    /// Too few new sessions; nothing was stored.
    Skipped(Skip),
    /// The dream is stored as `pending`; run it with [`execute_dream`].
    Pending(Box<Dream>),
}

/// What `run_dream` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DreamRun {
    /// Too few new sessions since the last dream.
    Skipped(Skip),
    /// The dream ran.
    Ran {
        /// The dream as stored.
        dream: Box<Dream>,
        /// Its proposal (absent when canceled).
        proposal: Option<Box<Proposal>>,
        /// In auto mode: what was applied.
        applied: Option<ReviewReport>,
    },
}

/// Returns whether a session failed, from its outcomes: a `reward` below 0.5, or any
/// verdict other than `satisfied` (`needs_revision` as a final state counts as failed).
/// `None` when it has no outcome.
pub fn session_failed(session: &Session) -> Option<bool> {
    if let Some(reward) = session
        .outcomes
        .iter()
        .find(|o| o.name == "reward")
        .and_then(|o| o.value)
    {
        return Some(reward < REWARD_FAILURE_BELOW);
    }
    let verdicts: Vec<&dream_types::OutcomeResult> = session
        .outcomes
        .iter()
        .filter_map(|o| o.result.as_ref())
        .collect();
    if verdicts.is_empty() {
        return None;
    }
    Some(
        verdicts
            .iter()
            .any(|r| **r != dream_types::OutcomeResult::Satisfied),
    )
}

fn elapsed_ms(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The sessions a dream reads, and the undated ones its window matched.
struct Selection {
    /// Read, oldest first.
    sessions: Vec<Session>,
    /// Matched by the window but without a start time of their own, sorted; read
    /// only when they are also in `sessions`.
    undated: Vec<SessionId>,
}

/// Returns true when `session` passes the agent and metadata filters.
fn passes(filters: &WindowFilters, session: &Session) -> bool {
    (filters.agents.is_empty()
        || session
            .agent
            .as_ref()
            .is_some_and(|a| filters.agents.contains(a)))
        && filters
            .metadata
            .iter()
            .all(|(key, value)| session.metadata.get(key) == Some(value))
}

/// Returns the top-level sessions (newest first) that pass the agent and metadata
/// filters, starting (or, undated, ingested) at or after `since`.
async fn filtered_sessions(
    store: &dyn Store,
    filters: &WindowFilters,
    since: Option<Timestamp>,
    ingested_after: Option<Timestamp>,
) -> EngineResult<Vec<Session>> {
    let listed = store
        .list_sessions(&SessionFilter {
            top_level_only: true,
            // One agent narrows in the store; several are matched here.
            agent: match filters.agents.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            },
            since,
            ingested_after,
            ..SessionFilter::default()
        })
        .await?;
    Ok(listed.into_iter().filter(|s| passes(filters, s)).collect())
}

async fn select_sessions(
    store: &dyn Store,
    window: &SessionWindow,
    filters: &WindowFilters,
    now: Timestamp,
) -> EngineResult<Selection> {
    let mut undated_left_out = false;
    let mut sessions = match window {
        SessionWindow::Explicit { session_ids } => {
            if session_ids.is_empty() || session_ids.len() > MAX_EXPLICIT_SESSIONS {
                return Err(EngineError::InvalidRequest(format!(
                    "a dream takes 1 to {MAX_EXPLICIT_SESSIONS} explicit session ids, got {}",
                    session_ids.len()
                )));
            }
            let unique: BTreeSet<&SessionId> = session_ids.iter().collect();
            if unique.len() != session_ids.len() {
                return Err(EngineError::InvalidRequest(
                    "the session ids contain duplicates".into(),
                ));
            }
            let mut out = Vec::with_capacity(session_ids.len());
            for id in session_ids {
                out.push(store.get_session(&SessionRef::Id(id.clone())).await?);
            }
            out
        }
        SessionWindow::Last { count } => {
            let mut all = filtered_sessions(store, filters, None, None).await?;
            all.truncate(usize::try_from(*count).unwrap_or(usize::MAX));
            all
        }
        SessionWindow::Since { seconds } => {
            // Undated sessions pass the store's filter by their ingest time; they are
            // matched, counted and listed, but read only when asked for.
            let since = now.plus_secs(-i64::try_from(*seconds).unwrap_or(i64::MAX));
            undated_left_out = !filters.include_undated;
            filtered_sessions(store, filters, Some(since), None).await?
        }
        SessionWindow::All => filtered_sessions(store, filters, None, None).await?,
    };
    let mut undated: Vec<SessionId> = sessions
        .iter()
        .filter(|s| s.started_at.is_none())
        .map(|s| s.id.clone())
        .collect();
    undated.sort();
    if undated_left_out {
        sessions.retain(|s| s.started_at.is_some());
    }
    sort_oldest_first(&mut sessions);
    Ok(Selection { sessions, undated })
}

/// Oldest first: the order the engine reads, cites and reports in.
fn sort_oldest_first(sessions: &mut [Session]) {
    sessions.sort_by(|a, b| {
        a.started_at
            .unwrap_or(a.ingested_at)
            .cmp(&b.started_at.unwrap_or(b.ingested_at))
            .then(a.source_session_id.cmp(&b.source_session_id))
            .then(a.id.cmp(&b.id))
    });
}

/// Returns the signals of a session and its subagents, from the cache when the
/// transcripts did not change since they were extracted.
async fn session_signals(
    store: &dyn Store,
    session: &Session,
) -> EngineResult<(Vec<Signal>, bool)> {
    let children = store.child_sessions(&session.id).await?;
    let mut hasher = Sha256::new();
    hasher.update(session.content_hash.as_bytes());
    for child in &children {
        hasher.update(child.content_hash.as_bytes());
    }
    let bundle: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if let Some((hash, json)) = store.cached_signals(&session.id, EXTRACTOR_VERSION).await?
        && hash == bundle
        && let Ok(signals) = serde_json::from_str::<Vec<Signal>>(&json)
    {
        return Ok((signals, true));
    }
    let events = store.session_events(&session.id, None).await?;
    let mut child_events = Vec::with_capacity(children.len());
    for child in children {
        let events = store.session_events(&child.id, None).await?;
        child_events.push((child, events));
    }
    let signals = extract(session, &events, &child_events);
    let json = serde_json::to_string(&signals)
        .map_err(|e| EngineError::InvalidRequest(format!("cannot encode signals: {e}")))?;
    store
        .cache_signals(&session.id, EXTRACTOR_VERSION, &bundle, &json)
        .await?;
    Ok((signals, false))
}

/// A session as the miner sees it; whether it went badly follows the store's rubric
/// weights ([`crate::outcomes::rubric::judged_failed`]).
fn info(session: &Session, rubric: &[dream_types::Criterion]) -> SessionInfo {
    SessionInfo {
        id: session.id.clone(),
        source_session_id: session.source_session_id.clone(),
        user: session.user.clone(),
        agent: session.agent.clone(),
        segment: session.metadata.get("segment").cloned(),
        failed: crate::outcomes::rubric::judged_failed(session, rubric),
        started_at: session.started_at,
    }
}

/// Verifies every quote against its event; returns the change ids whose evidence fails.
///
/// Quotes are stored redacted ([`crate::check::redact_change`]), so each is compared with its event's
/// text redacted the same way: a quote that had a secret replaced stays verifiable, and
/// a quote that is not in its event still fails.
async fn unverified(
    store: &dyn Store,
    proposal_changes: &[dream_types::Change],
) -> EngineResult<BTreeSet<String>> {
    let mut texts: HashMap<(SessionId, u32), Option<String>> = HashMap::new();
    let mut bad = BTreeSet::new();
    for change in proposal_changes {
        for evidence in &change.evidence {
            let key = (evidence.session_id.clone(), evidence.event_index);
            if !texts.contains_key(&key) {
                let events = store
                    .session_events(
                        &evidence.session_id,
                        Some(evidence.event_index..evidence.event_index + 1),
                    )
                    .await
                    .ok()
                    .unwrap_or_default();
                let redacted = events.into_iter().next().map(|e| redact_text(&e.text).0);
                texts.insert(key.clone(), redacted);
            }
            let found = texts
                .get(&key)
                .and_then(|t| t.as_deref())
                .is_some_and(|t| t.contains(&evidence.quote));
            if !found {
                bad.insert(change.id.clone());
            }
        }
    }
    Ok(bad)
}

/// Creates the output store of a `create_new` dream: a copy of the input's memories,
/// derived from the input (`derived_from`), with the input's dream configuration, and
/// its protected paths set after the copy (the copy is the dream's own write).
/// Rejections are not copied: dreams read them through the lineage
/// ([`lineage_rejections`]), so a rejection recorded on either store suppresses
/// look-alikes on both.
async fn create_output_store(
    store: &dyn Store,
    input: &MemoryStore,
    dream: &Dream,
) -> EngineResult<MemoryStore> {
    let short = dream
        .id
        .as_str()
        .chars()
        .skip(4)
        .take(10)
        .collect::<String>();
    let name: String = format!("{} (dream {short})", input.name)
        .chars()
        .take(255)
        .collect();
    let output = store
        .create_memory_store(NewMemoryStore {
            name,
            description: format!(
                "Result of dream {} on {} at store version {}.",
                dream.id, input.id, dream.base_store_version
            ),
            metadata: BTreeMap::from([
                ("dream_id".to_owned(), dream.id.to_string()),
                ("source_store_id".to_owned(), input.id.to_string()),
            ]),
            protected_paths: Vec::new(),
            derived_from: Some(input.id.clone()),
        })
        .await?;
    let input_config = store.dream_config(&input.id).await?;
    if input_config != DreamConfig::default() {
        store.set_dream_config(&output.id, &input_config).await?;
    }
    let writes: Vec<MemoryWrite> = store
        .memories_at(&input.id, dream.base_store_version)
        .await?
        .into_iter()
        .filter_map(|m| match (m.path, m.content) {
            (Some(path), Some(content)) => Some(MemoryWrite::Create { path, content }),
            _ => None,
        })
        .collect();
    let actor = Actor::Dream {
        dream_id: dream.id.to_string(),
    };
    if !writes.is_empty() {
        store.write_memories(&output.id, &writes, &actor).await?;
    }
    if !input.protected_paths.is_empty() {
        store
            .update_memory_store(
                &output.id,
                MemoryStorePatch {
                    protected_paths: Some(input.protected_paths.clone()),
                    ..MemoryStorePatch::default()
                },
            )
            .await?;
    }
    Ok(store.get_memory_store(&output.id).await?)
}

/// Returns the rejections remembered by every store of `store_id`'s lineage, oldest
/// first: the stores it was derived from, up to the first, and every store derived
/// from those. A `create_new` dream's proposal is reviewed on its output store, so a
/// rejection there must still suppress look-alikes when the next dream reads the
/// input store (and the other way round).
///
/// # Errors
/// Store errors.
pub async fn lineage_rejections(
    store: &dyn Store,
    store_id: &MemoryStoreId,
) -> EngineResult<Vec<Rejection>> {
    let stores = store.list_memory_stores(true).await?;
    let parents: HashMap<&MemoryStoreId, &MemoryStoreId> = stores
        .iter()
        .filter_map(|s| s.derived_from.as_ref().map(|p| (&s.id, p)))
        .collect();
    // The first ancestor (a store that was deleted still names its lineage).
    let root = |id: &MemoryStoreId| {
        let mut id = id.clone();
        for _ in 0..=stores.len() {
            match parents.get(&id) {
                Some(parent) => id = (*parent).clone(),
                None => break,
            }
        }
        id
    };
    let family = root(store_id);
    let mut members: BTreeSet<MemoryStoreId> = stores
        .iter()
        .map(|s| s.id.clone())
        .filter(|id| root(id) == family)
        .collect();
    members.insert(store_id.clone());
    let mut rejections = Vec::new();
    for member in &members {
        rejections.extend(store.rejections(member).await?);
    }
    rejections.sort_by(|a, b| {
        (a.created_at, &a.change_id, &a.memory_store_id).cmp(&(
            b.created_at,
            &b.change_id,
            &b.memory_store_id,
        ))
    });
    Ok(rejections)
}

/// Runs a dream synchronously and returns it with its proposal: [`start_dream`] then
/// [`execute_dream`].
///
/// The dream is stored as `pending`, then `running`, then `completed` (or `failed`
/// with an error, or left `canceled` when someone cancels it). In review mode nothing
/// is written to memory; in auto mode every change not flagged `needs_human` is
/// applied when it completes.
///
/// # Errors
/// [`EngineError::InvalidRequest`] for a bad request (no dream is stored); store
/// errors. Errors after the dream is stored also mark it `failed`.
pub async fn run_dream(
    store: &dyn Store,
    request: &DreamRequest,
    clock: &dyn Clock,
    observer: &dyn DreamObserver,
) -> EngineResult<DreamRun> {
    observer.stage("select");
    let select_started = Instant::now();
    let (dream, input, sessions) = match prepare(store, request, clock).await? {
        Prepared::Skipped(skip) => return Ok(DreamRun::Skipped(skip)),
        Prepared::Ready {
            dream,
            input,
            sessions,
        } => (dream, input, sessions),
    };
    execute(
        store,
        *dream,
        &input,
        &sessions,
        select_started,
        clock,
        observer,
    )
    .await
}

/// Validates a request, chooses its sessions and stores the dream as `pending`,
/// without running it: what an API does before answering, leaving the work to a
/// background job ([`execute_dream`]).
///
/// # Errors
/// As [`run_dream`], before anything is stored.
pub async fn start_dream(
    store: &dyn Store,
    request: &DreamRequest,
    clock: &dyn Clock,
) -> EngineResult<DreamStart> {
    Ok(match prepare(store, request, clock).await? {
        Prepared::Skipped(skip) => DreamStart::Skipped(skip),
        Prepared::Ready { dream, .. } => DreamStart::Pending(dream),
    })
}

/// Runs a dream stored as `pending` (by [`start_dream`]). A dream canceled before it
/// starts stays canceled and is returned as it is.
///
/// # Errors
/// [`EngineError::InvalidRequest`] when the dream is already running or finished
/// (other than canceled); store errors (which also mark the dream `failed`).
pub async fn execute_dream(
    store: &dyn Store,
    id: &DreamId,
    clock: &dyn Clock,
    observer: &dyn DreamObserver,
) -> EngineResult<DreamRun> {
    observer.stage("select");
    let select_started = Instant::now();
    let dream = store.get_dream(id).await?;
    match dream.status {
        DreamStatus::Pending => {}
        DreamStatus::Canceled => {
            return Ok(DreamRun::Ran {
                dream: Box::new(dream),
                proposal: None,
                applied: None,
            });
        }
        status => {
            return Err(EngineError::InvalidRequest(format!(
                "dream {id} is {status}; only a pending dream can be run"
            )));
        }
    }
    let loaded = async {
        let input = store.get_memory_store(&dream.memory_store_id).await?;
        let mut sessions = Vec::with_capacity(dream.session_ids.len());
        for session_id in &dream.session_ids {
            sessions.push(
                store
                    .get_session(&SessionRef::Id(session_id.clone()))
                    .await?,
            );
        }
        sort_oldest_first(&mut sessions);
        EngineResult::Ok((input, sessions))
    }
    .await;
    match loaded {
        Ok((input, sessions)) => {
            execute(
                store,
                dream,
                &input,
                &sessions,
                select_started,
                clock,
                observer,
            )
            .await
        }
        Err(err) => {
            fail(store, dream, &err, clock).await;
            Err(err)
        }
    }
}

/// A request checked and its dream stored, or skipped.
enum Prepared {
    Skipped(Skip),
    Ready {
        dream: Box<Dream>,
        input: MemoryStore,
        sessions: Vec<Session>,
    },
}

async fn prepare(
    store: &dyn Store,
    request: &DreamRequest,
    clock: &dyn Clock,
) -> EngineResult<Prepared> {
    if request.engine != LOCAL_ENGINE {
        return Err(EngineError::InvalidRequest(format!(
            "engine {:?} cannot run here: this build has the `{LOCAL_ENGINE}` engine (deterministic, no model)",
            request.engine
        )));
    }
    if let Some(text) = &request.instructions {
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_INSTRUCTIONS_CHARS {
            return Err(EngineError::InvalidRequest(format!(
                "instructions must be 1 to {MAX_INSTRUCTIONS_CHARS} characters, got {chars}"
            )));
        }
    }
    let input = store.get_memory_store(&request.memory_store_id).await?;
    if input.archived_at.is_some() {
        return Err(EngineError::InvalidRequest(format!(
            "memory store {} is archived; dreams read active stores only",
            input.id
        )));
    }
    let mut config = match &request.config {
        Some(config) => config.clone(),
        None => store.dream_config(&input.id).await?,
    };
    // Explicit ids are read as given; filters (the store's pinned agents included)
    // narrow windows only.
    let mut filters = request.filters.clone();
    if matches!(request.window, SessionWindow::Explicit { .. }) {
        filters = WindowFilters::default();
    } else if filters.agents.is_empty() {
        filters.agents.clone_from(&config.agents);
    }
    if let Some(min_support) = request.min_support {
        if min_support == 0 {
            return Err(EngineError::InvalidRequest(
                "min_support must be at least 1".into(),
            ));
        }
        config.min_support = min_support;
    }
    let now = clock.now();
    if let Some(min_new) = request.min_new_sessions {
        let previous = store
            .list_dreams(&DreamFilter {
                memory_store_id: Some(input.id.clone()),
                statuses: vec![DreamStatus::Completed],
                include_archived: true,
                limit: Some(1),
                ..DreamFilter::default()
            })
            .await?
            .into_iter()
            .next();
        if let Some(previous) = previous {
            let new_sessions = filtered_sessions(store, &filters, None, Some(previous.created_at))
                .await?
                .len() as u64;
            if new_sessions < min_new {
                return Ok(Prepared::Skipped(Skip {
                    reason: format!(
                        "{new_sessions} new sessions since dream {} (min_new_sessions {min_new})",
                        previous.id
                    ),
                    new_sessions,
                    min_new_sessions: min_new,
                    previous_dream_id: Some(previous.id),
                }));
            }
        }
    }
    let Selection { sessions, undated } =
        select_sessions(store, &request.window, &filters, now).await?;
    if sessions.is_empty() {
        let why = if undated.is_empty() {
            String::new()
        } else {
            format!(
                " ({} sessions with no start time of their own were left out; include_undated reads them)",
                undated.len()
            )
        };
        return Err(EngineError::InvalidRequest(format!(
            "no sessions to dream about{why}: ingest transcripts first (`dream ingest PATH`) or widen the window"
        )));
    }

    let dream = store
        .create_dream(Dream {
            id: "drm_pending"
                .parse()
                .map_err(|_| EngineError::InvalidRequest("id".into()))?,
            memory_store_id: input.id.clone(),
            base_store_version: input.store_version,
            session_ids: {
                let mut ids: Vec<SessionId> = sessions.iter().map(|s| s.id.clone()).collect();
                ids.sort();
                ids
            },
            window: request.window.clone(),
            filters,
            counts: DreamCounts {
                undated: undated.len() as u64,
                ..DreamCounts::default()
            },
            undated_session_ids: undated,
            supersede_pending: request.supersede_pending,
            superseded_proposal_ids: Vec::new(),
            engine: request.engine.clone(),
            instructions: request.instructions.clone(),
            output_behavior: request.output_behavior,
            mode: request.mode,
            config: config.clone(),
            status: DreamStatus::Pending,
            error: None,
            usage: DreamUsage::default(),
            output_store_id: None,
            proposal_id: None,
            timings: StageTimings::default(),
            created_at: now,
            started_at: None,
            ended_at: None,
            archived_at: None,
        })
        .await?;
    Ok(Prepared::Ready {
        dream: Box::new(dream),
        input,
        sessions,
    })
}

/// Runs a stored `pending` dream over its loaded sessions (oldest first).
async fn execute(
    store: &dyn Store,
    mut dream: Dream,
    input: &MemoryStore,
    sessions: &[Session],
    select_started: Instant,
    clock: &dyn Clock,
    observer: &dyn DreamObserver,
) -> EngineResult<DreamRun> {
    dream.status = DreamStatus::Running;
    dream.started_at = Some(clock.now());
    dream.timings.select_ms = elapsed_ms(select_started);
    dream = store.update_dream(&dream).await?;
    if dream.status == DreamStatus::Canceled {
        return Ok(DreamRun::Ran {
            dream: Box::new(dream),
            proposal: None,
            applied: None,
        });
    }
    let config = dream.config.clone();
    match pipeline(store, &mut dream, input, sessions, &config, clock, observer).await {
        Ok(run) => Ok(run),
        Err(err) => {
            fail(store, dream, &err, clock).await;
            Err(err)
        }
    }
}

/// Marks a dream `failed` with `err` (unless it already reached a final status).
async fn fail(store: &dyn Store, mut dream: Dream, err: &EngineError, clock: &dyn Clock) {
    if !dream.status.is_final() {
        dream.status = DreamStatus::Failed;
        dream.error = Some(DreamError {
            kind: err.code().to_owned(),
            message: err.to_string(),
        });
        dream.ended_at = Some(clock.now());
        if let Err(store_err) = store.update_dream(&dream).await {
            tracing::error!(dream = %dream.id, error = %store_err, "cannot record the dream's failure");
        }
    }
}

/// Returns true when someone canceled the dream (it then stays canceled).
async fn canceled(store: &dyn Store, dream: &mut Dream) -> EngineResult<bool> {
    let stored = store.get_dream(&dream.id).await?;
    if stored.status == DreamStatus::Canceled {
        *dream = stored;
        return Ok(true);
    }
    Ok(false)
}

async fn pipeline(
    store: &dyn Store,
    dream: &mut Dream,
    input: &MemoryStore,
    sessions: &[Session],
    config: &DreamConfig,
    clock: &dyn Clock,
    observer: &dyn DreamObserver,
) -> EngineResult<DreamRun> {
    let stopped = |dream: &Dream| DreamRun::Ran {
        dream: Box::new(dream.clone()),
        proposal: None,
        applied: None,
    };

    observer.stage("extract");
    let started = Instant::now();
    let mut signals: BTreeMap<SessionId, Vec<Signal>> = BTreeMap::new();
    let mut last_check = Instant::now();
    for (i, session) in sessions.iter().enumerate() {
        if last_check.elapsed().as_secs() >= 1 {
            last_check = Instant::now();
            if canceled(store, dream).await? {
                return Ok(stopped(dream));
            }
        }
        let (found, cached) = session_signals(store, session).await?;
        dream.counts.sessions_read += 1;
        dream.counts.sessions_cached += u64::from(cached);
        dream.counts.signals += found.len() as u64;
        signals.insert(session.id.clone(), found);
        observer.progress(i as u64 + 1, sessions.len() as u64);
    }
    dream.timings.extract_ms = elapsed_ms(started);
    if canceled(store, dream).await? {
        return Ok(stopped(dream));
    }

    observer.stage("mine");
    let started = Instant::now();
    let rubric = store.outcomes_config(&input.id).await?.outcomes;
    let infos: Vec<SessionInfo> = sessions.iter().map(|s| info(s, &rubric)).collect();
    let patterns = mine(&infos, &signals, config);
    dream.counts.patterns = patterns.len() as u64;
    dream.timings.mine_ms = elapsed_ms(started);

    observer.stage("curate");
    let started = Instant::now();
    let memories: Vec<MemoryFile> = store
        .list_memories(&input.id, None)
        .await?
        .into_iter()
        .map(|m| MemoryFile {
            path: m.path,
            content: m.content,
            updated_at: Some(m.updated_at),
        })
        .collect();
    let rejections = lineage_rejections(store, &input.id).await?;
    let history = store
        .list_memory_versions(&input.id, &VersionFilter::default())
        .await?;
    let provenance = provenance(&history);
    let curated = curate(CurateInput {
        patterns: &patterns,
        memories: &memories,
        protected: &input.protected_paths,
        config,
        rejections: &rejections,
        provenance: &provenance,
        now: clock.now(),
    });
    dream.timings.curate_ms = elapsed_ms(started);
    if canceled(store, dream).await? {
        return Ok(stopped(dream));
    }

    observer.stage("check");
    let started = Instant::now();
    // One redaction step for everything the proposal stores and the API and webhooks
    // send, and the steering check, whatever engine wrote the change; then every quote,
    // redacted, must occur in its event's text redacted the same way.
    let mut checked = curated.changes;
    for change in &mut checked {
        check_change(change);
    }
    let mut held_back: Vec<HeldBack> = curated.held_back;
    for entry in &mut held_back {
        redact_held_back(entry);
    }
    let bad = unverified(store, &checked).await?;
    let mut changes = Vec::with_capacity(checked.len());
    for change in checked {
        if bad.contains(&change.id) {
            tracing::error!(change = %change.id, "evidence does not verify; change dropped (engine bug)");
            held_back.push(HeldBack {
                reason: HeldBackReason::EvidenceNotVerified,
                summary: format!(
                    "{} of {}: a quote is not in its cited event (engine bug)",
                    change.op.as_str(),
                    change.path
                ),
                support: change.support,
                evidence: change.evidence,
                stats: change.stats,
                pattern_key: change.pattern_key,
            });
            continue;
        }
        changes.push(change);
    }
    dream.counts.changes = changes.len() as u64;
    dream.counts.held_back = held_back.len() as u64;
    dream.timings.check_ms = elapsed_ms(started);
    if canceled(store, dream).await? {
        return Ok(stopped(dream));
    }

    observer.stage("output");
    let started = Instant::now();
    let (target, base) = match dream.output_behavior {
        OutputBehavior::UpdateExisting => (input.id.clone(), dream.base_store_version),
        OutputBehavior::CreateNew => {
            let output = create_output_store(store, input, dream).await?;
            (output.id.clone(), output.store_version)
        }
    };
    dream.output_store_id = Some(target.clone());
    let proposal = store
        .create_proposal(Proposal {
            id: "prop_pending"
                .parse()
                .map_err(|_| EngineError::InvalidRequest("id".into()))?,
            dream_id: dream.id.clone(),
            store_id: target,
            base_store_version: base,
            changes,
            held_back,
            created_at: clock.now(),
        })
        .await?;
    dream.proposal_id = Some(proposal.id.clone());
    if dream.supersede_pending {
        let actor = Actor::Dream {
            dream_id: dream.id.to_string(),
        };
        dream.superseded_proposal_ids =
            supersede_pending(store, &input.id, &proposal.id, &actor, clock)
                .await?
                .into_iter()
                .map(|p| p.proposal_id)
                .collect();
    }
    let applied = if dream.mode == DreamMode::Auto {
        let actor = Actor::Dream {
            dream_id: dream.id.to_string(),
        };
        Some(approve(store, &proposal.id, None, &actor, clock, true).await?)
    } else {
        None
    };
    dream.timings.output_ms = elapsed_ms(started);
    dream.status = DreamStatus::Completed;
    dream.ended_at = Some(clock.now());
    *dream = store.update_dream(dream).await?;
    Ok(DreamRun::Ran {
        dream: Box::new(dream.clone()),
        proposal: Some(Box::new(proposal)),
        applied,
    })
}

/// Cancels a dream that has not finished; a finished dream is returned unchanged.
///
/// # Errors
/// Store errors (`NotFound`).
pub async fn cancel_dream(
    store: &dyn Store,
    id: &DreamId,
    clock: &dyn Clock,
) -> EngineResult<Dream> {
    let mut dream = store.get_dream(id).await?;
    if dream.status.is_final() {
        return Ok(dream);
    }
    dream.status = DreamStatus::Canceled;
    dream.ended_at = Some(clock.now());
    Ok(store.update_dream(&dream).await?)
}

/// Returns the proposal of a dream.
///
/// # Errors
/// [`EngineError::InvalidRequest`] when the dream has no proposal; store errors.
pub async fn dream_proposal(store: &dyn Store, id: &DreamId) -> EngineResult<Proposal> {
    let dream = store.get_dream(id).await?;
    let proposal_id: ProposalId = dream.proposal_id.ok_or_else(|| {
        EngineError::InvalidRequest(format!(
            "dream {id} has no proposal (status {})",
            dream.status
        ))
    })?;
    Ok(store.get_proposal(&proposal_id).await?)
}
