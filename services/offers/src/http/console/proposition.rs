//! `/console/propositions/{id}`: a proposition's page (its versions with who drafted,
//! submitted and approved them, co-brand acceptance per version, contact limits, history), its
//! forms (draft or revise a version; submit, approve, reject, publish, retire), and two of its
//! versions side by side (`/diff?from=1&to=2`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_http::InteractionId;
use ecohub_kernel::RequestContext;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;
use serde_json::Value;

use super::propositions::{doc_typed, field_of, status_name, values_of, values_typed};
use super::views::{
    Actions, DiffPage, DiffRow, DraftForm, DraftValues, HistoryRow, LimitRow, PartnerView,
    PropositionPage, VersionRow,
};
use super::{
    Early, Fields, Names, Refusal, bad_request, failure, field, form_person, html, names, person,
    who,
};
use crate::application::{HistoryEntry, OffersState};
use crate::domain::{
    ContactPolicy, OffersError, PartnerId, Proposition, PropositionCommand, PropositionEvent,
    PropositionId, Version, VersionStatus,
};
use crate::http::partner_names::PartnerNames;

/// What happened, said on the page a form redirects to (`?done=`).
const DONE: [(&str, &str); 8] = [
    (
        "created",
        "The proposition is created: version 1 is a draft. Submit it when it is ready.",
    ),
    (
        "drafted",
        "The new version is drafted. Submit it when it is ready.",
    ),
    ("revised", "The draft is saved."),
    (
        "submitted",
        "The version is submitted. Another product manager approves it.",
    ),
    (
        "approved",
        "The version is approved. Publish it once every co-brand partner accepted it.",
    ),
    (
        "rejected",
        "The version is sent back to draft with your reason.",
    ),
    (
        "published",
        "The version is published: it is offered from now on, and the previous one is retired.",
    ),
    (
        "retired",
        "The version is retired: it is no longer offered.",
    ),
];

/// The query of a proposition's page.
#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    /// What the last form did (one of [`DONE`]'s keys; anything else is ignored).
    done: Option<String>,
}

fn parse_id(staff: &SessionStaff, raw: &str) -> Early<PropositionId> {
    PropositionId::parse(raw).map_err(|_| {
        Box::new(bad_request(
            staff,
            "Not a proposition id",
            "This address does not name a proposition. Open it from the propositions page.",
        ))
    })
}

/// The person allowed on the pages and the proposition the path names, or the answer instead.
fn opened(
    session: Result<StaffSession, StaffSessionError>,
    raw: &str,
) -> Early<(SessionStaff, PropositionId)> {
    let staff = person(session)?;
    let id = parse_id(&staff, raw)?;
    Ok((staff, id))
}

/// The proposition and its history; a failure as a page in words.
async fn load(
    state: &OffersState,
    staff: &SessionStaff,
    id: PropositionId,
) -> Early<(Proposition, Vec<HistoryEntry>)> {
    let read = async {
        let p = state.proposition(id).await?;
        let h = state.history(id).await?;
        Ok((p, h))
    };
    read.await.map_err(|e| Box::new(failure(staff, e)))
}

/// The global limits, and the version's own where it sets them.
pub(super) fn limits(global: &ContactPolicy, v: &Version) -> Vec<LimitRow> {
    let own = v.content.doc.contact_policy.unwrap_or_default();
    [
        (
            "Presentations to one customer per period",
            own.max_presentations,
            global.max_presentations,
        ),
        ("The period, in days", own.period_days, global.period_days),
        (
            "Days without it after a decline",
            own.decline_suppression_days,
            global.decline_suppression_days,
        ),
        (
            "Days an offer may be answered",
            own.offer_validity_days,
            global.offer_validity_days,
        ),
    ]
    .into_iter()
    .map(|(label, own, global)| LimitRow {
        label,
        value: own.unwrap_or(global),
        own: own.is_some(),
    })
    .collect()
}

