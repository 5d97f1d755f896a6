//! Dataset definitions and field-level minimisation.
//!
//! A dataset has a JSON schema for its records, the providers allowed to publish it (`bank`
//! or partner ids) and a minimisation table: each field lists the consent permissions that
//! unlock it. Fields not in the table are never returned (default deny). A dataset may also
//! have a direction rule (transactions: `Credit` needs `ReadTransactionsCredits`, `Debit`
//! needs `ReadTransactionsDebits`) and a time field the consent's transaction window applies
//! to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ecohub_kernel::{Aggregate, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// The default catalogue shipped with the crate (versioned with it).
pub const DEFAULT_CATALOGUE: &str = include_str!("../catalogue.json");

/// The provider id the bank publishes as.
pub const BANK: &str = "bank";
/// In a dataset's providers: any partner (never the bank) may publish it.
pub const ANY_PARTNER: &str = "*";

/// Records of a dataset are filtered by the value of one field (transactions by direction).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DirectionRule {
    /// The field holding the direction (`credit_debit_indicator`).
    pub field: String,
    /// For each value, the permissions any one of which lets a record with it through.
    pub values: BTreeMap<String, Vec<String>>,
}

/// What a dataset is. Deserialisable for the bundled catalogue file only: its stored schema
/// is `DatasetDefinitionV1` (in [`event`](super::event)), its HTTP shape a DTO in `http`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetDefinition {
    /// Lowercase name (`transactions`).
    pub name: String,
    /// What the dataset holds.
    #[serde(default)]
    pub description: String,
    /// Who may publish it: `bank`, partner ids, or `*` for any partner.
    pub providers: Vec<String>,
    /// JSON schema (draft 2020-12) of one record's `data`.
    pub schema: Value,
    /// Minimisation: field name → permissions any one of which unlocks it.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Optional filter of records by a direction field.
    #[serde(default)]
    pub direction: Option<DirectionRule>,
    /// Optional RFC 3339 field the consent's transaction window applies to.
    #[serde(default)]
    pub time_field: Option<String>,
}

/// Why a definition or command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// A field of the definition is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// JSON pointer of the offending field.
        field: String,
        /// What is wrong, lowercase.
        message: String,
    },
}

fn invalid(field: &str, message: impl Into<String>) -> CatalogueError {
    CatalogueError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Whether `name` is a valid dataset name: 1 to 40 of `a-z`, `0-9`, `_`, starting with a
/// letter.
pub fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A record failed its dataset's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer of the failing value inside the record's data (`""` for the whole).
    pub path: String,
    /// What the validator reported.
    pub message: String,
}

/// A checked definition with its compiled schema.
#[derive(Clone)]
pub struct Dataset {
    definition: Arc<DatasetDefinition>,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("name", &self.definition.name)
            .finish_non_exhaustive()
    }
}

/// What a consent unlocks in one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlocked {
    /// Fields that may be returned, sorted.
    pub fields: BTreeSet<String>,
    /// Direction values allowed (`None`: the dataset has no direction rule).
    pub directions: Option<BTreeSet<String>>,
}

impl Dataset {
    /// Checks a definition: a valid name, at least one provider, a schema that compiles (no
    /// remote references are ever fetched), permissions on every field.
    pub fn new(definition: DatasetDefinition) -> Result<Self, CatalogueError> {
        if !valid_name(&definition.name) {
            return Err(invalid(
                "/name",
                "must be 1 to 40 lowercase letters, digits or underscores",
            ));
        }
        if definition.providers.is_empty() {
            return Err(invalid("/providers", "must name at least one provider"));
        }
        if definition.providers.iter().any(|p| p.trim().is_empty()) {
            return Err(invalid("/providers", "must not contain empty ids"));
        }
        if definition.fields.is_empty() {
            return Err(invalid("/fields", "must unlock at least one field"));
        }
        for (field, perms) in &definition.fields {
            if perms.is_empty() {
                return Err(invalid(
                    &format!("/fields/{field}"),
                    "must list at least one permission",
                ));
            }
        }
        if let Some(rule) = &definition.direction
            && (rule.values.is_empty() || rule.values.values().any(Vec::is_empty))
        {
            return Err(invalid(
                "/direction/values",
                "must map each value to at least one permission",
            ));
        }
        let validator = jsonschema::validator_for(&definition.schema)
            .map_err(|e| invalid("/schema", format!("is not a valid JSON schema: {e}")))?;
        Ok(Self {
            definition: Arc::new(definition),
            validator: Arc::new(validator),
        })
    }

