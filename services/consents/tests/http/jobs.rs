//! The expiry scheduler and the partner-offboarding cascade.

use std::time::Duration;

use ecohub_consents::domain::PartnerId;
use ecohub_consents::{ConsentInput, OffboardingCascade, run_expiry, spawn_expiry_scheduler};
use ecohub_eventstore::{ExpectedRevision, NewEvent, ProjectionHandle};
use ecohub_kernel::Timestamp;

use crate::support::*;

async fn create_expiring(app: &TestApp, partner: &str, expiration: Timestamp) -> String {
    let id = app.state.new_consent_id();
    let ctx = ecohub_consents::ActionContext::client("c", "req", app.now());
    app.state
        .create(
            id,
            PartnerId::parse(partner).unwrap(),
            ConsentInput {
                permissions: vec!["ReadBalances".into()],
                purpose_code: "budget".into(),
                purpose_text: "Budgeting".into(),
                expiration,
                transaction_from: None,
                transaction_to: None,
                data_providers: vec!["bank".into()],
            },
            &ctx,
        )
        .await
        .unwrap();
    id.to_string()
}

fn last_reason(events: &[ecohub_eventstore::RecordedEvent]) -> (String, String) {
    let last = events.last().unwrap();
    let data = last.data_json().unwrap();
    (
        last.event_type.clone(),
        data["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

#[actix_web::test]
async fn expiry_records_timeouts_and_expiries_once_across_instances() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let soon = create_expiring(&app, &p, app.now().plus(Duration::from_secs(2 * 86_400))).await;
    app.authorise(&soon, "alice").await;
    let pending = app.create(&p).await;
    let later = app.authorised(&p, "bob").await;
    app.caught_up().await;

    let run = run_expiry(&app.state, app.now()).await.unwrap();
    assert_eq!(run.expired, 0);

    // Past the one-hour authorisation timeout: only the pending consent expires.
    app.clock.advance(Duration::from_secs(2 * 3600));
    let run = run_expiry(&app.state, app.now()).await.unwrap();
    assert_eq!(run.expired, 1);
    assert_eq!(
        last_reason(&app.stream(&pending).await),
        ("ConsentExpired".into(), "authorisation_timeout".into())
    );
    app.caught_up().await;

    // Past the first expiry, two instances run at once: each consent expires exactly once.
    app.clock.advance(Duration::from_secs(3 * 86_400));
    let other = app.state.clone();
    let now = app.now();
    let (r1, r2) = tokio::join!(run_expiry(&app.state, now), run_expiry(&other, now));
    assert_eq!(r1.unwrap().expired + r2.unwrap().expired, 1);
    let events = app.stream(&soon).await;
    assert_eq!(events.len(), 3);
    assert_eq!(
        last_reason(&events),
        ("ConsentExpired".into(), "expired".into())
    );
    assert_eq!(
        events.last().unwrap().metadata.actor.as_deref(),
        Some("system:consent_expiry")
    );
    assert_eq!(app.stream(&later).await.len(), 2, "not due yet");
    assert!(ecohub_consents::verify_stream(&events).is_ok());
}

#[actix_web::test]
async fn the_scheduler_runs_in_the_background() {
    let app = TestApp::new().await;
    let p = app.partner("A", true, false);
    let pending = app.create(&p).await;
    app.caught_up().await;
    app.clock.advance(Duration::from_secs(2 * 3600));
    let task = spawn_expiry_scheduler(app.state.clone(), Duration::from_millis(20));
    let mut expired = false;
    for _ in 0..250 {
        if app.stream(&pending).await.len() == 2 {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    assert!(expired, "the scheduler did not expire the consent");
}

#[actix_web::test]
async fn offboarding_revokes_every_live_consent_of_the_partner_once() {
    let app = TestApp::new().await;
    let gone = app.partner("Gone", true, false);
    let stays = app.partner("Stays", true, false);
    let authorised = app.authorised(&gone, "alice").await;
    let pending = app.create(&gone).await;
    let rejected = app.create(&gone).await;
    app.state
        .reject(
            &rejected,
            &customer_ref("bob"),
            &ecohub_consents::ActionContext::customer("bob", "r", app.now()),
        )
        .await
        .unwrap();
    let other = app.authorised(&stays, "alice").await;

    // The partners service records the offboarding on the partner's stream.
    let offboarded = app
        .store
        .append(
            &format!("partner-{gone}"),
            ExpectedRevision::Any,
            vec![NewEvent::raw(
                "PartnerOffboarded",
                serde_json::json!({"reason": "contract ended", "at": app.now()}),
                app.now(),
            )],
        )
        .await
        .unwrap()
        .position;
    // Two instances follow the log.
    let one = ProjectionHandle::spawn(
        app.store.clone(),
        OffboardingCascade::new(app.state.clone()),
    );
    let two = ProjectionHandle::spawn(
        app.store.clone(),
        OffboardingCascade::new(app.state.clone()),
    );
    tokio::time::timeout(Duration::from_secs(20), async {
        one.wait_for(offboarded).await;
        two.wait_for(offboarded).await;
    })
    .await
    .expect("the cascade caught up");

    for id in [&authorised, &pending] {
        let events = app.stream(id).await;
        let revocations: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == "ConsentRevoked")
            .collect();
        assert_eq!(revocations.len(), 1, "{id}");
        let data = revocations[0].data_json().unwrap();
        assert_eq!(data["by"], "partner_offboarded");
        assert_eq!(data["reason"], "partner_offboarded");
        assert_eq!(
            revocations[0].metadata.actor.as_deref(),
            Some("system:partner_offboarding")
        );
    }
    assert_eq!(app.stream(&rejected).await.len(), 2);
    assert_eq!(app.stream(&other).await.len(), 2);

    // A restarted instance resumes from the durable checkpoint and does nothing again.
    let head = app.head().await;
    let three = ProjectionHandle::spawn(
        app.store.clone(),
        OffboardingCascade::new(app.state.clone()),
    );
    tokio::time::timeout(Duration::from_secs(20), three.wait_for(offboarded))
        .await
        .expect("caught up");
    assert_eq!(app.head().await, head);

    // Even replaying from zero is harmless.
    let revoked =
        OffboardingCascade::cascade(&app.state, PartnerId::parse(&gone).unwrap(), app.now())
            .await
            .unwrap();
    assert_eq!(revoked, 0);
}
