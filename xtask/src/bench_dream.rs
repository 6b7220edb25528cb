//! `cargo xtask bench-dream`: how the time and memory of a dream grow with the number
//! of sessions it reads.
//!
//! For each size, the parent generates a workload (see [`crate::session_workload`]) and
//! starts one child process, this binary again with the hidden `dream-once`
//! subcommand, which:
//!
//! 1. creates a fresh SQLite store and a memory store in it, and ingests the workload;
//! 2. runs a dream as `dream run` would: engine `local`, review mode, every session
//!    (window `all`), `min_support` 3, output `update_existing` (review mode writes
//!    nothing to memory, so the second dream sees the same store);
//! 3. runs the same dream again: every session's signals now come from the cache, as in
//!    a nightly pass over a store that received nothing new.
//!
//! The child prints one JSON line (its [`OnceReport`]); the parent adds the child's peak
//! RSS, reaped with `wait4` (see [`crate::bench_ingest`] for why per child), and the
//! store's size. On Linux a spawned child's `ru_maxrss` also counts the parent's own
//! high-water mark at the time of `exec`; the parent streams the workload to disk and
//! stays near 6 MiB, far below any child. One process per size keeps the sizes apart: a high-water mark never
//! goes down. The child also reads its own VmHWM after each step (Linux), which tells
//! whether the ingest or a dream set the peak.
//!
//! Files live in `target/xtask-bench/dream-run-PID/`, not the system temp dir (often a
//! tmpfs), and are removed after each size unless `--keep`. Rows are printed as sizes
//! finish, so a long run that is interrupted still shows the sizes it completed; the
//! child notes each stage on stderr as it starts.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use dream_engine::dream::{DreamObserver, DreamRequest, DreamRun, LOCAL_ENGINE, run_dream};
use dream_ingest::{IngestOptions, Ingestor, InputPath, NoProgress};
use dream_store::{NewMemoryStore, OpenMode, SqliteStore, Store};
use dream_types::{
    DreamCounts, DreamMode, MemoryStoreId, OutputBehavior, SessionWindow, StageTimings, SystemClock,
};
use serde::{Deserialize, Serialize};

use crate::bench_ingest::{ScratchDir, reap, store_size_bytes, target_dir, workspace_root};
use crate::session_workload::{self, SessionWorkloadStats};
use crate::workload::BYTES_PER_MB;
use crate::{DEFAULT_SEED, thousands};

/// `min_support` of the benchmarked dreams (the engine's default).
const MIN_SUPPORT: u64 = 3;

/// Arguments of `cargo xtask bench-dream`.
#[derive(Debug, Args)]
pub struct BenchDreamArgs {
    /// Workload sizes in sessions, comma-separated, run in the order given. A session is
    /// about 3.5 KB, so 100,000 sessions are about 350 MB of JSONL and a store of about
    /// three times that.
    #[arg(
        long,
        value_delimiter = ',',
        default_values_t = [1_000, 10_000, 100_000],
        value_parser = clap::value_parser!(u64).range(1..),
        value_name = "N,..."
    )]
    sizes: Vec<u64>,

    /// Seed of the workload generator; each size is a prefix of the next larger one.
    #[arg(long, default_value_t = DEFAULT_SEED, value_name = "S")]
    seed: u64,

    /// Keep the workloads and stores (target/xtask-bench/dream-run-PID/) instead of
    /// removing each size's files once it is measured.
    #[arg(long)]
    keep: bool,
}

/// Arguments of `xtask dream-once`, the child process of `bench-dream`.
#[derive(Debug, Args)]
pub struct DreamOnceArgs {
    /// SQLite store to create; it must not exist yet.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,

    /// Canonical JSONL workload to ingest.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
}

/// What the child measured, printed as one JSON line.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OnceReport {
    /// Sessions stored by the ingest.
    sessions: u64,
    /// Events stored by the ingest.
    events: u64,
    /// Wall time of the ingest.
    ingest_secs: f64,
    /// VmHWM after the ingest: the peak of opening the store and ingesting.
    ingest_hwm_bytes: Option<u64>,
    /// The first dream: every session's signals extracted.
    first: DreamReport,
    /// The second dream: every session's signals cached.
    second: DreamReport,
}

