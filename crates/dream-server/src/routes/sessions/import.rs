//! `POST /v1/sessions/import` (`dream`'s extension): the request body is a transcript
//! in any format `dream ingest` reads, stored exactly as `dream ingest -` stores
//! standard input: the same detection, validation, error codes and idempotence, and
//! the same report as `dream ingest --json`.

use std::path::PathBuf;

use axum::body::Body;
use axum::extract::State;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use dream_ingest::{
    DEFAULT_MAX_RECORD_BYTES, IngestCounts, IngestOptions, IngestReport, Ingestor, InputError,
    Item, NoProgress, ReadOptions, SessionReport, Sink, SkippedReport, read_file,
};
use dream_types::SourceKind;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt as _;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;

/// How the ingest labels a spooled body (as it labels standard input).
const LABEL: &str = "-";

/// `format` values: `dream ingest --format` names, and the `source_kind` names.
const FORMATS: [(&str, SourceKind); 6] = [
    ("canonical", SourceKind::Canonical),
    ("openai", SourceKind::OpenaiChat),
    ("anthropic", SourceKind::AnthropicMessages),
    ("claude-code", SourceKind::ClaudeCode),
    ("tau-bench", SourceKind::TauBench),
    ("managed-agents", SourceKind::ManagedAgents),
];

/// Query of `POST /v1/sessions/import`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Read the body as this format instead of detecting it: `canonical`, `openai`,
    /// `anthropic`, `claude-code`, `tau-bench` or `managed-agents` (the names of
    /// `dream ingest --format`; `openai_chat`, `claude_code`, … also work).
    pub format: Option<String>,
    /// Agent name for sessions whose transcript names none. Sessions are identified
    /// by (agent, source session id), so distinct agents keep imports apart.
    pub agent: Option<String>,
    /// Overwrite a stored session when the same session arrives with content that
    /// does not extend it (default false: 409).
    pub replace: Option<bool>,
    /// Store the valid sessions and list the invalid ones in `skipped` (default
    /// false: an invalid body is a 400 and nothing is stored).
    pub skip_invalid: Option<bool>,
    /// The memory store the sessions ran with (`memstore_…`), for sessions whose
    /// transcript names none; with `memory_version`. Outcome comparisons use this link.
    pub memory_store_id: Option<String>,
    /// The store version they ran with.
    pub memory_version: Option<u64>,
}

/// What an import did: `dream ingest --json`'s report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportOut {
    /// Totals: `files` (always 1), `created`, `appended` (grown), `updated` (same
    /// events, other fields), `replaced`, `unchanged`, `skipped`, `events_written`.
    #[schema(value_type = Object)]
    pub counts: IngestCounts,
    /// Every session stored or found unchanged, in body order: `path` (`-`),
    /// `source_session_id`, `session_id` (`sesn_…`), `status` (`created`,
    /// `appended`, `updated`, `replaced`, `unchanged`), `event_count`,
    /// `events_written`.
    #[schema(value_type = Vec<Object>)]
    pub sessions: Vec<SessionReport>,
    /// With `skip_invalid=true`, what was not stored: `code` (`invalid_json`,
    /// `invalid_field`, `conflict_error`, …), `message`, `path`, `line`,
    /// `source_session_id`.
    #[schema(value_type = Vec<Object>)]
    pub skipped: Vec<SkippedReport>,
    /// Always false here: without `skip_invalid` a failure is an error response.
    pub stopped_early: bool,
}

impl From<IngestReport> for ImportOut {
    fn from(report: IngestReport) -> Self {
        Self {
            counts: report.counts,
            sessions: report.sessions,
            skipped: report
                .skipped
                .into_iter()
                .map(|mut skipped| {
                    skipped.message = skipped_message(&skipped);
                    skipped
                })
                .collect(),
            stopped_early: report.stopped_early,
        }
    }
}

fn parse_format(name: &str) -> ApiResult<SourceKind> {
    FORMATS
        .iter()
        .find(|(cli, _)| *cli == name)
        .map(|(_, kind)| *kind)
        .or_else(|| name.parse::<SourceKind>().ok())
        .ok_or_else(|| {
            ApiError::invalid_with_code(
                "invalid_format",
                format!(
                    "unknown format {name:?}; formats are canonical, openai, anthropic, \
                     claude-code, tau-bench, managed-agents (or leave `format` out to detect it)"
                ),
            )
        })
}

