//! Everything sharing runs in the background, started in one call.

use ecohub_eventstore::{ProjectionHandle, SharedStore};

use crate::app::{SharingProjections, SharingState};
use crate::notify::DeliveryWorker;

/// The running projections (catalogue, records, notifications, dispatcher, access index) and
/// the push delivery worker. Dropping it stops the worker; call [`SharingTasks::stop`] to stop all.
#[derive(Debug)]
pub struct SharingTasks {
    /// Catalogue, records, notifications, dispatcher, access index (in that order).
    pub projections: Vec<ProjectionHandle>,
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
                ProjectionHandle::spawn(store, projections.access_index),
            ],
            delivery: DeliveryWorker::spawn(state.clone()),
        }
    }

    /// Stops everything.
    pub fn stop(&self) {
        for p in &self.projections {
            p.stop();
        }
        self.delivery.stop();
    }
}
