//! Readers hold one record at a time, not the file: the peak of live heap bytes on the
//! reading thread while a transcript is read must not grow with the transcript.
//!
//! Measured with a counting global allocator that keeps, per thread, the bytes live
//! and their high-water mark: other tests running in parallel on other threads do not
//! disturb it, and nothing is timed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write as _;
use std::path::Path;

use dream_ingest::{Item, ReadOptions, Sink, read_file};

/// The system allocator, counting the bytes each thread has live.
#[derive(Debug)]
pub struct Counting;

thread_local! {
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn record(delta: i64) {
    // `try_with`: a thread being torn down still frees memory after its locals died.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + delta;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn size(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are plain
// thread-local cells that never allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record(size(layout));
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record(size(layout));
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        record(-size(layout));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            record(i64::try_from(new_size).unwrap_or(i64::MAX) - size(layout));
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Counts what a reader sends and drops it at once, as the store would after
/// writing it.
#[derive(Debug, Default)]
struct Counter {
    sessions: u64,
    events: u64,
    invalid: Vec<String>,
}

impl Sink for Counter {
    fn send(&mut self, item: Item) -> bool {
        match item {
            Item::Begin(_) => self.sessions += 1,
            Item::Event(_) => self.events += 1,
            Item::Invalid(err) => self.invalid.push(err.to_string()),
            Item::End(_) | Item::Progress(_) => {}
        }
        true
    }
}

/// Reads `path` on this thread; returns what was read and the peak of live heap bytes
/// above what was live before.
fn read_peak(path: &Path) -> (Counter, i64) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let mut sink = Counter::default();
    read_file(path, "big.jsonl", &ReadOptions::default(), &mut sink);
    let peak = PEAK.with(Cell::get) - before;
    (sink, peak)
}

/// Writes `lines` lines made by `line(i)`; returns the file's size in bytes.
fn write_lines(path: &Path, lines: u64, line: impl Fn(u64) -> String) -> u64 {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..lines {
        writeln!(out, "{}", line(i)).unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Buffers any reader may hold whatever the input: two 256 KiB read buffers, the 64 KiB
/// sniff buffer, the channel's worth of items. 4 MiB leaves room and is still far below
/// what holding the test files would take.
const FLAT_BYTES: i64 = 4 << 20;

#[test]
fn a_long_message_list_is_read_a_message_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    // 200,000 short messages (~8 MB): the shape that once took 956 MB for 300,000.
    let size = write_lines(&path, 200_000, |i| {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        format!(r#"{{"role":"{role}","content":"message {i}"}}"#)
    });
    let (read, peak) = read_peak(&path);
    assert!(read.invalid.is_empty(), "{:?}", read.invalid);
    assert_eq!((read.sessions, read.events), (1, 200_000));
    assert!(
        peak < FLAT_BYTES,
        "reading a {size}-byte message list held {peak} bytes at once"
    );
}

#[test]
fn one_large_session_record_is_sent_without_collecting_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let messages: Vec<String> = (0..50_000)
        .map(|i| format!(r#"{{"role":"user","content":"message {i}"}}"#))
        .collect();
    let size = write_lines(&path, 1, |_| {
        format!(r#"{{"messages":[{}]}}"#, messages.join(","))
    });
    drop(messages);
    let (read, peak) = read_peak(&path);
    assert_eq!((read.sessions, read.events), (1, 50_000));
    // One record is held whole, as its bytes and as one parsed JSON tree (about 17
    // times the bytes for such tiny messages); not twice (the copy read to detect the
    // format), its events are not collected as well, and the record is not copied to
    // name the session. Before that, this took 35 times the bytes.
    let size = i64::try_from(size).unwrap();
    assert!(
        peak < FLAT_BYTES + 24 * size,
        "reading a {size}-byte record held {peak} bytes at once"
    );
}

#[test]
fn many_sessions_are_read_one_record_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl");
    let size = write_lines(&path, 20_000, |i| {
        format!(
            r#"{{"id":"s{i}","messages":[{{"role":"user","content":"hi {i}"}},{{"role":"assistant","content":"hello"}}]}}"#
        )
    });
    let (read, peak) = read_peak(&path);
    assert_eq!((read.sessions, read.events), (20_000, 40_000));
    assert!(
        peak < FLAT_BYTES,
        "reading {size} bytes of sessions held {peak} bytes at once"
    );
}
