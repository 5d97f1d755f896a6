//! Connection strings: `kurrentdb://` / `esdb://` (also `+discover`), seeds, credentials, TLS.
//!
//! ```text
//! kurrentdb://localhost:2113?tls=false
//! kurrentdb://admin:changeit@node1:2113,node2:2113,node3:2113?tlsCAFile=/etc/ecohub/ca.pem
//! esdb+discover://cluster.internal:2113
//! ```

use std::path::PathBuf;
use std::time::Duration;

/// Default gRPC port of a node.
pub const DEFAULT_PORT: u16 = 2113;

/// A parsed connection string.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// Seed nodes (`host`, `port`).
    pub hosts: Vec<(String, u16)>,
    /// Resolve the leader through gossip (`+discover`, or several seeds).
    pub discover: bool,
    /// Use TLS (default true, as the server's default).
    pub tls: bool,
    /// PEM file of the CA that signed the nodes' certificates.
    pub tls_ca_file: Option<PathBuf>,
    /// Basic-auth credentials.
    pub credentials: Option<(String, String)>,
    /// How many discovery rounds before giving up (default 10).
    pub max_discover_attempts: u32,
    /// Pause between discovery rounds (default 100 ms).
    pub discovery_interval: Duration,
    /// Timeout of one gossip call (default 5 s).
    pub gossip_timeout: Duration,
    /// Deadline of a unary call such as an append (default 10 s).
    pub default_deadline: Duration,
    /// HTTP/2 keep-alive interval (default 10 s).
    pub keep_alive_interval: Duration,
}

impl std::fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("hosts", &self.hosts)
            .field("discover", &self.discover)
            .field("tls", &self.tls)
            .field("tls_ca_file", &self.tls_ca_file)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "****")),
            )
            .finish_non_exhaustive()
    }
}

/// Why a connection string is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid KurrentDB connection string: {0}")]
pub struct InvalidConnectionString(pub String);

impl ConnectionSettings {
    /// Parses a `kurrentdb://`, `kurrentdb+discover://`, `esdb://` or `esdb+discover://` URL.
    pub fn parse(s: &str) -> Result<Self, InvalidConnectionString> {
        let bad = |m: String| InvalidConnectionString(m);
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| bad("expected <scheme>://<hosts>".into()))?;
        let discover = match scheme.to_ascii_lowercase().as_str() {
            "kurrentdb" | "kurrent" | "esdb" => false,
            "kurrentdb+discover" | "kurrent+discover" | "esdb+discover" => true,
            other => {
                return Err(bad(format!(
                    "unknown scheme {other:?} (use kurrentdb://, esdb:// or their +discover forms)"
                )));
            }
        };
        let (authority_and_path, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let authority = authority_and_path.trim_end_matches('/');
        if authority.contains('/') {
            return Err(bad("a path is not allowed after the hosts".into()));
        }
        let (credentials, hosts) = match authority.rsplit_once('@') {
            Some((userinfo, hosts)) => {
                let (user, pass) = userinfo
                    .split_once(':')
                    .ok_or_else(|| bad("credentials must be user:password".into()))?;
                if user.is_empty() {
                    return Err(bad("empty user name".into()));
                }
                (Some((decode(user)?, decode(pass)?)), hosts)
            }
            None => (None, authority),
        };
        let hosts = hosts
            .split(',')
            .map(|h| parse_host(h.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(bad("no host".into()));
        }
        let mut settings = ConnectionSettings {
            discover: discover || hosts.len() > 1,
            hosts,
            tls: true,
            tls_ca_file: None,
            credentials,
            max_discover_attempts: 10,
            discovery_interval: Duration::from_millis(100),
            gossip_timeout: Duration::from_secs(5),
            default_deadline: Duration::from_secs(10),
            keep_alive_interval: Duration::from_secs(10),
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("option {pair:?} has no value")))?;
            let value = decode(value)?;
            let flag = |v: &str| match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad(format!("{key} must be true or false"))),
            };
            let millis = |v: &str| {
                v.parse::<u64>()
                    .map(Duration::from_millis)
                    .map_err(|_| bad(format!("{key} must be a number of milliseconds")))
            };
            match key.to_ascii_lowercase().as_str() {
                "tls" => settings.tls = flag(&value)?,
                "tlsverifycert" => {
                    if !flag(&value)? {
                        return Err(bad(
                            "tlsVerifyCert=false is not supported: give the CA with tlsCAFile instead".into(),
                        ));
                    }
                }
                "tlscafile" => settings.tls_ca_file = Some(PathBuf::from(value)),
                "maxdiscoverattempts" => {
                    settings.max_discover_attempts = value
                        .parse()
                        .map_err(|_| bad(format!("{key} must be a number")))?;
                }
                "discoveryinterval" => settings.discovery_interval = millis(&value)?,
                "gossiptimeout" => settings.gossip_timeout = millis(&value)?,
                "defaultdeadline" => settings.default_deadline = millis(&value)?,
                "keepaliveinterval" => settings.keep_alive_interval = millis(&value)?,
                "nodepreference" => {
                    if !value.eq_ignore_ascii_case("leader") {
                        return Err(bad(
                            "only nodePreference=leader is supported (the hub writes and reads exact state)".into(),
                        ));
                    }
                }
                "connectionname" | "keepalivetimeout" | "throwonappendfailure" => {}
                other => return Err(bad(format!("unknown option {other:?}"))),
            }
        }
        if !settings.tls && settings.tls_ca_file.is_some() {
            return Err(bad("tlsCAFile given with tls=false".into()));
        }
        Ok(settings)
    }

    /// `http` or `https`.
    pub fn uri_scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

