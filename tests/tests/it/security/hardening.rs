//! Hardening, second pass (issue 16): `/metrics` within workspace limits, `--auth none` behind
//! a proxy, CSV cells a spreadsheet would run, and downloads that cannot run as falscope.

use integration_tests::auth::AuthFixture;
use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::routes::{self, ws};
use std::time::Duration;

#[tokio::test]
async fn metrics_show_only_the_workspaces_the_caller_may_see() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("[workspaces]\ndefault = [\"ops\"]\n");
    let file = auth.arg();
    let app = TestApp::spawn_with_sim(
        &sim,
        true,
        &[
            "--auth",
            "proxy",
            "--trusted-proxies",
            "127.0.0.1/32",
            "--auth-file",
            &file,
        ],
    )
    .await;
    let scrape = |groups: &'static str| {
        let req = app
            .http
            .get(app.url(routes::METRICS))
            .header("x-forwarded-user", "eve")
            .header("x-forwarded-groups", groups);
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    // An ops member sees the workspace once the poller has read it.
    let sees = || async { scrape("ops").await.contains("workspace=\"default\"") };
    integration_tests::eventually(Duration::from_secs(20), "ops sees the workspace", sees).await;
    let other = scrape("finance").await;
    assert!(
        !other.contains("workspace=\"default\""),
        "a caller outside the workspace's groups reads none of it:\n{other}"
    );
}

#[tokio::test]
async fn auth_none_refuses_requests_that_came_through_a_proxy() {
    let app = TestApp::spawn_demo(&[]).await;
    assert_eq!(app.get(routes::CONFIG).await.status(), 200);
    for (name, value) in [
        ("forwarded", "for=203.0.113.9"),
        ("x-forwarded-for", "203.0.113.9"),
        ("x-forwarded-host", "dash.example.com"),
        ("x-forwarded-proto", "https"),
        ("x-real-ip", "203.0.113.9"),
        ("via", "1.1 nginx"),
    ] {
        let resp = app
            .http
            .get(app.url(routes::CONFIG))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 403, "{name}");
        let err: shared::ApiError = resp.json().await.unwrap();
        assert!(err.message.contains("--auth token"), "{}", err.message);
    }
}

#[tokio::test]
async fn csv_cells_that_start_a_formula_are_defused() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let resp = app
        .get(&format!(
            "{}?apps=acme/chat-llm&from=now-3h&level=debug",
            ws_path(ws::LOGS_CSV)
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // The simulator's apps log what users typed, formulas included: each comes back whole,
    // defused with a leading quote.
    let typed: Vec<&str> = rows
        .iter()
        .map(|r| &r[5])
        .filter(|m| m.contains("HYPERLINK"))
        .collect();
    assert!(!typed.is_empty(), "the window has user input in it");
    for m in &typed {
        assert!(m.starts_with("'=HYPERLINK("), "{m}");
        assert!(m.contains("\"quoted\"\nsecond line"), "{m:?}");
    }
    for r in &rows {
        for cell in r.iter() {
            assert!(
                !cell.starts_with(['=', '+', '@']),
                "a cell a spreadsheet would run: {cell}"
            );
        }
    }
}

#[tokio::test]
async fn downloads_cannot_run_as_falscope() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    for (name, body) in [
        ("page.html", "<script>alert(1)</script>"),
        ("app.js", "alert(1)"),
        (
            "pic.svg",
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        ),
        ("feed.xml", "<x/>"),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(body.as_bytes().to_vec()).file_name(name),
        );
        let up = app
            .http
            .post(app.url(&format!("{}?path=in/{name}", ws_path(ws::FILE_UPLOAD))))
            .header(shared::auth::CSRF_HEADER, "1")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(up.status(), 201, "{name}");
        let resp = app
            .get(&format!("{}?path=in/{name}", ws_path(ws::FILE_CONTENT)))
            .await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h["content-type"], "application/octet-stream", "{name}");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("sandbox"),
            "{name}"
        );
        assert_eq!(h["cross-origin-resource-policy"], "same-origin");
        assert!(h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment"));
    }
}

async fn token_app(sim: &SimHarness, auth: &AuthFixture) -> TestApp {
    TestApp::spawn_token_mode(sim, auth, &[]).await
}

