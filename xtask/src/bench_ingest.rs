//! `cargo xtask bench-ingest`: how fast `dream ingest` reads canonical JSONL, next to
//! the cost of merely parsing the same bytes.
//!
//! Steps, in order, over one generated workload (see [`crate::workload`]):
//!
//! 1. `serde_json::from_slice::<Value>` on each line, in this process (256 KiB buffered
//!    reads): a floor for any reader that builds a JSON tree per record.
//! 2. `dream --db bench.db --quiet --json ingest FILE` on an empty store: every session
//!    is new.
//! 3. the same command again: every session is already stored, nothing is written.
//!
//! The workload and the store live in `target/xtask-bench/run-PID/` rather than the
//! system temp dir, which is often a tmpfs: the store should sit on the disk a user's
//! store would. The file was just written, so all three steps read it from the page
//! cache; the numbers measure CPU and SQLite, not the disk's read speed.
//!
//! Peak RSS is per child: each `dream` process is reaped with `libc::wait4(pid, …)`,
//! which returns that one child's `rusage`. `getrusage(RUSAGE_CHILDREN)` would not do:
//! its `ru_maxrss` is the largest of all children reaped so far, so the second run would
//! report the first run's peak whenever that was larger. `ru_maxrss` is the high-water
//! mark of resident memory (VmHWM), in KiB on Linux and in bytes on macOS.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::Value;

use crate::workload::{self, BYTES_PER_MB, WorkloadStats};
use crate::{DEFAULT_SEED, size_bytes, thousands};

/// Read buffer of the parse baseline, in bytes.
const PARSE_BUFFER_BYTES: usize = 256 * 1024;

/// Arguments of `cargo xtask bench-ingest`.
#[derive(Debug, Args)]
pub struct BenchIngestArgs {
    /// Size of the generated workload in MB (1 MB = 1,000,000 bytes).
    #[arg(long, default_value_t = 200.0, value_name = "MB")]
    size_mb: f64,

    /// Seed of the workload generator.
    #[arg(long, default_value_t = DEFAULT_SEED, value_name = "S")]
    seed: u64,

    /// Benchmark this `dream` binary instead of building target/release/dream (to compare
    /// two builds, or to measure while the workspace does not compile).
    #[arg(long, value_name = "PATH")]
    dream: Option<PathBuf>,

    /// Keep the workload and the store (target/xtask-bench/run-PID/) instead of removing
    /// them at the end.
    #[arg(long)]
    keep: bool,

    /// Measure peak RSS against input size instead (see `bench_ingest_memory`): each
    /// size of `--memory-sizes` as many sessions, as one session of message lines and
    /// as one session record, plus one session of `--short-messages` messages.
    #[arg(long)]
    memory: bool,

    /// Input sizes of `--memory`, in MB, comma-separated.
    #[arg(long, value_name = "MB,…", value_delimiter = ',', default_value = crate::bench_ingest_memory::DEFAULT_SIZES_MB)]
    memory_sizes: Vec<f64>,

    /// Messages of the short-message session of `--memory` (0: none).
    #[arg(long, value_name = "N", default_value_t = crate::bench_ingest_memory::DEFAULT_SHORT_MESSAGES)]
    short_messages: u64,
}

/// One timed step.
#[derive(Debug, Clone, Copy)]
struct Step {
    elapsed: Duration,
    /// Sessions read.
    sessions: u64,
    /// Events read, when the step knows them.
    events: Option<u64>,
    /// Peak resident memory of the process that did the work.
    peak_rss_bytes: Option<u64>,
}

/// What one `dream ingest` run reported.
#[derive(Debug, Clone, Copy)]
struct IngestRun {
    step: Step,
    created: u64,
    unchanged: u64,
    events_written: u64,
}

