//! `ConsentsState::grant`, what the data-sharing service's `ConsentGrants` port asks: only an
//! authorised consent, not expired at the time asked, grants anything; a read is remembered
//! only while no consent stream has changed.

use std::time::Duration;

use ecohub_consents::ActionContext;
use ecohub_consents::domain::CustomerId;

use crate::support::*;

#[actix_web::test]
async fn only_an_authorised_consent_grants_and_every_change_is_seen_at_once() {
    let (app, store) = TestApp::racing().await;
    let p = app.partner("TravelCo", true, false);
    let id = app.create(&p).await;
    assert_eq!(app.state.grant(&id, app.now()).await.unwrap(), None);

    app.authorise(&id, "cust-1").await;
    let now = app.now();
    let grant = app
        .state
        .grant(&id, now)
        .await
        .unwrap()
        .expect("authorised");
    assert_eq!(grant.consent_id, id);
    assert_eq!(grant.partner_id, p);
    assert_eq!(grant.customer_id, "cust-1");
    assert_eq!(
        grant.permissions,
        [
            "ReadAccountsBasic",
            "ReadTransactionsBasic",
            "ReadTransactionsCredits"
        ]
    );
    assert_eq!(grant.data_providers, ["bank"]);

    // Nothing changed: the read is remembered (no stream read), and expiry by time counts
    // at once, before any expiry event.
    let before = store.counts();
    assert_eq!(
        app.state.grant(&id, now).await.unwrap().as_ref(),
        Some(&grant)
    );
    let later = grant.expires_at.plus(Duration::from_secs(1));
    assert_eq!(app.state.grant(&id, later).await.unwrap(), None);
    assert_eq!(store.counts().stream_reads, before.stream_reads);

    // Any change to a consent stream is seen by the next call.
    let ctx = ActionContext::customer("cust-1", "req-revoke", app.now());
    app.state
        .revoke_by_customer(
            ecohub_consents::domain::ConsentId::parse(&id).unwrap(),
            &CustomerId::parse("cust-1").unwrap(),
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(app.state.grant(&id, now).await.unwrap(), None);

    // Unknown and malformed ids grant nothing.
    let unknown = uuid::Uuid::now_v7().to_string();
    assert_eq!(app.state.grant(&unknown, now).await.unwrap(), None);
    assert_eq!(app.state.grant("garbage", now).await.unwrap(), None);
}

/// `ConsentsState::offers_customer`, the offers service's `OfferConsents` port: the customer
/// for whom a co-brand partner may decide offers, only under its own authorised consent that
/// grants `ReadOffers`, and no longer once it is revoked.
#[actix_web::test]
async fn a_partner_decides_offers_only_under_its_consent_granting_read_offers() {
    let app = TestApp::new().await;
    let p = app.partner("TravelCo", true, false);
    let other = app.partner("ShopCo", true, false);
    let mut body = consent_body(app.now());
    body["permissions"] = serde_json::json!(["ReadOffers"]);
    let res = app.post("/consents", &partner_token(&p), body).await;
    assert_eq!(res.status, 201, "{}", res.text);
    let with_offers = res.body["consent_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.state
            .offers_customer(&with_offers, &p, app.now())
            .await
            .unwrap(),
        None,
        "not authorised yet"
    );
    app.authorise(&with_offers, "cust-1").await;
    let without = app.authorised(&p, "cust-1").await;
    let now = app.now();
    assert_eq!(
        app.state
            .offers_customer(&with_offers, &p, now)
            .await
            .unwrap()
            .as_deref(),
        Some("cust-1")
    );
    assert_eq!(
        app.state
            .offers_customer(&with_offers, &other, now)
            .await
            .unwrap(),
        None,
        "another partner"
    );
    assert_eq!(
        app.state.offers_customer(&without, &p, now).await.unwrap(),
        None,
        "no ReadOffers"
    );
    let customer = CustomerId::parse("cust-1").unwrap();
    let ctx = ActionContext::customer("cust-1", "it-revoke", app.now());
    app.state
        .revoke_by_customer(
            ecohub_consents::domain::ConsentId::parse(&with_offers).unwrap(),
            &customer,
            &ctx,
        )
        .await
        .unwrap();
    assert_eq!(
        app.state
            .offers_customer(&with_offers, &p, app.now())
            .await
            .unwrap(),
        None,
        "revoked: at once"
    );
}
