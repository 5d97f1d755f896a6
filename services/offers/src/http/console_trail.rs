//! The compliance officer's offer trail (`/console/compliance/offers`, ADR 0024, ADR 0026): a
//! customer's decisions, each offer presented (proposition version, channel, placement,
//! price, personas, explanation digest) and what became of it (viewed, accepted, declined,
//! expired) — read from the customer's contact ledger, the stream decisions append to — and
//! who drafted, submitted, approved and published which proposition version, from each
//! proposition's history. A decision a financial moment made starts at the moment: who sent
//! it, what it said, which trigger rules matched and why.
//!
//! Moments are searchable too: by the hub's moment id (or the provider's own id with who sent
//! it), showing the moment, refused or received, the rules that matched or that none did, and
//! the offers it led to with their outcomes; and a customer's trail lists their moments,
//! received, refused or unmatched, newest first, a page at a time (`moment_index`). An offer or
//! a decision id alone does not lead to the customer without reading the whole log, which this
//! page does not do: its hint says so.
//!
//! Server-rendered HTML extending the shared console layout, for a staff session whose roles
//! grant `audit` (none: 303 to the sign-in page; other roles: 403 in words). Read only; the
//! search and the positions are in the URL
//! (`?customer=…&moments_before=<n>&after=<proposition id>`, `?moment=…&provider=…`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use ecohub_eventstore::read_stream_to_end;
use ecohub_kernel::Timestamp;
use ecohub_security::{ConsoleArea, SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;

use crate::application::{AppError, OffersState};
use crate::domain::{
    BANK, Channel, ContactEvent, DecisionId, MomentEvent, MomentId, PartnerId, Presented,
    Proposition, PropositionEvent, PropositionId, Reporter, Response, contacts_stream,
};
use crate::http::partner_names::{PartnerLabel, PartnerNames};
use crate::moment_index::ListedMoment;

/// The page's own address.
const PAGE: &str = "/console/compliance/offers";

/// The trail is the compliance officer's: the scope, and where its pages in words lead back.
const AREA: ConsoleArea = ConsoleArea {
    scope: "audit",
    not_for_you: "The offer trail is for compliance officers. Ask an administrator to give you \
the compliance officer role if you need it.",
    home: (PAGE, "Back to the offer trail"),
};

/// Propositions on one page of the approvals list.
const PAGE_SIZE: usize = 20;

/// A customer's moments on one page.
const MOMENTS_PAGE_SIZE: usize = 20;

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
    /// A moment: the hub's id, or the provider's own id when `provider` is given.
    #[serde(default)]
    moment: String,
    /// Who sent the moment (`bank` or a partner id), when `moment` is the provider's own id.
    #[serde(default)]
    provider: String,
    /// Propositions after this one (the last of the previous page).
    #[serde(default)]
    after: String,
    /// The customer's moments before this position of their index (the next page).
    #[serde(default)]
    moments_before: String,
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
    partners: Vec<PartnerLabel>,
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

/// A financial moment as the trail shows it, from its events.
struct MomentView {
    id: String,
    moment_type: String,
    provider: PartnerLabel,
    /// The provider's own id of it.
    provider_id: String,
    /// The bank's customer id, when the moment named one.
    customer: Option<String>,
    /// The customer's trail.
    customer_href: Option<String>,
    /// When it first arrived (received or refused).
    at: String,
    /// Where it stands: a word for its badge, a sentence, the badge's colour.
    status: &'static str,
    outcome: String,
    class: &'static str,
    /// Each refusal: when, and why in words (no payload was kept).
    refusals: Vec<(String, String)>,
    received_at: Option<String>,
    occurred_at: Option<String>,
    payload: Option<String>,
    rules: Vec<RuleView>,
    /// The decision the matched rules made, and the offers it recorded.
    decision: Option<String>,
    offers: Vec<String>,
    /// This moment's own search.
    href: String,
}

/// One decision and the offers it made.
struct DecisionView {
    id: String,
    at: String,
    moment: Option<MomentView>,
    offers: Vec<OfferView>,
}

/// One proposition version's approvals.
struct VersionView {
    proposition: String,
    proposition_id: String,
    version: u32,
    steps: Vec<String>,
}

/// What a moment search found.
struct MomentSearch {
    /// What was searched for, in words.
    asked: String,
    /// The moment (`None`: no moment has this id).
    found: Option<MomentView>,
    /// The decision it led to, with its offers and their outcomes.
    decision: Option<DecisionView>,
}

/// A customer's moments, a page of them.
struct MomentsList {
    rows: Vec<MomentView>,
    catching_up: bool,
    first_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "console_trail.html")]
