//! Read-through cache: X-Cache outcomes, single flight under fan-in, stale-on-error, retries,
//! the circuit breaker.

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use serde_json::json;
use shared::routes::ws;

const ANALYTICS: &str = "?endpoints=acme/chat-llm&from=now-6h";

fn analytics() -> String {
    format!("{}{ANALYTICS}", ws_path(ws::ANALYTICS))
}

async fn x_cache(app: &TestApp, path: &str) -> (u16, String, serde_json::Value) {
    let resp = app.get(path).await;
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("x-cache")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, resp.json().await.unwrap())
}

#[tokio::test]
async fn miss_then_hit_and_one_upstream_call_for_200_concurrent_viewers() {
    let sim = SimHarness::start().await;
    // Rate limiting is per user and this test is one user opening 200 views at once.
    let app = TestApp::spawn_with_sim(&sim, true, &["--rate-limit", "0"]).await;
    let path = analytics();
    let calls = (0..200).map(|_| {
        let (http, url) = (app.http.clone(), app.url(&path));
        tokio::spawn(async move { http.get(url).send().await.unwrap().status() })
    });
    for c in calls.collect::<Vec<_>>() {
        assert_eq!(c.await.unwrap(), 200);
    }
    // One read of the six-hour report: it fits one page of fal's default size, and no page
    // size fal never promised is asked for first (and refused).
    let one_read = sim.stats().await["analytics"].as_u64().unwrap();
    assert_eq!(
        one_read, 1,
        "200 concurrent misses → one read of the report"
    );
    let (_, status, body) = x_cache(&app, &path).await;
    assert_eq!(status, "HIT");
    assert_eq!(body["stale"], false);
    assert!(body["data"]["summary"][0]["requests"].as_u64().unwrap() > 0);
    // Parameter order does not split the cache.
    let reordered = format!(
        "{}?from=now-6h&endpoints=acme/chat-llm",
        ws_path(ws::ANALYTICS)
    );
    assert_eq!(x_cache(&app, &reordered).await.1, "HIT");
    assert_eq!(sim.stats().await["analytics"].as_u64().unwrap(), one_read);
}

#[tokio::test]
async fn stale_copy_with_its_time_when_fal_fails_then_revalidated() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let path = analytics();
    let (_, first, fresh) = x_cache(&app, &path).await;
    assert_eq!(first, "MISS");
    // A 503 (retried, then given up) and a 429 whose Retry-After is too long to wait for.
    for fault in [
        json!({ "status": 503 }),
        json!({ "status": 429, "retry_after_s": 30 }),
    ] {
        let mut rule = fault.clone();
        rule["operation"] = json!("analytics");
        sim.faults(json!([rule])).await;
        app.state.reports.cache().expire_all();
        let (code, status, body) = x_cache(&app, &path).await;
        assert_eq!((code, status.as_str()), (200, "STALE"), "{fault}");
        assert_eq!(body["stale"], true);
        assert_eq!(
            body["as_of"], fresh["as_of"],
            "the last good copy, with its time"
        );
        assert_eq!(body["data"], fresh["data"]);
    }
    sim.faults(json!([])).await;
    app.state.reports.cache().expire_all();
    let (_, status, body) = x_cache(&app, &path).await;
    assert_eq!(status, "REVALIDATED");
    assert_eq!(body["stale"], false);
}

#[tokio::test]
async fn without_a_copy_an_outage_is_a_clear_503_and_the_breaker_stops_calling_fal() {
    let sim = SimHarness::start().await;
    // Failing before falscope starts: its poller's first read must not cache a good copy.
    sim.faults(json!([{ "operation": "metrics", "status": 502 }]))
        .await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let live = ws_path(ws::LIVE);
    for _ in 0..4 {
        let resp = app.get(&live).await;
        assert_eq!(resp.status(), 503);
        let err: shared::ApiError = resp.json().await.unwrap();
        assert_eq!(err.code, shared::ErrorCode::UpstreamUnavailable);
    }
    let calls = sim.stats().await["metrics"].as_u64().unwrap();
    assert!(calls >= 5, "retried, then opened: {calls}");
    for _ in 0..5 {
        assert_eq!(app.get(&live).await.status(), 503);
    }
    assert_eq!(
        sim.stats().await["metrics"].as_u64().unwrap(),
        calls,
        "open circuit: fal is spared"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_retried() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    sim.faults(json!([{ "operation": "apps", "status": 429, "retry_after_s": 1, "times": 1 }]))
        .await;
    let (code, status, _) = x_cache(&app, &ws_path(ws::APPS)).await;
    assert_eq!((code, status.as_str()), (200, "MISS"));
    assert_eq!(
        sim.stats().await["apps"],
        2 + 1,
        "one 429, one retry after Retry-After (then the staging environment's list)"
    );
}
