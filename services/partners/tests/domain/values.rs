//! Value types: what each accepts, and the refusal (naming the field) for what it does not.

use ecohub_partners::domain::*;

/// Asserts that every input is refused with exactly the paired message.
#[track_caller]
fn refuses<T: std::fmt::Debug>(
    parse: impl Fn(&str) -> Result<T, ValidationError>,
    cases: &[(&str, &str)],
) {
    for (input, message) in cases {
        match parse(input) {
            Ok(value) => panic!("{input:?} was accepted as {value:?}"),
            Err(e) => assert_eq!(e.to_string(), *message, "input {input:?}"),
        }
    }
}

/// Asserts that every input is accepted and kept as given (or as `trimmed`).
#[track_caller]
fn accepts<T: AsRef<str> + std::fmt::Debug>(
    parse: impl Fn(&str) -> Result<T, ValidationError>,
    cases: &[&str],
) {
    for input in cases {
        match parse(input) {
            Ok(value) => assert_eq!(value.as_ref(), input.trim(), "input {input:?}"),
            Err(e) => panic!("{input:?} was refused: {e}"),
        }
    }
}

#[test]
fn staff_id() {
    accepts(
        StaffId::parse,
        &[
            "staff-1",
            "0b4f4c26-0d4f-4a1f-9d6c-6f8f2b8f0a11",
            &"x".repeat(128),
        ],
    );
    refuses(
        StaffId::parse,
        &[
            ("", "staff_id must not be empty"),
            (&"x".repeat(129), "staff_id must be at most 128 characters"),
            (
                "alice smith",
                "staff_id must be visible ascii without spaces",
            ),
            (" alice", "staff_id must be visible ascii without spaces"),
            ("zoë", "staff_id must be visible ascii without spaces"),
        ],
    );
}

#[test]
fn legal_name() {
    accepts(
        LegalName::parse,
        &["TravelCo GmbH", "  Société Générale  ", &"n".repeat(200)],
    );
    refuses(
        LegalName::parse,
        &[
            ("", "legal_name must not be empty"),
            ("   ", "legal_name must not be empty"),
            (
                &"n".repeat(201),
                "legal_name must be at most 200 characters",
            ),
            (
                "Travel\nCo",
                "legal_name must not contain control characters",
            ),
        ],
    );
}

#[test]
fn registration_number() {
    accepts(
        RegistrationNumber::parse,
        &["HRB 123456", "12-345/6.7", "SC123456"],
    );
    refuses(
        RegistrationNumber::parse,
        &[
            ("", "registration_number must not be empty"),
            (
                &"1".repeat(65),
                "registration_number must be at most 64 characters",
            ),
            (
                "HRB#1",
                "registration_number may contain only letters, digits, spaces and - / .",
            ),
            (
                "№ 12",
                "registration_number may contain only letters, digits, spaces and - / .",
            ),
        ],
    );
}

#[test]
fn country_code_is_an_assigned_iso_code() {
    accepts(CountryCode::parse, &["DE", "GB", "RO", "US", "AX", "ZW"]);
    refuses(
        CountryCode::parse,
        &[
            ("de", "country must be an uppercase iso 3166-1 alpha-2 code"),
            (
                "DEU",
                "country must be an uppercase iso 3166-1 alpha-2 code",
            ),
            ("", "country must be an uppercase iso 3166-1 alpha-2 code"),
            ("D1", "country must be an uppercase iso 3166-1 alpha-2 code"),
            ("UK", "country is not an assigned iso 3166-1 alpha-2 code"),
            ("EU", "country is not an assigned iso 3166-1 alpha-2 code"),
            ("XK", "country is not an assigned iso 3166-1 alpha-2 code"),
            ("AA", "country is not an assigned iso 3166-1 alpha-2 code"),
        ],
    );
}

#[test]
fn website() {
    accepts(
        Website::parse,
        &[
            "https://travelco.example",
            "https://www.travelco.example:8443/en?x=1",
            "https://xn--bcher-kva.example/",
        ],
    );
    refuses(
        Website::parse,
        &[
            ("", "website must not be empty"),
            ("travelco.example", "website must be an absolute https url"),
            (
                "ftp://travelco.example",
                "website must be an absolute https url",
            ),
            (
                "HTTPS://travelco.example",
                "website must be an absolute https url",
            ),
            ("http://travelco.example", "website must use https"),
            ("https://", "website must have a host"),
            (
                "https://user:pw@travelco.example",
                "website must not contain user information",
            ),
            (
                "https://travelco.example/#about",
                "website must not contain a fragment",
            ),
            (
                "https://travel co.example",
                "website contains a character not allowed in a url",
            ),
            (
                "https://travelco.example\\@evil.example",
                "website contains a character not allowed in a url",
            ),
            (
                "https://bücher.example",
                "website contains a character not allowed in a url",
            ),
            ("https://travelco.example:0", "website has an invalid port"),
            (
                "https://travelco.example:99999",
                "website has an invalid port",
            ),
            ("https://travelco.example:", "website has an invalid port"),
            ("https://-travelco.example", "website has an invalid host"),
            ("https://travelco..example", "website has an invalid host"),
            (
                "https://travelco.example/%zz",
                "website contains an invalid percent-escape",
            ),
            (
                "https://localhost",
                "website host must be a public domain name",
            ),
            (
                "https://127.0.0.1",
                "website host must be a public domain name",
            ),
            (
                "https://[2001:db8::1]/",
                "website host must be a public domain name",
            ),
            (
                "https://intranet",
                "website host must be a public domain name",
            ),
        ],
    );
    let long = format!("https://travelco.example/{}", "a".repeat(2048));
    assert_eq!(
        Website::parse(&long).unwrap_err().to_string(),
        "website must be at most 2048 characters"
    );
}

