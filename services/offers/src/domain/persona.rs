//! Personas: named, versioned segment conditions over customer attributes. A version never
//! changes once written; a proposition pins the versions it was approved with.

use std::collections::BTreeMap;

use ecohub_kernel::{Aggregate, Timestamp};

use super::OffersError;
use super::event::PersonaEvent;
use super::expression::Condition;

/// One version of a persona.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonaVersion {
    /// 1, 2, …
    pub version: u32,
    /// Display title ("Globetrotter").
    pub title: String,
    /// What it is for.
    pub description: String,
    /// Who belongs to it.
    pub condition: Condition,
    /// Who wrote this version.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A persona and all its versions, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    /// Its name in audiences and conditions (`globetrotter`).
    pub name: String,
    /// Every version, oldest first (never empty).
    pub versions: Vec<PersonaVersion>,
}

impl Persona {
    /// The newest version.
    pub fn latest(&self) -> &PersonaVersion {
        self.versions
            .last()
            .expect("a persona has at least one version")
    }

    /// Version `v`.
    pub fn version(&self, v: u32) -> Option<&PersonaVersion> {
        self.versions.iter().find(|p| p.version == v)
    }
}

/// Every persona (one stream, `personas-catalogue`): small, read exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonaCatalogue {
    /// Personas by name.
    pub personas: BTreeMap<String, Persona>,
}

impl PersonaCatalogue {
    /// Persona `name` at version `v`.
    pub fn version(&self, name: &str, v: u32) -> Option<&PersonaVersion> {
        self.personas.get(name).and_then(|p| p.version(v))
    }
}

/// What staff ask of the persona catalogue.
#[derive(Debug, Clone)]
pub enum PersonaCommand {
    /// Defines a persona, or writes its next version when something changed.
    DefinePersona {
        /// Its name (`[a-z][a-z0-9_]*`, checked by the caller).
        name: String,
        /// Display title.
        title: String,
        /// Description.
        description: String,
        /// The condition, already checked against the attribute catalogue.
        condition: Condition,
        /// Who.
        by: String,
    },
}

impl Aggregate for PersonaCatalogue {
    type Command = PersonaCommand;
    type Event = PersonaEvent;
    type Error = OffersError;
    const CATEGORY: &'static str = "personas";

    fn decide(
        &self,
        command: PersonaCommand,
        now: Timestamp,
    ) -> Result<Vec<PersonaEvent>, OffersError> {
        let PersonaCommand::DefinePersona {
            name,
            title,
            description,
            condition,
            by,
        } = command;
        let version = match self.personas.get(&name) {
            None => 1,
            Some(p) => {
                let l = p.latest();
                if l.title == title && l.description == description && l.condition == condition {
                    return Ok(vec![]);
                }
                l.version + 1
            }
        };
        Ok(vec![PersonaEvent::PersonaVersionDefined {
            name,
            version,
            title,
            description,
            condition,
            by,
            at: now,
        }])
    }

    fn evolve(mut self, event: &PersonaEvent) -> Self {
        let PersonaEvent::PersonaVersionDefined {
            name,
            version,
            title,
            description,
            condition,
            by,
            at,
        } = event;
        let v = PersonaVersion {
            version: *version,
            title: title.clone(),
            description: description.clone(),
            condition: condition.clone(),
            by: by.clone(),
            at: *at,
        };
        self.personas
            .entry(name.clone())
            .or_insert_with(|| Persona {
                name: name.clone(),
                versions: Vec::new(),
            })
            .versions
            .push(v);
        self
    }
}

/// The stream of the persona catalogue.
pub const PERSONAS_STREAM: &str = "personas-catalogue";
