//! The Ecohub hub: every service in one process, on the embedded store by default.
//!
//! * [`config`] — layered settings.
//! * [`state`] — [`state::AppState`], what every handler shares, and opening the store.
//! * [`startup`] — [`startup::Application`] and [`startup::create_app`], shared by the binary
//!   and the tests.
//! * [`health`] — `/health/live`, `/health/ready`, `/metrics`.
//! * [`metrics`] — Prometheus metrics, the request-tracking middleware, the metered store.
//! * [`demo`] — `serve --demo`: a believable ecosystem written through the public API.
//! * [`migrate`] — copying the log between stores (`ecohub migrate`).
//! * [`projections`] — the hub's own read models.
//! * [`services`] — wiring of the service crates (auth, partners) and their ports.
//! * [`openapi`] — the OpenAPI document.
//! * [`telemetry`] — structured logs.

pub mod config;
pub mod consent_ports;
pub mod demo;
pub mod health;
pub mod metrics;
pub mod migrate;
pub mod offers_ports;
pub mod openapi;
pub mod projections;
pub mod services;
pub mod sharing_ports;
pub mod startup;
pub mod state;
pub mod telemetry;
