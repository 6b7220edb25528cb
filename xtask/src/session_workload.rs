//! A workload for the dream engine: canonical JSONL sessions that carry what a dream
//! looks for (DESIGN.md, "The dream pipeline", step 2), in known proportions.
//!
//! - **Recurring tool errors**: 40 kinds, 24 met by coding agents and 16 by airline
//!   support agents, each with variable parts (ids, numbers, dates, times, branch names,
//!   paths, quoted values, hashes) that the engine's signatures mask, so that one kind
//!   recurs across many sessions with different text. Kinds are drawn with a Zipf-like
//!   skew (weight `1 / rank^0.8`): a few are common, most are rare. One kind (GitHub's
//!   SAML SSO refusal) is met only by users of the `enterprise` segment; seven kinds
//!   make a session fail more often.
//! - **One-off errors**: about one error in seven is made of pseudo-words, so that no
//!   two sessions share it: the long tail a dream must hold back, not learn.
//! - **Fixes**: at a per-kind rate, a failure is followed by a successful retry of the
//!   same tool with changed input, or by a preparatory command and the same call again
//!   (`run sqlx migrate run first`).
//! - **User turns**: corrections and preferences, a few phrasings recurring across users
//!   (two users in five have a habitual preference) and many one-offs; keyed facts
//!   ("Our deploy branch is now release-12.") whose values change every 30 days of
//!   simulated time. Other user turns are written to trigger none of the engine's cues.
//!
//! 200 users (120 developers, 80 airline customers), each in one of 3 segments; 5
//! agents; both message dialects of [`crate::workload`]; 8–30 messages per session
//! (short ones the most common), about 3.5 KB; a reward on 85% of sessions. Sessions start 30–900 s apart from
//! 2024-05-01.
//!
//! Each session is written as soon as it is built, so memory does not grow with the
//! number of sessions, and the file of `n` sessions is a prefix of the file of `m > n`
//! sessions with the same seed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::workload::Domain::{Airline, Coding};
use crate::workload::{
    AIRPORTS, CABINS, Call, Dialect, Domain, FIRST_NAMES, FIRST_START_UNIX_SECS, HEX, IDENTS,
    LAST_NAMES, MODULES, Rng, Transcript, UPPER36, rfc3339,
};

/// Users of the workload; the first [`DEVELOPERS`] use coding agents, the rest airline
/// support.
const USERS: u64 = 200;
const DEVELOPERS: u64 = 120;
/// Segments (a user's plan), and the share of users in each, in percent.
const SEGMENTS: [(&str, u64); 3] = [("free", 45), ("team", 35), ("enterprise", 20)];
/// Share of sessions run by coding agents.
const CODING_SHARE: f64 = 0.6;
/// Fewest and most messages a session aims for (a session with many errors and fixes
/// may end up to four messages over).
const MIN_MESSAGES: u64 = 8;
const MAX_MESSAGES: u64 = 30;
/// Share of errors that are one-offs rather than a recurring kind.
const ONE_OFF_SHARE: f64 = 0.15;
/// Share of sessions with a reward.
const REWARD_SHARE: f64 = 0.85;
/// Chance that a session fails: by default, with a harmful error kind, and the extra
/// chance per error left unfixed.
const BASE_FAILURE: f64 = 0.12;
const HARMFUL_FAILURE: f64 = 0.6;
const UNFIXED_FAILURE: f64 = 0.08;
/// Simulated time after which a user's keyed facts take new values.
const FACT_EPOCH_SECS: i64 = 30 * 86_400;

/// What a generated workload holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionWorkloadStats {
    /// Bytes written, newlines included.
    pub size_bytes: u64,
    /// Sessions (lines).
    pub sessions: u64,
    /// Messages over all sessions.
    pub messages: u64,
    /// Tool calls over all sessions.
    pub tool_calls: u64,
    /// Failed calls of a recurring kind.
    pub recurring_errors: u64,
    /// Failed calls with a one-off error.
    pub one_off_errors: u64,
    /// Failures followed by their fix.
    pub fixes: u64,
    /// User corrections, recurring and one-off.
    pub corrections: u64,
    /// Stated preferences, recurring and one-off.
    pub preferences: u64,
    /// Keyed-fact statements.
    pub facts: u64,
}

/// Writes `sessions` sessions to `path` (created or truncated).
///
/// # Errors
///
/// When the file cannot be created or written.
pub fn write_file(path: &Path, sessions: u64, seed: u64) -> Result<SessionWorkloadStats> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let stats = write_sessions(&mut out, sessions, seed)
        .and_then(|stats| Ok(out.flush().map(|()| stats)?))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(stats)
}

/// Writes `sessions` sessions, one JSON object per line.
///
/// # Errors
///
/// When `out` fails.
pub fn write_sessions(
    out: &mut impl Write,
    sessions: u64,
    seed: u64,
) -> Result<SessionWorkloadStats> {
    let mut generator = Generator::new(seed);
    let mut line = Vec::with_capacity(16 * 1024);
    let mut stats = SessionWorkloadStats::default();
    for index in 0..sessions {
        let record = generator.session(index, &mut stats)?;
        line.clear();
        serde_json::to_writer(&mut line, &record)?;
        line.push(b'\n');
        out.write_all(&line)?;
        stats.size_bytes += line.len() as u64;
        stats.sessions += 1;
    }
    Ok(stats)
}

/// A failed call and, when the kind has one, the calls that fix it (the last one is the
/// successful retry).
#[derive(Debug)]
struct Failure {
    failed: Call,
    fix: Vec<Call>,
}

/// A recurring tool error.
#[derive(Debug)]
struct ErrorKind {
    /// Short name, for reading a proposal against this list; tests print it.
    #[cfg_attr(not(test), expect(dead_code, reason = "documentation outside tests"))]
    name: &'static str,
    domain: Domain,
    /// The only segment whose users meet it.
    segment: Option<&'static str>,
    /// Whether a session that meets it fails more often.
    harmful: bool,
    /// Share of occurrences followed by the fix (0 when the kind has none).
    fix_rate: f64,
    build: fn(&mut Rng) -> Failure,
}

impl ErrorKind {
    const fn new(name: &'static str, domain: Domain, build: fn(&mut Rng) -> Failure) -> Self {
        Self {
            name,
            domain,
            segment: None,
            harmful: false,
            fix_rate: 0.0,
            build,
        }
    }

    /// Shows the fix in this share of occurrences.
    const fn fixed(self, fix_rate: f64) -> Self {
        Self { fix_rate, ..self }
    }

    const fn harmful(self) -> Self {
        Self {
            harmful: true,
            ..self
        }
    }

    const fn only_in(self, segment: &'static str) -> Self {
        Self {
            segment: Some(segment),
            ..self
        }
    }
}

const fn coding(name: &'static str, build: fn(&mut Rng) -> Failure) -> ErrorKind {
    ErrorKind::new(name, Coding, build)
}

const fn airline(name: &'static str, build: fn(&mut Rng) -> Failure) -> ErrorKind {
    ErrorKind::new(name, Airline, build)
}

