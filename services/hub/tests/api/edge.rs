//! The HTTP edge under abuse (issue 11): wrong methods, slow bodies, oversized headers,
//! `Accept`, and the order of authentication and header validation.

use crate::app::spawn_app;
use ecohub_kernel::{Clock, SystemClock};
use serde_json::Value;

/// Every route of the authorization server answers a wrong method with 405 problem+json and
/// `Allow`, as the other services do.
#[tokio::test]
async fn wrong_methods_on_the_authorization_servers_routes_are_405_with_allow() {
    let app = spawn_app().await;
    let cases: [(reqwest::Method, &str, &str); 13] = [
        (reqwest::Method::GET, "/token", "POST"),
        (reqwest::Method::PUT, "/jwks", "GET"),
        (reqwest::Method::GET, "/revoke", "POST"),
        (reqwest::Method::GET, "/introspect", "POST"),
        (reqwest::Method::GET, "/par", "POST"),
        (reqwest::Method::GET, "/register", "POST"),
        (reqwest::Method::POST, "/register/some-client", "GET"),
        (reqwest::Method::DELETE, "/login", "GET"),
        (reqwest::Method::POST, "/authorize", "GET"),
        (reqwest::Method::GET, "/logout", "POST"),
        (
            reqwest::Method::POST,
            "/.well-known/oauth-authorization-server",
            "GET",
        ),
        (
            reqwest::Method::DELETE,
            "/.well-known/openid-configuration",
            "GET",
        ),
        (reqwest::Method::GET, "/admin/clients", "POST"),
    ];
    for (method, path, allowed) in cases {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{method} {path}");
        assert_eq!(
            res.headers()["content-type"],
            "application/problem+json",
            "{method} {path}"
        );
        let allow = res.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed", "{method} {path}");
    }
    app.stop().await;
}

/// Authentication comes before the idempotency key's validation on protected routes: an
/// anonymous caller gets the 401 it would get with a valid key. Public routes still refuse
/// the key with 400.
#[tokio::test]
async fn a_missing_token_is_refused_before_an_invalid_idempotency_key() {
    let app = spawn_app().await;
    let bad_key = "k".repeat(41);
    for path in ["/consents", "/admin/clients", "/event-subscriptions"] {
        let res = app
            .client
            .post(app.url(path))
            .header("x-idempotency-key", &bad_key)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        assert!(res.headers().contains_key("www-authenticate"), "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{path}");
        // A garbage token is refused as a token, still before the key.
        let res = app
            .client
            .post(app.url(path))
            .header("x-idempotency-key", &bad_key)
            .header("authorization", "Bearer not.a.token")
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_token", "{path}");
    }
    let res = app
        .client
        .post(app.url("/partners/applications"))
        .header("x-idempotency-key", &bad_key)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_idempotency_key");
    app.stop().await;
}

/// A valid idempotency key used before (its first request remembered) gets an anonymous
/// caller 401, not the 409 of a reused key nor a replay: authentication comes first whenever
/// a key is sent to a protected route.
#[tokio::test]
async fn a_missing_token_is_refused_before_a_reused_idempotency_key() {
    let app = spawn_app().await;
    let send = |body: &'static str| {
        app.client
            .post(app.url("/offers/responses"))
            .header("x-idempotency-key", "k-1")
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in ["{}", "{\"other\": true}", "{}"] {
        let res = send(body).await.unwrap();
        assert_eq!(res.status(), 401, "{body}");
        assert!(res.headers().get("x-idempotent-replayed").is_none());
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "unauthorized", "{body}");
    }
    app.stop().await;
}

/// Reads from `stream` until the server closes it (or `limit` passes), returning what came.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&out).into_owned(),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "connection still open after {limit:?}; got {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

use std::time::Duration;

/// A body sent a byte at a time is cut off: 408 `request_timeout` problem+json, and the
/// connection closed (issue 11: such a request used to stay open for minutes). Heads still
/// time out at 5 s.
#[tokio::test]
async fn a_slowly_sent_body_is_answered_408_and_the_connection_closed() {
    use tokio::io::AsyncWriteExt;
    let app = crate::app::spawn_app_with(|s| {
        s.http.body_timeout_secs = 3;
        s.http.body_grace_secs = 1;
        s.http.body_min_bytes_per_sec = 1000;
    })
    .await;
    let address = app.base_url.trim_start_matches("http://").to_owned();

    let slow_body = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(
                format!(
                    "POST /partners/applications HTTP/1.1\r\nhost: {address}\r\n\
content-type: application/json\r\ncontent-length: 200000\r\n\r\n{{"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        // One byte every 300 ms: far below the minimum rate, so refused after ~1 s.
        let started = std::time::Instant::now();
        let writer = async {
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(300)).await;
                if stream.write_all(b" ").await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(1500), writer).await;
        let answer = read_until_closed(&mut stream, Duration::from_secs(10)).await;
        (answer, started.elapsed())
    };
    let partial_head = async {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"POST /partners/applications HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let answer = read_until_closed(&mut stream, Duration::from_secs(10)).await;
        (answer, started.elapsed())
    };
    let ((answer, took), (head_answer, head_took)) = tokio::join!(slow_body, partial_head);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        head_answer.is_empty() || head_answer.starts_with("HTTP/1.1 408"),
        "{head_answer}"
    );
    assert!(head_took < Duration::from_secs(8), "{head_took:?}");
    app.stop().await;
}

