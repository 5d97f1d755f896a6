//! Co-brand partners' routes (`offers:read`, `offers:write`): only the propositions they
//! co-brand exist for them; any other is a 404.

use actix_web::{HttpResponse, web};
use ecohub_http::{ApiError, ErrorCode, InteractionId, Problem};
use ecohub_kernel::RequestContext;
use ecohub_security::{Authenticated, OffersReadScope, OffersWriteScope, Principal};
use uuid::Uuid;

use super::dto::*;
use crate::application::OffersState;
use crate::domain::{PartnerId, Proposition, PropositionCommand, PropositionId};

fn partner_of(principal: &Principal) -> Result<PartnerId, ApiError> {
    principal
        .partner_id
        .as_deref()
        .and_then(|p| PartnerId::parse(p).ok())
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Forbidden).detail("only partner clients co-brand propositions")
        })
}

/// The proposition if `partner` co-brands any of its versions.
async fn cobranded(
    state: &OffersState,
    id: Uuid,
    partner: PartnerId,
) -> Result<Proposition, ApiError> {
    let p = state.proposition(PropositionId::from_uuid(id)).await?;
    if !p.partners().contains(&partner) {
        return Err(super::not_found());
    }
    Ok(p)
}

/// The propositions the calling partner co-brands, with all their versions.
#[utoipa::path(
    get, path = "/partner/propositions", tag = "co-branding", operation_id = "list_cobranded_propositions",
    responses(
        (status = 200, description = "The propositions this partner co-brands", body = PropositionList),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:read` or is not a partner's", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:read"])),
)]
pub(crate) async fn list(
    state: web::Data<OffersState>,
    auth: Authenticated<OffersReadScope>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let list = state.index.list(Some(partner), None, usize::MAX);
    Ok(HttpResponse::Ok().json(PropositionList {
        propositions: list.iter().map(PropositionView::from).collect(),
    }))
}

/// A proposition the calling partner co-brands (exact); any other is a 404.
#[utoipa::path(
    get, path = "/partner/propositions/{id}", tag = "co-branding", operation_id = "get_cobranded_proposition",
    params(("id" = Uuid, Path, description = "The proposition")),
    responses(
        (status = 200, description = "The proposition", body = PropositionView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:read` or is not a partner's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition co-branded by this partner", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:read"])),
)]
pub(crate) async fn show(
    state: web::Data<OffersState>,
    auth: Authenticated<OffersReadScope>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let p = cobranded(&state, path.into_inner(), partner).await?;
    Ok(HttpResponse::Ok().json(PropositionView::from(&p)))
}

/// Accepts co-branding a version (submitted, approved or published). Idempotent.
#[utoipa::path(
    put, path = "/partner/propositions/{id}/versions/{version}/acceptance", tag = "co-branding", operation_id = "accept_cobranding",
    params(("id" = Uuid, Path, description = "The proposition"), ("version" = u32, Path, description = "The version")),
    responses(
        (status = 200, description = "Accepted", body = PropositionView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:write` or is not a partner's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition or version co-branded by this partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The version is a draft or retired, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:write"])),
)]
pub(crate) async fn accept(
    state: web::Data<OffersState>,
    auth: Authenticated<OffersWriteScope>,
    interaction: InteractionId,
    path: web::Path<(Uuid, u32)>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let (id, version) = path.into_inner();
    cobranded(&state, id, partner).await?;
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let p = state
        .command(
            PropositionId::from_uuid(id),
            PropositionCommand::AcceptCoBranding { version, partner },
            &ctx,
        )
        .await?;
    Ok(HttpResponse::Ok().json(PropositionView::from(&p)))
}

/// Withdraws an acceptance, with a reason: a published version is no longer offered.
#[utoipa::path(
    delete, path = "/partner/propositions/{id}/versions/{version}/acceptance", tag = "co-branding", operation_id = "withdraw_cobranding",
    params(("id" = Uuid, Path, description = "The proposition"), ("version" = u32, Path, description = "The version")),
    request_body = ReasonRequest,
    responses(
        (status = 200, description = "Withdrawn", body = PropositionView),
        (status = 400, description = "A path id that is not a UUID (`invalid_path`), or: Missing or invalid reason", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:write` or is not a partner's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such proposition or version co-branded by this partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not accepted, or a concurrent change", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:write"])),
)]
pub(crate) async fn withdraw(
    state: web::Data<OffersState>,
    auth: Authenticated<OffersWriteScope>,
    interaction: InteractionId,
    path: web::Path<(Uuid, u32)>,
    body: web::Json<ReasonRequest>,
) -> Result<HttpResponse, ApiError> {
    let partner = partner_of(auth.principal())?;
    let (id, version) = path.into_inner();
    cobranded(&state, id, partner).await?;
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let p = state
        .command(
            PropositionId::from_uuid(id),
            PropositionCommand::WithdrawCoBranding {
                version,
                partner,
                reason: body.into_inner().reason,
            },
            &ctx,
        )
        .await?;
    Ok(HttpResponse::Ok().json(PropositionView::from(&p)))
}

