//! Memory stores, memories and memory versions, with the validation rules of
//! Anthropic's Managed Agents memory API (official `anthropic` SDK 2.10.0,
//! `types/beta/memory_stores/`, `memory_store_create_params.py`).
//!
//! Every change to a memory is an immutable [`MemoryVersion`]; each one advances the
//! store's **store version** by one, so the whole store can be read as of any store
//! version. Only redaction changes a version after it is written.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_script::{Script, UnicodeScript};

use crate::Timestamp;
use crate::define_id;
use crate::hash::sha256_hex;

define_id!(
    /// Identifies a memory store (`memstore_…`).
    MemoryStoreId,
    "memstore",
    "memory store"
);
define_id!(
    /// Identifies a memory (`mem_…`); it survives renames.
    MemoryId,
    "mem",
    "memory"
);
define_id!(
    /// Identifies one memory version (`memver_…`).
    MemoryVersionId,
    "memver",
    "memory version"
);

/// Largest memory content: 102,400 bytes of UTF-8 (Anthropic's 100 kB limit).
pub const MAX_CONTENT_BYTES: usize = 102_400;
/// Longest memory path: 1,024 bytes.
pub const MAX_PATH_BYTES: usize = 1_024;
/// Most segments in a memory path (the SDK's "1 to 20 segments").
pub const MAX_PATH_SEGMENTS: usize = 20;
/// Longest store name, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Longest store description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_024;
/// Most metadata pairs on a store.
pub const MAX_METADATA_PAIRS: usize = 16;
/// Longest metadata key, in characters (at least 1).
pub const MAX_METADATA_KEY_CHARS: usize = 64;
/// Longest metadata value, in characters.
pub const MAX_METADATA_VALUE_CHARS: usize = 512;

/// A value that breaks a memory rule; `code` is stable, `message` exact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleError {
    /// `invalid_path`, `content_too_large`, `invalid_content`, `invalid_name`,
    /// `invalid_description` or `invalid_metadata`.
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

fn rule(code: &'static str, message: String) -> RuleError {
    RuleError { code, message }
}

fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || c == '\u{2028}'
        || c == '\u{2029}'
        || c.general_category() == GeneralCategory::Format
}

/// The scripts whose letters look alike (`а`/`a`, `ο`/`o`, `р`/`p`): a segment may
/// use any one of them, never two (Unicode TS #39's "mixed-script confusables").
const CONFUSABLE_SCRIPTS: [Script; 3] = [Script::Latin, Script::Cyrillic, Script::Greek];

/// Returns the first word of `segment` (a run of letters and marks: `prefs` and `md`
/// in `prefs.md`) mixing letters of two [`CONFUSABLE_SCRIPTS`], with the script of
/// its first such letter and the first letter of another script. Words, not whole
/// segments, so that `заметки.md` (a Cyrillic name, a Latin extension) passes.
fn mixed_word(segment: &str) -> Option<(&str, Script, char, Script)> {
    let words = segment.split(|c: char| !(c.is_alphabetic() || is_mark(c)));
    for word in words {
        let mut first: Option<Script> = None;
        for c in word.chars() {
            let script = c.script();
            if !CONFUSABLE_SCRIPTS.contains(&script) {
                continue;
            }
            match first {
                None => first = Some(script),
                Some(seen) if seen != script => return Some((word, seen, c, script)),
                Some(_) => {}
            }
        }
    }
    None
}

/// Whether `c` is a combining mark (part of the word it follows).
fn is_mark(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::NonspacingMark
            | GeneralCategory::SpacingMark
            | GeneralCategory::EnclosingMark
    )
}

