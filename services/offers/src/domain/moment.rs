//! Financial moments (ADR 0026): what happened in a customer's life that a partner or the bank
//! tells the hub about (`travel_booked`, `salary_received`), so that an offer arrives when it
//! is useful.
//!
//! * [`MomentCatalogue`] (stream `momenttypes-catalogue`): each moment type's JSON Schema and
//!   the providers allowed to publish it. The default types come from the versioned file
//!   `moments.json` compiled into the binary; staff define new types or change the defaults
//!   through the API (`MomentTypeDefined`), which overrides the file's entry.
//! * [`Moment`] (stream `moment-<uuid>`, the UUID derived from the provider and the provider's
//!   moment id, so that the same moment sent twice lands on the same stream): received or
//!   refused, then what the triggers made of it. The customer and the payload are in the
//!   events' payloads only, never in the stream name or metadata.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use ecohub_kernel::{Aggregate, PartnerId, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::attribute::check_name;
use super::contact_event::{DecisionId, OfferId};
use super::expression::VarType;
use super::moment_event::{MomentEvent, MomentTypeEvent};
use super::{Invalid, OffersError, PropositionId};

/// The provider name of the bank itself.
pub const BANK: &str = "bank";
/// In a moment type's providers: any partner with the active `data_provider` role.
pub const ANY_DATA_PROVIDER: &str = "data_provider";
/// The stream of the moment catalogue.
pub const MOMENT_TYPES_STREAM: &str = "momenttypes-catalogue";

ecohub_kernel::define_id!(
    /// The hub's id of one moment: derived from the provider and the provider's moment id.
    MomentId,
    "moment"
);

impl MomentId {
    /// The id of the moment `moment_id` of `provider` (`bank` or a partner id): the same
    /// moment sent again has the same id (a UUIDv8 of SHA-256(provider, moment id)).
    pub fn of(provider: &str, moment_id: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(provider.as_bytes())
            .chain_update([0u8])
            .chain_update(moment_id.as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self::from_uuid(uuid::Uuid::new_v8(bytes))
    }
}

/// A moment type as defined (by the default file or by staff).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MomentTypeDefinition {
    /// Its name (`travel_booked`).
    #[schema(pattern = "^[a-z][a-z0-9_]{0,63}$", example = "travel_booked")]
    pub name: String,
    /// What happened, in words (shown to staff, and to customers as the reason of an offer).
    #[schema(min_length = 1, max_length = 500)]
    pub description: String,
    /// Who may publish it: `bank`, `data_provider` (any partner with the active
    /// `data_provider` role), or partner ids.
    #[schema(min_items = 1, max_items = 50)]
    pub providers: Vec<String>,
    /// The JSON Schema (draft 2020-12) of its payload: an object whose properties conditions
    /// may use as `moment.<name>`. Formats (`date`) are checked.
    #[schema(value_type = Object)]
    pub schema: Value,
}

/// One entry of the catalogue: the checked definition, its compiled schema, and who changed it.
#[derive(Clone)]
pub struct MomentType {
    /// The definition.
    pub definition: MomentTypeDefinition,
    /// 0 for the default file's entry, then 1, 2, … for staff definitions.
    pub revision: u32,
    /// Who defined it (`None`: the default file).
    pub by: Option<String>,
    /// When (`None`: the default file).
    pub at: Option<Timestamp>,
    validator: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for MomentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MomentType")
            .field("definition", &self.definition)
            .field("revision", &self.revision)
            .finish_non_exhaustive()
    }
}

impl PartialEq for MomentType {
    fn eq(&self, other: &Self) -> bool {
        self.definition == other.definition && self.revision == other.revision
    }
}

fn compile(schema: &Value) -> Result<jsonschema::Validator, Invalid> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| Invalid::new("/schema", format!("is not a valid JSON schema: {e}")))
}

