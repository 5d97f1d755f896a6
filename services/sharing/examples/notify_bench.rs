//! Latency of event notifications alone, queue → webhook: offers a financial moment triggered
//! (`OfferPresented` with a `moment`, appended as the offers service does) are turned into
//! `offer-available` SETs by the dispatcher, signed with a real ES256 key and pushed by the
//! delivery worker to a receiver on loopback, at a steady rate. Reports, per notification,
//! the time from the start of the source event's append to the SET's arrival (and from the
//! append's acknowledgement), p50/p90/p99/max.
//!
//! Everything runs as in the hub: the embedded store in a temporary directory (fsync on every
//! group commit), the projections and the worker on one `actix` system thread, the receiver
//! on its own worker thread (a partner's server, here on the same machine).
//!
//! `cargo run --release -p ecohub-sharing --example notify_bench -- [per_second] [seconds]
//! [concurrency]` (defaults 1000, 10, 32).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use async_trait::async_trait;
use base64::Engine;
use ecohub_eventstore::{ExpectedRevision, NewEvent, SharedStore, SqliteStore, SqliteStoreOptions};
use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, DeliveryConfig, PartnerWebhooks, PortError,
    RequestContext, SetSigner, SharingConfig, SharingPorts, SharingState, SharingTasks,
};
use serde_json::{Value, json};

const PARTNERS: usize = 10;

struct NoGrants;

#[async_trait]
impl ConsentGrants for NoGrants {
    async fn grant(
        &self,
        _: &str,
        _: ecohub_kernel::Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError> {
        Ok(None)
    }
}

/// Every customer `cust-<n>` is `pw-<n>` at every partner.
struct Pairwise;

#[async_trait]
impl Customers for Pairwise {
    async fn resolve(&self, _: &str, pairwise: &str) -> Result<Option<String>, PortError> {
        Ok(pairwise.strip_prefix("pw-").map(|n| format!("cust-{n}")))
    }
    async fn pairwise_of(&self, _: &str, customer: &str) -> Result<Option<String>, PortError> {
        Ok(customer.strip_prefix("cust-").map(|n| format!("pw-{n}")))
    }
}

struct Webhooks(HashMap<String, Vec<String>>);

#[async_trait]
impl PartnerWebhooks for Webhooks {
    async fn webhooks(&self, partner: &str) -> Result<Vec<String>, PortError> {
        Ok(self.0.get(partner).cloned().unwrap_or_default())
    }
}

/// ES256, as the hub's key ring signs by default.
struct Es256(SigningKey);

impl SetSigner for Es256 {
    fn sign(&self, claims: &Value) -> Result<String, PortError> {
        self.0
            .sign_jwt("secevent+jwt", claims)
            .map_err(|e| PortError(e.to_string()))
    }
}

/// offer id → when its SET arrived.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receive(body: String, arrivals: web::Data<Arrivals>) -> HttpResponse {
    let at = Instant::now();
    let claims = body
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok());
    let Some(offer) = claims.as_ref().and_then(|c| {
        c["events"]["urn:ecohub:events:offer-available"]["offer_id"]
            .as_str()
            .map(str::to_owned)
    }) else {
        return HttpResponse::BadRequest().finish();
    };
    arrivals.lock().unwrap().entry(offer).or_insert(at);
    HttpResponse::Accepted().finish()
}