/// Says a CLI hint the HTTP way.
fn http_words(message: &str) -> String {
    message
        .replace("pass --format", "pass the `format` query parameter")
        .replace("--format", "`format`")
        .replace("pass --replace", "send `replace=true`")
        .replace("--skip-invalid", "`skip_invalid=true`")
}

/// `request body line N` or `request body`.
fn location(line: Option<u64>) -> String {
    match line {
        Some(line) => format!("request body line {line}"),
        None => "request body".to_owned(),
    }
}

/// Rewrites a skipped item's `-:N: message (code)` as `request body line N: message`.
fn skipped_message(skipped: &SkippedReport) -> String {
    let prefix = match skipped.line {
        Some(line) => format!("{LABEL}:{line}: "),
        None => format!("{LABEL}: "),
    };
    let suffix = format!(" ({})", skipped.code);
    let inner = skipped
        .message
        .strip_prefix(&prefix)
        .unwrap_or(&skipped.message);
    let inner = inner.strip_suffix(&suffix).unwrap_or(inner);
    format!("{}: {}", location(skipped.line), http_words(inner))
}

/// Says that a body is over the server's limit.
fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        "request body is larger than the server's limit (--max-body-bytes); split the \
         transcript and import the parts (a grown session is appended)",
    )
}

/// Writes a request body to a new private temporary file chunk by chunk as it
/// arrives, so that memory holds one chunk of it, never the body. The file is
/// removed when the returned handle drops.
///
/// # Errors
/// 413 `request_too_large` as soon as more than `max_bytes` arrived (or the declared
/// `Content-Length` says so, before reading anything); 400 when the client's body
/// fails mid-way; 500 when the temporary file cannot be written.
async fn spool_body(
    body: Body,
    declared_bytes: Option<u64>,
    max_bytes: usize,
) -> ApiResult<tempfile::NamedTempFile> {
    let max_bytes = u64::try_from(max_bytes).unwrap_or(u64::MAX);
    if declared_bytes.is_some_and(|declared| declared > max_bytes) {
        return Err(too_large());
    }
    let spool_error =
        |err: std::io::Error| ApiError::internal(format!("cannot spool the request body: {err}"));
    let temp = tokio::task::spawn_blocking(|| {
        tempfile::Builder::new()
            .prefix("dream-import-")
            .suffix(".body")
            .tempfile()
    })
    .await
    .map_err(|err| ApiError::internal(format!("cannot spool the request body: {err}")))?
    .map_err(spool_error)?;
    let mut file = tokio::fs::File::from_std(temp.as_file().try_clone().map_err(spool_error)?);
    write_chunks(body, max_bytes, &mut file).await?;
    Ok(temp)
}

/// Copies `body` into `file` one chunk at a time; returns the bytes written.
async fn write_chunks(body: Body, max_bytes: u64, file: &mut tokio::fs::File) -> ApiResult<u64> {
    let spool_error =
        |err: std::io::Error| ApiError::internal(format!("cannot spool the request body: {err}"));
    let mut chunks = body.into_data_stream();
    let mut written = 0_u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk
            .map_err(|err| ApiError::invalid(format!("cannot read the request body: {err}")))?;
        written += chunk.len() as u64;
        if written > max_bytes {
            return Err(too_large());
        }
        // Flushed before the next chunk is read: tokio's file would otherwise keep
        // writing in the background while more of the body piles up.
        file.write_all(&chunk).await.map_err(spool_error)?;
        file.flush().await.map_err(spool_error)?;
    }
    Ok(written)
}

/// Keeps the first invalid item a reader reports and stops it there.
#[derive(Default)]
struct FirstInvalid(Option<InputError>);

impl Sink for FirstInvalid {
    fn send(&mut self, item: Item) -> bool {
        match item {
            Item::Invalid(err) => {
                self.0 = Some(err);
                false
            }
            _ => true,
        }
    }
}

/// Reads the whole body once without storing anything; returns its first error.
async fn first_invalid(path: PathBuf, options: ReadOptions) -> ApiResult<Option<InputError>> {
    tokio::task::spawn_blocking(move || {
        let mut sink = FirstInvalid::default();
        read_file(&path, LABEL, &options, &mut sink);
        sink.0
    })
    .await
    .map_err(|err| ApiError::internal(format!("import validation failed: {err}")))
}

