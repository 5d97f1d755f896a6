//! The compliance pages' templates (askama, `templates/` of this crate, extending the shared
//! `console_layout.html`): every value is HTML-escaped by the template engine; nothing is
//! marked safe.

use askama::Template;

use super::search::SearchQuery;

/// A status in the search's list.
pub(super) struct StatusChoice {
    pub(super) value: &'static str,
    pub(super) label: &'static str,
    pub(super) selected: bool,
}

/// One consent found.
pub(super) struct ConsentRow {
    pub(super) id: String,
    /// None until a customer decided.
    pub(super) customer: Option<String>,
    pub(super) recipient: String,
    pub(super) status_words: &'static str,
    pub(super) status_class: &'static str,
    pub(super) created: String,
    pub(super) changed: String,
}

/// The consent search.
#[derive(Template)]
#[template(path = "console_consents.html")]
pub(super) struct SearchPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) query: SearchQuery,
    pub(super) statuses: Vec<StatusChoice>,
    pub(super) error: Option<&'static str>,
    pub(super) rows: Vec<ConsentRow>,
    pub(super) filtered: bool,
    pub(super) first_href: Option<String>,
    pub(super) next_href: Option<String>,
}

/// One event of a consent's timeline.
pub(super) struct TimelineEntry {
    pub(super) revision: u64,
    pub(super) at: String,
    pub(super) what: String,
    pub(super) who: String,
    pub(super) reason: String,
    pub(super) interaction: String,
    /// The start of the event's hash (empty: no chain link).
    pub(super) hash: String,
    /// At or after the first revision that does not verify.
    pub(super) broken: bool,
}

/// A consent's timeline.
#[derive(Template)]
#[template(path = "console_consent.html")]
pub(super) struct ConsentPage<'a> {
    pub(super) title: String,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) id: String,
    /// The status in words and its badge class, once the index has it.
    pub(super) status: Option<(&'static str, &'static str)>,
    /// The customer's id, and the same percent-encoded for the search's URL.
    pub(super) customer: Option<(String, String)>,
    pub(super) recipient: String,
    pub(super) entries: Vec<TimelineEntry>,
    /// The first revision that does not verify and why.
    pub(super) broken: Option<(u64, String)>,
}

/// The result of "Verify integrity".
#[derive(Template)]
#[template(path = "console_integrity.html")]
pub(super) struct IntegrityPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) at: String,
    pub(super) streams: u64,
    pub(super) events: u64,
    /// The stream, revision and reason of the first break.
    pub(super) first_break: Option<(String, u64, String)>,
    /// The consent whose stream breaks, when the stream names one.
    pub(super) broken_consent: Option<String>,
}
