//! Who acts, in which request: the one request context every service turns into the metadata
//! of the events it appends.

use crate::event::EventMetadata;
use crate::time::Timestamp;

/// Who acts, and in which request: becomes every appended event's metadata (actor, and the
/// interaction id as request and correlation id). Never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// `applicant`, `client:<id>`, `staff:<id>`, `customer:<id>`, `system:<job>`.
    pub actor: String,
    /// The request's `x-fapi-interaction-id` (none for a system job).
    pub interaction_id: Option<String>,
}

impl RequestContext {
    /// A public applicant (no credentials yet): actor `applicant`.
    pub fn applicant(interaction_id: impl ToString) -> Self {
        Self::acting("applicant".to_owned(), interaction_id)
    }

    /// An authenticated OAuth client (staff or partner): actor `client:<client_id>`.
    pub fn client(client_id: &str, interaction_id: impl ToString) -> Self {
        Self::acting(format!("client:{client_id}"), interaction_id)
    }

    /// A staff person signed in to the console: actor `staff:<staff_id>` (an opaque id, never
    /// a username). Maker-checker rules compare these actors, so they compare people.
    pub fn staff(staff_id: &str, interaction_id: impl ToString) -> Self {
        Self::acting(format!("staff:{staff_id}"), interaction_id)
    }

    /// An actor already formatted (`client:<id>` or `staff:<id>`, as the protected-route
    /// extractor's principal names its caller) acting in a request.
    pub fn acting_as(actor: impl Into<String>, interaction_id: impl ToString) -> Self {
        Self::acting(actor.into(), interaction_id)
    }

    /// A customer acting in a request: actor `customer:<customer_id>`.
    pub fn customer(customer_id: &str, interaction_id: impl ToString) -> Self {
        Self::acting(format!("customer:{customer_id}"), interaction_id)
    }

    /// A scheduled job, in no request: actor `system:<job>`.
    pub fn system(job: &str) -> Self {
        Self {
            actor: format!("system:{job}"),
            interaction_id: None,
        }
    }

    fn acting(actor: String, interaction_id: impl ToString) -> Self {
        Self {
            actor,
            interaction_id: Some(interaction_id.to_string()),
        }
    }

    /// The metadata of the events this request causes: actor, and the interaction id as both
    /// request and correlation id.
    pub fn metadata(&self) -> EventMetadata {
        EventMetadata {
            correlation_id: self.interaction_id.clone(),
            causation_id: None,
            actor: Some(self.actor.clone()),
            request_id: self.interaction_id.clone(),
        }
    }

    /// This request acting at `now`.
    pub fn at(self, now: Timestamp) -> ActionContext {
        ActionContext { request: self, now }
    }
}

/// A request acting at a given time: what a use case that decides at `now` is handed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionContext {
    /// Who acts, in which request.
    pub request: RequestContext,
    /// Now.
    pub now: Timestamp,
}

impl ActionContext {
    /// An OAuth client acting in a request at `now`.
    pub fn client(client_id: &str, interaction_id: impl ToString, now: Timestamp) -> Self {
        RequestContext::client(client_id, interaction_id).at(now)
    }

    /// A customer acting in a request at `now`.
    pub fn customer(customer_id: &str, interaction_id: impl ToString, now: Timestamp) -> Self {
        RequestContext::customer(customer_id, interaction_id).at(now)
    }

    /// A system job acting at `now`.
    pub fn system(job: &str, now: Timestamp) -> Self {
        RequestContext::system(job).at(now)
    }

    /// The metadata of the events this action causes ([`RequestContext::metadata`]).
    pub fn metadata(&self) -> EventMetadata {
        self.request.metadata()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interaction_id_is_request_and_correlation_id() {
        let m = RequestContext::client("c1", "req-1").metadata();
        assert_eq!(m.actor.as_deref(), Some("client:c1"));
        assert_eq!(m.request_id.as_deref(), Some("req-1"));
        assert_eq!(m.correlation_id.as_deref(), Some("req-1"));
        assert_eq!(m.causation_id, None);
        let job = RequestContext::system("expiry").metadata();
        assert_eq!(job.actor.as_deref(), Some("system:expiry"));
        assert_eq!(job.request_id, None);
    }
}
