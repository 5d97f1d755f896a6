//! `DataAccessed`: the evidence of one read, appended and acknowledged before the data is
//! sent. Stream `dataaccess-<key>`, the key a hash of the consent id.

use ecohub_kernel::Timestamp;

use super::stream_key;

/// The stream category of access records.
pub const ACCESS_CATEGORY: &str = "dataaccess-";

/// The stream of the access records of one consent.
pub fn access_stream(consent_id: &str) -> String {
    format!("{ACCESS_CATEGORY}{}", stream_key(&[consent_id]))
}

/// One read of customer data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataAccessed {
    /// The recipient partner.
    pub partner_id: String,
    /// Its OAuth client.
    pub client_id: String,
    /// The consent the read was made under.
    pub consent_id: String,
    /// The customer's pairwise id for the recipient (the token's subject).
    pub customer: String,
    /// The dataset read.
    pub dataset: String,
    /// The fields the response could contain (the unlocked ones), sorted.
    pub fields: Vec<String>,
    /// How many records the response holds.
    pub record_count: u64,
    /// The request's `x-fapi-interaction-id`.
    pub interaction_id: String,
    /// When.
    pub at: Timestamp,
}

impl DataAccessed {
    /// The event type.
    pub const TYPE: &'static str = "DataAccessed";
}
