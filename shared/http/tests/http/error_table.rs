//! `docs/errors.md` is the published error table: every code of `ErrorCode` has a row there
//! (anchored by the code, which is the fragment of its problem `type`), with the same status
//! and title, and the table lists no code that does not exist.

use std::collections::BTreeMap;

use ecohub_http::{ERROR_DOCS_URL, ErrorCode};

fn errors_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md")).unwrap()
}

/// A row of the documented table: code → (status, title).
fn documented_rows() -> BTreeMap<String, (u16, String)> {
    let doc = errors_md();
    let mut rows = BTreeMap::new();
    for line in doc.lines() {
        let Some(rest) = line.strip_prefix("| <a id=\"") else {
            continue;
        };
        let (anchor, rest) = rest.split_once("\"></a>").expect("an anchor closes");
        let cells: Vec<&str> = rest.split(" | ").map(str::trim).collect();
        let code = cells[0].trim_matches('`');
        assert_eq!(anchor, code, "the row of `{code}` is anchored by its code");
        let status = cells[1].parse().expect("a numeric status");
        let title = cells[2].to_owned();
        assert!(
            rows.insert(code.to_owned(), (status, title)).is_none(),
            "`{code}` has two rows"
        );
    }
    rows
}

#[test]
fn the_documented_table_has_a_row_for_every_code_and_no_other() {
    let rows = documented_rows();
    for code in ErrorCode::ALL {
        let row = rows
            .get(code.code())
            .unwrap_or_else(|| panic!("docs/errors.md has no row for `{code}`"));
        assert_eq!(row.0, code.status().as_u16(), "status of `{code}`");
        assert_eq!(row.1, code.title(), "title of `{code}`");
    }
    for documented in rows.keys() {
        assert!(
            ErrorCode::ALL.iter().any(|c| c.code() == documented),
            "docs/errors.md documents `{documented}`, which ErrorCode does not have"
        );
    }
}

#[test]
fn every_problem_type_links_to_its_row() {
    let doc = errors_md();
    assert!(ERROR_DOCS_URL.ends_with("/docs/errors.md"));
    assert!(
        doc.contains(ERROR_DOCS_URL),
        "docs/errors.md names the base URL"
    );
    for code in ErrorCode::ALL {
        assert_eq!(code.type_uri(), format!("{ERROR_DOCS_URL}#{}", code.code()));
    }
}
