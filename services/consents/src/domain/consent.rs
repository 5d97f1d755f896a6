//! The `Consent` aggregate: AwaitingAuthorisation → Authorised | Rejected | Expired
//! (authorisation timeout) | Revoked (partner withdrawal, partner offboarding);
//! Authorised → Revoked | Expired.

use ecohub_kernel::{Aggregate, Timestamp};

use super::{
    ConsentEvent, ConsentId, CustomerId, DataProvider, DataProviders, Expiry, GrantToBank, Invalid,
    PERSONALISED_OFFERS, PairwiseId, Permissions, Purpose, ReasonCode, Recipient, RequestConsent,
    RevokedBy, TransactionWindow,
};

/// A consent's status (OBIE names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsentStatus {
    /// Created, waiting for the customer.
    AwaitingAuthorisation,
    /// The customer approved.
    Authorised,
    /// The customer refused.
    Rejected,
    /// Revoked by the customer or partner, or because the partner left.
    Revoked,
    /// Past its expiry, or not authorised in time.
    Expired,
}

impl ConsentStatus {
    /// Every status.
    pub const ALL: [ConsentStatus; 5] = [
        ConsentStatus::AwaitingAuthorisation,
        ConsentStatus::Authorised,
        ConsentStatus::Rejected,
        ConsentStatus::Revoked,
        ConsentStatus::Expired,
    ];

    /// The stable name (`AwaitingAuthorisation`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ConsentStatus::AwaitingAuthorisation => "AwaitingAuthorisation",
            ConsentStatus::Authorised => "Authorised",
            ConsentStatus::Rejected => "Rejected",
            ConsentStatus::Revoked => "Revoked",
            ConsentStatus::Expired => "Expired",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether no further change is possible.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            ConsentStatus::AwaitingAuthorisation | ConsentStatus::Authorised
        )
    }
}

impl std::fmt::Display for ConsentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One status change, as the history shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// The new status.
    pub status: ConsentStatus,
    /// When.
    pub at: Timestamp,
    /// Reason code (`consent_requested` for creation).
    pub reason: Option<ReasonCode>,
    /// How a revocation was requested.
    pub revoked_by: Option<RevokedBy>,
}

/// A consent as its stream says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentData {
    /// Its id.
    pub id: ConsentId,
    /// Who receives the data: the partner that requested it, or the bank.
    pub recipient: Recipient,
    /// Permissions.
    pub permissions: Permissions,
    /// Purpose.
    pub purpose: Purpose,
    /// Expiry.
    pub expiry: Expiry,
    /// Transactions window.
    pub transaction_window: TransactionWindow,
    /// Data providers.
    pub data_providers: DataProviders,
    /// Authorisation deadline.
    pub authorisation_deadline: Timestamp,
    /// When it was created.
    pub created_at: Timestamp,
    /// Recorded status.
    pub status: ConsentStatus,
    /// When the status last changed.
    pub status_changed_at: Timestamp,
    /// The customer who decided (authorised or rejected).
    pub customer_id: Option<CustomerId>,
    /// Their pairwise id, once authorised.
    pub pairwise_id: Option<PairwiseId>,
    /// Every status change, oldest first.
    pub history: Vec<StatusChange>,
}

impl ConsentData {
    /// The status at `now`: the recorded one, except that an authorised consent past its
    /// expiry, or an unauthorised one past its deadline, is `Expired` even before the event
    /// that records it is written.
    pub fn status_at(&self, now: Timestamp) -> ConsentStatus {
        match self.status {
            ConsentStatus::Authorised if now >= self.expiry.at() => ConsentStatus::Expired,
            ConsentStatus::AwaitingAuthorisation
                if now >= self.authorisation_deadline || now >= self.expiry.at() =>
            {
                ConsentStatus::Expired
            }
            s => s,
        }
    }
}

/// The aggregate: `None` before the consent is requested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consent(Option<ConsentData>);

impl Consent {
    /// The consent, if it exists.
    pub fn data(&self) -> Option<&ConsentData> {
        self.0.as_ref()
    }
}

