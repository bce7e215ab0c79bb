//! What fal documents and a client that only met a simulator tends to assume away
//! (REFERENCE §0.1): refusals that are not the key's fault, uploads that answer `false`, and
//! page sizes fal never promised (none is asked for: fal's default, `next_cursor` followed).

use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::routes::ws;
use shared::{ApiError, ErrorCode, Fetched};

#[tokio::test]
async fn an_endpoint_fal_refuses_or_does_not_know_is_named_not_blamed_on_the_key() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    // A model endpoint belongs to fal, not to the account: fal answers 403.
    let resp = app
        .get(&format!(
            "{}?endpoints=fal-ai/flux/dev",
            ws_path(ws::ANALYTICS)
        ))
        .await;
    assert_eq!(resp.status(), 403);
    let err: ApiError = resp.json().await.unwrap();
    assert_eq!(
        err.code,
        ErrorCode::UpstreamRefused,
        "not the caller's role"
    );
    assert!(
        err.message.contains("fal-ai/flux/dev") && !err.message.contains("FAL_KEY"),
        "{}",
        err.message
    );
    // An id fal does not know: 404 naming it, for requests too.
    for route in [ws::ANALYTICS, ws::REQUESTS] {
        let resp = app
            .get(&format!("{}?endpoints=acme/no-such-app", ws_path(route)))
            .await;
        assert_eq!(resp.status(), 404, "{route}");
        let err: ApiError = resp.json().await.unwrap();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(err.message.contains("acme/no-such-app"), "{}", err.message);
    }
}

#[tokio::test]
async fn an_upload_fal_answers_false_to_is_an_error_not_a_201() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    sim.faults(serde_json::json!([{ "operation": "files_upload_url", "not_done": true }]))
        .await;
    let upload = || {
        app.http
            .post(app.url(&ws_path(ws::FILE_UPLOAD_URL)))
            .header(shared::auth::CSRF_HEADER, "1")
            .json(&serde_json::json!({ "path": "in/x.txt", "url": format!("{}_sim/stats", sim.server.base_url()) }))
            .send()
    };
    assert_eq!(
        upload().await.unwrap().status(),
        502,
        "fal did not store it"
    );
    // Without the fault the same upload is stored.
    sim.faults(serde_json::json!([])).await;
    assert_eq!(upload().await.unwrap().status(), 201);
}

#[tokio::test]
async fn no_page_size_fal_never_promised_is_asked_for_and_every_page_is_followed() {
    let sim = SimHarness::start().await;
    let app = TestApp::spawn_with_sim(&sim, true, &[]).await;
    let calls = |s: &serde_json::Value, op: &str| s[op].as_u64().unwrap_or(0);
    let before = sim.stats().await;
    let three_days = format!(
        "{}?endpoints=acme/chat-llm&from=now-3d&timeframe=hour",
        ws_path(ws::ANALYTICS)
    );
    let r: Fetched<shared::analytics::AnalyticsReport> =
        app.get(&three_days).await.json().await.unwrap();
    let buckets = |r: &shared::analytics::AnalyticsReport| {
        r.series
            .iter()
            .map(|p| p.t)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    };
    assert_eq!(buckets(&r.data), 72);
    let after = sim.stats().await;
    assert_eq!(
        calls(&after, "analytics") - calls(&before, "analytics"),
        1,
        "one page of fal's default size, nothing refused first"
    );
    let week = format!(
        "{}?endpoints=acme/chat-llm&from=now-7d&timeframe=hour",
        ws_path(ws::ANALYTICS)
    );
    let r: Fetched<shared::analytics::AnalyticsReport> = app.get(&week).await.json().await.unwrap();
    assert_eq!(buckets(&r.data), 168, "every page followed");
    assert_eq!(
        calls(&sim.stats().await, "analytics") - calls(&after, "analytics"),
        2,
        "two default pages"
    );
}