/// The recurring kinds, most common first within each domain.
const KINDS: [ErrorKind; 40] = [
    coding("edit_old_string", edit_old_string).fixed(0.8),
    coding("git_no_upstream", git_no_upstream).fixed(0.7),
    coding("cargo_unresolved_name", cargo_unresolved_name),
    coding("pytest_assertion", pytest_assertion),
    coding("read_enoent", read_enoent).fixed(0.7),
    coding("precommit_format", precommit_format).fixed(0.7),
    coding("npm_eresolve", npm_eresolve).fixed(0.6),
    coding("cargo_test_panic", cargo_test_panic),
    coding("psql_relation", psql_relation).fixed(0.6),
    coding("git_pathspec", git_pathspec).fixed(0.6),
    coding("github_saml_sso", github_saml_sso)
        .harmful()
        .only_in("enterprise"),
    coding("clippy_unused", clippy_unused),
    coding("docker_port", docker_port).fixed(0.6).harmful(),
    coding("http_429", http_429).fixed(0.5).harmful(),
    coding("sql_column", sql_column).fixed(0.6),
    coding("git_rebase_conflict", git_rebase_conflict),
    coding("curl_refused", curl_refused).fixed(0.3),
    coding("terraform_lock", terraform_lock)
        .fixed(0.4)
        .harmful(),
    coding("jest_fail", jest_fail),
    coding("go_test_fail", go_test_fail),
    coding("write_eacces", write_eacces).fixed(0.5),
    coding("pip_no_version", pip_no_version).fixed(0.5),
    coding("make_error", make_error),
    coding("kubectl_no_kind", kubectl_no_kind),
    airline("flight_unavailable", flight_unavailable).fixed(0.6),
    airline("user_not_found", user_not_found).fixed(0.8),
    airline("reservation_not_found", reservation_not_found).fixed(0.6),
    airline("payment_not_found", payment_not_found)
        .fixed(0.7)
        .harmful(),
    airline("not_enough_seats", not_enough_seats).fixed(0.5),
    airline("cancel_basic_economy", cancel_basic_economy).harmful(),
    airline("no_direct_flights", no_direct_flights).fixed(0.5),
    airline("change_window", change_window).harmful(),
    airline("calculate_invalid", calculate_invalid).fixed(0.7),
    airline("baggage_allowance", baggage_allowance).fixed(0.5),
    airline("certificate_limit", certificate_limit).fixed(0.5),
    airline("invalid_birth_date", invalid_birth_date).fixed(0.6),
    airline("flight_cancelled", flight_cancelled),
    airline("passenger_count", passenger_count).fixed(0.4),
    airline("insurance_late", insurance_late),
    airline("refund_pending", refund_pending),
];

/// A user and what stays the same across their sessions.
#[derive(Debug, Clone)]
struct User {
    id: String,
    domain: Domain,
    segment: &'static str,
    /// A recurring preference this user states now and then.
    habit: Option<&'static str>,
    /// Seeds the values of this user's keyed facts.
    salt: u64,
}

impl User {
    fn generate(rng: &mut Rng, index: u64) -> Self {
        let domain = if index < DEVELOPERS { Coding } else { Airline };
        let id = match domain {
            Coding => format!("dev-{index:03}"),
            Airline => format!(
                "{}_{}_{}",
                rng.pick(FIRST_NAMES),
                rng.pick(LAST_NAMES),
                rng.range(1000, 9999)
            ),
        };
        let mut draw = rng.below(100);
        let mut segment = SEGMENTS[0].0;
        for (name, percent) in SEGMENTS {
            if draw < percent {
                segment = name;
                break;
            }
            draw -= percent;
        }
        let habit = rng
            .chance(0.4)
            .then(|| rng.pick(recurring_preferences(domain)));
        Self {
            id,
            domain,
            segment,
            habit,
            salt: rng.next_u64(),
        }
    }
}

/// Cumulative weights of the recurring kinds of one domain, for a skewed draw.
#[derive(Debug)]
struct KindTable {
    /// (index in [`KINDS`], cumulative weight).
    entries: Vec<(usize, u64)>,
}

impl KindTable {
    fn new(domain: Domain) -> Self {
        let mut total = 0;
        let entries = KINDS
            .iter()
            .enumerate()
            .filter(|(_, k)| k.domain == domain)
            .enumerate()
            .map(|(rank, (index, _))| {
                total += (1_000_000.0 / ((rank + 1) as f64).powf(0.8)) as u64;
                (index, total)
            })
            .collect();
        Self { entries }
    }

    /// Draws a kind that `user` can meet (redrawing kinds of other segments).
    fn draw(&self, rng: &mut Rng, user: &User) -> usize {
        let total = self.entries.last().map_or(1, |e| e.1);
        loop {
            let point = rng.below(total);
            let index = self
                .entries
                .iter()
                .find(|(_, cumulative)| point < *cumulative)
                .map_or(self.entries[0].0, |e| e.0);
            if KINDS[index].segment.is_none_or(|s| s == user.segment) {
                return index;
            }
        }
    }
}

/// One part of a session's body.
#[derive(Debug)]
enum Block {
    /// A failed call, and its fix when the session shows it.
    Error { failure: Failure, fixed: bool },
    /// The agent answers, then the user says this.
    UserTurn(String),
}

/// Builds sessions from a seed.
#[derive(Debug)]
struct Generator {
    rng: Rng,
    seed: u64,
    users: Vec<User>,
    coding_kinds: KindTable,
    airline_kinds: KindTable,
    next_start_unix_secs: i64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        // Users come from their own stream so that they do not depend on the sessions.
        let mut user_rng = Rng::new(seed ^ 0x7573_6572_7300_0000);
        let users = (0..USERS)
            .map(|i| User::generate(&mut user_rng, i))
            .collect();
        Self {
            rng: Rng::new(seed),
            seed,
            users,
            coding_kinds: KindTable::new(Coding),
            airline_kinds: KindTable::new(Airline),
            next_start_unix_secs: FIRST_START_UNIX_SECS,
        }
    }

    /// Returns session number `index` as a canonical record, and counts what it holds.
    fn session(&mut self, index: u64, stats: &mut SessionWorkloadStats) -> Result<Value> {
        let rng = &mut self.rng;
        let start = self.next_start_unix_secs;
        self.next_start_unix_secs += rng.range(30, 900) as i64;
        let user = if rng.chance(CODING_SHARE) {
            // The lower of two draws: some users have many more sessions than others.
            &self.users[rng.below(DEVELOPERS).min(rng.below(DEVELOPERS)) as usize]
        } else {
            let customers = USERS - DEVELOPERS;
            &self.users[(DEVELOPERS + rng.below(customers).min(rng.below(customers))) as usize]
        };
        let domain = user.domain;
        let dialect = if rng.chance(0.5) {
            Dialect::OpenAi
        } else {
            Dialect::Anthropic
        };
        let agent = match domain {
            Coding => rng.pick(&["code-agent", "code-agent", "review-bot", "migration-agent"]),
            Airline => rng.pick(&[
                "airline-support",
                "airline-support",
                "airline-support",
                "airline-support-v2",
            ]),
        };

        // What happens in the session, decided up front.
        let kinds = match domain {
            Coding => &self.coding_kinds,
            Airline => &self.airline_kinds,
        };
        let mut blocks = Vec::new();
        let mut harmful = false;
        let mut unfixed = 0;
        let errors = match rng.below(100) {
            0..=34 => 0,
            35..=69 => 1,
            70..=89 => 2,
            _ => 3,
        };
        for _ in 0..errors {
            if rng.chance(ONE_OFF_SHARE) {
                stats.one_off_errors += 1;
                unfixed += 1;
                blocks.push(Block::Error {
                    failure: one_off_failure(rng, domain),
                    fixed: false,
                });
                continue;
            }
            let kind = &KINDS[kinds.draw(rng, user)];
            let failure = (kind.build)(rng);
            let fixed = !failure.fix.is_empty() && rng.chance(kind.fix_rate);
            stats.recurring_errors += 1;
            stats.fixes += u64::from(fixed);
            unfixed += u64::from(!fixed);
            harmful |= kind.harmful;
            blocks.push(Block::Error { failure, fixed });
        }
        let mut turns = Vec::new();
        if rng.chance(0.10) {
            turns.push(rng.pick(recurring_corrections(domain)).to_owned());
            stats.corrections += 1;
        } else if rng.chance(0.06) {
            turns.push(one_off_correction(rng));
            stats.corrections += 1;
        }
        let preference = match user.habit {
            Some(habit) if rng.chance(0.12) => Some(habit.to_owned()),
            _ if rng.chance(0.03) => Some(rng.pick(recurring_preferences(domain)).to_owned()),
            _ if rng.chance(0.05) => Some(one_off_preference(rng)),
            _ => None,
        };
        if let Some(text) = preference {
            turns.push(text);
            stats.preferences += 1;
        }
        if rng.chance(0.12) {
            turns.push(fact_statement(rng, user, start));
            stats.facts += 1;
        }
        for turn in turns {
            let at = rng.below(blocks.len() as u64 + 1) as usize;
            blocks.insert(at, Block::UserTurn(turn));
        }

        let mut transcript = Transcript::new(dialect, start);
        if dialect == Dialect::OpenAi && rng.chance(0.3) {
            transcript.system(rng, system_prompt(domain).to_owned())?;
        }
        let request = first_request(rng, domain);
        transcript.user(rng, request)?;
        // The lower of two draws: short sessions are the most common.
        let target = rng
            .range(MIN_MESSAGES, MAX_MESSAGES)
            .min(rng.range(MIN_MESSAGES, MAX_MESSAGES));
        for block in blocks {
            match block {
                Block::Error { failure, fixed } => {
                    if rng.chance(0.4) {
                        let call = success_call(rng, domain);
                        step(&mut transcript, rng, domain, call)?;
                    }
                    step(&mut transcript, rng, domain, failure.failed)?;
                    if fixed {
                        for call in failure.fix {
                            step(&mut transcript, rng, domain, call)?;
                        }
                    } else {
                        let text = setback(rng, domain).to_owned();
                        transcript.assistant(rng, text)?;
                    }
                }
                Block::UserTurn(text) => {
                    let answer = agent_answer(rng, domain);
                    transcript.assistant(rng, answer)?;
                    transcript.user(rng, text)?;
                }
            }
        }
        // A single-call step and an exchange each add two messages, then the closing
        // answer one: the session ends with `target` or `target + 1` messages.
        while transcript.len() + 1 < target {
            if rng.chance(0.6) {
                let call = success_call(rng, domain);
                step(&mut transcript, rng, domain, call)?;
            } else {
                let answer = agent_answer(rng, domain);
                transcript.assistant(rng, answer)?;
                let text = follow_up(rng, domain).to_owned();
                transcript.user(rng, text)?;
            }
        }
        let answer = agent_answer(rng, domain);
        transcript.assistant(rng, answer)?;

        stats.messages += transcript.len();
        stats.tool_calls += transcript.tool_calls;
        let mut record = json!({
            "id": format!("dream-bench-{}-{index:08}", self.seed),
            "agent": agent,
            "user": user.id,
            "started_at": rfc3339(start)?,
            "ended_at": rfc3339(transcript.now_unix_secs)?,
            "metadata": {"segment": user.segment},
            "messages": transcript.messages,
        });
        if rng.chance(REWARD_SHARE) {
            let failure_chance = if harmful {
                HARMFUL_FAILURE
            } else {
                BASE_FAILURE + UNFIXED_FAILURE * unfixed as f64
            };
            let failed = rng.chance(failure_chance);
            let (result, value) = if failed {
                ("failed", 0.0)
            } else {
                ("satisfied", 1.0)
            };
            record["outcomes"] = json!([{"name": "task_completed", "result": result}]);
            record["reward"] = json!(value);
        }
        Ok(record)
    }
}

