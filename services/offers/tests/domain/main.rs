//! Domain tests: given/when/then over the offers aggregates, and evaluations of the seed's
//! Globetrotter loan.

#[path = "../common/fixtures.rs"]
mod fixtures;

mod catalogue;
mod contacts;
mod customer_moments;
mod evaluation;
mod moments;
mod properties;
mod proposition;
mod ranking;

use ecohub_kernel::{Aggregate, PartnerId, Timestamp};
use ecohub_offers::domain::*;
use serde_json::Value;

pub const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

/// The fixture attribute catalogue and the personas `globetrotter` and `prime` (version 1).
pub fn catalogues() -> (AttributeCatalogue, PersonaCatalogue) {
    let mut attributes = AttributeCatalogue::default();
    for (name, body) in fixtures::attributes() {
        let definition = AttributeDefinition::new(
            name.to_owned(),
            serde_json::from_value(body["type"].clone()).unwrap(),
            body["description"].as_str().unwrap().to_owned(),
            serde_json::from_value(body["source"].clone()).unwrap(),
        )
        .unwrap();
        for e in attributes
            .decide(
                CatalogueCommand::DefineAttribute {
                    definition,
                    by: "client:pm-1".into(),
                },
                NOW,
            )
            .unwrap()
        {
            attributes = attributes.evolve(&e);
        }
    }
    let mut vocabulary = Vocabulary::new();
    for a in attributes.attributes.values() {
        vocabulary.insert(a.definition.name.clone(), a.definition.r#type.into());
    }
    let mut personas = PersonaCatalogue::default();
    for (name, rule) in [
        ("globetrotter", fixtures::globetrotter()),
        ("prime", fixtures::prime()),
    ] {
        let condition = Condition::parse(&rule, &vocabulary).unwrap();
        for e in personas
            .decide(
                PersonaCommand::DefinePersona {
                    name: name.into(),
                    title: name.into(),
                    description: format!("the {name} persona"),
                    condition,
                    by: "client:pm-1".into(),
                },
                NOW,
            )
            .unwrap()
        {
            personas = personas.evolve(&e);
        }
    }
    (attributes, personas)
}

/// A co-brand partner id.
pub fn partner() -> PartnerId {
    PartnerId::parse("0190a000-0000-7000-8000-000000000001").unwrap()
}

/// The loan's content, checked against the fixture catalogues.
pub fn loan_content(doc: Value) -> PropositionContent {
    let (a, p) = catalogues();
    PropositionContent::check(serde_json::from_value(doc).unwrap(), &a, &p).unwrap()
}

/// The seed's loan, co-branded by [`partner`].
pub fn loan() -> PropositionContent {
    loan_content(fixtures::globetrotter_loan(&partner().to_string()))
}
