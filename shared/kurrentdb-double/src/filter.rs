//! Server-side `$all` filters: on stream name or event type, by a list of prefixes or by a
//! regular expression, as the real server applies them (`Regex.IsMatch` on the stream name or
//! the event type: a search anywhere in the subject unless the pattern anchors itself).
//!
//! The official clients send regexes with look-ahead (the Python client's default exclusion is
//! `^(?!(\$.+$|PersistentConfig\d+$|Result$))`), which .NET supports and the `regex` crate does
//! not; `fancy-regex` (built on `regex-automata`, which runs everything but the look-around and
//! backreferences) matches them. A pattern that does not compile is INVALID_ARGUMENT.

use ecohub_kurrentdb_proto::streams::read_req::options::FilterOptions;
use ecohub_kurrentdb_proto::streams::read_req::options::filter_options::{Filter, Window};
use fancy_regex::Regex;

use crate::log::Stored;

/// The real server's default checkpoint window.
const DEFAULT_WINDOW: u64 = 32;

#[derive(Debug, Clone)]
enum Pattern {
    Prefixes(Vec<String>),
    Regex(Regex),
}

#[derive(Debug, Clone)]
pub(crate) struct EventFilter {
    on_stream: bool,
    pattern: Pattern,
    /// Events scanned between two checkpoints of a filtered subscription.
    pub checkpoint_every: u64,
}

impl EventFilter {
    pub fn from_proto(options: &FilterOptions) -> Result<EventFilter, String> {
        let (on_stream, expression) = match &options.filter {
            Some(Filter::StreamIdentifier(e)) => (true, e),
            Some(Filter::EventType(e)) => (false, e),
            None => return Err("filter without stream_identifier or event_type".into()),
        };
        // The server prefers the regex when both are given.
        let pattern = if !expression.regex.is_empty() {
            Pattern::Regex(
                Regex::new(&expression.regex)
                    .map_err(|e| format!("invalid filter regex {:?}: {e}", expression.regex))?,
            )
        } else if !expression.prefix.is_empty() {
            Pattern::Prefixes(expression.prefix.clone())
        } else {
            return Err("filter expression without regex or prefix".into());
        };
        let window = match options.window {
            Some(Window::Max(n)) if n > 0 => u64::from(n),
            _ => DEFAULT_WINDOW,
        };
        let multiplier = u64::from(options.checkpoint_interval_multiplier.max(1));
        Ok(EventFilter {
            on_stream,
            pattern,
            checkpoint_every: window.saturating_mul(multiplier),
        })
    }

    pub fn matches(&self, e: &Stored) -> bool {
        let subject = if self.on_stream {
            e.stream.as_str()
        } else {
            e.event_type.as_str()
        };
        match &self.pattern {
            Pattern::Prefixes(ps) => ps.iter().any(|p| subject.starts_with(p.as_str())),
            // A match that exceeds the backtracking limit counts as no match (the server would
            // time the regex out).
            Pattern::Regex(r) => r.is_match(subject).unwrap_or(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecohub_kurrentdb_proto::streams::read_req::options::filter_options::Expression;
    use uuid::Uuid;

    fn stored(stream: &str, event_type: &str) -> Stored {
        Stored {
            id: Uuid::new_v4(),
            stream: stream.into(),
            revision: 0,
            position: 0,
            event_type: event_type.into(),
            content_type: "application/json".into(),
            created: 0,
            custom_metadata: Vec::new(),
            data: Vec::new(),
        }
    }

    fn on_type(regex: &str) -> Result<EventFilter, String> {
        EventFilter::from_proto(&FilterOptions {
            filter: Some(Filter::EventType(Expression {
                regex: regex.into(),
                prefix: Vec::new(),
            })),
            window: None,
            checkpoint_interval_multiplier: 0,
        })
    }

    #[test]
    fn regexes_search_like_the_server() {
        let f = on_type("cost").unwrap();
        assert!(f.matches(&stored("s", "uncostly")));
        let f = on_type("^order-(placed|paid)$").unwrap();
        assert!(f.matches(&stored("s", "order-paid")));
        assert!(!f.matches(&stored("s", "order-paid2")));
        // The Python client's default exclusion (a negative look-ahead).
        let f = on_type(r"^(?!(\$.+$|PersistentConfig\d+$|Result$))").unwrap();
        assert!(!f.matches(&stored("$settings", "$settings")));
        assert!(!f.matches(&stored("s", "PersistentConfig1")));
        assert!(!f.matches(&stored("s", "Result")));
        assert!(f.matches(&stored("s", "Results")));
        assert!(f.matches(&stored("s", "OrderPlaced")));
        // The Node and Rust clients' `excludeSystemEvents`.
        let f = on_type(r"^[^\$].*").unwrap();
        assert!(!f.matches(&stored("$settings", "$settings")));
        assert!(f.matches(&stored("s", "OrderPlaced")));
    }

    #[test]
    fn a_bad_regex_is_an_error() {
        assert!(on_type("^(unclosed").is_err());
        assert!(on_type("").is_err());
    }
}
