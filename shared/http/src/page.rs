//! Responses of the server-rendered customer pages: one set of headers for every page, and the
//! redirect after a form.

use actix_web::HttpResponse;
use actix_web::http::header;

/// The content security policy of a customer page: nothing loaded from anywhere but the
/// bank's logo from the hub itself, the layout's inline style sheet allowed (docs/adr/0015),
/// forms posted only to the hub, never framed.
/// (The authorization server's pages omit `form-action`: their forms end in a redirect to a
/// partner's `redirect_uri`, which `form-action 'self'` would block.)
pub const PAGE_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// A rendered page: HTML, never cached, under [`PAGE_CSP`], never framed, no referrer.
pub fn html_page(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(html)
}

/// 303 to `location` (after a form post, or to the sign-in page), never cached.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
