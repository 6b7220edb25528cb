//! `dream stores …`, and how `--store` finds the store a memory command works on.

use crate::cli::Dream;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Runs `dream ARGS` a day after the fixed "now" of the other runs.
fn later(dream: &Dream, args: &[&str]) {
    let run = dream.run_env(args, None, &[("DREAM_NOW", "2026-03-02T09:00:00Z")]);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn create_list_show_and_update_a_store() {
    let dream = Dream::new();
    let created = dream.ok(&[
        "stores",
        "create",
        "support",
        "--description",
        "Lessons for the support agent",
        "--metadata",
        "team=billing",
        "--metadata",
        "tier=gold",
        "--protect",
        "/policies/",
    ]);
    insta::assert_snapshot!("stores_create", created.stdout);
    assert_eq!(
        created.stderr, "created dream store at [TMP]/store/dream.db\n",
        "the first store creates the database and says so"
    );
    dream.ok_with_stdin(
        &["memory", "write", "/policies/refunds.md"],
        "- refund within 30 days\n",
    );
    later(&dream, &["stores", "create", "coding"]);

    let list = dream.ok(&["stores", "list"]);
    insta::assert_snapshot!("stores_list", list.stdout);
    let show = dream.ok(&["stores", "show", "support"]);
    insta::assert_snapshot!("stores_show", show.stdout);

    let updated = dream.ok(&[
        "stores",
        "update",
        "support",
        "--name",
        "support-bot",
        "--metadata",
        "tier=platinum",
        "--unset-metadata",
        "team",
        "--protect",
        "/legal/",
        "--unprotect",
        "/policies/",
    ]);
    assert!(
        updated
            .stdout
            .starts_with("Updated memory store support-bot\n"),
        "{}",
        updated.stdout
    );
    assert!(updated.stdout.contains("  metadata     tier=platinum\n"));
    assert!(updated.stdout.contains("  protected    /legal/\n"));
    let value = json(
        &dream
            .ok(&["--json", "stores", "show", "support-bot"])
            .stdout,
    );
    assert_eq!(value["name"], "support-bot");
    assert_eq!(value["metadata"], serde_json::json!({"tier": "platinum"}));
    assert_eq!(value["protected_paths"], serde_json::json!(["/legal/"]));
    assert_eq!(value["store_version"], 1);
    assert_eq!(value["memory_count"], 1);
    assert_eq!(value["content_size_bytes"], 24);

    let typo = dream.run(&["stores", "update", "support-bot", "--unprotect", "/legl/"]);
    assert_eq!(
        (typo.code, typo.stderr.as_str()),
        (
            1,
            "error[invalid_request_error]: /legl/ is not a protected path of support-bot; it has \
             /legal/\n"
        )
    );
    let nothing = dream.run(&["stores", "update", "support-bot"]);
    assert_eq!(nothing.code, 2, "{nothing:?}");
    let bad = dream.run(&["stores", "create", "x", "--metadata", "no-equals-sign"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("\"no-equals-sign\" is not KEY=VALUE"));
}

#[test]
fn store_lists_in_json_have_the_stores_and_a_count() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "a"]);
    // Ids order by time only on a running clock; a later "now" makes b the newer store.
    later(&dream, &["stores", "create", "b"]);
    let value = json(&dream.ok(&["--json", "stores", "list"]).stdout);
    assert_eq!(value["count"], 2);
    let names: Vec<&str> = value["memory_stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"], "oldest first");
    assert!(
        value["memory_stores"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("memstore_")
    );
    assert_eq!(value["memory_stores"][0]["memory_count"], 0);
}

#[test]
fn a_name_in_use_cannot_be_taken_twice() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "notes"]);
    let again = dream.run(&["stores", "create", "notes"]);
    assert_eq!(again.code, 3, "{again:?}");
    assert!(
        again
            .stderr
            .starts_with("error[conflict_error]: a memory store named \"notes\" already exists"),
        "{}",
        again.stderr
    );
    assert_eq!(
        json(&dream.ok(&["--json", "stores", "list"]).stdout)["count"],
        1,
        "nothing was created"
    );
}

