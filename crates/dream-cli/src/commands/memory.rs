//! `dream memory …`: read, write and version the memories of a memory store.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand};
use console::Style;
use dream_engine::compact::is_archive;
use dream_engine::memory::{DiffKind, MemoryDiff, StoreDiff, diff_store, export, restore};
use dream_store::{MemoryWrite, OpenMode, Store, VersionFilter};
use dream_types::{
    Actor, Memory, MemoryId, MemoryListItem, MemoryOperation, MemoryStore, MemoryVersion,
    MemoryVersionId, roll_up, validate_path, validate_prefix,
};
use serde::Serialize;
use serde_json::Value;

use super::stores::{STORE_ENV, resolve_store};
use super::{cli_actor, now, open_store};
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, dim, good, short_sha, strong, thousands, truncate};
use crate::when::{DateAs, parse_when};

/// `dream memory …`
#[derive(Debug, Args)]
pub struct MemoryArgs {
    /// The memory store: a `memstore_…` id or a name (default: the only store in use).
    #[arg(long, global = true, env = STORE_ENV, value_name = "STORE")]
    store: Option<String>,

    #[command(subcommand)]
    command: MemoryCommand,
}

/// The subcommands of `dream memory`.
#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// List memories under a path prefix.
    Ls(LsArgs),
    /// Print a memory's content (now, or as of a store version).
    Cat(CatArgs),
    /// Create or replace a memory with the content of a file or standard input.
    Write(WriteArgs),
    /// Edit a memory in $VISUAL / $EDITOR (created when missing).
    Edit(EditArgs),
    /// Delete a memory (its versions stay).
    Rm(RmArgs),
    /// Move a memory to another path.
    Mv(MvArgs),
    /// List memory versions, newest first.
    Log(LogArgs),
    /// Show what changed between two store versions.
    Diff(DiffArgs),
    /// Bring the store back to its state at a store version, by writing new versions.
    Restore(RestoreArgs),
    /// Erase the path and content of one memory version (secrets, personal data).
    Redact(RedactArgs),
    /// Write the store to a directory, a Markdown file, or a CLAUDE.md / AGENTS.md section.
    Export(ExportArgs),
    /// Read a directory or a CLAUDE.md / AGENTS.md into the store.
    Import(ImportArgs),
}

/// Arguments of `dream memory ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Only memories under this prefix; it ends with `/`.
    #[arg(default_value = "/")]
    prefix: String,
    /// Show this many path segments below the prefix and fold deeper memories into
    /// their folder, like `ls` (0: every memory).
    #[arg(long, default_value_t = 0)]
    depth: usize,
}

/// Arguments of `dream memory cat`.
#[derive(Debug, Args)]
pub struct CatArgs {
    /// A path (`/notes/todo.md`) or a `mem_…` id.
    memory: String,
    /// The content as of this store version instead of now.
    #[arg(long, value_name = "STORE_VERSION")]
    at: Option<u64>,
}

/// Arguments of `dream memory write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The memory's path (`/notes/todo.md`); created when no memory has it.
    path: String,
    /// Read the content from this file (default: standard input).
    #[arg(long, short)]
    file: Option<PathBuf>,
    /// Write only if the memory's content_sha256 is this (it has not changed since you read it).
    #[arg(long, value_name = "HASH")]
    if_sha256: Option<String>,
}

/// Arguments of `dream memory edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The memory's path (or `mem_…` id); a missing path starts empty and is created.
    memory: String,
}

/// Arguments of `dream memory rm`.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// A path or a `mem_…` id.
    memory: String,
    /// Delete only if the memory's content_sha256 is this.
    #[arg(long, value_name = "HASH")]
    if_sha256: Option<String>,
}

/// Arguments of `dream memory mv`.
#[derive(Debug, Args)]
pub struct MvArgs {
    /// The memory: a path or a `mem_…` id.
    from: String,
    /// Its new path; no memory may have it.
    to: String,
    /// Move only if the memory's content_sha256 is this.
    #[arg(long, value_name = "HASH")]
    if_sha256: Option<String>,
}

/// Arguments of `dream memory log`.
#[derive(Debug, Args)]
pub struct LogArgs {
    /// Only this memory: a path (every memory that ever had it, with their renames) or a
    /// `mem_…` id.
    memory: Option<String>,
    /// Only changes by this actor: a type (`user`, `dream`, `session`, `api`,
    /// `service_account`, or with `_actor`), optionally `:ID` (`user:user_dana`).
    #[arg(long, value_name = "TYPE[:ID]")]
    actor: Option<String>,
    /// Only this operation.
    #[arg(long, value_parser = ["created", "modified", "deleted"])]
    operation: Option<String>,
    /// Only changes since: a duration back from now (`90m`, `24h`, `7d`, `2w`), a date
    /// (`2026-02-11`) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Only changes until (a date includes that whole day); same forms as --since.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// At most this many versions.
    #[arg(long, short = 'n')]
    limit: Option<u64>,
}

/// Arguments of `dream memory diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier store version (0 is the empty store).
    from: u64,
    /// The later store version (default: the current one).
    to: Option<u64>,
}

/// Arguments of `dream memory restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The store version whose state to bring back.
    version: u64,
}

/// Arguments of `dream memory redact`.
#[derive(Debug, Args)]
pub struct RedactArgs {
    /// The `memver_…` id (from `dream memory log`).
    version: String,
}

/// Arguments of `dream memory export`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["dir", "markdown", "agents_file"])))]
pub struct ExportArgs {
    /// Write each memory to DIR/<path> (files equal to their memory are left alone).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Write one Markdown document, a heading per memory (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Update dream's section of a CLAUDE.md / AGENTS.md (created when missing); the
    /// rest of the file is kept byte for byte.
    #[arg(long, value_name = "FILE")]
    agents_file: Option<PathBuf>,
    /// Most bytes of Markdown; memories that do not fit are left out and named.
    #[arg(long, value_name = "BYTES", conflicts_with = "dir")]
    budget: Option<usize>,
    /// With --markdown or --agents-file: include the archive (`/archive/…`, where
    /// compaction moves notes that no longer fit); left out by default.
    #[arg(long, conflicts_with = "dir")]
    include_archive: bool,
}

