//! The [`DeliveryWorker`]: pushes due notifications in the background (see the module
//! documentation of [`crate::notify`]). A job: above the application layer, it uses
//! [`SharingState`] and is used by nothing below it.

use ecohub_eventstore::{ExpectedRevision, NewEvent, StoreError, execute, load};
use ecohub_kernel::{Aggregate, EventMetadata};
use tokio::task::JoinHandle;

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
    /// Pushes due notifications every `config.delivery.tick` until stopped.
    pub fn spawn(state: SharingState) -> Self {
        let task = tokio::spawn(async move {
            let client = http_client(&state);
            loop {
                if let Err(e) = deliver_due(&state, &client).await {
                    tracing::warn!(error = %e, "notification delivery round failed");
                }
                tokio::time::sleep(state.config.delivery.tick).await;
            }
        });
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

/// The HTTP client pushes use (no redirects, the configured timeout).
pub fn http_client(state: &SharingState) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(state.config.delivery.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// One delivery round: every due notification this instance manages to claim is pushed
/// once. Returns how many were attempted.
pub async fn deliver_due(
    state: &SharingState,
    client: &reqwest::Client,
) -> Result<usize, AppError> {
    let mut attempted = 0;
    for jti in state.notifications.due(state.now()) {
        if deliver_one(state, client, &jti).await? {
            attempted += 1;
        }
    }
    Ok(attempted)
}

async fn deliver_one(
    state: &SharingState,
    client: &reqwest::Client,
    jti: &str,
) -> Result<bool, AppError> {
    let stream = notification_stream(jti);
    let instance = state.config.instance_id.clone();
    let now = state.now();
    let (current, revision) = load::<Notification>(&*state.store, &stream).await?;
    let claim = NotificationCommand::Claim {
        instance: instance.clone(),
        until: now.plus(state.config.delivery.claim_ttl),
    };
    let Ok(events) = current.decide(claim, now) else {
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
        Ok(_) => {}
        Err(StoreError::WrongExpectedVersion { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let Some(queued) = current.queued else {
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
    execute::<Notification>(
        &*state.store,
        &stream,
        NotificationCommand::RecordAttempt {
            instance,
            status,
            error,
            max_retries: d.max_retries,
            initial_backoff: d.initial_backoff,
            max_backoff: d.max_backoff,
        },
        state.now(),
        EventMetadata::system("sharing-delivery"),
    )
    .await?;
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
