//! The request fields' JSON Schemas, stating exactly what the parsers of [`crate::domain`]
//! take (issue 11): a schema-valid body is never refused for its shape, and the property
//! tests (`tests/partners/schema.rs`) hold each pattern to its parser.

use ecohub_kernel::schema::{self, Controls, WHITE_SPACE};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Object, RefOr, Schema};

use crate::domain::{ASSIGNED_COUNTRIES, MAX_EVENT_TYPE_FILTERS, MAX_REDIRECT_URIS};

/// One DNS label: 1 to 63 letters, digits or `-`, neither first nor last a `-`.
const LABEL: &str = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
/// A port `u16::from_str` reads as 1 to 65535 (an optional `+`, leading zeros).
const PORT: &str = r"\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";
/// An IPv6 literal as the URL parser takes it: brackets around hex digits, `:` and `.`, with
/// at least one `:`.
const IPV6: &str = r"\[[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]";
/// What may follow the authority: a path or query of visible ASCII but `"<>\^`{|}` and `#`,
/// every `%` starting an escape.
const TAIL: &str = r"(?:[/?](?:[!$&-;=?-\[\]_a-z~]|%[0-9A-Fa-f]{2})*)?";
/// At most 2048 characters in all (every character of a URL is visible ASCII). Length rules
/// are negative lookaheads: generators draw from the rest of the pattern and rarely break
/// them, where a positive lookahead would filter out nearly every value drawn.
const URL_LENGTH: &str = "(?![!-~]{2049})";

/// A DNS name (or a dotted IPv4 address): labels, 253 characters at most.
fn dns_name() -> String {
    format!(r"(?![A-Za-z0-9.-]{{254}}){LABEL}(?:\.{LABEL})*")
}

/// `https` to any host, or `http` to a loopback host (`localhost`, `127.0.0.1`, `[::1]`):
/// redirect URIs and webhook URLs (`WebUrl::parse` and `require_https_or_loopback`).
pub(crate) fn https_or_loopback_url() -> String {
    let dns = dns_name();
    let any_host = format!("(?:{dns}(?::{PORT})?|{IPV6}(?::?{PORT})?)");
    let loopback = format!(
        r"(?:(?:[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127\.0\.0\.1)(?::{PORT})?|\[::1\](?::?{PORT})?)"
    );
    format!("^{URL_LENGTH}(?:https://{any_host}|http://{loopback}){TAIL}$")
}

/// `https` on a public domain name (two labels or more, the last not all digits): a
/// partner's website (`Website::parse`).
pub(crate) fn website_url() -> String {
    format!(
        r"^{URL_LENGTH}https://(?![A-Za-z0-9.-]{{254}})(?:{LABEL}\.)+(?![0-9]+(?![A-Za-z0-9.-])){LABEL}(?::{PORT})?{TAIL}$"
    )
}

/// `local@domain` around optional white space (`ContactEmail::parse`).
pub(crate) fn email() -> String {
    let w = WHITE_SPACE;
    let atom = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
    format!(
        r"^[{w}]*(?![!-~]{{255}})(?![^@]{{65}}){atom}(?:\.{atom})*@(?![A-Za-z0-9.-]{{254}}){LABEL}(?:\.{LABEL})+[{w}]*$"
    )
}

/// `RegistrationNumber::parse`: trimmed, 1 to 64 letters, digits, spaces and `-` `/` `.`.
pub(crate) fn registration_number_pattern() -> String {
    let w = WHITE_SPACE;
    format!("^[{w}]*[A-Za-z0-9./-](?:[A-Za-z0-9 ./-]{{0,62}}[A-Za-z0-9./-])?[{w}]*$")
}

/// `EventTypeFilter::parse`: 1 to 100 characters of letters, digits and `_` `.` `:` `-`, or
/// up to 99 of them and a final `*`.
pub(crate) const EVENT_TYPE_FILTER: &str = r"^(?:[A-Za-z0-9_.:-]{1,100}|[A-Za-z0-9_.:-]{0,99}\*)$";