    /// The definition.
    pub fn definition(&self) -> &DatasetDefinition {
        &self.definition
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// Whether `provider` may publish this dataset.
    pub fn has_provider(&self, provider: &str) -> bool {
        self.definition
            .providers
            .iter()
            .any(|p| p == provider || (p == ANY_PARTNER && provider != BANK))
    }

    /// Validates one record's data; the first violation, with its JSON pointer.
    pub fn validate(&self, data: &Value) -> Result<(), SchemaViolation> {
        match self.validator.iter_errors(data).next() {
            None => Ok(()),
            Some(e) => Err(SchemaViolation {
                path: e.instance_path().as_str().to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// What `permissions` unlock; `None` when nothing (no field, or no direction).
    pub fn unlocked(&self, permissions: &BTreeSet<String>) -> Option<Unlocked> {
        let fields: BTreeSet<String> = self
            .definition
            .fields
            .iter()
            .filter(|(_, perms)| perms.iter().any(|p| permissions.contains(p)))
            .map(|(f, _)| f.clone())
            .collect();
        if fields.is_empty() {
            return None;
        }
        let directions = match &self.definition.direction {
            None => None,
            Some(rule) => {
                let allowed: BTreeSet<String> = rule
                    .values
                    .iter()
                    .filter(|(_, perms)| perms.iter().any(|p| permissions.contains(p)))
                    .map(|(v, _)| v.clone())
                    .collect();
                if allowed.is_empty() {
                    return None;
                }
                Some(allowed)
            }
        };
        Some(Unlocked { fields, directions })
    }

    /// Whether a record passes the direction rule and lies in `[from, to]` on the time field.
    /// A record without a parseable time is outside any bounded window.
    pub fn admits(
        &self,
        data: &Value,
        unlocked: &Unlocked,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> bool {
        if let (Some(rule), Some(allowed)) = (&self.definition.direction, &unlocked.directions) {
            match data.get(&rule.field).and_then(Value::as_str) {
                Some(v) if allowed.contains(v) => {}
                _ => return false,
            }
        }
        if let Some(field) = &self.definition.time_field
            && (from.is_some() || to.is_some())
        {
            let Some(t) = data
                .get(field)
                .and_then(Value::as_str)
                .and_then(|s| Timestamp::parse_rfc3339(s).ok())
            else {
                return false;
            };
            if from.is_some_and(|f| t < f) || to.is_some_and(|e| t > e) {
                return false;
            }
        }
        true
    }

    /// The record's data reduced to the unlocked fields.
    pub fn minimise(&self, data: &Value, unlocked: &Unlocked) -> Value {
        match data {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| unlocked.fields.contains(k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            _ => Value::Object(Default::default()),
        }
    }
}

/// The default catalogue file: `{ "version": n, "datasets": [definition…] }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    /// Version of the file.
    pub version: u32,
    /// Its datasets.
    pub datasets: Vec<DatasetDefinition>,
}

/// Parses and checks a catalogue file.
pub fn parse_catalogue(text: &str) -> Result<(u32, Vec<Dataset>), String> {
    let file: CatalogueFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let datasets = file
        .datasets
        .into_iter()
        .map(|d| {
            let name = d.name.clone();
            Dataset::new(d).map_err(|e| format!("dataset {name}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((file.version, datasets))
}

/// The `Dataset` aggregate (stream `dataset-<name>`): admins (re)define a dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetState {
    /// The current definition, `None` before the first one.
    pub definition: Option<DatasetDefinition>,
}

/// Commands of [`DatasetState`].
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetCommand {
    /// Define or replace the dataset.
    DefineDataset {
        /// The new definition.
        definition: DatasetDefinition,
        /// Who (pseudonymous staff id).
        by: String,
    },
}

/// Events of [`DatasetState`].
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetEvent {
    /// `DatasetDefined`: the dataset's definition is now this.
    DatasetDefined {
        /// The definition.
        definition: DatasetDefinition,
        /// Who.
        by: String,
        /// When.
        at: Timestamp,
    },
}

impl DatasetEvent {
    /// `DatasetDefined`.
    pub const DEFINED: &'static str = "DatasetDefined";
}

impl Aggregate for DatasetState {
    type Command = DatasetCommand;
    type Event = DatasetEvent;
    type Error = CatalogueError;
    const CATEGORY: &'static str = "dataset";

    fn decide(
        &self,
        command: DatasetCommand,
        now: Timestamp,
    ) -> Result<Vec<DatasetEvent>, CatalogueError> {
        let DatasetCommand::DefineDataset { definition, by } = command;
        Dataset::new(definition.clone())?;
        if self.definition.as_ref() == Some(&definition) {
            return Ok(Vec::new());
        }
        Ok(vec![DatasetEvent::DatasetDefined {
            definition,
            by,
            at: now,
        }])
    }

    fn evolve(self, event: &DatasetEvent) -> Self {
        let DatasetEvent::DatasetDefined { definition, .. } = event;
        Self {
            definition: Some(definition.clone()),
        }
    }
}

/// The stream of a dataset's definitions.
pub fn dataset_stream(name: &str) -> String {
    format!("dataset-{name}")
}
