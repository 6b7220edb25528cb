//! The engine's error type.

use std::path::PathBuf;

use dream_store::StoreError;

/// Result alias for [`EngineError`].
pub type EngineResult<T> = Result<T, EngineError>;

/// What can go wrong in an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A request that cannot be carried out as given.
    #[error("{0}")]
    InvalidRequest(String),
    /// A file cannot become a memory (not UTF-8, too large, a bad path).
    #[error("{}: {message}", path.display())]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// Stable code (`invalid_utf8`, `content_too_large`, `invalid_path`).
        code: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl EngineError {
    /// Returns the stable snake_case code.
    pub fn code(&self) -> &str {
        match self {
            EngineError::Store(err) => err.code(),
            EngineError::Io { .. } => "io_error",
            EngineError::InvalidRequest(_) => "invalid_request_error",
            EngineError::InvalidFile { code, .. } => code,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}
