//! `dream run`, `dream dreams …`, `dream proposals …`, `dream demo`.

use serde_json::Value;

use crate::cli::{Dream, shared_data};

fn claude_code_store() -> Option<Dream> {
    let dir = shared_data("claude-code")?;
    let dream = Dream::new();
    dream.ok(&["ingest", &dir.display().to_string()]);
    dream.ok(&["stores", "create", "agent"]);
    Some(dream)
}

#[test]
fn run_prints_the_proposal_with_diffs_evidence_and_held_back() {
    let Some(dream) = claude_code_store() else {
        return;
    };
    let run = dream.ok(&["run", "--output", "update-existing", "--min-support", "3"]);
    // The elapsed time is the one thing that varies between runs.
    insta::with_settings!({filters => vec![(r"completed in [0-9.]+s", "completed in [TIME]")]}, {
        insta::assert_snapshot!("run_claude_code", run.stdout);
    });
    assert!(run.stdout.contains("read 5 sessions (0 from cache)"));
}

#[test]
fn run_json_has_the_documented_shape() {
    let Some(dream) = claude_code_store() else {
        return;
    };
    let run = dream.ok(&["--json", "run", "--output", "update-existing"]);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    for key in [
        "dream_id",
        "proposal_id",
        "store_id",
        "base_store_version",
        "changes",
        "held_back",
    ] {
        assert!(value.get(key).is_some(), "missing {key}");
    }
    let change = &value["changes"][0];
    for key in [
        "id",
        "op",
        "path",
        "before",
        "after",
        "justification",
        "support",
        "evidence",
        "flags",
        "stats",
    ] {
        assert!(change.get(key).is_some(), "change lacks {key}");
    }
    for key in ["sessions", "users", "agents"] {
        assert!(change["support"][key].is_u64());
    }
    for key in ["session_id", "source_session_id", "event_index", "quote"] {
        assert!(
            change["evidence"][0].get(key).is_some(),
            "evidence lacks {key}"
        );
    }
    let held = &value["held_back"][0];
    for key in ["reason", "summary", "support", "evidence"] {
        assert!(held.get(key).is_some(), "held_back lacks {key}");
    }
    assert_eq!(value["dream"]["status"], "completed");
    assert_eq!(
        value["dream"]["usage"]["input_tokens"], 0,
        "the local engine uses no tokens"
    );

    // Same inputs, same proposal, byte for byte.
    let again = claude_code_store().unwrap();
    let second = again.ok(&["--json", "run", "--output", "update-existing"]);
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["dream"]["timings"] = Value::Null;
        v.to_string()
    };
    assert_eq!(
        strip(&value),
        strip(&serde_json::from_str(&second.stdout).unwrap())
    );
}

#[test]
fn approve_reject_and_accept_then_dream_again() {
    let Some(dream) = claude_code_store() else {
        return;
    };
    let run = dream.ok(&["--json", "run", "--output", "update-existing"]);
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    let proposal = value["proposal_id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = value["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 3);

    let accepted = dream.ok(&["proposals", "accept", &proposal, "--only", &ids[0]]);
    assert!(
        accepted.stdout.starts_with("Applied 1 change to memstore_"),
        "{}",
        accepted.stdout
    );
    let rejected = dream.ok(&[
        "proposals",
        "reject",
        &proposal,
        "--only",
        &ids[1],
        "--reason",
        "not useful",
    ]);
    assert!(rejected.stdout.contains("Rejected 1 change;"));
    let rest = dream.ok(&["proposals", "approve", &proposal]);
    assert!(
        rest.stdout
            .starts_with(&format!("Applied {} changes", ids.len() - 2)),
        "{}",
        rest.stdout
    );
    let shown = dream.ok(&["proposals", "show", &proposal]);
    let ending = |word: &str| {
        shown
            .stdout
            .lines()
            .filter(|l| l.ends_with(&format!("  {word}")))
            .count()
    };
    assert_eq!(ending("applied"), ids.len() - 1, "{}", shown.stdout);
    assert_eq!(ending("rejected"), 1);
    assert!(shown.stdout.contains("    rejected: not useful"));
    let lessons = dream.ok(&["memory", "cat", "/lessons/tool-errors.md"]);
    assert!(
        lessons.stdout.starts_with("# Lessons: tool errors\n"),
        "{}",
        lessons.stdout
    );

    let again = dream.ok(&["run", "--output", "update-existing"]);
    assert!(
        again
            .stdout
            .contains("No changes: memory already says what these sessions teach."),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("suppressed_by_rejection"),
        "the rejected lesson is held back and says why"
    );
    assert!(again.stdout.contains("read 5 sessions (5 from cache)"));

    let list = dream.ok(&["dreams", "list"]);
    assert_eq!(list.stdout.lines().count(), 3, "{}", list.stdout);
    let first_dream = value["dream_id"].as_str().unwrap();
    let show = dream.ok(&["dreams", "show", first_dream]);
    assert!(
        show.stdout.contains("completed") && show.stdout.contains("timings (ms)"),
        "{}",
        show.stdout
    );
    let cancel = dream.ok(&["dreams", "cancel", first_dream]);
    assert!(
        cancel
            .stdout
            .contains("already completed; nothing to cancel")
    );
    let proposals = dream.ok(&["proposals", "list"]);
    assert!(proposals.stdout.contains(&proposal));
}

#[test]
fn bad_dream_requests_fail_clearly() {
    let dream = Dream::new();
    dream.ok(&["init"]);
    let run = dream.run(&["run"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("no sessions to dream about"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("created memory store `default`"),
        "{}",
        run.stderr
    );
    let run = dream.run(&["run", "--engine", "gpt-9"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("error[invalid_request_error]: engine \"gpt-9\" cannot run here"),
        "{}",
        run.stderr
    );
    let run = dream.run(&["proposals", "show", "nonsense"]);
    assert_eq!(run.code, 2);
}

#[test]
fn demo_on_generated_data_says_so_and_finds_the_recurring_error() {
    let dream = Dream::new();
    let run = dream.run_env(
        &["demo", "--source", "generated"],
        None,
        &[("HOME", "/nonexistent")],
    );
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout
            .starts_with("Generated demo data: no Claude Code history in ~/.claude/projects and no ../shared/data here"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("GENERATED"));
    assert!(
        run.stdout.contains("`git push` fails with"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("add `--set-upstream origin <branch>`"));
    assert!(run.stdout.contains("Missing script"));
    assert!(run.stdout.contains("dream proposals approve prop_"));
}
