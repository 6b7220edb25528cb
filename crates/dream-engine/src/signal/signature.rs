//! Normalised signatures: what makes "flight HAT030 not available on date 2024-05-13"
//! and "flight HAT229 not available on date 2024-05-14" the same error.
//!
//! An error's **headline** is its first two salient lines (lines that read like an
//! error: "fatal:", "failed", "not found", "[FORMAT] …", "** (RuntimeError) …"), or its
//! first line when none is salient. Its **signature** is the headline with every
//! variable part masked: quoted values, URLs, e-mail addresses, UUIDs, dates and times,
//! paths, hashes, branch names, identifiers that contain digits, and numbers.

use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this module, checked by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

static SALIENT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(error|errors|fatal|fail|failed|failure|fails|not found|does not exist|doesn't exist|no such|denied|refused|invalid|cannot|can't|could not|couldn't|unable|exceeds?|exceeded|undefined|not (?:enough|available|allowed|formatted|permitted|supported|a directory)|ignored|rejected|conflict|timed out|timeout|traceback|exception|panicked|unknown|missing|mismatch|does not add up|is beyond|illegal|no upstream|unresolved|not permitted|violat\w*)\b",
    )
});
static TAG_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"^\[[A-Z][A-Z0-9_ -]*\]"));
static EXIT_CODE: LazyLock<Regex> = LazyLock::new(|| re(r"^(?i)exit (?:code|status) -?\d+$"));

static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| re(r#"'[^'\n]{1,200}'|"[^"\n]{1,200}"|`[^`\n]{1,200}`"#));
static URL: LazyLock<Regex> = LazyLock::new(|| re(r#"\b(?:https?|ftp|file)://[^\s)\]}>"']+"#));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b"));
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")
});
/// `file.ext:LINE` or `file.ext:LINE:COL`, masked before times so that `lib.rs:42:17`
/// and `lib.rs:420:17` read alike (a 1–2 digit line looks like a time of day).
static LINE_COL: LazyLock<Regex> =
    LazyLock::new(|| re(r"(\.[A-Za-z][A-Za-z0-9]{0,7}):\d+(?::\d+)?\b"));
static TIME: LazyLock<Regex> = LazyLock::new(|| re(r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b"));
static PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:~|\.{1,2})?(?:/[\w.@+-]+)+/?|\b[\w.@+-]+(?:/[\w.@+-]+)+/?"));
static BRANCH: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(branch(?:es)?|origin|checkout|-b|--set-upstream|-u) ([\w./-]+)"));
static HASH: LazyLock<Regex> = LazyLock::new(|| re(r"\b[0-9a-f]{7,64}\b"));
static ID_WITH_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b[A-Za-z_][\w-]*\d[\w-]*\b|\b\d+[A-Za-z_][\w-]*\b"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"[-+]?\b\d+(?:[.,]\d+)*\b"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| re(r"\s+"));

/// Splits error text into trimmed lines. Real newlines and the two-character `\n`
/// some tools print literally both separate lines. Each line is a slice of `text`, so
/// it can be quoted verbatim.
pub fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        for piece in line.split("\\n") {
            let piece = piece
                .trim()
                .trim_start_matches("<tool_use_error>")
                .trim_end_matches("</tool_use_error>")
                .trim();
            if !piece.is_empty() && !EXIT_CODE.is_match(piece) {
                out.push(piece);
            }
        }
    }
    out
}

/// Returns whether a line reads like an error message.
pub fn is_salient(line: &str) -> bool {
    line.starts_with("**")
        || line.starts_with('✘')
        || line.starts_with('✗')
        || line.starts_with('❌')
        || TAG_LINE.is_match(line)
        || SALIENT.is_match(line)
}

/// Returns the headline of an error text: its first two salient lines, or its first
/// line. Each is a verbatim slice of `text`.
pub fn headline(text: &str) -> Vec<&str> {
    let all = lines(text);
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in all.iter().enumerate() {
        if out.len() == 2 {
            break;
        }
        if is_salient(line) && !out.contains(line) {
            out.push(line);
            // "…ignored by one of your .gitignore files:" introduces what it is about.
            if line.ends_with(':')
                && out.len() < 2
                && let Some(next) = all.get(i + 1)
            {
                out.push(next);
            }
        }
    }
    if out.is_empty() {
        all.into_iter().take(1).collect()
    } else {
        out
    }
}

