//! Reviews racing each other as separate `dream` processes on one store file.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::cli::{Dream, shared_data};

/// Starts `dream ARGS` without waiting (same fixed environment as `Dream::run`).
fn spawn(dream: &Dream, args: &[&str], seed: u64) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dream"))
        .current_dir(dream.dir.path())
        .arg("--db")
        .arg(dream.db())
        .args(args)
        .env("DREAM_NOW", "2026-03-01T09:00:00Z")
        .env("DREAM_ID_SEED", (1_000 + seed).to_string())
        .env("NO_COLOR", "1")
        .env("DREAM_USER", "tester")
        .env_remove("DREAM_DB")
        .env_remove("DREAM_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn concurrent_approve_processes_apply_a_proposal_once_and_losers_exit_3() {
    let Some(data) = shared_data("claude-code") else {
        return;
    };
    let dream = Dream::new();
    dream.ok(&["ingest", &data.display().to_string()]);
    for trial in 0..3 {
        let name = format!("race{trial}");
        dream.ok(&["stores", "create", &name]);
        let run = dream.ok(&[
            "--json",
            "run",
            "--store",
            &name,
            "--output",
            "update-existing",
        ]);
        let value: Value = serde_json::from_str(&run.stdout).unwrap();
        let proposal = value["proposal_id"].as_str().unwrap().to_owned();
        let changes = value["changes"].as_array().unwrap().len();
        assert!(changes > 0);

        let children: Vec<_> = (0..4)
            .map(|i| {
                spawn(
                    &dream,
                    &["--json", "proposals", "approve", &proposal],
                    trial * 10 + i,
                )
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => {
                    let report: Value = serde_json::from_str(&stdout).unwrap();
                    applied += report["applied"].as_array().map_or(0, Vec::len);
                }
                Some(3) => assert!(
                    stdout.contains("review_conflict") || stderr.contains("already applied"),
                    "{stdout}{stderr}"
                ),
                other => panic!("exit {other:?}: {stdout}{stderr}"),
            }
        }
        assert_eq!(
            applied, changes,
            "trial {trial}: every change applied exactly once"
        );
        let lessons = dream.ok(&["memory", "cat", "/lessons/tool-errors.md", "--store", &name]);
        let markers = lessons.stdout.matches("<!-- dream:pattern ").count();
        let distinct: std::collections::BTreeSet<&str> = lessons
            .stdout
            .split("<!-- dream:pattern ")
            .skip(1)
            .filter_map(|p| p.split(' ').next())
            .collect();
        assert_eq!(
            markers,
            distinct.len(),
            "trial {trial}: a lesson written twice"
        );
    }
}
