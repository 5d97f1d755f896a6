//! HTTP tests of one service crate with `actix_web::test`: the app wired as the hub wires
//! every service ([`service_app`]), requests with a bearer token, and responses read once
//! ([`Res`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::from_fn;
use actix_web::{App, test, web};
use ecohub_http::IdempotencyConfig;
use ecohub_security::SharedVerifier;
use serde_json::Value;

/// An app with what the hub puts around every service's routes: the token verifier, the
/// extractor configurations whose failures are problems, the idempotency middleware (active
/// once the caller adds a `SharedIdempotencyStore` as app data), the problem fallback and the
/// interaction id. The caller adds the service's state (`app_data`) and routes (`configure`);
/// middleware wraps them wherever they are added.
pub fn service_app(
    verifier: SharedVerifier,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let staff: ecohub_security::SharedStaffSessions = std::sync::Arc::new(crate::FakeStaffSessions);
    App::new()
        .app_data(web::Data::new(verifier))
        .app_data(web::Data::new(staff))
        .app_data(web::Data::new(IdempotencyConfig::default()))
        .app_data(ecohub_http::json_config())
        .app_data(ecohub_http::query_config())
        .app_data(ecohub_http::path_config())
        .wrap(from_fn(ecohub_http::idempotency))
        .wrap(from_fn(ecohub_http::problem_fallback))
        .wrap(from_fn(ecohub_http::interaction_id))
}

/// Initialises `app`, sends `req` and reads the response.
pub async fn call<T, B>(app: App<T>, req: test::TestRequest) -> Res
where
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody,
{
    let app = test::init_service(app).await;
    read(test::call_service(&app, req.to_request()).await).await
}

/// `req` with `Authorization: Bearer <token>`.
pub fn bearer(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("authorization", format!("Bearer {token}")))
}

/// `req` with `Authorization: Bearer <token>` when there is a token.
pub fn with_token(req: test::TestRequest, token: Option<&str>) -> test::TestRequest {
    match token {
        Some(t) => bearer(req, t),
        None => req,
    }
}

/// A response, read: status, headers, the body as text and as JSON (`Null` when it is not).
#[derive(Debug)]
pub struct Res {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text (lossy UTF-8).
    pub text: String,
    /// The body as JSON, `Null` when it is not JSON.
    pub body: Value,
}

impl Res {
    /// A header's value, when present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        self
    }

    /// The JSON pointers of the field errors (`errors[].field`).
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Reads a response.
pub async fn read(res: ServiceResponse<impl MessageBody>) -> Res {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = test::read_body(res).await;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Res {
        status,
        headers,
        text,
        body,
    }
}
