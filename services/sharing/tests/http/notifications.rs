//! Event notifications end to end: subscriptions over HTTP, the dispatcher mapping hub
//! events, pushes to a real receiver on loopback that fails, times out, then acknowledges,
//! the delivery log, restarts, and RFC 8936 polling.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, test, web};
use ecohub_eventstore::{ExpectedRevision, NewEvent, ProjectionHandle};
use ecohub_sharing::{DeliveryConfig, SharingConfig, SharingPorts, SharingState};
use ecohub_sharing::{deliver_due, http_client};
use serde_json::{Value, json};

use crate::support::*;

/// What the receiver answers, in order (then 202 forever): a status, or `None` to hang past
/// the pusher's timeout.
struct Receiver {
    script: Mutex<Vec<Option<u16>>>,
    received: Mutex<Vec<(String, String)>>,
}

async fn receive(req: HttpRequest, body: String, rx: web::Data<Arc<Receiver>>) -> HttpResponse {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    rx.received.lock().unwrap().push((content_type, body));
    let next = {
        let mut script = rx.script.lock().unwrap();
        if script.is_empty() {
            Some(202)
        } else {
            script.remove(0)
        }
    };
    match next {
        None => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            HttpResponse::Accepted().finish()
        }
        Some(status) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
        }
    }
}

/// Starts a receiver on 127.0.0.1:0; returns it and its URL.
fn start_receiver(script: Vec<Option<u16>>) -> (Arc<Receiver>, String) {
    let rx = Arc::new(Receiver {
        script: Mutex::new(script),
        received: Mutex::new(Vec::new()),
    });
    let data = rx.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(data.clone()))
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    actix_web::rt::spawn(server.run());
    (rx, format!("http://{addr}/hook"))
}

fn delivery_config() -> SharingConfig {
    SharingConfig {
        delivery: DeliveryConfig {
            initial_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(15),
            max_retries: 5,
            request_timeout: Duration::from_millis(500),
            ..DeliveryConfig::default()
        },
        instance_id: "instance-a".into(),
        ..SharingConfig::default()
    }
}

async fn subscribe(app: &TestApp, partner: &str, url: &str, types: &[&str]) -> String {
    app.webhooks
        .0
        .lock()
        .unwrap()
        .entry(partner.to_owned())
        .or_default()
        .push(url.to_owned());
    let res = app
        .post(
            "/event-subscriptions",
            Some(&provider_token(partner)),
            json!({"url": url, "event_types": types}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["subscription_id"].as_str().unwrap().to_owned()
}

/// A hub event as the consents service would append it.
async fn consent_event(app: &TestApp, consent: &str, event_type: &str, partner: &str) {
    app.store
        .append(
            &format!("consent-{consent}"),
            ExpectedRevision::Any,
            vec![NewEvent::raw(
                event_type,
                json!({"partner_id": partner, "consent_id": consent}),
                app.state.now(),
            )],
        )
        .await
        .unwrap();
    app.settled().await;
}

fn claims_of(set: &str) -> Value {
    serde_json::from_str(set.strip_prefix("set.").unwrap()).unwrap()
}

#[actix_web::test]
async fn a_failing_then_slow_then_healthy_receiver_gets_it_exactly_once_acknowledged() {
    let app = TestApp::with(delivery_config()).await;
    let (rx, url) = start_receiver(vec![Some(500), None]);
    subscribe(&app, RECIPIENT, &url, &["consent-revoked"]).await;
    consent_event(
        &app,
        "0190f0c4-1111-7000-8000-000000000001",
        "ConsentRevoked",
        RECIPIENT,
    )
    .await;
    // Not subscribed to this type, and another partner's consent: nothing queued for them.
    consent_event(
        &app,
        "0190f0c4-1111-7000-8000-000000000002",
        "ConsentAuthorised",
        RECIPIENT,
    )
    .await;
    consent_event(
        &app,
        "0190f0c4-1111-7000-8000-000000000003",
        "ConsentRevoked",
        OTHER_RECIPIENT,
    )
    .await;
    assert_eq!(app.events("notification-").await.len(), 1);

    let client = http_client(&app.state);
    assert_eq!(
        deliver_due(&app.state, &client).await.unwrap(),
        1,
        "attempt 1: 500"
    );
    app.settled().await;
    assert_eq!(
        deliver_due(&app.state, &client).await.unwrap(),
        0,
        "backing off"
    );
    app.clock.advance(Duration::from_secs(10));
    assert_eq!(
        deliver_due(&app.state, &client).await.unwrap(),
        1,
        "attempt 2: times out"
    );
    app.settled().await;
    app.clock.advance(Duration::from_secs(10));
    assert_eq!(
        deliver_due(&app.state, &client).await.unwrap(),
        0,
        "second backoff is 15 s"
    );
    app.clock.advance(Duration::from_secs(5));
    assert_eq!(
        deliver_due(&app.state, &client).await.unwrap(),
        1,
        "attempt 3: 202"
    );
    app.settled().await;
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        deliver_due(&app.state, &client).await.unwrap(),
        0,
        "acknowledged: never again"
    );

    let received = rx.received.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    assert!(
        received
            .iter()
            .all(|(ct, _)| ct == "application/secevent+jwt")
    );
    let claims = claims_of(&received[2].1);
    assert_eq!(claims["aud"], RECIPIENT);
    assert_eq!(
        claims["events"]["urn:ecohub:events:consent-revoked"]["consent_id"],
        "0190f0c4-1111-7000-8000-000000000001"
    );
    assert_eq!(
        claims_of(&received[0].1)["jti"],
        claims["jti"],
        "same SET each attempt"
    );

    let log = app
        .get("/event-deliveries", Some(&provider_token(RECIPIENT)))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let attempts = log.body["data"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0]["status"], 500);
    assert_eq!(attempts[1]["status"], Value::Null);
    assert_eq!(attempts[1]["error"], "timed out");
    assert_eq!(attempts[2]["status"], 202);
    assert_eq!(attempts[2]["acknowledged"], true);
    let other = app
        .get("/event-deliveries", Some(&provider_token(OTHER_RECIPIENT)))
        .await;
    assert_eq!(
        other.body["data"],
        json!([]),
        "another partner sees nothing"
    );

    // Restart: a new instance over the same log re-sends nothing and queues nothing twice.
    for p in &app.projections {
        p.stop();
    }
    let notifications_before = app.events("notification-").await.len();
    let ports = SharingPorts {
        grants: app.grants.clone(),
        customers: app.customers.clone(),
        webhooks: app.webhooks.clone(),
        signer: Arc::new(FakeSigner),
    };
    let (restarted, projections) = SharingState::new(
        app.store.clone(),
        app.clock.clone(),
        delivery_config(),
        ports,
    );
    let handles = [
        ProjectionHandle::spawn(app.store.clone(), projections.notifications),
        ProjectionHandle::spawn(app.store.clone(), projections.dispatcher),
    ];
    let head = app.head().await;
    for h in &handles {
        tokio::time::timeout(Duration::from_secs(10), h.wait_for(head))
            .await
            .unwrap();
    }
    assert_eq!(
        app.head().await,
        head,
        "the dispatcher resumed from its checkpoint"
    );
    assert_eq!(
        app.events("notification-").await.len(),
        notifications_before
    );
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(deliver_due(&restarted, &client).await.unwrap(), 0);
    assert_eq!(rx.received.lock().unwrap().len(), 3);
}

