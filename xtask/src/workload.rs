//! A synthetic transcript workload in dream's canonical JSONL, one session per line.
//!
//! Sessions come from two domains:
//!
//! - coding agents (`bash`, `git`, `edit_file`, `read_file`) failing with compiler
//!   errors, missing upstream branches and merge conflicts;
//! - airline support agents (the tau-bench tools: `get_user_details`,
//!   `search_direct_flight`, `book_reservation`, …) failing with "Error: flight HAT123
//!   not available on date 2024-05-13" and the like.
//!
//! Each session is written, half and half, in one of two message dialects:
//!
//! - OpenAI chat messages (`tool_calls` with JSON-string `arguments`, `role: tool`
//!   results whose failures start with "Error" or carry `is_error`);
//! - Anthropic Messages content blocks (`thinking`, `text`, `tool_use`, `tool_result`
//!   with `is_error`).
//!
//! Each session has 10–80 messages with RFC 3339 timestamps, a user, an agent, a
//! `metadata.segment`, and usually (85%) outcomes and a reward. About 15% of tool results
//! are errors and about 2% are long (2–8 KB: test logs, source files, flight lists); a
//! session averages about 20 KB.
//!
//! The generator is a splitmix64 stream, not `rand`, so that a seed gives the same bytes
//! on every platform and with every version of every dependency. Sessions are built and
//! written one at a time: memory use does not grow with the size of the file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Bytes in one MB as workload sizes count them: decimal, like `du --si`.
pub const BYTES_PER_MB: f64 = 1_000_000.0;

/// 2024-05-01T00:00:00Z, when the first session starts.
pub(crate) const FIRST_START_UNIX_SECS: i64 = 1_714_521_600;

/// Fewest and most messages in one session.
const MIN_MESSAGES: u64 = 10;
const MAX_MESSAGES: u64 = 80;

/// What a generated workload holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkloadStats {
    /// Bytes written, newlines included.
    pub size_bytes: u64,
    /// Sessions (lines).
    pub sessions: u64,
    /// Messages over all sessions.
    pub messages: u64,
    /// Tool calls over all sessions.
    pub tool_calls: u64,
}

/// Writes a workload of at least `target_bytes` bytes to `path` (created or truncated).
///
/// # Errors
///
/// When the file cannot be created or written.
pub fn write_file(path: &Path, target_bytes: u64, seed: u64) -> Result<WorkloadStats> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::with_capacity(256 * 1024, file);
    let stats = write_transcripts(&mut out, target_bytes, seed)
        .and_then(|stats| Ok(out.flush().map(|()| stats)?))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(stats)
}

/// Writes whole sessions, one JSON object per line, until `target_bytes` is reached.
///
/// # Errors
///
/// When `out` fails.
pub fn write_transcripts(
    out: &mut impl Write,
    target_bytes: u64,
    seed: u64,
) -> Result<WorkloadStats> {
    let mut generator = Generator::new(seed);
    let mut line = Vec::with_capacity(64 * 1024);
    let mut stats = WorkloadStats::default();
    while stats.size_bytes < target_bytes {
        let session = generator.session(stats.sessions)?;
        line.clear();
        serde_json::to_writer(&mut line, &session.record)?;
        line.push(b'\n');
        out.write_all(&line)?;
        stats.size_bytes += line.len() as u64;
        stats.sessions += 1;
        stats.messages += session.messages;
        stats.tool_calls += session.tool_calls;
    }
    Ok(stats)
}

/// splitmix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): tiny, fast, and fixed forever.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Returns a number in `0..n` (`n > 0`); Lemire's multiply-shift, whose bias is far
    /// below anything a workload could show.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Returns a number in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Returns true with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// Returns `len` characters from `alphabet`.
    pub(crate) fn token(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize]))
            .collect()
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const UPPER36: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub(crate) const HEX: &[u8] = b"0123456789abcdef";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    Coding,
    Airline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    OpenAi,
    Anthropic,
}

/// One tool call and what it returned.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) name: &'static str,
    pub(crate) input: Value,
    pub(crate) output: String,
    pub(crate) is_error: bool,
}

/// A generated session line.
#[derive(Debug)]
struct GeneratedSession {
    record: Value,
    messages: u64,
    tool_calls: u64,
}

/// Messages of one session under construction, and its clock.
#[derive(Debug)]
pub(crate) struct Transcript {
    dialect: Dialect,
    pub(crate) messages: Vec<Value>,
    pub(crate) now_unix_secs: i64,
    pub(crate) tool_calls: u64,
}

