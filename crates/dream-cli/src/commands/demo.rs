//! `dream demo`: the README's first command. Ingests transcripts and runs a dream end
//! to end, printing the proposal: on the user's own Claude Code history when
//! `~/.claude/projects` exists, else on the real transcripts in `../shared/data`, else
//! on a small generated workload that says it is generated.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use dream_ingest::{IngestOptions, Ingestor, InputPath};
use dream_store::{NewMemoryStore, OpenMode, Store};
use serde_json::{Value, json};

use super::dreams::{OutputArg, RunArgs, run};
use super::open_store;
use crate::error::{CliError, CliResult};
use crate::output::{Output, bad, strong, thousands};
use crate::progress::IngestProgress;

/// Which transcripts the demo reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoSource {
    /// Your Claude Code history if there is one, else ../shared/data, else generated.
    Auto,
    /// `~/.claude/projects`.
    Claude,
    /// `../shared/data` (the project's real test transcripts).
    Shared,
    /// A small generated workload.
    Generated,
}

/// Arguments of `dream demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Which transcripts to read.
    #[arg(long, value_enum, default_value_t = DemoSource::Auto)]
    source: DemoSource,
    /// List every held-back entry.
    #[arg(long)]
    all: bool,
}

/// `~/.claude/projects` when it holds at least one transcript (`*.jsonl`).
fn claude_projects() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".claude/projects");
    let has_transcripts = walkdir::WalkDir::new(&path)
        .max_depth(4)
        .into_iter()
        .filter_map(Result::ok)
        .any(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "jsonl"));
    has_transcripts.then_some(path)
}

fn shared_data() -> Option<PathBuf> {
    let path = PathBuf::from("../shared/data");
    path.is_dir().then_some(path)
}

/// Writes the generated workload next to the store and returns its path.
fn write_generated(db: &Path) -> CliResult<PathBuf> {
    let dir = db
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Internal(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("demo-generated-transcripts.jsonl");
    let lines: Vec<String> = generated_sessions().iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n")
        .map_err(|e| CliError::Internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Twelve made-up sessions of a coding agent: a push without upstream (4 sessions, with
/// the fix), a missing npm script (3), a preference three users state, one-offs.
fn generated_sessions() -> Vec<Value> {
    let call = |id: &str, command: &str| json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Bash", "input": {"command": command}}]});
    let result = |id: &str, text: &str, error: bool| json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "is_error": error, "content": text}]});
    let mut sessions = Vec::new();
    let users = ["ana", "ben", "chen", "dora"];
    for i in 0..12_u32 {
        let user = users[i as usize % users.len()];
        let branch = format!("feature-{}", 100 + i);
        let mut messages = vec![
            json!({"role": "user", "content": format!("Please finish task {i} and push it.")}),
        ];
        if i % 3 != 2 {
            messages.push(call("a", "git push"));
            messages.push(result(
                "a",
                &format!("fatal: The current branch {branch} has no upstream branch.\nTo push the current branch and set the remote as upstream, use\n\n    git push --set-upstream origin {branch}"),
                true,
            ));
            messages.push(call(
                "b",
                &format!("git push --set-upstream origin {branch}"),
            ));
            messages.push(result(
                "b",
                &format!("branch '{branch}' set up to track 'origin/{branch}'."),
                false,
            ));
        }
        if i % 4 == 1 {
            messages.push(call("c", "npm run test:unit"));
            messages.push(result("c", "npm ERR! Missing script: \"test:unit\"", true));
            messages.push(call("d", "npm test"));
            messages.push(result("d", "42 passing", false));
        }
        messages.push(json!({"role": "assistant", "content": "Done: pushed and tested."}));
        if i % 4 == 3 {
            messages.push(
                json!({"role": "user", "content": "Thanks. I prefer pnpm over npm for this repo."}),
            );
        }
        if i == 5 {
            messages.push(json!({"role": "user", "content": "I prefer tabs in the Makefile."}));
        }
        sessions.push(json!({
            "id": format!("generated-{i:02}"),
            "agent": "demo-coding-agent",
            "user": user,
            "started_at": format!("2026-03-{:02}T09:00:00Z", 1 + i),
            "metadata": {"generated": "true"},
            "messages": messages,
            "reward": if i % 3 == 0 { 0.0 } else { 1.0 },
        }));
    }
    sessions
}

