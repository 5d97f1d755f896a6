//! Background work: the expiry scheduler and the partner-offboarding cascade.
//!
//! Both are safe with several instances: every change is a load → decide → append with the
//! expected revision, so a conflict means another instance did it; the scheduler also claims
//! each time slot (`jobs::claim_slot`) so that one instance does the work per period.

use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::jobs::spawn_claimed;
use ecohub_eventstore::{
    EventFilter, ExpectedRevision, NewEvent, Position, Projection, ProjectionError,
    ReadStreamOptions, RecordedEvent, StoreError,
};
use ecohub_kernel::{EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::application::{AppError, ConsentsState};
use crate::domain::{ConsentEvent, PartnerId, Recipient};
use crate::index::consent_id_of;
use ecohub_kernel::ActionContext;

/// The expiry job's name (`job-consent_expiry`, actor `system:consent_expiry`).
pub const EXPIRY_JOB: &str = "consent_expiry";

/// What one expiry run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    /// Consents this run recorded as expired.
    pub expired: usize,
    /// Candidates not expired by this run (not due, or changed concurrently).
    pub skipped: usize,
}

/// Records `ConsentExpired` for every consent due at `now` (authorised past expiry:
/// `expired`; pending past the authorisation timeout: `authorisation_timeout`).
pub async fn run_expiry(state: &ConsentsState, now: Timestamp) -> Result<ExpiryRun, AppError> {
    let ctx = ActionContext::system(EXPIRY_JOB, now);
    let mut run = ExpiryRun::default();
    for id in state.index.due(now) {
        if state.expire_if_due(id, &ctx).await? {
            run.expired += 1;
        } else {
            run.skipped += 1;
        }
    }
    Ok(run)
}

/// Runs [`run_expiry`] every `period`, once per period across all instances (slot claims).
pub fn spawn_expiry_scheduler(state: ConsentsState, period: Duration) -> JoinHandle<()> {
    spawn_claimed(
        state.store.clone(),
        state.clock.clone(),
        EXPIRY_JOB,
        period,
        move |now| {
            let state = state.clone();
            async move {
                match run_expiry(&state, now).await {
                    Ok(run) if run.expired > 0 => {
                        tracing::info!(expired = run.expired, "consents expired");
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "consent expiry run failed"),
                }
            }
        },
    )
}

/// The event type the partners service records when a partner leaves.
pub const PARTNER_OFFBOARDED: &str = "PartnerOffboarded";

/// The cascade's durable checkpoint stream.
pub const CASCADE_CHECKPOINT_STREAM: &str = "checkpoint-consent_offboarding_cascade";

const CASCADE_JOB: &str = "partner_offboarding";

#[derive(Debug, Serialize, Deserialize)]
struct Checkpointed {
    commit: u64,
    prepare: u64,
}

/// The offboarding cascade: follows the global log for `PartnerOffboarded` on `partner-<id>`
/// streams and revokes every pending or authorised consent of that partner
/// (`partner_offboarded`). Its checkpoint is durable (a `checkpoint-` stream); the work is
/// idempotent, so an instance resuming from an older checkpoint, or two instances doing the
/// same work, change nothing twice.
///
/// The partner's consents are found by reading the `ConsentRequested` events of the log, so
/// the cascade never depends on a projection's lag.
pub struct OffboardingCascade {
    state: ConsentsState,
}

impl std::fmt::Debug for OffboardingCascade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OffboardingCascade").finish_non_exhaustive()
    }
}

impl OffboardingCascade {
    /// The stable projection name.
    pub const NAME: &'static str = "consent_offboarding_cascade";

    /// The projection to spawn with `ProjectionHandle::spawn`.
    pub fn new(state: ConsentsState) -> Self {
        Self { state }
    }

    /// Revokes every live consent of the partner (all of the log, so that a consent whose
    /// creation raced with the offboarding is caught too). Returns how many this call revoked.
    pub async fn cascade(
        state: &ConsentsState,
        partner: PartnerId,
        now: Timestamp,
    ) -> Result<usize, AppError> {
        const PAGE: usize = 1_000;
        let filter = EventFilter {
            stream_prefixes: vec!["consent-".to_owned()],
            event_type_prefixes: vec!["ConsentRequested".to_owned()],
        };
        let ctx = ActionContext::system(CASCADE_JOB, now);
        let mut revoked = 0;
        let mut from = None;
        loop {
            let page = state.store.read_all(from, &filter, PAGE).await?;
            let n = page.len();
            for e in &page {
                let Some(id) = consent_id_of(&e.stream) else {
                    continue;
                };
                if let ConsentEvent::Requested {
                    recipient: Recipient::Partner(recipient),
                    ..
                } = e.decode()?.payload
                    && recipient == partner
                    && state.revoke_for_offboarding(id, &ctx).await?
                {
                    revoked += 1;
                }
            }
            from = page.last().map(|e| e.position);
            if n < PAGE {
                return Ok(revoked);
            }
        }
    }
}

fn partner_of(stream: &str) -> Option<PartnerId> {
    stream
        .strip_prefix("partner-")
        .and_then(|s| PartnerId::parse(s).ok())
}

#[async_trait]
impl Projection for OffboardingCascade {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            stream_prefixes: vec!["partner-".to_owned()],
            event_type_prefixes: vec![PARTNER_OFFBOARDED.to_owned()],
        }
    }

    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        let last = self
            .state
            .store
            .read_stream(
                CASCADE_CHECKPOINT_STREAM,
                ReadStreamOptions::backwards().limit(1),
            )
            .await?;
        Ok(last.first().and_then(|e| {
            serde_json::from_slice::<Checkpointed>(&e.data)
                .ok()
                .map(|c| Position {
                    commit: c.commit,
                    prepare: c.prepare,
                })
        }))
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        let mut any = false;
        for e in events {
            if e.event_type != PARTNER_OFFBOARDED {
                continue;
            }
            let Some(partner) = partner_of(&e.stream) else {
                continue;
            };
            any = true;
            let now = self.state.clock.now();
            let revoked = Self::cascade(&self.state, partner, now)
                .await
                .map_err(|err| ProjectionError(err.to_string()))?;
            tracing::info!(partner = %partner, revoked, "offboarding cascade");
        }
        if any {
            let data = serde_json::json!(Checkpointed {
                commit: checkpoint.commit,
                prepare: checkpoint.prepare,
            });
            let mut event = NewEvent::raw("ProjectionCheckpointed", data, self.state.clock.now());
            event.metadata = EventMetadata::system(CASCADE_JOB);
            match self
                .state
                .store
                .append(
                    CASCADE_CHECKPOINT_STREAM,
                    ExpectedRevision::Any,
                    vec![event],
                )
                .await
            {
                Ok(_) => {}
                Err(StoreError::WrongExpectedVersion { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), ProjectionError> {
        // Rebuilding replays every offboarding; the work is idempotent.
        Ok(())
    }
}
