//! Every command: its happy path and each of its refusals, as given/when/then.

use std::collections::BTreeSet;

use ecohub_kernel::testing::{given, given_no_history};
use ecohub_partners::domain::*;

use crate::support::*;

// --- apply -----------------------------------------------------------------------------

#[test]
fn a_company_applies() {
    let state = given_no_history::<Partner>()
        .when(apply().into())
        .then([applied_at(NOW)]);
    assert_eq!(state.status(), Some(PartnerStatus::Applied));
    assert_eq!(state.id(), Some(partner_id()));
    assert_eq!(state.legal_name().unwrap().as_str(), "TravelCo GmbH");
    assert!(!state.is_active());
    assert!(state.granted_roles().is_empty() && state.allowed_scopes().is_empty());
    let application = state.application().unwrap();
    assert_eq!(
        application.requested_roles,
        roles(&[Role::DataRecipient, Role::OfferPartner])
    );
    assert_eq!(application.contacts, [contact()]);
    assert_eq!(application.applied_at, NOW);
    assert_eq!(
        state.status_history(),
        [StatusChange {
            status: PartnerStatus::Applied,
            reason: None,
            note: None,
            by: None,
            at: NOW
        }]
    );
}

#[test]
fn applying_twice_is_refused() {
    given::<Partner>([applied()])
        .when(apply().into())
        .then_refused("partner has already applied");
    given::<Partner>(with(approved_history(), [offboarded()]))
        .when(apply().into())
        .then_refused("partner has already applied");
}

#[test]
fn an_application_needs_roles_and_contacts() {
    let no_roles = ApplyForPartnership {
        requested_roles: BTreeSet::new(),
        ..apply()
    };
    given_no_history::<Partner>()
        .when(no_roles.into())
        .then_refused("requested_roles must not be empty");
    let no_contacts = ApplyForPartnership {
        contacts: vec![],
        ..apply()
    };
    given_no_history::<Partner>()
        .when(no_contacts.into())
        .then_refused("contacts must list at least one contact");
    let too_many = ApplyForPartnership {
        contacts: vec![contact(); MAX_CONTACTS + 1],
        ..apply()
    };
    given_no_history::<Partner>()
        .when(too_many.into())
        .then_refused("contacts must list at most 10 contacts");
}

#[test]
fn commands_for_a_partner_that_never_applied_are_not_found() {
    let commands: Vec<PartnerCommand> = vec![
        verify(CheckKind::RegistryCheck, CheckResult::Passed, maker()).into(),
        approve().into(),
        RejectPartner {
            by: checker(),
            reason: reason("no"),
        }
        .into(),
        SuspendPartner {
            by: checker(),
            reason: reason("no"),
        }
        .into(),
        ReinstatePartner {
            by: checker(),
            reason: reason("no"),
        }
        .into(),
        OffboardPartner {
            by: checker(),
            reason: reason("no"),
        }
        .into(),
        register_webhook(1).into(),
        RemoveWebhook {
            webhook_id: webhook_id(1),
        }
        .into(),
    ];
    for command in commands {
        given_no_history::<Partner>()
            .when(command)
            .then_refused_with(|e| assert_eq!(*e, PartnerError::NotFound));
    }
}

// --- record verification ---------------------------------------------------------------

#[test]
fn the_first_verification_record_starts_the_review() {
    let state = given::<Partner>([applied()])
        .when(verify(CheckKind::RegistryCheck, CheckResult::Passed, maker()).into())
        .then([PartnerEvent::VerificationRecorded {
            check: CheckKind::RegistryCheck,
            result: CheckResult::Passed,
            evidence: EvidenceReference::parse("case 2026/0042").unwrap(),
            by: maker(),
            at: NOW,
        }]);
    assert_eq!(state.status(), Some(PartnerStatus::UnderReview));
    assert_eq!(state.verifications().len(), 1);
    assert_eq!(state.verifications()[0].by, maker());
    let last = state.status_history().last().unwrap();
    assert_eq!(
        (last.status, last.by.as_ref(), last.at),
        (PartnerStatus::UnderReview, Some(&maker()), NOW)
    );
}

