//! HTTP plumbing every Ecohub service uses.
//!
//! * [`error`] — the one error-code table ([`ErrorCode`]) and [`ApiError`], rendered as
//!   `application/problem+json` (RFC 9457) with a stable `code` and a `type` linking to the
//!   code's row in `docs/errors.md`.
//! * [`interaction`] — `x-fapi-interaction-id`: validated, echoed (or generated) on every
//!   response, available to handlers and error bodies.
//! * [`idempotency`] — `x-idempotency-key` on POST/PUT/PATCH: same body → same response,
//!   different body → 409, 24 h window.
//! * [`extract`] — JSON/query/path extractor configuration whose failures are problem
//!   responses, and the fallback that turns any bare error status into one.
//! * [`pagination`] — cursor pagination with `links.next`.
//! * [`encoding`] — percent-encoding of query values (links, redirects).
//!
//! Architecture invariant: this crate knows nothing about any service's domain or about the
//! event store.

pub mod encoding;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod interaction;
pub mod pagination;

pub use encoding::percent_encode;
pub use error::{ApiError, ERROR_DOCS_URL, ErrorCode, FieldError, PROBLEM_JSON, Problem};
pub use extract::{json_config, path_config, problem_fallback, query_config};
pub use idempotency::{
    IdempotencyConfig, IdempotencyStore, InMemoryIdempotencyStore, SharedIdempotencyStore,
    idempotency,
};
pub use interaction::{INTERACTION_ID_HEADER, InteractionId, interaction_id};
pub use pagination::{Cursor, Links, Page, PageQuery};
