use crate::app::spawn_app;
use ecohub_eventstore::{EventFilter, ExpectedRevision, NewEvent, Position};
use ecohub_kernel::{Clock, SystemClock};
use serde_json::{Value, json};

#[tokio::test]
async fn live_answers_at_once() {
    let app = spawn_app().await;
    let res = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"status": "live"})
    );
    app.stop().await;
}

#[tokio::test]
async fn ready_reports_store_and_projection_progress() {
    let app = spawn_app().await;
    // Put some history in the log, then wait for the projection to apply it.
    let now = SystemClock.now();
    let mut last = None;
    for i in 0..20 {
        let r = app
            .state
            .store
            .append(
                &format!("widget-{i}"),
                ExpectedRevision::NoStream,
                vec![NewEvent::raw("WidgetCreated", json!({"n": i}), now)],
            )
            .await
            .unwrap();
        last = r.position;
    }
    let last: Position = last.unwrap();
    for p in app
        .state
        .projections
        .iter()
        .chain(&app.state.background_projections)
    {
        p.wait_for(Some(last)).await;
    }
    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["store"], true);
    assert_eq!(body["projections"]["store_statistics"]["caught_up"], true);
    // Statistics, the audit's access index and the offers' index of customers' moments read
    // the whole log (or every moment): reported, not waited for.
    assert_eq!(
        body["projections"]["store_statistics"]["gates_readiness"],
        false
    );
    assert_eq!(
        body["projections"]["sharing-access-index"]["gates_readiness"],
        false
    );
    assert_eq!(
        body["projections"]["offers-moment-index"]["gates_readiness"],
        false
    );
    assert_eq!(
        body["projections"]["sharing-records"]["gates_readiness"],
        true
    );
    assert_eq!(
        body["projections"]["store_statistics"]["checkpoint"],
        last.commit
    );

    // The projection's figures reach /metrics, along with the store's own.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("ecohub_events_by_category{category=\"widget\"} 20"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ecohub_store_events_total{operation=\"append\"} 20"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ecohub_store_operations_total{operation=\"append\",outcome=\"ok\"} 20")
    );
    assert!(metrics.contains("ecohub_projection_caught_up{projection=\"store_statistics\"} 1"));
    let read = app
        .state
        .store
        .read_all(None, &EventFilter::streams(["widget-1"]), 100)
        .await
        .unwrap();
    assert_eq!(
        read.len(),
        11,
        "widget-1 and widget-10..19 share the prefix"
    );
    app.stop().await;
}

#[tokio::test]
async fn ready_is_false_once_the_store_is_closed() {
    let app = spawn_app().await;
    app.state.store.close().await.unwrap();
    let res = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["store"], false);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status() {
    let app = spawn_app().await;
    for _ in 0..3 {
        app.client
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap();
    }
    app.client
        .get(app.url("/no/such/thing/123"))
        .send()
        .await
        .unwrap();
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"ecohub_http_requests_total{method="GET",route="/health/live",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"ecohub_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        )
    );
    assert!(text.contains("ecohub_http_request_duration_seconds_bucket"));
    assert!(
        !text.contains("/no/such/thing"),
        "raw paths never become labels"
    );
    app.stop().await;
}
