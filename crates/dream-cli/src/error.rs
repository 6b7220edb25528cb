//! CLI errors: a stable code, a message, and the exit code STYLE.md assigns.

use dream_engine::EngineError;
use dream_ingest::IngestError;
use dream_store::StoreError;

/// An error that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments (exit 2).
    #[error("{message}")]
    Usage {
        /// Stable code.
        code: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// Bad input or a missing record (exit 1).
    #[error("{message}")]
    Input {
        /// Stable code.
        code: String,
        /// What was wrong and what to do.
        message: String,
    },
    /// A conflict or failed precondition (exit 3).
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: String,
        /// What was wrong and what to do.
        message: String,
    },
    /// A bug or an environment failure (exit 255).
    #[error("{0}")]
    Internal(String),
    /// Standard output was closed by the reader (`dream … | head`): exit quietly.
    #[error("broken pipe")]
    BrokenPipe,
}

/// Result alias for [`CliError`].
pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    /// Returns a usage error.
    pub fn usage(code: &'static str, message: impl Into<String>) -> Self {
        CliError::Usage {
            code,
            message: message.into(),
        }
    }

    /// Returns an input error.
    pub fn input(code: impl Into<String>, message: impl Into<String>) -> Self {
        CliError::Input {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Returns a conflict or failed precondition.
    pub fn conflict(code: impl Into<String>, message: impl Into<String>) -> Self {
        CliError::Conflict {
            code: code.into(),
            message: message.into(),
        }
    }

    /// Returns the same error with `note` appended to its message (what was kept, what to do).
    pub fn with_note(self, note: impl std::fmt::Display) -> Self {
        match self {
            CliError::Usage { code, message } => CliError::Usage {
                code,
                message: format!("{message}; {note}"),
            },
            CliError::Input { code, message } => CliError::Input {
                code,
                message: format!("{message}; {note}"),
            },
            CliError::Conflict { code, message } => CliError::Conflict {
                code,
                message: format!("{message}; {note}"),
            },
            CliError::Internal(message) => CliError::Internal(format!("{message}; {note}")),
            CliError::BrokenPipe => CliError::BrokenPipe,
        }
    }

    /// Returns the process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage { .. } => 2,
            CliError::Input { .. } => 1,
            CliError::Conflict { .. } => 3,
            CliError::Internal(_) => 255,
            CliError::BrokenPipe => 0,
        }
    }

    /// Returns the stable code.
    pub fn code(&self) -> &str {
        match self {
            CliError::Usage { code, .. } => code,
            CliError::Input { code, .. } | CliError::Conflict { code, .. } => code,
            CliError::Internal(_) => "api_error",
            CliError::BrokenPipe => "broken_pipe",
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::BrokenPipe
        } else {
            CliError::Internal(format!("i/o error: {err}"))
        }
    }
}

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> Self {
        let code = err.code().to_owned();
        let message = err.to_string();
        match err {
            StoreError::NotInitialized { .. }
            | StoreError::NotFound { .. }
            | StoreError::Ambiguous { .. }
            | StoreError::SourceAborted
            | StoreError::Rule(_)
            | StoreError::StoreArchived { .. }
            | StoreError::ProtectedPath { .. }
            | StoreError::RedactCurrent { .. }
            | StoreError::VersionOutOfRange { .. } => CliError::Input { code, message },
            StoreError::SessionConflict { .. }
            | StoreError::PathConflict { .. }
            | StoreError::PreconditionFailed { .. }
            | StoreError::ReviewConflict { .. } => CliError::Conflict { code, message },
            StoreError::InvalidEvent(_)
            | StoreError::Corrupt(_)
            | StoreError::Database(_)
            | StoreError::Migration(_) => CliError::Internal(message),
        }
    }
}

impl From<IngestError> for CliError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::Store(store) => store.into(),
            IngestError::Input(input) => CliError::input(input.code.as_str(), input.to_string()),
            IngestError::Path { .. } => CliError::input("not_found_error", err.to_string()),
            IngestError::Internal(message) => CliError::Internal(message),
        }
    }
}

impl From<EngineError> for CliError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Store(store) => store.into(),
            EngineError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                CliError::input("not_found_error", err.to_string())
            }
            // A file the user named that cannot be read or written (permissions, a
            // directory in the way, a full disk) is theirs to fix: exit 1, not 255.
            EngineError::Io { .. } => CliError::input(err.code(), err.to_string()),
            EngineError::InvalidFile { code, .. } => CliError::input(code, err.to_string()),
            EngineError::InvalidRequest(message) => {
                CliError::input("invalid_request_error", message)
            }
        }
    }
}
