//! How the demo talks to the hub it fills: over loopback HTTP, through the same public API,
//! pages and OAuth flows a partner, a customer or a person of the bank uses. Each actor is an
//! [`Actor`]: its own cookie jar (a person's or a customer's session), and optionally a bearer
//! token or a staff session's CSRF token sent with every API call.

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, StatusCode, redirect};
use serde_json::Value;

/// One party talking to the hub.
pub(super) struct Actor {
    base: String,
    http: reqwest::Client,
    bearer: Option<String>,
    csrf: Option<String>,
}

impl Actor {
    /// A party with its own cookie jar, which follows no redirect (the flows read `Location`).
    pub(super) fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .no_proxy()
            .build()
            .context("cannot build the demo's HTTP client")?;
        Ok(Self {
            base: base.to_owned(),
            http,
            bearer: None,
            csrf: None,
        })
    }

    /// The same party calling the API with `token`.
    pub(super) fn with_bearer(base: &str, token: String) -> anyhow::Result<Self> {
        let mut actor = Self::new(base)?;
        actor.bearer = Some(token);
        Ok(actor)
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = &self.bearer {
            req = req.bearer_auth(token);
        }
        if let Some(csrf) = &self.csrf {
            req = req.header("x-csrf-token", csrf);
        }
        req
    }

    /// A JSON call that must succeed (2xx); the answer's JSON (Null when empty).
    pub(super) async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.request(method.clone(), path);
        if let Some(body) = body {
            req = req.json(body);
        }
        answer(req, &format!("{method} {path}")).await
    }

    /// A form post answered with JSON (the OAuth endpoints) that must succeed.
    pub(super) async fn form_json(
        &self,
        path: &str,
        fields: &[(&str, String)],
    ) -> anyhow::Result<Value> {
        answer(
            self.request(Method::POST, path).form(fields),
            &format!("POST {path}"),
        )
        .await
    }

    /// A form post with HTTP Basic client authentication, answered with JSON.
    pub(super) async fn basic_form_json(
        &self,
        path: &str,
        (id, secret): (&str, &str),
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let req = self
            .http
            .post(self.url(path))
            .basic_auth(id, Some(secret))
            .form(fields);
        answer(req, &format!("POST {path}")).await
    }

    /// A form post that must succeed (2xx or a redirect); the redirect's `Location`, if any.
    pub(super) async fn form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Option<String>> {
        let res = self
            .request(Method::POST, path)
            .form(fields)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        let status = res.status();
        let location = location(&res);
        if status.is_success() || status.is_redirection() {
            Ok(location)
        } else {
            let text = res.text().await.unwrap_or_default();
            bail!("POST {path}: {status}: {}", excerpt(&text))
        }
    }

    /// A page: its status, `Location` and body.
    pub(super) async fn page(&self, path: &str) -> anyhow::Result<Page> {
        let res = self
            .http
            .get(self.url(path))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = res.status();
        let location = location(&res);
        let body = res.text().await.unwrap_or_default();
        Ok(Page {
            status,
            location,
            body,
        })
    }

    /// Signs a person of the bank in on the console's sign-in page (no second factor: the
    /// demo's people have none) and keeps the session's CSRF token for API calls.
    pub(super) async fn console_sign_in(
        &mut self,
        username: &str,
        password: &str,
    ) -> anyhow::Result<()> {
        let login = self.page("/console/login").await?;
        let csrf = login.input("csrf_token")?;
        let done = self
            .form(
                "/console/login",
                &[
                    ("username", username),
                    ("password", password),
                    ("csrf_token", &csrf),
                ],
            )
            .await?;
        if done.as_deref() != Some("/console") {
            bail!("{username} could not sign in to the console");
        }
        let console = self.page("/console").await?;
        self.csrf = Some(console.input("csrf_token")?);
        Ok(())
    }
}

/// A fetched page.
pub(super) struct Page {
    pub(super) status: StatusCode,
    pub(super) location: Option<String>,
    pub(super) body: String,
}

impl Page {
    /// The value of the form field `name` (the pages' hidden fields hold tokens, which are
    /// never HTML-escaped: URL-safe characters only).
    pub(super) fn input(&self, name: &str) -> anyhow::Result<String> {
        let marker = format!("name=\"{name}\"");
        let tag_start = self
            .body
            .find(&marker)
            .and_then(|at| self.body[..at].rfind('<'))
            .ok_or_else(|| anyhow!("no field {name} on the page ({})", self.status))?;
        let tag_end = self.body[tag_start..]
            .find('>')
            .map(|end| tag_start + end)
            .ok_or_else(|| anyhow!("unterminated field {name}"))?;
        let tag = &self.body[tag_start..tag_end];
        let value = tag
            .split_once("value=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(value, _)| value.to_owned())
            .ok_or_else(|| anyhow!("field {name} has no value"))?;
        Ok(value)
    }
}

fn location(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(ToOwned::to_owned)
}

fn excerpt(text: &str) -> &str {
    let end = text
        .char_indices()
        .nth(400)
        .map_or(text.len(), |(at, _)| at);
    &text[..end]
}

/// The JSON of a 2xx answer, or an error naming the call and the problem.
async fn answer(req: reqwest::RequestBuilder, what: &str) -> anyhow::Result<Value> {
    let res = req.send().await.with_context(|| what.to_owned())?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{what}: {status}: {}", excerpt(&text));
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON"))
}
