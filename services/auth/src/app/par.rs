//! Pushed authorisation requests (RFC 9126), FAPI 2.0 style: `private_key_jwt`
//! (`client_secret_basic` only outside production), PKCE S256 required, one
//! `ecohub_consent` in `authorization_details` (RFC 9396) that must await authorisation. The
//! request is stored under `par-<hash of the request_uri>`, usable for
//! [`REQUEST_URI_LIFETIME`].

use std::time::Duration;

use ecohub_eventstore::ExpectedRevision;
use ecohub_kernel::Timestamp;
use serde::Serialize;

use super::client_auth::{Credentials, authenticate_client};
use super::code_flow::{TOKEN_BYTES, append_one, consents, pkce_shaped};
use super::consent_port::ConsentPortError;
use super::issuance::parse_scope;
use super::secrets::token_hash;
use super::state::AuthState;
use super::{EndpointError, Params};
use crate::domain::authorization::{PushedRequest, PushedRequestEvent};
use crate::domain::{GrantType, RegisteredClient};
use ecohub_jose::util::random_id;

/// The prefix of the `request_uri`s the hub hands out.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a `request_uri` works (RFC 9126: short; FAPI 2.0: < 600 s).
pub const REQUEST_URI_LIFETIME: Duration = Duration::from_secs(90);

/// The `authorization_details` type of a consent (RFC 9396).
pub const CONSENT_DETAILS_TYPE: &str = "ecohub_consent";

/// The PAR response (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ParResponse {
    /// `urn:ietf:params:oauth:request_uri:<random>`.
    pub request_uri: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

fn port_error(e: ConsentPortError) -> EndpointError {
    match e {
        ConsentPortError::Unavailable(m) => EndpointError::TemporarilyUnavailable(m),
        ConsentPortError::NotFound => {
            EndpointError::InvalidAuthorizationDetails("unknown consent".into())
        }
        ConsentPortError::Conflict(m) => EndpointError::InvalidAuthorizationDetails(format!(
            "consent is not awaiting authorisation: {m}"
        )),
    }
}

/// The consent id of an `authorization_details` value: a JSON array with exactly one
/// `{"type": "ecohub_consent", "consent_id": "…"}`.
pub fn consent_from_details(details: &str) -> Result<String, EndpointError> {
    let invalid = |m: &str| EndpointError::InvalidAuthorizationDetails(m.to_owned());
    let value: serde_json::Value =
        serde_json::from_str(details).map_err(|_| invalid("authorization_details is not JSON"))?;
    let [entry] = value
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| invalid("authorization_details must be an array"))?
    else {
        return Err(invalid(
            "authorization_details must hold exactly one ecohub_consent entry",
        ));
    };
    if entry.get("type").and_then(|t| t.as_str()) != Some(CONSENT_DETAILS_TYPE) {
        return Err(invalid("authorization_details type must be ecohub_consent"));
    }
    entry
        .get("consent_id")
        .and_then(|c| c.as_str())
        .filter(|c| !c.is_empty() && c.len() <= 100)
        .map(str::to_owned)
        .ok_or_else(|| invalid("authorization_details needs a consent_id"))
}

/// The `par-` stream of a `request_uri` (by hash: the stream name is no bearer value).
pub fn request_stream(request_uri: &str) -> String {
    format!("par-{}", token_hash(request_uri))
}

/// Handles `POST /par`.
pub async fn push(
    state: &AuthState,
    credentials: Credentials,
    params: &Params,
    now: Timestamp,
) -> Result<ParResponse, EndpointError> {
    let consents = consents(state)?.clone();
    let basic = matches!(credentials, Credentials::Basic { .. });
    let client = authenticate_client(state, credentials, now).await?;
    if basic && state.settings.production {
        return Err(EndpointError::invalid_client(
            "client_secret_basic is not allowed in production",
        ));
    }
    let request = validate_push(&client, params, now)?;
    let partner_id = client.kind.partner_id().unwrap_or_default().to_owned();
    consents
        .pending(&request.consent_id, &partner_id, now)
        .await
        .map_err(port_error)?;
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", random_id(TOKEN_BYTES));
    let event = PushedRequestEvent::Pushed(request);
    let actor = format!("client:{}", client.client_id);
    append_one(
        state,
        &request_stream(&request_uri),
        ExpectedRevision::NoStream,
        &event,
        &actor,
        now,
    )
    .await
    .map_err(EndpointError::store)?;
    Ok(ParResponse {
        request_uri,
        expires_in: REQUEST_URI_LIFETIME.as_secs(),
    })
}

fn validate_push(
    client: &RegisteredClient,
    params: &Params,
    now: Timestamp,
) -> Result<PushedRequest, EndpointError> {
    let invalid = |m: &str| EndpointError::InvalidRequest(m.to_owned());
    let Some(partner_id) = client.kind.partner_id() else {
        return Err(EndpointError::UnauthorizedClient(
            "only partner clients may request authorisation".into(),
        ));
    };
    if !client
        .metadata
        .grant_types
        .contains(&GrantType::AuthorizationCode)
    {
        return Err(EndpointError::UnauthorizedClient(
            "client may not use authorization_code".into(),
        ));
    }
    if params.get("request_uri").is_some() || params.get("request").is_some() {
        return Err(invalid(
            "request_uri and request objects are not accepted at the PAR endpoint",
        ));
    }
    let client_id = client.client_id.to_string();
    if params.required("client_id")? != client_id {
        return Err(invalid("client_id does not match the authenticated client"));
    }
    match params.required("response_type")? {
        "code" => {}
        other => {
            return Err(EndpointError::UnsupportedResponseType(format!(
                "response_type {other} is not supported (use code)"
            )));
        }
    }
    let redirect_uri = params.required("redirect_uri")?;
    if !client
        .metadata
        .redirect_uris
        .iter()
        .any(|u| u == redirect_uri)
    {
        return Err(invalid("redirect_uri is not registered for this client"));
    }
    let scope = parse_scope(params.required("scope")?);
    if let Some(extra) = scope.iter().find(|s| !client.metadata.scope.contains(*s)) {
        return Err(EndpointError::InvalidScope(format!(
            "scope {extra} is not allowed for this client"
        )));
    }
    if scope.is_empty() {
        return Err(EndpointError::InvalidScope("scope is empty".into()));
    }
    let code_challenge = params
        .get("code_challenge")
        .ok_or_else(|| invalid("code_challenge is required (PKCE)"))?;
    match params.get("code_challenge_method") {
        Some("S256") => {}
        Some(other) => {
            return Err(invalid(&format!(
                "code_challenge_method {other} is not supported (use S256)"
            )));
        }
        None => return Err(invalid("code_challenge_method S256 is required")),
    }
    if code_challenge.len() != 43 || !pkce_shaped(code_challenge) {
        return Err(invalid("code_challenge must be a base64url SHA-256"));
    }
    let consent_id = consent_from_details(params.required("authorization_details")?)?;
    let client_state = params.get("state").map(str::to_owned);
    if client_state.as_ref().is_some_and(|s| s.len() > 512) {
        return Err(invalid("state is too long"));
    }
    Ok(PushedRequest {
        client_id,
        partner_id: partner_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: scope.into_iter().collect::<Vec<_>>().join(" "),
        state: client_state,
        code_challenge: code_challenge.to_owned(),
        consent_id,
        pushed_at: now,
        expires_at: now.plus(REQUEST_URI_LIFETIME),
    })
}
