//! The authorisation endpoint's side of the code flow: the request and consent the page shows
//! (`GET /authorize`, only `client_id` and a `request_uri` from PAR) and the customer's
//! decision, which spends the `request_uri` at the exact revision read, then authorises or
//! rejects the consent with the customer's pairwise id; approval issues a code valid
//! [`CODE_LIFETIME`]. The redirect carries `code` or `error`, `state` and `iss` (RFC 9207).

use ecohub_eventstore::{CurrentRevision, ExpectedRevision, StoreError};
use ecohub_kernel::{RequestContext, Timestamp};

use super::Params;
use super::code_flow::{TOKEN_BYTES, append_one, read_events};
use super::code_grant::{CODE_LIFETIME, code_stream};
use super::consent_port::{ActionContext, ConsentForAuthorisation, ConsentPortError, CustomerRef};
use super::customers::AuthenticatedCustomer;
use super::par::{REQUEST_URI_PREFIX, request_stream};
use super::state::AuthState;
use crate::domain::authorization::{
    CodeEvent, CodeGrant, PushedRequest, PushedRequestEvent, PushedRequestState, RequestRefusal,
};
use ecohub_jose::util::random_id;

/// Why the authorisation page cannot go on (shown as an HTML page, never redirected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizeError {
    /// A malformed request (extra or missing parameters).
    #[error("{0}")]
    BadRequest(String),
    /// The `request_uri` cannot be used.
    #[error(transparent)]
    Request(#[from] RequestRefusal),
    /// The consent is no longer awaiting authorisation, or unknown.
    #[error("the consent can no longer be authorised: {0}")]
    Consent(String),
    /// A dependency is down.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
}

impl From<ConsentPortError> for AuthorizeError {
    fn from(e: ConsentPortError) -> Self {
        match e {
            ConsentPortError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Consent(other.to_string()),
        }
    }
}

/// A usable pushed request and the revision its stream was read at.
#[derive(Debug, Clone)]
pub struct LoadedRequest {
    /// The request.
    pub request: PushedRequest,
    /// The revision read.
    pub revision: CurrentRevision,
}

/// Loads the pushed request behind `request_uri` for `client_id`, usable at `now`.
pub async fn load_request(
    state: &AuthState,
    client_id: &str,
    request_uri: &str,
    now: Timestamp,
) -> Result<LoadedRequest, AuthorizeError> {
    if !request_uri.starts_with(REQUEST_URI_PREFIX) {
        return Err(RequestRefusal::Unknown.into());
    }
    let (events, revision) =
        read_events::<PushedRequestEvent>(state.store.as_ref(), &request_stream(request_uri))
            .await
            .map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
    let folded = PushedRequestState::fold(&events);
    let request = folded.usable(client_id, now)?.clone();
    Ok(LoadedRequest { request, revision })
}

/// `GET /authorize` with `client_id` and `request_uri` only: the request and the consent to
/// show.
pub async fn authorization_page(
    state: &AuthState,
    params: &Params,
    now: Timestamp,
) -> Result<(LoadedRequest, ConsentForAuthorisation), AuthorizeError> {
    let (client_id, request_uri) = authorize_params(params)?;
    let consents = state
        .consents
        .as_ref()
        .ok_or_else(|| AuthorizeError::Unavailable("no consent service".into()))?;
    let loaded = load_request(state, client_id, request_uri, now).await?;
    let consent = consents
        .pending(&loaded.request.consent_id, &loaded.request.partner_id, now)
        .await?;
    Ok((loaded, consent))
}

/// The `client_id` and `request_uri` of an authorisation request; anything else is refused
/// (FAPI 2.0: every parameter comes through PAR).
pub fn authorize_params(params: &Params) -> Result<(&str, &str), AuthorizeError> {
    let names: Vec<&str> = params.names().collect();
    if let Some(extra) = names
        .iter()
        .find(|n| !matches!(**n, "client_id" | "request_uri"))
    {
        return Err(AuthorizeError::BadRequest(format!(
            "parameter {extra} is not accepted here: push it with PAR"
        )));
    }
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AuthorizeError::BadRequest("client_id is required".into()))?;
    let request_uri = params
        .get("request_uri")
        .ok_or_else(|| AuthorizeError::BadRequest("request_uri is required".into()))?;
    Ok((client_id, request_uri))
}

