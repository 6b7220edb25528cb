//! `dream stores create|list|show|update|archive|delete`: memory stores, and how the
//! other commands find the store they work on.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use clap::{Args, Subcommand};
use dream_store::{MemoryStorePatch, NewMemoryStore, OpenMode, Store, StoreError};
use dream_types::{DreamConfig, MemoryStore, MemoryStoreId, OutputBehavior};
use serde::Serialize;

use super::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{Output, dim, strong, thousands, truncate};

/// Environment variable giving the default for `--store`.
pub const STORE_ENV: &str = "DREAM_STORE";

/// `dream stores …`
#[derive(Debug, Subcommand)]
pub enum StoresCommand {
    /// Create a memory store.
    Create(CreateArgs),
    /// List memory stores, oldest first (archived ones with --all).
    List(ListArgs),
    /// Show a memory store: its fields, protected paths, store version and memory count.
    Show(ShowArgs),
    /// Change a store's name, description, metadata or protected paths.
    Update(UpdateArgs),
    /// Archive a store: read-only from then on (one-way).
    Archive(ArchiveArgs),
    /// Delete a store with all its memories, versions, dreams and proposals (asks
    /// first on a terminal; --yes otherwise).
    Delete(DeleteArgs),
}

/// Arguments of `dream stores delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// A `memstore_…` id or a store name.
    store: String,
    /// Delete without asking (required when standard input is not a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
}

/// Arguments of `dream stores create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The store's name (1–255 characters); other commands accept it for --store.
    name: String,
    /// What the store holds (at most 1,024 characters).
    #[arg(long, short)]
    description: Option<String>,
    /// A metadata pair (repeatable; at most 16).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    metadata: Vec<(String, String)>,
    /// A path prefix dreams may never change, such as /policies/ (repeatable).
    #[arg(long, value_name = "PREFIX")]
    protect: Vec<String>,
}

/// Arguments of `dream stores list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Include archived stores.
    #[arg(long)]
    all: bool,
}

/// Arguments of `dream stores show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A `memstore_…` id or a store name (default: the only store in use).
    #[arg(env = STORE_ENV)]
    store: Option<String>,
}

/// Arguments of `dream stores update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A `memstore_…` id or a store name.
    store: String,
    /// New name.
    #[arg(long)]
    name: Option<String>,
    /// New description (`""` clears it).
    #[arg(long, short)]
    description: Option<String>,
    /// Add or replace a metadata pair (repeatable).
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    metadata: Vec<(String, String)>,
    /// Remove a metadata key (repeatable).
    #[arg(long, value_name = "KEY")]
    unset_metadata: Vec<String>,
    /// Add a protected path prefix (repeatable).
    #[arg(long, value_name = "PREFIX")]
    protect: Vec<String>,
    /// Remove a protected path prefix (repeatable).
    #[arg(long, value_name = "PREFIX")]
    unprotect: Vec<String>,
    /// Where `dream run` writes results on this store when it is not told:
    /// `update-existing` (the store itself, after review; the CLI's default) or
    /// `create-new` (a new store derived from this one per dream).
    #[arg(long, value_enum, value_name = "BEHAVIOR")]
    output: Option<super::dreams::OutputArg>,
    /// Pin an agent: dreams on this store read only the pinned agents' sessions unless
    /// they name agents themselves (repeatable; adds to the pinned ones).
    #[arg(long = "agent", value_name = "NAME")]
    agents: Vec<String>,
    /// Unpin every agent (before adding any --agent).
    #[arg(long)]
    clear_agents: bool,
    /// Largest size of the store in bytes after a dream (archive not counted):
    /// compaction merges related notes, then moves the rest to `/archive/…`. 0 removes
    /// the budget.
    #[arg(long, value_name = "BYTES")]
    max_memory_bytes: Option<u64>,
    /// The same budget in tokens, estimated at 4 bytes a token as the exported agents
    /// file would be read; with both, the tighter wins. 0 removes it.
    #[arg(long, value_name = "TOKENS")]
    max_memory_tokens: Option<u64>,
}

/// Arguments of `dream stores archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// A `memstore_…` id or a store name.
    store: String,
}