struct TrailPage<'a> {
    title: &'a str,
    display_name: &'a str,
    csrf_token: &'a str,
    /// None on a refusal before anything was read (only the message is shown then).
    customer: Option<String>,
    /// The moment search as typed.
    moment: String,
    provider: String,
    error: Option<&'a str>,
    searched: Option<MomentSearch>,
    moments: Option<MomentsList>,
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

/// Who acted on a proposition, in words, from the event's `by` (`staff:<id>` or a client):
/// the person by name when `names` (by actor) knows them.
fn by_words(by: &str, names: &BTreeMap<String, String>) -> String {
    if let Some(name) = names.get(by) {
        return name.clone();
    }
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

/// A refusal's code in words.
fn refusal_words(code: &str) -> String {
    match code {
        "no_consent" => "the customer had no authorised consent letting this partner share \
moments with the bank for personalised offers"
            .to_owned(),
        "customer_objected" => "the customer objected to personalised offers".to_owned(),
        "unknown_customer" => "the partner's customer id named no customer it knows".to_owned(),
        other => format!("refused ({other})"),
    }
}

// ------------------------------------------------------------------ reading

/// An offer as the ledger holds it, and what became of it.
struct LedgerOffer {
    offer: Presented,
    outcomes: Vec<OutcomeView>,
}

/// A decision as the ledger holds it.
struct LedgerDecision {
    id: DecisionId,
    at: Timestamp,
    moment: Option<MomentId>,
    offers: Vec<LedgerOffer>,
}

/// The customer's decisions, oldest first, from their contact ledger.
async fn ledger(state: &OffersState, customer: &str) -> Result<Vec<LedgerDecision>, AppError> {
    let recorded = read_stream_to_end(&*state.store, &contacts_stream(customer)).await?;
    let mut decisions: Vec<LedgerDecision> = Vec::new();
    // Offer id → (decision index, offer index).
    let mut places: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &recorded {
        let Ok(env) = r.decode::<ContactEvent>() else {
            continue;
        };
        let (offer_id, outcome) = match env.payload {
            ContactEvent::Presented { offer, at } => {
                let d = match decisions.iter().position(|d| d.id == offer.decision_id) {
                    Some(d) => d,
                    None => {
                        decisions.push(LedgerDecision {
                            id: offer.decision_id,
                            at,
                            moment: offer.moment.as_ref().map(|m| m.moment_id),
                            offers: Vec::new(),
                        });
                        decisions.len() - 1
                    }
                };
                places.insert(offer.offer_id.to_string(), (d, decisions[d].offers.len()));
                decisions[d].offers.push(LedgerOffer {
                    offer,
                    outcomes: Vec::new(),
                });
                continue;
            }
            ContactEvent::Responded {
                offer_id,
                response,
                by,
                at,
                ..
            } => {
                let (what, class) = response_words(response, by);
                (
                    offer_id,
                    OutcomeView {
                        at: at.utc_second(),
                        what,
                        class,
                    },
                )
            }
            ContactEvent::Expired { offer_id, at, .. } => (
                offer_id,
                OutcomeView {
                    at: at.utc_second(),
                    what: "Expired without an answer".to_owned(),
                    class: "suspended",
                },
            ),
        };
        if let Some((d, o)) = places.get(&offer_id.to_string()) {
            decisions[*d].offers[*o].outcomes.push(outcome);
        }
    }
    Ok(decisions)
}

/// The moments behind `decisions`, by id (read from their streams).
async fn moments_of(
    state: &OffersState,
    decisions: &[LedgerDecision],
) -> Result<BTreeMap<MomentId, Vec<MomentEvent>>, AppError> {
    let mut out = BTreeMap::new();
    for id in decisions.iter().filter_map(|d| d.moment) {
        if let std::collections::btree_map::Entry::Vacant(e) = out.entry(id) {
            match state.moment_trail(id).await {
                Ok(events) => {
                    e.insert(events);
                }
                Err(AppError::Refused(crate::domain::OffersError::NotFound)) => {}
                Err(failed) => return Err(failed),
            }
        }
    }
    Ok(out)
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

/// A page of propositions for the approvals list, and the next page's position.
fn approvals_page(
    state: &OffersState,
    after: Option<PropositionId>,
) -> (Vec<Proposition>, Option<PropositionId>) {
    let mut listed = state.index.list(None, after, PAGE_SIZE + 1);
    let more = listed.len() > PAGE_SIZE;
    listed.truncate(PAGE_SIZE);
    let last = listed.last().and_then(|p| p.id);
    (listed, if more { last } else { None })
}

/// Who drafted, submitted, approved, rejected, published and retired each version of
/// `listed`, with when; co-brand partners by name.
async fn versions(
    state: &OffersState,
    listed: Vec<Proposition>,
    partners: &PartnerNames,
) -> Result<Vec<VersionView>, AppError> {
    let mut histories = Vec::new();
    for proposition in listed {
        let Some(id) = proposition.id else { continue };
        let history = state.history(id).await?;
        histories.push((proposition, id, history));
    }
    // The people who took the steps, named once for the page (ids when the directory cannot
    // answer now).
    let actors = histories
        .iter()
        .flat_map(|(_, _, h)| h.iter().filter_map(|e| e.actor.as_deref()));
    let names = state.staff_names(actors).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "staff names unavailable: the offer trail shows ids");
        BTreeMap::new()
    });
    let by_words = |by: &str| by_words(by, &names);
    let mut out = Vec::new();
    for (proposition, id, history) in histories {
        let mut by_version: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        for entry in history {
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
                    format!(
                        "co-branding accepted by {}, {at}",
                        partners.label(*partner_id).words()
                    ),
                ),
                PropositionEvent::CoBrandingWithdrawn {
                    version,
                    partner_id,
                    reason,
                    ..
                } => (
                    *version,
                    format!(
                        "co-branding withdrawn by {}, {at}: {reason}",
                        partners.label(*partner_id).words()
                    ),
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
    Ok(out)
}

// ------------------------------------------------------------------ views

/// The provider a moment's events name (`bank` or a partner id).
fn provider_of(events: &[MomentEvent]) -> Option<&str> {
    events.iter().find_map(|e| match e {
        MomentEvent::Received { moment, .. } => Some(moment.provider.as_str()),
        MomentEvent::Refused { provider, .. } => Some(provider.as_str()),
        _ => None,
    })
}

/// A moment as the trail shows it, from its events (oldest first).
fn moment_view(id: MomentId, events: &[MomentEvent], partners: &PartnerNames) -> MomentView {
    let mut view = MomentView {
        id: id.to_string(),
        moment_type: String::new(),
        provider: partners.provider(provider_of(events).unwrap_or_default()),
        provider_id: String::new(),
        customer: None,
        customer_href: None,
        at: String::new(),
        status: "received",
        outcome: String::new(),
        class: "pending",
        refusals: Vec::new(),
        received_at: None,
        occurred_at: None,
        payload: None,
        rules: Vec::new(),
        decision: None,
        offers: Vec::new(),
        href: format!("{PAGE}?moment={id}"),
    };
    let mut not_matched = false;
    let mut decided = false;
    for e in events {
        match e {
            MomentEvent::Received { moment, at } => {
                view.moment_type = moment.moment_type.clone();
                view.provider_id = moment.moment_id.clone();
                view.customer = Some(moment.customer_id.clone());
                view.received_at = Some(at.utc_second());
                view.occurred_at = moment.occurred_at.map(|t| t.utc_second());
                view.payload = Some(serde_json::to_string(&moment.payload).unwrap_or_default());
                if view.at.is_empty() {
                    view.at = at.utc_second();
                }
            }
            MomentEvent::Refused {
                moment_id,
                moment_type,
                customer_id,
                code,
                at,
                ..
            } => {
                view.moment_type = moment_type.clone();
                view.provider_id = moment_id.clone();
                if view.customer.is_none() {
                    view.customer = customer_id.clone();
                }
                view.refusals.push((at.utc_second(), refusal_words(code)));
                if view.at.is_empty() {
                    view.at = at.utc_second();
                }
            }
            MomentEvent::TriggerMatched {
                matches,
                decision_id,
                ..
            } => {
                view.rules = matches
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
                    .collect();
                view.decision = Some(decision_id.to_string());
            }
            MomentEvent::NotMatched { .. } => not_matched = true,
            MomentEvent::Decided { offers, .. } => {
                decided = true;
                view.offers = offers.iter().map(ToString::to_string).collect();
            }
        }
    }
    view.customer_href = view
        .customer
        .as_deref()
        .map(|c| format!("{PAGE}?customer={}", ecohub_http::percent_encode(c)));
    let rules = view
        .rules
        .iter()
        .map(|r| r.rule.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let received = view.received_at.is_some();
    let offered = view.offers.len();
    (view.status, view.outcome, view.class) = match (received, not_matched, view.rules.is_empty()) {
        (false, _, _) => (
            "refused",
            "nothing was triggered and the payload was not kept".to_owned(),
            "rejected",
        ),
        (true, true, _) => (
            "no rule matched",
            "received; no trigger rule matched, so no offer was made".to_owned(),
            "suspended",
        ),
        (true, false, true) => (
            "received",
            "the triggers have not processed it yet".to_owned(),
            "pending",
        ),
        (true, false, false) if !decided => (
            "rules matched",
            format!("matched {rules}; the offers are being decided"),
            "pending",
        ),
        (true, false, false) if offered == 0 => (
            "held back",
            format!(
                "matched {rules}; every offer was held back (contact policies or \
availability)"
            ),
            "suspended",
        ),
        (true, false, false) => (
            "offered",
            format!("matched {rules}; {offered} offer(s) made"),
            "approved",
        ),
    };
    view
}

fn offer_view(state: &OffersState, o: &LedgerOffer, partners: &PartnerNames) -> OfferView {
    let offer = &o.offer;
    let proposition = state
        .index
        .get(offer.proposition_id)
        .and_then(|p| p.version(offer.version).map(|v| v.content.doc.name.clone()))
        .unwrap_or_else(|| format!("proposition {}", offer.proposition_id));
    OfferView {
        id: offer.offer_id.to_string(),
        proposition,
        version: offer.version,
        product: offer.product_code.clone(),
        channel: channel_words(offer.channel),
        placement: offer.placement.clone(),
        price: format!(
            "rate {}%, commission {}%, fees {}{}",
            offer.price.rate_percent,
            offer.price.commission_percent,
            offer.price.fees,
            offer
                .price_rule
                .as_deref()
                .map_or_else(|| " (default price)".to_owned(), |r| format!(" (rule {r})")),
        ),
        personas: if offer.personas.is_empty() {
            "none".to_owned()
        } else {
            offer.personas.join(", ")
        },
        digest: offer.explanation_digest.clone(),
        partners: offer.partners.iter().map(|p| partners.label(*p)).collect(),
        expires: offer.expires_at.utc_second(),
        outcomes: o
            .outcomes
            .iter()
            .map(|x| OutcomeView {
                at: x.at.clone(),
                what: x.what.clone(),
                class: x.class,
            })
            .collect(),
    }
}

fn decision_view(
    state: &OffersState,
    d: &LedgerDecision,
    moments: &BTreeMap<MomentId, Vec<MomentEvent>>,
    partners: &PartnerNames,
) -> DecisionView {
    DecisionView {
        id: d.id.to_string(),
        at: d.at.utc_second(),
        moment: d.moment.and_then(|m| {
            moments
                .get(&m)
                .map(|events| moment_view(m, events, partners))
        }),
        offers: d
            .offers
            .iter()
            .map(|o| offer_view(state, o, partners))
            .collect(),
    }
}

/// Every partner a page names: co-brand partners of offers and propositions, moments'
/// providers.
fn partners_named<'a>(
    decisions: &'a [LedgerDecision],
    moments: impl IntoIterator<Item = &'a [MomentEvent]>,
    listed: &'a [Proposition],
) -> Vec<PartnerId> {
    let mut out: Vec<PartnerId> = decisions
        .iter()
        .flat_map(|d| {
            d.offers
                .iter()
                .flat_map(|o| o.offer.partners.iter().copied())
        })
        .collect();
    out.extend(
        moments
            .into_iter()
            .filter_map(|events| provider_of(events).and_then(|p| PartnerId::parse(p).ok())),
    );
    out.extend(listed.iter().flat_map(Proposition::partners));
    out
}

// ------------------------------------------------------------------ page

fn render(status: StatusCode, view: &TrailPage<'_>) -> HttpResponse {
    ecohub_http::console::html(status, view.render())
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
        moment: String::new(),
        provider: String::new(),
        error: Some(words),
        searched: None,
        moments: None,
        decisions: Vec::new(),
        versions: Vec::new(),
        first_href: None,
        next_href: None,
    }
}