/// One dream, as the child saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DreamReport {
    /// Wall time of `run_dream`.
    secs: f64,
    /// The dream's own counts.
    counts: DreamCounts,
    /// The dream's own per-stage milliseconds.
    timings: StageTimings,
    /// Size of the proposal as JSON.
    proposal_bytes: u64,
    /// VmHWM right after the dream.
    hwm_bytes: Option<u64>,
    /// VmRSS right after the dream: what the process still holds.
    rss_bytes: Option<u64>,
}

/// One measured size.
#[derive(Debug)]
struct Row {
    workload: SessionWorkloadStats,
    report: OnceReport,
    /// The child's peak RSS (`wait4`).
    peak_rss_bytes: Option<u64>,
    /// The store with its WAL, after the child closed it.
    store_bytes: u64,
}

/// Runs the benchmark and prints its tables on stdout.
///
/// # Errors
///
/// When a workload cannot be written, the child fails, or its ingest skips a session.
pub fn cmd_bench_dream(args: BenchDreamArgs) -> Result<()> {
    let root = workspace_root()?;
    let exe = std::env::current_exe().context("cannot find the xtask binary to re-run")?;
    let scratch = ScratchDir::create(
        target_dir(&root)
            .join("xtask-bench")
            .join(format!("dream-run-{}", std::process::id())),
        args.keep,
    )?;
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "dream engine `{LOCAL_ENGINE}`, review mode, window all, min_support {MIN_SUPPORT}; \
         seed {}; {cpus} CPUs\n",
        args.seed
    );
    print_header();
    let mut rows = Vec::with_capacity(args.sizes.len());
    for &sessions in &args.sizes {
        let row = measure(&exe, &scratch.path, sessions, args.seed, args.keep)?;
        print_row(&row);
        rows.push(row);
    }
    print_stages(&rows);
    print_memory(&rows);
    if args.keep {
        println!("\nkept: {}", scratch.path.display());
    }
    Ok(())
}

/// Generates `sessions` sessions and measures them in a child process.
fn measure(exe: &Path, dir: &Path, sessions: u64, seed: u64, keep: bool) -> Result<Row> {
    let file = dir.join(format!("sessions-{sessions}.jsonl"));
    let db = dir.join(format!("store-{sessions}.db"));
    let label = thousands(sessions);
    eprintln!("[{label}] generating {label} sessions (seed {seed})…");
    let started = Instant::now();
    let workload = session_workload::write_file(&file, sessions, seed)?;
    eprintln!(
        "[{label}] {:.1} MB in {:.1} s; ingest and two dreams in a child process…",
        workload.size_bytes as f64 / BYTES_PER_MB,
        started.elapsed().as_secs_f64()
    );
    let mut command = Command::new(exe);
    command
        .arg("dream-once")
        .arg("--db")
        .arg(&db)
        .arg("--file")
        .arg(&file);
    let child = run_child(command)?;
    if !child.success {
        bail!(
            "`xtask dream-once` failed for {label} sessions ({})",
            child.status
        );
    }
    let line = child
        .stdout
        .split(|&b| b == b'\n')
        .rfind(|l| !l.trim_ascii().is_empty())
        .context("`xtask dream-once` printed no report")?;
    let report: OnceReport =
        serde_json::from_slice(line).context("`xtask dream-once` printed an unreadable report")?;
    if report.sessions != workload.sessions {
        bail!(
            "the child stored {} sessions of {}; the workload or the ingest is wrong",
            report.sessions,
            workload.sessions
        );
    }
    let store_bytes = store_size_bytes(&db);
    eprintln!(
        "[{label}] done: child {:.1} s, size {:.1} s in all",
        child.elapsed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    if !keep {
        remove_store_files(&file, &db);
    }
    Ok(Row {
        workload,
        report,
        peak_rss_bytes: child.peak_rss_bytes,
        store_bytes,
    })
}

/// Removes a size's workload and store (with its WAL and shared-memory files); a file
/// that will not go is reported, not fatal: the scratch directory goes at the end.
fn remove_store_files(file: &Path, db: &Path) {
    let mut paths = vec![file.to_path_buf()];
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        paths.push(PathBuf::from(path));
    }
    for path in paths {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => eprintln!("warning: cannot remove {}: {err}", path.display()),
        }
    }
}