/// Runs a `dream stores` subcommand.
pub async fn cmd_stores(db: &Path, command: StoresCommand, out: Output) -> CliResult<u8> {
    let store = match command {
        StoresCommand::Create(_) => {
            let existed = db.exists();
            let store = open_store(db, OpenMode::Create).await?;
            if !existed {
                out.note(format!("created dream store at {}", db.display()));
            }
            store
        }
        _ => open_store(db, OpenMode::MustExist).await?,
    };
    let result = match command {
        StoresCommand::Create(args) => cmd_create(&store, args, out).await,
        StoresCommand::List(args) => cmd_list(&store, args, out).await,
        StoresCommand::Show(args) => cmd_show(&store, args, out).await,
        StoresCommand::Update(args) => cmd_update(&store, args, out).await,
        StoresCommand::Archive(args) => cmd_archive(&store, args, out).await,
        StoresCommand::Delete(args) => cmd_delete(&store, args, out).await,
    };
    store.close().await;
    result
}

/// Finds the memory store a command works on. `reference` is a `memstore_…` id or a
/// name; a name shared by several stores picks the one not archived, if exactly one
/// is. Without a reference, the only store not archived is used.
///
/// # Errors
/// `store_not_found` (exit 1) when nothing matches or no store exists;
/// `store_ambiguous` (exit 2) when the reference or its absence leaves several stores.
pub async fn resolve_store(store: &dyn Store, reference: Option<&str>) -> CliResult<MemoryStore> {
    match reference.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reference) => store_by_reference(store, reference).await,
        None => only_store(store).await,
    }
}

async fn store_by_reference(store: &dyn Store, reference: &str) -> CliResult<MemoryStore> {
    if let Ok(id) = reference.parse::<MemoryStoreId>() {
        match store.get_memory_store(&id).await {
            Ok(found) => return Ok(found),
            Err(StoreError::NotFound { .. }) => {}
            Err(err) => return Err(err.into()),
        }
    }
    let named: Vec<MemoryStore> = store
        .list_memory_stores(true)
        .await?
        .into_iter()
        .filter(|s| s.name == reference)
        .collect();
    let active: Vec<&MemoryStore> = named.iter().filter(|s| s.archived_at.is_none()).collect();
    match (named.len(), active.as_slice()) {
        (0, _) => Err(CliError::input(
            "store_not_found",
            format!(
                "no memory store is named or has the id {reference:?}; `dream stores list --all` \
                 lists them"
            ),
        )),
        (1, _) => Ok(named[0].clone()),
        (_, [only]) => Ok((*only).clone()),
        _ => {
            let ids: Vec<String> = named
                .iter()
                .map(|s| match s.archived_at {
                    Some(_) => format!("{} (archived)", s.id),
                    None => s.id.to_string(),
                })
                .collect();
            Err(CliError::usage(
                "store_ambiguous",
                format!(
                    "{} memory stores are named {reference:?}: {}; pass the memstore_… id",
                    named.len(),
                    ids.join(", ")
                ),
            ))
        }
    }
}

async fn only_store(store: &dyn Store) -> CliResult<MemoryStore> {
    let mut active = store.list_memory_stores(false).await?;
    match active.len() {
        1 => Ok(active.remove(0)),
        0 => {
            let archived = store.list_memory_stores(true).await?.len();
            let message = if archived == 0 {
                "no memory store yet; create one with `dream stores create NAME`".to_owned()
            } else {
                format!(
                    "no memory store in use ({archived} archived); pass --store to read an \
                     archived one, or create one with `dream stores create NAME`"
                )
            };
            Err(CliError::input("store_not_found", message))
        }
        n => {
            let names: Vec<String> = active
                .iter()
                .map(|s| format!("{} ({})", s.name, s.id))
                .collect();
            Err(CliError::usage(
                "store_ambiguous",
                format!(
                    "there are {n} memory stores: {}; pass --store NAME or set {STORE_ENV}",
                    names.join(", ")
                ),
            ))
        }
    }
}

/// Parses `KEY=VALUE` (the value may be empty and may contain `=`).
pub(crate) fn parse_pair(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
        None => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// A store with what it holds, as `show`, `list` and the writes print it.
#[derive(Debug, Serialize)]
struct StoreView<'a> {
    #[serde(flatten)]
    store: &'a MemoryStore,
    /// Memories in the store now.
    memory_count: usize,
    /// Their content, in UTF-8 bytes.
    content_size_bytes: u64,
    /// Its dream configuration (`show` and `update` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    dream_config: Option<&'a DreamConfig>,
}

async fn count_memories(store: &dyn Store, id: &MemoryStoreId) -> CliResult<(usize, u64)> {
    let memories = store.list_memories(id, None).await?;
    let bytes = memories.iter().map(|m| m.content_size_bytes).sum();
    Ok((memories.len(), bytes))
}

