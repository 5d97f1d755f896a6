//! The JSON Schemas of the proposition document's texts and partner ids, stating what
//! [`super::proposition::PropositionContent::check`] takes (issue 11): texts trimmed to 1 to n
//! characters, partner ids as `PartnerId::parse` reads them.

use ecohub_kernel::schema::{self, Controls};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Object, RefOr, Schema};

/// A partner id as `PartnerId::parse` reads it.
fn partner_id_pattern() -> String {
    format!("^(?:{})$", schema::ID)
}

fn text(max: usize) -> ObjectBuilder {
    schema::text(max, Controls::Allowed)
        .description(Some(format!("1 to {max} characters once trimmed.")))
}

pub(crate) fn text_200() -> Object {
    text(200).build()
}

pub(crate) fn text_500() -> Object {
    text(500).build()
}

pub(crate) fn text_2000() -> Object {
    text(2000).build()
}

pub(crate) fn product_code() -> Object {
    schema::text(64, Controls::Allowed)
        .description(Some(
            "The bank's product code: 1 to 64 characters once trimmed.",
        ))
        .examples(["PL-GLOBE"])
        .build()
}

pub(crate) fn product_name() -> Object {
    schema::text(200, Controls::Allowed)
        .description(Some(
            "Its name as customers see it: 1 to 200 characters once trimmed.",
        ))
        .build()
}

pub(crate) fn terms() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(RefOr::<Schema>::from(
            schema::text(500, Controls::Allowed).build(),
        )))
        .description(Some(
            "Contractual terms, by name (`{\"term_months\": \"12-60\"}`), each 1 to 500 characters once trimmed.",
        ))
        .build()
}

pub(crate) fn partner_id() -> Object {
    schema::string(partner_id_pattern())
        .description(Some(
            "The co-brand partner's id (it must accept each version before it is published).",
        ))
        .build()
}

pub(crate) fn optional_partner_id() -> Object {
    schema::nullable_string(partner_id_pattern())
        .description(Some(
            "The partner providing it, when it is a partner's (a co-brand partner then).",
        ))
        .build()
}

/// A JSONLogic condition: `true`, `false`, or an operation (an object) whose value is
/// true or false.
pub(crate) fn condition() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Boolean, Type::Object]))
        .description(Some(
            "A JSONLogic condition over attributes, `params.<name>` and `personas.<name>`: `true`, `false`, or an operation (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `and`, `or`, `!`, `var`) that is true or false.",
        ))
        .build()
}

/// A persona's condition, over attribute names.
pub(crate) fn persona_condition() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Boolean, Type::Object]))
        .description(Some(
            "Who belongs to it: a JSONLogic condition over attribute names: `true`, `false`, or an operation (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `and`, `or`, `!`, `var`) that is true or false.",
        ))
        .examples([serde_json::json!({"==": [{"var": "is_globetrotter"}, true]})])
        .build()
}

/// A part of a condition as an explanation shows it: the condition itself, or an operand of
/// its `and`, `or`, `!` or `!!` (any JSON value).
pub(crate) fn sub_condition() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .description(Some(
            "The (sub-)condition: the condition, or an operand of its `and`, `or`, `!` or `!!`.",
        ))
        .build()
}
