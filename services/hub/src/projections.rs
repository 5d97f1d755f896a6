//! Read models the hub itself keeps. Services bring their own with their issues.

use std::collections::BTreeMap;

use async_trait::async_trait;
use ecohub_eventstore::{Position, Projection, ProjectionError, RecordedEvent};

use crate::metrics::Metrics;

/// Counts the events of the log by stream category (exported as
/// `ecohub_events_by_category`). Kept in memory and rebuilt from zero at start.
pub struct StoreStatistics {
    metrics: Metrics,
    counts: BTreeMap<String, i64>,
    checkpoint: Option<Position>,
}

impl StoreStatistics {
    /// A projection that reports into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self {
            metrics,
            counts: BTreeMap::new(),
            checkpoint: None,
        }
    }
}

#[async_trait]
impl Projection for StoreStatistics {
    fn name(&self) -> &str {
        "store_statistics"
    }

    async fn checkpoint(&mut self) -> Result<Option<Position>, ProjectionError> {
        Ok(self.checkpoint)
    }

    async fn apply(
        &mut self,
        events: &[RecordedEvent],
        checkpoint: Position,
    ) -> Result<(), ProjectionError> {
        for e in events {
            *self.counts.entry(e.category().to_owned()).or_default() += 1;
        }
        for (category, n) in &self.counts {
            self.metrics
                .events_by_category
                .with_label_values(&[category.as_str()])
                .set(*n);
        }
        self.checkpoint = Some(checkpoint);
        Ok(())
    }

    async fn reset(&mut self) -> Result<(), ProjectionError> {
        for category in self.counts.keys() {
            let _ = self
                .metrics
                .events_by_category
                .remove_label_values(&[category.as_str()]);
        }
        self.counts.clear();
        self.checkpoint = None;
        Ok(())
    }
}
