//! Financial moments in the product manager's console (ADR 0026): the moment types
//! (`/console/moments`: the default file's and staff's, with the fields conditions may read),
//! the trigger rules (`/console/trigger-rules`: filtered by moment type and status, a page at
//! a time, the filters and the position in the URL), a rule's editor (`/console/trigger-rules/new`,
//! `/console/trigger-rules/{name}`, posting to `/console/trigger-rules`, its refusals next to
//! the field) and the dry run (`/console/trigger-rules/dry-run`: a moment type, a payload and a
//! customer; which rules match, and why; nothing recorded).

use std::collections::BTreeMap;
use std::ops::Bound;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_http::InteractionId;
use ecohub_kernel::RequestContext;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;
use serde_json::Value;

use super::propositions::status_name;
use super::views::{
    Choice, ExplainRow, FieldHint, MatchedRule, MissedRule, MomentTypeRow, MomentsPage,
    PropositionChoice, RuleFacts, RuleValues, TriggerDryRunPage, TriggerRulePage, TriggerRuleRow,
    TriggerRulesPage, TriggerRun, TypeHint,
};
use super::{
    Fields, Refusal, bad_request, check_words, failure, field, form_person, html, names, person,
    who,
};
use crate::application::OffersState;
use crate::domain::attribute::check_name;
use crate::domain::{MomentCatalogue, MomentTypeDefinition, OffersError, PropositionId};
use crate::http::staff_moments::{proposition_ids, var_type};

/// Rules on one page of the list.
const PAGE_SIZE: usize = 20;

/// What happened, said on a rule's page (`?done=`).
const DONE: [(&str, &str); 1] = [(
    "saved",
    "The trigger rule is saved. It applies to the next moments received.",
)];

/// An attribute type in words (as the attribute catalogue page shows it).
fn kind_words(t: crate::domain::AttributeType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
        .unwrap_or_default()
}

