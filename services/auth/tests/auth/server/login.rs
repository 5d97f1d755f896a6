//! Sign-in throttling through the real login page, with its CSRF cookie: the Nth failure
//! locks, a right password is refused while locked (and not checked), the lock lifts after
//! the back-off (manual clock), a success resets the count, unknown usernames are throttled
//! the same way, concurrent failures are all counted, and a store failure is a clean 503
//! page. Nothing about the username reaches the stream name or the events.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test;
use ecohub_auth::BuiltInDirectory;
use ecohub_auth::app::login::attempts_stream;
use ecohub_eventstore::{EventFilter, SharedStore};
use ecohub_testkit::FaultyStore;

use super::{Hub, Reply};

const PASSWORD: &str = "correct horse battery";
const HINT: &str = "Too many sign-in attempts";

struct Login {
    hub: Hub,
    faulty: Arc<FaultyStore>,
}

fn enc(s: &str) -> String {
    ecohub_http::percent_encode(s)
}

fn html(reply: &Reply) -> &str {
    reply.body.as_str().unwrap_or_default()
}

fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .map(|rest| rest.split(';').next().unwrap().to_owned())
}

fn csrf_of(page: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

async fn setup() -> Login {
    let mut hub = Hub::new();
    BuiltInDirectory::new(hub.store.clone())
        .add("Alice", "Alice", PASSWORD, hub.now(), "system:test")
        .await
        .unwrap();
    let faulty = FaultyStore::new(hub.store.clone());
    let store: SharedStore = faulty.clone();
    hub.state.store = store;
    Login { hub, faulty }
}

impl Login {
    /// Opens the login page and posts the form with these credentials.
    async fn attempt(&self, username: &str, password: &str) -> Reply {
        let page = self
            .hub
            .send(test::TestRequest::get().uri("/login?return_to=%2Fdone"))
            .await;
        assert_eq!(page.status, StatusCode::OK);
        let pre = set_cookie(&page, "ecohub_login_csrf").unwrap();
        let body = format!(
            "username={}&password={}&csrf_token={}&return_to=%2Fdone",
            enc(username),
            enc(password),
            enc(&csrf_of(html(&page)))
        );
        self.hub
            .send(
                test::TestRequest::post()
                    .uri("/login")
                    .insert_header(("content-type", "application/x-www-form-urlencoded"))
                    .insert_header(("cookie", format!("ecohub_login_csrf={pre}")))
                    .set_payload(body),
            )
            .await
    }

    fn advance(&self, secs: u64) {
        self.hub.clock.advance(Duration::from_secs(secs));
    }

    /// The events of `username`'s attempts stream: (type, payload).
    async fn attempts(&self, username: &str) -> Vec<(String, serde_json::Value)> {
        ecohub_eventstore::read_stream_to_end(self.hub.store.as_ref(), &attempts_stream(username))
            .await
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e.event_type.clone(),
                    serde_json::from_slice(&e.data).unwrap(),
                )
            })
            .collect()
    }
}

#[track_caller]
fn assert_wrong(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert!(html(reply).contains("Wrong username or password."));
    assert!(!html(reply).contains(HINT));
    assert!(set_cookie(reply, "ecohub_session").is_none());
}

#[track_caller]
fn assert_locked(reply: &Reply, retry_after: u64) {
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(html(reply).contains(HINT), "{}", reply.body);
    // The same form again, nothing said about the username or the password.
    assert!(html(reply).contains("<form method=\"post\" action=\"/login\">"));
    assert!(!html(reply).contains("alice"));
    assert_eq!(reply.header("retry-after"), retry_after.to_string());
    assert_eq!(reply.header("cache-control"), "no-store");
    assert!(set_cookie(reply, "ecohub_session").is_none());
}

#[track_caller]
fn assert_signed_in(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.header("location"), "/done");
    assert!(set_cookie(reply, "ecohub_session").is_some());
}

#[actix_web::test]
async fn the_fifth_failure_locks_and_a_right_password_is_refused_until_the_lock_lifts() {
    let s = setup().await;
    for _ in 0..4 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
        s.advance(1);
    }
    // The fifth failure locks for a minute.
    assert_locked(&s.attempt("ALICE", "wrong password!").await, 60);
    assert_eq!(s.attempts("alice").await.len(), 5);
    // The right password during the lock: refused, not checked, nothing recorded.
    s.advance(30);
    let before = s.faulty.counts().appends;
    assert_locked(&s.attempt("alice", PASSWORD).await, 30);
    assert_locked(&s.attempt("alice", "wrong password!").await, 30);
    assert_eq!(s.faulty.counts().appends, before);
    assert_eq!(s.attempts("alice").await.len(), 5);
    // After the back-off: signed in, and the count is reset.
    s.advance(30);
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
    let events = s.attempts("alice").await;
    assert_eq!(events.len(), 6);
    assert_eq!(events[5].0, "LoginSucceeded");
    for _ in 0..4 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
    }
    // Four failures after the success: the fifth locks for a minute again.
    assert_locked(&s.attempt("alice", "wrong password!").await, 60);
}

