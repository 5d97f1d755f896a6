//! A proposition's versions: drafting, four-eyes approval, co-branding, publication.

use std::collections::BTreeSet;

use ecohub_kernel::testing::{given, given_no_history};
use ecohub_offers::domain::*;

use super::{NOW, loan, partner};

const PM1: &str = "client:pm-1";
const PM2: &str = "client:pm-2";

fn id() -> PropositionId {
    PropositionId::parse("0190a000-0000-7000-8000-0000000000aa").unwrap()
}

fn drafted(version: u32) -> PropositionEvent {
    PropositionEvent::Drafted {
        proposition_id: id(),
        version,
        content: loan(),
        by: PM1.into(),
        at: NOW,
    }
}

fn submitted(version: u32) -> PropositionEvent {
    PropositionEvent::Submitted {
        version,
        by: PM1.into(),
        at: NOW,
    }
}

fn approved(version: u32) -> PropositionEvent {
    PropositionEvent::Approved {
        version,
        by: PM2.into(),
        at: NOW,
    }
}

fn accepted(version: u32) -> PropositionEvent {
    PropositionEvent::CoBrandingAccepted {
        version,
        partner_id: partner(),
        at: NOW,
    }
}

fn published(version: u32) -> PropositionEvent {
    PropositionEvent::Published {
        version,
        by: PM2.into(),
        at: NOW,
    }
}

fn publish(version: u32) -> PropositionCommand {
    PropositionCommand::PublishVersion {
        version,
        by: PM2.into(),
        inactive_partners: BTreeSet::new(),
    }
}

#[test]
fn the_first_draft_creates_the_proposition() {
    given_no_history::<Proposition>()
        .when(PropositionCommand::DraftVersion {
            id: id(),
            content: loan(),
            by: PM1.into(),
        })
        .then([drafted(1)]);
}

#[test]
fn the_submitter_cannot_approve() {
    given::<Proposition>([drafted(1), submitted(1)])
        .when(PropositionCommand::ApproveVersion {
            version: 1,
            by: PM1.into(),
        })
        .then_refused(
            "maker-checker: client:pm-1 wrote or submitted this version and cannot approve it",
        );
    given::<Proposition>([drafted(1), submitted(1)])
        .when(PropositionCommand::ApproveVersion {
            version: 1,
            by: PM2.into(),
        })
        .then([approved(1)]);
}

#[test]
fn the_author_cannot_approve_even_when_someone_else_submitted() {
    given::<Proposition>([
        drafted(1),
        PropositionEvent::Submitted {
            version: 1,
            by: PM2.into(),
            at: NOW,
        },
    ])
    .when(PropositionCommand::ApproveVersion {
        version: 1,
        by: PM1.into(),
    })
    .then_refused(
        "maker-checker: client:pm-1 wrote or submitted this version and cannot approve it",
    );
    given::<Proposition>([
        drafted(1),
        PropositionEvent::DraftRevised {
            version: 1,
            content: loan(),
            by: PM2.into(),
            at: NOW,
        },
        PropositionEvent::Submitted {
            version: 1,
            by: PM1.into(),
            at: NOW,
        },
    ])
    .when(PropositionCommand::ApproveVersion {
        version: 1,
        by: PM2.into(),
    })
    .then_refused(
        "maker-checker: client:pm-2 wrote or submitted this version and cannot approve it",
    );
}

#[test]
fn only_a_submitted_version_is_approved() {
    given::<Proposition>([drafted(1)])
        .when(PropositionCommand::ApproveVersion {
            version: 1,
            by: PM2.into(),
        })
        .then_refused("version 1 is Draft, not submitted");
    given::<Proposition>([drafted(1)])
        .when(PropositionCommand::ApproveVersion {
            version: 7,
            by: PM2.into(),
        })
        .then_refused("not found");
}

#[test]
fn publishing_waits_for_every_co_brand_partner() {
    given::<Proposition>([drafted(1), submitted(1), approved(1)])
        .when(publish(1))
        .then_refused(&format!(
            "co-brand partners have not accepted version 1: {}",
            partner()
        ));
    given::<Proposition>([drafted(1), submitted(1), approved(1), accepted(1)])
        .when(publish(1))
        .then([published(1)]);
}

#[test]
fn a_withdrawn_acceptance_blocks_publication() {
    given::<Proposition>([
        drafted(1),
        submitted(1),
        approved(1),
        accepted(1),
        PropositionEvent::CoBrandingWithdrawn {
            version: 1,
            partner_id: partner(),
            reason: "terms changed".into(),
            at: NOW,
        },
    ])
    .when(publish(1))
    .then_refused(&format!(
        "co-brand partners have not accepted version 1: {}",
        partner()
    ));
}

