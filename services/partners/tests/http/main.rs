//! The partner API over HTTP (`actix_web::test` against the embedded store in a temporary
//! directory, a fake token verifier and fake ports): the lifecycle, access control (BOLA,
//! scopes), the console's partner pages (staff sessions, CSRF, maker-checker by person), bad input on every write endpoint, the staff directory, concurrency, and the
//! OpenAPI document.

mod access;
mod approvals;
mod concurrency;
mod console;
mod directory;
mod input;
mod lifecycle;
mod openapi;
mod schema;
mod support;
