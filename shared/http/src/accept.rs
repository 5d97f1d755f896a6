//! Content negotiation: a request whose `Accept` header admits none of the media types the
//! route answers with is refused with 406 `not_acceptable` before its handler runs (so a
//! refused POST changes nothing).
//!
//! What each route answers with comes from [`Representations`] (the hub lists, per operation
//! of its OpenAPI document, the media types of its successful responses). `Accept` is parsed
//! with actix's typed header ([`actix_web::http::header::Accept`]): `*/*`, `type/*`, exact
//! types, and q-values (`q=0` refuses a type); no header, or one that does not parse, accepts
//! anything. Errors are not negotiated: a problem+json body is sent whatever `Accept` says
//! (RFC 9110 §15.5.7 allows a 406 body the client did not ask for), and routes the document
//! does not list, or that answer without a body (204, a redirect), pass untouched.
//!
//! On protected routes authentication comes first: `ecohub_security::authenticate_first`
//! runs before this middleware and answers 401 to a caller without valid credentials whose
//! request [`refusal`] would refuse, so 406 is only ever said to a caller who may use the
//! route (an anonymous caller learns nothing about it).

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ResourceDef, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, Accept, Header};
use actix_web::middleware::Next;
use actix_web::mime;
use actix_web::web::Data;

use crate::{ApiError, ErrorCode};

/// The media types each operation's successful responses have.
#[derive(Debug, Default)]
pub struct Representations {
    routes: Vec<(Method, ResourceDef, Vec<mime::Mime>)>,
}

impl Representations {
    /// From `(method, path template, media types)`; an operation with no media type answers
    /// without a body and is never refused. Unknown methods and unparsable types are skipped.
    pub fn new<'a>(routes: impl IntoIterator<Item = (&'a str, &'a str, Vec<&'a str>)>) -> Self {
        let routes = routes
            .into_iter()
            .filter_map(|(method, path, types)| {
                let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).ok()?;
                let types = types.into_iter().filter_map(|t| t.parse().ok()).collect();
                Some((method, ResourceDef::new(path), types))
            })
            .collect();
        Self { routes }
    }

    /// The media types `method` on `path` answers with (None: not listed).
    pub fn of(&self, method: &Method, path: &str) -> Option<&[mime::Mime]> {
        self.routes
            .iter()
            .find(|(m, def, _)| m == method && def.is_match(path))
            .map(|(_, _, types)| types.as_slice())
    }
}

/// Whether `accept` admits `offered`: the most specific matching range decides (RFC 9110
/// §12.5.1), and it must have a quality above zero.
pub fn acceptable(accept: &Accept, offered: &mime::Mime) -> bool {
    let mut best: Option<(u8, bool)> = None;
    for item in accept.iter() {
        let range = &item.item;
        let specificity = if range.type_() == mime::STAR {
            0
        } else if range.subtype() == mime::STAR {
            if range.type_() == offered.type_() {
                1
            } else {
                u8::MAX
            }
        } else if range.essence_str() == offered.essence_str() {
            2
        } else {
            u8::MAX
        };
        if specificity == u8::MAX {
            continue;
        }
        let allowed = item.quality > header::Quality::ZERO;
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, allowed));
        }
    }
    best.is_some_and(|(_, allowed)| allowed)
}

/// The 406 `req` will get from [`negotiate`], if any: its `Accept` admits none of the media
/// types its route answers with. Lets a middleware that runs earlier (authentication of
/// protected routes) decide first.
pub fn refusal(req: &ServiceRequest) -> Option<ApiError> {
    if !req.headers().contains_key(header::ACCEPT) {
        return None;
    }
    let offered = req
        .app_data::<Data<Representations>>()?
        .of(req.method(), req.path())?;
    let accept = Accept::parse(req).ok()?;
    if offered.is_empty() || accept.is_empty() || offered.iter().any(|o| acceptable(&accept, o)) {
        return None;
    }
    let offered: Vec<&str> = offered.iter().map(|m| m.essence_str()).collect();
    Some(ApiError::new(ErrorCode::NotAcceptable).detail(format!(
        "this resource is available as {}",
        offered.join(", ")
    )))
}

/// Middleware (use with `actix_web::middleware::from_fn`); see the module documentation.
/// Needs `Data<Representations>` in app data; without it requests pass untouched.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(error) = refusal(&req) {
        return Ok(req.into_response(error.error_response()));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn accept(value: &str) -> Accept {
        Accept::parse(
            &TestRequest::default()
                .insert_header(("accept", value))
                .to_http_request(),
        )
        .unwrap()
    }

    #[test]
    fn ranges_and_qualities_decide() {
        let json = mime::APPLICATION_JSON;
        let html = mime::TEXT_HTML;
        assert!(acceptable(&accept("*/*"), &json));
        assert!(acceptable(&accept("application/*"), &json));
        assert!(!acceptable(&accept("text/*"), &json));
        assert!(acceptable(&accept("application/json"), &json));
        assert!(!acceptable(&accept("application/xml"), &json));
        assert!(acceptable(&accept("application/xml, */*;q=0.1"), &json));
        assert!(!acceptable(&accept("application/json;q=0"), &json));
        assert!(!acceptable(&accept("*/*, application/json;q=0"), &json));
        assert!(acceptable(
            &accept("text/html,application/xhtml+xml,*/*;q=0.8"),
            &html
        ));
        assert!(acceptable(
            &accept("application/json; charset=utf-8"),
            &json
        ));
    }
}