#[derive(Debug, Serialize)]
struct StoreList<'a> {
    memory_stores: Vec<StoreView<'a>>,
    count: usize,
}

/// Refuses a name that a store in use already has: names stand for stores on the
/// command line, and two live stores with one name could only be told apart by id.
async fn check_name_free(
    store: &dyn Store,
    name: &str,
    except: Option<&MemoryStoreId>,
) -> CliResult<()> {
    let taken = store
        .list_memory_stores(false)
        .await?
        .into_iter()
        .find(|s| s.name == name && Some(&s.id) != except);
    match taken {
        Some(other) => Err(CliError::conflict(
            "conflict_error",
            format!(
                "a memory store named {name:?} already exists ({}); choose another name, or \
                 archive that store first",
                other.id
            ),
        )),
        None => Ok(()),
    }
}

async fn cmd_create(store: &dyn Store, args: CreateArgs, out: Output) -> CliResult<u8> {
    check_name_free(store, &args.name, None).await?;
    let created = store
        .create_memory_store(NewMemoryStore {
            name: args.name,
            description: args.description.unwrap_or_default(),
            metadata: args.metadata.into_iter().collect(),
            protected_paths: args.protect,
            derived_from: None,
        })
        .await?;
    if out.json {
        return print_store_json(&created, 0, 0, None, out);
    }
    out.line(format!(
        "Created memory store {} ({})",
        strong().apply_to(&created.name),
        created.id
    ))?;
    out.line(format!(
        "Next: dream memory write /notes.md --store {} < notes.md",
        shell_word(&created.name)
    ))?;
    Ok(0)
}

