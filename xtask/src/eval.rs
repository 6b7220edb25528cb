//! `cargo xtask eval`: what the `local` dream learns, measured.
//!
//! Two inputs, both run through the real pipeline (ingest → dream → approve all as a
//! person) on a fresh SQLite store:
//!
//! - **real**: the transcripts in `../shared/data`, against the hand labels in
//!   `xtask/eval/labels.json` (the lessons a careful engineer would write, and the
//!   findings that are noise);
//! - **planted**: a generated workload (`planted_sessions`) with a planted truth for
//!   every pattern kind, several wordings each in English and French or German, and
//!   distractors that must not become lessons. Its phrase lists are written here and
//!   share nothing with the engine's cue lists.
//!
//! Per kind it prints recall (planted or labelled findings that became a lesson or the
//! right change), right wording (of those found, how many say the concrete action
//! without one-session details), and false lessons (lessons from noise or distractors);
//! then, after approving the whole proposal, the contradictory and duplicate notes left
//! in memory. Lessons that match no label are listed so a person can label them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use dream_engine::dream::{DreamRequest, DreamRun, Quiet, run_dream};
use dream_engine::review::approve;
use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress};
use dream_store::{MemoryWrite, NewMemoryStore, OpenMode, SqliteStore, Store};
use dream_types::{
    Actor, Change, ChangeOp, DreamConfig, DreamMode, FixedClock, Flag, OutputBehavior, Proposal,
    RandomIds, SessionWindow, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Arguments of `cargo xtask eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Which inputs: `real`, `planted` or `all`.
    #[arg(long, default_value = "all", value_parser = ["real", "planted", "all"])]
    only: String,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    json: bool,
}

/// A word a text must contain, or alternatives of which one must occur.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
enum Term {
    One(String),
    Any(Vec<String>),
}

impl Term {
    fn found_in(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        match self {
            Term::One(t) => text.contains(&t.to_lowercase()),
            Term::Any(ts) => ts.iter().any(|t| text.contains(&t.to_lowercase())),
        }
    }
}

fn all_in(terms: &[Term], text: &str) -> bool {
    terms.iter().all(|t| t.found_in(text))
}

#[derive(Debug, Deserialize)]
struct Labels {
    lessons: Vec<LessonLabel>,
    noise: Vec<NoiseLabel>,
}

#[derive(Debug, Deserialize)]
struct LessonLabel {
    dataset: String,
    id: String,
    kind: String,
    topic: Vec<Term>,
    #[serde(default)]
    expect: Vec<Term>,
    #[serde(default)]
    forbid: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct NoiseLabel {
    dataset: String,
    id: String,
    topic: Vec<Term>,
}

/// One kind's figures.
#[derive(Debug, Default, Clone, Serialize)]
struct KindScore {
    expected: u64,
    found: u64,
    right_wording: u64,
    false_lessons: u64,
    missed: Vec<String>,
    wrong_wording: Vec<String>,
    false_lesson_ids: Vec<String>,
}

/// One input's result.
#[derive(Debug, Default, Serialize)]
struct Report {
    input: String,
    lessons_proposed: u64,
    kinds: BTreeMap<String, KindScore>,
    unlabelled_lessons: Vec<String>,
    contradictions_left: u64,
    duplicates_left: u64,
}

impl Report {
    fn kind(&mut self, kind: &str) -> &mut KindScore {
        self.kinds.entry(kind.to_owned()).or_default()
    }
}

/// The texts a change puts in memory, one string.
fn change_text(change: &Change) -> String {
    change
        .edits
        .iter()
        .map(|e| e.after.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Lessons proposed: changes written from a pattern (adds, refreshes, supersessions).
fn lessons(proposal: &Proposal) -> Vec<&Change> {
    proposal
        .changes
        .iter()
        .filter(|c| {
            c.pattern_key.is_some()
                && matches!(c.op, ChangeOp::Add | ChangeOp::Update | ChangeOp::Supersede)
        })
        .collect()
}

/// The outcome of one dream over one input.
struct Dreamed {
    proposal: Proposal,
    /// Every memory after approving the whole proposal as a person.
    memory: Vec<(String, String)>,
}

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        Timestamp::parse("2026-06-01T09:00:00Z").unwrap_or_else(|_| Timestamp::now()),
    ))
}

/// Ingests `inputs` into a fresh store holding `memories` (written by a person), dreams
/// over every session and approves the whole proposal.
async fn dream_over(dir: &Path, inputs: &[PathBuf], memories: &[(&str, &str)]) -> Result<Dreamed> {
    let clock = clock();
    let store = SqliteStore::open_with(
        &dir.join("dream.db"),
        OpenMode::Create,
        clock.clone(),
        Arc::new(RandomIds),
    )
    .await?;
    let paths: Vec<InputPath> = inputs.iter().cloned().map(InputPath::Path).collect();
    let report = Ingestor::new(&store, IngestOptions::default(), &NoProgress)
        .ingest(&paths)
        .await?;
    if !report.skipped.is_empty() {
        bail!("ingest skipped sessions: {:?}", report.skipped);
    }
    let s = store
        .create_memory_store(NewMemoryStore {
            name: "eval".into(),
            ..Default::default()
        })
        .await?;
    let person = Actor::User {
        user_id: "user_eval".into(),
    };
    for (path, content) in memories {
        store
            .write_memories(
                &s.id,
                &[MemoryWrite::Create {
                    path: (*path).into(),
                    content: (*content).into(),
                }],
                &person,
            )
            .await?;
    }
    let request = DreamRequest {
        filters: dream_types::WindowFilters::default(),
        supersede_pending: false,
        memory_store_id: s.id.clone(),
        window: SessionWindow::All,
        min_new_sessions: None,
        engine: "local".into(),
        instructions: None,
        output_behavior: OutputBehavior::UpdateExisting,
        mode: DreamMode::Review,
        config: Some(DreamConfig::default()),
        min_support: None,
    };
    let proposal = match run_dream(&store, &request, &*clock, &Quiet).await? {
        DreamRun::Ran {
            proposal: Some(p), ..
        } => *p,
        other => bail!("the dream did not run: {other:?}"),
    };
    approve(&store, &proposal.id, None, &person, &*clock, false).await?;
    let memory = store
        .list_memories(&s.id, None)
        .await?
        .into_iter()
        .map(|m| (m.path, m.content))
        .collect();
    Ok(Dreamed { proposal, memory })
}

fn temp_dir(name: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("dream-eval-{}-{name}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Scores a proposal against hand labels of one dataset.
fn score_real(dataset: &str, labels: &Labels, dreamed: &Dreamed) -> Report {
    let mut report = Report {
        input: format!("real: {dataset}"),
        ..Default::default()
    };
    let proposed = lessons(&dreamed.proposal);
    report.lessons_proposed = proposed.len() as u64;
    let mut explained = vec![false; proposed.len()];
    for label in labels.lessons.iter().filter(|l| l.dataset == dataset) {
        let score = report.kind(&label.kind);
        score.expected += 1;
        let hit = proposed
            .iter()
            .position(|c| all_in(&label.topic, &change_text(c)));
        match hit {
            None => score.missed.push(label.id.clone()),
            Some(i) => {
                explained[i] = true;
                score.found += 1;
                let text = change_text(proposed[i]);
                let forbidden = label
                    .forbid
                    .iter()
                    .any(|f| text.to_lowercase().contains(&f.to_lowercase()));
                if all_in(&label.expect, &text) && !forbidden {
                    score.right_wording += 1;
                } else {
                    score.wrong_wording.push(label.id.clone());
                }
            }
        }
    }
    for noise in labels.noise.iter().filter(|n| n.dataset == dataset) {
        let score = report.kind("noise");
        score.expected += 1;
        for (i, change) in proposed.iter().enumerate() {
            if all_in(&noise.topic, &change_text(change)) {
                explained[i] = true;
                score.false_lessons += 1;
                score.false_lesson_ids.push(noise.id.clone());
            }
        }
    }
    for (i, change) in proposed.iter().enumerate() {
        if !explained[i] {
            let text: String = change_text(change).chars().take(140).collect();
            report.unlabelled_lessons.push(format!(
                "{} {}: {text}",
                change.op.as_str(),
                change.path
            ));
        }
    }
    report.duplicates_left = duplicate_notes(&dreamed.memory);
    report
}

/// Notes (bullets) in memory whose text, lowercased and without markers, clauses and
/// punctuation, equals another's.
fn duplicate_notes(memory: &[(String, String)]) -> u64 {
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    for (_, content) in memory {
        for line in content.lines().filter(|l| l.trim_start().starts_with("- ")) {
            let core = line.split("<!--").next().unwrap_or(line);
            let core = core.split(" _").next().unwrap_or(core);
            let key: String = core
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || c.is_whitespace())
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            *seen.entry(key).or_default() += 1;
        }
    }
    seen.values().map(|n| n.saturating_sub(1)).sum()
}

async fn run_real(labels: &Labels) -> Result<Vec<Report>> {
    let data = repo_root().join("../shared/data");
    if !data.exists() {
        bail!(
            "{} is absent: the real labels need ../shared/data beside the repository",
            data.display()
        );
    }
    let mut reports = Vec::new();
    for (dataset, input) in [
        ("claude-code", data.join("claude-code")),
        (
            "tau-bench",
            data.join("tau-bench/historical_trajectories/gpt-4o-airline.json"),
        ),
    ] {
        let dir = temp_dir(dataset)?;
        let dreamed = dream_over(&dir, &[input], &[])
            .await
            .with_context(|| format!("dreaming over {dataset}"))?;
        reports.push(score_real(dataset, labels, &dreamed));
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(reports)
}

// ---------------------------------------------------------------------------------
// The planted workload.

/// What a planted truth is, and how it is recognised in the proposal and memory.
#[derive(Debug, Clone)]
enum Expect {
    /// A lesson whose text contains every `topic` term; `expect`: the right wording;
    /// `path`: where it must go (a prefix).
    Lesson {
        topic: Vec<Term>,
        expect: Vec<Term>,
        path: Option<&'static str>,
    },
    /// Exactly one lesson for a group of paraphrases (a second one is a duplicate).
    OneLesson { topic: Vec<Term> },
    /// The old value replaced by the new one; after approval no note holds the old.
    Supersede {
        old: &'static str,
        new: &'static str,
    },
    /// The notes naming `topic` merged into one.
    Merge { topic: Vec<Term>, notes: u64 },
    /// A change flagged needs_human quoting both sides.
    Contradiction { a: &'static str, b: &'static str },
    /// Must not become a lesson.
    NotALesson { topic: Vec<Term> },
}

#[derive(Debug, Clone)]
struct Plant {
    kind: &'static str,
    id: &'static str,
    expect: Expect,
}

fn t(s: &str) -> Term {
    Term::One(s.to_owned())
}

fn any(ss: &[&str]) -> Term {
    Term::Any(ss.iter().map(|s| (*s).to_owned()).collect())
}

fn plants() -> Vec<Plant> {
    vec![
        Plant {
            kind: "tool_error_fix",
            id: "status-closed",
            expect: Expect::Lesson {
                topic: vec![t("set_status")],
                expect: vec![t("closed")],
                path: None,
            },
        },
        Plant {
            kind: "error_tied_to_failure",
            id: "fare-sold-out",
            expect: Expect::Lesson {
                topic: vec![t("hold_fare")],
                expect: vec![t("failed more often")],
                path: None,
            },
        },
        Plant {
            kind: "workflow",
            id: "verify-before-address",
            expect: Expect::Lesson {
                topic: vec![t("verify_identity"), t("update_address")],
                expect: vec![],
                path: Some("/lessons/workflows.md"),
            },
        },
        Plant {
            kind: "paraphrased_preference",
            id: "brief-answers",
            expect: Expect::OneLesson {
                topic: vec![any(&["short", "brief", "court", "kurz", "concise"])],
            },
        },
        Plant {
            kind: "segment_preference",
            id: "pdf-invoices",
            expect: Expect::Lesson {
                topic: vec![t("pdf")],
                expect: vec![],
                path: Some("/segments/enterprise/"),
            },
        },
        Plant {
            kind: "recurring_request",
            id: "ticket-history",
            expect: Expect::Lesson {
                topic: vec![t("history")],
                expect: vec![],
                path: None,
            },
        },
        Plant {
            kind: "supersession",
            id: "staging-db",
            expect: Expect::Supersede {
                old: "staging-db-1",
                new: "staging-db-2",
            },
        },
        Plant {
            kind: "duplicate_merge",
            id: "order-number",
            expect: Expect::Merge {
                topic: vec![any(&["order number", "order no"])],
                notes: 3,
            },
        },
        Plant {
            kind: "contradiction",
            id: "cc-manager",
            expect: Expect::Contradiction {
                a: "Always CC the account manager",
                b: "Never CC the account manager",
            },
        },
        Plant {
            kind: "transient_failure",
            id: "invoice-503",
            expect: Expect::NotALesson {
                topic: vec![any(&["503", "unavailable"])],
            },
        },
        Plant {
            kind: "distractor",
            id: "one-customers-card",
            expect: Expect::NotALesson {
                topic: vec![t("9725")],
            },
        },
    ]
}

/// The memory the planted workload starts from (as a person wrote it).
const PLANTED_MEMORY: &[(&str, &str)] = &[
    (
        "/notes/infra.md",
        "# Infrastructure\n\n- Our staging database is staging-db-1.\n- Deploys go out on Tuesdays.\n",
    ),
    (
        "/notes/cancellations.md",
        "# Cancellations\n\n- Confirm the order number before cancelling.\n- Before any cancellation, check the order number.\n- Cancellations: verify the order no. first.\n- Refunds over 500 EUR need a supervisor.\n",
    ),
    (
        "/notes/refunds.md",
        "# Refunds\n\n- Always CC the account manager on refund emails.\n- Never CC the account manager on refund emails.\n",
    ),
];

/// A tiny deterministic generator (a 64-bit LCG, Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() as usize % items.len()]
    }
}

struct Sessions {
    lines: Vec<Value>,
    call: u64,
}

impl Sessions {
    fn call_pair(&mut self, tool: &str, input: Value, output: &str, error: bool) -> [Value; 2] {
        self.call += 1;
        let id = format!("call_{}", self.call);
        [
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function", "function": {"name": tool, "arguments": input.to_string()}}]}),
            json!({"role": "tool", "tool_call_id": id, "name": tool, "content": if error { format!("Error: {output}") } else { output.to_owned() }}),
        ]
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: String,
        user: &str,
        segment: &str,
        day: u64,
        messages: Vec<Value>,
        reward: f64,
    ) {
        self.lines.push(json!({
            "id": id,
            "agent": "support",
            "user": user,
            "started_at": format!("2026-05-{:02}T10:00:00Z", 1 + day % 28),
            "metadata": {"segment": segment},
            "messages": messages,
            "reward": reward,
        }));
    }
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

fn agent(text: &str) -> Value {
    json!({"role": "assistant", "content": text})
}

/// Writes the planted workload: about 60 sessions of a support agent.
fn planted_sessions(path: &Path) -> Result<()> {
    let mut rng = Lcg(7);
    let mut s = Sessions {
        lines: Vec::new(),
        call: 0,
    };
    let users = [
        "ana", "ben", "chloe", "dmitri", "eva", "farid", "gus", "hana",
    ];
    let mut n = 0_u64;
    let mut next_id = |prefix: &str| {
        n += 1;
        (format!("{prefix}-{n:03}"), n)
    };

    // Tool error with a fix: an invalid status value, then the allowed one.
    for _ in 0..5 {
        let (id, day) = next_id("status");
        let mut m = vec![user(rng.pick(&[
            "Please close ticket 4411, it is solved.",
            "Ticket 9120 can be marked as finished.",
            "We are done with ticket 3307, close it.",
        ]))];
        m.extend(s.call_pair(
            "set_status",
            json!({"ticket": 4411, "status": "done"}),
            "invalid status 'done' (allowed: open, pending, closed)",
            true,
        ));
        m.extend(s.call_pair(
            "set_status",
            json!({"ticket": 4411, "status": "closed"}),
            "{\"ok\": true}",
            false,
        ));
        m.push(agent("The ticket is closed."));
        let who = rng.pick(&users);
        s.push(id, who, "smb", day, m, 1.0);
    }
    // An error tied to failure: every session with it fails; similar ones without succeed.
    for i in 0..12 {
        let (id, day) = next_id("fare");
        let failing = i < 6;
        let mut m = vec![user(
            "I need to hold the cheapest fare to Lisbon for Friday.",
        )];
        m.extend(s.call_pair(
            "hold_fare",
            json!({"route": "LHR-LIS", "class": "Y"}),
            if failing {
                "fare class Y sold out for this departure"
            } else {
                "{\"held\": true}"
            },
            failing,
        ));
        m.push(agent(if failing {
            "I could not hold that fare."
        } else {
            "The fare is held."
        }));
        let who = rng.pick(&users);
        s.push(id, who, "smb", day, m, if failing { 0.0 } else { 1.0 });
    }
    // A workflow: verify identity before changing an address works; skipping it fails.
    for i in 0..14 {
        let (id, day) = next_id("address");
        let verified = i < 8;
        let mut m = vec![user(
            "I moved, please change my address to 12 Rue Oberkampf.",
        )];
        if verified {
            m.extend(s.call_pair(
                "verify_identity",
                json!({"customer": 77}),
                "{\"verified\": true}",
                false,
            ));
        }
        m.extend(s.call_pair(
            "update_address",
            json!({"customer": 77, "address": "12 Rue Oberkampf"}),
            "{\"ok\": true}",
            false,
        ));
        m.push(agent("Your address is updated."));
        let reward = if verified || i == 13 { 1.0 } else { 0.0 };
        let who = rng.pick(&users);
        s.push(id, who, "smb", day, m, reward);
    }
    // One preference in many wordings, two languages, several users.
    let brief = [
        ("ana", "Please keep your answers short."),
        ("ben", "Too long again. I asked for brief replies."),
        ("chloe", "Shorter responses, please — just the essentials."),
        (
            "dmitri",
            "Réponds plus court s'il te plaît, pas de longs paragraphes.",
        ),
        ("eva", "C'est trop long, fais bref."),
        ("farid", "Bitte kürzer antworten, nur das Wichtigste."),
    ];
    for (who, text) in brief {
        let (id, day) = next_id("brief");
        let m = vec![
            user("What is the status of my refund?"),
            agent(
                "Your refund was issued on May 3 and should arrive within five business days, depending on your bank's processing times and any holidays in between.",
            ),
            user(text),
            agent("Refund issued May 3; arriving within 5 days."),
        ];
        s.push(id, who, "smb", day, m, 1.0);
    }
    // A preference of one segment only.
    let pdf = [
        ("iris", "Send the invoices as PDF attachments please."),
        ("jon", "I prefer invoices in PDF format."),
        ("kai", "Could you always attach the invoice as a PDF?"),
        ("lea", "PDF invoices only, please."),
    ];
    for (who, text) in pdf {
        let (id, day) = next_id("pdf");
        let m = vec![
            user("I need last month's invoice."),
            agent("Here is the link to your invoice."),
            user(text),
        ];
        s.push(id, who, "enterprise", day, m, 1.0);
    }
    // A recurring request from one user, in other words each time.
    let history = [
        "Can you summarise the ticket history first?",
        "Start with a summary of the ticket history.",
        "Give me the history of this ticket before anything else.",
        "First the ticket history summary, please.",
    ];
    for text in history {
        let (id, day) = next_id("history");
        let m = vec![
            user(text),
            agent("Here is the ticket history: opened May 2, escalated May 4."),
        ];
        s.push(id, "moritz", "smb", day, m, 1.0);
    }
    // A fact that changed.
    let staging = [
        "FYI staging is now staging-db-2.",
        "Note that the staging database moved to staging-db-2.",
        "We switched staging to staging-db-2 yesterday.",
        "staging is now staging-db-2, update your notes",
    ];
    for text in staging {
        let (id, day) = next_id("staging");
        let who = rng.pick(&users);
        s.push(id, who, "smb", day, vec![user(text), agent("Noted.")], 1.0);
    }
    // Transient failures: a 503 that a plain retry fixes, no effect on outcomes.
    for i in 0..5 {
        let (id, day) = next_id("invoice");
        let mut m = vec![user("Show me invoice 2291.")];
        m.extend(s.call_pair(
            "fetch_invoice",
            json!({"invoice": 2291 + i}),
            "503 Service Unavailable: upstream busy, retry later",
            true,
        ));
        m.extend(s.call_pair(
            "fetch_invoice",
            json!({"invoice": 2291 + i}),
            "{\"total\": 120}",
            false,
        ));
        m.push(agent("Invoice 2291 totals 120 EUR."));
        let who = rng.pick(&users);
        s.push(id, who, "smb", day, m, 1.0);
    }
    // Distractor: one customer's own details, repeated.
    for _ in 0..3 {
        let (id, day) = next_id("card");
        let m = vec![
            user("Charge the card ending 9725, as always, and a direct flight this time."),
            agent("Done, charged the card ending 9725."),
        ];
        s.push(id, "nora", "smb", day, m, 1.0);
    }
    let text: Vec<String> = s.lines.iter().map(Value::to_string).collect();
    std::fs::write(path, text.join("\n") + "\n")?;
    Ok(())
}

fn score_planted(dreamed: &Dreamed) -> Report {
    let mut report = Report {
        input: "planted".into(),
        ..Default::default()
    };
    let proposed = lessons(&dreamed.proposal);
    report.lessons_proposed = proposed.len() as u64;
    let mut explained = vec![false; proposed.len()];
    let memory_text: String = dreamed
        .memory
        .iter()
        .map(|(_, c)| c.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for plant in plants() {
        let score = report.kind(plant.kind);
        score.expected += 1;
        let matching = |topic: &[Term]| -> Vec<usize> {
            proposed
                .iter()
                .enumerate()
                .filter(|(_, c)| all_in(topic, &change_text(c)))
                .map(|(i, _)| i)
                .collect()
        };
        match &plant.expect {
            Expect::Lesson {
                topic,
                expect,
                path,
            } => {
                let hits = matching(topic);
                for &i in &hits {
                    explained[i] = true;
                }
                match hits.first() {
                    None => score.missed.push(plant.id.into()),
                    Some(&i) => {
                        score.found += 1;
                        let c = proposed[i];
                        if all_in(expect, &change_text(c))
                            && path.is_none_or(|p| c.path.starts_with(p))
                        {
                            score.right_wording += 1;
                        } else {
                            score.wrong_wording.push(plant.id.into());
                        }
                    }
                }
            }
            Expect::OneLesson { topic } => {
                let hits = matching(topic);
                for &i in &hits {
                    explained[i] = true;
                }
                if hits.is_empty() {
                    score.missed.push(plant.id.into());
                } else {
                    score.found += 1;
                    if hits.len() == 1 {
                        score.right_wording += 1;
                    } else {
                        score.wrong_wording.push(format!(
                            "{} ({} lessons for one preference)",
                            plant.id,
                            hits.len()
                        ));
                    }
                }
            }
            Expect::Supersede { old, new } => {
                let done = dreamed.proposal.changes.iter().any(|c| {
                    c.op == ChangeOp::Supersede && c.before.contains(old) && c.after.contains(new)
                });
                for (i, c) in proposed.iter().enumerate() {
                    if change_text(c).contains(new) {
                        explained[i] = true;
                    }
                }
                if done {
                    score.found += 1;
                    score.right_wording += 1;
                } else {
                    score.missed.push(plant.id.into());
                }
                if memory_text.contains(old) && memory_text.contains(new) {
                    report.contradictions_left += 1;
                }
            }
            Expect::Merge { topic, notes } => {
                let merged = dreamed.proposal.changes.iter().any(|c| {
                    c.op == ChangeOp::Merge
                        && c.edits.len() as u64 >= *notes
                        && all_in(topic, &change_text(c))
                });
                let left = memory_text
                    .lines()
                    .filter(|l| l.trim_start().starts_with("- ") && all_in(topic, l))
                    .count() as u64;
                if merged {
                    score.found += 1;
                    score.right_wording += 1;
                } else {
                    score.missed.push(plant.id.into());
                }
                report.duplicates_left += left.saturating_sub(1);
            }
            Expect::Contradiction { a, b } => {
                let flagged = dreamed.proposal.changes.iter().any(|c| {
                    c.flags.contains(&Flag::NeedsHuman)
                        && (c.justification.contains(a)
                            || change_text(c).contains(a)
                            || c.before.contains(a))
                        && (c.justification.contains(b)
                            || change_text(c).contains(b)
                            || c.before.contains(b))
                });
                if flagged {
                    score.found += 1;
                    score.right_wording += 1;
                } else {
                    score.missed.push(plant.id.into());
                }
                if memory_text.contains(a) && memory_text.contains(b) {
                    report.contradictions_left += 1;
                }
            }
            Expect::NotALesson { topic } => {
                let hits = matching(topic);
                for &i in &hits {
                    explained[i] = true;
                }
                // Held back (or ignored) is right: count it as found.
                if hits.is_empty() {
                    score.found += 1;
                    score.right_wording += 1;
                } else {
                    score.false_lessons += hits.len() as u64;
                    score.false_lesson_ids.push(plant.id.into());
                }
            }
        }
    }
    for (i, change) in proposed.iter().enumerate() {
        if !explained[i] {
            let text: String = change_text(change).chars().take(140).collect();
            report.unlabelled_lessons.push(format!(
                "{} {}: {text}",
                change.op.as_str(),
                change.path
            ));
            report.kind("unplanted").false_lessons += 1;
        }
    }
    report.duplicates_left += duplicate_notes(&dreamed.memory);
    report
}

async fn run_planted() -> Result<Report> {
    let dir = temp_dir("planted")?;
    let input = dir.join("planted.jsonl");
    planted_sessions(&input)?;
    let dreamed = dream_over(&dir, &[input], PLANTED_MEMORY).await?;
    let report = score_planted(&dreamed);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(report)
}

fn print(report: &Report) {
    println!(
        "\n== {} ({} lessons proposed)",
        report.input, report.lessons_proposed
    );
    println!(
        "{:<24} {:>8} {:>8} {:>8} {:>8}  notes",
        "kind", "expected", "found", "right", "false"
    );
    for (kind, s) in &report.kinds {
        let mut notes = Vec::new();
        if !s.missed.is_empty() {
            notes.push(format!("missed: {}", s.missed.join(", ")));
        }
        if !s.wrong_wording.is_empty() {
            notes.push(format!("wording: {}", s.wrong_wording.join(", ")));
        }
        if !s.false_lesson_ids.is_empty() {
            notes.push(format!("false: {}", s.false_lesson_ids.join(", ")));
        }
        println!(
            "{kind:<24} {:>8} {:>8} {:>8} {:>8}  {}",
            s.expected,
            s.found,
            s.right_wording,
            s.false_lessons,
            notes.join("; ")
        );
    }
    let expected: u64 = report
        .kinds
        .iter()
        .filter(|(k, _)| *k != "noise" && *k != "unplanted")
        .map(|(_, s)| s.expected)
        .sum();
    let found: u64 = report
        .kinds
        .iter()
        .filter(|(k, _)| *k != "noise" && *k != "unplanted")
        .map(|(_, s)| s.found)
        .sum();
    let false_lessons: u64 = report.kinds.values().map(|s| s.false_lessons).sum();
    let true_lessons = report.lessons_proposed.saturating_sub(false_lessons);
    println!(
        "recall {found}/{expected}; precision {true_lessons}/{} lessons; contradictory notes left {}; duplicate notes left {}",
        report.lessons_proposed, report.contradictions_left, report.duplicates_left
    );
    for lesson in &report.unlabelled_lessons {
        println!("  unlabelled: {lesson}");
    }
}

/// Runs the evaluation and prints its figures.
///
/// # Errors
/// When `../shared/data` is missing for the real labels, the labels file is
/// unreadable, or a dream fails.
pub fn cmd_eval(args: EvalArgs) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut reports = Vec::new();
        if args.only != "planted" {
            let path = repo_root().join("xtask/eval/labels.json");
            let labels: Labels = serde_json::from_str(
                &std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
            )
            .with_context(|| format!("parsing {}", path.display()))?;
            reports.extend(run_real(&labels).await?);
        }
        if args.only != "real" {
            reports.push(run_planted().await?);
        }
        if args.json {
            println!("{}", serde_json::to_string_pretty(&reports)?);
        } else {
            for report in &reports {
                print(report);
            }
        }
        Ok(())
    })
}
