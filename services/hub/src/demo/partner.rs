//! A demo partner as a partner's developer builds it: it applies through the public API,
//! registers a `private_key_jwt` client by dynamic client registration once approved, and
//! authenticates every token request with a fresh signed client assertion.

use anyhow::{Context, anyhow, bail};
use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::{Clock, SystemClock, Timestamp};
use oauth2::PkceCodeChallenge;
use reqwest::Method;
use serde_json::{Value, json};

use super::client::Actor;

/// The redirect URI the demo partners register (never followed: the demo reads `Location`).
pub(super) const CALLBACK: &str = "https://partner.example/callback";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An approved partner with its registered client.
pub(super) struct Partner {
    pub(super) partner_id: String,
    pub(super) client_id: String,
    key: SigningKey,
    token_endpoint: String,
    base: String,
}

/// A partner's application (the public, unauthenticated endpoint); returns its id.
pub(super) async fn apply(
    anyone: &Actor,
    legal_name: &str,
    website: &str,
    contact: (&str, &str),
    roles: &[&str],
) -> anyhow::Result<String> {
    let applied = anyone
        .json(
            Method::POST,
            "/partners/applications",
            Some(&json!({
                "legal_name": legal_name,
                "registration_number": registration_number(legal_name),
                "country": "GB",
                "website": website,
                "contacts": [{"name": contact.0, "email": contact.1, "role": "technical"}],
                "requested_roles": roles,
            })),
        )
        .await?;
    applied["partner_id"]
        .as_str()
        .map(ToOwned::to_owned)
        .ok_or_else(|| anyhow!("the application answered no partner_id: {applied}"))
}

/// A believable, stable company number for a name.
fn registration_number(name: &str) -> String {
    let n = name
        .bytes()
        .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!("{:08}", n % 100_000_000)
}

impl Partner {
    /// Registers the approved partner's client with the software statement of its approval.
    pub(super) async fn register(
        anyone: &Actor,
        partner_id: &str,
        approval: &Value,
        scope: &str,
    ) -> anyhow::Result<Self> {
        let now = SystemClock.now();
        let key = SigningKey::generate(SigningAlgorithm::Es256, now, now)
            .map_err(|e| anyhow!("cannot generate the partner's key: {e}"))?;
        let client = anyone
            .json(
                Method::POST,
                "/register",
                Some(&json!({
                    "software_statement": approval["software_statement"],
                    "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": {"keys": [key.public_jwk()]},
                    "redirect_uris": [CALLBACK],
                    "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
                    "scope": scope,
                })),
            )
            .await?;
        let metadata = anyone
            .json(Method::GET, "/.well-known/oauth-authorization-server", None)
            .await?;
        Ok(Self {
            partner_id: partner_id.to_owned(),
            client_id: client["client_id"]
                .as_str()
                .ok_or_else(|| anyhow!("registration answered no client_id: {client}"))?
                .to_owned(),
            key,
            token_endpoint: metadata["token_endpoint"]
                .as_str()
                .ok_or_else(|| anyhow!("no token_endpoint in the metadata"))?
                .to_owned(),
            base: anyone.url(""),
        })
    }

    /// The hub's base URL.
    pub(super) fn base_url(&self) -> String {
        self.base.clone()
    }

    /// The client authentication fields with a fresh assertion (unique `jti`).
    fn auth_form(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let now = SystemClock.now().unix_seconds();
        let claims = json!({"iss": self.client_id, "sub": self.client_id,
            "aud": self.token_endpoint, "iat": now, "exp": now + 60,
            "jti": uuid::Uuid::new_v4().to_string()});
        let assertion = self
            .key
            .sign_jwt("JWT", &claims)
            .map_err(|e| anyhow!("cannot sign the client assertion: {e}"))?;
        Ok(vec![
            ("client_id", self.client_id.clone()),
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            ("client_assertion", assertion),
        ])
    }

    async fn token_request(&self, mut form: Vec<(&'static str, String)>) -> anyhow::Result<String> {
        form.extend(self.auth_form()?);
        let http = Actor::new(&self.base)?;
        let token = http.form_json("/token", &form).await?;
        token["access_token"]
            .as_str()
            .map(ToOwned::to_owned)
            .ok_or_else(|| anyhow!("the token endpoint answered no access_token"))
    }

    /// A client_credentials token for `scope`.
    pub(super) async fn token(&self, scope: &str) -> anyhow::Result<String> {
        self.token_request(vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", scope.to_owned()),
        ])
        .await
    }