/// Arguments of `dream memory import`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["dir", "agents_file"])))]
pub struct ImportArgs {
    /// Read every file under DIR as the memory at /<relative path>.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// With --dir: delete memories that have no file.
    #[arg(long, requires = "dir")]
    prune: bool,
    /// Read the text of a CLAUDE.md / AGENTS.md outside dream's section as the memory
    /// /<file name>.
    #[arg(long, value_name = "FILE")]
    agents_file: Option<PathBuf>,
}

/// Runs a `dream memory` subcommand on the store `--store` names.
pub async fn cmd_memory(db: &Path, args: MemoryArgs, out: Output) -> CliResult<u8> {
    let store = open_store(db, OpenMode::MustExist).await?;
    let result = run(&store, args, out).await;
    store.close().await;
    result
}

async fn run(store: &dyn Store, args: MemoryArgs, out: Output) -> CliResult<u8> {
    let ms = resolve_store(store, args.store.as_deref()).await?;
    let cx = Cx {
        store,
        ms: &ms,
        out,
    };
    match args.command {
        MemoryCommand::Ls(args) => cmd_ls(cx, args).await,
        MemoryCommand::Cat(args) => cmd_cat(cx, args).await,
        MemoryCommand::Write(args) => cmd_write(cx, args).await,
        MemoryCommand::Edit(args) => cmd_edit(cx, args).await,
        MemoryCommand::Rm(args) => cmd_rm(cx, args).await,
        MemoryCommand::Mv(args) => cmd_mv(cx, args).await,
        MemoryCommand::Log(args) => cmd_log(cx, args).await,
        MemoryCommand::Diff(args) => cmd_diff(cx, args).await,
        MemoryCommand::Restore(args) => cmd_restore(cx, args).await,
        MemoryCommand::Redact(args) => cmd_redact(cx, args).await,
        MemoryCommand::Export(args) => cmd_export(cx, args).await,
        MemoryCommand::Import(args) => cmd_import(cx, args).await,
    }
}

/// What every memory command works with: the database, the chosen memory store, the output.
#[derive(Clone, Copy)]
struct Cx<'a> {
    store: &'a dyn Store,
    ms: &'a MemoryStore,
    out: Output,
}

impl Cx<'_> {
    /// Returns the store's current version (after a write).
    async fn store_version(&self) -> CliResult<u64> {
        Ok(self
            .store
            .get_memory_store(&self.ms.id)
            .await?
            .store_version)
    }
}

/// How a memory is named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum MemoryRef {
    Id(MemoryId),
    Path(String),
}

/// Reads `mem_…` as an id and anything else as a path (which must follow the path rules).
fn parse_memory_ref(text: &str) -> CliResult<MemoryRef> {
    if text.starts_with("mem_") {
        return text.parse().map(MemoryRef::Id).map_err(|_| {
            CliError::input(
                "invalid_request_error",
                format!("{text:?} is not a memory id (mem_…) or a path (/notes/todo.md)"),
            )
        });
    }
    check_path(text)?;
    Ok(MemoryRef::Path(text.to_owned()))
}

fn check_path(path: &str) -> CliResult<()> {
    validate_path(path).map_err(|e| CliError::input(e.code, e.message))
}

/// Returns the live memory `reference` names.
async fn live_memory(cx: Cx<'_>, reference: &MemoryRef) -> CliResult<Memory> {
    match reference {
        MemoryRef::Id(id) => Ok(cx.store.get_memory(&cx.ms.id, id).await?),
        MemoryRef::Path(path) => cx
            .store
            .find_memory(&cx.ms.id, path)
            .await?
            .ok_or_else(|| no_memory_at(cx.ms, path)),
    }
}

fn no_memory_at(ms: &MemoryStore, path: &str) -> CliError {
    CliError::input(
        "not_found_error",
        format!(
            "no memory at {path} in store {}; `dream memory ls` lists them",
            ms.name
        ),
    )
}

/// Fewest hex digits `--if-sha256` takes (what `dream memory ls` shows; git's rule
/// for abbreviated hashes, with git's default length).
const MIN_SHA_PREFIX: usize = 8;

/// Reads `--if-sha256`: 8 to 64 hex digits (any case), a prefix of the content_sha256
/// (resolve it with [`full_sha`]).
fn parse_sha(text: Option<String>) -> CliResult<Option<String>> {
    text.map(|text| {
        let sha = text.trim().to_ascii_lowercase();
        if (MIN_SHA_PREFIX..=64).contains(&sha.len()) && sha.bytes().all(|b| b.is_ascii_hexdigit())
        {
            Ok(sha)
        } else {
            Err(CliError::usage(
                "invalid_request_error",
                format!(
                    "--if-sha256 {text:?} is not a SHA-256 or a prefix of one (8 to 64 hex \
                     digits of the content_sha256 that `dream memory ls` shows)"
                ),
            ))
        }
    })
    .transpose()
}

/// Resolves an `--if-sha256` prefix against the memory's current content_sha256: the
/// full hash when it matches. A prefix that does not match is passed on as it is, so
/// the store refuses the write exactly as it refuses a wrong full hash.
fn full_sha(expected: Option<String>, current: Option<&Memory>) -> Option<String> {
    expected.map(|prefix| match current {
        Some(memory) if memory.content_sha256.starts_with(&prefix) => memory.content_sha256.clone(),
        _ => prefix,
    })
}

/// A memory without its content, as `ls --json` lists it.
fn memory_head(memory: &Memory) -> Value {
    let mut value = serde_json::to_value(memory).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("content");
        map.insert("type".into(), Value::from("memory"));
    }
    value
}

/// Human form of an actor: its id, whose prefix (`user_`, `drm_`, `sesn_`, …) says its type.
fn actor_label(actor: &Actor) -> &str {
    actor.id()
}

