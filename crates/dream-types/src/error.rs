//! Errors raised while parsing domain values (ids, timestamps, enum names).

/// Result alias for [`TypesError`].
pub type TypesResult<T> = Result<T, TypesError>;

/// A value that does not have the shape a domain type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypesError {
    /// An id without the expected prefix or with characters outside `[0-9A-Za-z_-]`.
    #[error("invalid {kind} id {value:?}: expected `{prefix}_` followed by letters and digits")]
    InvalidId {
        /// What the id names ("session", "memory store", ...).
        kind: &'static str,
        /// The expected prefix, without the underscore.
        prefix: &'static str,
        /// The rejected text.
        value: String,
    },
    /// A timestamp that is not RFC 3339 (or a Unix time in seconds/milliseconds).
    #[error("invalid timestamp {value:?}: expected RFC 3339 such as 2026-02-11T20:36:45.618Z")]
    InvalidTimestamp {
        /// The rejected text.
        value: String,
    },
    /// An enum name that is not one of the accepted values.
    #[error("invalid {kind} {value:?}: expected one of {expected}")]
    InvalidName {
        /// What is being named ("event kind", "source kind").
        kind: &'static str,
        /// The rejected text.
        value: String,
        /// The accepted values, comma separated.
        expected: &'static str,
    },
}

impl TypesError {
    /// Returns the stable snake_case error code (the Anthropic error `type` on the wire).
    pub fn code(&self) -> &'static str {
        match self {
            TypesError::InvalidId { .. } => "invalid_id",
            TypesError::InvalidTimestamp { .. } => "invalid_timestamp",
            TypesError::InvalidName { .. } => "invalid_request_error",
        }
    }
}