impl MomentTypeDefinition {
    /// Checks a definition: its name, description, providers and schema (an object schema
    /// that compiles).
    pub fn check(mut self) -> Result<(Self, jsonschema::Validator), Invalid> {
        check_name("/name", &self.name)?;
        self.description = self.description.trim().to_owned();
        let n = self.description.chars().count();
        if n == 0 || n > 500 {
            return Err(Invalid::new("/description", "must be 1 to 500 characters"));
        }
        if self.providers.is_empty() || self.providers.len() > 50 {
            return Err(Invalid::new("/providers", "must name 1 to 50 providers"));
        }
        for (i, p) in self.providers.iter().enumerate() {
            if p != BANK && p != ANY_DATA_PROVIDER && PartnerId::parse(p).is_err() {
                return Err(Invalid::new(
                    format!("/providers/{i}"),
                    "must be `bank`, `data_provider` or a partner id",
                ));
            }
        }
        self.providers.sort();
        self.providers.dedup();
        if self.schema.get("type").and_then(Value::as_str) != Some("object")
            || !self.schema.get("properties").is_some_and(Value::is_object)
        {
            return Err(Invalid::new(
                "/schema",
                "must be an object schema (`\"type\": \"object\"`) with `properties`",
            ));
        }
        let validator = compile(&self.schema)?;
        Ok((self, validator))
    }

    /// The names conditions may use for this type's payload (`moment.<property>`), with
    /// their types: strings (dates with `format: date`), numbers (and integers), booleans and
    /// arrays of strings. Other properties are carried, not usable in conditions.
    pub fn variables(&self) -> Vec<(String, VarType)> {
        let Some(props) = self.schema.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        props
            .iter()
            .filter_map(|(name, p)| {
                let t = match p.get("type").and_then(Value::as_str)? {
                    "string" if p.get("format").and_then(Value::as_str) == Some("date") => {
                        VarType::Date
                    }
                    "string" => VarType::String,
                    "number" | "integer" => VarType::Number,
                    "boolean" => VarType::Boolean,
                    "array"
                        if p.pointer("/items/type").and_then(Value::as_str) == Some("string") =>
                    {
                        VarType::StringSet
                    }
                    _ => return None,
                };
                Some((format!("moment.{name}"), t))
            })
            .collect()
    }
}

impl MomentType {
    /// Whether `provider` (`bank` or a partner id) may publish this type; `data_provider`
    /// admits any partner (whose role the application checks).
    pub fn admits(&self, provider: &str) -> bool {
        self.definition.providers.iter().any(|p| {
            p == provider || (p == ANY_DATA_PROVIDER && provider != BANK && !provider.is_empty())
        })
    }

    /// Validates a payload: the first violation, at `/payload<path>`.
    pub fn validate(&self, payload: &Value) -> Result<(), Invalid> {
        match self.validator.iter_errors(payload).next() {
            None => Ok(()),
            Some(e) => Err(Invalid::new(
                format!("/payload{}", e.instance_path().as_str()),
                e.to_string(),
            )),
        }
    }
}

#[derive(Deserialize)]
struct DefaultFile {
    version: u32,
    moment_types: Vec<MomentTypeDefinition>,
}

/// The default catalogue's version (the `version` of `moments.json`).
pub fn default_catalogue_version() -> u32 {
    DEFAULTS.0
}

static DEFAULTS: LazyLock<(u32, BTreeMap<String, MomentType>)> = LazyLock::new(|| {
    // Compiled in and checked by a unit test: a broken file fails the build's tests.
    let file: DefaultFile = serde_json::from_str(include_str!("../moments.json"))
        .expect("moments.json is a moment catalogue");
    let types = file
        .moment_types
        .into_iter()
        .map(|d| {
            let (definition, validator) = d.check().expect("moments.json's types are valid");
            (
                definition.name.clone(),
                MomentType {
                    definition,
                    revision: 0,
                    by: None,
                    at: None,
                    validator: Arc::new(validator),
                },
            )
        })
        .collect();
    (file.version, types)
});

/// The moment catalogue: the default file's types, overridden or extended by staff.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentCatalogue {
    /// Types by name.
    pub types: BTreeMap<String, MomentType>,
}

impl Default for MomentCatalogue {
    fn default() -> Self {
        Self {
            types: DEFAULTS.1.clone(),
        }
    }
}

impl MomentCatalogue {
    /// A type by name.
    pub fn get(&self, name: &str) -> Option<&MomentType> {
        self.types.get(name)
    }
}

/// What staff ask of the moment catalogue.
#[derive(Debug, Clone)]
pub enum MomentTypeCommand {
    /// Defines a type or replaces its definition.
    Define {
        /// The definition (checked by [`MomentTypeDefinition::check`] here again).
        definition: MomentTypeDefinition,
        /// Who.
        by: String,
    },
}

impl Aggregate for MomentCatalogue {
    type Command = MomentTypeCommand;
    type Event = MomentTypeEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "momenttypes";

