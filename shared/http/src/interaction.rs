//! `x-fapi-interaction-id`: every response carries one. A client-supplied id (an RFC 4122
//! UUID) is echoed; otherwise the hub generates one. Handlers get it with the
//! [`InteractionId`] extractor; error bodies quote it.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError};
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};
use crate::interaction_context::CURRENT;
pub use crate::interaction_context::{InteractionId, current};

/// The header name.
pub const INTERACTION_ID_HEADER: HeaderName = HeaderName::from_static("x-fapi-interaction-id");

/// Middleware (use with `actix_web::middleware::from_fn`): validates or generates the
/// interaction id, makes it available to the request, and echoes it on the response.
pub async fn interaction_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let supplied = req
        .headers()
        .get(&INTERACTION_ID_HEADER)
        .map(|v| v.to_str().ok().and_then(|s| Uuid::try_parse(s.trim()).ok()));
    let (id, invalid) = match supplied {
        Some(Some(uuid)) => (InteractionId(uuid), false),
        Some(None) => (InteractionId(Uuid::new_v4()), true),
        None => (InteractionId(Uuid::new_v4()), false),
    };
    req.extensions_mut().insert(id);
    let mut res = CURRENT
        .scope(id, async move {
            if invalid {
                let err = ApiError::new(ErrorCode::InvalidInteractionId)
                    .detail("x-fapi-interaction-id must be an RFC 4122 UUID");
                let response = err.error_response();
                Ok(req.into_response(response).map_into_right_body())
            } else {
                next.call(req).await.map(|r| r.map_into_left_body())
            }
        })
        .await?;
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        res.headers_mut().insert(INTERACTION_ID_HEADER, value);
    }
    Ok(res)
}

impl FromRequest for InteractionId {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<InteractionId>()
            .copied()
            .or_else(current)
            .unwrap_or_else(|| InteractionId(Uuid::new_v4()));
        ready(Ok(id))
    }
}
