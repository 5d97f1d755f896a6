//! The partner API over HTTP (`actix_web::test` against the embedded store in a temporary
//! directory, a fake token verifier and fake ports): the lifecycle, access control (BOLA,
//! scopes), bad input on every write endpoint, the staff directory, concurrency, and the
//! OpenAPI document.

mod access;
mod concurrency;
mod directory;
mod input;
mod lifecycle;
mod openapi;
mod schema;
mod support;
