//! What a remembered check depends on: the heads of the stream categories it reads. A token is
//! usable, and a client may authenticate, according to streams of four categories only —
//! revocations, clients, partners and consents (the consent service writes to the same store).
//! A check remembered with the [`Stamp`] read *before* it ran is still exact while a new
//! reading is equal: no stream of those categories has changed since. Appends elsewhere (data
//! access records, replay markers, projections' checkpoints) do not invalidate it; on stores
//! that do not track categories the stamp is the global head, exact and only coarser.

use ecohub_eventstore::{EventStore, Position, StoreError};

/// The categories whose streams decide whether a token or client is current.
pub(crate) const DECIDING_CATEGORIES: [&str; 4] =
    ["revocation-", "client-", "partner-", "consent-"];

/// The deciding categories' heads, in [`DECIDING_CATEGORIES`] order.
pub(crate) type Stamp = Vec<Option<Position>>;

/// Reads the stamp now.
pub(crate) async fn read_stamp(store: &dyn EventStore) -> Result<Stamp, StoreError> {
    store.category_heads(&DECIDING_CATEGORIES).await
}
