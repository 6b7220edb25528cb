//! Issue 9, "review you can trust": pending proposals, one store per store, agent
//! filters, undated sessions, and the small fixes around review.

use serde_json::Value;

use crate::cli::{Dream, shared_data};

const TAU_BENCH: &str = "tau-bench/historical_trajectories/gpt-4o-airline.json";

/// A store `agent` with the Claude Code sessions ingested.
fn claude_code() -> Option<Dream> {
    let dir = shared_data("claude-code")?;
    let dream = Dream::new();
    dream.ok(&["ingest", &dir.display().to_string()]);
    dream.ok(&["stores", "create", "agent"]);
    Some(dream)
}

/// One database with the Claude Code sessions and the tau-bench airline runs.
fn both_agents() -> Option<Dream> {
    let tau = shared_data(TAU_BENCH)?;
    let dream = claude_code()?;
    dream.ok(&["ingest", &tau.display().to_string()]);
    Some(dream)
}

fn json(dream: &Dream, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let run = dream.ok(&all);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

#[test]
fn a_second_run_warns_about_pending_proposals_and_can_supersede_them() {
    let Some(dream) = claude_code() else {
        return;
    };
    let first = json(&dream, &["run"]);
    let first_id = first["proposal_id"].as_str().unwrap().to_owned();
    let pending_changes = first["changes"].as_array().unwrap().len();
    assert!(pending_changes > 0);
    assert_eq!(first["pending_proposals"], Value::Array(vec![]));

    // The second run says on stderr that the first proposal still waits, and --json
    // lists it.
    let second = dream.ok(&["--json", "run"]);
    assert!(
        second.stderr.contains("already has 1 proposal with") && second.stderr.contains(&first_id),
        "{}",
        second.stderr
    );
    let second: Value = serde_json::from_str(&second.stdout).unwrap();
    let listed = &second["pending_proposals"][0];
    assert_eq!(listed["proposal_id"], first_id.as_str());
    assert_eq!(listed["dream_id"], first["dream_id"]);
    assert_eq!(listed["pending_changes"], pending_changes as u64);

    // A third run supersedes both older proposals.
    let third = json(&dream, &["run", "--supersede-pending"]);
    let superseded = third["dream"]["superseded_proposal_ids"]
        .as_array()
        .unwrap();
    assert_eq!(superseded.len(), 2, "{third}");
    let shown = json(&dream, &["proposals", "show", &first_id]);
    let change = &shown["changes"][0];
    assert_eq!(change["status"], "superseded");
    assert!(
        change["status_reason"]
            .as_str()
            .unwrap()
            .contains(third["proposal_id"].as_str().unwrap()),
        "the reason names the newer proposal: {change}"
    );

    // Superseded changes cannot be approved any more.
    let approve = dream.ok(&["proposals", "approve", &first_id]);
    assert!(
        approve.stdout.contains("already superseded") && approve.stdout.contains("Nothing to do"),
        "{}",
        approve.stdout
    );
    // Only the newest proposal is pending now.
    let fourth = dream.ok(&["run"]);
    assert!(
        fourth.stderr.contains("already has 1 proposal with"),
        "{}",
        fourth.stderr
    );
}

#[test]
fn run_writes_to_the_store_itself_unless_the_store_says_create_new() {
    let Some(dream) = claude_code() else {
        return;
    };
    let store = json(&dream, &["stores", "show", "agent"]);
    let store_id = store["id"].as_str().unwrap().to_owned();

    // No setting: the store itself, in review mode; the run names it.
    let run = dream.ok(&["run"]);
    assert!(
        run.stdout.contains(&format!(
            "Output: memory store agent ({store_id}), the input store itself."
        )),
        "{}",
        run.stdout
    );

    // The store's setting: a new store derived from it, with its gates.
    dream.ok(&[
        "stores",
        "update",
        "agent",
        "--output",
        "create-new",
        "--protect",
        "/policies/",
    ]);
    let shown = dream.ok(&["stores", "show", "agent"]);
    assert!(
        shown.stdout.contains("dream output create_new"),
        "{}",
        shown.stdout
    );
    let run = json(&dream, &["run", "--supersede-pending"]);
    let output_id = run["dream"]["output_store_id"].as_str().unwrap().to_owned();
    assert_ne!(output_id, store_id);
    let output = json(&dream, &["stores", "show", &output_id]);
    assert_eq!(output["derived_from"], store_id.as_str());
    assert_eq!(output["dream_config"]["output_behavior"], "create_new");
    assert_eq!(output["protected_paths"][0], "/policies/");
    let shown = dream.ok(&["stores", "show", &output_id]);
    assert!(
        shown
            .stdout
            .contains(&format!("derived from {store_id} (agent)")),
        "{}",
        shown.stdout
    );

    // A rejection on the derived store suppresses look-alikes in the next dream on
    // the original store: suppression follows the lineage.
    let proposal = run["proposal_id"].as_str().unwrap();
    let rejected = run["changes"][0]["id"].as_str().unwrap();
    dream.ok(&[
        "proposals",
        "reject",
        proposal,
        "--only",
        rejected,
        "--reason",
        "not for us",
    ]);
    let again = json(
        &dream,
        &["run", "--store", "agent", "--output", "update-existing"],
    );
    assert!(
        again["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != rejected),
        "the rejected change came back"
    );
    assert!(
        again["held_back"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["reason"] == "suppressed_by_rejection"),
        "no suppressed look-alike: {}",
        again["held_back"]
    );
}

#[test]
fn stores_delete_asks_first_and_refuses_without_a_terminal() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "scratch"]);
    let refused = dream.run(&["stores", "delete", "scratch"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("not a terminal") && refused.stderr.contains("--yes"),
        "{}",
        refused.stderr
    );
    dream.ok(&["stores", "show", "scratch"]);
    let deleted = dream.ok(&["stores", "delete", "scratch", "--yes"]);
    assert!(
        deleted.stdout.starts_with("Deleted memory store scratch"),
        "{}",
        deleted.stdout
    );
    assert_eq!(dream.run(&["stores", "show", "scratch"]).code, 1);
}

