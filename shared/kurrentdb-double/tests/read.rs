//! Streams.Read with a count: streams and $all, both directions, inclusive starts, filters,
//! positions, system events.

mod common;

use common::*;
use ecohub_kurrentdb_double::DoubleCluster;
use ecohub_kurrentdb_proto::shared::Empty;
use ecohub_kurrentdb_proto::streams::read_req::options::{
    all_options::AllOption, stream_options::RevisionOption,
};
use ecohub_kurrentdb_proto::streams::read_resp::Content;
use tonic::Code;

/// Streams `a-1` (A0..A4) and `b-1` (B0..B2) interleaved; returns the 8 positions in order.
async fn fixture(
    client: &mut ecohub_kurrentdb_proto::streams::streams_client::StreamsClient<
        tonic::transport::Channel,
    >,
) -> Vec<u64> {
    let mut positions = Vec::new();
    for (stream, ty) in [
        ("a-1", "AlphaCreated"),
        ("b-1", "BetaCreated"),
        ("a-1", "AlphaChanged"),
        ("a-1", "AlphaChanged"),
        ("b-1", "BetaChanged"),
        ("a-1", "AlphaChanged"),
        ("b-1", "BetaChanged"),
        ("a-1", "AlphaClosed"),
    ] {
        positions.push(append_one(client, stream, ty).await.1);
    }
    positions
}

#[tokio::test]
async fn positions_are_increasing_not_contiguous_and_follow_system_events() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    assert_eq!(cluster.event_count(), 2);
    let system = read_events(
        &mut client,
        read_options(
            all_option(AllOption::Start(Empty {})),
            true,
            count(100),
            no_filter(),
        ),
    )
    .await;
    assert_eq!(system.len(), 2);
    for e in &system {
        assert!(stream_of(e).starts_with('$'));
        assert!(type_of(e).starts_with('$'));
    }
    let positions = fixture(&mut client).await;
    assert!(positions[0] > 0);
    assert!(positions[0] > system[1].commit_position);
    assert!(
        positions.windows(2).all(|w| w[1] > w[0] + 1),
        "{positions:?}"
    );
    let all = read_events(
        &mut client,
        read_options(
            all_option(AllOption::Start(Empty {})),
            true,
            count(100),
            no_filter(),
        ),
    )
    .await;
    assert_eq!(all.len(), 10);
    assert_eq!(
        user(all)
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        positions
    );
}

#[tokio::test]
async fn stream_reads_both_directions_with_inclusive_start() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    fixture(&mut client).await;
    let revs = |events: Vec<
        ecohub_kurrentdb_proto::streams::read_resp::read_event::RecordedEvent,
    >| { events.iter().map(|e| e.stream_revision).collect::<Vec<_>>() };
    let read = |from, forwards, n| {
        read_options(stream_option("a-1", from), forwards, count(n), no_filter())
    };
    assert_eq!(
        revs(
            read_events(
                &mut client,
                read(RevisionOption::Start(Empty {}), true, 100)
            )
            .await
        ),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(
        revs(read_events(&mut client, read(RevisionOption::Revision(2), true, 2)).await),
        vec![2, 3]
    );
    assert_eq!(
        revs(read_events(&mut client, read(RevisionOption::Revision(9), true, 2)).await),
        Vec::<u64>::new()
    );
    assert_eq!(
        revs(read_events(&mut client, read(RevisionOption::End(Empty {}), true, 2)).await),
        Vec::<u64>::new()
    );
    assert_eq!(
        revs(read_events(&mut client, read(RevisionOption::End(Empty {}), false, 2)).await),
        vec![4, 3]
    );
    assert_eq!(
        revs(read_events(&mut client, read(RevisionOption::Revision(2), false, 10)).await),
        vec![2, 1, 0]
    );
    assert_eq!(
        revs(
            read_events(
                &mut client,
                read(RevisionOption::Start(Empty {}), false, 10)
            )
            .await
        ),
        vec![0]
    );
    assert_eq!(
        revs(read_events(&mut client, read(RevisionOption::Revision(2), true, 0)).await),
        Vec::<u64>::new()
    );
}

