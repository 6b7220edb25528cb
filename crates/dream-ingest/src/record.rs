//! Splitting a file into records without loading it whole: lines of JSONL, elements
//! of a top-level JSON array, or one JSON document.
//!
//! Each record is held in memory alone, up to a size limit; a longer record is
//! skipped byte by byte (never buffered) and reported as `record_too_large`.

use std::io::{BufRead, ErrorKind, Read};

use serde_json::Value;

use crate::error::{InputError, InputErrorCode};
use crate::json::describe_json_error;

/// Default limit on one record (a JSONL line, an array element, a whole JSON
/// document): 16 MiB. Real transcript lines reach a few MiB when a tool returns a
/// screenshot; far larger lines are almost always a wrong file.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;

/// How a file holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One JSON value per line (JSONL).
    Lines,
    /// A top-level JSON array; each element is a record.
    Array,
    /// One JSON value, possibly spread over many lines.
    Document,
}

/// Where a record starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordInfo {
    /// 1-based line of the record's first byte.
    pub line: u64,
    /// Byte offset of the record's first byte.
    pub offset: u64,
}

/// Reads records from a buffered reader.
#[derive(Debug)]
pub(crate) struct RecordReader<R> {
    reader: R,
    layout: Layout,
    label: String,
    max_bytes: usize,
    /// 1-based number of the line the next unread byte is on.
    line: u64,
    /// Offset of the next unread byte.
    offset: u64,
    array_state: ArrayState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArrayState {
    BeforeOpen,
    FirstElement,
    AfterElement,
    Closed,
}

impl<R: BufRead> RecordReader<R> {
    /// Returns a reader of `layout` records from `reader`.
    pub fn new(reader: R, layout: Layout, label: &str, max_bytes: usize) -> Self {
        Self {
            reader,
            layout,
            label: label.to_owned(),
            max_bytes,
            line: 1,
            offset: 0,
            array_state: ArrayState::BeforeOpen,
        }
    }

    /// Returns bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn error(&self, line: u64, code: InputErrorCode, message: impl Into<String>) -> InputError {
        InputError::new(&self.label, Some(line), code, message)
    }

    fn io_error(&self, err: std::io::Error) -> InputError {
        InputError::new(
            &self.label,
            Some(self.line),
            InputErrorCode::Io,
            format!("read error: {err}"),
        )
    }

    fn too_large(&self, info: RecordInfo) -> InputError {
        self.error(
            info.line,
            InputErrorCode::RecordTooLarge,
            format!(
                "record is longer than {} bytes; it was skipped. Raise --max-record-bytes if \
                 records this large are expected",
                self.max_bytes
            ),
        )
    }

    /// Reads the next record into `buf` (cleared first). Returns `Ok(None)` at the end.
    ///
    /// An error leaves the reader after the bad record when it can go on (an
    /// oversized line), so a caller may report it and continue.
    pub fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<Option<RecordInfo>, InputError> {
        buf.clear();
        match self.layout {
            Layout::Lines => self.next_line(buf),
            Layout::Document => self.whole_document(buf),
            Layout::Array => self.next_element(buf),
        }
    }

    fn next_line(&mut self, buf: &mut Vec<u8>) -> Result<Option<RecordInfo>, InputError> {
        loop {
            buf.clear();
            let info = RecordInfo {
                line: self.line,
                offset: self.offset,
            };
            let (read, overflow) = self.read_line_bounded(buf)?;
            if read == 0 {
                return Ok(None);
            }
            if overflow {
                buf.clear();
                return Err(self.too_large(info));
            }
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Ok(Some(info));
        }
    }

