//! JSON Schema fragments for the rules the services' parsers share, so that the OpenAPI
//! document states what the server enforces (issue 11: generated clients and Schemathesis'
//! `positive_data_acceptance` rely on it).
//!
//! Patterns are written for ECMA-262 and Python `re` alike (no `\s`, `\d`, `\w`: the engines
//! disagree on them), and anchored at both ends. Used through utoipa's `schema_with`:
//!
//! ```
//! use ecohub_kernel::schema::{self, Controls};
//! use utoipa::openapi::Object;
//!
//! fn reason() -> Object {
//!     schema::text(500, Controls::LineBreaks)
//!         .description(Some("Why: 1 to 500 characters once trimmed"))
//!         .build()
//! }
//! # assert!(serde_json::to_value(reason()).unwrap()["pattern"].is_string());
//! ```

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// What Rust's `str::trim` removes: the Unicode `White_Space` characters
/// (`char::is_whitespace`), as the inside of a character class.
pub const WHITE_SPACE: &str = r"\t-\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// What `char::is_control` refuses (Unicode `Cc`), as the inside of a character class.
pub const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";

/// An id as the kernel's ids parse it (`Uuid::try_parse`): hyphenated, optionally as a URN
/// (prefix in any case) or in braces, or 32 hex digits; without anchors, to embed in patterns.
pub const ID: &str = r"[0-9A-Fa-f]{32}|(?:[Uu][Rr][Nn]:[Uu][Uu][Ii][Dd]:)?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}";

/// Which control characters a text admits inside its trimmed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Controls {
    /// Any character (the parser does not look).
    Allowed,
    /// Line breaks and tabs (`\n`, `\r`, `\t`), no other control character.
    LineBreaks,
    /// None.
    Refused,
}

/// The pattern of a text the server trims (`str::trim`) and then takes when it is 1 to `max`
/// characters long with no control character but those `controls` allows. White space
/// around the value is admitted, as the server trims it.
pub fn trimmed(max: usize, controls: Controls) -> String {
    assert!(max >= 1, "a text holds at least one character");
    let w = WHITE_SPACE;
    let c = CONTROL;
    // The first and last characters of the trimmed value, and those between them.
    let (edge, inner) = match controls {
        Controls::Allowed => (format!("[^{w}]"), r"[\s\S]".to_owned()),
        Controls::LineBreaks => (
            format!("[^{w}{c}]"),
            r"[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]".to_owned(),
        ),
        Controls::Refused => (format!("[^{w}{c}]"), format!("[^{c}]")),
    };
    let middle = match max {
        1 => edge.clone(),
        _ => format!("{edge}(?:{inner}{{0,{}}}{edge})?", max - 2),
    };
    format!("^[{w}]*{middle}[{w}]*$")
}

/// A string schema with `pattern`.
pub fn string(pattern: impl Into<String>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
}

/// A string (or `null`) schema with `pattern`, for an optional field.
pub fn nullable_string(pattern: impl Into<String>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(pattern))
}

/// A text the server trims, 1 to `max` characters (see [`trimmed`]).
pub fn text(max: usize, controls: Controls) -> ObjectBuilder {
    string(trimmed(max, controls))
}
