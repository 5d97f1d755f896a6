//! Customers: who signs in on the hub's login page, their pairwise identifiers, and their
//! sessions.
//!
//! Authentication goes through the [`CustomerAuthenticator`] trait. The built-in directory
//! ([`BuiltInDirectory`], customers as events in `customer-<uuidv7>`) is one implementation;
//! delegating login to the bank's own OpenID provider is another one to add later (it would
//! map the provider's `sub` to a hub customer id and pairwise salt): the login pages, the
//! sessions and the consent flow only ever see an [`AuthenticatedCustomer`].
//!
//! Username uniqueness across instances: registering first appends `UsernameClaimed` to
//! `username-<hex SHA-256 of the normalised username>` at `NoStream` (the name carries no
//! personal data), then the customer's own stream.
//!
//! Sessions are JWTs signed by the key ring (`typ` `customer-session+jwt`; session id,
//! customer id, CSRF token, 30-minute expiry), so every instance sharing the store and the
//! key ring accepts them; signing out appends `CustomerSignedOut` to `session-<sid>`, which
//! [`CustomerSessionResolver`] checks exactly on every request.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ecohub_eventstore::{
    CurrentRevision, EventFilter, EventStore, ExpectedRevision, NewEvent, Position, SharedStore,
    StoreError,
};
use ecohub_kernel::{Aggregate, Clock, DomainEvent, EventMetadata, Timestamp};
use ecohub_security::{CustomerSessionError, CustomerSessions, SessionCustomer};
use serde::{Deserialize, Serialize};

use super::secrets::{hash_secret, verify_secret};
use super::session::{SessionClaims, sign_session, verify_session};
use crate::domain::{
    Customer, CustomerCommand, CustomerError, CustomerEvent, CustomerId, RegisterCustomer,
    RegisteredCustomer, normalise_username,
};
use ecohub_jose::keys::KeyRing;
use ecohub_jose::util::{b64url, random_id, sha256};

/// How long a customer session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Shortest password the built-in directory accepts.
pub const MIN_PASSWORD_LENGTH: usize = 10;

/// The customer's pairwise subject identifier for `partner_id`: base64url(SHA-256(salt ‖ 0x00
/// ‖ partner_id)) over the customer's secret salt. Deterministic per (customer, partner);
/// without the salt, identifiers of one customer at two partners cannot be linked. (The
/// reverse lookup — pairwise id and partner to customer — needs the salts:
/// [`BuiltInDirectory::pairwise_salts_after`].)
pub fn pairwise_id(pairwise_salt: &str, partner_id: &str) -> String {
    let mut input = Vec::with_capacity(pairwise_salt.len() + partner_id.len() + 1);
    input.extend_from_slice(pairwise_salt.as_bytes());
    input.push(0);
    input.extend_from_slice(partner_id.as_bytes());
    b64url(sha256(&input))
}

/// A customer whose credentials were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedCustomer {
    /// The hub's internal customer id.
    pub customer_id: String,
    /// For pages.
    pub display_name: String,
    /// The secret salt of the customer's pairwise identifiers.
    pub pairwise_salt: String,
}

impl AuthenticatedCustomer {
    /// This customer's pairwise subject identifier for `partner_id` (see [`pairwise_id`]).
    pub fn pairwise_id(&self, partner_id: &str) -> String {
        pairwise_id(&self.pairwise_salt, partner_id)
    }
}

/// Why a customer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomerFailure {
    /// Wrong username or password (never says which).
    #[error("wrong username or password")]
    BadCredentials,
    /// The username is taken.
    #[error("username is already taken")]
    UsernameTaken,
    /// A value was refused.
    #[error(transparent)]
    Refused(#[from] CustomerError),
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
}