    /// Reads through the next `\n`, keeping at most `max_bytes` in `buf`.
    /// Returns the bytes consumed and whether the line was longer than the limit.
    fn read_line_bounded(&mut self, buf: &mut Vec<u8>) -> Result<(usize, bool), InputError> {
        let mut consumed = 0_usize;
        let mut overflow = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if available.is_empty() {
                break;
            }
            let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
                Some(pos) => (&available[..pos], pos + 1),
                None => (available, available.len()),
            };
            if !overflow {
                if buf.len() + chunk.len() > self.max_bytes {
                    overflow = true;
                    buf.clear();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let found_newline = done > chunk.len();
            self.reader.consume(done);
            consumed += done;
            self.offset += done as u64;
            if found_newline {
                self.line += 1;
                break;
            }
        }
        Ok((consumed, overflow))
    }

    fn whole_document(&mut self, buf: &mut Vec<u8>) -> Result<Option<RecordInfo>, InputError> {
        if self.array_state == ArrayState::Closed {
            return Ok(None);
        }
        self.array_state = ArrayState::Closed;
        let info = RecordInfo { line: 1, offset: 0 };
        let limit = self.max_bytes as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_to_end(buf)
            .map_err(|e| self.io_error(e))?;
        self.offset += read as u64;
        if read as u64 == limit {
            buf.clear();
            return Err(self.too_large(info));
        }
        Ok(Some(info))
    }

    fn peek_byte(&mut self) -> Result<Option<u8>, InputError> {
        loop {
            match self.reader.fill_buf() {
                Ok(bytes) => return Ok(bytes.first().copied()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            }
        }
    }

    fn bump(&mut self, byte: u8) {
        self.reader.consume(1);
        self.offset += 1;
        if byte == b'\n' {
            self.line += 1;
        }
    }

    /// Skips whitespace (and a UTF-8 byte-order mark at the very start).
    fn skip_whitespace(&mut self) -> Result<Option<u8>, InputError> {
        if self.offset == 0 {
            let has_bom = match self.reader.fill_buf() {
                Ok(bytes) => bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
                Err(e) => return Err(self.io_error(e)),
            };
            if has_bom {
                self.reader.consume(3);
                self.offset += 3;
            }
        }
        while let Some(byte) = self.peek_byte()? {
            if byte.is_ascii_whitespace() {
                self.bump(byte);
            } else {
                return Ok(Some(byte));
            }
        }
        Ok(None)
    }

    fn next_element(&mut self, buf: &mut Vec<u8>) -> Result<Option<RecordInfo>, InputError> {
        match self.array_state {
            ArrayState::Closed => return Ok(None),
            ArrayState::BeforeOpen => match self.skip_whitespace()? {
                Some(b'[') => {
                    self.bump(b'[');
                    self.array_state = ArrayState::FirstElement;
                }
                _ => {
                    return Err(self.error(
                        self.line,
                        InputErrorCode::InvalidJson,
                        "invalid JSON: expected `[` to open the array",
                    ));
                }
            },
            ArrayState::FirstElement | ArrayState::AfterElement => {}
        }
        let first = self.array_state == ArrayState::FirstElement;
        match self.skip_whitespace()? {
            None => {
                self.array_state = ArrayState::Closed;
                return Err(self.error(
                    self.line,
                    InputErrorCode::InvalidJson,
                    "truncated JSON: the file ends before the array is closed with `]`",
                ));
            }
            Some(b']') => {
                self.bump(b']');
                self.array_state = ArrayState::Closed;
                return match self.skip_whitespace()? {
                    None => Ok(None),
                    Some(_) => Err(self.error(
                        self.line,
                        InputErrorCode::InvalidJson,
                        "invalid JSON: unexpected text after the closing `]` of the array",
                    )),
                };
            }
            Some(b',') if !first => {
                self.bump(b',');
                if matches!(self.skip_whitespace()?, Some(b']') | None) {
                    self.array_state = ArrayState::Closed;
                    return Err(self.error(
                        self.line,
                        InputErrorCode::InvalidJson,
                        "invalid JSON: trailing comma or missing element in the array",
                    ));
                }
            }
            Some(other) if !first => {
                self.array_state = ArrayState::Closed;
                return Err(self.error(
                    self.line,
                    InputErrorCode::InvalidJson,
                    format!(
                        "invalid JSON: expected `,` or `]` after an array element, found `{}`",
                        char::from(other)
                    ),
                ));
            }
            Some(_) => {}
        }
        self.array_state = ArrayState::AfterElement;
        let info = RecordInfo {
            line: self.line,
            offset: self.offset,
        };
        let mut depth = 0_i64;
        let mut in_string = false;
        let mut escaped = false;
        let mut overflow = false;
        loop {
            let Some(byte) = self.peek_byte()? else {
                self.array_state = ArrayState::Closed;
                return Err(self.error(
                    info.line,
                    InputErrorCode::InvalidJson,
                    "truncated JSON: the file ends inside this array element",
                ));
            };
            if !in_string && depth == 0 && (byte == b',' || byte == b']') {
                break;
            }
            self.bump(byte);
            if !overflow {
                if buf.len() >= self.max_bytes {
                    overflow = true;
                    buf.clear();
                } else {
                    buf.push(byte);
                }
            }
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
            } else {
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth -= 1,
                    _ => {}
                }
            }
        }
        while buf.last().is_some_and(u8::is_ascii_whitespace) {
            buf.pop();
        }
        if overflow {
            buf.clear();
            return Err(self.too_large(info));
        }
        Ok(Some(info))
    }
}

