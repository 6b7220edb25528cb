//! Cursor pagination as Anthropic's list endpoints do it (SDK `SyncPageCursor`):
//! a response `{"data": [...], "next_page": "…" | null}`; the next request passes
//! `page=<next_page>`. Cursors are opaque (`page_` + base64url of the last item's sort
//! key), so a page never repeats or skips an item when others are added meanwhile.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};

/// Items per page when `limit` is absent (Anthropic's default).
pub const DEFAULT_LIMIT: usize = 20;
/// Most items per page (Anthropic's limit).
pub const MAX_LIMIT: usize = 100;
/// Most items per page when content is included (`view=full`; Anthropic's limit).
pub const MAX_FULL_LIMIT: usize = 20;

/// One page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub data: Vec<T>,
    /// The `page` value for the next page; `null` on the last page.
    pub next_page: Option<String>,
}

impl<T> Page<T> {
    /// Maps the items.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            next_page: self.next_page,
        }
    }
}

/// Checks `limit` (1 to [`MAX_LIMIT`], default [`DEFAULT_LIMIT`]).
///
/// # Errors
/// 400 `invalid_request_error` (`invalid_limit`) outside the range.
pub fn limit(value: Option<i64>) -> ApiResult<usize> {
    match value {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::invalid_with_code(
            "invalid_limit",
            format!("limit must be between 1 and {MAX_LIMIT}, got {n}"),
        )),
    }
}

/// Encodes a sort key as a cursor.
pub fn encode(key: &str) -> String {
    format!("page_{}", URL_SAFE_NO_PAD.encode(key.as_bytes()))
}

/// Decodes a cursor made by [`encode`].
///
/// # Errors
/// 400 `invalid_request_error` (`invalid_page`) for anything else.
pub fn decode(cursor: &str) -> ApiResult<String> {
    let bad = || {
        ApiError::invalid_with_code(
            "invalid_page",
            format!(
                "page {cursor:?} is not a cursor from this list: pass the `next_page` value of a previous response"
            ),
        )
    };
    let body = cursor.strip_prefix("page_").ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

/// Sort direction of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Smallest key first.
    Asc,
    /// Largest key first.
    Desc,
}

/// Pages a list already sorted by `key` in `order` (keys unique): returns up to
/// `limit` items after the cursor's key, and the next cursor when more follow.
///
/// # Errors
/// A bad cursor (see [`decode`]).
pub fn paginate<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    order: Order,
    cursor: Option<&str>,
    limit: usize,
) -> ApiResult<Page<T>> {
    let after = cursor.map(decode).transpose()?;
    let mut rest = items.into_iter().filter(|item| match &after {
        None => true,
        Some(after) => match order {
            Order::Asc => key(item) > *after,
            Order::Desc => key(item) < *after,
        },
    });
    let data: Vec<T> = rest.by_ref().take(limit).collect();
    let next_page = match (rest.next(), data.last()) {
        (Some(_), Some(last)) => Some(encode(&key(last))),
        _ => None,
    };
    Ok(Page { data, next_page })
}

/// Builds a page from items fetched with one extra (`limit + 1`), already after the
/// cursor: the extra item only says whether a next page exists.
pub fn from_fetched<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_page = if more {
        items.last().map(|last| encode(&key(last)))
    } else {
        None
    };
    Page {
        data: items,
        next_page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_whole_list_once_in_both_orders() {
        for order in [Order::Asc, Order::Desc] {
            let mut items: Vec<u32> = (0..47).collect();
            if order == Order::Desc {
                items.reverse();
            }
            let key = |n: &u32| format!("{n:04}");
            let mut seen = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = paginate(items.clone(), key, order, cursor.as_deref(), 10)
                    .unwrap_or_else(|e| panic!("{e}"));
                seen.extend(page.data);
                match page.next_page {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, items);
        }
    }

    #[test]
    fn a_deleted_cursor_item_does_not_lose_the_place() {
        let items: Vec<u32> = vec![1, 2, 3, 4, 5];
        let key = |n: &u32| n.to_string();
        let first = paginate(items, key, Order::Asc, None, 2).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.data, [1, 2]);
        let without_two = vec![1, 3, 4, 5];
        let second = paginate(without_two, key, Order::Asc, first.next_page.as_deref(), 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second.data, [3, 4]);
    }

    #[test]
    fn bad_limits_and_cursors_are_client_errors() {
        assert_eq!(limit(None).ok(), Some(20));
        assert_eq!(limit(Some(100)).ok(), Some(100));
        assert_eq!(
            limit(Some(0)).unwrap_err().message,
            "limit must be between 1 and 100, got 0"
        );
        assert!(limit(Some(101)).is_err());
        assert_eq!(
            decode("nope").unwrap_err().code.as_deref(),
            Some("invalid_page")
        );
        assert_eq!(decode(&encode("k|1")).ok().as_deref(), Some("k|1"));
    }
}