#[test]
fn a_suspended_partner_blocks_publication() {
    given::<Proposition>([drafted(1), submitted(1), approved(1), accepted(1)])
        .when(PropositionCommand::PublishVersion {
            version: 1,
            by: PM2.into(),
            inactive_partners: BTreeSet::from([partner()]),
        })
        .then_refused(&format!("co-brand partners are not active: {}", partner()));
}

#[test]
fn a_published_version_never_changes() {
    let history = [
        drafted(1),
        submitted(1),
        approved(1),
        accepted(1),
        published(1),
    ];
    given::<Proposition>(history.clone())
        .when(PropositionCommand::ReviseDraft {
            version: 1,
            content: loan(),
            by: PM1.into(),
        })
        .then_refused("version 1 is Published: only a draft can change (draft a new version)");
    given::<Proposition>(history)
        .when(PropositionCommand::DraftVersion {
            id: id(),
            content: loan(),
            by: PM1.into(),
        })
        .then([drafted(2)]);
}

#[test]
fn one_open_version_at_a_time() {
    given::<Proposition>([drafted(1)])
        .when(PropositionCommand::DraftVersion {
            id: id(),
            content: loan(),
            by: PM1.into(),
        })
        .then_refused("version 1 is still Draft; finish or reject it before drafting another");
}

#[test]
fn publishing_a_new_version_retires_the_previous_in_the_same_decision() {
    given::<Proposition>([
        drafted(1),
        submitted(1),
        approved(1),
        accepted(1),
        published(1),
        drafted(2),
        submitted(2),
        approved(2),
        accepted(2),
    ])
    .when(publish(2))
    .then([
        PropositionEvent::Retired {
            version: 1,
            by: PM2.into(),
            reason: "superseded by version 2".into(),
            at: NOW,
        },
        published(2),
    ]);
}

#[test]
fn a_rejection_needs_a_reason_and_sends_the_version_back_to_draft() {
    given::<Proposition>([drafted(1), submitted(1)])
        .when(PropositionCommand::RejectVersion {
            version: 1,
            by: PM2.into(),
            reason: " ".into(),
        })
        .then_refused("/reason: must be 1 to 500 characters");
    let g = given::<Proposition>([
        drafted(1),
        submitted(1),
        PropositionEvent::Rejected {
            version: 1,
            by: PM2.into(),
            reason: "rate too low".into(),
            at: NOW,
        },
    ]);
    let v = g.state().version(1).unwrap();
    assert_eq!(v.status, VersionStatus::Draft);
    assert_eq!(v.rejection.as_deref(), Some("rate too low"));
}

#[test]
fn revising_a_draft_clears_acceptances() {
    let g = given::<Proposition>([
        drafted(1),
        submitted(1),
        accepted(1),
        PropositionEvent::Rejected {
            version: 1,
            by: PM2.into(),
            reason: "fix".into(),
            at: NOW,
        },
        PropositionEvent::DraftRevised {
            version: 1,
            content: loan(),
            by: PM1.into(),
            at: NOW,
        },
    ]);
    assert!(g.state().version(1).unwrap().accepted.is_empty());
}

#[test]
fn only_a_co_brand_partner_accepts_and_a_draft_is_not_accepted() {
    let stranger = PartnerId::parse("0190a000-0000-7000-8000-0000000000ff").unwrap();
    given::<Proposition>([drafted(1), submitted(1)])
        .when(PropositionCommand::AcceptCoBranding {
            version: 1,
            partner: stranger,
        })
        .then_refused("not found");
    given::<Proposition>([drafted(1)])
        .when(PropositionCommand::AcceptCoBranding {
            version: 1,
            partner: partner(),
        })
        .then_refused("version 1 is Draft; a submitted, approved or published version is accepted");
    given::<Proposition>([drafted(1), submitted(1), accepted(1)])
        .when(PropositionCommand::AcceptCoBranding {
            version: 1,
            partner: partner(),
        })
        .then([]);
}

#[test]
fn only_the_published_version_is_retired() {
    given::<Proposition>([drafted(1), submitted(1), approved(1)])
        .when(PropositionCommand::RetireVersion {
            version: 1,
            by: PM2.into(),
            reason: "end".into(),
        })
        .then_refused("version 1 is Approved, not published");
}
