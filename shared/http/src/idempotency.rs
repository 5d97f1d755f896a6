//! `x-idempotency-key` (OBIE): a POST/PUT/PATCH retried with the same key and the same body
//! gets the first response again (marked `x-idempotent-replayed: true`) without running the
//! handler twice; the same key with a different body is a 409; a retry while the first is
//! still running is a 409 too. Keys are scoped to the caller (its credentials), the method
//! and the path, and remembered for a configurable window (24 h by default).
//!
//! 5xx responses are not remembered: the operation may not have happened, so a retry runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpResponse, ResponseError};
use sha2::{Digest, Sha256};

use crate::{ApiError, ErrorCode};

/// The request header.
pub const IDEMPOTENCY_KEY_HEADER: HeaderName = HeaderName::from_static("x-idempotency-key");
/// Set on a replayed response.
pub const REPLAYED_HEADER: HeaderName = HeaderName::from_static("x-idempotent-replayed");
/// The response headers a replay repeats: the representation's, and those its status
/// requires (`Allow` on 405 and `WWW-Authenticate` on 401, RFC 9110 §15.5.6 and §11.6.1;
/// `Retry-After`). Per-exchange headers (`Date`, the interaction id, …) are the replay's own.
const REPLAYED_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::LOCATION,
    header::ETAG,
    header::ALLOW,
    header::WWW_AUTHENTICATE,
    header::RETRY_AFTER,
];
/// Longest key accepted (OBIE: 40 characters).
pub const MAX_KEY_LEN: usize = 40;

/// Settings of the idempotency middleware.
#[derive(Debug, Clone)]
pub struct IdempotencyConfig {
    /// How long a key is remembered.
    pub window: Duration,
    /// Most keys remembered at once; beyond it new keys are refused with 429 rather than
    /// forgetting keys still inside their window.
    pub max_entries: usize,
    /// Largest request body the middleware will buffer and fingerprint.
    pub max_body_bytes: usize,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(24 * 3600),
            max_entries: 1_000_000,
            max_body_bytes: crate::extract::MAX_JSON_BYTES,
        }
    }
}

/// A remembered response.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

#[derive(Debug, Clone)]
enum Entry {
    InFlight {
        fingerprint: [u8; 32],
        since: Instant,
    },
    Done {
        fingerprint: [u8; 32],
        at: Instant,
        response: StoredResponse,
    },
}

/// What the store says about a key being claimed.
#[derive(Debug)]
pub enum Claim {
    /// New key: run the request, then `complete` or `release`.
    Proceed,
    /// Same key, same request, finished: replay this.
    Replay(StoredResponse),
    /// Same key, different request.
    Mismatch,
    /// Same key, still running.
    InProgress,
    /// The store is full of live keys.
    Full,
}

/// Where keys and responses are remembered.
///
/// The in-memory store serves one instance; a store shared by every instance (on the event
/// store) plugs in here when the hub runs as several processes.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims `key` for a request with this body fingerprint.
    fn claim(&self, key: &str, fingerprint: [u8; 32]) -> Claim;
    /// Records the response of a claimed key.
    fn complete(&self, key: &str, fingerprint: [u8; 32], response: StoredResponse);
    /// Forgets a claimed key (the request failed in a way that must not be replayed).
    fn release(&self, key: &str);
}

/// Process-local idempotency store with expiry.
#[derive(Debug)]
pub struct InMemoryIdempotencyStore {
    config: IdempotencyConfig,
    entries: Mutex<HashMap<String, Entry>>,
}

impl InMemoryIdempotencyStore {
    /// A store with these settings.
    pub fn new(config: IdempotencyConfig) -> Self {
        Self {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn sweep(&self, entries: &mut HashMap<String, Entry>, now: Instant) {
        let window = self.config.window;
        entries.retain(|_, e| match e {
            // A request that has been in flight for longer than the window is abandoned.
            Entry::InFlight { since, .. } => now.duration_since(*since) < window,
            Entry::Done { at, .. } => now.duration_since(*at) < window,
        });
    }
}

impl IdempotencyStore for InMemoryIdempotencyStore {
    fn claim(&self, key: &str, fingerprint: [u8; 32]) -> Claim {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = entries.get(key) {
            let live = match entry {
                Entry::InFlight { since, .. } => now.duration_since(*since) < self.config.window,
                Entry::Done { at, .. } => now.duration_since(*at) < self.config.window,
            };
            if live {
                return match entry {
                    Entry::InFlight { fingerprint: f, .. } if *f == fingerprint => {
                        Claim::InProgress
                    }
                    Entry::Done {
                        fingerprint: f,
                        response,
                        ..
                    } if *f == fingerprint => Claim::Replay(response.clone()),
                    _ => Claim::Mismatch,
                };
            }
        }
        if entries.len() >= self.config.max_entries {
            self.sweep(&mut entries, now);
            if entries.len() >= self.config.max_entries {
                return Claim::Full;
            }
        }
        entries.insert(
            key.to_owned(),
            Entry::InFlight {
                fingerprint,
                since: now,
            },
        );
        Claim::Proceed
    }

    fn complete(&self, key: &str, fingerprint: [u8; 32], response: StoredResponse) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            key.to_owned(),
            Entry::Done {
                fingerprint,
                at: Instant::now(),
                response,
            },
        );
    }

    fn release(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
    }
}

/// Shared handle the middleware finds in app data.
pub type SharedIdempotencyStore = Arc<dyn IdempotencyStore>;

/// Whether `key` is a usable `x-idempotency-key`: 1 to [`MAX_KEY_LEN`] visible ASCII
/// characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

