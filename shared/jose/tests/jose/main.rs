//! The crate's one integration-test binary: key ring, access tokens, software statements,
//! client assertions and DPoP proofs, with every attack that lives at this layer.

mod access_tokens;
mod client_assertions;
mod dpop;
mod keys;
mod properties;
mod software_statements;
mod support;
