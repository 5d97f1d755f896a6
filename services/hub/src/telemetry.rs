//! Structured logging, set up once per process.

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::prelude::*;

use crate::config::{LogFormat, LogSettings};

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output (the server: logs are its output).
    Stdout,
    /// Standard error (commands whose stdout is a result, such as `migrate`).
    Stderr,
}

/// Installs the global subscriber: JSON lines (default) or pretty output, filtered by
/// `settings.level` (or `RUST_LOG` when set). Calling it twice is harmless.
pub fn init(settings: &LogSettings, target: LogTarget) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(&settings.level));
    let writer = move || -> Box<dyn std::io::Write> {
        match target {
            LogTarget::Stdout => Box::new(std::io::stdout()),
            LogTarget::Stderr => Box::new(std::io::stderr()),
        }
    };
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match settings.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_span_events(FmtSpan::NONE)
                    .with_writer(writer)
                    .with_filter(ClientStreamErrors),
            )
            .try_init(),
        LogFormat::Pretty => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_span_events(FmtSpan::NONE)
                    .with_writer(writer)
                    .with_filter(ClientStreamErrors),
            )
            .try_init(),
    };
}

/// actix-http answers a request head it cannot take (more than 96 headers or a head over
/// 128 KiB: 431; a head not complete within 5 s: 408) inside its HTTP/1 codec, before any
/// middleware, and then logs the connection's "stream error" at ERROR under
/// `actix_http::h1::dispatcher`. Those are client mistakes, not faults of the hub: this filter
/// drops them at ERROR and logs them again at INFO (target `ecohub::http`), leaving every
/// other event (other dispatcher errors included) untouched.
struct ClientStreamErrors;

/// Whether an event is actix-http's "stream error" line.
fn is_client_stream_error(event: &Event<'_>) -> bool {
    let meta = event.metadata();
    if *meta.level() != Level::ERROR || meta.target() != "actix_http::h1::dispatcher" {
        return false;
    }
    let mut message = Message(String::new());
    event.record(&mut message);
    message.0.starts_with("stream error")
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S> Filter<S> for ClientStreamErrors {
    fn enabled(&self, _: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, _: &Context<'_, S>) -> bool {
        if is_client_stream_error(event) {
            let mut message = Message(String::new());
            event.record(&mut message);
            tracing::info!(
                target: "ecohub::http",
                error = %message.0.trim_start_matches("stream error: "),
                "connection closed by the HTTP codec after a client error"
            );
            return false;
        }
        true
    }
}