#[actix_web::test]
async fn two_instances_never_push_the_same_attempt() {
    let app = TestApp::with(delivery_config()).await;
    let (rx, url) = start_receiver(vec![]);
    subscribe(&app, RECIPIENT, &url, &["partner-status-changed"]).await;
    app.store
        .append(
            &format!("partner-{RECIPIENT}"),
            ExpectedRevision::Any,
            vec![NewEvent::raw(
                "PartnerSuspended",
                json!({"reason": "review"}),
                app.state.now(),
            )],
        )
        .await
        .unwrap();
    app.settled().await;
    let mut other = app.state.clone();
    other.config.instance_id = "instance-b".into();
    let client = http_client(&app.state);
    let (a, b) = tokio::join!(
        deliver_due(&app.state, &client),
        deliver_due(&other, &client)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(rx.received.lock().unwrap().len(), 1);
    let claims = claims_of(&rx.received.lock().unwrap()[0].1);
    assert_eq!(
        claims["events"]["urn:ecohub:events:partner-status-changed"]["change"],
        "PartnerSuspended"
    );
}

#[actix_web::test]
async fn data_updates_reach_recipients_whose_consent_covers_them() {
    let app = TestApp::with(delivery_config()).await;
    let consent = "0190f0c4-2222-7000-8000-000000000001";
    app.consent(consent, RECIPIENT, &["ReadAccountsBasic"], &["bank"]);
    subscribe(
        &app,
        RECIPIENT,
        "http://127.0.0.1:9/unused",
        &["data-updated"],
    )
    .await;
    subscribe(
        &app,
        OTHER_RECIPIENT,
        "http://127.0.0.1:9/other",
        &["data-updated"],
    )
    .await;
    consent_event(&app, consent, "ConsentAuthorised", RECIPIENT).await;
    app.bank_publishes("accounts", CUSTOMER, &[("a1", account("a1"))])
        .await;
    app.bank_publishes("accounts", OTHER_CUSTOMER, &[("b1", account("b1"))])
        .await;
    app.bank_publishes(
        "transactions",
        CUSTOMER,
        &[(
            "t1",
            transaction("a1", "1.00", "Credit", "2027-01-01T00:00:00Z"),
        )],
    )
    .await;
    app.settled().await;
    let polled = app
        .post(
            "/events",
            Some(&provider_token(RECIPIENT)),
            json!({"returnImmediately": true}),
        )
        .await;
    assert_eq!(polled.status, 200, "{}", polled.text);
    let sets = polled.body["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "only the covered dataset and customer");
    let claims = claims_of(sets.values().next().unwrap().as_str().unwrap());
    assert_eq!(
        claims["events"]["urn:ecohub:events:data-updated"],
        json!({"consent_id": consent, "dataset": "accounts", "provider": "bank"})
    );
    assert!(!polled.text.contains(CUSTOMER), "no customer id in SETs");
    let other = app
        .post(
            "/events",
            Some(&provider_token(OTHER_RECIPIENT)),
            json!({"returnImmediately": true}),
        )
        .await;
    assert_eq!(other.body["sets"], json!({}));
}

#[actix_web::test]
async fn polling_returns_pending_sets_and_records_acks_and_errors() {
    let app = TestApp::with(delivery_config()).await;
    subscribe(
        &app,
        RECIPIENT,
        "http://127.0.0.1:9/hook",
        &["consent-authorised", "consent-revoked"],
    )
    .await;
    for i in 1..=3 {
        consent_event(
            &app,
            &format!("0190f0c4-3333-7000-8000-00000000000{i}"),
            "ConsentAuthorised",
            RECIPIENT,
        )
        .await;
    }
    let token = provider_token(RECIPIENT);
    let first = app
        .post(
            "/events",
            Some(&token),
            json!({"maxEvents": 2, "returnImmediately": true}),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["moreAvailable"], true);
    let jtis: Vec<String> = first.body["sets"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(jtis.len(), 2);
    let second = app
        .post(
            "/events",
            Some(&token),
            json!({"ack": [jtis[0]], "setErrs": {jtis[1].clone(): {"err": "invalid_request", "description": "bad"}}, "returnImmediately": true}),
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let left: Vec<String> = second.body["sets"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(left.len(), 1);
    assert!(!jtis.contains(&left[0]));
    app.settled().await;
    // Acknowledged and rejected SETs are never pushed: only the third is due.
    assert_eq!(app.state.notifications.due(app.state.now()).len(), 1);
    // Another partner cannot acknowledge them.
    let foreign = app
        .post(
            "/events",
            Some(&provider_token(OTHER_RECIPIENT)),
            json!({"ack": [left[0]], "returnImmediately": true}),
        )
        .await;
    assert_eq!(foreign.body["sets"], json!({}));
    app.settled().await;
    assert_eq!(app.state.notifications.due(app.state.now()).len(), 1);
    app.post("/events", Some(&token), json!({"maxEvents": 101}))
        .await
        .problem(400, "invalid_request");
    app.post("/events", Some(&token), json!({"max": 1}))
        .await
        .problem(400, "invalid_json");
}

#[actix_web::test]
async fn subscriptions_are_per_partner_and_checked() {
    let app = TestApp::new().await;
    let head = app.head().await;
    let token = provider_token(RECIPIENT);
    app.post(
        "/event-subscriptions",
        Some(&token),
        json!({"url": "https://not-registered.example/hook", "event_types": ["consent-revoked"]}),
    )
    .await
    .problem(400, "invalid_request");
    app.webhooks
        .0
        .lock()
        .unwrap()
        .insert(RECIPIENT.into(), vec!["https://r.example/hook".into()]);
    let res = app
        .post(
            "/event-subscriptions",
            Some(&token),
            json!({"url": "https://r.example/hook", "event_types": ["consent-eaten"]}),
        )
        .await;
    res.problem(400, "invalid_request");
    assert_eq!(res.fields(), ["/event_types/0"]);
    app.post(
        "/event-subscriptions",
        Some(&token),
        json!({"url": "https://r.example/hook", "event_types": []}),
    )
    .await
    .problem(400, "invalid_request");
    app.post(
        "/event-subscriptions",
        Some(&recipient_token(RECIPIENT, "c1")),
        json!({"url": "https://r.example/hook", "event_types": ["consent-revoked"]}),
    )
    .await
    .problem(403, "insufficient_scope");
    assert_eq!(app.head().await, head, "nothing written");
    let id = subscribe(
        &app,
        RECIPIENT,
        "https://r.example/hook",
        &["data-updated", "consent-revoked", "data-updated"],
    )
    .await;
    let mine = app
        .get(&format!("/event-subscriptions/{id}"), Some(&token))
        .await;
    assert_eq!(
        mine.body["event_types"],
        json!(["consent-revoked", "data-updated"])
    );
    let list = app.get("/event-subscriptions", Some(&token)).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let other = provider_token(OTHER_RECIPIENT);
    app.get(&format!("/event-subscriptions/{id}"), Some(&other))
        .await
        .problem(404, "not_found");
    app.delete(&format!("/event-subscriptions/{id}"), Some(&other))
        .await
        .problem(404, "not_found");
    assert_eq!(
        app.get("/event-subscriptions", Some(&other)).await.body["data"],
        json!([])
    );
    app.get("/event-subscriptions/not-a-uuid", Some(&token))
        .await
        .problem(404, "not_found");
    assert_eq!(
        app.delete(&format!("/event-subscriptions/{id}"), Some(&token))
            .await
            .status,
        204
    );
    app.get(&format!("/event-subscriptions/{id}"), Some(&token))
        .await
        .problem(404, "not_found");
    app.delete(&format!("/event-subscriptions/{id}"), Some(&token))
        .await
        .problem(404, "not_found");
    assert_eq!(
        app.get("/event-subscriptions", Some(&token)).await.body["data"],
        json!([])
    );
}

#[actix_web::test]
async fn a_rebuilt_dispatcher_replays_the_log_without_queuing_twice() {
    let app = TestApp::with(delivery_config()).await;
    subscribe(
        &app,
        RECIPIENT,
        "http://127.0.0.1:9/hook",
        &["consent-expired"],
    )
    .await;
    consent_event(
        &app,
        "0190f0c4-4444-7000-8000-000000000001",
        "ConsentExpired",
        RECIPIENT,
    )
    .await;
    assert_eq!(app.events("notification-").await.len(), 1);
    app.projections[3].rebuild().await.unwrap();
    app.settled().await;
    consent_event(
        &app,
        "0190f0c4-4444-7000-8000-000000000002",
        "ConsentExpired",
        RECIPIENT,
    )
    .await;
    let queued: Vec<_> = app
        .events("notification-")
        .await
        .into_iter()
        .filter(|e| e.event_type == "NotificationQueued")
        .collect();
    assert_eq!(queued.len(), 2, "the first once, the new one once");
    // Garbage or foreign jtis in a poll are ignored, never turned into stream names.
    let res = app
        .post(
            "/events",
            Some(&provider_token(RECIPIENT)),
            json!({"ack": ["../../x", "0123"], "setErrs": {"zz": {"err": "invalid_request"}}, "maxEvents": 0, "returnImmediately": true}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["sets"], json!({}));
}

#[actix_web::test]
async fn the_background_tasks_deliver_without_being_driven() {
    let dir = tempfile::tempdir().unwrap();
    let store: ecohub_eventstore::SharedStore = Arc::new(
        ecohub_eventstore::SqliteStore::open(dir.path().join("events.db"), Default::default())
            .unwrap(),
    );
    let (rx, url) = start_receiver(vec![Some(503)]);
    let webhooks = Arc::new(FakeWebhooks::default());
    webhooks
        .0
        .lock()
        .unwrap()
        .insert(RECIPIENT.into(), vec![url.clone()]);
    let ports = SharingPorts {
        grants: Arc::new(FakeGrants::default()),
        customers: Arc::new(FakeCustomers::default()),
        webhooks,
        signer: Arc::new(FakeSigner),
    };
    let config = SharingConfig {
        delivery: DeliveryConfig {
            initial_backoff: Duration::from_millis(50),
            tick: Duration::from_millis(20),
            ..DeliveryConfig::default()
        },
        ..SharingConfig::default()
    };
    let clock = Arc::new(ecohub_kernel::SystemClock);
    let (state, projections) = SharingState::new(store.clone(), clock, config, ports);
    let tasks = ecohub_sharing::SharingTasks::spawn(store.clone(), &state, projections);
    let ctx =
        ecohub_sharing::RequestContext::client("client-r", "00000000-0000-4000-8000-000000000000");
    state
        .create_subscription(RECIPIENT, url, vec!["consent-authorised".into()], &ctx)
        .await
        .unwrap();
    store
        .append(
            "consent-0190f0c4-5555-7000-8000-000000000001",
            ExpectedRevision::Any,
            vec![NewEvent::raw(
                "ConsentAuthorised",
                json!({"partner_id": RECIPIENT}),
                state.now(),
            )],
        )
        .await
        .unwrap();
    let acknowledged = async {
        loop {
            let attempts = state.deliveries(RECIPIENT);
            if attempts.iter().any(|a| a.attempt.acknowledged) {
                return attempts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let attempts = tokio::time::timeout(Duration::from_secs(10), acknowledged)
        .await
        .expect("delivered");
    assert_eq!(attempts.len(), 2, "a 503, then the 202");
    assert_eq!(attempts[0].attempt.status, Some(503));
    tasks.stop();
    assert_eq!(rx.received.lock().unwrap().len(), 2);
}

/// A running instance (every projection and the delivery worker, the system clock) over a
/// fresh store, with `partners` registered at their webhooks and subscribed to
/// `consent-authorised`.
struct Live {
    store: ecohub_eventstore::SharedStore,
    state: SharingState,
    tasks: ecohub_sharing::SharingTasks,
    _dir: tempfile::TempDir,
}

impl Live {
    async fn start(delivery: DeliveryConfig, partners: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: ecohub_eventstore::SharedStore = Arc::new(
            ecohub_eventstore::SqliteStore::open(dir.path().join("events.db"), Default::default())
                .unwrap(),
        );
        let webhooks = Arc::new(FakeWebhooks::default());
        for (partner, url) in partners {
            webhooks
                .0
                .lock()
                .unwrap()
                .insert((*partner).into(), vec![(*url).into()]);
        }
        let ports = SharingPorts {
            grants: Arc::new(FakeGrants::default()),
            customers: Arc::new(FakeCustomers::default()),
            webhooks,
            signer: Arc::new(FakeSigner),
        };
        let config = SharingConfig {
            delivery,
            ..SharingConfig::default()
        };
        let clock = Arc::new(ecohub_kernel::SystemClock);
        let (state, projections) = SharingState::new(store.clone(), clock, config, ports);
        let tasks = ecohub_sharing::SharingTasks::spawn(store.clone(), &state, projections);
        let ctx = ecohub_sharing::RequestContext::client(
            "client-r",
            "00000000-0000-4000-8000-000000000000",
        );
        for (partner, url) in partners {
            state
                .create_subscription(
                    partner,
                    (*url).into(),
                    vec!["consent-authorised".into()],
                    &ctx,
                )
                .await
                .unwrap();
        }
        Self {
            store,
            state,
            tasks,
            _dir: dir,
        }
    }

    /// The consents service authorises `consent` for `partner`.
    async fn authorise(&self, consent: &str, partner: &str) {
        self.store
            .append(
                &format!("consent-{consent}"),
                ExpectedRevision::Any,
                vec![NewEvent::raw(
                    "ConsentAuthorised",
                    json!({"partner_id": partner}),
                    self.state.now(),
                )],
            )
            .await
            .unwrap();
    }
}

/// Waits (at most `within`) until `rx` has received `n` SETs.
async fn received(rx: &Receiver, n: usize, within: Duration) -> Result<(), String> {
    tokio::time::timeout(within, async {
        while rx.received.lock().unwrap().len() < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .map_err(|_| format!("{n} SETs not received within {within:?}"))
}

/// A notification queued in this instance wakes the worker: it is pushed long before the
/// next tick (10 s here), and the tick still runs the retries.
#[actix_web::test]
async fn a_queued_notification_is_pushed_at_once_not_at_the_next_tick() {
    let (rx, url) = start_receiver(vec![]);
    let live = Live::start(
        DeliveryConfig {
            tick: Duration::from_secs(10),
            ..DeliveryConfig::default()
        },
        &[(RECIPIENT, &url)],
    )
    .await;
    // The worker's first round runs at start; after it, only a wake-up can push in time.
    for i in 1..=3 {
        live.authorise(
            &format!("0190f0c4-5555-7000-8000-00000000010{i}"),
            RECIPIENT,
        )
        .await;
        received(&rx, i, Duration::from_secs(1)).await.unwrap();
    }
    assert_eq!(rx.received.lock().unwrap().len(), 3, "each pushed once");
    live.tasks.stop();
}

/// Pushes run concurrently: a receiver that hangs until the timeout holds one push, and
/// another partner's notification queued after it is received at once.
#[actix_web::test]
async fn a_hanging_receiver_does_not_hold_up_the_others() {
    let (slow_rx, slow_url) = start_receiver(vec![None]);
    let (rx, url) = start_receiver(vec![]);
    let live = Live::start(
        DeliveryConfig {
            tick: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            ..DeliveryConfig::default()
        },
        &[(OTHER_RECIPIENT, &slow_url), (RECIPIENT, &url)],
    )
    .await;
    live.authorise("0190f0c4-5555-7000-8000-000000000201", OTHER_RECIPIENT)
        .await;
    received(&slow_rx, 1, Duration::from_secs(1)).await.unwrap();
    live.authorise("0190f0c4-5555-7000-8000-000000000202", RECIPIENT)
        .await;
    received(&rx, 1, Duration::from_secs(1)).await.unwrap();
    assert!(
        live.state.deliveries(OTHER_RECIPIENT).is_empty(),
        "the slow push is still in flight"
    );
    live.tasks.stop();
}

#[actix_web::test]
async fn a_poll_without_return_immediately_waits_for_a_set() {
    let config = SharingConfig {
        delivery: DeliveryConfig {
            long_poll: Duration::from_secs(5),
            ..DeliveryConfig::default()
        },
        ..SharingConfig::default()
    };
    let app = TestApp::with(config).await;
    subscribe(
        &app,
        RECIPIENT,
        "http://127.0.0.1:9/hook",
        &["consent-revoked"],
    )
    .await;
    let state = app.state.clone();
    let poll = tokio::spawn(async move {
        let ctx =
            ecohub_sharing::RequestContext::client("c", "00000000-0000-4000-8000-000000000000");
        state
            .poll(
                RECIPIENT,
                ecohub_sharing::notify::Poll {
                    max_events: 5,
                    ..Default::default()
                },
                &ctx,
            )
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!poll.is_finished(), "waits while nothing is pending");
    consent_event(
        &app,
        "0190f0c4-6666-7000-8000-000000000001",
        "ConsentRevoked",
        RECIPIENT,
    )
    .await;
    let polled = tokio::time::timeout(Duration::from_secs(5), poll)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(polled.sets.len(), 1);
}

#[actix_web::test]
async fn a_webhook_removed_after_subscribing_is_never_pushed_to() {
    let app = TestApp::with(delivery_config()).await;
    let (rx, url) = start_receiver(vec![]);
    subscribe(&app, RECIPIENT, &url, &["consent-revoked"]).await;
    app.webhooks
        .0
        .lock()
        .unwrap()
        .insert(RECIPIENT.into(), vec![]);
    consent_event(
        &app,
        "0190f0c4-7777-7000-8000-000000000001",
        "ConsentRevoked",
        RECIPIENT,
    )
    .await;
    let client = http_client(&app.state);
    assert_eq!(deliver_due(&app.state, &client).await.unwrap(), 1);
    app.settled().await;
    assert!(rx.received.lock().unwrap().is_empty());
    let log = app
        .get("/event-deliveries", Some(&provider_token(RECIPIENT)))
        .await;
    assert_eq!(log.body["data"][0]["error"], "webhook no longer registered");
    assert_eq!(log.body["data"][0]["acknowledged"], false);
}

/// An accepted offer notifies each of its co-brand partners (`offer-accepted`), naming the
/// customer by the pairwise id that partner knows them by, never by the hub's id.
#[actix_web::test]
async fn an_accepted_offer_notifies_its_co_brand_partners() {
    let app = TestApp::with(delivery_config()).await;
    subscribe(
        &app,
        TRAVELCO,
        "http://127.0.0.1:9/travel",
        &["offer-accepted"],
    )
    .await;
    subscribe(
        &app,
        RECIPIENT,
        "http://127.0.0.1:9/shop",
        &["offer-accepted"],
    )
    .await;
    subscribe(
        &app,
        OTHER_RECIPIENT,
        "http://127.0.0.1:9/other",
        &["offer-accepted"],
    )
    .await;
    let offer = "0190f0c4-3333-7000-8000-000000000001";
    let accepted = |response: &str| {
        NewEvent::raw(
            response,
            json!({"offer_id": offer, "customer_id": CUSTOMER,
                   "proposition_id": "0190f0c4-4444-7000-8000-000000000001", "version": 2,
                   "product_code": "PL-GLOBE", "partners": [TRAVELCO, RECIPIENT],
                   "personas": ["globetrotter"], "channel": "bank_app", "by": "customer",
                   "at": "2027-01-15T10:00:00Z"}),
            app.state.now(),
        )
    };
    app.store
        .append(
            "offercontacts-0190f0c4-5555-7000-8000-000000000001",
            ExpectedRevision::Any,
            vec![accepted("OfferViewed"), accepted("OfferAccepted")],
        )
        .await
        .unwrap();
    app.settled().await;
    let app = &app;
    let poll = |partner: &'static str| {
        let token = provider_token(partner);
        async move {
            app.post("/events", Some(&token), json!({"returnImmediately": true}))
                .await
        }
    };
    // TravelCo knows the customer (pairwise id pw-travelco-1); the shop does not.
    let travel = poll(TRAVELCO).await;
    let sets = travel.body["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{}", travel.text);
    let claims = claims_of(sets.values().next().unwrap().as_str().unwrap());
    assert_eq!(claims["aud"], TRAVELCO);
    assert_eq!(
        claims["events"]["urn:ecohub:events:offer-accepted"],
        json!({"offer_id": offer, "proposition_id": "0190f0c4-4444-7000-8000-000000000001",
               "version": 2, "product_code": "PL-GLOBE",
               "sub_id": {"format": "opaque", "id": CUSTOMER_AT_TRAVELCO}})
    );
    assert!(
        !travel.text.contains(CUSTOMER),
        "no hub customer id in SETs"
    );
    let shop = poll(RECIPIENT).await;
    let sets = shop.body["sets"].as_object().unwrap();
    assert_eq!(sets.len(), 1, "{}", shop.text);
    let claims = claims_of(sets.values().next().unwrap().as_str().unwrap());
    assert!(
        claims["events"]["urn:ecohub:events:offer-accepted"]
            .get("sub_id")
            .is_none(),
        "a partner that does not know the customer gets no identifier"
    );
    // Not a co-brand partner of the offer.
    assert_eq!(poll(OTHER_RECIPIENT).await.body["sets"], json!({}));
}

/// An `OfferPresented` as the offers service stores it (version 2): with a `moment` when a
/// financial moment triggered the offer, without for an ordinary decision's offer.
fn presented(app: &TestApp, offer: &str, partners: &[&str], moment: Option<Value>) -> NewEvent {
    let mut data = json!({"offer_id": offer, "decision_id": "0190f0c4-9999-7000-8000-000000000001",
        "proposition_id": "0190f0c4-4444-7000-8000-000000000002", "version": 1,
        "product_code": "TRAVEL-INS", "channel": "moment", "placement": "moment",
        "rate_percent": 0.0, "commission_percent": 0.0, "fees": 0.0, "partners": partners,
        "personas": ["globetrotter"], "explanation_digest": "ab12",
        "expires_at": "2027-01-29T08:00:00Z", "at": "2027-01-15T08:00:00Z"});
    if let Some(moment) = moment {
        data["moment"] = moment;
    }
    let mut event = NewEvent::raw("OfferPresented", data, app.state.now());
    event.event_version = 2;
    event
}

fn travel_booked() -> Value {
    json!({"moment_id": "0190f0c4-8888-7000-8000-000000000001", "moment_type": "travel_booked",
           "provider": TRAVELCO, "rule": "travel_insurance_on_booking",
           "reason": "You booked a trip abroad", "customer_id": CUSTOMER,
           "notify": [TRAVELCO, RECIPIENT]})
}

const LEDGER: &str = "offercontacts-0190f0c4-5555-7000-8000-000000000002";

/// An offer a financial moment triggered is pushed to each co-brand partner subscribed to
/// `offer-available` as a signed SET naming the offer and the moment, and the customer by that
/// partner's pairwise id; an ordinary decision's offer notifies nobody, and a co-brand
/// partner the customer does not let receive offers gets nothing.
#[actix_web::test]
async fn a_triggered_offer_is_pushed_to_its_subscribed_co_brand_partners() {
    let app = TestApp::with(delivery_config()).await;
    let (travel_rx, travel_url) = start_receiver(vec![]);
    let (shop_rx, shop_url) = start_receiver(vec![]);
    let (other_rx, other_url) = start_receiver(vec![]);
    subscribe(&app, TRAVELCO, &travel_url, &["offer-available"]).await;
    subscribe(
        &app,
        RECIPIENT,
        &shop_url,
        &["offer-accepted", "offer-available"],
    )
    .await;
    // A co-brand partner the customer does not let receive offers (not in the moment's
    // `notify`) is not told, although subscribed.
    subscribe(
        &app,
        OTHER_RECIPIENT,
        &other_url,
        &["offer-accepted", "offer-available"],
    )
    .await;
    let triggered = "0190f0c4-3333-7000-8000-000000000010";
    let ordinary = "0190f0c4-3333-7000-8000-000000000011";
    let partners = [TRAVELCO, RECIPIENT, OTHER_RECIPIENT];
    app.store
        .append(
            LEDGER,
            ExpectedRevision::Any,
            vec![
                presented(&app, ordinary, &partners, None),
                presented(&app, triggered, &partners, Some(travel_booked())),
            ],
        )
        .await
        .unwrap();
    app.settled().await;
    assert_eq!(
        app.events("notification-").await.len(),
        2,
        "the triggered offer, once for each partner subscribed to offer-available"
    );

    let client = http_client(&app.state);
    assert_eq!(deliver_due(&app.state, &client).await.unwrap(), 2);
    app.settled().await;
    let received = travel_rx.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].0, "application/secevent+jwt");
    let claims = claims_of(&received[0].1);
    assert_eq!(claims["aud"], TRAVELCO);
    assert_eq!(
        claims["events"]["urn:ecohub:events:offer-available"],
        json!({"offer_id": triggered, "proposition_id": "0190f0c4-4444-7000-8000-000000000002",
               "version": 1, "product_code": "TRAVEL-INS", "expires_at": "2027-01-29T08:00:00Z",
               "moment": {"moment_id": "0190f0c4-8888-7000-8000-000000000001",
                          "moment_type": "travel_booked", "rule": "travel_insurance_on_booking",
                          "reason": "You booked a trip abroad"},
               "sub_id": {"format": "opaque", "id": CUSTOMER_AT_TRAVELCO}})
    );
    assert!(
        !received[0].1.contains(CUSTOMER),
        "no hub customer id in SETs"
    );
    let shop = shop_rx.received.lock().unwrap().clone();
    assert_eq!(shop.len(), 1);
    let claims = claims_of(&shop[0].1);
    assert_eq!(claims["aud"], RECIPIENT);
    let subject = &claims["events"]["urn:ecohub:events:offer-available"];
    assert_eq!(subject["offer_id"], triggered);
    assert!(
        subject.get("sub_id").is_none(),
        "a partner that does not know the customer gets no identifier"
    );
    assert!(other_rx.received.lock().unwrap().is_empty());
    let acknowledged = |partner: &'static str| {
        app.state
            .deliveries(partner)
            .iter()
            .filter(|a| a.attempt.acknowledged && a.event_type == "offer-available")
            .count()
    };
    assert_eq!(
        (
            acknowledged(TRAVELCO),
            acknowledged(RECIPIENT),
            acknowledged(OTHER_RECIPIENT)
        ),
        (1, 1, 0)
    );
}

/// The same `OfferPresented` dispatched again (the dispatcher rebuilt, as after a restart
/// that lost its checkpoint) queues nothing twice: the jti is derived from the subscription
/// and the source event.
#[actix_web::test]
async fn a_triggered_offer_dispatched_twice_is_queued_once() {
    let app = TestApp::with(delivery_config()).await;
    subscribe(
        &app,
        TRAVELCO,
        "http://127.0.0.1:9/travel",
        &["offer-available"],
    )
    .await;
    app.store
        .append(
            LEDGER,
            ExpectedRevision::Any,
            vec![presented(
                &app,
                "0190f0c4-3333-7000-8000-000000000012",
                &[TRAVELCO],
                Some(travel_booked()),
            )],
        )
        .await
        .unwrap();
    app.settled().await;
    let queued = |events: Vec<ecohub_eventstore::RecordedEvent>| {
        events
            .into_iter()
            .filter(|e| e.event_type == "NotificationQueued")
            .count()
    };
    assert_eq!(queued(app.events("notification-").await), 1);
    app.projections[3].rebuild().await.unwrap();
    app.settled().await;
    assert_eq!(
        queued(app.events("notification-").await),
        1,
        "replayed, not queued again"
    );
    let polled = app
        .post(
            "/events",
            Some(&provider_token(TRAVELCO)),
            json!({"returnImmediately": true}),
        )
        .await;
    assert_eq!(polled.body["sets"].as_object().unwrap().len(), 1);
}

/// The console's delivery log of a partner (ADR 0024): for a partnership manager's session,
/// the subscriptions and every attempt in words; without a session a redirect to sign in;
/// other roles and bad addresses refused in words.
#[actix_web::test]
async fn the_console_shows_a_partners_subscriptions_and_delivery_log() {
    let app = TestApp::with(delivery_config()).await;
    let page = |who: Option<&'static str>, uri: String| {
        let req = test::TestRequest::get().uri(&uri);
        let req = match who {
            Some(who) => req.insert_header(("cookie", format!("ecohub_staff_session={who}"))),
            None => req,
        };
        app.send(req)
    };
    let log = format!("/console/partners/{RECIPIENT}/deliveries");
    let res = page(Some("ada"), log.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(
        res.text.contains("The partner has no subscription."),
        "{}",
        res.text
    );
    assert!(
        res.text.contains("it has no subscription yet"),
        "{}",
        res.text
    );

    let (_rx, url) = start_receiver(vec![]);
    subscribe(&app, RECIPIENT, &url, &["consent-revoked"]).await;
    app.webhooks
        .0
        .lock()
        .unwrap()
        .insert(RECIPIENT.into(), vec![]);
    consent_event(
        &app,
        "0190f0c4-7777-7000-8000-000000000002",
        "ConsentRevoked",
        RECIPIENT,
    )
    .await;
    let client = http_client(&app.state);
    assert_eq!(deliver_due(&app.state, &client).await.unwrap(), 1);
    app.settled().await;

    let res = page(Some("ada"), log.clone()).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    for expected in [
        "Signed in as <strong>Ada Lovelace</strong>",
        &format!("<code>{url}</code>"),
        "consent-revoked",
        "not delivered: webhook no longer registered",
        &format!("href=\"/console/partners/{RECIPIENT}\""),
    ] {
        assert!(res.text.contains(expected), "{expected}: {}", res.text);
    }
    assert!(!res.text.contains("<script"));
    // Past the end: says so, with the way back.
    let res = page(Some("ada"), format!("{log}?after=0")).await;
    assert!(
        res.text.contains("this is the end of the log"),
        "{}",
        res.text
    );
    assert!(res.text.contains("First page"));

    let res = page(None, log.clone()).await;
    assert_eq!(res.status, 303);
    assert_eq!(res.header("location"), Some("/console/login"));
    let res = page(Some("carol"), log.clone()).await;
    assert_eq!(res.status, 403);
    assert!(
        res.text.contains("Carol &#60;Compliance&#62;"),
        "{}",
        res.text
    );
    for bad in [
        "/console/partners/nope/deliveries".to_owned(),
        format!("{log}?after=x"),
    ] {
        let res = page(Some("ada"), bad.clone()).await;
        assert_eq!(res.status, 400, "{bad}");
        assert!(res.text.contains("role=\"alert\""), "{}", res.text);
    }
}
