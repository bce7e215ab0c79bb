//! Operations: falscope's own `/metrics` (parses, passes promtool, carries no key), probes.

use integration_tests::sim::{SimHarness, ADMIN_KEY, API_KEY};
use integration_tests::{ws_path, TestApp};
use shared::routes::{self, ws};

async fn metrics_after_traffic() -> (SimHarness, TestApp, String) {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // Some traffic: a miss, a hit, a live snapshot for the re-export.
    for _ in 0..2 {
        assert_eq!(
            app.get(&format!(
                "{}?endpoints=acme/chat-llm",
                ws_path(ws::ANALYTICS)
            ))
            .await
            .status(),
            200
        );
    }
    integration_tests::eventually(
        std::time::Duration::from_secs(60),
        "the poller publishes a snapshot",
        || async { app.state.reports.workspaces()[0].live.borrow().clone() },
    )
    .await;
    let text = app.get(routes::METRICS).await.text().await.unwrap();
    (sim, app, text)
}

#[tokio::test]
async fn own_metrics_report_cache_upstream_and_fal_numbers_with_cost() {
    let (_sim, _app, text) = metrics_after_traffic().await;
    let samples = backend::promtext::parse(&text).unwrap();
    let value = |name: &str, label: (&str, &str)| {
        samples
            .iter()
            .find(|s| s.name == name && s.label(label.0) == Some(label.1))
            .map(|s| s.value)
    };
    assert_eq!(
        value("falscope_cache_requests_total", ("outcome", "hit")).map(|v| v >= 1.0),
        Some(true)
    );
    assert_eq!(
        value("falscope_upstream_calls_total", ("operation", "analytics")),
        Some(1.0)
    );
    assert!(value(
        "fal_app_queue_size_current",
        ("application", "acme/chat-llm")
    )
    .is_some());
    assert!(samples
        .iter()
        .any(|s| s.name == "fal_app_request_latency_estimate_seconds"));
    // Failures re-exported by fal's type: a day of the simulator's traffic has each kind.
    for kind in ["startup", "connection", "timeout", "runtime"] {
        let total: f64 = samples
            .iter()
            .filter(|s| s.name == "fal_endpoint_failures_24h" && s.label("type") == Some(kind))
            .map(|s| s.value)
            .sum();
        assert!(total > 0.0, "no {kind} failures on /metrics");
    }
    assert!(value("fal_app_cost_per_hour", ("app", "flux-studio")).is_some_and(|v| v > 0.0));
    assert!(
        value("falscope_cost_per_successful_request", ("app", "chat-llm")).is_some_and(|v| v > 0.0)
    );
    let mtd = value("falscope_month_to_date_spend", ("workspace", "default")).unwrap();
    let expected = value("falscope_projected_month_spend", ("estimate", "expected")).unwrap();
    assert!(mtd > 0.0 && expected >= mtd);
    assert!(!text.contains(API_KEY) && !text.contains(ADMIN_KEY));
}

#[tokio::test]
#[ignore = "needs promtool (Debian package prometheus): run through `cargo xtask test`"]
async fn own_metrics_pass_promtool_cleanly() {
    let (_sim, _app, text) = metrics_after_traffic().await;
    let (ok, report) = integration_tests::promtool(&text).await;
    // No exception: the runway is in seconds (Prometheus's base unit).
    assert!(ok && report.trim().is_empty(), "promtool: {report}\n{text}");
    assert!(
        text.contains("falscope_credit_runway_seconds{"),
        "the runway is there to lint"
    );
}

#[tokio::test]
async fn readyz_follows_fal_but_tolerates_an_outage_with_a_cached_copy() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    assert_eq!(app.get(routes::READYZ).await.status(), 200);
    sim.faults(serde_json::json!([{ "operation": "apps", "status": 503 }]))
        .await;
    app.state.reports.cache().expire_all();
    assert_eq!(
        app.get(routes::READYZ).await.status(),
        200,
        "stale data is available"
    );
    let fresh = TestApp::spawn_with_sim(&sim, true, &[]).await;
    assert_eq!(
        fresh.get(routes::READYZ).await.status(),
        503,
        "nothing cached, fal down"
    );
    assert_eq!(
        fresh.get(routes::HEALTHZ).await.status(),
        200,
        "alive all the same"
    );
}
