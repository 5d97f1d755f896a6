//! The consent export downloads (`GET /console/compliance/consents/export.csv|.jsonl`, the
//! audit API's export for a staff session) and "Verify integrity"
//! (`POST /console/compliance/consents/verify`): every consent stream's hash chain checked
//! by `verify_all`, the check `ecohub audit verify` runs, its result shown in words.
//!
//! The verify form answers with the result itself (200), not a redirect: it writes nothing,
//! so sending it again only verifies again, and a result carried in a URL could be forged by
//! a link.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use ecohub_security::{StaffSession, StaffSessionError};

use super::views::IntegrityPage;
use super::{html, message, person};
use crate::application::ConsentsState;
use crate::chain::verify_all;
use crate::domain::ConsentId;
use crate::http::audit::export_response;
use crate::http::dto::ExportFormat;

/// A form's fields, as sent.
type FormFields = web::Form<Vec<(String, String)>>;

/// The export as a download, CSV or JSON lines; another format: 404 in words.
pub(crate) async fn export(
    state: web::Data<ConsentsState>,
    session: Result<StaffSession, StaffSessionError>,
    path: web::Path<String>,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let format = match path.as_str() {
        "csv" => ExportFormat::Csv,
        "jsonl" => ExportFormat::Jsonl,
        _ => {
            return message(
                StatusCode::NOT_FOUND,
                Some(&staff),
                "No such export",
                "Consents export as CSV or as JSON lines: use the links on the consent search.",
            );
        }
    };
    tracing::info!(staff = %staff.staff_id, format = %path, "consent export downloaded");
    export_response(state.store.clone(), format)
}

/// Verifies every consent stream's chain and shows the result. A form not sent from the
/// person's session (CSRF token missing, wrong or sent twice): 403, nothing read.
pub(crate) async fn verify(
    state: web::Data<ConsentsState>,
    session: Result<StaffSession, StaffSessionError>,
    form: FormFields,
) -> HttpResponse {
    let staff = match person(session) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let mut tokens = form.iter().filter(|(k, _)| k == "csrf_token");
    let token = tokens.next().map(|(_, v)| v.as_str());
    if tokens.next().is_some() || staff.check_csrf(token).is_err() {
        return message(
            StatusCode::FORBIDDEN,
            Some(&staff),
            "The form has expired",
            "This form was not sent from your current console session, so nothing was \
verified. Open the consent search again and press Verify integrity.",
        );
    }
    let started = state.clock.now();
    let report = match verify_all(&*state.store).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "console integrity check unavailable");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&staff),
                "Temporarily unavailable",
                "The hub cannot read the consent events now, so nothing was verified. Please \
try again shortly.",
            );
        }
    };
    tracing::info!(
        staff = %staff.staff_id,
        streams = report.streams,
        events = report.events,
        broken = report.first_break.is_some(),
        "consent integrity verified from the console"
    );
    let broken_consent = report.first_break.as_ref().and_then(|b| {
        b.stream
            .strip_prefix("consent-")
            .and_then(|id| ConsentId::parse(id).ok())
            .map(|id| id.to_string())
    });
    let view = IntegrityPage {
        title: "Integrity of the consent records",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        at: started.utc_second(),
        streams: report.streams,
        events: report.events,
        first_break: report.first_break.map(|b| (b.stream, b.revision, b.reason)),
        broken_consent,
    };
    html(StatusCode::OK, view.render())
}