fn history_row(
    h: &HistoryEntry,
    staff: &SessionStaff,
    names: &Names,
    partners: &PartnerNames,
) -> HistoryRow {
    use PropositionEvent as E;
    let by = |who_: &str| who(who_, staff, names);
    let (version, what, by, why) = match &h.event {
        E::Drafted { version, by: b, .. } => (*version, "drafted".to_owned(), by(b), String::new()),
        E::DraftRevised { version, by: b, .. } => (
            *version,
            "revised the draft".to_owned(),
            by(b),
            String::new(),
        ),
        E::Submitted { version, by: b, .. } => {
            (*version, "submitted".to_owned(), by(b), String::new())
        }
        E::Approved { version, by: b, .. } => {
            (*version, "approved".to_owned(), by(b), String::new())
        }
        E::Rejected {
            version,
            by: b,
            reason,
            ..
        } => (
            *version,
            "sent back to draft".to_owned(),
            by(b),
            reason.clone(),
        ),
        E::CoBrandingAccepted {
            version,
            partner_id,
            ..
        } => (
            *version,
            "co-branding accepted".to_owned(),
            partners.label(*partner_id).words(),
            String::new(),
        ),
        E::CoBrandingWithdrawn {
            version,
            partner_id,
            reason,
            ..
        } => (
            *version,
            "co-branding withdrawn".to_owned(),
            partners.label(*partner_id).words(),
            reason.clone(),
        ),
        E::Published { version, by: b, .. } => {
            (*version, "published".to_owned(), by(b), String::new())
        }
        E::Retired {
            version,
            by: b,
            reason,
            ..
        } => (*version, "retired".to_owned(), by(b), reason.clone()),
    };
    HistoryRow {
        at: h.recorded_at.utc_minute(),
        version,
        what,
        by,
        why,
    }
}

/// The draft form the page offers: revise the open draft, or draft the next version when
/// none is open (from the latest); none while a version waits for approval or publication.
fn draft_form(p: &Proposition, id: PropositionId) -> Option<DraftForm> {
    let latest = p.versions.last()?;
    let (heading, button, revise) = match p.open() {
        Some(v) if v.status == VersionStatus::Draft => (
            format!("Revise draft version {}", v.number),
            "Save the draft",
            Some(v.number),
        ),
        Some(_) => return None,
        None => (
            format!("Draft version {}", latest.number + 1),
            "Draft the new version",
            None,
        ),
    };
    Some(DraftForm {
        action: format!("/console/propositions/{id}/versions"),
        heading,
        button,
        revise,
        values: values_of(&latest.content.doc),
        error_at: String::new(),
        error: None,
    })
}

fn actions(p: &Proposition, me: &str, reason: String, partners: &PartnerNames) -> Option<Actions> {
    let v = p.open().or_else(|| p.published())?;
    let is_maker = v.authors.contains(me);
    Some(Actions {
        version: v.number,
        status: status_name(v.status),
        can_submit: v.status == VersionStatus::Draft,
        can_approve: v.status == VersionStatus::Submitted,
        can_reject: matches!(v.status, VersionStatus::Submitted | VersionStatus::Approved),
        can_publish: v.status == VersionStatus::Approved,
        can_retire: v.status == VersionStatus::Published,
        is_maker,
        awaiting: v.awaiting().iter().map(|x| partners.label(*x)).collect(),
        reason,
    })
}

/// What a refused form leaves on the page: the refusal, and what was typed.
#[derive(Default)]
struct Kept {
    error: Option<String>,
    status: Option<StatusCode>,
    /// The draft form as typed, with the refusal next to its field.
    draft: Option<(DraftValues, String)>,
    reason: String,
}