/// Runs the benchmark and prints its table on stdout.
///
/// # Errors
///
/// When `dream` does not build, the workload cannot be written, or an ingest fails or
/// skips a session (the numbers would then not measure what they claim to).
pub fn cmd_bench_ingest(args: BenchIngestArgs) -> Result<()> {
    let target_bytes = size_bytes(args.size_mb)?;
    let root = workspace_root()?;
    let dream = match args.dream {
        Some(dream) if dream.is_file() => dream,
        Some(dream) => bail!("--dream {} is not a file", dream.display()),
        None => build_dream(&root)?,
    };

    let scratch = ScratchDir::create(
        target_dir(&root)
            .join("xtask-bench")
            .join(format!("run-{}", std::process::id())),
        args.keep,
    )?;
    if args.memory {
        return crate::bench_ingest_memory::run(
            &dream,
            &scratch.path,
            &args.memory_sizes,
            args.short_messages,
            args.seed,
        );
    }
    let workload_path = scratch.path.join("workload.jsonl");
    let db = scratch.path.join("bench.db");

    eprintln!(
        "generating {:.1} MB of transcripts (seed {})…",
        target_bytes as f64 / BYTES_PER_MB,
        args.seed
    );
    let stats = workload::write_file(&workload_path, target_bytes, args.seed)?;

    eprintln!("parsing with serde_json…");
    let parse = parse_baseline(&workload_path)?;
    if parse.sessions != stats.sessions {
        bail!(
            "parsed {} records but generated {} sessions",
            parse.sessions,
            stats.sessions
        );
    }

    eprintln!("dream ingest (new store)…");
    let new = run_ingest(&dream, &db, &workload_path)?;
    if new.created != stats.sessions {
        bail!(
            "dream ingest created {} sessions of {}; the workload or the ingest is wrong",
            new.created,
            stats.sessions
        );
    }
    let store_bytes = store_size_bytes(&db);

    eprintln!("dream ingest (same file again)…");
    let again = run_ingest(&dream, &db, &workload_path)?;
    if again.unchanged != stats.sessions || again.events_written != 0 {
        eprintln!(
            "warning: re-ingest was not a no-op: {} of {} sessions unchanged, {} events written",
            again.unchanged, stats.sessions, again.events_written
        );
    }

    print_table(&stats, args.seed, &parse, &new, &again, store_bytes);
    if args.keep {
        println!("kept: {}", scratch.path.display());
    }
    Ok(())
}

/// Returns the workspace root: the parent of this crate's manifest directory.
pub(crate) fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask's manifest directory has no parent")
}

/// Returns cargo's target directory: `$CARGO_TARGET_DIR`, else `ROOT/target`.
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// Builds `dream` in release and returns the path of the binary.
fn build_dream(root: &Path) -> Result<PathBuf> {
    eprintln!("building dream (release)…");
    // `cargo run` passes its own cargo in $CARGO; the toolchain file applies either way.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "-p", "dream-cli"])
        .current_dir(root)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("`cargo build --release -p dream-cli` failed ({status})");
    }
    let dream = target_dir(root)
        .join("release")
        .join(format!("dream{}", std::env::consts::EXE_SUFFIX));
    if !dream.is_file() {
        bail!("cargo built dream-cli but {} is missing", dream.display());
    }
    Ok(dream)
}

/// Parses every line as a `serde_json::Value`, timed.
fn parse_baseline(path: &Path) -> Result<Step> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::with_capacity(PARSE_BUFFER_BYTES, file);
    let mut line = Vec::with_capacity(PARSE_BUFFER_BYTES);
    let mut sessions = 0;
    let mut line_number = 0u64;
    let start = Instant::now();
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if read == 0 {
            break;
        }
        line_number += 1;
        let record = line.trim_ascii();
        if record.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_slice(record)
            .with_context(|| format!("{}:{line_number}: invalid JSON", path.display()))?;
        std::hint::black_box(&value);
        sessions += 1;
    }
    Ok(Step {
        elapsed: start.elapsed(),
        sessions,
        events: None,
        peak_rss_bytes: None,
    })
}

