//! The OpenAPI document states what the parsers take (issue 11): each request field's
//! `pattern` matches exactly the strings its domain parser accepts, so a schema-valid body is
//! never refused for its shape and a schema-invalid one never accepted. Property tests over
//! strings built from the characters and parts the rules tell apart.

use std::sync::LazyLock;

use ecohub_partners::domain::*;
use ecohub_testkit::properties::{Pattern, Patterns, config, edgy_text, text_near};
use proptest::prelude::*;
use serde_json::Value;
use utoipa::OpenApi;

fn schemas() -> Value {
    let doc = serde_json::to_value(ecohub_partners::PartnersApi::openapi()).unwrap();
    doc["components"]["schemas"].clone()
}

/// The pattern at `pointer` in the document's schemas, compiled once per test run.
fn pattern(pointer: &str) -> &'static Pattern {
    static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns::new(schemas()));
    PATTERNS.get(pointer)
}

/// URLs (and near misses) from the parts the URL rules look at.
fn url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(vec![
        "https://",
        "http://",
        "HTTPS://",
        "ftp://",
        "https:/",
        "",
        "https://u@",
    ]);
    let host = prop_oneof![
        prop::sample::select(vec![
            "travelco.example",
            "a.b",
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "[::1]",
            "[fe80::1]",
            "[::ffff:1.2.3.4]",
            "[zz]",
            "[::1",
            "example",
            "1.2.3.4",
            "-a.com",
            "a-.com",
            "a..com",
            "a.com.",
            "xn--bcher-kva.example",
            "a_b.com",
            "sub.example.123",
            "sub.example.c0m",
            "",
            "a.b@c.d",
        ])
        .prop_map(str::to_owned),
        (1usize..70, 1usize..4).prop_map(|(n, labels)| { vec!["a".repeat(n); labels].join(".") }),
        // About 253 characters, the longest name.
        (248usize..258).prop_map(|n| {
            let mut h = "abcdefghi.".repeat(n / 10);
            h.push_str(&"z".repeat(n % 10 + 1));
            h
        }),
    ];
    let port = prop::sample::select(vec![
        "", ":", ":0", ":00", ":80", ":+443", ":65535", ":65536", ":0080", "80", ":8a", "::80",
    ]);
    let tail = prop_oneof![
        prop::sample::select(vec![
            "",
            "/",
            "/cb",
            "/p?q=1&r=%41",
            "/%4",
            "/%zz",
            "#frag",
            "/x#y",
            "?x",
            "/a b",
            "/\\",
            "/{",
            "/é",
            "/~.-_",
            "/;=:@!$&'()*+,",
        ])
        .prop_map(str::to_owned),
        "[!-~]{0,12}",
        // About 2048 characters in all.
        (2000usize..2050).prop_map(|n| format!("/{}", "p".repeat(n))),
    ];
    (scheme, host, port, tail).prop_map(|(s, h, p, t)| format!("{s}{h}{p}{t}"))
}