async fn render(
    state: &OffersState,
    staff: &SessionStaff,
    p: &Proposition,
    history: &[HistoryEntry],
    done: Option<&'static str>,
    kept: Kept,
) -> HttpResponse {
    let Some((id, latest)) = p.id.zip(p.versions.last()) else {
        return failure(staff, OffersError::NotFound.into());
    };
    let actors: Vec<&str> = history
        .iter()
        .filter_map(|h| h.actor.as_deref())
        .chain(p.versions.iter().map(|v| v.drafted_by.as_str()))
        .collect();
    let names = names(state, actors).await;
    let partners = PartnerNames::of(state, staff, partners_of(p, history)).await;
    let person = |by: &Option<String>| {
        by.as_deref()
            .map_or_else(String::new, |b| who(b, staff, &names))
    };
    let versions = p
        .versions
        .iter()
        .rev()
        .map(|v| VersionRow {
            number: v.number,
            status: status_name(v.status),
            drafted_by: who(&v.drafted_by, staff, &names),
            submitted_by: person(&v.submitted_by),
            approved_by: person(&v.approved_by),
            partners: v
                .content
                .partner_set()
                .iter()
                .map(|partner| {
                    let label = partners.label(*partner);
                    PartnerView {
                        text: label.text,
                        id: label.id,
                        href: label.href,
                        accepted: v.accepted.contains(partner),
                    }
                })
                .collect(),
            rejection: v.rejection.clone().unwrap_or_default(),
        })
        .collect();
    let mut form = draft_form(p, id);
    let kept_draft = kept.draft;
    let mut error = kept.error;
    if let (Some(form), Some((values, at))) = (form.as_mut(), kept_draft) {
        form.values = values;
        if !at.is_empty() {
            form.error = error.take();
            form.error_at = at;
        }
    }
    let waiting_note = match p.open() {
        Some(v) if v.status != VersionStatus::Draft => Some(format!(
            "Version {} is {}: it cannot change. Reject it to send it back to draft, or let it \
be published, before drafting another.",
            v.number,
            status_name(v.status)
        )),
        _ => None,
    };
    let shown = p.published().unwrap_or(latest);
    let page = PropositionPage {
        title: latest.content.doc.name.clone(),
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        id: id.to_string(),
        description: latest.content.doc.description.clone(),
        done,
        error,
        versions,
        actions: actions(p, &staff.actor(), kept.reason, &partners),
        limits_version: shown.number,
        limits: limits(&state.config.policy, shown),
        history: history
            .iter()
            .map(|h| history_row(h, staff, &names, &partners))
            .collect(),
        form,
        waiting_note,
        can_compare: p.versions.len() > 1,
    };
    html(kept.status.unwrap_or(StatusCode::OK), page.render())
}

/// Every partner a proposition's page names: each version's co-brand partners and those in
/// its history.
fn partners_of(p: &Proposition, history: &[HistoryEntry]) -> Vec<PartnerId> {
    let mut out: Vec<PartnerId> = p
        .versions
        .iter()
        .flat_map(|v| v.content.partner_set().iter().copied())
        .collect();
    out.extend(history.iter().filter_map(|h| match &h.event {
        PropositionEvent::CoBrandingAccepted { partner_id, .. }
        | PropositionEvent::CoBrandingWithdrawn { partner_id, .. } => Some(*partner_id),
        _ => None,
    }));
    out
}

/// A proposition's page.
pub(crate) async fn page(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let (staff, id) = match opened(session, &path) {
        Ok(found) => found,
        Err(r) => return *r,
    };
    let (p, history) = match load(&state, &staff, id).await {
        Ok(found) => found,
        Err(r) => return *r,
    };
    let done = query
        .done
        .as_deref()
        .and_then(|d| DONE.iter().find(|(k, _)| *k == d))
        .map(|(_, text)| *text);
    render(&state, &staff, &p, &history, done, Kept::default()).await
}

/// After a form: 303 to the page saying `done`, or the page again with the refusal.
async fn answer(
    state: &OffersState,
    staff: &SessionStaff,
    id: PropositionId,
    outcome: Result<&'static str, Refusal>,
    mut kept: Kept,
) -> HttpResponse {
    let refusal = match outcome {
        Ok(done) => {
            return ecohub_http::see_other(&format!("/console/propositions/{id}?done={done}"));
        }
        Err(r) => r,
    };
    let (p, history) = match load(state, staff, id).await {
        Ok(found) => found,
        Err(r) => return *r,
    };
    kept.status = Some(refusal.status);
    if let Some((_, at)) = kept.draft.as_mut() {
        *at = refusal.field.map(|f| field_of(&f)).unwrap_or_default();
    }
    kept.error = Some(refusal.words);
    render(state, staff, &p, &history, None, kept).await
}