fn input_error(err: &InputError) -> ApiError {
    let session = err
        .source_session_id
        .as_deref()
        .map(|id| format!(" (session {id})"))
        .unwrap_or_default();
    ApiError::invalid_with_code(
        err.code.as_str(),
        format!(
            "{}{session}: {}; nothing was stored. Fix the body, or send `skip_invalid=true` to \
             store the valid sessions and list the rest",
            location(err.line),
            http_words(&err.message)
        ),
    )
}

/// Import sessions from a transcript in the request body (`dream`).
///
/// The body is any format `dream ingest` reads, detected from its first record unless
/// `format` says: canonical JSONL, OpenAI chat (JSON or JSONL), Anthropic Messages,
/// Claude Code JSONL, tau-bench trajectories (a JSON array) or Managed Agents events.
/// It is read as `dream ingest -` reads standard input, so a transcript that names no
/// session id (a bare message or event list) is the session `stdin` and tau-bench
/// runs are `stdin/task-N/trial-M`: send `agent` to keep different files apart.
///
/// Idempotent: the same body again reports every session `unchanged`; a body whose
/// session grew appends the new events (`appended`). Without `skip_invalid`, the body
/// is validated whole first, so an invalid one stores nothing (400 with the ingest
/// `code`: `invalid_json`, `invalid_field`, `invalid_timestamp`, `record_too_large`,
/// `empty_file`, `binary_file`, `unknown_format`, `invalid_utf8`). A session that
/// conflicts with the stored one is a 409 (`replace=true` overwrites it); each session
/// is stored whole or not at all, and those before the conflicting one are stored.
///
/// A Claude Code subagent file (`<session>/subagents/agent-*.jsonl`) can be sent on
/// its own: it is stored as a subagent session (hidden from `GET /v1/sessions` unless
/// `include_subagents=true`) and linked to its main session whichever arrives first.
#[utoipa::path(post, path = "/v1/sessions/import", tag = "sessions",
    params(ImportQuery),
    request_body(content = String, description = "A transcript (JSON or JSONL), at most the server's body limit (32 MiB by default)", content_type = "application/x-ndjson"),
    responses((status = 200, body = ImportOut), (status = 400), (status = 409), (status = 413)))]
