//! Background work: the job that records `OfferExpired` for offers nobody answered in time.
//!
//! An offer past its expiry can no longer be answered whether or not the event is written
//! (`OfferRecord::status_at`); the job makes it visible in the log and the funnel. It is safe
//! with several instances: each period is claimed by one instance (`jobs::claim_slot`), and
//! each ledger is changed by load → decide (`ExpireDue`) → append with the revision read; the
//! ledgers with an offer due come from [`crate::expiry`].

use std::time::Duration;

use ecohub_eventstore::jobs::claim_slot;
use ecohub_eventstore::{ExecuteError, StoreError, execute};
use ecohub_kernel::{RequestContext, Timestamp};
use tokio::task::JoinHandle;

use crate::application::{AppError, OffersState};
use crate::domain::{ContactCommand, ContactLedger};

/// The job's name (`job-offer_expiry`, actor `system:offer_expiry`).
pub const EXPIRY_JOB: &str = "offer_expiry";

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
