//! The role × route matrix over the router's own table, proxy identity from trusted peers only,
//! and workspace limits.

use backend::guard::Access;
use http::Method;
use integration_tests::auth::{token, AuthFixture};
use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::auth::{Role, CSRF_HEADER};
use shared::routes::{self, ws};
use shared::PublicConfig;

/// A concrete path for a route template.
fn concrete(template: &str) -> String {
    ws_path(template).replace("{id}", "0196f3a2-0000-7000-8000-000000000000")
}

async fn call(app: &TestApp, method: &Method, path: &str, bearer: Option<&str>) -> u16 {
    let mut req = app
        .http
        .request(method.clone(), app.url(path))
        .header(CSRF_HEADER, "1");
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    // Only the status matters; streams are dropped unread.
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_route_admits_exactly_the_roles_its_table_entry_names() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let table = backend::api::table();
    assert!(
        table.len() >= 25,
        "the table is the router: {} routes",
        table.len()
    );
    let mut checked = 0;
    for route in &table {
        let path = concrete(route.path);
        let anonymous = call(&app, &route.method, &path, None).await;
        match route.access {
            Access::Public => assert!(
                ![401, 403].contains(&anonymous),
                "{} {} is public but answered {anonymous}",
                route.method,
                route.path
            ),
            Access::Role(_) => assert_eq!(
                anonymous, 401,
                "{} {} without credentials",
                route.method, route.path
            ),
        }
        for role in Role::ALL {
            let status = call(&app, &route.method, &path, Some(&token(role))).await;
            let allowed = match route.access {
                Access::Public => true,
                Access::Role(needed) => role >= needed,
            };
            if allowed {
                assert!(
                    ![401, 403].contains(&status),
                    "{role} on {} {} answered {status}",
                    route.method,
                    route.path
                );
            } else {
                assert_eq!(status, 403, "{role} on {} {}", route.method, route.path);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, table.len() * 4);
    // The rules that matter most, spelled out.
    let rule = |path: &str| table.iter().find(|r| r.path == path).unwrap().access;
    assert_eq!(rule(ws::USAGE), Access::Role(Role::Billing));
    assert_eq!(rule(ws::FILE_CONTENT), Access::Role(Role::Operator));
    assert_eq!(rule(ws::FILE_UPLOAD), Access::Role(Role::Operator));
    assert_eq!(rule(routes::AUDIT), Access::Role(Role::Admin));
    assert_eq!(rule(ws::REQUESTS), Access::Role(Role::Viewer));
    // A wrong token is refused outright, on public routes too.
    assert_eq!(
        call(&app, &Method::GET, routes::CONFIG, Some("fsk_wrong")).await,
        401
    );
}

#[tokio::test]
async fn viewers_see_requests_without_cost_and_billing_sees_cost() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app =
        TestApp::spawn_with_sim(&sim, true, &["--auth", "token", "--auth-file", &auth.arg()]).await;
    let path = format!(
        "{}?endpoints=acme/chat-llm&from=now-2h&to=now-10m",
        ws_path(ws::REQUESTS)
    );
    let page = |role| {
        let req = app.http.get(app.url(&path)).bearer_auth(token(role));
        async move {
            let body: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
            body["data"]["items"].as_array().unwrap().clone()
        }
    };
    let billing = page(Role::Billing).await;
    assert!(billing.iter().any(|r| r["cost"]["kind"] == "known"));
    let viewer = page(Role::Viewer).await;
    assert!(!viewer.is_empty());
    assert!(viewer.iter().all(|r| r["cost"]["kind"] == "unknown"));
}

/// falscope in proxy mode, trusting the test client's own address.
async fn behind_trusted_proxy(sim: &SimHarness, auth: &AuthFixture) -> TestApp {
    let args = [
        "--auth",
        "proxy",
        "--trusted-proxies",
        "127.0.0.1/32",
        "--auth-file",
    ];
    let file = auth.arg();
    let argv: Vec<&str> = args.iter().copied().chain([file.as_str()]).collect();
    TestApp::spawn_with_sim(sim, true, &argv).await
}

async fn config_as(app: &TestApp, headers: &[(&str, &str)]) -> (u16, Option<PublicConfig>) {
    let mut req = app.http.get(app.url(routes::CONFIG));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.ok())
}

