//! The authorisation-code flow, FAPI 2.0 style: pushed authorisation requests (RFC 9126), the
//! customer's decision on the consent page, the `authorization_code` grant (PKCE S256, RFC
//! 7636) and the `refresh_token` grant with rotation and reuse detection.
//!
//! Every single-use thing is an event stream claimed with an exact expected revision, so it
//! is single-use across every instance: `par-<hash>` (spent when the customer decides),
//! `authcode-<hash>` (redeemed once), `refresh-<family>` (each token rotated once). Only
//! SHA-256 hashes of the request_uri, code and refresh tokens are stored.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ecohub_eventstore::{
    CurrentRevision, EventStore, ExpectedRevision, NewEvent, StoreError, read_stream_to_end,
};
use ecohub_kernel::{DomainEvent, EventMetadata, RequestContext, Timestamp};
use serde::Serialize;

use super::client_auth::{Credentials, authenticate_client};
use super::consent_port::{
    ActionContext, ConsentAuthority, ConsentForAuthorisation, ConsentPortError, ConsentStanding,
    CustomerRef,
};
use super::customers::AuthenticatedCustomer;
use super::secrets::token_hash;
use super::store::{is_revoked, record_revocation};
use super::token::{TokenResponse, parse_scope};
use super::{EndpointError, Params};
use crate::domain::authorization::{
    AuthorizationCode, CodeEvent, CodeGrant, CodeRefusal, FamilyAccessToken, FamilyEvent,
    FamilyStart, PushedRequest, PushedRequestEvent, PushedRequestState, RedeemCode, Redemption,
    RefreshFamily, RequestRefusal, Rotation,
};
use crate::domain::{AuthMethod, GrantType, RegisteredClient};
use crate::state::AuthState;
use ecohub_jose::jwt::{IssueError, NewAccessToken, issue_access_token};
use ecohub_jose::util::{b64url, random_id, sha256};

/// The prefix of the `request_uri`s the hub hands out.
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a `request_uri` works (RFC 9126: short; FAPI 2.0: < 600 s).
pub const REQUEST_URI_LIFETIME: Duration = Duration::from_secs(90);
/// How long an authorisation code works (FAPI 2.0: ≤ 60 s).
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// The longest a refresh-token family works (never beyond the consent's expiry).
pub const REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);
/// The `authorization_details` type of a consent (RFC 9396).
pub const CONSENT_DETAILS_TYPE: &str = "ecohub_consent";

/// Bytes of randomness in request_uris, codes and refresh tokens (256 bits).
const TOKEN_BYTES: usize = 32;

/// The PAR response (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ParResponse {
    /// `urn:ietf:params:oauth:request_uri:<random>`.
    pub request_uri: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}

