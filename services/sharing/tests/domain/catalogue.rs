use std::collections::BTreeSet;

use ecohub_kernel::testing::{given, given_no_history};
use ecohub_kernel::{DomainEvent, Timestamp};
use ecohub_sharing::domain::catalogue::{
    DEFAULT_CATALOGUE, Dataset, DatasetCommand, DatasetDefinition, DatasetEvent, DatasetState,
    parse_catalogue,
};
use serde_json::json;

fn perms(p: &[&str]) -> BTreeSet<String> {
    p.iter().map(|s| s.to_string()).collect()
}

fn catalogue() -> Vec<Dataset> {
    parse_catalogue(DEFAULT_CATALOGUE).unwrap().1
}

fn dataset(name: &str) -> Dataset {
    catalogue().into_iter().find(|d| d.name() == name).unwrap()
}

#[test]
fn the_bundled_catalogue_is_valid_and_versioned() {
    let (version, datasets) = parse_catalogue(DEFAULT_CATALOGUE).unwrap();
    assert_eq!(version, 1);
    let names: Vec<&str> = datasets.iter().map(|d| d.name()).collect();
    assert_eq!(
        names,
        [
            "accounts",
            "balances",
            "transactions",
            "travel_profile",
            "activity",
            "customer_profile"
        ]
    );
    assert!(dataset("accounts").has_provider("bank"));
    assert!(!dataset("accounts").has_provider("some-partner"));
    assert!(dataset("travel_profile").has_provider("some-partner"));
    assert!(!dataset("travel_profile").has_provider("bank"));
}

#[test]
fn permissions_unlock_fields_and_directions() {
    let tx = dataset("transactions");
    assert!(
        tx.unlocked(&perms(&["ReadTransactionsBasic"])).is_none(),
        "no direction, nothing"
    );
    assert!(
        tx.unlocked(&perms(&["ReadTransactionsCredits"])).is_none(),
        "no fields, nothing"
    );
    let credits = tx
        .unlocked(&perms(&[
            "ReadTransactionsBasic",
            "ReadTransactionsCredits",
        ]))
        .unwrap();
    assert!(!credits.fields.contains("merchant_name"));
    assert_eq!(credits.directions, Some(perms(&["Credit"])));
    let record = json!({"account_id": "a", "amount": "1", "currency": "EUR",
        "credit_debit_indicator": "Debit", "booking_time": "2027-01-01T00:00:00Z", "merchant_name": "m"});
    assert!(!tx.admits(&record, &credits, None, None));
    let all = tx
        .unlocked(&perms(&[
            "ReadTransactionsDetail",
            "ReadTransactionsCredits",
            "ReadTransactionsDebits",
        ]))
        .unwrap();
    assert!(tx.admits(&record, &all, None, None));
    let after = Timestamp::parse_rfc3339("2027-01-02T00:00:00Z").unwrap();
    assert!(!tx.admits(&record, &all, Some(after), None));
    assert!(tx.admits(&record, &all, None, Some(after)));
    assert_eq!(tx.minimise(&record, &credits).get("merchant_name"), None);
    assert_eq!(tx.minimise(&record, &all)["merchant_name"], "m");
}

#[test]
fn schema_violations_name_the_path() {
    let accounts = dataset("accounts");
    let v = accounts
        .validate(&json!({"account_id": "a", "currency": "eur", "account_type": "personal"}))
        .unwrap_err();
    assert_eq!(v.path, "/currency");
    let v = accounts.validate(&json!({"account_id": "a"})).unwrap_err();
    assert_eq!(v.path, "");
    assert!(
        accounts
            .validate(&json!({"account_id": "a", "currency": "EUR", "account_type": "personal"}))
            .is_ok()
    );
}

fn definition() -> DatasetDefinition {
    serde_json::from_value(json!({
        "name": "loyalty", "providers": ["p1"],
        "schema": {"type": "object"}, "fields": {"points": ["ReadLoyalty"]}
    }))
    .unwrap()
}

#[test]
fn defining_a_dataset_records_it_once() {
    let now = Timestamp::from_unix_seconds(1_800_000_000);
    let event = DatasetEvent::DatasetDefined {
        definition: definition(),
        by: "client:staff-a".into(),
        at: now,
    };
    given_no_history::<DatasetState>()
        .at(now)
        .when(DatasetCommand::DefineDataset {
            definition: definition(),
            by: "client:staff-a".into(),
        })
        .then([event.clone()]);
    given::<DatasetState>([event.clone()])
        .when(DatasetCommand::DefineDataset {
            definition: definition(),
            by: "client:staff-b".into(),
        })
        .then([]);
    let mut bad = definition();
    bad.fields.insert("x".into(), vec![]);
    given::<DatasetState>([event.clone()])
        .when(DatasetCommand::DefineDataset {
            definition: bad,
            by: "s".into(),
        })
        .then_refused("/fields/x: must list at least one permission");
    let mut bad = definition();
    bad.name = "Loyalty!".into();
    given_no_history::<DatasetState>()
        .when(DatasetCommand::DefineDataset {
            definition: bad,
            by: "s".into(),
        })
        .then_refused("/name: must be 1 to 40 lowercase letters, digits or underscores");
    // The stored form round-trips.
    let decoded = DatasetEvent::decode(event.event_type(), 1, &event.encode()).unwrap();
    assert_eq!(decoded, event);
    assert!(DatasetEvent::decode("DatasetDefined", 2, &event.encode()).is_err());
}
