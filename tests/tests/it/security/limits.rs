//! Request limits and headers: per-caller rate limit, stream cap, header size and deadline,
//! DNS-rebinding guard of `--auth none`, security headers on pages and API answers.

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::routes::{self, ws};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_caller_over_its_rate_gets_429_with_retry_after() {
    let sim = SimHarness::start().await;
    // One request per second, bursts of ten.
    let app = TestApp::spawn_with_sim(&sim, true, &["--rate-limit", "1"]).await;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let resp = app.get(routes::CONFIG).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=2).contains(&retry), "{retry}");
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["code"], "rate_limited");
            break;
        }
    }
    assert!(
        statuses.iter().filter(|s| **s == 200).count() >= 10,
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
}

#[tokio::test]
async fn streams_per_caller_are_capped() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &["--max-streams", "2"]).await;
    let path = ws_path(ws::LIVE_STREAM);
    let first = app.get(&path).await;
    let second = app.get(&path).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = app.get(&path).await;
    assert_eq!(third.status(), 429);
    assert!(third.headers().contains_key("retry-after"));
    drop(first);
    // The slot frees when a stream closes; poll until the server has noticed.
    let freed = || async { app.get(&path).await.status() == 200 };
    integration_tests::eventually(Duration::from_secs(10), "the slot frees", freed).await;
}

#[tokio::test]
async fn pages_and_api_answers_carry_security_headers() {
    let app = TestApp::spawn_demo(&[]).await;
    for path in ["/", "/analytics", routes::CONFIG, "/api/nope"] {
        let resp = app.get(path).await;
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "script-src 'self' 'wasm-unsafe-eval'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "default-src 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("script-src 'self' 'unsafe-inline'"));
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h.get("strict-transport-security").is_none(),
            "no HSTS without TLS"
        );
    }
    let https = TestApp::spawn_demo(&["--public-url", "https://falscope.example"]).await;
    let resp = https.get(routes::HEALTHZ).await;
    assert!(resp.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
}

#[tokio::test]
async fn auth_none_answers_only_to_loopback_host_names() {
    let app = TestApp::spawn_demo(&[]).await;
    let rebound = app
        .http
        .get(app.url(routes::CONFIG))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 403);
    let local = app
        .http
        .get(app.url(routes::CONFIG))
        .header("host", "localhost:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(local.status(), 200);
}

#[tokio::test]
async fn oversized_or_slow_request_heads_are_cut_off() {
    let app = TestApp::spawn_demo(&[]).await;
    // A 100 KiB request head: hyper answers 431 or closes; either way nothing is served.
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "x".repeat(100 * 1024)
    );
    // The server may close before the whole head is written.
    let _ = tcp.write_all(head.as_bytes()).await;
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(backend::server::HEADER_TIMEOUT, tcp.read(&mut answer))
        .await
        .expect("the oversized head is answered or closed at once")
        .unwrap_or(0); // a reset is a close
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "an oversized head got: {}",
        answer.lines().next().unwrap_or_default()
    );

    // Slowloris: half a request head, then silence. The server closes within its deadline.
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(
        // The deadline plus a small margin for scheduling (not 20 s: a deadline twice as long
        // as promised must fail this test).
        backend::server::HEADER_TIMEOUT + Duration::from_secs(3),
        tcp.read_to_end(&mut buf),
    )
    .await;
    assert!(
        closed.is_ok(),
        "connection still open after the header deadline"
    );
}

/// Whether the server closes `tcp` within the header deadline plus a small margin.
async fn closed_in_time(mut tcp: tokio::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    tokio::time::timeout(
        backend::server::HEADER_TIMEOUT + Duration::from_secs(3),
        tcp.read_to_end(&mut buf),
    )
    .await
    .is_ok()
}

#[tokio::test]
async fn silent_clients_half_an_http2_preface_and_slow_sign_ins_are_cut_off() {
    let auth = integration_tests::auth::AuthFixture::write("");
    let app = TestApp::spawn_demo(&["--auth", "token", "--auth-file", &auth.arg()]).await;
    let silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    // A sign-in whose body never finishes.
    let mut slow = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nx-falscope-csrf: 1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let (silent, half, slow) = tokio::join!(
        closed_in_time(silent),
        closed_in_time(half),
        closed_in_time(slow)
    );
    assert!(silent, "a client that sends nothing is still connected");
    assert!(half, "half an HTTP/2 preface is still connected");
    assert!(slow, "a sign-in body that never ends is still open");
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let app = TestApp::spawn_demo(&["--max-connections", "2"]).await;
    let held: Vec<_> =
        futures::future::join_all((0..2).map(|_| tokio::net::TcpStream::connect(app.addr))).await;
    // A third connection (a fresh client: no pooled connection) is accepted by the kernel but
    // not served while two are open.
    let third = reqwest::Client::new()
        .get(app.url(shared::routes::HEALTHZ))
        .send();
    let mut third = Box::pin(third);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut third)
            .await
            .is_err(),
        "a third connection was served past --max-connections 2"
    );
    drop(held);
    let resp = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let app = TestApp::spawn_demo(&[]).await;
    // Connections from 127.0.0.2 (not this host's usual address, so not exempt).
    let from_other = || async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        socket.connect(app.addr).await.unwrap()
    };
    let mut held = Vec::new();
    for _ in 0..backend::server::MAX_CONNECTIONS_PER_ADDRESS {
        let mut tcp = from_other().await;
        // Each is served (a request head answered), so it holds its slot.
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0u8; 12];
        tcp.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
        held.push(tcp);
    }
    // One more from the same address is closed without an answer...
    let mut extra = from_other().await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let mut buf = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut buf))
        .await
        .expect("closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "answered: {}", String::from_utf8_lossy(&buf));
    // ...while everyone else is still served.
    assert_eq!(app.get(routes::HEALTHZ).await.status(), 200);
    drop(held);
}

#[tokio::test]
async fn an_http2_connection_past_its_age_is_closed_and_the_client_opens_a_new_one() {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    // Answers with the client's port: a new port is a new connection.
    let router = axum::Router::new().route(
        "/port",
        axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
            peer.port().to_string()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/port", listener.local_addr().unwrap());
    let options = backend::server::Options {
        max_connections: 16,
        trusted: Vec::new(),
        max_age: Duration::from_millis(300),
    };
    let server = tokio::spawn(backend::server::serve(
        listener,
        router,
        // Never cancelled: the task is aborted at the end.
        Default::default(),
        options,
    ));
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let port = || async {
        let resp = client.get(&url).send().await.ok()?;
        assert_eq!(resp.version(), reqwest::Version::HTTP_2);
        resp.text().await.ok()
    };
    let first = port().await.expect("a first answer");
    assert_eq!(
        port().await.as_ref(),
        Some(&first),
        "the connection is reused"
    );
    integration_tests::eventually(
        Duration::from_secs(10),
        "an answer on a new connection",
        || async { port().await.is_some_and(|p| p != first) },
    )
    .await;
    server.abort();
}
