//! The crate's one integration-test binary: the OAuth error each error of the JOSE core is
//! rendered as; the client aggregate; the pairwise-id resolver; and the authorization server
//! over HTTP (`server`). The core itself is tested in `shared/jose`.

mod clients;
mod flow_domain;
mod login_domain;
mod oauth_errors;
mod pairwise;
mod replay_log;
mod server;
mod staff_domain;
mod support;
mod totp_keys;
