//! `--auth token`: login, the session cookie, expiry, logout, CSRF and the audit trail.

use integration_tests::auth::{password, token, user, AuthFixture};
use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::auth::{AuditEntry, Role, CSRF_HEADER};
use shared::routes::{self, ws};
use shared::PublicConfig;

pub(crate) async fn login(app: &TestApp, name: &str, pw: &str) -> reqwest::Response {
    app.http
        .post(app.url(routes::LOGIN))
        .header(CSRF_HEADER, "1")
        .json(&serde_json::json!({ "username": name, "password": pw }))
        .send()
        .await
        .unwrap()
}

/// `name=value` of the session cookie a login set.
pub(crate) fn session_cookie(resp: &reqwest::Response) -> String {
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

pub(crate) async fn whoami(app: &TestApp, cookie: &str) -> Option<String> {
    let config: PublicConfig = app
        .http
        .get(app.url(routes::CONFIG))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    config.auth.user.map(|u| u.name)
}

#[tokio::test]
async fn login_sets_a_strict_cookie_that_expires_and_logout_ends_it() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;

    let wrong = login(&app, &user(Role::Viewer), "nope").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert_eq!(login(&app, "nobody", "nope").await.status(), 401);

    let ok = login(&app, &user(Role::Operator), &password(Role::Operator)).await;
    assert_eq!(ok.status(), 200);
    let set_cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    let cookie = session_cookie(&ok);
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP without --public-url https"
    );
    assert_eq!(
        whoami(&app, &cookie).await.as_deref(),
        Some("operator-user")
    );
    let apps = app
        .http
        .get(app.url(&ws_path(ws::APPS)))
        .header("cookie", &cookie);
    assert_eq!(apps.send().await.unwrap().status(), 200);

    // Twelve hours later (the default session_hours) the session is gone.
    sim.clock.advance(12 * 3_600_000);
    assert_eq!(whoami(&app, &cookie).await, None);
    let apps = app
        .http
        .get(app.url(&ws_path(ws::APPS)))
        .header("cookie", &cookie);
    assert_eq!(apps.send().await.unwrap().status(), 401);

    // A new session, then logout.
    let ok = login(&app, &user(Role::Admin), &password(Role::Admin)).await;
    let cookie = session_cookie(&ok);
    assert_eq!(whoami(&app, &cookie).await.as_deref(), Some("admin-user"));
    let out = app
        .http
        .post(app.url(routes::LOGOUT))
        .header(CSRF_HEADER, "1")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        whoami(&app, &cookie).await,
        None,
        "the old cookie no longer works"
    );
}

#[tokio::test]
async fn state_changing_calls_need_the_csrf_header_and_all_are_audited() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let ok = login(&app, &user(Role::Operator), &password(Role::Operator)).await;
    let cookie = session_cookie(&ok);
    let upload = |csrf: bool| {
        let mut req = app
            .http
            .post(app.url(&ws_path(ws::FILE_UPLOAD_URL)))
            .header("cookie", &cookie)
            .json(&serde_json::json!({ "path": "in/a.txt", "url": "ftp://example.com/a" }));
        if csrf {
            req = req.header(CSRF_HEADER, "1");
        }
        req.send()
    };
    let forged = upload(false).await.unwrap();
    assert_eq!(forged.status(), 403);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["code"], "csrf_rejected");
    // With the header the call goes through to validation (ftp is refused with a 400).
    assert_eq!(upload(true).await.unwrap().status(), 400);
    // Login without the header is refused too (login CSRF).
    let no_header = app
        .http
        .post(app.url(routes::LOGIN))
        .json(&serde_json::json!({ "username": "x", "password": "y" }))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), 403);
    assert_eq!(login(&app, "mallory", "guess").await.status(), 401);
    assert_eq!(login(&app, &user(Role::Admin), "guess").await.status(), 401);

    let audit: Vec<AuditEntry> = app
        .http
        .get(app.url(routes::AUDIT))
        .bearer_auth(token(Role::Admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seen: Vec<(&str, &str, u16)> = audit
        .iter()
        .map(|e| (e.who.as_str(), e.route.as_str(), e.status))
        .collect();
    assert_eq!(
        seen,
        [
            // A real user's failed sign-in is a row; a made-up name (mallory) and the login
            // without the CSRF header (403) name nobody: a sampled log line, not a row.
            ("admin-user", routes::LOGIN, 401),
            ("operator-user", ws::FILE_UPLOAD_URL, 400),
            ("operator-user", ws::FILE_UPLOAD_URL, 403),
            ("operator-user", routes::LOGIN, 200),
        ]
    );
    assert!(audit.iter().all(|e| e.ip == "127.0.0.1"));
    assert_eq!(audit[1].workspace.as_deref(), Some("default"));
}

#[tokio::test]
async fn signing_out_ends_the_sessions_open_streams() {
    use futures::StreamExt;
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let ok = login(&app, &user(Role::Viewer), &password(Role::Viewer)).await;
    let cookie = session_cookie(&ok);
    let open = |path: String| {
        app.http
            .get(app.url(&path))
            .header("cookie", &cookie)
            .send()
    };
    let live = open(ws_path(ws::LIVE_STREAM)).await.unwrap();
    let tail = open(format!("{}?apps=acme/chat-llm", ws_path(ws::LOGS_STREAM)))
        .await
        .unwrap();
    assert_eq!((live.status().as_u16(), tail.status().as_u16()), (200, 200));
    let out = app
        .http
        .post(app.url(routes::LOGOUT))
        .header(CSRF_HEADER, "1")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    for (what, resp) in [("live", live), ("tail", tail)] {
        let mut body = resp.bytes_stream();
        let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(Ok(_)) = body.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "the {what} stream outlived its session");
    }
}

#[tokio::test]
async fn a_thousand_anonymous_posts_leave_the_audit_table_as_it_was() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let db = app.state.db.clone().expect("a data directory");
    let before = db.audit_list(10_000).await.unwrap().len();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let req = if i % 2 == 0 {
            // No CSRF header: refused before the handler.
            app.http
                .post(app.url(routes::LOGIN))
                .json(&serde_json::json!({ "username": "x", "password": "y" }))
        } else {
            // Not signed in.
            app.http
                .post(app.url(&ws_path(ws::ALERT_RULES)))
                .header(CSRF_HEADER, "1")
                .json(&serde_json::json!({}))
        };
        tasks.push(tokio::spawn(req.send()));
        if tasks.len() == 50 {
            for t in tasks.drain(..) {
                let status = t.await.unwrap().unwrap().status().as_u16();
                assert!(matches!(status, 401 | 403 | 429), "{status}");
            }
        }
    }
    assert_eq!(db.audit_list(10_000).await.unwrap().len(), before);
}

#[tokio::test]
async fn behind_https_the_session_cookie_is_secure_and_host_only() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(
        &sim,
        &auth,
        &["--public-url", "https://falscope.example.com"],
    )
    .await;
    let ok = login(&app, &user(Role::Viewer), &password(Role::Viewer)).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().contains_key("strict-transport-security"));
    let set_cookie = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.starts_with("__Host-falscope_session="),
        "{set_cookie}"
    );
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Domain="), "host-only: {set_cookie}");
    // The cookie works under its prefixed name; the plain name means nothing.
    let cookie = session_cookie(&ok);
    assert_eq!(whoami(&app, &cookie).await.as_deref(), Some("viewer-user"));
    let plain = cookie.replace("__Host-", "");
    assert_eq!(whoami(&app, &plain).await, None);
}