/// Checks a memory path: starts with `/`, at most 1,024 bytes and 20 segments, no
/// empty, `.` or `..` segment, no control or format characters (nor U+2028/U+2029),
/// in Unicode Normalization Form C, and no word (run of letters) mixing Latin,
/// Cyrillic or Greek letters (`/prеfs.md` with a Cyrillic `е` would pass for
/// `/prefs.md`; `/заметки.md`, a Cyrillic name with a Latin extension, is fine).
/// Paths are case-sensitive.
///
/// # Errors
/// A [`RuleError`] with code `invalid_path` naming the first rule broken.
pub fn validate_path(path: &str) -> Result<(), RuleError> {
    let code = "invalid_path";
    if !path.starts_with('/') {
        return Err(rule(
            code,
            format!("path {path:?} must start with `/`, as in /notes/todo.md"),
        ));
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(rule(
            code,
            format!(
                "path is {} bytes; the limit is {MAX_PATH_BYTES} bytes",
                path.len()
            ),
        ));
    }
    if let Some((at, c)) = path.char_indices().find(|&(_, c)| is_forbidden_char(c)) {
        return Err(rule(
            code,
            format!(
                "path {path:?} contains the control or format character U+{:04X} at byte {at}",
                u32::from(c)
            ),
        ));
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(rule(
            code,
            format!("path {path:?} has an empty segment; paths look like /notes/todo.md"),
        ));
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err(rule(
            code,
            format!("path {path:?} has a `.` or `..` segment"),
        ));
    }
    if segments.len() > MAX_PATH_SEGMENTS {
        return Err(rule(
            code,
            format!(
                "path {path:?} has {} segments; the limit is {MAX_PATH_SEGMENTS}",
                segments.len()
            ),
        ));
    }
    if !unicode_normalization::is_nfc(path) {
        let nfc: String = path.nfc().collect();
        return Err(rule(
            code,
            format!("path {path:?} is not in Unicode normalization form C; use {nfc:?}"),
        ));
    }
    for segment in &segments {
        if let Some((word, first, c, other)) = mixed_word(segment) {
            return Err(rule(
                code,
                format!(
                    "path {path:?} has the word {word:?} mixing {} and {} letters ({c:?} \
                     U+{:04X} is {}), so it looks like another name; write each word in one \
                     script",
                    first.full_name(),
                    other.full_name(),
                    u32::from(c),
                    other.full_name()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a path prefix (`path_prefix` of a listing, a protected path): `/`, or a
/// valid path followed by `/`.
///
/// # Errors
/// A [`RuleError`] with code `invalid_path`.
pub fn validate_prefix(prefix: &str) -> Result<(), RuleError> {
    if prefix == "/" {
        return Ok(());
    }
    match prefix.strip_suffix('/') {
        Some(path) => {
            validate_path(path).map_err(|e| rule(e.code, format!("prefix: {}", e.message)))
        }
        None => Err(rule(
            "invalid_path",
            format!("path prefix {prefix:?} must end with `/`, as in /notes/"),
        )),
    }
}

/// Checks memory content: at most 102,400 bytes of UTF-8, and no NUL (U+0000), which
/// C-string tools and many agents' file readers cut the text at.
///
/// # Errors
/// A [`RuleError`] with code `content_too_large`, or `invalid_content` for a NUL.
pub fn validate_content(content: &str) -> Result<(), RuleError> {
    if let Some(at) = content.find('\0') {
        return Err(rule(
            "invalid_content",
            format!(
                "content contains a NUL character (U+0000) at byte {at}; memory content is \
                 text: remove it (binary data does not belong in a memory)"
            ),
        ));
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(rule(
            "content_too_large",
            format!(
                "content is {} bytes; the limit is {MAX_CONTENT_BYTES} bytes (100 KiB): split it \
                 into several memories",
                content.len()
            ),
        ));
    }
    Ok(())
}

/// Checks a store name: 1 to 255 characters, no control characters.
///
/// # Errors
/// A [`RuleError`] with code `invalid_name`.
pub fn validate_store_name(name: &str) -> Result<(), RuleError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(rule(
            "invalid_name",
            format!("store name must be 1 to {MAX_NAME_CHARS} characters, got {chars}"),
        ));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(rule(
            "invalid_name",
            "store name must not contain control characters".into(),
        ));
    }
    Ok(())
}

/// Checks a store description: at most 1,024 characters.
///
/// # Errors
/// A [`RuleError`] with code `invalid_description`.
pub fn validate_description(description: &str) -> Result<(), RuleError> {
    let chars = description.chars().count();
    if chars > MAX_DESCRIPTION_CHARS {
        return Err(rule(
            "invalid_description",
            format!("description is {chars} characters; the limit is {MAX_DESCRIPTION_CHARS}"),
        ));
    }
    Ok(())
}

/// Checks store metadata: at most 16 pairs, keys 1 to 64 characters, values at most 512.
///
/// # Errors
/// A [`RuleError`] with code `invalid_metadata`.
pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), RuleError> {
    let code = "invalid_metadata";
    if metadata.len() > MAX_METADATA_PAIRS {
        return Err(rule(
            code,
            format!(
                "metadata has {} pairs; the limit is {MAX_METADATA_PAIRS}",
                metadata.len()
            ),
        ));
    }
    for (key, value) in metadata {
        let key_chars = key.chars().count();
        if key_chars == 0 || key_chars > MAX_METADATA_KEY_CHARS {
            return Err(rule(
                code,
                format!(
                    "metadata key {key:?} must be 1 to {MAX_METADATA_KEY_CHARS} characters, got \
                     {key_chars}"
                ),
            ));
        }
        let value_chars = value.chars().count();
        if value_chars > MAX_METADATA_VALUE_CHARS {
            return Err(rule(
                code,
                format!(
                    "metadata value of {key:?} is {value_chars} characters; the limit is \
                     {MAX_METADATA_VALUE_CHARS}"
                ),
            ));
        }
    }
    Ok(())
}

/// Returns whether `path` falls under `prefix` (`/notes/` covers `/notes/a.md` but not
/// `/notes-old/a.md`; a prefix without a trailing `/` also covers that exact path).
pub fn path_has_prefix(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        path.starts_with(prefix)
    } else {
        path == prefix || path.starts_with(&format!("{prefix}/"))
    }
}

/// Who made a change. The first four follow Anthropic's `BetaManagedAgentsActor`;
/// `dream_actor` is a dream applying a proposal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Actor {
    /// A person (the CLI uses `user_<login>`).
    #[serde(rename = "user_actor")]
    User {
        /// `user_…`.
        user_id: String,
    },
    /// A caller of the HTTP API, by API key.
    #[serde(rename = "api_actor")]
    Api {
        /// `apikey_…`.
        api_key_id: String,
    },
    /// An agent during a session.
    #[serde(rename = "session_actor")]
    Session {
        /// `sesn_…`.
        session_id: String,
    },
    /// A service account.
    #[serde(rename = "service_account_actor")]
    ServiceAccount {
        /// `svac_…`.
        service_account_id: String,
    },
    /// A dream applying its proposal.
    #[serde(rename = "dream_actor")]
    Dream {
        /// `drm_…`.
        dream_id: String,
    },
}

impl Actor {
    /// Returns the wire name of the actor's type (`user_actor`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Actor::User { .. } => "user_actor",
            Actor::Api { .. } => "api_actor",
            Actor::Session { .. } => "session_actor",
            Actor::ServiceAccount { .. } => "service_account_actor",
            Actor::Dream { .. } => "dream_actor",
        }
    }

    /// Returns the actor's id (user id, key id, session id, …).
    pub fn id(&self) -> &str {
        match self {
            Actor::User { user_id } => user_id,
            Actor::Api { api_key_id } => api_key_id,
            Actor::Session { session_id } => session_id,
            Actor::ServiceAccount { service_account_id } => service_account_id,
            Actor::Dream { dream_id } => dream_id,
        }
    }

    /// Returns whether this actor is a person or a person's key (not an agent or a dream).
    pub fn is_human(&self) -> bool {
        matches!(
            self,
            Actor::User { .. } | Actor::Api { .. } | Actor::ServiceAccount { .. }
        )
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.type_name(), self.id())
    }
}

