//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic` (a digest of the hub-generated secret, ADR 0019; argon2 for
//! secrets stored by earlier builds, see [`super::secrets::SecretCheck`]) and `private_key_jwt` (RFC 7523, `jti`
//! replay-checked across instances). A client must use the method it registered; a deleted
//! client, or a partner client whose partner is not active now (exact read), fails.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ecohub_kernel::Timestamp;

use super::EndpointError;
use super::client_cache::ClientSnapshot;
use super::secrets::SecretVerdict;
use super::state::AuthState;
use super::store::{load_client, partner_standing};
use crate::domain::{AuthMethod, ClientId, RegisteredClient};
use ecohub_jose::client_assertion::{ClientAssertionError, verify_client_assertion};
use ecohub_jose::jwk::Jwks;

/// RFC 7523 §2.2 `client_assertion_type`.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The credentials a request carried.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic` (RFC 6749 §2.3.1).
    Basic {
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// `client_assertion` (RFC 7523 §2.2).
    Assertion {
        /// `client_id` when the body named one.
        client_id: Option<String>,
        /// The signed assertion.
        assertion: String,
    },
    /// Nothing.
    None,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { client_id, .. } => write!(f, "Basic({client_id})"),
            Self::Assertion { client_id, .. } => write!(f, "Assertion({client_id:?})"),
            Self::None => f.write_str("None"),
        }
    }
}

impl Credentials {
    /// Takes the credentials from the `Authorization` header value (if any) and the form
    /// parameters. More than one method, `client_secret_post`, or an unknown assertion type
    /// are refused.
    pub fn from_request(
        authorization: Option<&str>,
        params: &super::Params,
    ) -> Result<Self, EndpointError> {
        let basic = match authorization {
            Some(value) => Some(parse_basic(value)?),
            None => None,
        };
        if params.get("client_secret").is_some() {
            return Err(EndpointError::invalid_client(
                "client_secret_post is not supported",
            ));
        }
        let assertion = match (
            params.get("client_assertion_type"),
            params.get("client_assertion"),
        ) {
            (None, None) => None,
            (Some(JWT_BEARER_ASSERTION_TYPE), Some(assertion)) => Some(Credentials::Assertion {
                client_id: params.get("client_id").map(str::to_owned),
                assertion: assertion.to_owned(),
            }),
            (Some(JWT_BEARER_ASSERTION_TYPE), None) => {
                return Err(EndpointError::InvalidRequest(
                    "client_assertion is required".into(),
                ));
            }
            (Some(_), _) => {
                return Err(EndpointError::InvalidClient {
                    reason: "unsupported client_assertion_type".into(),
                    challenge: false,
                });
            }
            (None, Some(_)) => {
                return Err(EndpointError::InvalidRequest(
                    "client_assertion_type is required".into(),
                ));
            }
        };
        match (basic, assertion) {
            (Some(_), Some(_)) => Err(EndpointError::InvalidRequest(
                "more than one client authentication method".into(),
            )),
            (Some(basic), None) => {
                if let (Credentials::Basic { client_id, .. }, Some(body_id)) =
                    (&basic, params.get("client_id"))
                    && client_id != body_id
                {
                    return Err(EndpointError::InvalidRequest(
                        "client_id does not match the authenticated client".into(),
                    ));
                }
                Ok(basic)
            }
            (None, Some(assertion)) => Ok(assertion),
            (None, None) => Ok(Credentials::None),
        }
    }
}

/// Parses `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &str) -> Result<Credentials, EndpointError> {
    let refused = || EndpointError::invalid_client("malformed basic credentials");
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(refused)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refused());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| refused())?;
    let decoded = String::from_utf8(decoded).map_err(|_| refused())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(refused)?;
    let id = form_decode(id).ok_or_else(refused)?;
    let secret = form_decode(secret).ok_or_else(refused)?;
    if id.is_empty() || secret.is_empty() {
        return Err(refused());
    }
    Ok(Credentials::Basic {
        client_id: id,
        secret,
    })
}

