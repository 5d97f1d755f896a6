//! The console pages' templates (askama, `templates/` of this crate, extending the shared
//! `console_layout.html`): every value is HTML-escaped by the template engine; nothing is
//! marked safe.

use askama::Template;

use crate::http::partner_names::PartnerLabel;

/// A filter tab.
pub(super) struct Tab {
    pub(super) label: &'static str,
    pub(super) href: String,
    pub(super) count: usize,
    pub(super) current: bool,
}

/// One proposition in the list.
pub(super) struct PropositionRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) product: String,
    pub(super) live: String,
    pub(super) open: String,
    pub(super) open_status: &'static str,
    /// The latest version's co-brand partners.
    pub(super) partners: Vec<PartnerLabel>,
}

/// The list of propositions.
#[derive(Template)]
#[template(path = "console_propositions.html")]
pub(super) struct PropositionsPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) tabs: Vec<Tab>,
    pub(super) rows: Vec<PropositionRow>,
    pub(super) caption: String,
    pub(super) filtered: bool,
    pub(super) empty_heading: &'static str,
    pub(super) empty_text: &'static str,
    pub(super) first_href: Option<String>,
    pub(super) next_href: Option<String>,
}

/// A number field of the draft form (the contact limits).
pub(super) struct NumberField {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    pub(super) value: String,
}

/// What the draft form holds (what the person typed, or the version it starts from).
#[derive(Default)]
pub(super) struct DraftValues {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) priority: String,
    pub(super) policy: Vec<NumberField>,
    pub(super) document: String,
}

/// The draft form: where it posts, what it holds, and the refusal next to its field.
pub(super) struct DraftForm {
    pub(super) action: String,
    pub(super) heading: String,
    pub(super) button: &'static str,
    /// The draft revised, when the form replaces an open draft's content.
    pub(super) revise: Option<u32>,
    pub(super) values: DraftValues,
    /// The form field the error is about (`name`, `document`…; empty: the whole form).
    pub(super) error_at: String,
    pub(super) error: Option<String>,
}

/// A page with only the draft form (a new proposition).
#[derive(Template)]
#[template(path = "console_proposition_new.html")]
pub(super) struct NewPropositionPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) form: DraftForm,
}

/// A co-brand partner of a version (by name, `console_partner.html`) and whether it accepted.
pub(super) struct PartnerView {
    pub(super) text: String,
    pub(super) id: String,
    pub(super) href: Option<String>,
    pub(super) accepted: bool,
}

/// One version of a proposition.
pub(super) struct VersionRow {
    pub(super) number: u32,
    pub(super) status: &'static str,
    pub(super) drafted_by: String,
    pub(super) submitted_by: String,
    pub(super) approved_by: String,
    pub(super) partners: Vec<PartnerView>,
    pub(super) rejection: String,
}

/// One line of a proposition's history.
pub(super) struct HistoryRow {
    pub(super) at: String,
    pub(super) version: u32,
    pub(super) what: String,
    pub(super) by: String,
    pub(super) why: String,
}

/// The actions the open or published version allows the person.
pub(super) struct Actions {
    pub(super) version: u32,
    pub(super) status: &'static str,
    pub(super) can_submit: bool,
    pub(super) can_approve: bool,
    pub(super) can_reject: bool,
    pub(super) can_publish: bool,
    pub(super) can_retire: bool,
    /// The person wrote or submitted it (a colleague approves).
    pub(super) is_maker: bool,
    /// Co-brand partners that have not accepted it.
    pub(super) awaiting: Vec<PartnerLabel>,
    pub(super) reason: String,
}

/// A contact limit: its name in words, the proposition's own value or the global one.
pub(super) struct LimitRow {
    pub(super) label: &'static str,
    pub(super) value: u32,
    pub(super) own: bool,
}

/// A proposition's page.
#[derive(Template)]
#[template(path = "console_proposition.html")]
pub(super) struct PropositionPage<'a> {
    pub(super) title: String,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) id: String,
    pub(super) description: String,
    pub(super) done: Option<&'static str>,
    pub(super) error: Option<String>,
    pub(super) versions: Vec<VersionRow>,
    pub(super) actions: Option<Actions>,
    pub(super) limits_version: u32,
    pub(super) limits: Vec<LimitRow>,
    pub(super) history: Vec<HistoryRow>,
    pub(super) form: Option<DraftForm>,
    pub(super) waiting_note: Option<String>,
    pub(super) can_compare: bool,
}

/// One field that differs between two versions.
pub(super) struct DiffRow {
    pub(super) path: String,
    pub(super) change: &'static str,
    pub(super) old: String,
    pub(super) new: String,
    /// The partners the two values name, when the field is a partner id.
    pub(super) old_partner: Option<PartnerLabel>,
    pub(super) new_partner: Option<PartnerLabel>,
}

