//! The seed's Globetrotter loan and its catalogue, shared by the domain and HTTP tests.

#![allow(dead_code)]

use serde_json::{Value, json};

/// The attributes the loan's personas and pricing read, as staff define them.
pub fn attributes() -> Vec<(&'static str, Value)> {
    vec![
        (
            "age",
            json!({"type": "number", "description": "Age in years",
                   "source": {"dataset": "customer_profile", "pointer": "/age"}}),
        ),
        (
            "monthly_income",
            json!({"type": "number", "description": "Net monthly income",
                   "source": {"dataset": "customer_profile", "pointer": "/monthly_income"}}),
        ),
        (
            "risk_class",
            json!({"type": "string", "description": "The bank's risk class",
                   "source": {"dataset": "customer_profile", "pointer": "/risk_class"}}),
        ),
        (
            "is_globetrotter",
            json!({"type": "boolean", "description": "Travels abroad often",
                   "source": {"dataset": "customer_profile", "pointer": "/is_globetrotter"}}),
        ),
        (
            "products_held",
            json!({"type": "string_set", "description": "Product codes the customer holds",
                   "source": {"dataset": "customer_profile", "pointer": "/products_held"}}),
        ),
    ]
}

/// The Globetrotter persona's condition.
pub fn globetrotter() -> Value {
    json!({"==": [{"var": "is_globetrotter"}, true]})
}

/// "Prime 30-45".
pub fn prime() -> Value {
    json!({"and": [
        {">=": [{"var": "age"}, 30]},
        {"<=": [{"var": "age"}, 45]},
        {"==": [{"var": "risk_class"}, "low"]}
    ]})
}

/// The seed's loan (FintechOS): Globetrotter, income > 5000, amount > 10000 → 5.3 %, no
/// commission; Globetrotter, income < 5000, amount 5000–10000 → 4.5 %; a default price; life
/// insurance for Globetrotters when amount > 10000; the travel partner's insurance.
pub fn globetrotter_loan(partner_id: &str) -> Value {
    json!({
        "name": "Globetrotter personal loan",
        "description": "A personal loan for customers who travel, with the travel partner's insurance",
        "product": {"kind": "loan", "code": "PL-GLOBE", "name": "Globetrotter loan",
                    "terms": {"term_months": "12-84", "currency": "EUR"}},
        "benefits": [{"partner_id": partner_id, "kind": "insurance",
                      "description": "Travel insurance for the loan's term", "value": "included"}],
        "availability": {"audience": {"all_of": ["globetrotter"]},
                         "channels": ["bank_app", "web", "partner_channel"]},
        "parameters": {"type": "object", "required": ["amount"],
                       "properties": {"amount": {"type": "number", "minimum": 1000, "maximum": 50000},
                                      "term_months": {"type": "integer", "minimum": 12, "maximum": 84}},
                       "additionalProperties": false},
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
    })
}

/// Travel insurance co-branded by `partner_id`, offered when a financial moment triggers it
/// (channel `moment`) and in the bank's app; no audience, no parameters.
pub fn travel_insurance(partner_id: &str) -> Value {
    json!({
        "name": "Trip cover",
        "description": "Travel insurance for the trip you just booked, with the travel partner's lounge pass",
        "product": {"kind": "insurance", "code": "INS-TRIP", "name": "Trip cover",
                    "terms": {"cover_days": "1-90"}},
        "benefits": [{"partner_id": partner_id, "kind": "perk",
                      "description": "Airport lounge pass", "value": "1 visit"}],
        "availability": {"channels": ["moment", "bank_app"]},
        "pricing": {"rules": [], "default": {"rate_percent": 0, "commission_percent": 12, "fees": 19}},
        "contact_policy": {"decline_suppression_days": 30},
        "priority": 5,
        "business_value": 40
    })
}