    /// The partner asks for a consent; returns its id.
    pub(super) async fn create_consent(
        &self,
        permissions: &[&str],
        purpose: (&str, &str),
        expires: Timestamp,
    ) -> anyhow::Result<String> {
        let api = Actor::with_bearer(&self.base, self.token("consents:write").await?)?;
        let consent = api
            .json(
                Method::POST,
                "/consents",
                Some(&json!({
                    "permissions": permissions,
                    "purpose": {"code": purpose.0, "text": purpose.1},
                    "expiration": expires.to_rfc3339(),
                    "data_providers": ["bank"],
                })),
            )
            .await?;
        consent["consent_id"]
            .as_str()
            .map(ToOwned::to_owned)
            .ok_or_else(|| anyhow!("the consent answered no consent_id: {consent}"))
    }

    /// PAR, then the customer (signed in with `customer`'s session, or signing in now) decides
    /// on the real consent page; on approval the partner redeems the code with PKCE and gets
    /// a consent-bound token for `scope`.
    pub(super) async fn ask_customer(
        &self,
        customer: &Actor,
        credentials: (&str, &str),
        consent_id: &str,
        scope: &str,
        approve: bool,
    ) -> anyhow::Result<Option<String>> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut par = self.auth_form()?;
        par.extend([
            ("response_type", "code".to_owned()),
            ("redirect_uri", CALLBACK.to_owned()),
            ("scope", scope.to_owned()),
            ("state", "demo".to_owned()),
            ("code_challenge", challenge.as_str().to_owned()),
            ("code_challenge_method", "S256".to_owned()),
            (
                "authorization_details",
                json!([{"type": "ecohub_consent", "consent_id": consent_id}]).to_string(),
            ),
        ]);
        let pushed = Actor::new(&self.base)?.form_json("/par", &par).await?;
        let request_uri = pushed["request_uri"]
            .as_str()
            .ok_or_else(|| anyhow!("PAR answered no request_uri"))?;
        let authorize = reqwest::Url::parse_with_params(
            &format!("{}/authorize", self.base),
            [
                ("client_id", self.client_id.as_str()),
                ("request_uri", request_uri),
            ],
        )?;
        let authorize = format!("/authorize?{}", authorize.query().unwrap_or_default());
        let mut page = customer.page(&authorize).await?;
        if page.status.is_redirection() {
            let login_path = page
                .location
                .clone()
                .ok_or_else(|| anyhow!("a redirect without Location"))?;
            let login = customer.page(&login_path).await?;
            let (csrf, return_to) = (login.input("csrf_token")?, login.input("return_to")?);
            customer
                .form(
                    "/login",
                    &[
                        ("username", credentials.0),
                        ("password", credentials.1),
                        ("csrf_token", &csrf),
                        ("return_to", &return_to),
                    ],
                )
                .await
                .context("the customer's sign-in")?;
            page = customer.page(&authorize).await?;
        }
        if !page.status.is_success() {
            bail!("the consent page answered {}", page.status);
        }
        let csrf = page.input("csrf_token")?;
        let request_uri = page.input("request_uri")?;
        let decided = customer
            .form(
                "/authorize/decision",
                &[
                    ("client_id", &self.client_id),
                    ("request_uri", &request_uri),
                    ("decision", if approve { "approve" } else { "reject" }),
                    ("csrf_token", &csrf),
                ],
            )
            .await?
            .ok_or_else(|| anyhow!("the decision did not redirect"))?;
        if !approve {
            return Ok(None);
        }
        let code = reqwest::Url::parse(&decided)?
            .query_pairs()
            .find(|(name, _)| name == "code")
            .map(|(_, code)| code.into_owned())
            .ok_or_else(|| anyhow!("the approval redirected without a code"))?;
        self.token_request(vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", CALLBACK.to_owned()),
            ("code_verifier", verifier.secret().clone()),
        ])
        .await
        .map(Some)
    }

    /// The pairwise id the partner knows the customer of a consent-bound token by (token
    /// introspection, RFC 7662: its `sub`).
    pub(super) async fn pairwise_of(&self, token: &str) -> anyhow::Result<String> {
        let mut form = self.auth_form()?;
        form.push(("token", token.to_owned()));
        let introspected = Actor::new(&self.base)?
            .form_json("/introspect", &form)
            .await?;
        introspected["sub"]
            .as_str()
            .map(ToOwned::to_owned)
            .ok_or_else(|| anyhow!("introspection answered no sub: {introspected}"))
    }

    /// Reads `dataset` with a consent-bound token (the hub records the access first).
    pub(super) async fn read(&self, token: &str, dataset: &str) -> anyhow::Result<Value> {
        Actor::with_bearer(&self.base, token.to_owned())?
            .json(Method::GET, &format!("/data/{dataset}"), None)
            .await
    }
}
