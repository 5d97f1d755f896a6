//! How much clock difference between peers every time check tolerates.

use std::time::Duration;

/// How far a peer's clock may be ahead of ours: `iat` and `nbf` may be this far in the future,
/// and `exp` is honoured this long after it passed (BRIEF §4: 10 s).
pub const CLOCK_SKEW: Duration = Duration::from_secs(10);