impl From<StoreError> for CustomerFailure {
    fn from(e: StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// Checks a customer's credentials and finds customers by id. The built-in directory is
/// [`BuiltInDirectory`]; a bank's OpenID provider would be another implementation.
#[async_trait(?Send)]
pub trait CustomerAuthenticator: Send + Sync + 'static {
    /// The customer with these credentials; [`CustomerFailure::BadCredentials`] otherwise,
    /// taking the same time whether the username exists or not.
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AuthenticatedCustomer, CustomerFailure>;

    /// The customer `customer_id`, read exactly (`None`: unknown or gone).
    async fn customer(
        &self,
        customer_id: &str,
    ) -> Result<Option<AuthenticatedCustomer>, CustomerFailure>;
}

/// The shared authenticator in [`super::state::AuthState`].
pub type SharedCustomerAuthenticator = Arc<dyn CustomerAuthenticator>;

/// The username claim stream: `username-<hex SHA-256 of the normalised username>`.
pub fn username_stream(normalised: &str) -> String {
    let digest = sha256(normalised.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("username-{hex}")
}

#[derive(Serialize, Deserialize)]
struct UsernameClaimedV1 {
    customer_id: String,
}

/// The event type of a username claim.
pub const USERNAME_CLAIMED: &str = "UsernameClaimed";

/// A customer as listed (no password hash, no salt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerSummary {
    /// The customer's id.
    pub customer_id: String,
    /// The username.
    pub username: String,
    /// The display name.
    pub display_name: String,
    /// When it was registered.
    pub registered_at: Timestamp,
}

/// A customer's id with the secret salt of its pairwise ids (see
/// [`BuiltInDirectory::pairwise_salts_after`]). Its `Debug` never shows the salt.
#[derive(Clone, PartialEq, Eq)]
pub struct PairwiseSalt {
    /// The hub's customer id.
    pub customer_id: String,
    /// The secret salt (base64url).
    pub salt: String,
}

impl std::fmt::Debug for PairwiseSalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairwiseSalt")
            .field("customer_id", &self.customer_id)
            .finish_non_exhaustive()
    }
}

/// The built-in customer directory on the event store.
#[derive(Clone)]
pub struct BuiltInDirectory {
    store: SharedStore,
}

impl std::fmt::Debug for BuiltInDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltInDirectory").finish_non_exhaustive()
    }
}

async fn load_customer(
    store: &dyn EventStore,
    id: &CustomerId,
) -> Result<Option<RegisteredCustomer>, CustomerFailure> {
    let (customer, _) = ecohub_eventstore::load::<Customer>(store, &id.stream_name())
        .await
        .map_err(|e| CustomerFailure::Store(e.to_string()))?;
    Ok(customer.registered().cloned())
}

