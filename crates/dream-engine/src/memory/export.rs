//! Memory stores as files: a directory tree mirroring paths (the `/memories` layout of
//! Anthropic's memory tool), one Markdown document for a system prompt, and a managed
//! section inside `CLAUDE.md` / `AGENTS.md`.

use std::path::{Path, PathBuf};

use dream_store::{MemoryWrite, Store};
use dream_types::{Actor, Memory, MemoryStoreId, MemoryVersion, validate_content, validate_path};
use serde::Serialize;

use crate::compact::is_archive;
use crate::{EngineError, EngineResult};

/// Opens the managed section in a `CLAUDE.md` / `AGENTS.md`; the store id follows.
pub const SECTION_BEGIN: &str = "<!-- dream:begin memory_store=";
/// Closes the managed section.
pub const SECTION_END: &str = "<!-- dream:end -->";

/// Bytes kept free under a budget for the note naming omitted memories.
const NOTE_RESERVE_BYTES: usize = 80;

/// Entries skipped when importing a directory: version-control and OS litter.
const IGNORED_NAMES: [&str; 3] = [".git", ".DS_Store", "Thumbs.db"];

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Files written (created or changed), as memory paths.
    pub written: Vec<String>,
    /// Files already equal to their memory, left untouched.
    pub unchanged: usize,
}

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// New memories.
    pub created: Vec<String>,
    /// Memories whose content changed.
    pub updated: Vec<String>,
    /// Memories deleted because their file is gone (with `prune`).
    pub deleted: Vec<String>,
    /// Files equal to their memory.
    pub unchanged: usize,
    /// The versions written: one per file that changed.
    pub versions: Vec<MemoryVersion>,
}

fn file_for(dir: &Path, memory_path: &str) -> PathBuf {
    dir.join(memory_path.trim_start_matches('/'))
}

/// Writes every memory to `dir/<path>` (creating folders). Files that already hold the
/// memory's content are not rewritten; other files in `dir` are left alone.
///
/// # Errors
/// [`EngineError::Io`] naming the file; store errors.
pub async fn export_dir(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    dir: &Path,
) -> EngineResult<ExportReport> {
    let memories = store.list_memories(store_id, None).await?;
    let mut report = ExportReport::default();
    for memory in memories {
        let file = file_for(dir, &memory.path);
        if std::fs::read(&file).is_ok_and(|bytes| bytes == memory.content.as_bytes()) {
            report.unchanged += 1;
            continue;
        }
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::io(parent, e))?;
        }
        std::fs::write(&file, memory.content.as_bytes()).map_err(|e| EngineError::io(&file, e))?;
        report.written.push(memory.path);
    }
    Ok(report)
}

/// Reads every file under `dir` as a memory at `/<relative path>` and writes the
/// differences as `actor`, in one transaction: one version per new or changed file,
/// none for files equal to their memory. With `prune`, memories without a file are
/// deleted. `.git`, `.DS_Store` and `Thumbs.db` are skipped.
///
/// # Errors
/// [`EngineError::InvalidFile`] for a file that is not UTF-8, is over 100 KiB or whose
/// path breaks a rule (nothing is written); [`EngineError::Io`]; store errors.
pub async fn import_dir(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    dir: &Path,
    actor: &Actor,
    prune: bool,
) -> EngineResult<ImportReport> {
    let mut files: Vec<(String, String)> = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !IGNORED_NAMES.iter().any(|n| e.file_name() == *n));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dir.to_owned());
            EngineError::io(path, e.into())
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let segments: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let memory_path = format!("/{}", segments.join("/"));
        files.push((memory_path, read_memory_file(entry.path())?));
    }
    for (memory_path, _) in &files {
        validate_path(memory_path).map_err(|e| EngineError::InvalidFile {
            path: file_for(dir, memory_path),
            code: e.code,
            message: e.message,
        })?;
    }
    let existing = store.list_memories(store_id, None).await?;
    sync(store, store_id, existing, files, actor, prune).await
}