pub(super) async fn import(
    State(state): State<AppState>,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<axum::Json<ImportOut>> {
    let format = query.format.as_deref().map(parse_format).transpose()?;
    let declared_bytes = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    let spool = spool_body(body, declared_bytes, state.config().max_body_bytes).await?;
    let skip_invalid = query.skip_invalid.unwrap_or(false);
    let memory_version = match (query.memory_store_id, query.memory_version) {
        (None, None) => None,
        (Some(store_id), Some(version)) => {
            let id: dream_types::MemoryStoreId = crate::routes::id("memory store", &store_id)?;
            let linked = state.store().get_memory_store(&id).await?;
            if version > linked.store_version {
                return Err(ApiError::invalid(format!(
                    "memory_version {version} does not exist: {} is at version {}",
                    linked.id, linked.store_version
                )));
            }
            Some(dream_types::MemoryVersionRef {
                store_id: Some(linked.id.to_string()),
                version,
            })
        }
        _ => {
            return Err(ApiError::invalid(
                "memory_store_id and memory_version go together",
            ));
        }
    };
    let read = ReadOptions {
        format,
        agent: query.agent.filter(|a| !a.is_empty()),
        max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        memory_version,
    };
    if !skip_invalid && let Some(err) = first_invalid(spool.path().to_owned(), read.clone()).await?
    {
        return Err(input_error(&err));
    }
    let options = IngestOptions {
        read,
        skip_invalid,
        replace: query.replace.unwrap_or(false),
    };
    let report = Ingestor::new(state.store(), options, &NoProgress)
        .with_metrics(dream_engine::outcomes::metrics::at_ingest)
        .ingest_spooled(spool.path())
        .await?;
    drop(spool);
    dream_engine::outcomes::metrics::refresh(state.store()).await?;
    if !skip_invalid && let Some(first) = report.skipped.first() {
        let stored = report.sessions.len();
        let before = if stored == 0 {
            String::new()
        } else {
            format!("; the {stored} sessions before it in the body were stored")
        };
        let message = format!("{}{before}", skipped_message(first));
        return Err(if first.code == "conflict_error" {
            ApiError::conflict(message)
        } else {
            ApiError::invalid_with_code(&first.code, message)
        });
    }
    Ok(axum::Json(report.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_take_the_cli_and_the_source_kind_names() {
        assert_eq!(parse_format("tau-bench").ok(), Some(SourceKind::TauBench));
        assert_eq!(
            parse_format("claude_code").ok(),
            Some(SourceKind::ClaudeCode)
        );
        let err = parse_format("csv").unwrap_err();
        assert_eq!(err.code.as_deref(), Some("invalid_format"));
        assert!(err.message.contains("claude-code"), "{}", err.message);
    }

    #[test]
    fn skipped_messages_name_the_body_line_and_the_http_option() {
        let skipped = SkippedReport {
            code: "invalid_json".into(),
            message: "-:3: invalid JSON: expected value at column 1 (invalid_json)".into(),
            path: "-".into(),
            line: Some(3),
            source_session_id: None,
        };
        assert_eq!(
            skipped_message(&skipped),
            "request body line 3: invalid JSON: expected value at column 1"
        );
        let conflict = SkippedReport {
            code: "conflict_error".into(),
            message: "-: session differs; pass --replace to overwrite it (conflict_error)".into(),
            path: "-".into(),
            line: None,
            source_session_id: Some("s".into()),
        };
        assert_eq!(
            skipped_message(&conflict),
            "request body: session differs; send `replace=true` to overwrite it"
        );
    }

    /// A body of `chunks`; before yielding chunk n+1 it checks that the first n
    /// chunks are already in `spool`, so a handler that collected the body before
    /// writing it would fail here.
    fn checked_body(spool: PathBuf, chunks: Vec<Vec<u8>>) -> Body {
        let stream = futures::stream::iter(chunks.into_iter().enumerate().scan(
            0_usize,
            move |sent, (i, chunk)| {
                let on_disk = std::fs::metadata(&spool).map(|m| m.len()).unwrap_or(0);
                if i > 0 && on_disk != *sent as u64 {
                    return Some(Err(std::io::Error::other(format!(
                        "chunk {i} requested with {on_disk} of {sent} bytes on disk"
                    ))));
                }
                *sent += chunk.len();
                Some(Ok::<_, std::io::Error>(axum::body::Bytes::from(chunk)))
            },
        ));
        Body::from_stream(stream)
    }

    #[tokio::test]
    async fn a_body_reaches_the_spool_chunk_by_chunk_never_whole() {
        let temp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        let chunks: Vec<Vec<u8>> = (0..8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
        let body = checked_body(temp.path().to_owned(), chunks.clone());
        let mut file =
            tokio::fs::File::from_std(temp.as_file().try_clone().unwrap_or_else(|e| panic!("{e}")));
        let written = write_chunks(body, 1 << 20, &mut file)
            .await
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(written, 8 * 64 * 1024);
        assert_eq!(
            std::fs::read(temp.path()).unwrap_or_default(),
            chunks.concat()
        );
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413_without_a_content_length() {
        let temp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        let chunks: Vec<Vec<u8>> = (0..4).map(|_| vec![b'x'; 1000]).collect();
        let body = checked_body(temp.path().to_owned(), chunks);
        let mut file =
            tokio::fs::File::from_std(temp.as_file().try_clone().unwrap_or_else(|e| panic!("{e}")));
        let err = write_chunks(body, 2500, &mut file)
            .await
            .err()
            .unwrap_or_else(|| panic!("a body over the limit was accepted"));
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(std::fs::metadata(temp.path()).map(|m| m.len()).unwrap_or(0) <= 2500);
    }

    #[tokio::test]
    async fn the_spool_file_is_removed_when_dropped() {
        let spool = spool_body(Body::from("{}"), None, 100)
            .await
            .unwrap_or_else(|e| panic!("{}", e.message));
        let path = spool.path().to_owned();
        assert_eq!(std::fs::read(&path).unwrap_or_default(), b"{}");
        drop(spool);
        assert!(!path.exists());
        let err = spool_body(Body::from("{}"), Some(101), 100)
            .await
            .err()
            .unwrap_or_else(|| panic!("a declared length over the limit was accepted"));
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