/// Returns the line of an error text to quote as evidence: the first line that reads
/// like an error (see [`is_salient`]), else the line stating the exit code
/// ("Exit code 2"), else the first line. Progress lines such as "Getting extensions in
/// current project..." are not quoted when a line says what failed. The result is a
/// verbatim slice of `text`.
pub fn quote_line(text: &str) -> &str {
    if let Some(line) = lines(text).into_iter().find(|l| is_salient(l)) {
        return line;
    }
    text.split('\n')
        .flat_map(|l| l.split("\\n"))
        .map(str::trim)
        .find(|l| EXIT_CODE.is_match(l))
        .or_else(|| lines(text).into_iter().next())
        .unwrap_or("")
}

/// Severity words that tag lines of many tools (`[ERROR]`, `[WARN]`): not names of
/// checks.
const SEVERITY_TAGS: [&str; 10] = [
    "ERROR", "ERRORS", "WARN", "WARNING", "INFO", "DEBUG", "NOTE", "FAIL", "FAILED", "OK",
];

/// Returns the named checks a failure reports, in order and without repeats: lines
/// that open with a tag such as `[FORMAT]`, `[CREDO]`, `[DIALYZER]` (a pre-commit hook
/// or a `make check` that runs several steps). Severity tags (`[ERROR]`) are not checks.
pub fn check_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in lines(text) {
        let Some(tag) = TAG_LINE.find(line) else {
            continue;
        };
        let name = tag.as_str().trim_matches(['[', ']']).trim().to_owned();
        if !name.is_empty() && !SEVERITY_TAGS.contains(&name.as_str()) && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Returns the signature shared by every failure of one multi-check step, whichever
/// checks failed: the masked first salient line that is not a check tag
/// ("pre-commit validation failed:") followed by `<checks>`. `None` when the text
/// names no check.
pub fn checks_signature(text: &str) -> Option<String> {
    if check_names(text).is_empty() {
        return None;
    }
    let all = lines(text);
    let header = all
        .iter()
        .find(|l| !TAG_LINE.is_match(l) && is_salient(l))
        .or_else(|| all.iter().find(|l| !TAG_LINE.is_match(l)))
        .map_or_else(String::new, |l| mask(l));
    Some(format!("{header} <checks>").trim().to_owned())
}

/// Masks the variable parts of one line and lowercases it.
pub fn mask(line: &str) -> String {
    let mut text = LINE_COL.replace_all(line, "$1:<line>").into_owned();
    let steps: [(&LazyLock<Regex>, &str); 8] = [
        (&URL, "<url>"),
        (&EMAIL, "<email>"),
        (&QUOTED, "<q>"),
        (&UUID, "<uuid>"),
        (&DATE, "<date>"),
        (&TIME, "<time>"),
        (&PATH, "<path>"),
        (&HASH, "<hash>"),
    ];
    for (pattern, replacement) in steps {
        text = pattern
            .replace_all(&text, |caps: &regex::Captures<'_>| {
                let found = &caps[0];
                // A hash has both digits and letters; "deadbee" or "1234567" alone is not one.
                let is_hash_like = found.bytes().any(|b| b.is_ascii_digit())
                    && found.bytes().any(|b| b.is_ascii_alphabetic());
                if replacement == "<hash>" && !is_hash_like {
                    found.to_owned()
                } else {
                    replacement.to_owned()
                }
            })
            .into_owned();
    }
    text = BRANCH
        .replace_all(&text, |caps: &regex::Captures<'_>| {
            let value = &caps[2];
            if value.starts_with('<') || value.starts_with('-') {
                caps[0].to_owned()
            } else {
                format!("{} <branch>", &caps[1])
            }
        })
        .into_owned();
    text = ID_WITH_DIGITS.replace_all(&text, "<id>").into_owned();
    text = NUMBER.replace_all(&text, "<n>").into_owned();
    SPACES.replace_all(text.trim(), " ").to_lowercase()
}

/// Returns the signature of an error text: its masked headline lines joined by ` | `.
pub fn error_signature(text: &str) -> String {
    headline(text)
        .iter()
        .map(|l| mask(l))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Text written by Claude Code when it cancels parallel calls after a sibling failed:
/// a consequence, not an error of its own.
pub fn is_cascade(text: &str) -> bool {
    text.contains("Sibling tool call errored")
}

static TRANSIENT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?ix)
        \b(?:timed\ out|time-?out\ (?:error|exceeded|expired)|request\ timeout|gateway\ time-?out
          |deadline\ exceeded|etimedout|econnreset|econnaborted|eai_again|epipe
          |connection\ (?:reset|aborted|closed\ unexpectedly)|broken\ pipe|reset\ by\ peer
          |rate[\ -]?limit(?:ed|\ exceeded)?|too\ many\ requests|quota\ exceeded|throttl\w+
          |temporar(?:il)?y\ (?:unavailable|failure|error)|service\ unavailable|bad\ gateway
          |internal\ server\ error|server\ (?:is\ )?overloaded|overloaded_error|overloaded
          |try\ again\ later|please\ (?:try\ again|retry)|retry\ (?:later|after)|retry-after)\b
      | ^timeout\b
      | \b(?:http|status|code|error|response)[\ :/]*(?:429|50[0-4])\b
      | \b(?:429|50[0-4])\ (?:too\ many|internal|bad\ gateway|service|gateway)
    ")
});