impl Transcript {
    /// Returns an empty transcript whose clock starts at `start_unix_secs`.
    pub(crate) fn new(dialect: Dialect, start_unix_secs: i64) -> Self {
        Self {
            dialect,
            messages: Vec::new(),
            now_unix_secs: start_unix_secs,
            tool_calls: 0,
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.messages.len() as u64
    }

    fn timestamp(&mut self, rng: &mut Rng, min_secs: u64, max_secs: u64) -> Result<String> {
        self.now_unix_secs += rng.range(min_secs, max_secs) as i64;
        rfc3339(self.now_unix_secs)
    }

    pub(crate) fn system(&mut self, rng: &mut Rng, text: String) -> Result<()> {
        let timestamp = self.timestamp(rng, 0, 0)?;
        self.messages
            .push(json!({"role": "system", "content": text, "timestamp": timestamp}));
        Ok(())
    }

    pub(crate) fn user(&mut self, rng: &mut Rng, text: String) -> Result<()> {
        let timestamp = self.timestamp(rng, 5, 180)?;
        let content = match self.dialect {
            Dialect::Anthropic if rng.chance(0.5) => json!([{"type": "text", "text": text}]),
            _ => Value::String(text),
        };
        self.messages
            .push(json!({"role": "user", "content": content, "timestamp": timestamp}));
        Ok(())
    }

    pub(crate) fn assistant(&mut self, rng: &mut Rng, text: String) -> Result<()> {
        let timestamp = self.timestamp(rng, 2, 40)?;
        let content = match self.dialect {
            Dialect::OpenAi => Value::String(text),
            Dialect::Anthropic => json!([{"type": "text", "text": text}]),
        };
        self.messages
            .push(json!({"role": "assistant", "content": content, "timestamp": timestamp}));
        Ok(())
    }

    /// Messages that [`Transcript::tool_step`] adds for `calls` tool calls.
    fn step_len(&self, calls: u64) -> u64 {
        match self.dialect {
            Dialect::OpenAi => 1 + calls,
            Dialect::Anthropic => 2,
        }
    }

    /// An assistant turn that calls tools, then their results.
    pub(crate) fn tool_step(
        &mut self,
        rng: &mut Rng,
        thinking: String,
        text: Option<String>,
        calls: Vec<Call>,
    ) -> Result<()> {
        self.tool_calls += calls.len() as u64;
        let timestamp = self.timestamp(rng, 2, 40)?;
        match self.dialect {
            Dialect::OpenAi => {
                let ids: Vec<String> = calls
                    .iter()
                    .map(|_| format!("call_{}", rng.token(BASE62, 24)))
                    .collect();
                let tool_calls: Vec<Value> = calls
                    .iter()
                    .zip(&ids)
                    .map(|(call, id)| {
                        json!({
                            "id": id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.input.to_string()},
                        })
                    })
                    .collect();
                self.messages.push(json!({
                    "role": "assistant",
                    "content": text,
                    "tool_calls": tool_calls,
                    "timestamp": timestamp,
                }));
                for (call, id) in calls.into_iter().zip(ids) {
                    let timestamp = self.timestamp(rng, 0, result_secs(&call))?;
                    let mut message = json!({
                        "role": "tool",
                        "tool_call_id": id,
                        "name": call.name,
                        "content": call.output,
                        "timestamp": timestamp,
                    });
                    // An "Error…" result already reads as failed; other failures
                    // (git's "fatal: …") need the flag, as an exporter would set it.
                    if call.is_error && !call.output.starts_with("Error") {
                        message["is_error"] = Value::Bool(true);
                    }
                    self.messages.push(message);
                }
            }
            Dialect::Anthropic => {
                let mut blocks = Vec::with_capacity(calls.len() + 2);
                if rng.chance(0.6) {
                    blocks.push(json!({
                        "type": "thinking",
                        "thinking": thinking,
                        "signature": rng.token(BASE62, 64),
                    }));
                }
                if let Some(text) = text {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                let mut results = Vec::with_capacity(calls.len());
                let mut result_secs_max = 0;
                for call in calls {
                    let id = format!("toolu_{}", rng.token(BASE62, 24));
                    blocks.push(json!({
                        "type": "tool_use", "id": id, "name": call.name, "input": call.input,
                    }));
                    result_secs_max = result_secs_max.max(result_secs(&call));
                    let content = if rng.chance(0.5) {
                        Value::String(call.output)
                    } else {
                        json!([{"type": "text", "text": call.output}])
                    };
                    results.push(json!({
                        "type": "tool_result",
                        "tool_use_id": id,
                        "content": content,
                        "is_error": call.is_error,
                    }));
                }
                self.messages
                    .push(json!({"role": "assistant", "content": blocks, "timestamp": timestamp}));
                let timestamp = self.timestamp(rng, 0, result_secs_max)?;
                self.messages
                    .push(json!({"role": "user", "content": results, "timestamp": timestamp}));
            }
        }
        Ok(())
    }
}

/// Most seconds a tool result may take to arrive: long outputs come from long runs.
fn result_secs(call: &Call) -> u64 {
    if call.output.len() > 2_000 { 90 } else { 8 }
}

pub(crate) fn rfc3339(unix_secs: i64) -> Result<String> {
    Ok(OffsetDateTime::from_unix_timestamp(unix_secs)?.format(&Rfc3339)?)
}

/// Builds sessions from a seed.
#[derive(Debug)]
struct Generator {
    rng: Rng,
    seed: u64,
    next_start_unix_secs: i64,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            seed,
            next_start_unix_secs: FIRST_START_UNIX_SECS,
        }
    }

    /// Returns session number `index` (ids are unique per seed and index).
    fn session(&mut self, index: u64) -> Result<GeneratedSession> {
        let rng = &mut self.rng;
        let start = self.next_start_unix_secs;
        self.next_start_unix_secs += rng.range(30, 900) as i64;
        let domain = if rng.chance(0.5) {
            Domain::Coding
        } else {
            Domain::Airline
        };
        let dialect = if rng.chance(0.5) {
            Dialect::OpenAi
        } else {
            Dialect::Anthropic
        };
        let mut transcript = Transcript::new(dialect, start);
        let target = rng.range(MIN_MESSAGES, MAX_MESSAGES);
        if dialect == Dialect::OpenAi && rng.chance(0.3) {
            transcript.system(rng, system_prompt(domain))?;
        }
        let mut first = true;
        // Each turn needs room for the user's message and the agent's answer; a tool step
        // is taken only when the answer still fits after it, so the count lands exactly.
        while target - transcript.len() >= 2 {
            let request = user_request(rng, domain, first);
            transcript.user(rng, request)?;
            first = false;
            for _ in 0..rng.range(0, 5) {
                let mut calls = match rng.below(10) {
                    0..=6 => 1,
                    7..=8 => 2,
                    _ => 3,
                };
                while calls > 1 && transcript.len() + transcript.step_len(calls) + 1 > target {
                    calls -= 1;
                }
                if transcript.len() + transcript.step_len(calls) + 1 > target {
                    break;
                }
                let calls = (0..calls).map(|_| tool_call(rng, domain)).collect();
                let text = rng.chance(0.4).then(|| agent_preamble(rng, domain));
                let thinking = agent_thinking(rng, domain);
                transcript.tool_step(rng, thinking, text, calls)?;
            }
            let answer = agent_answer(rng, domain);
            transcript.assistant(rng, answer)?;
        }
        if transcript.len() < target {
            let text = closing(rng).to_owned();
            transcript.user(rng, text)?;
        }

        let (agent, user, segment, (context_key, context)) = match domain {
            Domain::Coding => (
                rng.pick(&["code-agent", "code-agent", "review-bot", "migration-agent"]),
                format!("dev-{:03}", rng.below(60)),
                rng.pick(&["oss", "startup", "startup", "enterprise"]),
                ("repo", rng.pick(REPOS)),
            ),
            Domain::Airline => (
                rng.pick(&["airline-support", "airline-support", "airline-support-v2"]),
                format!("cust-{:04}", rng.below(900)),
                rng.pick(&["regular", "regular", "silver", "gold"]),
                ("channel", rng.pick(&["chat", "chat", "web", "voice"])),
            ),
        };
        let model_name = match dialect {
            Dialect::OpenAi => rng.pick(&["gpt-4o-2024-08-06", "gpt-4.1"]),
            Dialect::Anthropic => rng.pick(&["claude-sonnet-4-5", "claude-opus-4-1"]),
        };
        let messages = transcript.len();
        let tool_calls = transcript.tool_calls;
        let started_at = rfc3339(start)?;
        let ended_at = rfc3339(transcript.now_unix_secs)?;
        let mut record = json!({
            "id": format!("bench-{}-{index:08}", self.seed),
            "agent": agent,
            "user": user,
            "started_at": started_at,
            "ended_at": ended_at,
            "metadata": {"segment": segment, "model": model_name, context_key: context},
            "messages": transcript.messages,
        });
        if rng.chance(0.85) {
            let (result, value) = match rng.below(10) {
                0..=5 => ("satisfied", 1.0),
                6..=7 => ("needs_revision", 0.5),
                _ => ("failed", 0.0),
            };
            let (name, explanation) = outcome(rng, domain, result);
            record["outcomes"] = json!([{
                "name": name, "result": result, "value": value, "explanation": explanation,
            }]);
            record["reward"] = json!(value);
        }
        Ok(GeneratedSession {
            record,
            messages,
            tool_calls,
        })
    }
}

