//! The attribute catalogue: what personas are made of. Each attribute names a field (a JSON
//! pointer) of a dataset in the sharing catalogue; its values are personal data and live
//! only in the published records, never here.

use std::collections::BTreeMap;

use ecohub_kernel::{Aggregate, Timestamp};
use serde::{Deserialize, Serialize};

use super::event::CatalogueEvent;
use super::{Invalid, OffersError};

/// An attribute's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributeType {
    /// A number.
    Number,
    /// A string.
    String,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// A set of strings (e.g. the products a customer holds).
    StringSet,
}

impl AttributeType {
    /// Whether `value` (a field of a published record) is of this type.
    pub fn admits(self, value: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (self, value) {
            (AttributeType::Number, Value::Number(_))
            | (AttributeType::String, Value::String(_))
            | (AttributeType::Boolean, Value::Bool(_)) => true,
            (AttributeType::Date, Value::String(s)) => is_date(s),
            (AttributeType::StringSet, Value::Array(a)) => a.iter().all(Value::is_string),
            _ => false,
        }
    }
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, format).is_ok()
}

/// Names reserved for request parameters, persona membership and (in trigger rules) the
/// moment's payload in conditions.
pub const RESERVED_NAMES: [&str; 3] = ["moment", "params", "personas"];

/// Checks a catalogue name: `[a-z][a-z0-9_]{0,63}`.
pub fn check_name(field: &str, name: &str) -> Result<(), Invalid> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(Invalid::new(
            field,
            "must be 1 to 64 characters of a-z, 0-9 and _, starting with a letter",
        ));
    }
    Ok(())
}

/// Where an attribute's values come from: a field of a dataset's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttributeSource {
    /// The dataset (in the sharing catalogue).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", example = "customer_profile")]
    pub dataset: String,
    /// The field, as a JSON pointer into a record's data (`/monthly_income`).
    #[schema(pattern = "^/", max_length = 200, example = "/monthly_income")]
    pub pointer: String,
}

/// An attribute as staff define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeDefinition {
    /// Its name in conditions.
    pub name: String,
    /// Its type.
    pub r#type: AttributeType,
    /// What it means.
    pub description: String,
    /// Where its values come from.
    pub source: AttributeSource,
}

impl AttributeDefinition {
    /// Validates a definition.
    pub fn new(
        name: String,
        r#type: AttributeType,
        description: String,
        source: AttributeSource,
    ) -> Result<Self, Invalid> {
        check_name("/name", &name)?;
        if RESERVED_NAMES.contains(&name.as_str()) {
            return Err(Invalid::new("/name", "is reserved"));
        }
        let description = description.trim().to_owned();
        if description.is_empty() || description.chars().count() > 500 {
            return Err(Invalid::new("/description", "must be 1 to 500 characters"));
        }
        check_name("/source/dataset", &source.dataset)?;
        if !source.pointer.starts_with('/') || source.pointer.chars().count() > 200 {
            return Err(Invalid::new(
                "/source/pointer",
                "must be a JSON pointer (starting with /), at most 200 characters",
            ));
        }
        Ok(Self {
            name,
            r#type,
            description,
            source,
        })
    }
}

/// A catalogue entry: the definition and its change record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The definition.
    pub definition: AttributeDefinition,
    /// Revision of this attribute (1 when first defined).
    pub revision: u32,
    /// Who last defined it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// The attribute catalogue (one stream, `attributes-catalogue`): small, read exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeCatalogue {
    /// Attributes by name.
    pub attributes: BTreeMap<String, Attribute>,
}

/// What staff ask of the attribute catalogue.
#[derive(Debug, Clone)]
pub enum CatalogueCommand {
    /// Defines an attribute, or changes its description or source (its type never changes:
    /// personas were checked against it).
    DefineAttribute {
        /// The definition.
        definition: AttributeDefinition,
        /// Who.
        by: String,
    },
}

impl Aggregate for AttributeCatalogue {
    type Command = CatalogueCommand;
    type Event = CatalogueEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "attributes";

    fn decide(
        &self,
        command: CatalogueCommand,
        now: Timestamp,
    ) -> Result<Vec<CatalogueEvent>, OffersError> {
        match command {
            CatalogueCommand::DefineAttribute { definition, by } => {
                let revision = match self.attributes.get(&definition.name) {
                    None => 1,
                    Some(existing) if existing.definition == definition => return Ok(vec![]),
                    Some(existing) if existing.definition.r#type != definition.r#type => {
                        return Err(OffersError::Refused(format!(
                            "attribute {} is a {:?}; its type cannot change (define a new attribute)",
                            definition.name, existing.definition.r#type
                        )));
                    }
                    Some(existing) => existing.revision + 1,
                };
                Ok(vec![CatalogueEvent::AttributeDefined {
                    definition,
                    revision,
                    by,
                    at: now,
                }])
            }
        }
    }

    fn evolve(mut self, event: &CatalogueEvent) -> Self {
        let CatalogueEvent::AttributeDefined {
            definition,
            revision,
            by,
            at,
        } = event;
        self.attributes.insert(
            definition.name.clone(),
            Attribute {
                definition: definition.clone(),
                revision: *revision,
                by: by.clone(),
                at: *at,
            },
        );
        self
    }
}

/// The stream of the attribute catalogue.
pub const CATALOGUE_STREAM: &str = "attributes-catalogue";
