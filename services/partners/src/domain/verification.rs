//! Verification evidence (due diligence) and the rule that gates approval.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::values::{EvidenceReference, StaffId, ValidationError};
use ecohub_kernel::Timestamp;

/// What was checked. Serialised as `"registry_check"`, `"sanctions_screening"` or
/// `{"other": "<name>"}`; these forms are part of the stored event schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The partner exists in its national company registry under the given number. Required
    /// for approval.
    RegistryCheck,
    /// The partner and its officers were screened against sanctions lists. Required for
    /// approval.
    SanctionsScreening,
    /// Any other check (`pep_screening`, `financial_statements`): 1 to 64 characters of
    /// lowercase letters, digits and `_`. Recorded, never required.
    Other(String),
}

impl CheckKind {
    /// The checks approval requires.
    pub const REQUIRED: [CheckKind; 2] = [CheckKind::RegistryCheck, CheckKind::SanctionsScreening];

    /// Parses `registry_check`, `sanctions_screening` or another check's name.
    pub fn parse(name: &str) -> Result<CheckKind, ValidationError> {
        let kind = match name {
            "registry_check" => CheckKind::RegistryCheck,
            "sanctions_screening" => CheckKind::SanctionsScreening,
            other => CheckKind::Other(other.to_owned()),
        };
        kind.validate()?;
        Ok(kind)
    }

    /// Checks the name of an [`CheckKind::Other`] check (the variant is public, so `decide`
    /// calls this too).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let CheckKind::Other(name) = self else {
            return Ok(());
        };
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_';
        if name.is_empty() || name.len() > 64 || !name.bytes().all(allowed) {
            return Err(ValidationError::new(
                "check",
                "must be 1 to 64 lowercase letters, digits or _",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckKind::RegistryCheck => f.write_str("registry check"),
            CheckKind::SanctionsScreening => f.write_str("sanctions screening"),
            CheckKind::Other(name) => f.write_str(name),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckResult {
    /// Nothing found against the partner.
    Passed,
    /// Something found against the partner.
    Failed,
    /// No conclusion (e.g. a possible name match still being investigated).
    Inconclusive,
}

/// One piece of verification evidence, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationRecord {
    /// What was checked.
    pub check: CheckKind,
    /// With what outcome.
    pub result: CheckResult,
    /// Where the evidence is kept.
    pub evidence: EvidenceReference,
    /// Who recorded it (a maker: this person may not approve the partner).
    pub by: StaffId,
    /// When.
    pub at: Timestamp,
}

/// Why the evidence does not yet allow an approval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shortfall {
    /// No conclusive result of this required check.
    Missing(CheckKind),
    /// Its latest conclusive result is `failed`.
    Failed(CheckKind),
}

/// The approval rule: for each required check, take its records in the order they were
/// recorded and ignore `inconclusive` ones; the last remaining one must be `passed`. So a
/// check needs at least one pass, and a failure recorded after the last pass blocks approval
/// until a newer pass is recorded.
pub(crate) fn shortfall(records: &[VerificationRecord]) -> Option<Shortfall> {
    CheckKind::REQUIRED.into_iter().find_map(|kind| {
        let latest = records
            .iter()
            .rev()
            .filter(|r| r.check == kind && r.result != CheckResult::Inconclusive)
            .map(|r| r.result)
            .next();
        match latest {
            Some(CheckResult::Passed) => None,
            Some(_) => Some(Shortfall::Failed(kind)),
            None => Some(Shortfall::Missing(kind)),
        }
    })
}
