//! The customer's offer preferences: the API (`/customer/offer-preferences`, session cookie and
//! `x-csrf-token`) and the page (`/dashboard/offers`, a form carrying the session's CSRF
//! token), both server-side, no JavaScript.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use ecohub_http::{ApiError, ErrorCode, InteractionId, Problem};
use ecohub_kernel::RequestContext;
use ecohub_security::{CustomerSession, CustomerSessionError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::application::OffersState;
use crate::domain::OfferPreferences;

/// Where a page request without a session is sent.
pub const LOGIN_REDIRECT: &str = "/login?return_to=/dashboard/offers";

/// The customer's choice about personalised offers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferPreferencesView {
    /// Whether the bank may use the customer's profile to choose and price offers (`false`:
    /// the customer objected, GDPR Art. 21).
    pub personalised_offers: bool,
    /// When the choice last changed (RFC 3339); absent if it never did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
}

impl From<&OfferPreferences> for OfferPreferencesView {
    fn from(p: &OfferPreferences) -> Self {
        Self {
            personalised_offers: !p.objected,
            changed_at: p.changed_at.map(|t| t.to_rfc3339()),
        }
    }
}

/// A change of the choice.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferPreferencesRequest {
    /// `false` to object to personalised offers, `true` to allow them again.
    pub personalised_offers: bool,
}

/// What the page's form sends.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PreferencesForm {
    /// The session's CSRF token.
    pub csrf_token: Option<String>,
    /// `object` or `allow`.
    pub personalised_offers: PersonalisedChoice,
}

/// The form's choice.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonalisedChoice {
    /// Object to personalised offers.
    Object,
    /// Allow them.
    Allow,
}

pub(crate) fn customer_of(session: &CustomerSession) -> Result<&str, ApiError> {
    let id = session.customer.customer_id.as_str();
    if id.is_empty() {
        return Err(ApiError::new(ErrorCode::Unauthorized).detail("sign in as a customer first"));
    }
    Ok(id)
}

