//! Data sharing under consent.
//!
//! * [`domain`] — pure: the dataset catalogue and field-level minimisation, the
//!   `CustomerRecords` aggregate, `DataAccessed` evidence, notification subscriptions.
//! * [`application`] — [`SharingState`] and its use cases: publish, read under a consent (recorded
//!   before it is answered), define datasets.
//! * [`audit`] — the compliance audit of data accesses: queries served from the consent's
//!   stream or the streams the access index names, never a scan of the whole log per page.
//! * [`readmodel`] — in-memory read models and the projections that feed them.
//! * [`ports`] — what the hub provides: consent grants, customer ids, webhooks, SET signing.
//! * [`ratelimit`] — per-partner token buckets (per instance).
//! * [`notify`] — event notifications: the dispatcher, the notifications read model, the
//!   push delivery worker, polling.
//! * [`tasks`] — [`SharingTasks`]: the projections and the delivery worker, spawned at once.
//! * [`http`] — [`configure`] mounts the routes; [`SharingApi`] documents them.

pub mod application;
pub mod audit;
pub mod config;
pub mod domain;
pub mod http;
pub mod notify;
pub mod ports;
pub mod ratelimit;
pub mod readmodel;
pub mod tasks;

pub use application::{
    AppError, Publication, Published, ReadQuery, RequestContext, SharingPorts, SharingProjections,
    SharingState,
};
pub use config::{DeliveryConfig, SharingConfig, SharingSection};
pub use http::{SharingApi, configure};
pub use notify::{DeliveryWorker, Dispatcher, NotificationsProjection, NotificationsReader};
pub use ports::{ConsentGrant, ConsentGrants, Customers, PartnerWebhooks, PortError, SetSigner};
pub use ratelimit::Limit;
pub use tasks::SharingTasks;
