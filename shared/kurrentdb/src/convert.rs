//! Conversions between the store's types and the protocol's messages.

use std::collections::HashMap;

use ecohub_eventstore::{
    CurrentRevision, EventFilter, ExpectedRevision, NewEvent, Position, RecordedEvent, StoreError,
};
use ecohub_kernel::{EventId, EventMetadata, Timestamp};
use ecohub_kurrentdb_proto::shared::{self as proto, Empty, StreamIdentifier, Uuid as ProtoUuid};
use ecohub_kurrentdb_proto::streams::batch_append_req::{self, ProposedMessage};
use ecohub_kurrentdb_proto::streams::read_req::options::{self as read_options, FilterOptions};
use ecohub_kurrentdb_proto::streams::read_resp::read_event::RecordedEvent as ProtoRecorded;
use serde::{Deserialize, Serialize};

/// The JSON stored in EventStoreDB's custom metadata: the event's schema version and the
/// correlation/causation ids under the names EventStoreDB's projections understand.
#[derive(Debug, Default, Serialize, Deserialize)]
struct CustomMetadata {
    #[serde(
        rename = "$correlationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    correlation_id: Option<String>,
    #[serde(
        rename = "$causationId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    #[serde(rename = "requestId", default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    #[serde(rename = "eventVersion", default = "one")]
    event_version: u16,
    /// The original timestamp of an imported event (the server's `created` is the import's).
    #[serde(
        rename = "recordedAt",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    recorded_at: Option<Timestamp>,
}

fn one() -> u16 {
    1
}

pub(crate) fn stream_identifier(stream: &str) -> StreamIdentifier {
    StreamIdentifier {
        stream_name: stream.as_bytes().to_vec(),
    }
}

pub(crate) fn expected(e: ExpectedRevision) -> batch_append_req::options::ExpectedStreamPosition {
    use batch_append_req::options::ExpectedStreamPosition as P;
    match e {
        ExpectedRevision::Any => P::Any(Empty {}),
        ExpectedRevision::NoStream => P::NoStream(Empty {}),
        ExpectedRevision::StreamExists => P::StreamExists(Empty {}),
        ExpectedRevision::Exact(n) => P::StreamPosition(n),
    }
}

pub(crate) fn proposed(e: &NewEvent) -> Result<ProposedMessage, StoreError> {
    let custom = CustomMetadata {
        correlation_id: e.metadata.correlation_id.clone(),
        causation_id: e.metadata.causation_id.clone(),
        actor: e.metadata.actor.clone(),
        request_id: e.metadata.request_id.clone(),
        event_version: e.event_version,
        recorded_at: e.recorded_at,
    };
    let metadata = HashMap::from([
        ("type".to_owned(), e.event_type.clone()),
        ("content-type".to_owned(), "application/json".to_owned()),
    ]);
    Ok(ProposedMessage {
        id: Some(uuid_to_proto(*e.event_id.as_uuid())),
        metadata,
        custom_metadata: serde_json::to_vec(&custom)
            .map_err(|err| StoreError::InvalidRequest(format!("metadata: {err}")))?,
        data: serde_json::to_vec(&e.data)
            .map_err(|err| StoreError::InvalidRequest(format!("data: {err}")))?,
    })
}

pub(crate) fn uuid_to_proto(u: uuid::Uuid) -> ProtoUuid {
    ProtoUuid {
        value: Some(proto::uuid::Value::String(u.to_string())),
    }
}

pub(crate) fn uuid_from_proto(u: &ProtoUuid) -> Option<uuid::Uuid> {
    match u.value.as_ref()? {
        proto::uuid::Value::String(s) => uuid::Uuid::try_parse(s).ok(),
        proto::uuid::Value::Structured(s) => Some(uuid::Uuid::from_u64_pair(
            s.most_significant_bits as u64,
            s.least_significant_bits as u64,
        )),
    }
}

/// Whether an event is the server's own (system streams and types start with `$`).
pub(crate) fn is_system(e: &ProtoRecorded) -> bool {
    e.stream_identifier
        .as_ref()
        .is_some_and(|s| s.stream_name.first() == Some(&b'$'))
        || e.metadata.get("type").is_some_and(|t| t.starts_with('$'))
}

pub(crate) fn position(e: &ProtoRecorded) -> Position {
    Position {
        commit: e.commit_position,
        prepare: e.prepare_position,
    }
}

