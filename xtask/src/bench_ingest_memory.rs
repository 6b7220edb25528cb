//! `cargo xtask bench-ingest --memory`: peak resident memory of `dream ingest` against
//! the size of its input, for each way a transcript can be laid out. Flat is the goal:
//! ingest memory should be bounded by the largest record, not by the file.
//!
//! Workloads, for each size in `--memory-sizes` (MB):
//!
//! - `sessions`: canonical JSONL, one session per line ([`crate::workload`]);
//! - `message lines`: ONE session as a bare message list, one message per line (the
//!   same messages, taken from the canonical workload);
//! - `one record`: ONE session as one canonical record `{"id", "messages": [...]}` on
//!   one line: a single record, so its bound is the record itself;
//!
//! and once `short messages`: one session of `--short-messages` (300,000) one-line
//! messages of about 40 bytes, the shape that once took 956 MB for 12.6 MB.
//!
//! Each workload is ingested by its own `dream --db NEW.db --quiet --json ingest FILE`
//! child into a new store; its peak RSS comes from `wait4` (see [`crate::bench_ingest`]).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench_ingest::{Measured, run_measured};
use crate::thousands;
use crate::workload::{self, BYTES_PER_MB};

/// The default sizes, in MB.
pub const DEFAULT_SIZES_MB: &str = "1,4,16";

/// The default number of short messages.
pub const DEFAULT_SHORT_MESSAGES: u64 = 300_000;

/// A record below the CLI's 16 MiB default `--max-record-bytes`, with room to spare
/// for the closing bytes.
const MAX_ONE_RECORD_BYTES: u64 = 16 * 1024 * 1024 - 1024;

/// One generated input.
#[derive(Debug)]
struct Workload {
    shape: &'static str,
    path: PathBuf,
    size_bytes: u64,
    sessions: u64,
    messages: u64,
}

/// One measured row.
#[derive(Debug)]
struct Row {
    workload: Workload,
    run: Measured,
}

/// Writes the workloads under `dir`, ingests each into a new store with `dream`, and
/// prints one row per workload on stdout.
///
/// # Errors
/// When a workload cannot be written, or an ingest fails or skips a session.
pub fn run(
    dream: &Path,
    dir: &Path,
    sizes_mb: &[f64],
    short_messages: u64,
    seed: u64,
) -> Result<()> {
    let mut rows = Vec::new();
    for (i, &size_mb) in sizes_mb.iter().enumerate() {
        let target = crate::size_bytes(size_mb)?;
        let sessions_path = dir.join(format!("sessions-{i}.jsonl"));
        eprintln!("generating {size_mb} MB workloads…");
        let stats = workload::write_file(&sessions_path, target, seed)?;
        let sessions = Workload {
            shape: "sessions",
            path: sessions_path.clone(),
            size_bytes: stats.size_bytes,
            sessions: stats.sessions,
            messages: stats.messages,
        };
        let lines = message_lines(&sessions_path, &dir.join(format!("lines-{i}.jsonl")))?;
        let record = one_record(
            &sessions_path,
            &dir.join(format!("record-{i}.jsonl")),
            target.min(MAX_ONE_RECORD_BYTES),
        )?;
        for workload in [sessions, lines, record] {
            rows.push(measure(dream, dir, workload)?);
        }
    }
    if short_messages > 0 {
        let short = short_message_lines(&dir.join("short.jsonl"), short_messages)?;
        rows.push(measure(dream, dir, short)?);
    }
    print_rows(&rows);
    Ok(())
}