/// Two versions side by side.
#[derive(Template)]
#[template(path = "console_diff.html")]
pub(super) struct DiffPage<'a> {
    pub(super) title: String,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) id: String,
    pub(super) name: String,
    pub(super) numbers: Vec<u32>,
    pub(super) from: u32,
    pub(super) to: u32,
    pub(super) rows: Vec<DiffRow>,
    pub(super) same: usize,
}

/// One attribute.
pub(super) struct AttributeRow {
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) description: String,
    pub(super) source: String,
    pub(super) revision: u32,
    pub(super) by: String,
    pub(super) at: String,
}

/// The attribute catalogue.
#[derive(Template)]
#[template(path = "console_attributes.html")]
pub(super) struct AttributesPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) rows: Vec<AttributeRow>,
}

/// One persona in the list.
pub(super) struct PersonaRow {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) version: u32,
    pub(super) by: String,
    pub(super) at: String,
}

/// The personas.
#[derive(Template)]
#[template(path = "console_personas.html")]
pub(super) struct PersonasPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) done: Option<&'static str>,
    pub(super) rows: Vec<PersonaRow>,
}

/// One version of a persona.
pub(super) struct PersonaVersionRow {
    pub(super) version: u32,
    pub(super) title: String,
    pub(super) condition: String,
    pub(super) by: String,
    pub(super) at: String,
}

/// What the persona editor holds.
#[derive(Default)]
pub(super) struct PersonaValues {
    pub(super) name: String,
    pub(super) title: String,
    pub(super) description: String,
    pub(super) condition: String,
    pub(super) customer_id: String,
}

/// One (sub-)condition of an explanation, indented by its depth.
pub(super) struct ExplainRow {
    pub(super) depth: usize,
    pub(super) condition: String,
    pub(super) held: bool,
    pub(super) values: String,
}

/// A dry run's result.
pub(super) struct DryRunView {
    pub(super) customer_id: String,
    pub(super) version: u32,
    pub(super) matched: bool,
    pub(super) rows: Vec<ExplainRow>,
}

/// A persona's page: its versions, the editor and the dry run (or a new persona's editor).
#[derive(Template)]
#[template(path = "console_persona.html")]
pub(super) struct PersonaPage<'a> {
    pub(super) title: String,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    /// Whether the persona exists (else: the editor of a new one).
    pub(super) exists: bool,
    pub(super) done: Option<&'static str>,
    pub(super) versions: Vec<PersonaVersionRow>,
    pub(super) values: PersonaValues,
    pub(super) error_at: String,
    pub(super) error: Option<String>,
    pub(super) dry_run: Option<DryRunView>,
    pub(super) attributes: Vec<String>,
}

/// A proposition's own contact limits.
pub(super) struct PolicyRow {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) version: u32,
    pub(super) limits: Vec<LimitRow>,
}

/// The contact policies.
#[derive(Template)]
#[template(path = "console_policies.html")]
pub(super) struct PoliciesPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) global: Vec<(&'static str, u32)>,
    pub(super) rows: Vec<PolicyRow>,
}

/// One group of the funnel.
pub(super) struct FunnelGroup {
    pub(super) label: String,
    pub(super) href: Option<String>,
    pub(super) presented: u64,
    pub(super) viewed: u64,
    pub(super) accepted: u64,
    pub(super) declined: u64,
    pub(super) expired: u64,
    pub(super) conversion: String,
}

/// One bar of the chart (coordinates in the SVG's user units).
pub(super) struct Bar {
    pub(super) y: u32,
    pub(super) width: u32,
    pub(super) colour: &'static str,
    pub(super) value: u64,
    pub(super) label_x: u32,
}

/// One group of bars, with its label.
pub(super) struct BarGroup {
    pub(super) label: String,
    pub(super) label_y: u32,
    pub(super) bars: Vec<Bar>,
}

/// The chart.
pub(super) struct Chart {
    pub(super) height: u32,
    pub(super) groups: Vec<BarGroup>,
    pub(super) legend: Vec<(&'static str, &'static str)>,
    pub(super) summary: String,
}

/// A choice of a filter's select.
pub(super) struct Choice {
    pub(super) value: String,
    pub(super) label: String,
    pub(super) selected: bool,
}

/// The offer funnel report.
#[derive(Template)]
#[template(path = "console_funnel.html")]
pub(super) struct FunnelPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) dimensions: Vec<Tab>,
    pub(super) by_words: &'static str,
    pub(super) by: &'static str,
    pub(super) propositions: Vec<Choice>,
    pub(super) channels: Vec<Choice>,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) groups: Vec<FunnelGroup>,
    pub(super) chart: Option<Chart>,
    pub(super) filtered: bool,
    pub(super) note: &'static str,
}

// ---------------------------------------------------------------- financial moments

/// A moment type's payload field, as a hint next to a condition or a payload.
pub(super) struct FieldHint {
    /// Its name in the payload (`amount`).
    pub(super) name: String,
    /// Its type in words (`number`, `date`…).
    pub(super) kind: String,
    /// Whether the payload must have it.
    pub(super) required: bool,
    /// Whether conditions may read it (as `moment.<name>`).
    pub(super) usable: bool,
}

