//! HTTP tests of the hub against the embedded store: the real app on port 0 with a fresh
//! store per test (`app::spawn_app`).

mod app;
mod conventions;
mod customers;
mod edge;
mod health;
mod migrate;
mod openapi;
mod pairwise;
mod schema;