pub(crate) const MODULES: &[&str] = &[
    "store",
    "ingest",
    "session",
    "memory",
    "proposal",
    "signal",
    "pattern",
    "reflector",
    "embedder",
    "router",
    "config",
    "auth",
    "billing",
    "cache",
    "scheduler",
    "webhook",
];
pub(crate) const IDENTS: &[&str] = &[
    "parse_record",
    "open_store",
    "apply_change",
    "session_id",
    "max_bytes",
    "retry_after",
    "lease_expiry",
    "flush_batch",
    "event_count",
    "normalize_path",
    "rank_evidence",
];
const BRANCHES: &[&str] = &[
    "feat-x",
    "feat-retries",
    "fix-lease",
    "feat-webhooks",
    "fix-utf8",
    "chore-deps",
];
const REPOS: &[&str] = &[
    "acme/api",
    "acme/web",
    "acme/billing",
    "dream/dream",
    "ops/infra",
];
pub(crate) const AIRPORTS: &[&str] = &[
    "JFK", "SEA", "SFO", "LAX", "ORD", "ATL", "DFW", "DEN", "BOS", "MIA", "PHX", "EWR",
];
pub(crate) const FIRST_NAMES: &[&str] = &[
    "mia", "omar", "yusuf", "sofia", "liam", "aarav", "emma", "noah", "chen", "lucas",
];
pub(crate) const LAST_NAMES: &[&str] = &[
    "li", "garcia", "rossi", "kim", "patel", "nguyen", "smith", "muller", "silva", "khan",
];
pub(crate) const CABINS: &[&str] = &["basic_economy", "economy", "business"];