/// The customer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

/// Where to send the browser after a decision: the client's redirect URI with the code (or
/// the error), `state` and `iss` (RFC 9207).
pub async fn decide(
    state: &AuthState,
    customer: &AuthenticatedCustomer,
    client_id: &str,
    request_uri: &str,
    decision: Decision,
    interaction_id: Option<String>,
    now: Timestamp,
) -> Result<String, AuthorizeError> {
    let consents = state
        .consents
        .clone()
        .ok_or_else(|| AuthorizeError::Unavailable("no consent service".into()))?;
    let loaded = load_request(state, client_id, request_uri, now).await?;
    let request = loaded.request;
    let actor = format!("customer:{}", customer.customer_id);
    // Spend the request_uri first: of two racing decisions, one goes on.
    let used = PushedRequestEvent::Used { at: now };
    match append_one(
        state,
        &request_stream(request_uri),
        ExpectedRevision::from(loaded.revision),
        &used,
        &actor,
        now,
    )
    .await
    {
        Ok(_) => {}
        Err(StoreError::WrongExpectedVersion { .. }) => {
            return Err(RequestRefusal::Used.into());
        }
        Err(e) => return Err(AuthorizeError::Unavailable(e.to_string())),
    }
    let customer_ref = CustomerRef {
        customer_id: customer.customer_id.clone(),
        pairwise_id: customer.pairwise_id(&request.partner_id),
    };
    let ctx = ActionContext {
        request: RequestContext {
            actor: actor.clone(),
            interaction_id,
        },
        now,
    };
    let mut response = vec![];
    match decision {
        Decision::Reject => {
            match consents
                .reject(&request.consent_id, &customer_ref, &ctx)
                .await
            {
                Ok(()) => response.push(("error", "access_denied".to_owned())),
                Err(e) => response.extend(port_redirect_error(e)),
            }
        }
        Decision::Approve => match consents
            .authorise(&request.consent_id, &customer_ref, &ctx)
            .await
        {
            Ok(_) => {
                let code = random_id(TOKEN_BYTES);
                let grant = CodeGrant {
                    client_id: request.client_id.clone(),
                    redirect_uri: request.redirect_uri.clone(),
                    code_challenge: request.code_challenge.clone(),
                    consent_id: request.consent_id.clone(),
                    customer_id: customer.customer_id.clone(),
                    subject: customer_ref.pairwise_id.clone(),
                    scope: request.scope.clone(),
                    family_id: uuid::Uuid::now_v7().to_string(),
                    issued_at: now,
                    expires_at: now.plus(CODE_LIFETIME),
                };
                append_one(
                    state,
                    &code_stream(&code),
                    ExpectedRevision::NoStream,
                    &CodeEvent::Issued(grant),
                    &actor,
                    now,
                )
                .await
                .map_err(|e| AuthorizeError::Unavailable(e.to_string()))?;
                response.push(("code", code));
            }
            Err(e) => response.extend(port_redirect_error(e)),
        },
    }
    if let Some(s) = &request.state {
        response.push(("state", s.clone()));
    }
    response.push(("iss", state.settings.issuer.clone()));
    Ok(with_query(&request.redirect_uri, &response))
}

fn port_redirect_error(e: ConsentPortError) -> Vec<(&'static str, String)> {
    match e {
        ConsentPortError::Unavailable(_) => vec![("error", "temporarily_unavailable".into())],
        ConsentPortError::NotFound | ConsentPortError::Conflict(_) => vec![
            ("error", "access_denied".into()),
            (
                "error_description",
                "the consent can no longer be authorised".into(),
            ),
        ],
    }
}

/// `uri` with `pairs` appended to its query, percent-encoded (RFC 3986 unreserved characters
/// kept).
pub fn with_query(uri: &str, pairs: &[(&str, String)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        out.push(sep);
        out.push_str(&ecohub_http::percent_encode(name));
        out.push('=');
        out.push_str(&ecohub_http::percent_encode(value));
        sep = '&';
    }
    out
}
