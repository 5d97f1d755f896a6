//! Identifiers: newtypes over UUIDv7, so ids sort by creation time and never mix up.

/// Error returned when a string is not a valid identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} id")]
pub struct IdParseError {
    /// The kind of id that was expected (`consent`, `partner`, …).
    pub kind: &'static str,
}

/// Defines an id newtype over a UUIDv7 with `new()`, `parse()`, `Display`, serde and a
/// stream name helper (`<category>-<uuid>`).
///
/// ```
/// ecohub_kernel::define_id!(ConsentId, "consent");
/// let id = ConsentId::new_v7(ecohub_kernel::Timestamp::from_unix_millis(1_700_000_000_000));
/// assert!(id.stream_name().starts_with("consent-"));
/// assert_eq!(ConsentId::parse(&id.to_string()).unwrap(), id);
/// ```
#[macro_export]
macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $category:literal) => {
        $(#[$meta])*
        #[derive(
            Clone,
            Copy,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            ::serde::Serialize,
            ::serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// Stream category of this id's aggregate.
            pub const CATEGORY: &'static str = $category;

            /// A new UUIDv7 id stamped with `now` (time is passed in, never read here).
            pub fn new_v7(now: $crate::Timestamp) -> Self {
                Self($crate::id::uuid_v7_at(now))
            }

            /// Parses an id from its canonical string form.
            pub fn parse(s: &str) -> ::std::result::Result<Self, $crate::IdParseError> {
                ::uuid::Uuid::try_parse(s)
                    .map(Self)
                    .map_err(|_| $crate::IdParseError { kind: $category })
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: ::uuid::Uuid) -> Self {
                Self(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> &::uuid::Uuid {
                &self.0
            }

            /// The name of this aggregate's stream: `<category>-<uuid>`.
            pub fn stream_name(&self) -> String {
                format!("{}-{}", $category, self.0)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::IdParseError;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

/// A UUIDv7 whose timestamp part is `now`, with random bits from the OS.
pub fn uuid_v7_at(now: crate::Timestamp) -> uuid::Uuid {
    let nanos = now.unix_nanos();
    let secs = nanos.div_euclid(1_000_000_000) as u64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, sub))
}

define_id!(EventId, "event");

define_id!(
    /// A partner's id (its stream is the partners service's `partner-<uuidv7>`); shared
    /// because consents name the partner they were granted to.
    PartnerId,
    "partner"
);

impl EventId {
    /// A fresh event id for an event recorded at `now`.
    pub fn generate(now: crate::Timestamp) -> Self {
        Self::new_v7(now)
    }
}

#[cfg(test)]
mod tests {
    use crate::Timestamp;

    define_id!(WidgetId, "widget");

    #[test]
    fn ids_are_v7_sortable_and_round_trip() {
        let a = WidgetId::new_v7(Timestamp::from_unix_millis(1_000));
        let b = WidgetId::new_v7(Timestamp::from_unix_millis(2_000));
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(WidgetId::parse(&a.to_string()).unwrap(), a);
        assert_eq!(a.stream_name(), format!("{}-{a}", WidgetId::CATEGORY));
        assert_eq!(WidgetId::from_uuid(*a.as_uuid()), a);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, format!("\"{a}\""));
    }

    #[test]
    fn invalid_ids_name_their_kind() {
        let err = WidgetId::parse("not-a-uuid").unwrap_err();
        assert_eq!(err.to_string(), "invalid widget id");
    }
}