fn system_prompt(domain: Domain) -> String {
    match domain {
        Domain::Coding => "You are a coding agent working in a git repository. Run the tests \
             before you claim a fix works. Never force-push. Keep commits small and explain \
             what you changed and why."
            .to_owned(),
        Domain::Airline => "# Airline Agent Policy\n\nAs an airline agent, you can help users \
             book, modify, or cancel flight reservations.\n\n- Before taking any actions that \
             update the booking database, you must list the action details and obtain \
             explicit user confirmation (yes) to proceed.\n- Basic economy flights cannot be \
             modified. Cancellations are allowed within 24 hours of booking or with travel \
             insurance."
            .to_owned(),
    }
}

fn user_request(rng: &mut Rng, domain: Domain, first: bool) -> String {
    match (domain, first) {
        (Domain::Coding, true) => {
            let module = rng.pick(MODULES);
            let ident = rng.pick(IDENTS);
            match rng.below(5) {
                0 => format!("The {module} tests fail since yesterday's merge, can you fix them?"),
                1 => format!(
                    "Add a retry with backoff to `{ident}` in src/{module}.rs; it gives up \
                     after one timeout."
                ),
                2 => format!("Rename `{ident}` to something clearer across the crate and push."),
                3 => format!(
                    "CI is red on branch {}: clippy complains about {module}. Please fix and \
                     push.",
                    rng.pick(BRANCHES)
                ),
                _ => format!(
                    "Write tests for src/{module}.rs, coverage there is {}%.",
                    rng.range(12, 60)
                ),
            }
        }
        (Domain::Coding, false) => match rng.below(5) {
            0 => "Looks good, now push it.".to_owned(),
            1 => format!("Also run the {} tests please.", rng.pick(MODULES)),
            2 => "That broke the build on my machine, check again.".to_owned(),
            3 => format!("Why did you change `{}`?", rng.pick(IDENTS)),
            _ => "Can you squash the commits before pushing?".to_owned(),
        },
        (Domain::Airline, true) => {
            let user = airline_user(rng);
            match rng.below(4) {
                0 => format!(
                    "Hi! I'm looking to book a flight from {} to {} on May {}th. My user id \
                     is {user}.",
                    rng.pick(AIRPORTS),
                    rng.pick(AIRPORTS),
                    rng.range(10, 28)
                ),
                1 => format!(
                    "I need to cancel reservation {}. I'm {user}.",
                    reservation_id(rng)
                ),
                2 => format!(
                    "Can I change my flight to a later one? Reservation {}, user {user}.",
                    reservation_id(rng)
                ),
                _ => format!(
                    "I want to add {} checked bags to my trip. I'm {user}.",
                    rng.range(1, 3)
                ),
            }
        }
        (Domain::Airline, false) => match rng.below(5) {
            0 => "Yes, please go ahead.".to_owned(),
            1 => "Neither of those works for me, I don't want to fly before 11 AM.".to_owned(),
            2 => format!("Use my card ending in {}.", rng.range(1000, 9999)),
            3 => "What about the day after?".to_owned(),
            _ => "Can I get a refund instead?".to_owned(),
        },
    }
}

fn closing(rng: &mut Rng) -> &'static str {
    rng.pick(&["Thanks!", "ok", "Great, that's all.", "Thank you, bye."])
}

fn agent_thinking(rng: &mut Rng, domain: Domain) -> String {
    match domain {
        Domain::Coding => format!(
            "The failure mentions `{}` in src/{}.rs. I should look at the call site first, \
             then run the narrowest test that reproduces it before editing anything.",
            rng.pick(IDENTS),
            rng.pick(MODULES)
        ),
        Domain::Airline => format!(
            "The user wants a change on a {} ticket. Policy: I must confirm details and get \
             an explicit yes before any update. Check the reservation and flight status first.",
            rng.pick(CABINS)
        ),
    }
}