/// Runs the demo.
pub async fn cmd_demo(db: &Path, args: DemoArgs, out: Output) -> CliResult<u8> {
    let (path, label) = match args.source {
        DemoSource::Claude => (
            claude_projects().ok_or_else(|| {
                CliError::input("not_found_error", "there is no ~/.claude/projects here")
            })?,
            "claude",
        ),
        DemoSource::Shared => (
            shared_data().ok_or_else(|| {
                CliError::input(
                    "not_found_error",
                    "there is no ../shared/data here; run from the repository root",
                )
            })?,
            "shared",
        ),
        DemoSource::Generated => (write_generated(db)?, "generated"),
        DemoSource::Auto => match (claude_projects(), shared_data()) {
            (Some(path), _) => (path, "claude"),
            (None, Some(path)) => (path, "shared"),
            (None, None) => (write_generated(db)?, "generated"),
        },
    };
    let say = |text: String| -> CliResult<()> {
        if out.json {
            eprintln!("{text}");
            Ok(())
        } else {
            out.line(text)
        }
    };
    match label {
        "claude" => say(format!(
            "{} your own Claude Code history in {} (it stays on this machine, in {}).",
            strong().apply_to("Reading"),
            path.display(),
            db.display()
        ))?,
        "shared" => say(format!(
            "{} the real transcripts in {} (Claude Code sessions and tau-bench airline runs); \
             no Claude Code history in ~/.claude/projects here.",
            strong().apply_to("Reading"),
            path.display()
        ))?,
        _ => say(format!(
            "{} no Claude Code history in ~/.claude/projects and no ../shared/data here, so this demo reads GENERATED \
             sessions ({}): they are made up to show what a dream does.",
            bad().apply_to("Generated demo data:"),
            path.display()
        ))?,
    }

    let store = open_store(db, OpenMode::Create).await?;
    let progress = IngestProgress::new(out);
    let report = Ingestor::new(
        &store,
        IngestOptions {
            skip_invalid: true,
            ..IngestOptions::default()
        },
        &progress,
    )
    .ingest(&[InputPath::Path(path)])
    .await;
    progress.finish();
    let report = report?;
    say(format!(
        "Ingested {} from {} ({} new, {} skipped) into {}.",
        crate::output::count(report.sessions.len() as u64, "session", "sessions"),
        crate::output::count(report.counts.files, "file", "files"),
        thousands(report.counts.created),
        thousands(report.counts.skipped),
        db.display()
    ))?;

    let name = "demo";
    let stores = store.list_memory_stores(false).await?;
    let demo_store = match stores.into_iter().find(|s| s.name == name) {
        Some(found) => found,
        None => {
            store
                .create_memory_store(NewMemoryStore {
                    name: name.into(),
                    description: "Lessons from the demo transcripts, written by `dream demo`."
                        .into(),
                    ..NewMemoryStore::default()
                })
                .await?
        }
    };
    say(format!(
        "Dreaming on memory store `{name}` ({}), minimum support 3 sessions:\n",
        demo_store.id
    ))?;
    let run_args = RunArgs {
        store: Some(demo_store.id.to_string()),
        sessions: None,
        last: None,
        since: None,
        include_undated: false,
        agents: Vec::new(),
        metadata: Vec::new(),
        min_new_sessions: None,
        review: true,
        auto: false,
        min_support: Some(3),
        max_memory_bytes: None,
        max_memory_tokens: None,
        output: Some(OutputArg::UpdateExisting),
        supersede_pending: false,
        instructions: None,
        engine: dream_engine::dream::LOCAL_ENGINE.to_owned(),
        all: args.all,
    };
    let code = run(&store, &run_args, out).await;
    store.close().await;
    code
}