fn consents(state: &AuthState) -> Result<&Arc<dyn ConsentAuthority>, EndpointError> {
    state.consents.as_ref().ok_or_else(|| {
        EndpointError::TemporarilyUnavailable("no consent service is configured".into())
    })
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

fn encode(event: &impl DomainEvent, actor: &str, now: Timestamp) -> NewEvent {
    NewEvent::from_domain(
        event,
        EventMetadata {
            actor: Some(actor.to_owned()),
            ..EventMetadata::default()
        },
        now,
    )
}

async fn read_events<E: DomainEvent>(
    store: &dyn EventStore,
    stream: &str,
) -> Result<(Vec<E>, CurrentRevision), EndpointError> {
    let recorded = read_stream_to_end(store, stream)
        .await
        .map_err(EndpointError::store)?;
    let mut events = Vec::with_capacity(recorded.len());
    let mut revision = CurrentRevision::NoStream;
    for r in &recorded {
        let envelope = r
            .decode::<E>()
            .map_err(|e| EndpointError::ServerError(e.to_string()))?;
        events.push(envelope.payload);
        revision = CurrentRevision::Current(r.revision);
    }
    Ok((events, revision))
}

/// Whether `s` is a PKCE challenge or verifier shape: 43–128 unreserved characters.
fn pkce_shaped(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The S256 transform of a code verifier (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    b64url(sha256(verifier.as_bytes()))
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
    state
        .store
        .append(
            &request_stream(&request_uri),
            ExpectedRevision::NoStream,
            vec![encode(&event, &format!("client:{}", client.client_id), now)],
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
    match state
        .store
        .append(
            &request_stream(request_uri),
            ExpectedRevision::from(loaded.revision),
            vec![encode(&used, &actor, now)],
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
                state
                    .store
                    .append(
                        &code_stream(&code),
                        ExpectedRevision::NoStream,
                        vec![encode(&CodeEvent::Issued(grant), &actor, now)],
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

/// `uri` with `pairs` appended to its query, form-encoded.
pub fn with_query(uri: &str, pairs: &[(&str, String)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in pairs {
        out.push(sep);
        out.push_str(&percent_encode(name));
        out.push('=');
        out.push_str(&percent_encode(value));
        sep = '&';
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `authcode-` stream of a code.
pub fn code_stream(code: &str) -> String {
    format!("authcode-{}", token_hash(code))
}

/// The `refresh-` stream of a family.
pub fn family_stream(family_id: &str) -> String {
    format!("refresh-{family_id}")
}

async fn require_authorised(
    consents: &dyn ConsentAuthority,
    consent_id: &str,
    now: Timestamp,
) -> Result<Timestamp, EndpointError> {
    match consents.standing(consent_id, now).await {
        Ok(ConsentStanding::Authorised { expires_at, .. }) if now < expires_at => Ok(expires_at),
        Ok(_) => Err(EndpointError::InvalidGrant(
            "the consent is not authorised".into(),
        )),
        Err(ConsentPortError::Unavailable(m)) => Err(EndpointError::TemporarilyUnavailable(m)),
        Err(e) => Err(EndpointError::InvalidGrant(e.to_string())),
    }
}

struct AccessGrant<'a> {
    client: &'a RegisteredClient,
    subject: &'a str,
    scope: &'a str,
    consent_id: &'a str,
    consent_expires_at: Timestamp,
    dpop_jkt: Option<String>,
}

fn issue_consent_token(
    state: &AuthState,
    grant: AccessGrant<'_>,
    now: Timestamp,
) -> Result<ecohub_jose::jwt::IssuedAccessToken, EndpointError> {
    let lifetime = state
        .settings
        .access_token_lifetime
        .min(grant.consent_expires_at.since(now))
        .max(Duration::from_secs(1));
    issue_access_token(
        &state.ring,
        NewAccessToken {
            issuer: state.settings.issuer.clone(),
            audience: state.settings.audience.clone(),
            subject: grant.subject.to_owned(),
            client_id: grant.client.client_id.to_string(),
            scopes: parse_scope(grant.scope).into_iter().collect(),
            lifetime,
            dpop_jkt: grant.dpop_jkt,
            partner_id: grant.client.kind.partner_id().map(str::to_owned),
            roles: Vec::new(),
            consent_id: Some(grant.consent_id.to_owned()),
        },
        now,
    )
    .map_err(|e| match e {
        IssueError::InvalidScope(s) => EndpointError::InvalidScope(format!("invalid scope {s}")),
        other => EndpointError::ServerError(other.to_string()),
    })
}

fn response(
    issued: &ecohub_jose::jwt::IssuedAccessToken,
    refresh_token: Option<String>,
) -> TokenResponse {
    TokenResponse {
        access_token: issued.token.clone(),
        token_type: if issued.claims.cnf.is_some() {
            "DPoP"
        } else {
            "Bearer"
        }
        .to_owned(),
        expires_in: u64::try_from(issued.claims.exp - issued.claims.iat).unwrap_or(0),
        scope: issued.claims.scope.clone(),
        refresh_token,
    }
}

/// The `authorization_code` grant (the client is already authenticated).
pub async fn redeem_code(
    state: &AuthState,
    client: &RegisteredClient,
    params: &Params,
    dpop_jkt: Option<String>,
    now: Timestamp,
) -> Result<TokenResponse, EndpointError> {
    let consents = consents(state)?.clone();
    let code = params.required("code")?;
    let redirect_uri = params.required("redirect_uri")?;
    let verifier = params.required("code_verifier")?;
    if !pkce_shaped(verifier) {
        return Err(EndpointError::InvalidGrant(
            "code_verifier does not match the code_challenge".into(),
        ));
    }
    if client.metadata.token_endpoint_auth_method == AuthMethod::ClientSecretBasic
        && state.settings.production
    {
        return Err(EndpointError::invalid_client(
            "client_secret_basic is not allowed in production",
        ));
    }
    let stream = code_stream(code);
    let (events, revision) = read_events::<CodeEvent>(state.store.as_ref(), &stream).await?;
    let folded = AuthorizationCode::fold(&events);
    let client_id = client.client_id.to_string();
    let challenge = s256(verifier);
    let request = RedeemCode {
        client_id: &client_id,
        redirect_uri,
        verifier_challenge: &challenge,
    };
    let grant = match folded.redeem(&request, now) {
        Ok(grant) => grant.clone(),
        Err(CodeRefusal::Reused(redemption)) => {
            if let Some(grant) = &folded.grant {
                revoke_code_issue(state, &stream, grant, redemption.as_ref(), now).await?;
            }
            return Err(EndpointError::InvalidGrant(
                "authorization code was already used".into(),
            ));
        }
        Err(refusal) => return Err(EndpointError::InvalidGrant(refusal.to_string())),
    };
    let consent_expires_at = require_authorised(consents.as_ref(), &grant.consent_id, now).await?;
    let issued = issue_consent_token(
        state,
        AccessGrant {
            client,
            subject: &grant.subject,
            scope: &grant.scope,
            consent_id: &grant.consent_id,
            consent_expires_at,
            dpop_jkt,
        },
        now,
    )?;
    let redeemed = CodeEvent::Redeemed(Redemption {
        access_token_jti: issued.claims.jti.clone(),
        access_token_expires_at: issued.claims.expires_at(),
        at: now,
    });
    let actor = format!("client:{client_id}");
    match state
        .store
        .append(
            &stream,
            ExpectedRevision::from(revision),
            vec![encode(&redeemed, &actor, now)],
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::WrongExpectedVersion { .. }) => {
            // A concurrent redemption won: this is a reuse too.
            let (events, _) = read_events::<CodeEvent>(state.store.as_ref(), &stream).await?;
            let folded = AuthorizationCode::fold(&events);
            revoke_code_issue(state, &stream, &grant, folded.redemption.as_ref(), now).await?;
            return Err(EndpointError::InvalidGrant(
                "authorization code was already used".into(),
            ));
        }
        Err(e) => return Err(EndpointError::store(e)),
    }
    let refresh_token = if client
        .metadata
        .grant_types
        .contains(&GrantType::RefreshToken)
    {
        let token = format!("{}.{}", grant.family_id, random_id(TOKEN_BYTES));
        let start = FamilyStart {
            family_id: grant.family_id.clone(),
            client_id: client_id.clone(),
            partner_id: client.kind.partner_id().map(str::to_owned),
            consent_id: grant.consent_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            token_hash: token_hash(&token),
            expires_at: consent_expires_at.min(now.plus(REFRESH_TOKEN_LIFETIME)),
            at: now,
            access_token: Some(family_access_token(&issued)),
        };
        state
            .store
            .append(
                &family_stream(&grant.family_id),
                ExpectedRevision::NoStream,
                vec![encode(&FamilyEvent::Started(start), &actor, now)],
            )
            .await
            .map_err(EndpointError::store)?;
        Some(token)
    } else {
        None
    };
    Ok(response(&issued, refresh_token))
}

/// A reused code: records the reuse and revokes what its redemption issued (the access token,
/// the refresh-token family and every access token the family issued; RFC 6749 §4.1.2).
async fn revoke_code_issue(
    state: &AuthState,
    stream: &str,
    grant: &CodeGrant,
    redemption: Option<&Redemption>,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let actor = "system:code-reuse";
    state
        .store
        .append(
            stream,
            ExpectedRevision::Any,
            vec![encode(&CodeEvent::Reused { at: now }, actor, now)],
        )
        .await
        .map_err(EndpointError::store)?;
    if let Some(r) = redemption {
        record_revocation(
            state.store.as_ref(),
            &r.access_token_jti,
            &grant.client_id,
            r.access_token_expires_at,
            now,
        )
        .await
        .map_err(EndpointError::store)?;
    }
    revoke_family(state, &grant.family_id, "code_reused", actor, now).await
}

fn family_access_token(issued: &ecohub_jose::jwt::IssuedAccessToken) -> FamilyAccessToken {
    FamilyAccessToken {
        jti: issued.claims.jti.clone(),
        expires_at: issued.claims.expires_at(),
    }
}

/// Revokes the family (unless it already is), then every unexpired access token it issued.
async fn revoke_family(
    state: &AuthState,
    family_id: &str,
    reason: &str,
    actor: &str,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let stream = family_stream(family_id);
    let (events, _) = read_events::<FamilyEvent>(state.store.as_ref(), &stream).await?;
    if let Some(event) = RefreshFamily::fold(&events).revoke(reason, now) {
        state
            .store
            .append(
                &stream,
                ExpectedRevision::Any,
                vec![encode(&event, actor, now)],
            )
            .await
            .map_err(EndpointError::store)?;
    }
    revoke_family_access_tokens(state, &stream, now).await
}

/// Appends `AccessTokenRevoked` to `revocation-<jti>` for every unexpired access token the
/// family in `stream` issued — read *after* the family's revocation was appended, so no
/// rotation can add one later (a rotation appends at the exact revision it read, and every
/// access token is recorded in the family before it is handed out). Idempotent: tokens
/// already revoked are skipped, so running it again finishes an interrupted run.
async fn revoke_family_access_tokens(
    state: &AuthState,
    stream: &str,
    now: Timestamp,
) -> Result<(), EndpointError> {
    let store = state.store.as_ref();
    let (events, _) = read_events::<FamilyEvent>(store, stream).await?;
    let family = RefreshFamily::fold(&events);
    let Some(start) = &family.start else {
        return Ok(());
    };
    for token in family.live_access_tokens(now) {
        if is_revoked(store, &token.jti)
            .await
            .map_err(EndpointError::store)?
        {
            continue;
        }
        record_revocation(store, &token.jti, &start.client_id, token.expires_at, now)
            .await
            .map_err(EndpointError::store)?;
    }
    Ok(())
}

fn family_of(token: &str) -> Option<&str> {
    let (family, secret) = token.split_once('.')?;
    (uuid::Uuid::try_parse(family).is_ok() && secret.len() >= 43).then_some(family)
}

/// The `refresh_token` grant: rotation on every use, each rotation recording the access token
/// it issues; a rotated-out token revokes its family and the family's unexpired access
/// tokens.
pub async fn refresh(
    state: &AuthState,
    client: &RegisteredClient,
    params: &Params,
    dpop_jkt: Option<String>,
    now: Timestamp,
) -> Result<TokenResponse, EndpointError> {
    let consents = consents(state)?.clone();
    let presented = params.required("refresh_token")?;
    let unknown = || EndpointError::InvalidGrant("unknown refresh token".into());
    let family_id = family_of(presented).ok_or_else(unknown)?;
    let stream = family_stream(family_id);
    let presented_hash = token_hash(presented);
    let client_id = client.client_id.to_string();
    let actor = format!("client:{client_id}");
    // A lost race against a concurrent rotation re-reads and decides again (and then sees
    // the presented token rotated out: a reuse).
    for _ in 0..3 {
        let (events, revision) = read_events::<FamilyEvent>(state.store.as_ref(), &stream).await?;
        let family = RefreshFamily::fold(&events);
        let new_token = format!("{family_id}.{}", random_id(TOKEN_BYTES));
        let new_hash = token_hash(&new_token);
        match family.rotate(&presented_hash, &client_id, &new_hash, now) {
            Rotation::Refuse(reason) => return Err(EndpointError::InvalidGrant(reason.into())),
            Rotation::RevokeFamily(event) => {
                // Reuse (RFC 9700 §4.14.2): the family first, so that no rotation can issue
                // another access token, then every access token it issued. A family already
                // revoked (`None`) gets its access tokens revoked again: that finishes a
                // revocation a crash interrupted, and is a no-op otherwise.
                let already = event.is_none();
                if let Some(event) = event {
                    state
                        .store
                        .append(
                            &stream,
                            ExpectedRevision::Any,
                            vec![encode(&event, &actor, now)],
                        )
                        .await
                        .map_err(EndpointError::store)?;
                }
                revoke_family_access_tokens(state, &stream, now).await?;
                return Err(EndpointError::InvalidGrant(
                    if already {
                        "refresh token family was revoked"
                    } else {
                        "refresh token was already used: its family is revoked"
                    }
                    .into(),
                ));
            }
            Rotation::Rotate(event) => {
                let start = family.start.as_ref().ok_or_else(unknown)?;
                let consent_expires_at =
                    require_authorised(consents.as_ref(), &start.consent_id, now).await?;
                let scope = match params.get("scope") {
                    None => start.scope.clone(),
                    Some(requested) => {
                        let granted = parse_scope(&start.scope);
                        let requested: BTreeSet<String> = parse_scope(requested);
                        if let Some(extra) = requested.iter().find(|s| !granted.contains(*s)) {
                            return Err(EndpointError::InvalidScope(format!(
                                "scope {extra} was not granted"
                            )));
                        }
                        requested.into_iter().collect::<Vec<_>>().join(" ")
                    }
                };
                // Signed first, recorded with the rotation, handed out only once that append
                // succeeded: every access token of the family is in its stream (what a
                // revocation of the family revokes). A lost race discards it unseen.
                let issued = issue_consent_token(
                    state,
                    AccessGrant {
                        client,
                        subject: &start.subject,
                        scope: &scope,
                        consent_id: &start.consent_id,
                        consent_expires_at: consent_expires_at.min(start.expires_at),
                        dpop_jkt: dpop_jkt.clone(),
                    },
                    now,
                )?;
                let event = event.with_access_token(family_access_token(&issued));
                match state
                    .store
                    .append(
                        &stream,
                        ExpectedRevision::from(revision),
                        vec![encode(&event, &actor, now)],
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(StoreError::WrongExpectedVersion { .. }) => continue,
                    Err(e) => return Err(EndpointError::store(e)),
                }
                return Ok(response(&issued, Some(new_token)));
            }
        }
    }
    Err(EndpointError::TemporarilyUnavailable(
        "refresh token family is busy".into(),
    ))
}

/// RFC 7009 for refresh tokens: revokes the token's family and the access tokens it issued
/// when `client_id` owns it. Returns
/// whether the token was a refresh token of this hub.
pub async fn revoke_refresh_token(
    state: &AuthState,
    client_id: &str,
    token: &str,
    now: Timestamp,
) -> Result<bool, EndpointError> {
    let Some(family_id) = family_of(token) else {
        return Ok(false);
    };
    let stream = family_stream(family_id);
    let (events, _) = read_events::<FamilyEvent>(state.store.as_ref(), &stream).await?;
    let family = RefreshFamily::fold(&events);
    let Some(start) = &family.start else {
        return Ok(false);
    };
    let hash = token_hash(token);
    let known =
        family.current_hash.as_deref() == Some(hash.as_str()) || family.retired.contains(&hash);
    if !known || start.client_id != client_id {
        return Ok(true);
    }
    // RFC 7009 §2.1: the access tokens of the same grant go with it.
    revoke_family(
        state,
        family_id,
        "revoked_by_client",
        &format!("client:{client_id}"),
        now,
    )
    .await?;
    Ok(true)
}

/// RFC 7662 for refresh tokens: `None` when `token` is no refresh token of this hub's shape;
/// otherwise active only for the current token of a live, unexpired family whose consent is
/// authorised, to its own client (or a staff client).
pub async fn introspect_refresh_token(
    state: &AuthState,
    caller: &RegisteredClient,
    token: &str,
    now: Timestamp,
) -> Result<Option<super::introspection::IntrospectionResponse>, EndpointError> {
    let Some(family_id) = family_of(token) else {
        return Ok(None);
    };
    let inactive = super::introspection::IntrospectionResponse::default();
    let (events, _) =
        read_events::<FamilyEvent>(state.store.as_ref(), &family_stream(family_id)).await?;
    let family = RefreshFamily::fold(&events);
    let Some(start) = &family.start else {
        return Ok(Some(inactive));
    };
    let staff = matches!(caller.kind, crate::domain::ClientKind::Staff { .. });
    let current = family.current_hash.as_deref() == Some(token_hash(token).as_str());
    if !current
        || family.revoked.is_some()
        || now >= start.expires_at
        || (!staff && start.client_id != caller.client_id.to_string())
    {
        return Ok(Some(inactive));
    }
    let Some(consents) = state.consents.as_ref() else {
        return Err(EndpointError::TemporarilyUnavailable(
            "no consent service is configured".into(),
        ));
    };
    match require_authorised(consents.as_ref(), &start.consent_id, now).await {
        Ok(_) => {}
        Err(EndpointError::InvalidGrant(_)) => return Ok(Some(inactive)),
        Err(e) => return Err(e),
    }
    Ok(Some(super::introspection::IntrospectionResponse {
        active: true,
        scope: Some(start.scope.clone()),
        client_id: Some(start.client_id.clone()),
        exp: Some(start.expires_at.unix_seconds()),
        iat: Some(start.at.unix_seconds()),
        sub: Some(start.subject.clone()),
        iss: Some(state.settings.issuer.clone()),
        partner_id: start.partner_id.clone(),
        consent_id: Some(start.consent_id.clone()),
        ..super::introspection::IntrospectionResponse::default()
    }))
}