#[test]
fn further_records_keep_the_review_going_and_any_check_can_be_recorded() {
    let state = given::<Partner>(verified_history())
        .when(
            verify(
                CheckKind::Other("pep_screening".into()),
                CheckResult::Inconclusive,
                maker(),
            )
            .into(),
        )
        .then([PartnerEvent::VerificationRecorded {
            check: CheckKind::Other("pep_screening".into()),
            result: CheckResult::Inconclusive,
            evidence: EvidenceReference::parse("case 2026/0042").unwrap(),
            by: maker(),
            at: NOW,
        }]);
    assert_eq!(state.status(), Some(PartnerStatus::UnderReview));
    assert_eq!(state.verifications().len(), 3);
    // one entry for `applied`, one for `under_review`: further records change no status
    assert_eq!(state.status_history().len(), 2);
}

#[test]
fn due_diligence_continues_after_approval() {
    for history in [approved_history(), with(approved_history(), [suspended()])] {
        let status = given::<Partner>(history.clone()).state().status();
        let state = given::<Partner>(history)
            .when(verify(CheckKind::SanctionsScreening, CheckResult::Failed, maker()).into())
            .then([PartnerEvent::VerificationRecorded {
                check: CheckKind::SanctionsScreening,
                result: CheckResult::Failed,
                evidence: EvidenceReference::parse("case 2026/0042").unwrap(),
                by: maker(),
                at: NOW,
            }]);
        assert_eq!(state.status(), status, "a record changes no decided status");
    }
}

#[test]
fn no_verification_after_rejection_or_offboarding() {
    given::<Partner>(with(verified_history(), [rejected()]))
        .when(verify(CheckKind::RegistryCheck, CheckResult::Passed, maker()).into())
        .then_refused("cannot record verification for a partner that is rejected");
    given::<Partner>(with(approved_history(), [offboarded()]))
        .when(verify(CheckKind::RegistryCheck, CheckResult::Passed, maker()).into())
        .then_refused("cannot record verification for a partner that is offboarded");
}

#[test]
fn an_other_check_needs_a_valid_name() {
    given::<Partner>([applied()])
        .when(
            verify(
                CheckKind::Other("PEP!".into()),
                CheckResult::Passed,
                maker(),
            )
            .into(),
        )
        .then_refused("check must be 1 to 64 lowercase letters, digits or _");
}

// --- approve ---------------------------------------------------------------------------

#[test]
fn a_checker_approves_a_verified_partner_with_every_requested_role() {
    let note = Note::parse("pilot with the travel segment").unwrap();
    let state = given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                note: Some(note.clone()),
                ..approve()
            }
            .into(),
        )
        .then([PartnerEvent::Approved {
            roles: roles(&[Role::DataRecipient, Role::OfferPartner]),
            redirect_uris: vec![redirect("https://travelco.example/callback")],
            note: Some(note.clone()),
            by: checker(),
            at: NOW,
        }]);
    assert_eq!(state.status(), Some(PartnerStatus::Approved));
    assert!(state.is_active());
    assert_eq!(
        state.granted_roles(),
        &roles(&[Role::DataRecipient, Role::OfferPartner])
    );
    assert_eq!(
        state.allowed_scopes(),
        Scope::for_roles(&[Role::DataRecipient, Role::OfferPartner])
    );
    assert!(state.allowed_scopes().contains(&Scope::PartnerRead));
    assert_eq!(
        state.redirect_uris(),
        [redirect("https://travelco.example/callback")]
    );
    let last = state.status_history().last().unwrap();
    assert_eq!(last.note.as_ref(), Some(&note));
    assert_eq!(last.by.as_ref(), Some(&checker()));
}