/// Quotes `text` for a shell when it is not a plain word.
fn shell_word(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

async fn cmd_list(store: &dyn Store, args: ListArgs, out: Output) -> CliResult<u8> {
    let stores = store.list_memory_stores(args.all).await?;
    let mut views = Vec::with_capacity(stores.len());
    for s in &stores {
        let (memory_count, content_size_bytes) = count_memories(store, &s.id).await?;
        views.push(StoreView {
            store: s,
            memory_count,
            content_size_bytes,
            dream_config: None,
        });
    }
    if out.json {
        let count = views.len();
        return out
            .json(&StoreList {
                memory_stores: views,
                count,
            })
            .map(|()| 0);
    }
    if views.is_empty() {
        out.line(if args.all {
            "No memory stores yet; create one with `dream stores create NAME`."
        } else {
            "No memory stores in use (`--all` includes archived ones); create one with `dream \
             stores create NAME`."
        })?;
        return Ok(0);
    }
    let name_width = views
        .iter()
        .map(|v| v.store.name.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 32);
    out.line(
        strong()
            .apply_to(format!(
                "{:<35}  {:<name_width$}  {:>7}  {:>8}  {:>9}  UPDATED (UTC)",
                "ID", "NAME", "VERSION", "MEMORIES", "BYTES"
            ))
            .to_string(),
    )?;
    for view in &views {
        let s = view.store;
        let archived = if s.archived_at.is_some() {
            dim().apply_to("  archived").to_string()
        } else {
            String::new()
        };
        out.line(format!(
            "{:<35}  {:<name_width$}  {:>7}  {:>8}  {:>9}  {}{archived}",
            s.id,
            truncate(&s.name, name_width),
            thousands(s.store_version),
            thousands(view.memory_count as u64),
            thousands(view.content_size_bytes),
            s.updated_at.to_display_minutes(),
        ))?;
    }
    let noun = if views.len() == 1 {
        "memory store"
    } else {
        "memory stores"
    };
    out.line(
        dim()
            .apply_to(format!("{} {noun}", views.len()))
            .to_string(),
    )?;
    Ok(0)
}

async fn cmd_show(store: &dyn Store, args: ShowArgs, out: Output) -> CliResult<u8> {
    let found = resolve_store(store, args.store.as_deref()).await?;
    let (count, bytes) = count_memories(store, &found.id).await?;
    let config = store.dream_config(&found.id).await?;
    if out.json {
        return print_store_json(&found, count, bytes, Some(&config), out);
    }
    print_store(&found, count, bytes, out)?;
    print_dream_settings(store, &found, &config, out).await?;
    Ok(0)
}

fn print_store_json(
    store: &MemoryStore,
    count: usize,
    bytes: u64,
    dream_config: Option<&DreamConfig>,
    out: Output,
) -> CliResult<u8> {
    out.json(&StoreView {
        store,
        memory_count: count,
        content_size_bytes: bytes,
        dream_config,
    })?;
    Ok(0)
}

/// Prints where a store came from and how `dream run` treats it.
async fn print_dream_settings(
    store: &dyn Store,
    found: &MemoryStore,
    config: &DreamConfig,
    out: Output,
) -> CliResult<()> {
    let field = |name: &str, value: String| format!("  {:<12} {value}", dim().apply_to(name));
    if let Some(source) = &found.derived_from {
        let name = match store.get_memory_store(source).await {
            Ok(s) => s.name,
            Err(StoreError::NotFound { .. }) => "deleted".to_owned(),
            Err(err) => return Err(err.into()),
        };
        out.line(field("derived from", format!("{source} ({name})")))?;
    }
    out.line(field(
        "dream output",
        match config.output_behavior {
            Some(OutputBehavior::UpdateExisting) => "update_existing".to_owned(),
            Some(OutputBehavior::CreateNew) => "create_new".to_owned(),
            None => dim()
                .apply_to("not set (dream run: update_existing; API: create_new)")
                .to_string(),
        },
    ))?;
    out.line(field(
        "agents",
        if config.agents.is_empty() {
            dim().apply_to("all").to_string()
        } else {
            config.agents.join("  ")
        },
    ))?;
    Ok(())
}

fn print_store(store: &MemoryStore, count: usize, bytes: u64, out: Output) -> CliResult<()> {
    out.line(format!(
        "{}  {}",
        strong().apply_to(&store.id),
        strong().apply_to(&store.name)
    ))?;
    let field = |name: &str, value: String| format!("  {:<12} {value}", dim().apply_to(name));
    if !store.description.is_empty() {
        out.line(field("description", store.description.clone()))?;
    }
    if !store.metadata.is_empty() {
        let pairs: Vec<String> = store
            .metadata
            .iter()
            .map(|(k, v)| format!("{k}={}", truncate(v, 60)))
            .collect();
        out.line(field("metadata", pairs.join("  ")))?;
    }
    let protected = if store.protected_paths.is_empty() {
        dim().apply_to("none").to_string()
    } else {
        store.protected_paths.join("  ")
    };
    out.line(field("protected", protected))?;
    out.line(field("version", thousands(store.store_version)))?;
    out.line(field(
        "memories",
        format!("{} ({} bytes)", thousands(count as u64), thousands(bytes)),
    ))?;
    out.line(field(
        "created",
        format!("{} UTC", store.created_at.to_display_minutes()),
    ))?;
    out.line(field(
        "updated",
        format!("{} UTC", store.updated_at.to_display_minutes()),
    ))?;
    if let Some(archived) = store.archived_at {
        out.line(field(
            "archived",
            format!("{} UTC (read-only)", archived.to_display_minutes()),
        ))?;
    }
    Ok(())
}

async fn cmd_update(store: &dyn Store, args: UpdateArgs, out: Output) -> CliResult<u8> {
    let current = resolve_store(store, Some(&args.store)).await?;
    if args.name.is_none()
        && args.description.is_none()
        && args.metadata.is_empty()
        && args.unset_metadata.is_empty()
        && args.protect.is_empty()
        && args.unprotect.is_empty()
        && args.output.is_none()
        && args.agents.is_empty()
        && !args.clear_agents
        && args.max_memory_bytes.is_none()
        && args.max_memory_tokens.is_none()
    {
        return Err(CliError::usage(
            "invalid_request_error",
            "nothing to update; pass --name, --description, --metadata, --unset-metadata, \
             --protect, --unprotect, --output, --agent, --clear-agents, --max-memory-bytes or \
             --max-memory-tokens",
        ));
    }
    if let Some(name) = &args.name {
        check_name_free(store, name, Some(&current.id)).await?;
    }
    let mut metadata: BTreeMap<String, Option<String>> = BTreeMap::new();
    for key in args.unset_metadata {
        metadata.insert(key, None);
    }
    for (key, value) in args.metadata {
        metadata.insert(key, Some(value));
    }
    let protected_paths = if args.protect.is_empty() && args.unprotect.is_empty() {
        None
    } else {
        let mut paths = current.protected_paths.clone();
        for prefix in &args.unprotect {
            let before = paths.len();
            paths.retain(|p| p != prefix);
            if paths.len() == before {
                let known = if current.protected_paths.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!("it has {}", current.protected_paths.join(", "))
                };
                return Err(CliError::input(
                    "invalid_request_error",
                    format!(
                        "{prefix} is not a protected path of {}; {known}",
                        current.name
                    ),
                ));
            }
        }
        for prefix in args.protect {
            if !paths.contains(&prefix) {
                paths.push(prefix);
            }
        }
        Some(paths)
    };
    let store_fields_change = args.name.is_some()
        || args.description.is_some()
        || !metadata.is_empty()
        || protected_paths.is_some();
    let updated = if store_fields_change {
        store
            .update_memory_store(
                &current.id,
                MemoryStorePatch {
                    name: args.name,
                    description: args.description,
                    metadata: (!metadata.is_empty()).then_some(metadata),
                    protected_paths,
                },
            )
            .await?
    } else {
        current.clone()
    };
    let mut config = store.dream_config(&current.id).await?;
    if args.output.is_some()
        || !args.agents.is_empty()
        || args.clear_agents
        || args.max_memory_bytes.is_some()
        || args.max_memory_tokens.is_some()
    {
        if let Some(bytes) = args.max_memory_bytes {
            config.max_memory_bytes = (bytes > 0).then_some(bytes);
        }
        if let Some(tokens) = args.max_memory_tokens {
            config.max_memory_tokens = (tokens > 0).then_some(tokens);
        }
        if let Some(output) = args.output {
            config.output_behavior = Some(match output {
                super::dreams::OutputArg::CreateNew => OutputBehavior::CreateNew,
                super::dreams::OutputArg::UpdateExisting => OutputBehavior::UpdateExisting,
            });
        }
        if args.clear_agents {
            config.agents.clear();
        }
        for agent in args.agents {
            let agent = agent.trim().to_owned();
            if agent.is_empty() {
                return Err(CliError::usage(
                    "invalid_request_error",
                    "--agent needs a name (the agent field `dream sessions list` shows)",
                ));
            }
            if !config.agents.contains(&agent) {
                config.agents.push(agent);
            }
        }
        store.set_dream_config(&current.id, &config).await?;
    }
    let (count, bytes) = count_memories(store, &updated.id).await?;
    if out.json {
        return print_store_json(&updated, count, bytes, Some(&config), out);
    }
    out.line(format!("Updated memory store {}", updated.name))?;
    print_store(&updated, count, bytes, out)?;
    print_dream_settings(store, &updated, &config, out).await?;
    Ok(0)
}

