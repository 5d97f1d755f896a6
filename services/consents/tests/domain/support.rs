//! Fixtures: fixed ids, times and a typical request.

use std::time::Duration;

use ecohub_consents::domain::*;
use ecohub_kernel::Timestamp;

/// The instant `given` decides at by default.
pub const NOW: Timestamp = Timestamp::from_unix_seconds(1_800_000_000);

pub fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

pub fn consent_id() -> ConsentId {
    ConsentId::parse("01890a5d-ac96-774b-bcce-b302099a8057").unwrap()
}

pub fn partner_id() -> PartnerId {
    PartnerId::parse("01890a5d-ac96-774b-bcce-b302099a8001").unwrap()
}

pub fn customer() -> CustomerId {
    CustomerId::parse("cust-42").unwrap()
}

pub fn pairwise() -> PairwiseId {
    PairwiseId::parse("pw-7f3a").unwrap()
}

pub fn reason(code: &str) -> ReasonCode {
    ReasonCode::parse(code).unwrap()
}

/// A request made an hour before NOW, expiring 90 days later, deadline one day later.
pub fn request() -> RequestConsent {
    let created = NOW.minus(Duration::from_secs(3600));
    RequestConsent {
        consent_id: consent_id(),
        partner_id: partner_id(),
        permissions: Permissions::parse(&["ReadAccountsBasic", "ReadBalances"]).unwrap(),
        purpose: Purpose::parse("travel-offers", "Tailored travel offers").unwrap(),
        expiry: Expiry::parse(created.plus(days(90)), created).unwrap(),
        transaction_window: TransactionWindow::default(),
        data_providers: DataProviders::parse(&["bank"]).unwrap(),
        authorisation_deadline: created.plus(days(1)),
    }
}

/// The event of [`request`] recorded an hour before NOW.
pub fn requested() -> ConsentEvent {
    let r = request();
    ConsentEvent::Requested {
        consent_id: r.consent_id,
        recipient: Recipient::Partner(r.partner_id),
        permissions: r.permissions,
        purpose: r.purpose,
        expiry: r.expiry,
        transaction_window: r.transaction_window,
        data_providers: r.data_providers,
        authorisation_deadline: r.authorisation_deadline,
        reason: reason("consent_requested"),
        at: NOW.minus(Duration::from_secs(3600)),
    }
}

pub fn authorised() -> ConsentEvent {
    ConsentEvent::Authorised {
        customer_id: customer(),
        pairwise_id: Some(pairwise()),
        reason: reason("customer_authorised"),
        at: NOW.minus(Duration::from_secs(1800)),
    }
}

/// The expiry instant of [`request`].
pub fn expiry() -> Timestamp {
    request().expiry.at()
}

/// The authorisation deadline of [`request`].
pub fn deadline() -> Timestamp {
    request().authorisation_deadline
}