/// The page's address with this search and these positions.
fn href(
    customer: &str,
    after: Option<PropositionId>,
    moments_before: Option<u64>,
    anchor: &str,
) -> String {
    let mut params = Vec::new();
    if !customer.is_empty() {
        params.push(format!(
            "customer={}",
            ecohub_http::percent_encode(customer)
        ));
    }
    if let Some(b) = moments_before {
        params.push(format!("moments_before={b}"));
    }
    if let Some(a) = after {
        params.push(format!("after={a}"));
    }
    if params.is_empty() {
        PAGE.to_owned()
    } else {
        format!("{PAGE}?{}#{anchor}", params.join("&"))
    }
}

/// The moment a search names: the hub's id, or the provider's own id with who sent it.
fn searched_moment(moment: &str, provider: &str) -> Result<(MomentId, String), &'static str> {
    if provider.is_empty() {
        return MomentId::parse(moment)
            .map(|id| (id, format!("moment {moment}")))
            .map_err(|_| {
                "This is not a moment id of the hub (a UUID, as in the partner's webhook \
payload or the answer to POST /moments). If it is the provider's own id of the moment, also say \
who sent it: bank, or the partner's id."
            });
    }
    if provider != BANK && PartnerId::parse(provider).is_err() {
        return Err(
            "Who sent the moment must be bank or a partner id (a UUID). Check it and \
search again.",
        );
    }
    Ok((
        MomentId::of(provider, moment),
        format!("the moment {moment} sent by {provider}"),
    ))
}

