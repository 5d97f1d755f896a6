//! The [`DeliveryWorker`]: pushes due notifications in the background, woken as soon as one
//! is queued and up to `delivery.concurrency` at once (see the module documentation of
//! [`crate::notify`]). A job: above the application layer, it uses
//! [`SharingState`] and is used by nothing below it.

use std::collections::{HashMap, HashSet};

use ecohub_eventstore::{CurrentRevision, ExpectedRevision, NewEvent, StoreError, execute, load};
use ecohub_kernel::{Aggregate, EventMetadata};
use futures_util::StreamExt;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::MissedTickBehavior;

use crate::application::{AppError, SharingState};
use crate::domain::notifications::{
    Notification, NotificationCommand, Queued, notification_stream,
};

/// The push worker running in the background.
#[derive(Debug)]
pub struct DeliveryWorker {
    task: JoinHandle<()>,
}

impl DeliveryWorker {
    /// Pushes due notifications until stopped: woken as soon as the read model applies a
    /// newly queued notification, and every `config.delivery.tick` besides (retries, and
    /// notifications another instance queued); at most `config.delivery.concurrency` pushes
    /// in flight, each started as soon as a slot frees.
    pub fn spawn(state: SharingState) -> Self {
        let task = tokio::spawn(run(state));
        Self { task }
    }

    /// Stops the worker.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for DeliveryWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The worker's loop: keeps up to `concurrency` pushes in flight.
async fn run(state: SharingState) {
    let client = http_client(&state);
    let slots = state.config.delivery.concurrency.max(1);
    // Being pushed by this worker, by task.
    let mut in_flight: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut pushing: HashSet<String> = HashSet::new();
    // Due in the read model but not claimed by this worker (another instance holds the
    // claim, the read model lags the stream, or the store failed): left until the next tick,
    // so that a stale entry costs one read per tick, as before, not a busy loop.
    let mut parked: HashSet<String> = HashSet::new();
    let mut pushes: JoinSet<Result<bool, AppError>> = JoinSet::new();
    let mut tick = tokio::time::interval(state.config.delivery.tick);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let free = slots - pushing.len();
        if free > 0 {
            let due = state.notifications.due_at_most(state.now(), free, |j| {
                pushing.contains(j) || parked.contains(j)
            });
            for jti in due {
                let (s, c, j) = (state.clone(), client.clone(), jti.clone());
                let handle = pushes.spawn(async move { deliver_one(&s, &c, &j).await });
                in_flight.insert(handle.id(), jti.clone());
                pushing.insert(jti);
            }
        }
        tokio::select! {
            Some(done) = pushes.join_next_with_id(), if !pushes.is_empty() => {
                let (id, outcome) = match done {
                    Ok((id, result)) => (id, result.map_err(|e| e.to_string())),
                    Err(e) => (e.id(), Err(format!("push task ended: {e}"))),
                };
                let Some(jti) = in_flight.remove(&id) else { continue };
                pushing.remove(&jti);
                match outcome {
                    Ok(true) => {}
                    Ok(false) => {
                        parked.insert(jti);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "notification delivery failed");
                        parked.insert(jti);
                    }
                }
            }
            () = state.notifications.queued() => {}
            _ = tick.tick() => parked.clear(),
        }
    }
}