/// What a memory version records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryOperation {
    /// The memory was created.
    Created,
    /// Its content or path changed.
    Modified,
    /// It was deleted.
    Deleted,
}

impl MemoryOperation {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MemoryOperation::Created => "created",
            MemoryOperation::Modified => "modified",
            MemoryOperation::Deleted => "deleted",
        }
    }

    /// Parses a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "created" => Some(MemoryOperation::Created),
            "modified" => Some(MemoryOperation::Modified),
            "deleted" => Some(MemoryOperation::Deleted),
            _ => None,
        }
    }
}

/// A named container of memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryStore {
    /// `memstore_…`.
    pub id: MemoryStoreId,
    /// 1–255 characters.
    pub name: String,
    /// At most 1,024 characters; empty when unset.
    pub description: String,
    /// At most 16 pairs.
    pub metadata: BTreeMap<String, String>,
    /// Path prefixes that dreams may never change (only people can).
    pub protected_paths: Vec<String>,
    /// The current store version: the number of memory versions written so far.
    pub store_version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its name, description, metadata or protected paths last changed, or it was archived.
    pub updated_at: Timestamp,
    /// When it was archived (read-only from then on; one-way).
    pub archived_at: Option<Timestamp>,
    /// The store it was derived from: the input store of the `create_new` dream that
    /// created it. Its dream configuration and protected paths were copied from there,
    /// and dreams read rejections through this lineage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<MemoryStoreId>,
}