/// What may be asked of a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentCommand {
    /// A partner requests a consent.
    RequestConsent(RequestConsent),
    /// A customer grants the bank a consent for personalised offers: requested and
    /// authorised in one step (ADR 0021).
    GrantToBank(GrantToBank),
    /// The customer approves.
    AuthoriseConsent {
        /// The customer.
        customer_id: CustomerId,
        /// Their pairwise id for the partner.
        pairwise_id: PairwiseId,
    },
    /// The customer refuses.
    RejectConsent {
        /// The customer.
        customer_id: CustomerId,
        /// Why.
        reason: ReasonCode,
    },
    /// Revoke (an authorised consent; a pending one only by the partner or offboarding).
    RevokeConsent {
        /// How it was requested.
        by: RevokedBy,
        /// Why.
        reason: ReasonCode,
    },
    /// Record the expiry of a consent that is due (past expiry or deadline).
    ExpireConsent,
}

impl ConsentCommand {
    fn verb(&self) -> &'static str {
        match self {
            ConsentCommand::RequestConsent(_) => "request",
            ConsentCommand::GrantToBank(_) => "grant",
            ConsentCommand::AuthoriseConsent { .. } => "authorise",
            ConsentCommand::RejectConsent { .. } => "reject",
            ConsentCommand::RevokeConsent { .. } => "revoke",
            ConsentCommand::ExpireConsent => "expire",
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The input breaks a rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No such consent.
    #[error("consent not found")]
    NotFound,
    /// The consent already exists.
    #[error("consent already exists")]
    AlreadyExists,
    /// The command is not allowed in the consent's status.
    #[error("cannot {action} a consent that is {from}")]
    InvalidTransition {
        /// The status at the time of the command.
        from: ConsentStatus,
        /// The command's verb.
        action: &'static str,
    },
    /// Expiry asked of a consent that is not due.
    #[error("consent is not due to expire")]
    NotDue,
}

/// The customer's grant to the bank: `ConsentRequested` (recipient bank, reason
/// `customer_request`) and `ConsentAuthorised` (`customer_authorised`) at the same instant.
/// Its purpose is personalised offers and its providers are partners: the bank needs no
/// consent to use its own data.
fn grant_to_bank(g: GrantToBank, now: Timestamp) -> Result<Vec<ConsentEvent>, ConsentError> {
    Expiry::parse(g.expiry.at(), now)?;
    if g.purpose.code() != PERSONALISED_OFFERS {
        return Err(Invalid::new(
            "purpose",
            "purpose_personalised_offers",
            format!("a consent to the bank is for {PERSONALISED_OFFERS}"),
        )
        .into());
    }
    if g.data_providers.iter().any(|p| p == DataProvider::Bank) {
        return Err(Invalid::new(
            "data_providers",
            "data_providers_partners",
            "the bank needs no consent to use its own data: name partners only",
        )
        .into());
    }
    Ok(vec![
        ConsentEvent::Requested {
            consent_id: g.consent_id,
            recipient: Recipient::Bank,
            permissions: g.permissions,
            purpose: g.purpose,
            expiry: g.expiry,
            transaction_window: TransactionWindow::default(),
            data_providers: g.data_providers,
            // Nothing to wait for: the customer authorises in the same step.
            authorisation_deadline: now,
            reason: ReasonCode::known(ReasonCode::CUSTOMER_REQUEST),
            at: now,
        },
        ConsentEvent::Authorised {
            customer_id: g.customer_id,
            pairwise_id: None,
            reason: ReasonCode::known(ReasonCode::CUSTOMER_AUTHORISED),
            at: now,
        },
    ])
}

impl Aggregate for Consent {
    type Command = ConsentCommand;
    type Event = ConsentEvent;
    type Error = ConsentError;
    const CATEGORY: &'static str = "consent";