/// `CheckKind::parse`: 1 to 64 lowercase letters, digits or `_`.
pub(crate) const CHECK_NAME: &str = "^[a-z0-9_]{1,64}$";

fn described(b: ObjectBuilder, description: &str, example: &str) -> Object {
    b.description(Some(description)).examples([example]).build()
}

pub(crate) fn legal_name() -> Object {
    described(
        schema::text(200, Controls::Refused),
        "Registered legal name: 1 to 200 characters once trimmed, no control characters.",
        "TravelCo GmbH",
    )
}

pub(crate) fn registration_number() -> Object {
    described(
        schema::string(registration_number_pattern()),
        "Number in the national company registry: 1 to 64 letters, digits, spaces and `-` `/` `.` once trimmed.",
        "HRB 123456",
    )
}

pub(crate) fn country() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ASSIGNED_COUNTRIES))
        .description(Some(
            "Country of registration: an officially assigned ISO 3166-1 alpha-2 code, uppercase.",
        ))
        .examples(["DE"])
        .build()
}

pub(crate) fn website() -> Object {
    described(
        schema::string(website_url()),
        "Public website: an absolute `https` URL on a public domain name, without user information or fragment, at most 2048 characters.",
        "https://travelco.example",
    )
}

pub(crate) fn contact_name() -> Object {
    described(
        schema::text(200, Controls::Refused),
        "Full name: 1 to 200 characters once trimmed, no control characters.",
        "Ada Lovelace",
    )
}

pub(crate) fn contact_email() -> Object {
    described(
        schema::string(email()),
        "Email address: `local@domain` (dot-atom local part of 1 to 64 characters, a DNS domain with a dot), at most 254 characters once trimmed.",
        "ada@travelco.example",
    )
}

pub(crate) fn check() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(CHECK_NAME))
        .description(Some(
            "`registry_check`, `sanctions_screening`, or another check's name (1 to 64 lowercase letters, digits or `_`).",
        ))
        .examples(["registry_check"])
        .build()
}

pub(crate) fn evidence() -> Object {
    described(
        schema::text(500, Controls::Refused),
        "Where the evidence is kept (a registry extract number, a case id): 1 to 500 characters once trimmed, no control characters.",
        "Handelsregister extract 2026-0042",
    )
}

pub(crate) fn redirect_uris() -> RefOr<Schema> {
    ArrayBuilder::new()
        .items(schema::string(https_or_loopback_url()))
        .max_items(Some(MAX_REDIRECT_URIS))
        .unique_items(true)
        .description(Some(
            "Redirect URIs the partner's OAuth clients may register (0 to 20, no duplicates): absolute, without fragment or user information, at most 2048 characters; `https`, or `http` to a loopback host (`localhost`, `127.0.0.1`, `[::1]`) outside production.",
        ))
        .examples([serde_json::json!(["https://travelco.example/callback"])])
        .build()
        .into()
}

pub(crate) fn note() -> Object {
    schema::nullable_string(schema::trimmed(500, Controls::LineBreaks))
        .description(Some(
            "Optional remark for the record (staff only): 1 to 500 characters once trimmed, line breaks allowed.",
        ))
        .build()
}

pub(crate) fn reason() -> Object {
    described(
        schema::text(500, Controls::LineBreaks),
        "1 to 500 characters once trimmed, line breaks allowed; shown to the partner.",
        "unusual traffic under investigation",
    )
}

pub(crate) fn webhook_url() -> Object {
    described(
        schema::string(https_or_loopback_url()),
        "Where notifications are delivered: absolute, without fragment or user information, at most 2048 characters; `https` (or `http` to a loopback host outside production).",
        "https://travelco.example/hooks/ecohub",
    )
}

pub(crate) fn event_types() -> RefOr<Schema> {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(schema::string(EVENT_TYPE_FILTER))
        .max_items(Some(MAX_EVENT_TYPE_FILTERS))
        .description(Some(
            "Event types to deliver (exact names or prefixes ending in `*`, up to 50); omitted or empty means every type.",
        ))
        .examples([serde_json::json!(["Consent*"])])
        .build()
        .into()
}
