//! `dream init`, `dream ingest`, `dream sessions list|show`.

use crate::cli::{Dream, example, shared_data};

#[test]
fn init_creates_the_store_once() {
    let dream = Dream::new();
    let first = dream.run(&["init"]);
    assert_eq!(first.code, 0, "{first:?}");
    insta::assert_snapshot!("init", first.stdout);
    assert!(dream.db().exists());
    let again = dream.run(&["init"]);
    assert_eq!(
        again.stdout,
        "dream store already exists at [TMP]/store/dream.db (0 sessions)\n"
    );
    let json = dream.run(&["--json", "init"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["created"], false);
}

fn ingest_examples(dream: &Dream) -> crate::cli::Run {
    dream.run(&[
        "ingest",
        &example("canonical.jsonl"),
        &example("openai-chat.json"),
        &example("anthropic-messages.jsonl"),
        &example("managed-agents-session.json"),
        &example("managed-agents-events.jsonl"),
    ])
}

#[test]
fn ingest_reports_what_it_stored_and_nothing_the_second_time() {
    let dream = Dream::new();
    let first = ingest_examples(&dream);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(
        first.stderr,
        "created dream store at [TMP]/store/dream.db\n"
    );
    insta::assert_snapshot!("ingest_examples", first.stdout);
    let second = ingest_examples(&dream);
    assert_eq!(
        second.stdout,
        "Nothing new: all 7 sessions in 5 files were already stored.\n"
    );
    assert_eq!(second.code, 0);
}

#[test]
fn ingest_json_lists_every_session() {
    let dream = Dream::new();
    let run = dream.run(&["--json", "ingest", &example("canonical.jsonl")]);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("ingest_json", run.stdout);
}

#[test]
fn ingest_reads_standard_input() {
    let dream = Dream::new();
    let line = r#"{"id": "piped", "messages": [{"role": "user", "content": "from a pipe"}]}"#;
    let run = dream.run_with_stdin(&["ingest", "-", "--agent", "cli"], Some(line));
    assert_eq!(run.code, 0, "{run:?}");
    let show = dream.run(&["sessions", "show", "piped"]);
    assert!(
        show.stdout.contains("source    canonical · -"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("agent     cli"), "{}", show.stdout);
}

#[test]
fn list_and_show_render_stored_sessions() {
    let dream = Dream::new();
    ingest_examples(&dream);
    let list = dream.run(&["sessions", "list"]);
    assert_eq!(list.code, 0);
    insta::assert_snapshot!("sessions_list", list.stdout);

    let errors = dream.run(&["sessions", "list", "--has-errors", "--agent", "support-bot"]);
    assert_eq!(errors.stdout.lines().count(), 3, "{}", errors.stdout);
    assert!(errors.stdout.contains("support-0001"));
    let satisfied = dream.run(&["sessions", "list", "--outcome", "satisfied"]);
    assert_eq!(satisfied.stdout.lines().count(), 4, "{}", satisfied.stdout);
    let rewarded = dream.run(&["sessions", "list", "--outcome", "reward=1", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&rewarded.stdout).unwrap();
    assert_eq!(value["count"], 1);
    assert_eq!(value["sessions"][0]["source_session_id"], "support-0001");

    let show = dream.run(&["sessions", "show", "sesn_011CZkZAtmR3yMPDzynEDxu7"]);
    assert_eq!(show.code, 0, "{show:?}");
    insta::assert_snapshot!("sessions_show_managed", show.stdout);
}

#[test]
fn show_folds_long_outputs_unless_full() {
    let dream = Dream::new();
    let long: Vec<String> = (1..=30).map(|i| format!("line {i}")).collect();
    let record = serde_json::json!({"id": "long", "messages": [
        {"role": "tool", "tool_call_id": "c", "name": "cat", "content": long.join("\n")}
    ]});
    dream.run_with_stdin(&["ingest", "-"], Some(&record.to_string()));
    let folded = dream.run(&["sessions", "show", "long"]);
    assert!(folded.stdout.contains("line 8\n"));
    assert!(!folded.stdout.contains("line 9\n"));
    assert!(
        folded
            .stdout
            .contains("… 22 more lines (--full shows them)")
    );
    let full = dream.run(&["sessions", "show", "long", "--full"]);
    assert!(full.stdout.contains("line 30\n"));
}

#[test]
fn show_json_is_canonical_jsonl_that_reingests_to_the_same_hash() {
    let Some(dir) = shared_data("claude-code") else {
        return;
    };
    let dream = Dream::new();
    let run = dream.run(&["ingest", &dir.display().to_string()]);
    assert_eq!(run.code, 0, "{run:?}");
    for id in [
        "258c7280-ae70-4798-800f-63464d01a85d",
        "fa812bfe-b295-4cca-9c2f-fdf01028cb46:agent-a93ccab",
    ] {
        let shown = dream.run(&["sessions", "show", id, "--json"]);
        assert_eq!(shown.code, 0);
        assert_eq!(shown.stdout.lines().count(), 1, "one JSONL record");
        let record: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
        let hash = record["dream"]["content_hash"].as_str().unwrap().to_owned();

        let other = Dream::new();
        let again = other.run_with_stdin(&["--json", "ingest", "-"], Some(&shown.stdout));
        let report: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
        assert_eq!(report["counts"]["created"], 1, "{}", again.stdout);
        let copy = other.run(&["sessions", "show", id, "--json"]);
        let copy: serde_json::Value = serde_json::from_str(&copy.stdout).unwrap();
        assert_eq!(copy["dream"]["content_hash"], hash.as_str());
        assert_eq!(copy["messages"], record["messages"]);

        // Into the store it came from: recognised, nothing new.
        let same = dream.run_with_stdin(&["ingest", "-"], Some(&shown.stdout));
        assert!(same.stdout.starts_with("Nothing new"), "{}", same.stdout);
    }
}