/// A use case's result as a form's outcome: what to say, or the refusal; `Err` with the
/// page to answer when the failure is not about the form.
fn outcome<T>(
    staff: &SessionStaff,
    result: Result<T, crate::application::AppError>,
    done: &'static str,
) -> Early<Result<&'static str, Refusal>> {
    match result {
        Ok(_) => Ok(Ok(done)),
        Err(e) => Refusal::of(e, staff).map(Err),
    }
}

/// Drafts the next version, or revises the open draft (`version` names it).
pub(crate) async fn draft(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    path: web::Path<String>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let id = match parse_id(&staff, &path) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let ctx = RequestContext::acting_as(staff.actor(), interaction);
    let result = match (doc_typed(&fields), field(&fields, "version").map(str::trim)) {
        (_, Err(e)) => Ok(Err(Refusal::bad(e))),
        (Err(r), _) => Ok(Err(r)),
        (Ok(doc), Ok("")) => outcome(&staff, state.draft(id, doc, false, &ctx).await, "drafted"),
        (Ok(doc), Ok(n)) => match n.parse::<u32>() {
            Ok(n) => outcome(&staff, state.revise(id, n, doc, &ctx).await, "revised"),
            Err(_) => Ok(Err(Refusal::bad(
                "The form names no version. Please use the page's form.",
            ))),
        },
    };
    let result = match result {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let kept = Kept {
        draft: Some((values_typed(&fields), String::new())),
        ..Kept::default()
    };
    answer(&state, &staff, id, result, kept).await
}

/// The reason field of a form.
fn reason(f: &[(String, String)]) -> Result<String, Refusal> {
    let text = field(f, "reason").map_err(Refusal::bad)?.trim();
    if text.is_empty() {
        return Err(Refusal::bad("Please give a reason.").at("/reason"));
    }
    Ok(text.to_owned())
}

/// Moves a version on: `submit`, `approve` (not by its author: maker-checker), `reject` and
/// `retire` (with a reason), `publish`.
pub(crate) async fn transition(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    interaction: InteractionId,
    path: web::Path<(String, String, String)>,
    form: web::Form<Fields>,
) -> HttpResponse {
    let (staff, fields) = match form_person(session, form) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let (raw_id, raw_version, action) = path.into_inner();
    let id = match parse_id(&staff, &raw_id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let Ok(version) = raw_version.parse::<u32>() else {
        return failure(&staff, OffersError::NotFound.into());
    };
    let ctx = RequestContext::acting_as(staff.actor(), interaction);
    let by = ctx.actor.clone();
    let command = |c: PropositionCommand| state.command(id, c, &ctx);
    let result = match action.as_str() {
        "submit" => outcome(
            &staff,
            command(PropositionCommand::SubmitVersion { version, by }).await,
            "submitted",
        ),
        "approve" => outcome(
            &staff,
            command(PropositionCommand::ApproveVersion { version, by }).await,
            "approved",
        ),
        "publish" => outcome(&staff, state.publish(id, version, &ctx).await, "published"),
        "reject" | "retire" => match reason(&fields) {
            Err(r) => Ok(Err(r)),
            Ok(reason) if action == "reject" => outcome(
                &staff,
                command(PropositionCommand::RejectVersion {
                    version,
                    by,
                    reason,
                })
                .await,
                "rejected",
            ),
            Ok(reason) => outcome(
                &staff,
                command(PropositionCommand::RetireVersion {
                    version,
                    by,
                    reason,
                })
                .await,
                "retired",
            ),
        },
        _ => return failure(&staff, OffersError::NotFound.into()),
    };
    let result = match result {
        Ok(r) => r,
        Err(page) => return *page,
    };
    let kept = Kept {
        reason: field(&fields, "reason").unwrap_or_default().to_owned(),
        ..Kept::default()
    };
    answer(&state, &staff, id, result, kept).await
}

/// The query of the diff: which two versions.
#[derive(Debug, Deserialize)]
pub(crate) struct DiffQuery {
    from: Option<String>,
    to: Option<String>,
}

/// Every leaf of `v` by its JSON pointer, as compact JSON (an empty object or array is a leaf).
fn leaves(v: &Value, at: String, out: &mut BTreeMap<String, String>) {
    let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                leaves(x, format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{at}/{i}"), out);
            }
        }
        Value::String(s) => {
            out.insert(at, s.clone());
        }
        other => {
            out.insert(at, other.to_string());
        }
    }
}

