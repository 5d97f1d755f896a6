//! A minimal browser for tests of the customer pages: keeps cookies per name (as a browser
//! would for one site), never follows redirects (the test reads `Location` itself, so a
//! redirect to a partner's https callback never leaves loopback), and finds hidden form fields.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A response as the test needs it.
#[derive(Debug, Clone)]
pub struct Page {
    /// HTTP status.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body as text.
    pub body: String,
    /// Raw `Set-Cookie` headers of this response.
    pub set_cookies: Vec<String>,
}

impl Page {
    /// The value of the hidden (or any) input named `name` in the first form that has it.
    pub fn input(&self, name: &str) -> Option<String> {
        input_value(&self.body, name)
    }
}

/// The value of the first `<input … name="name" … value="…">` in `html` (attribute order free).
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let mut rest = html;
    while let Some(at) = rest.find("<input") {
        let tag_end = rest[at..].find('>')? + at;
        let tag = &rest[at..tag_end];
        if tag.contains(&needle) {
            let v = tag.find("value=\"")? + "value=\"".len();
            let end = tag[v..].find('"')? + v;
            return Some(unescape(&tag[v..end]));
        }
        rest = &rest[tag_end..];
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

/// Cookies and a redirect-free loopback client.
#[derive(Debug)]
pub struct Browser {
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    /// A browser with no cookies.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("http client");
        Self {
            client,
            cookies: BTreeMap::new(),
        }
    }

    /// The current value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Forgets every cookie.
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    /// `GET url`.
    pub async fn get(&mut self, url: &str) -> Page {
        let req = self.client.get(url);
        self.send(req).await
    }

    /// `POST url` with an `application/x-www-form-urlencoded` body.
    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        let req = self.client.post(url).form(fields);
        self.send(req).await
    }

    /// A request of `method` to `url` on this browser's client, to [`Browser::send`] (for the
    /// API calls a page's session may make: JSON bodies, extra headers).
    pub fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Sends `req` with this browser's cookies and keeps the cookies the answer sets.
    pub async fn send(&mut self, mut req: reqwest::RequestBuilder) -> Page {
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(COOKIE, header);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for raw in &set_cookies {
            let pair = raw.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let expired = raw.to_ascii_lowercase().contains("max-age=0");
                if value.is_empty() || expired {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
        }
        let body = res.text().await.unwrap_or_default();
        Page {
            status,
            location,
            body,
            set_cookies,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::input_value;

    #[test]
    fn finds_inputs_by_name_whatever_the_attribute_order() {
        let html = r#"<form><input type="hidden" name="csrf_token" value="a&amp;b">
            <input value="x1" name="request_uri" type="hidden"><input name="other"></form>"#;
        assert_eq!(input_value(html, "csrf_token").as_deref(), Some("a&b"));
        assert_eq!(input_value(html, "request_uri").as_deref(), Some("x1"));
        assert_eq!(input_value(html, "missing"), None);
    }
}
