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
async fn unknown_api_route_is_a_json_404() {
    let app = TestApp::spawn_demo(&[]).await;
    let resp = app.get("/api/nope").await;
    assert_eq!(resp.status(), 404);
    let err: ApiError = resp.json().await.unwrap();
    assert_eq!(err.code, ErrorCode::NotFound);
}
