//! Trigger rules (ADR 0026): a moment type, a condition over the moment's payload
//! (`moment.<field>`), the customer's attributes and persona memberships (`personas.<name>`),
//! and the propositions it puts forward, with how long the offer stays open and a priority.
//! Conditions are the personas' JSONLogic subset, checked against a vocabulary, compiled
//! once and explained (ADR 0020).
//!
//! Every rule lives in one stream, `triggerrules-catalogue` (small, read exactly, remembered
//! per category head).

use std::collections::BTreeMap;

use ecohub_kernel::{Aggregate, Timestamp};
use serde_json::{Map, Value};

use super::attribute::check_name;
use super::expression::Condition;
use super::moment::RuleMatch;
use super::moment_event::TriggerRuleEvent;
use super::persona::PersonaCatalogue;
use super::{Invalid, OffersError, PropositionId};

/// The stream of the trigger rules.
pub const TRIGGER_RULES_STREAM: &str = "triggerrules-catalogue";

/// At most this many propositions per rule.
pub const MAX_PROPOSITIONS: usize = 20;

/// A trigger rule as staff define it (the condition already checked against the vocabulary
/// of its moment type).
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerRuleDefinition {
    /// Its name (`travel_insurance_on_booking`).
    pub name: String,
    /// Why the customer sees the offer, in their words ("You booked a trip abroad").
    pub reason: String,
    /// The moment type it listens to.
    pub moment_type: String,
    /// When it matches.
    pub condition: Condition,
    /// The propositions it puts forward (ranked as decisions rank).
    pub propositions: Vec<PropositionId>,
    /// How long the offer stays open, days (1 to 90).
    pub validity_days: u32,
    /// Its priority (1 to 1000): matched rules are taken best first, and a proposition several
    /// matched rules name is offered with the best rule's reason and validity.
    pub priority: u32,
    /// Whether it is in force (a paused rule matches nothing).
    pub active: bool,
}

