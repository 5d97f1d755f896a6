//! Property test (proptest) of the RFC 8936 poll endpoint, whose body (`ack`, `setErrs`,
//! `maxEvents`, `returnImmediately`) and the jtis in it come from partners: any body, JSON or
//! not, is answered 200 with at most `maxEvents` SETs or refused with problem+json, never a
//! 5xx, and a partner's arbitrary acknowledgements never disturb the SETs of another.
//!
//! The case count is modest so that `cargo test` stays fast; for a longer run:
//! `PROPTEST_CASES=5000 cargo test -p ecohub-sharing --test http properties`.

use std::time::Duration;

use actix_web::test::TestRequest;
use ecohub_eventstore::{ExpectedRevision, NewEvent};
use ecohub_sharing::{DeliveryConfig, SharingConfig};
use ecohub_testkit::properties::{any_json, config};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::*;

/// A jti: one of the other partner's, or anything.
fn jti(theirs: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::sample::select(theirs),
        2 => "\\PC{0,40}",
        1 => Just("x".repeat(5000)),
        1 => Just("../notification-..%2f".to_owned()),
    ]
}

/// A poll body: each member absent, well-typed or of any type, plus an unknown one now and
/// then; or any JSON at all.
fn poll_bodies(theirs: Vec<String>) -> impl Strategy<Value = Value> {
    let set_err = prop_oneof![
        3 => ("\\PC{0,12}", prop::option::of("\\PC{0,12}")).prop_map(|(err, d)| match d {
            Some(d) => json!({"err": err, "description": d}),
            None => json!({"err": err}),
        }),
        1 => any_json(),
    ];
    let member = |s: BoxedStrategy<Value>| prop_oneof![1 => Just(None), 3 => s.prop_map(Some), 1 => any_json().prop_map(Some)];
    let poll = (
        member(
            prop::collection::vec(jti(theirs.clone()), 0..6)
                .prop_map(|v| json!(v))
                .boxed(),
        ),
        member(
            prop::collection::btree_map(jti(theirs), set_err, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()))
                .boxed(),
        ),
        member(
            prop_oneof![
                (0u64..120).prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                Just(json!(u64::MAX)),
                Just(json!(1.5)),
            ]
            .boxed(),
        ),
        prop::option::of(any::<bool>()),
        prop::option::of(("[a-zA-Z]{1,8}", any_json())),
    )
        .prop_map(|(ack, errs, max, immediately, unknown)| {
            let mut body = Map::new();
            for (name, value) in [("ack", ack), ("setErrs", errs), ("maxEvents", max)] {
                if let Some(v) = value {
                    body.insert(name.to_owned(), v);
                }
            }
            // Always answer at once: a long poll would only make the run slow.
            body.insert(
                "returnImmediately".to_owned(),
                json!(immediately.unwrap_or(true)),
            );
            if let Some((name, value)) = unknown {
                body.insert(name, value);
            }
            Value::Object(body)
        });
    prop_oneof![6 => poll, 1 => any_json()]
}

#[test]
fn any_poll_body_is_answered_or_refused_as_problem_json_never_5xx() {
    let system = actix_web::rt::System::new();
    let app = system.block_on(TestApp::with(SharingConfig {
        delivery: DeliveryConfig {
            long_poll: Duration::from_millis(1),
            ..DeliveryConfig::default()
        },
        ..SharingConfig::default()
    }));
    // Three SETs pending for the other recipient, whose jtis the fuzzed partner may name.
    let theirs: Vec<String> = system.block_on(async {
        app.webhooks.0.lock().unwrap().insert(
            OTHER_RECIPIENT.to_owned(),
            vec!["http://127.0.0.1:9/hook".into()],
        );
        let res = app
            .post(
                "/event-subscriptions",
                Some(&provider_token(OTHER_RECIPIENT)),
                json!({"url": "http://127.0.0.1:9/hook", "event_types": ["consent-authorised"]}),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text);
        for i in 1..=3 {
            app.store
                .append(
                    &format!("consent-0190f0c4-3333-7000-8000-00000000000{i}"),
                    ExpectedRevision::Any,
                    vec![NewEvent::raw(
                        "ConsentAuthorised",
                        json!({"partner_id": OTHER_RECIPIENT, "consent_id": i.to_string()}),
                        app.state.now(),
                    )],
                )
                .await
                .unwrap();
        }
        app.settled().await;
        app.state
            .notifications
            .pending_for(OTHER_RECIPIENT, 10, &[])
            .0
            .into_iter()
            .map(|q| q.jti)
            .collect()
    });
    assert_eq!(theirs.len(), 3);

    let token = provider_token(RECIPIENT);
    let raws = prop_oneof![
        "\\PC{0,64}",
        prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    proptest!(config(128), |(body in poll_bodies(theirs.clone()), raw in raws, as_raw in prop::bool::weighted(0.1))| {
        let res = system.block_on(async {
            let req = if as_raw {
                TestRequest::post()
                    .uri("/events")
                    .insert_header(("content-type", "application/json"))
                    .set_payload(raw.clone())
            } else {
                TestRequest::post().uri("/events").set_json(&body)
            };
            app.send(with_token(req, Some(&token))).await
        });
        prop_assert!(res.status < 500, "{} answered {}: {}", body, res.status, res.text);
        if res.status == 200 {
            let sets = res.body["sets"].as_object();
            prop_assert!(sets.is_some(), "{}", res.text);
            prop_assert!(sets.unwrap().is_empty(), "nothing is pending for this partner");
            prop_assert!(res.body["moreAvailable"].is_boolean());
        } else {
            prop_assert!(matches!(res.status, 400 | 413 | 415 | 422 | 429), "{}", res.status);
            prop_assert_eq!(res.header("content-type"), Some("application/problem+json"));
            prop_assert!(res.body["code"].is_string(), "{}", res.text);
        }
    });

    // The other partner's SETs are all still pending: nobody else can acknowledge them.
    system.block_on(app.settled());
    let still: Vec<String> = app
        .state
        .notifications
        .pending_for(OTHER_RECIPIENT, 10, &[])
        .0
        .into_iter()
        .map(|q| q.jti)
        .collect();
    assert_eq!(still, theirs);
}
