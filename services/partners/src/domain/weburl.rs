//! A deliberately small parser for the absolute `http(s)` URLs partners give us.
//!
//! It accepts a subset of RFC 3986: a lowercase `https` or `http` scheme, an authority
//! without user information, a host that is a DNS name, an IPv4 address or a bracketed IPv6
//! address, an optional port, then a path and query of visible ASCII with well-formed
//! percent-escapes, and no fragment. Internationalised hosts must be given in punycode. The
//! workspace has no URL crate among its direct dependencies, and this subset is all the
//! partner domain needs.

use super::values::ValidationError;

/// Longest URL accepted anywhere in the partner domain.
const MAX_URL_LEN: usize = 2048;

/// The parts of a URL the partner rules look at.
#[derive(Debug)]
pub(crate) struct WebUrl<'a> {
    /// `https` (else `http`).
    pub https: bool,
    /// The host as written (brackets kept for IPv6).
    pub host: &'a str,
}

impl<'a> WebUrl<'a> {
    /// Parses `input`, naming `field` in refusals.
    pub fn parse(field: &'static str, input: &'a str) -> Result<Self, ValidationError> {
        let refuse = |message: &str| ValidationError::new(field, message);
        if input.is_empty() {
            return Err(refuse("must not be empty"));
        }
        if input.len() > MAX_URL_LEN {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_URL_LEN} characters"),
            ));
        }
        if !input.bytes().all(is_url_byte) {
            return Err(refuse("contains a character not allowed in a url"));
        }
        let (https, rest) = if let Some(rest) = input.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = input.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(refuse("must be an absolute https url"));
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(refuse("must not contain user information"));
        }
        if tail.contains('#') {
            return Err(refuse("must not contain a fragment"));
        }
        if !percent_escapes_are_valid(tail) {
            return Err(refuse("contains an invalid percent-escape"));
        }
        let (host, port) = split_host_port(authority);
        if host.is_empty() {
            return Err(refuse("must have a host"));
        }
        if let Some(port) = port
            && !port.parse::<u16>().is_ok_and(|p| p > 0)
        {
            return Err(refuse("has an invalid port"));
        }
        if !(is_dns_name(host) || is_ipv6_literal(host)) {
            return Err(refuse("has an invalid host"));
        }
        Ok(Self { https, host })
    }

    /// Whether the host names this machine: `localhost`, `127.0.0.1` or `[::1]`.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host == "127.0.0.1"
            || self.host == "[::1]"
    }

    /// Whether the host is a domain name with at least two labels (not an IP address, not
    /// `localhost`).
    pub fn host_is_domain_name(&self) -> bool {
        let Some((_, tld)) = self.host.rsplit_once('.') else {
            return false;
        };
        !self.is_loopback() && is_dns_name(self.host) && !tld.bytes().all(|b| b.is_ascii_digit())
    }

    /// Refuses plain `http` except to a loopback host.
    pub fn require_https_or_loopback(&self, field: &'static str) -> Result<(), ValidationError> {
        if self.https || self.is_loopback() {
            Ok(())
        } else {
            Err(ValidationError::new(
                field,
                "must use https (http only to a loopback host)",
            ))
        }
    }
}

/// Visible ASCII minus the characters RFC 3986 never allows unescaped (and `\`, which
/// browsers read as `/`).
fn is_url_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b)
}

fn percent_escapes_are_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// Splits `host[:port]`, keeping an IPv6 literal's brackets with the host.
fn split_host_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(close) => {
                let (host, after) = authority.split_at(close + 1);
                (
                    host,
                    after
                        .strip_prefix(':')
                        .or(Some(after).filter(|a| !a.is_empty())),
                )
            }
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

/// A DNS name (or dotted IPv4 address): labels of 1 to 63 letters, digits or hyphens, not
/// starting or ending with a hyphen, 253 characters at most, no trailing dot.
pub(crate) fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| {
            inner.contains(':')
                && inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        })
}
