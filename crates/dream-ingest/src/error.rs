//! Errors of the ingest layer: bad input (with file and line) and everything else.

use std::fmt;

use dream_store::StoreError;
use serde::Serialize;

/// Result alias for [`IngestError`].
pub type IngestResult<T> = Result<T, IngestError>;

/// Stable codes for bad input; each names what is wrong, not where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputErrorCode {
    /// Not well-formed JSON, including truncated JSON.
    InvalidJson,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// Well-formed JSON with a missing field or a field of the wrong type.
    InvalidField,
    /// A timestamp that is neither RFC 3339 nor a Unix time.
    InvalidTimestamp,
    /// One line or record over the size limit (`--max-record-bytes`).
    RecordTooLarge,
    /// A file with no content.
    EmptyFile,
    /// A file that is not text (it holds NUL bytes).
    BinaryFile,
    /// JSON that matches none of the supported transcript formats.
    UnknownFormat,
    /// The file could not be read.
    Io,
}

impl InputErrorCode {
    /// Returns the snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            InputErrorCode::InvalidJson => "invalid_json",
            InputErrorCode::InvalidUtf8 => "invalid_utf8",
            InputErrorCode::InvalidField => "invalid_field",
            InputErrorCode::InvalidTimestamp => "invalid_timestamp",
            InputErrorCode::RecordTooLarge => "record_too_large",
            InputErrorCode::EmptyFile => "empty_file",
            InputErrorCode::BinaryFile => "binary_file",
            InputErrorCode::UnknownFormat => "unknown_format",
            InputErrorCode::Io => "io_error",
        }
    }
}

impl fmt::Display for InputErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bad input, located: `file:line: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The file as given on the command line (`-` for standard input).
    pub path: String,
    /// 1-based line where the bad record starts, when known.
    pub line: Option<u64>,
    /// The stable code.
    pub code: InputErrorCode,
    /// What is wrong and, where useful, what to do.
    pub message: String,
    /// The session the record belongs to, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_session_id: Option<String>,
}

impl InputError {
    /// Returns an error for `path` at `line`.
    pub fn new(
        path: &str,
        line: Option<u64>,
        code: InputErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.to_owned(),
            line,
            code,
            message: message.into(),
            source_session_id: None,
        }
    }

    /// Returns the error with the session it belongs to.
    pub fn in_session(mut self, source_session_id: impl Into<String>) -> Self {
        self.source_session_id = Some(source_session_id.into());
        self
    }

    /// Returns the location, `path:line` or `path`.
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.path),
            None => self.path.clone(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.location(), self.message, self.code)
    }
}

impl std::error::Error for InputError {}

/// A field-level problem inside one record, located by the reader that finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `InvalidField` or `InvalidTimestamp`.
    pub code: InputErrorCode,
    /// What is wrong, naming the field (`messages[3].content`).
    pub message: String,
}

impl FieldError {
    /// Returns an `invalid_field` error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: InputErrorCode::InvalidField,
            message: message.into(),
        }
    }

    /// Locates the error in `path` at `line`.
    pub fn at(self, path: &str, line: Option<u64>) -> InputError {
        InputError::new(path, line, self.code, self.message)
    }
}

/// Everything that can stop an ingest.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Bad input.
    #[error("{0}")]
    Input(#[from] InputError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A path given to ingest does not exist or cannot be listed.
    #[error("cannot read {path}: {source}")]
    Path {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A reader thread ended abnormally (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}

impl IngestError {
    /// Returns the stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::Input(e) => e.code.as_str(),
            IngestError::Store(e) => e.code(),
            IngestError::Path { .. } => "not_found_error",
            IngestError::Internal(_) => "api_error",
        }
    }
}
