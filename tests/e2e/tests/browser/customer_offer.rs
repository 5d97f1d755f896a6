//! A customer sees an offer, reads why, and accepts it — in the demo ecosystem
//! (`ecohub serve --demo`), which the bank's app has already decided offers in. David, a
//! customer whose bank profile makes him a globetrotter, signs in on the bank's sign-in page,
//! reads on his consents page who used his data, opens his offers, reads why he sees the
//! Globetrotter loan and at which rule's price, and accepts it; the page then lists his answer
//! and the offer is no longer open. The bank's branding is on every page.

use std::time::Duration;

use ecohub_e2e::wait_ready;
use ecohub_testkit::HubProcess;

use crate::harness::Chrome;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_sees_an_offer_reads_why_and_accepts_it() {
    let mut chrome = Chrome::start("customer-offer").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &["--demo"]);
    wait_ready(&hub).await;
    let lines = hub.lines_until(Duration::from_secs(600), |l| {
        l.starts_with("API documentation:")
    });
    let password = lines
        .iter()
        .find_map(|l| l.split_once("all with password ").map(|(_, p)| p.trim()))
        .expect("the customers' password is printed")
        .to_owned();

    // Signing in: the bank's page, its name and support contact.
    chrome.goto(&hub.url("/dashboard/offers")).await;
    chrome
        .expect_path("/login?return_to=/dashboard/offers")
        .await;
    chrome.expect_text("header", "Ecohub Bank").await;
    chrome.expect_text("footer", "Need help?").await;
    chrome.look("sign-in").await;
    chrome.fill("#username", "david").await;
    chrome.fill("#password", &password).await;
    chrome
        .click("form[action='/login'] button[type=submit]")
        .await;
    chrome.expect_path("/dashboard/offers").await;

    // His consents: who used his data, in words.
    chrome.follow("Consents").await;
    chrome.expect_path("/dashboard").await;
    chrome
        .expect_text("main", "Globetrotter Travel Ltd read your accounts")
        .await;
    chrome.look("consents").await;

    // His offers: the Globetrotter loan, why he sees it, its price and the partner's benefit.
    chrome.follow("Offers").await;
    chrome.expect_path("/dashboard/offers").await;
    chrome
        .expect_text("#offers", "Globetrotter personal loan")
        .await;
    chrome
        .expect_text(
            "#offers",
            "You see it because your profile matches: Globetrotter.",
        )
        .await;
    chrome
        .expect_text(
            "#offers",
            "Travel insurance for the whole family (12 months free)",
        )
        .await;
    chrome.look("offers").await;

    chrome
        .click("#offers form input[value='accepted'] ~ button[type=submit]")
        .await;
    chrome.expect_path("/dashboard/offers").await;
    chrome
        .expect_text("#answers", "You accepted Globetrotter personal loan")
        .await;
    let open = chrome.text("#offers").await;
    assert!(
        !open.contains("Globetrotter personal loan"),
        "the accepted offer is still open: {open}"
    );
    chrome.look("accepted").await;
    chrome.close().await;
    hub.terminate();
}

/// George let the bank use the travel firm's data; the firm told the hub he booked a trip
/// (a financial moment), and the bank's trip cover arrived on his offers page at once, marked
/// as sent for this moment, with when it arrived and why; he declines it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_travellers_booking_brings_the_trip_cover_with_its_reason() {
    let mut chrome = Chrome::start("moment-offer").await;
    let dir = tempfile::tempdir().unwrap();
    let hub = HubProcess::start_in(dir.path(), &["--demo"]);
    wait_ready(&hub).await;
    let lines = hub.lines_until(Duration::from_secs(600), |l| {
        l.starts_with("API documentation:")
    });
    let password = lines
        .iter()
        .find_map(|l| l.split_once("all with password ").map(|(_, p)| p.trim()))
        .expect("the customers' password is printed")
        .to_owned();
    chrome.goto(&hub.url("/dashboard/offers")).await;
    chrome.fill("#username", "george").await;
    chrome.fill("#password", &password).await;
    chrome
        .click("form[action='/login'] button[type=submit]")
        .await;
    chrome.expect_path("/dashboard/offers").await;
    chrome.expect_text("#offers", "Trip cover").await;
    chrome.expect_text("#offers", "Just for this moment").await;
    chrome
        .expect_text(
            "#offers",
            "It was sent to you when this happened: You booked a trip abroad with Globetrotter.",
        )
        .await;
    chrome.expect_text("#offers", "Arrived").await;
    chrome.look("moment-offer").await;
    chrome
        .click("#offers form input[value='declined'] ~ button[type=submit]")
        .await;
    chrome.expect_path("/dashboard/offers").await;
    chrome
        .expect_text("#answers", "You declined Trip cover")
        .await;
    chrome.look("moment-declined").await;
    chrome.close().await;
    hub.terminate();
}
