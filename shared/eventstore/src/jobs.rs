//! Run-once claims for scheduled jobs, so that a job scheduled on every instance runs once
//! per period across all of them.
//!
//! Each job has a stream `job-<name>`; a run of time slot `n` is claimed by appending
//! `JobRunClaimed { slot: n, instance }` with the expected revision the claimer read. Two
//! instances racing for the same slot cannot both succeed: one append wins, the other gets
//! `WrongExpectedVersion` and skips the run. It needs no clock agreement beyond the slot
//! arithmetic and works on any backend.

use ecohub_kernel::{EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{
    CurrentRevision, EventStore, ExpectedRevision, NewEvent, ReadStreamOptions, StoreError,
};

/// The event type of a claim.
pub const JOB_RUN_CLAIMED: &str = "JobRunClaimed";

#[derive(Debug, Serialize, Deserialize)]
struct Claimed {
    slot: u64,
    instance: String,
}

/// The stream of a job's claims.
pub fn job_stream(job: &str) -> String {
    format!("job-{job}")
}

/// Claims `slot` of `job` for `instance`. `Ok(true)`: this instance runs it; `Ok(false)`:
/// someone already did (or is doing) it.
pub async fn claim_slot(
    store: &dyn EventStore,
    job: &str,
    slot: u64,
    instance: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let stream = job_stream(job);
    let last = store
        .read_stream(&stream, ReadStreamOptions::backwards().limit(1))
        .await?;
    let (revision, last_slot) = match last.first() {
        None => (CurrentRevision::NoStream, None),
        Some(e) => {
            let claimed: Claimed = serde_json::from_slice(&e.data)
                .map_err(|err| StoreError::Internal(format!("bad claim in {stream}: {err}")))?;
            (CurrentRevision::Current(e.revision), Some(claimed.slot))
        }
    };
    if last_slot.is_some_and(|s| s >= slot) {
        return Ok(false);
    }
    let data = serde_json::to_value(Claimed {
        slot,
        instance: instance.to_owned(),
    })
    .map_err(|e| StoreError::Internal(e.to_string()))?;
    let mut event = NewEvent::raw(JOB_RUN_CLAIMED, data, now);
    event.metadata = EventMetadata::system(job);
    match store
        .append(&stream, ExpectedRevision::from(revision), vec![event])
        .await
    {
        Ok(_) => Ok(true),
        Err(StoreError::WrongExpectedVersion { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Spawns a job that runs every `period` on every instance but does its work once per period
/// across all of them: each tick claims the period's slot ([`claim_slot`]) and, if this
/// instance won it, awaits `run(now)` (which reports its own outcome). The first run is one
/// period after start: starting an instance writes nothing.
pub fn spawn_claimed<F, Fut>(
    store: crate::SharedStore,
    clock: std::sync::Arc<dyn ecohub_kernel::Clock>,
    job: &'static str,
    period: std::time::Duration,
    mut run: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut(Timestamp) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let instance = uuid::Uuid::new_v4().to_string();
    let period_ms = period.as_millis().max(1) as i64;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = clock.now();
            let slot = (now.unix_millis() / period_ms).max(0) as u64;
            match claim_slot(&*store, job, slot, &instance, now).await {
                Ok(true) => run(now).await,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, job, "job claim failed"),
            }
        }
    })
}
