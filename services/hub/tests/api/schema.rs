//! The document's patterns take exactly what the consent and offer parsers take (issue 11),
//! checked on the served document (the partners' and the staff clients' patterns are held to
//! their parsers in their own crates).

use std::sync::LazyLock;

use ecohub_consents::domain::{DataProvider, Purpose};
use ecohub_kernel::PartnerId;
use ecohub_offers::domain::{AttributeDefinition, AttributeSource, AttributeType};
use ecohub_testkit::properties::{Pattern, Patterns, config, edgy_text, text_near};
use proptest::prelude::*;

fn pattern(pointer: &str) -> &'static Pattern {
    static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
        let doc = serde_json::to_value(ecohub::openapi::spec()).unwrap();
        Patterns::new(doc["components"]["schemas"].clone())
    });
    PATTERNS.get(pointer)
}

/// The `name` path parameter's pattern of `PUT /offers/attributes/{name}`.
fn attribute_name() -> &'static Pattern {
    static NAME: LazyLock<Pattern> = LazyLock::new(|| {
        let doc = serde_json::to_value(ecohub::openapi::spec()).unwrap();
        let params = doc["paths"]["/offers/attributes/{name}"]["put"]["parameters"]
            .as_array()
            .unwrap();
        let name = params.iter().find(|p| p["name"] == "name").unwrap();
        Pattern::at(name, "/schema/pattern")
    });
    &NAME
}

fn attribute(name: &str, description: &str, dataset: &str, pointer: &str) -> bool {
    let source = AttributeSource {
        dataset: dataset.to_owned(),
        pointer: pointer.to_owned(),
    };
    AttributeDefinition::new(
        name.to_owned(),
        AttributeType::Number,
        description.to_owned(),
        source,
    )
    .is_ok()
}

/// Ids in the forms `Uuid::try_parse` reads, and near misses.
fn id() -> impl Strategy<Value = String> {
    let uuid = "01a23b0e-c0d4-7bc2-85ff-126596396c2d";
    prop_oneof![
        prop::sample::select(vec![
            uuid.to_owned(),
            uuid.to_uppercase(),
            uuid.replace('-', ""),
            format!("{{{uuid}}}"),
            format!("urn:uuid:{uuid}"),
            format!("URN:UUID:{uuid}"),
            format!("uRn:UuId:{uuid}"),
            format!("urn:uuid:{{{uuid}}}"),
            format!("{{{}}}", uuid.replace('-', "")),
            format!("{{{uuid}"),
            format!("{uuid}}}"),
            uuid[1..].to_owned(),
            format!("{uuid}0"),
            uuid.replace('-', "_"),
            "bank".to_owned(),
            "Bank".to_owned(),
            " bank".to_owned(),
            String::new(),
        ]),
        "[0-9a-fA-F{}:-]{30,46}",
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn consent_bodies_take_what_the_parsers_take(s in edgy_text(10), near in text_near(500), i in id()) {
        let code = pattern("/PurposeDto/properties/code/pattern");
        let text = pattern("/PurposeDto/properties/text/pattern");
        let provider = pattern("/CreateConsentRequest/properties/data_providers/items/pattern");
        for v in [&s, &near, &i] {
            code.agrees(v, Purpose::parse(v, "text").is_ok())?;
            text.agrees(v, Purpose::parse("code", v).is_ok())?;
            provider.agrees(v, DataProvider::parse(v).is_ok())?;
        }
    }

    #[test]
    fn offer_bodies_take_what_the_parsers_take(
        s in edgy_text(10),
        near in text_near(500),
        name in "[a-z_0-9A-Z-]{0,4}|moment|params|personas|[a-z]{62,66}",
        i in id(),
    ) {
        let names = attribute_name();
        let dataset = pattern("/AttributeSource/properties/dataset/pattern");
        let description = pattern("/AttributeRequest/properties/description/pattern");
        let partner = pattern("/BenefitDoc/properties/partner_id/pattern");
        for v in [&s, &near, &name] {
            names.agrees(v, attribute(v, "d", "ds", "/p"))?;
            dataset.agrees(v, attribute("a", "d", v, "/p"))?;
            description.agrees(v, attribute("a", v, "ds", "/p"))?;
        }
        for v in [&s, &i] {
            partner.agrees(v, PartnerId::parse(v).is_ok())?;
        }
    }
}

/// The attribute's pointer: starting with `/`, at most 200 characters.
#[test]
fn attribute_pointers_are_counted_in_characters() {
    let doc = serde_json::to_value(ecohub::openapi::spec()).unwrap();
    let pointer = &doc["components"]["schemas"]["AttributeSource"]["properties"]["pointer"];
    assert_eq!(pointer["maxLength"], 200);
    assert_eq!(pointer["pattern"], "^/");
    let long = format!("/{}", "é".repeat(199));
    assert!(attribute("a", "d", "ds", &long));
    assert!(!attribute("a", "d", "ds", &format!("{long}é")));
    assert!(!attribute("a", "d", "ds", "p"));
}
