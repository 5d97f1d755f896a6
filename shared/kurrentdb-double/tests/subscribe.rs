//! Subscriptions to $all: confirmation, history after an exclusive start, caught-up, live;
//! filtered subscriptions (prefixes and regexes) with checkpoints; slow subscribers.
//! Subscriptions to one stream: the same from a revision (exclusive), the start or the end.

mod common;

use std::collections::HashSet;

use common::*;
use ecohub_kurrentdb_double::DoubleCluster;
use ecohub_kurrentdb_proto::shared::Empty;
use ecohub_kurrentdb_proto::streams::ReadResp;
use ecohub_kurrentdb_proto::streams::read_req::options::{
    FilterOption, all_options::AllOption, stream_options::RevisionOption,
};
use ecohub_kurrentdb_proto::streams::read_resp::Content;
use tonic::Streaming;

type Client =
    ecohub_kurrentdb_proto::streams::streams_client::StreamsClient<tonic::transport::Channel>;

async fn subscribe(
    client: &mut Client,
    from: AllOption,
    filter: FilterOption,
) -> Streaming<ReadResp> {
    let mut stream = client
        .read(read_options(all_option(from), true, subscription(), filter))
        .await
        .unwrap()
        .into_inner();
    match next(&mut stream).await {
        Content::Confirmation(c) => assert!(!c.subscription_id.is_empty()),
        other => panic!("expected a confirmation first, got {other:?}"),
    }
    stream
}