#[tokio::test]
async fn a_missing_stream_is_a_single_stream_not_found() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    for forwards in [true, false] {
        let messages = read(
            &mut client,
            read_options(
                stream_option("nope-1", RevisionOption::Start(Empty {})),
                forwards,
                count(10),
                no_filter(),
            ),
        )
        .await;
        assert_eq!(messages.len(), 1);
        match &messages[0].content {
            Some(Content::StreamNotFound(s)) => {
                assert_eq!(s.stream_identifier.as_ref().unwrap().stream_name, b"nope-1")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn all_reads_both_directions_with_inclusive_position() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let p = fixture(&mut client).await;
    let positions = |events: Vec<
        ecohub_kurrentdb_proto::streams::read_resp::read_event::RecordedEvent,
    >| { events.iter().map(|e| e.commit_position).collect::<Vec<_>>() };
    let all = |from, forwards, n| read_options(all_option(from), forwards, count(n), no_filter());
    // Forwards from an event's position: that event first.
    assert_eq!(
        positions(read_events(&mut client, all(at(p[3]), true, 3)).await),
        vec![p[3], p[4], p[5]]
    );
    // From between two events: the next one.
    assert_eq!(
        positions(read_events(&mut client, all(at(p[3] + 1), true, 2)).await),
        vec![p[4], p[5]]
    );
    // Backwards from an event's position: that event first.
    assert_eq!(
        positions(read_events(&mut client, all(at(p[3]), false, 3)).await),
        vec![p[3], p[2], p[1]]
    );
    assert_eq!(
        positions(read_events(&mut client, all(at(p[3] + 1), false, 1)).await),
        vec![p[3]]
    );
    assert_eq!(
        positions(read_events(&mut client, all(AllOption::End(Empty {}), false, 2)).await),
        vec![p[7], p[6]]
    );
    assert_eq!(
        positions(read_events(&mut client, all(AllOption::End(Empty {}), true, 2)).await),
        Vec::<u64>::new()
    );
    assert_eq!(
        read_events(&mut client, all(AllOption::Start(Empty {}), true, 3))
            .await
            .len(),
        3
    );
    assert_eq!(
        positions(user(
            read_events(&mut client, all(AllOption::Start(Empty {}), true, 100)).await
        )),
        p
    );
}

#[tokio::test]
async fn filtered_all_reads() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let p = fixture(&mut client).await;
    let start = || all_option(AllOption::Start(Empty {}));

    let by_stream = read_events(
        &mut client,
        read_options(start(), true, count(100), stream_prefix_filter(&["b-"], 32)),
    )
    .await;
    assert_eq!(
        by_stream
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[1], p[4], p[6]]
    );

    // `count` limits the matching events returned.
    let limited = read_events(
        &mut client,
        read_options(start(), true, count(2), stream_prefix_filter(&["a-"], 32)),
    )
    .await;
    assert_eq!(
        limited
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[0], p[2]]
    );

    let by_type = read_events(
        &mut client,
        read_options(
            start(),
            true,
            count(100),
            type_prefix_filter(&["AlphaCh", "BetaCr"], 32),
        ),
    )
    .await;
    assert_eq!(
        by_type
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[1], p[2], p[3], p[5]]
    );

    let backwards = read_events(
        &mut client,
        read_options(
            all_option(at(p[5])),
            false,
            count(2),
            stream_prefix_filter(&["b-"], 32),
        ),
    )
    .await;
    assert_eq!(
        backwards
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[4], p[1]]
    );

    let regex = read_events(
        &mut client,
        read_options(start(), true, count(100), type_regex_filter("^AlphaC")),
    )
    .await;
    assert_eq!(
        regex.iter().map(|e| e.commit_position).collect::<Vec<_>>(),
        vec![p[0], p[2], p[3], p[5], p[7]]
    );

    let no_system = read_events(
        &mut client,
        read_options(start(), true, count(100), type_regex_filter("^[^\\$].*")),
    )
    .await;
    assert_eq!(
        no_system
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        p
    );

    // Any regex, searched anywhere in the subject unless anchored, as the server's
    // `Regex.IsMatch`.
    let alternatives = read_events(
        &mut client,
        read_options(
            start(),
            true,
            count(100),
            type_regex_filter("^(Alpha|Beta)Cr"),
        ),
    )
    .await;
    assert_eq!(
        alternatives
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[0], p[1]]
    );
    let unanchored = read_events(
        &mut client,
        read_options(start(), true, count(100), type_regex_filter("Clos")),
    )
    .await;
    assert_eq!(
        unanchored
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[7]]
    );
    let on_stream = read_events(
        &mut client,
        read_options(start(), true, count(100), stream_regex_filter(r"^b-\d$")),
    )
    .await;
    assert_eq!(
        on_stream
            .iter()
            .map(|e| e.commit_position)
            .collect::<Vec<_>>(),
        vec![p[1], p[4], p[6]]
    );

    let status = client
        .read(leader_request(read_options(
            start(),
            true,
            count(100),
            type_regex_filter("^(Alpha|Beta"),
        )))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// The official Python client's default `$all` filter: a negative look-ahead on the event type
/// excluding system events (`$…`), persistent subscription configs and projection results.
const PYTHON_DEFAULT_EXCLUSION: &str = r"^(?!(\$.+$|PersistentConfig\d+$|Result$))";

#[tokio::test]
async fn all_reads_backwards_with_the_clients_default_exclusion() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let p = fixture(&mut client).await;
    append_one(&mut client, "c-1", "Result").await;
    append_one(&mut client, "c-1", "PersistentConfig1").await;
    let end = || all_option(AllOption::End(Empty {}));

    // The last user event: what `get_commit_position` reads (backwards, count 1).
    let last = read_events(
        &mut client,
        read_options(
            end(),
            false,
            count(1),
            type_regex_filter(PYTHON_DEFAULT_EXCLUSION),
        ),
    )
    .await;
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].commit_position, p[7]);

    let mut reversed = p.clone();
    reversed.reverse();
    for exclusion in [PYTHON_DEFAULT_EXCLUSION, r"^[^\$].*"] {
        let filtered = read_events(
            &mut client,
            read_options(end(), false, count(100), type_regex_filter(exclusion)),
        )
        .await;
        let positions: Vec<u64> = filtered
            .iter()
            .filter(|e| !stream_of(e).starts_with("c-"))
            .map(|e| e.commit_position)
            .collect();
        assert_eq!(positions, reversed, "{exclusion}");
        assert!(filtered.iter().all(|e| !type_of(e).starts_with('$')));
    }

    // Unfiltered, the system events come last backwards.
    let everything = read_events(
        &mut client,
        read_options(end(), false, count(100), no_filter()),
    )
    .await;
    assert_eq!(everything.len(), 12);
    assert!(type_of(&everything[11]).starts_with('$'));
    assert!(type_of(&everything[10]).starts_with('$'));
}