#[test]
fn contact_name_and_role() {
    accepts(ContactName::parse, &["Ada Lovelace", " Grace Hopper "]);
    refuses(
        ContactName::parse,
        &[
            ("", "contact.name must not be empty"),
            (
                &"a".repeat(201),
                "contact.name must be at most 200 characters",
            ),
            (
                "Ada\u{7}",
                "contact.name must not contain control characters",
            ),
        ],
    );
    assert_eq!(
        serde_json::to_value(ContactRole::Compliance).unwrap(),
        "compliance"
    );
}

#[test]
fn contact_email() {
    accepts(
        ContactEmail::parse,
        &[
            "ada@travelco.example",
            "first.last+tag@mail.travelco.example",
            " ada@travelco.example ",
        ],
    );
    let long_local = format!("{}@travelco.example", "a".repeat(65));
    let long = format!("{}@{}.example", "a".repeat(64), "b".repeat(190));
    refuses(
        ContactEmail::parse,
        &[
            ("", "contact.email must not be empty"),
            ("ada", "contact.email must contain @"),
            (
                "@travelco.example",
                "contact.email has an invalid local part",
            ),
            (&long_local, "contact.email has an invalid local part"),
            (
                "ada..b@travelco.example",
                "contact.email has an invalid local part",
            ),
            (
                ".ada@travelco.example",
                "contact.email has an invalid local part",
            ),
            (
                "a da@travelco.example",
                "contact.email has an invalid local part",
            ),
            ("ada@localhost", "contact.email has an invalid domain"),
            (
                "ada@travelco..example",
                "contact.email has an invalid domain",
            ),
            (
                "ada@trav@elco.example",
                "contact.email has an invalid domain",
            ),
            ("ada@", "contact.email has an invalid domain"),
            (&long, "contact.email must be at most 254 characters"),
        ],
    );
}

#[test]
fn reason_note_and_evidence() {
    accepts(
        Reason::parse,
        &["sanctions hit", "line one\nline two", &"r".repeat(500)],
    );
    refuses(
        Reason::parse,
        &[
            ("", "reason must not be empty"),
            (" \n ", "reason must not be empty"),
            (&"r".repeat(501), "reason must be at most 500 characters"),
            ("bad\u{0}byte", "reason must not contain control characters"),
        ],
    );
    accepts(Note::parse, &["approved for the pilot"]);
    refuses(
        Note::parse,
        &[
            ("", "note must not be empty"),
            (&"n".repeat(501), "note must be at most 500 characters"),
        ],
    );
    accepts(EvidenceReference::parse, &["registry extract 2026-001"]);
    refuses(
        EvidenceReference::parse,
        &[
            ("", "evidence must not be empty"),
            (&"e".repeat(501), "evidence must be at most 500 characters"),
            ("a\nb", "evidence must not contain control characters"),
        ],
    );
}

#[test]
fn redirect_uri() {
    accepts(
        RedirectUri::parse,
        &[
            "https://travelco.example/callback",
            "https://travelco.example/cb?client=1",
            "http://127.0.0.1:8080/callback",
            "http://localhost/cb",
            "http://[::1]:9000/cb",
        ],
    );
    assert!(
        RedirectUri::parse("http://127.0.0.1/cb")
            .unwrap()
            .is_loopback_http()
    );
    assert!(
        !RedirectUri::parse("https://localhost/cb")
            .unwrap()
            .is_loopback_http()
    );
    refuses(
        RedirectUri::parse,
        &[
            ("", "redirect_uri must not be empty"),
            ("/callback", "redirect_uri must be an absolute https url"),
            (
                "com.travelco.app:/callback",
                "redirect_uri must be an absolute https url",
            ),
            (
                "http://travelco.example/cb",
                "redirect_uri must use https (http only to a loopback host)",
            ),
            (
                "http://127.0.0.2/cb",
                "redirect_uri must use https (http only to a loopback host)",
            ),
            (
                "https://travelco.example/cb#frag",
                "redirect_uri must not contain a fragment",
            ),
            (
                "https://a@travelco.example/cb",
                "redirect_uri must not contain user information",
            ),
            (
                "https://*.travelco.example/cb",
                "redirect_uri has an invalid host",
            ),
            ("https://[::1/cb", "redirect_uri has an invalid host"),
            ("https://[::1]x/cb", "redirect_uri has an invalid port"),
        ],
    );
}

