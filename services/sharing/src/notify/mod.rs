//! Event notifications: the dispatcher that turns hub events into queued SETs, the read
//! model of notifications, the push delivery worker and the use cases behind the
//! subscription, delivery-log and polling endpoints.
//!
//! * [`Dispatcher`] is a [`Projection`] over `consent-*`, `partner-*`, `records-*`,
//!   `offercontacts-*` and `eventsub-*` with a durable checkpoint (stream
//!   `sharingdispatch-checkpoint`). It keeps the subscriptions and the consents it has seen in
//!   memory (rebuilt from the log up to the checkpoint at start), maps events through
//!   [`MAPPINGS`], and queues one `Notification` per matching subscription. The jti is derived
//!   from the subscription and the source event and queuing is idempotent, so replaying after
//!   a crash queues nothing twice.
//! * [`NotificationsProjection`] feeds [`NotificationsReader`] (in memory, rebuilt at start),
//!   which indexes pending notifications by when they are due and wakes the delivery worker
//!   when one is queued.
//! * [`DeliveryWorker`](crate::DeliveryWorker) pushes due notifications, as soon as they are
//!   queued here (every `tick` for retries and other instances' notifications), up to
//!   `concurrency` at once: it claims the attempt by appending at the revision it read (two
//!   instances cannot both claim it), signs, POSTs `application/secevent+jwt`, and records the
//!   outcome. A 202 acknowledges; anything else is retried with exponential backoff up to
//!   `max_retries`. A crash between the POST and recording its outcome makes that attempt run
//!   again after the claim expires (at least once; receivers dedupe by `jti`, RFC 8935 §2).
//!
//! Everything here sits below the application layer, which builds the read models and
//! projections: the use cases (methods of [`SharingState`](crate::SharingState)) are in
//! `application::subscriptions`, and the [`DeliveryWorker`](crate::DeliveryWorker), a job
//! that runs them, in [`crate::tasks`].

pub mod dispatcher;
pub mod poll;
pub mod reader;

pub use dispatcher::{DISPATCHER_CHECKPOINT_STREAM, Dispatcher};
pub use poll::{Poll, Polled};
pub use reader::{LoggedAttempt, NotificationsProjection, NotificationsReader};