fn presented(n: usize, partner: &str, clock: &dyn Clock) -> NewEvent {
    NewEvent {
        event_version: 2,
        ..NewEvent::raw(
            "OfferPresented",
            json!({"offer_id": format!("offer-{n}"), "decision_id": format!("decision-{n}"),
                "proposition_id": "0190f0c4-4444-7000-8000-000000000002", "version": 1,
                "product_code": "TRAVEL-INS", "channel": "moment", "placement": "moment",
                "rate_percent": 0.0, "commission_percent": 0.0, "fees": 0.0,
                "partners": [partner], "personas": [], "explanation_digest": "ab12",
                "expires_at": "2027-01-29T08:00:00Z",
                "moment": {"moment_id": format!("moment-{n}"), "moment_type": "travel_booked",
                    "provider": partner, "rule": "travel_insurance_on_booking",
                    "reason": "You booked a trip abroad", "customer_id": format!("cust-{n}"),
                    "notify": [partner]},
                "at": clock.now().to_string()}),
            clock.now(),
        )
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn report(label: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{label:<28} p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.90)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let per_second: usize = args.next().map_or(1000, |a| a.parse().expect("per_second"));
    let seconds: usize = args.next().map_or(10, |a| a.parse().expect("seconds"));
    let concurrency: usize = args.next().map_or(32, |a| a.parse().expect("concurrency"));
    let total = per_second * seconds;

    // The receiver: a partner's server on its own thread.
    let arrivals: Arrivals = Arc::default();
    let data = arrivals.clone();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(data.clone()))
                    .route("/hook", web::post().to(receive))
            })
            .workers(1)
            .bind(("127.0.0.1", 0))
            .unwrap();
            addr_tx.send(server.addrs()[0]).unwrap();
            server.run().await.unwrap();
        });
    });
    let url = format!("http://{}/hook", addr_rx.recv().unwrap());

    actix_web::rt::System::new().block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(
            SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default())
                .unwrap(),
        );
        let store: SharedStore = sqlite.clone();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let partners: Vec<String> = (0..PARTNERS)
            .map(|i| format!("0190f0c4-0000-7000-8000-{i:012}"))
            .collect();
        let key = SigningKey::generate(SigningAlgorithm::Es256, clock.now(), clock.now()).unwrap();
        let ports = SharingPorts {
            grants: Arc::new(NoGrants),
            customers: Arc::new(Pairwise),
            webhooks: Arc::new(Webhooks(
                partners
                    .iter()
                    .map(|p| (p.clone(), vec![url.clone()]))
                    .collect(),
            )),
            signer: Arc::new(Es256(key)),
        };
        let config = SharingConfig {
            delivery: DeliveryConfig {
                concurrency,
                ..DeliveryConfig::default()
            },
            ..SharingConfig::default()
        };
        let (state, projections) = SharingState::new(store.clone(), clock.clone(), config, ports);
        let tasks = SharingTasks::spawn(store.clone(), &state, projections);
        let ctx = RequestContext::client("bench", "00000000-0000-4000-8000-000000000000");
        for p in &partners {
            state
                .create_subscription(p, url.clone(), vec!["offer-available".into()], &ctx)
                .await
                .unwrap();
        }
        let head = store.head().await.unwrap();
        for p in &tasks.projections {
            p.wait_for(head).await;
        }

        println!(
            "{total} offer-available notifications at {per_second}/s over {seconds} s, {PARTNERS} partners, concurrency {concurrency}"
        );
        let before = sqlite.stats();
        let sent: Arc<Mutex<HashMap<String, (Instant, Instant)>>> = Arc::default();
        let started = Instant::now();
        let mut appends = Vec::with_capacity(total);
        for n in 0..total {
            // Paced against the start, so that a late wake-up catches up instead of drifting.
            let due = started + Duration::from_secs_f64(n as f64 / per_second as f64);
            tokio::time::sleep_until(due.into()).await;
            let (store, sent, clock) = (store.clone(), sent.clone(), clock.clone());
            let partner = partners[n % PARTNERS].clone();
            appends.push(actix_web::rt::spawn(async move {
                let event = presented(n, &partner, &*clock);
                let t0 = Instant::now();
                store
                    .append(
                        &format!("offercontacts-bench-{n}"),
                        ExpectedRevision::Any,
                        vec![event],
                    )
                    .await
                    .unwrap();
                let t1 = Instant::now();
                sent.lock().unwrap().insert(format!("offer-{n}"), (t0, t1));
            }));
        }
        for a in appends {
            a.await.unwrap();
        }
        let offered = started.elapsed();
        let deadline = Instant::now() + Duration::from_secs(60);
        while arrivals.lock().unwrap().len() < total && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let arrived = arrivals.lock().unwrap().clone();
        let sent = sent.lock().unwrap().clone();
        println!(
            "offered in {:.2} s ({:.0}/s); received {} of {total} SETs",
            offered.as_secs_f64(),
            total as f64 / offered.as_secs_f64(),
            arrived.len()
        );
        let (mut from_start, mut from_ack) = (Vec::new(), Vec::new());
        let mut by_second = vec![Vec::new(); seconds.max(1) + 1];
        for (offer, at) in &arrived {
            if let Some((t0, t1)) = sent.get(offer) {
                let latency = at.saturating_duration_since(*t0);
                from_start.push(latency);
                from_ack.push(at.saturating_duration_since(*t1));
                let second = t0.saturating_duration_since(started).as_secs() as usize;
                by_second[second.min(seconds)].push(latency);
            }
        }
        let within = from_start
            .iter()
            .filter(|d| **d < Duration::from_millis(50))
            .count();
        println!(
            "within 50 ms of the source append: {:.2} %",
            within as f64 * 100.0 / total as f64
        );
        report("source append → received", from_start);
        report("source acknowledged → received", from_ack);
        let timeline: Vec<String> = by_second
            .iter_mut()
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.sort();
                format!("{:.0}", percentile(l, 0.99).as_secs_f64() * 1e3)
            })
            .collect();
        println!("p99 per second of sending (ms): {}", timeline.join(" "));
        // Let the last outcomes be recorded before counting the writes.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = sqlite.stats();
        println!(
            "store: {} appends in {} group commits during the run",
            after.appends - before.appends,
            after.commits - before.commits
        );
        tasks.stop();
        drop(dir);
        std::process::exit(if arrived.len() == total { 0 } else { 1 });
    });
}