/// Adds one tool call, with a short preamble now and then.
fn step(transcript: &mut Transcript, rng: &mut Rng, domain: Domain, call: Call) -> Result<()> {
    let thinking = match domain {
        Coding => "Check the output before the next command.",
        Airline => "Policy: confirm details before any update.",
    };
    let text = rng.chance(0.3).then(|| {
        rng.pick(match domain {
            Coding => &["Running it now.", "Let me check.", "Trying again."],
            Airline => &["Let me look that up.", "One moment.", "Checking now."],
        })
        .to_owned()
    });
    transcript.tool_step(rng, thinking.to_owned(), text, vec![call])
}

fn bash(command: String, output: String, is_error: bool) -> Call {
    Call {
        name: "bash",
        input: json!({"command": command}),
        output,
        is_error,
    }
}

fn tool(name: &'static str, input: Value, output: String, is_error: bool) -> Call {
    Call {
        name,
        input,
        output,
        is_error,
    }
}

/// Syllables of pseudo-words: letters only, so the engine's masking leaves them alone.
const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ra", "ven", "tor", "sil", "qua", "bex", "dri", "nu", "pha", "zel", "gor",
    "tin", "wex", "ul", "fen", "jo", "prax",
];

/// Returns a word of three syllables (8,000 of them: one-offs rarely share one).
fn word(rng: &mut Rng) -> String {
    (0..3).map(|_| rng.pick(SYLLABLES)).collect()
}

fn branch(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}",
        rng.pick(&["feat", "fix", "chore"]),
        word(rng),
        rng.range(1, 999)
    )
}

/// A short commit hash with at least one letter and one digit, as masking expects of a
/// hash (an all-digit one would read as a number).
fn short_hash(rng: &mut Rng) -> String {
    format!(
        "{}{}{}",
        rng.pick(&["a", "b", "c", "d", "e", "f"]),
        rng.below(10),
        rng.token(HEX, 5)
    )
}

/// A reservation id with a digit, as tau-bench's are.
fn reservation(rng: &mut Rng) -> String {
    format!(
        "{}{}{}",
        rng.token(&UPPER36[10..], 2),
        rng.below(10),
        rng.token(UPPER36, 3)
    )
}

fn flight(rng: &mut Rng) -> String {
    format!("HAT{:03}", rng.below(300))
}

fn date(rng: &mut Rng) -> String {
    format!("2024-{:02}-{:02}", rng.range(5, 12), rng.range(1, 28))
}

fn uuid(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        rng.token(HEX, 8),
        rng.token(HEX, 4),
        rng.token(HEX, 4),
        rng.token(HEX, 4),
        rng.token(HEX, 12)
    )
}

fn module(rng: &mut Rng) -> &'static str {
    rng.pick(MODULES)
}

fn service(rng: &mut Rng) -> &'static str {
    rng.pick(&["api", "web", "worker", "billing", "search"])
}

fn table(rng: &mut Rng) -> &'static str {
    rng.pick(&[
        "orders", "invoices", "accounts", "events", "payments", "ledger",
    ])
}

fn edit_old_string(rng: &mut Rng) -> Failure {
    let path = format!("crates/{}/src/lib.rs", module(rng));
    let ident = rng.pick(IDENTS);
    let new = format!("{ident}(batch).await?;");
    Failure {
        failed: tool(
            "edit_file",
            json!({"path": path, "old_string": format!("{ident}(batch)?;"), "new_string": new}),
            format!("Error: old_string not found in {path}"),
            true,
        ),
        fix: vec![tool(
            "edit_file",
            json!({"path": path, "old_string": format!("    {ident}(&batch)?;"), "new_string": new}),
            format!(
                "Applied edit to {path} (+{} -{})",
                rng.range(1, 9),
                rng.range(0, 4)
            ),
            false,
        )],
    }
}

fn git_no_upstream(rng: &mut Rng) -> Failure {
    let b = branch(rng);
    Failure {
        failed: bash(
            "git push".into(),
            format!(
                "fatal: The current branch {b} has no upstream branch.\nTo push the current \
                 branch and set the remote as upstream, use\n\n    git push --set-upstream \
                 origin {b}"
            ),
            true,
        ),
        fix: vec![bash(
            format!("git push --set-upstream origin {b}"),
            format!("branch '{b}' set up to track 'origin/{b}'."),
            false,
        )],
    }
}

