//! Several nodes: requires-leader on followers, gossip, elections aborting the old leader's
//! streaming calls, stopping and restarting nodes, shutdown.

mod common;

use common::*;
use ecohub_kurrentdb_double::DoubleCluster;
use ecohub_kurrentdb_proto::gossip::gossip_client::GossipClient;
use ecohub_kurrentdb_proto::gossip::member_info::VNodeState;
use ecohub_kurrentdb_proto::shared::Empty;
use ecohub_kurrentdb_proto::streams::read_req::options::all_options::AllOption;
use ecohub_kurrentdb_proto::streams::read_req::options::stream_options::RevisionOption;
use ecohub_kurrentdb_proto::streams::read_resp::Content;
use ecohub_kurrentdb_proto::streams::streams_client::StreamsClient;
use tonic::Code;
use uuid::Uuid;

fn assert_not_leader(status: &tonic::Status, leader: std::net::SocketAddr) {
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(status.message(), "Leader info available");
    let m = status.metadata();
    assert_eq!(m.get("exception").unwrap(), "not-leader");
    assert_eq!(
        m.get("leader-endpoint-host").unwrap(),
        leader.ip().to_string().as_str()
    );
    assert_eq!(
        m.get("leader-endpoint-port").unwrap(),
        leader.port().to_string().as_str()
    );
}

async fn states(addr: std::net::SocketAddr) -> Vec<(VNodeState, bool, u32)> {
    let mut client = gossip(addr).await;
    let info = client.read(Empty {}).await.unwrap().into_inner();
    info.members
        .iter()
        .map(|m| {
            assert!(m.instance_id.is_some());
            assert!(m.time_stamp > 0);
            let ep = m.http_end_point.as_ref().unwrap();
            assert_eq!(ep.address, "127.0.0.1");
            (m.state(), m.is_alive, ep.port)
        })
        .collect()
}

#[tokio::test]
async fn connection_strings() {
    let one = DoubleCluster::start(1).await;
    let e = one.endpoints();
    assert_eq!(
        one.connection_string(),
        format!("kurrentdb://127.0.0.1:{}?tls=false", e[0].port())
    );
    let three = DoubleCluster::start(3).await;
    let e = three.endpoints();
    assert_eq!(
        three.connection_string(),
        format!("kurrentdb://{},{},{}?tls=false", e[0], e[1], e[2])
    );
    assert_eq!(three.leader(), 0);
    one.shutdown().await;
    three.shutdown().await;
}

#[tokio::test]
async fn followers_redirect_leader_requests_and_serve_other_reads() {
    let cluster = DoubleCluster::start(3).await;
    let e = cluster.endpoints();
    let mut leader = streams(e[0]).await;
    let mut follower = streams(e[1]).await;
    append_one(&mut leader, "f-1", "E").await;

    let status = try_append_raw(
        &mut follower,
        append_messages("f-1", any(), vec![proposed(Uuid::new_v4(), "E", "{}")]),
    )
    .await
    .unwrap_err();
    assert_not_leader(&status, e[0]);
    let request = || {
        read_options(
            stream_option("f-1", RevisionOption::Start(Empty {})),
            true,
            count(10),
            no_filter(),
        )
    };
    let status = follower
        .read(leader_request(request()))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_not_leader(&status, e[0]);
    assert_eq!(cluster.event_count(), 3, "nothing written by the follower");

    // Without the header, a follower reads (the shared log).
    let mut stream = follower.read(request()).await.unwrap().into_inner();
    let m = stream.message().await.unwrap().unwrap();
    assert!(matches!(m.content, Some(Content::Event(_))));

    // After an election the redirect follows the new leader, and the old leader redirects.
    cluster.elect(1);
    assert_eq!(cluster.leader(), 1);
    append_one(&mut follower, "f-1", "E").await;
    let status = try_append_raw(
        &mut leader,
        append_messages("f-1", any(), vec![proposed(Uuid::new_v4(), "E", "{}")]),
    )
    .await
    .unwrap_err();
    assert_not_leader(&status, e[1]);
}