    fn decide(
        &self,
        command: MomentTypeCommand,
        now: Timestamp,
    ) -> Result<Vec<MomentTypeEvent>, OffersError> {
        let MomentTypeCommand::Define { definition, by } = command;
        let (definition, _) = definition.check()?;
        let revision = match self.types.get(&definition.name) {
            Some(existing) if existing.definition == definition => return Ok(vec![]),
            Some(existing) => existing.revision + 1,
            None => 1,
        };
        Ok(vec![MomentTypeEvent::Defined {
            definition,
            revision,
            by,
            at: now,
        }])
    }

    fn evolve(mut self, event: &MomentTypeEvent) -> Self {
        let MomentTypeEvent::Defined {
            definition,
            revision,
            by,
            at,
        } = event;
        // A stored definition was checked when it was decided; one that no longer compiles
        // (a schema the library stopped accepting) keeps the previous entry.
        if let Ok((definition, validator)) = definition.clone().check() {
            self.types.insert(
                definition.name.clone(),
                MomentType {
                    definition,
                    revision: *revision,
                    by: Some(by.clone()),
                    at: Some(*at),
                    validator: Arc::new(validator),
                },
            );
        }
        self
    }
}

// ---------------------------------------------------------------- moments

/// A moment as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMoment {
    /// The hub's id.
    pub id: MomentId,
    /// The provider's id of it.
    pub moment_id: String,
    /// `bank` or the partner id.
    pub provider: String,
    /// Its type.
    pub moment_type: String,
    /// The type's revision it was validated against.
    pub type_revision: u32,
    /// The bank's customer id (resolved from the partner's pairwise id).
    pub customer_id: String,
    /// When it happened, as the provider says (optional).
    pub occurred_at: Option<Timestamp>,
    /// What happened (validated against the type's schema).
    pub payload: Map<String, Value>,
}

/// A trigger rule that matched a moment, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleMatch {
    /// The rule.
    pub rule: String,
    /// Its revision.
    pub revision: u32,
    /// Why the customer sees its offers, in their words.
    pub reason: String,
    /// Its propositions.
    #[schema(value_type = Vec<String>)]
    pub propositions: Vec<PropositionId>,
    /// Its priority.
    pub priority: u32,
    /// How long its offers stay open, days.
    pub validity_days: u32,
    /// Its condition explained on this moment (an [`Explanation`]).
    #[schema(value_type = Object)]
    pub explanation: Value,
}

/// Where a moment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MomentStatus {
    /// Refused (no consent, an objection, an unknown customer); nothing else happens.
    Refused,
    /// Accepted, waiting for the triggers.
    Received,
    /// Rules matched; the offers are being decided.
    Matched,
    /// Rules matched and offers were made.
    Offered,
    /// Rules matched, but the contact policies (or availability) held every offer back.
    HeldBack,
    /// No rule matched.
    NotMatched,
}

impl MomentStatus {
    /// Whether the triggers are done with the moment.
    pub fn is_final(self) -> bool {
        !matches!(self, MomentStatus::Received | MomentStatus::Matched)
    }
}

/// The `Moment` aggregate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Moment {
    /// The moment, once received.
    pub received: Option<ReceivedMoment>,
    /// When it was received.
    pub received_at: Option<Timestamp>,
    /// The refusals before it was received (code, when).
    pub refusals: Vec<(String, Timestamp)>,
    /// The rules that matched and the decision they made (`None`: not processed yet).
    pub triggered: Option<(Vec<RuleMatch>, Option<DecisionId>)>,
    /// The offers that decision made, once recorded (empty: all held back).
    pub offers: Option<Vec<OfferId>>,
}

impl Moment {
    /// Where it stands.
    pub fn status(&self) -> MomentStatus {
        match (&self.received, &self.triggered, &self.offers) {
            (None, _, _) => MomentStatus::Refused,
            (Some(_), None, _) => MomentStatus::Received,
            (Some(_), Some((m, _)), _) if m.is_empty() => MomentStatus::NotMatched,
            (Some(_), Some(_), None) => MomentStatus::Matched,
            (Some(_), Some(_), Some(o)) if o.is_empty() => MomentStatus::HeldBack,
            (Some(_), Some(_), Some(_)) => MomentStatus::Offered,
        }
    }
}