fn cargo_unresolved_name(rng: &mut Rng) -> Failure {
    let m = module(rng);
    Failure {
        failed: bash(
            format!("cargo build -p dream-{m}"),
            format!(
                "error[E0425]: cannot find value `{}` in this scope\n  --> crates/{m}/src/lib.rs:{}:{}\n\n\
                 error: could not compile `dream-{m}` (lib) due to 1 previous error",
                rng.pick(IDENTS),
                rng.range(10, 900),
                rng.range(1, 80)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn pytest_assertion(rng: &mut Rng) -> Failure {
    let m = module(rng);
    Failure {
        failed: bash(
            format!("pytest tests/test_{m}.py -q"),
            format!(
                "FAILED tests/test_{m}.py::test_case_{} - AssertionError: assert {} == {}\n\
                 1 failed, {} passed in {}.{:02}s",
                rng.range(1, 90),
                rng.range(0, 99),
                rng.range(100, 199),
                rng.range(5, 200),
                rng.range(0, 30),
                rng.below(100)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn read_enoent(rng: &mut Rng) -> Failure {
    let m = module(rng);
    let name = rng.pick(IDENTS);
    let wrong = format!("src/{m}/{name}.rs");
    Failure {
        failed: tool(
            "read_file",
            json!({"path": wrong}),
            format!("Error: ENOENT: no such file or directory, open '{wrong}'"),
            true,
        ),
        fix: vec![tool(
            "read_file",
            json!({"path": format!("crates/{m}/src/{name}.rs")}),
            format!(
                "pub fn {name}(batch: &[Item]) -> Result<u64> {{\n    Ok(batch.len() as u64)\n}}"
            ),
            false,
        )],
    }
}

fn precommit_format(rng: &mut Rng) -> Failure {
    let commit = format!(
        "git commit -am \"{} {}\"",
        rng.pick(&["fix", "add", "rename"]),
        rng.pick(IDENTS)
    );
    Failure {
        failed: bash(
            commit.clone(),
            format!(
                "[FORMAT] Code is not formatted in crates/{}/src/lib.rs.\nRun 'cargo fmt' to fix.",
                module(rng)
            ),
            true,
        ),
        fix: vec![
            bash(
                "cargo fmt && git diff --stat".into(),
                format!(
                    " crates/{}/src/lib.rs | {} ++--",
                    module(rng),
                    rng.range(2, 9)
                ),
                false,
            ),
            bash(
                commit,
                format!(
                    "[{} {}] done\n {} files changed",
                    branch(rng),
                    short_hash(rng),
                    rng.range(1, 5)
                ),
                false,
            ),
        ],
    }
}

fn npm_eresolve(rng: &mut Rng) -> Failure {
    Failure {
        failed: bash(
            "npm install".into(),
            format!(
                "npm ERR! code ERESOLVE\nnpm ERR! Could not resolve dependency: peer \
                 react@\"^{}.0.0\" from @acme/ui@{}.{}.{}",
                rng.range(16, 19),
                rng.range(1, 4),
                rng.range(0, 20),
                rng.range(0, 9)
            ),
            true,
        ),
        fix: vec![bash(
            "npm install --legacy-peer-deps".into(),
            format!(
                "added {} packages, and audited {} packages in {}s",
                rng.range(100, 900),
                rng.range(900, 1500),
                rng.range(2, 40)
            ),
            false,
        )],
    }
}

fn cargo_test_panic(rng: &mut Rng) -> Failure {
    let m = module(rng);
    Failure {
        failed: bash(
            format!("cargo test -p dream-{m}"),
            format!(
                "thread 'tests::case_{}' panicked at crates/{m}/src/lib.rs:{}:{}:\nassertion \
                 `left == right` failed\n  left: {}\n right: {}",
                rng.range(1, 60),
                // Three digits: the engine masks `lib.rs:42:17` as a time of day, which
                // would split this kind in two signatures.
                rng.range(100, 900),
                rng.range(1, 80),
                rng.range(0, 50),
                rng.range(51, 99)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn psql_relation(rng: &mut Rng) -> Failure {
    let t = table(rng);
    let id = rng.range(1, 99_999);
    let query = format!("psql -c 'SELECT * FROM {t} WHERE id = {id}'");
    Failure {
        failed: bash(
            query.clone(),
            format!(
                "ERROR:  relation \"{t}\" does not exist\nLINE 1: SELECT * FROM {t} WHERE id = {id}"
            ),
            true,
        ),
        fix: vec![
            bash(
                "sqlx migrate run".into(),
                format!(
                    "Applied {}/migrate create {t} ({} ms)",
                    rng.range(1, 40),
                    rng.range(2, 90)
                ),
                false,
            ),
            bash(
                query,
                format!(" id | state\n----+------\n {id} | open\n(1 row)"),
                false,
            ),
        ],
    }
}

fn git_pathspec(rng: &mut Rng) -> Failure {
    let b = branch(rng);
    Failure {
        failed: bash(
            format!("git checkout {b}"),
            format!("error: pathspec '{b}' did not match any file(s) known to git"),
            true,
        ),
        fix: vec![
            bash(
                "git fetch origin".into(),
                format!("From github.com:acme/api\n * [new branch]      {b} -> origin/{b}"),
                false,
            ),
            bash(
                format!("git checkout {b}"),
                format!("Switched to a new branch '{b}'"),
                false,
            ),
        ],
    }
}

fn github_saml_sso(rng: &mut Rng) -> Failure {
    let b = branch(rng);
    Failure {
        failed: bash(
            format!("git push origin {b}"),
            format!(
                "ERROR: The 'acme-{}' organization has enabled or enforced SAML SSO. To access \
                 this repository, you must re-authorize the OAuth Application 'dream-agent'.\n\
                 fatal: Could not read from remote repository.",
                rng.range(1, 99)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn clippy_unused(rng: &mut Rng) -> Failure {
    Failure {
        failed: bash(
            "cargo clippy --all-targets -- -D warnings".into(),
            format!(
                "error: unused variable: `{}`\n  --> crates/{}/src/lib.rs:{}:{}\n   |\n   = note: \
                 `-D unused-variables` implied by `-D warnings`",
                rng.pick(IDENTS),
                module(rng),
                rng.range(10, 900),
                rng.range(1, 80)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn docker_port(rng: &mut Rng) -> Failure {
    let svc = service(rng);
    Failure {
        failed: bash(
            "docker compose up -d".into(),
            format!(
                "Error response from daemon: driver failed programming external connectivity on \
                 endpoint {svc}-{} ({}{}): Bind for 0.0.0.0:{} failed: port is already allocated",
                rng.range(1, 9),
                short_hash(rng),
                rng.token(HEX, 20),
                rng.range(3000, 9000)
            ),
            true,
        ),
        fix: vec![
            bash(
                "docker compose down".into(),
                format!("Container {svc}-1  Stopped\nNetwork acme_default  Removed"),
                false,
            ),
            bash(
                "docker compose up -d".into(),
                format!("Container {svc}-1  Started"),
                false,
            ),
        ],
    }
}

fn http_429(rng: &mut Rng) -> Failure {
    let url = format!("https://api.acme.dev/v2/orders/{}", rng.range(1000, 99_999));
    Failure {
        failed: tool(
            "http_request",
            json!({"method": "POST", "url": url, "headers": {"Authorization": "Bearer $TOKEN"}}),
            format!(
                "Error: HTTP 429 Too Many Requests: rate limit of {} requests per minute exceeded \
                 (request id req_{}{})",
                rng.range(60, 600),
                rng.below(10),
                rng.token(HEX, 11)
            ),
            true,
        ),
        fix: vec![tool(
            "http_request",
            json!({"method": "POST", "url": url, "headers": {
                "Authorization": "Bearer $TOKEN", "Idempotency-Key": rng.token(HEX, 16),
            }}),
            format!(
                "{{\"status\": \"accepted\", \"id\": {}}}",
                rng.range(1000, 9999)
            ),
            false,
        )],
    }
}

fn sql_column(rng: &mut Rng) -> Failure {
    let t = table(rng);
    let column = rng.pick(&["customer_id", "created", "total_cents", "state", "owner"]);
    let id = rng.range(1, 99_999);
    Failure {
        failed: tool(
            "sql_query",
            json!({"sql": format!("SELECT {column} FROM {t} WHERE id = {id}")}),
            format!(
                "Error: column \"{column}\" of relation \"{t}\" does not exist at character {}",
                column.len() + 8
            ),
            true,
        ),
        fix: vec![tool(
            "sql_query",
            json!({"sql": format!("SELECT * FROM {t} WHERE id = {id}")}),
            format!("[{{\"id\": {id}, \"status\": \"open\"}}]"),
            false,
        )],
    }
}

fn git_rebase_conflict(rng: &mut Rng) -> Failure {
    let m = module(rng);
    Failure {
        failed: bash(
            "git rebase origin/main".into(),
            format!(
                "Auto-merging src/{m}.rs\nCONFLICT (content): Merge conflict in src/{m}.rs\n\
                 error: could not apply {}... wip\nhint: Resolve all conflicts manually",
                short_hash(rng)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn curl_refused(rng: &mut Rng) -> Failure {
    let host = format!("svc-{}.internal", rng.range(1, 40));
    let port = rng.range(3000, 9000);
    Failure {
        failed: bash(
            format!("curl -sf http://{host}:{port}/health"),
            format!(
                "curl: (7) Failed to connect to {host} port {port} after {} ms: Connection refused",
                rng.range(0, 3000)
            ),
            true,
        ),
        fix: vec![bash(
            format!("curl -sf --retry 5 --retry-connrefused http://{host}:{port}/health"),
            "{\"status\": \"ok\"}".into(),
            false,
        )],
    }
}

fn terraform_lock(rng: &mut Rng) -> Failure {
    Failure {
        failed: bash(
            "terraform apply -auto-approve".into(),
            format!(
                "Error: Error acquiring the state lock\n\nError message: \
                 ConditionalCheckFailedException: The conditional request failed\nLock Info:\n  \
                 ID:        {}\n  Created:   {} {:02}:{:02}:{:02}",
                uuid(rng),
                date(rng),
                rng.below(24),
                rng.below(60),
                rng.below(60)
            ),
            true,
        ),
        fix: vec![bash(
            "terraform apply -auto-approve -lock-timeout=120s".into(),
            format!(
                "Apply complete! Resources: {} added, {} changed, 0 destroyed.",
                rng.below(5),
                rng.below(9)
            ),
            false,
        )],
    }
}

fn jest_fail(rng: &mut Rng) -> Failure {
    let m = module(rng);
    Failure {
        failed: bash(
            format!("npm test -- {m}"),
            format!(
                "FAIL src/{m}.test.ts\n  ● List › renders {} rows\n\n    Expected: {}\n    \
                 Received: {}",
                rng.range(1, 50),
                rng.range(1, 50),
                rng.range(51, 99)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn go_test_fail(rng: &mut Rng) -> Failure {
    Failure {
        failed: bash(
            "go test ./...".into(),
            format!(
                "--- FAIL: TestCase{} (0.{:02}s)\n    handler_test.go:{}: got {}, want {}\n\
                 FAIL\tgithub.com/acme/api/handler\t0.{:03}s",
                rng.range(1, 99),
                rng.below(100),
                rng.range(10, 400),
                rng.below(50),
                rng.range(50, 99),
                rng.below(1000)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn write_eacces(rng: &mut Rng) -> Failure {
    let svc = service(rng);
    let content = format!("port = {}\n", rng.range(3000, 9000));
    let wrong = format!("/etc/{svc}/{}.toml", rng.pick(IDENTS));
    Failure {
        failed: tool(
            "write_file",
            json!({"path": wrong, "content": content}),
            format!("Error: EACCES: permission denied, open '{wrong}'"),
            true,
        ),
        fix: vec![tool(
            "write_file",
            json!({"path": format!("config/{svc}.toml"), "content": content}),
            format!("Wrote {} bytes to config/{svc}.toml", content.len()),
            false,
        )],
    }
}

fn pip_no_version(rng: &mut Rng) -> Failure {
    let wanted = format!("{}.{}.{}", rng.range(3, 9), rng.below(10), rng.below(10));
    let good = format!("2.{}.{}", rng.below(5), rng.below(5));
    Failure {
        failed: bash(
            format!("pip install 'torch=={wanted}'"),
            format!(
                "ERROR: Could not find a version that satisfies the requirement torch=={wanted} \
                 (from versions: 1.13.1, 2.0.0, {good})\nERROR: No matching distribution found \
                 for torch=={wanted}"
            ),
            true,
        ),
        fix: vec![bash(
            format!("pip install 'torch=={good}'"),
            format!("Successfully installed torch-{good}"),
            false,
        )],
    }
}

fn make_error(rng: &mut Rng) -> Failure {
    let m = module(rng);
    Failure {
        failed: bash(
            "make build".into(),
            format!(
                "cc -O2 -c src/{m}.c -o build/{m}.o\nmake: *** [Makefile:{}: build/{m}.o] Error {}",
                rng.range(5, 120),
                rng.range(1, 2)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn kubectl_no_kind(rng: &mut Rng) -> Failure {
    let svc = service(rng);
    Failure {
        failed: bash(
            format!("kubectl apply -f deploy/{svc}.yaml"),
            format!(
                "error: resource mapping not found for name: \"{svc}-{}\" from \
                 \"deploy/{svc}.yaml\": no matches for kind \"Deployment\" in version \
                 \"apps/v1beta{}\"",
                rng.range(1, 9),
                rng.range(1, 2)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

/// What a booking asks for.
#[derive(Debug)]
struct Booking {
    flight: String,
    day: String,
    cabin: &'static str,
    payment: String,
}

/// A failed booking and, for its fix, the same booking with `change` applied to its
/// input.
fn booking_failure(
    rng: &mut Rng,
    output: impl FnOnce(&mut Rng, &Booking) -> String,
    change: impl FnOnce(&mut Rng, &mut Value),
) -> Failure {
    let booking = Booking {
        flight: flight(rng),
        day: date(rng),
        cabin: rng.pick(CABINS),
        payment: format!("credit_card_{}", rng.range(1_000_000, 9_999_999)),
    };
    let input = json!({
        "user_id": airline_user(rng),
        "flights": [{"flight_number": booking.flight, "date": booking.day}],
        "cabin": booking.cabin,
        "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
        "payment_methods": [{"payment_id": booking.payment, "amount": 420}],
    });
    let mut retry = input.clone();
    change(rng, &mut retry);
    let text = output(rng, &booking);
    let done = format!(
        "{{\"reservation_id\": \"{}\", \"flights\": [{{\"flight_number\": \"{}\", \"date\": \
         \"{}\"}}], \"status\": \"confirmed\"}}",
        reservation(rng),
        booking.flight,
        booking.day
    );
    Failure {
        failed: tool("book_reservation", input, text, true),
        fix: vec![tool("book_reservation", retry, done, false)],
    }
}

fn flight_unavailable(rng: &mut Rng) -> Failure {
    booking_failure(
        rng,
        |_, b| format!("Error: flight {} not available on date {}", b.flight, b.day),
        |rng, input| input["flights"] = json!([{"flight_number": flight(rng), "date": date(rng)}]),
    )
}

fn payment_not_found(rng: &mut Rng) -> Failure {
    booking_failure(
        rng,
        |_, b| format!("Error: payment method {} not found", b.payment),
        |rng, input| {
            let gift_card = format!("gift_card_{}", rng.range(1_000_000, 9_999_999));
            input["payment_methods"] = json!([{"payment_id": gift_card, "amount": 420}]);
        },
    )
}

fn not_enough_seats(rng: &mut Rng) -> Failure {
    booking_failure(
        rng,
        |_, b| {
            format!(
                "Error: not enough seats on flight {} in cabin '{}'",
                b.flight, b.cabin
            )
        },
        |rng, input| input["cabin"] = json!(rng.pick(CABINS)),
    )
}

fn invalid_birth_date(rng: &mut Rng) -> Failure {
    booking_failure(
        rng,
        |rng, _| {
            format!(
                "Error: passenger {} has an invalid date of birth {}-{:02}-{:02}",
                rng.range(1, 4),
                rng.range(2025, 2030),
                rng.range(1, 12),
                rng.range(1, 28)
            )
        },
        |_, input| {
            input["passengers"] =
                json!([{"first_name": "Mia", "last_name": "Li", "dob": "1990-05-04"}]);
        },
    )
}

fn airline_user(rng: &mut Rng) -> String {
    format!(
        "{}_{}_{}",
        rng.pick(FIRST_NAMES),
        rng.pick(LAST_NAMES),
        rng.range(1000, 9999)
    )
}

fn user_details(rng: &mut Rng, user: &str) -> String {
    format!(
        "{{\"user_id\": \"{user}\", \"membership\": \"{}\", \"reservations\": [\"{}\", \"{}\"]}}",
        rng.pick(&["regular", "silver", "gold"]),
        reservation(rng),
        reservation(rng)
    )
}

fn user_not_found(rng: &mut Rng) -> Failure {
    let wrong = airline_user(rng);
    let right = airline_user(rng);
    let details = user_details(rng, &right);
    Failure {
        failed: tool(
            "get_user_details",
            json!({"user_id": wrong}),
            format!("Error: user {wrong} not found"),
            true,
        ),
        fix: vec![tool(
            "get_user_details",
            json!({"user_id": right}),
            details,
            false,
        )],
    }
}

fn reservation_details(rng: &mut Rng, id: &str) -> String {
    format!(
        "{{\"reservation_id\": \"{id}\", \"origin\": \"{}\", \"destination\": \"{}\", \"cabin\": \
         \"{}\", \"flights\": [{{\"flight_number\": \"{}\", \"date\": \"{}\"}}]}}",
        rng.pick(AIRPORTS),
        rng.pick(AIRPORTS),
        rng.pick(CABINS),
        flight(rng),
        date(rng)
    )
}

fn reservation_not_found(rng: &mut Rng) -> Failure {
    let wrong = reservation(rng);
    let right = reservation(rng);
    let details = reservation_details(rng, &right);
    Failure {
        failed: tool(
            "get_reservation_details",
            json!({"reservation_id": wrong}),
            format!("Error: reservation {wrong} not found"),
            true,
        ),
        fix: vec![tool(
            "get_reservation_details",
            json!({"reservation_id": right}),
            details,
            false,
        )],
    }
}

fn cancel_basic_economy(rng: &mut Rng) -> Failure {
    let id = reservation(rng);
    Failure {
        failed: tool(
            "cancel_reservation",
            json!({"reservation_id": id, "reason": "change of plan"}),
            format!(
                "Error: cannot cancel basic economy reservation {id} more than 24 hours after \
                 booking"
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn no_direct_flights(rng: &mut Rng) -> Failure {
    let (origin, destination) = (rng.pick(AIRPORTS), rng.pick(AIRPORTS));
    let day = date(rng);
    let other_day = date(rng);
    let found = format!(
        "[{{\"flight_number\": \"{}\", \"date\": \"{other_day}\", \"economy\": {}}}]",
        flight(rng),
        rng.range(100, 400)
    );
    Failure {
        failed: tool(
            "search_direct_flight",
            json!({"origin": origin, "destination": destination, "date": day}),
            format!("Error: no direct flights from '{origin}' to '{destination}' on {day}"),
            true,
        ),
        fix: vec![tool(
            "search_direct_flight",
            json!({"origin": origin, "destination": destination, "date": other_day}),
            found,
            false,
        )],
    }
}

fn change_window(rng: &mut Rng) -> Failure {
    let (f, day) = (flight(rng), date(rng));
    Failure {
        failed: tool(
            "update_reservation_flights",
            json!({"reservation_id": reservation(rng), "cabin": rng.pick(CABINS),
                   "flights": [{"flight_number": f, "date": day}]}),
            format!(
                "Error: flight {f} departs at {:02}:{:02} on {day}; changes close 24 hours \
                 before departure",
                rng.range(5, 22),
                rng.pick(&["00", "15", "30", "45"])
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn calculate_invalid(rng: &mut Rng) -> Failure {
    let (a, b) = (rng.range(50, 900), rng.range(50, 900));
    let expression = format!("{a} + {b} +");
    Failure {
        failed: tool(
            "calculate",
            json!({"expression": expression}),
            format!(
                "Error: invalid expression '{expression}': unexpected end of input at position {}",
                expression.len()
            ),
            true,
        ),
        fix: vec![tool(
            "calculate",
            json!({"expression": format!("{a} + {b}")}),
            format!("{}", a + b),
            false,
        )],
    }
}

fn baggage_allowance(rng: &mut Rng) -> Failure {
    let id = reservation(rng);
    let total = rng.range(3, 6);
    let free = rng.range(0, 2);
    let cabin = rng.pick(CABINS);
    let payment = format!("credit_card_{}", rng.range(1_000_000, 9_999_999));
    Failure {
        failed: tool(
            "update_reservation_baggages",
            json!({"reservation_id": id, "total_baggages": total, "nonfree_baggages": 0,
                   "payment_id": payment}),
            format!("Error: {total} bags exceed the free allowance of {free} for cabin '{cabin}'"),
            true,
        ),
        fix: vec![tool(
            "update_reservation_baggages",
            json!({"reservation_id": id, "total_baggages": total, "nonfree_baggages": total - free,
                   "payment_id": payment}),
            format!("{{\"reservation_id\": \"{id}\", \"total_baggages\": {total}}}"),
            false,
        )],
    }
}

fn certificate_limit(rng: &mut Rng) -> Failure {
    let user = airline_user(rng);
    let amount = rng.range(300, 2000);
    let limit = [100, 150, 250][rng.below(3) as usize];
    Failure {
        failed: tool(
            "send_certificate",
            json!({"user_id": user, "amount": amount}),
            format!(
                "Error: certificate amount {amount} exceeds the limit of {limit} for membership \
                 '{}'",
                rng.pick(&["regular", "silver", "gold"])
            ),
            true,
        ),
        fix: vec![tool(
            "send_certificate",
            json!({"user_id": user, "amount": limit}),
            format!("Certificate sent to user {user}."),
            false,
        )],
    }
}

fn flight_cancelled(rng: &mut Rng) -> Failure {
    let (f, day) = (flight(rng), date(rng));
    Failure {
        failed: tool(
            "get_flight_status",
            json!({"flight_number": f, "date": day}),
            format!("Error: flight {f} on {day} has status 'cancelled'"),
            true,
        ),
        fix: Vec::new(),
    }
}

fn passenger_count(rng: &mut Rng) -> Failure {
    let id = reservation(rng);
    let have = rng.range(1, 3);
    let passengers = |n: u64| -> Value {
        (0..n)
            .map(|i| {
                let first_name = FIRST_NAMES[i as usize % FIRST_NAMES.len()];
                json!({"first_name": first_name, "last_name": "Li", "dob": "1990-04-05"})
            })
            .collect()
    };
    Failure {
        failed: tool(
            "update_reservation_passengers",
            json!({"reservation_id": id, "passengers": passengers(have + 1)}),
            format!(
                "Error: reservation {id} has {have} passengers but {} were given",
                have + 1
            ),
            true,
        ),
        fix: vec![tool(
            "update_reservation_passengers",
            json!({"reservation_id": id, "passengers": passengers(have)}),
            format!("{{\"reservation_id\": \"{id}\", \"passengers\": {have}}}"),
            false,
        )],
    }
}

fn insurance_late(rng: &mut Rng) -> Failure {
    let id = reservation(rng);
    Failure {
        failed: tool(
            "update_reservation_insurance",
            json!({"reservation_id": id, "insurance": "yes"}),
            format!(
                "Error: travel insurance cannot be added to reservation {id} after {}",
                date(rng)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

fn refund_pending(rng: &mut Rng) -> Failure {
    let id = reservation(rng);
    Failure {
        failed: tool(
            "get_refund_status",
            json!({"reservation_id": id}),
            format!(
                "Error: refund for reservation {id} is pending since {}; try again in {} hours",
                date(rng),
                rng.range(2, 72)
            ),
            true,
        ),
        fix: Vec::new(),
    }
}

/// An error no other session shares: pseudo-words in one of eight shapes.
fn one_off_failure(rng: &mut Rng, domain: Domain) -> Failure {
    let (a, b, c) = (word(rng), word(rng), word(rng));
    let output = match rng.below(8) {
        0 => format!("Error: {a} handler rejected the {b} payload: {c} mismatch"),
        1 => format!("TypeError: {a}.{b} is not a function in {c}"),
        2 => format!("KeyError: {a} while loading the {b} {c} settings"),
        3 => format!("fatal: unable to resolve the {a} {b} module for {c}"),
        4 => format!("ValueError: expected {a} but got {b} {c}"),
        5 => format!("Error: unknown option {a} for the {b} {c} command"),
        6 => format!("panic: {a} {b} invariant broken in {c}"),
        _ => format!("error: the trait {a} is not implemented for {b} {c}"),
    };
    let failed = match domain {
        Coding => bash(format!("./scripts/{a}-{b}.sh"), output, true),
        Airline => tool(
            rng.pick(&[
                "get_reservation_details",
                "update_reservation_flights",
                "book_reservation",
            ]),
            json!({"reservation_id": reservation(rng)}),
            output,
            true,
        ),
    };
    Failure {
        failed,
        fix: Vec::new(),
    }
}

/// A successful call, for the steps around the errors.
fn success_call(rng: &mut Rng, domain: Domain) -> Call {
    match (domain, rng.below(5)) {
        (Coding, 0) => bash(
            format!("cargo test -p dream-{}", module(rng)),
            format!(
                "test result: ok. {} passed; 0 failed; 0 ignored; finished in {}.{:02}s",
                rng.range(3, 400),
                rng.below(20),
                rng.below(100)
            ),
            false,
        ),
        (Coding, 1) => bash(
            "git status --short".into(),
            format!(
                " M crates/{}/src/lib.rs\n?? tests/{}.rs",
                module(rng),
                module(rng)
            ),
            false,
        ),
        (Coding, 2) => {
            let ident = rng.pick(IDENTS);
            bash(
                format!("rg -n '{ident}' crates/"),
                format!(
                    "crates/{}/src/lib.rs:{}:    let total = {ident}(&batch)?;",
                    module(rng),
                    rng.range(10, 900)
                ),
                false,
            )
        }
        (Coding, 3) => {
            let path = format!("crates/{}/src/lib.rs", module(rng));
            let ident = rng.pick(IDENTS);
            tool(
                "read_file",
                json!({"path": path}),
                format!(
                    "//! {ident}.\n\npub fn {ident}(batch: &[Item]) -> Result<u64> {{\n    let \
                     total = batch.iter().map(|i| i.len).sum();\n    Ok(total)\n}}"
                ),
                false,
            )
        }
        (Coding, _) => {
            let path = format!("crates/{}/src/lib.rs", module(rng));
            let ident = rng.pick(IDENTS);
            tool(
                "edit_file",
                json!({"path": path, "old_string": format!("{ident}(batch)"), "new_string": format!("{ident}(&batch)")}),
                format!("Applied edit to {path} (+1 -1)"),
                false,
            )
        }
        (Airline, 0 | 1) => {
            let user = airline_user(rng);
            let details = user_details(rng, &user);
            tool("get_user_details", json!({"user_id": user}), details, false)
        }
        (Airline, 2) => {
            let id = reservation(rng);
            let details = reservation_details(rng, &id);
            tool(
                "get_reservation_details",
                json!({"reservation_id": id}),
                details,
                false,
            )
        }
        (Airline, 3) => {
            let (origin, destination, day) = (rng.pick(AIRPORTS), rng.pick(AIRPORTS), date(rng));
            let found = format!(
                "[{{\"flight_number\": \"{}\", \"date\": \"{day}\", \"economy\": {}}}, \
                 {{\"flight_number\": \"{}\", \"date\": \"{day}\", \"economy\": {}}}]",
                flight(rng),
                rng.range(100, 400),
                flight(rng),
                rng.range(100, 400)
            );
            tool(
                "search_direct_flight",
                json!({"origin": origin, "destination": destination, "date": day}),
                found,
                false,
            )
        }
        (Airline, _) => {
            let (a, b) = (rng.range(50, 900), rng.range(50, 900));
            tool(
                "calculate",
                json!({"expression": format!("{a} + {b}")}),
                format!("{}", a + b),
                false,
            )
        }
    }
}

fn system_prompt(domain: Domain) -> &'static str {
    match domain {
        Coding => "You are a coding agent. Run the tests before you claim a fix works.",
        Airline => "You are an airline support agent. Confirm every change with the user first.",
    }
}

/// The session's opening request. Written so that it states no fact, preference or
/// correction: the engine's cues should fire only where this generator means them to.
fn first_request(rng: &mut Rng, domain: Domain) -> String {
    match domain {
        Coding => {
            let m = module(rng);
            match rng.below(4) {
                0 => format!("Can you fix the failing {m} tests?"),
                1 => format!(
                    "Add a retry with backoff to `{}` in crates/{m}.",
                    rng.pick(IDENTS)
                ),
                2 => format!("CI fails on branch {}, can you take a look?", branch(rng)),
                _ => format!("Write tests for crates/{m}, coverage there is low."),
            }
        }
        Airline => match rng.below(4) {
            0 => format!(
                "Hi, I need a flight from {} to {} around {}.",
                rng.pick(AIRPORTS),
                rng.pick(AIRPORTS),
                date(rng)
            ),
            1 => format!("I want to cancel reservation {}.", reservation(rng)),
            2 => format!(
                "Can I move reservation {} to a later flight?",
                reservation(rng)
            ),
            _ => format!("I need {} more checked bags on my trip.", rng.range(1, 3)),
        },
    }
}

/// A user turn that carries no cue.
fn follow_up(rng: &mut Rng, domain: Domain) -> &'static str {
    rng.pick(match domain {
        Coding => &[
            "Looks good, thanks.",
            "Can you also run the linter?",
            "Great, what else did you change?",
            "Ok, go ahead and push it.",
        ],
        Airline => &[
            "Yes, please go ahead.",
            "What about the day after?",
            "Ok, sounds good.",
            "How much would that cost?",
        ],
    })
}

/// The agent moving on after an error it did not fix.
fn setback(rng: &mut Rng, domain: Domain) -> &'static str {
    rng.pick(match domain {
        Coding => &[
            "That failed; I'll look into it from another angle.",
            "This needs a change I can't make here. Leaving it for now.",
        ],
        Airline => &[
            "I'm sorry, that didn't go through.",
            "That request was refused by the system.",
        ],
    })
}

fn agent_answer(rng: &mut Rng, domain: Domain) -> String {
    match domain {
        Coding => match rng.below(3) {
            0 => format!(
                "Done: `{}` now handles an empty batch; {} tests pass.",
                rng.pick(IDENTS),
                rng.range(20, 400)
            ),
            1 => format!("Pushed {} to {}.", short_hash(rng), branch(rng)),
            _ => "I'll run npm install and then the build.".to_owned(),
        },
        Airline => match rng.below(3) {
            0 => format!(
                "Reservation {} is confirmed on flight {} ({}).",
                reservation(rng),
                flight(rng),
                rng.pick(CABINS)
            ),
            1 => format!(
                "I found flight {} on {}; shall I book it?",
                flight(rng),
                date(rng)
            ),
            _ => "To go ahead I need your explicit confirmation (yes).".to_owned(),
        },
    }
}

fn recurring_corrections(domain: Domain) -> &'static [&'static str] {
    match domain {
        Coding => &[
            "No, use pnpm instead.",
            "No, don't push to main directly.",
            "Wait, run the tests first.",
            "That's not what I asked for, keep the public API unchanged.",
            "Stop, don't touch the migrations.",
        ],
        Airline => &[
            "No, I said the later flight.",
            "No, book economy, not business.",
            "Wait, don't charge my card yet.",
        ],
    }
}

fn one_off_correction(rng: &mut Rng) -> String {
    let (a, b, c) = (word(rng), word(rng), word(rng));
    match rng.below(3) {
        // Few words in common: the engine clusters corrections at Jaccard 0.5 over words
        // and word pairs, and one-offs must stay apart even when they share a word.
        0 => format!("No, {a} {b} belongs in {c}."),
        1 => format!("Wait, I meant {a} {b}, not {c}."),
        _ => format!("Wrong, {a} {b} needs {c} first."),
    }
}

fn recurring_preferences(domain: Domain) -> &'static [&'static str] {
    match domain {
        Coding => &[
            "Please always run the tests before pushing.",
            "I prefer small commits with clear messages.",
            "Please never force-push to shared branches.",
            "From now on, prefer rebase over merge commits.",
        ],
        Airline => &[
            "I prefer aisle seats.",
            "Please always ask before charging my card.",
            "I prefer morning flights when possible.",
        ],
    }
}

fn one_off_preference(rng: &mut Rng) -> String {
    let (a, b, c) = (word(rng), word(rng), word(rng));
    // Few words in common, as for one-off corrections (preferences cluster at 0.5 too).
    match rng.below(3) {
        0 => format!("I prefer {a} {b} for {c}."),
        1 => format!("Please never {a} {b} on {c}."),
        _ => format!("By default, {a} {b} goes to {c}."),
    }
}

/// A keyed fact of `user`, with the value it has at `now_unix_secs`.
fn fact_statement(rng: &mut Rng, user: &User, now_unix_secs: i64) -> String {
    let epoch = (now_unix_secs - FIRST_START_UNIX_SECS) / FACT_EPOCH_SECS;
    let key = rng.below(4);
    // The value depends on the user, the key and the epoch only: every statement within
    // an epoch agrees.
    let mut values = Rng::new(user.salt ^ key.wrapping_mul(0x9e37_79b9) ^ epoch as u64);
    match (user.domain, key) {
        (Coding, 0) => format!("Our deploy branch is now release-{}.", values.range(1, 99)),
        (Coding, 1) => format!(
            "Our staging url is now https://staging-{}.acme.dev.",
            values.range(1, 40)
        ),
        (Coding, 2) => format!("Our node version is now {}.", values.range(18, 24)),
        (Coding, _) => format!(
            "Our ci provider is now {}.",
            values.pick(&["buildkite", "circleci", "github actions", "gitlab"])
        ),
        (Airline, 0) => format!("My home airport is now {}.", values.pick(AIRPORTS)),
        (Airline, 1) => format!(
            "My email is now {}.{}{}@example.com.",
            values.pick(FIRST_NAMES),
            values.pick(LAST_NAMES),
            values.range(1, 99)
        ),
        (Airline, 2) => format!("My phone number is now 555-{:04}.", values.below(10_000)),
        (Airline, _) => format!(
            "My membership is now {}.",
            values.pick(&["regular", "silver", "gold"])
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use dream_engine::minhash::{jaccard, shingles};
    use dream_engine::signal::cues::{facts, is_correction, preference_sentence};
    use dream_engine::signal::signature::{error_signature, normalize_text};

    use super::*;

    fn generate(sessions: u64, seed: u64) -> (Vec<u8>, SessionWorkloadStats) {
        let mut out = Vec::new();
        let stats = write_sessions(&mut out, sessions, seed).unwrap();
        (out, stats)
    }

    /// Parses the lines one at a time: the test binary's peak RSS must stay low for
    /// `bench_ingest`'s test of per-child peaks.
    fn records(out: &[u8]) -> impl Iterator<Item = Value> + '_ {
        out.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
    }

    #[test]
    fn same_seed_same_bytes_and_a_smaller_workload_is_a_prefix() {
        let (a, _) = generate(300, 7);
        let (b, _) = generate(300, 7);
        let (c, _) = generate(300, 8);
        let (small, _) = generate(120, 7);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with(&small));
    }

    #[test]
    fn sessions_have_the_advertised_shape() {
        let (out, stats) = generate(1_000, 42);
        let mut count = 0;
        let (mut users, mut agents, mut segments) =
            (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        let mut rewarded = 0;
        for record in records(&out) {
            count += 1;
            let messages = record["messages"].as_array().unwrap().len() as u64;
            assert!(
                (MIN_MESSAGES..=MAX_MESSAGES + 4).contains(&messages),
                "{messages} messages"
            );
            users.insert(record["user"].as_str().unwrap().to_owned());
            agents.insert(record["agent"].as_str().unwrap().to_owned());
            segments.insert(record["metadata"]["segment"].as_str().unwrap().to_owned());
            rewarded += u64::from(record.get("reward").is_some());
        }
        assert_eq!(count, stats.sessions);
        let mean_bytes = stats.size_bytes / stats.sessions;
        assert!((2_000..=4_000).contains(&mean_bytes), "{mean_bytes} bytes");
        assert!(users.len() > 150, "{} users", users.len());
        assert_eq!(agents.len(), 5);
        assert_eq!(segments.len(), 3);
        let share = rewarded as f64 / stats.sessions as f64;
        assert!((0.8..0.9).contains(&share), "{share}");
        assert!(stats.one_off_errors > 0 && stats.fixes > 0 && stats.facts > 0);
    }

    #[test]
    fn each_kind_has_one_signature_across_values_and_its_own() {
        let mut owners: BTreeMap<String, &str> = BTreeMap::new();
        let mut rng = Rng::new(3);
        for kind in &KINDS {
            let mut signatures = BTreeSet::new();
            let mut texts = BTreeSet::new();
            for _ in 0..40 {
                let failure = (kind.build)(&mut rng);
                assert!(failure.failed.is_error, "{}", kind.name);
                assert!(failure.fix.iter().all(|c| !c.is_error), "{}", kind.name);
                assert_eq!(
                    failure.fix.is_empty(),
                    kind.fix_rate == 0.0,
                    "{}",
                    kind.name
                );
                signatures.insert(error_signature(&failure.failed.output));
                texts.insert(failure.failed.output);
            }
            assert_eq!(signatures.len(), 1, "{}: {signatures:#?}", kind.name);
            assert!(texts.len() > 10, "{}: values do not vary", kind.name);
            let signature = signatures.into_iter().next().unwrap();
            if let Some(other) = owners.insert(signature, kind.name) {
                panic!("{} and {other} share a signature", kind.name);
            }
        }
    }

    /// The engine clusters keys by Jaccard similarity of word shingles (0.75 for tool
    /// errors, 0.5 for corrections and preferences): one-offs must stay below that, or
    /// they would become a recurring pattern.
    #[test]
    fn one_offs_stay_apart_under_the_engines_clustering() {
        let mut rng = Rng::new(5);
        let errors: Vec<String> = (0..2_000)
            .map(|i| {
                let domain = if i % 2 == 0 { Coding } else { Airline };
                error_signature(&one_off_failure(&mut rng, domain).failed.output)
            })
            .collect();
        let distinct: BTreeSet<&String> = errors.iter().collect();
        assert!(distinct.len() > 1_990, "{}", distinct.len());
        let most_similar = |keys: &[String]| -> f64 {
            let sets: Vec<_> = keys.iter().map(|k| shingles(k)).collect();
            let mut most: f64 = 0.0;
            for (i, a) in sets.iter().enumerate() {
                for b in &sets[i + 1..] {
                    most = most.max(jaccard(a, b));
                }
            }
            most
        };
        // 600 of each: a few pairs then share a pseudo-word, and must still stay apart.
        assert!(most_similar(&errors[..600]) < 0.75);
        let corrections: Vec<String> = (0..600)
            .map(|_| normalize_text(&one_off_correction(&mut rng)))
            .collect();
        assert!(most_similar(&corrections) < 0.5);
        let preferences: Vec<String> = (0..600)
            .map(|_| normalize_text(&one_off_preference(&mut rng)))
            .collect();
        assert!(most_similar(&preferences) < 0.5);
    }

    #[test]
    fn user_turns_trigger_the_cues_they_are_meant_to_and_no_others() {
        let mut rng = Rng::new(9);
        for domain in [Coding, Airline] {
            for text in recurring_corrections(domain) {
                assert!(is_correction(text), "{text}");
                assert!(
                    preference_sentence(text).is_none() && facts(text).is_empty(),
                    "{text}"
                );
            }
            for text in recurring_preferences(domain) {
                assert!(preference_sentence(text).is_some(), "{text}");
                assert!(!is_correction(text) && facts(text).is_empty(), "{text}");
            }
            let user = User::generate(&mut rng, if domain == Coding { 0 } else { 150 });
            for _ in 0..200 {
                let text = one_off_correction(&mut rng);
                assert!(is_correction(&text), "{text}");
                let text = one_off_preference(&mut rng);
                assert!(
                    preference_sentence(&text).is_some() && !is_correction(&text),
                    "{text}"
                );
                let text = fact_statement(&mut rng, &user, FIRST_START_UNIX_SECS);
                assert_eq!(facts(&text).len(), 1, "{text}");
                assert!(
                    preference_sentence(&text).is_none() && !is_correction(&text),
                    "{text}"
                );
                for text in [
                    first_request(&mut rng, domain),
                    follow_up(&mut rng, domain).into(),
                ] {
                    assert!(!is_correction(&text), "{text}");
                    assert!(preference_sentence(&text).is_none(), "{text}");
                    assert!(facts(&text).is_empty(), "{text}");
                }
            }
        }
    }

    #[test]
    fn the_segment_kind_stays_in_its_segment() {
        let table = KindTable::new(Coding);
        let mut rng = Rng::new(11);
        let saml = KINDS.iter().position(|k| k.segment.is_some()).unwrap();
        for index in 0..DEVELOPERS {
            let user = User::generate(&mut rng, index);
            let met = (0..2_000).any(|_| table.draw(&mut rng, &user) == saml);
            assert_eq!(met, user.segment == "enterprise", "{}", user.segment);
        }
    }
}