/// Email addresses (and near misses).
fn email() -> impl Strategy<Value = String> {
    let local = prop_oneof![
        prop::sample::select(vec![
            "ada",
            "a.b",
            ".a",
            "a.",
            "a..b",
            "a+tag",
            "o'neil",
            "\"q\"",
            "a b",
            "é",
            "",
            "!#$%&'*+/=?^_`{|}~-",
        ])
        .prop_map(str::to_owned),
        (60usize..70).prop_map(|n| "l".repeat(n)),
    ];
    let domain = prop_oneof![
        prop::sample::select(vec![
            "travelco.example",
            "a.b",
            "localhost",
            "-a.com",
            "a..b",
            "a.b.",
            "1.2.3.4",
            "a@b.c",
            "",
        ])
        .prop_map(str::to_owned),
        (1usize..70).prop_map(|n| format!("{}.example", "d".repeat(n))),
        (240usize..260).prop_map(|n| format!("{}.e", "d.".repeat(n / 2))),
    ];
    let pad = prop::sample::select(vec!["", " ", "\t", "\u{3000}", "\u{1}"]);
    (
        pad.clone(),
        local,
        prop::sample::select(vec!["@", "@@", ""]),
        domain,
        pad,
    )
        .prop_map(|(a, l, at, d, b)| format!("{a}{l}{at}{d}{b}"))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn texts_take_what_the_parsers_take(s in edgy_text(12), near in text_near(200), long in text_near(500)) {
        for (pointer, parse) in [
            ("/ApplyRequest/properties/legal_name/pattern", (|s| LegalName::parse(s).is_ok()) as fn(&str) -> bool),
            ("/ContactInput/properties/name/pattern", |s| ContactName::parse(s).is_ok()),
            ("/ReasonRequest/properties/reason/pattern", |s| Reason::parse(s).is_ok()),
            ("/ApproveRequest/properties/note/pattern", |s| Note::parse(s).is_ok()),
            ("/VerificationRequest/properties/evidence/pattern", |s| EvidenceReference::parse(s).is_ok()),
            ("/VerificationRequest/properties/check/pattern", |s| CheckKind::parse(s).is_ok()),
            ("/ApplyRequest/properties/registration_number/pattern", |s| RegistrationNumber::parse(s).is_ok()),
        ] {
            let p = pattern(pointer);
            for value in [&s, &near, &long] {
                p.agrees(value, parse(value))?;
            }
        }
    }

    #[test]
    fn urls_take_what_the_parsers_take(u in url(), s in edgy_text(12)) {
        let website = pattern("/ApplyRequest/properties/website/pattern");
        let redirect = pattern("/ApproveRequest/properties/redirect_uris/items/pattern");
        let webhook = pattern("/WebhookRequest/properties/url/pattern");
        for value in [&u, &s] {
            website.agrees(value, Website::parse(value).is_ok())?;
            redirect.agrees(value, RedirectUri::parse(value).is_ok())?;
            webhook.agrees(value, WebhookUrl::parse(value).is_ok())?;
        }
    }

    #[test]
    fn emails_take_what_the_parser_takes(e in email(), s in edgy_text(12)) {
        let p = pattern("/ContactInput/properties/email/pattern");
        for value in [&e, &s] {
            p.agrees(value, ContactEmail::parse(value).is_ok())?;
        }
    }

    #[test]
    fn event_type_filters_take_what_the_parser_takes(
        s in "[A-Za-z0-9_.:*é -]{0,6}",
        n in 95usize..105,
        star in any::<bool>(),
    ) {
        let p = pattern("/WebhookRequest/properties/event_types/items/pattern");
        let long = format!("{}{}", "a".repeat(n), if star { "*" } else { "" });
        for value in [&s, &long] {
            p.agrees(value, EventTypeFilter::parse(value).is_ok())?;
        }
    }
}

#[test]
fn enumerations_are_the_parsers() {
    let schemas = schemas();
    let countries = schemas["ApplyRequest"]["properties"]["country"]["enum"]
        .as_array()
        .unwrap();
    assert_eq!(countries.len(), 249);
    for c in countries {
        assert!(CountryCode::parse(c.as_str().unwrap()).is_ok(), "{c}");
    }
    for code in ["UK", "EU", "XK", "de", "D", "DEU"] {
        assert!(!countries.contains(&code.into()), "{code}");
        assert!(CountryCode::parse(code).is_err(), "{code}");
    }
    let roles = schemas["RoleDto"]["enum"].as_array().unwrap();
    for r in roles {
        assert!(Role::parse(r.as_str().unwrap()).is_some(), "{r}");
    }
    assert_eq!(roles.len(), Role::ALL.len());
    assert_eq!(
        schemas["ContactRoleDto"]["enum"],
        serde_json::json!(["business", "technical", "compliance", "security"])
    );
    assert_eq!(
        schemas["CheckResultDto"]["enum"],
        serde_json::json!(["passed", "failed", "inconclusive"])
    );
    let apply = &schemas["ApplyRequest"]["properties"];
    assert_eq!(apply["contacts"]["minItems"], 1);
    assert_eq!(apply["contacts"]["maxItems"], MAX_CONTACTS);
    assert_eq!(apply["requested_roles"]["minItems"], 1);
    let approve = &schemas["ApproveRequest"]["properties"];
    assert_eq!(approve["roles"]["minItems"], 1);
    assert_eq!(approve["redirect_uris"]["maxItems"], MAX_REDIRECT_URIS);
    assert_eq!(
        schemas["WebhookRequest"]["properties"]["event_types"]["maxItems"],
        MAX_EVENT_TYPE_FILTERS
    );
}
