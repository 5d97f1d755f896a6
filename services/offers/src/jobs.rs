//! Background work: the job that records `OfferExpired` for offers nobody answered in time.
//!
//! An offer past its expiry can no longer be answered whether or not the event is written
//! (`OfferRecord::status_at`); the job makes it visible in the log and the funnel. It is safe
//! with several instances: each period is claimed by one instance (`jobs::claim_slot`), and
//! each ledger is changed by load → decide (`ExpireDue`) → append with the revision read; the
//! ledgers with an offer due come from [`crate::expiry`].

use std::time::Duration;

use ecohub_eventstore::jobs::spawn_claimed;
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
    spawn_claimed(
        state.store.clone(),
        state.clock.clone(),
        EXPIRY_JOB,
        period,
        move |now| {
            let state = state.clone();
            async move {
                match run_offer_expiry(&state, now).await {
                    Ok(run) if run.expired > 0 => {
                        tracing::info!(expired = run.expired, "offers expired");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "offer expiry run failed"),
                }
            }
        },
    )
}
