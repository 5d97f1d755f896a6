//! How fresh a read must be. By default a read covers every append acknowledged before the
//! call began. A request may widen that to "before the request began" ([`reads_cover_from`]):
//! every check in the request may then share one reading of the store's head, which is what
//! exactness across instances asks for (a revocation acknowledged by another instance is
//! refused on the next request that *starts* after the acknowledgement). A backend that must
//! ask a remote leader for its head (KurrentDB) saves a round trip per check; one that reads
//! its head from memory (the embedded store) ignores the scope.
//!
//! A scope never hides this instance's own writes or a concurrent writer that has just won:
//! backends answer at least the position of every append they acknowledged before the call,
//! and after a `WrongExpectedVersion` they read afresh (see the KurrentDB backend).

use std::future::Future;
use std::time::Instant;

tokio::task_local! {
    static READS_COVER: Instant;
}

/// Runs `f` with reads that need only cover the appends acknowledged before `since` (the
/// instant the request began). Nested scopes keep the inner one.
pub async fn reads_cover_from<F: Future>(since: Instant, f: F) -> F::Output {
    READS_COVER.scope(since, f).await
}

/// The instant the current read must cover acknowledged appends up to: the enclosing
/// [`reads_cover_from`] scope's, else now (the call itself).
pub fn reads_must_cover() -> Instant {
    READS_COVER
        .try_with(|since| *since)
        .unwrap_or_else(|_| Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scope_sets_the_instant_and_outside_it_is_now() {
        let since = Instant::now();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        assert_eq!(
            reads_cover_from(since, async { reads_must_cover() }).await,
            since
        );
        let before = Instant::now();
        assert!(reads_must_cover() >= before);
        let inner = Instant::now();
        let seen = reads_cover_from(since, reads_cover_from(inner, async { reads_must_cover() }));
        assert_eq!(seen.await, inner);
    }
}