fn parse_host(h: &str) -> Result<(String, u16), InvalidConnectionString> {
    if h.is_empty() {
        return Err(InvalidConnectionString("empty host".into()));
    }
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        // [ipv6]:port
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| InvalidConnectionString(format!("bad IPv6 host {h:?}")))?;
        let port = after.strip_prefix(':').unwrap_or("");
        (host.to_owned(), port)
    } else {
        match h.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), port),
            None => (h.to_owned(), ""),
        }
    };
    let port = if port.is_empty() {
        DEFAULT_PORT
    } else {
        port.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| InvalidConnectionString(format!("bad port in {h:?}")))?
    };
    if host.is_empty() {
        return Err(InvalidConnectionString(format!("empty host in {h:?}")));
    }
    Ok((host, port))
}

fn decode(s: &str) -> Result<String, InvalidConnectionString> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| InvalidConnectionString("bad percent-encoding".into()))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| InvalidConnectionString("not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_node_plain_text() {
        let s = ConnectionSettings::parse("kurrentdb://localhost:2113?tls=false").unwrap();
        assert_eq!(s.hosts, vec![("localhost".into(), 2113)]);
        assert!(!s.tls && !s.discover);
        assert_eq!(s.uri_scheme(), "http");
    }

    #[test]
    fn cluster_seeds_credentials_and_tls_options() {
        let s = ConnectionSettings::parse(
            "esdb://admin:chan%40geit@n1:2113,n2,[::1]:2114?tlsCAFile=/etc/ca.pem&tlsVerifyCert=true&gossipTimeout=2500",
        )
        .unwrap();
        assert_eq!(
            s.hosts,
            vec![
                ("n1".into(), 2113),
                ("n2".into(), 2113),
                ("::1".into(), 2114)
            ]
        );
        assert!(s.discover, "several seeds imply gossip discovery");
        assert!(s.tls);
        assert_eq!(s.credentials, Some(("admin".into(), "chan@geit".into())));
        assert_eq!(s.tls_ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(s.gossip_timeout, Duration::from_millis(2500));
        assert!(
            !format!("{s:?}").contains("chan@geit"),
            "Debug masks the password"
        );
    }

    #[test]
    fn discover_scheme() {
        let s = ConnectionSettings::parse("kurrentdb+discover://cluster.local:2113").unwrap();
        assert!(s.discover && s.tls);
    }

    #[test]
    fn invalid_strings_are_explained() {
        for (input, needle) in [
            ("mysql://x", "unknown scheme"),
            ("kurrentdb://", "empty host"),
            ("kurrentdb://h:99999", "bad port"),
            ("kurrentdb://h?tls=maybe", "true or false"),
            ("kurrentdb://h?frobnicate=1", "unknown option"),
            ("kurrentdb://h?nodePreference=follower", "nodePreference"),
            ("localhost:2113", "expected"),
            ("kurrentdb://h?tls=false&tlsCAFile=/x", "tlsCAFile"),
            ("kurrentdb://h?tlsVerifyCert=false", "tlsCAFile"),
        ] {
            let err = ConnectionSettings::parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }
}
