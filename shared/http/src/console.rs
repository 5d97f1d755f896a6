//! What every console page (docs/adr/0024) renders the same way, whichever service owns it: a
//! rendered template under the pages' headers with its status, and the page with a message
//! in words and a way on (`console_message.html`, on the console layout). Who may open a
//! page (the staff session and its scope) is `ecohub_security::console`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::ApiError;

/// A rendered page with `status`, under the pages' headers ([`crate::html_page`]); a template
/// that fails to render is a 500 problem.
pub fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> HttpResponse {
    match rendered {
        Ok(body) => {
            let mut response = crate::html_page(body);
            *response.status_mut() = status;
            response
        }
        Err(e) => ApiError::internal(format!("cannot render a console page: {e}")).error_response(),
    }
}

/// One field of a form as posted (`application/x-www-form-urlencoded`, read as name/value
/// pairs): the empty string when absent, an error in words when it was sent twice.
pub fn form_field<'f>(form: &'f [(String, String)], name: &str) -> Result<&'f str, String> {
    let mut values = form
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next().unwrap_or_default();
    if values.next().is_some() {
        return Err(format!(
            "The form sent the field {name} twice. Please use the page's form."
        ));
    }
    Ok(first)
}

/// The person a page is shown to: the name in the header and the sign-out form's CSRF token.
#[derive(Debug, Clone, Copy)]
pub struct SignedIn<'a> {
    /// The name shown in the header.
    pub display_name: &'a str,
    /// The session's CSRF token (the sign-out form posts it).
    pub csrf_token: &'a str,
}

/// A link on: its address and its words.
pub type Link<'a> = (&'a str, &'a str);

/// A message in words instead of a page (a refusal before anything was read or changed, a
/// page that is not there, a store that cannot answer).
#[derive(Template)]
#[template(path = "console_message.html")]
struct MessagePage<'a> {
    title: &'a str,
    /// Empty when nobody is signed in (no sign-out form then).
    display_name: &'a str,
    csrf_token: &'a str,
    message: &'a str,
    next_href: &'a str,
    next_label: &'a str,
}

/// A page with `status` saying `text` under `title`, and the link `next` to go on.
pub fn message(
    status: StatusCode,
    signed_in: Option<SignedIn<'_>>,
    title: &str,
    text: &str,
    next: Link<'_>,
) -> HttpResponse {
    let page = MessagePage {
        title,
        display_name: signed_in.map_or("", |s| s.display_name),
        csrf_token: signed_in.map_or("", |s| s.csrf_token),
        message: text,
        next_href: next.0,
        next_label: next.1,
    };
    html(status, page.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body(r: HttpResponse) -> String {
        String::from_utf8(to_bytes(r.into_body()).await.unwrap().to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn a_message_page_escapes_its_words_and_shows_who_is_signed_in() {
        let r = message(
            StatusCode::NOT_FOUND,
            Some(SignedIn {
                display_name: "Ana <Ops>",
                csrf_token: "tok",
            }),
            "Not found",
            "<script>x</script>",
            ("/console/partners", "Back to the partners"),
        );
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.headers().get("content-security-policy").unwrap(),
            crate::PAGE_CSP
        );
        let html = body(r).await;
        assert!(
            html.contains("&#60;script&#62;x&#60;/script&#62;"),
            "{html}"
        );
        assert!(!html.contains("<script>x"), "{html}");
        assert!(
            html.contains("Signed in as <strong>Ana &#60;Ops&#62;</strong>"),
            "{html}"
        );
        assert!(html.contains(r#"value="tok""#), "{html}");
        assert!(
            html.contains(r#"<a href="/console/partners">Back to the partners</a>"#),
            "{html}"
        );
    }

    #[test]
    fn a_field_is_read_once_and_a_repeated_one_is_refused_in_words() {
        let form = vec![
            ("name".to_owned(), "Ana".to_owned()),
            ("role".to_owned(), "a".to_owned()),
            ("role".to_owned(), "b".to_owned()),
        ];
        assert_eq!(form_field(&form, "name"), Ok("Ana"));
        assert_eq!(form_field(&form, "absent"), Ok(""));
        assert!(
            form_field(&form, "role")
                .unwrap_err()
                .contains("role twice")
        );
    }

    #[actix_web::test]
    async fn nobody_signed_in_gets_no_sign_out_form() {
        let r = message(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "Temporarily unavailable",
            "Try again shortly.",
            ("/console", "Open the console again"),
        );
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let html = body(r).await;
        assert!(!html.contains("/console/logout"), "{html}");
        assert!(html.contains("Try again shortly."), "{html}");
    }
}