/// Ingests one workload into a new store; fails when anything is skipped.
fn measure(dream: &Path, dir: &Path, workload: Workload) -> Result<Row> {
    eprintln!(
        "dream ingest {} ({:.1} MB)…",
        workload.shape,
        workload.size_bytes as f64 / BYTES_PER_MB
    );
    let db = dir.join(format!(
        "{}.db",
        workload
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let mut command = Command::new(dream);
    command
        .arg("--db")
        .arg(&db)
        .args(["--quiet", "--json", "ingest"])
        .arg(&workload.path);
    let run = run_measured(command)?;
    if !run.success {
        bail!(
            "`dream ingest {}` failed ({}):\n{}",
            workload.path.display(),
            run.status,
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let report: Value =
        serde_json::from_slice(&run.stdout).context("`dream ingest --json` printed no JSON")?;
    let skipped = report["counts"]["skipped"].as_u64().unwrap_or(0);
    let created = report["counts"]["created"].as_u64().unwrap_or(0);
    if skipped > 0 || created != workload.sessions {
        bail!(
            "dream ingest of {} created {created} of {} sessions and skipped {skipped}: {}",
            workload.shape,
            workload.sessions,
            report["skipped"][0]["message"]
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(path));
    }
    Ok(Row { workload, run })
}

/// Calls `each` with every message of a canonical workload, in order.
fn for_each_message(sessions: &Path, mut each: impl FnMut(&Value) -> Result<bool>) -> Result<()> {
    let file =
        File::open(sessions).with_context(|| format!("cannot open {}", sessions.display()))?;
    for line in BufReader::new(file).lines() {
        let record: Value = serde_json::from_str(&line?)?;
        for message in record["messages"].as_array().into_iter().flatten() {
            if !each(message)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Writes the messages of a canonical workload as one bare message list, a line each.
fn message_lines(sessions: &Path, out: &Path) -> Result<Workload> {
    let mut writer = BufWriter::new(File::create(out)?);
    let (mut size_bytes, mut messages) = (0_u64, 0_u64);
    for_each_message(sessions, |message| {
        let line = serde_json::to_string(message)?;
        writeln!(writer, "{line}")?;
        size_bytes += line.len() as u64 + 1;
        messages += 1;
        Ok(true)
    })?;
    writer.flush()?;
    Ok(Workload {
        shape: "message lines",
        path: out.to_owned(),
        size_bytes,
        sessions: 1,
        messages,
    })
}

/// Writes the messages of a canonical workload as one canonical record on one line,
/// up to `max_bytes`.
fn one_record(sessions: &Path, out: &Path, max_bytes: u64) -> Result<Workload> {
    let mut writer = BufWriter::new(File::create(out)?);
    let open = br#"{"id":"one-record","agent":"bench","messages":["#;
    writer.write_all(open)?;
    let (mut size_bytes, mut messages) = (open.len() as u64 + 3, 0_u64);
    for_each_message(sessions, |message| {
        let text = serde_json::to_string(message)?;
        if size_bytes + text.len() as u64 + 1 > max_bytes {
            return Ok(false);
        }
        if messages > 0 {
            writer.write_all(b",")?;
            size_bytes += 1;
        }
        writer.write_all(text.as_bytes())?;
        size_bytes += text.len() as u64;
        messages += 1;
        Ok(true)
    })?;
    writer.write_all(b"]}\n")?;
    writer.flush()?;
    Ok(Workload {
        shape: "one record",
        path: out.to_owned(),
        size_bytes,
        sessions: 1,
        messages,
    })
}

/// Writes one session of `count` short one-line messages, user and assistant in turn.
fn short_message_lines(out: &Path, count: u64) -> Result<Workload> {
    let mut writer = BufWriter::new(File::create(out)?);
    let mut size_bytes = 0_u64;
    for i in 0..count {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        let line = format!(r#"{{"role":"{role}","content":"message {i}"}}"#);
        writeln!(writer, "{line}")?;
        size_bytes += line.len() as u64 + 1;
    }
    writer.flush()?;
    Ok(Workload {
        shape: "short messages",
        path: out.to_owned(),
        size_bytes,
        sessions: 1,
        messages: count,
    })
}

fn print_rows(rows: &[Row]) {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("machine: {cpus} CPUs\n");
    println!(
        "{:<15} {:>9} {:>9} {:>10} {:>8} {:>8} {:>10}",
        "input", "size MB", "sessions", "messages", "time s", "MB/s", "peak RSS"
    );
    for row in rows {
        let mb = row.workload.size_bytes as f64 / BYTES_PER_MB;
        let secs = row.run.elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
        println!(
            "{:<15} {:>9.1} {:>9} {:>10} {:>8.2} {:>8.1} {:>10}",
            row.workload.shape,
            mb,
            thousands(row.workload.sessions),
            thousands(row.workload.messages),
            secs,
            mb / secs,
            row.run
                .peak_rss_bytes
                .map_or("-".to_owned(), |b| format!("{} MiB", b.div_ceil(1 << 20))),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_session_workloads_hold_the_canonical_messages() {
        let dir = std::env::temp_dir().join(format!("xtask-memory-test-{}", std::process::id()));
        let scratch = crate::bench_ingest::ScratchDir::create(dir, false).unwrap();
        let sessions = scratch.path.join("s.jsonl");
        let stats = workload::write_file(&sessions, 300_000, 9).unwrap();
        let lines = message_lines(&sessions, &scratch.path.join("l.jsonl")).unwrap();
        assert_eq!(lines.messages, stats.messages);
        assert_eq!(
            std::fs::metadata(&lines.path).unwrap().len(),
            lines.size_bytes
        );
        let record = one_record(&sessions, &scratch.path.join("r.jsonl"), 100_000).unwrap();
        let text = std::fs::read_to_string(&record.path).unwrap();
        assert_eq!(text.lines().count(), 1);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["messages"].as_array().unwrap().len() as u64,
            record.messages
        );
        assert!(record.size_bytes <= 100_000 && record.size_bytes > 90_000);
        assert_eq!(text.len() as u64, record.size_bytes);
        let short = short_message_lines(&scratch.path.join("m.jsonl"), 1000).unwrap();
        assert_eq!(
            std::fs::read_to_string(&short.path)
                .unwrap()
                .lines()
                .count(),
            1000
        );
    }
}