/// Parses one record's bytes as JSON, with errors located at the right line.
pub(crate) fn parse_record(
    bytes: &[u8],
    info: RecordInfo,
    label: &str,
) -> Result<Value, InputError> {
    parse_record_as(bytes, info, label)
}

/// Parses one record's bytes into `T`, with errors located at the right line.
pub(crate) fn parse_record_as<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    info: RecordInfo,
    label: &str,
) -> Result<T, InputError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        let at = err.valid_up_to();
        let newlines = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64;
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        InputError::new(
            label,
            Some(info.line + newlines),
            InputErrorCode::InvalidUtf8,
            format!(
                "invalid UTF-8 at byte {} of the line; transcripts must be UTF-8 text",
                at - line_start + 1
            ),
        )
    })?;
    serde_json::from_str(text).map_err(|err| {
        let line = info.line + (err.line() as u64).saturating_sub(1);
        InputError::new(
            label,
            Some(line),
            InputErrorCode::InvalidJson,
            describe_json_error(&err),
        )
    })
}

/// What the first bytes of a file say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sniff {
    /// Nothing but whitespace.
    Empty,
    /// NUL bytes: not text.
    Binary {
        /// Offset of the first NUL.
        offset: u64,
    },
    /// Starts like a JSON array (`[`).
    Array,
    /// Starts like a JSON object (`{`): JSONL or one document.
    Object,
    /// Starts with something that is not JSON.
    NotJson {
        /// The first non-blank character (U+FFFD when not UTF-8).
        first: char,
    },
}

