//! The compliance officer's offer trail (`/console/compliance/offers`, ADR 0024): a
//! customer's decisions, each offer presented (proposition version, channel, placement,
//! price, personas, explanation digest) and what became of it (viewed, accepted, declined,
//! expired) — read from the customer's contact ledger, the stream decisions append to — and
//! who drafted, submitted, approved and published which proposition version, from each
//! proposition's history. A decision a financial moment made starts at the moment: who sent
//! it, what it said, which trigger rules matched and why (ADR 0026).
//!
//! Server-rendered HTML extending the shared console layout, for a staff session whose roles
//! grant `audit` (none: 303 to the sign-in page; other roles: 403 in words). Read only; the
//! customer and the positions are in the URL (`?customer=…&after=<proposition id>`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use ecohub_eventstore::read_stream_to_end;
use ecohub_http::ApiError;
use ecohub_kernel::Timestamp;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;

use crate::application::{AppError, OffersState};
use crate::domain::{
    Channel, ContactEvent, Presented, PropositionEvent, PropositionId, Reporter, Response,
    contacts_stream,
};

/// The page's own address.
const PAGE: &str = "/console/compliance/offers";

/// Propositions on one page of the approvals list.
const PAGE_SIZE: usize = 20;

/// Mounts the offer trail.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(PAGE).route(web::get().to(page)));
}

/// The page's query, as typed.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TrailQuery {
    /// The bank's customer id whose trail to show.
    #[serde(default)]
    customer: String,
    /// Propositions after this one (the last of the previous page).
    #[serde(default)]
    after: String,
}

/// What became of an offer, in words.
struct OutcomeView {
    at: String,
    what: String,
    class: &'static str,
}

/// One offer as presented, and what became of it.
struct OfferView {
    id: String,
    proposition: String,
    version: u32,
    product: String,
    channel: &'static str,
    placement: String,
    price: String,
    personas: String,
    digest: String,
    partners: String,
    expires: String,
    outcomes: Vec<OutcomeView>,
}

/// A trigger rule that matched a moment.
struct RuleView {
    rule: String,
    revision: u32,
    reason: String,
    condition: String,
    values: String,
}

/// The financial moment behind a decision.
struct MomentView {
    id: String,
    moment_type: String,
    provider: String,
    provider_id: String,
    received_at: String,
    payload: String,
    rules: Vec<RuleView>,
}

/// One decision and the offers it made.
struct DecisionView {
    id: String,
    at: String,
    moment: Option<MomentView>,
    offers: Vec<OfferView>,
}

