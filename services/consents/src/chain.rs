//! Tamper evidence: every consent event's stored payload carries `chain { prev, hash }`.
//!
//! `hash` is the SHA-256 (hex) of the canonical JSON array
//! `["ecohub-consent-chain/v1", stream, revision, event type, event version, recorded_at
//! (RFC 3339, nanoseconds), payload without `chain` (keys sorted), actor, request id]`, and
//! `prev` is the previous event's `hash` ([`GENESIS`] for revision 0). Changing any event —
//! its payload, time, actor or place — breaks its own hash; removing or reordering events
//! breaks the next event's `prev`.

use ecohub_eventstore::{EventFilter, EventStore, RecordedEvent, StoreError};
use ecohub_kernel::{EventMetadata, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev` of a stream's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The payload key of the chain.
pub const CHAIN_KEY: &str = "chain";

/// An event's link in its stream's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// The previous event's hash.
    pub prev: String,
    /// This event's hash.
    pub hash: String,
}

/// Everything a hash covers, for one event.
#[derive(Debug, Clone, Copy)]
pub struct ChainInput<'a> {
    /// Stream name.
    pub stream: &'a str,
    /// Revision in the stream.
    pub revision: u64,
    /// Event type.
    pub event_type: &'a str,
    /// Event version.
    pub event_version: u16,
    /// Recorded time.
    pub recorded_at: Timestamp,
    /// Payload without the chain.
    pub payload: &'a Value,
    /// Metadata (actor and request id are covered).
    pub metadata: &'a EventMetadata,
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The canonical JSON text of a value (object keys sorted, no whitespace).
pub fn canonical_json(v: &Value) -> String {
    let mut s = String::new();
    canonical(v, &mut s);
    s
}

/// The hash of one event.
pub fn hash(input: &ChainInput<'_>) -> String {
    let covered = serde_json::json!([
        "ecohub-consent-chain/v1",
        input.stream,
        input.revision,
        input.event_type,
        input.event_version,
        input.recorded_at.to_rfc3339(),
        input.payload,
        input.metadata.actor,
        input.metadata.request_id,
    ]);
    let digest = Sha256::digest(canonical_json(&covered).as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adds `chain` to a payload (an object).
pub fn seal(mut payload: Value, link: &ChainLink) -> Value {
    if let Value::Object(map) = &mut payload {
        map.insert(
            CHAIN_KEY.to_owned(),
            serde_json::to_value(link).unwrap_or(Value::Null),
        );
    }
    payload
}

/// Encodes `events` for appending after `revision` of `stream` (whose last hash is `prev`),
/// each sealed into the chain, recorded at `now` with `metadata`.
pub fn seal_events<E: ecohub_kernel::DomainEvent>(
    stream: &str,
    revision: ecohub_eventstore::CurrentRevision,
    prev: &str,
    events: &[E],
    metadata: &EventMetadata,
    now: Timestamp,
) -> Vec<ecohub_eventstore::NewEvent> {
    let mut prev = prev.to_owned();
    let mut out = Vec::with_capacity(events.len());
    for (revision, event) in (revision.next()..).zip(events) {
        let payload = event.encode();
        let hash = hash(&ChainInput {
            stream,
            revision,
            event_type: event.event_type(),
            event_version: event.event_version(),
            recorded_at: now,
            payload: &payload,
            metadata,
        });
        let link = ChainLink {
            prev: std::mem::replace(&mut prev, hash.clone()),
            hash,
        };
        out.push(ecohub_eventstore::NewEvent {
            event_id: ecohub_kernel::EventId::generate(now),
            event_type: event.event_type().to_owned(),
            event_version: event.event_version(),
            data: seal(payload, &link),
            metadata: metadata.clone(),
            recorded_at: Some(now),
        });
    }
    out
}

/// Splits a stored payload into the payload without the chain and the chain, if any.
pub fn unseal(mut payload: Value) -> (Value, Option<ChainLink>) {
    let link = match &mut payload {
        Value::Object(map) => map
            .remove(CHAIN_KEY)
            .and_then(|v| serde_json::from_value(v).ok()),
        _ => None,
    };
    (payload, link)
}

/// The chain link stored with a recorded event, if readable.
pub fn link_of(event: &RecordedEvent) -> Option<ChainLink> {
    event.data_json().ok().and_then(|v| unseal(v).1)
}

/// Where a stream's chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("chain of {stream} breaks at revision {revision}: {reason}")]
pub struct ChainBreak {
    /// The stream.
    pub stream: String,
    /// The first revision that does not verify.
    pub revision: u64,
    /// What is wrong.
    pub reason: String,
}

/// Verifies one stream's events (in revision order, from revision 0).
pub fn verify_stream(events: &[RecordedEvent]) -> Result<(), ChainBreak> {
    let mut prev = GENESIS.to_owned();
    for (revision, e) in (0u64..).zip(events) {
        prev = verify_next(e, revision, &prev)?;
    }
    Ok(())
}

/// The result of verifying every consent stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Streams verified.
    pub streams: u64,
    /// Events verified.
    pub events: u64,
    /// The first break found (streams in order of their first event), if any.
    pub first_break: Option<ChainBreak>,
}

/// Verifies every `consent-` stream, reading the global log page by page. Memory holds one
/// hash per stream (the chain's current end), never the events.
pub async fn verify_all(store: &dyn EventStore) -> Result<VerifyReport, StoreError> {
    use std::collections::HashMap;
    const PAGE: usize = 1_000;
    let filter = EventFilter::streams(["consent-"]);
    // Per stream: the next revision expected and the previous hash; broken streams are
    // remembered so that later events of a broken stream are not reported again.
    let mut ends: HashMap<String, Option<(u64, String)>> = HashMap::new();
    let mut report = VerifyReport {
        streams: 0,
        events: 0,
        first_break: None,
    };
    let mut from = None;
    loop {
        let page = store.read_all(from, &filter, PAGE).await?;
        let n = page.len();
        for e in &page {
            report.events += 1;
            let end = ends.entry(e.stream.clone()).or_insert_with(|| {
                report.streams += 1;
                Some((0, GENESIS.to_owned()))
            });
            let Some((next, prev)) = end.clone() else {
                continue;
            };
            let outcome = verify_next(e, next, &prev);
            match outcome {
                Ok(hash) => *end = Some((next + 1, hash)),
                Err(b) => {
                    *end = None;
                    if report.first_break.is_none() {
                        report.first_break = Some(b);
                    }
                }
            }
        }
        from = page.last().map(|e| e.position);
        if n < PAGE {
            return Ok(report);
        }
    }
}

fn verify_next(e: &RecordedEvent, revision: u64, prev: &str) -> Result<String, ChainBreak> {
    let fail = |reason: &str| ChainBreak {
        stream: e.stream.clone(),
        revision: e.revision,
        reason: reason.to_owned(),
    };
    if e.revision != revision {
        return Err(fail("revision out of sequence"));
    }
    let payload = e
        .data_json()
        .map_err(|_| fail("payload is not valid JSON"))?;
    let (payload, link) = unseal(payload);
    let link = link.ok_or_else(|| fail("chain missing"))?;
    if link.prev != prev {
        return Err(fail("prev does not match the previous event's hash"));
    }
    let computed = hash(&ChainInput {
        stream: &e.stream,
        revision: e.revision,
        event_type: &e.event_type,
        event_version: e.event_version,
        recorded_at: e.recorded_at,
        payload: &payload,
        metadata: &e.metadata,
    });
    if computed != link.hash {
        return Err(fail("hash does not match the event"));
    }
    Ok(link.hash)
}
