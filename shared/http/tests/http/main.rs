//! The HTTP plumbing's one integration-test binary.

mod error_table;
mod middleware;
mod problems;
mod properties;
mod support;