impl TriggerRuleDefinition {
    /// Checks everything but the condition (checked against the vocabulary by the caller).
    pub fn check(mut self) -> Result<Self, Invalid> {
        check_name("/name", &self.name)?;
        check_name("/moment_type", &self.moment_type)?;
        self.reason = self.reason.trim().to_owned();
        let n = self.reason.chars().count();
        if n == 0 || n > 200 {
            return Err(Invalid::new("/reason", "must be 1 to 200 characters"));
        }
        if self.propositions.is_empty() || self.propositions.len() > MAX_PROPOSITIONS {
            return Err(Invalid::new(
                "/propositions",
                format!("must name 1 to {MAX_PROPOSITIONS} propositions"),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.propositions.iter().enumerate() {
            if !seen.insert(*p) {
                return Err(Invalid::new(format!("/propositions/{i}"), "is named twice"));
            }
        }
        if !(1..=90).contains(&self.validity_days) {
            return Err(Invalid::new("/validity_days", "must be 1 to 90"));
        }
        if !(1..=1000).contains(&self.priority) {
            return Err(Invalid::new("/priority", "must be 1 to 1000"));
        }
        Ok(self)
    }
}

/// A rule and its change record.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerRule {
    /// The definition.
    pub definition: TriggerRuleDefinition,
    /// 1 when first defined.
    pub revision: u32,
    /// Who last defined it.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// Every trigger rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriggerRules {
    /// Rules by name.
    pub rules: BTreeMap<String, TriggerRule>,
}

/// A rule that did not match a moment, with why.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct RuleMiss {
    /// The rule.
    pub rule: String,
    /// Its condition explained on this moment (an `Explanation`).
    #[schema(value_type = Object)]
    pub explanation: Value,
}

/// The data a rule's condition reads: the customer's attributes (none when they objected),
/// the moment's payload under `moment`, and persona memberships under `personas`.
pub fn rule_data(
    attributes: &Map<String, Value>,
    payload: &Map<String, Value>,
    personas: &Map<String, Value>,
) -> Value {
    let mut data = attributes.clone();
    data.insert("moment".into(), Value::Object(payload.clone()));
    data.insert("personas".into(), Value::Object(personas.clone()));
    Value::Object(data)
}

/// The latest version of every persona, evaluated on `attributes`: `{name: bool}`.
pub fn memberships(
    personas: &PersonaCatalogue,
    attributes: &Map<String, Value>,
) -> Map<String, Value> {
    let data = Value::Object(attributes.clone());
    personas
        .personas
        .iter()
        .map(|(name, p)| (name.clone(), Value::Bool(p.latest().condition.holds(&data))))
        .collect()
}

impl TriggerRules {
    /// The active rules of `moment_type`, each evaluated on `data` (see [`rule_data`]):
    /// those that matched, best priority first (then by name), and those that did not, each
    /// with its explanation (the dry run).
    pub fn evaluate(&self, moment_type: &str, data: &Value) -> (Vec<RuleMatch>, Vec<RuleMiss>) {
        let mut matched = Vec::new();
        let mut missed = Vec::new();
        for rule in self.active(moment_type) {
            let explanation = rule.definition.condition.explain(data);
            if explanation.held {
                matched.push(rule.matched(&explanation));
            } else {
                missed.push(RuleMiss {
                    rule: rule.definition.name.clone(),
                    explanation: serde_json::to_value(&explanation).unwrap_or(Value::Null),
                });
            }
        }
        matched.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.rule.cmp(&b.rule)));
        (matched, missed)
    }

    /// The rules of `moment_type` that match `data`, as [`Self::evaluate`] finds them, with
    /// their explanations; the others are only screened (no explanation built), as a moment
    /// being triggered needs.
    pub fn matches(&self, moment_type: &str, data: &Value) -> Vec<RuleMatch> {
        let facts = crate::domain::expression::Facts::of(data);
        let mut matched: Vec<RuleMatch> = self
            .active(moment_type)
            .filter(|rule| rule.definition.condition.holds_for(&facts))
            .filter_map(|rule| {
                let explanation = rule.definition.condition.explain(data);
                explanation.held.then(|| rule.matched(&explanation))
            })
            .collect();
        matched.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.rule.cmp(&b.rule)));
        matched
    }

    fn active<'a>(&'a self, moment_type: &'a str) -> impl Iterator<Item = &'a TriggerRule> + 'a {
        self.rules
            .values()
            .filter(move |r| r.definition.active && r.definition.moment_type == moment_type)
    }
}

impl TriggerRule {
    fn matched(&self, explanation: &crate::domain::Explanation) -> RuleMatch {
        let d = &self.definition;
        RuleMatch {
            rule: d.name.clone(),
            revision: self.revision,
            reason: d.reason.clone(),
            propositions: d.propositions.clone(),
            priority: d.priority,
            validity_days: d.validity_days,
            explanation: serde_json::to_value(explanation).unwrap_or(Value::Null),
        }
    }
}

/// What staff ask of the trigger rules.
#[derive(Debug, Clone)]
pub enum TriggerRuleCommand {
    /// Defines a rule or replaces it.
    Define {
        /// The definition (its condition checked).
        definition: TriggerRuleDefinition,
        /// Who.
        by: String,
    },
}

impl Aggregate for TriggerRules {
    type Command = TriggerRuleCommand;
    type Event = TriggerRuleEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "triggerrules";

    fn decide(
        &self,
        command: TriggerRuleCommand,
        now: Timestamp,
    ) -> Result<Vec<TriggerRuleEvent>, OffersError> {
        let TriggerRuleCommand::Define { definition, by } = command;
        let definition = definition.check()?;
        let revision = match self.rules.get(&definition.name) {
            Some(existing) if existing.definition == definition => return Ok(vec![]),
            Some(existing) => existing.revision + 1,
            None => 1,
        };
        Ok(vec![TriggerRuleEvent::Defined {
            definition,
            revision,
            by,
            at: now,
        }])
    }

    fn evolve(mut self, event: &TriggerRuleEvent) -> Self {
        let TriggerRuleEvent::Defined {
            definition,
            revision,
            by,
            at,
        } = event;
        self.rules.insert(
            definition.name.clone(),
            TriggerRule {
                definition: definition.clone(),
                revision: *revision,
                by: by.clone(),
                at: *at,
            },
        );
        self
    }
}