fn scope_key(req: &ServiceRequest, key: &str) -> String {
    // Scope by caller: a hash of the credentials, never the credentials themselves.
    let mut caller = Sha256::new();
    if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
        caller.update(auth.as_bytes());
    }
    let caller = caller.finalize();
    format!(
        "{}:{}:{}:{}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &caller[..16]
        ),
        req.method(),
        req.path(),
        key
    )
}

/// Middleware (use with `actix_web::middleware::from_fn`). Needs
/// `Data<SharedIdempotencyStore>` and `Data<IdempotencyConfig>` in app data; without them
/// it passes requests through untouched.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let applies = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH);
    let key = req.headers().get(&IDEMPOTENCY_KEY_HEADER).cloned();
    let store = req.app_data::<Data<SharedIdempotencyStore>>().cloned();
    let (Some(key), true, Some(store)) = (key, applies, store) else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let max_body = req
        .app_data::<Data<IdempotencyConfig>>()
        .map_or(crate::extract::MAX_JSON_BYTES, |c| c.max_body_bytes);

    let refuse = |req: ServiceRequest, e: ApiError| Ok(req.into_response(e.error_response()));

    let Some(key) = key.to_str().ok().filter(|k| valid_key(k)) else {
        let e = ApiError::new(ErrorCode::InvalidIdempotencyKey).detail(format!(
            "x-idempotency-key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        ));
        return refuse(req, e);
    };
    let scoped = scope_key(&req, key);

    // Buffer the body to fingerprint it, then hand it back to the handler.
    let body = match read_body(&mut req, max_body).await {
        Ok(b) => b,
        Err(e) => return refuse(req, e),
    };
    let fingerprint: [u8; 32] = Sha256::digest(&body).into();
    req.set_payload(bytes_payload(body));

    match store.claim(&scoped, fingerprint) {
        Claim::Proceed => {}
        Claim::Replay(stored) => {
            let mut res = HttpResponse::build(stored.status);
            for (n, v) in &stored.headers {
                res.insert_header((n.clone(), v.clone()));
            }
            res.insert_header((REPLAYED_HEADER, HeaderValue::from_static("true")));
            return Ok(req.into_response(res.body(stored.body)));
        }
        Claim::Mismatch => {
            let e = ApiError::new(ErrorCode::IdempotencyKeyReused)
                .detail("this x-idempotency-key was used with a different request body");
            return refuse(req, e);
        }
        Claim::InProgress => {
            let e = ApiError::new(ErrorCode::IdempotencyInProgress)
                .detail("a request with this x-idempotency-key is still being processed")
                .header(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return refuse(req, e);
        }
        Claim::Full => {
            let e = ApiError::new(ErrorCode::RateLimited)
                .detail("too many idempotency keys in flight")
                .header(header::RETRY_AFTER, HeaderValue::from_static("60"));
            return refuse(req, e);
        }
    }

    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            store.release(&scoped);
            return Err(e);
        }
    };
    if res.status().is_server_error() {
        store.release(&scoped);
        return Ok(res.map_into_boxed_body());
    }
    let (http_req, response) = res.into_parts();
    let status = response.status();
    let headers: Vec<(HeaderName, HeaderValue)> = response
        .headers()
        .iter()
        .filter(|(n, _)| REPLAYED_HEADERS.contains(n))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let (response, body) = response.into_parts();
    let body = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            store.release(&scoped);
            return Err(ApiError::new(ErrorCode::Internal).into());
        }
    };
    store.complete(
        &scoped,
        fingerprint,
        StoredResponse {
            status,
            headers,
            body: body.clone(),
        },
    );
    Ok(ServiceResponse::new(
        http_req,
        response.set_body(BoxBody::new(body)),
    ))
}

async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, ApiError> {
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut buf = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("body unreadable: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge)
                .detail(format!("body exceeds the limit of {limit} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn bytes_payload(bytes: Bytes) -> actix_web::dev::Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(bytes);
    actix_web::dev::Payload::from(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(valid_key("abc-123"));
        assert!(valid_key(&"k".repeat(40)));
        assert!(!valid_key(&"k".repeat(41)));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
    }

    #[test]
    fn claims_follow_the_key_lifecycle() {
        let store = InMemoryIdempotencyStore::new(IdempotencyConfig::default());
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert!(matches!(store.claim("k", a), Claim::Proceed));
        assert!(matches!(store.claim("k", a), Claim::InProgress));
        assert!(matches!(store.claim("k", b), Claim::Mismatch));
        let stored = StoredResponse {
            status: StatusCode::CREATED,
            headers: vec![],
            body: Bytes::from_static(b"{}"),
        };
        store.complete("k", a, stored);
        assert!(matches!(store.claim("k", a), Claim::Replay(r) if r.status == StatusCode::CREATED));
        assert!(matches!(store.claim("k", b), Claim::Mismatch));
        store.release("k");
        assert!(matches!(store.claim("k", b), Claim::Proceed));
    }

    #[test]
    fn expired_keys_are_forgotten_and_capacity_is_enforced() {
        let store = InMemoryIdempotencyStore::new(IdempotencyConfig {
            window: Duration::ZERO,
            max_entries: 1,
            ..IdempotencyConfig::default()
        });
        assert!(matches!(store.claim("a", [0; 32]), Claim::Proceed));
        // window 0: "a" is already expired, so it is swept to make room
        assert!(matches!(store.claim("b", [0; 32]), Claim::Proceed));
        let full = InMemoryIdempotencyStore::new(IdempotencyConfig {
            max_entries: 1,
            ..IdempotencyConfig::default()
        });
        assert!(matches!(full.claim("a", [0; 32]), Claim::Proceed));
        assert!(matches!(full.claim("b", [0; 32]), Claim::Full));
    }
}