/// The moment `id` as the trail shows it (`None` if it cannot be read).
async fn moment_view(state: &OffersState, id: crate::domain::MomentId) -> Option<MomentView> {
    let m = state.moment(id).await.ok()?;
    let r = m.received.as_ref()?;
    let rules = m
        .triggered
        .as_ref()
        .map(|(matches, _)| {
            matches
                .iter()
                .map(|x| RuleView {
                    rule: x.rule.clone(),
                    revision: x.revision,
                    reason: x.reason.clone(),
                    condition: x.explanation["condition"].to_string(),
                    values: x
                        .explanation
                        .get("values")
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(MomentView {
        id: r.id.to_string(),
        moment_type: r.moment_type.clone(),
        provider: if r.provider == crate::domain::BANK {
            "the bank".to_owned()
        } else {
            format!("partner {}", r.provider)
        },
        provider_id: r.moment_id.clone(),
        received_at: m.received_at.map(|t| t.utc_second()).unwrap_or_default(),
        payload: serde_json::to_string(&r.payload).unwrap_or_default(),
        rules,
    })
}

/// One proposition version's approvals.
struct VersionView {
    proposition: String,
    proposition_id: String,
    version: u32,
    steps: Vec<String>,
}

#[derive(Template)]
#[template(path = "console_trail.html")]
struct TrailPage<'a> {
    title: &'a str,
    display_name: &'a str,
    csrf_token: &'a str,
    /// None on a refusal before anything was read (only the message is shown then).
    customer: Option<String>,
    error: Option<&'a str>,
    decisions: Vec<DecisionView>,
    versions: Vec<VersionView>,
    first_href: Option<String>,
    next_href: Option<String>,
}

fn channel_words(c: Channel) -> &'static str {
    match c {
        Channel::BankApp => "the bank's app",
        Channel::Web => "the bank's website",
        Channel::Branch => "a branch",
        Channel::PartnerChannel => "a co-brand partner's channel",
        Channel::Moment => "a financial moment's trigger",
    }
}

/// Who acted on a proposition, in words, from the event's `by` (`staff:<id>` or a client).
fn by_words(by: &str) -> String {
    match by.split_once(':') {
        Some(("staff", id)) => format!("staff member {id}"),
        Some(("client", id)) => format!("staff client {id}"),
        _ => format!("staff client {by}"),
    }
}

fn response_words(r: Response, by: Reporter) -> (String, &'static str) {
    let (what, class) = match r {
        Response::Viewed => ("Viewed", "pending"),
        Response::Accepted => ("Accepted", "approved"),
        Response::Declined => ("Declined", "rejected"),
    };
    let by = match by {
        Reporter::Channel => "as reported by the bank's channel",
        Reporter::Customer => "by the customer",
        Reporter::Partner => "as reported by the co-brand partner",
    };
    (format!("{what} {by}"), class)
}

fn offer_view(state: &OffersState, o: &Presented) -> OfferView {
    let proposition = state
        .index
        .get(o.proposition_id)
        .and_then(|p| p.version(o.version).map(|v| v.content.doc.name.clone()))
        .unwrap_or_else(|| format!("proposition {}", o.proposition_id));
    OfferView {
        id: o.offer_id.to_string(),
        proposition,
        version: o.version,
        product: o.product_code.clone(),
        channel: channel_words(o.channel),
        placement: o.placement.clone(),
        price: format!(
            "rate {}%, commission {}%, fees {}{}",
            o.price.rate_percent,
            o.price.commission_percent,
            o.price.fees,
            o.price_rule
                .as_deref()
                .map_or_else(|| " (default price)".to_owned(), |r| format!(" (rule {r})")),
        ),
        personas: if o.personas.is_empty() {
            "none".to_owned()
        } else {
            o.personas.join(", ")
        },
        digest: o.explanation_digest.clone(),
        partners: o
            .partners
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        expires: o.expires_at.utc_second(),
        outcomes: Vec::new(),
    }
}

/// The customer's decisions, oldest first, from their contact ledger.
async fn decisions(state: &OffersState, customer: &str) -> Result<Vec<DecisionView>, AppError> {
    let recorded = read_stream_to_end(&*state.store, &contacts_stream(customer)).await?;
    let mut decisions: Vec<DecisionView> = Vec::new();
    // Offer id → (decision index, offer index).
    let mut places: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &recorded {
        let Ok(env) = r.decode::<ContactEvent>() else {
            continue;
        };
        match env.payload {
            ContactEvent::Presented { offer, at } => {
                let decision = offer.decision_id.to_string();
                let d = match decisions.iter().position(|d| d.id == decision) {
                    Some(d) => d,
                    None => {
                        let moment = match &offer.moment {
                            Some(m) => moment_view(state, m.moment_id).await,
                            None => None,
                        };
                        decisions.push(DecisionView {
                            id: decision,
                            at: at.utc_second(),
                            moment,
                            offers: Vec::new(),
                        });
                        decisions.len() - 1
                    }
                };
                places.insert(offer.offer_id.to_string(), (d, decisions[d].offers.len()));
                decisions[d].offers.push(offer_view(state, &offer));
            }
            ContactEvent::Responded {
                offer_id,
                response,
                by,
                at,
                ..
            } => {
                let (what, class) = response_words(response, by);
                if let Some((d, o)) = places.get(&offer_id.to_string()) {
                    decisions[*d].offers[*o].outcomes.push(OutcomeView {
                        at: at.utc_second(),
                        what,
                        class,
                    });
                }
            }
            ContactEvent::Expired { offer_id, at, .. } => {
                if let Some((d, o)) = places.get(&offer_id.to_string()) {
                    decisions[*d].offers[*o].outcomes.push(OutcomeView {
                        at: at.utc_second(),
                        what: "Expired without an answer".to_owned(),
                        class: "suspended",
                    });
                }
            }
        }
    }
    Ok(decisions)
}

/// When a proposition event happened (its own time, not when it was stored).
fn event_at(e: &PropositionEvent) -> Timestamp {
    match e {
        PropositionEvent::Drafted { at, .. }
        | PropositionEvent::DraftRevised { at, .. }
        | PropositionEvent::Submitted { at, .. }
        | PropositionEvent::Approved { at, .. }
        | PropositionEvent::Rejected { at, .. }
        | PropositionEvent::CoBrandingAccepted { at, .. }
        | PropositionEvent::CoBrandingWithdrawn { at, .. }
        | PropositionEvent::Published { at, .. }
        | PropositionEvent::Retired { at, .. } => *at,
    }
}

/// Who drafted, submitted, approved, rejected, published and retired each version of a page
/// of propositions, with when.
async fn versions(
    state: &OffersState,
    after: Option<PropositionId>,
) -> Result<(Vec<VersionView>, Option<PropositionId>), AppError> {
    let mut listed = state.index.list(None, after, PAGE_SIZE + 1);
    let more = listed.len() > PAGE_SIZE;
    listed.truncate(PAGE_SIZE);
    let last = listed.last().and_then(|p| p.id);
    let mut out = Vec::new();
    for proposition in listed {
        let Some(id) = proposition.id else { continue };
        let mut by_version: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for entry in state.history(id).await? {
            let at = (event_at(&entry.event)).utc_second();
            let (version, step) = match &entry.event {
                PropositionEvent::Drafted { version, by, .. } => {
                    (*version, format!("drafted by {}, {at}", by_words(by)))
                }
                PropositionEvent::Submitted { version, by, .. } => {
                    (*version, format!("submitted by {}, {at}", by_words(by)))
                }
                PropositionEvent::Approved { version, by, .. } => {
                    (*version, format!("approved by {}, {at}", by_words(by)))
                }
                PropositionEvent::Rejected {
                    version,
                    by,
                    reason,
                    ..
                } => (
                    *version,
                    format!("sent back by {}, {at}: {reason}", by_words(by)),
                ),
                PropositionEvent::CoBrandingAccepted {
                    version,
                    partner_id,
                    ..
                } => (
                    *version,
                    format!("co-branding accepted by partner {partner_id}, {at}"),
                ),
                PropositionEvent::CoBrandingWithdrawn {
                    version,
                    partner_id,
                    reason,
                    ..
                } => (
                    *version,
                    format!("co-branding withdrawn by partner {partner_id}, {at}: {reason}"),
                ),
                PropositionEvent::Published { version, by, .. } => {
                    (*version, format!("published by {}, {at}", by_words(by)))
                }
                PropositionEvent::Retired {
                    version,
                    by,
                    reason,
                    ..
                } => (
                    *version,
                    format!("retired by {}, {at}: {reason}", by_words(by)),
                ),
                PropositionEvent::DraftRevised { .. } => continue,
            };
            by_version.entry(version).or_default().push(step);
        }
        for (version, steps) in by_version {
            out.push(VersionView {
                proposition: proposition
                    .version(version)
                    .map_or_else(|| id.to_string(), |v| v.content.doc.name.clone()),
                proposition_id: id.to_string(),
                version,
                steps,
            });
        }
    }
    Ok((out, if more { last } else { None }))
}

fn render(status: StatusCode, view: &TrailPage<'_>) -> HttpResponse {
    match view.render() {
        Ok(body) => {
            let mut response = ecohub_http::html_page(body);
            *response.status_mut() = status;
            response
        }
        Err(e) => {
            ApiError::internal(format!("cannot render the offer trail: {e}")).error_response()
        }
    }
}

fn refusal<'a>(
    staff: Option<&'a SessionStaff>,
    customer: Option<String>,
    words: &'a str,
) -> TrailPage<'a> {
    TrailPage {
        title: "Offer trail",
        display_name: staff.map_or("", |s| s.display_name.as_str()),
        csrf_token: staff.map_or("", |s| s.csrf_token.as_str()),
        customer,
        error: Some(words),
        decisions: Vec::new(),
        versions: Vec::new(),
        first_href: None,
        next_href: None,
    }
}