/// Reads a file that is to become a memory: UTF-8, at most 100 KiB.
fn read_memory_file(path: &Path) -> EngineResult<String> {
    let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| EngineError::InvalidFile {
        path: path.to_owned(),
        code: "invalid_utf8",
        message: format!(
            "not UTF-8 text (invalid byte at offset {}); memories hold UTF-8 text",
            e.utf8_error().valid_up_to()
        ),
    })?;
    validate_content(&text).map_err(|e| EngineError::InvalidFile {
        path: path.to_owned(),
        code: e.code,
        message: e.message,
    })?;
    Ok(text)
}

/// Writes the difference between `existing` memories and wanted `(path, content)` pairs.
async fn sync(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    existing: Vec<Memory>,
    wanted: Vec<(String, String)>,
    actor: &Actor,
    prune: bool,
) -> EngineResult<ImportReport> {
    let mut report = ImportReport::default();
    let mut writes = Vec::new();
    let by_path: std::collections::HashMap<&str, &Memory> =
        existing.iter().map(|m| (m.path.as_str(), m)).collect();
    for (path, content) in &wanted {
        match by_path.get(path.as_str()) {
            Some(memory) if memory.content == *content => report.unchanged += 1,
            Some(memory) => {
                writes.push(MemoryWrite::Update {
                    memory_id: memory.id.clone(),
                    content: Some(content.clone()),
                    path: None,
                    precondition: Some(memory.content_sha256.clone()),
                });
                report.updated.push(path.clone());
            }
            None => {
                writes.push(MemoryWrite::Create {
                    path: path.clone(),
                    content: content.clone(),
                });
                report.created.push(path.clone());
            }
        }
    }
    if prune {
        let kept: std::collections::HashSet<&str> =
            wanted.iter().map(|(p, _)| p.as_str()).collect();
        for memory in &existing {
            if !kept.contains(memory.path.as_str()) {
                writes.push(MemoryWrite::Delete {
                    memory_id: memory.id.clone(),
                    precondition: Some(memory.content_sha256.clone()),
                });
                report.deleted.push(memory.path.clone());
            }
        }
    }
    if !writes.is_empty() {
        report.versions = store.write_memories(store_id, &writes, actor).await?;
    }
    Ok(report)
}

/// A store rendered as Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rendered {
    /// The Markdown.
    pub text: String,
    /// Paths included, in order.
    pub included: Vec<String>,
    /// Paths left out to stay within the budget.
    pub omitted: Vec<String>,
}

/// Renders memories as one Markdown document: a heading per path (at `heading_level`,
/// 1–6) followed by the content. With `budget_bytes`, memories are taken in path order
/// while they fit; the rest are named in a closing note (which also fits the budget).
pub fn render_markdown(
    memories: &[Memory],
    heading_level: usize,
    budget_bytes: Option<usize>,
) -> Rendered {
    let hashes = "#".repeat(heading_level.clamp(1, 6));
    let blocks: Vec<String> = memories
        .iter()
        .map(|memory| {
            let mut block = format!("{hashes} {}\n\n{}", memory.path, memory.content);
            if !block.ends_with('\n') {
                block.push('\n');
            }
            block.push('\n');
            block
        })
        .collect();
    let total: usize = blocks.iter().map(String::len).sum();
    // When not everything fits, keep room for the note that names what was left out.
    let reserve = if budget_bytes.is_some_and(|b| total > b) {
        NOTE_RESERVE_BYTES
    } else {
        0
    };
    let mut text = String::new();
    let mut included = Vec::new();
    let mut omitted = Vec::new();
    for (memory, block) in memories.iter().zip(blocks) {
        let fits = budget_bytes.is_none_or(|b| text.len() + block.len() + reserve <= b);
        if omitted.is_empty() && fits {
            text.push_str(&block);
            included.push(memory.path.clone());
        } else {
            omitted.push(memory.path.clone());
        }
    }
    if !omitted.is_empty() {
        let mut note = format!(
            "_{} more memories left out to fit the size budget:",
            omitted.len()
        );
        for path in &omitted {
            let more = format!(" {path}");
            if budget_bytes.is_some_and(|b| text.len() + note.len() + more.len() + 3 > b) {
                note.push_str(" …");
                break;
            }
            note.push_str(&more);
        }
        note.push_str("_\n");
        text.push_str(&note);
    }
    Rendered {
        text,
        included,
        omitted,
    }
}