fn agent_preamble(rng: &mut Rng, domain: Domain) -> String {
    match domain {
        Domain::Coding => rng
            .pick(&[
                "I'll run the tests first to see what's failing.",
                "Let me look at the file before changing it.",
                "Checking the branch state.",
                "Applying the fix now.",
            ])
            .to_owned(),
        Domain::Airline => rng
            .pick(&[
                "Let me look up your details.",
                "I'll check the available flights.",
                "One moment while I check your reservation.",
            ])
            .to_owned(),
    }
}

fn agent_answer(rng: &mut Rng, domain: Domain) -> String {
    match domain {
        Domain::Coding => match rng.below(4) {
            0 => format!(
                "Fixed: `{}` returned early when the batch was empty, so src/{}.rs never \
                 flushed. All {} tests pass now.",
                rng.pick(IDENTS),
                rng.pick(MODULES),
                rng.range(20, 400)
            ),
            1 => format!(
                "Pushed to {} ({}). The branch had no upstream, so I set it with \
                 `--set-upstream origin`.",
                rng.pick(BRANCHES),
                rng.token(HEX, 7)
            ),
            2 => "I couldn't make the test pass without changing the public API. Do you want \
                  me to go ahead with the breaking change?"
                .to_owned(),
            _ => format!(
                "Done. Summary:\n\n1. Added a retry with exponential backoff (base {} ms).\n2. \
                 Added tests for the timeout path.\n3. Updated the changelog.",
                rng.range(50, 500)
            ),
        },
        Domain::Airline => match rng.below(4) {
            0 => format!(
                "Your reservation {} is confirmed: flight HAT{:03} from {} to {}, {}. Total \
                 charged: ${}.",
                reservation_id(rng),
                rng.below(300),
                rng.pick(AIRPORTS),
                rng.pick(AIRPORTS),
                rng.pick(CABINS),
                rng.range(60, 1800)
            ),
            1 => "I'm sorry, basic economy reservations cannot be modified. I can cancel it if \
                  it was booked within the last 24 hours."
                .to_owned(),
            2 => format!(
                "Here are the direct flights on 2024-05-{:02}:\n\n1. HAT{:03}, departs \
                 {:02}:00 EST, economy ${}\n2. HAT{:03}, departs {:02}:00 EST, economy ${}\n\n\
                 Which one would you like?",
                rng.range(10, 28),
                rng.below(300),
                rng.range(5, 23),
                rng.range(60, 400),
                rng.below(300),
                rng.range(5, 23),
                rng.range(60, 400)
            ),
            _ => "To proceed I need your explicit confirmation (yes).".to_owned(),
        },
    }
}

fn outcome(rng: &mut Rng, domain: Domain, result: &str) -> (&'static str, String) {
    let name = match domain {
        Domain::Coding => rng.pick(&["tests_pass", "task_completed"]),
        Domain::Airline => "task_completed",
    };
    let explanation = match result {
        "satisfied" => "the requested change was made and verified".to_owned(),
        "needs_revision" => format!(
            "partially done: {}",
            rng.pick(&[
                "pushed without running the full suite",
                "booked the right flight but wrong cabin",
                "asked for confirmation twice",
            ])
        ),
        _ => format!(
            "not done: {}",
            rng.pick(&[
                "the push failed and the agent stopped",
                "updated the reservation without explicit confirmation",
                "tests still fail",
            ])
        ),
    };
    (name, explanation)
}

fn airline_user(rng: &mut Rng) -> String {
    format!(
        "{}_{}_{}",
        rng.pick(FIRST_NAMES),
        rng.pick(LAST_NAMES),
        rng.range(1000, 9999)
    )
}

fn reservation_id(rng: &mut Rng) -> String {
    rng.token(UPPER36, 6)
}

fn date(rng: &mut Rng) -> String {
    format!("2024-05-{:02}", rng.range(1, 30))
}

/// Returns a tool call of `domain`: mostly short successes, about 15% errors and about 5%
/// long outputs.
fn tool_call(rng: &mut Rng, domain: Domain) -> Call {
    let kind = rng.below(100);
    let error = rng.chance(0.15);
    let long = !error && rng.chance(0.05);
    match domain {
        Domain::Coding => match kind {
            0..=34 => bash_call(rng, error, long),
            35..=54 => git_call(rng, error),
            55..=74 => edit_call(rng, error),
            _ => read_file_call(rng, error, long),
        },
        Domain::Airline => airline_call(rng, kind, error, long),
    }
}

