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
//! * [`accept`] — content negotiation: 406 `not_acceptable` before the handler runs when
//!   `Accept` admits nothing the route answers with.
//! * [`deadline`] — request bodies must arrive within a deadline and at a minimum rate
//!   (408 `request_timeout` otherwise).
//! * [`brand`] — the bank's name, logo, primary colour and support contact on every page.
//! * [`encoding`] — percent-encoding of query values (links, redirects).
//! * [`console`] — what every console page renders alike: a page with its status, the
//!   message page in words.
//!
//! Architecture invariant: this crate knows nothing about any service's domain or about the
//! event store.

// The shared templates name this crate by its name (`ecohub_http::brand`), here too.
extern crate self as ecohub_http;

pub mod accept;
pub mod brand;
pub mod console;
pub mod deadline;
pub mod encoding;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod interaction;
mod interaction_context;
pub mod page;
pub mod pagination;

pub use accept::{Representations, negotiate};
pub use brand::Brand;
pub use deadline::{BodyDeadline, body_deadline};
pub use encoding::percent_encode;
pub use error::{ApiError, ERROR_DOCS_URL, ErrorCode, FieldError, PROBLEM_JSON, Problem};
pub use extract::{json_config, path_config, problem_fallback, query_config};
pub use idempotency::{
    IdempotencyConfig, IdempotencyStore, InMemoryIdempotencyStore, SharedIdempotencyStore,
    idempotency,
};
pub use interaction::{INTERACTION_ID_HEADER, InteractionId, interaction_id};
pub use page::{PAGE_CSP, html_page, see_other};
pub use pagination::{Cursor, Links, Page, PageMeta, PageQuery};
