//! Who wrote each note: the store's memory version history read note by note, so a
//! dream can tell a person's wording from its own and remember the lessons a person
//! deleted.
//!
//! The rule (issue "Review you can trust"): text a person wrote is theirs. A note's
//! author is the actor of the version that gave the note its current wording; a note
//! that a dream wrote and a person reworded belongs to the person from then on. A dream
//! lesson (a note with a `<!-- dream:pattern … -->` or `<!-- dream:fact … -->` marker)
//! that a person removed — the note deleted, its marker taken out, or its memory
//! deleted — is remembered as deleted, with when, so later dreams do not put it back
//! on their own.

use std::collections::{BTreeMap, BTreeSet};

use dream_types::{Actor, MemoryId, MemoryOperation, MemoryVersion, Timestamp};

use crate::note::{marker, parse_notes};

/// A dream lesson a person removed from memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedLesson {
    /// The pattern or fact key of its marker.
    pub key: String,
    /// The note's text before it was removed.
    pub text: String,
    /// When it was removed.
    pub at: Timestamp,
    /// Who removed it (`user_actor:user_dana`, `api_actor:apikey_…`).
    pub by: String,
}

/// What the history says about the notes of a store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `(path, note text)` of the current notes whose wording a person wrote last.
    person_notes: BTreeSet<(String, String)>,
    /// Dream lessons a person removed and no one put back, by marker key.
    deleted: BTreeMap<String, DeletedLesson>,
}

impl Provenance {
    /// Returns whether the note `text` at `path` was last worded by a person.
    pub fn person_wrote(&self, path: &str, text: &str) -> bool {
        self.person_notes
            .contains(&(path.to_owned(), text.to_owned()))
    }

    /// Returns the deletion of the lesson with marker key `key`, if a person removed it.
    pub fn deleted(&self, key: &str) -> Option<&DeletedLesson> {
        self.deleted.get(key)
    }

    /// Returns every lesson a person removed, by marker key.
    pub fn deleted_lessons(&self) -> impl Iterator<Item = &DeletedLesson> {
        self.deleted.values()
    }
}

/// Returns whether `actor` is a person acting directly (a user or an API caller) as
/// opposed to a dream, an agent in a session or a service account.
pub fn is_person(actor: &Actor) -> bool {
    matches!(actor, Actor::User { .. } | Actor::Api { .. })
}

/// One memory's state while the history is replayed.
#[derive(Debug, Default)]
struct Replayed {
    path: String,
    /// Note text → whether a person gave it its wording.
    notes: BTreeMap<String, bool>,
}

