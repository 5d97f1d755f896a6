//! Extractor configuration whose failures become problem responses, and a fallback that
//! turns any error status produced outside our handlers (unknown route, wrong method, body
//! too large) into one.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::error::{ApiError, ErrorCode, PROBLEM_JSON};

/// Largest JSON body accepted (256 KiB).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// `web::JsonConfig` whose errors are problem responses.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            ApiError::new(ErrorCode::PayloadTooLarge).detail(format!(
                "body of {length} bytes exceeds the limit of {limit} bytes"
            ))
        }
        JsonPayloadError::Overflow { limit } => ApiError::new(ErrorCode::PayloadTooLarge)
            .detail(format!("body exceeds the limit of {limit} bytes")),
        JsonPayloadError::ContentType => ApiError::new(ErrorCode::UnsupportedMediaType)
            .detail("content-type must be application/json"),
        JsonPayloadError::Deserialize(e) => {
            ApiError::new(ErrorCode::InvalidJson).detail(describe_serde(&e))
        }
        JsonPayloadError::Serialize(e) => ApiError::internal(e),
        other => ApiError::new(ErrorCode::InvalidJson).detail(other.to_string()),
    }
}

fn describe_serde(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "body is not valid JSON",
        Category::Eof => "body ends unexpectedly",
        Category::Data => "body does not match the expected schema",
        Category::Io => "body could not be read",
    };
    format!("{what}: {e}")
}

/// `web::QueryConfig` whose errors are problem responses.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::new(ErrorCode::InvalidQuery).detail(detail).into()
    })
}

/// `web::PathConfig` whose errors are problem responses.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let detail = match &err {
            PathError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::new(ErrorCode::InvalidPath).detail(detail).into()
    })
}

/// Middleware (use with `actix_web::middleware::from_fn`): an error status whose body is not
/// already problem+json (the router's 404/405, actix's own 4xx) is answered with the
/// problem body of [`ErrorCode::for_status`]. Headers such as `Allow` are kept.
pub async fn problem_fallback(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    // Only bare errors are rewritten: no body type, or actix's own plain-text messages.
    // Problem bodies and deliberate JSON answers (a 503 readiness report) pass untouched.
    let bare = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !bare {
        return Ok(res.map_into_boxed_body());
    }
    let code = ErrorCode::for_status(status);
    let mut error = ApiError::new(code);
    if code == ErrorCode::NotFound {
        error = error.detail(format!("no resource at {}", res.request().path()));
    }
    let (req, old) = res.into_parts();
    let mut new = error.error_response();
    *new.status_mut() = status;
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Ok(ServiceResponse::new(req, new))
}