#[tokio::test]
async fn gossip_lists_every_node_and_follows_elections_and_stops() {
    let cluster = DoubleCluster::start(3).await;
    let e = cluster.endpoints();
    let ports: Vec<u32> = e.iter().map(|a| u32::from(a.port())).collect();
    for &addr in &e {
        assert_eq!(
            states(addr).await,
            vec![
                (VNodeState::Leader, true, ports[0]),
                (VNodeState::Follower, true, ports[1]),
                (VNodeState::Follower, true, ports[2]),
            ]
        );
    }
    cluster.elect(2);
    assert_eq!(
        states(e[1]).await.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![
            VNodeState::Follower,
            VNodeState::Follower,
            VNodeState::Leader
        ]
    );
    cluster.stop_node(0).await;
    let s = states(e[2]).await;
    assert_eq!(s[0], (VNodeState::Shutdown, false, ports[0]));
    assert_eq!(s[2].0, VNodeState::Leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_election_aborts_the_old_leaders_streaming_calls() {
    let cluster = DoubleCluster::start(3).await;
    let e = cluster.endpoints();
    let mut on_leader = streams(e[0]).await;
    let mut on_follower = streams(e[2]).await;
    let subscribe = |from| read_options(all_option(from), true, subscription(), no_filter());
    let mut old = on_leader
        .read(leader_request(subscribe(AllOption::Start(Empty {}))))
        .await
        .unwrap()
        .into_inner();
    let mut other = on_follower
        .read(subscribe(AllOption::End(Empty {})))
        .await
        .unwrap()
        .into_inner();
    for s in [&mut old, &mut other] {
        assert!(matches!(
            s.message().await.unwrap().unwrap().content,
            Some(Content::Confirmation(_))
        ));
    }
    assert!(matches!(
        other.message().await.unwrap().unwrap().content,
        Some(Content::CaughtUp(_))
    ));

    cluster.elect(1);
    // The old leader's subscription ends with UNAVAILABLE (after any messages in flight).
    let status = loop {
        match old.message().await {
            Ok(Some(m)) => assert!(matches!(
                m.content,
                Some(Content::Event(_) | Content::CaughtUp(_))
            )),
            Ok(None) => panic!("ended without an error"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::Unavailable);

    // Other nodes' streams go on; the old leader still serves non-leader reads.
    let mut new_leader = streams(e[1]).await;
    let (_, p) = append_one(&mut new_leader, "after-1", "E").await;
    match other.message().await.unwrap().unwrap().content {
        Some(Content::Event(ev)) => assert_eq!(ev.event.unwrap().commit_position, p),
        other => panic!("{other:?}"),
    }
    let mut again = on_leader.read(subscribe(at(p))).await.unwrap().into_inner();
    assert!(matches!(
        again.message().await.unwrap().unwrap().content,
        Some(Content::Confirmation(_))
    ));
    assert!(matches!(
        again.message().await.unwrap().unwrap().content,
        Some(Content::CaughtUp(_))
    ));
    let status = on_leader
        .read(leader_request(subscribe(at(p))))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_not_leader(&status, e[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_nodes_refuse_connections_until_restarted() {
    let cluster = DoubleCluster::start(3).await;
    let e = cluster.endpoints();
    let mut client = streams(e[0]).await;
    append_one(&mut client, "s-1", "Before").await;
    let mut subscription = client
        .read(read_options(
            all_option(AllOption::End(Empty {})),
            true,
            subscription(),
            no_filter(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        subscription.message().await.unwrap().unwrap().content,
        Some(Content::Confirmation(_))
    ));

    cluster.stop_node(0).await;
    // The open call fails, new connections are refused.
    let ended = loop {
        match subscription.message().await {
            Ok(Some(_)) => {}
            Ok(None) => break true,
            Err(_) => break true,
        }
    };
    assert!(ended);
    assert!(
        StreamsClient::connect(format!("http://{}", e[0]))
            .await
            .is_err()
    );
    assert!(
        GossipClient::connect(format!("http://{}", e[0]))
            .await
            .is_err()
    );
    assert!(append_one_fails(&mut client).await);

    // No automatic election: the cluster still names node 0.
    assert_eq!(cluster.leader(), 0);
    cluster.elect(1);
    let mut leader = streams(e[1]).await;
    append_one(&mut leader, "s-1", "WhileDown").await;

    cluster.restart_node(0).await;
    let mut restarted = streams(e[0]).await;
    let events = read_events(
        &mut restarted,
        read_options(
            stream_option("s-1", RevisionOption::Start(Empty {})),
            true,
            count(10),
            no_filter(),
        ),
    )
    .await;
    assert_eq!(
        events.iter().map(type_of).collect::<Vec<_>>(),
        vec!["Before", "WhileDown"]
    );
    let s = states(e[0]).await;
    assert_eq!((s[0].0, s[0].1), (VNodeState::Follower, true));
    assert_eq!(s[1].0, VNodeState::Leader);
    let status = try_append_raw(
        &mut restarted,
        append_messages("s-1", any(), vec![proposed(Uuid::new_v4(), "E", "{}")]),
    )
    .await
    .unwrap_err();
    assert_not_leader(&status, e[1]);
    cluster.shutdown().await;
}

async fn append_one_fails(client: &mut StreamsClient<tonic::transport::Channel>) -> bool {
    try_append_raw(
        client,
        append_messages("s-1", any(), vec![proposed(Uuid::new_v4(), "E", "{}")]),
    )
    .await
    .is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_cluster_closes_its_connections() {
    let cluster = DoubleCluster::start(1).await;
    let addr = cluster.endpoints()[0];
    let mut client = streams(addr).await;
    let mut subscription = client
        .read(read_options(
            all_option(AllOption::End(Empty {})),
            true,
            subscription(),
            no_filter(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(matches!(
        subscription.message().await.unwrap().unwrap().content,
        Some(Content::Confirmation(_))
    ));
    drop(cluster);
    // Ends (with an error) instead of hanging.
    while let Ok(Some(_)) = subscription.message().await {}
    // The listener goes when its aborted task is dropped, on a worker thread, moments after
    // `drop` returns (until then the kernel still completes handshakes): wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while StreamsClient::connect(format!("http://{addr}"))
        .await
        .is_ok()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the dropped cluster still accepts connections"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