#[tokio::test]
async fn proxy_identity_headers_count_only_from_trusted_peers() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let identity = [
        ("x-forwarded-user", "ana"),
        ("x-forwarded-groups", "eng, finance"),
    ];
    // The test client connects from 127.0.0.1, which is not in 10.0.0.0/8.
    let untrusted = TestApp::spawn_with_sim(
        &sim,
        true,
        &[
            "--auth",
            "proxy",
            "--trusted-proxies",
            "10.0.0.0/8",
            "--auth-file",
            &auth.arg(),
        ],
    )
    .await;
    let (status, config) = config_as(&untrusted, &identity).await;
    assert_eq!(status, 200);
    assert_eq!(
        config.unwrap().auth.user,
        None,
        "headers from an untrusted peer are ignored"
    );
    let usage = untrusted
        .http
        .get(untrusted.url(&ws_path(ws::USAGE)))
        .header("x-forwarded-user", "ana")
        .send()
        .await
        .unwrap();
    assert_eq!(usage.status(), 401);

    let trusted = behind_trusted_proxy(&sim, &auth).await;
    let (_, config) = config_as(&trusted, &identity).await;
    let user = config.unwrap().auth.user.unwrap();
    assert_eq!((user.name.as_str(), user.role), ("ana", Role::Billing));
    let usage_as = |groups: &'static str| {
        trusted
            .http
            .get(trusted.url(&format!("{}?from=now-1d", ws_path(ws::USAGE))))
            .header("x-forwarded-user", "ana")
            .header("x-forwarded-groups", groups)
            .send()
    };
    assert_eq!(usage_as("finance").await.unwrap().status(), 200);
    assert_eq!(
        usage_as("eng").await.unwrap().status(),
        403,
        "eng maps to viewer"
    );
}

#[tokio::test]
async fn workspaces_limited_to_groups_are_invisible_to_others() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("[workspaces]\ndefault = [\"ops\"]\n");
    let app = behind_trusted_proxy(&sim, &auth).await;
    let (_, config) = config_as(
        &app,
        &[
            ("x-forwarded-user", "eve"),
            ("x-forwarded-groups", "finance"),
        ],
    )
    .await;
    assert!(config.unwrap().workspaces.is_empty());
    let live = |groups: &'static str| {
        app.http
            .get(app.url(&ws_path(ws::APPS)))
            .header("x-forwarded-user", "eve")
            .header("x-forwarded-groups", groups)
            .send()
    };
    assert_eq!(live("finance").await.unwrap().status(), 404);
    assert_eq!(live("ops").await.unwrap().status(), 200);
}

