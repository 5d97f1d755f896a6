//! The console pages' templates (askama, `templates/` of this crate, extending the shared
//! `console_layout.html`): every value is HTML-escaped by the template engine; nothing is
//! marked safe.

use askama::Template;

/// One filter of the queue.
pub(super) struct Tab {
    pub(super) label: &'static str,
    pub(super) href: String,
    pub(super) count: usize,
    pub(super) current: bool,
}

/// One partner in the queue.
pub(super) struct Row {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) country: String,
    pub(super) status: &'static str,
    pub(super) status_words: String,
    pub(super) roles: String,
    pub(super) applied: String,
    pub(super) changed: String,
}

/// The application queue.
#[derive(Template)]
#[template(path = "console_partners.html")]
pub(super) struct QueuePage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) tabs: Vec<Tab>,
    pub(super) rows: Vec<Row>,
    pub(super) caption: String,
    pub(super) filtered: bool,
    pub(super) empty_heading: String,
    pub(super) empty_text: String,
    pub(super) first_href: Option<String>,
    pub(super) next_href: Option<String>,
}

/// A contact of the partner.
pub(super) struct ContactView {
    pub(super) name: String,
    pub(super) email: String,
    pub(super) role: &'static str,
}

/// One piece of evidence.
pub(super) struct CheckView {
    pub(super) check: String,
    pub(super) result: &'static str,
    pub(super) evidence: String,
    pub(super) by: String,
    pub(super) at: String,
}

/// One line of the history.
pub(super) struct HistoryView {
    pub(super) at: String,
    pub(super) what: String,
    pub(super) by: String,
    pub(super) why: String,
}

/// An active webhook.
pub(super) struct WebhookView {
    pub(super) url: String,
    pub(super) events: String,
    pub(super) at: String,
}

/// What the person typed, kept when a form is refused (never a token).
#[derive(Default)]
pub(super) struct FormValues {
    pub(super) evidence: String,
    pub(super) redirect_uris: String,
    pub(super) note: String,
    pub(super) reject_reason: String,
    pub(super) standing_reason: String,
}

/// A partner's page.
#[derive(Template)]
#[template(path = "console_partner.html")]
pub(super) struct PartnerPage<'a> {
    pub(super) title: String,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) id: String,
    pub(super) status: &'static str,
    pub(super) status_words: String,
    pub(super) done: Option<&'static str>,
    pub(super) error: Option<String>,
    pub(super) registration_number: String,
    pub(super) country: String,
    pub(super) website: String,
    pub(super) applied_at: String,
    pub(super) requested_roles: String,
    pub(super) granted_roles: String,
    pub(super) redirect_uris: Vec<String>,
    pub(super) contacts: Vec<ContactView>,
    pub(super) readiness: String,
    pub(super) checks: Vec<CheckView>,
    pub(super) history: Vec<HistoryView>,
    pub(super) webhooks: Vec<WebhookView>,
    pub(super) can_record: bool,
    pub(super) can_decide: bool,
    pub(super) can_suspend: bool,
    pub(super) can_reinstate: bool,
    pub(super) is_maker: bool,
    pub(super) check_kinds: [(&'static str, &'static str); 4],
    pub(super) role_choices: Vec<(&'static str, &'static str)>,
    pub(super) values: FormValues,
}

/// One partner on the approvals page.
pub(super) struct ApprovalRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) status: &'static str,
    pub(super) status_words: String,
    /// Each piece of evidence, in words (what, result, who, when).
    pub(super) evidence: Vec<String>,
    /// Each decision by staff, in words (what, who, when, why).
    pub(super) decisions: Vec<String>,
    /// Whether the approver recorded no evidence (None: not approved).
    pub(super) four_eyes: Option<bool>,
}

/// The compliance officer's page of partner approvals.
#[derive(Template)]
#[template(path = "console_partner_approvals.html")]
pub(super) struct ApprovalsPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) tabs: Vec<Tab>,
    pub(super) error: Option<&'static str>,
    pub(super) rows: Vec<ApprovalRow>,
    /// The staff directory did not answer: people are shown by id.
    pub(super) names_missing: bool,
    pub(super) filtered: bool,
    pub(super) first_href: Option<String>,
    pub(super) next_href: Option<String>,
}
