//! Tamper evidence: `verify_all` finds the first altered event in the SQLite file.

use std::sync::Arc;

use ecohub_consents::{ChainBreak, verify_all};
use ecohub_eventstore::{SharedStore, SqliteStore, SqliteStoreOptions};

use crate::support::*;

async fn written() -> (TestApp, Vec<String>) {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let mut ids = Vec::new();
    for c in ["alice", "bob", "carol"] {
        let id = app.authorised(&p, c).await;
        app.delete(&format!("/consents/{id}"), &partner_token(&p))
            .await;
        ids.push(id);
    }
    (app, ids)
}

fn reopen(app: &TestApp) -> SharedStore {
    Arc::new(SqliteStore::open(&app.db, SqliteStoreOptions::default()).unwrap())
}

fn tamper(app: &TestApp, sql: &str, stream: &str, revision: i64, value: Option<Vec<u8>>) {
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let changed = match value {
        Some(v) => conn
            .execute(sql, rusqlite::params![v, stream, revision])
            .unwrap(),
        None => conn
            .execute(sql, rusqlite::params![stream, revision])
            .unwrap(),
    };
    assert_eq!(changed, 1);
}

#[actix_web::test]
async fn an_untouched_store_verifies() {
    let (app, _) = written().await;
    let report = verify_all(&*app.store).await.unwrap();
    assert_eq!(report.streams, 3);
    assert_eq!(report.events, 9);
    assert_eq!(report.first_break, None);
}

