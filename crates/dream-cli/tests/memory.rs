//! `dream memory …`: writing, reading and versioning memories as a user would.

use crate::cli::Dream;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A store named `support` with three memories (store versions 1–3).
fn support_store() -> Dream {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "support"]);
    dream.ok_with_stdin(
        &["memory", "write", "/preferences.md"],
        "- prefer tabs\n- answer in English\n",
    );
    let file = dream.path("deploy.md");
    std::fs::write(&file, "- deploy with `make release`\n- staging first\n").unwrap();
    dream.ok(&["memory", "write", "/notes/deploy.md", "--file", &file]);
    dream.ok_with_stdin(
        &["memory", "write", "/notes/oncall/rota.md"],
        "- dana on mondays\n",
    );
    dream
}

/// [`support_store`], then four more changes (store versions 4–7): an update, a move,
/// a delete and a create.
fn support_store_with_history() -> Dream {
    let dream = support_store();
    dream.ok_with_stdin(
        &["memory", "write", "/preferences.md"],
        "- prefer spaces\n- answer in English\n",
    );
    dream.ok(&["memory", "mv", "/notes/oncall/rota.md", "/notes/rota.md"]);
    dream.ok(&["memory", "rm", "/notes/deploy.md"]);
    dream.ok_with_stdin(
        &["memory", "write", "/lessons/git.md"],
        "- push with -u the first time\n",
    );
    dream
}

fn current_sha(dream: &Dream, path: &str) -> String {
    let memory = json(&dream.ok(&["--json", "memory", "cat", path]).stdout);
    memory["content_sha256"].as_str().unwrap().to_owned()
}

#[test]
fn write_from_stdin_and_a_file_then_list_and_read() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "support"]);
    let created = dream.ok_with_stdin(
        &["memory", "write", "/preferences.md"],
        "- prefer tabs\n- answer in English\n",
    );
    insta::assert_snapshot!("memory_write_created", created.stdout);
    let file = dream.path("deploy.md");
    std::fs::write(&file, "- deploy with `make release`\n").unwrap();
    dream.ok(&["memory", "write", "/notes/deploy.md", "--file", &file]);
    dream.ok_with_stdin(
        &["memory", "write", "/notes/oncall/rota.md"],
        "- dana on mondays\n",
    );

    let ls = dream.ok(&["memory", "ls"]);
    insta::assert_snapshot!("memory_ls", ls.stdout);
    let rolled = dream.ok(&["memory", "ls", "--depth", "1"]);
    insta::assert_snapshot!("memory_ls_depth_1", rolled.stdout);
    let notes = dream.ok(&["memory", "ls", "/notes/", "--depth", "1"]);
    assert_eq!(
        notes
            .stdout
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().next().unwrap())
            .collect::<Vec<_>>(),
        ["/notes/deploy.md", "/notes/oncall/", "1"],
        "{}",
        notes.stdout
    );
    let no_slash = dream.run(&["memory", "ls", "/notes"]);
    assert_eq!(
        (no_slash.code, no_slash.stderr.as_str()),
        (
            1,
            "error[invalid_path]: path prefix \"/notes\" must end with `/`, as in /notes/\n"
        )
    );

    let cat = dream.ok(&["memory", "cat", "/notes/deploy.md"]);
    assert_eq!(
        cat.stdout, "- deploy with `make release`\n",
        "content byte for byte"
    );
    let value = json(
        &dream
            .ok(&["--json", "memory", "cat", "/preferences.md"])
            .stdout,
    );
    let id = value["id"].as_str().unwrap();
    assert_eq!(
        dream.ok(&["memory", "cat", id]).stdout,
        "- prefer tabs\n- answer in English\n",
        "a mem_ id reads the same memory"
    );

    let same = dream.ok_with_stdin(
        &["memory", "write", "/preferences.md"],
        "- prefer tabs\n- answer in English\n",
    );
    assert_eq!(
        same.stdout,
        "Unchanged: /preferences.md already holds this content; nothing written.\n"
    );
    let listing = json(&dream.ok(&["--json", "memory", "ls", "--depth", "1"]).stdout);
    assert_eq!(
        listing["store_version"], 3,
        "the unchanged write made no version"
    );
    assert_eq!(listing["count"], 2);
    assert_eq!(listing["memories"][0]["type"], "memory_prefix");
    assert_eq!(listing["memories"][0]["path"], "/notes/");
    assert_eq!(listing["memories"][0]["memory_count"], 2);
    assert_eq!(listing["memories"][1]["type"], "memory");
    assert_eq!(listing["memories"][1]["path"], "/preferences.md");
    assert!(
        listing["memories"][1].get("content").is_none(),
        "listings leave content out"
    );

    let missing = dream.run(&["memory", "cat", "/nope.md"]);
    assert_eq!(
        (missing.code, missing.stderr.as_str()),
        (
            1,
            "error[not_found_error]: no memory at /nope.md in store support; `dream memory ls` \
             lists them\n"
        )
    );
    let bad = dream.run_with_stdin(&["memory", "write", "notes.md"], Some("x"));
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr
            .starts_with("error[invalid_path]: path \"notes.md\" must start with `/`")
    );
}