/// Looks at the start of a file: empty, binary (a NUL in the first 8 KiB), or the
/// first non-blank character.
pub(crate) fn sniff<R: Read>(mut reader: R) -> std::io::Result<Sniff> {
    let mut chunk = vec![0_u8; 64 * 1024];
    let mut offset = 0_u64;
    loop {
        let read = match reader.read(&mut chunk) {
            Ok(0) => return Ok(Sniff::Empty),
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut bytes = &chunk[..read];
        if offset < 8192 {
            let window = &bytes[..bytes.len().min(8192 - offset as usize)];
            if let Some(pos) = window.iter().position(|&b| b == 0) {
                return Ok(Sniff::Binary {
                    offset: offset + pos as u64,
                });
            }
        }
        if offset == 0 {
            bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(bytes);
        }
        offset += read as u64;
        if let Some(pos) = bytes.iter().position(|b| !b.is_ascii_whitespace()) {
            return Ok(match bytes[pos] {
                b'[' => Sniff::Array,
                b'{' => Sniff::Object,
                _ => Sniff::NotJson {
                    first: String::from_utf8_lossy(&bytes[pos..bytes.len().min(pos + 4)])
                        .chars()
                        .next()
                        .unwrap_or(char::REPLACEMENT_CHARACTER),
                },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str, layout: Layout, max: usize) -> Vec<Result<(String, u64), String>> {
        let mut reader = RecordReader::new(text.as_bytes(), layout, "f.json", max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match reader.next_record(&mut buf) {
                Ok(Some(info)) => {
                    out.push(Ok((String::from_utf8_lossy(&buf).into_owned(), info.line)))
                }
                Ok(None) => break,
                Err(err) => {
                    let fatal = err.code != InputErrorCode::RecordTooLarge;
                    out.push(Err(err.to_string()));
                    if fatal {
                        break;
                    }
                }
            }
        }
        out
    }

    #[test]
    fn array_elements_with_their_lines() {
        let text = "[\n  {\"a\": \"x,]\\\"\"},\n  {\"b\": [1, 2]},\n  3\n]\n";
        let got = records(text, Layout::Array, 1000);
        assert_eq!(
            got,
            vec![
                Ok(("{\"a\": \"x,]\\\"\"}".to_owned(), 2)),
                Ok(("{\"b\": [1, 2]}".to_owned(), 3)),
                Ok(("3".to_owned(), 4)),
            ]
        );
    }

    #[test]
    fn truncated_array_is_reported_at_the_open_element() {
        let got = records("[{\"a\": 1},\n {\"b\": ", Layout::Array, 1000);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            Err(
                "f.json:2: truncated JSON: the file ends inside this array element (invalid_json)"
                    .into()
            )
        );
    }

    #[test]
    fn lines_skip_blank_lines_and_strip_crlf() {
        let got = records("{\"a\":1}\r\n\n  \n{\"b\":2}", Layout::Lines, 1000);
        assert_eq!(
            got,
            vec![
                Ok(("{\"a\":1}".to_owned(), 1)),
                Ok(("{\"b\":2}".to_owned(), 4))
            ]
        );
    }

    #[test]
    fn an_oversized_line_is_skipped_and_reading_goes_on() {
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(100));
        let text = format!("{{\"a\":1}}\n{long}\n{{\"b\":2}}\n");
        let got = records(&text, Layout::Lines, 50);
        assert_eq!(got.len(), 3);
        assert!(
            got[1]
                .as_ref()
                .unwrap_err()
                .contains("f.json:2: record is longer than 50 bytes")
        );
        assert_eq!(got[2], Ok(("{\"b\":2}".to_owned(), 3)));
    }

    #[test]
    fn invalid_utf8_names_line_and_byte() {
        let bytes = b"{\"a\":\n\"b\xff\"}";
        let err = parse_record(
            bytes,
            RecordInfo {
                line: 10,
                offset: 0,
            },
            "f.jsonl",
        )
        .unwrap_err();
        assert_eq!(err.code, InputErrorCode::InvalidUtf8);
        assert_eq!(err.line, Some(11));
        assert!(err.message.contains("byte 3"), "{}", err.message);
    }

    #[test]
    fn sniff_tells_empty_binary_and_json_apart() {
        assert_eq!(sniff(&b""[..]).unwrap(), Sniff::Empty);
        assert_eq!(sniff(&b" \n\t "[..]).unwrap(), Sniff::Empty);
        assert_eq!(
            sniff(&b"\x7fELF\x02\x01\x00"[..]).unwrap(),
            Sniff::Binary { offset: 6 }
        );
        assert_eq!(sniff(&b"\xEF\xBB\xBF [1]"[..]).unwrap(), Sniff::Array);
        assert_eq!(sniff(&b"\n{\"a\":1}"[..]).unwrap(), Sniff::Object);
        assert_eq!(sniff(&b"hello"[..]).unwrap(), Sniff::NotJson { first: 'h' });
    }
}
