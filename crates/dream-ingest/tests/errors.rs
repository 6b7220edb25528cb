//! Bad input: every case gets `file:line: what is wrong (code)`, nothing is
//! half-stored, and the ingest stops (or with --skip-invalid, goes on).

use std::path::Path;

use dream_ingest::{IngestOptions, IngestReport, ReadOptions};
use dream_store::Store;

use crate::common::{ingest, ingest_with, temp_store, write_file};

const GOOD_A: &str = r#"{"id": "a", "messages": [{"role": "user", "content": "one"}]}"#;
const GOOD_C: &str = r#"{"id": "c", "messages": [{"role": "user", "content": "three"}]}"#;

async fn only_error(name: &str, bytes: &[u8]) -> (IngestReport, String, String) {
    let t = temp_store().await;
    let path = write_file(t.dir.path(), name, bytes);
    let report = ingest(&t.store, &[&path]).await;
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert_eq!(t.store.count_sessions().await.unwrap(), 0);
    let skipped = &report.skipped[0];
    let prefix = format!("{}", t.dir.path().display());
    let message = skipped.message.replace(&prefix, "DIR");
    (report.clone(), skipped.code.clone(), message)
}

#[tokio::test]
async fn invalid_utf8_names_the_line_and_byte() {
    let mut bytes = format!("{GOOD_A}\n").into_bytes();
    bytes.extend_from_slice(
        b"{\"id\": \"b\", \"messages\": [{\"role\": \"user\", \"content\": \"caf\xe9\"}]}\n",
    );
    let t = temp_store().await;
    let path = write_file(t.dir.path(), "latin1.jsonl", &bytes);
    let report = ingest(&t.store, &[&path]).await;
    assert_eq!(
        report.counts.created, 1,
        "the line before the bad one is stored"
    );
    let skipped = &report.skipped[0];
    assert_eq!(skipped.code, "invalid_utf8");
    assert_eq!(skipped.line, Some(2));
    assert!(skipped.message.ends_with(
        "latin1.jsonl:2: invalid UTF-8 at byte 58 of the line; transcripts must be UTF-8 text (invalid_utf8)"
    ), "{}", skipped.message);
}

#[tokio::test]
async fn truncated_json_says_so() {
    let (_, code, message) = only_error(
        "cut.jsonl",
        br#"{"id": "a", "messages": [{"role": "user", "#,
    )
    .await;
    assert_eq!(code, "invalid_json");
    assert!(
        message
            .starts_with("DIR/cut.jsonl:1: truncated JSON: the record ends before it is complete"),
        "{message}"
    );
}

#[tokio::test]
async fn truncated_json_array_says_so_after_storing_the_complete_elements() {
    let t = temp_store().await;
    let path = write_file(
        t.dir.path(),
        "cut.json",
        b"[{\"traj\": [], \"task_id\": 1},\n {\"traj\": [",
    );
    let report = ingest(&t.store, &[&path]).await;
    assert_eq!(report.counts.created, 1);
    assert_eq!(report.skipped.len(), 1);
    assert!(
        report.skipped[0].message.ends_with(
            "cut.json:2: truncated JSON: the file ends inside this array element (invalid_json)"
        ),
        "{}",
        report.skipped[0].message
    );
}