pub(crate) fn recorded(e: ProtoRecorded) -> Result<RecordedEvent, StoreError> {
    let bad = |what: &str| StoreError::Internal(format!("server sent an event without {what}"));
    let id =
        e.id.as_ref()
            .and_then(uuid_from_proto)
            .ok_or_else(|| bad("a valid id"))?;
    let stream = e
        .stream_identifier
        .as_ref()
        .map(|s| String::from_utf8_lossy(&s.stream_name).into_owned())
        .ok_or_else(|| bad("a stream"))?;
    let event_type = e
        .metadata
        .get("type")
        .cloned()
        .ok_or_else(|| bad("a type"))?;
    let created_ticks: i128 = e
        .metadata
        .get("created")
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("a creation time"))?;
    let custom: CustomMetadata = if e.custom_metadata.is_empty() {
        CustomMetadata {
            event_version: 1,
            ..CustomMetadata::default()
        }
    } else {
        serde_json::from_slice(&e.custom_metadata).unwrap_or(CustomMetadata {
            event_version: 1,
            ..CustomMetadata::default()
        })
    };
    Ok(RecordedEvent {
        event_id: EventId::from_uuid(id),
        stream,
        revision: e.stream_revision,
        position: position(&e),
        event_type,
        event_version: custom.event_version,
        data: e.data,
        metadata: EventMetadata {
            correlation_id: custom.correlation_id,
            causation_id: custom.causation_id,
            actor: custom.actor,
            request_id: custom.request_id,
        },
        // `created` is in 100-nanosecond ticks since the Unix epoch.
        recorded_at: custom
            .recorded_at
            .unwrap_or(Timestamp::from_unix_nanos(created_ticks * 100)),
    })
}

pub(crate) fn current_revision_from_batch(
    r: Option<ecohub_kurrentdb_proto::streams::batch_append_resp::success::CurrentRevisionOption>,
) -> CurrentRevision {
    use ecohub_kurrentdb_proto::streams::batch_append_resp::success::CurrentRevisionOption as C;
    match r {
        Some(C::CurrentRevision(n)) => CurrentRevision::Current(n),
        Some(C::NoStream(_)) | None => CurrentRevision::NoStream,
    }
}

/// The server-side part of a filter: EventStoreDB filters on stream *or* event type, so
/// when both are given the stream prefixes go to the server and the type prefixes are
/// applied by the client ([`EventFilter::matches`] on every event).
pub(crate) fn server_filter(filter: &EventFilter) -> read_options::FilterOption {
    use read_options::filter_options::{Expression, Filter, Window};
    let expression = |prefixes: &[String]| Expression {
        regex: String::new(),
        prefix: prefixes.to_vec(),
    };
    let f = if !filter.stream_prefixes.is_empty() {
        Filter::StreamIdentifier(expression(&filter.stream_prefixes))
    } else if !filter.event_type_prefixes.is_empty() {
        Filter::EventType(expression(&filter.event_type_prefixes))
    } else {
        return read_options::FilterOption::NoFilter(Empty {});
    };
    read_options::FilterOption::Filter(FilterOptions {
        filter: Some(f),
        window: Some(Window::Max(32)),
        checkpoint_interval_multiplier: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_round_trip_in_both_forms() {
        let u = uuid::Uuid::now_v7();
        assert_eq!(uuid_from_proto(&uuid_to_proto(u)), Some(u));
        let (hi, lo) = u.as_u64_pair();
        let structured = ProtoUuid {
            value: Some(proto::uuid::Value::Structured(proto::uuid::Structured {
                most_significant_bits: hi as i64,
                least_significant_bits: lo as i64,
            })),
        };
        assert_eq!(uuid_from_proto(&structured), Some(u));
    }

    #[test]
    fn events_round_trip_through_the_wire_format() {
        let new = NewEvent {
            event_id: EventId::generate(Timestamp::from_unix_seconds(1)),
            event_type: "ConsentRevoked".into(),
            event_version: 3,
            data: serde_json::json!({"reason": "customer"}),
            metadata: EventMetadata {
                correlation_id: Some("c".into()),
                causation_id: None,
                actor: Some("client:x".into()),
                request_id: Some("r".into()),
            },
            recorded_at: None,
        };
        let p = proposed(&new).unwrap();
        let mut metadata = p.metadata.clone();
        metadata.insert("created".into(), "17000000000000000".into());
        let wire = ProtoRecorded {
            id: p.id.clone(),
            stream_identifier: Some(stream_identifier("consent-1")),
            stream_revision: 4,
            prepare_position: 90,
            commit_position: 100,
            metadata,
            custom_metadata: p.custom_metadata.clone(),
            data: p.data.clone(),
        };
        assert!(!is_system(&wire));
        let r = recorded(wire).unwrap();
        assert_eq!(r.event_id, new.event_id);
        assert_eq!(r.event_type, "ConsentRevoked");
        assert_eq!(r.event_version, 3);
        assert_eq!(r.metadata, new.metadata);
        assert_eq!(r.data_json().unwrap(), new.data);
        assert_eq!(
            r.position,
            Position {
                commit: 100,
                prepare: 90
            }
        );
        assert_eq!(r.recorded_at, Timestamp::from_unix_seconds(1_700_000_000));
        let custom: serde_json::Value = serde_json::from_slice(&p.custom_metadata).unwrap();
        assert_eq!(custom["$correlationId"], "c");
    }
}