/// A memory as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    /// `mem_…`.
    pub id: MemoryId,
    /// The store.
    pub memory_store_id: MemoryStoreId,
    /// Its path.
    pub path: String,
    /// Its text.
    pub content: String,
    /// Lowercase hex SHA-256 of `content`'s UTF-8 bytes.
    pub content_sha256: String,
    /// UTF-8 bytes of `content`.
    pub content_size_bytes: u64,
    /// The version holding the current content.
    pub memory_version_id: MemoryVersionId,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One immutable change to one memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryVersion {
    /// `memver_…`.
    pub id: MemoryVersionId,
    /// The memory.
    pub memory_id: MemoryId,
    /// The store.
    pub memory_store_id: MemoryStoreId,
    /// The store version this change produced (1 for a store's first change).
    pub store_version: u64,
    /// What changed.
    pub operation: MemoryOperation,
    /// The memory's path after this change (for `deleted`, the path it had);
    /// `None` once redacted.
    pub path: Option<String>,
    /// The content after this change; `None` for `deleted` and once redacted.
    pub content: Option<String>,
    /// SHA-256 of `content`; `None` for `deleted` and once redacted.
    pub content_sha256: Option<String>,
    /// Bytes of `content`; `None` for `deleted` and once redacted.
    pub content_size_bytes: Option<u64>,
    /// Who made the change.
    pub created_by: Actor,
    /// When.
    pub created_at: Timestamp,
    /// When it was redacted.
    pub redacted_at: Option<Timestamp>,
    /// Who redacted it.
    pub redacted_by: Option<Actor>,
}

/// One memory as of a store version (see [`MemoryVersion`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemorySnapshot {
    /// The memory.
    pub memory_id: MemoryId,
    /// Its path then; `None` when the version that set it was redacted.
    pub path: Option<String>,
    /// Its content then; `None` when redacted.
    pub content: Option<String>,
    /// SHA-256 of that content; `None` when redacted.
    pub content_sha256: Option<String>,
    /// The version that produced this state.
    pub memory_version_id: MemoryVersionId,
    /// The store version of that version.
    pub store_version: u64,
}

impl MemorySnapshot {
    /// Returns whether the version holding this state was redacted.
    pub fn is_redacted(&self) -> bool {
        self.content.is_none()
    }
}

/// Returns the lowercase hex SHA-256 of `content`'s UTF-8 bytes, as Anthropic computes
/// `content_sha256` (no normalisation).
pub fn content_sha256(content: &str) -> String {
    sha256_hex(content.as_bytes())
}

/// An item of a memory listing: a memory, or with `depth` a rolled-up folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MemoryListItem {
    /// A memory (content present or not, by view).
    Memory(Memory),
    /// Stands for the memories below `path` (ends with `/`).
    MemoryPrefix {
        /// The folder, with a trailing `/`.
        path: String,
    },
}

