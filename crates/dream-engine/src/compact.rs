//! Compaction: keeping a store under its budget without losing what it knew.
//!
//! Compaction summarises before it removes, as Dreaming describes it ("summarising
//! older lessons"): first related notes in one memory are merged into one (the most
//! specific wording kept, every source marker carried over); then, lowest utility
//! first, notes that still do not fit are moved to an archive memory under
//! `/archive/…` (the same path below `/archive`), which the budget does not count and
//! the agents-file export leaves out unless asked. Nothing is deleted.
//!
//! Utility is support × recency (half-life [`UTILITY_HALF_LIFE_DAYS`]). Notes a dream
//! wrote are archived before notes a person wrote; a person's notes are never moved
//! without a person: such a change is flagged `needs_human` and `person_written`, one
//! change per memory so a reviewer decides once.

use std::collections::{BTreeMap, BTreeSet};

use dream_types::{Change, ChangeOp, DreamConfig, Edit, Flag, Support, path_has_prefix};
use serde_json::json;

use crate::curate::{
    CurateInput, Located, UTILITY_HALF_LIFE_DAYS, age_days, make_change, negated, removal_anchor,
};
use crate::edit::apply_edits;
use crate::minhash::{jaccard, shingles};
use crate::note::{core_text, marker, parse_notes};
use crate::signal::signature::normalize_words;

/// Where archived notes go: `/archive` + the memory's path.
pub const ARCHIVE_PREFIX: &str = "/archive/";

/// Bytes per token assumed when a budget is given in tokens: about 4 characters of
/// English text per token (Anthropic's and OpenAI's tokenizer guidance); memory is
/// mostly ASCII Markdown, so bytes ≈ characters.
pub const BYTES_PER_TOKEN: u64 = 4;

/// Word-shingle Jaccard similarity at or above which two notes of one memory are
/// related enough to be merged when the store is over budget. Lower than
/// `duplicate_similarity` (0.7): these are notes on one subject, not restatements.
const RELATED_SIMILARITY: f64 = 0.5;

/// Returns whether `path` is an archive memory.
pub fn is_archive(path: &str) -> bool {
    path_has_prefix(path, ARCHIVE_PREFIX.trim_end_matches('/'))
}