/// A finished child.
#[derive(Debug)]
struct ChildRun {
    success: bool,
    status: String,
    elapsed: Duration,
    peak_rss_bytes: Option<u64>,
    stdout: Vec<u8>,
}

/// Runs `command` with stdout captured and stderr passed through (the child's progress
/// notes), and reaps it with its own peak RSS.
fn run_child(mut command: Command) -> Result<ChildRun> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot run {:?}", command.get_program()))?;
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .context("child has no stdout pipe")?
        .read_to_end(&mut stdout)
        .context("cannot read the child's stdout")?;
    let (success, status, peak_rss_bytes) = reap(child)?;
    Ok(ChildRun {
        success,
        status,
        elapsed: started.elapsed(),
        peak_rss_bytes,
        stdout,
    })
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1 << 20))
}

fn opt_mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".to_owned(), mib)
}

fn secs(secs: f64) -> String {
    if secs < 10.0 {
        format!("{secs:.2} s")
    } else {
        format!("{secs:.1} s")
    }
}

fn print_header() {
    println!(
        "{:>9} {:>9} {:>9} {:>10} {:>12} {:>9} {:>9} {:>8} {:>9}",
        "sessions",
        "ingest",
        "dream",
        "sessions/s",
        "cached dream",
        "peak RSS",
        "patterns",
        "changes",
        "held back"
    );
}

fn print_row(row: &Row) {
    let report = &row.report;
    let first = &report.first;
    println!(
        "{:>9} {:>9} {:>9} {:>10} {:>12} {:>9} {:>9} {:>8} {:>9}",
        thousands(report.sessions),
        secs(report.ingest_secs),
        secs(first.secs),
        thousands((report.sessions as f64 / first.secs.max(1e-9)).round() as u64),
        secs(report.second.secs),
        opt_mib(row.peak_rss_bytes),
        thousands(first.counts.patterns),
        thousands(first.counts.changes),
        thousands(first.counts.held_back),
    );
}

/// Where the time of each dream went, from the dream's own stage timings.
fn print_stages(rows: &[Row]) {
    println!("\nstage milliseconds, first dream (signals extracted) | cached dream:");
    println!(
        "{:>9} {:>7} {:>8} {:>8} {:>7} {:>6} {:>7} | {:>7} {:>8} {:>8} {:>7} {:>6} {:>7}",
        "sessions",
        "select",
        "extract",
        "mine",
        "curate",
        "check",
        "output",
        "select",
        "extract",
        "mine",
        "curate",
        "check",
        "output"
    );
    for row in rows {
        let (a, b) = (&row.report.first.timings, &row.report.second.timings);
        println!(
            "{:>9} {:>7} {:>8} {:>8} {:>7} {:>6} {:>7} | {:>7} {:>8} {:>8} {:>7} {:>6} {:>7}",
            thousands(row.report.sessions),
            thousands(a.select_ms),
            thousands(a.extract_ms),
            thousands(a.mine_ms),
            thousands(a.curate_ms),
            thousands(a.check_ms),
            thousands(a.output_ms),
            thousands(b.select_ms),
            thousands(b.extract_ms),
            thousands(b.mine_ms),
            thousands(b.curate_ms),
            thousands(b.check_ms),
            thousands(b.output_ms),
        );
    }
}