/// The HTTP client pushes use (no redirects, the configured timeout).
pub fn http_client(state: &SharingState) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(state.config.delivery.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// One delivery round: every due notification this instance manages to claim is pushed
/// once, up to `config.delivery.concurrency` at a time. Returns how many were attempted (the
/// first failure, if any, once every push of the round has ended).
pub async fn deliver_due(
    state: &SharingState,
    client: &reqwest::Client,
) -> Result<usize, AppError> {
    let due = state.notifications.due(state.now());
    let results: Vec<Result<bool, AppError>> = futures_util::stream::iter(due)
        .map(|jti| async move { deliver_one(state, client, &jti).await })
        .buffer_unordered(state.config.delivery.concurrency.max(1))
        .collect()
        .await;
    let mut attempted = 0;
    for result in results {
        if result? {
            attempted += 1;
        }
    }
    Ok(attempted)
}

/// Claims, pushes and records one attempt of `jti`; `false` when this instance could not
/// claim it (not due, or claimed elsewhere).
async fn deliver_one(
    state: &SharingState,
    client: &reqwest::Client,
    jti: &str,
) -> Result<bool, AppError> {
    let stream = notification_stream(jti);
    let instance = state.config.instance_id.clone();
    let now = state.now();
    let claim = NotificationCommand::Claim {
        instance: instance.clone(),
        until: now.plus(state.config.delivery.claim_ttl),
    };
    // Claimed on the read model's state at its revision (no read of the stream); if the
    // stream has moved on since, on the stream as it is. Either way the append at the
    // revision decided on is what makes the claim exclusive.
    let mut snapshot = state
        .notifications
        .get_at_revision(jti)
        .map(|(n, r)| (n, CurrentRevision::Current(r)));
    let (current, claimed_revision, events) = loop {
        let from_read_model = snapshot.is_some();
        let (current, revision) = match snapshot.take() {
            Some(s) => s,
            None => load::<Notification>(&*state.store, &stream).await?,
        };
        let Ok(events) = current.decide(claim.clone(), now) else {
            return Ok(false);
        };
        let new_events = events
            .iter()
            .map(|e| NewEvent::from_domain(e, EventMetadata::system("sharing-delivery"), now))
            .collect();
        match state
            .store
            .append(&stream, ExpectedRevision::from(revision), new_events)
            .await
        {
            Ok(appended) => break (current, appended.next_expected, events),
            Err(StoreError::WrongExpectedVersion { .. }) if from_read_model => {}
            Err(StoreError::WrongExpectedVersion { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    };
    let claimed = events.iter().fold(current, |s, e| s.evolve(e));
    let Some(queued) = claimed.queued.clone() else {
        return Ok(false);
    };
    // The partner may have removed the webhook since subscribing: never push to it then.
    let registered = state.ports.webhooks.webhooks(&queued.partner_id).await;
    let (status, error) = match registered {
        Err(e) => (None, Some(format!("webhooks unavailable: {e}"))),
        Ok(urls) if !urls.contains(&queued.url) => {
            (None, Some("webhook no longer registered".to_owned()))
        }
        Ok(_) => push(state, client, &queued).await,
    };
    let d = &state.config.delivery;
    let record = NotificationCommand::RecordAttempt {
        instance,
        status,
        error,
        max_retries: d.max_retries,
        initial_backoff: d.initial_backoff,
        max_backoff: d.max_backoff,
    };
    let now = state.now();
    let metadata = EventMetadata::system("sharing-delivery");
    // Recorded on the claimed state at the claim's revision, without reading the stream
    // again; if something was appended since (a poll's acknowledgement), decided again on
    // the stream as it is.
    let events = claimed.decide(record.clone(), now)?;
    let new_events = events
        .iter()
        .map(|e| NewEvent::from_domain(e, metadata.clone(), now))
        .collect();
    match state
        .store
        .append(
            &stream,
            ExpectedRevision::from(claimed_revision),
            new_events,
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::WrongExpectedVersion { .. }) => {
            execute::<Notification>(&*state.store, &stream, record, now, metadata).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(true)
}

/// Signs and POSTs one SET; the receiver's status and what went wrong, if anything.
async fn push(
    state: &SharingState,
    client: &reqwest::Client,
    queued: &Queued,
) -> (Option<u16>, Option<String>) {
    match state.ports.signer.sign(&queued.claims) {
        Err(e) => (None, Some(format!("signing failed: {e}"))),
        Ok(set) => match client
            .post(&queued.url)
            .header("content-type", "application/secevent+jwt")
            .header("accept", "application/json")
            .body(set)
            .send()
            .await
        {
            Ok(res) if res.status().as_u16() == 202 => (Some(202), None),
            Ok(res) => (
                Some(res.status().as_u16()),
                Some(format!("receiver answered {}", res.status().as_u16())),
            ),
            Err(e) if e.is_timeout() => (None, Some("timed out".to_owned())),
            Err(e) => (
                None,
                Some(format!("request failed: {}", lowercase_error(&e))),
            ),
        },
    }
}

fn lowercase_error(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "connection failed".to_owned()
    } else {
        "transport error".to_owned()
    }
}
