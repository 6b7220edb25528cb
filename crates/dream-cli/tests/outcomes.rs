//! `dream outcomes` and `dream ingest --memory-store/--memory-version`.

use serde_json::Value;

use crate::cli::{Dream, shared_data};

#[test]
fn tau_bench_trials_as_before_and_after_versions_compare_with_the_true_rates() {
    let Some(path) = shared_data("tau-bench/historical_trajectories/gpt-4o-airline.json") else {
        return;
    };
    let dream = Dream::new();
    dream.ok(&["stores", "create", "airline"]);
    dream.ok_with_stdin(
        &["memory", "write", "/notes.md", "--store", "airline"],
        "- v1\n",
    );
    dream.ok_with_stdin(
        &["memory", "write", "/notes.md", "--store", "airline"],
        "- v2\n",
    );
    let records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let (before, after): (Vec<Value>, Vec<Value>) = records
        .into_iter()
        .partition(|r| r["trial"].as_u64().unwrap() < 2);
    let mut hand = Vec::new();
    for (name, group, version) in [("before.json", &before, "1"), ("after.json", &after, "2")] {
        std::fs::write(dream.path(name), serde_json::to_string(group).unwrap()).unwrap();
        dream.ok(&[
            "ingest",
            &dream.path(name),
            "--memory-store",
            "airline",
            "--memory-version",
            version,
        ]);
        let ok: f64 = group.iter().map(|r| r["reward"].as_f64().unwrap()).sum();
        hand.push(ok / group.len() as f64);
    }
    let html = dream.path("report.html");
    let run = dream.ok(&[
        "--json",
        "outcomes",
        "compare",
        "--store",
        "airline",
        "--baseline",
        "v1",
        "--candidate",
        "v2",
        "--html",
        &html,
    ]);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let completion = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "task_completion")
        .unwrap();
    assert_eq!(completion["baseline"]["n"], 100);
    assert_eq!(completion["candidate"]["n"], 100);
    assert!((completion["baseline"]["mean"].as_f64().unwrap() - hand[0]).abs() < 1e-12);
    assert!((completion["candidate"]["mean"].as_f64().unwrap() - hand[1]).abs() < 1e-12);
    let diff = hand[1] - hand[0];
    assert!(
        completion["ci_low"].as_f64().unwrap() < diff
            && diff < completion["ci_high"].as_f64().unwrap()
    );
    assert_eq!(completion["verdict"], "no_change");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("data-metric=\"task_completion\""));

    let table = dream.ok(&[
        "outcomes",
        "compare",
        "--store",
        "airline",
        "--baseline",
        "v1",
        "--candidate",
        "v2",
    ]);
    assert!(table.stdout.contains("task_completion"), "{}", table.stdout);
    assert!(
        table.stdout.contains("43.0%") && table.stdout.contains("41.0%"),
        "{}",
        table.stdout
    );

    let bad = dream.run(&[
        "ingest",
        &dream.path("after.json"),
        "--memory-store",
        "airline",
        "--memory-version",
        "9",
    ]);
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(
        bad.stderr.contains("--memory-version 9 does not exist"),
        "{}",
        bad.stderr
    );
}

#[test]
fn configuration_reads_yaml_and_toml_and_names_what_is_wrong() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "agent"]);
    std::fs::write(
        dream.path("outcomes.yaml"),
        "outcomes:\n  - name: resolved\n    description: the issue was fixed\n    signal: high\n  - name: polite\n    signal: low\npolicy:\n  auto_rollback: true\n  min_sessions: 40\n",
    )
    .unwrap();
    dream.ok(&["outcomes", "config", "set", &dream.path("outcomes.yaml")]);
    let shown: Value =
        serde_json::from_str(&dream.ok(&["--json", "outcomes", "config", "show"]).stdout).unwrap();
    assert_eq!(shown["outcomes"][0]["signal"], "high");
    assert_eq!(shown["policy"]["min_sessions"], 40);
    assert_eq!(shown["policy"]["watch"], true);

    std::fs::write(
        dream.path("outcomes.toml"),
        "lower_is_better = [\"handle_time\"]\n[[outcomes]]\nname = \"resolved\"\nsignal = \"medium\"\n",
    )
    .unwrap();
    dream.ok(&["outcomes", "config", "set", &dream.path("outcomes.toml")]);
    let shown: Value =
        serde_json::from_str(&dream.ok(&["--json", "outcomes", "config", "show"]).stdout).unwrap();
    assert_eq!(shown["lower_is_better"][0], "handle_time");

    std::fs::write(
        dream.path("bad.yaml"),
        "outcomes:\n  - name: resolved\n    signal: urgent\n",
    )
    .unwrap();
    let bad = dream.run(&["outcomes", "config", "set", &dream.path("bad.yaml")]);
    assert_eq!(bad.code, 1, "{bad:?}");
    assert!(
        bad.stderr.contains("bad.yaml") && bad.stderr.contains("urgent"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("invalid_config"), "{}", bad.stderr);

    let record = dream.run(&[
        "outcomes",
        "record",
        "--session",
        "nope",
        "--name",
        "csat",
        "--value",
        "4",
    ]);
    assert_eq!(record.code, 1, "{record:?}");
    let builtin = dream.run(&[
        "outcomes",
        "record",
        "--session",
        "nope",
        "--name",
        "error_rate",
        "--value",
        "4",
    ]);
    assert_eq!(builtin.code, 2, "{builtin:?}");
}