#[actix_web::test]
async fn a_second_lock_lasts_twice_as_long() {
    let s = setup().await;
    for _ in 0..4 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
    }
    assert_locked(&s.attempt("alice", "wrong password!").await, 60);
    s.advance(60);
    for _ in 0..4 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
    }
    assert_locked(&s.attempt("alice", "wrong password!").await, 120);
    s.advance(119);
    assert_locked(&s.attempt("alice", PASSWORD).await, 1);
    s.advance(1);
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
}

#[actix_web::test]
async fn failures_outside_the_window_do_not_lock() {
    let s = setup().await;
    for _ in 0..8 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
        s.advance(300);
    }
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
}

#[actix_web::test]
async fn a_success_resets_the_count() {
    let s = setup().await;
    for _ in 0..4 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
    }
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
    for _ in 0..4 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
    }
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
    // A success with nothing to reset records nothing.
    let recorded = s.attempts("alice").await.len();
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
    assert_eq!(s.attempts("alice").await.len(), recorded);
}

#[actix_web::test]
async fn an_unknown_username_is_throttled_exactly_like_a_known_one() {
    let s = setup().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..6 {
        known.push(s.attempt("alice", "wrong password!").await);
        unknown.push(s.attempt("mallory", "wrong password!").await);
    }
    for (k, u) in known.iter().zip(&unknown) {
        assert_eq!(k.status, u.status);
        assert_eq!(k.header("retry-after"), u.header("retry-after"));
        assert_eq!(
            html(k).replace(&csrf_of(html(k)), ""),
            html(u).replace(&csrf_of(html(u)), "")
        );
    }
    assert_locked(&unknown[4], 60);
    assert_eq!(s.attempts("mallory").await.len(), 5);
    // Nothing personal in the stream name or the events: only times, a hash in the name.
    let stream = attempts_stream("mallory");
    assert!(!stream.contains("mallory"));
    assert_eq!(stream.len(), "loginattempts-".len() + 64);
    let all = s
        .hub
        .store
        .read_all(None, &EventFilter::streams(["loginattempts-"]), 100)
        .await
        .unwrap();
    assert_eq!(all.len(), 10);
    for e in &all {
        let text = format!(
            "{} {} {:?}",
            e.stream,
            String::from_utf8_lossy(&e.data),
            e.metadata
        );
        for secret in ["alice", "mallory", "wrong password", PASSWORD] {
            assert!(!text.to_lowercase().contains(secret), "{text}");
        }
    }
}

#[actix_web::test]
async fn bad_input_records_nothing() {
    let s = setup().await;
    let head = s.hub.store.head().await.unwrap();
    // Not a possible username: the generic answer, nothing recorded.
    for _ in 0..6 {
        assert_wrong(&s.attempt("a", "wrong password!").await);
        assert_wrong(&s.attempt("not a username!", "wrong password!").await);
    }
    // No CSRF cookie: 403, nothing recorded.
    let reply = s
        .hub
        .send(
            test::TestRequest::post()
                .uri("/login")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload("username=alice&password=x&csrf_token=x"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // A malformed form: 400.
    let reply = s
        .hub
        .send(
            test::TestRequest::post()
                .uri("/login")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .set_payload(vec![0xff, 0xfe]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(s.hub.store.head().await.unwrap(), head);
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
}

#[actix_web::test]
async fn concurrent_failures_on_several_instances_are_all_counted() {
    let s = setup().await;
    for _ in 0..3 {
        assert_wrong(&s.attempt("alice", "wrong password!").await);
    }
    // The next two appends wait for each other: both racers have read the same revision.
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let racers = Arc::new(AtomicUsize::new(0));
    s.faulty.before_append(move |_| {
        let barrier = Arc::clone(&barrier);
        let first_two = racers.fetch_add(1, Ordering::SeqCst) < 2;
        Box::pin(async move {
            if first_two {
                barrier.wait().await;
            }
        })
    });
    let (a, b) = tokio::join!(
        s.attempt("alice", "wrong password!"),
        s.attempt("alice", "wrong password!")
    );
    // One conflicted, re-read and was counted after the other: the fifth failure locked.
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [401, 429]);
    assert_eq!(s.attempts("alice").await.len(), 5);
    assert_locked(&s.attempt("alice", PASSWORD).await, 60);
}

#[actix_web::test]
async fn a_store_failure_is_a_clean_error_page_and_nothing_is_half_done() {
    let s = setup().await;
    s.faulty.fail_appends_to("loginattempts-");
    let reply = s.attempt("alice", "wrong password!").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(html(&reply).contains("Sign-in is temporarily unavailable"));
    assert!(set_cookie(&reply, "ecohub_session").is_none());
    assert!(s.attempts("alice").await.is_empty());
    s.faulty.disarm();
    assert_wrong(&s.attempt("alice", "wrong password!").await);
    // A success that cannot record its reset is not granted either.
    s.faulty.fail_appends_to("loginattempts-");
    let reply = s.attempt("alice", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie(&reply, "ecohub_session").is_none());
    s.faulty.disarm();
    assert_signed_in(&s.attempt("alice", PASSWORD).await);
}