async fn next(stream: &mut Streaming<ReadResp>) -> Content {
    stream.message().await.unwrap().unwrap().content.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_then_caught_up_then_live_without_gaps_or_duplicates() {
    let cluster = DoubleCluster::start(1).await;
    let addr = cluster.endpoints()[0];
    let mut client = streams(addr).await;
    for i in 0..200 {
        append_one(&mut client, &format!("sub-{}", i % 7), "Before").await;
    }
    // Writers keep appending while the subscription catches up and after.
    let writers: Vec<_> = (0..3)
        .map(|w| {
            tokio::spawn(async move {
                let mut client = streams(addr).await;
                for _ in 0..100 {
                    append_one(&mut client, &format!("live-{w}"), "During").await;
                }
            })
        })
        .collect();
    let mut subscription = subscribe(&mut client, AllOption::Start(Empty {}), no_filter()).await;
    let mut seen = Vec::new();
    let mut caught_up = 0;
    while seen
        .iter()
        .filter(|(s, _): &&(String, u64)| !s.starts_with('$'))
        .count()
        < 500
    {
        match next(&mut subscription).await {
            Content::Event(e) => {
                let e = e.event.unwrap();
                seen.push((stream_of(&e), e.commit_position));
            }
            Content::CaughtUp(c) => {
                caught_up += 1;
                let p = c.position.unwrap();
                assert_eq!(
                    p.commit_position,
                    seen.last().unwrap().1,
                    "caught up at the last event sent"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    assert_eq!(caught_up, 1);
    let all = read_events(
        &mut client,
        read_options(
            all_option(AllOption::Start(Empty {})),
            true,
            count(10_000),
            no_filter(),
        ),
    )
    .await;
    let expected: Vec<(String, u64)> = all
        .iter()
        .map(|e| (stream_of(e), e.commit_position))
        .collect();
    assert_eq!(seen, expected, "every event once, in $all order");
    let unique: HashSet<u64> = seen.iter().map(|(_, p)| *p).collect();
    assert_eq!(unique.len(), seen.len());
}

#[tokio::test]
async fn the_start_position_is_exclusive() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let mut p = Vec::new();
    for _ in 0..5 {
        p.push(append_one(&mut client, "x-1", "X").await.1);
    }
    let mut subscription = subscribe(&mut client, at(p[2]), no_filter()).await;
    for expected in [p[3], p[4]] {
        match next(&mut subscription).await {
            Content::Event(e) => assert_eq!(e.event.unwrap().commit_position, expected),
            other => panic!("{other:?}"),
        }
    }
    match next(&mut subscription).await {
        Content::CaughtUp(c) => assert_eq!(c.position.unwrap().commit_position, p[4]),
        other => panic!("{other:?}"),
    }
    let (_, live) = append_one(&mut client, "x-2", "Y").await;
    match next(&mut subscription).await {
        Content::Event(e) => {
            let e = e.event.unwrap();
            assert_eq!(e.commit_position, live);
            assert_eq!(type_of(&e), "Y");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn from_end_only_live_events() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    append_one(&mut client, "x-1", "Old").await;
    let mut subscription = subscribe(&mut client, AllOption::End(Empty {}), no_filter()).await;
    assert!(matches!(
        next(&mut subscription).await,
        Content::CaughtUp(_)
    ));
    append_one(&mut client, "x-1", "New").await;
    match next(&mut subscription).await {
        Content::Event(e) => assert_eq!(type_of(&e.event.unwrap()), "New"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn filtered_subscriptions_send_checkpoints_and_only_matching_events() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    for i in 0..20 {
        let stream = if i % 2 == 0 { "keep-1" } else { "skip-1" };
        append_one(&mut client, stream, "E").await;
    }
    // Window of 4: a checkpoint every 4 events scanned (22 with the system events).
    let mut subscription = subscribe(
        &mut client,
        AllOption::Start(Empty {}),
        stream_prefix_filter(&["keep-"], 4),
    )
    .await;
    let mut events = Vec::new();
    let mut checkpoints = Vec::new();
    loop {
        match next(&mut subscription).await {
            Content::Event(e) => {
                let e = e.event.unwrap();
                assert_eq!(stream_of(&e), "keep-1");
                events.push(e.commit_position);
            }
            Content::Checkpoint(c) => {
                assert_eq!(c.commit_position, c.prepare_position);
                assert!(checkpoints.last().is_none_or(|&l| c.commit_position > l));
                assert!(events.last().is_none_or(|&l| c.commit_position >= l));
                checkpoints.push(c.commit_position);
            }
            Content::CaughtUp(_) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(events.len(), 10);
    assert_eq!(checkpoints.len(), 22 / 4);

    // Live: non-matching events only move checkpoints forward (22 + 2 scanned = 6 windows).
    let mut last_skip = 0;
    for _ in 0..2 {
        last_skip = append_one(&mut client, "skip-2", "E").await.1;
    }
    match next(&mut subscription).await {
        Content::Checkpoint(c) => assert_eq!(c.commit_position, last_skip),
        other => panic!("{other:?}"),
    }
    let (_, kept) = append_one(&mut client, "keep-2", "E").await;
    match next(&mut subscription).await {
        Content::Event(e) => assert_eq!(e.event.unwrap().commit_position, kept),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn event_type_filtered_subscription() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    append_one(&mut client, "a-1", "ConsentGiven").await;
    append_one(&mut client, "a-1", "OrderPlaced").await;
    let mut subscription = subscribe(
        &mut client,
        AllOption::Start(Empty {}),
        type_prefix_filter(&["Consent"], 32),
    )
    .await;
    match next(&mut subscription).await {
        Content::Event(e) => assert_eq!(type_of(&e.event.unwrap()), "ConsentGiven"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next(&mut subscription).await,
        Content::CaughtUp(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_does_not_read_never_blocks_appends() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let mut writer = streams(cluster.endpoints()[0]).await;
    // Subscribed, but not reading while 2000 events are appended.
    let mut subscription = subscribe(&mut client, AllOption::Start(Empty {}), no_filter()).await;
    let mut positions = Vec::new();
    for i in 0..2000 {
        positions.push(
            append_one(&mut writer, &format!("slow-{}", i % 10), "E")
                .await
                .1,
        );
    }
    // It then receives everything, in order.
    let mut received = Vec::new();
    while received.len() < positions.len() {
        match next(&mut subscription).await {
            Content::Event(e) => {
                let e = e.event.unwrap();
                if !stream_of(&e).starts_with('$') {
                    received.push(e.commit_position);
                }
            }
            Content::CaughtUp(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(received, positions);
}

#[tokio::test]
async fn regex_filtered_subscription_with_a_negative_look_ahead() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    append_one(&mut client, "a-1", "OrderPlaced").await;
    append_one(&mut client, "a-1", "Result").await;
    // The official Python client's default: no system events, configs or results.
    let mut subscription = subscribe(
        &mut client,
        AllOption::Start(Empty {}),
        type_regex_filter(r"^(?!(\$.+$|PersistentConfig\d+$|Result$))"),
    )
    .await;
    match next(&mut subscription).await {
        Content::Event(e) => assert_eq!(type_of(&e.event.unwrap()), "OrderPlaced"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next(&mut subscription).await,
        Content::CaughtUp(_)
    ));
    append_one(&mut client, "b-1", "Result").await;
    let (_, live) = append_one(&mut client, "b-1", "OrderPaid").await;
    match next(&mut subscription).await {
        Content::Event(e) => assert_eq!(e.event.unwrap().commit_position, live),
        other => panic!("{other:?}"),
    }
    // On the stream name, unanchored.
    let mut by_stream = subscribe(
        &mut client,
        AllOption::Start(Empty {}),
        stream_regex_filter("-1$"),
    )
    .await;
    let mut types = Vec::new();
    while let Content::Event(e) = next(&mut by_stream).await {
        types.push(type_of(&e.event.unwrap()).to_owned());
    }
    assert_eq!(types, ["OrderPlaced", "Result", "Result", "OrderPaid"]);
}

#[tokio::test]
async fn an_invalid_regex_is_invalid_argument() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let status = client
        .read(read_options(
            all_option(AllOption::Start(Empty {})),
            true,
            subscription(),
            stream_regex_filter("(unclosed"),
        ))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

async fn subscribe_stream(
    client: &mut Client,
    stream: &str,
    from: RevisionOption,
) -> Streaming<ReadResp> {
    let mut subscription = client
        .read(read_options(
            stream_option(stream, from),
            true,
            subscription(),
            no_filter(),
        ))
        .await
        .unwrap()
        .into_inner();
    match next(&mut subscription).await {
        Content::Confirmation(c) => assert!(!c.subscription_id.is_empty()),
        other => panic!("expected a confirmation first, got {other:?}"),
    }
    subscription
}

async fn next_event(subscription: &mut Streaming<ReadResp>) -> (String, u64, String) {
    match next(subscription).await {
        Content::Event(e) => {
            let e = e.event.unwrap();
            (stream_of(&e), e.stream_revision, type_of(&e).to_owned())
        }
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn caught_up_at(subscription: &mut Streaming<ReadResp>) -> Option<i64> {
    match next(subscription).await {
        Content::CaughtUp(c) => {
            assert!(
                c.position.is_none(),
                "a stream subscription has no $all position"
            );
            c.stream_revision
        }
        other => panic!("expected caught-up, got {other:?}"),
    }
}

#[tokio::test]
async fn stream_subscription_history_then_caught_up_then_live() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    append_one(&mut client, "s-1", "A").await;
    append_one(&mut client, "other", "X").await;
    append_one(&mut client, "s-1", "B").await;
    let mut subscription =
        subscribe_stream(&mut client, "s-1", RevisionOption::Start(Empty {})).await;
    assert_eq!(
        next_event(&mut subscription).await,
        ("s-1".into(), 0, "A".into())
    );
    assert_eq!(
        next_event(&mut subscription).await,
        ("s-1".into(), 1, "B".into())
    );
    assert_eq!(caught_up_at(&mut subscription).await, Some(1));
    // Live: only this stream's events, in order, no checkpoints.
    append_one(&mut client, "other", "X").await;
    append_one(&mut client, "s-1", "C").await;
    append_one(&mut client, "s-10", "X").await;
    append_one(&mut client, "s-1", "D").await;
    assert_eq!(
        next_event(&mut subscription).await,
        ("s-1".into(), 2, "C".into())
    );
    assert_eq!(
        next_event(&mut subscription).await,
        ("s-1".into(), 3, "D".into())
    );
}

#[tokio::test]
async fn stream_subscription_from_a_revision_is_exclusive_and_from_the_end_is_live_only() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    for ty in ["A", "B", "C"] {
        append_one(&mut client, "s-1", ty).await;
    }
    let mut after_0 = subscribe_stream(&mut client, "s-1", RevisionOption::Revision(0)).await;
    assert_eq!(next_event(&mut after_0).await.1, 1);
    assert_eq!(next_event(&mut after_0).await.1, 2);
    assert_eq!(caught_up_at(&mut after_0).await, Some(2));
    // Past the stream's end: caught up at once, then events after that revision.
    let mut ahead = subscribe_stream(&mut client, "s-1", RevisionOption::Revision(3)).await;
    assert_eq!(caught_up_at(&mut ahead).await, Some(2));
    let mut end = subscribe_stream(&mut client, "s-1", RevisionOption::End(Empty {})).await;
    assert_eq!(caught_up_at(&mut end).await, Some(2));
    append_one(&mut client, "s-1", "D").await;
    append_one(&mut client, "s-1", "E").await;
    assert_eq!(next_event(&mut end).await, ("s-1".into(), 3, "D".into()));
    assert_eq!(
        next_event(&mut after_0).await,
        ("s-1".into(), 3, "D".into())
    );
    assert_eq!(next_event(&mut ahead).await, ("s-1".into(), 4, "E".into()));
}

#[tokio::test]
async fn a_subscription_to_a_missing_stream_waits_for_its_first_event() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    let mut subscription =
        subscribe_stream(&mut client, "later", RevisionOption::Start(Empty {})).await;
    assert_eq!(caught_up_at(&mut subscription).await, None);
    append_one(&mut client, "later", "First").await;
    assert_eq!(
        next_event(&mut subscription).await,
        ("later".into(), 0, "First".into())
    );
}

#[tokio::test]
async fn stream_subscriptions_read_forwards_and_need_a_stream_name() {
    let cluster = DoubleCluster::start(1).await;
    let mut client = streams(cluster.endpoints()[0]).await;
    for (stream, forwards) in [("s-1", false), ("", true)] {
        let status = client
            .read(read_options(
                stream_option(stream, RevisionOption::Start(Empty {})),
                forwards,
                subscription(),
                no_filter(),
            ))
            .await
            .map(|_| ())
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }
}
