//! Property tests (proptest) of the cursor codec, which decodes whatever a client puts in
//! `?cursor=`: any string is refused with `invalid_cursor` (never a panic), every cursor the
//! API encodes decodes to the same value, and the `next` link of a page carries the cursor of
//! its last item.
//!
//! Each property runs a modest number of cases so that `cargo test` stays fast; for a longer
//! run: `PROPTEST_CASES=20000 cargo test -p ecohub-http --test http properties`.

use std::fmt::Debug;

use ecohub_http::pagination::MAX_PAGE_SIZE;
use ecohub_http::{Cursor, ErrorCode, Page, PageQuery};
use ecohub_kernel::PartnerId;
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `default` cases, or `PROPTEST_CASES` when set (for long runs).
fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// The shape of the services' cursors: the sort key of the last item returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct KeyCursor {
    after: String,
    position: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tie: Option<i64>,
}

fn key_cursor() -> impl Strategy<Value = KeyCursor> {
    ("\\PC{0,40}", any::<u64>(), any::<Option<i64>>()).prop_map(|(after, position, tie)| {
        KeyCursor {
            after,
            position,
            tie,
        }
    })
}

fn partner_id() -> impl Strategy<Value = PartnerId> {
    any::<u128>().prop_map(|n| PartnerId::from_uuid(uuid::Uuid::from_u128(n)))
}

/// Decoding as every cursor type the services use never panics, and a refusal is always
/// `invalid_cursor` naming the `cursor` parameter.
fn decodes_or_refuses(raw: &str) -> Result<(), TestCaseError> {
    fn one<C: DeserializeOwned + Debug>(raw: &str) -> Result<(), TestCaseError> {
        if let Err(e) = Cursor::decode::<C>(raw) {
            prop_assert_eq!(e.code(), ErrorCode::InvalidCursor);
        }
        let query = PageQuery {
            page_size: None,
            cursor: Some(raw.to_owned()),
        };
        prop_assert_eq!(
            query.cursor::<C>().map_err(|e| e.code()).err(),
            Cursor::decode::<C>(raw).map_err(|e| e.code()).err()
        );
        Ok(())
    }
    one::<u64>(raw)?;
    one::<u32>(raw)?;
    one::<String>(raw)?;
    one::<(u64, String)>(raw)?;
    one::<KeyCursor>(raw)?;
    one::<PartnerId>(raw)?;
    one::<Option<PartnerId>>(raw)?;
    one::<serde_json::Value>(raw)?;
    Ok(())
}

#[test]
fn any_cursor_string_is_decoded_or_refused_as_invalid_cursor() {
    let raw = prop_oneof![
        "\\PC{0,80}",
        "[A-Za-z0-9_=+/-]{0,80}",
        prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|b| Cursor::encode(&String::from_utf8_lossy(&b))),
        // base64url of arbitrary bytes: decodes as base64, rarely as JSON.
        prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
        }),
        // base64url of JSON that is almost a cursor.
        ("\\PC{0,12}", any::<i64>())
            .prop_map(|(s, n)| Cursor::encode(&serde_json::json!({"after": s, "position": n}))),
    ];
    proptest!(config(512), |(raw in raw)| {
        decodes_or_refuses(&raw)?;
    });
}

#[test]
fn encoded_cursors_decode_to_the_same_value() {
    proptest!(config(512), |(
        n in any::<u64>(),
        s in "\\PC{0,64}",
        key in key_cursor(),
        partner in partner_id(),
        pair in (any::<u64>(), "\\PC{0,16}"),
    )| {
        prop_assert_eq!(Cursor::decode::<u64>(&Cursor::encode(&n)).ok(), Some(n));
        prop_assert_eq!(Cursor::decode::<String>(&Cursor::encode(&s)).ok(), Some(s));
        prop_assert_eq!(Cursor::decode::<KeyCursor>(&Cursor::encode(&key)).ok(), Some(key));
        prop_assert_eq!(Cursor::decode::<PartnerId>(&Cursor::encode(&partner)).ok(), Some(partner));
        prop_assert_eq!(
            Cursor::decode::<(u64, String)>(&Cursor::encode(&pair)).ok(),
            Some(pair)
        );
    });
}

#[test]
fn a_page_links_to_the_next_with_the_cursor_of_its_last_item() {
    proptest!(config(256), |(
        items in prop::collection::vec(key_cursor(), 0..40),
        page_size in 1u32..50,
        base in prop_oneof![Just("/things"), Just("/things?status=active")],
        current in prop::option::of("[A-Za-z0-9_-]{1,20}"),
    )| {
        let page = Page::from_overfetch(items.clone(), page_size, base, current.as_deref(), |k| k.clone());
        let kept = items.len().min(page_size as usize);
        prop_assert_eq!(&page.data[..], &items[..kept]);
        prop_assert_eq!(page.meta.page_size, page_size);
        prop_assert!(page.links.self_.starts_with(base));
        match page.links.next {
            Some(next) => {
                prop_assert!(items.len() > page_size as usize);
                let cursor = next.rsplit("cursor=").next().unwrap();
                let decoded = Cursor::decode::<KeyCursor>(cursor).ok();
                prop_assert_eq!(decoded.as_ref(), page.data.last());
            }
            None => prop_assert!(items.len() <= page_size as usize),
        }
    });
}

#[test]
fn page_sizes_outside_the_bounds_are_refused() {
    proptest!(config(256), |(n in any::<u32>())| {
        let query = PageQuery { page_size: Some(n), cursor: None };
        match query.page_size() {
            Ok(size) => prop_assert!(size == n && (1..=MAX_PAGE_SIZE).contains(&n)),
            Err(e) => {
                prop_assert_eq!(e.code(), ErrorCode::InvalidQuery);
                prop_assert!(n == 0 || n > MAX_PAGE_SIZE);
            }
        }
    });
}
