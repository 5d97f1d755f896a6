//! A sharing server for load tests of consent-checked, access-recorded reads: the real
//! routes and middleware over the embedded store (a temporary database with fsync on every
//! group commit), fake ports and a fixed-token verifier. Token `bench` is bound to consent
//! `bench-consent` for 20 published accounts.
//!
//! `cargo run --release -p ecohub-sharing --example sharing_bench_server -- 127.0.0.1:8090`
//! then `tests/perf/sharing-bench.sh` drives it with wrk.

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use async_trait::async_trait;
use ecohub_eventstore::{ProjectionHandle, SharedStore, SqliteStore, SqliteStoreOptions};
use ecohub_kernel::{SystemClock, Timestamp};
use ecohub_security::{AccessTokenVerifier, AuthError, PresentedToken, Principal, SharedVerifier};
use ecohub_sharing::domain::records::Record;
use ecohub_sharing::{
    ConsentGrant, ConsentGrants, Customers, Limit, PartnerWebhooks, PortError, Publication,
    RequestContext, SetSigner, SharingConfig, SharingPorts, SharingState,
};
use serde_json::{Value, json};

const PARTNER: &str = "0190f0c4-0000-7000-8000-00000000aaaa";

struct Verifier;

#[async_trait(?Send)]
impl AccessTokenVerifier for Verifier {
    async fn verify(&self, presented: &PresentedToken) -> Result<Principal, AuthError> {
        let (scopes, consent) = match presented.token.as_str() {
            "bench" => (vec!["data:read"], Some("bench-consent".to_owned())),
            "bank" => (vec!["admin", "data:publish"], None),
            _ => return Err(AuthError::InvalidToken("unknown".into())),
        };
        Ok(Principal {
            client_id: "bench-client".into(),
            subject: "pairwise-bench".into(),
            partner_id: consent.as_ref().map(|_| PARTNER.to_owned()),
            scopes: scopes.into_iter().map(str::to_owned).collect(),
            token_id: "jti".into(),
            consent_id: consent,
            staff_id: None,
        })
    }
}

struct Grants;

#[async_trait]
impl ConsentGrants for Grants {
    async fn grant(
        &self,
        consent_id: &str,
        _: Timestamp,
    ) -> Result<Option<ConsentGrant>, PortError> {
        Ok((consent_id == "bench-consent").then(|| ConsentGrant {
            consent_id: consent_id.to_owned(),
            partner_id: PARTNER.to_owned(),
            customer_id: "cust-bench".to_owned(),
            permissions: BTreeSet::from(["ReadAccountsBasic".to_owned()]),
            transaction_from: None,
            transaction_to: None,
            data_providers: vec!["bank".to_owned()],
            expires_at: Timestamp::from_unix_seconds(4_000_000_000),
        }))
    }
}

struct NoCustomers;

#[async_trait]
impl Customers for NoCustomers {
    async fn resolve(&self, _: &str, _: &str) -> Result<Option<String>, PortError> {
        Ok(None)
    }

    async fn pairwise_of(&self, _: &str, _: &str) -> Result<Option<String>, PortError> {
        Ok(None)
    }
}

struct NoWebhooks;

#[async_trait]
impl PartnerWebhooks for NoWebhooks {
    async fn webhooks(&self, _: &str) -> Result<Vec<String>, PortError> {
        Ok(Vec::new())
    }
}

struct Unsigned;

impl SetSigner for Unsigned {
    fn sign(&self, claims: &Value) -> Result<String, PortError> {
        Ok(claims.to_string())
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let dir = tempfile::tempdir()?;
    let store: SharedStore = Arc::new(
        SqliteStore::open(dir.path().join("events.db"), SqliteStoreOptions::default())
            .map_err(std::io::Error::other)?,
    );
    let config = SharingConfig {
        read_limit: Limit {
            per_second: 1e9,
            burst: 1e9,
        },
        ..SharingConfig::default()
    };
    let ports = SharingPorts {
        grants: Arc::new(Grants),
        customers: Arc::new(NoCustomers),
        webhooks: Arc::new(NoWebhooks),
        signer: Arc::new(Unsigned),
    };
    let (state, projections) =
        SharingState::new(store.clone(), Arc::new(SystemClock), config, ports);
    let records = ProjectionHandle::spawn(store.clone(), projections.records);
    let bank = Principal {
        client_id: "bank".into(),
        subject: "bank".into(),
        partner_id: None,
        scopes: BTreeSet::from(["admin".to_owned(), "data:publish".to_owned()]),
        token_id: "seed".into(),
        consent_id: None,
        staff_id: None,
    };
    let seed = Publication {
        customer_id: "cust-bench".into(),
        records: (0..20)
            .map(|i| Record {
                id: format!("acc-{i:02}"),
                data: json!({"account_id": format!("acc-{i:02}"), "currency": "EUR",
                    "account_type": "personal", "nickname": "Main", "iban": "DE89370400440532013000"}),
            })
            .collect(),
    };
    state
        .publish(
            &bank,
            "accounts",
            seed,
            &RequestContext::client("bank", "seed"),
        )
        .await
        .map_err(std::io::Error::other)?;
    records
        .wait_for(store.head().await.map_err(std::io::Error::other)?)
        .await;
    let verifier: SharedVerifier = Arc::new(Verifier);
    eprintln!("sharing bench server on http://{addr}/data/accounts (token: bench)");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::Data::new(verifier.clone()))
            .app_data(ecohub_http::json_config())
            .app_data(ecohub_http::query_config())
            .app_data(ecohub_http::path_config())
            .configure(ecohub_sharing::configure)
            .wrap(from_fn(ecohub_http::problem_fallback))
            .wrap(from_fn(ecohub_http::interaction_id))
    })
    .workers(
        std::env::var("BENCH_WORKERS")
            .ok()
            .and_then(|w| w.parse().ok())
            .unwrap_or(2),
    )
    .bind(addr)?
    .run()
    .await
}