// ---------------------------------------------------------------------------------------
// ls, cat

#[derive(Debug, Serialize)]
struct MemoryListing<'a> {
    memory_store_id: &'a str,
    store_version: u64,
    prefix: &'a str,
    depth: usize,
    memories: Vec<Value>,
    count: usize,
}

async fn cmd_ls(cx: Cx<'_>, args: LsArgs) -> CliResult<u8> {
    validate_prefix(&args.prefix).map_err(|e| CliError::input(e.code, e.message))?;
    let memories = cx
        .store
        .list_memories(&cx.ms.id, Some(&args.prefix))
        .await?;
    // Per folder: how many memories and bytes it folds.
    let folder_totals = |folder: &str| -> (u64, u64) {
        memories
            .iter()
            .filter(|m| m.path.starts_with(folder))
            .fold((0, 0), |(n, bytes), m| {
                (n + 1, bytes + m.content_size_bytes)
            })
    };
    let items = roll_up(memories.clone(), &args.prefix, args.depth);
    if cx.out.json {
        let values = items
            .iter()
            .map(|item| match item {
                MemoryListItem::Memory(memory) => memory_head(memory),
                MemoryListItem::MemoryPrefix { path } => {
                    let (count, bytes) = folder_totals(path);
                    serde_json::json!({
                        "type": "memory_prefix",
                        "path": path,
                        "memory_count": count,
                        "content_size_bytes": bytes,
                    })
                }
            })
            .collect::<Vec<_>>();
        cx.out.json(&MemoryListing {
            memory_store_id: cx.ms.id.as_str(),
            store_version: cx.ms.store_version,
            prefix: &args.prefix,
            depth: args.depth,
            count: values.len(),
            memories: values,
        })?;
        return Ok(0);
    }
    if items.is_empty() {
        let message = if args.prefix == "/" {
            format!(
                "No memories in {} yet; `dream memory write PATH` adds one.",
                cx.ms.name
            )
        } else {
            format!("No memories under {} in {}.", args.prefix, cx.ms.name)
        };
        cx.out.line(message)?;
        return Ok(0);
    }
    let path_width = items
        .iter()
        .map(|i| match i {
            MemoryListItem::Memory(m) => m.path.chars().count(),
            MemoryListItem::MemoryPrefix { path } => path.chars().count(),
        })
        .max()
        .unwrap_or(0)
        .clamp(4, 60);
    cx.out.line(
        strong()
            .apply_to(format!(
                "{:<path_width$}  {:>9}  {:<8}  UPDATED (UTC)",
                "PATH", "BYTES", "SHA256"
            ))
            .to_string(),
    )?;
    let (mut shown_memories, mut shown_folders) = (0, 0);
    for item in &items {
        match item {
            MemoryListItem::Memory(m) => {
                shown_memories += 1;
                cx.out.line(format!(
                    "{:<path_width$}  {:>9}  {:<8}  {}",
                    truncate(&m.path, path_width),
                    thousands(m.content_size_bytes),
                    short_sha(&m.content_sha256),
                    m.updated_at.to_display_minutes()
                ))?;
            }
            MemoryListItem::MemoryPrefix { path } => {
                shown_folders += 1;
                let (count, bytes) = folder_totals(path);
                let label = format!("{:<path_width$}", truncate(path, path_width));
                cx.out.line(format!(
                    "{}  {:>9}  {}",
                    strong().apply_to(label),
                    thousands(bytes),
                    dim().apply_to(format!("{count} {}", plural(count, "memory", "memories")))
                ))?;
            }
        }
    }
    let mut summary = format!(
        "{} {}",
        thousands(shown_memories),
        plural(shown_memories, "memory", "memories")
    );
    if shown_folders > 0 {
        summary.push_str(&format!(
            ", {} {} ({} in all)",
            shown_folders,
            plural(shown_folders, "folder", "folders"),
            crate::output::count(memories.len() as u64, "memory", "memories")
        ));
    }
    cx.out.line(dim().apply_to(summary).to_string())?;
    Ok(0)
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

async fn cmd_cat(cx: Cx<'_>, args: CatArgs) -> CliResult<u8> {
    let reference = parse_memory_ref(&args.memory)?;
    let Some(at) = args.at else {
        let memory = live_memory(cx, &reference).await?;
        if cx.out.json {
            cx.out.json(&memory)?;
        } else {
            cx.out.raw(&memory.content)?;
        }
        return Ok(0);
    };
    let snapshots = cx.store.memories_at(&cx.ms.id, at).await?;
    let found = snapshots.iter().find(|s| match &reference {
        MemoryRef::Id(id) => &s.memory_id == id,
        MemoryRef::Path(path) => s.path.as_deref() == Some(path.as_str()),
    });
    let Some(snapshot) = found else {
        let redacted = snapshots.iter().filter(|s| s.is_redacted()).count();
        let hint = if redacted > 0 && matches!(reference, MemoryRef::Path(_)) {
            let n = redacted as u64;
            format!(
                " (the state of {n} {} at that version was redacted, so {} unknown)",
                plural(n, "memory", "memories"),
                plural(n, "its path is", "their paths are")
            )
        } else {
            String::new()
        };
        return Err(CliError::input(
            "not_found_error",
            format!(
                "{} did not exist at store version {at} of {}{hint}",
                args.memory, cx.ms.name
            ),
        ));
    };
    if cx.out.json {
        cx.out.json(snapshot)?;
        return Ok(0);
    }
    match &snapshot.content {
        Some(content) => cx.out.raw(content)?,
        None => {
            return Err(CliError::input(
                "version_redacted",
                format!(
                    "the state of {} at store version {at} was redacted ({}); its content is gone",
                    args.memory, snapshot.memory_version_id
                ),
            ));
        }
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// write, edit, rm, mv

/// What a write did to one memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum ChangeStatus {
    Created,
    Updated,
    Moved,
    Deleted,
    Unchanged,
}

/// The `--json` report of `write`, `edit`, `rm` and `mv`.
#[derive(Debug, Serialize)]
struct ChangeReport<'a> {
    status: ChangeStatus,
    /// `null` only when `edit` left a missing memory uncreated.
    memory_id: Option<&'a MemoryId>,
    path: &'a str,
    /// The version written, or `null` when nothing changed.
    memory_version: Option<&'a MemoryVersion>,
    /// The store version after the write.
    store_version: u64,
}

impl ChangeReport<'_> {
    fn print(&self, out: Output) -> CliResult<u8> {
        out.json(self)?;
        Ok(0)
    }
}

