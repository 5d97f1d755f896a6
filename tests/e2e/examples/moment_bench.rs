//! Financial moments end to end through the real binary (issue 14): a partner publishes
//! `travel_booked` moments open-loop at a target rate; the latency of each is the time from
//! its `202 Accepted` to the signed `offer-available` SET arriving at the partner's loopback
//! webhook. Then the catch-up rate after a restart with a backlog of moments.
//!
//! Run through `tests/perf/moment-bench.sh` (release hub via `ECOHUB_BIN`). Flags:
//! `--customers N` (300), `--propositions N` (1000), `--rules N` (200), `--secs S` (10),
//! `--rates 1000,1500,…` (the rates tried, in order, until one is not sustained),
//! `--backlog N` (100000; 0 skips the catch-up), `--backlog-rate R` (2500 a second, open loop),
//! `--all-rates true` (try every rate even after one is not sustained).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ecohub_e2e::{
    Hub, PASSWORD, Partner, RunningHub, add_customer, authorise_consent, basic_accounts_consent,
    bootstrap_staff, create_consent, onboard_partner, send, staff_client, verify_set,
};
use ecohub_testkit::{Browser, HubProcess, loopback_client};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The benchmark's parameters.
struct Args {
    customers: usize,
    propositions: usize,
    rules: usize,
    secs: u64,
    rates: Vec<u64>,
    backlog: usize,
    backlog_rate: u64,
    /// Try every rate, not only until one is not sustained.
    all_rates: bool,
}

fn args() -> Args {
    let mut a = Args {
        customers: 300,
        propositions: 1000,
        rules: 200,
        secs: 10,
        rates: vec![1000, 1500, 2000, 2500, 3000, 4000],
        backlog: 100_000,
        backlog_rate: 2500,
        all_rates: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--customers" => a.customers = value.parse().unwrap(),
            "--propositions" => a.propositions = value.parse().unwrap(),
            "--rules" => a.rules = value.parse().unwrap(),
            "--secs" => a.secs = value.parse().unwrap(),
            "--rates" => a.rates = value.split(',').map(|r| r.parse().unwrap()).collect(),
            "--backlog" => a.backlog = value.parse().unwrap(),
            "--backlog-rate" => a.backlog_rate = value.parse().unwrap(),
            "--all-rates" => a.all_rates = value == "true",
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// When each SET arrived, by the moment id it names; and the first raw SET (to verify).
#[derive(Default)]
struct Arrivals {
    by_moment: HashMap<String, Instant>,
    first: Option<String>,
    total: usize,
}

/// A loopback webhook receiver with HTTP/1.1 keep-alive: answers each POST 202, records when
/// its body was complete and which moment its `offer-available` SET names.
async fn keep_alive_receiver(arrivals: Arc<Mutex<Arrivals>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/ecohub", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let _ = socket.set_nodelay(true);
            tokio::spawn(serve_connection(socket, arrivals.clone()));
        }
    });
    url
}

async fn serve_connection(mut socket: tokio::net::TcpStream, arrivals: Arc<Mutex<Arrivals>>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // One request: head, then content-length bytes of body.
        let (head_len, content_length) = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                break (end + 4, length);
            }
            let n = socket.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        while buf.len() < head_len + content_length {
            let n = socket.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let at = Instant::now();
        let body: Vec<u8> = buf[head_len..head_len + content_length].to_vec();
        buf.drain(..head_len + content_length);
        if socket
            .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        let set = String::from_utf8_lossy(&body).trim().to_owned();
        let moment = set_moment_id(&set);
        let mut a = arrivals.lock().unwrap();
        a.total += 1;
        if a.first.is_none() {
            a.first = Some(set);
        }
        if let Some(m) = moment {
            a.by_moment.entry(m).or_insert(at);
        }
    }
}

/// The `moment.moment_id` of an `offer-available` SET, read from its payload (signature not
/// checked here: one SET is verified against the JWKS separately).
fn set_moment_id(set: &str) -> Option<String> {
    let payload = set.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&base64url(payload)?).ok()?;
    claims["events"]["urn:ecohub:events:offer-available"]["moment"]["moment_id"]
        .as_str()
        .map(str::to_owned)
}

fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            b'=' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// A proposition offered on moments only, co-branded by `partner`.
fn proposition(partner: &str, i: usize) -> Value {
    json!({
        "name": format!("Trip cover {i}"),
        "description": "Travel insurance for the trip you just booked",
        "product": {"kind": "insurance", "code": format!("INS-TRIP-{i}"), "name": format!("Trip cover {i}"),
                    "terms": {"cover_days": "1-90"}},
        "benefits": [{"partner_id": partner, "kind": "perk",
                      "description": "Airport lounge pass", "value": "1 visit"}],
        "availability": {"channels": ["moment"]},
        "pricing": {"rules": [], "default": {"rate_percent": 0, "commission_percent": 12, "fees": 19}}
    })
}

/// Drafts, approves (a second person), has the partner accept and publishes `doc`.
async fn publish_proposition(
    hub: &RunningHub,
    http: &reqwest::Client,
    (anna, ben, partner): (&str, &str, &str),
    doc: Value,
) -> String {
    let (status, created) = send(
        http.post(hub.url("/offers/propositions"))
            .bearer_auth(anna)
            .json(&doc),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let version = |action: &str| hub.url(&format!("/offers/propositions/{id}/versions/1/{action}"));
    let (status, body) = send(http.post(version("submit")).bearer_auth(anna)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(http.post(version("approve")).bearer_auth(ben)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        http.put(hub.url(&format!("/partner/propositions/{id}/versions/1/acceptance")))
            .bearer_auth(partner),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(http.post(version("publish")).bearer_auth(anna)).await;
    assert_eq!(status, 200, "{body}");
    id
}

/// A customer through the real pages: a consent to the partner with `ReadOffers` (the
/// pairwise id by introspection), then the customer's consent to the bank naming the partner.
async fn enrol(hub: &RunningHub, partner: &Partner, username: &str) -> String {
    let http = loopback_client();
    let mut body = basic_accounts_consent(30);
    body["permissions"] = json!(["ReadAccountsBasic", "ReadOffers"]);
    let consent = create_consent(hub, partner, &body).await;
    let mut browser = Browser::new();
    let tokens =
        authorise_consent(hub, partner, &mut browser, &consent, (username, PASSWORD)).await;
    let mut form = partner.auth_form();
    form.push(("token", tokens.access_token.clone()));
    let (_, introspected) = send(http.post(hub.url("/introspect")).form(&form)).await;
    let pairwise = introspected["sub"].as_str().unwrap().to_owned();
    let page = browser.get(&hub.url("/dashboard")).await;
    let csrf = page.input("csrf_token").unwrap();
    let granted = browser
        .post_form(
            &hub.url("/dashboard/bank-consents"),
            &[
                ("csrf_token", &csrf),
                ("data_provider", &partner.partner_id),
                ("permission", "ReadTravelProfile"),
                ("days", "365"),
            ],
        )
        .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    pairwise
}

/// Runs `f(i)` for `0..n` with at most `width` at once; returns the results in order.
async fn concurrently<T, F, Fut>(n: usize, width: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut set = tokio::task::JoinSet::new();
    let mut started = 0;
    while started < n.min(width) {
        set.spawn({
            let fut = f(started);
            let i = started;
            async move { (i, fut.await) }
        });
        started += 1;
    }
    while let Some(done) = set.join_next().await {
        let (i, v) = done.unwrap();
        out[i] = Some(v);
        if started < n {
            let fut = f(started);
            let j = started;
            set.spawn(async move { (j, fut.await) });
            started += 1;
        }
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// A moment for `customer` to `destination`.
fn booking(moment_id: &str, customer: &str, destination: usize) -> Value {
    json!({"moment_id": moment_id, "moment_type": "travel_booked", "customer_id": customer,
           "payload": {"destination": format!("D{destination}"), "departure_date": "2027-03-14",
                       "amount": 1240.0, "currency": "EUR"}})
}

/// A small xorshift generator (no dependency): which customer and destination.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One publication's outcome: its 202 instant and hub moment id, or its status.
enum Sent {
    Accepted(String, Instant, Duration),
    Refused(u16),
}

/// Publishes moments open-loop: the i-th at `start + i / rate`, each from its own task.
#[allow(clippy::too_many_arguments)]
async fn open_loop(
    hub: &RunningHub,
    http: &reqwest::Client,
    token: &str,
    customers: &[String],
    rules: usize,
    rate: u64,
    secs: u64,
    prefix: &str,
) -> Vec<Sent> {
    let total = (rate * secs) as usize;
    let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let start = tokio::time::Instant::now();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ rate ^ ((prefix.len() as u64) << 32);
    let mut tasks = tokio::task::JoinSet::new();
    let url = hub.url("/moments");
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        if due > tokio::time::Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let customer = &customers[(next_random(&mut rng) % customers.len() as u64) as usize];
        let body = booking(
            &format!("{prefix}-{i}"),
            customer,
            (next_random(&mut rng) % rules as u64) as usize,
        );
        let req = http.post(&url).bearer_auth(token).json(&body);
        let results = results.clone();
        tasks.spawn(async move {
            let sent = Instant::now();
            let outcome = match req.send().await {
                Ok(res) if res.status().as_u16() == 202 => {
                    let at = Instant::now();
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    match body["id"].as_str() {
                        Some(id) => Sent::Accepted(id.to_owned(), at, at - sent),
                        None => Sent::Refused(202),
                    }
                }
                Ok(res) => Sent::Refused(res.status().as_u16()),
                Err(_) => Sent::Refused(0),
            };
            results.lock().unwrap().push(outcome);
        });
        // Reap finished tasks now and then so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    Arc::try_unwrap(results).ok().unwrap().into_inner().unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The CPU time (user + system) process `pid` has used so far, in seconds (Linux `/proc`).
fn cpu_secs(pid: u32) -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    });
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which ends with the last ')'): utime is the 12th, stime
    // the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (field(11) + field(12)) / ticks
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// A round's figures; `sustained` when every moment was accepted and notified, p99 < 50 ms.
struct Round {
    line: String,
    sustained: bool,
}

/// One measured round at `rate`.
#[allow(clippy::too_many_arguments)]
async fn round(
    hub: &RunningHub,
    http: &reqwest::Client,
    token: &str,
    customers: &[String],
    rules: usize,
    rate: u64,
    secs: u64,
    prefix: &str,
    arrivals: &Arc<Mutex<Arrivals>>,
    hub_pid: u32,
) -> Round {
    let began = Instant::now();
    let cpu_before = (cpu_secs(hub_pid), cpu_secs(std::process::id()));
    let sent = open_loop(hub, http, token, customers, rules, rate, secs, prefix).await;
    let send_secs = began.elapsed().as_secs_f64();
    let accepted: Vec<(&String, Instant, Duration)> = sent
        .iter()
        .filter_map(|s| match s {
            Sent::Accepted(id, at, took) => Some((id, *at, *took)),
            Sent::Refused(_) => None,
        })
        .collect();
    let mut refused: HashMap<u16, usize> = HashMap::new();
    for s in &sent {
        if let Sent::Refused(code) = s {
            *refused.entry(*code).or_default() += 1;
        }
    }
    // Drain: wait until every accepted moment was notified, or 10 s without progress.
    let mut last = (0, Instant::now());
    loop {
        let got = {
            let a = arrivals.lock().unwrap();
            accepted
                .iter()
                .filter(|(id, _, _)| a.by_moment.contains_key(*id))
                .count()
        };
        if got == accepted.len() {
            break;
        }
        if got > last.0 {
            last = (got, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let drained = began.elapsed().as_secs_f64();
    // CPU per moment accepted: the hub's, and the bench's own (load, webhook) on the same
    // two cores. Steadier than latency from run to run, so compare changes by it.
    let per_moment = |before: f64, now: f64| {
        format!(
            "{:.2}",
            (now - before) * 1000.0 / (accepted.len().max(1) as f64)
        )
    };
    let hub_cpu = per_moment(cpu_before.0, cpu_secs(hub_pid));
    let bench_cpu = per_moment(cpu_before.1, cpu_secs(std::process::id()));
    let (mut latencies, mut accept_latencies) = (Vec::new(), Vec::new());
    {
        let a = arrivals.lock().unwrap();
        for (id, at, took) in &accepted {
            accept_latencies.push(*took);
            if let Some(set_at) = a.by_moment.get(*id) {
                latencies.push(set_at.saturating_duration_since(*at));
            }
        }
    }
    latencies.sort();
    accept_latencies.sort();
    let missing = accepted.len() - latencies.len();
    let under = latencies
        .iter()
        .filter(|l| **l < Duration::from_millis(50))
        .count();
    let p99 = percentile(&latencies, 99.0);
    let achieved = accepted.len() as f64 / send_secs;
    let sustained = refused.is_empty()
        && missing == 0
        && p99 < Duration::from_millis(50)
        && achieved >= 0.97 * rate as f64;
    let mut refusals: Vec<_> = refused.into_iter().collect();
    refusals.sort();
    let line = format!(
        "| {rate} | {} | {} ({:.0}/s) | {} | {} | {} | {} | {} | {} | {:.1} % | {} | {:.1} s | {hub_cpu} | {bench_cpu} | {} |",
        sent.len(),
        accepted.len(),
        achieved,
        if refusals.is_empty() {
            "0".to_owned()
        } else {
            format!("{refusals:?}")
        },
        latencies.len(),
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 90.0)),
        ms(p99),
        ms(latencies.last().copied().unwrap_or_default()),
        100.0 * under as f64 / latencies.len().max(1) as f64,
        ms(percentile(&accept_latencies, 99.0)),
        drained,
        if sustained {
            "yes".to_owned()
        } else if missing > 0 {
            format!("no: {missing} SETs missing after the drain")
        } else {
            "no".to_owned()
        },
    );
    Round { line, sustained }
}

fn write_config(dir: &std::path::Path, trigger: bool) -> std::path::PathBuf {
    let path = dir.join(format!("ecohub-{trigger}.toml"));
    std::fs::write(
        &path,
        format!(
            "[auth]\naccess_token_lifetime_secs = 3600\n\
             [sharing]\npublish_per_second = 100000.0\npublish_burst = 100000.0\n\
             [offers]\ntrigger_moments = {trigger}\n\
             [offers.policy]\nmax_presentations = 3650\nperiod_days = 1\ndaily_max_per_channel = 3650\n"
        ),
    )
    .unwrap();
    path
}

fn start_hub(dir: &std::path::Path, trigger: bool) -> HubProcess {
    let config = write_config(dir.parent().unwrap(), trigger);
    HubProcess::start_in(
        dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--log-level",
            "warn,ecohub::startup=info",
        ],
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    std::fs::create_dir_all(&dir).unwrap();
    let setup = Instant::now();
    let process = start_hub(&dir, true);
    let mut hub = RunningHub(process.base_url.clone());
    ecohub_e2e::wait_ready(&hub).await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(4096)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let staff = bootstrap_staff(&hub, &dir, &[]).await;
    let mut travel = onboard_partner(
        &hub,
        &staff,
        &hub.url(""),
        "Globetrotter Travel Ltd",
        &["data_recipient", "data_provider", "offer_partner"],
        "consents:read consents:write data:read data:publish offers:read offers:write webhooks:manage",
    )
    .await;
    let (_, anna) = staff_client(&hub, &staff.maker, "product manager A", "offers:manage").await;
    let (_, ben) = staff_client(&hub, &staff.maker, "product manager B", "offers:manage").await;

    // The webhook, subscribed to offer-available.
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let hook_url = keep_alive_receiver(arrivals.clone()).await;
    let webhooks = travel.token(&hub, "webhooks:manage").await;
    let (status, body) = send(
        http.post(hub.url(&format!("/partners/{}/webhooks", travel.partner_id)))
            .bearer_auth(&webhooks)
            .json(&json!({"url": hook_url})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = send(
        http.post(hub.url("/event-subscriptions"))
            .bearer_auth(&webhooks)
            .json(&json!({"url": hook_url, "event_types": ["offer-available"]})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Customers (CLI), then each one's consents through the real pages.
    let t = Instant::now();
    let dir_arc = Arc::new(dir.clone());
    concurrently(args.customers, 4, |i| {
        let dir = dir_arc.clone();
        async move {
            tokio::task::spawn_blocking(move || add_customer(&dir, &[], &format!("cust{i}")))
                .await
                .unwrap()
        }
    })
    .await;
    eprintln!(
        "{} customers added in {:.1} s",
        args.customers,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let shared_partner = Arc::new(travel);
    let customers: Vec<String> = concurrently(args.customers, 8, |i| {
        let (hub, partner) = (hub.clone(), shared_partner.clone());
        async move { enrol(&hub, &partner, &format!("cust{i}")).await }
    })
    .await;
    travel = Arc::try_unwrap(shared_partner).ok().unwrap();
    eprintln!("consents in {:.1} s", t.elapsed().as_secs_f64());

    // Propositions and trigger rules.
    let t = Instant::now();
    let offers_token = travel.token(&hub, "offers:read offers:write").await;
    let actors = Arc::new((
        anna.clone(),
        ben.clone(),
        offers_token,
        travel.partner_id.clone(),
    ));
    let propositions: Vec<String> = concurrently(args.propositions, 8, |i| {
        let (hub, http, actors) = (hub.clone(), http.clone(), actors.clone());
        async move {
            let (anna, ben, partner_token, partner_id) = &*actors;
            publish_proposition(
                &hub,
                &http,
                (anna, ben, partner_token),
                proposition(partner_id, i),
            )
            .await
        }
    })
    .await;
    let propositions = Arc::new(propositions);
    concurrently(args.rules, 8, |k| {
        let (hub, http, anna, propositions) =
            (hub.clone(), http.clone(), anna.clone(), propositions.clone());
        async move {
            let named: Vec<&String> = (0..5)
                .map(|j| &propositions[(5 * k + j) % propositions.len()])
                .collect();
            // The rules share one stream: a concurrent definition is a 409, retried.
            let (status, body) = loop {
                let (status, body) = send(
                    http.put(hub.url(&format!("/offers/trigger-rules/trip_{k}")))
                        .bearer_auth(&anna)
                        .json(&json!({"reason": format!("You booked a trip to D{k}"),
                            "moment_type": "travel_booked",
                            "condition": {"==": [{"var": "moment.destination"}, format!("D{k}")]},
                            "propositions": named, "validity_days": 14, "priority": 10, "active": true})),
                )
                .await;
                if status != 409 {
                    break (status, body);
                }
            };
            assert_eq!(status, 200, "{body}");
        }
    })
    .await;
    eprintln!(
        "{} propositions and {} rules in {:.1} s; setup total {:.1} s",
        args.propositions,
        args.rules,
        t.elapsed().as_secs_f64(),
        setup.elapsed().as_secs_f64()
    );

    // Warm-up, and one SET verified against the JWKS.
    let publisher = travel.token(&hub, "data:publish").await;
    let warm = round(
        &hub,
        &http,
        &publisher,
        &customers,
        args.rules,
        200,
        3,
        "warm",
        &arrivals,
        process.pid(),
    )
    .await;
    eprintln!("warm-up: {}", warm.line);
    let first = arrivals
        .lock()
        .unwrap()
        .first
        .clone()
        .expect("a SET arrived");
    let (_, jwks) = send(http.get(hub.url("/jwks"))).await;
    let claims = verify_set(&first, &jwks);
    assert_eq!(claims["aud"], travel.partner_id.as_str(), "{claims}");
    assert!(
        customers.contains(
            &claims["events"]["urn:ecohub:events:offer-available"]["sub_id"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        )
    );
    eprintln!("a SET verified against the JWKS: signed, for the partner, pairwise subject");

    println!(
        "| target moments/s ({} s) | sent | 202 (achieved) | non-202 | SETs | p50 ms | p90 ms | p99 ms | max ms | < 50 ms | 202 p99 ms | round incl. drain | hub CPU ms/moment | bench CPU ms/moment | sustained |",
        args.secs
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut sustainable = None;
    for (n, rate) in args.rates.iter().enumerate() {
        let r = round(
            &hub,
            &http,
            &publisher,
            &customers,
            args.rules,
            *rate,
            args.secs,
            &format!("r{n}"),
            &arrivals,
            process.pid(),
        )
        .await;
        println!("{}", r.line);
        if !r.sustained {
            if args.all_rates {
                continue;
            }
            break;
        }
        sustainable = sustainable.max(Some(*rate));
    }
    println!(
        "sustainable maximum (p99 < 50 ms, every moment accepted and notified): {}",
        sustainable.map_or("below the first rate tried".to_owned(), |r| format!(
            "{r} moments/s"
        ))
    );

    if args.backlog == 0 {
        let _ = process.terminate();
        return;
    }
    // Catch-up: moments accepted while triggering is off, then a restart with it on.
    let (exit, _) = process.terminate();
    assert!(exit.success());
    let paused = start_hub(&dir, false);
    hub = RunningHub(paused.base_url.clone());
    travel.audience = format!("{}/token", paused.base_url);
    travel.token_url = hub.url("/token");
    let publisher = travel.token(&hub, "data:publish").await;
    let t = Instant::now();
    let before = arrivals.lock().unwrap().total;
    let rate = args.backlog_rate;
    let sent = open_loop(
        &hub,
        &http,
        &publisher,
        &customers,
        args.rules,
        rate,
        (args.backlog as u64).div_ceil(rate),
        "backlog",
    )
    .await;
    let ids: Vec<String> = sent
        .iter()
        .filter_map(|s| match s {
            Sent::Accepted(id, _, _) => Some(id.clone()),
            Sent::Refused(_) => None,
        })
        .collect();
    let published_in = t.elapsed().as_secs_f64();
    eprintln!(
        "backlog: {} moments sent, {} accepted in {:.1} s ({:.0}/s) with triggering off; SETs meanwhile: {}",
        sent.len(),
        ids.len(),
        published_in,
        ids.len() as f64 / published_in,
        arrivals.lock().unwrap().total - before
    );
    let (exit, _) = paused.terminate();
    assert!(exit.success());
    let started = Instant::now();
    let restarted = start_hub(&dir, true);
    let listening = started.elapsed();
    hub = RunningHub(restarted.base_url.clone());
    travel.audience = format!("{}/token", restarted.base_url);
    travel.token_url = hub.url("/token");
    let reader = travel.token(&hub, "data:publish").await;
    let is_final = |m: &Value| {
        matches!(
            m["status"].as_str(),
            Some("offered" | "held_back" | "not_matched")
        )
    };
    let status_of = |id: String| {
        let (http, hub, reader) = (http.clone(), hub.clone(), reader.clone());
        async move {
            send(
                http.get(hub.url(&format!("/moments/{id}")))
                    .bearer_auth(&reader),
            )
            .await
            .1
        }
    };
    // The last moment published, then a sample of 1 in 100, must all be final.
    let mut rng = 7u64;
    let sample: Vec<String> = std::iter::once(ids.last().unwrap().clone())
        .chain(
            (0..ids.len() / 100)
                .map(|_| ids[(next_random(&mut rng) % ids.len() as u64) as usize].clone()),
        )
        .collect();
    let mut sets_done = None;
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut next = 0;
    while next < sample.len() {
        if is_final(&status_of(sample[next].clone()).await) {
            next += 1;
            continue;
        }
        if sets_done.is_none() && all_notified(&arrivals, &ids) {
            sets_done = Some(started.elapsed());
        }
        assert!(
            Instant::now() < deadline,
            "catch-up did not finish in 15 min"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let final_after = started.elapsed();
    while sets_done.is_none() && started.elapsed() < final_after + Duration::from_secs(60) {
        if all_notified(&arrivals, &ids) {
            sets_done = Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let statuses = {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for id in &sample {
            let m = status_of(id.clone()).await;
            *counts
                .entry(m["status"].as_str().unwrap_or("?").to_owned())
                .or_default() += 1;
        }
        counts
    };
    println!(
        "catch-up: {} moments accepted with triggering off ({:.0}/s); after the restart (listening in {:.1} s) \
         the last one and a sample of {} final in {:.1} s ({:.0} moments/s, sample statuses {:?}); \
         every offer-available SET received after {}",
        ids.len(),
        ids.len() as f64 / published_in,
        listening.as_secs_f64(),
        sample.len(),
        final_after.as_secs_f64(),
        ids.len() as f64 / final_after.as_secs_f64(),
        statuses,
        sets_done.map_or("— (not all within 60 s more)".to_owned(), |d| format!(
            "{:.1} s ({:.0} moments/s)",
            d.as_secs_f64(),
            ids.len() as f64 / d.as_secs_f64()
        )),
    );
    let _ = restarted.terminate();
}

fn all_notified(arrivals: &Arc<Mutex<Arrivals>>, ids: &[String]) -> bool {
    let a = arrivals.lock().unwrap();
    ids.iter().all(|id| a.by_moment.contains_key(id))
}