#[test]
fn move_delete_and_the_log_with_filters() {
    let dream = support_store_with_history();
    let log = dream.ok(&["memory", "log"]);
    insta::assert_snapshot!("memory_log", log.stdout);

    // A path's history follows the memory through its moves, and outlives its deletion.
    let rota = dream.ok(&["memory", "log", "/notes/oncall/rota.md"]);
    assert_eq!(rota.stdout.lines().count(), 4, "{}", rota.stdout);
    assert!(rota.stdout.contains("/notes/rota.md"));
    let deleted = dream.ok(&["memory", "log", "/notes/deploy.md"]);
    let ops: Vec<&str> = deleted
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        ops,
        ["deleted", "created", "versions"],
        "{}",
        deleted.stdout
    );

    let only_deletes = json(
        &dream
            .ok(&["--json", "memory", "log", "--operation", "deleted"])
            .stdout,
    );
    assert_eq!(only_deletes["count"], 1);
    assert_eq!(
        only_deletes["memory_versions"][0]["path"],
        "/notes/deploy.md"
    );
    assert_eq!(
        only_deletes["memory_versions"][0]["created_by"],
        serde_json::json!({"type": "user_actor", "user_id": "user_tester"})
    );

    let newest = json(&dream.ok(&["--json", "memory", "log", "-n", "2"]).stdout);
    let versions: Vec<u64> = newest["memory_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["store_version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [7, 6], "newest first");

    // Another person, another day.
    dream.run_env(
        &["memory", "write", "/lessons/git.md"],
        Some("- push with -u\n"),
        &[
            ("DREAM_USER", "Dana.O"),
            ("DREAM_NOW", "2026-03-05T12:00:00Z"),
        ],
    );
    let by_dana = dream.ok(&["memory", "log", "--actor", "user:user_dana-o"]);
    assert_eq!(by_dana.stdout.lines().count(), 3, "{}", by_dana.stdout);
    assert!(by_dana.stdout.contains("user_dana-o"));
    let users = json(
        &dream
            .ok(&["--json", "memory", "log", "--actor", "user_actor"])
            .stdout,
    );
    assert_eq!(users["count"], 8);
    let dreams = dream.ok(&["memory", "log", "--actor", "dream"]);
    assert_eq!(dreams.stdout, "No memory versions match.\n");
    let until = json(
        &dream
            .ok(&["--json", "memory", "log", "--until", "2026-03-01"])
            .stdout,
    );
    assert_eq!(until["count"], 7, "a date includes its whole day");
    let since = json(
        &dream
            .run_env(
                &["--json", "memory", "log", "--since", "24h"],
                None,
                &[("DREAM_NOW", "2026-03-05T18:00:00Z")],
            )
            .stdout,
    );
    assert_eq!(since["count"], 1, "durations count back from DREAM_NOW");
    assert_eq!(
        since["memory_versions"][0]["created_by"]["user_id"],
        "user_dana-o"
    );
    let bad = dream.run(&["memory", "log", "--actor", "robot"]);
    assert_eq!(bad.code, 2);
    let bad = dream.run(&["memory", "log", "--since", "last week"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("--since \"last week\" is not a duration")
    );
}

