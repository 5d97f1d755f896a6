//! In-memory read models, fed by [`ProjectionHandle`](ecohub_eventstore::ProjectionHandle)s
//! over the global log and rebuilt from zero at start:
//!
//! * [`CatalogueProjection`] → [`CatalogueReader`]: the default catalogue overlaid with the
//!   `DatasetDefined` events of `dataset-*` streams.
//! * [`RecordsProjection`] → [`RecordsReader`]: the latest version of every published record,
//!   by customer and dataset.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ecohub_eventstore::{EventFilter, Position, Projection, ProjectionError, RecordedEvent};
use serde_json::Value;

use crate::domain::catalogue::{Dataset, DatasetEvent};
use crate::domain::records::RecordsEvent;

/// The catalogue as this instance knows it.
#[derive(Clone, Debug)]
pub struct CatalogueReader {
    defaults: Arc<Vec<Dataset>>,
    datasets: Arc<RwLock<BTreeMap<String, Dataset>>>,
}

impl CatalogueReader {
    /// A catalogue holding `defaults` until events say otherwise.
    pub fn new(defaults: Vec<Dataset>) -> Self {
        let map = defaults
            .iter()
            .map(|d| (d.name().to_owned(), d.clone()))
            .collect();
        Self {
            defaults: Arc::new(defaults),
            datasets: Arc::new(RwLock::new(map)),
        }
    }

    /// The dataset called `name`.
    pub fn get(&self, name: &str) -> Option<Dataset> {
        self.datasets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Every dataset, by name.
    pub fn all(&self) -> Vec<Dataset> {
        self.datasets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// Puts a dataset in place (after its event was appended, so that this instance reads
    /// its own writes before the projection catches up).
    pub fn put(&self, dataset: Dataset) {
        self.datasets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dataset.name().to_owned(), dataset);
    }

    fn reset(&self) {
        let mut map = self.datasets.write().unwrap_or_else(|p| p.into_inner());
        *map = self
            .defaults
            .iter()
            .map(|d| (d.name().to_owned(), d.clone()))
            .collect();
    }
}

/// Feeds a [`CatalogueReader`].
#[derive(Debug)]
pub struct CatalogueProjection {
    reader: CatalogueReader,
}

impl CatalogueProjection {
    /// The projection that keeps `reader` current.
    pub fn new(reader: CatalogueReader) -> Self {
        Self { reader }
    }
}

#[async_trait]
impl Projection for CatalogueProjection {
    fn name(&self) -> &str {
        "sharing-catalogue"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams(["dataset-"])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        _: Position,
    ) -> Result<(), ProjectionError> {
        for e in events {
            if e.event_type != DatasetEvent::DEFINED {
                continue;
            }
            let env = e
                .decode::<DatasetEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?;
            let DatasetEvent::DatasetDefined { definition, .. } = env.payload;
            match Dataset::new(definition) {
                Ok(d) => self.reader.put(d),
                Err(err) => {
                    tracing::warn!(error = %err, "stored dataset definition no longer valid; skipped")
                }
            }
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.reader.reset();
        Ok(())
    }
}

/// One stored record, as served.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Who published it.
    pub provider: String,
    /// Its id.
    pub id: String,
    /// Its latest data.
    pub data: Arc<Value>,
}

type RecordKey = (String, String);
type Shelf = BTreeMap<RecordKey, Arc<Value>>;

/// Published records, by (customer id, dataset), sorted by (provider, record id).
#[derive(Clone, Debug, Default)]
pub struct RecordsReader {
    shelves: Arc<RwLock<HashMap<(String, String), Shelf>>>,
}

impl RecordsReader {
    /// Up to `limit` records of `customer_id` in `dataset` after `after` (exclusive), in
    /// (provider, id) order, keeping those `keep` accepts.
    pub fn page(
        &self,
        customer_id: &str,
        dataset: &str,
        after: Option<&(String, String)>,
        limit: usize,
        mut keep: impl FnMut(&str, &Value) -> bool,
    ) -> Vec<StoredRecord> {
        let shelves = self.shelves.read().unwrap_or_else(|p| p.into_inner());
        let Some(shelf) = shelves.get(&(customer_id.to_owned(), dataset.to_owned())) else {
            return Vec::new();
        };
        let range = match after {
            None => shelf.range::<RecordKey, _>(..),
            Some(a) => shelf.range::<RecordKey, _>((
                std::ops::Bound::Excluded(a.clone()),
                std::ops::Bound::Unbounded,
            )),
        };
        range
            .filter(|((provider, _), data)| keep(provider, data))
            .take(limit)
            .map(|((provider, id), data)| StoredRecord {
                provider: provider.clone(),
                id: id.clone(),
                data: data.clone(),
            })
            .collect()
    }

    fn apply(&self, event: &RecordsEvent) {
        let RecordsEvent::RecordsPublished {
            dataset,
            provider,
            customer_id,
            records,
            ..
        } = event;
        let mut shelves = self.shelves.write().unwrap_or_else(|p| p.into_inner());
        let shelf = shelves
            .entry((customer_id.clone(), dataset.clone()))
            .or_default();
        for r in records {
            shelf.insert((provider.clone(), r.id.clone()), Arc::new(r.data.clone()));
        }
    }

    fn clear(&self) {
        self.shelves
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

/// Feeds a [`RecordsReader`].
#[derive(Debug)]
pub struct RecordsProjection {
    reader: RecordsReader,
}

impl RecordsProjection {
    /// The projection that keeps `reader` current.
    pub fn new(reader: RecordsReader) -> Self {
        Self { reader }
    }
}

#[async_trait]
impl Projection for RecordsProjection {
    fn name(&self) -> &str {
        "sharing-records"
    }
    fn filter(&self) -> EventFilter {
        EventFilter::streams(["records-"])
    }
    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(None)
    }
    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        _: Position,
    ) -> Result<(), ProjectionError> {
        for e in events {
            if e.event_type != RecordsEvent::PUBLISHED {
                continue;
            }
            let env = e
                .decode::<RecordsEvent>()
                .map_err(|err| ProjectionError(err.to_string()))?;
            self.reader.apply(&env.payload);
        }
        Ok(())
    }
    async fn reset(&mut self) -> Result<(), ProjectionError> {
        self.reader.clear();
        Ok(())
    }
}
