//! The error-code table and the problem+json error type.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident => ($code:literal, $status:expr, $title:literal), )*) => {
        /// Every error the API can return, with its stable machine-readable `code`, HTTP
        /// status and title. Codes are a public contract: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in table order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The stable code, e.g. `invalid_json`.
            pub const fn code(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The HTTP status.
            pub const fn status(self) -> StatusCode {
                match self { $( ErrorCode::$variant => $status, )* }
            }

            /// A short human-readable summary that does not change between occurrences.
            pub const fn title(self) -> &'static str {
                match self { $( ErrorCode::$variant => $title, )* }
            }
        }
    };
}

error_codes! {
    /// The request is syntactically valid but breaks a validation rule.
    InvalidRequest => ("invalid_request", StatusCode::BAD_REQUEST, "Invalid request"),
    /// The body is not valid JSON or does not match the schema.
    InvalidJson => ("invalid_json", StatusCode::BAD_REQUEST, "Invalid JSON body"),
    /// A query parameter is missing or malformed.
    InvalidQuery => ("invalid_query", StatusCode::BAD_REQUEST, "Invalid query parameters"),
    /// A path parameter is malformed.
    InvalidPath => ("invalid_path", StatusCode::BAD_REQUEST, "Invalid path parameter"),
    /// A pagination cursor is malformed or was not issued by this API.
    InvalidCursor => ("invalid_cursor", StatusCode::BAD_REQUEST, "Invalid pagination cursor"),
    /// `x-fapi-interaction-id` is not an RFC 4122 UUID.
    InvalidInteractionId => ("invalid_interaction_id", StatusCode::BAD_REQUEST, "Invalid x-fapi-interaction-id"),
    /// `x-idempotency-key` is empty, longer than 40 characters or not visible ASCII.
    InvalidIdempotencyKey => ("invalid_idempotency_key", StatusCode::BAD_REQUEST, "Invalid x-idempotency-key"),
    /// The request lacks valid credentials.
    Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED, "Unauthorized"),
    /// The access token is malformed, expired, revoked or otherwise not valid (RFC 6750).
    InvalidToken => ("invalid_token", StatusCode::UNAUTHORIZED, "Invalid access token"),
    /// The DPoP proof of a sender-constrained token is missing or not valid (RFC 9449).
    InvalidDpopProof => ("invalid_dpop_proof", StatusCode::UNAUTHORIZED, "Invalid DPoP proof"),
    /// The credentials do not allow this operation.
    Forbidden => ("forbidden", StatusCode::FORBIDDEN, "Forbidden"),
    /// The customer has not authorised a consent that allows this (a partner's moment for a
    /// customer without a consent to the bank for personalised offers naming it).
    ConsentRequired => ("consent_required", StatusCode::FORBIDDEN, "Consent required"),
    /// The customer objected to personalised offers (GDPR Art. 21): nothing about them is
    /// used for offers.
    CustomerObjected => ("customer_objected", StatusCode::FORBIDDEN, "Customer objected"),
    /// The access token lacks the scope the operation requires (RFC 6750).
    InsufficientScope => ("insufficient_scope", StatusCode::FORBIDDEN, "Insufficient scope"),
    /// No such resource (or not visible to the caller).
    NotFound => ("not_found", StatusCode::NOT_FOUND, "Not found"),
    /// The resource does not support this method.
    MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    /// The `Accept` header asks for a representation the API cannot produce.
    NotAcceptable => ("not_acceptable", StatusCode::NOT_ACCEPTABLE, "Not acceptable"),
    /// The request body did not arrive within the time allowed (or too slowly).
    RequestTimeout => ("request_timeout", StatusCode::REQUEST_TIMEOUT, "Request timeout"),
    /// The resource changed concurrently; re-read and retry.
    ConcurrencyConflict => ("concurrency_conflict", StatusCode::CONFLICT, "Concurrent modification"),
    /// The request conflicts with the resource's current state.
    Conflict => ("conflict", StatusCode::CONFLICT, "Conflict"),
    /// The idempotency key was used before with a different request.
    IdempotencyKeyReused => ("idempotency_key_reused", StatusCode::CONFLICT, "Idempotency key reused with a different request"),
    /// A request with this idempotency key is still being processed.
    IdempotencyInProgress => ("idempotency_request_in_progress", StatusCode::CONFLICT, "Request with this idempotency key in progress"),
    /// The body is larger than the API accepts.
    PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"),
    /// The body's media type is not supported.
    UnsupportedMediaType => ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
    /// Too many requests; retry after the `Retry-After` delay.
    RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS, "Too many requests"),
    /// An unexpected server error (details are logged, never returned).
    Internal => ("internal_error", StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
    /// A dependency (the event store) is unavailable; retry later.
    ServiceUnavailable => ("service_unavailable", StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
}

/// The published error table (`docs/errors.md`): every problem's `type` is this URL with
/// the code as its fragment, which is the anchor of the code's row. Fixed rather than
/// configurable, so that a problem type means the same on every deployment
/// (`docs/adr/0016-problem-types-link-to-the-error-table.md`).
pub const ERROR_DOCS_URL: &str = "https://github.com/ecohub/ecohub/blob/main/docs/errors.md";

impl ErrorCode {
    /// The problem `type` URI of this code: its row in the error table
    /// (`https://…/docs/errors.md#<code>`).
    pub fn type_uri(self) -> String {
        format!("{ERROR_DOCS_URL}#{}", self.code())
    }

    /// The code a bare error status maps to (for responses produced outside our handlers).
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status.as_u16() {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            406 => ErrorCode::NotAcceptable,
            408 => ErrorCode::RequestTimeout,
            409 => ErrorCode::Conflict,
            413 => ErrorCode::PayloadTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::ServiceUnavailable,
            s if (400..500).contains(&s) => ErrorCode::InvalidRequest,
            _ => ErrorCode::Internal,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer or parameter name of the offending field.
    pub field: String,
    /// What is wrong with it, in lowercase.
    pub message: String,
}

/// An RFC 9457 problem details body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// URI identifying the problem type: the code's row in the error table
    /// (`https://github.com/ecohub/ecohub/blob/main/docs/errors.md#<code>`).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable error code.
    pub code: String,
    /// The request's `x-fapi-interaction-id`, to quote to support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interaction_id: Option<String>,
    /// Field-level validation errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// An error answered with a problem+json body.
///
/// 5xx errors keep their cause for the logs (middleware logs it) and say only
/// "internal error" to the client.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    detail: Option<String>,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    /// An error with this code and no detail.
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            errors: Vec::new(),
            headers: Vec::new(),
            source: None,
        }
    }

    /// Adds a human-readable explanation of this occurrence.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a field-level error.
    pub fn field(mut self, field: impl Into<String>, message: impl Into<String>) -> Self {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
        self
    }

    /// Adds a response header (`Retry-After`, `WWW-Authenticate`, …).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// A 400 `invalid_request` with this detail.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest).detail(detail)
    }

    /// A 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    /// A 500 whose cause is logged, not returned.
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut e = Self::new(ErrorCode::Internal);
        e.source = Some(source.into());
        e
    }

    /// A 503 whose cause is logged, not returned.
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut e = Self::new(ErrorCode::ServiceUnavailable)
            .header(header::RETRY_AFTER, HeaderValue::from_static("1"));
        e.source = Some(source.into());
        e
    }

    /// The error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The problem body this error renders to.
    pub fn problem(&self) -> Problem {
        let server_error = self.code.status().is_server_error();
        Problem {
            type_uri: self.code.type_uri(),
            title: self.code.title().to_owned(),
            status: self.code.status().as_u16(),
            detail: if server_error {
                Some("internal error".to_owned()).filter(|_| self.code == ErrorCode::Internal)
            } else {
                self.detail.clone()
            },
            code: self.code.code().to_owned(),
            interaction_id: crate::interaction_context::current().map(|id| id.to_string()),
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(d) = &self.detail {
            write!(f, ": {d}")?;
        }
        if let Some(s) = &self.source {
            write!(f, " (caused by: {s})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.code.status());
        res.content_type(PROBLEM_JSON);
        for (name, value) in &self.headers {
            res.insert_header((name.clone(), value.clone()));
        }
        res.json(self.problem())
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate code {}", c.code());
            assert!(
                c.code()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{} is not snake_case",
                c.code()
            );
            assert!(c.status().is_client_error() || c.status().is_server_error());
        }
    }

    #[test]
    fn server_errors_do_not_leak_their_cause() {
        let e = ApiError::internal(std::io::Error::other("disk on fire at /var/secret"));
        let p = e.problem();
        assert_eq!(p.status, 500);
        assert_eq!(p.code, "internal_error");
        assert_eq!(p.detail.as_deref(), Some("internal error"));
        assert!(!serde_json::to_string(&p).unwrap().contains("secret"));
        assert!(
            e.to_string().contains("disk on fire"),
            "the log line keeps the cause"
        );
    }

    #[test]
    fn client_errors_render_detail_and_fields() {
        let p = ApiError::bad_request("purpose is required")
            .field("/purpose", "is required")
            .problem();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "https://github.com/ecohub/ecohub/blob/main/docs/errors.md#invalid_request",
                "title": "Invalid request",
                "status": 400,
                "detail": "purpose is required",
                "code": "invalid_request",
                "errors": [{"field": "/purpose", "message": "is required"}]
            })
        );
    }
}