async fn cmd_delete(store: &dyn Store, args: DeleteArgs, out: Output) -> CliResult<u8> {
    let current = resolve_store(store, Some(&args.store)).await?;
    let (count, _) = count_memories(store, &current.id).await?;
    let memories = crate::output::count(count as u64, "memory", "memories");
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(
                "confirmation_required",
                format!(
                    "deleting memory store {} ({}) removes its {memories} and their history for \
                     good, and standard input is not a terminal to confirm on; pass --yes",
                    current.name, current.id
                ),
            ));
        }
        eprint!(
            "Delete memory store {} ({}) with its {memories}, their history, dreams and \
             proposals? This cannot be undone. [y/N] ",
            current.name, current.id
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| CliError::Internal(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            out.line("Nothing deleted.")?;
            return Ok(1);
        }
    }
    store.delete_memory_store(&current.id).await?;
    if out.json {
        out.json(&serde_json::json!({
            "id": current.id,
            "type": "memory_store_deleted",
            "name": current.name,
        }))?;
        return Ok(0);
    }
    out.line(format!(
        "Deleted memory store {} ({}) with its {memories}.",
        current.name, current.id
    ))?;
    Ok(0)
}

async fn cmd_archive(store: &dyn Store, args: ArchiveArgs, out: Output) -> CliResult<u8> {
    let current = resolve_store(store, Some(&args.store)).await?;
    let archived = store.archive_memory_store(&current.id).await?;
    if out.json {
        let (count, bytes) = count_memories(store, &archived.id).await?;
        return print_store_json(&archived, count, bytes, None, out);
    }
    if current.archived_at.is_some() {
        out.line(format!(
            "Memory store {} ({}) was already archived; nothing changed.",
            archived.name, archived.id
        ))?;
    } else {
        out.line(format!(
            "Archived memory store {} ({}): it is read-only from now on (reads, deletes and \
             redactions still work).",
            archived.name, archived.id
        ))?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_pair("team=a=b").unwrap(),
            ("team".to_owned(), "a=b".to_owned())
        );
        assert_eq!(parse_pair("k=").unwrap(), ("k".to_owned(), String::new()));
        assert_eq!(parse_pair("team").unwrap_err(), "\"team\" is not KEY=VALUE");
    }

    #[test]
    fn names_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_word("support-bot"), "support-bot");
        assert_eq!(shell_word("my notes"), "'my notes'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
