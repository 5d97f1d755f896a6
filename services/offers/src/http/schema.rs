//! The JSON Schemas of the offers API's texts, stating what the server takes (issue 11):
//! trimmed, 1 to n characters.

use ecohub_kernel::schema::{self, Controls};
use utoipa::openapi::Object;

pub(crate) fn attribute_description() -> Object {
    schema::text(500, Controls::Allowed)
        .description(Some("What it means: 1 to 500 characters once trimmed."))
        .build()
}

pub(crate) fn persona_title() -> Object {
    schema::text(200, Controls::Allowed)
        .description(Some("Display title: 1 to 200 characters once trimmed."))
        .build()
}

pub(crate) fn persona_description() -> Object {
    schema::text(2000, Controls::Allowed)
        .description(Some("What it is for: 1 to 2000 characters once trimmed."))
        .build()
}

pub(crate) fn reason() -> Object {
    schema::text(500, Controls::Allowed)
        .description(Some("Why: 1 to 500 characters once trimmed."))
        .build()
}
