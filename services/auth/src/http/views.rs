//! The customer pages' templates (askama, `templates/` of this crate, extending the shared
//! layout; docs/adr/0015): what each page shows, as values. Every value is HTML-escaped by the
//! template engine; nothing is marked safe.

use askama::Template;
use ecohub_kernel::Timestamp;

use crate::application::consent_port::ConsentForAuthorisation;

/// An error page: what went wrong, and to start again from the application.
#[derive(Template)]
#[template(path = "error.html")]
pub(super) struct ErrorPage<'a> {
    pub(super) title: &'a str,
    pub(super) message: &'a str,
}

/// The sign-in form (with the login CSRF token and the local path to return to).
#[derive(Template)]
#[template(path = "login.html")]
pub(super) struct LoginPage<'a> {
    pub(super) title: &'a str,
    pub(super) error: Option<&'a str>,
    pub(super) csrf_token: &'a str,
    pub(super) return_to: &'a str,
}

/// The consent page: who asks, why, for what, until when; approve, reject, sign out.
#[derive(Template)]
#[template(path = "consent.html")]
pub(super) struct ConsentPage<'a> {
    title: &'a str,
    consent: &'a ConsentForAuthorisation,
    display_name: &'a str,
    client_id: &'a str,
    request_uri: &'a str,
    scope: &'a str,
    csrf_token: &'a str,
    until: String,
    transactions: Option<(String, String)>,
}

impl<'a> ConsentPage<'a> {
    pub(super) fn new(
        consent: &'a ConsentForAuthorisation,
        display_name: &'a str,
        client_id: &'a str,
        request_uri: &'a str,
        scope: &'a str,
        csrf_token: &'a str,
    ) -> Self {
        let transactions = (consent.transaction_from.is_some() || consent.transaction_to.is_some())
            .then(|| {
                let or_dash = |t: Option<Timestamp>| t.map(date).unwrap_or_else(|| "—".into());
                (
                    or_dash(consent.transaction_from),
                    or_dash(consent.transaction_to),
                )
            });
        Self {
            title: "Share your data?",
            consent,
            display_name,
            client_id,
            request_uri,
            scope,
            csrf_token,
            until: date(consent.expires_at),
            transactions,
        }
    }
}

/// The console's sign-in form (username kept after a failure; never the password or code).
#[derive(Template)]
#[template(path = "console_login.html")]
pub(super) struct ConsoleLoginPage<'a> {
    pub(super) title: &'a str,
    pub(super) error: Option<&'a str>,
    pub(super) csrf_token: &'a str,
    pub(super) username: &'a str,
}

/// A link on the console's landing page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConsoleLink {
    pub(super) label: &'static str,
    pub(super) href: &'static str,
}

/// A part of the hub a scope opens, on the console's landing page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConsoleArea {
    pub(super) title: &'static str,
    pub(super) about: &'static str,
    pub(super) links: &'static [ConsoleLink],
}

/// The console's landing page: who is signed in, their roles and scopes, what they may do.
#[derive(Template)]
#[template(path = "console.html")]
pub(super) struct ConsolePage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) staff_id: &'a str,
    pub(super) roles: Vec<&'a str>,
    pub(super) scopes: Vec<&'a str>,
    pub(super) csrf_token: &'a str,
    pub(super) areas: Vec<ConsoleArea>,
}

/// The calendar date of `t` (`YYYY-MM-DD`).
fn date(t: Timestamp) -> String {
    let s = t.to_rfc3339();
    s.get(..10).map_or(s.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::application::consent_port::PermissionView;

    const HOSTILE: &str = "<script>alert('x')</script>\"&";
    const ESCAPED: &str = "&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#34;&#38;";

    fn assert_escaped(html: &str, count: usize) {
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("'x'"), "{html}");
        assert_eq!(html.matches(ESCAPED).count(), count, "{html}");
    }

    #[test]
    fn the_login_page_escapes_every_value_and_keeps_its_fields() {
        let html = LoginPage {
            title: HOSTILE,
            error: Some(HOSTILE),
            csrf_token: HOSTILE,
            return_to: HOSTILE,
        }
        .render()
        .unwrap();
        // title (twice: <title> and <h1>), error, both hidden fields
        assert_escaped(&html, 5);
        assert!(html.starts_with("<!doctype html>"), "{html}");
        for field in [
            format!("<input type=\"hidden\" name=\"csrf_token\" value=\"{ESCAPED}\">"),
            format!("<input type=\"hidden\" name=\"return_to\" value=\"{ESCAPED}\">"),
            "name=\"username\"".to_owned(),
            "name=\"password\" type=\"password\"".to_owned(),
            "<form method=\"post\" action=\"/login\">".to_owned(),
        ] {
            assert!(html.contains(&field), "{field} missing in {html}");
        }
        let quiet = login_without_error();
        assert!(!quiet.contains("role=\"alert\""), "{quiet}");
    }

    fn login_without_error() -> String {
        LoginPage {
            title: "Sign in",
            error: None,
            csrf_token: "t",
            return_to: "/",
        }
        .render()
        .unwrap()
    }

    #[test]
    fn the_error_page_escapes_its_message() {
        let html = ErrorPage {
            title: "Something went wrong",
            message: HOSTILE,
        }
        .render()
        .unwrap();
        assert_escaped(&html, 1);
        assert!(html.contains("<title>Something went wrong · Ecohub Bank</title>"));
        assert!(html.contains("<h1>Something went wrong</h1>"));
    }

    #[test]
    fn the_consent_page_escapes_every_value_and_keeps_its_forms() {
        let consent = ConsentForAuthorisation {
            consent_id: HOSTILE.into(),
            partner_id: HOSTILE.into(),
            partner_name: HOSTILE.into(),
            partner_status: HOSTILE.into(),
            status: HOSTILE.into(),
            permissions: vec![PermissionView {
                code: HOSTILE.into(),
                description: HOSTILE.into(),
            }],
            purpose_code: HOSTILE.into(),
            purpose_text: HOSTILE.into(),
            expires_at: Timestamp::from_unix_seconds(1_900_000_000),
            transaction_from: Some(Timestamp::from_unix_seconds(1_800_000_000)),
            transaction_to: None,
            data_providers: vec![HOSTILE.into()],
        };
        let html = ConsentPage::new(&consent, HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE)
            .render()
            .unwrap();
        // display name, partner name (twice), partner status, purpose, purpose code,
        // permission description and code, provider, status, scope, client_id, request_uri,
        // csrf_token (twice)
        assert_escaped(&html, 15);
        for field in [
            "<form method=\"post\" action=\"/authorize/decision\">".to_owned(),
            format!("<input type=\"hidden\" name=\"client_id\" value=\"{ESCAPED}\">"),
            format!("<input type=\"hidden\" name=\"request_uri\" value=\"{ESCAPED}\">"),
            format!("<input type=\"hidden\" name=\"csrf_token\" value=\"{ESCAPED}\">"),
            "<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>"
                .to_owned(),
            "<button type=\"submit\" name=\"decision\" value=\"reject\" class=\"secondary\">Reject</button>"
                .to_owned(),
            "<form method=\"post\" action=\"/logout\">".to_owned(),
            "<dt>Until</dt><dd>2030-03-17".to_owned(),
            "<dt>Transactions from</dt><dd>2027-01-15 to —</dd>".to_owned(),
        ] {
            assert!(html.contains(&field), "{field} missing in {html}");
        }
    }
}