impl BuiltInDirectory {
    /// A directory on `store`.
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }

    /// Registers a customer: validates, hashes the password (argon2id), draws the pairwise
    /// salt, claims the username across instances, appends `CustomerRegistered`.
    pub async fn add(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        now: Timestamp,
        actor: &str,
    ) -> Result<CustomerSummary, CustomerFailure> {
        let normalised = normalise_username(username)?;
        if password.chars().count() < MIN_PASSWORD_LENGTH {
            return Err(CustomerError::Invalid(format!(
                "password must have at least {MIN_PASSWORD_LENGTH} characters"
            ))
            .into());
        }
        let customer_id = CustomerId::new_v7(now);
        let password = password.to_owned();
        let password_hash = tokio::task::spawn_blocking(move || hash_secret(&password))
            .await
            .map_err(|e| CustomerFailure::Store(e.to_string()))?
            .map_err(CustomerFailure::Store)?;
        let command = RegisterCustomer {
            customer_id,
            username: normalised.clone(),
            display_name: display_name.to_owned(),
            password_hash,
            pairwise_salt: random_id(32),
        };
        // Decide first (nothing written for an invalid customer), then claim, then append.
        let events = Customer::default().decide(CustomerCommand::RegisterCustomer(command), now)?;
        let metadata = EventMetadata {
            actor: Some(actor.to_owned()),
            ..EventMetadata::default()
        };
        let mut claim = NewEvent::raw(
            USERNAME_CLAIMED,
            serde_json::json!(UsernameClaimedV1 {
                customer_id: customer_id.to_string()
            }),
            now,
        );
        claim.metadata = metadata.clone();
        match self
            .store
            .append(
                &username_stream(&normalised),
                ExpectedRevision::NoStream,
                vec![claim],
            )
            .await
        {
            Ok(_) => {}
            Err(StoreError::WrongExpectedVersion { .. }) => {
                return Err(CustomerFailure::UsernameTaken);
            }
            Err(e) => return Err(e.into()),
        }
        let new_events = events
            .iter()
            .map(|e| NewEvent::from_domain(e, metadata.clone(), now))
            .collect();
        self.store
            .append(
                &customer_id.stream_name(),
                ExpectedRevision::NoStream,
                new_events,
            )
            .await?;
        let CustomerEvent::Registered(c) = &events[0];
        Ok(summary(c))
    }

    /// Every customer, in registration order (reads the `customer-` streams of the log).
    pub async fn list(&self) -> Result<Vec<CustomerSummary>, CustomerFailure> {
        let (registered, _) = self.registered_after(None).await?;
        Ok(registered.iter().map(summary).collect())
    }

    /// The customers registered after `from` (exclusive; `None`: from the beginning), in
    /// registration order, each with the secret salt of its pairwise ids (see
    /// [`pairwise_id`]; pairwise ids are one-way, so mapping a partner's pairwise id back to a
    /// customer needs the salts), and the position of the last `customer-` event read (`from`
    /// when there was none): what to pass as `from` next time to read only the customers
    /// registered since.
    pub async fn pairwise_salts_after(
        &self,
        from: Option<Position>,
    ) -> Result<(Vec<PairwiseSalt>, Option<Position>), CustomerFailure> {
        let (registered, last) = self.registered_after(from).await?;
        let salts = registered
            .into_iter()
            .map(|c| PairwiseSalt {
                customer_id: c.customer_id.to_string(),
                salt: c.pairwise_salt,
            })
            .collect();
        Ok((salts, last))
    }

    /// The customers registered after `from`, and the position of the last event read.
    async fn registered_after(
        &self,
        mut from: Option<Position>,
    ) -> Result<(Vec<RegisteredCustomer>, Option<Position>), CustomerFailure> {
        const PAGE: usize = 1000;
        let filter = EventFilter::streams(["customer-"]);
        let mut out = Vec::new();
        loop {
            let page = self.store.read_all(from, &filter, PAGE).await?;
            for recorded in &page {
                if recorded.event_type != "CustomerRegistered" {
                    continue;
                }
                let data: serde_json::Value = serde_json::from_slice(&recorded.data)
                    .map_err(|e| CustomerFailure::Store(e.to_string()))?;
                let CustomerEvent::Registered(c) =
                    CustomerEvent::decode(&recorded.event_type, recorded.event_version, &data)
                        .map_err(|e| CustomerFailure::Store(e.to_string()))?;
                out.push(c);
            }
            if let Some(last) = page.last() {
                from = Some(last.position);
            }
            if page.len() < PAGE {
                return Ok((out, from));
            }
        }
    }

    async fn find_by_username(
        &self,
        normalised: &str,
    ) -> Result<Option<RegisteredCustomer>, CustomerFailure> {
        let events = ecohub_eventstore::read_stream_to_end(
            self.store.as_ref(),
            &username_stream(normalised),
        )
        .await?;
        let Some(first) = events.first() else {
            return Ok(None);
        };
        let claim: UsernameClaimedV1 = serde_json::from_slice(&first.data)
            .map_err(|e| CustomerFailure::Store(e.to_string()))?;
        let Ok(id) = CustomerId::parse(&claim.customer_id) else {
            return Ok(None);
        };
        load_customer(self.store.as_ref(), &id).await
    }
}

fn summary(c: &RegisteredCustomer) -> CustomerSummary {
    CustomerSummary {
        customer_id: c.customer_id.to_string(),
        username: c.username.clone(),
        display_name: c.display_name.clone(),
        registered_at: c.registered_at,
    }
}

fn authenticated(c: &RegisteredCustomer) -> AuthenticatedCustomer {
    AuthenticatedCustomer {
        customer_id: c.customer_id.to_string(),
        display_name: c.display_name.clone(),
        pairwise_salt: c.pairwise_salt.clone(),
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_secret("dummy password for unknown users").unwrap_or_default())
}

#[async_trait(?Send)]
impl CustomerAuthenticator for BuiltInDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<AuthenticatedCustomer, CustomerFailure> {
        let found = match normalise_username(username) {
            Ok(normalised) => self.find_by_username(&normalised).await?,
            Err(_) => None,
        };
        let hash = found
            .as_ref()
            .map_or_else(|| dummy_hash().to_owned(), |c| c.password_hash.clone());
        let password = password.to_owned();
        // Unknown users cost one argon2 verification too: no user enumeration by timing.
        let matched = tokio::task::spawn_blocking(move || verify_secret(&hash, &password))
            .await
            .map_err(|e| CustomerFailure::Store(e.to_string()))?;
        match found {
            Some(c) if matched => Ok(authenticated(&c)),
            _ => Err(CustomerFailure::BadCredentials),
        }
    }

    async fn customer(
        &self,
        customer_id: &str,
    ) -> Result<Option<AuthenticatedCustomer>, CustomerFailure> {
        let Ok(id) = CustomerId::parse(customer_id) else {
            return Ok(None);
        };
        Ok(load_customer(self.store.as_ref(), &id)
            .await?
            .as_ref()
            .map(authenticated))
    }
}

