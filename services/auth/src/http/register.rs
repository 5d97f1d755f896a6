//! Dynamic client registration (RFC 7591) and its management (RFC 7592).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{no_store, state};
use crate::application::EndpointError;
use crate::application::registration::{
    self, ClientInformation, RegistrationRequest, delete_registration, read_registration,
    update_registration,
};

/// Parses a JSON registration body; anything else is `invalid_client_metadata`.
fn json_body(req: &HttpRequest, body: &[u8]) -> Result<RegistrationRequest, EndpointError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(EndpointError::InvalidClientMetadata(
            "the body must be application/json".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| EndpointError::InvalidClientMetadata(format!("malformed metadata: {e}")))
}

/// The registration access token from `Authorization: Bearer`.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn client_information(
    status: actix_web::http::StatusCode,
    info: ClientInformation,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    no_store(&mut response);
    response.json(info)
}

/// Registers a partner's client (RFC 7591, OBIE DCR). The software statement must be one the
/// hub issued (verified with the hub's own keys only) for a partner that is approved and
/// active now; redirect URIs and scopes must be subsets of the statement's.
#[utoipa::path(
    post,
    path = "/register",
    tag = "oauth",
    request_body(content = RegistrationRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered: client id, secret (client_secret_basic only) and registration access token, shown once", body = ClientInformation),
        (status = 400, description = "invalid_redirect_uri, invalid_client_metadata, invalid_software_statement, unapproved_software_statement", body = super::OAuthErrorBody),
    )
)]
pub async fn register(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let request = json_body(&req, &body)?;
    let now = state.clock.now();
    let info = registration::register(&state, request, now).await?;
    Ok(client_information(
        actix_web::http::StatusCode::CREATED,
        info,
    ))
}

/// Reads a registration (RFC 7592 §2.1) with its registration access token.
#[utoipa::path(
    get,
    path = "/register/{client_id}",
    tag = "oauth",
    params(("client_id" = String, Path, description = "The client id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The registration", body = ClientInformation),
        (status = 401, description = "invalid_token", body = super::OAuthErrorBody),
    )
)]
pub async fn read(
    req: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let info = read_registration(&state, &client_id, bearer(&req)).await?;
    Ok(client_information(actix_web::http::StatusCode::OK, info))
}

/// Replaces a registration's metadata (RFC 7592 §2.2); partner clients include a current
/// software statement.
#[utoipa::path(
    put,
    path = "/register/{client_id}",
    tag = "oauth",
    params(("client_id" = String, Path, description = "The client id")),
    request_body(content = RegistrationRequest, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated registration", body = ClientInformation),
        (status = 400, description = "invalid_redirect_uri, invalid_client_metadata, invalid_software_statement, unapproved_software_statement", body = super::OAuthErrorBody),
        (status = 401, description = "invalid_token", body = super::OAuthErrorBody),
    )
)]
pub async fn update(
    req: HttpRequest,
    client_id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let token = bearer(&req);
    let request = json_body(&req, &body)?;
    let now = state.clock.now();
    let info = update_registration(&state, &client_id, token, request, now).await?;
    Ok(client_information(actix_web::http::StatusCode::OK, info))
}

/// Deletes a registration (RFC 7592 §2.3): the client's tokens stop working on the next
/// request.
#[utoipa::path(
    delete,
    path = "/register/{client_id}",
    tag = "oauth",
    params(("client_id" = String, Path, description = "The client id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "invalid_token", body = super::OAuthErrorBody),
    )
)]
pub async fn delete(
    req: HttpRequest,
    client_id: web::Path<String>,
) -> Result<HttpResponse, EndpointError> {
    let state = state(&req)?;
    let now = state.clock.now();
    delete_registration(&state, &client_id, bearer(&req), now).await?;
    let mut response = HttpResponse::NoContent();
    no_store(&mut response);
    Ok(response.finish())
}
