//! Errors as Anthropic's API returns them: an HTTP status and the body
//! `{"type": "error", "error": {"type": "…", "message": "…"}, "request_id": "…"}`
//! (official `anthropic` SDK 2.10.0, `types/shared/error_response.py`; the `type`
//! values are its `ErrorType`). `dream` adds `error.code`, a stable snake_case code
//! naming the exact rule (`invalid_path`, `content_too_large`, …), when it says more
//! than the type.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dream_engine::EngineError;
use dream_ingest::IngestError;
use dream_store::StoreError;
use serde::Serialize;

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// An error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Anthropic's error type (`invalid_request_error`, `not_found_error`, …).
    pub kind: &'static str,
    /// A stable code naming the rule that failed, when more precise than `kind`.
    pub code: Option<String>,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Returns an error with this status, type and message.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
        }
    }

    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 400 `invalid_request_error` with a stable code.
    pub fn invalid_with_code(code: &str, message: impl Into<String>) -> Self {
        Self::invalid(message).with_code(code)
    }

    /// 404 `not_found_error`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found_error", message)
    }

    /// 401 `authentication_error`.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "authentication_error", message)
    }

    /// 403 `permission_error`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "permission_error", message)
    }

    /// 409 `conflict_error`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict_error", message)
    }

    /// 500 `api_error`; the message is logged, the caller sees a generic one.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        tracing::error!(error = %message, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            format!("internal error: {message}"),
        )
    }

    /// Adds a stable code.
    pub fn with_code(mut self, code: &str) -> Self {
        if code != self.kind {
            self.code = Some(code.to_owned());
        }
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.kind,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            kind: "error",
            error: Inner {
                kind: self.kind,
                message: &self.message,
                code: self.code.as_deref(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        // The SDK retries 408/409/429/5xx unless told otherwise; a client error is
        // final, so say so (the header the SDK reads: `x-should-retry`).
        let retry = if self.status.is_server_error() {
            "true"
        } else {
            "false"
        };
        response
            .headers_mut()
            .insert("x-should-retry", HeaderValue::from_static(retry));
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let message = err.to_string();
        let code = err.code();
        match &err {
            StoreError::NotFound { .. } => ApiError::not_found(message),
            StoreError::PreconditionFailed { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "memory_precondition_failed_error",
                message,
            ),
            StoreError::PathConflict { .. } => {
                ApiError::new(StatusCode::CONFLICT, "memory_path_conflict_error", message)
            }
            StoreError::ReviewConflict { .. } => ApiError::conflict(message).with_code(code),
            StoreError::SessionConflict { .. } => {
                ApiError::conflict(message.replace("pass --replace", "send `?replace=true`"))
            }
            StoreError::StoreArchived { .. } => ApiError::invalid(message).with_code(code),
            StoreError::ProtectedPath { .. } => ApiError::forbidden(message).with_code(code),
            StoreError::Rule(_)
            | StoreError::Ambiguous { .. }
            | StoreError::RedactCurrent { .. }
            | StoreError::VersionOutOfRange { .. }
            | StoreError::SourceAborted
            | StoreError::InvalidEvent(_) => ApiError::invalid(message).with_code(code),
            StoreError::NotInitialized { .. }
            | StoreError::Corrupt(_)
            | StoreError::Database(_)
            | StoreError::Migration(_) => ApiError::internal(message),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Store(err) => err.into(),
            EngineError::InvalidRequest(message) => ApiError::invalid(message),
            EngineError::InvalidFile { code, .. } => {
                let message = err.to_string();
                ApiError::invalid_with_code(code, message)
            }
            EngineError::Io { .. } => ApiError::internal(err),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::Store(err) => err.into(),
            other => ApiError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_have_the_anthropic_shape_and_say_not_to_retry() {
        let response =
            ApiError::invalid_with_code("invalid_path", "path must start with /").into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()["x-should-retry"], "false");
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "path must start with /",
                    "code": "invalid_path"
                }
            })
        );
    }

    #[test]
    fn store_errors_map_to_the_sdk_statuses() {
        let precondition = ApiError::from(StoreError::PreconditionFailed {
            memory_id: "mem_1".into(),
            path: "/a.md".into(),
            expected: "aa".into(),
            actual: "bb".into(),
        });
        assert_eq!(precondition.status, StatusCode::CONFLICT);
        assert_eq!(precondition.kind, "memory_precondition_failed_error");
        let missing = ApiError::from(StoreError::NotFound {
            kind: "memory store",
            reference: "memstore_x".into(),
        });
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.code, None);
    }
}
