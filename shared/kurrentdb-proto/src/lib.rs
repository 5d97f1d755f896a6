//! Generated gRPC types for the subset of the EventStoreDB / KurrentDB protocol the hub uses
//! (`Streams.Read`, `Streams.Append`, `Gossip.Read`), plus what only the test double serves for
//! the official clients (`Streams.BatchAppend`, `ServerFeatures.GetSupportedMethods`). The
//! `.proto` files under `proto/` are the project's own, written from the protocol's published
//! messages and field numbers.

#![allow(missing_docs, clippy::all, clippy::pedantic, rust_2018_idioms)]

/// Modules mirror the protobuf packages so that generated cross-package paths resolve.
pub mod event_store {
    pub mod client {
        tonic::include_proto!("event_store.client");

        /// `event_store.client.streams`: reads, subscriptions and appends.
        pub mod streams {
            tonic::include_proto!("event_store.client.streams");
        }

        /// `event_store.client.gossip`: cluster membership.
        pub mod gossip {
            tonic::include_proto!("event_store.client.gossip");
        }

        /// `event_store.client.server_features`: which methods a server implements.
        pub mod server_features {
            tonic::include_proto!("event_store.client.server_features");
        }
    }
}

/// `google.rpc`: the `Status` carried in a `BatchAppendResp` error.
pub mod google {
    pub mod rpc {
        tonic::include_proto!("google.rpc");
    }
}

/// `event_store.client`: shared messages.
pub use event_store::client as shared;
pub use event_store::client::{gossip, server_features, streams};
