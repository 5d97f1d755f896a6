//! Black-box tests live in `tests/`: they start the real `ecohub` binary and talk to it over
//! loopback HTTP, as an operator, a partner, a customer or a compliance officer would. This
//! library holds the journeys they share (onboarding a partner, a client assertion, the CLI,
//! a customer authorising a consent through the real pages).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ecohub_jose::{SigningAlgorithm, SigningKey};
use ecohub_kernel::{Clock, SystemClock};
use ecohub_testkit::{Browser, HubProcess, ecohub_binary, loopback_client};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, PkceCodeChallenge, RedirectUrl, Scope,
    TokenResponse, TokenUrl,
};
use serde_json::{Value, json};

/// A hub the journeys talk to: a process the test started, or one already running.
pub trait Hub {
    /// `http://<address><path>`.
    fn url(&self, path: &str) -> String;
}

impl Hub for HubProcess {
    fn url(&self, path: &str) -> String {
        HubProcess::url(self, path)
    }
}

/// A hub already running at a base URL (`http://127.0.0.1:8080`).
#[derive(Debug, Clone)]
pub struct RunningHub(pub String);

impl Hub for RunningHub {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// The partner's registered redirect URI (never followed: tests read `Location`).
pub const CALLBACK: &str = "https://globetrotter.example/callback";
/// The test customer's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// RFC 7523 client assertion type.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The `oauth2` crate's HTTP client, on a loopback reqwest client.
pub async fn oauth_http(
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, reqwest::Error> {
    let client = loopback_client();
    let (parts, body) = request.into_parts();
    let mut builder = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let response = builder.send().await?;
    let mut out = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        out = out.header(name, value);
    }
    Ok(out
        .body(response.bytes().await?.to_vec())
        .expect("valid response"))
}

/// Waits until `/health/ready` answers 200.
pub async fn wait_ready(hub: &impl Hub) {
    let client = loopback_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client
        .get(hub.url("/health/ready"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
        != 200
    {
        assert!(Instant::now() < deadline, "hub not ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends and returns the status and the JSON body (Null when not JSON).
pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// A client_credentials token with client_secret_basic, through the `oauth2` crate.
pub async fn basic_token(hub: &impl Hub, id: &str, secret: &str, scope: &str) -> String {
    BasicClient::new(ClientId::new(id.to_owned()))
        .set_client_secret(ClientSecret::new(secret.to_owned()))
        .set_token_uri(TokenUrl::new(hub.url("/token")).unwrap())
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.to_owned()))
        .request_async(&oauth_http)
        .await
        .map(|t| t.access_token().secret().clone())
        .unwrap_or_else(|e| panic!("token for {scope}: {e:?}"))
}

/// Runs `ecohub <args> --data-dir <dir> <extra>` with `stdin` as its first input line;
/// returns (success, stdout, stderr).
pub fn cli(
    args: &[&str],
    dir: &std::path::Path,
    extra: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new(ecohub_binary())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A query parameter of `url`, percent-decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Percent-encodes everything but unreserved characters.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A partner approved as a data recipient, with a `private_key_jwt` client registered for the
/// code flow.
pub struct Partner {
    /// The partner's id.
    pub partner_id: String,
    /// The registered client.
    pub client_id: String,
    /// The client's private key (its public JWK is registered).
    pub key: SigningKey,
    /// The token endpoint as the issuer names it (the assertions' `aud`).
    pub audience: String,
    /// Where this test reaches the token endpoint.
    pub token_url: String,
}

impl Partner {
    /// A fresh client assertion (unique `jti`).
    pub fn assertion(&self) -> String {
        let now = SystemClock.now().unix_seconds();
        let jti = uuid_like();
        let claims = json!({"iss": self.client_id, "sub": self.client_id, "aud": self.audience,
            "iat": now, "exp": now + 60, "jti": jti});
        self.key.sign_jwt("JWT", &claims).unwrap()
    }

    /// A client_credentials access token for `scope` (client authentication by assertion).
    pub async fn token(&self, hub: &impl Hub, scope: &str) -> String {
        let mut form = self.auth_form();
        form.push(("grant_type", "client_credentials".into()));
        form.push(("scope", scope.to_owned()));
        let (status, token) = send(loopback_client().post(hub.url("/token")).form(&form)).await;
        assert_eq!(status, 200, "{token}");
        token["access_token"].as_str().unwrap().to_owned()
    }

    /// The client authentication form fields.
    pub fn auth_form(&self) -> Vec<(&'static str, String)> {
        vec![
            ("client_id", self.client_id.clone()),
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            ("client_assertion", self.assertion()),
        ]
    }

    /// An `oauth2` client for the code and refresh grants (client authentication in the body:
    /// add the assertion with `add_extra_param`).
    pub fn oauth_client(
        &self,
    ) -> oauth2::Client<
        oauth2::basic::BasicErrorResponse,
        oauth2::basic::BasicTokenResponse,
        oauth2::basic::BasicTokenIntrospectionResponse,
        oauth2::StandardRevocableToken,
        oauth2::basic::BasicRevocationErrorResponse,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(self.token_url.clone()).unwrap())
            .set_redirect_uri(RedirectUrl::new(CALLBACK.to_owned()).unwrap())
    }
}

/// A DPoP proof (RFC 9449) by `key` for `method` `url`, with `ath` when an access token is
/// given, issued at `iat` (Unix seconds) with a unique `jti`.
pub fn dpop_proof(
    key: &SigningKey,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    iat: i64,
) -> String {
    let mut jwk = serde_json::to_value(key.public_jwk()).unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    let header = json!({"typ": "dpop+jwt", "alg": key.algorithm().as_str(), "jwk": jwk});
    let mut claims = json!({"jti": uuid_like(), "htm": method, "htu": url, "iat": iat});
    if let Some(token) = access_token {
        claims["ath"] = json!(ecohub_jose::access_token_hash(token));
    }
    ecohub_jose::testing::signed(key, &header, &claims)
}

/// The refresh grant with a DPoP proof by `key`: a sender-constrained (`token_type: DPoP`)
/// access token bound to `key`, and the rotated refresh token.
pub async fn refresh_with_dpop(
    hub: &impl Hub,
    partner: &Partner,
    refresh_token: &str,
    key: &SigningKey,
) -> ConsentTokens {
    let http = loopback_client();
    let mut form = partner.auth_form();
    form.push(("grant_type", "refresh_token".into()));
    form.push(("refresh_token", refresh_token.to_owned()));
    let proof = dpop_proof(
        key,
        "POST",
        &partner.token_url,
        None,
        SystemClock.now().unix_seconds(),
    );
    let (status, body) = send(
        http.post(hub.url("/token"))
            .header("DPoP", proof)
            .form(&form),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP", "{body}");
    ConsentTokens {
        access_token: body["access_token"].as_str().unwrap().to_owned(),
        refresh_token: body["refresh_token"].as_str().unwrap().to_owned(),
    }
}

/// A unique `jti`.
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "jti-{}-{}",
        SystemClock.now().unix_millis(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Staff tokens: an administrator (maker), a second one (checker), a compliance officer.
pub struct Staff {
    /// `admin` token of the bootstrapped administrator.
    pub maker: String,
    /// `admin` token of a second staff member.
    pub checker: String,
    /// `audit` token of a compliance officer.
    pub audit: String,
}

/// Bootstraps staff (CLI with `store_args`, e.g. `["--store", url]`), then onboards a partner
/// with `roles` and registers its `private_key_jwt` client for the code flow with `scope`.
/// `issuer` is the hub's issuer (the assertions' audience is `<issuer>/token`).
pub async fn onboard(
    hub: &impl Hub,
    dir: &std::path::Path,
    store_args: &[&str],
    issuer: &str,
    name: &str,
    roles: &[&str],
    scope: &str,
) -> (Staff, Partner) {
    let staff = bootstrap_staff(hub, dir, store_args).await;
    let partner = onboard_partner(hub, &staff, issuer, name, roles, scope).await;
    (staff, partner)
}

/// Bootstraps the first administrator (CLI with `store_args`), who creates a second
/// administrator and a compliance officer.
pub async fn bootstrap_staff(hub: &impl Hub, dir: &std::path::Path, store_args: &[&str]) -> Staff {
    let (ok, out, err) = cli(&["admin", "bootstrap"], dir, store_args, None);
    assert!(ok, "{err}");
    let admin: Value = serde_json::from_str(out.trim()).unwrap();
    let (admin_id, admin_secret) = (
        admin["client_id"].as_str().unwrap().to_owned(),
        admin["client_secret"].as_str().unwrap().to_owned(),
    );
    let maker = basic_token(hub, &admin_id, &admin_secret, "admin").await;
    let (_, checker) = staff_client(hub, &maker, "partnership manager B", "admin").await;
    let (_, audit) = staff_client(hub, &maker, "compliance officer", "audit").await;
    Staff {
        maker,
        checker,
        audit,
    }
}

/// An administrator (`admin_token`) creates a staff client with `scope`; returns a
/// its client id and a client_credentials token of that client for `scope`.
pub async fn staff_client(
    hub: &impl Hub,
    admin_token: &str,
    description: &str,
    scope: &str,
) -> (String, String) {
    let http = loopback_client();
    let (status, client) = send(
        http.post(hub.url("/admin/clients"))
            .bearer_auth(admin_token)
            .json(&json!({"description": description, "scope": scope})),
    )
    .await;
    assert_eq!(status, 201, "{client}");
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let token = basic_token(
        hub,
        &client_id,
        client["client_secret"].as_str().unwrap(),
        scope,
    )
    .await;
    (client_id, token)
}

/// A partner named `name` applies with `roles`, is verified and approved by `staff` (maker
/// and checker), and registers its `private_key_jwt` client for the code flow with `scope`.
/// `issuer` is the hub's issuer (the assertions' audience is `<issuer>/token`).
pub async fn onboard_partner(
    hub: &impl Hub,
    staff: &Staff,
    issuer: &str,
    name: &str,
    roles: &[&str],
    scope: &str,
) -> Partner {
    let http = loopback_client();
    let (maker, checker) = (&staff.maker, &staff.checker);
    let (status, applied) = send(http.post(hub.url("/partners/applications")).json(&json!({
        "legal_name": name,
        "registration_number": "09876543",
        "country": "GB",
        "website": "https://globetrotter.example",
        "contacts": [{"name": "Ada Lovelace", "email": "ada@globetrotter.example", "role": "technical"}],
        "requested_roles": roles
    })))
    .await;
    assert_eq!(status, 201, "{applied}");
    let partner_id = applied["partner_id"].as_str().unwrap().to_owned();
    for check in ["registry_check", "sanctions_screening"] {
        let (status, body) = send(
            http.post(hub.url(&format!("/admin/partners/{partner_id}/verifications")))
                .bearer_auth(maker)
                .json(&json!({"check": check, "result": "passed", "evidence": "ref 42"})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, approved) = send(
        http.post(hub.url(&format!("/admin/partners/{partner_id}/approve")))
            .bearer_auth(checker)
            .json(&json!({"redirect_uris": [CALLBACK]})),
    )
    .await;
    assert_eq!(status, 200, "{approved}");

    let now = SystemClock.now();
    let key = SigningKey::generate(SigningAlgorithm::Es256, now, now).unwrap();
    let (status, client) = send(http.post(hub.url("/register")).json(&json!({
        "software_statement": approved["software_statement"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [key.public_jwk()]},
        "redirect_uris": [CALLBACK],
        "grant_types": ["client_credentials", "authorization_code", "refresh_token"],
        "scope": scope
    })))
    .await;
    assert_eq!(status, 201, "{client}");
    Partner {
        partner_id,
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        key,
        audience: format!("{issuer}/token"),
        token_url: hub.url("/token"),
    }
}

/// A consent-bound access token and its refresh token.
#[derive(Debug, Clone)]
pub struct ConsentTokens {
    /// The access token (carries `consent_id`).
    pub access_token: String,
    /// The refresh token.
    pub refresh_token: String,
}

/// The body of a consent for basic account information from the bank, for travel offers,
/// expiring in `days` days.
pub fn basic_accounts_consent(days: i64) -> Value {
    let expiration = ecohub_kernel::Timestamp::from_unix_seconds(
        SystemClock.now().unix_seconds() + days * 86_400,
    );
    json!({
        "permissions": ["ReadAccountsBasic"],
        "purpose": {"code": "travel-offers", "text": "Tailor travel offers"},
        "expiration": expiration.to_rfc3339(),
        "data_providers": ["bank"]
    })
}

/// The partner creates a consent (client_credentials token) and returns its id.
pub async fn create_consent(hub: &impl Hub, partner: &Partner, body: &Value) -> String {
    let http = loopback_client();
    let mut form = partner.auth_form();
    form.push(("grant_type", "client_credentials".into()));
    form.push(("scope", "consents:write".into()));
    let (status, token) = send(http.post(hub.url("/token")).form(&form)).await;
    assert_eq!(status, 200, "{token}");
    let (status, consent) = send(
        http.post(hub.url("/consents"))
            .bearer_auth(token["access_token"].as_str().unwrap())
            .json(body),
    )
    .await;
    assert_eq!(status, 201, "{consent}");
    consent["consent_id"].as_str().unwrap().to_owned()
}

/// PAR, then the customer signs in with `browser` (if not yet) on the real pages and approves,
/// then the partner redeems the code with PKCE through the `oauth2` crate (scope `data:read`).
pub async fn authorise_consent(
    hub: &impl Hub,
    partner: &Partner,
    browser: &mut Browser,
    consent_id: &str,
    credentials: (&str, &str),
) -> ConsentTokens {
    authorise_consent_for(hub, partner, browser, consent_id, credentials, "data:read").await
}

/// [`authorise_consent`] with the token's `scope`.
pub async fn authorise_consent_for(
    hub: &impl Hub,
    partner: &Partner,
    browser: &mut Browser,
    consent_id: &str,
    (username, password): (&str, &str),
    scope: &str,
) -> ConsentTokens {
    let http = loopback_client();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut par = partner.auth_form();
    par.extend([
        ("response_type", "code".to_owned()),
        ("redirect_uri", CALLBACK.to_owned()),
        ("scope", scope.to_owned()),
        ("state", "s1".to_owned()),
        ("code_challenge", challenge.as_str().to_owned()),
        ("code_challenge_method", "S256".to_owned()),
        (
            "authorization_details",
            json!([{"type": "ecohub_consent", "consent_id": consent_id}]).to_string(),
        ),
    ]);
    let (status, pushed) = send(http.post(hub.url("/par")).form(&par)).await;
    assert_eq!(status, 201, "{pushed}");
    let authorize = format!(
        "/authorize?client_id={}&request_uri={}",
        partner.client_id,
        percent_encode(pushed["request_uri"].as_str().unwrap())
    );
    let mut page = browser.get(&hub.url(&authorize)).await;
    if page.status == 303 {
        let login = page.location.clone().unwrap();
        let form = browser.get(&hub.url(&login)).await;
        let csrf = form.input("csrf_token").unwrap();
        let return_to = form.input("return_to").unwrap();
        let signed_in = browser
            .post_form(
                &hub.url("/login"),
                &[
                    ("username", username),
                    ("password", password),
                    ("csrf_token", &csrf),
                    ("return_to", &return_to),
                ],
            )
            .await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.body);
        page = browser.get(&hub.url(&authorize)).await;
    }
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.input("csrf_token").unwrap();
    let request_uri = page.input("request_uri").unwrap();
    let decided = browser
        .post_form(
            &hub.url("/authorize/decision"),
            &[
                ("client_id", &partner.client_id),
                ("request_uri", &request_uri),
                ("decision", "approve"),
                ("csrf_token", &csrf),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let code = query_param(&decided.location.unwrap(), "code").unwrap();
    let tokens = partner
        .oauth_client()
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .add_extra_param("client_assertion_type", ASSERTION_TYPE)
        .add_extra_param("client_assertion", partner.assertion())
        .request_async(&oauth_http)
        .await
        .expect("code exchange");
    ConsentTokens {
        access_token: tokens.access_token().secret().clone(),
        refresh_token: tokens
            .refresh_token()
            .expect("refresh token")
            .secret()
            .clone(),
    }
}

/// Adds a customer through the CLI (password on stdin); returns the customer id.
pub fn add_customer(dir: &std::path::Path, store_args: &[&str], username: &str) -> String {
    let mut args = vec![
        "customers",
        "add",
        "--username",
        username,
        "--display-name",
        "Alice Example",
        "--password-stdin",
    ];
    args.extend_from_slice(store_args);
    let (ok, out, err) = cli(&args, dir, &[], Some(PASSWORD));
    assert!(ok, "{err}");
    let customer: Value = serde_json::from_str(out.trim()).unwrap();
    customer["customer_id"].as_str().unwrap().to_owned()
}

/// A webhook receiver on loopback: answers every POST with 202 and hands over its body.
pub async fn receiver() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/ecohub", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_len, content_length) = loop {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_len + content_length {
                    let n = socket.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
                let body = String::from_utf8_lossy(&buf[head_len..]).into_owned();
                let _ = socket
                    .write_all(
                        b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    )
                    .await;
                let _ = tx.send((head, body));
            });
        }
    });
    (url, rx)
}

/// Verifies a SET's signature against the hub's JWKS and returns its claims.
pub fn verify_set(set: &str, jwks: &Value) -> Value {
    let header = jsonwebtoken::decode_header(set).unwrap();
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let kid = header.kid.clone().unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid.as_str())
        .expect("the signing key is published");
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Value>(set, &key, &validation)
        .expect("signature verifies")
        .claims
}