fn bash_call(rng: &mut Rng, error: bool, long: bool) -> Call {
    let module = rng.pick(MODULES);
    let command = match rng.below(4) {
        0 => format!("cargo test -p dream-{module}"),
        1 => "cargo clippy --all-targets -- -D warnings".to_owned(),
        2 => format!("rg -n '{}' crates/", rng.pick(IDENTS)),
        _ => format!("pytest tests/test_{module}.py -q"),
    };
    let output = if error {
        match rng.below(3) {
            0 => format!(
                "error[E0425]: cannot find value `{}` in this scope\n  --> src/{module}.rs:{}:{}\n\
                 \nerror: could not compile `dream-{module}` (lib) due to 1 previous error",
                rng.pick(IDENTS),
                rng.range(10, 900),
                rng.range(1, 80)
            ),
            1 => format!(
                "Error: command timed out after {} ms",
                rng.range(60, 600) * 1000
            ),
            _ => format!(
                "FAILED tests/test_{module}.py::test_{} - AssertionError: assert {} == {}\n\
                 1 failed, {} passed in {}.{:02}s",
                rng.pick(IDENTS),
                rng.range(0, 99),
                rng.range(100, 199),
                rng.range(5, 200),
                rng.range(0, 30),
                rng.below(100)
            ),
        }
    } else if long {
        test_log(rng, module)
    } else {
        format!(
            "test result: ok. {} passed; 0 failed; {} ignored; finished in {}.{:02}s",
            rng.range(3, 400),
            rng.below(3),
            rng.below(20),
            rng.below(100)
        )
    };
    Call {
        name: "bash",
        input: json!({"command": command, "timeout_ms": 120_000}),
        output,
        is_error: error,
    }
}

fn git_call(rng: &mut Rng, error: bool) -> Call {
    let branch = rng.pick(BRANCHES);
    let (args, output) = match rng.below(4) {
        0 => (
            json!(["push"]),
            if error {
                format!(
                    "fatal: The current branch {branch} has no upstream branch.\nTo push the \
                     current branch and set the remote as upstream, use\n\n    git push \
                     --set-upstream origin {branch}\n"
                )
            } else {
                format!(
                    "To github.com:{}.git\n   {}..{}  {branch} -> {branch}",
                    rng.pick(REPOS),
                    rng.token(HEX, 7),
                    rng.token(HEX, 7)
                )
            },
        ),
        1 => (
            json!(["status", "--short"]),
            if error {
                "fatal: not a git repository (or any of the parent directories): .git".to_owned()
            } else {
                format!(
                    " M src/{}.rs\n M src/{}.rs\n?? tests/{}.rs",
                    rng.pick(MODULES),
                    rng.pick(MODULES),
                    rng.pick(MODULES)
                )
            },
        ),
        2 => (
            json!(["rebase", "origin/main"]),
            if error {
                format!(
                    "CONFLICT (content): Merge conflict in src/{}.rs\nerror: could not apply \
                     {}... fix lease expiry",
                    rng.pick(MODULES),
                    rng.token(HEX, 7)
                )
            } else {
                format!("Successfully rebased and updated refs/heads/{branch}.")
            },
        ),
        _ => (
            json!([
                "commit",
                "-m",
                format!("fix {}: handle empty batch", rng.pick(MODULES))
            ]),
            if error {
                "error: failed to push some refs; hint: Updates were rejected because the tip \
                 of your current branch is behind"
                    .to_owned()
            } else {
                format!(
                    "[{branch} {}] fix: handle empty batch\n {} files changed, {} insertions(+), \
                     {} deletions(-)",
                    rng.token(HEX, 7),
                    rng.range(1, 6),
                    rng.range(1, 120),
                    rng.range(0, 40)
                )
            },
        ),
    };
    Call {
        name: "git",
        input: json!({"args": args}),
        output,
        is_error: error,
    }
}

fn edit_call(rng: &mut Rng, error: bool) -> Call {
    let path = format!("src/{}.rs", rng.pick(MODULES));
    let ident = rng.pick(IDENTS);
    let old =
        format!("    if batch.is_empty() {{\n        return Ok(());\n    }}\n    {ident}(batch)?;");
    let new = format!(
        "    if batch.is_empty() {{\n        return self.flush().await;\n    }}\n    {ident}(batch)\n        .map_err(|e| Error::Batch {{ len: {}, source: e }})?;",
        rng.range(1, 512)
    );
    let output = if error {
        format!("Error: old_string not found in {path}")
    } else {
        format!(
            "Applied edit to {path} (+{} -{})",
            rng.range(1, 9),
            rng.range(0, 4)
        )
    };
    Call {
        name: "edit_file",
        input: json!({"path": path, "old_string": old, "new_string": new}),
        output,
        is_error: error,
    }
}

fn read_file_call(rng: &mut Rng, error: bool, long: bool) -> Call {
    let module = rng.pick(MODULES);
    let path = format!("src/{module}.rs");
    let output = if error {
        format!("Error: ENOENT: no such file or directory, open '{path}'")
    } else {
        source_file(rng, module, if long { 2_000 } else { 300 })
    };
    Call {
        name: "read_file",
        input: json!({"path": path}),
        output,
        is_error: error,
    }
}