#[test]
fn webhook_url() {
    accepts(
        WebhookUrl::parse,
        &[
            "https://travelco.example/hooks",
            "http://127.0.0.1:9999/hook",
            "http://localhost/hook",
        ],
    );
    assert!(
        WebhookUrl::parse("https://travelco.example/hooks")
            .unwrap()
            .is_https()
    );
    assert!(
        !WebhookUrl::parse("http://localhost/hook")
            .unwrap()
            .is_https()
    );
    refuses(
        WebhookUrl::parse,
        &[
            ("", "webhook_url must not be empty"),
            (
                "http://travelco.example/hooks",
                "webhook_url must use https (http only to a loopback host)",
            ),
            (
                "https://u:p@travelco.example/hooks",
                "webhook_url must not contain user information",
            ),
            (
                "https://travelco.example/hooks#x",
                "webhook_url must not contain a fragment",
            ),
            (
                "wss://travelco.example/hooks",
                "webhook_url must be an absolute https url",
            ),
        ],
    );
    let long = format!("https://travelco.example/{}", "h".repeat(2030));
    assert_eq!(
        WebhookUrl::parse(&long).unwrap_err().to_string(),
        "webhook_url must be at most 2048 characters"
    );
}

#[test]
fn event_type_filter() {
    accepts(
        EventTypeFilter::parse,
        &["ConsentRevoked", "Consent*", "*", "partner.v1:Thing-x"],
    );
    refuses(
        EventTypeFilter::parse,
        &[
            ("", "event_types must be 1 to 100 characters"),
            (&"E".repeat(101), "event_types must be 1 to 100 characters"),
            (
                "Consent Revoked",
                "event_types may contain only letters, digits, _ . : - and a final *",
            ),
            (
                "Con*sent",
                "event_types may contain only letters, digits, _ . : - and a final *",
            ),
        ],
    );
    let prefix = EventTypeFilter::parse("Consent*").unwrap();
    assert!(prefix.matches("ConsentRevoked"));
    assert!(!prefix.matches("PartnerSuspended"));
    let exact = EventTypeFilter::parse("ConsentRevoked").unwrap();
    assert!(exact.matches("ConsentRevoked"));
    assert!(!exact.matches("ConsentRevokedByPartner"));
}

#[test]
fn check_kind() {
    assert_eq!(
        CheckKind::parse("registry_check").unwrap(),
        CheckKind::RegistryCheck
    );
    assert_eq!(
        CheckKind::parse("sanctions_screening").unwrap(),
        CheckKind::SanctionsScreening
    );
    assert_eq!(
        CheckKind::parse("pep_screening").unwrap(),
        CheckKind::Other("pep_screening".into())
    );
    for bad in ["", "PEP", "pep screening", &"x".repeat(65)] {
        assert_eq!(
            CheckKind::parse(bad).unwrap_err().to_string(),
            "check must be 1 to 64 lowercase letters, digits or _",
            "input {bad:?}"
        );
    }
}

#[test]
fn ids_are_typed_and_name_their_stream() {
    let id = PartnerId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap();
    assert_eq!(
        id.stream_name(),
        "partner-01890a5d-ac96-774b-bcce-b302099a8057"
    );
    assert_eq!(
        PartnerId::parse("nope").unwrap_err().to_string(),
        "invalid partner id"
    );
    assert_eq!(
        WebhookId::parse("nope").unwrap_err().to_string(),
        "invalid webhook id"
    );
}

#[test]
fn roles_map_to_scopes_and_never_to_staff_scopes() {
    use Scope::*;
    let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        all,
        [
            "partner:read",
            "webhooks:manage",
            "consents:write",
            "consents:read",
            "data:read",
            "data:publish",
            "offers:read",
            "offers:write",
            "admin",
            "audit"
        ]
    );
    for scope in Scope::ALL {
        assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        assert_eq!(serde_json::to_value(scope).unwrap(), scope.as_str());
    }
    for role in Role::ALL {
        assert_eq!(Role::parse(role.as_str()), Some(role));
        assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        let scopes = Scope::for_roles([&role]);
        assert!(scopes.contains(&PartnerRead) && scopes.contains(&WebhooksManage));
        assert!(
            !scopes.iter().any(|s| s.is_staff_only()),
            "{role} grants a staff scope"
        );
    }
    assert_eq!(
        Scope::for_roles(&[Role::DataRecipient]),
        [
            PartnerRead,
            WebhooksManage,
            ConsentsWrite,
            ConsentsRead,
            DataRead
        ]
        .into()
    );
    assert_eq!(
        Scope::for_roles(&[Role::DataProvider]),
        [PartnerRead, WebhooksManage, ConsentsRead, DataPublish].into()
    );
    assert_eq!(
        Scope::for_roles(&[Role::OfferPartner]),
        [PartnerRead, WebhooksManage, OffersRead, OffersWrite].into()
    );
    assert_eq!(Scope::parse("openid"), None);
    assert_eq!(Role::parse("admin"), None);
}