/// The signed-in customer's choice about personalised offers.
#[utoipa::path(
    get, path = "/customer/offer-preferences", tag = "customer-offers", operation_id = "get_my_offer_preferences",
    responses(
        (status = 200, description = "The choice", body = OfferPreferencesView),
        (status = 401, description = "No valid customer session", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn show(
    state: web::Data<OffersState>,
    session: CustomerSession,
) -> Result<HttpResponse, ApiError> {
    let p = state.preferences(customer_of(&session)?).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(OfferPreferencesView::from(&p)))
}

/// Objects to, or allows again, personalised offers: from the next request on, an objecting
/// customer is not profiled and offered nothing personalised. Needs `x-csrf-token`.
#[utoipa::path(
    put, path = "/customer/offer-preferences", tag = "customer-offers", operation_id = "set_my_offer_preferences",
    request_body = OfferPreferencesRequest,
    params(("x-csrf-token" = String, Header, description = "The session's CSRF token")),
    responses(
        (status = 200, description = "The choice now", body = OfferPreferencesView),
        (status = 400, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid customer session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn set(
    state: web::Data<OffersState>,
    session: CustomerSession,
    req: HttpRequest,
    interaction: InteractionId,
    body: web::Json<OfferPreferencesRequest>,
) -> Result<HttpResponse, actix_web::Error> {
    session.check_csrf_header(&req)?;
    let customer = customer_of(&session)?;
    let ctx = RequestContext::customer(customer, interaction);
    let p = state
        .set_personalised_offers(customer, body.personalised_offers, &ctx)
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(OfferPreferencesView::from(&p)))
}

/// The page (`templates/offers.html`, extending the shared layout; every value escaped).
#[derive(Template)]
#[template(path = "offers.html")]
struct OffersPage<'a> {
    name: &'a str,
    csrf_token: &'a str,
    objected: bool,
    changed_at: Option<String>,
    offers: Vec<OfferCard>,
    /// The customer's answers, newest first, in words.
    answers: Vec<String>,
}

/// How many answers the page lists.
const ANSWERS_SHOWN: usize = 5;

/// One open offer as the page shows it.
struct OfferCard {
    id: String,
    name: String,
    description: String,
    product: String,
    rate: String,
    commission: Option<String>,
    fees: Option<String>,
    benefits: Vec<String>,
    /// Plain-words "why you see this".
    why: Vec<String>,
    /// When it was made.
    arrived: String,
    /// Sent when a financial moment triggered it: the rule's reason.
    moment: Option<String>,
    expires: String,
}

fn percent(v: f64) -> String {
    format!("{} %", (v * 100.0).round() / 100.0)
}

/// The customer's open offers, with what the page shows of each: the proposition's published
/// texts, the price offered, the partners' benefits, and why.
async fn cards(
    state: &OffersState,
    customer: &str,
) -> Result<(Vec<OfferCard>, Vec<String>), ApiError> {
    let now = state.clock.now();
    let ledger = state.ledger(customer).await?;
    let name_of = |r: &crate::domain::OfferRecord| {
        state
            .index
            .get(r.offer.proposition_id)
            .and_then(|p| {
                p.version(r.offer.version)
                    .map(|v| v.content.doc.name.clone())
            })
            .unwrap_or_else(|| "An offer that is no longer published".to_owned())
    };
    let answers = ledger
        .answered()
        .into_iter()
        .take(ANSWERS_SHOWN)
        .map(|r| match r.status {
            crate::domain::OfferStatus::Accepted => format!(
                "You accepted {} on {}. We have started your application and will be in touch; \
                 any partner benefit is passed on to the partner.",
                name_of(r),
                human_time(r.changed_at)
            ),
            _ => format!(
                "You declined {} on {}. We will not offer it to you again for a while.",
                name_of(r),
                human_time(r.changed_at)
            ),
        })
        .collect();
    let personas = state.personas().await?;
    let mut out = Vec::new();
    for r in ledger.open_offers(now) {
        let o = &r.offer;
        let Some(content) = state
            .index
            .get(o.proposition_id)
            .and_then(|p| p.version(o.version).map(|v| v.content.clone()))
        else {
            continue;
        };
        let doc = &content.doc;
        let titles: Vec<String> = o
            .personas
            .iter()
            .map(|p| {
                personas
                    .personas
                    .get(p)
                    .map_or_else(|| p.clone(), |x| x.latest().title.clone())
            })
            .collect();
        let mut why = Vec::new();
        if let Some(m) = &o.moment {
            why.push(format!(
                "It was sent to you when this happened: {}.",
                m.reason.trim_end_matches('.')
            ));
        }
        if titles.is_empty() {
            why.push("This offer is open to every customer of the bank.".to_owned());
        } else {
            why.push(format!(
                "You see it because your profile matches: {}.",
                titles.join(", ")
            ));
        }
        why.push(match &o.price_rule {
            Some(rule) => format!("Your price follows the rule “{rule}”."),
            None => "You get the standard price.".to_owned(),
        });
        out.push(OfferCard {
            id: o.offer_id.to_string(),
            name: doc.name.clone(),
            description: doc.description.clone(),
            product: doc.product.name.clone(),
            rate: percent(o.price.rate_percent),
            commission: (o.price.commission_percent > 0.0)
                .then(|| percent(o.price.commission_percent)),
            fees: (o.price.fees > 0.0).then(|| format!("{}", o.price.fees)),
            benefits: doc
                .benefits
                .iter()
                .map(|b| {
                    if b.value.is_empty() {
                        b.description.clone()
                    } else {
                        format!("{} ({})", b.description, b.value)
                    }
                })
                .collect(),
            why,
            arrived: human_time(r.presented_at),
            moment: o.moment.as_ref().map(|m| m.reason.clone()),
            expires: human_time(o.expires_at),
        });
    }
    Ok((out, answers))
}

/// A time as a customer reads it: `3 December 2026, 08:39 UTC`.
fn human_time(t: ecohub_kernel::Timestamp) -> String {
    t.in_words()
}

fn unauthenticated(e: CustomerSessionError) -> Result<HttpResponse, actix_web::Error> {
    match e {
        CustomerSessionError::Missing | CustomerSessionError::Invalid(_) => {
            Ok(ecohub_http::see_other(LOGIN_REDIRECT))
        }
        e => Err(e.into()),
    }
}

/// The customer's offers page: their open offers (price, benefits, why they see each, Accept
/// and Decline buttons), a button asking for offers, and the switch to object to
/// personalised offers.
#[utoipa::path(
    get, path = "/dashboard/offers", tag = "customer-offers", operation_id = "offers_page",
    responses(
        (status = 200, description = "The page (text/html)", content_type = "text/html"),
        (status = 303, description = "Not signed in: to `/login?return_to=/dashboard/offers`"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn page(
    state: web::Data<OffersState>,
    session: Result<CustomerSession, CustomerSessionError>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    let customer = customer_of(&session)?;
    let p = state.preferences(customer).await.map_err(ApiError::from)?;
    let (offers, answers) = cards(&state, customer).await?;
    let html = OffersPage {
        name: &session.customer.display_name,
        csrf_token: &session.customer.csrf_token,
        objected: p.objected,
        changed_at: p.changed_at.map(human_time),
        offers,
        answers,
    }
    .render()
    .map_err(|e| ApiError::internal(format!("cannot render the offers page: {e}")))?;
    Ok(ecohub_http::html_page(html))
}

/// The page's form: objects to or allows personalised offers, then back to the page.
#[utoipa::path(
    post, path = "/dashboard/offers/preferences", tag = "customer-offers", operation_id = "offers_page_set_preferences",
    request_body(content = PreferencesForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Saved: back to `/dashboard/offers` (or, without a session, to the sign-in page)"),
        (status = 400, description = "Invalid form", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Changed concurrently", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a form", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn submit(
    state: web::Data<OffersState>,
    session: Result<CustomerSession, CustomerSessionError>,
    interaction: InteractionId,
    form: web::Form<PreferencesForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    session.check_csrf(form.csrf_token.as_deref())?;
    let customer = customer_of(&session)?;
    let ctx = RequestContext::customer(customer, interaction);
    let allowed = matches!(form.personalised_offers, PersonalisedChoice::Allow);
    state
        .set_personalised_offers(customer, allowed, &ctx)
        .await
        .map_err(ApiError::from)?;
    Ok(ecohub_http::see_other("/dashboard/offers"))
}

/// The page's "Show me offers" form.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct DecideForm {
    /// The session's CSRF token.
    pub csrf_token: Option<String>,
}

/// The customer asks for offers on their page: a decision for the web channel (placement
/// `offers_page`, at most 3 offers, the contact policies applied), then back to the page.
#[utoipa::path(
    post, path = "/dashboard/offers/decide", tag = "customer-offers", operation_id = "offers_page_decide",
    request_body(content = DecideForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Decided: back to `/dashboard/offers` (or, without a session, to the sign-in page)"),
        (status = 400, description = "Invalid form", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a form", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn decide(
    state: web::Data<OffersState>,
    session: Result<CustomerSession, CustomerSessionError>,
    interaction: InteractionId,
    form: web::Form<DecideForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    session.check_csrf(form.csrf_token.as_deref())?;
    let customer = customer_of(&session)?;
    let ctx = RequestContext::customer(customer, interaction);
    state
        .decide(
            crate::decisions::DecisionRequest {
                customer_id: customer.to_owned(),
                channel: crate::domain::Channel::Web,
                placement: "offers_page".into(),
                params: serde_json::Map::new(),
                max_offers: 3,
                explain: false,
                co_brand: None,
                trigger: None,
            },
            &ctx,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(ecohub_http::see_other("/dashboard/offers#offers"))
}

/// The page's Accept and Decline buttons.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct RespondForm {
    /// The session's CSRF token.
    pub csrf_token: Option<String>,
    /// `accepted` or `declined`.
    pub response: crate::domain::Response,
}

/// The customer accepts or declines one of their offers on the page, then back to it.
#[utoipa::path(
    post, path = "/dashboard/offers/{offer_id}/respond", tag = "customer-offers", operation_id = "offers_page_respond",
    params(("offer_id" = Uuid, Path, description = "The offer")),
    request_body(content = RespondForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Recorded: back to `/dashboard/offers` (or, without a session, to the sign-in page)"),
        (status = 400, description = "Invalid form, or the offer id is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF token missing or wrong", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer of this customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered otherwise, or expired", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a form", body = Problem, content_type = "application/problem+json"),
    ),
    security(("customer_session" = [])),
)]
pub(crate) async fn respond(
    state: web::Data<OffersState>,
    session: Result<CustomerSession, CustomerSessionError>,
    interaction: InteractionId,
    path: web::Path<uuid::Uuid>,
    form: web::Form<RespondForm>,
) -> Result<HttpResponse, actix_web::Error> {
    let session = match session {
        Ok(s) => s,
        Err(e) => return unauthenticated(e),
    };
    session.check_csrf(form.csrf_token.as_deref())?;
    let customer = customer_of(&session)?;
    let ctx = RequestContext::customer(customer, interaction);
    state
        .respond(
            customer,
            crate::domain::OfferId::from_uuid(path.into_inner()),
            form.response,
            crate::domain::Reporter::Customer,
            &ctx,
        )
        .await
        .map_err(ApiError::from)?;
    Ok(ecohub_http::see_other("/dashboard/offers#offers"))
}