/// What the workloads held, and which step set the memory peak.
fn print_memory(rows: &[Row]) {
    println!("\nworkload, store and memory:");
    println!(
        "{:>9} {:>9} {:>10} {:>9} {:>8} {:>9} {:>11} {:>11} {:>11} {:>10} {:>10}",
        "sessions",
        "JSONL",
        "events",
        "store",
        "signals",
        "cached",
        "HWM ingest",
        "HWM dream",
        "HWM cached",
        "RSS after",
        "proposal"
    );
    for row in rows {
        let report = &row.report;
        println!(
            "{:>9} {:>9} {:>10} {:>9} {:>8} {:>9} {:>11} {:>11} {:>11} {:>10} {:>10}",
            thousands(report.sessions),
            mib(row.workload.size_bytes),
            thousands(report.events),
            mib(row.store_bytes),
            thousands(report.first.counts.signals),
            thousands(report.second.counts.sessions_cached),
            opt_mib(report.ingest_hwm_bytes),
            opt_mib(report.first.hwm_bytes),
            opt_mib(report.second.hwm_bytes),
            opt_mib(report.second.rss_bytes),
            format!("{} KiB", report.first.proposal_bytes.div_ceil(1024)),
        );
    }
    if let Some(row) = rows.last() {
        let w = &row.workload;
        println!(
            "\nlargest workload: {} messages, {} tool calls, {} recurring and {} one-off errors, \
             {} fixes, {} corrections, {} preferences, {} keyed facts",
            thousands(w.messages),
            thousands(w.tool_calls),
            thousands(w.recurring_errors),
            thousands(w.one_off_errors),
            thousands(w.fixes),
            thousands(w.corrections),
            thousands(w.preferences),
            thousands(w.facts),
        );
    }
}

/// Runs `xtask dream-once`: ingest, then two dreams, then one JSON line on stdout.
///
/// # Errors
///
/// When the store exists already or cannot be created, the ingest skips a session, or a
/// dream fails or is skipped.
pub fn cmd_dream_once(args: DreamOnceArgs) -> Result<()> {
    if args.db.exists() {
        bail!(
            "{} exists; dream-once measures a fresh store",
            args.db.display()
        );
    }
    // The same runtime as the `dream` CLI, so the numbers are those a user would see.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let report = runtime.block_on(dream_once(&args))?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn dream_once(args: &DreamOnceArgs) -> Result<OnceReport> {
    let store = SqliteStore::open(&args.db, OpenMode::Create)
        .await
        .with_context(|| format!("cannot create the store {}", args.db.display()))?;
    let memory_store = store
        .create_memory_store(NewMemoryStore {
            name: "bench".into(),
            ..Default::default()
        })
        .await
        .context("cannot create the memory store")?;

    let started = Instant::now();
    let ingest = Ingestor::new(&store, IngestOptions::default(), &NoProgress)
        .ingest(&[InputPath::Path(args.file.clone())])
        .await
        .with_context(|| format!("cannot ingest {}", args.file.display()))?;
    let ingest_secs = started.elapsed().as_secs_f64();
    if let Some(skipped) = ingest.skipped.first() {
        bail!(
            "the ingest skipped {} sessions, the first: {}",
            ingest.counts.skipped,
            skipped.message
        );
    }
    let ingest_hwm_bytes = proc_status_bytes("VmHWM:");
    eprintln!(
        "  ingested {} sessions in {} (HWM {})",
        thousands(ingest.counts.created),
        secs(ingest_secs),
        opt_mib(ingest_hwm_bytes)
    );
    let (sessions, events) = (ingest.counts.created, ingest.counts.events_written);
    drop(ingest);

    let first = timed_dream(&store, &memory_store.id, "dream").await?;
    let second = timed_dream(&store, &memory_store.id, "cached dream").await?;
    if second.counts.sessions_cached != second.counts.sessions_read {
        eprintln!(
            "warning: the second dream read {} of {} sessions from the cache",
            second.counts.sessions_cached, second.counts.sessions_read
        );
    }
    store.close().await;
    Ok(OnceReport {
        sessions,
        events,
        ingest_secs,
        ingest_hwm_bytes,
        first,
        second,
    })
}