/// Runs `dream --db DB --quiet --json ingest FILE` and reads its report.
fn run_ingest(dream: &Path, db: &Path, file: &Path) -> Result<IngestRun> {
    let mut command = Command::new(dream);
    command
        .arg("--db")
        .arg(db)
        .args(["--quiet", "--json", "ingest"])
        .arg(file);
    let child = run_measured(command)?;
    if !child.success {
        bail!(
            "`dream ingest` failed ({}):\n{}{}",
            child.status,
            String::from_utf8_lossy(&child.stderr),
            String::from_utf8_lossy(&child.stdout)
        );
    }
    let report: Value =
        serde_json::from_slice(&child.stdout).context("`dream ingest --json` printed no JSON")?;
    let count = |name: &str| -> Result<u64> {
        report["counts"][name]
            .as_u64()
            .with_context(|| format!("`dream ingest --json` reported no counts.{name}"))
    };
    if count("skipped")? > 0 {
        let first = report["skipped"][0]["message"].as_str().unwrap_or("?");
        bail!(
            "dream ingest skipped {} sessions, the first: {first}",
            count("skipped")?
        );
    }
    let sessions = report["sessions"]
        .as_array()
        .context("`dream ingest --json` reported no sessions list")?;
    let events = sessions
        .iter()
        .map(|s| s["event_count"].as_u64().unwrap_or(0))
        .sum();
    Ok(IngestRun {
        step: Step {
            elapsed: child.elapsed,
            sessions: sessions.len() as u64,
            events: Some(events),
            peak_rss_bytes: child.peak_rss_bytes,
        },
        created: count("created")?,
        unchanged: count("unchanged")?,
        events_written: count("events_written")?,
    })
}

/// A finished child process.
#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) success: bool,
    pub(crate) status: String,
    pub(crate) elapsed: Duration,
    pub(crate) peak_rss_bytes: Option<u64>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

/// Runs `command` with stdout and stderr captured; times it from spawn to reap and
/// records its own peak RSS (see the module docs).
pub(crate) fn run_measured(mut command: Command) -> Result<Measured> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {:?}", command.get_program()))?;
    let mut stderr_pipe = child.stderr.take().context("child has no stderr pipe")?;
    // Read stderr on a thread so that neither pipe can fill up and stall the child.
    let stderr_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr_pipe.read_to_end(&mut buf).map(|_| buf)
    });
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .context("child has no stdout pipe")?
        .read_to_end(&mut stdout)
        .context("cannot read the child's stdout")?;
    let (success, status, peak_rss_bytes) = reap(child)?;
    let elapsed = start.elapsed();
    let stderr = match stderr_reader.join() {
        Ok(read) => read.context("cannot read the child's stderr")?,
        Err(_) => bail!("the stderr reader thread panicked"),
    };
    Ok(Measured {
        success,
        status,
        elapsed,
        peak_rss_bytes,
        stdout,
        stderr,
    })
}

/// Waits for `child` with `wait4`, returning (success, status text, peak RSS in bytes).
///
/// `child` is reaped here, so it must not be waited on through `std` afterwards; it is
/// consumed to make sure of that (dropping a `Child` neither waits nor kills).
#[cfg(unix)]
pub(crate) fn reap(child: std::process::Child) -> Result<(bool, String, Option<u64>)> {
    use std::os::unix::process::ExitStatusExt;

    let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
    let mut raw_status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types wait4 expects;
        // `pid` is our own unreaped child.
        let reaped = unsafe { libc::wait4(pid, &mut raw_status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4 on the dream process failed");
        }
    }
    let status = std::process::ExitStatus::from_raw(raw_status);
    let max_rss = u64::try_from(usage.ru_maxrss).unwrap_or(0);
    let peak_rss_bytes = if cfg!(target_os = "macos") {
        max_rss
    } else {
        max_rss * 1024
    };
    Ok((status.success(), status.to_string(), Some(peak_rss_bytes)))
}

/// Waits for `child`; without `wait4` there is no per-child peak RSS.
#[cfg(not(unix))]
pub(crate) fn reap(mut child: std::process::Child) -> Result<(bool, String, Option<u64>)> {
    let status = child.wait().context("cannot wait for the dream process")?;
    Ok((status.success(), status.to_string(), None))
}

/// Returns the bytes of the SQLite store with its WAL and shared-memory files.
pub(crate) fn store_size_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            fs::metadata(PathBuf::from(path)).ok()
        })
        .map(|meta| meta.len())
        .sum()
}