#[test]
fn a_store_pinned_to_the_coding_agent_learns_no_airline_lesson() {
    let Some(dream) = both_agents() else {
        return;
    };
    let sessions = json(&dream, &["sessions", "list"]);
    let agents: std::collections::BTreeSet<String> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["agent"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(agents.len(), 2, "two agents in one database: {agents:?}");
    let coding = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source_kind"] == "claude_code")
        .and_then(|s| s["agent"].as_str())
        .unwrap()
        .to_owned();
    let airline_words = ["flight", "reservation", "gift card", "payment"];
    let mentions_airline = |run: &Value| {
        run["changes"].as_array().unwrap().iter().any(|c| {
            let text = c["after"].as_str().unwrap().to_lowercase();
            airline_words.iter().any(|w| text.contains(w))
        })
    };

    // Unpinned, the airline runs leak into the coding agent's memory.
    let mixed = json(&dream, &["run", "--min-support", "3"]);
    assert!(
        mentions_airline(&mixed),
        "the unfiltered dream has airline lessons"
    );

    dream.ok(&["stores", "update", "agent", "--agent", &coding]);
    let pinned = json(
        &dream,
        &["run", "--min-support", "3", "--supersede-pending"],
    );
    assert_eq!(pinned["dream"]["filters"]["agents"][0], coding.as_str());
    assert_eq!(pinned["dream"]["counts"]["sessions_read"], 5);
    assert!(!mentions_airline(&pinned), "{}", pinned["changes"]);
    assert!(!pinned["changes"].as_array().unwrap().is_empty());

    // The same with --agent on one run, and a metadata filter that matches nothing.
    dream.ok(&["stores", "update", "agent", "--clear-agents"]);
    let named = json(&dream, &["run", "--agent", &coding, "--supersede-pending"]);
    assert_eq!(named["dream"]["counts"]["sessions_read"], 5);
    let none = dream.run(&["run", "--metadata", "segment=nobody"]);
    assert_eq!(none.code, 1, "{none:?}");
    assert!(
        none.stderr.contains("no sessions to dream about"),
        "{}",
        none.stderr
    );
}

#[test]
fn since_leaves_undated_sessions_out_and_says_so() {
    let Some(dream) = both_agents() else {
        return;
    };
    // The Claude Code sessions started 2026-02-11/12; the tau-bench runs have no time.
    let run = dream.ok(&["run", "--since", "30d"]);
    assert!(run.stdout.contains("read 5 sessions"), "{}", run.stdout);
    assert!(
        run.stdout.contains("by each session's own start time"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Undated: 200 sessions with no start time of their own left out"),
        "{}",
        run.stdout
    );
    let run = json(&dream, &["run", "--since", "30d", "--supersede-pending"]);
    assert_eq!(run["dream"]["counts"]["undated"], 200);
    assert_eq!(run["dream"]["counts"]["sessions_read"], 5);
    assert_eq!(
        run["dream"]["undated_session_ids"]
            .as_array()
            .unwrap()
            .len(),
        200
    );
    assert_eq!(run["dream"]["window_time"], "started_at");

    let with = json(
        &dream,
        &[
            "run",
            "--since",
            "30d",
            "--include-undated",
            "--supersede-pending",
        ],
    );
    assert_eq!(with["dream"]["counts"]["sessions_read"], 205);
    let shown = dream.ok(&["dreams", "show", with["dream_id"].as_str().unwrap()]);
    assert!(shown.stdout.contains("200 undated"), "{}", shown.stdout);
}

#[test]
fn outcome_failed_matches_reward_zero_and_unknown_outcomes_are_errors() {
    let Some(tau) = shared_data(TAU_BENCH) else {
        return;
    };
    let dream = Dream::new();
    dream.ok(&["ingest", &tau.display().to_string()]);
    let failed = json(&dream, &["sessions", "list", "--outcome", "failed"]);
    assert_eq!(failed["count"], 116, "116 runs have reward 0");
    let satisfied = json(&dream, &["sessions", "list", "--outcome", "satisfied"]);
    assert_eq!(satisfied["count"], 84);
    let unknown = dream.run(&["sessions", "list", "--outcome", "failure"]);
    assert_eq!(unknown.code, 2, "{unknown:?}");
    assert!(
        unknown.stderr.contains("accepted: failed") && unknown.stderr.contains("NAME=VALUE"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn evidence_ids_can_be_pasted_into_sessions_show() {
    let Some(dream) = claude_code() else {
        return;
    };
    let run = dream.ok(&["run"]);
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("evidence "))
        .expect("an evidence line");
    let id = line.split_whitespace().nth(1).unwrap();
    assert!(
        id.starts_with("sesn_") && id.contains('#') && !id.contains('…'),
        "{line}"
    );
    let shown = dream.ok(&["sessions", "show", id]);
    assert!(
        shown.stdout.contains(id.split('#').next().unwrap()),
        "{}",
        shown.stdout
    );
}

#[test]
fn memory_log_shows_moves_and_if_sha256_takes_a_prefix() {
    let dream = Dream::new();
    dream.ok(&["stores", "create", "notes"]);
    dream.ok_with_stdin(&["memory", "write", "/a.md"], "- one\n");
    let ls = json(&dream, &["memory", "ls"]);
    let sha = ls["memories"][0]["content_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    // The 8 digits `ls` shows are enough; a wrong prefix is a conflict (exit 3).
    let wrong = dream.run(&["memory", "mv", "/a.md", "/b.md", "--if-sha256", "00000000"]);
    assert_eq!(wrong.code, 3, "{wrong:?}");
    dream.ok(&["memory", "mv", "/a.md", "/b.md", "--if-sha256", &sha[..8]]);
    let short = dream.run(&["memory", "rm", "/b.md", "--if-sha256", &sha[..7]]);
    assert_eq!(
        short.code, 2,
        "fewer than 8 digits is a usage error: {short:?}"
    );

    let log = dream.ok(&["memory", "log"]);
    let moved = log
        .stdout
        .lines()
        .find(|l| l.contains("moved"))
        .unwrap_or_else(|| panic!("{}", log.stdout));
    assert!(moved.contains("/a.md → /b.md"), "{moved}");
    assert!(!log.stdout.contains("modified"), "{}", log.stdout);
}

#[test]
fn counts_of_one_are_singular() {
    let Some(dream) = claude_code() else {
        return;
    };
    let run = json(&dream, &["run"]);
    let proposal = run["proposal_id"].as_str().unwrap().to_owned();
    let first = run["changes"][0]["id"].as_str().unwrap().to_owned();
    let accepted = dream.ok(&["proposals", "accept", &proposal, "--only", &first]);
    assert!(
        accepted.stdout.starts_with("Applied 1 change to"),
        "{}",
        accepted.stdout
    );
    let second = run["changes"][1]["id"].as_str().unwrap().to_owned();
    let rejected = dream.ok(&[
        "proposals",
        "reject",
        &proposal,
        "--only",
        &second,
        "--reason",
        "no",
    ]);
    assert!(
        rejected.stdout.starts_with("Rejected 1 change;"),
        "{}",
        rejected.stdout
    );
}
