//! Who may open a console page (docs/adr/0024): each service's pages are one
//! [`ConsoleArea`], the scope its roles must grant and where its pages lead back to. A
//! request without a staff session is sent to sign in (303), a person whose roles lack the
//! scope gets a 403 page in words, and a session that cannot be checked a 503 page; pages in
//! words share one template (`ecohub_http::console::message`).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use ecohub_http::console::{self as page, SignedIn};

use crate::staff::{SessionStaff, StaffSession, StaffSessionError};

/// Where a request without a staff session is sent.
pub const SIGN_IN: &str = "/console/login";

/// A page's early answer instead of the page (boxed: responses are large).
pub type Early<T> = Result<T, Box<HttpResponse>>;

/// The pages of one role: the scope that opens them, what a person without it is told, and
/// where a page that cannot be shown leads back to.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleArea {
    /// The scope a person's roles must grant.
    pub scope: &'static str,
    /// The 403 page's words for a person whose roles lack it (who the pages are for, whom
    /// to ask).
    pub not_for_you: &'static str,
    /// Where a 4xx page (not found, a refused request) leads: the area's main page.
    pub home: (&'static str, &'static str),
}

impl ConsoleArea {
    /// The signed-in person allowed on these pages, or the answer instead: 303 to sign in, a
    /// 403 page for roles without the scope, 503 when sessions cannot be checked.
    pub fn person(&self, session: Result<StaffSession, StaffSessionError>) -> Early<SessionStaff> {
        match session {
            Ok(s) if s.staff.scopes.contains(self.scope) => Ok(s.staff),
            Ok(s) => Err(Box::new(self.message(
                StatusCode::FORBIDDEN,
                Some(&s.staff),
                "Not for your roles",
                self.not_for_you,
            ))),
            Err(StaffSessionError::Unavailable) => Err(Box::new(self.message(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "Temporarily unavailable",
                "The console cannot check your session right now. Please try again shortly.",
            ))),
            Err(_) => Err(Box::new(ecohub_http::see_other(SIGN_IN))),
        }
    }

    /// The person behind a form, once the CSRF token it posted is their session's (else a
    /// 403 page: nothing is read or changed).
    pub fn form_person(
        &self,
        session: Result<StaffSession, StaffSessionError>,
        csrf_token: Option<&str>,
    ) -> Early<SessionStaff> {
        let staff = self.person(session)?;
        if staff.check_csrf(csrf_token).is_err() {
            return Err(Box::new(self.message(
                StatusCode::FORBIDDEN,
                Some(&staff),
                "The form has expired",
                "This form was not sent from your current console session, so nothing was \
changed. Open the page again and repeat what you did.",
            )));
        }
        Ok(staff)
    }

    /// A page with a message in words and a way on: back to the area's main page after a
    /// 4xx about what was asked, to the console's landing page after a refusal for the
    /// person's roles or a failure, and to the console (to sign in) when nobody is signed in.
    pub fn message(
        &self,
        status: StatusCode,
        staff: Option<&SessionStaff>,
        title: &str,
        text: &str,
    ) -> HttpResponse {
        let next = match staff {
            None => ("/console", "Open the console again"),
            Some(_) if status == StatusCode::FORBIDDEN || status.is_server_error() => {
                ("/console", "Back to the console")
            }
            Some(_) => self.home,
        };
        let signed_in = staff.map(|s| SignedIn {
            display_name: &s.display_name,
            csrf_token: &s.csrf_token,
        });
        page::message(status, signed_in, title, text, next)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use actix_web::body::to_bytes;
    use actix_web::http::header;

    use super::*;

    const AREA: ConsoleArea = ConsoleArea {
        scope: "audit",
        not_for_you: "The compliance pages are for compliance officers.",
        home: ("/console/compliance/consents", "Back to the consent search"),
    };

    fn staff(scopes: &[&str]) -> SessionStaff {
        SessionStaff {
            staff_id: "s1".into(),
            display_name: "Ana".into(),
            roles: BTreeSet::new(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            session_id: "sid".into(),
            csrf_token: "csrf".into(),
        }
    }

    fn session(scopes: &[&str]) -> Result<StaffSession, StaffSessionError> {
        Ok(StaffSession {
            staff: staff(scopes),
        })
    }

    async fn body(r: HttpResponse) -> String {
        String::from_utf8(to_bytes(r.into_body()).await.unwrap().to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn the_scope_opens_the_pages_and_its_absence_is_a_403_in_words() {
        assert_eq!(AREA.person(session(&["audit"])).unwrap().staff_id, "s1");
        let refused = *AREA.person(session(&["admin"])).unwrap_err();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let html = body(refused).await;
        assert!(html.contains("for compliance officers"), "{html}");
        assert!(html.contains("Back to the console"), "{html}");
    }

    #[actix_web::test]
    async fn no_session_signs_in_and_an_unreadable_one_is_a_503() {
        for e in [
            StaffSessionError::Missing,
            StaffSessionError::Invalid("x".into()),
        ] {
            let r = *AREA.person(Err(e)).unwrap_err();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert_eq!(r.headers().get(header::LOCATION).unwrap(), SIGN_IN);
        }
        let r = *AREA
            .person(Err(StaffSessionError::Unavailable))
            .unwrap_err();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(!body(r).await.contains("/console/logout"));
    }

    #[actix_web::test]
    async fn a_form_needs_the_sessions_csrf_token() {
        assert!(AREA.form_person(session(&["audit"]), Some("csrf")).is_ok());
        for wrong in [None, Some(""), Some("other")] {
            let r = *AREA.form_person(session(&["audit"]), wrong).unwrap_err();
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
            assert!(body(r).await.contains("The form has expired"));
        }
    }

    #[actix_web::test]
    async fn pages_in_words_lead_home_after_a_4xx_and_to_the_console_otherwise() {
        let who = staff(&["audit"]);
        let links = [
            (StatusCode::NOT_FOUND, Some(&who), AREA.home.0),
            (StatusCode::BAD_REQUEST, Some(&who), AREA.home.0),
            (StatusCode::FORBIDDEN, Some(&who), "/console"),
            (StatusCode::SERVICE_UNAVAILABLE, Some(&who), "/console"),
            (StatusCode::NOT_FOUND, None, "/console"),
        ];
        for (status, staff, href) in links {
            let html = body(AREA.message(status, staff, "t", "words")).await;
            assert!(
                html.contains(&format!(r#"<a href="{href}">"#)),
                "{status}: {html}"
            );
        }
    }
}