/// Returns `document` with the managed section of `store_id` set to `body`. Everything
/// outside the section's markers is kept byte for byte; when the document has no such
/// section, it is appended after a blank line.
pub fn replace_managed_section(document: &str, store_id: &MemoryStoreId, body: &str) -> String {
    let begin = format!("{SECTION_BEGIN}{store_id} -->");
    let mut section = format!("{begin}\n");
    section.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        section.push('\n');
    }
    section.push_str(SECTION_END);
    if let Some((start, end)) = find_section(document, &begin) {
        let mut out = String::with_capacity(document.len() + body.len());
        out.push_str(&document[..start]);
        out.push_str(&section);
        out.push_str(&document[end..]);
        return out;
    }
    let mut out = document.to_owned();
    if !out.is_empty() {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&section);
    out.push('\n');
    out
}

/// Returns the byte range of the section that starts with `begin` (through the end marker).
fn find_section(document: &str, begin: &str) -> Option<(usize, usize)> {
    let start = document.find(begin)?;
    let end_marker = document[start..].find(SECTION_END)?;
    Some((start, start + end_marker + SECTION_END.len()))
}

/// Returns `document` without any dream-managed section (the text a person wrote).
/// The blank line [`replace_managed_section`] puts before an appended section and the
/// newline after it go with the section, so export-then-import gives back the text.
pub fn text_outside_sections(document: &str) -> String {
    let mut out = String::with_capacity(document.len());
    let mut rest = document;
    while let Some(start) = rest.find(SECTION_BEGIN) {
        let before = &rest[..start];
        let after = match rest[start..].find(SECTION_END) {
            Some(end) => &rest[start + end + SECTION_END.len()..],
            None => "",
        };
        // Only a section at the end of the file was appended with a blank line
        // before it and a newline after it; a section inside the text keeps the
        // spacing people gave it.
        let at_end = after.trim().is_empty() && !after.contains(SECTION_BEGIN);
        if at_end {
            out.push_str(
                before
                    .strip_suffix('\n')
                    .filter(|b| b.ends_with('\n'))
                    .unwrap_or(before),
            );
            rest = after.strip_prefix('\n').unwrap_or(after);
        } else {
            // The section's lines go, with the line break that ends its last line.
            out.push_str(before);
            rest = after.strip_prefix('\n').unwrap_or(after);
        }
    }
    out.push_str(rest);
    out
}

/// The memory path a `CLAUDE.md` / `AGENTS.md` is imported to: `/<file name>`.
pub fn agents_file_memory_path(file: &Path) -> String {
    format!(
        "/{}",
        file.file_name().map_or_else(
            || "AGENTS.md".to_owned(),
            |n| n.to_string_lossy().into_owned()
        )
    )
}

/// Writes the store into the managed section of `file` (created when missing), leaving
/// the rest of the file byte for byte. The memory imported from this very file
/// ([`agents_file_memory_path`]) is not repeated inside the section. Returns the
/// rendering; the file is not rewritten when nothing changes. The archive
/// (`/archive/…`, where compaction moves notes) is left out unless `include_archive`.
///
/// # Errors
/// [`EngineError::Io`]; store errors.
pub async fn export_agents_file(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    file: &Path,
    budget_bytes: Option<usize>,
    include_archive: bool,
) -> EngineResult<Rendered> {
    let own_path = agents_file_memory_path(file);
    let memories: Vec<Memory> = store
        .list_memories(store_id, None)
        .await?
        .into_iter()
        .filter(|m| m.path != own_path && (include_archive || !is_archive(&m.path)))
        .collect();
    let rendered = render_markdown(&memories, 3, budget_bytes);
    let body = format!(
        "## Memory (managed by dream; edits inside this section are overwritten)\n\n{}",
        rendered.text
    );
    let document = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(EngineError::io(file, e)),
    };
    let updated = replace_managed_section(&document, store_id, &body);
    if updated != document {
        std::fs::write(file, updated).map_err(|e| EngineError::io(file, e))?;
    }
    Ok(rendered)
}

