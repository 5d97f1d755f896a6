//! The sharing API over HTTP (`actix_web::test` against the embedded store in a temporary
//! directory, a fake token verifier and fake ports): the catalogue, publishing, reading
//! under a consent with minimisation, access records, rate limits, event notifications (and
//! the due index of their read model) and the OpenAPI document.

mod audit;
mod audit_index;
mod catalogue;
mod compliance;
mod due_index;
mod notifications;
mod openapi;
mod properties;
mod publish;
mod read;
mod support;