/// The fields of a moment type's payload: every property, with whether conditions may
/// read it (and as what).
fn fields_of(d: &MomentTypeDefinition) -> Vec<FieldHint> {
    let usable: BTreeMap<String, String> = d
        .variables()
        .into_iter()
        .map(|(name, t)| {
            (
                name.trim_start_matches("moment.").to_owned(),
                kind_words(var_type(t)),
            )
        })
        .collect();
    let required: Vec<&str> = d
        .schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    d.schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, p)| FieldHint {
                    name: name.clone(),
                    kind: usable.get(name).cloned().unwrap_or_else(|| {
                        p.get("type")
                            .map_or_else(|| "any".to_owned(), |t| t.to_string().replace('"', ""))
                    }),
                    required: required.contains(&name.as_str()),
                    usable: usable.contains_key(name),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every moment type's fields, the one named `open` folded open.
fn hints(types: &MomentCatalogue, open: &str) -> Vec<TypeHint> {
    types
        .types
        .values()
        .map(|t| TypeHint {
            name: t.definition.name.clone(),
            open: t.definition.name == open,
            fields: fields_of(&t.definition),
        })
        .collect()
}

/// The moment types as choices of a select, `selected` chosen.
fn type_choices(types: &MomentCatalogue, selected: &str) -> Vec<Choice> {
    types
        .types
        .keys()
        .map(|name| Choice {
            value: name.clone(),
            label: name.replace('_', " "),
            selected: name == selected,
        })
        .collect()
}

/// The propositions by id: their newest version's name, and where they stand.
fn propositions(state: &OffersState) -> Vec<(PropositionId, String, String)> {
    state
        .index
        .list(None, None, usize::MAX)
        .iter()
        .filter_map(|p| {
            let id = p.id?;
            let latest = p.versions.last()?;
            let note = match p.published() {
                Some(v) => format!("version {} published", v.number),
                None => format!("version {} {}", latest.number, status_name(latest.status)),
            };
            Some((id, latest.content.doc.name.clone(), note))
        })
        .collect()
}

/// A proposition's name, or its id when the list does not show it (yet).
fn proposition_name(all: &[(PropositionId, String, String)], id: PropositionId) -> String {
    all.iter()
        .find(|(p, _, _)| *p == id)
        .map_or_else(|| id.to_string(), |(_, name, _)| name.clone())
}

/// The moment catalogue.
pub(crate) async fn moments(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (types, rules) = match (state.moment_types().await, state.trigger_rules().await) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => return failure(&staff, e),
    };
    let names = names(&state, types.types.values().filter_map(|t| t.by.as_deref())).await;
    let defaults = MomentCatalogue::default();
    let rows = types
        .types
        .values()
        .map(|t| {
            let d = &t.definition;
            let (origin, origin_words) = match (t.revision, defaults.get(&d.name).is_some()) {
                (0, _) => ("default", "default"),
                (_, true) => ("changed", "changed default"),
                (_, false) => ("staff", "new, by staff"),
            };
            MomentTypeRow {
                name: d.name.clone(),
                description: d.description.clone(),
                providers: d
                    .providers
                    .iter()
                    .map(|p| match p.as_str() {
                        crate::domain::BANK => "the bank".to_owned(),
                        crate::domain::ANY_DATA_PROVIDER => "any data provider".to_owned(),
                        p => format!("partner {p}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                fields: fields_of(d),
                origin,
                origin_words,
                revision: t.revision,
                by: t.by.as_deref().map_or_else(
                    || "the default file".to_owned(),
                    |by| who(by, &staff, &names),
                ),
                at: t.at.map_or_else(String::new, |at| at.utc_minute()),
                schema: serde_json::to_string_pretty(&d.schema).unwrap_or_default(),
                rules: rules
                    .rules
                    .values()
                    .filter(|r| r.definition.moment_type == d.name)
                    .count(),
            }
        })
        .collect();
    let view = MomentsPage {
        title: "Financial moments",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        default_version: crate::domain::moment::default_catalogue_version(),
        rule_count: rules.rules.len(),
        rows,
    };
    html(StatusCode::OK, view.render())
}

/// The rules list's query.
#[derive(Debug, Deserialize)]
pub(crate) struct RulesQuery {
    /// Only the rules of this moment type.
    moment_type: Option<String>,
    /// `active` or `paused`.
    status: Option<String>,
    /// Rules named after this one (the last of the previous page).
    after: Option<String>,
}

fn rules_href(moment_type: Option<&str>, active: Option<bool>, after: Option<&str>) -> String {
    let mut query = Vec::new();
    if let Some(t) = moment_type {
        query.push(format!("moment_type={t}"));
    }
    if let Some(a) = active {
        query.push(format!("status={}", if a { "active" } else { "paused" }));
    }
    if let Some(a) = after {
        query.push(format!("after={a}"));
    }
    if query.is_empty() {
        "/console/trigger-rules".to_owned()
    } else {
        format!("/console/trigger-rules?{}", query.join("&"))
    }
}

/// The trigger rules. Bad filters are a 400 page in words.
pub(crate) async fn rules(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    query: web::Query<RulesQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (types, rules) = match (state.moment_types().await, state.trigger_rules().await) {
        (Ok(t), Ok(r)) => (t, r),
        (Err(e), _) | (_, Err(e)) => return failure(&staff, e),
    };
    let query = query.into_inner();
    let moment_type = query.moment_type.as_deref().filter(|s| !s.is_empty());
    let active = match query.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("active") => Some(true),
        Some("paused") => Some(false),
        Some(_) => {
            return bad_request(
                &staff,
                "Unknown filter",
                "There is no such status: a rule is active or paused. Choose a filter on the trigger rules page.",
            );
        }
    };
    // A type no longer in the catalogue still filters its rules.
    if let Some(t) = moment_type
        && types.get(t).is_none()
        && !rules.rules.values().any(|r| r.definition.moment_type == t)
    {
        return bad_request(
            &staff,
            "Unknown filter",
            "There is no such moment type. Choose one of the moment types on the trigger rules page.",
        );
    }
    let after = query.after.as_deref().filter(|s| !s.is_empty());
    if after.is_some_and(|a| check_name("/after", a).is_err()) {
        return bad_request(
            &staff,
            "Unknown page",
            "This page of the list does not exist. Start again from the first page.",
        );
    }
    let start = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.to_owned()));
    let mut page: Vec<_> = rules
        .rules
        .range((start, Bound::Unbounded))
        .map(|(_, r)| r)
        .filter(|r| {
            moment_type.is_none_or(|t| r.definition.moment_type == t)
                && active.is_none_or(|a| r.definition.active == a)
        })
        .take(PAGE_SIZE + 1)
        .collect();
    let next_href = (page.len() > PAGE_SIZE).then(|| {
        page.truncate(PAGE_SIZE);
        rules_href(
            moment_type,
            active,
            page.last().map(|r| r.definition.name.as_str()),
        )
    });
    let all = propositions(&state);
    let names = names(&state, page.iter().map(|r| r.by.as_str())).await;
    let rows = page
        .iter()
        .map(|r| {
            let d = &r.definition;
            TriggerRuleRow {
                name: d.name.clone(),
                moment_type: d.moment_type.clone(),
                reason: d.reason.clone(),
                propositions: d
                    .propositions
                    .iter()
                    .map(|p| proposition_name(&all, *p))
                    .collect(),
                validity_days: d.validity_days,
                priority: d.priority,
                active: d.active,
                revision: r.revision,
                by: who(&r.by, &staff, &names),
                at: r.at.utc_minute(),
            }
        })
        .collect();
    let mut types_choices = vec![Choice {
        value: String::new(),
        label: "every moment type".to_owned(),
        selected: moment_type.is_none(),
    }];
    types_choices.extend(type_choices(&types, moment_type.unwrap_or_default()));
    let statuses = [
        ("", "active or paused"),
        ("active", "active"),
        ("paused", "paused"),
    ]
    .iter()
    .map(|(value, label)| Choice {
        value: (*value).to_owned(),
        label: (*label).to_owned(),
        selected: match active {
            None => value.is_empty(),
            Some(true) => *value == "active",
            Some(false) => *value == "paused",
        },
    })
    .collect();
    let caption = format!(
        "{}{}, by name",
        match active {
            None => "Trigger rules",
            Some(true) => "Active trigger rules",
            Some(false) => "Paused trigger rules",
        },
        moment_type.map_or_else(String::new, |t| format!(" of {}", t.replace('_', " ")))
    );
    let view = TriggerRulesPage {
        title: "Trigger rules",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        types: types_choices,
        statuses,
        rows,
        caption,
        any: !rules.rules.is_empty(),
        filtered: moment_type.is_some() || active.is_some(),
        first_href: after.map(|_| rules_href(moment_type, active, None)),
        next_href,
    };
    html(StatusCode::OK, view.render())
}

