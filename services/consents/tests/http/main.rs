//! The consent service over HTTP and through its application layer (`actix_web::test`
//! against the embedded store in a temporary directory, fake verifier, sessions and ports):
//! the partner API, the customer API and dashboard, the audit API and export, the port
//! operations, concurrency, expiry, the offboarding cascade and tamper evidence.

mod audit;
mod bank;
mod console;
mod customer;
mod grants;
mod jobs;
mod openapi;
mod partner;
mod port;
mod support;
mod tamper;