/// Reads a store's memory versions (any order; they are sorted by store version)
/// into a [`Provenance`].
///
/// A redacted version (its content gone) leaves the memory's notes as they were: what
/// it said cannot be attributed, and the next version restates the content anyway.
pub fn provenance(versions: &[MemoryVersion]) -> Provenance {
    let mut ordered: Vec<&MemoryVersion> = versions.iter().collect();
    ordered.sort_by_key(|v| v.store_version);
    let mut memories: BTreeMap<MemoryId, Replayed> = BTreeMap::new();
    let mut deleted: BTreeMap<String, DeletedLesson> = BTreeMap::new();
    for version in ordered {
        let person = is_person(&version.created_by);
        let previous = memories.remove(&version.memory_id).unwrap_or_default();
        let next = match (version.operation, &version.content) {
            (MemoryOperation::Deleted, _) => None,
            (_, None) => Some(Replayed {
                path: version.path.clone().unwrap_or(previous.path.clone()),
                notes: previous.notes.clone(),
            }),
            (_, Some(content)) => {
                let notes = parse_notes(content)
                    .into_iter()
                    .map(|n| {
                        let text = n.text.to_owned();
                        let by_person = match previous.notes.get(&text) {
                            Some(&earlier) => earlier,
                            None => person,
                        };
                        (text, by_person)
                    })
                    .collect();
                Some(Replayed {
                    path: version.path.clone().unwrap_or(previous.path.clone()),
                    notes,
                })
            }
        };
        let markers_after: BTreeSet<String> = next
            .iter()
            .flat_map(|m| m.notes.keys())
            .filter_map(|t| marker(t))
            .collect();
        // A lesson put back (by anyone) is no longer deleted.
        for key in &markers_after {
            deleted.remove(key);
        }
        if person {
            for text in previous.notes.keys() {
                let Some(key) = marker(text) else { continue };
                let elsewhere = memories
                    .values()
                    .any(|m| m.notes.keys().any(|t| marker(t).as_deref() == Some(&key)));
                if !markers_after.contains(&key) && !elsewhere {
                    deleted.insert(
                        key.clone(),
                        DeletedLesson {
                            key,
                            text: text.clone(),
                            at: version.created_at,
                            by: version.created_by.to_string(),
                        },
                    );
                }
            }
        }
        if let Some(next) = next {
            memories.insert(version.memory_id.clone(), next);
        }
    }
    let person_notes = memories
        .values()
        .flat_map(|m| {
            m.notes
                .iter()
                .filter(|(_, by_person)| **by_person)
                .map(|(text, _)| (m.path.clone(), text.clone()))
        })
        .collect();
    Provenance {
        person_notes,
        deleted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dream_types::MemoryStoreId;

    fn version(n: u64, memory: &str, actor: Actor, content: Option<&str>) -> MemoryVersion {
        MemoryVersion {
            id: format!("memver_{n:026}").parse().unwrap(),
            memory_id: memory.parse().unwrap(),
            memory_store_id: "memstore_01".parse::<MemoryStoreId>().unwrap(),
            store_version: n,
            operation: match (n, content) {
                (_, None) => MemoryOperation::Deleted,
                (1, _) => MemoryOperation::Created,
                _ => MemoryOperation::Modified,
            },
            path: Some("/lessons/tool-errors.md".into()),
            content: content.map(str::to_owned),
            content_sha256: None,
            content_size_bytes: None,
            created_by: actor,
            created_at: Timestamp::parse(&format!("2026-03-0{n}T09:00:00Z")).unwrap(),
            redacted_at: None,
            redacted_by: None,
        }
    }

    fn dream() -> Actor {
        Actor::Dream {
            dream_id: "drm_01".into(),
        }
    }

    fn dana() -> Actor {
        Actor::User {
            user_id: "user_dana".into(),
        }
    }

    const MEM: &str = "mem_01";
    const LESSON: &str =
        "- **`git push` fails** Seen in 4 sessions. <!-- dream:pattern tool_error:ab -->";
    const REWORDED: &str = "- Push new branches with `-u origin HEAD`. Seen in 4 sessions. <!-- dream:pattern tool_error:ab -->";

    #[test]
    fn a_reworded_lesson_belongs_to_the_person_and_an_untouched_one_to_the_dream() {
        let other = "- **`mix format` first** <!-- dream:pattern tool_error:cd -->";
        let history = [
            version(
                1,
                MEM,
                dream(),
                Some(&format!("# L\n\n{LESSON}\n{other}\n")),
            ),
            version(
                2,
                MEM,
                dana(),
                Some(&format!("# L\n\n{REWORDED}\n{other}\n")),
            ),
            // A later dream rewrites the file, keeping both notes as they are.
            version(
                3,
                MEM,
                dream(),
                Some(&format!("# L\n\n{REWORDED}\n{other}\n- new\n")),
            ),
        ];
        let p = provenance(&history);
        assert!(p.person_wrote("/lessons/tool-errors.md", REWORDED));
        assert!(!p.person_wrote("/lessons/tool-errors.md", other));
        assert!(!p.person_wrote("/lessons/tool-errors.md", "- new"));
        assert_eq!(p.deleted_lessons().count(), 0);
    }

    #[test]
    fn a_lesson_a_person_removes_is_remembered_until_someone_puts_it_back() {
        let unmarked = "- **`git push` fails** Seen in 4 sessions.";
        for after in [
            Some("# L\n".to_owned()),
            Some(format!("# L\n\n{unmarked}\n")),
            None,
        ] {
            let history = [
                version(1, MEM, dream(), Some(&format!("# L\n\n{LESSON}\n"))),
                version(2, MEM, dana(), after.as_deref()),
            ];
            let p = provenance(&history);
            let deleted = p.deleted("tool_error:ab").expect("deleted");
            assert_eq!(deleted.text, LESSON);
            assert_eq!(deleted.by, "user_actor:user_dana");
        }
        let history = [
            version(1, MEM, dream(), Some(&format!("# L\n\n{LESSON}\n"))),
            version(2, MEM, dana(), Some("# L\n")),
            version(3, MEM, dana(), Some(&format!("# L\n\n{LESSON}\n"))),
        ];
        assert!(provenance(&history).deleted("tool_error:ab").is_none());
    }

    #[test]
    fn a_dream_removing_its_own_lesson_is_not_a_deletion_by_a_person() {
        let history = [
            version(1, MEM, dream(), Some(&format!("# L\n\n{LESSON}\n"))),
            version(2, MEM, dream(), Some("# L\n")),
        ];
        assert!(provenance(&history).deleted("tool_error:ab").is_none());
    }
}