async fn audit_as(app: &TestApp, bearer: &str) -> Vec<shared::auth::AuditEntry> {
    let resp = app
        .http
        .get(app.url(routes::AUDIT))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// An auth-file admin token limited to `group`.
fn admin_token_of(group: &str) -> String {
    let digest = backend::auth::password::sha256(&format!("fsk_test_{group}_admin_51e9"));
    format!(
        "[[token]]\nname = \"{group}-admin\"\nrole = \"admin\"\ngroups = [\"{group}\"]\ntoken_sha256 = \"{}\"\n\n",
        backend::auth::password::hex(&digest)
    )
}

#[tokio::test]
async fn admins_limited_to_other_workspaces_see_neither_their_audit_rows_nor_that_they_exist() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write(&format!(
        "[workspaces]\ndefault = [\"ops\"]\n\n{}{}",
        admin_token_of("ops"),
        admin_token_of("finance")
    ));
    let app = TestApp::spawn_token_mode(&sim, &auth, &[]).await;
    let (ops, finance) = ("fsk_test_ops_admin_51e9", "fsk_test_finance_admin_51e9");
    // Audited with the workspace (whatever the answer), and without one.
    call(&app, &Method::PUT, &ws_path(ws::PRICES), Some(ops)).await;
    call(&app, &Method::POST, routes::LOGOUT, Some(ops)).await;
    let seen_by_ops = audit_as(&app, ops).await;
    assert!(seen_by_ops
        .iter()
        .any(|e| e.workspace.as_deref() == Some("default")));
    let seen_by_finance = audit_as(&app, finance).await;
    assert!(
        seen_by_finance.iter().all(|e| e.workspace.is_none()),
        "{seen_by_finance:?}"
    );
    assert!(seen_by_finance.iter().any(|e| e.route == routes::LOGOUT));

    let answer = |path: String| {
        let req = app.http.get(app.url(&path)).bearer_auth(finance);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        }
    };
    let hidden = answer(ws_path(ws::APPS)).await;
    let missing = answer(ws_path(ws::APPS).replace("/default/", "/no-such-ws/")).await;
    assert_eq!(hidden.0, 404, "{hidden:?}");
    assert_eq!(
        hidden.1,
        missing.1.replace("no-such-ws", "default"),
        "a hidden workspace answers like a missing one"
    );
}

#[tokio::test]
async fn metrics_show_spend_only_to_billing() {
    let sim = SimHarness::start().await;
    let auth = AuthFixture::write("");
    let app =
        TestApp::spawn_with_sim(&sim, true, &["--auth", "token", "--auth-file", &auth.arg()]).await;
    let scrape = |role| {
        let req = app
            .http
            .get(app.url(routes::METRICS))
            .bearer_auth(token(role));
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let viewer = scrape(Role::Viewer).await;
    assert!(
        viewer.contains("fal_app_queue_size_current"),
        "live numbers for viewers"
    );
    assert!(
        !viewer.contains("cost") && !viewer.contains("spend"),
        "no spend for viewers"
    );
    let billing = scrape(Role::Billing).await;
    assert!(
        billing.contains("fal_app_cost_per_hour{")
            && billing.contains("falscope_projected_month_spend{")
    );
}

#[tokio::test]
async fn spend_alerts_show_their_figures_only_to_billing() {
    use shared::alerts::{AlertState, AlertsView, SPEND_HIDDEN};
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
    let app = TestApp::spawn_with_sim_edited(
        &sim,
        integration_tests::sim::API_KEY,
        Some(integration_tests::sim::ADMIN_KEY),
        &args,
        |c| c.alerts.evaluate_every = std::time::Duration::from_millis(100),
    )
    .await;
    let resp = app
        .http
        .post(app.url(&ws_path(ws::ALERT_RULES)))
        .bearer_auth(token(Role::Operator))
        .json(&serde_json::json!({
            "name": "spending", "condition": {"kind": "threshold", "metric": "spend_per_day", "above": 1}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let get = |role: Role| {
        let req = app
            .http
            .get(app.url(&ws_path(ws::ALERTS)))
            .bearer_auth(token(role));
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let fired = || async {
        let text = get(Role::Billing).await;
        let v: AlertsView = serde_json::from_str(&text).unwrap();
        if v.rules[0].state == AlertState::Firing {
            Ok(text)
        } else {
            Err(text)
        }
    };
    let within = std::time::Duration::from_secs(20);
    let billing = integration_tests::eventually(within, "the rule fires", fired).await;
    assert!(billing.contains("USD in the last 24 h"), "{billing}");
    for role in [Role::Viewer, Role::Operator] {
        let text = get(role).await;
        let v: AlertsView = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v.rules[0].state,
            AlertState::Firing,
            "the state is not secret"
        );
        assert_eq!(
            (v.rules[0].value, v.rules[0].detail.as_str()),
            (None, SPEND_HIDDEN)
        );
        assert!(v
            .history
            .iter()
            .all(|e| e.value.is_none() && e.detail == SPEND_HIDDEN));
        assert!(!text.contains("USD"), "{role}: {text}");
    }
}