/// What a co-brand partner's app asks for its customer (the channel is `partner_channel`).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerDecisionBody {
    /// The slot in the partner's app.
    #[schema(min_length = 1, max_length = 40, pattern = "^[a-z0-9_]{1,40}$")]
    pub placement: String,
    /// Request parameters (`amount`, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// At most this many offers (default 3).
    #[serde(default = "three")]
    #[schema(minimum = 1, maximum = 100)]
    pub max_offers: u32,
}

fn three() -> u32 {
    3
}

/// The customer of the calling partner's consent-bound token, if that consent lets the partner
/// receive offers (`ReadOffers`); otherwise 403.
async fn consented_customer(
    state: &OffersState,
    principal: &Principal,
) -> Result<(PartnerId, String), ApiError> {
    let partner = partner_of(principal)?;
    let refused = || {
        ApiError::new(ErrorCode::Forbidden)
            .detail("a token bound to a consent granting ReadOffers to this partner is required")
    };
    let consent = principal.consent_id.as_deref().ok_or_else(refused)?;
    let customer = state
        .customer_for_partner(consent, partner)
        .await?
        .ok_or_else(refused)?;
    Ok((partner, customer))
}

/// A co-brand partner's app asks which offers to show the customer of its consent (permission
/// `ReadOffers`): only propositions it co-brands, channel `partner_channel`, the contact
/// policies applied and every offer recorded before the answer, as for the bank's channels.
/// The customer is known to the partner only by its pairwise id (the token's subject).
#[utoipa::path(
    post, path = "/partner/decisions", tag = "co-branding", operation_id = "partner_decide_offers",
    request_body = PartnerDecisionBody,
    responses(
        (status = 200, description = "The offers, best first", body = crate::decisions::Decision),
        (status = 400, description = "Invalid input; the failing path is named (`invalid_request`), or a body that is not the expected JSON (`invalid_json`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token (a revoked or expired consent included)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:read`, is not a partner's, or is not bound to a consent granting `ReadOffers` to this partner", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:read"])),
)]
pub(crate) async fn decide(
    state: web::Data<OffersState>,
    auth: Authenticated<OffersReadScope>,
    interaction: InteractionId,
    body: web::Json<PartnerDecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let (partner, customer) = consented_customer(&state, auth.principal()).await?;
    let body = body.into_inner();
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let decision = state
        .decide(
            crate::decisions::DecisionRequest {
                customer_id: customer,
                channel: crate::domain::Channel::PartnerChannel,
                placement: body.placement,
                params: body.params,
                max_offers: body.max_offers,
                explain: false,
                co_brand: Some(partner),
                trigger: None,
            },
            &ctx,
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(decision))
}

/// A co-brand partner's answer for its customer to an offer.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerResponseBody {
    /// `viewed`, `accepted` or `declined`.
    pub response: crate::domain::Response,
}

/// A co-brand partner's app reports what the customer of its consent did with an offer the
/// partner co-brands (idempotent by offer; a conflicting answer is 409).
#[utoipa::path(
    post, path = "/partner/offers/{offer_id}/response", tag = "co-branding", operation_id = "partner_report_offer_response",
    params(("offer_id" = Uuid, Path, description = "The offer")),
    request_body = PartnerResponseBody,
    responses(
        (status = 200, description = "Recorded (or already so)", body = super::decisions::OfferStatusView),
        (status = 400, description = "Invalid input, or the offer id is not a UUID (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Token lacks `offers:write`, is not a partner's, or is not bound to a consent granting `ReadOffers`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such offer of this customer co-branded by this partner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered otherwise, or expired (`conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body of another media type", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Event store unavailable", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["offers:write"])),
)]
pub(crate) async fn respond(
    state: web::Data<OffersState>,
    auth: Authenticated<OffersWriteScope>,
    interaction: InteractionId,
    path: web::Path<Uuid>,
    body: web::Json<PartnerResponseBody>,
) -> Result<HttpResponse, ApiError> {
    let (partner, customer) = consented_customer(&state, auth.principal()).await?;
    let ctx = RequestContext::acting_as(auth.principal().actor(), interaction);
    let record = state
        .respond_as_partner(
            &customer,
            partner,
            crate::domain::OfferId::from_uuid(path.into_inner()),
            body.into_inner().response,
            &ctx,
        )
        .await?;
    Ok(
        HttpResponse::Ok().json(super::decisions::OfferStatusView::of(
            &record,
            state.clock.now(),
        )),
    )
}