fn airline_call(rng: &mut Rng, kind: u64, error: bool, long: bool) -> Call {
    let flight = format!("HAT{:03}", rng.below(300));
    let day = date(rng);
    let reservation = reservation_id(rng);
    let (name, input, output) = match kind {
        0..=24 => {
            let user = airline_user(rng);
            let output = if error {
                "Error: user not found".to_owned()
            } else {
                user_details(rng, &user)
            };
            ("get_user_details", json!({"user_id": user}), output)
        }
        25..=49 => {
            let (origin, destination) = (rng.pick(AIRPORTS), rng.pick(AIRPORTS));
            let output = if error {
                format!("Error: no direct flights from {origin} to {destination}")
            } else {
                flight_list(rng, origin, destination, if long { 14 } else { 2 })
            };
            (
                "search_direct_flight",
                json!({"origin": origin, "destination": destination, "date": day}),
                output,
            )
        }
        50..=69 => {
            let output = if error {
                "Error: reservation not found".to_owned()
            } else {
                reservation_details(rng, &reservation, &flight, &day)
            };
            (
                "get_reservation_details",
                json!({"reservation_id": reservation}),
                output,
            )
        }
        70..=89 => {
            let output = if error {
                match rng.below(3) {
                    0 => format!("Error: flight {flight} not available on date {day}"),
                    1 => format!("Error: not enough seats on flight {flight}"),
                    _ => "Error: payment method not found".to_owned(),
                }
            } else {
                let booked = reservation_id(rng);
                reservation_details(rng, &booked, &flight, &day)
            };
            let input = json!({
                "user_id": airline_user(rng),
                "origin": rng.pick(AIRPORTS),
                "destination": rng.pick(AIRPORTS),
                "flight_type": "one_way",
                "cabin": rng.pick(CABINS),
                "flights": [{"flight_number": flight, "date": day}],
                "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
                "payment_methods": [{"payment_id": format!("credit_card_{}", rng.range(1_000_000, 9_999_999)), "amount": rng.range(60, 1800)}],
                "total_baggages": rng.below(3),
                "nonfree_baggages": 0,
                "insurance": if rng.chance(0.3) { "yes" } else { "no" },
            });
            ("book_reservation", input, output)
        }
        _ => {
            let output = if error {
                "Error: cannot cancel a basic economy reservation after 24 hours".to_owned()
            } else {
                format!(
                    "{{\"reservation_id\": \"{reservation}\", \"status\": \"cancelled\", \
                     \"refund\": {}}}",
                    rng.range(50, 900)
                )
            };
            (
                "cancel_reservation",
                json!({"reservation_id": reservation, "reason": "change of plan"}),
                output,
            )
        }
    };
    Call {
        name,
        input,
        output,
        is_error: error,
    }
}

fn user_details(rng: &mut Rng, user: &str) -> String {
    json!({
        "user_id": user,
        "address": {
            "address1": format!("{} Sunset Drive", rng.range(1, 999)),
            "city": rng.pick(&["Austin", "Denver", "Boston", "Seattle"]),
            "country": "USA",
            "zip": format!("{:05}", rng.range(10_000, 99_999)),
        },
        "dob": format!("19{}-0{}-1{}", rng.range(50, 99), rng.range(1, 9), rng.range(0, 9)),
        "membership": rng.pick(&["regular", "silver", "gold"]),
        "payment_methods": {
            "credit_card": {"brand": "visa", "last_four": rng.range(1000, 9999).to_string()},
            "certificate": {"amount": rng.range(50, 500)},
        },
        "reservations": (0..rng.range(1, 5)).map(|_| reservation_id(rng)).collect::<Vec<_>>(),
    })
    .to_string()
}

fn reservation_details(rng: &mut Rng, reservation: &str, flight: &str, day: &str) -> String {
    json!({
        "reservation_id": reservation,
        "origin": rng.pick(AIRPORTS),
        "destination": rng.pick(AIRPORTS),
        "flight_type": rng.pick(&["one_way", "round_trip"]),
        "cabin": rng.pick(CABINS),
        "flights": [{"flight_number": flight, "date": day, "price": rng.range(50, 900)}],
        "passengers": [{"first_name": "Mia", "last_name": "Li", "dob": "1990-04-05"}],
        "created_at": format!("2024-05-{:02}T{:02}:{:02}:00", rng.range(1, 14), rng.below(24), rng.below(60)),
        "total_baggages": rng.below(3),
        "insurance": rng.pick(&["yes", "no"]),
    })
    .to_string()
}

fn flight_list(rng: &mut Rng, origin: &str, destination: &str, count: u64) -> String {
    let flights: Vec<Value> = (0..count)
        .map(|_| {
            let departure = rng.range(0, 20);
            json!({
                "flight_number": format!("HAT{:03}", rng.below(300)),
                "origin": origin,
                "destination": destination,
                "scheduled_departure_time_est": format!("{departure:02}:00:00"),
                "scheduled_arrival_time_est": format!("{:02}:00:00", departure + rng.range(1, 4)),
                "status": "available",
                "available_seats": {
                    "basic_economy": rng.below(20),
                    "economy": rng.below(20),
                    "business": rng.below(8),
                },
                "prices": {
                    "basic_economy": rng.range(50, 100),
                    "economy": rng.range(100, 200),
                    "business": rng.range(200, 500),
                },
            })
        })
        .collect();
    Value::Array(flights).to_string()
}