#[tokio::test]
async fn clients_that_hang_up_cannot_run_more_than_two_hashes_at_once() {
    let sim = SimHarness::start().await;
    // Tokens stored as argon2 (older auth files): every unknown token costs a hash.
    let auth = AuthFixture::write_with_argon2_tokens("");
    let app = token_app(&sim, &auth).await;
    // 200 clients send a random token and hang up while theirs waits for, or runs, a hash.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let req = app
            .http
            .get(app.url(&ws_path(ws::APPS)))
            .bearer_auth(format!("fsk_random_{i}_{}", noise(i)))
            .timeout(Duration::from_millis(300))
            .send();
        tasks.push(tokio::spawn(req));
    }
    for t in tasks {
        let _ = t.await.unwrap();
    }
    // The hashes the dropped requests left behind finish over the next seconds: never more
    // than two at once (a slot freed by the hang-up would let the next one start).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let peak = app.state.auth.hashing_peak();
        assert!(peak <= 2, "{peak} argon2 verifications ran at once");
        if tokio::time::Instant::now() >= deadline {
            assert!(
                peak >= 1,
                "no verification ran: the test did not reach the hashing"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn tokens_stored_as_sha256_cost_no_hash_at_all() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = token_app(&sim, &auth).await;
    let mut tasks = Vec::new();
    for i in 0..19 {
        let req = app
            .http
            .get(app.url(&ws_path(ws::APPS)))
            .bearer_auth(format!("fsk_guess_{i}_{}", noise(2000 + i)))
            .send();
        tasks.push(tokio::spawn(req));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().status(), 401);
    }
    let good = app
        .http
        .get(app.url(&ws_path(ws::APPS)))
        .bearer_auth(integration_tests::auth::token(shared::auth::Role::Viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
    assert_eq!(
        app.state.auth.hashing_peak(),
        0,
        "no argon2 ran for a token"
    );
}

#[tokio::test]
async fn the_21st_failed_authentication_from_one_address_gets_429_before_any_hash() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = token_app(&sim, &auth).await;
    let attempt = |i: usize| {
        app.http
            .get(app.url(&ws_path(ws::APPS)))
            .bearer_auth(format!("fsk_burst_{i}_{}", noise(1000 + i)))
            .send()
    };
    for i in 0..20 {
        assert_eq!(attempt(i).await.unwrap().status(), 401, "attempt {i}");
    }
    let resp = attempt(20).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    // A good token from the same address is refused too until the allowance refills: the
    // check comes before any verification.
    let good = app
        .http
        .get(app.url(&ws_path(ws::APPS)))
        .bearer_auth(integration_tests::auth::token(shared::auth::Role::Viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 429);
}

fn noise(i: usize) -> String {
    format!(
        "{:032x}",
        (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
    )
}

/// A loopback HTTP server that counts requests and answers each with `answer`.
async fn source(
    answer: impl Fn() -> axum::response::Response + Clone + Send + Sync + 'static,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let router = axum::Router::new().fallback(move || {
        let (answer, counted) = (answer.clone(), counted.clone());
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            answer()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/secret"), hits)
}

async fn upload_from(app: &TestApp, ws: &str, url: &str) -> reqwest::Response {
    app.http
        .post(app.url(&ws::path(ws::FILE_UPLOAD_URL, ws)))
        .header(shared::auth::CSRF_HEADER, "1")
        .json(&serde_json::json!({ "path": "uploads/fetched.txt", "url": url }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn demo_mode_fetches_no_url_that_is_not_public() {
    use axum::response::IntoResponse;
    use std::sync::atomic::Ordering;
    let (canary, hits) = source(|| "internal secret".into_response()).await;
    let app = TestApp::spawn_demo(&[]).await;
    for url in [
        canary.clone(),
        canary.replace("127.0.0.1", "[::ffff:127.0.0.1]"),
        canary.replace("127.0.0.1", "localhost"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://[fd00::1]/".to_owned(),
        "file:///etc/passwd".to_owned(),
    ] {
        let resp = upload_from(&app, "demo", &url).await;
        let status = resp.status();
        let body = resp.text().await.unwrap();
        assert_eq!(status, 400, "{url}: {body}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the canary saw no request");
}

#[tokio::test]
async fn upload_from_url_follows_no_redirect_and_caps_the_size() {
    use axum::response::IntoResponse;
    use std::sync::atomic::Ordering;
    // Loopback is allowed in the test simulator (its sources live on 127.0.0.1), so this checks
    // the redirect and size rules themselves.
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let (canary, canary_hits) = source(|| "internal secret".into_response()).await;
    let target = canary.clone();
    let (redirector, _) =
        source(move || axum::response::Redirect::to(&target).into_response()).await;
    let resp = upload_from(&app, "default", &redirector).await;
    let status = resp.status();
    let body = resp.text().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("redirect"), "{body}");
    assert_eq!(
        canary_hits.load(Ordering::SeqCst),
        0,
        "the redirect was not followed"
    );

    // The test simulator fetches at most 1 MiB.
    let (big, _) = source(|| vec![7u8; 2 * 1024 * 1024].into_response()).await;
    let resp = upload_from(&app, "default", &big).await;
    assert_eq!(resp.status(), 413, "{}", resp.text().await.unwrap());
    let (small, _) = source(|| "fine".into_response()).await;
    assert_eq!(upload_from(&app, "default", &small).await.status(), 201);
}

#[tokio::test]
async fn readyz_tells_why_only_to_a_signed_in_caller() {
    let sim = SimHarness::start().await;
    // fal refuses falscope's key: the detail names the key variables.
    sim.faults(serde_json::json!([{ "operation": "apps", "status": 401 }]))
        .await;
    let auth = AuthFixture::write("");
    let app = token_app(&sim, &auth).await;
    let anonymous = app.get(routes::READYZ).await;
    assert_eq!(anonymous.status(), 503);
    let body = anonymous.text().await.unwrap();
    assert!(
        !body.contains("FAL_KEY") && !body.contains("default"),
        "a stranger learns nothing: {body}"
    );
    let signed_in = app
        .http
        .get(app.url(routes::READYZ))
        .bearer_auth(integration_tests::auth::token(shared::auth::Role::Viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 502);
    assert!(signed_in.text().await.unwrap().contains("FAL_KEY"));
}

#[tokio::test]
async fn guessing_one_users_password_from_many_addresses_is_slowed() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &["--trusted-proxies", "127.0.0.1/32"]).await;
    let user = integration_tests::auth::user(shared::auth::Role::Admin);
    let from = |address: String, password: String| {
        app.http
            .post(app.url(routes::LOGIN))
            .header(shared::auth::CSRF_HEADER, "1")
            .header("x-forwarded-for", address)
            .json(&serde_json::json!({ "username": user, "password": password }))
            .send()
    };
    // Every attempt from a new address: the per-address limit never applies.
    let attempt = |i: usize, password: String| from(format!("203.0.113.{}", i % 250 + 1), password);
    let right = integration_tests::auth::password(shared::auth::Role::Admin);
    // The admin signed in from their usual address before the attack.
    let usual = "198.51.100.7".to_owned();
    assert_eq!(
        from(usual.clone(), right.clone()).await.unwrap().status(),
        200
    );
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(
            attempt(i, format!("guess-{i}"))
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[10..].iter().all(|s| *s == 429), "{statuses:?}");
    // Even the right password waits from a new address: the check comes before the hash.
    let resp = attempt(31, right.clone()).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "30");
    // From the address they signed in from before, the user is not locked out.
    assert_eq!(from(usual, right).await.unwrap().status(), 200);
    // Another user is not held up.
    let other = app
        .http
        .post(app.url(routes::LOGIN))
        .header(shared::auth::CSRF_HEADER, "1")
        .json(&serde_json::json!({
            "username": integration_tests::auth::user(shared::auth::Role::Viewer),
            "password": integration_tests::auth::password(shared::auth::Role::Viewer),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn one_viewer_runs_one_export_at_a_time() {
    let sim = SimHarness::start().await;
    // Slow pages, so the first export is still running when the others ask.
    sim.faults(serde_json::json!([{ "operation": "requests_by_endpoint", "latency_ms": 300 }]))
        .await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let path = format!(
        "{}?endpoints=acme/chat-llm&from=now-2d",
        ws_path(ws::REQUESTS_CSV)
    );
    let answers = futures::future::join_all((0..5).map(|_| app.get(&path))).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 429, 429, 429, 429]);
    for r in answers.iter().filter(|r| r.status() == 429) {
        assert!(r.headers().contains_key("retry-after"));
    }
    // fal saw the pages of one export, not five.
    let calls = sim.stats().await["requests_by_endpoint"].as_u64().unwrap();
    drop(answers);
    assert!(
        calls <= 3,
        "{calls} pages read while the others were refused"
    );
}