#[test]
fn diff_shows_each_change_as_a_unified_diff() {
    let dream = support_store_with_history();
    let diff = dream.ok(&["memory", "diff", "3"]);
    insta::assert_snapshot!("memory_diff", diff.stdout);
    assert!(
        !diff.stdout.contains('\u{1b}'),
        "no colours when NO_COLOR is set"
    );

    let coloured = dream.ok(&["--color", "always", "memory", "diff", "3", "4"]);
    assert!(
        coloured.stdout.contains("\u{1b}[32m+- prefer spaces"),
        "added lines are green: {:?}",
        coloured.stdout
    );
    assert!(coloured.stdout.contains("\u{1b}[31m-- prefer tabs"));
    assert!(coloured.stdout.contains("\u{1b}[36m@@ -1,2 +1,2 @@"));

    let value = json(&dream.ok(&["--json", "memory", "diff", "3", "5"]).stdout);
    assert_eq!(
        (value["from_version"].as_u64(), value["to_version"].as_u64()),
        (Some(3), Some(5))
    );
    let kinds: Vec<&str> = value["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["renamed", "modified"]);
    let same = dream.ok(&["memory", "diff", "7", "7"]);
    assert_eq!(
        same.stdout,
        "No differences in support between store versions 7 and 7.\n"
    );
    let future = dream.run(&["memory", "diff", "3", "99"]);
    assert_eq!(future.code, 1);
    assert!(
        future.stderr.contains("store version 99 does not exist"),
        "{}",
        future.stderr
    );
}

#[test]
fn restore_writes_new_versions_and_redact_erases_old_ones() {
    let dream = support_store_with_history();
    let restored = dream.ok(&["memory", "restore", "3"]);
    insta::assert_snapshot!("memory_restore", restored.stdout);
    assert_eq!(
        dream.ok(&["memory", "cat", "/preferences.md"]).stdout,
        "- prefer tabs\n- answer in English\n",
        "the old content is back"
    );
    assert_eq!(
        dream.ok(&["memory", "cat", "/notes/deploy.md"]).stdout,
        "- deploy with `make release`\n- staging first\n",
        "the deleted memory is back"
    );
    assert_eq!(
        dream.ok(&["memory", "diff", "3"]).stdout.lines().next(),
        Some("No differences in support between store versions 3 and 11.")
    );
    let again = dream.ok(&["memory", "restore", "3"]);
    assert_eq!(
        again.stdout,
        "Nothing to restore: support already matches store version 3.\n"
    );
    // The state after the restore is one more version in history: it can be restored too.
    assert_eq!(
        dream
            .ok(&["memory", "cat", "/preferences.md", "--at", "4"])
            .stdout,
        "- prefer spaces\n- answer in English\n"
    );

    let history = json(
        &dream
            .ok(&["--json", "memory", "log", "/preferences.md"])
            .stdout,
    );
    let ids: Vec<String> = history["memory_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3, "created, modified, restored");
    let (current, spaces) = (&ids[0], &ids[1]);

    let refused = dream.run(&["memory", "redact", current]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(
        refused.stderr,
        format!(
            "error[invalid_request_error]: version {current} holds the current content of \
             /preferences.md; change or delete the memory first, then redact this version\n"
        )
    );
    let redacted = dream.ok(&["memory", "redact", spaces]);
    assert_eq!(
        redacted.stdout,
        format!(
            "Redacted {spaces} (store version 4, modified /preferences.md): its path and content \
             are erased; the record stays in the log as (redacted).\n"
        )
    );
    let log = dream.ok(&["memory", "log", "/preferences.md"]);
    let line = log
        .stdout
        .lines()
        .find(|l| l.contains(spaces.as_str()))
        .unwrap();
    assert!(line.contains("modified   (redacted)"), "{line}");
    let memory_id = history["memory_versions"][0]["memory_id"].as_str().unwrap();
    let gone = dream.run(&["memory", "cat", memory_id, "--at", "4"]);
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr
            .starts_with("error[version_redacted]: the state of mem_"),
        "{}",
        gone.stderr
    );
    let twice = dream.ok(&["memory", "redact", spaces]);
    assert_eq!(
        twice.stdout,
        format!("{spaces} was already redacted; nothing changed.\n")
    );
}

#[test]
fn export_then_import_a_directory_changes_nothing() {
    let dream = support_store();
    let dir = dream.path("memories");
    let exported = dream.ok(&["memory", "export", "--dir", &dir]);
    assert!(
        exported
            .stdout
            .starts_with("Exported support to [TMP]/memories: 3 files written")
    );
    assert_eq!(
        std::fs::read_to_string(dream.dir.path().join("memories/notes/oncall/rota.md")).unwrap(),
        "- dana on mondays\n"
    );
    let imported = dream.ok(&["memory", "import", "--dir", &dir]);
    assert_eq!(
        imported.stdout,
        "No changes: [TMP]/memories matches support (3 unchanged, store version 3).\n"
    );
    let report = json(
        &dream
            .ok(&["--json", "memory", "import", "--dir", &dir])
            .stdout,
    );
    assert_eq!(report["versions"], serde_json::json!([]));
    assert_eq!(report["store_version"], 3);

    // Edits in the directory come back as versions; --prune deletes what has no file.
    std::fs::write(
        dream.dir.path().join("memories/preferences.md"),
        "- prefer tabs\n",
    )
    .unwrap();
    std::fs::write(dream.dir.path().join("memories/new.md"), "- new lesson\n").unwrap();
    std::fs::remove_file(dream.dir.path().join("memories/notes/deploy.md")).unwrap();
    let changed = dream.ok(&["memory", "import", "--dir", &dir, "--prune"]);
    assert_eq!(
        changed.stdout,
        "Imported [TMP]/memories into support: 1 created, 1 updated, 1 deleted, 1 unchanged; \
         store version 3 → 6\n  created  /new.md\n  deleted  /notes/deploy.md\n  updated  \
         /preferences.md\n"
    );
    let prune_alone = dream.run(&["memory", "import", "--prune"]);
    assert_eq!(prune_alone.code, 2, "--prune needs --dir");

    let markdown = dream.ok(&["memory", "export", "--markdown", "-"]);
    assert!(
        markdown
            .stdout
            .starts_with("## /new.md\n\n- new lesson\n\n## /notes/oncall/rota.md\n"),
        "{}",
        markdown.stdout
    );
    dream.ok_with_stdin(&["memory", "write", "/zz/big.md"], &"x".repeat(400));
    let small = dream.ok(&[
        "memory",
        "export",
        "--markdown",
        &dream.path("m.md"),
        "--budget",
        "300",
    ]);
    assert_eq!(
        small.stdout,
        "Created [TMP]/m.md with 3 memories (168 bytes)\nLeft out to fit the budget: /zz/big.md\n"
    );
    let text = std::fs::read_to_string(dream.dir.path().join("m.md")).unwrap();
    assert!(
        text.len() <= 300 && text.ends_with("left out to fit the size budget: /zz/big.md_\n"),
        "{text}"
    );
}

#[test]
fn export_to_claude_md_changes_only_the_managed_section() {
    let dream = support_store();
    let file = dream.dir.path().join("CLAUDE.md");
    let before = "# Project\n\nBuild with `make`.\n\n";
    let after = "\n## Notes written by hand\n\nKeep this.\n";
    let store_id = json(&dream.ok(&["--json", "stores", "show"]).stdout)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let begin = format!("<!-- dream:begin memory_store={store_id} -->");
    let end = "<!-- dream:end -->";
    std::fs::write(&file, format!("{before}{begin}\nold section\n{end}{after}")).unwrap();

    let path = file.display().to_string();
    let run = dream.ok(&["memory", "export", "--agents-file", &path]);
    assert_eq!(
        run.stdout,
        "Updated [TMP]/CLAUDE.md: 3 memories (170 bytes)\n"
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let (head, rest) = text.split_once(&begin).unwrap();
    let (section, tail) = rest.split_once(end).unwrap();
    assert_eq!(
        head, before,
        "text before the section is kept byte for byte"
    );
    assert_eq!(tail, after, "text after the section is kept byte for byte");
    assert!(!section.contains("old section"));
    assert!(
        section.contains("### /notes/oncall/rota.md\n\n- dana on mondays\n"),
        "{section}"
    );

    let again = dream.ok(&["memory", "export", "--agents-file", &path]);
    assert!(again.stdout.contains("is up to date"), "{}", again.stdout);

    // Importing takes the hand-written text only, as the memory /CLAUDE.md.
    let imported = dream.ok(&["memory", "import", "--agents-file", &path]);
    assert!(imported.stdout.contains("1 created"), "{}", imported.stdout);
    assert_eq!(
        dream.ok(&["memory", "cat", "/CLAUDE.md"]).stdout,
        "# Project\n\nBuild with `make`.\n\n## Notes written by hand\n\nKeep this.\n",
        "the section's lines are left out; the spacing around them stays"
    );
    let reexported = dream.ok(&["memory", "export", "--agents-file", &path]);
    assert!(
        reexported.stdout.contains("is up to date: 3 memories"),
        "CLAUDE.md's own text is not repeated inside its section: {}",
        reexported.stdout
    );
    let unchanged = dream.ok(&["memory", "import", "--agents-file", &path]);
    assert!(
        unchanged.stdout.starts_with("No changes"),
        "{}",
        unchanged.stdout
    );

    let fresh = dream.dir.path().join("AGENTS.md");
    let created = dream.ok(&[
        "memory",
        "export",
        "--agents-file",
        &fresh.display().to_string(),
    ]);
    assert!(
        created.stdout.starts_with("Created [TMP]/AGENTS.md"),
        "{}",
        created.stdout
    );
    let text = std::fs::read_to_string(&fresh).unwrap();
    assert!(
        text.starts_with(&begin) && text.ends_with(&format!("{end}\n")),
        "{text}"
    );
    assert!(
        text.contains("### /CLAUDE.md\n\n# Project\n"),
        "another agents file gets the imported CLAUDE.md too: {text}"
    );
}

#[test]
fn preconditions_fail_with_exit_3_and_both_hashes() {
    let dream = support_store();
    let sha = current_sha(&dream, "/preferences.md");
    let wrong = "0".repeat(64);
    let run = dream.run_with_stdin(
        &["memory", "write", "/preferences.md", "--if-sha256", &wrong],
        Some("- overwrite\n"),
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error[memory_precondition_failed_error]: ")
            && run.stderr.contains(&sha)
            && run.stderr.contains(&wrong),
        "{}",
        run.stderr
    );
    assert_eq!(
        dream.ok(&["memory", "cat", "/preferences.md"]).stdout,
        "- prefer tabs\n- answer in English\n",
        "nothing was written"
    );
    for args in [
        vec![
            "memory",
            "rm",
            "/preferences.md",
            "--if-sha256",
            wrong.as_str(),
        ],
        vec![
            "memory",
            "mv",
            "/preferences.md",
            "/p.md",
            "--if-sha256",
            wrong.as_str(),
        ],
    ] {
        let run = dream.run(&args);
        assert_eq!(run.code, 3, "{args:?}: {run:?}");
    }
    let ok = dream.ok_with_stdin(
        &[
            "memory",
            "write",
            "/preferences.md",
            "--if-sha256",
            &sha.to_uppercase(),
        ],
        "- prefer spaces\n",
    );
    assert!(
        ok.stdout.starts_with("Updated /preferences.md"),
        "{}",
        ok.stdout
    );
    let gone = dream.run_with_stdin(
        &["memory", "write", "/missing.md", "--if-sha256", &sha],
        Some("x"),
    );
    assert_eq!(gone.code, 3, "{gone:?}");
    let bad = dream.run_with_stdin(
        &["memory", "write", "/p.md", "--if-sha256", "abc"],
        Some("x"),
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    let taken = dream.run(&["memory", "mv", "/preferences.md", "/notes/deploy.md"]);
    assert_eq!(
        taken.code, 3,
        "a move onto a used path is a conflict: {taken:?}"
    );
}

#[cfg(unix)]
fn editor_script(dream: &Dream, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dream.dir.path().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[cfg(unix)]
#[test]
fn edit_runs_the_editor_and_writes_back_only_a_change() {
    let dream = support_store();
    let append = editor_script(
        &dream,
        "append.sh",
        r#"printf -- '- keep answers short\n' >> "$1""#,
    );
    let edited = dream.run_env(
        &["memory", "edit", "/preferences.md"],
        None,
        &[("EDITOR", &append)],
    );
    assert_eq!(edited.code, 0, "{edited:?}");
    assert!(
        edited.stdout.starts_with("Updated /preferences.md"),
        "{}",
        edited.stdout
    );
    assert_eq!(
        dream.ok(&["memory", "cat", "/preferences.md"]).stdout,
        "- prefer tabs\n- answer in English\n- keep answers short\n"
    );

    let version = json(&dream.ok(&["--json", "stores", "show"]).stdout)["store_version"].clone();
    // VISUAL wins over EDITOR, and an editor command may carry arguments.
    let unchanged = dream.run_env(
        &["memory", "edit", "/preferences.md"],
        None,
        &[("VISUAL", "true --ignored"), ("EDITOR", &append)],
    );
    assert_eq!(
        unchanged.stdout,
        "No changes to /preferences.md; nothing written.\n"
    );
    assert_eq!(
        json(&dream.ok(&["--json", "stores", "show"]).stdout)["store_version"],
        version,
        "an unchanged file writes no version"
    );

    let created = dream.run_env(
        &["memory", "edit", "/new/idea.md"],
        None,
        &[("EDITOR", &append)],
    );
    assert!(
        created.stdout.starts_with("Created /new/idea.md"),
        "{created:?}"
    );
    assert_eq!(
        dream.ok(&["memory", "cat", "/new/idea.md"]).stdout,
        "- keep answers short\n"
    );

    let failing = dream.run_env(
        &["memory", "edit", "/preferences.md"],
        None,
        &[("EDITOR", "false")],
    );
    assert_eq!(
        (failing.code, failing.stderr.as_str()),
        (
            1,
            "error[editor_failed]: the editor `false` exited with status 1; nothing written\n"
        )
    );
}

#[cfg(unix)]
#[test]
fn an_edit_that_races_another_write_is_a_conflict_and_is_kept() {
    let dream = support_store();
    // The "editor" changes the memory through dream itself while the file is open.
    let racer = editor_script(
        &dream,
        "race.sh",
        &format!(
            "printf -- '- concurrent\\n' | DREAM_ID_SEED=900 '{}' --db '{}' memory write /preferences.md >/dev/null\nprintf -- '- mine\\n' >> \"$1\"",
            env!("CARGO_BIN_EXE_dream"),
            dream.db().display()
        ),
    );
    let run = dream.run_env(
        &["memory", "edit", "/preferences.md"],
        None,
        &[("EDITOR", &racer)],
    );
    assert_eq!(run.code, 3, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error[memory_precondition_failed_error]: "),
        "{}",
        run.stderr
    );
    let kept = run
        .stderr
        .trim_end()
        .rsplit_once("; your edit is kept in ")
        .map(|(_, path)| path.to_owned())
        .unwrap_or_else(|| panic!("says where the edit is: {}", run.stderr));
    assert_eq!(
        std::fs::read_to_string(&kept).unwrap(),
        "- prefer tabs\n- answer in English\n- mine\n",
        "the edit is not lost"
    );
    assert_eq!(
        dream.ok(&["memory", "cat", "/preferences.md"]).stdout,
        "- concurrent\n",
        "the other write is not overwritten"
    );
    let _ = std::fs::remove_dir_all(std::path::Path::new(&kept).parent().unwrap());
}
