//! Applying text edits to memory contents: the one place that decides how a change
//! lands in a file, used both to preview a proposal and to apply it.

use std::collections::BTreeMap;

use dream_types::Edit;

/// Why an edit did not fit the current content (the change is then `stale`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditMismatch {
    /// The memory path.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// Applies `edits` to `contents` (path → text) in order, all or nothing.
///
/// An edit with empty `before` appends `after` as a new paragraph or list item (a
/// heading that `after` starts with is dropped when the file already starts with it);
/// a file that does not exist is created. Otherwise `before` must occur exactly once
/// and is replaced; removing text also removes its line break.
///
/// # Errors
/// An [`EditMismatch`] when `before` is missing or occurs more than once; `contents`
/// is then unchanged.
pub fn apply_edits(
    contents: &mut BTreeMap<String, String>,
    edits: &[Edit],
) -> Result<(), EditMismatch> {
    let mut staged = contents.clone();
    for edit in edits {
        let current = staged.get(&edit.path).cloned();
        let next = apply_one(current.as_deref(), edit)?;
        staged.insert(edit.path.clone(), next);
    }
    *contents = staged;
    Ok(())
}

fn apply_one(current: Option<&str>, edit: &Edit) -> Result<String, EditMismatch> {
    let mismatch = |reason: String| EditMismatch {
        path: edit.path.clone(),
        reason,
    };
    if edit.before.is_empty() {
        let mut after = edit.after.as_str();
        let Some(content) = current else {
            let mut created = after.to_owned();
            if !created.ends_with('\n') {
                created.push('\n');
            }
            return Ok(created);
        };
        if let Some(first) = after.lines().next().filter(|l| l.starts_with("# "))
            && content.lines().next() == Some(first)
        {
            after = after[first.len()..].trim_start_matches('\n');
        }
        let mut out = content.to_owned();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(after);
        if !out.ends_with('\n') {
            out.push('\n');
        }
        return Ok(out);
    }
    let content = current.ok_or_else(|| mismatch(format!("{} no longer exists", edit.path)))?;
    let found = line_aligned(content, &edit.before);
    match found.len() {
        0 => Err(mismatch(format!(
            "the text to change is no longer in {}",
            edit.path
        ))),
        1 => {
            let start = found[0];
            let mut end = start + edit.before.len();
            if edit.after.is_empty() && content[end..].starts_with('\n') {
                end += 1;
            }
            Ok(format!(
                "{}{}{}",
                &content[..start],
                edit.after,
                &content[end..]
            ))
        }
        n => Err(mismatch(format!(
            "the text to change occurs {n} times in {}",
            edit.path
        ))),
    }
}

/// Returns the offsets where `needle` occurs as whole lines of `content` (starting at
/// a line start and ending at a line end), so "- plan: team" does not match inside
/// "- plan: team (negotiating)".
pub fn line_aligned(content: &str, needle: &str) -> Vec<usize> {
    content
        .match_indices(needle)
        .map(|(at, _)| at)
        .filter(|&at| {
            let starts = at == 0 || content[..at].ends_with('\n');
            let rest = &content[at + needle.len()..];
            let ends = rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n");
            starts && ends
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(path: &str, before: &str, after: &str) -> Edit {
        Edit {
            path: path.into(),
            before: before.into(),
            after: after.into(),
        }
    }

    #[test]
    fn append_replace_remove_and_create() {
        let mut files = BTreeMap::from([(
            "/f.md".to_owned(),
            "# Facts\n\n- plan: team\n- old note\n".to_owned(),
        )]);
        apply_edits(
            &mut files,
            &[
                edit("/f.md", "- plan: team", "- plan: enterprise"),
                edit("/f.md", "- old note", ""),
                edit("/f.md", "", "# Facts\n\n- region: eu"),
                edit("/new.md", "", "# Lessons\n\n- first"),
            ],
        )
        .unwrap();
        assert_eq!(
            files["/f.md"],
            "# Facts\n\n- plan: enterprise\n- region: eu\n"
        );
        assert_eq!(files["/new.md"], "# Lessons\n\n- first\n");
    }

    #[test]
    fn a_missing_or_ambiguous_anchor_changes_nothing() {
        let original = BTreeMap::from([("/f.md".to_owned(), "- a\n- a\n".to_owned())]);
        let mut files = original.clone();
        let err = apply_edits(
            &mut files,
            &[edit("/f.md", "", "- b"), edit("/f.md", "- a", "- c")],
        )
        .unwrap_err();
        assert_eq!(err.reason, "the text to change occurs 2 times in /f.md");
        assert_eq!(files, original);
        let err = apply_edits(&mut files, &[edit("/f.md", "- z", "")]).unwrap_err();
        assert_eq!(err.reason, "the text to change is no longer in /f.md");
        let mut edited = BTreeMap::from([(
            "/f.md".to_owned(),
            "- plan: team (negotiating)\n".to_owned(),
        )]);
        let err =
            apply_edits(&mut edited, &[edit("/f.md", "- plan: team", "- plan: x")]).unwrap_err();
        assert_eq!(
            err.reason, "the text to change is no longer in /f.md",
            "whole lines only"
        );
    }
}
