//! What property tests share: their case count, arbitrary JSON, and the check that a
//! schema's `pattern` takes exactly what a parser takes.

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use serde_json::Value;

/// `default` cases, or `PROPTEST_CASES` when set (for long runs, e.g.
/// `PROPTEST_CASES=100000 cargo test -p ecohub-http --test http properties`).
pub fn config(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Arbitrary JSON, a few levels deep.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("\\PC{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON Schema `pattern`, compiled as validators read it: `matches(value)`.
pub struct Pattern(jsonschema::Validator, String);

impl Pattern {
    /// Compiles `pattern` (panics when no validator would take it).
    pub fn new(pattern: &str) -> Self {
        let schema = serde_json::json!({"type": "string", "pattern": pattern});
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("pattern {pattern} does not compile: {e}"));
        Self(validator, pattern.to_owned())
    }

    /// The pattern of a string property of a schema (`/properties/name/pattern`, …).
    pub fn at(schema: &Value, pointer: &str) -> Self {
        let pattern = schema
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no pattern at {pointer} in {schema}"));
        Self::new(pattern)
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        self.0.is_valid(&Value::from(value))
    }

    /// Asserts that the pattern takes `value` exactly when `parser` does.
    pub fn agrees(&self, value: &str, parser: bool) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            self.matches(value),
            parser,
            "pattern {} and parser disagree on {:?}",
            self.1,
            value
        );
        Ok(())
    }
}

/// The patterns of a document's schemas, each compiled once: for property tests that check
/// many strings against the same patterns (`static P: LazyLock<Patterns> = …; P.get("/X/…")`).
pub struct Patterns {
    schemas: Value,
    compiled: std::sync::Mutex<std::collections::HashMap<String, &'static Pattern>>,
}

impl Patterns {
    /// The patterns of `schemas` (the document's `components.schemas`).
    pub fn new(schemas: Value) -> Self {
        Self {
            schemas,
            compiled: Default::default(),
        }
    }

    /// The pattern at `pointer` (see [`Pattern::at`]).
    pub fn get(&self, pointer: &str) -> &'static Pattern {
        let mut compiled = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
        compiled
            .entry(pointer.to_owned())
            .or_insert_with(|| Box::leak(Box::new(Pattern::at(&self.schemas, pointer))))
    }
}

/// One of the characters that text rules tell apart: letters, digits, punctuation, white
/// space that `str::trim` removes (and that it does not), control characters, non-ASCII.
pub fn edgy_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(vec!['a', 'z', 'A', 'Q', '0', '9', '_', '-', '.', '/', ':', '@', '*', '%', '#', '?', '+', '[', ']', '~', '"', '\\']),
        2 => prop::sample::select(vec![' ', '\t', '\n', '\r', '\u{0b}', '\u{0c}', '\u{85}', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2028}', '\u{3000}', '\u{feff}', '\u{200b}', '\u{1c}']),
        1 => prop::sample::select(vec!['\u{0}', '\u{1}', '\u{1f}', '\u{7f}', '\u{80}', '\u{9f}']),
        1 => prop::sample::select(vec!['é', 'ß', 'Ω', '中', '😀', '\u{301}']),
        1 => any::<char>(),
    ]
}

/// Strings of [`edgy_char`]s, of 0 to `max_len` characters.
pub fn edgy_text(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(edgy_char(), 0..=max_len).prop_map(|cs| cs.into_iter().collect())
}

/// Strings whose trimmed value is about `len` characters long (one fewer, as many, one
/// more), with white space or not around it: the edges of a length rule.
pub fn text_near(len: usize) -> impl Strategy<Value = String> {
    let pad = prop::collection::vec(
        prop::sample::select(vec![' ', '\t', '\n', '\u{85}', '\u{3000}', '\u{1}']),
        0..3,
    );
    (
        pad.clone(),
        prop::sample::select(vec![len.saturating_sub(1), len, len + 1]),
        prop_oneof![Just('x'), Just('é'), Just(' '), edgy_char()],
        pad,
    )
        .prop_map(|(before, n, fill, after)| {
            let mut s: String = before.into_iter().collect();
            s.push('a');
            s.extend(std::iter::repeat_n(fill, n.saturating_sub(2)));
            if n >= 2 {
                s.push('b');
            }
            s.extend(after);
            s
        })
}
