//! The attribute and persona catalogues.

use ecohub_kernel::Aggregate;
use ecohub_kernel::testing::given;
use ecohub_offers::domain::*;
use serde_json::json;

use super::{NOW, catalogues};

fn definition(t: AttributeType, description: &str) -> AttributeDefinition {
    AttributeDefinition::new(
        "age".into(),
        t,
        description.into(),
        AttributeSource {
            dataset: "customer_profile".into(),
            pointer: "/age".into(),
        },
    )
    .unwrap()
}

#[test]
fn an_attribute_is_defined_then_revised_but_never_changes_type() {
    let defined = CatalogueEvent::AttributeDefined {
        definition: definition(AttributeType::Number, "Age in years"),
        revision: 1,
        by: "client:pm-1".into(),
        at: NOW,
    };
    given::<AttributeCatalogue>([defined.clone()])
        .when(CatalogueCommand::DefineAttribute {
            definition: definition(AttributeType::Number, "Age in years"),
            by: "client:pm-2".into(),
        })
        .then([]);
    given::<AttributeCatalogue>([defined.clone()])
        .when(CatalogueCommand::DefineAttribute {
            definition: definition(AttributeType::Number, "Age, whole years"),
            by: "client:pm-2".into(),
        })
        .then([CatalogueEvent::AttributeDefined {
            definition: definition(AttributeType::Number, "Age, whole years"),
            revision: 2,
            by: "client:pm-2".into(),
            at: NOW,
        }]);
    given::<AttributeCatalogue>([defined])
        .when(CatalogueCommand::DefineAttribute {
            definition: definition(AttributeType::String, "Age in years"),
            by: "client:pm-2".into(),
        })
        .then_refused("attribute age is a Number; its type cannot change (define a new attribute)");
}

#[test]
fn attribute_names_and_sources_are_checked() {
    let source = AttributeSource {
        dataset: "customer_profile".into(),
        pointer: "/age".into(),
    };
    for (name, field) in [("Age", "/name"), ("params", "/name"), ("", "/name")] {
        let e = AttributeDefinition::new(
            name.into(),
            AttributeType::Number,
            "x".into(),
            source.clone(),
        )
        .unwrap_err();
        assert_eq!(e.field, field, "{name}");
    }
    let e = AttributeDefinition::new(
        "age".into(),
        AttributeType::Number,
        "x".into(),
        AttributeSource {
            dataset: "customer_profile".into(),
            pointer: "age".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.field, "/source/pointer");
}

#[test]
fn a_persona_gets_a_new_version_only_when_it_changes() {
    let (_, personas) = catalogues();
    let v1 = personas.personas["globetrotter"].latest().clone();
    assert_eq!(v1.version, 1);
    let same = personas
        .decide(
            PersonaCommand::DefinePersona {
                name: "globetrotter".into(),
                title: v1.title.clone(),
                description: v1.description.clone(),
                condition: v1.condition.clone(),
                by: "client:pm-2".into(),
            },
            NOW,
        )
        .unwrap();
    assert!(same.is_empty());
    let (attributes, _) = catalogues();
    let mut vocabulary = Vocabulary::new();
    for a in attributes.attributes.values() {
        vocabulary.insert(a.definition.name.clone(), a.definition.r#type.into());
    }
    let stricter = Condition::parse(
        &json!({"and": [{"==": [{"var": "is_globetrotter"}, true]}, {">=": [{"var": "age"}, 18]}]}),
        &vocabulary,
    )
    .unwrap();
    let events = personas
        .decide(
            PersonaCommand::DefinePersona {
                name: "globetrotter".into(),
                title: v1.title.clone(),
                description: v1.description.clone(),
                condition: stricter,
                by: "client:pm-2".into(),
            },
            NOW,
        )
        .unwrap();
    let PersonaEvent::PersonaVersionDefined { version, .. } = events[0].clone();
    assert_eq!(version, 2);
    let after = events.iter().fold(personas, |p, e| p.evolve(e));
    assert_eq!(after.personas["globetrotter"].versions.len(), 2);
    assert_eq!(
        after.version("globetrotter", 1),
        Some(&v1),
        "version 1 never changes"
    );
}

#[test]
fn stored_events_round_trip() {
    use ecohub_kernel::DomainEvent;
    let (_, personas) = catalogues();
    let p = personas.personas["prime"].latest();
    let e = PersonaEvent::PersonaVersionDefined {
        name: "prime".into(),
        version: p.version,
        title: p.title.clone(),
        description: p.description.clone(),
        condition: p.condition.clone(),
        by: p.by.clone(),
        at: p.at,
    };
    let stored = e.encode();
    assert_eq!(stored["condition"], super::fixtures::prime());
    assert_eq!(PersonaEvent::decode(e.event_type(), 1, &stored).unwrap(), e);
    let drafted = PropositionEvent::Drafted {
        proposition_id: PropositionId::new_v7(NOW),
        version: 1,
        content: super::loan(),
        by: "client:pm-1".into(),
        at: NOW,
    };
    let stored = drafted.encode();
    assert_eq!(
        stored["content"]["personas"],
        json!({"globetrotter": 1}),
        "personas are pinned"
    );
    assert_eq!(
        PropositionEvent::decode(drafted.event_type(), 1, &stored).unwrap(),
        drafted
    );
}
