//! Everything sharing runs in the background, started in one call.

use ecohub_eventstore::{ProjectionHandle, SharedStore};

use crate::application::{SharingProjections, SharingState};
use crate::notify::DeliveryWorker;

/// The running projections (catalogue, records, notifications, dispatcher; the access index in
/// the background) and the push delivery worker. Dropping it stops the worker; call
/// [`SharingTasks::stop`] to stop all.
#[derive(Debug)]
pub struct SharingTasks {
    /// Catalogue, records, notifications, dispatcher (in that order): what serving needs, so
    /// readiness waits for them.
    pub projections: Vec<ProjectionHandle>,
    /// The access index: audit queries are exact without it (they scan what it has not
    /// applied), and it reads every access record ever made, so readiness does not wait for it.
    pub background: Vec<ProjectionHandle>,
    /// The push worker.
    pub delivery: DeliveryWorker,
}

impl SharingTasks {
    /// Spawns every projection against `store` (the same store as the state's, unwrapped
    /// from any test wrappers) and the delivery worker. Needs a Tokio runtime.
    pub fn spawn(
        store: SharedStore,
        state: &SharingState,
        projections: SharingProjections,
    ) -> Self {
        Self {
            projections: vec![
                ProjectionHandle::spawn(store.clone(), projections.catalogue),
                ProjectionHandle::spawn(store.clone(), projections.records),
                ProjectionHandle::spawn(store.clone(), projections.notifications),
                ProjectionHandle::spawn(store.clone(), projections.dispatcher),
            ],
            background: vec![ProjectionHandle::spawn(store, projections.access_index)],
            delivery: DeliveryWorker::spawn(state.clone()),
        }
    }

    /// Stops everything.
    pub fn stop(&self) {
        for p in self.projections.iter().chain(&self.background) {
            p.stop();
        }
        self.delivery.stop();
    }
}
