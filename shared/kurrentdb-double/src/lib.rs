//! An in-process gRPC **test double of EventStoreDB / KurrentDB**, backed by memory.
//!
//! It speaks the protocol subset of `ecohub-kurrentdb-proto` (`Streams.Read`,
//! `Streams.Append`, `Streams.BatchAppend`, `Gossip.Read`, `ServerFeatures.GetSupportedMethods`)
//! on loopback, plain text (no TLS), so that the hub's EventStoreDB backend can be tested
//! without a server, and official clients can check it (`tests/kurrentdb-conformance`). Test
//! support only: depend on it as a dev-dependency, never from a shipped binary.
//!
//! A [`DoubleCluster`] runs 1..n nodes that share one in-memory log; one of them is the
//! leader. Followers answer requests carrying `requires-leader: true` like a real follower
//! (NOT_FOUND, `exception: not-leader` and the leader's endpoint in the trailers) and serve
//! other reads from the shared log. [`DoubleCluster::elect`] moves leadership and aborts the
//! old leader's streaming calls with UNAVAILABLE; [`DoubleCluster::stop_node`] kills a node's
//! listener and connections like `kill -9` (connections refused until
//! [`DoubleCluster::restart_node`]).
//!
//! Semantics (the tests under `tests/` pin each of them down):
//! * appends: the server's expected-revision rules, conflicts as a successful `AppendResp`
//!   with `wrong_expected_version`, idempotent retries of the same event ids;
//! * batch appends: one atomic append per correlation id, its options in the first request,
//!   `is_final` in the last, several multiplexed on one call; failures (wrong expected
//!   version, bad request, a deadline already passed) as the server's `google.rpc.Status` in
//!   the answer, not as the call's status;
//! * `ServerFeatures` lists exactly the methods above, so that official clients pick
//!   `BatchAppend` as on a real server and try nothing the double lacks;
//! * positions: commit == prepare, strictly increasing, not contiguous; two system events
//!   (`$epoch-information`, `$settings`) precede user events;
//! * reads: inclusive start in both directions on streams and `$all`; `$all` filters on the
//!   stream name or event type by prefixes or by any regex, searched as .NET's
//!   `Regex.IsMatch` does, look-ahead included (the official clients' system-event
//!   exclusions need it);
//! * subscriptions, to `$all` or to one stream (which need not exist yet): confirmation,
//!   history after the (exclusive) start, one `caught_up`, then live events; on `$all` with a
//!   filter, checkpoints every window × multiplier events scanned. Each subscription has its
//!   own producer task that pulls from the log by position into a bounded channel, so a slow
//!   subscriber never blocks appends nor makes the double buffer without bound (it is never
//!   dropped for being slow, unlike a real server).
//!
//! Left out on purpose (UNIMPLEMENTED, or ignored): deletes and tombstones, stream metadata,
//! persistent subscriptions, projections, users, operations, the v2 append APIs, link
//! resolution, authentication, the maximum append size.

mod cluster;
mod filter;
mod log;
mod service;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ecohub_kurrentdb_proto::gossip::gossip_server::GossipServer;
use ecohub_kurrentdb_proto::server_features::server_features_server::ServerFeaturesServer;
use ecohub_kurrentdb_proto::streams::streams_server::StreamsServer;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tonic::service::Routes;
use uuid::Uuid;

use crate::cluster::{NodeShared, Shared, TaskSet};
use crate::log::Log;
use crate::service::NodeService;

/// hyper's executor for a node's HTTP/2 streams: spawns onto the node's task set.
#[derive(Clone)]
struct NodeExecutor(TaskSet);

impl<F> hyper::rt::Executor<F> for NodeExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        self.0.spawn(async move {
            future.await;
        });
    }
}

/// A cluster of in-process EventStoreDB doubles sharing one in-memory log.
pub struct DoubleCluster {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DoubleCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DoubleCluster")
            .field("endpoints", &self.endpoints())
            .field("leader", &self.leader())
            .finish()
    }
}

async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

async fn accept_loop(listener: TcpListener, routes: Routes, tasks: TaskSet) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(routes.clone());
        let executor = NodeExecutor(tasks.clone());
        tasks.spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(executor)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