async fn cmd_write(cx: Cx<'_>, args: WriteArgs) -> CliResult<u8> {
    check_path(&args.path)?;
    let expected = parse_sha(args.if_sha256)?;
    let content = match &args.file {
        Some(file) => read_text_file(file)?,
        None => read_stdin(cx.out)?,
    };
    let existing = cx.store.find_memory(&cx.ms.id, &args.path).await?;
    let expected = full_sha(expected, existing.as_ref());
    write_content(cx, &args.path, existing.as_ref(), content, expected).await
}

/// Creates the memory at `path` or updates `existing`, then reports.
async fn write_content(
    cx: Cx<'_>,
    path: &str,
    existing: Option<&Memory>,
    content: String,
    expected: Option<String>,
) -> CliResult<u8> {
    let write = match existing {
        Some(memory) => MemoryWrite::Update {
            memory_id: memory.id.clone(),
            content: Some(content),
            path: None,
            precondition: expected,
        },
        None => {
            if let Some(expected) = expected {
                return Err(CliError::conflict(
                    "memory_precondition_failed_error",
                    format!(
                        "no memory at {path}, not one with the expected content_sha256 \
                         {expected}: it was deleted or moved since you read it"
                    ),
                ));
            }
            MemoryWrite::Create {
                path: path.to_owned(),
                content,
            }
        }
    };
    let versions = cx
        .store
        .write_memories(&cx.ms.id, &[write], &cli_actor())
        .await?;
    let version = versions.first();
    let store_version = cx.store_version().await?;
    let (status, memory_id) = match (version, existing) {
        (Some(v), None) => (ChangeStatus::Created, &v.memory_id),
        (Some(v), Some(_)) => (ChangeStatus::Updated, &v.memory_id),
        (None, Some(m)) => (ChangeStatus::Unchanged, &m.id),
        (None, None) => {
            return Err(CliError::Internal(format!(
                "creating {path} wrote no version"
            )));
        }
    };
    if cx.out.json {
        return ChangeReport {
            status,
            memory_id: Some(memory_id),
            path,
            memory_version: version,
            store_version,
        }
        .print(cx.out);
    }
    let line = match version {
        None => format!("Unchanged: {path} already holds this content; nothing written."),
        Some(version) => format!(
            "{} {path} ({memory_id}): {} bytes, sha256 {}, store version {store_version}",
            if status == ChangeStatus::Created {
                "Created"
            } else {
                "Updated"
            },
            thousands(version.content_size_bytes.unwrap_or(0)),
            short_sha(version.content_sha256.as_deref().unwrap_or("-")),
        ),
    };
    cx.out.line(line)?;
    Ok(0)
}

fn read_text_file(file: &Path) -> CliResult<String> {
    let bytes = std::fs::read(file).map_err(|e| {
        let code = if e.kind() == std::io::ErrorKind::NotFound {
            "not_found_error"
        } else {
            "io_error"
        };
        CliError::input(code, format!("cannot read {}: {e}", file.display()))
    })?;
    utf8(bytes, &file.display().to_string())
}

fn read_stdin(out: Output) -> CliResult<String> {
    let mut stdin = std::io::stdin().lock();
    if stdin.is_terminal() {
        out.note("reading the content from standard input; end it with Ctrl-D (or pass --file)");
    }
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes)?;
    utf8(bytes, "standard input")
}