/// What may be asked of a moment.
#[derive(Debug, Clone)]
pub enum MomentCommand {
    /// Receive it (the application checked the type, the provider, the consent and the
    /// objection). The same moment again is accepted without a new event; the same id with
    /// another type, customer or payload is refused.
    Receive(ReceivedMoment),
    /// Record a refusal, without the payload.
    Refuse {
        /// The hub's id.
        id: MomentId,
        /// The provider's id.
        moment_id: String,
        /// Who.
        provider: String,
        /// Its type.
        moment_type: String,
        /// The customer, when known.
        customer_id: Option<String>,
        /// Stable code (`no_consent`, `customer_objected`).
        code: String,
    },
    /// Record the offers the matched rules' decision made (once; after `RecordTrigger`).
    RecordOffers {
        /// The offers in the customer's ledger under the moment's decision (empty: held back).
        offers: Vec<OfferId>,
    },
    /// Record what the triggers made of it (once: a second time changes nothing).
    RecordTrigger {
        /// The rules that matched (empty: none).
        matches: Vec<RuleMatch>,
        /// The decision that offers were made in, when rules matched.
        decision_id: Option<DecisionId>,
    },
}

impl Aggregate for Moment {
    type Command = MomentCommand;
    type Event = MomentEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "moment";

    fn decide(
        &self,
        command: MomentCommand,
        now: Timestamp,
    ) -> Result<Vec<MomentEvent>, OffersError> {
        match command {
            MomentCommand::Receive(moment) => match &self.received {
                Some(r)
                    if r.moment_type == moment.moment_type
                        && r.customer_id == moment.customer_id
                        && r.payload == moment.payload
                        && r.occurred_at == moment.occurred_at =>
                {
                    Ok(vec![])
                }
                Some(_) => Err(OffersError::Refused(
                    "this moment id was already used for another moment".into(),
                )),
                None => Ok(vec![MomentEvent::Received { moment, at: now }]),
            },
            MomentCommand::Refuse {
                id,
                moment_id,
                provider,
                moment_type,
                customer_id,
                code,
            } => {
                if self.received.is_some() {
                    return Err(OffersError::Refused(
                        "this moment id was already used for another moment".into(),
                    ));
                }
                Ok(vec![MomentEvent::Refused {
                    id,
                    moment_id,
                    provider,
                    moment_type,
                    customer_id,
                    code,
                    at: now,
                }])
            }
            MomentCommand::RecordOffers { offers } => {
                let Some((matches, Some(decision_id))) = &self.triggered else {
                    return Err(OffersError::Refused(
                        "no rule matched this moment: there is no decision to record".into(),
                    ));
                };
                if self.offers.is_some() || matches.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![MomentEvent::Decided {
                    id: self
                        .received
                        .as_ref()
                        .map(|r| r.id)
                        .ok_or(OffersError::NotFound)?,
                    decision_id: *decision_id,
                    offers,
                    at: now,
                }])
            }
            MomentCommand::RecordTrigger {
                matches,
                decision_id,
            } => {
                let Some(received) = &self.received else {
                    return Err(OffersError::NotFound);
                };
                if self.triggered.is_some() {
                    return Ok(vec![]);
                }
                Ok(vec![if matches.is_empty() {
                    MomentEvent::NotMatched {
                        id: received.id,
                        at: now,
                    }
                } else {
                    MomentEvent::TriggerMatched {
                        id: received.id,
                        matches,
                        decision_id: decision_id
                            .unwrap_or_else(|| DecisionId::of_moment(received.id)),
                        at: now,
                    }
                }])
            }
        }
    }

    fn evolve(mut self, event: &MomentEvent) -> Self {
        match event {
            MomentEvent::Received { moment, at } => {
                self.received = Some(moment.clone());
                self.received_at = Some(*at);
            }
            MomentEvent::Refused { code, at, .. } => self.refusals.push((code.clone(), *at)),
            MomentEvent::TriggerMatched {
                matches,
                decision_id,
                ..
            } => self.triggered = Some((matches.clone(), Some(*decision_id))),
            MomentEvent::NotMatched { .. } => self.triggered = Some((Vec::new(), None)),
            MomentEvent::Decided { offers, .. } => self.offers = Some(offers.clone()),
        }
        self
    }
}

impl DecisionId {
    /// The decision a moment's triggers make: one per moment, the same on every instance
    /// and after every restart, so that the ledger records it once.
    pub fn of_moment(moment: MomentId) -> Self {
        let digest = Sha256::new()
            .chain_update(b"decision\0")
            .chain_update(moment.as_uuid().as_bytes())
            .finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self::from_uuid(uuid::Uuid::new_v8(bytes))
    }
}

/// The stream of a moment.
pub fn moment_stream(id: MomentId) -> String {
    id.stream_name()
}
