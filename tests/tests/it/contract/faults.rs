//! Switchable faults: latency, 429 with Retry-After, 5xx, timeouts; stats count every call.

use backend::upstream::{FalApi, UpstreamError};
use integration_tests::sim::SimHarness;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn rate_limit_carries_retry_after_and_5xx_is_typed() {
    let h = SimHarness::start().await;
    h.faults(json!([{ "operation": "apps", "status": 429, "retry_after_s": 2, "times": 1 }]))
        .await;
    let err = h.client.list_apps(None).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(2)),
        "{err:?}"
    );
    assert!(err.is_outage());
    assert!(
        h.client.list_apps(None).await.is_ok(),
        "times: 1 applies once"
    );
    h.faults(json!([{ "operation": "*", "status": 503 }])).await;
    let err = h.client.queue_size("acme", "chat-llm").await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::Status { status: 503, ref kind, .. } if kind == "server_error"),
        "{err:?}"
    );
    h.faults(json!([])).await;
    assert!(h.client.queue_size("acme", "chat-llm").await.is_ok());
}

#[tokio::test]
async fn a_hanging_fal_becomes_a_client_timeout() {
    let h = SimHarness::start().await;
    h.faults(json!([{ "operation": "metrics", "timeout": true }]))
        .await;
    let client = backend::upstream::FalClient::new(
        h.server.base_url(),
        integration_tests::sim::API_KEY.to_owned().into(),
        None,
    )
    .unwrap()
    .with_timeout(Duration::from_millis(300));
    let err = client.metrics().await.unwrap_err();
    assert!(matches!(err, UpstreamError::Timeout), "{err:?}");
}

#[tokio::test]
async fn stats_count_calls_per_operation_and_reset() {
    let h = SimHarness::start().await;
    let before = h.stats().await;
    assert_eq!(before["metrics"], 0);
    assert_eq!(
        before.as_object().unwrap().len(),
        16 + 1,
        "every operation listed, and the flushes performed"
    );
    assert_eq!(before["queue_flushes_performed"], 0);
    h.faults(json!([{ "operation": "metrics", "latency_ms": 50, "slow_body_ms": 1 }]))
        .await;
    for _ in 0..3 {
        h.client.metrics().await.unwrap();
    }
    let err = h.api_only.usage(&Default::default()).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::AdminKeyMissing { .. }),
        "{err:?}"
    );
    let after = h.stats().await;
    assert_eq!(after["metrics"], 3);
    assert_eq!(after["usage"], 0, "a missing ADMIN key never reaches fal");
    let bad = h
        .http
        .post(h.url("/_sim/faults"))
        .json(&json!({ "rules": [{ "operation": "*", "probability": 2 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    h.http.delete(h.url("/_sim/stats")).send().await.unwrap();
    assert_eq!(h.stats().await["metrics"], 0);
}

#[tokio::test]
async fn per_key_rate_limit_answers_429_with_the_window_reset() {
    let h = SimHarness::start().await;
    let resp = h
        .http
        .post(h.url("/_sim/faults"))
        .json(&json!({ "rules": [], "rate_limit_per_minute": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    h.client.list_apps(None).await.unwrap();
    h.client.list_apps(None).await.unwrap();
    let raw = h
        .raw(
            reqwest::Method::GET,
            "/v1/serverless/apps",
            Some(integration_tests::sim::API_KEY),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 429);
    // T0 is on a minute boundary: the window resets in 60 s.
    assert_eq!(raw.headers()["x-ratelimit-reset"], "60");
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limited");
    let err = h.client.list_apps(None).await.unwrap_err();
    assert!(
        matches!(err, UpstreamError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(60)),
        "{err:?}"
    );
    assert!(
        h.api_only.metrics().await.is_err(),
        "the API key's window is shared across operations"
    );
    h.clock.advance(60_000);
    h.client.list_apps(None).await.expect("a new window");
}
