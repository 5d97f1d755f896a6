//! The OpenAPI document of the offers service; the hub merges it into its own (the `bearer`
//! scheme is declared by the other services' documents).

use utoipa::OpenApi;

use super::customer::{
    DecideForm, OfferPreferencesRequest, OfferPreferencesView, PersonalisedChoice, PreferencesForm,
    RespondForm,
};
use super::decisions::{DecisionBody, MyOffers, MyResponseBody, OfferStatusView, ResponseBody};
use super::dto::*;
use super::reports::{FunnelPage, FunnelRowView, ReportFormat};
use super::{customer, decisions, moments, partner, reports, staff};
use crate::decisions::{DecidedOffer, Decision};
use crate::domain::HeldBack;
use crate::domain::{
    AddOnDoc, AddOnOutcome, AttributeSource, AttributeType, AudienceDoc, AvailabilityDoc,
    BenefitDoc, BenefitKind, Channel, Evaluation, Exclusion, Explanation, OutcomeCounts,
    PersonaMatch, PriceDoc, PriceOutcome, PricingDoc, PricingRuleDoc, ProductDoc, ProductKind,
    Propensity, PropositionDoc, PropositionPolicy, Response, RuleOutcome, VersionStatus,
};

// Financial moments' staff routes and bodies (`staff_moments::StaffMomentsApi`), merged in.
use super::staff_moments::MergeStaffMoments;

/// Every offers route, its bodies and problem responses.
#[derive(OpenApi)]
#[openapi(
    modifiers(&MergeStaffMoments),
    paths(
        staff::list_attributes,
        staff::define_attribute,
        staff::list_personas,
        staff::show_persona,
        staff::define_persona,
        staff::dry_run_persona,
        staff::list_propositions,
        staff::create_proposition,
        staff::show_proposition,
        staff::history,
        staff::dry_run,
        staff::draft_version,
        staff::revise_draft,
        staff::transition,
        partner::list,
        partner::show,
        partner::accept,
        partner::withdraw,
        partner::decide,
        partner::respond,
        customer::show,
        customer::set,
        customer::page,
        customer::submit,
        customer::decide,
        customer::respond,
        decisions::decide,
        decisions::report,
        decisions::mine,
        decisions::respond_mine,
        reports::funnel,
        moments::publish,
        moments::show,
        moments::triggered,
    ),
    components(schemas(
        AttributeRequest, AttributeView, AttributeList, AttributeSource, AttributeType,
        PersonaRequest, PersonaVersionView, PersonaView, PersonaList, PersonaDryRunRequest,
        PersonaDryRunView, PersonaMatch, Explanation,
        PropositionDoc, ProductDoc, ProductKind, BenefitDoc, BenefitKind, AudienceDoc,
        AvailabilityDoc, Channel, PriceDoc, PricingRuleDoc, PricingDoc, AddOnDoc,
        VersionStatus, VersionView, PropositionView, PropositionList, ReasonRequest,
        HistoryItem, HistoryView, DryRunRequest, DryRunView, Evaluation, Exclusion,
        PriceOutcome, RuleOutcome, AddOnOutcome, Created, OfferPreferencesView,
        OfferPreferencesRequest, PreferencesForm, PersonalisedChoice,
        PropositionPolicy, DecisionBody, Decision, DecidedOffer, HeldBack, Propensity,
        OutcomeCounts, ResponseBody, Response, OfferStatusView, MyOffers, MyResponseBody,
        FunnelPage, FunnelRowView, ReportFormat, crate::funnel::FunnelCounts, DecideForm,
        RespondForm, super::partner::PartnerDecisionBody, super::partner::PartnerResponseBody,
        super::moments::MomentBody, super::moments::MomentView, super::moments::TriggeredOffer,
        crate::domain::MomentRef,
    )),
    tags(
        (name = "offers", description = "Product managers: attributes, personas, propositions, versions, approval, dry runs"),
        (name = "co-branding", description = "Co-brand partners: the propositions they co-brand, acceptance"),
        (name = "offer-decisions", description = "The bank's channels: deciding offers for a customer, reporting responses"),
        (name = "financial-moments", description = "Partners and the bank publish customers' financial moments; triggered offers for the bank's channels"),
        (name = "customer-offers", description = "Customers: their offers, accepting and declining, objecting to personalised offers (GDPR Art. 21)"),
    ),
)]
pub struct OffersApi;