#[tokio::test]
async fn wrong_types_name_the_field_and_what_was_found() {
    let cases: [(&str, &str, &str); 4] = [
        (
            r#"{"id": "a", "messages": "hello"}"#,
            "invalid_field",
            "field `messages` must be an array, found a string",
        ),
        (
            r#"{"id": "a", "messages": [{"role": "user", "content": 7}]}"#,
            "invalid_field",
            "field `messages[0].content` must be a string or an array of content blocks, found a number",
        ),
        (
            r#"{"id": "a", "started_at": "last tuesday", "messages": []}"#,
            "invalid_timestamp",
            "field `started_at` is not a timestamp: \"last tuesday\"; expected RFC 3339 such as 2026-02-11T20:36:45Z or Unix seconds",
        ),
        (
            r#"{"id": "a", "messages": [], "outcomes": [{"name": "x"}]}"#,
            "invalid_field",
            "outcomes[0] needs a `result` or a `value`",
        ),
    ];
    for (line, want_code, want) in cases {
        let (_, code, message) = only_error("bad.jsonl", line.as_bytes()).await;
        assert_eq!(code, want_code, "{line}");
        assert_eq!(
            message,
            format!("DIR/bad.jsonl:1: {want} ({want_code})"),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_50_mb_line_is_rejected_without_buffering_it() {
    let t = temp_store().await;
    let path = t.dir.path().join("huge.jsonl");
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(file, "{GOOD_A}").unwrap();
        write!(
            file,
            r#"{{"id": "b", "messages": [{{"role": "user", "content": ""#
        )
        .unwrap();
        let chunk = "x".repeat(1 << 20);
        for _ in 0..50 {
            file.write_all(chunk.as_bytes()).unwrap();
        }
        writeln!(file, r#""}}]}}"#).unwrap();
        writeln!(file, "{GOOD_C}").unwrap();
    }
    let options = IngestOptions {
        skip_invalid: true,
        ..Default::default()
    };
    let report = ingest_with(&t.store, &[&path], options).await;
    assert_eq!(report.counts.created, 2, "the lines around it are stored");
    let skipped = &report.skipped[0];
    assert_eq!(skipped.code, "record_too_large");
    assert_eq!(skipped.line, Some(2));
    assert!(skipped.message.contains(
        "huge.jsonl:2: record is longer than 16777216 bytes; it was skipped. Raise --max-record-bytes"
    ), "{}", skipped.message);
}

#[tokio::test]
async fn empty_and_blank_files_are_reported() {
    for bytes in [&b""[..], &b"\n  \n"[..]] {
        let (_, code, message) = only_error("empty.jsonl", bytes).await;
        assert_eq!(code, "empty_file");
        assert_eq!(
            message,
            "DIR/empty.jsonl: file is empty; there is nothing to ingest (empty_file)"
        );
    }
}

#[tokio::test]
async fn binary_files_are_reported() {
    let (_, code, message) = only_error("image.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").await;
    assert_eq!(code, "binary_file");
    assert_eq!(
        message,
        "DIR/image.json: file looks binary (NUL byte at offset 8); dream ingests JSON or JSONL transcripts (binary_file)"
    );
}

#[tokio::test]
async fn text_that_is_not_json_or_an_unknown_shape_is_reported() {
    let (_, code, message) = only_error("notes.jsonl", b"hello: world\n").await;
    assert_eq!(code, "unknown_format");
    assert!(
        message.starts_with("DIR/notes.jsonl:1: not JSON: the file starts with 'h'"),
        "{message}"
    );
    let (_, code, message) = only_error("other.jsonl", br#"{"hello": "world"}"#).await;
    assert_eq!(code, "unknown_format");
    assert!(message.contains("pass --format"), "{message}");
}

async fn three_sessions_middle_bad(skip_invalid: bool) -> (IngestReport, Vec<String>) {
    let t = temp_store().await;
    // The middle session fails on its third message: nothing of it may be stored.
    let bad = r#"{"id": "b", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}, {"role": "robot", "content": "z"}]}"#;
    let path = write_file(
        t.dir.path(),
        "three.jsonl",
        format!("{GOOD_A}\n{bad}\n{GOOD_C}\n"),
    );
    let options = IngestOptions {
        skip_invalid,
        ..Default::default()
    };
    let report = ingest_with(&t.store, &[Path::new(&path)], options).await;
    let stored = t
        .store
        .list_sessions(&Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.source_session_id)
        .collect();
    (report, stored)
}

#[tokio::test]
async fn by_default_the_ingest_stops_before_the_invalid_session() {
    let (report, mut stored) = three_sessions_middle_bad(false).await;
    stored.sort();
    assert_eq!(stored, ["a"]);
    assert!(report.stopped_early);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].source_session_id.as_deref(), Some("b"));
    assert!(
        report.skipped[0]
            .message
            .contains("three.jsonl:2: field `messages[2].role`")
    );
}

#[tokio::test]
async fn skip_invalid_stores_the_valid_sessions_and_lists_the_rest() {
    let (report, mut stored) = three_sessions_middle_bad(true).await;
    stored.sort();
    assert_eq!(stored, ["a", "c"]);
    assert!(!report.stopped_early);
    assert_eq!(report.skipped.len(), 1);
}

#[tokio::test]
async fn a_malformed_claude_code_line_stores_no_session_of_that_file() {
    let t = temp_store().await;
    let lines = [
        r#"{"type": "user", "sessionId": "s1", "uuid": "u1", "timestamp": "2026-02-11T20:00:00Z", "message": {"role": "user", "content": "hi"}}"#,
        r#"{"type": "assistant", "sessionId": "s1", "uuid": "u2", "timestamp": "2026-02-11T20:00:01Z", "message": {"role": "assistant", "content": [{"type": "text""#,
        r#"{"type": "assistant", "sessionId": "s1", "uuid": "u3", "timestamp": "2026-02-11T20:00:02Z", "message": {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}}"#,
    ];
    let path = write_file(t.dir.path(), "s1.jsonl", lines.join("\n") + "\n");
    let report = ingest_with(
        &t.store,
        &[&path],
        IngestOptions {
            skip_invalid: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(t.store.count_sessions().await.unwrap(), 0);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].line, Some(2));
    assert!(
        report.skipped[0].message.contains("truncated JSON"),
        "{}",
        report.skipped[0].message
    );
    assert!(
        report.skipped[0]
            .message
            .contains("still writing this session")
    );
}

#[tokio::test]
async fn a_changed_session_is_a_conflict_unless_replaced() {
    let t = temp_store().await;
    let path = write_file(t.dir.path(), "s.jsonl", format!("{GOOD_A}\n"));
    ingest(&t.store, &[&path]).await;
    let edited = write_file(
        t.dir.path(),
        "s.jsonl",
        r#"{"id": "a", "messages": [{"role": "user", "content": "ONE"}]}"#,
    );
    let report = ingest(&t.store, &[&edited]).await;
    assert_eq!(report.skipped[0].code, "conflict_error");
    assert!(
        report.skipped[0].message.contains("pass --replace"),
        "{}",
        report.skipped[0].message
    );
    let replaced = ingest_with(
        &t.store,
        &[&edited],
        IngestOptions {
            replace: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(replaced.counts.replaced, 1);
    let _ = ReadOptions::default();
}
