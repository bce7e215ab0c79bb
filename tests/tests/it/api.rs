//! `/api` and probes against falscope in demo mode.

use integration_tests::TestApp;
use shared::config::Health;
use shared::{ApiError, ErrorCode, LiveSnapshot, PublicConfig};

#[tokio::test]
async fn healthz_reports_version() {
    let app = TestApp::spawn_demo(&[]).await;
    let resp = app.get(shared::routes::HEALTHZ).await;
    assert_eq!(resp.status(), 200);
    let health: Health = resp.json().await.unwrap();
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(app.get(shared::routes::READYZ).await.status(), 200);
}

#[tokio::test]
async fn config_says_demo_and_never_carries_a_key() {
    let app = TestApp::spawn_demo(&[]).await;
    let body = app.get(shared::routes::CONFIG).await.text().await.unwrap();
    let config: PublicConfig = serde_json::from_str(&body).unwrap();
    assert!(config.demo);
    assert!(config.workspaces[0].has_admin_key);
    let sim = app.demo.as_ref().unwrap();
    use secrecy::ExposeSecret;
    assert!(!body.contains(sim.api_key().expose_secret()));
    assert!(!body.contains(sim.admin_key().expose_secret()));
}

#[tokio::test]
async fn live_snapshot_comes_from_the_simulator_over_http() {
    let app = TestApp::spawn_demo(&[]).await;
    let resp = app
        .get(&shared::routes::ws::path(shared::routes::ws::LIVE, "demo"))
        .await;
    assert_eq!(resp.status(), 200);
    let live: shared::Fetched<LiveSnapshot> = resp.json().await.unwrap();
    let live = live.data;
    let names: Vec<&str> = live.apps.iter().map(|a| a.application.as_str()).collect();
    assert!(names.contains(&"acme/flux-studio"), "{names:?}");
    for app in &live.apps {
        assert_eq!(
            app.latency.last().unwrap().le_seconds,
            None,
            "+Inf bucket last"
        );
    }
    let stats: serde_json::Value = reqwest::get(format!(
        "{}_sim/stats",
        app.demo.as_ref().unwrap().base_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert!(stats["metrics"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn pages_open_on_every_endpoint_of_the_workspace_in_every_environment() {
    let app = TestApp::spawn_demo(&[]).await;
    let apps: shared::Fetched<Vec<shared::apps::AppSummary>> = app
        .get(&shared::routes::ws::path(shared::routes::ws::APPS, "demo"))
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .get(&shared::routes::ws::path(
            shared::routes::ws::ENDPOINTS,
            "demo",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let shown: shared::Fetched<shared::apps::DefaultEndpoints> = resp.json().await.unwrap();
    let shown = shown.data;
    let every: Vec<String> = apps.data.iter().flat_map(|a| a.endpoints.clone()).collect();
    assert_eq!(shown.endpoints, every, "every endpoint, in fal's order");
    assert!(!shown.busiest);
    assert_eq!(shown.total, 9);
    // Routes and the app in the staging environment are among them.
    for id in ["acme/flux-studio/turbo", "acme/image-lab"] {
        assert!(shown.endpoints.iter().any(|e| e == id), "{id}: {shown:?}");
    }
    assert_eq!(
        shown.describe(),
        "Showing all 9 endpoints: pick some above to narrow."
    );
}

#[tokio::test]
async fn unknown_api_route_is_a_json_404() {
    let app = TestApp::spawn_demo(&[]).await;
    let resp = app.get("/api/nope").await;
    assert_eq!(resp.status(), 404);
    let err: ApiError = resp.json().await.unwrap();
    assert_eq!(err.code, ErrorCode::NotFound);
}

/// Statuses `/api/openapi.json` lists for `method path`.
fn documented(doc: &serde_json::Value, method: &http::Method, path: &str) -> Vec<String> {
    doc["paths"][path][method.as_str().to_lowercase()]["responses"]
        .as_object()
        .map(|r| r.keys().cloned().collect())
        .unwrap_or_default()
}

/// Fuzzed from its own document: every route is called signed out, with each role's token, with
/// a session cookie but no CSRF header, for an unknown workspace, with an unknown parameter and
/// an empty body, without the ADMIN key, and while fal fails; every status it answers must be
/// one the document lists for that route.
#[tokio::test]
async fn the_openapi_document_lists_every_status_each_route_answers() {
    use integration_tests::auth::{password, token, user, AuthFixture};
    use integration_tests::sim::SimHarness;
    use shared::auth::{Role, CSRF_HEADER};
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let args = [
        "--auth",
        "token",
        "--auth-file",
        &auth.arg(),
        "--rate-limit",
        "0",
    ];
    let full = TestApp::spawn_with_sim(&sim, true, &args).await;
    let api_only = TestApp::spawn_with_sim(&sim, false, &args).await;
    let admin = token(Role::Admin);
    let doc: serde_json::Value = full
        .http
        .get(full.url(shared::routes::OPENAPI))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for scheme in ["bearer", "session", "csrf"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    // A session cookie, for the CSRF check (bearer calls need no CSRF header).
    let login = full
        .http
        .post(full.url(shared::routes::LOGIN))
        .header(CSRF_HEADER, "1")
        .json(&serde_json::json!({ "username": user(Role::Admin), "password": password(Role::Admin) }))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();

    #[derive(Clone, Copy)]
    enum Who<'a> {
        Nobody,
        Bearer(&'a str),
        CookieWithoutCsrf,
    }
    let mut violations = Vec::new();
    let mut probes = 0;
    let mut seen = std::collections::BTreeSet::new();
    let viewer = token(Role::Viewer);
    let walk = |app: &TestApp, stage: &'static str| {
        let mut calls = Vec::new();
        // The document covers `/api` (besides itself); probes and `/metrics` are not JSON API.
        for route in backend::api::table()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/") && r.path != shared::routes::OPENAPI)
        {
            let path = route
                .path
                .replace("{ws}", "default")
                .replace("{id}", "0196f3a2-0000-7000-8000-000000000000");
            let unknown_ws = route.path.replace("{ws}", "nope").replace("{id}", "x");
            let mut variants = vec![
                (Who::Bearer(&admin), path.clone()),
                (Who::Bearer(&admin), format!("{path}?bogus=1")),
                (Who::Bearer(&admin), unknown_ws),
            ];
            if stage == "signed" {
                variants.push((Who::Nobody, path.clone()));
                variants.push((Who::Bearer(&viewer), path.clone()));
                variants.push((Who::CookieWithoutCsrf, path.clone()));
            }
            for (who, p) in variants {
                calls.push((route.method.clone(), route.path, p, who));
            }
        }
        let http = app.http.clone();
        let base = app.url("");
        let cookie = cookie.clone();
        async move {
            let mut out = Vec::new();
            for (method, template, p, who) in calls {
                let mut req = http
                    .request(
                        method.clone(),
                        format!("{}{}", base.trim_end_matches('/'), p),
                    )
                    .timeout(std::time::Duration::from_secs(30));
                req = match who {
                    Who::Nobody => req.header(CSRF_HEADER, "1"),
                    Who::Bearer(t) => req.bearer_auth(t),
                    Who::CookieWithoutCsrf => req.header("cookie", cookie.as_str()),
                };
                if method != http::Method::GET {
                    req = req.json(&serde_json::json!({}));
                }
                // Only the status matters; streams are dropped unread.
                let status = req.send().await.unwrap().status().as_u16();
                out.push((method, template, p, status));
            }
            out
        }
    };
    for (app, stage) in [(&full, "signed"), (&api_only, "no admin key")] {
        for (method, template, p, status) in walk(app, stage).await {
            probes += 1;
            seen.insert(status);
            if !documented(&doc, &method, template).contains(&status.to_string()) {
                violations.push(format!("{stage}: {method} {p} answered {status}"));
            }
        }
    }
    // fal failing, with nothing cached to fall back on.
    sim.faults(serde_json::json!([{ "operation": "*", "status": 503 }]))
        .await;
    full.state.reports.cache().expire_all();
    for (method, template, p, status) in walk(&full, "fal failing").await {
        probes += 1;
        seen.insert(status);
        if !documented(&doc, &method, template).contains(&status.to_string()) {
            violations.push(format!("fal failing: {method} {p} answered {status}"));
        }
    }
    assert!(
        violations.is_empty(),
        "{} of {probes} answers are not in the document:\n{}",
        violations.len(),
        violations.join("\n")
    );
    // The walk reached the families it is about.
    for family in [400, 401, 403, 404, 409, 503] {
        assert!(
            seen.contains(&family),
            "no probe answered {family}: {seen:?}"
        );
    }
}

#[tokio::test]
async fn stopping_ends_the_server_and_frees_its_port() {
    let mut app = TestApp::spawn_demo(&[]).await;
    assert_eq!(app.get(shared::routes::HEALTHZ).await.status(), 200);
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(app.addr).await.is_err(),
        "falscope still listens after stop"
    );
}
