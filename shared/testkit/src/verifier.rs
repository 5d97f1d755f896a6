//! [`FakeVerifier`]: an [`AccessTokenVerifier`] for HTTP tests of a service, mapping the
//! tokens a test presents to the principals it chooses, without keys or an authorization
//! server.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken, Principal, SharedVerifier};

type Rule = Box<dyn Fn(&str) -> Principal + Send + Sync>;

/// Tokens a test chooses, each mapped to a [`Principal`]: exact tokens ([`Self::token`]) and
/// families of tokens by prefix ([`Self::prefixed`], the rest of the token is the family's
/// parameter, such as a partner id). Exact tokens are tried first, then the prefixes in the
/// order added; anything else is an invalid token. A principal without a `token_id` gets
/// `jti-<token>`.
#[derive(Default)]
pub struct FakeVerifier {
    exact: HashMap<String, Principal>,
    prefixed: Vec<(String, Rule)>,
}

impl std::fmt::Debug for FakeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeVerifier")
            .field("tokens", &self.exact.keys().collect::<Vec<_>>())
            .field(
                "prefixes",
                &self.prefixed.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl FakeVerifier {
    /// A verifier that knows no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// `token` stands for `principal`.
    pub fn token(mut self, token: &str, principal: Principal) -> Self {
        self.exact.insert(token.to_owned(), principal);
        self
    }

    /// Every token `<prefix><rest>` stands for `principal(rest)`.
    pub fn prefixed(
        mut self,
        prefix: &str,
        principal: impl Fn(&str) -> Principal + Send + Sync + 'static,
    ) -> Self {
        self.prefixed.push((prefix.to_owned(), Box::new(principal)));
        self
    }

    /// The verifier as the services take it from app data.
    pub fn shared(self) -> SharedVerifier {
        Arc::new(self)
    }

    fn principal(&self, token: &str) -> Option<Principal> {
        if let Some(p) = self.exact.get(token) {
            return Some(p.clone());
        }
        self.prefixed
            .iter()
            .find_map(|(prefix, rule)| token.strip_prefix(prefix.as_str()).map(rule))
    }
}

#[async_trait(?Send)]
impl AccessTokenVerifier for FakeVerifier {
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError> {
        let token = presented.token.as_str();
        let mut principal = self
            .principal(token)
            .ok_or_else(|| AuthError::InvalidToken("unknown token".into()))?;
        if principal.token_id.is_empty() {
            principal.token_id = format!("jti-{token}");
        }
        Ok(principal)
    }
}

/// A client's principal: `client_id` is also the subject; no partner, no consent; the
/// [`FakeVerifier`] gives it the token id `jti-<token>`. Adjust it with [`PrincipalExt`].
pub fn principal(client_id: &str, scopes: &[&str]) -> Principal {
    Principal {
        client_id: client_id.to_owned(),
        subject: client_id.to_owned(),
        partner_id: None,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        token_id: String::new(),
        consent_id: None,
        staff_id: None,
    }
}

/// Builder steps on a [`Principal`] for tests.
pub trait PrincipalExt {
    /// Belongs to partner `id`.
    fn partner(self, id: &str) -> Self;
    /// Has `subject` as its subject (a customer's pairwise id, for consent-bound tokens).
    fn subject(self, subject: &str) -> Self;
    /// Was issued under consent `id`.
    fn consent(self, id: &str) -> Self;
}

impl PrincipalExt for Principal {
    fn partner(mut self, id: &str) -> Self {
        self.partner_id = Some(id.to_owned());
        self
    }

    fn subject(mut self, subject: &str) -> Self {
        self.subject = subject.to_owned();
        self
    }

    fn consent(mut self, id: &str) -> Self {
        self.consent_id = Some(id.to_owned());
        self
    }
}

/// Customer sessions for tests: cookie `session-<customer>` → customer `<customer>` (display
/// name `<b><customer></b> & co`, to show escaping), CSRF token [`fake_csrf`]`(<customer>)`;
/// any other cookie is invalid.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeSessions;

#[async_trait(?Send)]
impl ecohub_security::CustomerSessions for FakeSessions {
    async fn resolve(
        &self,
        cookie: &str,
    ) -> Result<ecohub_security::SessionCustomer, ecohub_security::CustomerSessionError> {
        let customer = cookie
            .strip_prefix("session-")
            .ok_or_else(|| ecohub_security::CustomerSessionError::Invalid("unknown".into()))?;
        Ok(ecohub_security::SessionCustomer {
            customer_id: customer.to_owned(),
            display_name: format!("<b>{customer}</b> & co"),
            session_id: format!("sid-{customer}"),
            csrf_token: fake_csrf(customer),
        })
    }
}

/// The CSRF token of `customer`'s fake session.
pub fn fake_csrf(customer: &str) -> String {
    format!("csrf-{customer}")
}

/// Staff sessions by cookie value (console pages, ADR 0024): `ada` and `grace` (partnership
/// managers: scope `admin`), `carol` (a compliance officer: `audit` only, her display name
/// `Carol <Compliance>` to show escaping), `down` (sessions cannot be checked now: 503); any
/// other cookie is invalid. Staff ids are [`fake_staff_id`]`(1|2|3)`, CSRF tokens
/// [`fake_csrf`]`(<cookie>)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct FakeStaffSessions;

#[async_trait(?Send)]
impl ecohub_security::StaffSessions for FakeStaffSessions {
    async fn resolve(
        &self,
        cookie: &str,
    ) -> Result<ecohub_security::SessionStaff, ecohub_security::StaffSessionError> {
        let (n, name, role, scope) = match cookie {
            "ada" => (1, "Ada Lovelace", "partnership_manager", "admin"),
            "grace" => (2, "Grace Hopper", "partnership_manager", "admin"),
            "carol" => (3, "Carol <Compliance>", "compliance_officer", "audit"),
            "down" => return Err(ecohub_security::StaffSessionError::Unavailable),
            _ => {
                return Err(ecohub_security::StaffSessionError::Invalid(
                    "unknown".into(),
                ));
            }
        };
        Ok(ecohub_security::SessionStaff {
            staff_id: fake_staff_id(n),
            display_name: name.to_owned(),
            roles: [role.to_owned()].into_iter().collect(),
            scopes: [scope.to_owned()].into_iter().collect(),
            session_id: format!("sid-{cookie}"),
            csrf_token: fake_csrf(cookie),
        })
    }
}

/// The staff id of [`FakeStaffSessions`]' person `n` (1 `ada`, 2 `grace`, 3 `carol`).
pub fn fake_staff_id(n: u8) -> String {
    format!("0190f5c2-0000-7000-8000-00000000000{n}")
}
