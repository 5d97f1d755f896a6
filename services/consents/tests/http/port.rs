//! The operations behind the authorization server's `ConsentAuthority` port, and the race
//! between authorisation and withdrawal under real concurrency.

use std::sync::Arc;
use std::time::Duration;

use ecohub_consents::domain::{ConsentId, PartnerId};
use ecohub_consents::{ActionContext, ConsentStanding, ErrorKind};

use crate::support::*;

#[actix_web::test]
async fn pending_authorise_and_standing() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let other = app.partner("Other", true, false);
    let id = app.create(&p).await;
    let now = app.now();

    let view = app.state.pending(&id, &p, now).await.unwrap();
    assert_eq!(view.partner_name, "TravelCo");
    assert_eq!(view.partner_status, "approved");
    assert_eq!(view.status, "AwaitingAuthorisation");
    assert_eq!(view.data_providers, ["Ecohub Bank"]);
    assert_eq!(view.permissions.len(), 3);
    let err = app.state.pending(&id, &other, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = app.state.pending("garbage", &p, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        app.state.standing(&id, now).await.unwrap(),
        ConsentStanding::Inactive {
            status: "AwaitingAuthorisation".into()
        }
    );

    let ctx = ActionContext::customer("cust-1", "req-1", now);
    let authorised = app
        .state
        .authorise(&id, &customer_ref("cust-1"), &ctx)
        .await
        .unwrap();
    assert_eq!(authorised.status, "Authorised");
    let standing = app.state.standing(&id, now).await.unwrap();
    let expires_at = now.plus(Duration::from_secs(90 * 86_400));
    assert!(matches!(
        standing,
        ConsentStanding::Authorised { ref partner_id, ref pairwise_id, .. }
            if partner_id == &p && pairwise_id == "pw-cust-1"
    ));
    let err = app.state.pending(&id, &p, now).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = app
        .state
        .reject(&id, &customer_ref("cust-1"), &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    // Expired by time counts at once, before any expiry event.
    let later = expires_at.plus(Duration::from_secs(5));
    assert_eq!(
        app.state.standing(&id, later).await.unwrap(),
        ConsentStanding::Inactive {
            status: "Expired".into()
        }
    );
    assert_eq!(
        app.state
            .standing(&uuid::Uuid::now_v7().to_string(), now)
            .await
            .unwrap(),
        ConsentStanding::NotFound
    );
    let events = app.stream(&id).await;
    assert_eq!(events[1].event_type, "ConsentAuthorised");
    assert_eq!(events[1].metadata.actor.as_deref(), Some("customer:cust-1"));
    assert_eq!(events[1].metadata.request_id.as_deref(), Some("req-1"));
}

#[actix_web::test]
async fn rejection_is_recorded_with_its_reason() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let id = app.create(&p).await;
    let ctx = ActionContext::customer("cust-1", "req-2", app.now());
    app.state
        .reject(&id, &customer_ref("cust-1"), &ctx)
        .await
        .unwrap();
    let view = app
        .get(&format!("/consents/{id}"), &partner_token(&p))
        .await;
    assert_eq!(view.body["status"], "Rejected");
    assert_eq!(view.body["history"][1]["reason"], "customer_rejected");
    let err = app
        .state
        .authorise(&id, &customer_ref("cust-1"), &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

/// Authorisations by customers and withdrawals by the partner race on one consent, on a
/// multi-threaded runtime against the embedded store, every racer having loaded the same
/// revision: in every round exactly one wins, the others get a conflict, and the stream
/// holds exactly one decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authorise_and_withdraw_race_and_exactly_one_wins() {
    const RACERS: usize = 8;
    let (app, racing) = TestApp::racing().await;
    let p = app.partner("TravelCo", true, false);
    let partner = PartnerId::parse(&p).unwrap();
    let state = Arc::new(app.state.clone());
    let mut winners = [0usize; 2];
    for round in 0..30 {
        let id = app.create(&p).await;
        let consent = ConsentId::parse(&id).unwrap();
        racing.race_appends(RACERS);
        let mut tasks = Vec::new();
        for racer in 0..RACERS {
            let state = state.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                let now = state.clock.now();
                let outcome = if racer % 2 == 0 {
                    let customer = format!("cust-{racer}");
                    let ctx = ActionContext::customer(&customer, format!("r{round}"), now);
                    state
                        .authorise(&id, &customer_ref(&customer), &ctx)
                        .await
                        .map(|_| ())
                } else {
                    let ctx = ActionContext::client("c", format!("r{round}"), now);
                    state
                        .delete_by_partner(consent, partner, &ctx)
                        .await
                        .map(|_| ())
                };
                (racer % 2, outcome)
            }));
        }
        let mut wins = 0;
        for t in tasks {
            let (kind, outcome) = t.await.unwrap();
            match outcome {
                Ok(()) => {
                    wins += 1;
                    winners[kind] += 1;
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
            }
        }
        racing.disarm();
        assert_eq!(wins, 1, "round {round}");
        let events = app.stream(&id).await;
        assert_eq!(events.len(), 2, "round {round}");
        assert!(
            ecohub_consents::verify_stream(&events).is_ok(),
            "round {round}"
        );
    }
    assert_eq!(winners[0] + winners[1], 30);
}

/// The customer and the partner revoke one authorised consent at once: exactly one
/// revocation is recorded, whoever wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_record_exactly_one() {
    const RACERS: usize = 6;
    let (app, racing) = TestApp::racing().await;
    let p = app.partner("TravelCo", true, false);
    let partner = PartnerId::parse(&p).unwrap();
    let state = Arc::new(app.state.clone());
    for round in 0..20 {
        let id = app.authorised(&p, "alice").await;
        let consent = ConsentId::parse(&id).unwrap();
        racing.race_appends(RACERS);
        let mut tasks = Vec::new();
        for racer in 0..RACERS {
            let state = state.clone();
            tasks.push(tokio::spawn(async move {
                let now = state.clock.now();
                if racer % 2 == 0 {
                    let customer = ecohub_consents::domain::CustomerId::parse("alice").unwrap();
                    let ctx = ActionContext::customer("alice", format!("r{round}"), now);
                    state.revoke_by_customer(consent, &customer, &ctx).await
                } else {
                    let ctx = ActionContext::client("c", format!("r{round}"), now);
                    state.delete_by_partner(consent, partner, &ctx).await
                }
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(data) => {
                    wins += 1;
                    assert_eq!(data.history.len(), 3);
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
            }
        }
        racing.disarm();
        assert_eq!(wins, 1, "round {round}");
        let events = app.stream(&id).await;
        assert_eq!(events.len(), 3, "round {round}");
        assert_eq!(events[2].event_type, "ConsentRevoked");
    }
}
