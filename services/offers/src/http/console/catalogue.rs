//! The catalogues a product manager works with: the attributes (`/console/attributes`), the
//! personas (`/console/personas`, a persona's page with its versions, the editor with its
//! errors in place and a dry run against a customer), and the contact policies
//! (`/console/contact-policies`).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_http::InteractionId;
use ecohub_kernel::RequestContext;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;
use serde_json::Value;

use super::proposition::limits;
use super::views::{
    AttributeRow, AttributesPage, DryRunView, ExplainRow, PersonaPage, PersonaRow, PersonaValues,
    PersonaVersionRow, PersonasPage, PoliciesPage, PolicyRow,
};
use super::{Fields, Names, Refusal, failure, field, form_person, html, names, person, who};
use crate::application::OffersState;
use crate::domain::{Explanation, PersonaCatalogue};

/// The attribute catalogue.
pub(crate) async fn attributes(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let catalogue = match state.attributes().await {
        Ok(c) => c,
        Err(e) => return failure(&staff, e),
    };
    let names = names(&state, catalogue.attributes.values().map(|a| a.by.as_str())).await;
    let rows = catalogue
        .attributes
        .values()
        .map(|a| AttributeRow {
            name: a.definition.name.clone(),
            kind: serde_json::to_value(a.definition.r#type)
                .ok()
                .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                .unwrap_or_default(),
            description: a.definition.description.clone(),
            source: format!(
                "{} {}",
                a.definition.source.dataset, a.definition.source.pointer
            ),
            revision: a.revision,
            by: who(&a.by, &staff, &names),
            at: a.at.utc_minute(),
        })
        .collect();
    let view = AttributesPage {
        title: "Attributes",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        rows,
    };
    html(StatusCode::OK, view.render())
}

/// What happened, said on the persona's page (`?done=`).
const DONE: [(&str, &str); 1] = [("saved", "The persona is saved as its newest version.")];

/// The query of a persona's page.
#[derive(Debug, Deserialize)]
pub(crate) struct PersonaQuery {
    done: Option<String>,
}

/// The personas.
pub(crate) async fn personas(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let catalogue = match state.personas().await {
        Ok(c) => c,
        Err(e) => return failure(&staff, e),
    };
    let names = names(
        &state,
        catalogue.personas.values().map(|p| p.latest().by.as_str()),
    )
    .await;
    let rows = catalogue
        .personas
        .values()
        .map(|p| {
            let v = p.latest();
            PersonaRow {
                name: p.name.clone(),
                title: v.title.clone(),
                description: v.description.clone(),
                version: v.version,
                by: who(&v.by, &staff, &names),
                at: v.at.utc_minute(),
            }
        })
        .collect();
    let view = PersonasPage {
        title: "Personas",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        done: None,
        rows,
    };
    html(StatusCode::OK, view.render())
}

/// The explanation as rows, depth first.
fn explain(e: &Explanation, depth: usize, out: &mut Vec<ExplainRow>) {
    let values: Vec<String> = e
        .values
        .iter()
        .map(|(k, v)| match v {
            Value::Null => format!("{k}: no value"),
            v => format!("{k} = {v}"),
        })
        .collect();
    out.push(ExplainRow {
        depth: depth.min(6),
        condition: e.condition.to_string(),
        held: e.held,
        values: values.join(", "),
    });
    for part in &e.parts {
        explain(part, depth + 1, out);
    }
}

/// A persona's page (or a new persona's editor when `name` is none), with what the editor
/// holds, a refusal next to its field and a dry run.
struct Shown {
    values: PersonaValues,
    status: StatusCode,
    error_at: String,
    error: Option<String>,
    dry_run: Option<DryRunView>,
    done: Option<&'static str>,
}

async fn persona_page(
    state: &OffersState,
    staff: &SessionStaff,
    catalogue: &PersonaCatalogue,
    name: Option<&str>,
    shown: Shown,
) -> HttpResponse {
    let persona = name.and_then(|n| catalogue.personas.get(n));
    let names: Names = match persona {
        Some(p) => names(state, p.versions.iter().map(|v| v.by.as_str())).await,
        None => Names::new(),
    };
    let attributes = match state.attributes().await {
        Ok(c) => c.attributes.keys().cloned().collect(),
        Err(e) => return failure(staff, e),
    };
    let view = PersonaPage {
        title: persona.map_or_else(
            || "New persona".to_owned(),
            |p| format!("Persona {}", p.latest().title),
        ),
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        exists: persona.is_some(),
        done: shown.done,
        versions: persona.map_or_else(Vec::new, |p| {
            p.versions
                .iter()
                .rev()
                .map(|v| PersonaVersionRow {
                    version: v.version,
                    title: v.title.clone(),
                    condition: v.condition.rule().to_string(),
                    by: who(&v.by, staff, &names),
                    at: v.at.utc_minute(),
                })
                .collect()
        }),
        values: shown.values,
        error_at: shown.error_at,
        error: shown.error,
        dry_run: shown.dry_run,
        attributes,
    };
    html(shown.status, view.render())
}

fn values_of(catalogue: &PersonaCatalogue, name: &str) -> Option<PersonaValues> {
    let p = catalogue.personas.get(name)?;
    let v = p.latest();
    Some(PersonaValues {
        name: p.name.clone(),
        title: v.title.clone(),
        description: v.description.clone(),
        condition: serde_json::to_string_pretty(v.condition.rule()).unwrap_or_default(),
        customer_id: String::new(),
    })
}

fn values_typed(f: &[(String, String)]) -> PersonaValues {
    let get = |name: &str| field(f, name).unwrap_or_default().to_owned();
    PersonaValues {
        name: get("name"),
        title: get("title"),
        description: get("description"),
        condition: get("condition"),
        customer_id: get("customer_id"),
    }
}

impl Shown {
    fn plain(values: PersonaValues) -> Self {
        Shown {
            values,
            status: StatusCode::OK,
            error_at: String::new(),
            error: None,
            dry_run: None,
            done: None,
        }
    }

    fn refused(values: PersonaValues, r: Refusal) -> Self {
        Shown {
            status: r.status,
            error_at: r.field.map_or_else(String::new, |f| {
                let top = f.trim_start_matches('/');
                top.split('/').next().unwrap_or_default().to_owned()
            }),
            error: Some(r.words),
            ..Shown::plain(values)
        }
    }
}

/// The editor of a new persona.
pub(crate) async fn new_persona(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let values = PersonaValues {
        condition: "{\"==\": [{\"var\": \"attribute_name\"}, true]}".to_owned(),
        ..PersonaValues::default()
    };
    persona_page(
        &state,
        &staff,
        &PersonaCatalogue::default(),
        None,
        Shown::plain(values),
    )
    .await
}

/// A persona's page: its versions, the editor (its latest version) and the dry run.
pub(crate) async fn persona(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    query: web::Query<PersonaQuery>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let catalogue = match state.personas().await {
        Ok(c) => c,
        Err(e) => return failure(&staff, e),
    };
    let Some(values) = values_of(&catalogue, &path) else {
        return failure(&staff, crate::domain::OffersError::NotFound.into());
    };
    let mut shown = Shown::plain(values);
    shown.done = query
        .done
        .as_deref()
        .and_then(|d| DONE.iter().find(|(k, _)| *k == d))
        .map(|(_, t)| *t);
    persona_page(&state, &staff, &catalogue, Some(&path), shown).await
}

/// Defines a persona or its next version (the name is a field: a new persona's editor and a
/// persona's page post here).
pub(crate) async fn define(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let typed = values_typed(&fields);
    let refusal = match serde_json::from_str::<Value>(&typed.condition) {
        Err(e) => Refusal::bad(format!(
            "Please check the condition: it is not valid JSON ({e})."
        ))
        .at("/condition"),
        Ok(condition) => {
            let ctx = RequestContext::acting_as(staff.actor(), interaction);
            let name = typed.name.trim().to_owned();
            match state
                .define_persona(
                    name.clone(),
                    typed.title.clone(),
                    typed.description.clone(),
                    &condition,
                    &ctx,
                )
                .await
            {
                Ok(_) => {
                    return ecohub_http::see_other(&format!(
                        "/console/personas/{}?done=saved",
                        ecohub_http::percent_encode(&name)
                    ));
                }
                Err(e) => match Refusal::of(e, &staff) {
                    Ok(r) => r,
                    Err(page) => return *page,
                },
            }
        }
    };
    let catalogue = match state.personas().await {
        Ok(c) => c,
        Err(e) => return failure(&staff, e),
    };
    let name = typed.name.trim().to_owned();
    let known = catalogue
        .personas
        .contains_key(&name)
        .then_some(name.as_str());
    persona_page(
        &state,
        &staff,
        &catalogue,
        known,
        Shown::refused(typed, refusal),
    )
    .await
}

/// Evaluates the persona for a customer and shows which conditions held (reads, changes
/// nothing; a form for the CSRF check and to keep the customer id out of the URL).
pub(crate) async fn dry_run(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let catalogue = match state.personas().await {
        Ok(c) => c,
        Err(e) => return failure(&staff, e),
    };
    let Some(mut values) = values_of(&catalogue, &path) else {
        return failure(&staff, crate::domain::OffersError::NotFound.into());
    };
    let customer = field(&fields, "customer_id")
        .unwrap_or_default()
        .trim()
        .to_owned();
    values.customer_id = customer.clone();
    let shown = if customer.is_empty() || customer.chars().count() > 200 {
        Shown::refused(
            values,
            Refusal::bad("Please give the customer's id (up to 200 characters).")
                .at("/customer_id"),
        )
    } else {
        match state.dry_run_persona(&path, None, &customer).await {
            Ok(m) => {
                let mut rows = Vec::new();
                explain(&m.explanation, 0, &mut rows);
                let mut shown = Shown::plain(values);
                shown.dry_run = Some(DryRunView {
                    customer_id: customer,
                    version: m.version,
                    matched: m.matched,
                    rows,
                });
                shown
            }
            Err(e) => match Refusal::of(e, &staff) {
                Ok(r) => Shown::refused(values, r.at("/customer_id")),
                Err(page) => return *page,
            },
        }
    };
    persona_page(&state, &staff, &catalogue, Some(&path), shown).await
}

/// The contact policies: the global one (the hub's settings, read-only here) and each
/// proposition's own limits (set in its versions).
pub(crate) async fn policies(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let g = &state.config.policy;
    let rows = state
        .index
        .list(None, None, usize::MAX)
        .iter()
        .filter_map(|p| {
            let v = p.published().or_else(|| p.versions.last())?;
            v.content.doc.contact_policy.as_ref()?;
            Some(PolicyRow {
                id: p.id?.to_string(),
                name: v.content.doc.name.clone(),
                version: v.number,
                limits: limits(g, v),
            })
        })
        .collect();
    let view = PoliciesPage {
        title: "Contact policies",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        global: vec![
            (
                "Presentations of one proposition to one customer per period",
                g.max_presentations,
            ),
            ("The period, in days", g.period_days),
            (
                "Offers to one customer per day, per channel",
                g.daily_max_per_channel,
            ),
            (
                "Days without a proposition after the customer declined it",
                g.decline_suppression_days,
            ),
            ("Days an offer may be answered", g.offer_validity_days),
        ],
        rows,
    };
    html(StatusCode::OK, view.render())
}