/// Imports a `CLAUDE.md` / `AGENTS.md` as one memory at `/<file name>` holding the text
/// outside dream's managed sections: one version when it is new or changed, none
/// otherwise.
///
/// # Errors
/// [`EngineError::InvalidFile`] (not UTF-8, over 100 KiB); [`EngineError::Io`]; store errors.
pub async fn import_agents_file(
    store: &dyn Store,
    store_id: &MemoryStoreId,
    file: &Path,
    actor: &Actor,
) -> EngineResult<ImportReport> {
    let text = read_memory_file(file)?;
    let own = text_outside_sections(&text);
    if own.trim().is_empty() {
        // Nothing but dream's own section: there is nothing a person wrote to import.
        return Ok(ImportReport::default());
    }
    let path = agents_file_memory_path(file);
    let existing: Vec<Memory> = store
        .find_memory(store_id, &path)
        .await?
        .into_iter()
        .collect();
    sync(store, store_id, existing, vec![(path, own)], actor, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> MemoryStoreId {
        "memstore_test".parse().unwrap()
    }

    #[test]
    fn a_section_is_appended_once_then_replaced_in_place() {
        let doc = "# Project\n\nBuild with make.\n";
        let once = replace_managed_section(doc, &id(), "- lesson one\n");
        assert!(once.starts_with(doc));
        let twice = replace_managed_section(&once, &id(), "- lesson two\n");
        assert_eq!(twice.matches(SECTION_END).count(), 1);
        assert!(twice.contains("- lesson two") && !twice.contains("- lesson one"));
        assert_eq!(text_outside_sections(&twice), doc);
    }

    #[test]
    fn text_around_the_section_is_kept_byte_for_byte() {
        let doc = format!(
            "intro\r\n  odd  spacing\t\n{SECTION_BEGIN}memstore_test -->\nold\n{SECTION_END}trailing text without newline"
        );
        let out = replace_managed_section(&doc, &id(), "new");
        assert!(out.starts_with("intro\r\n  odd  spacing\t\n"));
        assert!(out.ends_with(&format!("new\n{SECTION_END}trailing text without newline")));
    }

    #[test]
    fn the_budget_keeps_whole_memories_and_names_the_rest() {
        let memory = |path: &str, size: usize| Memory {
            id: "mem_x".parse().unwrap(),
            memory_store_id: id(),
            path: path.into(),
            content: "x".repeat(size),
            content_sha256: String::new(),
            content_size_bytes: size as u64,
            memory_version_id: "memver_x".parse().unwrap(),
            created_at: dream_types::Timestamp::now(),
            updated_at: dream_types::Timestamp::now(),
        };
        let memories = vec![
            memory("/a.md", 300),
            memory("/b.md", 300),
            memory("/c.md", 300),
        ];
        let all = render_markdown(&memories, 2, None);
        assert_eq!(all.included.len(), 3);
        let cut = render_markdown(&memories, 2, Some(650));
        assert_eq!(cut.included, ["/a.md"]);
        assert_eq!(cut.omitted, ["/b.md", "/c.md"]);
        assert!(cut.text.len() <= 650, "{}", cut.text.len());
        assert!(
            cut.text
                .ends_with("_2 more memories left out to fit the size budget: /b.md /c.md_\n")
        );
    }
}