/// Returns whether an error reads as transient: a timeout, a rate limit (429), a
/// server error (500–504), "temporarily unavailable", "try again later", a reset
/// connection. Only the error's headline and first line are read, so a test report
/// that mentions a timeout somewhere in its body is not transient. Such failures are
/// not the agent's mistakes: their patterns are held back as `transient` unless a
/// fix was seen or they are associated with failed sessions.
pub fn is_transient(text: &str) -> bool {
    let all = lines(text);
    all.first()
        .into_iter()
        .chain(headline(text).iter())
        .any(|line| TRANSIENT.is_match(line))
}

/// Returns the exit code a shell result states ("Exit code 1", "exit status 1",
/// "exited with code 1") in its first or last line.
pub fn exit_code(text: &str) -> Option<i32> {
    static CODE: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:exit code|exit status|exited with(?: exit)? code|return code)[:=]?\s*(-?\d+)\b",
        )
    });
    let trimmed = text.trim();
    let first = trimmed.lines().next().unwrap_or("");
    let last = trimmed.lines().last().unwrap_or("");
    [first, last]
        .iter()
        .find_map(|l| CODE.captures(l))
        .and_then(|c| c[1].parse().ok())
}

/// Programs whose exit status 1 is a normal answer: no match (`grep`, `rg`), the
/// inputs differ (`diff`, `cmp`), the condition is false (`test`, `[`).
const ANSWER_STATUS_PROGRAMS: [&str; 11] = [
    "grep", "egrep", "fgrep", "rg", "ag", "ack", "diff", "cmp", "test", "[", "[[",
];

/// Returns whether a failed shell result is a normal answer, not an error: exit
/// status 1 from a search that found nothing (`grep`, `rg`, `git grep`), a comparison
/// that found differences (`diff`, `cmp`, `git diff --quiet` / `--exit-code`), or a
/// condition that is false (`test`, `[`), with no line of output that reads like an
/// error (`diff` output is exempt: it prints the differences). The program looked at
/// is the last stage of any `&&` / `||` / `;` part, since that is what sets the
/// status; pagers at the end of a pipeline (`| head`) are skipped.
pub fn is_answer_status(command: &str, text: &str) -> bool {
    if exit_code(text) != Some(1) {
        return false;
    }
    let stripped = without_quotes(command);
    let output_is_quiet = lines(text).iter().all(|l| !is_salient(l));
    for part in stripped
        .split(['\n', ';'])
        .flat_map(|p| p.split("&&"))
        .flat_map(|p| p.split("||"))
    {
        let stages: Vec<Vec<&str>> = part
            .split('|')
            .map(|stage| {
                stage
                    .split_whitespace()
                    .skip_while(|w| w.contains('=') && !w.starts_with('-'))
                    .skip_while(|w| matches!(*w, "sudo" | "command" | "time" | "!"))
                    .collect()
            })
            .filter(|words: &Vec<&str>| !words.is_empty())
            .collect();
        let Some(last) = stages.iter().rev().find(|words| {
            let program = words[0].rsplit('/').next().unwrap_or(words[0]);
            !matches!(program, "head" | "tail" | "less" | "more" | "cat")
        }) else {
            continue;
        };
        let program = last[0].rsplit('/').next().unwrap_or(last[0]);
        let git_sub = (program == "git").then(|| last.get(1).copied()).flatten();
        let compares = matches!(program, "diff" | "cmp")
            || (git_sub == Some("diff")
                && last.iter().any(|w| *w == "--quiet" || *w == "--exit-code"));
        let searches_or_tests = (ANSWER_STATUS_PROGRAMS.contains(&program)
            && !matches!(program, "diff" | "cmp"))
            || git_sub == Some("grep");
        if compares || (searches_or_tests && output_is_quiet) {
            return true;
        }
    }
    false
}

/// Returns whether a failure says a command does not exist (`command not found`,
/// exit status 127).
pub fn is_command_not_found(text: &str) -> bool {
    static NOT_FOUND: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)command not found|: not found$|is not recognized as an internal or external command",
        )
    });
    exit_code(text) == Some(127) || lines(text).iter().any(|l| NOT_FOUND.is_match(l))
}