/// `application/x-www-form-urlencoded` decoding of one value.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The `iss` of an assertion, read without verifying it (to find the client whose keys will
/// verify it).
fn unverified_issuer(assertion: &str) -> Option<String> {
    let payload = assertion.split('.').nth(1)?;
    let bytes = ecohub_jose::util::b64url_decode(payload)?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// Authenticates the client; see the module documentation.
pub async fn authenticate_client(
    state: &AuthState,
    credentials: Credentials,
    now: Timestamp,
) -> Result<RegisteredClient, EndpointError> {
    let (client, standing) = match credentials {
        Credentials::None => {
            return Err(EndpointError::invalid_client(
                "client authentication is required",
            ));
        }
        Credentials::Basic { client_id, secret } => {
            let snapshot = find_client(state, &client_id).await?;
            let client = snapshot.client;
            let stored = client.as_ref().and_then(|c| {
                (c.metadata.token_endpoint_auth_method == AuthMethod::ClientSecretBasic)
                    .then_some(c.metadata.secret_hash.as_deref())
                    .flatten()
            });
            let verdict = state.secrets.check(&client_id, stored, &secret).await;
            match (client, verdict) {
                (Some(client), SecretVerdict::Matched) => (client, snapshot.standing),
                (Some(client), _)
                    if client.metadata.token_endpoint_auth_method
                        != AuthMethod::ClientSecretBasic =>
                {
                    return Err(EndpointError::invalid_client(
                        "client must use its registered authentication method",
                    ));
                }
                (_, SecretVerdict::Throttled(wait)) => {
                    return Err(EndpointError::invalid_client(format!(
                        "too many failed attempts; retry in {} s",
                        wait.as_secs().max(1)
                    )));
                }
                _ => return Err(EndpointError::invalid_client("bad client credentials")),
            }
        }
        Credentials::Assertion {
            client_id,
            assertion,
        } => {
            let refused = |reason: &str| EndpointError::InvalidClient {
                reason: reason.to_owned(),
                challenge: false,
            };
            let client_id = client_id
                .or_else(|| unverified_issuer(&assertion))
                .ok_or_else(|| refused("assertion names no client"))?;
            let snapshot = find_client(state, &client_id).await?;
            let client = snapshot
                .client
                .ok_or_else(|| refused("unknown or deleted client"))?;
            if client.metadata.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt {
                return Err(refused(
                    "client must use its registered authentication method",
                ));
            }
            let jwks = snapshot
                .jwks
                .ok_or_else(|| refused("client has no usable jwks"))?;
            let token_endpoint = state.settings.token_endpoint();
            let audiences = [token_endpoint.as_str(), state.settings.issuer.as_str()];
            verify_client_assertion(
                &assertion,
                &jwks,
                &client_id,
                &audiences,
                now,
                state.replay.as_ref(),
            )
            .await
            .map_err(|e| match e {
                ClientAssertionError::ReplayGuard(e) => {
                    EndpointError::TemporarilyUnavailable(e.to_string())
                }
                other => refused(&other.to_string()),
            })?;
            (client, snapshot.standing)
        }
    };
    if client.kind.partner_id().is_some() {
        let standing = standing.unwrap_or_default();
        if !standing.is_active() {
            return Err(EndpointError::InvalidClient {
                reason: format!("partner is {standing:?}"),
                challenge: false,
            });
        }
    }
    Ok(client)
}

/// The registered, not deleted client `client_id` and its partner's standing, as the latest
/// revisions of their streams say (possibly remembered while the store's head has not moved;
/// see [`super::client_cache`]).
async fn find_client(state: &AuthState, client_id: &str) -> Result<ClientSnapshot, EndpointError> {
    let Ok(id) = ClientId::parse(client_id) else {
        return Ok(ClientSnapshot {
            client: None,
            standing: None,
            jwks: None,
        });
    };
    // The head is read before the streams, so a snapshot never outlives an append.
    let head = super::stamp::read_stamp(state.store.as_ref())
        .await
        .map_err(EndpointError::store)?;
    if let Some(snapshot) = state.clients.get(client_id, &head) {
        return Ok(snapshot);
    }
    let (client, _) = load_client(state.store.as_ref(), &id)
        .await
        .map_err(EndpointError::store)?;
    let client = client.active().cloned();
    let standing = match client.as_ref().and_then(|c| c.kind.partner_id()) {
        Some(partner_id) => Some(
            partner_standing(state.store.as_ref(), partner_id)
                .await
                .map_err(EndpointError::store)?,
        ),
        None => None,
    };
    let jwks = client
        .as_ref()
        .and_then(|c| c.metadata.jwks.as_ref())
        .and_then(|j| Jwks::from_json(j).ok())
        .map(std::sync::Arc::new);
    let snapshot = ClientSnapshot {
        client,
        standing,
        jwks,
    };
    state.clients.put(client_id, head, snapshot.clone());
    Ok(snapshot)
}
