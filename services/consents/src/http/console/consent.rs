//! `GET /console/compliance/consents/{id}`: a consent's history as a timeline — who did
//! what, when, and why, in words — under a badge saying whether its hash chain verifies
//! (or at which revision it breaks), read as the audit API's history reads it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_eventstore::RecordedEvent;
use ecohub_security::{StaffSession, StaffSessionError};

use super::views::{ConsentPage, TimelineEntry};
use super::{actor_words, html, message, person, status_words};
use crate::application::ConsentsState;
use crate::chain::{self, ChainBreak};
use crate::domain::{ConsentEvent, ConsentId, RevokedBy};
use crate::http::audit::{read_history, reason_of};

/// What happened, in words.
fn what(state: &ConsentsState, e: &RecordedEvent) -> String {
    match e.decode::<ConsentEvent>().map(|d| d.payload) {
        Ok(ConsentEvent::Requested {
            recipient,
            permissions,
            purpose,
            expiry,
            ..
        }) => {
            let asked: Vec<&str> = permissions.iter().map(|p| p.code()).collect();
            format!(
                "{} asked to read {} for “{}”, until {}",
                state.recipient_name(recipient),
                asked.join(", "),
                purpose.text(),
                (expiry.at()).utc_second(),
            )
        }
        Ok(ConsentEvent::Authorised { customer_id, .. }) => {
            format!(
                "The customer {} authorised the consent",
                customer_id.as_str()
            )
        }
        Ok(ConsentEvent::Rejected { customer_id, .. }) => {
            format!("The customer {} refused the consent", customer_id.as_str())
        }
        Ok(ConsentEvent::Revoked { by, .. }) => match by {
            RevokedBy::Customer => "The customer revoked the consent".to_owned(),
            RevokedBy::Partner => "The partner revoked the consent".to_owned(),
            RevokedBy::PartnerOffboarded => {
                "Revoked because the partner left the ecosystem".to_owned()
            }
        },
        Ok(ConsentEvent::Expired { .. }) => "The consent expired".to_owned(),
        Err(_) => format!(
            "{} (version {}), which this version of the hub cannot read",
            e.event_type, e.event_version
        ),
    }
}

fn entry(state: &ConsentsState, e: &RecordedEvent, broken: Option<&ChainBreak>) -> TimelineEntry {
    let payload = e.data_json().unwrap_or_default();
    let (payload, link) = chain::unseal(payload);
    TimelineEntry {
        revision: e.revision,
        at: e.recorded_at.utc_second(),
        what: what(state, e),
        who: actor_words(e.metadata.actor.as_deref()),
        reason: reason_of(e, &payload).unwrap_or_else(|| "none recorded".to_owned()),
        interaction: e.metadata.correlation_id.clone().unwrap_or_default(),
        hash: link.map_or_else(String::new, |l| l.hash.chars().take(12).collect()),
        broken: broken.is_some_and(|b| e.revision >= b.revision),
    }
}

/// A consent's timeline. An id that is not a consent's: 404 in words.
pub(crate) async fn page(
    state: web::Data<ConsentsState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let not_found = |staff| {
        message(
            StatusCode::NOT_FOUND,
            Some(staff),
            "No such consent",
            "There is no consent with this id. Search for it by customer or partner.",
        )
    };
    let Ok(id) = ConsentId::parse(&path) else {
        return not_found(&staff);
    };
    let (events, verdict) = match read_history(&state, id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(&staff),
        Err(e) => {
            tracing::warn!(error = %e, "console consent history unavailable");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&staff),
                "Temporarily unavailable",
                "The hub cannot read this consent's history now. Please try again shortly.",
            );
        }
    };
    let broken = verdict.err();
    let status = state
        .index
        .get(id)
        .map(|s| (s.status, s.customer_id, s.recipient));
    let view = ConsentPage {
        title: format!("Consent {id}"),
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        id: id.to_string(),
        status: status.as_ref().map(|(s, _, _)| status_words(*s)),
        customer: status.as_ref().and_then(|(_, c, _)| {
            c.as_ref().map(|c| {
                (
                    c.as_str().to_owned(),
                    ecohub_http::percent_encode(c.as_str()),
                )
            })
        }),
        recipient: status
            .as_ref()
            .map(|(_, _, r)| state.recipient_name(*r))
            .unwrap_or_default(),
        entries: events
            .iter()
            .map(|e| entry(&state, e, broken.as_ref()))
            .collect(),
        broken: broken.map(|b| (b.revision, b.reason)),
    };
    html(StatusCode::OK, view.render())
}