fn utf8(bytes: Vec<u8>, source: &str) -> CliResult<String> {
    String::from_utf8(bytes).map_err(|e| {
        CliError::input(
            "invalid_utf8",
            format!(
                "{source} is not UTF-8 text (invalid byte at offset {}); memories hold UTF-8 text",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Returns the editor command: `$VISUAL`, else `$EDITOR`, else `vi`.
fn editor() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|value| !value.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

async fn cmd_edit(cx: Cx<'_>, args: EditArgs) -> CliResult<u8> {
    let reference = parse_memory_ref(&args.memory)?;
    let existing = match &reference {
        MemoryRef::Id(_) => Some(live_memory(cx, &reference).await?),
        MemoryRef::Path(path) => cx.store.find_memory(&cx.ms.id, path).await?,
    };
    let path = match (&existing, &reference) {
        (Some(memory), _) => memory.path.clone(),
        (None, MemoryRef::Path(path)) => path.clone(),
        (None, MemoryRef::Id(id)) => return Err(CliError::Internal(format!("{id} vanished"))),
    };
    let original = existing
        .as_ref()
        .map(|m| m.content.clone())
        .unwrap_or_default();

    // The file keeps the memory's name so that editors pick the right syntax.
    let dir = tempfile::Builder::new()
        .prefix("dream-edit-")
        .tempdir()
        .map_err(|e| CliError::Internal(format!("cannot create a temporary directory: {e}")))?;
    let name = path.rsplit('/').next().unwrap_or("memory.md");
    let file = dir.path().join(name);
    std::fs::write(&file, &original)
        .map_err(|e| CliError::Internal(format!("cannot write {}: {e}", file.display())))?;

    let editor = editor();
    // `sh -c '<editor> "$1"'` lets the editor carry arguments (`code --wait`).
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&file)
        .status()
        .map_err(|e| CliError::Internal(format!("cannot run the editor `{editor}`: {e}")))?;
    if !status.success() {
        let how = status.code().map_or_else(
            || "was stopped by a signal".to_owned(),
            |code| format!("exited with status {code}"),
        );
        return Err(CliError::input(
            "editor_failed",
            format!("the editor `{editor}` {how}; nothing written"),
        ));
    }
    let edited = std::fs::read(&file)
        .map_err(CliError::from)
        .and_then(|bytes| utf8(bytes, &file.display().to_string()));
    let edited = match edited {
        Ok(text) => text,
        Err(err) => return Err(keep_edit(err, dir, &file)),
    };
    if edited == original {
        if cx.out.json {
            return ChangeReport {
                status: ChangeStatus::Unchanged,
                memory_id: existing.as_ref().map(|m| &m.id),
                path: &path,
                memory_version: None,
                store_version: cx.ms.store_version,
            }
            .print(cx.out);
        } else if existing.is_some() {
            cx.out
                .line(format!("No changes to {path}; nothing written."))?;
        } else {
            cx.out.line(format!(
                "Nothing written: {path} does not exist and the file was left empty."
            ))?;
        }
        return Ok(0);
    }
    // The original content's hash is the precondition: a change made while the editor
    // was open fails the write instead of being overwritten.
    let expected = existing.as_ref().map(|m| m.content_sha256.clone());
    match write_content(cx, &path, existing.as_ref(), edited, expected).await {
        Ok(code) => Ok(code),
        Err(err) => Err(keep_edit(err, dir, &file)),
    }
}

/// Keeps the edited `file` (in `dir`) when it could not be stored, and says where it is.
fn keep_edit(err: CliError, dir: tempfile::TempDir, file: &Path) -> CliError {
    // Detach the directory from the guard that would delete it.
    let _kept = dir.keep();
    err.with_note(format!("your edit is kept in {}", file.display()))
}

async fn cmd_rm(cx: Cx<'_>, args: RmArgs) -> CliResult<u8> {
    let memory = live_memory(cx, &parse_memory_ref(&args.memory)?).await?;
    let write = MemoryWrite::Delete {
        memory_id: memory.id.clone(),
        precondition: full_sha(parse_sha(args.if_sha256)?, Some(&memory)),
    };
    let versions = cx
        .store
        .write_memories(&cx.ms.id, &[write], &cli_actor())
        .await?;
    let store_version = cx.store_version().await?;
    if cx.out.json {
        return ChangeReport {
            status: ChangeStatus::Deleted,
            memory_id: Some(&memory.id),
            path: &memory.path,
            memory_version: versions.first(),
            store_version,
        }
        .print(cx.out);
    }
    cx.out.line(format!(
        "Deleted {} ({}): store version {store_version}; `dream memory log {}` shows its history",
        memory.path, memory.id, memory.path
    ))?;
    Ok(0)
}

async fn cmd_mv(cx: Cx<'_>, args: MvArgs) -> CliResult<u8> {
    let memory = live_memory(cx, &parse_memory_ref(&args.from)?).await?;
    check_path(&args.to)?;
    let write = MemoryWrite::Update {
        memory_id: memory.id.clone(),
        content: None,
        path: Some(args.to.clone()),
        precondition: full_sha(parse_sha(args.if_sha256)?, Some(&memory)),
    };
    let versions = cx
        .store
        .write_memories(&cx.ms.id, &[write], &cli_actor())
        .await?;
    let store_version = cx.store_version().await?;
    if cx.out.json {
        return ChangeReport {
            status: if versions.is_empty() {
                ChangeStatus::Unchanged
            } else {
                ChangeStatus::Moved
            },
            memory_id: Some(&memory.id),
            path: &args.to,
            memory_version: versions.first(),
            store_version,
        }
        .print(cx.out);
    }
    if versions.is_empty() {
        cx.out.line(format!(
            "Unchanged: {} is already at {}; nothing written.",
            memory.id, args.to
        ))?;
    } else {
        cx.out.line(format!(
            "Moved {} → {} ({}): store version {store_version}",
            memory.path, args.to, memory.id
        ))?;
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// log

#[derive(Debug, Serialize)]
struct VersionList<'a> {
    memory_store_id: &'a str,
    memory_versions: &'a [MemoryVersion],
    count: usize,
}

/// Reads `--actor TYPE[:ID]`; `user` stands for `user_actor`, and so on.
fn parse_actor(text: &str) -> CliResult<(String, Option<String>)> {
    let (kind, id) = match text.split_once(':') {
        Some((kind, id)) => (kind.trim(), Some(id.trim().to_owned())),
        None => (text.trim(), None),
    };
    let kind = kind.strip_suffix("_actor").unwrap_or(kind);
    const KINDS: [&str; 5] = ["user", "api", "session", "service_account", "dream"];
    if !KINDS.contains(&kind) {
        return Err(CliError::usage(
            "invalid_request_error",
            format!(
                "--actor {text:?}: the type must be one of user, api, session, service_account, \
                 dream (optionally followed by :ID, as in user:user_dana)"
            ),
        ));
    }
    Ok((format!("{kind}_actor"), id.filter(|id| !id.is_empty())))
}

async fn cmd_log(cx: Cx<'_>, args: LogArgs) -> CliResult<u8> {
    let now = now()?;
    let (actor_type, actor_id) = match args.actor.as_deref().map(parse_actor).transpose()? {
        Some((kind, id)) => (Some(kind), id),
        None => (None, None),
    };
    let mut filter = VersionFilter {
        actor_type,
        actor_id,
        operation: args
            .operation
            .as_deref()
            .and_then(MemoryOperation::from_name),
        since: args
            .since
            .as_deref()
            .map(|s| parse_when("--since", s, now, DateAs::Start))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| parse_when("--until", s, now, DateAs::End))
            .transpose()?,
        limit: args.limit,
        ..VersionFilter::default()
    };
    let versions = match args.memory.as_deref().map(parse_memory_ref).transpose()? {
        None => cx.store.list_memory_versions(&cx.ms.id, &filter).await?,
        Some(MemoryRef::Id(id)) => {
            // A deleted memory has no live record but keeps its versions.
            filter.memory_id = Some(id);
            cx.store.list_memory_versions(&cx.ms.id, &filter).await?
        }
        Some(MemoryRef::Path(path)) => {
            let lineages = memories_ever_at(cx, &path).await?;
            if lineages.is_empty() {
                return Err(CliError::input(
                    "not_found_error",
                    format!(
                        "no memory has ever been at {path} in store {}; `dream memory ls` lists \
                         them",
                        cx.ms.name
                    ),
                ));
            }
            let limit = filter.limit.take();
            let mut versions: Vec<MemoryVersion> = cx
                .store
                .list_memory_versions(&cx.ms.id, &filter)
                .await?
                .into_iter()
                .filter(|v| lineages.contains(&v.memory_id))
                .collect();
            if let Some(limit) = limit {
                versions.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            versions
        }
    };
    if cx.out.json {
        cx.out.json(&VersionList {
            memory_store_id: cx.ms.id.as_str(),
            memory_versions: &versions,
            count: versions.len(),
        })?;
        return Ok(0);
    }
    if versions.is_empty() {
        cx.out.line("No memory versions match.")?;
        return Ok(0);
    }
    let moves = moved_from(cx, &versions).await?;
    let shown_path = |v: &MemoryVersion| match (moves.get(&v.id), v.path.as_deref()) {
        (Some(old), Some(new)) => format!("{old} → {new}"),
        (_, path) => path.unwrap_or("-").to_owned(),
    };
    let path_width = versions
        .iter()
        .map(|v| {
            if v.redacted_at.is_some() {
                10
            } else {
                shown_path(v).chars().count()
            }
        })
        .max()
        .unwrap_or(0)
        .clamp(4, 64);
    let actor_width = versions
        .iter()
        .map(|v| actor_label(&v.created_by).chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, 32);
    cx.out.line(
        strong()
            .apply_to(format!(
                "{:>7}  {:<9}  {:<path_width$}  {:<8}  {:<actor_width$}  {:<16}  ID",
                "VERSION", "OPERATION", "PATH", "SHA256", "ACTOR", "TIME (UTC)"
            ))
            .to_string(),
    )?;
    for v in &versions {
        let (path, sha) = if v.redacted_at.is_some() {
            (
                dim()
                    .apply_to(format!("{:<path_width$}", "(redacted)"))
                    .to_string(),
                dim().apply_to(format!("{:<8}", "-")).to_string(),
            )
        } else {
            (
                format!("{:<path_width$}", truncate(&shown_path(v), path_width)),
                format!("{:<8}", v.content_sha256.as_deref().map_or("-", short_sha)),
            )
        };
        let operation = match moves.get(&v.id) {
            Some(_) => Style::new()
                .cyan()
                .apply_to(format!("{:<9}", "moved"))
                .to_string(),
            None => operation_style(v.operation)
                .apply_to(format!("{:<9}", v.operation.as_str()))
                .to_string(),
        };
        cx.out.line(format!(
            "{:>7}  {operation}  {path}  {sha}  {:<actor_width$}  {:<16}  {}",
            v.store_version,
            truncate(actor_label(&v.created_by), actor_width),
            v.created_at.to_display_minutes(),
            dim().apply_to(&v.id)
        ))?;
    }
    cx.out.line(
        dim()
            .apply_to(format!(
                "{} {}",
                thousands(versions.len() as u64),
                plural(versions.len() as u64, "version", "versions")
            ))
            .to_string(),
    )?;
    Ok(0)
}

/// Returns, for each `modified` version in `versions` that changed its memory's path,
/// the path before it (from the memory's previous version; a redacted one hides it).
async fn moved_from(
    cx: Cx<'_>,
    versions: &[MemoryVersion],
) -> CliResult<BTreeMap<MemoryVersionId, String>> {
    let mut moves = BTreeMap::new();
    let modified: BTreeSet<&MemoryId> = versions
        .iter()
        .filter(|v| v.operation == MemoryOperation::Modified && v.path.is_some())
        .map(|v| &v.memory_id)
        .collect();
    for memory_id in modified {
        // Newest first: each version's predecessor is the next one in the list.
        let history = cx
            .store
            .list_memory_versions(
                &cx.ms.id,
                &VersionFilter {
                    memory_id: Some(memory_id.clone()),
                    ..VersionFilter::default()
                },
            )
            .await?;
        for pair in history.windows(2) {
            let (version, before) = (&pair[0], &pair[1]);
            if version.operation == MemoryOperation::Modified
                && let (Some(old), Some(new)) = (&before.path, &version.path)
                && old != new
            {
                moves.insert(version.id.clone(), old.clone());
            }
        }
    }
    Ok(moves)
}

/// Returns the memories that are or ever were at `path` (their whole lineage is shown,
/// renames included, like `git log --follow`).
async fn memories_ever_at(cx: Cx<'_>, path: &str) -> CliResult<BTreeSet<MemoryId>> {
    let mut ids = BTreeSet::new();
    if let Some(memory) = cx.store.find_memory(&cx.ms.id, path).await? {
        ids.insert(memory.id);
    }
    for version in cx
        .store
        .list_memory_versions(&cx.ms.id, &VersionFilter::default())
        .await?
    {
        if version.path.as_deref() == Some(path) {
            ids.insert(version.memory_id);
        }
    }
    Ok(ids)
}

fn operation_style(operation: MemoryOperation) -> Style {
    match operation {
        MemoryOperation::Created => good(),
        MemoryOperation::Modified => Style::new().yellow(),
        MemoryOperation::Deleted => bad(),
    }
}

// ---------------------------------------------------------------------------------------
// diff, restore, redact

async fn cmd_diff(cx: Cx<'_>, args: DiffArgs) -> CliResult<u8> {
    let diff = diff_store(cx.store, &cx.ms.id, args.from, args.to).await?;
    if cx.out.json {
        cx.out.json(&diff)?;
        return Ok(0);
    }
    print_diff(cx.out, &cx.ms.name, &diff)?;
    Ok(0)
}

fn print_diff(out: Output, store_name: &str, diff: &StoreDiff) -> CliResult<()> {
    if diff.entries.is_empty() {
        out.line(format!(
            "No differences in {store_name} between store versions {} and {}.",
            diff.from_version, diff.to_version
        ))?;
        return Ok(());
    }
    let n = diff.entries.len() as u64;
    out.line(format!(
        "{store_name}: store version {} → {}, {} {} changed",
        diff.from_version,
        diff.to_version,
        n,
        plural(n, "memory", "memories")
    ))?;
    for entry in &diff.entries {
        out.line("")?;
        print_diff_entry(out, entry)?;
    }
    Ok(())
}

fn print_diff_entry(out: Output, entry: &MemoryDiff) -> CliResult<()> {
    // With a redacted side the kind can only be guessed (a path that is gone looks
    // like a rename), so say what is known.
    let (label, style) = match entry.kind {
        _ if entry.redacted => ("redacted", dim()),
        DiffKind::Added => ("added", good().bold()),
        DiffKind::Removed => ("removed", bad()),
        DiffKind::Modified => ("modified", Style::new().yellow().bold()),
        DiffKind::Renamed => ("renamed", Style::new().magenta().bold()),
    };
    let title = match (entry.kind, &entry.old_path, &entry.new_path) {
        (DiffKind::Renamed, Some(old), Some(new)) => format!("{old} → {new}"),
        _ => entry.path().to_owned(),
    };
    out.line(format!(
        "{} {}  {}",
        style.apply_to(format!("{label:<8}")),
        strong().apply_to(title),
        dim().apply_to(&entry.memory_id)
    ))?;
    if entry.redacted {
        out.line(
            dim()
                .apply_to("a version on one side was redacted, so this change cannot be shown")
                .to_string(),
        )?;
        return Ok(());
    }
    for line in entry.unified.lines() {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            strong()
        } else if line.starts_with('+') {
            Style::new().green()
        } else if line.starts_with('-') {
            Style::new().red()
        } else if line.starts_with("@@") {
            Style::new().cyan()
        } else {
            Style::new()
        };
        out.line(style.apply_to(line).to_string())?;
    }
    Ok(())
}

async fn cmd_restore(cx: Cx<'_>, args: RestoreArgs) -> CliResult<u8> {
    let report = restore(cx.store, &cx.ms.id, args.version, &cli_actor()).await?;
    if cx.out.json {
        cx.out.json(&report)?;
        return Ok(0);
    }
    if report.versions.is_empty() {
        cx.out.line(format!(
            "Nothing to restore: {} already matches store version {}.",
            cx.ms.name, report.target_version
        ))?;
    } else {
        let n = report.versions.len() as u64;
        cx.out.line(format!(
            "Restored {} to its state at store version {}: {} new {}, store version {} → {}",
            cx.ms.name,
            report.target_version,
            n,
            plural(n, "version", "versions"),
            report.from_version,
            report.new_version
        ))?;
        let width = report
            .versions
            .iter()
            .map(|v| v.path.as_deref().map_or(0, |p| p.chars().count()))
            .max()
            .unwrap_or(0)
            .clamp(4, 48);
        for v in &report.versions {
            cx.out.line(format!(
                "  {:>7}  {}  {:<width$}  {}",
                v.store_version,
                operation_style(v.operation).apply_to(format!("{:<9}", v.operation.as_str())),
                truncate(v.path.as_deref().unwrap_or("-"), width),
                dim().apply_to(&v.id)
            ))?;
        }
        cx.out.line(
            dim()
                .apply_to("History is kept: `dream memory log` shows the restore as new versions.")
                .to_string(),
        )?;
    }
    if !report.skipped_redacted.is_empty() {
        let ids: Vec<&str> = report
            .skipped_redacted
            .iter()
            .map(|id| id.as_str())
            .collect();
        cx.out.line(format!(
            "Left as they are, because their state at store version {} was redacted: {}",
            report.target_version,
            ids.join(", ")
        ))?;
    }
    Ok(0)
}

async fn cmd_redact(cx: Cx<'_>, args: RedactArgs) -> CliResult<u8> {
    let id: MemoryVersionId = args.version.parse().map_err(|_| {
        CliError::input(
            "invalid_request_error",
            format!(
                "{:?} is not a memory version id (memver_…); `dream memory log` shows them",
                args.version
            ),
        )
    })?;
    let before = cx.store.get_memory_version(&cx.ms.id, &id).await?;
    let after = cx
        .store
        .redact_memory_version(&cx.ms.id, &id, &cli_actor())
        .await?;
    if cx.out.json {
        cx.out.json(&after)?;
        return Ok(0);
    }
    if before.redacted_at.is_some() {
        cx.out
            .line(format!("{id} was already redacted; nothing changed."))?;
    } else {
        cx.out.line(format!(
            "Redacted {id} (store version {}, {} {}): its path and content are erased; the \
             record stays in the log as (redacted).",
            before.store_version,
            before.operation.as_str(),
            before.path.as_deref().unwrap_or("-")
        ))?;
    }
    Ok(0)
}

// ---------------------------------------------------------------------------------------
// export, import

async fn cmd_export(cx: Cx<'_>, args: ExportArgs) -> CliResult<u8> {
    if let Some(dir) = &args.dir {
        let report = export::export_dir(cx.store, &cx.ms.id, dir).await?;
        if cx.out.json {
            cx.out.json(&serde_json::json!({
                "dir": dir.display().to_string(),
                "written": report.written,
                "unchanged": report.unchanged,
            }))?;
            return Ok(0);
        }
        if report.written.is_empty() {
            cx.out.line(format!(
                "{} is up to date: all {} files already match their memories.",
                dir.display(),
                report.unchanged
            ))?;
        } else {
            cx.out.line(format!(
                "Exported {} to {}: {} {} written, {} unchanged",
                cx.ms.name,
                dir.display(),
                report.written.len(),
                plural(report.written.len() as u64, "file", "files"),
                report.unchanged
            ))?;
            for path in &report.written {
                cx.out.line(format!("  {path}"))?;
            }
        }
        return Ok(0);
    }
    if let Some(file) = &args.markdown {
        let memories: Vec<_> = cx
            .store
            .list_memories(&cx.ms.id, None)
            .await?
            .into_iter()
            .filter(|m| args.include_archive || !is_archive(&m.path))
            .collect();
        let rendered = export::render_markdown(&memories, 2, args.budget);
        if file.as_os_str() == "-" {
            if cx.out.json {
                cx.out.json(&serde_json::json!({
                    "text": rendered.text,
                    "included": rendered.included,
                    "omitted": rendered.omitted,
                }))?;
            } else {
                cx.out.raw(&rendered.text)?;
            }
            return Ok(0);
        }
        let before = std::fs::read(file).ok();
        let changed = before.as_deref() != Some(rendered.text.as_bytes());
        if changed {
            std::fs::write(file, &rendered.text).map_err(|e| {
                CliError::input("io_error", format!("cannot write {}: {e}", file.display()))
            })?;
        }
        return report_rendered(cx, file, &rendered, changed, before.is_none());
    }
    if let Some(file) = &args.agents_file {
        let before = std::fs::read(file).ok();
        let rendered = export::export_agents_file(
            cx.store,
            &cx.ms.id,
            file,
            args.budget,
            args.include_archive,
        )
        .await?;
        let after = std::fs::read(file).ok();
        return report_rendered(cx, file, &rendered, before != after, before.is_none());
    }
    Err(CliError::usage(
        "invalid_request_error",
        "pass --dir DIR, --markdown FILE or --agents-file FILE",
    ))
}

fn report_rendered(
    cx: Cx<'_>,
    file: &Path,
    rendered: &export::Rendered,
    changed: bool,
    created: bool,
) -> CliResult<u8> {
    if cx.out.json {
        cx.out.json(&serde_json::json!({
            "file": file.display().to_string(),
            "changed": changed,
            "created": created && changed,
            "size_bytes": rendered.text.len(),
            "included": rendered.included,
            "omitted": rendered.omitted,
        }))?;
        return Ok(0);
    }
    let n = rendered.included.len() as u64;
    let what = format!(
        "{n} {} ({} bytes)",
        plural(n, "memory", "memories"),
        thousands(rendered.text.len() as u64)
    );
    let line = match (changed, created) {
        (false, _) => format!("{} is up to date: {what}", file.display()),
        (true, true) => format!("Created {} with {what}", file.display()),
        (true, false) => format!("Updated {}: {what}", file.display()),
    };
    cx.out.line(line)?;
    if !rendered.omitted.is_empty() {
        cx.out.line(format!(
            "Left out to fit the budget: {}",
            rendered.omitted.join(", ")
        ))?;
    }
    Ok(0)
}

async fn cmd_import(cx: Cx<'_>, args: ImportArgs) -> CliResult<u8> {
    let actor = cli_actor();
    let (source, report) = match (&args.dir, &args.agents_file) {
        (Some(dir), _) => {
            if !dir.is_dir() {
                return Err(CliError::input(
                    "not_found_error",
                    format!("{} is not a directory", dir.display()),
                ));
            }
            let report = export::import_dir(cx.store, &cx.ms.id, dir, &actor, args.prune).await?;
            (dir, report)
        }
        (None, Some(file)) => {
            let report = export::import_agents_file(cx.store, &cx.ms.id, file, &actor).await?;
            (file, report)
        }
        (None, None) => {
            return Err(CliError::usage(
                "invalid_request_error",
                "pass --dir DIR or --agents-file FILE",
            ));
        }
    };
    let store_version = cx.store_version().await?;
    if cx.out.json {
        #[derive(Serialize)]
        struct ImportView<'a> {
            #[serde(flatten)]
            report: &'a export::ImportReport,
            store_version: u64,
        }
        cx.out.json(&ImportView {
            report: &report,
            store_version,
        })?;
        return Ok(0);
    }
    if report.versions.is_empty() {
        cx.out.line(format!(
            "No changes: {} matches {} ({} unchanged, store version {store_version}).",
            source.display(),
            cx.ms.name,
            report.unchanged
        ))?;
        return Ok(0);
    }
    cx.out.line(format!(
        "Imported {} into {}: {} created, {} updated, {} deleted, {} unchanged; store version \
         {} → {store_version}",
        source.display(),
        cx.ms.name,
        report.created.len(),
        report.updated.len(),
        report.deleted.len(),
        report.unchanged,
        cx.ms.store_version
    ))?;
    let lines: BTreeMap<&str, &str> = report
        .created
        .iter()
        .map(|p| (p.as_str(), "created"))
        .chain(report.updated.iter().map(|p| (p.as_str(), "updated")))
        .chain(report.deleted.iter().map(|p| (p.as_str(), "deleted")))
        .collect();
    for (path, what) in lines {
        cx.out.line(format!("  {what:<8} {path}"))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_references_are_ids_or_valid_paths() {
        assert_eq!(
            parse_memory_ref("/notes/a.md").unwrap(),
            MemoryRef::Path("/notes/a.md".into())
        );
        assert!(matches!(
            parse_memory_ref("mem_01abc").unwrap(),
            MemoryRef::Id(_)
        ));
        let err = parse_memory_ref("notes/a.md").unwrap_err();
        assert_eq!((err.exit_code(), err.code()), (1, "invalid_path"));
    }

    #[test]
    fn actor_filters_accept_short_and_wire_type_names() {
        assert_eq!(
            parse_actor("user:user_dana").unwrap(),
            ("user_actor".to_owned(), Some("user_dana".to_owned()))
        );
        assert_eq!(
            parse_actor("dream_actor").unwrap(),
            ("dream_actor".to_owned(), None)
        );
        let err = parse_actor("robot").unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn sha_preconditions_are_64_hex_digits() {
        let sha = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        assert_eq!(
            parse_sha(Some(sha.into())).unwrap().unwrap(),
            sha.to_ascii_lowercase()
        );
        assert_eq!(parse_sha(Some("abc".into())).unwrap_err().exit_code(), 2);
        assert_eq!(parse_sha(None).unwrap(), None);
    }
}