fn print_table(
    stats: &WorkloadStats,
    seed: u64,
    parse: &Step,
    new: &IngestRun,
    again: &IngestRun,
    store_bytes: u64,
) {
    let mb = stats.size_bytes as f64 / BYTES_PER_MB;
    let events = new.step.events.unwrap_or(0);
    println!(
        "workload: {mb:.1} MB canonical JSONL, {} sessions, {} messages, {} events (seed {seed})",
        thousands(stats.sessions),
        thousands(stats.messages),
        thousands(events),
    );
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("machine: {cpus} CPUs\n");
    println!(
        "{:<26} {:>9} {:>8} {:>12} {:>11} {:>10}",
        "step", "time", "MB/s", "sessions/s", "events/s", "peak RSS"
    );
    let rows = [
        ("serde_json parse (Value)", parse),
        ("dream ingest (new)", &new.step),
        ("dream ingest (unchanged)", &again.step),
    ];
    for (name, step) in rows {
        let secs = step.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "{name:<26} {:>7.2} s {:>8.1} {:>12} {:>11} {:>10}",
            secs,
            mb / secs,
            thousands((step.sessions as f64 / secs).round() as u64),
            step.events.map_or("-".to_owned(), |n| thousands(
                (n as f64 / secs).round() as u64
            )),
            step.peak_rss_bytes
                .map_or("-".to_owned(), |b| format!("{} MiB", b.div_ceil(1 << 20))),
        );
    }
    let rate = |step: &Step| mb / step.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "\ningest/parse ratio: {:.2} (new), {:.2} (unchanged)",
        rate(&new.step) / rate(parse),
        rate(&again.step) / rate(parse)
    );
    println!(
        "events written: {} (new), {} (unchanged); store size after the first ingest: {:.1} MiB",
        thousands(new.events_written),
        thousands(again.events_written),
        store_bytes as f64 / f64::from(1u32 << 20)
    );
}

/// A directory removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    pub(crate) path: PathBuf,
    keep: bool,
}

impl ScratchDir {
    pub(crate) fn create(path: PathBuf, keep: bool) -> Result<Self> {
        if path.exists() {
            // A leftover of an earlier run with the same pid: start clean.
            fs::remove_dir_all(&path)
                .with_context(|| format!("cannot clear {}", path.display()))?;
        }
        fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { path, keep })
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !self.keep
            && let Err(err) = fs::remove_dir_all(&self.path)
        {
            eprintln!("warning: cannot remove {}: {err}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_baseline_counts_records_and_rejects_bad_json() {
        let dir = std::env::temp_dir().join(format!("xtask-parse-test-{}", std::process::id()));
        let scratch = ScratchDir::create(dir, false).unwrap();
        let good = scratch.path.join("good.jsonl");
        let stats = workload::write_file(&good, 200_000, 5).unwrap();
        assert_eq!(parse_baseline(&good).unwrap().sessions, stats.sessions);

        let bad = scratch.path.join("bad.jsonl");
        fs::write(&bad, "{\"id\": 1}\n{oops\n").unwrap();
        let err = parse_baseline(&bad).unwrap_err().to_string();
        assert!(err.ends_with(":2: invalid JSON"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn run_measured_reports_each_childs_own_peak_rss() {
        // A shell that holds ~160 MB in a variable, then a tiny child: the second must not
        // inherit the first one's peak, as it would with getrusage(RUSAGE_CHILDREN). (A
        // forked child's peak includes the test process's own pages until it execs, tens
        // of MB when other tests run beside it, so the bound is relative.)
        let mut big = Command::new("sh");
        big.args([
            "-c",
            "x=$(head -c 160000000 /dev/zero | tr '\\0' x); echo ${#x}",
        ]);
        let big = run_measured(big).unwrap();
        assert!(big.success);
        assert_eq!(String::from_utf8_lossy(&big.stdout).trim(), "160000000");
        let big_rss = big.peak_rss_bytes.unwrap();
        assert!(big_rss > 150 << 20, "{big_rss}");
        let small = run_measured(Command::new("true")).unwrap();
        assert!(small.success);
        let small_rss = small.peak_rss_bytes.unwrap();
        assert!(small_rss > 0 && small_rss < 100 << 20, "{small_rss}");
    }
}
