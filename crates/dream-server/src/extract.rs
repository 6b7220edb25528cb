//! Request extractors that fail with Anthropic's error shape instead of axum's plain
//! text: [`Json`] for bodies and [`Query`] for query strings. Query strings are read
//! as the SDK writes them (`anthropic` 2.10.0 `Querystring(array_format="brackets")`):
//! `statuses[]=running&statuses[]=pending`, `created_at[gte]=…`, booleans as
//! `true`/`false`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body. An empty body reads as `{}` (the SDK sends none for
/// `archive`/`cancel`); anything else must be a JSON object of the right shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                        "request_too_large",
                        "request body is larger than the server's limit (--max-body-bytes)",
                    )
                } else {
                    ApiError::invalid(format!("cannot read the request body: {rejection}"))
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// The UTF-8 byte order mark some editors and Windows tools put before a file.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses a JSON body (empty is `{}`; a leading UTF-8 byte order mark is skipped, as
/// RFC 8259 §8.1 lets a parser do), naming the failing field and position.
///
/// # Errors
/// 400 `invalid_request_error` (`invalid_json`) saying where and what.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let at = if path == "." {
            String::new()
        } else {
            format!(" at `{path}`")
        };
        ApiError::invalid_with_code("invalid_json", format!("request body{at}: {inner}"))
    })?;
    deserializer.end().map_err(|err| {
        ApiError::invalid_with_code("invalid_json", format!("request body: {err}"))
    })?;
    Ok(value)
}

/// A query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_html_form::from_str(query)
            .map(Query)
            .map_err(|err| ApiError::invalid_with_code("invalid_query", format!("query: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Listing {
        #[serde(default, rename = "statuses[]")]
        statuses: Vec<String>,
        #[serde(rename = "created_at[gte]")]
        created_gte: Option<String>,
        include_archived: Option<bool>,
        limit: Option<u32>,
    }

    #[test]
    fn queries_read_the_sdk_bracket_format() {
        let q: Listing = serde_html_form::from_str(
            "statuses[]=running&statuses[]=pending&created_at[gte]=2026-01-01T00%3A00%3A00Z&include_archived=true&limit=5",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.statuses, ["running", "pending"]);
        assert_eq!(q.created_gte.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(q.include_archived, Some(true));
        assert_eq!(q.limit, Some(5));
    }

    #[test]
    fn bodies_name_the_bad_field() {
        #[derive(Debug, serde::Deserialize)]
        struct Create {
            name: String,
        }
        let err = parse_json::<Create>(br#"{"name": 3}"#).unwrap_err();
        assert_eq!(err.code.as_deref(), Some("invalid_json"));
        assert!(
            err.message
                .starts_with("request body at `name`: invalid type: integer `3`"),
            "{}",
            err.message
        );
        let bom: Create =
            parse_json(b"\xEF\xBB\xBF{\"name\": \"a\"}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bom.name, "a", "a leading byte order mark is skipped");
        let err = parse_json::<Create>(b"").unwrap_err();
        assert!(
            err.message.contains("missing field `name`"),
            "{}",
            err.message
        );
    }
}