/// Rolls memories up to `depth` segments below `prefix` (0: no roll-up), like `ls`:
/// memories deeper than that become one `MemoryPrefix` per folder. Input and output
/// are sorted by path.
pub fn roll_up(memories: Vec<Memory>, prefix: &str, depth: usize) -> Vec<MemoryListItem> {
    if depth == 0 {
        return memories.into_iter().map(MemoryListItem::Memory).collect();
    }
    let mut out: Vec<MemoryListItem> = Vec::new();
    for memory in memories {
        let rest = memory.path.strip_prefix(prefix).unwrap_or(&memory.path);
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.len() <= depth {
            out.push(MemoryListItem::Memory(memory));
        } else {
            let folder = format!("{prefix}{}/", segments[..depth].join("/"));
            let seen = matches!(out.last(), Some(MemoryListItem::MemoryPrefix { path }) if *path == folder)
                || out
                    .iter()
                    .any(|i| matches!(i, MemoryListItem::MemoryPrefix { path } if *path == folder));
            if !seen {
                out.push(MemoryListItem::MemoryPrefix { path: folder });
            }
        }
    }
    out.sort_by(|a, b| item_path(a).cmp(item_path(b)));
    out
}

fn item_path(item: &MemoryListItem) -> &str {
    match item {
        MemoryListItem::Memory(m) => &m.path,
        MemoryListItem::MemoryPrefix { path } => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_every_rule_with_exact_messages() {
        assert!(validate_path("/notes/todo.md").is_ok());
        assert!(validate_path("/café.md").is_ok());
        let cases: Vec<(String, String)> = vec![
            ("notes.md".into(), "path \"notes.md\" must start with `/`, as in /notes/todo.md".into()),
            ("/".into(), "path \"/\" has an empty segment; paths look like /notes/todo.md".into()),
            ("/a//b".into(), "path \"/a//b\" has an empty segment; paths look like /notes/todo.md".into()),
            ("/a/".into(), "path \"/a/\" has an empty segment; paths look like /notes/todo.md".into()),
            ("/a/../b".into(), "path \"/a/../b\" has a `.` or `..` segment".into()),
            ("/./b".into(), "path \"/./b\" has a `.` or `..` segment".into()),
            ("/a\u{7}b".into(), "path \"/a\\u{7}b\" contains the control or format character U+0007 at byte 2".into()),
            ("/a\u{200B}b".into(), "path \"/a\\u{200b}b\" contains the control or format character U+200B at byte 2".into()),
            ("/a\u{2028}b".into(), "path \"/a\\u{2028}b\" contains the control or format character U+2028 at byte 2".into()),
            ("/cafe\u{301}.md".into(), "path \"/cafe\\u{301}.md\" is not in Unicode normalization form C; use \"/café.md\"".into()),
            (format!("/{}", "x".repeat(1024)), "path is 1025 bytes; the limit is 1024 bytes".into()),
            ("/a".repeat(21), format!("path {:?} has 21 segments; the limit is 20", "/a".repeat(21))),
        ];
        for (path, message) in cases {
            let err = validate_path(&path).unwrap_err();
            assert_eq!(err.code, "invalid_path");
            assert_eq!(err.message, message, "{path:?}");
        }
        assert!(validate_path(&"/a".repeat(20)).is_ok());
        assert!(validate_path(&format!("/{}", "x".repeat(1023))).is_ok());
    }

    #[test]
    fn segments_mixing_look_alike_scripts_are_refused() {
        for fine in [
            "/prefs.md",
            "/настройки.md",
            "/заметки/prefs.md",
            "/заметки.md",
            "/notes-заметки_2.md",
            "/λόγος/notes.md",
            "/2026-ünïcødé_notes.md",
            "/日本語/notes.md",
        ] {
            assert_eq!(validate_path(fine), Ok(()), "{fine}");
        }
        let err = validate_path("/pr\u{435}fs.md").unwrap_err();
        assert_eq!(err.code, "invalid_path");
        assert_eq!(
            err.message,
            "path \"/prеfs.md\" has the word \"prеfs\" mixing Latin and Cyrillic letters \
             ('е' U+0435 is Cyrillic), so it looks like another name; write each word in one \
             script"
        );
        let greek = validate_path("/notes/ph\u{3bf}ne.md").unwrap_err();
        assert!(
            greek.message.contains("mixing Latin and Greek"),
            "{}",
            greek.message
        );
        let cyrillic_first = validate_path("/\u{440}ay.md").unwrap_err();
        assert!(
            cyrillic_first.message.contains("mixing Cyrillic and Latin"),
            "{}",
            cyrillic_first.message
        );
    }

    #[test]
    fn content_may_not_hold_nul() {
        assert!(validate_content("tab\tand newline\n are fine").is_ok());
        let err = validate_content("before\0after").unwrap_err();
        assert_eq!(err.code, "invalid_content");
        assert!(
            err.message
                .starts_with("content contains a NUL character (U+0000) at byte 6"),
            "{}",
            err.message
        );
    }

    #[test]
    fn content_and_store_fields_have_limits() {
        assert!(validate_content(&"x".repeat(MAX_CONTENT_BYTES)).is_ok());
        let err = validate_content(&"x".repeat(MAX_CONTENT_BYTES + 1)).unwrap_err();
        assert_eq!(err.code, "content_too_large");
        assert_eq!(
            err.message,
            "content is 102401 bytes; the limit is 102400 bytes (100 KiB): split it into several memories"
        );
        assert_eq!(
            validate_store_name("").unwrap_err().message,
            "store name must be 1 to 255 characters, got 0"
        );
        assert!(validate_store_name(&"é".repeat(255)).is_ok());
        assert_eq!(
            validate_store_name(&"é".repeat(256)).unwrap_err().code,
            "invalid_name"
        );
        assert_eq!(
            validate_store_name("a\nb").unwrap_err().message,
            "store name must not contain control characters"
        );
        assert!(validate_description(&"d".repeat(1024)).is_ok());
        assert_eq!(
            validate_description(&"d".repeat(1025)).unwrap_err().message,
            "description is 1025 characters; the limit is 1024"
        );
        let many: BTreeMap<String, String> =
            (0..17).map(|i| (format!("k{i}"), "v".into())).collect();
        assert_eq!(
            validate_metadata(&many).unwrap_err().message,
            "metadata has 17 pairs; the limit is 16"
        );
        let key = BTreeMap::from([("k".repeat(65), "v".to_owned())]);
        assert_eq!(
            validate_metadata(&key).unwrap_err().code,
            "invalid_metadata"
        );
        let empty_key = BTreeMap::from([(String::new(), "v".to_owned())]);
        assert_eq!(
            validate_metadata(&empty_key).unwrap_err().message,
            "metadata key \"\" must be 1 to 64 characters, got 0"
        );
        let value = BTreeMap::from([("k".to_owned(), "v".repeat(513))]);
        assert_eq!(
            validate_metadata(&value).unwrap_err().message,
            "metadata value of \"k\" is 513 characters; the limit is 512"
        );
    }

    #[test]
    fn prefixes_end_with_a_slash_and_match_whole_segments() {
        assert!(validate_prefix("/").is_ok());
        assert!(validate_prefix("/notes/").is_ok());
        assert_eq!(
            validate_prefix("/notes").unwrap_err().message,
            "path prefix \"/notes\" must end with `/`, as in /notes/"
        );
        assert!(path_has_prefix("/notes/a.md", "/notes/"));
        assert!(!path_has_prefix("/notes-old/a.md", "/notes/"));
        assert!(path_has_prefix("/notes/a.md", "/notes"));
        assert!(!path_has_prefix("/notesx", "/notes"));
    }

    #[test]
    fn actors_use_the_anthropic_wire_shape() {
        let actor = Actor::Dream {
            dream_id: "drm_1".into(),
        };
        assert_eq!(
            serde_json::to_string(&actor).unwrap(),
            r#"{"type":"dream_actor","dream_id":"drm_1"}"#
        );
        let user: Actor =
            serde_json::from_str(r#"{"type":"user_actor","user_id":"user_9"}"#).unwrap();
        assert!(user.is_human());
        assert_eq!(user.to_string(), "user_actor:user_9");
    }

    #[test]
    fn sha256_matches_the_known_digest() {
        assert_eq!(
            content_sha256(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
