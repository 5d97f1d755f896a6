//! Journeys in a real browser (issue 15, ADR 0024): headless Chromium against the running
//! `ecohub` binary, signing in through the real pages, screenshots under
//! `target/browser-screenshots/`, axe-core on every page looked at. The harness is in
//! `harness`; one module per journey.

mod compliance_audit;
mod customer_offer;
mod financial_moments;
mod harness;
mod partner_approval;
mod proposition_publishing;

/// The harness's accessibility check finds what it must: a page with grey-on-white text and
/// an unlabelled field has serious violations, and a plain page has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accessibility_check_finds_serious_violations() {
    let chrome = harness::Chrome::start("harness").await;
    chrome
        .goto(
            "data:text/html,<!doctype html><html lang=en><title>Bad</title><main>\
<p style='color:%23bbb;background:%23fff'>Hard to read</p><input id=x></main></html>",
        )
        .await;
    let (blocking, _) = chrome.axe("bad page").await;
    let ids: Vec<&str> = blocking.iter().filter_map(|v| v["id"].as_str()).collect();
    assert!(ids.contains(&"color-contrast"), "{blocking:#?}");
    assert!(ids.contains(&"label"), "{blocking:#?}");
    chrome
        .goto(
            "data:text/html,<!doctype html><html lang=en><title>Good</title><main>\
<h1>Fine</h1><label for=x>Name</label><input id=x></main></html>",
        )
        .await;
    let (blocking, _) = chrome.axe("good page").await;
    assert!(blocking.is_empty(), "{blocking:#?}");
    chrome.close().await;
}