impl DoubleCluster {
    /// Starts `nodes` nodes (1 or 3 typically) on 127.0.0.1:0, all sharing one in-memory
    /// log; node 0 is leader.
    pub async fn start(nodes: usize) -> DoubleCluster {
        assert!(nodes > 0, "a cluster needs at least one node");
        let mut listeners = Vec::with_capacity(nodes);
        for _ in 0..nodes {
            let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0)))
                .await
                .expect("bind 127.0.0.1:0");
            listeners.push(listener);
        }
        let log = Log::with_system_events();
        let (appended, _) = watch::channel(log.len());
        let shared = Arc::new(Shared {
            log: Mutex::new(log),
            appended,
            leader: AtomicUsize::new(0),
            nodes: listeners
                .iter()
                .map(|l| NodeShared {
                    addr: l.local_addr().expect("local address"),
                    instance_id: Uuid::new_v4(),
                    alive: AtomicBool::new(true),
                    resign: watch::channel(0).0,
                    tasks: TaskSet::default(),
                })
                .collect(),
        });
        let cluster = DoubleCluster { shared };
        for (i, listener) in listeners.into_iter().enumerate() {
            cluster.serve(i, listener);
        }
        cluster
    }

    fn serve(&self, i: usize, listener: TcpListener) {
        let service = NodeService {
            shared: self.shared.clone(),
            index: i,
        };
        let routes = Routes::new(StreamsServer::new(service.clone()))
            .add_service(GossipServer::new(service.clone()))
            .add_service(ServerFeaturesServer::new(service))
            .prepare();
        let node = &self.shared.nodes[i];
        node.tasks
            .spawn(accept_loop(listener, routes, node.tasks.clone()));
        node.alive.store(true, Ordering::SeqCst);
    }

    /// The nodes' addresses, by index.
    pub fn endpoints(&self) -> Vec<SocketAddr> {
        self.shared.nodes.iter().map(|n| n.addr).collect()
    }

    /// `kurrentdb://127.0.0.1:p0?tls=false`, or every node as a seed for several
    /// (`kurrentdb://127.0.0.1:p0,127.0.0.1:p1,127.0.0.1:p2?tls=false`, no `+discover`).
    pub fn connection_string(&self) -> String {
        let hosts: Vec<String> = self.endpoints().iter().map(|a| a.to_string()).collect();
        format!("kurrentdb://{}?tls=false", hosts.join(","))
    }

    /// The current leader's index.
    pub fn leader(&self) -> usize {
        self.shared.leader()
    }

    /// Elects node `i` as leader. The old leader becomes a follower and, like a real
    /// resigning leader, aborts its in-flight streaming calls (subscriptions/reads) with
    /// status UNAVAILABLE so clients must reconnect.
    pub fn elect(&self, i: usize) {
        assert!(i < self.shared.nodes.len(), "no node {i}");
        let old = self.shared.leader.swap(i, Ordering::SeqCst);
        if old != i {
            self.shared.nodes[old].abort_streams();
        }
    }

    /// Stops node i's server: its listener and every connection are closed at once (like a
    /// killed process) and further connections are refused. If it is the leader, no
    /// automatic election: call [`DoubleCluster::elect`].
    pub async fn stop_node(&self, i: usize) {
        let node = &self.shared.nodes[i];
        node.alive.store(false, Ordering::SeqCst);
        node.abort_streams();
        node.tasks.stop().await;
    }

    /// Restarts a stopped node on the same port (no-op if it is running).
    pub async fn restart_node(&self, i: usize) {
        let node = &self.shared.nodes[i];
        if node.is_alive() {
            return;
        }
        let listener = bind(node.addr)
            .await
            .unwrap_or_else(|e| panic!("rebind {}: {e}", node.addr));
        self.serve(i, listener);
    }

    /// Number of events in the log (including the double's system events).
    pub fn event_count(&self) -> usize {
        self.shared.log.lock().unwrap().len()
    }

    /// Number of subscriptions the nodes are serving (to `$all` or to a stream).
    pub fn live_subscriptions(&self) -> usize {
        self.shared.appended.receiver_count()
    }

    /// Shuts everything down.
    pub async fn shutdown(self) {
        for node in &self.shared.nodes {
            node.alive.store(false, Ordering::SeqCst);
            node.abort_streams();
            node.tasks.stop().await;
        }
    }
}

/// Abort every node's tasks; nothing waits, so dropping a cluster never hangs a test.
impl Drop for DoubleCluster {
    fn drop(&mut self) {
        for node in &self.shared.nodes {
            node.tasks.abort_all();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cluster_can_be_shared_across_tasks() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<super::DoubleCluster>();
    }
}
