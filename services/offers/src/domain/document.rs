//! The proposition document, version 1: what staff write to describe one version of a
//! proposition. It is a public contract twice over: the body of the staff API and the
//! `content` stored in `PropositionDrafted`/`PropositionDraftRevised` (normalised: every
//! persona pinned to a version). [`super::proposition::PropositionContent`] is the checked,
//! compiled domain form built from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The kind of bank product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProductKind {
    /// A loan.
    Loan,
    /// A card.
    Card,
    /// A current account.
    Account,
    /// A savings product.
    Savings,
    /// An insurance product.
    Insurance,
    /// A mortgage.
    Mortgage,
}

/// The kind of a partner benefit or an add-on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BenefitKind {
    /// Insurance cover.
    Insurance,
    /// A discount.
    Discount,
    /// Cashback.
    Cashback,
    /// Any other perk.
    Perk,
}

/// Where a proposition may be offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The bank's mobile app.
    BankApp,
    /// The bank's website.
    Web,
    /// A branch.
    Branch,
    /// A co-brand partner's own channel.
    PartnerChannel,
    /// Sent when a financial moment triggers it (ADR 0026): to the co-brand partners'
    /// webhooks, the customer's offer inbox and the bank's channels. A proposition is
    /// triggered only if it lists this channel.
    Moment,
}

/// The bank product of a proposition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductDoc {
    /// Its kind.
    pub kind: ProductKind,
    /// The bank's product code.
    #[schema(schema_with = super::document_schema::product_code)]
    pub code: String,
    /// Its name as customers see it.
    #[schema(schema_with = super::document_schema::product_name)]
    pub name: String,
    /// Contractual terms, by name (`{"term_months": "12-60"}`).
    #[serde(default)]
    #[schema(schema_with = super::document_schema::terms)]
    pub terms: BTreeMap<String, String>,
}

/// A partner's benefit bundled with the product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BenefitDoc {
    /// The co-brand partner (it must accept each version before it is published).
    #[schema(schema_with = super::document_schema::partner_id)]
    pub partner_id: String,
    /// Its kind.
    pub kind: BenefitKind,
    /// What the customer gets.
    #[schema(schema_with = super::document_schema::text_500)]
    pub description: String,
    /// Its value as shown ("12 months free", "10 %").
    #[schema(schema_with = super::document_schema::text_200)]
    pub value: String,
}

/// Who may be offered the proposition: persona names combined.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceDoc {
    /// The customer matches every one of these.
    #[serde(default)]
    pub all_of: Vec<String>,
    /// …and at least one of these (when any are listed).
    #[serde(default)]
    pub any_of: Vec<String>,
    /// …and none of these.
    #[serde(default)]
    pub none_of: Vec<String>,
}

/// Where and when the proposition may be offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityDoc {
    /// Who.
    #[serde(default)]
    pub audience: AudienceDoc,
    /// Through which channels (at least one).
    #[schema(min_items = 1)]
    pub channels: Vec<Channel>,
    /// From when (RFC 3339), if not at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Until when (RFC 3339, exclusive), if it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// A price: what a pricing rule or the default gives.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceDoc {
    /// Interest or premium rate, in percent (0 to 100).
    #[schema(minimum = 0, maximum = 100)]
    pub rate_percent: f64,
    /// Commission, in percent (0 to 100).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub commission_percent: f64,
    /// Fixed fees, in the product's currency (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub fees: f64,
}

/// One pricing dimension: when its condition holds (first match wins), its price applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingRuleDoc {
    /// Its name, shown in explanations.
    #[schema(schema_with = super::document_schema::text_200)]
    pub name: String,
    /// A condition (JSONLogic) over attributes, `params.<name>` and `personas.<name>`.
    #[schema(schema_with = super::document_schema::condition)]
    pub condition: Value,
    /// The price.
    #[serde(flatten)]
    pub price: PriceDoc,
}

/// Pricing: rules in order, then the default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingDoc {
    /// Evaluated in order; the first whose condition holds gives the price.
    #[serde(default)]
    pub rules: Vec<PricingRuleDoc>,
    /// The price when no rule holds.
    pub default: PriceDoc,
}

