//! Request bodies must arrive in time: actix-http cuts off a request whose *head* is not
//! complete within its client request timeout (5 s), but once the head is in it waits for the
//! body as long as the client cares to send it. The [`body_deadline`] middleware wraps the
//! payload: the whole body must be read within [`BodyDeadline::timeout`], and after a grace
//! period the body must keep arriving at [`BodyDeadline::min_bytes_per_sec`] on average.
//! A body that breaks either rule fails the read, and the request is answered with 408
//! `request_timeout` (problem+json) and the connection closed, whatever the handler made of
//! the failed read.
//!
//! The rate rule: at `t` seconds after the head, a body that is still arriving must have
//! delivered at least `min_bytes_per_sec × (t − grace)` bytes. So the only timer needed is
//! the instant that stops being true for the bytes received so far, or the overall deadline,
//! whichever comes first; each chunk moves it.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpMessage, ResponseError};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::{ApiError, ErrorCode};

/// How long a request body may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDeadline {
    /// The whole body must be read within this time after the request head.
    pub timeout: Duration,
    /// After `grace`, the body must arrive at least this fast on average (bytes per second).
    pub min_bytes_per_sec: u64,
    /// The time a body may take before the rate rule applies.
    pub grace: Duration,
}

impl Default for BodyDeadline {
    /// 30 s for the whole body; after 5 s, at least 1 KiB/s on average.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            min_bytes_per_sec: 1024,
            grace: Duration::from_secs(5),
        }
    }
}

impl BodyDeadline {
    /// The instant by which more than `received` bytes (or the end of the body) must have
    /// arrived, given that the head arrived at `start`.
    fn due(&self, start: Instant, received: u64) -> Instant {
        let overall = start + self.timeout;
        if self.min_bytes_per_sec == 0 {
            return overall;
        }
        let earned = Duration::from_secs_f64(received as f64 / self.min_bytes_per_sec as f64);
        overall.min(start + self.grace + earned)
    }
}

/// The payload, failing once its deadline passed.
struct DeadlinePayload {
    inner: Payload,
    limits: BodyDeadline,
    start: Instant,
    received: u64,
    timer: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
    finished: bool,
}

impl DeadlinePayload {
    fn fail(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.finished = true;
        self.expired.set(true);
        Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "request body too slow",
        )))))
    }
}

impl Stream for DeadlinePayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received = this.received.saturating_add(chunk.len() as u64);
                let due = this.limits.due(this.start, this.received);
                if Instant::now() >= this.start + this.limits.timeout {
                    return this.fail();
                }
                this.timer.as_mut().reset(due);
                return Poll::Ready(Some(Ok(chunk)));
            }
            Poll::Ready(other) => {
                this.finished = true;
                return Poll::Ready(other);
            }
            Poll::Pending => {}
        }
        if this.timer.as_mut().poll(cx).is_ready() {
            return this.fail();
        }
        Poll::Pending
    }
}

/// Middleware (use with `actix_web::middleware::from_fn`, outside every middleware that
/// reads the body); see the module documentation. Reads its limits from
/// `Data<BodyDeadline>` in app data (the defaults without it). Requests without a body pass
/// untouched.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let has_body = req
        .headers()
        .contains_key(actix_web::http::header::CONTENT_LENGTH)
        || req
            .headers()
            .contains_key(actix_web::http::header::TRANSFER_ENCODING);
    if !has_body {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    }
    let limits = req
        .app_data::<Data<BodyDeadline>>()
        .map_or_else(BodyDeadline::default, |d| *d.get_ref());
    let start = Instant::now();
    let expired = Rc::new(Cell::new(false));
    let payload = DeadlinePayload {
        inner: req.take_payload(),
        limits,
        start,
        received: 0,
        timer: Box::pin(tokio::time::sleep_until(limits.due(start, 0))),
        expired: Rc::clone(&expired),
        finished: false,
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(payload),
    });
    let result = next.call(req).await;
    if !expired.get() {
        return result.map(ServiceResponse::map_into_boxed_body);
    }
    tracing::info!(
        timeout_secs = limits.timeout.as_secs(),
        min_bytes_per_sec = limits.min_bytes_per_sec,
        "request body too slow; answered 408 and closing the connection"
    );
    let error = ApiError::new(ErrorCode::RequestTimeout).detail(format!(
        "the request body did not arrive in time (within {} s, and at least {} bytes/s after {} s)",
        limits.timeout.as_secs(),
        limits.min_bytes_per_sec,
        limits.grace.as_secs()
    ));
    let res = match result {
        Ok(res) => res,
        Err(_) => return Err(error.into()),
    };
    let mut response = error.error_response();
    response
        .head_mut()
        .set_connection_type(actix_http::ConnectionType::Close);
    Ok(ServiceResponse::new(res.request().clone(), response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_instant_follows_the_bytes_received() {
        let limits = BodyDeadline {
            timeout: Duration::from_secs(30),
            min_bytes_per_sec: 1000,
            grace: Duration::from_secs(5),
        };
        let start = Instant::now();
        assert_eq!(limits.due(start, 0), start + Duration::from_secs(5));
        assert_eq!(limits.due(start, 2000), start + Duration::from_secs(7));
        // never beyond the overall timeout
        assert_eq!(
            limits.due(start, 1_000_000),
            start + Duration::from_secs(30)
        );
        let no_rate = BodyDeadline {
            min_bytes_per_sec: 0,
            ..limits
        };
        assert_eq!(no_rate.due(start, 0), start + Duration::from_secs(30));
    }
}
