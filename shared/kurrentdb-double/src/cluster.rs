//! What the nodes of a double cluster share: the one log, the leader, each node's address,
//! liveness and tasks. The crate root builds it and drives elections and restarts; the
//! gRPC services read it.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::log::{AppendOutcome, Expected, Log, Proposed};

/// Tasks of one node (accept loop, connections, HTTP/2 streams, response producers), so
/// that stopping the node can end all of them at once.
#[derive(Clone, Default)]
pub(crate) struct TaskSet(Arc<Mutex<JoinSet<()>>>);

impl TaskSet {
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let mut set = self.0.lock().unwrap();
        while set.try_join_next().is_some() {}
        set.spawn(future);
    }

    pub(crate) fn abort_all(&self) {
        self.0.lock().unwrap().abort_all();
    }

    /// Aborts every task and waits until they are all gone (sockets closed).
    pub(crate) async fn stop(&self) {
        loop {
            let mut set = std::mem::take(&mut *self.0.lock().unwrap());
            if set.is_empty() {
                return;
            }
            set.abort_all();
            while set.join_next().await.is_some() {}
        }
    }
}

pub(crate) struct NodeShared {
    pub addr: SocketAddr,
    pub instance_id: Uuid,
    pub alive: AtomicBool,
    /// Bumped when the node stops being leader or stops: aborts its streaming calls.
    pub resign: watch::Sender<u64>,
    pub tasks: TaskSet,
}

impl NodeShared {
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    pub(crate) fn abort_streams(&self) {
        self.resign.send_modify(|epoch| *epoch += 1);
    }
}

pub(crate) struct Shared {
    pub log: Mutex<Log>,
    /// The log's length, published after every write (wakes subscriptions).
    pub appended: watch::Sender<usize>,
    pub leader: AtomicUsize,
    pub nodes: Vec<NodeShared>,
}

impl Shared {
    pub fn leader(&self) -> usize {
        self.leader.load(Ordering::SeqCst)
    }

    pub fn append(&self, stream: &str, expected: Expected, events: Vec<Proposed>) -> AppendOutcome {
        let mut log = self.log.lock().unwrap();
        let outcome = log.append(stream, expected, events);
        self.appended.send_replace(log.len());
        outcome
    }
}