/// `Accept` is honoured: 406 `not_acceptable` (problem+json, whatever `Accept` says) when it
/// admits nothing the route answers with; wildcards and q-values count; no header accepts
/// anything; the HTML pages accept `text/html`.
#[tokio::test]
async fn accept_is_negotiated_and_406_is_produced() {
    let app = spawn_app().await;
    let status_of = |path: &'static str, accept: Option<&'static str>| {
        let mut req = app.client.get(app.url(path));
        if let Some(accept) = accept {
            req = req.header("accept", accept);
        }
        async move { req.send().await.unwrap() }
    };
    for (path, accept, expected) in [
        ("/jwks", None, 200),
        ("/jwks", Some("*/*"), 200),
        ("/jwks", Some("application/*"), 200),
        ("/jwks", Some("application/jwk-set+json"), 200),
        ("/jwks", Some("application/xml, */*;q=0.1"), 200),
        ("/jwks", Some("application/xml"), 406),
        ("/jwks", Some("text/*"), 406),
        (
            "/jwks",
            Some("application/jwk-set+json;q=0, application/xml"),
            406,
        ),
        ("/health/live", Some("application/json"), 200),
        ("/health/live", Some("text/html"), 406),
        (
            "/login",
            Some("text/html,application/xhtml+xml,*/*;q=0.8"),
            200,
        ),
        ("/login", Some("text/html"), 200),
        ("/login", Some("application/json"), 406),
    ] {
        let res = status_of(path, accept).await;
        assert_eq!(res.status(), expected, "{path} {accept:?}");
        if expected == 406 {
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["code"], "not_acceptable", "{path} {accept:?}");
        }
    }
    // A refused POST never reaches its handler.
    let res = app
        .client
        .post(app.url("/partners/applications"))
        .header("accept", "application/xml")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 406);
    app.stop().await;
}

/// On protected routes authentication comes before content negotiation: a caller without
/// valid credentials gets the 401 it would get with a usual `Accept`, and only an
/// authenticated caller learns that the route answers 406. Public routes answer 406 as
/// before.
#[tokio::test]
async fn a_missing_token_is_refused_before_an_unacceptable_accept() {
    let app = spawn_app().await;
    let protected: [(reqwest::Method, &str); 4] = [
        (reqwest::Method::GET, "/admin/partners"),
        (reqwest::Method::POST, "/consents"),
        (reqwest::Method::GET, "/audit/consents"),
        (reqwest::Method::GET, "/event-subscriptions"),
    ];
    let send = |method: reqwest::Method, path: &str, authorization: Option<String>| {
        let mut req = app
            .client
            .request(method, app.url(path))
            .header("accept", "application/xml")
            .header("content-type", "application/json")
            .body("{}");
        if let Some(authorization) = authorization {
            req = req.header("authorization", authorization);
        }
        async move { req.send().await.unwrap() }
    };
    for (method, path) in &protected {
        let res = send(method.clone(), path, None).await;
        assert_eq!(res.status(), 401, "{method} {path}");
        assert!(res.headers().contains_key("www-authenticate"), "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{method} {path}");
        let res = send(method.clone(), path, Some("Bearer not.a.token".into())).await;
        assert_eq!(res.status(), 401, "{method} {path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid_token", "{method} {path}");
    }
    // The customer API: no session, or a forged one, is 401 too.
    for cookie in [None, Some("ecohub_session=forged")] {
        let mut req = app
            .client
            .get(app.url("/customer/consents"))
            .header("accept", "text/html");
        if let Some(cookie) = cookie {
            req = req.header("cookie", cookie);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{cookie:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "unauthorized", "{cookie:?}");
    }

    // An authenticated caller gets the 406 (and the POST never reaches its handler).
    let (client_id, secret) =
        ecohub_auth::bootstrap_admin(&*app.state.store, Clock::now(&SystemClock))
            .await
            .unwrap();
    let token: Value = app
        .client
        .post(app.url("/token"))
        .basic_auth(client_id.to_string(), Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "admin")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
    for (method, path) in [
        (reqwest::Method::GET, "/admin/partners"),
        (reqwest::Method::POST, "/admin/clients"),
    ] {
        let res = send(method.clone(), path, Some(bearer.clone())).await;
        assert_eq!(res.status(), 406, "{method} {path}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "not_acceptable", "{method} {path}");
    }
    // ... and with an acceptable type the same token reaches the handler.
    let res = app
        .client
        .get(app.url("/admin/partners"))
        .header("accept", "application/json")
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Public routes still answer 406 to anyone.
    let res = send(reqwest::Method::GET, "/jwks", None).await;
    assert_eq!(res.status(), 406);
    app.stop().await;
}