/// Returns the command of a shell tool input, or `None` for other tools.
pub fn shell_command(tool: &str, input: &serde_json::Value) -> Option<String> {
    let is_shell = matches!(
        tool.to_ascii_lowercase().as_str(),
        "bash" | "shell" | "sh" | "terminal" | "run_command" | "exec" | "execute_command"
    );
    let command = input.get("command").or_else(|| input.get("cmd"))?;
    match command {
        serde_json::Value::String(s)
            if is_shell || input.as_object().is_some_and(|o| o.len() <= 3) =>
        {
            Some(s.clone())
        }
        serde_json::Value::Array(parts) if is_shell => Some(
            parts
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => None,
    }
}

/// Returns a shell command with quoted strings and here-document bodies replaced by
/// `Q`, so that text inside them (a multi-line commit message) is not read as commands.
pub(crate) fn without_quotes(command: &str) -> String {
    let chars: Vec<char> = command.chars().collect();
    let mut out = String::with_capacity(command.len());
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                out.push('Q');
                i += 1;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                out.push('Q');
                i += 1;
            }
            '<' if chars.get(i + 1) == Some(&'<') => {
                // A here-document: `<<-'EOF'` … a line holding only `EOF`.
                let mut j = i + 2;
                while j < chars.len() && matches!(chars[j], '-' | '\'' | '"' | ' ') {
                    j += 1;
                }
                let start = j;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let word: String = chars[start..j].iter().collect();
                if word.is_empty() {
                    out.push_str("<<");
                    i += 2;
                    continue;
                }
                let rest: String = chars[j..].iter().collect();
                let body_end = rest
                    .split_inclusive('\n')
                    .scan(0_usize, |offset, line| {
                        let at = *offset;
                        *offset += line.len();
                        Some((at, line))
                    })
                    .skip(1)
                    .find(|(_, line)| line.trim() == word)
                    .map(|(at, line)| at + line.len());
                out.push('Q');
                match body_end {
                    Some(end) => i = j + rest[..end].chars().count(),
                    None => break,
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Returns the actions of a shell command: the program and its subcommand for each
/// part of a `&&` / `;` / `||` chain (`git add … && git commit …` gives `git add`,
/// `git commit`), skipping `cd DIR` and leading `VAR=value` assignments. Quoted text
/// and here-documents are not commands.
pub fn command_actions(command: &str) -> Vec<String> {
    let command = without_quotes(command);
    let mut out = Vec::new();
    for part in command
        .split(['\n', ';'])
        .flat_map(|p| p.split("&&"))
        .flat_map(|p| p.split("||"))
    {
        let words: Vec<&str> = part
            .split_whitespace()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'))
            .take_while(|w| !w.starts_with('|') && !w.starts_with('>') && !w.starts_with("2>"))
            .collect();
        let Some(program) = words.first() else {
            continue;
        };
        let program = program.rsplit('/').next().unwrap_or(program);
        let is_word = |w: &str| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        if program == "cd" || program.starts_with('#') || !is_word(program) || program == "Q" {
            continue;
        }
        let action = match words.get(1) {
            Some(sub)
                if !sub.starts_with('-') && is_word(sub) && *sub != "Q" && sub.len() <= 24 =>
            {
                format!("{program} {sub}")
            }
            _ => program.to_owned(),
        };
        if !out.contains(&action) {
            out.push(action);
        }
    }
    out
}

/// Returns a shell command without noise that does not change what it does:
/// `2>&1`, a trailing `| head`/`| tail`, and a leading `cd DIR &&`.
pub fn clean_command(command: &str) -> String {
    let mut text = command.trim().to_owned();
    static CD: LazyLock<Regex> = LazyLock::new(|| re(r"^cd \S+ && "));
    static REDIRECT: LazyLock<Regex> = LazyLock::new(|| re(r"\s*2>&1"));
    static PAGER: LazyLock<Regex> =
        LazyLock::new(|| re(r"\s*\|\s*(?:head|tail)(?:\s+-n?\s*\d+|\s+-\d+)?\s*$"));
    text = CD.replace(&text, "").into_owned();
    text = REDIRECT.replace_all(&text, "").into_owned();
    text = PAGER.replace(&text, "").into_owned();
    text.trim().to_owned()
}

/// Normalises free text for clustering: masked, lowercased, punctuation removed.
pub fn normalize_text(text: &str) -> String {
    let masked = mask(text);
    masked
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '<' || c == '>' || c.is_whitespace() {
                c
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lowercases text and keeps only its words (no masking): for comparing notes, whose
/// quoted commands and names are what they are about.
pub fn normalize_words(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_bench_errors_share_signatures_across_values() {
        let a = error_signature("Error: flight HAT030 not available on date 2024-05-13");
        let b = error_signature("Error: flight HAT229 not available on date 2024-05-14");
        assert_eq!(a, b);
        assert_eq!(a, "error: flight <id> not available on date <date>");
        let p = error_signature(
            "Error: payment amount does not add up, total price is 375, but paid 299",
        );
        let q = error_signature(
            "Error: payment amount does not add up, total price is 1203, but paid 833",
        );
        assert_eq!(p, q);
        assert_eq!(
            p,
            "error: payment amount does not add up, total price is <n>, but paid <n>"
        );
        assert_eq!(
            error_signature("Error: not enough seats on flight HAT290"),
            error_signature("Error: not enough seats on flight HAT088")
        );
    }

    #[test]
    fn claude_code_errors_mask_branches_and_split_literal_newlines() {
        let push = "Exit code 128\nfatal: The current branch spotter-gqc has no upstream branch.\nTo push the current branch and set the remote as upstream, use\n\n    git push --set-upstream origin spotter-gqc\n";
        let other = push.replace("spotter-gqc", "spotter-a0y");
        assert_eq!(error_signature(push), error_signature(&other));
        assert_eq!(
            error_signature(push),
            "fatal: the current branch <branch> has no upstream branch."
        );
        let format = "Pre-commit validation failed:\\n\\n[FORMAT] Code is not formatted.\\nRun 'mix format' to fix.";
        let credo = "Pre-commit validation failed:\\n\\n[CREDO]\\nChecking 114 source files";
        assert_eq!(
            error_signature(format),
            "pre-commit validation failed: | [format] code is not formatted."
        );
        assert_ne!(error_signature(format), error_signature(credo));
        assert_eq!(
            headline(format),
            [
                "Pre-commit validation failed:",
                "[FORMAT] Code is not formatted."
            ]
        );
        let ignored = "Exit code 1\nThe following paths are ignored by one of your .gitignore files:\npriv/static/assets\nhint: Use -f if you really want to add them.";
        assert_eq!(
            error_signature(ignored),
            "the following paths are ignored by one of your .gitignore files: | <path>"
        );
        assert_eq!(headline(ignored)[1], "priv/static/assets");
        assert_eq!(
            error_signature("<tool_use_error>File does not exist.</tool_use_error>"),
            "file does not exist."
        );
    }

    #[test]
    fn masking_covers_ids_paths_quotes_hashes_and_urls() {
        assert_eq!(
            mask(
                "payment method certificate_7504069 not found at /home/u/x.json (see https://x.io/a?b=1)"
            ),
            "payment method <id> not found at <path> (see <url>)"
        );
        assert_eq!(
            mask("commit 66e1a0a failed: 'main..HEAD' unknown"),
            "commit <hash> failed: <q> unknown"
        );
        assert_eq!(
            mask("id 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed at 12:30:01"),
            "id <uuid> at <time>"
        );
        // A source position is not a time of day, whatever the width of its line number.
        assert_eq!(
            mask("thread 'main' panicked at src/lib.rs:42:17"),
            mask("thread 'main' panicked at src/lib.rs:420:17")
        );
        assert_eq!(mask("at app.ex:7"), "at app.ex:<line>");
    }

    #[test]
    fn command_actions_and_cleaning() {
        assert_eq!(command_actions("git push 2>&1"), ["git push"]);
        assert_eq!(
            command_actions("cd /x && git add -A && git commit -m 'x'"),
            ["git add", "git commit"]
        );
        assert_eq!(
            command_actions("FOO=1 mix test test/a_test.exs 2>&1 | tail -5"),
            ["mix test"]
        );
        assert_eq!(
            command_actions("bd sync 2>&1 && git push 2>&1"),
            ["bd sync", "git push"]
        );
        assert_eq!(
            clean_command("cd /repo && mix format 2>&1 | tail -20"),
            "mix format"
        );
        assert_eq!(
            clean_command("git push --set-upstream origin x 2>&1"),
            "git push --set-upstream origin x"
        );
    }

    #[test]
    fn free_text_normalises_for_clustering() {
        assert_eq!(
            normalize_text("No, use PNPM instead!"),
            "no use pnpm instead"
        );
        assert_eq!(
            normalize_text("I prefer flights after 11am"),
            "i prefer flights after <id>"
        );
    }
}
