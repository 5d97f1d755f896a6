//! Server-side `$all` filters: on stream name or event type, by prefix list or by a small
//! subset of regular expressions (anything else is rejected with INVALID_ARGUMENT).

use ecohub_kurrentdb_proto::streams::read_req::options::FilterOptions;
use ecohub_kurrentdb_proto::streams::read_req::options::filter_options::{Filter, Window};

use crate::log::Stored;

/// The real server's default checkpoint window.
const DEFAULT_WINDOW: u64 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Prefixes(Vec<String>),
    /// `literal`, `^literal`, `literal$`, `^literal$` (a trailing `.*` is ignored).
    Literal {
        text: String,
        start: bool,
        end: bool,
    },
    /// `^[^$].*`: everything that does not start with `$` (the usual "exclude system events").
    NotStartingWith(char),
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
        let pattern = if !expression.regex.is_empty() {
            parse_regex(&expression.regex)
                .ok_or_else(|| format!("regex not supported by the double: {}", expression.regex))?
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
            checkpoint_every: window * multiplier,
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
            Pattern::Literal { text, start, end } => match (start, end) {
                (true, true) => subject == text,
                (true, false) => subject.starts_with(text.as_str()),
                (false, true) => subject.ends_with(text.as_str()),
                (false, false) => subject.contains(text.as_str()),
            },
            Pattern::NotStartingWith(c) => !subject.starts_with(*c),
        }
    }
}

fn parse_regex(regex: &str) -> Option<Pattern> {
    if let Some(rest) = regex
        .strip_prefix("^[^\\$]")
        .or_else(|| regex.strip_prefix("^[^$]"))
    {
        if rest.is_empty() || rest == ".*" {
            return Some(Pattern::NotStartingWith('$'));
        }
        return None;
    }
    let (start, mut rest) = match regex.strip_prefix('^') {
        Some(r) => (true, r),
        None => (false, regex),
    };
    if let Some(r) = rest.strip_suffix(".*")
        && !r.ends_with('\\')
    {
        rest = r;
    }
    let mut end = false;
    if let Some(r) = rest.strip_suffix('$')
        && !r.ends_with('\\')
    {
        end = true;
        rest = r;
    }
    let mut text = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let escaped = chars.next()?;
                if escaped.is_ascii_alphanumeric() {
                    return None; // \d, \w, ... are classes, not literals
                }
                text.push(escaped);
            }
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                return None;
            }
            c => text.push(c),
        }
    }
    Some(Pattern::Literal { text, start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str, start: bool, end: bool) -> Option<Pattern> {
        Some(Pattern::Literal {
            text: text.into(),
            start,
            end,
        })
    }

    #[test]
    fn supported_regexes() {
        assert_eq!(parse_regex("^order-"), lit("order-", true, false));
        assert_eq!(parse_regex("^order-.*"), lit("order-", true, false));
        assert_eq!(parse_regex("^a\\.b$"), lit("a.b", true, true));
        assert_eq!(parse_regex("cost"), lit("cost", false, false));
        assert_eq!(
            parse_regex("^[^\\$].*"),
            Some(Pattern::NotStartingWith('$'))
        );
        assert_eq!(parse_regex("^(a|b)"), None);
        assert_eq!(parse_regex("^a\\d"), None);
        assert_eq!(parse_regex("a.c"), None);
    }
}