#[test]
fn memory_commands_find_their_store() {
    let dream = Dream::new();
    dream.ok(&["init"]);
    let none = dream.run(&["memory", "ls"]);
    assert_eq!(
        (none.code, none.stderr.as_str()),
        (
            1,
            "error[store_not_found]: no memory store yet; create one with `dream stores create \
             NAME`\n"
        )
    );

    let support = dream.ok(&["--json", "stores", "create", "support"]);
    let support_id = json(&support.stdout)["id"].as_str().unwrap().to_owned();
    dream.ok_with_stdin(&["memory", "write", "/a.md"], "in support\n");
    later(&dream, &["stores", "create", "coding"]);

    let several = dream.run(&["memory", "ls"]);
    assert_eq!(
        several.code, 2,
        "several stores is a usage error: {several:?}"
    );
    assert!(
        several.stderr.starts_with(&format!(
            "error[store_ambiguous]: there are 2 memory stores: support ({support_id}), coding \
             (memstore_"
        )),
        "{}",
        several.stderr
    );
    assert!(
        several
            .stderr
            .ends_with("; pass --store NAME or set DREAM_STORE\n"),
        "{}",
        several.stderr
    );

    let by_name = dream.ok(&["memory", "cat", "/a.md", "--store", "support"]);
    assert_eq!(by_name.stdout, "in support\n");
    let by_id = dream.ok(&["memory", "--store", &support_id, "cat", "/a.md"]);
    assert_eq!(by_id.stdout, "in support\n");
    let by_env = dream.run_env(
        &["memory", "cat", "/a.md"],
        None,
        &[("DREAM_STORE", "support")],
    );
    assert_eq!((by_env.code, by_env.stdout.as_str()), (0, "in support\n"));
    let other = dream.run_env(
        &["memory", "cat", "/a.md"],
        None,
        &[("DREAM_STORE", "coding")],
    );
    assert_eq!(
        other.code, 1,
        "the env var picks the other store: {other:?}"
    );
    assert!(other.stderr.contains("no memory at /a.md in store coding"));

    let unknown = dream.run(&["memory", "ls", "--store", "suport"]);
    assert_eq!(
        (unknown.code, unknown.stderr.as_str()),
        (
            1,
            "error[store_not_found]: no memory store is named or has the id \"suport\"; `dream \
             stores list --all` lists them\n"
        )
    );
}

#[test]
fn an_archived_store_is_read_only_and_its_name_can_be_reused() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "notes"]);
    dream.ok_with_stdin(&["memory", "write", "/a.md"], "before\n");
    let archived = dream.ok(&["stores", "archive", "notes"]);
    assert!(
        archived
            .stdout
            .starts_with("Archived memory store notes (memstore_"),
        "{}",
        archived.stdout
    );

    let write = dream.run_with_stdin(
        &["memory", "write", "/a.md", "--store", "notes"],
        Some("after\n"),
    );
    assert_eq!(write.code, 1, "{write:?}");
    assert!(
        write
            .stderr
            .starts_with("error[store_archived]: memory store memstore_")
            && write.stderr.ends_with(
                " is archived and read-only; reads, deletes and redactions still work\n"
            ),
        "{}",
        write.stderr
    );
    let read = dream.ok(&["memory", "cat", "/a.md", "--store", "notes"]);
    assert_eq!(read.stdout, "before\n", "reads still work");

    let default = dream.run(&["memory", "ls"]);
    assert_eq!(default.code, 1);
    assert_eq!(
        default.stderr,
        "error[store_not_found]: no memory store in use (1 archived); pass --store to read an \
         archived one, or create one with `dream stores create NAME`\n"
    );
    let list = dream.ok(&["stores", "list"]);
    assert!(
        list.stdout.starts_with("No memory stores in use"),
        "{}",
        list.stdout
    );
    let all = dream.ok(&["stores", "list", "--all"]);
    assert!(all.stdout.contains("  archived\n"), "{}", all.stdout);

    // A new store may take the archived one's name; the name then means the live one.
    dream.ok(&["stores", "create", "notes"]);
    let ls = dream.ok(&["memory", "ls", "--store", "notes"]);
    assert!(
        ls.stdout.starts_with("No memories in notes yet"),
        "{}",
        ls.stdout
    );
    let again = dream.ok(&["stores", "archive", "notes"]);
    assert!(again.stdout.starts_with("Archived"), "{}", again.stdout);
    let ambiguous = dream.run(&["memory", "ls", "--store", "notes"]);
    assert_eq!(ambiguous.code, 2, "{ambiguous:?}");
    assert!(
        ambiguous
            .stderr
            .starts_with("error[store_ambiguous]: 2 memory stores are named \"notes\": memstore_"),
        "{}",
        ambiguous.stderr
    );
    assert_eq!(ambiguous.stderr.matches("(archived)").count(), 2);
}
