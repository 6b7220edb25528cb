//! `cargo xtask`: workloads and benchmarks for dream.
//!
//! `cargo xtask` is an alias (see `.cargo/config.toml`) for
//! `cargo run --package xtask --release --`. Progress notes go to stderr; results go to
//! stdout, so `cargo xtask bench-ingest > result.txt` keeps only the table.
//!
//! ```text
//! cargo xtask gen-transcripts --out /tmp/work.jsonl --size-mb 50 --seed 7
//! cargo xtask bench-ingest --size-mb 20
//! cargo xtask bench-ingest --memory --memory-sizes 1,4,16
//! cargo xtask gen-sessions --sessions 10000 --out /tmp/sessions.jsonl
//! cargo xtask bench-dream --sizes 1000,10000
//! ```

mod bench_dream;
mod bench_ingest;
mod bench_ingest_memory;
mod eval;
mod session_workload;
mod workload;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::bench_dream::{BenchDreamArgs, DreamOnceArgs};
use crate::bench_ingest::BenchIngestArgs;

/// The seed every subcommand uses unless told otherwise.
const DEFAULT_SEED: u64 = 42;

/// Workloads and benchmarks for dream.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a synthetic canonical JSONL transcript file (deterministic for a seed).
    GenTranscripts(GenTranscriptsArgs),
    /// Build `dream` in release and measure `dream ingest` against a plain JSON parse.
    BenchIngest(BenchIngestArgs),
    /// Write a synthetic workload for the dream engine: N sessions with recurring tool
    /// errors, fixes, corrections, preferences and keyed facts (deterministic for a seed).
    GenSessions(GenSessionsArgs),
    /// Measure ingest and dream time, peak memory and results over workloads of growing
    /// size, one child process per size.
    BenchDream(BenchDreamArgs),
    /// Measure what the local dream learns: recall, right wording and false lessons per
    /// pattern kind on hand-labelled real sessions and a planted workload, and the
    /// contradictory and duplicate notes left after approving.
    Eval(eval::EvalArgs),
    /// Ingest one workload into a fresh store and dream twice (the child of bench-dream).
    #[command(hide = true)]
    DreamOnce(DreamOnceArgs),
}

/// Arguments of `cargo xtask gen-transcripts`.
#[derive(Debug, Args)]
struct GenTranscriptsArgs {
    /// Output file; created or truncated.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Approximate size in MB (1 MB = 1,000,000 bytes). Sessions are written whole, so
    /// the file ends at the first session that reaches the size: at most one session
    /// (tens of KB) over.
    #[arg(long, value_name = "MB")]
    size_mb: f64,

    /// Seed of the generator: the same seed and size give a byte-identical file.
    #[arg(long, default_value_t = DEFAULT_SEED, value_name = "S")]
    seed: u64,
}

/// Arguments of `cargo xtask gen-sessions`.
#[derive(Debug, Args)]
struct GenSessionsArgs {
    /// Number of sessions, one per line (about 3.5 KB each: 100,000 make about 350 MB).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    sessions: u64,

    /// Output file; created or truncated.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Seed of the generator: the same seed and count give a byte-identical file, and a
    /// smaller count gives a prefix of it.
    #[arg(long, default_value_t = DEFAULT_SEED, value_name = "S")]
    seed: u64,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::GenTranscripts(args) => cmd_gen_transcripts(args),
        Command::BenchIngest(args) => bench_ingest::cmd_bench_ingest(args),
        Command::GenSessions(args) => cmd_gen_sessions(args),
        Command::BenchDream(args) => bench_dream::cmd_bench_dream(args),
        Command::DreamOnce(args) => bench_dream::cmd_dream_once(args),
        Command::Eval(args) => eval::cmd_eval(args),
    }
}

fn cmd_gen_sessions(args: GenSessionsArgs) -> Result<()> {
    let stats = session_workload::write_file(&args.out, args.sessions, args.seed)?;
    println!(
        "wrote {}: {:.1} MB, {} sessions, {} messages, {} tool calls (seed {})",
        args.out.display(),
        stats.size_bytes as f64 / workload::BYTES_PER_MB,
        thousands(stats.sessions),
        thousands(stats.messages),
        thousands(stats.tool_calls),
        args.seed
    );
    println!(
        "errors: {} recurring ({} fixed), {} one-off; user turns: {} corrections, {} \
         preferences, {} keyed facts",
        thousands(stats.recurring_errors),
        thousands(stats.fixes),
        thousands(stats.one_off_errors),
        thousands(stats.corrections),
        thousands(stats.preferences),
        thousands(stats.facts)
    );
    Ok(())
}

fn cmd_gen_transcripts(args: GenTranscriptsArgs) -> Result<()> {
    let target_bytes = size_bytes(args.size_mb)?;
    let stats = workload::write_file(&args.out, target_bytes, args.seed)?;
    println!(
        "wrote {}: {:.1} MB, {} sessions, {} messages, {} tool calls (seed {})",
        args.out.display(),
        stats.size_bytes as f64 / workload::BYTES_PER_MB,
        thousands(stats.sessions),
        thousands(stats.messages),
        thousands(stats.tool_calls),
        args.seed
    );
    Ok(())
}

/// Returns `size_mb` MB in bytes.
///
/// # Errors
///
/// When `size_mb` is not a positive finite number.
fn size_bytes(size_mb: f64) -> Result<u64> {
    if !size_mb.is_finite() || size_mb <= 0.0 {
        bail!("--size-mb must be a positive number of MB, got {size_mb}");
    }
    Ok((size_mb * workload::BYTES_PER_MB).ceil() as u64)
}

/// Returns `n` with a comma between groups of three digits: `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(412_003), "412,003");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn size_must_be_positive() {
        assert_eq!(size_bytes(1.5).unwrap(), 1_500_000);
        assert!(size_bytes(0.0).is_err());
        assert!(size_bytes(-3.0).is_err());
        assert!(size_bytes(f64::NAN).is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