/// A moment type's fields, folded open when it is the one chosen.
pub(super) struct TypeHint {
    pub(super) name: String,
    pub(super) open: bool,
    pub(super) fields: Vec<FieldHint>,
}

/// One moment type of the catalogue.
pub(super) struct MomentTypeRow {
    pub(super) name: String,
    pub(super) description: String,
    pub(super) providers: String,
    pub(super) fields: Vec<FieldHint>,
    /// `default`, `changed` or `staff` (a badge's class).
    pub(super) origin: &'static str,
    pub(super) origin_words: &'static str,
    pub(super) revision: u32,
    pub(super) by: String,
    pub(super) at: String,
    pub(super) schema: String,
    pub(super) rules: usize,
}

/// The moment catalogue.
#[derive(Template)]
#[template(path = "console_moments.html")]
pub(super) struct MomentsPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) default_version: u32,
    pub(super) rule_count: usize,
    pub(super) rows: Vec<MomentTypeRow>,
}

/// One trigger rule in the list.
pub(super) struct TriggerRuleRow {
    pub(super) name: String,
    pub(super) moment_type: String,
    pub(super) reason: String,
    pub(super) propositions: Vec<String>,
    pub(super) validity_days: u32,
    pub(super) priority: u32,
    pub(super) active: bool,
    pub(super) revision: u32,
    pub(super) by: String,
    pub(super) at: String,
}

/// The trigger rules, filtered and a page at a time.
#[derive(Template)]
#[template(path = "console_trigger_rules.html")]
pub(super) struct TriggerRulesPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) types: Vec<Choice>,
    pub(super) statuses: Vec<Choice>,
    pub(super) rows: Vec<TriggerRuleRow>,
    pub(super) caption: String,
    /// Whether any rule exists at all.
    pub(super) any: bool,
    pub(super) filtered: bool,
    pub(super) first_href: Option<String>,
    pub(super) next_href: Option<String>,
}

/// What the rule editor holds (the rule, or what the person typed).
#[derive(Default)]
pub(super) struct RuleValues {
    pub(super) name: String,
    pub(super) reason: String,
    pub(super) moment_type: String,
    pub(super) condition: String,
    pub(super) propositions: Vec<String>,
    pub(super) validity_days: String,
    pub(super) priority: String,
    pub(super) active: bool,
}

/// A proposition the rule may put forward.
pub(super) struct PropositionChoice {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) note: String,
    pub(super) checked: bool,
}

/// Who last changed a rule, and where it stands.
pub(super) struct RuleFacts {
    pub(super) revision: u32,
    pub(super) by: String,
    pub(super) at: String,
    pub(super) active: bool,
}

/// A trigger rule's page (its editor), or a new rule's editor.
#[derive(Template)]
#[template(path = "console_trigger_rule.html")]
pub(super) struct TriggerRulePage<'a> {
    pub(super) title: String,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) facts: Option<RuleFacts>,
    pub(super) done: Option<&'static str>,
    pub(super) values: RuleValues,
    pub(super) error_at: String,
    pub(super) error: Option<String>,
    pub(super) types: Vec<Choice>,
    /// Whether one of `types` is chosen.
    pub(super) type_chosen: bool,
    pub(super) propositions: Vec<PropositionChoice>,
    pub(super) hints: Vec<TypeHint>,
    /// The attributes by name, with their types in words.
    pub(super) attributes: Vec<(String, String)>,
    pub(super) personas: Vec<String>,
}

/// A rule that matched in a dry run.
pub(super) struct MatchedRule {
    pub(super) rule: String,
    pub(super) reason: String,
    pub(super) propositions: Vec<String>,
    pub(super) priority: u32,
    pub(super) validity_days: u32,
    pub(super) rows: Vec<ExplainRow>,
}

/// A rule that did not match in a dry run.
pub(super) struct MissedRule {
    pub(super) rule: String,
    pub(super) rows: Vec<ExplainRow>,
}

/// A dry run's result.
pub(super) struct TriggerRun {
    pub(super) moment_type: String,
    pub(super) customer_id: String,
    pub(super) matched: Vec<MatchedRule>,
    pub(super) missed: Vec<MissedRule>,
    /// Paused rules of the type (not tried).
    pub(super) paused: usize,
}

/// The dry run of the trigger rules: the form and, once run, its result.
#[derive(Template)]
#[template(path = "console_trigger_dry_run.html")]
pub(super) struct TriggerDryRunPage<'a> {
    pub(super) title: &'a str,
    pub(super) display_name: &'a str,
    pub(super) csrf_token: &'a str,
    pub(super) types: Vec<Choice>,
    /// Whether one of `types` is chosen.
    pub(super) type_chosen: bool,
    pub(super) payload: String,
    pub(super) customer_id: String,
    pub(super) error_at: String,
    pub(super) error: Option<String>,
    pub(super) hints: Vec<TypeHint>,
    pub(super) result: Option<TriggerRun>,
}