/// Returns the byte budget of a config: the tighter of `max_memory_bytes` and
/// `max_memory_tokens` × [`BYTES_PER_TOKEN`]; `None` when neither is set.
pub fn budget_bytes(config: &DreamConfig) -> Option<u64> {
    let tokens = config
        .max_memory_tokens
        .map(|t| t.saturating_mul(BYTES_PER_TOKEN));
    match (config.max_memory_bytes, tokens) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn counted_size(contents: &BTreeMap<String, String>) -> u64 {
    contents
        .iter()
        .filter(|(path, _)| !is_archive(path))
        .map(|(_, c)| c.len() as u64)
        .sum()
}

/// A note that compaction may touch.
#[derive(Debug, Clone)]
struct Candidate {
    path: String,
    text: String,
    start: usize,
    utility: f64,
    person: bool,
}

fn candidates(
    input: &CurateInput<'_>,
    contents: &BTreeMap<String, String>,
    fresh: &BTreeSet<String>,
) -> Vec<Candidate> {
    let protected = |path: &str| input.protected.iter().any(|p| path_has_prefix(path, p));
    let updated: BTreeMap<&str, _> = input
        .memories
        .iter()
        .map(|m| (m.path.as_str(), m.updated_at))
        .collect();
    let mut out = Vec::new();
    for (path, content) in contents
        .iter()
        .filter(|(p, _)| !protected(p) && !is_archive(p))
    {
        for note in parse_notes(content) {
            if note.marker().is_some_and(|m| fresh.contains(&m)) {
                continue;
            }
            let support = note.support().unwrap_or(1) as f64;
            let age = age_days(
                note.last_seen(),
                updated.get(path.as_str()).copied().flatten(),
                input.now,
            );
            out.push(Candidate {
                path: path.clone(),
                text: note.text.to_owned(),
                start: note.start,
                utility: support * 0.5_f64.powf(age / UTILITY_HALF_LIFE_DAYS),
                person: input.provenance.person_wrote(path, note.text),
            });
        }
    }
    out
}

fn person_flags(person: bool) -> Vec<Flag> {
    if person {
        vec![Flag::NeedsHuman, Flag::PersonWritten]
    } else {
        Vec::new()
    }
}

/// Removes `note` from `contents` (it must be there once), returning the edit.
fn remove(contents: &mut BTreeMap<String, String>, note: &Candidate) -> Option<Edit> {
    let content = contents.get(&note.path)?;
    let start = content.find(note.text.as_str()).unwrap_or(note.start);
    let located = Located {
        path: note.path.clone(),
        text: note.text.clone(),
        start,
        updated_at: None,
    };
    let (before, after) = removal_anchor(content, &located)?;
    let edit = Edit {
        path: note.path.clone(),
        before,
        after,
    };
    apply_edits(contents, std::slice::from_ref(&edit)).ok()?;
    Some(edit)
}

/// Merges groups of related notes within one memory, strongest merge first, while the
/// store is over `max`.
fn merge_related(
    input: &CurateInput<'_>,
    contents: &mut BTreeMap<String, String>,
    fresh: &BTreeSet<String>,
    max: u64,
) -> Vec<Change> {
    let mut changes = Vec::new();
    let notes = candidates(input, contents, fresh);
    let mut by_path: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for note in &notes {
        by_path.entry(note.path.as_str()).or_default().push(note);
    }
    for (path, notes) in by_path {
        let words: Vec<BTreeSet<u64>> = notes
            .iter()
            .map(|n| shingles(&normalize_words(&core_text(&n.text))))
            .collect();
        let mut used = vec![false; notes.len()];
        for i in 0..notes.len() {
            if counted_size(contents) <= max {
                return changes;
            }
            if used[i] || words[i].is_empty() {
                continue;
            }
            let group: Vec<usize> = (i..notes.len())
                .filter(|&j| {
                    !used[j]
                        && (j == i
                            || (jaccard(&words[i], &words[j]) >= RELATED_SIMILARITY
                                && negated(&notes[i].text) == negated(&notes[j].text)))
                })
                .collect();
            if group.len() < 2 {
                continue;
            }
            let keep = *group
                .iter()
                .max_by_key(|&&j| (core_text(&notes[j].text).len(), std::cmp::Reverse(j)))
                .unwrap_or(&i);
            let mut merged = notes[keep].text.clone();
            for &j in &group {
                if let Some(m) = marker(&notes[j].text)
                    && !merged.contains(&format!(" {m} "))
                {
                    merged.push_str(&format!(" <!-- dream:pattern {m} -->"));
                }
            }
            let mut staged = contents.clone();
            let mut edits = vec![Edit {
                path: path.to_owned(),
                before: notes[keep].text.clone(),
                after: merged.clone(),
            }];
            if apply_edits(&mut staged, &edits).is_err() {
                continue;
            }
            let mut ok = true;
            for &j in group.iter().filter(|&&j| j != keep) {
                match remove(&mut staged, notes[j]) {
                    Some(edit) => edits.push(edit),
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            let before_size = counted_size(contents);
            *contents = staged;
            for &j in &group {
                used[j] = true;
            }
            let person = group.iter().any(|&j| notes[j].person);
            let mut stats = BTreeMap::new();
            stats.insert(
                "merged_from".into(),
                json!(
                    group
                        .iter()
                        .map(|&j| json!({"text": notes[j].text, "kept": j == keep}))
                        .collect::<Vec<_>>()
                ),
            );
            stats.insert("store_bytes_before".into(), json!(before_size));
            stats.insert("max_memory_bytes".into(), json!(max));
            changes.push(make_change(
                ChangeOp::Compact,
                edits,
                format!(
                    "the store is {before_size} bytes, over its budget of {max}; {} related notes in {path} become one, keeping the most specific wording and every marker",
                    group.len()
                ),
                Support::default(),
                stats,
                Vec::new(),
                person_flags(person),
                None,
            ));
        }
    }
    changes
}

/// Moves notes to `/archive/…`, lowest utility first (a dream's notes before a
/// person's), while the store is over `max`.
fn archive(
    input: &CurateInput<'_>,
    contents: &mut BTreeMap<String, String>,
    fresh: &BTreeSet<String>,
    max: u64,
) -> Vec<Change> {
    let mut notes = candidates(input, contents, fresh);
    notes.sort_by(|a, b| {
        a.person
            .cmp(&b.person)
            .then(a.utility.total_cmp(&b.utility))
            .then(a.path.cmp(&b.path))
            .then(a.start.cmp(&b.start))
    });
    let mut changes = Vec::new();
    // A person's notes leave in one change per memory.
    let mut person_batches: BTreeMap<String, (Vec<Edit>, Vec<String>, f64)> = BTreeMap::new();
    let mut size = counted_size(contents);
    for note in &notes {
        if size <= max {
            break;
        }
        let Some(edit) = remove(contents, note) else {
            continue;
        };
        let archive_path = format!("/archive{}", note.path);
        let heading = format!("# Archived from {}\n\n", note.path);
        let new_size = counted_size(contents);
        if note.person {
            let batch = person_batches.entry(note.path.clone()).or_default();
            batch.0.push(edit);
            batch.1.push(note.text.clone());
            batch.2 = batch.2.max(note.utility);
        } else {
            let archived = Edit {
                path: archive_path.clone(),
                before: String::new(),
                after: format!("{heading}{}", note.text),
            };
            let _ = apply_edits(contents, std::slice::from_ref(&archived));
            let mut stats = BTreeMap::new();
            stats.insert(
                "utility".into(),
                json!((note.utility * 1000.0).round() / 1000.0),
            );
            stats.insert("store_bytes_before".into(), json!(size));
            stats.insert("max_memory_bytes".into(), json!(max));
            stats.insert("archived_to".into(), json!(archive_path));
            changes.push(make_change(
                ChangeOp::Compact,
                vec![edit, archived],
                format!(
                    "the store is {size} bytes, over its budget of {max}; this note has the lowest utility left ({:.3} = support × recency) and moves to {archive_path}",
                    note.utility
                ),
                Support::default(),
                stats,
                Vec::new(),
                Vec::new(),
                None,
            ));
        }
        size = new_size;
    }
    for (path, (mut edits, texts, utility)) in person_batches {
        let archive_path = format!("/archive{path}");
        let archived = Edit {
            path: archive_path.clone(),
            before: String::new(),
            after: format!("# Archived from {path}\n\n{}", texts.join("\n")),
        };
        let _ = apply_edits(contents, std::slice::from_ref(&archived));
        edits.push(archived);
        let mut stats = BTreeMap::new();
        stats.insert("notes".into(), json!(texts.len()));
        stats.insert("utility".into(), json!((utility * 1000.0).round() / 1000.0));
        stats.insert("max_memory_bytes".into(), json!(max));
        stats.insert("archived_to".into(), json!(archive_path));
        changes.push(make_change(
            ChangeOp::Compact,
            edits,
            format!(
                "the store is over its budget of {max} bytes even after merging and archiving dream notes; {} of the notes a person wrote in {path} would move to {archive_path} — a person decides",
                texts.len()
            ),
            Support::default(),
            stats,
            Vec::new(),
            person_flags(true),
            None,
        ));
    }
    changes
}

/// Returns the compaction changes that bring the store, with `changes` applied, under
/// `max` bytes (archive memories not counted): merges of related notes first, then
/// moves to the archive. Protected paths and notes of patterns this dream refreshes
/// are never touched. Empty when the store already fits.
pub(crate) fn compact(input: &CurateInput<'_>, changes: &[Change], max: u64) -> Vec<Change> {
    let mut contents: BTreeMap<String, String> = input
        .memories
        .iter()
        .map(|m| (m.path.clone(), m.content.clone()))
        .collect();
    for change in changes {
        let _ = apply_edits(&mut contents, &change.edits);
    }
    if counted_size(&contents) <= max {
        return Vec::new();
    }
    let fresh: BTreeSet<String> = changes
        .iter()
        .filter_map(|c| c.pattern_key.clone())
        .collect();
    let mut out = merge_related(input, &mut contents, &fresh, max);
    if counted_size(&contents) > max {
        out.extend(archive(input, &mut contents, &fresh, max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_budget_is_four_bytes_a_token_and_the_tighter_budget_wins() {
        let mut config = DreamConfig::default();
        assert_eq!(budget_bytes(&config), None);
        config.max_memory_tokens = Some(1000);
        assert_eq!(budget_bytes(&config), Some(4000));
        config.max_memory_bytes = Some(3000);
        assert_eq!(budget_bytes(&config), Some(3000));
        config.max_memory_bytes = Some(9000);
        assert_eq!(budget_bytes(&config), Some(4000));
    }

    #[test]
    fn archive_paths_are_recognised() {
        assert!(is_archive("/archive/notes.md"));
        assert!(is_archive("/archive/lessons/tool-errors.md"));
        assert!(!is_archive("/archived.md"));
        assert!(!is_archive("/notes/archive/x.md"));
    }
}
