//! The console's notification delivery log of a partner (`/console/partners/{id}/deliveries`,
//! ADR 0024): the partner's subscriptions and every push attempt, a page at a time
//! (`?after=<position>` in the URL). Server-rendered HTML extending the shared console layout,
//! for a staff session whose roles grant `admin` (none: 303 to the sign-in page; other roles:
//! 403 in words). Read only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use askama::Template;
use ecohub_http::ApiError;
use ecohub_kernel::PartnerId;
use ecohub_security::{SessionStaff, StaffSession, StaffSessionError};
use serde::Deserialize;

use crate::application::SharingState;
use crate::notify::LoggedAttempt;

/// Attempts on one page.
const PAGE_SIZE: usize = 50;

/// The page's query.
#[derive(Debug, Deserialize)]
pub(crate) struct DeliveriesQuery {
    /// Attempts after this position in the log (the last of the previous page).
    after: Option<String>,
}

struct SubscriptionRow {
    url: String,
    events: String,
    since: String,
}

struct AttemptRow {
    at: String,
    event_type: String,
    jti: String,
    attempt: u32,
    outcome: String,
    class: &'static str,
    next: String,
}

#[derive(Template)]
#[template(path = "console_deliveries.html")]
struct DeliveriesPage<'a> {
    title: &'a str,
    display_name: &'a str,
    csrf_token: &'a str,
    partner_id: String,
    error: Option<&'a str>,
    subscriptions: Vec<SubscriptionRow>,
    attempts: Vec<AttemptRow>,
    empty: &'a str,
    first_href: Option<String>,
    next_href: Option<String>,
}

fn row(l: LoggedAttempt) -> AttemptRow {
    let a = l.attempt;
    let (outcome, class) = match (a.acknowledged, a.status, a.error.as_deref()) {
        (true, _, _) => ("acknowledged".to_owned(), "passed"),
        (false, Some(status), Some(e)) => (format!("refused: HTTP {status}, {e}"), "failed"),
        (false, Some(status), None) => (format!("refused: HTTP {status}"), "failed"),
        (false, None, Some(e)) => (format!("not delivered: {e}"), "failed"),
        (false, None, None) => ("not delivered".to_owned(), "failed"),
    };
    AttemptRow {
        at: a.at.utc_second(),
        event_type: l.event_type,
        jti: l.jti,
        attempt: a.attempt,
        outcome,
        class,
        next: a.next_attempt_at.map_or_else(
            || {
                if a.acknowledged {
                    "none needed".to_owned()
                } else {
                    "none: given up".to_owned()
                }
            },
            |t| t.utc_second(),
        ),
    }
}

fn page(status: StatusCode, view: &DeliveriesPage<'_>) -> HttpResponse {
    match view.render() {
        Ok(body) => {
            let mut response = ecohub_http::html_page(body);
            *response.status_mut() = status;
            response
        }
        Err(e) => {
            ApiError::internal(format!("cannot render the delivery log: {e}")).error_response()
        }
    }
}

fn refusal(
    status: StatusCode,
    staff: Option<&SessionStaff>,
    partner_id: String,
    words: &str,
) -> HttpResponse {
    page(
        status,
        &DeliveriesPage {
            title: "Notification deliveries",
            display_name: staff.map_or("", |s| s.display_name.as_str()),
            csrf_token: staff.map_or("", |s| s.csrf_token.as_str()),
            partner_id,
            error: Some(words),
            subscriptions: Vec::new(),
            attempts: Vec::new(),
            empty: "",
            first_href: None,
            next_href: None,
        },
    )
}

/// A partner's subscriptions and delivery log.
pub(crate) async fn deliveries(
    state: web::Data<SharingState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
    query: web::Query<DeliveriesQuery>,
) -> HttpResponse {
    let staff = match session {
        Ok(s) if s.staff.scopes.contains("admin") => s.staff,
        Ok(s) => {
            return refusal(
                StatusCode::FORBIDDEN,
                Some(&s.staff),
                String::new(),
                "The partner pages are for partnership managers and administrators. Ask an \
administrator to give you the partnership manager role if you need them.",
            );
        }
        Err(StaffSessionError::Unavailable) => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                String::new(),
                "The console cannot check your session right now. Please try again shortly.",
            );
        }
        Err(_) => return ecohub_http::see_other("/console/login"),
    };
    let Ok(partner) = PartnerId::parse(&path) else {
        return refusal(
            StatusCode::BAD_REQUEST,
            Some(&staff),
            String::new(),
            "This address does not name a partner. Open the partner from the partners page.",
        );
    };
    let partner = partner.to_string();
    let after = match query.after.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => match a.parse::<usize>() {
            Ok(a) => Some(a),
            Err(_) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    Some(&staff),
                    partner,
                    "This page of the log does not exist. Start again from the first page.",
                );
            }
        },
    };
    let subscriptions = match state.subscriptions(&partner).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "console delivery log unavailable");
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&staff),
                partner,
                "The hub cannot read the subscriptions now. Please try again shortly.",
            );
        }
    };
    let start = after.map_or(0, |a| a + 1);
    let mut attempts: Vec<(usize, LoggedAttempt)> = state
        .deliveries(&partner)
        .into_iter()
        .enumerate()
        .skip(start)
        .take(PAGE_SIZE + 1)
        .collect();
    let next_href = (attempts.len() > PAGE_SIZE).then(|| {
        attempts.truncate(PAGE_SIZE);
        let last = attempts.last().map_or(0, |(i, _)| *i);
        format!("/console/partners/{partner}/deliveries?after={last}")
    });
    let empty = if after.is_some() {
        "No more attempts: this is the end of the log."
    } else if subscriptions.is_empty() {
        "Nothing was pushed to this partner: it has no subscription yet."
    } else {
        "Nothing was pushed yet: notifications are pushed when an event the partner subscribed to happens (a consent authorised, revoked or expired, data updated)."
    };
    let view = DeliveriesPage {
        title: "Notification deliveries",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        first_href: after.map(|_| format!("/console/partners/{partner}/deliveries")),
        partner_id: partner,
        error: None,
        subscriptions: subscriptions
            .into_iter()
            .map(|s| SubscriptionRow {
                url: s.url,
                events: s.event_types.join(", "),
                since: s.created_at.utc_second(),
            })
            .collect(),
        attempts: attempts.into_iter().map(|(_, l)| row(l)).collect(),
        empty,
        next_href,
    };
    page(StatusCode::OK, &view)
}
