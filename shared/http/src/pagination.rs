//! Cursor pagination (OBIE/CDR style): `?page_size=…&cursor=…`, answered with
//! `{ "data": [...], "links": { "self": …, "next": … }, "meta": { "page_size": … } }`.
//!
//! Cursors are opaque to clients: base64url of a small JSON object the service chooses
//! (typically the sort key of the last item returned).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{ApiError, ErrorCode};

/// Default page size.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Query parameters of a paginated list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<u32>,
    /// Opaque cursor from a previous page's `links.next`.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The requested page size, validated.
    pub fn page_size(&self) -> Result<u32, ApiError> {
        match self.page_size {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::new(ErrorCode::InvalidQuery)
                .detail(format!("page_size must be between 1 and {MAX_PAGE_SIZE}"))
                .field("page_size", "out of range")),
        }
    }

    /// The decoded cursor, `None` for the first page.
    pub fn cursor<C: DeserializeOwned>(&self) -> Result<Option<C>, ApiError> {
        self.cursor.as_deref().map(Cursor::decode).transpose()
    }
}

/// Encoding and decoding of opaque cursors.
#[derive(Debug)]
pub struct Cursor;

impl Cursor {
    /// Encodes a cursor value.
    pub fn encode<C: Serialize>(value: &C) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
    }

    /// Decodes a cursor, refusing anything this API did not issue.
    pub fn decode<C: DeserializeOwned>(raw: &str) -> Result<C, ApiError> {
        let invalid = || {
            ApiError::new(ErrorCode::InvalidCursor)
                .detail("cursor is not one this API issued")
                .field("cursor", "malformed")
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map_err(|_| invalid())
    }
}

/// Navigation links of a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Links {
    /// This page.
    #[serde(rename = "self")]
    pub self_: String,
    /// The next page, absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Page metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PageMeta {
    /// The page size used.
    pub page_size: u32,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    /// The items.
    pub data: Vec<T>,
    /// Links to this and the next page.
    pub links: Links,
    /// Page metadata.
    pub meta: PageMeta,
}

impl<T> Page<T> {
    /// Builds a page from up to `page_size + 1` items fetched in order: the extra item, if
    /// present, only proves there is a next page, whose cursor `cursor_of` makes from the
    /// last item kept. `base` is the list's path and query without `cursor`.
    pub fn from_overfetch<C: Serialize>(
        mut items: Vec<T>,
        page_size: u32,
        base: &str,
        current_cursor: Option<&str>,
        cursor_of: impl Fn(&T) -> C,
    ) -> Self {
        let has_more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let sep = if base.contains('?') { '&' } else { '?' };
        let link = |cursor: Option<&str>| match cursor {
            Some(c) => format!("{base}{sep}page_size={page_size}&cursor={c}"),
            None => format!("{base}{sep}page_size={page_size}"),
        };
        let next = if has_more {
            items
                .last()
                .map(|last| link(Some(&Cursor::encode(&cursor_of(last)))))
        } else {
            None
        };
        Page {
            links: Links {
                self_: link(current_cursor),
                next,
            },
            meta: PageMeta { page_size },
            data: items,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor::encode(&(42u64, "x"));
        assert_eq!(
            Cursor::decode::<(u64, String)>(&c).unwrap(),
            (42, "x".into())
        );
        let e = Cursor::decode::<(u64, String)>("!!!").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidCursor);
    }

    #[test]
    fn page_sizes_are_bounded() {
        let q = |n| PageQuery {
            page_size: Some(n),
            cursor: None,
        };
        assert_eq!(PageQuery::default().page_size().unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(q(500).page_size().unwrap(), 500);
        assert!(q(0).page_size().is_err());
        assert!(q(501).page_size().is_err());
    }

    #[test]
    fn overfetch_builds_next_link_only_when_more_exist() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, "/things?x=1", None, |n| *n);
        assert_eq!(page.data, vec![1, 2]);
        let next = page.links.next.unwrap();
        assert!(next.starts_with("/things?x=1&page_size=2&cursor="));
        let cursor = next.rsplit("cursor=").next().unwrap();
        assert_eq!(Cursor::decode::<i32>(cursor).unwrap(), 2);
        let last = Page::from_overfetch(vec![1, 2], 2, "/things", None, |n| *n);
        assert!(last.links.next.is_none());
        assert_eq!(last.links.self_, "/things?page_size=2");
    }
}
