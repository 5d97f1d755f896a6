//! What decisions share (ADR 0022): the published propositions, the outcome counts they rank
//! with, and the order they screen the propositions in. Built by `OffersState::screening`,
//! kept in `OffersState` until the proposition list changes or the counts are refreshed.

use std::sync::Arc;

use crate::domain::{Offerable, PropositionId, ScreeningOrder};

/// The published propositions and the order decisions screen them in (see
/// `OffersState::screening`).
#[derive(Debug)]
pub(crate) struct Screening {
    /// The proposition list's generation.
    pub(crate) generation: u64,
    /// When it was built.
    pub(crate) built: std::time::Instant,
    /// The outcome counts decisions rank with (the bounds of `order` are computed from
    /// them, so they are bounds of every score ranked with them).
    pub(crate) outcomes: crate::outcomes::OutcomesSnapshot,
    /// Every proposition with a published version.
    pub(crate) propositions: Vec<(PropositionId, Arc<crate::domain::Proposition>)>,
    /// Indexes of `propositions`, best bound first.
    pub(crate) order: ScreeningOrder,
    /// Every co-brand partner of a published version.
    pub(crate) partners: Vec<crate::domain::PartnerId>,
}

impl Screening {
    pub(crate) fn offerable(&self) -> Vec<Offerable<'_>> {
        offerable_of(&self.propositions)
    }
}

pub(crate) fn offerable_of(
    propositions: &[(PropositionId, Arc<crate::domain::Proposition>)],
) -> Vec<Offerable<'_>> {
    propositions
        .iter()
        .filter_map(|(id, p)| p.published().map(|version| Offerable { id: *id, version }))
        .collect()
}
