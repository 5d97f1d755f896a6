//! `ecohub_kernel::schema::trimmed` takes exactly the texts its rule describes: trimmed by
//! `str::trim`, 1 to `max` characters, control characters as `Controls` says.

use ecohub_kernel::schema::{Controls, trimmed};
use ecohub_testkit::properties::{Pattern, config, edgy_text, text_near};
use proptest::prelude::*;

fn rule(s: &str, max: usize, controls: Controls) -> bool {
    let t = s.trim();
    let n = t.chars().count();
    let allowed = |c: char| match controls {
        Controls::Allowed => true,
        Controls::LineBreaks => !c.is_control() || matches!(c, '\n' | '\r' | '\t'),
        Controls::Refused => !c.is_control(),
    };
    (1..=max).contains(&n) && t.chars().all(allowed)
}

const RULES: [(usize, Controls); 6] = [
    (1, Controls::Refused),
    (2, Controls::LineBreaks),
    (5, Controls::Allowed),
    (5, Controls::Refused),
    (40, Controls::LineBreaks),
    (200, Controls::Refused),
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn trimmed_takes_what_the_rule_takes(s in edgy_text(8), near in text_near(40)) {
        for (max, controls) in RULES {
            let p = Pattern::new(&trimmed(max, controls));
            p.agrees(&s, rule(&s, max, controls))?;
            p.agrees(&near, rule(&near, max, controls))?;
        }
    }
}

#[test]
fn trimmed_edges() {
    let p = Pattern::new(&trimmed(3, Controls::Refused));
    for (s, ok) in [
        ("", false),
        (" ", false),
        ("a", true),
        (" \t abc \n", true),
        ("abcd", false),
        ("a\u{1}b", false),
        ("\u{1}ab", false),
        ("a b", true),
        ("\u{85}ab\u{3000}", true),
        ("ab\u{feff}", true),
    ] {
        assert_eq!(p.matches(s), ok, "{s:?}");
        assert_eq!(rule(s, 3, Controls::Refused), ok, "{s:?}");
    }
}