#[test]
fn an_approval_may_grant_fewer_roles_than_requested() {
    let state = given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                roles: Some(roles(&[Role::OfferPartner])),
                redirect_uris: vec![],
                ..approve()
            }
            .into(),
        )
        .then([PartnerEvent::Approved {
            roles: roles(&[Role::OfferPartner]),
            redirect_uris: vec![],
            note: None,
            by: checker(),
            at: NOW,
        }]);
    assert!(!state.allowed_scopes().contains(&Scope::ConsentsWrite));
    assert!(state.allowed_scopes().contains(&Scope::OffersWrite));
}

#[test]
fn granted_roles_must_be_requested_and_not_empty() {
    given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                roles: Some(roles(&[Role::DataProvider])),
                ..approve()
            }
            .into(),
        )
        .then_refused("roles data_provider was not requested");
    given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                roles: Some(BTreeSet::new()),
                ..approve()
            }
            .into(),
        )
        .then_refused("roles must not be empty");
}

#[test]
fn redirect_uris_are_https_in_production_unique_and_bounded() {
    let loopback = vec![redirect("http://127.0.0.1:8080/cb")];
    given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                redirect_uris: loopback.clone(),
                ..approve()
            }
            .into(),
        )
        .then_refused("redirect_uri must use https in production");
    given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                redirect_uris: loopback.clone(),
                production: false,
                ..approve()
            }
            .into(),
        )
        .then([PartnerEvent::Approved {
            roles: roles(&[Role::DataRecipient, Role::OfferPartner]),
            redirect_uris: loopback,
            note: None,
            by: checker(),
            at: NOW,
        }]);
    let twice = vec![
        redirect("https://travelco.example/cb"),
        redirect("https://travelco.example/cb"),
    ];
    given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                redirect_uris: twice,
                ..approve()
            }
            .into(),
        )
        .then_refused("redirect_uris must not contain duplicates");
    let many = (0..=MAX_REDIRECT_URIS)
        .map(|i| redirect(&format!("https://travelco.example/cb{i}")))
        .collect();
    given::<Partner>(verified_history())
        .when(
            ApprovePartner {
                redirect_uris: many,
                ..approve()
            }
            .into(),
        )
        .then_refused("redirect_uris must list at most 20 uris");
}

