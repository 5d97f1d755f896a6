//! The `CustomerRecords` aggregate: what one provider published about one customer in one
//! dataset. Its stream is `records-<key>`, the key a hash of dataset, provider and customer
//! id, so that no customer id appears in a stream name (payloads can be crypto-shredded,
//! stream names cannot).
//!
//! Publishing is idempotent by record id: a record whose id and content are already stored
//! is skipped; a known id with new content is stored again (an update).

use std::collections::{BTreeMap, BTreeSet};

use ecohub_kernel::{Aggregate, Timestamp};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::stream_key;

/// Longest record id accepted.
pub const MAX_RECORD_ID_LEN: usize = 128;
/// Most records in one publication.
pub const MAX_RECORDS_PER_PUBLICATION: usize = 500;

/// One record as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The provider's id of the record, unique within dataset, provider and customer.
    pub id: String,
    /// The record itself (valid against the dataset's schema).
    pub data: Value,
}

/// The stream of one provider's records about one customer in one dataset.
pub fn records_stream(dataset: &str, provider: &str, customer_id: &str) -> String {
    format!("records-{}", stream_key(&[dataset, provider, customer_id]))
}

/// State: the content digest of every record id stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerRecords {
    digests: BTreeMap<String, String>,
}

impl CustomerRecords {
    /// How many distinct records are stored.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

/// The content digest of a record (serde_json writes object keys sorted, so equal values
/// have equal digests).
pub fn digest(data: &Value) -> String {
    let digest = Sha256::digest(data.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Commands of [`CustomerRecords`].
#[derive(Debug, Clone, PartialEq)]
pub enum RecordsCommand {
    /// Publish records (already validated against the dataset's schema).
    PublishRecords {
        /// The dataset.
        dataset: String,
        /// Who publishes (`bank` or a partner id).
        provider: String,
        /// The hub-internal customer id.
        customer_id: String,
        /// The records.
        records: Vec<Record>,
    },
}

/// Refusals of [`CustomerRecords`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    /// The publication is malformed.
    #[error("{field}: {message}")]
    Invalid {
        /// JSON pointer of the offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// Events of [`CustomerRecords`].
#[derive(Debug, Clone, PartialEq)]
pub enum RecordsEvent {
    /// `RecordsPublished`: new or changed records (never unchanged ones).
    RecordsPublished {
        /// The dataset.
        dataset: String,
        /// The provider.
        provider: String,
        /// The hub-internal customer id (personal data: payload only).
        customer_id: String,
        /// The records.
        records: Vec<Record>,
        /// When.
        at: Timestamp,
    },
}

impl RecordsEvent {
    /// `RecordsPublished`.
    pub const PUBLISHED: &'static str = "RecordsPublished";
}

impl Aggregate for CustomerRecords {
    type Command = RecordsCommand;
    type Event = RecordsEvent;
    type Error = RecordsError;
    const CATEGORY: &'static str = "records";

    fn decide(
        &self,
        command: RecordsCommand,
        now: Timestamp,
    ) -> Result<Vec<RecordsEvent>, RecordsError> {
        let RecordsCommand::PublishRecords {
            dataset,
            provider,
            customer_id,
            records,
        } = command;
        let invalid = |field: String, message: &str| RecordsError::Invalid {
            field,
            message: message.to_owned(),
        };
        if records.is_empty() {
            return Err(invalid("/records".into(), "must not be empty"));
        }
        if records.len() > MAX_RECORDS_PER_PUBLICATION {
            return Err(invalid("/records".into(), "must hold at most 500 records"));
        }
        let mut seen = BTreeSet::new();
        for (i, r) in records.iter().enumerate() {
            if r.id.trim().is_empty() || r.id.len() > MAX_RECORD_ID_LEN {
                return Err(invalid(
                    format!("/records/{i}/id"),
                    "must be 1 to 128 characters",
                ));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(invalid(
                    format!("/records/{i}/id"),
                    "is repeated in this publication",
                ));
            }
        }
        let changed: Vec<Record> = records
            .into_iter()
            .filter(|r| self.digests.get(&r.id) != Some(&digest(&r.data)))
            .collect();
        if changed.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![RecordsEvent::RecordsPublished {
            dataset,
            provider,
            customer_id,
            records: changed,
            at: now,
        }])
    }

    fn evolve(mut self, event: &RecordsEvent) -> Self {
        let RecordsEvent::RecordsPublished { records, .. } = event;
        for r in records {
            self.digests.insert(r.id.clone(), digest(&r.data));
        }
        self
    }
}