async fn timed_dream(
    store: &SqliteStore,
    memory_store_id: &MemoryStoreId,
    label: &str,
) -> Result<DreamReport> {
    let request = DreamRequest {
        filters: dream_types::WindowFilters::default(),
        supersede_pending: false,
        memory_store_id: memory_store_id.clone(),
        window: SessionWindow::All,
        min_new_sessions: None,
        engine: LOCAL_ENGINE.into(),
        instructions: None,
        output_behavior: OutputBehavior::UpdateExisting,
        mode: DreamMode::Review,
        config: None,
        min_support: Some(MIN_SUPPORT),
    };
    let observer = StageNotes::new(label);
    let started = Instant::now();
    let run = run_dream(store, &request, &SystemClock, &observer)
        .await
        .with_context(|| format!("the {label} failed"))?;
    let secs_taken = started.elapsed().as_secs_f64();
    let (hwm_bytes, rss_bytes) = (proc_status_bytes("VmHWM:"), proc_status_bytes("VmRSS:"));
    let DreamRun::Ran {
        dream, proposal, ..
    } = run
    else {
        bail!("the {label} was skipped");
    };
    let proposal_bytes = match &proposal {
        Some(proposal) => serde_json::to_vec(proposal)?.len() as u64,
        None => bail!("the {label} has no proposal (canceled?)"),
    };
    let t = dream.timings;
    eprintln!(
        "  {label}: {} (select {} ms, extract {}, mine {}, curate {}, check {}, output {}); \
         {} patterns, {} changes, {} held back; HWM {}",
        secs(secs_taken),
        t.select_ms,
        t.extract_ms,
        t.mine_ms,
        t.curate_ms,
        t.check_ms,
        t.output_ms,
        dream.counts.patterns,
        dream.counts.changes,
        dream.counts.held_back,
        opt_mib(hwm_bytes)
    );
    Ok(DreamReport {
        secs: secs_taken,
        counts: dream.counts,
        timings: dream.timings,
        proposal_bytes,
        hwm_bytes,
        rss_bytes,
    })
}

/// Notes on stderr when each stage starts and how far extraction is, so that a long run
/// shows where it is.
#[derive(Debug)]
struct StageNotes {
    label: String,
    started: Instant,
}

impl StageNotes {
    fn new(label: &str) -> Self {
        Self {
            label: label.to_owned(),
            started: Instant::now(),
        }
    }
}

impl DreamObserver for StageNotes {
    fn stage(&self, stage: &str) {
        eprintln!(
            "  {} at {:.1} s: {stage}",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
    }

    fn progress(&self, done: u64, total: u64) {
        // Every tenth, so that 100,000 sessions make ten lines.
        let step = total.div_ceil(10).max(1);
        if done.is_multiple_of(step) && done < total {
            eprintln!(
                "  {} at {:.1} s: extracted {} of {}",
                self.label,
                self.started.elapsed().as_secs_f64(),
                thousands(done),
                thousands(total)
            );
        }
    }
}

/// Returns a `kB` field of `/proc/self/status` (`VmHWM:`, `VmRSS:`) in bytes; `None`
/// where there is no procfs.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let kib: u64 = line
            .strip_prefix(field)?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn proc_status_reads_a_peak_at_least_the_current_rss() {
        let rss = proc_status_bytes("VmRSS:").unwrap();
        let hwm = proc_status_bytes("VmHWM:").unwrap();
        assert!(rss > 0 && hwm >= rss, "{hwm} {rss}");
        assert_eq!(proc_status_bytes("NoSuchField:"), None);
    }

    #[test]
    fn the_child_measures_a_small_workload_end_to_end() {
        let dir = std::env::temp_dir().join(format!("xtask-dream-test-{}", std::process::id()));
        let scratch = ScratchDir::create(dir, false).unwrap();
        let file = scratch.path.join("sessions.jsonl");
        let stats = session_workload::write_file(&file, 60, 1).unwrap();
        let args = DreamOnceArgs {
            db: scratch.path.join("store.db"),
            file,
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let report = runtime.block_on(dream_once(&args)).unwrap();
        assert_eq!(report.sessions, stats.sessions);
        assert_eq!(report.first.counts.sessions_read, 60);
        assert_eq!(report.first.counts.sessions_cached, 0);
        assert_eq!(report.second.counts.sessions_cached, 60);
        assert!(report.first.counts.signals > 0 && report.first.counts.patterns > 0);
        assert_eq!(report.first.counts.patterns, report.second.counts.patterns);
        let line = serde_json::to_string(&report).unwrap();
        let back: OnceReport = serde_json::from_str(&line).unwrap();
        assert_eq!(back.first.counts, report.first.counts);
    }
}
