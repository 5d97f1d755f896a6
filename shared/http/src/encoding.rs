//! Percent-encoding (RFC 3986) of the values a service puts into a URI it builds: query
//! parameters of pagination links and of the redirects of the authorisation flow.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
pub const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `s` with every byte outside the RFC 3986 unreserved set percent-encoded (UTF-8, upper-case
/// hex): safe as a query name or value, and as a path segment.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(percent_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(
            percent_encode("/authorize?a=b&c=d e:f"),
            "%2Fauthorize%3Fa%3Db%26c%3Dd%20e%3Af"
        );
        assert_eq!(percent_encode("é+"), "%C3%A9%2B");
    }
}
