//! Permission rules and parse-don't-validate inputs.

use ecohub_consents::domain::*;
use ecohub_kernel::Timestamp;

use crate::support::*;

fn rule_of(codes: &[&str]) -> &'static str {
    Permissions::parse(codes).unwrap_err().rule
}

#[test]
fn permission_rules_are_named() {
    let cases: &[(&[&str], &str)] = &[
        (&[], rules::EMPTY),
        (&["ReadBalances", "ReadBalances"], rules::DUPLICATE),
        (&["ReadEverything"], rules::UNKNOWN),
        (&["readbalances"], rules::UNKNOWN),
        (
            &["ReadTransactionsBasic"],
            rules::TRANSACTIONS_NEED_DIRECTION,
        ),
        (
            &["ReadTransactionsDetail", "ReadBalances"],
            rules::TRANSACTIONS_NEED_DIRECTION,
        ),
        (
            &["ReadTransactionsCredits"],
            rules::DIRECTION_NEEDS_TRANSACTIONS,
        ),
        (
            &["ReadTransactionsDebits", "ReadAccountsBasic"],
            rules::DIRECTION_NEEDS_TRANSACTIONS,
        ),
    ];
    for (codes, rule) in cases {
        assert_eq!(rule_of(codes), *rule, "{codes:?}");
    }
}

#[test]
fn valid_combinations_are_accepted() {
    let ok: &[&[&str]] = &[
        &["ReadAccountsBasic"],
        &["ReadTransactionsBasic", "ReadTransactionsCredits"],
        &["ReadTransactionsDetail", "ReadTransactionsDebits"],
        &[
            "ReadTransactionsBasic",
            "ReadTransactionsDetail",
            "ReadTransactionsCredits",
            "ReadTransactionsDebits",
        ],
        &[
            "ReadTravelProfile",
            "ReadActivity",
            "ReadOffers",
            "ReadParty",
        ],
    ];
    for codes in ok {
        let p = Permissions::parse(codes).unwrap();
        assert_eq!(p.iter().count(), codes.len());
    }
}

#[test]
fn every_permission_has_a_code_and_a_plain_description() {
    for p in Permission::ALL {
        assert_eq!(Permission::parse(p.code()), Some(p));
        assert!(p.description().len() > 20, "{p}");
        assert!(!p.description().contains("Read"), "{p}: jargon");
    }
    assert_eq!(Permission::ALL.len(), 11);
}

#[test]
fn expiry_must_be_future_and_within_twelve_months() {
    assert_eq!(
        Expiry::parse(NOW, NOW).unwrap_err().rule,
        "expiration_in_future"
    );
    assert_eq!(
        Expiry::parse(NOW.minus(days(1)), NOW).unwrap_err().rule,
        "expiration_in_future"
    );
    let limit = twelve_months_after(NOW);
    assert!(Expiry::parse(limit, NOW).is_ok());
    assert_eq!(
        Expiry::parse(limit.plus(std::time::Duration::from_secs(1)), NOW)
            .unwrap_err()
            .rule,
        "expiration_within_12_months"
    );
    assert!(Expiry::parse(NOW.plus(days(364)), NOW).is_ok());
}

#[test]
fn twelve_months_is_calendar_based() {
    let t = Timestamp::parse_rfc3339("2028-02-29T10:00:00Z").unwrap();
    assert_eq!(
        twelve_months_after(t),
        Timestamp::parse_rfc3339("2029-02-28T10:00:00Z").unwrap()
    );
    let t = Timestamp::parse_rfc3339("2026-11-23T09:00:00Z").unwrap();
    assert_eq!(
        twelve_months_after(t),
        Timestamp::parse_rfc3339("2027-11-23T09:00:00Z").unwrap()
    );
}

#[test]
fn transaction_window_must_be_ordered() {
    assert!(TransactionWindow::parse(Some(NOW), Some(NOW.plus(days(1)))).is_ok());
    assert!(TransactionWindow::parse(None, Some(NOW)).is_ok());
    assert_eq!(
        TransactionWindow::parse(Some(NOW), Some(NOW))
            .unwrap_err()
            .rule,
        "transaction_window_ordered"
    );
    assert_eq!(
        TransactionWindow::parse(Some(NOW.plus(days(1))), Some(NOW))
            .unwrap_err()
            .rule,
        "transaction_window_ordered"
    );
}

#[test]
fn data_providers_are_bank_or_partner_ids() {
    let p = DataProviders::parse(&["bank", &partner_id().to_string()]).unwrap();
    assert_eq!(p.iter().count(), 2);
    let empty: [&str; 0] = [];
    assert_eq!(
        DataProviders::parse(&empty).unwrap_err().rule,
        "data_providers_not_empty"
    );
    assert_eq!(
        DataProviders::parse(&["bank", "bank"]).unwrap_err().rule,
        "data_providers_no_duplicates"
    );
    assert_eq!(
        DataProviders::parse(&["the-bank"]).unwrap_err().rule,
        "data_provider_format"
    );
}

#[test]
fn purpose_and_reason_codes_are_checked() {
    assert!(Purpose::parse("travel-offers", "Offers").is_ok());
    assert_eq!(
        Purpose::parse("Travel Offers", "x").unwrap_err().rule,
        "purpose_code_format"
    );
    assert_eq!(
        Purpose::parse("ok", "   ").unwrap_err().rule,
        "purpose_text_format"
    );
    assert_eq!(
        Purpose::parse("ok", &"x".repeat(501)).unwrap_err().rule,
        "purpose_text_format"
    );
    assert!(ReasonCode::parse("customer_request").is_ok());
    assert!(ReasonCode::parse("Customer Request").is_err());
    assert!(CustomerId::parse("").is_err());
    assert!(CustomerId::parse("has space").is_err());
}