#[actix_web::test]
async fn an_altered_payload_is_the_first_break() {
    let (app, ids) = written().await;
    app.store.close().await.unwrap();
    let stream = format!("consent-{}", ids[1]);
    let conn = rusqlite::Connection::open(&app.db).unwrap();
    let data: Vec<u8> = conn
        .query_row(
            "SELECT data FROM events WHERE stream = ?1 AND revision = 1",
            [&stream],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    let mut json: serde_json::Value = serde_json::from_slice(&data).unwrap();
    json["pairwise_id"] = serde_json::json!("pw-mallory");
    tamper(
        &app,
        "UPDATE events SET data = ?1 WHERE stream = ?2 AND revision = ?3",
        &stream,
        1,
        Some(serde_json::to_vec(&json).unwrap()),
    );
    let store = reopen(&app);
    let report = verify_all(&*store).await.unwrap();
    assert_eq!(report.streams, 3);
    assert_eq!(report.events, 9);
    let ChainBreak {
        stream: s,
        revision,
        reason,
    } = report.first_break.unwrap();
    assert_eq!((s.as_str(), revision), (stream.as_str(), 1));
    assert!(reason.contains("hash"), "{reason}");
}

#[actix_web::test]
async fn altered_metadata_and_removed_events_break_the_chain() {
    let (app, ids) = written().await;
    app.store.close().await.unwrap();
    let first = format!("consent-{}", ids[0]);
    let last = format!("consent-{}", ids[2]);
    tamper(
        &app,
        "UPDATE events SET metadata = ?1 WHERE stream = ?2 AND revision = ?3",
        &last,
        2,
        Some(br#"{"actor":"customer:someone-else"}"#.to_vec()),
    );
    tamper(
        &app,
        "DELETE FROM events WHERE stream = ?1 AND revision = ?2",
        &first,
        1,
        None,
    );
    let store = reopen(&app);
    let report = verify_all(&*store).await.unwrap();
    let b = report.first_break.unwrap();
    assert_eq!((b.stream.as_str(), b.revision), (first.as_str(), 2));
    let events = ecohub_eventstore::read_stream_to_end(&*store, &last)
        .await
        .unwrap();
    let b = ecohub_consents::verify_stream(&events).unwrap_err();
    assert_eq!(b.revision, 2);
}

/// A `ConsentRequested` as version 1 stored it (no reason code), sealed into the chain as
/// the code of that time sealed it (over the stored payload, at version 1), appended
/// directly: a stream from before the event carried its reason. Returns the consent id.
async fn legacy_request(app: &TestApp, partner: &str) -> String {
    use ecohub_consents::chain::{self, ChainInput, ChainLink, GENESIS};
    use ecohub_consents::domain::*;
    use ecohub_eventstore::{ExpectedRevision, NewEvent};
    use ecohub_kernel::{DomainEvent, EventId, EventMetadata};

    let now = app.now();
    let id = ConsentId::new_v7(now);
    let event = ConsentEvent::Requested {
        consent_id: id,
        recipient: Recipient::Partner(PartnerId::parse(partner).unwrap()),
        permissions: Permissions::parse(&["ReadAccountsBasic", "ReadBalances"]).unwrap(),
        purpose: Purpose::parse("budget", "Budget tips").unwrap(),
        expiry: Expiry::parse(now.plus(std::time::Duration::from_secs(86_400 * 90)), now).unwrap(),
        transaction_window: TransactionWindow::default(),
        data_providers: DataProviders::parse(&["bank"]).unwrap(),
        authorisation_deadline: now.plus(std::time::Duration::from_secs(3600)),
        reason: ReasonCode::parse("consent_requested").unwrap(),
        at: now,
    };
    let mut payload = event.encode();
    payload.as_object_mut().unwrap().remove("reason");
    payload.as_object_mut().unwrap().remove("recipient");
    let metadata = EventMetadata {
        actor: Some(format!("client:client-{partner}")),
        request_id: Some("legacy-request".into()),
        correlation_id: Some("legacy-request".into()),
        ..EventMetadata::default()
    };
    let stream = id.stream_name();
    let hash = chain::hash(&ChainInput {
        stream: &stream,
        revision: 0,
        event_type: "ConsentRequested",
        event_version: 1,
        recorded_at: now,
        payload: &payload,
        metadata: &metadata,
    });
    let data = chain::seal(
        payload,
        &ChainLink {
            prev: GENESIS.to_owned(),
            hash,
        },
    );
    app.store
        .append(
            &stream,
            ExpectedRevision::NoStream,
            vec![NewEvent {
                event_id: EventId::generate(now),
                event_type: "ConsentRequested".into(),
                event_version: 1,
                data,
                metadata,
                recorded_at: Some(now),
            }],
        )
        .await
        .unwrap();
    id.to_string()
}

/// Streams written before `ConsentRequested` carried a reason (version 1) keep verifying —
/// the chain covers the stored bytes, never the upcast event — and read with
/// `consent_requested` everywhere; new events extend their chain.
#[actix_web::test]
async fn an_old_stream_with_a_version_1_request_verifies_and_reads_with_its_reason() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let id = legacy_request(&app, &p).await;
    let report = verify_all(&*app.store).await.unwrap();
    assert_eq!((report.events, report.first_break), (1, None));

    app.authorise(&id, "alice").await;
    let events = app.stream(&id).await;
    assert_eq!(
        events.iter().map(|e| e.event_version).collect::<Vec<_>>(),
        [1, 2],
        "the old event stays as stored; the new one is at the current version"
    );
    assert!(events[0].data_json().unwrap().get("reason").is_none());
    let report = verify_all(&*app.store).await.unwrap();
    assert_eq!((report.events, report.first_break), (2, None));

    let history = app
        .get(&format!("/audit/consents/{id}/history"), AUDITOR)
        .await;
    assert_eq!(history.body["chain_verified"], true, "{}", history.text);
    assert_eq!(history.body["events"][0]["reason"], "consent_requested");
    assert_eq!(history.body["events"][0]["event_version"], 1);
    let export = app
        .get("/audit/consents/export?format=jsonl", AUDITOR)
        .await;
    let first: serde_json::Value =
        serde_json::from_str(export.text.lines().next().unwrap()).unwrap();
    assert_eq!(first["reason"], "consent_requested");
    assert!(
        first["data"].get("reason").is_none(),
        "data stays as stored"
    );
    let partner_view = app
        .get(&format!("/consents/{id}"), &partner_token(&p))
        .await;
    assert_eq!(
        partner_view.body["history"][0]["reason"],
        "consent_requested"
    );
    assert_eq!(partner_view.body["status"], "Authorised");
}

mod hashing {
    use ecohub_consents::chain::{ChainInput, ChainLink, canonical_json, hash, seal, unseal};
    use ecohub_kernel::{EventMetadata, Timestamp};
    use serde_json::json;

    fn input<'a>(payload: &'a serde_json::Value, metadata: &'a EventMetadata) -> ChainInput<'a> {
        ChainInput {
            stream: "consent-1",
            revision: 3,
            event_type: "ConsentRevoked",
            event_version: 1,
            recorded_at: Timestamp::from_unix_millis(1_800_000_000_123),
            payload,
            metadata,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": "é\"\n"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":"é\"\n","y":[1,{"c":3,"d":2}]},"b":1}"#
        );
    }

    #[test]
    fn the_hash_covers_every_field() {
        let payload = json!({"by": "customer", "reason": "customer_request"});
        let metadata = EventMetadata {
            actor: Some("customer:alice".into()),
            request_id: Some("req-1".into()),
            ..EventMetadata::default()
        };
        let base = hash(&input(&payload, &metadata));
        assert_eq!(base.len(), 64);
        assert_eq!(base, hash(&input(&payload, &metadata)), "deterministic");
        let reordered = json!({"reason": "customer_request", "by": "customer"});
        assert_eq!(
            base,
            hash(&input(&reordered, &metadata)),
            "key order is irrelevant"
        );

        let other_payload = json!({"by": "partner", "reason": "customer_request"});
        let other_actor = EventMetadata {
            actor: Some("customer:bob".into()),
            ..metadata.clone()
        };
        let other_request = EventMetadata {
            request_id: Some("req-2".into()),
            ..metadata.clone()
        };
        let variants = [
            hash(&input(&other_payload, &metadata)),
            hash(&input(&payload, &other_actor)),
            hash(&input(&payload, &other_request)),
            hash(&ChainInput {
                stream: "consent-2",
                ..input(&payload, &metadata)
            }),
            hash(&ChainInput {
                revision: 4,
                ..input(&payload, &metadata)
            }),
            hash(&ChainInput {
                event_type: "ConsentExpired",
                ..input(&payload, &metadata)
            }),
            hash(&ChainInput {
                event_version: 2,
                ..input(&payload, &metadata)
            }),
            hash(&ChainInput {
                recorded_at: Timestamp::from_unix_millis(1_800_000_000_124),
                ..input(&payload, &metadata)
            }),
        ];
        for (i, v) in variants.iter().enumerate() {
            assert_ne!(v, &base, "variant {i}");
        }
    }

    #[test]
    fn seal_and_unseal_round_trip() {
        let payload = json!({"reason": "expired"});
        let link = ChainLink {
            prev: "a".repeat(64),
            hash: "b".repeat(64),
        };
        let sealed = seal(payload.clone(), &link);
        assert_eq!(sealed["chain"]["prev"], link.prev);
        assert_eq!(unseal(sealed), (payload, Some(link)));
    }
}