    fn decide(
        &self,
        command: ConsentCommand,
        now: Timestamp,
    ) -> Result<Vec<ConsentEvent>, ConsentError> {
        let action = command.verb();
        let Some(data) = &self.0 else {
            return match command {
                ConsentCommand::GrantToBank(g) => grant_to_bank(g, now),
                ConsentCommand::RequestConsent(r) => {
                    // The expiry was parsed at the request's time; it must still hold now.
                    Expiry::parse(r.expiry.at(), now)?;
                    Ok(vec![ConsentEvent::Requested {
                        consent_id: r.consent_id,
                        recipient: Recipient::Partner(r.partner_id),
                        permissions: r.permissions,
                        purpose: r.purpose,
                        expiry: r.expiry,
                        transaction_window: r.transaction_window,
                        data_providers: r.data_providers,
                        authorisation_deadline: r.authorisation_deadline,
                        reason: ReasonCode::known(ReasonCode::CONSENT_REQUESTED),
                        at: now,
                    }])
                }
                _ => Err(ConsentError::NotFound),
            };
        };
        let status = data.status_at(now);
        let refuse = || ConsentError::InvalidTransition {
            from: status,
            action,
        };
        match command {
            ConsentCommand::RequestConsent(_) | ConsentCommand::GrantToBank(_) => {
                Err(ConsentError::AlreadyExists)
            }
            ConsentCommand::AuthoriseConsent {
                customer_id,
                pairwise_id,
            } => match status {
                ConsentStatus::AwaitingAuthorisation => Ok(vec![ConsentEvent::Authorised {
                    customer_id,
                    pairwise_id: Some(pairwise_id),
                    reason: ReasonCode::known(ReasonCode::CUSTOMER_AUTHORISED),
                    at: now,
                }]),
                _ => Err(refuse()),
            },
            ConsentCommand::RejectConsent {
                customer_id,
                reason,
            } => match status {
                ConsentStatus::AwaitingAuthorisation => Ok(vec![ConsentEvent::Rejected {
                    customer_id,
                    reason,
                    at: now,
                }]),
                _ => Err(refuse()),
            },
            ConsentCommand::RevokeConsent { by, reason } => match (status, by) {
                (ConsentStatus::Authorised, _)
                | (
                    ConsentStatus::AwaitingAuthorisation,
                    RevokedBy::Partner | RevokedBy::PartnerOffboarded,
                ) => Ok(vec![ConsentEvent::Revoked {
                    by,
                    reason,
                    at: now,
                }]),
                _ => Err(refuse()),
            },
            ConsentCommand::ExpireConsent => {
                if data.status.is_final() {
                    return Err(ConsentError::InvalidTransition {
                        from: data.status,
                        action,
                    });
                }
                if status != ConsentStatus::Expired {
                    return Err(ConsentError::NotDue);
                }
                let reason = if data.status == ConsentStatus::Authorised || now >= data.expiry.at()
                {
                    ReasonCode::EXPIRED
                } else {
                    ReasonCode::AUTHORISATION_TIMEOUT
                };
                Ok(vec![ConsentEvent::Expired {
                    reason: ReasonCode::known(reason),
                    at: now,
                }])
            }
        }
    }

    fn evolve(mut self, event: &ConsentEvent) -> Self {
        if let ConsentEvent::Requested {
            consent_id,
            recipient,
            permissions,
            purpose,
            expiry,
            transaction_window,
            data_providers,
            authorisation_deadline,
            reason,
            at,
        } = event
        {
            self.0 = Some(ConsentData {
                id: *consent_id,
                recipient: *recipient,
                permissions: permissions.clone(),
                purpose: purpose.clone(),
                expiry: *expiry,
                transaction_window: *transaction_window,
                data_providers: data_providers.clone(),
                authorisation_deadline: *authorisation_deadline,
                created_at: *at,
                status: ConsentStatus::AwaitingAuthorisation,
                status_changed_at: *at,
                customer_id: None,
                pairwise_id: None,
                history: vec![StatusChange {
                    status: ConsentStatus::AwaitingAuthorisation,
                    at: *at,
                    reason: Some(reason.clone()),
                    revoked_by: None,
                }],
            });
            return self;
        }
        let Some(data) = self.0.as_mut() else {
            return self;
        };
        let (status, reason, revoked_by) = match event {
            ConsentEvent::Requested { .. } => return self,
            ConsentEvent::Authorised {
                customer_id,
                pairwise_id,
                reason,
                ..
            } => {
                data.customer_id = Some(customer_id.clone());
                data.pairwise_id = pairwise_id.clone();
                (ConsentStatus::Authorised, Some(reason.clone()), None)
            }
            ConsentEvent::Rejected {
                customer_id,
                reason,
                ..
            } => {
                data.customer_id = Some(customer_id.clone());
                (ConsentStatus::Rejected, Some(reason.clone()), None)
            }
            ConsentEvent::Revoked { by, reason, .. } => {
                (ConsentStatus::Revoked, Some(reason.clone()), Some(*by))
            }
            ConsentEvent::Expired { reason, .. } => {
                (ConsentStatus::Expired, Some(reason.clone()), None)
            }
        };
        let at = event.at();
        data.status = status;
        data.status_changed_at = at;
        data.history.push(StatusChange {
            status,
            at,
            reason,
            revoked_by,
        });
        self
    }
}
