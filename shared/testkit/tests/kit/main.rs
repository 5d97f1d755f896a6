//! Tests of the test kit itself.

mod faulty_store;
mod schema;
mod verifier;