/// An add-on included when its condition holds (life insurance for large loans, a partner
/// discount).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddOnDoc {
    /// Its name.
    #[schema(schema_with = super::document_schema::text_200)]
    pub name: String,
    /// Its kind.
    pub kind: BenefitKind,
    /// The partner providing it, when it is a partner's (a co-brand partner then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = super::document_schema::optional_partner_id)]
    pub partner_id: Option<String>,
    /// What the customer gets.
    #[schema(schema_with = super::document_schema::text_500)]
    pub description: String,
    /// When it is included (JSONLogic, as pricing conditions).
    #[schema(schema_with = super::document_schema::condition)]
    pub condition: Value,
}

/// One version of a proposition, as staff write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Globetrotter personal loan",
    "description": "A personal loan for customers who travel, with the travel partner's insurance",
    "product": {"kind": "loan", "code": "PL-GLOBE", "name": "Globetrotter loan",
                "terms": {"term_months": "12-84", "currency": "EUR"}},
    "benefits": [{"partner_id": "0190a000-0000-7000-8000-000000000001", "kind": "insurance",
                  "description": "Travel insurance for the loan's term", "value": "included"}],
    "availability": {"audience": {"all_of": ["globetrotter"]}, "channels": ["bank_app", "web"]},
    "parameters": {"type": "object", "required": ["amount"],
                   "properties": {"amount": {"type": "number", "minimum": 1000, "maximum": 50000}}},
    "pricing": {
        "rules": [
            {"name": "globetrotter, income over 5000, amount over 10000",
             "condition": {"and": [{"var": "personas.globetrotter"},
                                   {">": [{"var": "monthly_income"}, 5000]},
                                   {">": [{"var": "params.amount"}, 10000]}]},
             "rate_percent": 5.3, "commission_percent": 0},
            {"name": "globetrotter, income under 5000, amount 5000 to 10000",
             "condition": {"and": [{"var": "personas.globetrotter"},
                                   {"<": [{"var": "monthly_income"}, 5000]},
                                   {"<=": [5000, {"var": "params.amount"}, 10000]}]},
             "rate_percent": 4.5}
        ],
        "default": {"rate_percent": 7.9, "commission_percent": 1, "fees": 50}
    },
    "add_ons": [{"name": "life insurance", "kind": "insurance",
                 "description": "Life insurance covering the loan",
                 "condition": {"and": [{"var": "personas.globetrotter"},
                                       {">": [{"var": "params.amount"}, 10000]}]}}],
    "priority": 10,
    "business_value": 250
}))]
pub struct PropositionDoc {
    /// Its name ("Globetrotter personal loan").
    #[schema(schema_with = super::document_schema::text_200)]
    pub name: String,
    /// What it is.
    #[schema(schema_with = super::document_schema::text_2000)]
    pub description: String,
    /// The bank product.
    pub product: ProductDoc,
    /// Partner benefits (each partner co-brands the proposition).
    #[serde(default)]
    pub benefits: Vec<BenefitDoc>,
    /// Who, where, when.
    pub availability: AvailabilityDoc,
    /// The request parameters a decision takes (`amount`, `term_months`), as a JSON Schema
    /// of an object whose properties are numbers, integers, strings or booleans.
    #[serde(default = "empty_parameters")]
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// Pricing.
    pub pricing: PricingDoc,
    /// Conditional add-ons.
    #[serde(default)]
    pub add_ons: Vec<AddOnDoc>,
    /// Ranking priority (higher first), 0 to 1000.
    #[serde(default, deserialize_with = "ecohub_kernel::integer::u32")]
    #[schema(maximum = 1000)]
    pub priority: u32,
    /// Business value used by ranking (≥ 0).
    #[serde(default)]
    #[schema(minimum = 0)]
    pub business_value: f64,
    /// Its own contact limits; each one absent follows the global policy (`[offers.policy]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_policy: Option<super::contact::PropositionPolicy>,
    /// The persona versions this version is pinned to, by name. On input, a persona used
    /// but not listed is pinned to its latest version.
    #[serde(default, deserialize_with = "ecohub_kernel::integer::map_u32")]
    pub personas: BTreeMap<String, u32>,
}

fn empty_parameters() -> Value {
    serde_json::json!({"type": "object", "properties": {}})
}