#[test]
fn approval_needs_a_passed_registry_check_and_sanctions_screening() {
    given::<Partner>([applied()])
        .when(approve().into())
        .then_refused("verification incomplete: no passed registry check recorded");
    given::<Partner>([
        applied(),
        verified(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
    ])
    .when(approve().into())
    .then_refused("verification incomplete: no passed sanctions screening recorded");
    given::<Partner>([
        applied(),
        verified(CheckKind::SanctionsScreening, CheckResult::Passed, maker()),
    ])
    .when(approve().into())
    .then_refused_with(|e| {
        assert_eq!(
            *e,
            PartnerError::VerificationIncomplete(CheckKind::RegistryCheck)
        )
    });
    // inconclusive results and other checks do not count
    given::<Partner>([
        applied(),
        verified(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
        verified(
            CheckKind::SanctionsScreening,
            CheckResult::Inconclusive,
            maker(),
        ),
        verified(
            CheckKind::Other("sanctions".into()),
            CheckResult::Passed,
            maker(),
        ),
    ])
    .when(approve().into())
    .then_refused("verification incomplete: no passed sanctions screening recorded");
}

#[test]
fn a_failed_screening_after_the_last_pass_blocks_approval() {
    let failed_after_pass = with(
        verified_history(),
        [verified(
            CheckKind::SanctionsScreening,
            CheckResult::Failed,
            maker(),
        )],
    );
    given::<Partner>(failed_after_pass.clone())
        .when(approve().into())
        .then_refused("verification failed: the latest sanctions screening failed");
    // an inconclusive result after the failure does not clear it
    given::<Partner>(with(
        failed_after_pass.clone(),
        [verified(
            CheckKind::SanctionsScreening,
            CheckResult::Inconclusive,
            maker(),
        )],
    ))
    .when(approve().into())
    .then_refused_with(|e| {
        assert_eq!(
            *e,
            PartnerError::VerificationFailed(CheckKind::SanctionsScreening)
        )
    });
    // only a newer pass does
    given::<Partner>(with(
        failed_after_pass,
        [verified(
            CheckKind::SanctionsScreening,
            CheckResult::Passed,
            maker(),
        )],
    ))
    .when(approve().into())
    .then([PartnerEvent::Approved {
        roles: roles(&[Role::DataRecipient, Role::OfferPartner]),
        redirect_uris: vec![redirect("https://travelco.example/callback")],
        note: None,
        by: checker(),
        at: NOW,
    }]);
}

#[test]
fn a_failure_before_the_last_pass_does_not_block_and_the_rule_holds_for_the_registry_too() {
    given::<Partner>([
        applied(),
        verified(CheckKind::SanctionsScreening, CheckResult::Failed, maker()),
        verified(CheckKind::SanctionsScreening, CheckResult::Passed, maker()),
        verified(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
        verified(
            CheckKind::SanctionsScreening,
            CheckResult::Inconclusive,
            maker(),
        ),
    ])
    .when(approve().into())
    .then([approved_at(NOW)]);

    given::<Partner>([
        applied(),
        verified(CheckKind::SanctionsScreening, CheckResult::Passed, maker()),
        verified(CheckKind::RegistryCheck, CheckResult::Passed, maker()),
        verified(CheckKind::RegistryCheck, CheckResult::Failed, maker()),
    ])
    .when(approve().into())
    .then_refused("verification failed: the latest registry check failed");
}

#[test]
fn maker_checker_the_approver_recorded_no_evidence() {
    let maker_approves = ApprovePartner {
        by: maker(),
        ..approve()
    };
    given::<Partner>(verified_history())
        .when(maker_approves.into())
        .then_refused("maker-checker: staff-maker recorded verification evidence for this partner and cannot approve it");
    // any evidence counts, even an inconclusive record of another check
    let history = with(
        verified_history(),
        [verified(
            CheckKind::Other("pep_screening".into()),
            CheckResult::Inconclusive,
            checker(),
        )],
    );
    given::<Partner>(history)
        .when(approve().into())
        .then_refused_with(|e| assert_eq!(*e, PartnerError::MakerChecker(checker())));
}

#[test]
fn approval_from_any_other_status_is_refused() {
    given::<Partner>(approved_history())
        .when(approve().into())
        .then_refused("partner is already approved");
    given::<Partner>(with(verified_history(), [rejected()]))
        .when(approve().into())
        .then_refused("cannot approve a partner that is rejected");
    given::<Partner>(with(approved_history(), [suspended()]))
        .when(approve().into())
        .then_refused("cannot approve a partner that is suspended");
    given::<Partner>(with(approved_history(), [offboarded()]))
        .when(approve().into())
        .then_refused("cannot approve a partner that is offboarded");
}

// --- reject ----------------------------------------------------------------------------

#[test]
fn staff_reject_an_undecided_application_with_a_reason() {
    for history in [vec![applied()], verified_history()] {
        let state = given::<Partner>(history)
            .when(
                RejectPartner {
                    by: maker(),
                    reason: reason("not a regulated entity"),
                }
                .into(),
            )
            .then([PartnerEvent::Rejected {
                reason: reason("not a regulated entity"),
                by: maker(),
                at: NOW,
            }]);
        assert_eq!(state.status(), Some(PartnerStatus::Rejected));
        let last = state.status_history().last().unwrap();
        assert_eq!(
            last.reason.as_ref().map(Reason::as_str),
            Some("not a regulated entity")
        );
        assert_eq!(last.by.as_ref(), Some(&maker()));
        assert_eq!(last.at, NOW);
    }
}

#[test]
fn rejection_of_a_decided_partner_is_refused() {
    let reject = || {
        RejectPartner {
            by: checker(),
            reason: reason("again"),
        }
        .into()
    };
    given::<Partner>(with(verified_history(), [rejected()]))
        .when(reject())
        .then_refused("partner is already rejected");
    given::<Partner>(approved_history())
        .when(reject())
        .then_refused("cannot reject a partner that is approved");
    given::<Partner>(with(approved_history(), [suspended()]))
        .when(reject())
        .then_refused("cannot reject a partner that is suspended");
    given::<Partner>(with(approved_history(), [offboarded()]))
        .when(reject())
        .then_refused("cannot reject a partner that is offboarded");
}

// --- suspend / reinstate ---------------------------------------------------------------

#[test]
fn an_approved_partner_is_suspended_and_reinstated() {
    let state = given::<Partner>(approved_history())
        .when(
            SuspendPartner {
                by: checker(),
                reason: reason("unusual traffic"),
            }
            .into(),
        )
        .then([PartnerEvent::Suspended {
            reason: reason("unusual traffic"),
            by: checker(),
            at: NOW,
        }]);
    assert_eq!(state.status(), Some(PartnerStatus::Suspended));
    assert!(!state.is_active());

    let state = given::<Partner>(with(approved_history(), [suspended()]))
        .when(
            ReinstatePartner {
                by: maker(),
                reason: reason("traffic explained"),
            }
            .into(),
        )
        .then([PartnerEvent::Reinstated {
            reason: reason("traffic explained"),
            by: maker(),
            at: NOW,
        }]);
    assert_eq!(state.status(), Some(PartnerStatus::Approved));
    assert!(state.is_active());
    let last = state.status_history().last().unwrap();
    assert_eq!(
        (last.status, last.by.as_ref()),
        (PartnerStatus::Approved, Some(&maker()))
    );
    assert_eq!(
        last.reason.as_ref().map(Reason::as_str),
        Some("traffic explained")
    );
}

#[test]
fn suspension_only_from_approved() {
    let suspend = || {
        SuspendPartner {
            by: checker(),
            reason: reason("again"),
        }
        .into()
    };
    given::<Partner>(with(approved_history(), [suspended()]))
        .when(suspend())
        .then_refused("partner is already suspended");
    given::<Partner>([applied()])
        .when(suspend())
        .then_refused("cannot suspend a partner that is applied");
    given::<Partner>(verified_history())
        .when(suspend())
        .then_refused("cannot suspend a partner that is under review");
    given::<Partner>(with(verified_history(), [rejected()]))
        .when(suspend())
        .then_refused("cannot suspend a partner that is rejected");
    given::<Partner>(with(approved_history(), [offboarded()]))
        .when(suspend())
        .then_refused_with(|e| {
            assert_eq!(
                *e,
                PartnerError::InvalidTransition {
                    from: PartnerStatus::Offboarded,
                    command: "suspend"
                }
            )
        });
}

#[test]
fn reinstatement_only_from_suspended() {
    let reinstate = || {
        ReinstatePartner {
            by: checker(),
            reason: reason("ok"),
        }
        .into()
    };
    given::<Partner>(approved_history())
        .when(reinstate())
        .then_refused("partner is already approved");
    given::<Partner>([applied()])
        .when(reinstate())
        .then_refused("cannot reinstate a partner that is applied");
    given::<Partner>(verified_history())
        .when(reinstate())
        .then_refused("cannot reinstate a partner that is under review");
    given::<Partner>(with(verified_history(), [rejected()]))
        .when(reinstate())
        .then_refused("cannot reinstate a partner that is rejected");
    given::<Partner>(with(approved_history(), [suspended(), offboarded()]))
        .when(reinstate())
        .then_refused("cannot reinstate a partner that is offboarded");
}

// --- offboard --------------------------------------------------------------------------

#[test]
fn approved_or_suspended_partners_are_offboarded_and_lose_their_webhooks() {
    for history in [
        with(approved_history(), [webhook_registered(1)]),
        with(approved_history(), [webhook_registered(1), suspended()]),
    ] {
        let state = given::<Partner>(history)
            .when(
                OffboardPartner {
                    by: checker(),
                    reason: reason("contract ended"),
                }
                .into(),
            )
            .then([PartnerEvent::Offboarded {
                reason: reason("contract ended"),
                by: checker(),
                at: NOW,
            }]);
        assert_eq!(state.status(), Some(PartnerStatus::Offboarded));
        assert!(!state.is_active());
        assert!(state.webhooks().is_empty());
        // the grant stays on record
        assert!(!state.granted_roles().is_empty());
    }
}

#[test]
fn offboarding_is_terminal_and_needs_a_decided_partner() {
    let offboard = || {
        OffboardPartner {
            by: checker(),
            reason: reason("bye"),
        }
        .into()
    };
    given::<Partner>(with(approved_history(), [offboarded()]))
        .when(offboard())
        .then_refused("partner is already offboarded");
    given::<Partner>([applied()])
        .when(offboard())
        .then_refused("cannot offboard a partner that is applied");
    given::<Partner>(verified_history())
        .when(offboard())
        .then_refused("cannot offboard a partner that is under review");
    given::<Partner>(with(verified_history(), [rejected()]))
        .when(offboard())
        .then_refused("cannot offboard a partner that is rejected");
}

// --- webhooks --------------------------------------------------------------------------

#[test]
fn an_approved_partner_registers_a_webhook() {
    let filters: BTreeSet<EventTypeFilter> = ["ConsentRevoked", "Offer*"]
        .iter()
        .map(|f| EventTypeFilter::parse(f).unwrap())
        .collect();
    let state = given::<Partner>(approved_history())
        .when(
            RegisterWebhook {
                event_types: filters.clone(),
                ..register_webhook(1)
            }
            .into(),
        )
        .then([PartnerEvent::WebhookRegistered {
            webhook_id: webhook_id(1),
            url: hook_url(1),
            event_types: filters,
            at: NOW,
        }]);
    let [hook] = state.webhooks() else {
        panic!("one webhook expected")
    };
    assert_eq!(
        (hook.id, &hook.url, hook.registered_at),
        (webhook_id(1), &hook_url(1), NOW)
    );
    assert!(hook.wants("ConsentRevoked") && hook.wants("OfferAccepted"));
    assert!(!hook.wants("PartnerSuspended"));
}

#[test]
fn a_webhook_without_filters_receives_everything() {
    let state = given::<Partner>(approved_history())
        .when(register_webhook(1).into())
        .then([PartnerEvent::WebhookRegistered {
            webhook_id: webhook_id(1),
            url: hook_url(1),
            event_types: BTreeSet::new(),
            at: NOW,
        }]);
    assert!(state.webhooks()[0].wants("AnythingAtAll"));
}

#[test]
fn webhook_urls_are_https_in_production() {
    let local = WebhookUrl::parse("http://127.0.0.1:9999/hook").unwrap();
    given::<Partner>(approved_history())
        .when(
            RegisterWebhook {
                url: local.clone(),
                ..register_webhook(1)
            }
            .into(),
        )
        .then_refused("webhook_url must use https in production");
    given::<Partner>(approved_history())
        .when(
            RegisterWebhook {
                url: local.clone(),
                production: false,
                ..register_webhook(1)
            }
            .into(),
        )
        .then([PartnerEvent::WebhookRegistered {
            webhook_id: webhook_id(1),
            url: local,
            event_types: BTreeSet::new(),
            at: NOW,
        }]);
}

#[test]
fn webhooks_are_unique_by_id_and_url_and_at_most_ten() {
    let one = with(approved_history(), [webhook_registered(1)]);
    given::<Partner>(one.clone())
        .when(
            RegisterWebhook {
                url: hook_url(2),
                ..register_webhook(1)
            }
            .into(),
        )
        .then_refused(&format!("webhook {} already exists", webhook_id(1)));
    given::<Partner>(one)
        .when(
            RegisterWebhook {
                url: hook_url(1),
                ..register_webhook(2)
            }
            .into(),
        )
        .then_refused("a webhook is already registered for this url");
    let ten = with(approved_history(), (1..=10).map(webhook_registered));
    given::<Partner>(ten.clone())
        .when(register_webhook(11).into())
        .then_refused("a partner may have at most 10 active webhooks");
    // removing one frees a place
    given::<Partner>(with(
        ten,
        [PartnerEvent::WebhookRemoved {
            webhook_id: webhook_id(3),
            at: ago(5),
        }],
    ))
    .when(register_webhook(11).into())
    .then([PartnerEvent::WebhookRegistered {
        webhook_id: webhook_id(11),
        url: hook_url(11),
        event_types: BTreeSet::new(),
        at: NOW,
    }]);
}

#[test]
fn too_many_event_type_filters_are_refused() {
    let filters = (0..=MAX_EVENT_TYPE_FILTERS)
        .map(|i| EventTypeFilter::parse(&format!("Type{i}")).unwrap())
        .collect();
    given::<Partner>(approved_history())
        .when(
            RegisterWebhook {
                event_types: filters,
                ..register_webhook(1)
            }
            .into(),
        )
        .then_refused("event_types must list at most 50 filters");
}

#[test]
fn only_approved_partners_register_webhooks() {
    let cases = [
        (vec![applied()], "applied"),
        (verified_history(), "under review"),
        (with(verified_history(), [rejected()]), "rejected"),
        (with(approved_history(), [suspended()]), "suspended"),
        (with(approved_history(), [offboarded()]), "offboarded"),
    ];
    for (history, status) in cases {
        given::<Partner>(history)
            .when(register_webhook(1).into())
            .then_refused(&format!(
                "cannot register a webhook for a partner that is {status}"
            ));
    }
}

#[test]
fn a_webhook_is_removed_while_approved_or_suspended() {
    for history in [
        with(
            approved_history(),
            [webhook_registered(1), webhook_registered(2)],
        ),
        with(
            approved_history(),
            [webhook_registered(1), webhook_registered(2), suspended()],
        ),
    ] {
        let state = given::<Partner>(history)
            .when(
                RemoveWebhook {
                    webhook_id: webhook_id(1),
                }
                .into(),
            )
            .then([PartnerEvent::WebhookRemoved {
                webhook_id: webhook_id(1),
                at: NOW,
            }]);
        let ids: Vec<WebhookId> = state.webhooks().iter().map(|w| w.id).collect();
        assert_eq!(ids, [webhook_id(2)]);
    }
}

#[test]
fn removing_an_unknown_or_removed_webhook_is_refused() {
    let removed = PartnerEvent::WebhookRemoved {
        webhook_id: webhook_id(1),
        at: ago(5),
    };
    for history in [
        approved_history(),
        with(approved_history(), [webhook_registered(1), removed]),
    ] {
        given::<Partner>(history)
            .when(
                RemoveWebhook {
                    webhook_id: webhook_id(1),
                }
                .into(),
            )
            .then_refused(&format!("webhook {} not found", webhook_id(1)));
    }
}

#[test]
fn webhooks_cannot_be_removed_before_approval_or_after_offboarding() {
    let cases = [
        (vec![applied()], "applied"),
        (verified_history(), "under review"),
        (with(verified_history(), [rejected()]), "rejected"),
        (
            with(approved_history(), [webhook_registered(1), offboarded()]),
            "offboarded",
        ),
    ];
    for (history, status) in cases {
        given::<Partner>(history)
            .when(
                RemoveWebhook {
                    webhook_id: webhook_id(1),
                }
                .into(),
            )
            .then_refused(&format!(
                "cannot remove a webhook of a partner that is {status}"
            ));
    }
}