/// A cargo test log of 2–8 KB.
fn test_log(rng: &mut Rng, module: &str) -> String {
    let target = rng.range(2_000, 8_000) as usize;
    let mut log = format!(
        "   Compiling dream-{module} v0.1.0\n    Finished `test` profile in {}.{:02}s\n     \
         Running unittests src/lib.rs\n\n",
        rng.range(1, 90),
        rng.below(100)
    );
    let mut tests = 0;
    while log.len() < target {
        log.push_str(&format!(
            "test {module}::tests::{}_{} ... ok\n",
            rng.pick(IDENTS),
            rng.token(HEX, 4)
        ));
        tests += 1;
    }
    log.push_str(&format!(
        "\ntest result: ok. {tests} passed; 0 failed; 0 ignored; finished in 0.{:02}s\n",
        rng.below(100)
    ));
    log
}

/// Rust-looking source of about `min_len` bytes or more (at most a few KB).
fn source_file(rng: &mut Rng, module: &str, min_len: usize) -> String {
    let target = min_len + rng.below(min_len as u64 * 3) as usize;
    let mut text = format!("//! The {module} module.\n\nuse crate::error::{{Error, Result}};\n\n");
    let mut line = 5;
    while text.len() < target {
        let ident = rng.pick(IDENTS);
        text.push_str(&format!(
            "/// Returns the {ident} for a batch of at most {} items.\npub fn {ident}_{}(batch: &[Item]) -> Result<u64> {{\n    let mut total = 0;\n    for item in batch {{\n        total += item.len as u64; // line {line}\n    }}\n    Ok(total)\n}}\n\n",
            rng.range(1, 1024),
            rng.token(HEX, 3),
        ));
        line += 9;
    }
    text
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn generate(target_bytes: u64, seed: u64) -> (Vec<u8>, WorkloadStats) {
        let mut out = Vec::new();
        let stats = write_transcripts(&mut out, target_bytes, seed).unwrap();
        (out, stats)
    }

    #[test]
    fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
        let (a, _) = generate(300_000, 7);
        let (b, _) = generate(300_000, 7);
        let (c, _) = generate(300_000, 8);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn size_is_reached_and_overshoots_by_at_most_one_session() {
        let (out, stats) = generate(500_000, 1);
        assert_eq!(out.len() as u64, stats.size_bytes);
        assert!(stats.size_bytes >= 500_000);
        let last_line = out[..out.len() - 1].rsplit(|&b| b == b'\n').next().unwrap();
        assert!(stats.size_bytes - (last_line.len() as u64 + 1) < 500_000);
    }

    #[test]
    fn sessions_are_canonical_records_with_unique_ids_and_both_dialects() {
        let (out, stats) = generate(1_000_000, 42);
        let mut ids = HashSet::new();
        let (mut openai, mut anthropic, mut errors, mut messages) = (0, 0, 0, 0);
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let record: Value = serde_json::from_slice(line).unwrap();
            assert!(ids.insert(record["id"].as_str().unwrap().to_owned()));
            for key in ["agent", "user", "started_at", "ended_at"] {
                assert!(record[key].is_string(), "{key} missing");
            }
            assert!(record["metadata"]["segment"].is_string());
            let list = record["messages"].as_array().unwrap();
            assert!((10..=80).contains(&list.len()), "{} messages", list.len());
            messages += list.len() as u64;
            for message in list {
                let ts = message["timestamp"].as_str().unwrap();
                OffsetDateTime::parse(ts, &Rfc3339).unwrap();
                if message.get("tool_calls").is_some() {
                    openai += 1;
                }
                let text = message.to_string();
                if text.contains("\"tool_use\"") {
                    anthropic += 1;
                }
                if text.contains("Error: ") || text.contains("fatal: ") {
                    errors += 1;
                }
            }
        }
        assert_eq!(ids.len() as u64, stats.sessions);
        assert_eq!(messages, stats.messages);
        assert!(openai > 0 && anthropic > 0 && errors > 0);
    }

    #[test]
    fn openai_arguments_are_json_strings_and_results_pair_with_calls() {
        let (out, _) = generate(300_000, 3);
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let record: Value = serde_json::from_slice(line).unwrap();
            let mut open = HashSet::new();
            for message in record["messages"].as_array().unwrap() {
                for call in message["tool_calls"].as_array().into_iter().flatten() {
                    let arguments = call["function"]["arguments"].as_str().unwrap();
                    serde_json::from_str::<Value>(arguments).unwrap();
                    open.insert(call["id"].as_str().unwrap().to_owned());
                }
                if message["role"] == "tool" {
                    assert!(open.remove(message["tool_call_id"].as_str().unwrap()));
                }
            }
            assert!(open.is_empty());
        }
    }

    #[test]
    fn splitmix64_matches_the_reference_sequence() {
        // From the reference implementation (Vigna, prng.di.unimi.it/splitmix64.c), seed 0.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }
}
