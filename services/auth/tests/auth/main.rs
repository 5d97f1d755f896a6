//! The crate's one integration-test binary: key ring, access tokens, software statements,
//! client assertions and DPoP proofs, with every attack that lives at this layer; the client
//! aggregate; the pairwise-id resolver; and the authorization server over HTTP (`server`).

mod access_tokens;
mod client_assertions;
mod clients;
mod dpop;
mod flow_domain;
mod keys;
mod login_domain;
mod pairwise;
mod server;
mod software_statements;
mod support;
