//! Runs the KurrentDB protocol double as a standalone process on loopback, for benchmarks of
//! the hub on the KurrentDB backend when no real server is at hand (`tests/perf`):
//! `serve_double [nodes]` prints the connection string on stdout and serves until killed.
//! The double keeps its log in memory: figures measured against it are the cost of the hub and
//! its client, not of a real cluster's disks and replication.

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let nodes = std::env::args()
        .nth(1)
        .map_or(1, |n| n.parse().expect("nodes: a number"));
    let cluster = ecohub_kurrentdb_double::DoubleCluster::start(nodes).await;
    println!("{}", cluster.connection_string());
    std::future::pending::<()>().await;
}