/// The fields of two documents that differ, by path, and how many are the same.
fn compare(old: &Value, new: &Value) -> (Vec<DiffRow>, usize) {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    leaves(old, String::new(), &mut a);
    leaves(new, String::new(), &mut b);
    let paths: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let mut same = 0;
    let rows = paths
        .into_iter()
        .filter_map(|path| {
            let (o, n) = (a.get(path), b.get(path));
            let change = match (o, n) {
                (Some(o), Some(n)) if o == n => {
                    same += 1;
                    return None;
                }
                (Some(_), Some(_)) => "changed",
                (None, _) => "added",
                (_, None) => "removed",
            };
            Some(DiffRow {
                path: path.clone(),
                change,
                old: o.cloned().unwrap_or_default(),
                new: n.cloned().unwrap_or_default(),
                old_partner: None,
                new_partner: None,
            })
        })
        .collect();
    (rows, same)
}

/// Two versions side by side: every field that differs, by its path.
pub(crate) async fn diff(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    query: web::Query<DiffQuery>,
) -> HttpResponse {
    let (staff, id) = match opened(session, &path) {
        Ok(found) => found,
        Err(r) => return *r,
    };
    let p = match state.proposition(id).await {
        Ok(p) => p,
        Err(e) => return failure(&staff, e),
    };
    let newest = p.versions.last().map_or(1, |v| v.number);
    let pick = |raw: &Option<String>, default: u32| match raw.as_deref().filter(|s| !s.is_empty()) {
        None => Some(default),
        Some(n) => n.parse::<u32>().ok().filter(|n| p.version(*n).is_some()),
    };
    let (Some(from), Some(to)) = (
        pick(&query.from, newest.saturating_sub(1).max(1)),
        pick(&query.to, newest),
    ) else {
        return bad_request(
            &staff,
            "No such version",
            "The proposition has no version with this number. Choose two of its versions.",
        );
    };
    let doc = |n: u32| {
        p.version(n)
            .and_then(|v| serde_json::to_value(&*v.content.doc).ok())
            .unwrap_or(Value::Null)
    };
    let (mut rows, same) = compare(&doc(from), &doc(to));
    // A partner id (`/benefits/0/partner_id`, `/add_ons/1/partner_id`) is shown by name.
    let partner_at = |row: &DiffRow, value: &str| {
        row.path
            .ends_with("/partner_id")
            .then(|| PartnerId::parse(value).ok())
            .flatten()
    };
    let named: Vec<PartnerId> = rows
        .iter()
        .flat_map(|r| [partner_at(r, &r.old), partner_at(r, &r.new)])
        .flatten()
        .collect();
    if !named.is_empty() {
        let partners = PartnerNames::of(&state, &staff, named).await;
        for r in &mut rows {
            r.old_partner = partner_at(r, &r.old).map(|x| partners.label(x));
            r.new_partner = partner_at(r, &r.new).map(|x| partners.label(x));
        }
    }
    let name = p
        .versions
        .last()
        .map_or_else(String::new, |v| v.content.doc.name.clone());
    let view = DiffPage {
        title: format!("Version {from} and version {to}"),
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        id: id.to_string(),
        name,
        numbers: p.versions.iter().map(|v| v.number).collect(),
        from,
        to,
        rows,
        same,
    };
    html(StatusCode::OK, view.render())
}
