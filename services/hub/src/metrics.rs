//! Prometheus metrics: HTTP request counts and latency by route and status, event store
//! append/read figures, projection progress.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use async_trait::async_trait;
use ecohub_eventstore::{
    AppendResult, CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position,
    ReadStreamOptions, RecordedEvent, StoreError, Subscription,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Every metric the hub exports, registered in one registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    store_ops: IntCounterVec,
    store_events: IntCounterVec,
    store_duration: HistogramVec,
    /// Per projection: 1 when caught up.
    pub projection_caught_up: IntGaugeVec,
    /// Per projection: last applied commit position.
    pub projection_checkpoint: IntGaugeVec,
    /// Per stream category: events seen by the store-statistics projection.
    pub events_by_category: IntGaugeVec,
    /// The embedded store's writer: commits, appends and events since it opened (read when
    /// the metrics are rendered; appends per commit is what group commit achieves).
    writer: IntGaugeVec,
    embedded: Arc<OnceLock<ecohub_eventstore::SqliteStore>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "ecohub_http_requests_total",
                "HTTP requests by route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "ecohub_http_request_duration_seconds",
                "HTTP request latency by route and status",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let store_ops = IntCounterVec::new(
            Opts::new(
                "ecohub_store_operations_total",
                "Event store calls by operation and outcome",
            ),
            &["operation", "outcome"],
        )
        .expect("valid metric");
        let store_events = IntCounterVec::new(
            Opts::new(
                "ecohub_store_events_total",
                "Events appended or read, by operation",
            ),
            &["operation"],
        )
        .expect("valid metric");
        let store_duration = HistogramVec::new(
            HistogramOpts::new(
                "ecohub_store_operation_duration_seconds",
                "Event store call latency",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["operation"],
        )
        .expect("valid metric");
        let projection_caught_up = IntGaugeVec::new(
            Opts::new(
                "ecohub_projection_caught_up",
                "1 when the projection follows the live log",
            ),
            &["projection"],
        )
        .expect("valid metric");
        let projection_checkpoint = IntGaugeVec::new(
            Opts::new(
                "ecohub_projection_checkpoint",
                "Last global position applied",
            ),
            &["projection"],
        )
        .expect("valid metric");
        let events_by_category = IntGaugeVec::new(
            Opts::new(
                "ecohub_events_by_category",
                "Events in the log by stream category",
            ),
            &["category"],
        )
        .expect("valid metric");
        let writer = IntGaugeVec::new(
            Opts::new(
                "ecohub_store_writer",
                "The embedded store's writer since it opened: commits, appends and events \
                 written, failed commits",
            ),
            &["counter"],
        )
        .expect("valid metric");
        for c in [
            Box::new(writer.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_requests.clone()),
            Box::new(http_duration.clone()),
            Box::new(store_ops.clone()),
            Box::new(store_events.clone()),
            Box::new(store_duration.clone()),
            Box::new(projection_caught_up.clone()),
            Box::new(projection_checkpoint.clone()),
            Box::new(events_by_category.clone()),
        ] {
            registry.register(c).expect("metric registered once");
        }
        Self {
            registry,
            http_requests,
            http_duration,
            store_ops,
            store_events,
            store_duration,
            projection_caught_up,
            projection_checkpoint,
            events_by_category,
            writer,
            embedded: Arc::new(OnceLock::new()),
        }
    }

    /// Reports the counters of `store`'s writer (the embedded store) from now on.
    pub fn watch_writer(&self, store: ecohub_eventstore::SqliteStore) {
        let _ = self.embedded.set(store);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        if let Some(store) = self.embedded.get() {
            let stats = store.stats();
            for (counter, value) in [
                ("commits", stats.commits),
                ("appends", stats.appends),
                ("events", stats.events),
                ("failed_commits", stats.failed_commits),
            ] {
                self.writer
                    .with_label_values(&[counter])
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            }
        }
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    fn observe_store<T>(&self, operation: &str, started: Instant, result: &Result<T, StoreError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(StoreError::WrongExpectedVersion { .. }) => "conflict",
            Err(StoreError::InvalidRequest(_)) => "invalid",
            Err(StoreError::Unavailable(_) | StoreError::Closed) => "unavailable",
            Err(StoreError::Internal(_)) => "error",
        };
        self.store_ops
            .with_label_values(&[operation, outcome])
            .inc();
        self.store_duration
            .with_label_values(&[operation])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware (use with `actix_web::middleware::from_fn`): counts and times every request by
/// its route pattern (never the raw path, so ids don't explode cardinality), and writes one
/// log line per request. The real cause of a 5xx is logged here, never sent to the client.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let elapsed = started.elapsed();
    let status = res.status();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(metrics) = metrics {
        let labels = [method.as_str(), route.as_str(), status.as_str()];
        metrics.http_requests.with_label_values(&labels).inc();
        metrics
            .http_duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }
    let interaction_id = ecohub_http::interaction::current().map(|i| i.to_string());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if status.is_server_error() {
        let cause = res.response().error().map(|e| e.to_string());
        tracing::error!(%method, %route, status = status.as_u16(), latency_ms, interaction_id, cause, "request failed");
    } else {
        tracing::info!(%method, %route, status = status.as_u16(), latency_ms, interaction_id, "request");
    }
    Ok(res)
}

/// An [`EventStore`] wrapper that records append/read figures; works for any backend.
pub struct MeteredStore {
    inner: Arc<dyn EventStore>,
    metrics: Metrics,
}

impl MeteredStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn EventStore>, metrics: Metrics) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl EventStore for MeteredStore {
    async fn append(
        &self,
        stream: &str,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        let started = Instant::now();
        let n = events.len() as u64;
        let r = self.inner.append(stream, expected, events).await;
        self.metrics.observe_store("append", started, &r);
        if r.is_ok() {
            self.metrics
                .store_events
                .with_label_values(&["append"])
                .inc_by(n);
        }
        r
    }

