//! Offers nobody answered in time: the open offers by expiry (a read model of the contact
//! ledgers) and the job that records `OfferExpired` in each ledger with an offer due.
//!
//! An offer past its expiry can no longer be answered whether or not the event is written
//! (`OfferRecord::status_at`); the job makes it visible in the log and the funnel. It is safe
//! with several instances: each period is claimed by one instance (`jobs::claim_slot`), and
//! each ledger is changed by load → decide (`ExpireDue`) → append with the revision read.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::jobs::claim_slot;
use ecohub_eventstore::{
    EventFilter, ExecuteError, Position, Projection, ProjectionError, RecordedEvent, StoreError,
    execute,
};
use ecohub_kernel::{Aggregate, RequestContext, Timestamp};
use tokio::task::JoinHandle;

use crate::application::{AppError, OffersState};
use crate::domain::{ContactCommand, ContactEvent, ContactLedger, OfferId};

/// The job's name (`job-offer_expiry`, actor `system:offer_expiry`).
pub const EXPIRY_JOB: &str = "offer_expiry";

#[derive(Debug, Default)]
struct Data {
    /// (expiry, ledger stream, offer) of every open offer.
    due: BTreeSet<(Timestamp, String, OfferId)>,
    /// Offer → its entry in `due`.
    open: HashMap<OfferId, (Timestamp, String)>,
}

/// Reads the open offers by expiry.
#[derive(Debug, Clone, Default)]
pub struct OpenOffersReader {
    data: Arc<RwLock<Data>>,
}

impl OpenOffersReader {
    /// The ledgers with an offer due at `now` (expiry at or before it), each once.
    pub fn due_ledgers(&self, now: Timestamp) -> Vec<String> {
        let data = self.data.read().unwrap_or_else(|e| e.into_inner());
        let mut streams: Vec<String> = data
            .due
            .iter()
            .take_while(|(at, _, _)| *at <= now)
            .map(|(_, s, _)| s.clone())
            .collect();
        streams.sort();
        streams.dedup();
        streams
    }
}

/// Feeds an [`OpenOffersReader`].
#[derive(Debug)]
pub struct OpenOffers {
    reader: OpenOffersReader,
}

impl OpenOffers {
    /// A projection and the reader it feeds.
    pub fn new() -> (OpenOffers, OpenOffersReader) {
        let reader = OpenOffersReader::default();
        (
            OpenOffers {
                reader: reader.clone(),
            },
            reader,
        )
    }
}

#[async_trait]
impl Projection for OpenOffers {
    fn name(&self) -> &str {
        "offers-open"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams([format!("{}-", ContactLedger::CATEGORY)])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        _: Position,
    ) -> Result<(), ProjectionError> {
        let mut data = self.reader.data.write().unwrap_or_else(|e| e.into_inner());
        for e in events {
            let event = e
                .decode::<ContactEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?
                .payload;
            match event {
                ContactEvent::Presented { offer, .. } => {
                    data.due
                        .insert((offer.expires_at, e.stream.clone(), offer.offer_id));
                    data.open
                        .insert(offer.offer_id, (offer.expires_at, e.stream.clone()));
                }
                // Still open: a view is not an answer.
                ContactEvent::Responded {
                    response: crate::domain::Response::Viewed,
                    ..
                } => {}
                ContactEvent::Responded { offer_id, .. }
                | ContactEvent::Expired { offer_id, .. } => {
                    if let Some((at, stream)) = data.open.remove(&offer_id) {
                        data.due.remove(&(at, stream, offer_id));
                    }
                }
            }
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        *self.reader.data.write().unwrap_or_else(|e| e.into_inner()) = Data::default();
        Ok(())
    }
}

/// What one expiry run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferExpiryRun {
    /// Offers this run recorded as expired.
    pub expired: usize,
    /// Ledgers changed concurrently (left to the next run).
    pub skipped: usize,
}

/// Records `OfferExpired` for every open offer due at `now`.
pub async fn run_offer_expiry(
    state: &OffersState,
    now: Timestamp,
) -> Result<OfferExpiryRun, AppError> {
    let ctx = RequestContext::system(EXPIRY_JOB);
    let mut run = OfferExpiryRun::default();
    for stream in state.open_offers.due_ledgers(now) {
        match execute::<ContactLedger>(
            &*state.store,
            &stream,
            ContactCommand::ExpireDue,
            now,
            ctx.metadata(),
        )
        .await
        {
            Ok(done) => run.expired += done.events.len(),
            Err(ExecuteError::Store(StoreError::WrongExpectedVersion { .. })) => run.skipped += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(run)
}

/// Runs [`run_offer_expiry`] every `period`, once per period across all instances.
pub fn spawn_offer_expiry(state: OffersState, period: Duration) -> JoinHandle<()> {
    let instance = uuid::Uuid::new_v4().to_string();
    let period_ms = period.as_millis().max(1) as i64;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = state.clock.now();
            let slot = (now.unix_millis() / period_ms).max(0) as u64;
            match claim_slot(&*state.store, EXPIRY_JOB, slot, &instance, now).await {
                Ok(true) => match run_offer_expiry(&state, now).await {
                    Ok(run) if run.expired > 0 => {
                        tracing::info!(expired = run.expired, "offers expired");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "offer expiry run failed"),
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "offer expiry claim failed"),
            }
        }
    })
}