/// What a rule's page shows besides the editor's values.
struct RuleShown {
    values: RuleValues,
    status: StatusCode,
    error_at: String,
    error: Option<String>,
    done: Option<&'static str>,
}

impl RuleShown {
    fn plain(values: RuleValues) -> Self {
        RuleShown {
            values,
            status: StatusCode::OK,
            error_at: String::new(),
            error: None,
            done: None,
        }
    }

    fn refused(values: RuleValues, r: Refusal) -> Self {
        RuleShown {
            status: r.status,
            error_at: top_field(r.field.as_deref()),
            error: Some(r.words),
            ..RuleShown::plain(values)
        }
    }
}

/// The form field a JSON pointer is about (`/propositions/1` → `propositions`).
fn top_field(path: Option<&str>) -> String {
    path.map_or_else(String::new, |f| {
        f.trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    })
}

/// A rule's page (`exists`: the rule `values.name` is stored) or a new rule's editor.
async fn rule_page(
    state: &OffersState,
    staff: &SessionStaff,
    exists: bool,
    shown: RuleShown,
) -> HttpResponse {
    let (types, rules, attributes, personas) = match (
        state.moment_types().await,
        state.trigger_rules().await,
        state.attributes().await,
        state.personas().await,
    ) {
        (Ok(t), Ok(r), Ok(a), Ok(p)) => (t, r, a, p),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
            return failure(staff, e);
        }
    };
    let stored = exists
        .then(|| rules.rules.get(&shown.values.name))
        .flatten();
    let facts = match stored {
        Some(r) => {
            let names = names(state, [r.by.as_str()]).await;
            Some(RuleFacts {
                revision: r.revision,
                by: who(&r.by, staff, &names),
                at: r.at.utc_minute(),
                active: r.definition.active,
            })
        }
        None => None,
    };
    let all = propositions(state);
    let mut choices: Vec<PropositionChoice> = all
        .iter()
        .map(|(id, name, note)| PropositionChoice {
            id: id.to_string(),
            name: name.clone(),
            note: note.clone(),
            checked: shown.values.propositions.contains(&id.to_string()),
        })
        .collect();
    // Chosen ids the list does not show (yet, or not at all): kept, so that nothing typed is
    // lost.
    for id in &shown.values.propositions {
        if !choices.iter().any(|c| c.id == *id) {
            choices.push(PropositionChoice {
                id: id.clone(),
                name: id.clone(),
                note: "not in the proposition list".to_owned(),
                checked: true,
            });
        }
    }
    let values = shown.values;
    let view = TriggerRulePage {
        title: if facts.is_some() {
            format!("Trigger rule {}", values.name)
        } else {
            "New trigger rule".to_owned()
        },
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        facts,
        done: shown.done,
        types: type_choices(&types, &values.moment_type),
        type_chosen: types.get(&values.moment_type).is_some(),
        hints: hints(&types, &values.moment_type),
        values,
        error_at: shown.error_at,
        error: shown.error,
        propositions: choices,
        attributes: attributes
            .attributes
            .values()
            .map(|a| (a.definition.name.clone(), kind_words(a.definition.r#type)))
            .collect(),
        personas: personas
            .personas
            .keys()
            .map(|p| format!("personas.{p}"))
            .collect(),
    };
    html(shown.status, view.render())
}

/// The query of a new rule's editor: the moment type chosen, if any.
#[derive(Debug, Deserialize)]
pub(crate) struct TypeQuery {
    moment_type: Option<String>,
}

/// A new rule's editor.
pub(crate) async fn new_rule(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    query: web::Query<TypeQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let values = RuleValues {
        moment_type: query.moment_type.clone().unwrap_or_default(),
        validity_days: "14".to_owned(),
        priority: "100".to_owned(),
        active: true,
        ..RuleValues::default()
    };
    rule_page(&state, &staff, false, RuleShown::plain(values)).await
}

/// The query of a rule's page.
#[derive(Debug, Deserialize)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

/// A rule's page: who changed it last, and its editor.
pub(crate) async fn rule(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    query: web::Query<DoneQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let rules = match state.trigger_rules().await {
        Ok(r) => r,
        Err(e) => return failure(&staff, e),
    };
    let Some(r) = rules.rules.get(path.as_str()) else {
        return failure(&staff, OffersError::NotFound.into());
    };
    let d = &r.definition;
    let values = RuleValues {
        name: d.name.clone(),
        reason: d.reason.clone(),
        moment_type: d.moment_type.clone(),
        condition: serde_json::to_string_pretty(d.condition.rule()).unwrap_or_default(),
        propositions: d.propositions.iter().map(ToString::to_string).collect(),
        validity_days: d.validity_days.to_string(),
        priority: d.priority.to_string(),
        active: d.active,
    };
    let mut shown = RuleShown::plain(values);
    shown.done = query
        .done
        .as_deref()
        .and_then(|d| DONE.iter().find(|(k, _)| *k == d))
        .map(|(_, t)| *t);
    rule_page(&state, &staff, true, shown).await
}

/// Every value of a repeated form field (the propositions' checkboxes).
fn every<'f>(form: &'f [(String, String)], name: &str) -> Vec<&'f str> {
    form.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// What the person typed in the rule editor.
fn typed(f: &[(String, String)]) -> RuleValues {
    let get = |name: &str| field(f, name).unwrap_or_default().to_owned();
    RuleValues {
        name: get("name").trim().to_owned(),
        reason: get("reason"),
        moment_type: get("moment_type"),
        condition: get("condition"),
        propositions: every(f, "propositions")
            .into_iter()
            .map(str::to_owned)
            .collect(),
        validity_days: get("validity_days"),
        priority: get("priority"),
        active: get("active") != "false",
    }
}

/// A whole number of the form, or the refusal at its field.
fn number(value: &str, path: &str, what: &str) -> Result<u32, Refusal> {
    value
        .trim()
        .parse()
        .map_err(|_| Refusal::bad(format!("Please give {what} as a whole number.")).at(path))
}

/// Defines a rule or its next revision (the name is a field: a new rule's editor and a
/// rule's page post here).
pub(crate) async fn define_rule(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let values = typed(&fields);
    let repeated = [
        "name",
        "reason",
        "moment_type",
        "condition",
        "validity_days",
        "priority",
        "active",
    ]
    .iter()
    .find_map(|name| field(&fields, name).err().map(|e| (*name, e)));
    let parsed = match repeated {
        Some((name, words)) => Err(Refusal::bad(words).at(&format!("/{name}"))),
        None => parse_rule(&values),
    };
    let refusal = match parsed {
        Err(r) => r,
        Ok((condition, propositions, validity_days, priority)) => {
            let ctx = RequestContext::acting_as(staff.actor(), interaction);
            match state
                .define_trigger_rule(
                    values.name.clone(),
                    values.reason.clone(),
                    values.moment_type.clone(),
                    &condition,
                    propositions,
                    validity_days,
                    priority,
                    values.active,
                    &ctx,
                )
                .await
            {
                Ok(_) => {
                    return ecohub_http::see_other(&format!(
                        "/console/trigger-rules/{}?done=saved",
                        ecohub_http::percent_encode(&values.name)
                    ));
                }
                Err(e) => match Refusal::of(e, &staff) {
                    Ok(r) => r,
                    Err(page) => return *page,
                },
            }
        }
    };
    let exists = match state.trigger_rules().await {
        Ok(r) => r.rules.contains_key(&values.name),
        Err(e) => return failure(&staff, e),
    };
    rule_page(&state, &staff, exists, RuleShown::refused(values, refusal)).await
}

/// The editor's condition, propositions and numbers, or the refusal at the first field
/// that is not one.
fn parse_rule(values: &RuleValues) -> Result<(Value, Vec<PropositionId>, u32, u32), Refusal> {
    let condition = if values.condition.trim().is_empty() {
        return Err(Refusal::bad(
            "Please write the condition: when a moment of this type should put the propositions forward.",
        )
        .at("/condition"));
    } else {
        serde_json::from_str::<Value>(&values.condition).map_err(|e| {
            Refusal::bad(format!(
                "Please check the condition: it is not valid JSON ({e})."
            ))
            .at("/condition")
        })?
    };
    let propositions = proposition_ids(&values.propositions)
        .map_err(|v| Refusal::bad(check_words(&v.field, &v.message)).at(&v.field))?;
    let validity_days = number(
        &values.validity_days,
        "/validity_days",
        "the validity in days",
    )?;
    let priority = number(&values.priority, "/priority", "the priority")?;
    Ok((condition, propositions, validity_days, priority))
}

/// The dry run's form, the moment type chosen if the query names one.
pub(crate) async fn dry_run_form(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    query: web::Query<TypeQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let moment_type = query.moment_type.clone().unwrap_or_default();
    dry_run_page(
        &state,
        &staff,
        DryRunShown {
            moment_type,
            payload: "{\n}".to_owned(),
            customer_id: String::new(),
            status: StatusCode::OK,
            error_at: String::new(),
            error: None,
            result: None,
        },
    )
    .await
}

/// What the dry run's page shows.
struct DryRunShown {
    moment_type: String,
    payload: String,
    customer_id: String,
    status: StatusCode,
    error_at: String,
    error: Option<String>,
    result: Option<TriggerRun>,
}

async fn dry_run_page(
    state: &OffersState,
    staff: &SessionStaff,
    shown: DryRunShown,
) -> HttpResponse {
    let types = match state.moment_types().await {
        Ok(t) => t,
        Err(e) => return failure(staff, e),
    };
    let view = TriggerDryRunPage {
        title: "Try a moment on the trigger rules",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        types: type_choices(&types, &shown.moment_type),
        type_chosen: types.get(&shown.moment_type).is_some(),
        hints: hints(&types, &shown.moment_type),
        payload: shown.payload,
        customer_id: shown.customer_id,
        error_at: shown.error_at,
        error: shown.error,
        result: shown.result,
    };
    html(shown.status, view.render())
}

/// An explanation (as stored in a rule match) as rows, depth first.
fn explain(e: &Value, depth: usize, out: &mut Vec<ExplainRow>) {
    let values = e
        .get("values")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| match v {
                    Value::Null => format!("{k}: no value"),
                    v => format!("{k} = {v}"),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    out.push(ExplainRow {
        depth: depth.min(6),
        condition: e.get("condition").map(Value::to_string).unwrap_or_default(),
        held: e.get("held").and_then(Value::as_bool).unwrap_or(false),
        values,
    });
    for part in e
        .get("parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        explain(part, depth + 1, out);
    }
}

fn rows_of(e: &Value) -> Vec<ExplainRow> {
    let mut rows = Vec::new();
    explain(e, 0, &mut rows);
    rows
}

/// Runs the active rules of a moment type on a payload and a customer and shows which
/// matched, and why (reads, records nothing; a form for the CSRF check and to keep the
/// customer id and the payload out of the URL).
pub(crate) async fn dry_run(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let get = |name: &str| field(&fields, name).unwrap_or_default().to_owned();
    let mut shown = DryRunShown {
        moment_type: get("moment_type"),
        payload: get("payload"),
        customer_id: get("customer_id").trim().to_owned(),
        status: StatusCode::OK,
        error_at: String::new(),
        error: None,
        result: None,
    };
    let refusal = match serde_json::from_str::<Value>(&shown.payload) {
        Err(e) => Some(
            Refusal::bad(format!(
                "Please check the payload: it is not valid JSON ({e})."
            ))
            .at("/payload"),
        ),
        Ok(payload) => match state
            .dry_run_triggers(&shown.moment_type, &payload, &shown.customer_id)
            .await
        {
            Ok(run) => {
                let all = propositions(&state);
                let paused = match state.trigger_rules().await {
                    Ok(r) => r
                        .rules
                        .values()
                        .filter(|r| {
                            !r.definition.active && r.definition.moment_type == shown.moment_type
                        })
                        .count(),
                    Err(e) => return failure(&staff, e),
                };
                shown.result = Some(TriggerRun {
                    moment_type: shown.moment_type.clone(),
                    customer_id: shown.customer_id.clone(),
                    matched: run
                        .matched
                        .iter()
                        .map(|m| MatchedRule {
                            rule: m.rule.clone(),
                            reason: m.reason.clone(),
                            propositions: m
                                .propositions
                                .iter()
                                .map(|p| proposition_name(&all, *p))
                                .collect(),
                            priority: m.priority,
                            validity_days: m.validity_days,
                            rows: rows_of(&m.explanation),
                        })
                        .collect(),
                    missed: run
                        .missed
                        .iter()
                        .map(|m| MissedRule {
                            rule: m.rule.clone(),
                            rows: rows_of(&m.explanation),
                        })
                        .collect(),
                    paused,
                });
                None
            }
            Err(e) => match Refusal::of(e, &staff) {
                Ok(r) => Some(r),
                Err(page) => return *page,
            },
        },
    };
    if let Some(r) = refusal {
        shown.status = r.status;
        shown.error_at = top_field(r.field.as_deref());
        shown.error = Some(r.words);
    }
    dry_run_page(&state, &staff, shown).await
}