    async fn read_stream(
        &self,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let started = Instant::now();
        let r = self.inner.read_stream(stream, options).await;
        self.metrics.observe_store("read_stream", started, &r);
        if let Ok(events) = &r {
            self.metrics
                .store_events
                .with_label_values(&["read_stream"])
                .inc_by(events.len() as u64);
        }
        r
    }

    async fn stream_revision(&self, stream: &str) -> Result<CurrentRevision, StoreError> {
        let started = Instant::now();
        let r = self.inner.stream_revision(stream).await;
        self.metrics.observe_store("stream_revision", started, &r);
        r
    }

    async fn read_all(
        &self,
        from: Option<Position>,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let started = Instant::now();
        let r = self.inner.read_all(from, filter, limit).await;
        self.metrics.observe_store("read_all", started, &r);
        if let Ok(events) = &r {
            self.metrics
                .store_events
                .with_label_values(&["read_all"])
                .inc_by(events.len() as u64);
        }
        r
    }

    async fn subscribe_all(
        &self,
        from: Option<Position>,
        filter: EventFilter,
    ) -> Result<Subscription, StoreError> {
        let started = Instant::now();
        let r = self.inner.subscribe_all(from, filter).await;
        self.metrics.observe_store("subscribe_all", started, &r);
        let events = self
            .metrics
            .store_events
            .with_label_values(&["subscription"]);
        r.map(|s| {
            Box::pin(futures_util::StreamExt::inspect(s, move |m| {
                if let Ok(ecohub_eventstore::SubscriptionMessage::Event(_)) = m {
                    events.inc();
                }
            })) as Subscription
        })
    }

    async fn head(&self) -> Result<Option<Position>, StoreError> {
        self.inner.head().await
    }

    async fn category_head(&self, prefix: &str) -> Result<Option<Position>, StoreError> {
        self.inner.category_head(prefix).await
    }

    async fn category_heads(&self, prefixes: &[&str]) -> Result<Vec<Option<Position>>, StoreError> {
        self.inner.category_heads(prefixes).await
    }

    async fn is_healthy(&self) -> bool {
        self.inner.is_healthy().await
    }

    async fn close(&self) -> Result<(), StoreError> {
        self.inner.close().await
    }
}
