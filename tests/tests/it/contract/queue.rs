//! Queue size and flush with `Idempotency-Key`.

use backend::upstream::{FalApi, UpstreamError};
use integration_tests::sim::{SimHarness, API_KEY};
use reqwest::Method;

#[tokio::test]
async fn queue_size_matches_metrics_and_flush_empties_it_once_per_key() {
    let h = SimHarness::start().await;
    // Find a moment with a queue on chat-llm (the busiest app).
    let mut size = 0;
    for _ in 0..120 {
        size = h.client.queue_size("acme", "chat-llm").await.unwrap();
        if size > 0 {
            break;
        }
        h.clock.advance(1_000);
    }
    assert!(size > 0, "chat-llm queues at some point in two minutes");
    h.client
        .flush_queue("acme", "chat-llm", Some("key-1"))
        .await
        .unwrap();
    assert_eq!(
        h.client.queue_size("acme", "chat-llm").await.unwrap(),
        0,
        "flushed"
    );
    h.client
        .flush_queue("acme", "chat-llm", Some("key-1"))
        .await
        .unwrap();
    assert_eq!(
        h.server.sim().flushes(),
        1,
        "a repeated Idempotency-Key does not flush again"
    );
    h.client
        .flush_queue("acme", "chat-llm", None)
        .await
        .unwrap();
    assert_eq!(h.server.sim().flushes(), 2);
    let raw = h
        .raw(
            Method::GET,
            "/v1/serverless/apps/acme/chat-llm/queue",
            Some(API_KEY),
        )
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(integration_tests::sim::keys(&body), ["queue_size"]);
}

#[tokio::test]
async fn unknown_apps_are_404_and_other_owners_403() {
    let h = SimHarness::start().await;
    let err = h.client.queue_size("acme", "nope").await.unwrap_err();
    assert!(
        matches!(&err, UpstreamError::Refused { status: 404, what } if what == "acme/nope"),
        "{err:?}"
    );
    let err = h
        .client
        .queue_size("someone-else", "chat-llm")
        .await
        .unwrap_err();
    assert!(
        matches!(err, UpstreamError::Refused { status: 403, .. }),
        "another owner's app is refused, not a bad key: {err:?}"
    );
}