fn href(customer: &str, after: Option<PropositionId>) -> String {
    let mut params = Vec::new();
    if !customer.is_empty() {
        params.push(format!(
            "customer={}",
            ecohub_http::percent_encode(customer)
        ));
    }
    if let Some(a) = after {
        params.push(format!("after={a}"));
    }
    if params.is_empty() {
        PAGE.to_owned()
    } else {
        format!("{PAGE}?{}#approvals", params.join("&"))
    }
}

/// The offer trail.
pub(crate) async fn page(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    req: HttpRequest,
) -> HttpResponse {
    let staff = match session {
        Ok(s) if s.staff.scopes.contains("audit") => s.staff,
        Ok(s) => {
            return render(
                StatusCode::FORBIDDEN,
                &refusal(
                    Some(&s.staff),
                    None,
                    "The offer trail is for compliance officers. Ask an administrator to give you \
the compliance officer role if you need it.",
                ),
            );
        }
        Err(StaffSessionError::Unavailable) => {
            return render(
                StatusCode::SERVICE_UNAVAILABLE,
                &refusal(
                    None,
                    None,
                    "The console cannot check your session right now. Please try again shortly.",
                ),
            );
        }
        Err(_) => return ecohub_http::see_other("/console/login"),
    };
    let Ok(query) = web::Query::<TrailQuery>::from_query(req.query_string()) else {
        return render(
            StatusCode::BAD_REQUEST,
            &refusal(
                Some(&staff),
                Some(String::new()),
                "The search could not be read (a field given twice?). Start a new search.",
            ),
        );
    };
    let customer = query.customer.trim().to_owned();
    let after = match query.after.trim() {
        "" => None,
        a => match PropositionId::parse(a) {
            Ok(a) => Some(a),
            Err(_) => {
                return render(
                    StatusCode::BAD_REQUEST,
                    &refusal(
                        Some(&staff),
                        Some(customer),
                        "This page of the propositions does not exist. Start again from the \
first page.",
                    ),
                );
            }
        },
    };
    let found = if customer.is_empty() {
        Ok(Vec::new())
    } else {
        decisions(&state, &customer).await
    };
    let listed = versions(&state, after).await;
    let (decisions, (versions, next)) = match (found, listed) {
        (Ok(d), Ok(v)) => (d, v),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(error = %e, "console offer trail unavailable");
            return render(
                StatusCode::SERVICE_UNAVAILABLE,
                &refusal(
                    Some(&staff),
                    Some(customer),
                    "The hub cannot read the offer records now. Please try again shortly.",
                ),
            );
        }
    };
    let view = TrailPage {
        title: "Offer trail",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        first_href: after.map(|_| href(&customer, None)),
        next_href: next.map(|n| href(&customer, Some(n))),
        customer: Some(customer),
        error: None,
        decisions,
        versions,
    };
    render(StatusCode::OK, &view)
}
