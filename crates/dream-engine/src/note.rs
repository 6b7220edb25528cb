//! Notes: the items inside a memory's Markdown — bullets and paragraphs — which the
//! engine deduplicates, supersedes and compacts. Headings and fenced code are
//! structure, not notes.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

/// Marks a note written from a pattern: `<!-- dream:pattern tool_error:1a2b3c4d -->`.
pub const PATTERN_MARKER: &str = "<!-- dream:pattern ";
/// Marks a keyed fact written by a dream: `<!-- dream:fact plan -->`.
pub const FACT_MARKER: &str = "<!-- dream:fact ";

static BULLET: LazyLock<Regex> = LazyLock::new(|| re(r"^\s{0,3}(?:[-*+]|\d{1,3}[.)])\s+"));
static MARKER: LazyLock<Regex> = LazyLock::new(|| re(r"<!-- dream:(?:pattern|fact) ([^ ]+) -->"));
static SUPPORT: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)seen in (\d+) sessions?"));
static LAST_SEEN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(?:last|as of|since) (\d{4}-\d{2}-\d{2})"));
static KEYED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)^\s{0,3}(?:[-*+]\s+)?
        (?:\*\*(?P<k1>[^*:\n]{1,40})\*\*\s*:|(?P<k2>[A-Za-z][A-Za-z0-9 _-]{0,39}):|(?:the|our|my)\s+(?P<k3>[a-z][a-z0-9 _-]{0,39}?)\s+is)
        \s+(?P<value>[^\n<]+?)\s*(?:_\(.*\)_)?\s*(?:<!--.*-->)?\s*$")
});

/// What shape a note has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// A list item with its continuation lines.
    Bullet,
    /// A paragraph.
    Paragraph,
}

/// One note: an exact slice of a memory's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note<'a> {
    /// The note's text, without its final newline.
    pub text: &'a str,
    /// Byte offset of its start in the content.
    pub start: usize,
    /// Its shape.
    pub kind: NoteKind,
}

impl Note<'_> {
    /// Returns the pattern or fact key of a dream-written note.
    pub fn marker(&self) -> Option<String> {
        marker(self.text)
    }

    /// Returns the session count of a dream-written support clause ("seen in 4 sessions").
    pub fn support(&self) -> Option<u64> {
        SUPPORT.captures(self.text).and_then(|c| c[1].parse().ok())
    }

    /// Returns the date of "last 2026-02-12" / "as of …" / "since …", if any.
    pub fn last_seen(&self) -> Option<&str> {
        LAST_SEEN
            .captures(self.text)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str())
    }
}

/// Returns the key of the first dream marker in `text`.
pub fn marker(text: &str) -> Option<String> {
    MARKER.captures(text).map(|c| c[1].to_owned())
}

/// Returns a note's text without dream markers and support clauses, for comparisons.
pub fn core_text(text: &str) -> String {
    static CLAUSE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)_[^_\n]*(?:seen in|stated in|as of|since)[^_\n]*_"));
    let text = MARKER.replace_all(text, "");
    let text = CLAUSE.replace_all(&text, "");
    text.trim().to_owned()
}

/// Splits memory content into notes, in order.
pub fn parse_notes<'a>(content: &'a str) -> Vec<Note<'a>> {
    let mut notes = Vec::new();
    let mut in_fence = false;
    // (start, end, kind) of the note being built.
    let mut open: Option<(usize, usize, NoteKind)> = None;
    let mut offset = 0;
    let close = |open: &mut Option<(usize, usize, NoteKind)>, notes: &mut Vec<Note<'a>>| {
        if let Some((start, end, kind)) = open.take() {
            let text = content[start..end].trim_end();
            if !text.trim().is_empty() {
                notes.push(Note { text, start, kind });
            }
        }
    };
    for line in content.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        let trimmed = body.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            close(&mut open, &mut notes);
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed.starts_with("<!-- dream:begin")
            || trimmed.starts_with("<!-- dream:end")
        {
            close(&mut open, &mut notes);
            continue;
        }
        let indent = body.len() - trimmed.len();
        if BULLET.is_match(body) && indent < 2 {
            close(&mut open, &mut notes);
            open = Some((start, start + body.len(), NoteKind::Bullet));
            continue;
        }
        match &mut open {
            Some((_, end, _)) => *end = start + body.len(),
            None => open = Some((start, start + body.len(), NoteKind::Paragraph)),
        }
    }
    close(&mut open, &mut notes);
    notes
}

/// A note that sets a value for a subject ("- plan: team", "The deploy branch is main").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedNote<'a> {
    /// The subject, lowercased.
    pub key: String,
    /// The value as written.
    pub value: &'a str,
}

/// Reads a note as a keyed fact, if it is one (a single line of at most 160 characters).
pub fn keyed<'a>(note: &Note<'a>) -> Option<KeyedNote<'a>> {
    if note.text.contains('\n') || note.text.chars().count() > 160 {
        return None;
    }
    let caps = KEYED.captures(note.text)?;
    let key = caps
        .name("k1")
        .or(caps.name("k2"))
        .or(caps.name("k3"))?
        .as_str()
        .trim()
        .to_lowercase();
    let value = caps.name("value")?.as_str().trim();
    if key.split_whitespace().count() > 4 || value.is_empty() {
        return None;
    }
    Some(KeyedNote { key, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bullets_paragraphs_and_code_fences() {
        let content = "# Facts\n\n- plan: team\n- region: eu\n  (moved in March)\n\nA paragraph\nover two lines.\n\n```\n- not a note\n```\n1. numbered\n";
        let notes = parse_notes(content);
        let texts: Vec<&str> = notes.iter().map(|n| n.text).collect();
        assert_eq!(
            texts,
            [
                "- plan: team",
                "- region: eu\n  (moved in March)",
                "A paragraph\nover two lines.",
                "1. numbered"
            ]
        );
        assert_eq!(
            &content[notes[1].start..notes[1].start + notes[1].text.len()],
            notes[1].text
        );
        assert_eq!(notes[2].kind, NoteKind::Paragraph);
    }

    #[test]
    fn keyed_notes_in_three_spellings() {
        let content = "- plan: team\n- **Deploy branch**: main\n- The region is eu-west-1.\n- remember to be kind to users, always\n";
        let notes = parse_notes(content);
        let keys: Vec<_> = notes
            .iter()
            .filter_map(keyed)
            .map(|k| (k.key, k.value.to_owned()))
            .collect();
        assert_eq!(
            keys,
            [
                ("plan".to_owned(), "team".to_owned()),
                ("deploy branch".into(), "main".into()),
                ("region".into(), "eu-west-1.".into())
            ]
        );
    }

    #[test]
    fn markers_and_support_clauses() {
        let text = "- **`git push` fails** _Seen in 4 sessions, last 2026-02-12._ <!-- dream:pattern tool_error:1a2b3c4d -->";
        let note = Note {
            text,
            start: 0,
            kind: NoteKind::Bullet,
        };
        assert_eq!(note.marker().as_deref(), Some("tool_error:1a2b3c4d"));
        assert_eq!(note.support(), Some(4));
        assert_eq!(note.last_seen(), Some("2026-02-12"));
        assert_eq!(core_text(text), "- **`git push` fails**");
    }
}
