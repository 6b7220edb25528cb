//! Errors and exit codes: 0 ok, 1 input error, 2 usage error, 3 conflict.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::cli::{Dream, example};

#[test]
fn reading_a_missing_store_says_how_to_create_one() {
    let dream = Dream::new();
    let run = dream.run(&["sessions", "list"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error[store_not_initialized]: no dream store at [TMP]/store/dream.db; run `dream init` or pass --db PATH\n"
    );
    assert!(
        !dream.db().exists(),
        "a read command must not create the store"
    );
    let json = dream.run(&["--json", "sessions", "list"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["type"], "error");
    assert_eq!(value["error"]["type"], "store_not_initialized");
}

#[test]
fn unknown_sessions_and_bad_arguments() {
    let dream = Dream::new();
    dream.run(&["init"]);
    let run = dream.run(&["sessions", "show", "sesn_nope"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "error[not_found_error]: session sesn_nope not found\n")
    );
    let run = dream.run(&["sessions", "list", "--since", "soonish"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--since \"soonish\" is not a duration"),
        "{}",
        run.stderr
    );
    let run = dream.run(&["ingest"]);
    assert_eq!(run.code, 2, "clap usage errors exit 2");
    let run = dream.run(&["ingest", "[TMP]/nowhere.jsonl"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .starts_with("error[not_found_error]: cannot read [TMP]/nowhere.jsonl"),
        "{}",
        run.stderr
    );
}

#[test]
fn bad_input_stops_with_exit_1_and_conflicts_exit_3() {
    let dream = Dream::new();
    let bad = dream.dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n{\"id\": \"b\", \"messages\": 5}\n").unwrap();
    let run = dream.run(&["ingest", &bad.display().to_string()]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!("ingest_bad_input", run.stdout);
    let skip = dream.run(&["ingest", "--skip-invalid", &bad.display().to_string()]);
    assert_eq!(
        skip.code, 0,
        "with --skip-invalid the valid sessions are stored and the run succeeds"
    );

    std::fs::write(
        &bad,
        "{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": \"changed\"}]}\n",
    )
    .unwrap();
    let conflict = dream.run(&["ingest", &bad.display().to_string()]);
    assert_eq!(conflict.code, 3, "{conflict:?}");
    let replaced = dream.run(&["ingest", "--replace", &bad.display().to_string()]);
    assert_eq!(replaced.code, 0);
    assert!(
        replaced.stdout.contains("1 replaced"),
        "{}",
        replaced.stdout
    );
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dream = Dream::new();
    // Enough sessions that the listing outgrows the pipe buffer.
    let lines: Vec<String> = (0..3000)
        .map(|i| {
            format!(
                "{{\"id\": \"s{i}\", \"messages\": [{{\"role\": \"user\", \"content\": \"m\"}}]}}"
            )
        })
        .collect();
    dream.run_with_stdin(&["ingest", "-"], Some(&lines.join("\n")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dream"))
        .arg("--db")
        .arg(dream.db())
        .args(["sessions", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("ID"));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let _ = example("canonical.jsonl");
}