// ---------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------

/// The stream recording that session `sid` was signed out.
pub fn session_stream(sid: &str) -> String {
    format!("session-{sid}")
}

/// The event type of a sign-out.
pub const CUSTOMER_SIGNED_OUT: &str = "CustomerSignedOut";

/// A new session for `customer` at `now`: the cookie value and its claims.
pub fn start_session(
    ring: &KeyRing,
    issuer: &str,
    customer_id: &str,
    now: Timestamp,
) -> Result<(String, SessionClaims), ecohub_jose::keys::KeyError> {
    let iat = now.unix_seconds();
    let claims = SessionClaims {
        iss: issuer.to_owned(),
        sub: customer_id.to_owned(),
        sid: uuid::Uuid::now_v7().to_string(),
        csrf: random_id(32),
        iat,
        exp: iat + i64::try_from(SESSION_LIFETIME.as_secs()).unwrap_or(1800),
    };
    let token = sign_session(ring, &claims, now)?;
    Ok((token, claims))
}

/// Records the sign-out of session `sid` (effective on every instance at once); signing out
/// twice is fine.
pub async fn end_session(
    store: &dyn EventStore,
    claims: &SessionClaims,
    now: Timestamp,
) -> Result<(), StoreError> {
    record_sign_out(
        store,
        CUSTOMER_SIGNED_OUT,
        &claims.sid,
        format!("customer:{}", claims.sub),
        now,
    )
    .await
}

/// Appends `event_type` to `session-<sid>` as `actor` (the customers' and staff's sign-outs):
/// the first sign-out counts, another is fine.
pub(crate) async fn record_sign_out(
    store: &dyn EventStore,
    event_type: &str,
    sid: &str,
    actor: String,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut event = NewEvent::raw(
        event_type,
        serde_json::json!({ "sid": sid, "at": now }),
        now,
    );
    event.metadata = EventMetadata {
        actor: Some(actor),
        ..EventMetadata::default()
    };
    match store
        .append(
            &session_stream(sid),
            ExpectedRevision::NoStream,
            vec![event],
        )
        .await
    {
        Ok(_) | Err(StoreError::WrongExpectedVersion { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Resolves `ecohub_session` cookies: the JWT's signature (the ring's keys), issuer and
/// expiry, then — exactly — that the session was not signed out and the customer exists.
/// Register it in app data as `web::Data<SharedCustomerSessions>`.
pub struct CustomerSessionResolver {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    ring: Arc<KeyRing>,
    issuer: String,
    customers: SharedCustomerAuthenticator,
}

impl std::fmt::Debug for CustomerSessionResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerSessionResolver")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl CustomerSessionResolver {
    /// A resolver sharing the authorization server's store, clock, keys and customers.
    pub fn from_state(state: &super::state::AuthState) -> Self {
        Self {
            store: state.store.clone(),
            clock: state.clock.clone(),
            ring: state.ring.clone(),
            issuer: state.settings.issuer.clone(),
            customers: state.customers.clone(),
        }
    }

    /// Resolves at `now`, returning the claims too.
    pub async fn resolve_at(
        &self,
        cookie: &str,
        now: Timestamp,
    ) -> Result<(SessionCustomer, SessionClaims), CustomerSessionError> {
        let claims = verify_session(cookie, self.ring.as_ref(), &self.issuer, now)
            .map_err(|e| CustomerSessionError::Invalid(e.to_string()))?;
        let revision = self
            .store
            .stream_revision(&session_stream(&claims.sid))
            .await
            .map_err(|_| CustomerSessionError::Unavailable)?;
        if revision != CurrentRevision::NoStream {
            return Err(CustomerSessionError::Invalid("signed out".into()));
        }
        let customer = self
            .customers
            .customer(&claims.sub)
            .await
            .map_err(|_| CustomerSessionError::Unavailable)?
            .ok_or_else(|| CustomerSessionError::Invalid("unknown customer".into()))?;
        Ok((
            SessionCustomer {
                customer_id: claims.sub.clone(),
                display_name: customer.display_name,
                session_id: claims.sid.clone(),
                csrf_token: claims.csrf.clone(),
            },
            claims,
        ))
    }
}

#[async_trait(?Send)]
impl CustomerSessions for CustomerSessionResolver {
    async fn resolve(&self, cookie: &str) -> Result<SessionCustomer, CustomerSessionError> {
        let now = self.clock.now();
        self.resolve_at(cookie, now).await.map(|(c, _)| c)
    }
}