/// The offer trail.
pub(crate) async fn page(
    state: web::Data<OffersState>,
    session: Result<StaffSession, StaffSessionError>,
    req: HttpRequest,
) -> HttpResponse {
    let staff = match AREA.person(session) {
        Ok(s) => s,
        Err(r) => return *r,
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
    let moment = query.moment.trim().to_owned();
    let provider = query.provider.trim().to_owned();
    let bad = |customer: String, words: &'static str| {
        let mut view = refusal(Some(&staff), Some(customer), words);
        view.moment = moment.clone();
        view.provider = provider.clone();
        render(StatusCode::BAD_REQUEST, &view)
    };
    let after = match query.after.trim() {
        "" => None,
        a => match PropositionId::parse(a) {
            Ok(a) => Some(a),
            Err(_) => {
                return bad(
                    customer,
                    "This page of the propositions does not exist. Start again from the first \
page.",
                );
            }
        },
    };
    let moments_before = match query.moments_before.trim() {
        "" => None,
        b => match b.parse::<u64>() {
            Ok(b) => Some(b),
            Err(_) => {
                return bad(
                    customer,
                    "This page of the customer's moments does not exist. Start again from \
their newest moments.",
                );
            }
        },
    };
    if !customer.is_empty() && !moment.is_empty() {
        return bad(
            customer,
            "Search by a customer id or by a moment id, not both: the moment's page links to \
its customer's trail.",
        );
    }
    if moment.is_empty() && !provider.is_empty() {
        return bad(
            customer,
            "Who sent a moment only helps with the moment's id: enter the provider's id of the \
moment too.",
        );
    }
    let searched = if moment.is_empty() {
        None
    } else {
        match searched_moment(&moment, &provider) {
            Ok(found) => Some(found),
            Err(words) => return bad(customer, words),
        }
    };
    let unavailable = |e: AppError| {
        tracing::warn!(error = %e, "console offer trail unavailable");
        let mut view = refusal(
            Some(&staff),
            Some(customer.clone()),
            "The hub cannot read the offer records now. Please try again shortly.",
        );
        view.moment = moment.clone();
        view.provider = provider.clone();
        render(StatusCode::SERVICE_UNAVAILABLE, &view)
    };
    // Read everything the page shows, then name its partners in one call.
    let (listed, next) = approvals_page(&state, after);
    let found = match &searched {
        None => None,
        Some((id, _)) => match state.moment_trail(*id).await {
            Ok(events) => Some(events),
            Err(AppError::Refused(crate::domain::OffersError::NotFound)) => None,
            Err(e) => return unavailable(e),
        },
    };
    // The ledger of the customer searched for, or of the moment's customer.
    let ledger_of = if customer.is_empty() {
        found.as_deref().and_then(|events| {
            events.iter().find_map(|e| match e {
                MomentEvent::Received { moment, .. } => Some(moment.customer_id.clone()),
                _ => None,
            })
        })
    } else {
        Some(customer.clone())
    };
    let decisions = match &ledger_of {
        None => Vec::new(),
        Some(c) => match ledger(&state, c).await {
            Ok(d) => d,
            Err(e) => return unavailable(e),
        },
    };
    let moment_decision = searched.as_ref().map(|(id, _)| DecisionId::of_moment(*id));
    let decisions: Vec<LedgerDecision> = match moment_decision {
        Some(d) => decisions.into_iter().filter(|x| x.id == d).collect(),
        None => decisions,
    };
    let decision_moments = match moments_of(&state, &decisions).await {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    let listed_moments = if customer.is_empty() {
        None
    } else {
        match state
            .customer_moments(&customer, moments_before, MOMENTS_PAGE_SIZE)
            .await
        {
            Ok(page) => Some(page),
            Err(e) => return unavailable(e),
        }
    };
    let named = partners_named(
        &decisions,
        decision_moments
            .values()
            .map(Vec::as_slice)
            .chain(found.as_deref())
            .chain(
                listed_moments
                    .iter()
                    .flat_map(|p| p.moments.iter().map(|m| m.events.as_slice())),
            ),
        &listed,
    );
    let partners = PartnerNames::of(&state, &staff, named).await;
    let versions = match versions(&state, listed, &partners).await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    let mut decision_views: Vec<DecisionView> = decisions
        .iter()
        .map(|d| decision_view(&state, d, &decision_moments, &partners))
        .collect();
    let searched = searched.map(|(id, asked)| MomentSearch {
        asked,
        found: found
            .as_deref()
            .map(|events| moment_view(id, events, &partners)),
        decision: decision_views.pop(),
    });
    let moments = listed_moments.map(|page| MomentsList {
        rows: page
            .moments
            .iter()
            .map(|m: &ListedMoment| {
                let mut view = moment_view(m.id, &m.events, &partners);
                view.at = m.at.utc_second();
                view
            })
            .collect(),
        catching_up: page.catching_up,
        first_href: moments_before.map(|_| href(&customer, after, None, "moments")),
        next_href: page
            .next_before
            .map(|b| href(&customer, after, Some(b), "moments")),
    });
    let view = TrailPage {
        title: "Offer trail",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        first_href: after.map(|_| href(&customer, None, moments_before, "approvals")),
        next_href: next.map(|n| href(&customer, Some(n), moments_before, "approvals")),
        customer: Some(customer),
        moment,
        provider,
        error: None,
        searched,
        moments,
        decisions: decision_views,
        versions,
    };
    render(StatusCode::OK, &view)
}
