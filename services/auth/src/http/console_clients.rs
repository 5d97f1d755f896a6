//! The console's page of a partner's OAuth clients (`/console/partners/{id}/clients`, ADR
//! 0024): every client the partner registered, with how it authenticates, its grants, scopes
//! and redirect URIs, and whether it was deleted. For a staff session whose roles grant
//! `admin` (none: 303 to the sign-in page; other roles: 403 in words). Read only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::console::session;
use super::pages::{error_page, page, redirect, state};
use crate::application::store::partner_clients;
use crate::domain::RegisteredClient;

/// One client as the page shows it.
struct ClientRow {
    client_id: String,
    status: String,
    class: &'static str,
    auth: &'static str,
    dpop: bool,
    grants: String,
    scopes: String,
    redirect_uris: Vec<String>,
    registered: String,
}

#[derive(Template)]
#[template(path = "console_clients.html")]
struct ClientsPage<'a> {
    title: &'a str,
    display_name: &'a str,
    csrf_token: &'a str,
    partner_id: String,
    clients: Vec<ClientRow>,
}

fn row(c: RegisteredClient) -> ClientRow {
    let (status, class) = match c.deleted_at {
        Some(at) => (format!("deleted {}", at.utc_minute()), "offboarded"),
        None => ("active".to_owned(), "approved"),
    };
    ClientRow {
        client_id: c.client_id.to_string(),
        status,
        class,
        auth: match c.metadata.token_endpoint_auth_method {
            crate::domain::AuthMethod::PrivateKeyJwt => "private key JWT",
            crate::domain::AuthMethod::ClientSecretBasic => "client secret",
        },
        dpop: c.metadata.dpop_bound_access_tokens,
        grants: c
            .metadata
            .grant_types
            .iter()
            .map(|g| g.as_str().replace('_', " "))
            .collect::<Vec<_>>()
            .join(", "),
        scopes: c
            .metadata
            .scope
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        redirect_uris: c.metadata.redirect_uris,
        registered: c.registered_at.utc_minute(),
    }
}

/// A partner's OAuth clients.
pub async fn clients(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let state = match state(&req) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let staff = match session(&state, &req).await {
        Ok(Some((staff, _))) => staff,
        Ok(None) => return redirect("/console/login"),
        Err(r) => return *r,
    };
    if !staff.scopes.contains("admin") {
        return error_page(
            StatusCode::FORBIDDEN,
            "The partner pages are for partnership managers and administrators. Ask an \
administrator to give you the partnership manager role if you need them.",
        );
    }
    let Ok(partner) = uuid::Uuid::try_parse(&path) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This address does not name a partner. Open the partner from the partners page.",
        );
    };
    let partner_id = partner.to_string();
    let found = match partner_clients(state.store.as_ref(), &partner_id).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "console client list unavailable");
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The hub cannot read the partner's clients now. Please try again shortly.",
            );
        }
    };
    let view = ClientsPage {
        title: "OAuth clients",
        display_name: &staff.display_name,
        csrf_token: &staff.csrf_token,
        partner_id,
        clients: found.into_iter().map(row).collect(),
    };
    page(StatusCode::OK, &view)
}
