//! The pure domain of offers: the attribute catalogue, personas, propositions with their
//! versions, and the evaluation of a proposition for one customer. No I/O; time is passed
//! in.

pub mod attribute;
pub mod contact;
pub mod contact_event;
pub mod customer_moments;
pub mod decision;
pub mod document;
pub(crate) mod document_schema;
pub mod evaluation;
pub mod event;
pub mod expression;
pub mod moment;
pub mod moment_event;
pub mod persona;
pub mod preference;
pub mod proposition;
pub mod trigger;

pub use attribute::{
    Attribute, AttributeCatalogue, AttributeDefinition, AttributeSource, AttributeType,
    CATALOGUE_STREAM, CatalogueCommand,
};
pub use contact::{
    Candidate, CandidateView, ContactCommand, ContactLedger, ContactPolicy, OfferRecord,
    OfferStatus, PropositionPolicy, Selection, contacts_stream,
};
pub use contact_event::{
    ContactEvent, DecisionId, MomentRef, OfferId, OfferPrice, Presented, Reporter, Response,
};
pub use customer_moments::{
    CustomerMomentEvent, CustomerMoments, CustomerMomentsCommand, MomentNote,
    customer_moments_stream, customer_named, first_naming,
};
pub use decision::{
    HeldBack, Offerable, OutcomeCounts, Prior, Propensity, Ranked, Ranking, ScreeningOrder, rank,
    rank_score,
};
pub use document::*;
pub use ecohub_kernel::PartnerId;
pub use evaluation::{
    AddOnOutcome, Context, Evaluation, Exclusion, Memberships, PersonaMatch, PriceOutcome,
    RuleOutcome, Subject, Unavailable, evaluate, evaluate_persona, screen,
};
pub use event::{CatalogueEvent, PersonaEvent, PreferenceEvent, PropositionEvent};
pub use expression::{Condition, ConditionError, Explanation, VarType, Vocabulary};
pub use moment::{
    ANY_DATA_PROVIDER, BANK, MOMENT_TYPES_STREAM, Moment, MomentCatalogue, MomentCommand, MomentId,
    MomentStatus, MomentType, MomentTypeCommand, MomentTypeDefinition, ReceivedMoment, RuleMatch,
    moment_stream,
};
pub use moment_event::{MomentEvent, MomentTypeEvent, TriggerRuleEvent};
pub use persona::{PERSONAS_STREAM, Persona, PersonaCatalogue, PersonaCommand, PersonaVersion};
pub use preference::{OfferPreferences, PreferenceCommand, preferences_stream};
pub use proposition::{
    Proposition, PropositionCommand, PropositionContent, Version, VersionStatus,
};
pub use trigger::{
    RuleMiss, TRIGGER_RULES_STREAM, TriggerRule, TriggerRuleCommand, TriggerRuleDefinition,
    TriggerRules,
};

ecohub_kernel::define_id!(
    /// A proposition's id (its stream is `proposition-<uuidv7>`).
    PropositionId,
    "proposition"
);

/// An input that breaks a rule: the JSON pointer of the field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    /// JSON pointer of the offending field in the request body (`/pricing/rules/0/condition`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl Invalid {
    /// An invalid `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why the offers domain refused a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OffersError {
    /// No such proposition, version or persona (or not the caller's to see).
    #[error("not found")]
    NotFound,
    /// An input breaks a rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The approver drafted, revised or submitted the version (four-eyes principle).
    #[error("maker-checker: {0} wrote or submitted this version and cannot approve it")]
    FourEyes(String),
    /// The state refuses the command.
    #[error("{0}")]
    Refused(String),
    /// The caller may not do this (a provider a moment type does not admit).
    #[error("{0}")]
    Forbidden(String),
}
