//! Several replicas sharing one Redis (`--redis-url`): one fal call for a cluster's cold
//! misses, and each replica alone — never down — while Redis is.

use integration_tests::services::RedisServer;
use integration_tests::sim::SimHarness;
use integration_tests::{ws_path, TestApp};
use shared::routes::ws;
use std::collections::BTreeSet;
use std::time::Duration;

/// Replicas of one configuration (same simulator, same keys) on `redis`.
async fn replicas(sim: &SimHarness, redis: &RedisServer, n: usize) -> Vec<TestApp> {
    let url = redis.url();
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(
            TestApp::spawn_with_sim(&sim, true, &["--rate-limit", "0", "--redis-url", &url]).await,
        );
    }
    apps
}

fn analytics(from: &str) -> String {
    format!(
        "{}?endpoints=acme/chat-llm&from={from}",
        ws_path(ws::ANALYTICS)
    )
}

/// `requests` GETs of `path` at once, spread round-robin over `apps`: each answer's status and
/// `X-Cache`.
async fn round_robin(apps: &[TestApp], path: &str, requests: usize) -> Vec<(u16, String)> {
    let calls: Vec<_> = (0..requests)
        .map(|i| {
            let app = &apps[i % apps.len()];
            let (http, url) = (app.http.clone(), app.url(path));
            tokio::spawn(async move {
                let resp = http.get(url).send().await.unwrap();
                let cache = resp
                    .headers()
                    .get("x-cache")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                (resp.status().as_u16(), cache)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for c in calls {
        answers.push(c.await.unwrap());
    }
    answers
}

/// The replicas whose answers to `answers` (from [`round_robin`]) were fetched by themselves.
fn fetching(apps: &[TestApp], answers: &[(u16, String)]) -> BTreeSet<usize> {
    (0..answers.len())
        .filter(|i| answers[*i].1 == "MISS")
        .map(|i| i % apps.len())
        .collect()
}

async fn readiness(app: &TestApp) -> String {
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 200, "a replica without Redis is still ready");
    resp.json::<serde_json::Value>().await.unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Polls every replica's `/readyz` until it says `status` (10 s at most).
async fn wait_for_readiness(apps: &[TestApp], status: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for app in apps {
        while readiness(app).await != status {
            assert!(
                tokio::time::Instant::now() < deadline,
                "/readyz never said {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn three_replicas_make_one_fal_call_and_carry_on_alone_while_redis_is_down() {
    let sim = SimHarness::start().await;
    let mut redis = RedisServer::start().await;
    let apps = replicas(&sim, &redis, 3).await;
    wait_for_readiness(&apps, "ok").await;
    let before = sim.stats().await["analytics"].as_u64().unwrap();

    // 300 identical cold requests spread over the replicas: one of them asks fal.
    let path = analytics("now-6h");
    let answers = round_robin(&apps, &path, 300).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    // The viewers of the replica that fetched shared its flight (MISS); the others' were
    // answered from Redis (HIT).
    assert_eq!(fetching(&apps, &answers).len(), 1, "one replica fetched");
    // One read of the report: fal refuses the 1,000-row page size once, then its default.
    assert_eq!(sim.stats().await["analytics"].as_u64().unwrap() - before, 2);

    // Redis dies: warmed views keep answering, cold ones are fetched by each replica alone.
    redis.stop().await;
    for (status, _) in round_robin(&apps, &path, 30).await {
        assert_eq!(status, 200);
    }
    let cold = analytics("now-5h");
    for (status, _) in round_robin(&apps, &cold, 3).await {
        assert_eq!(status, 200, "no 5xx while Redis is down");
    }
    wait_for_readiness(&apps, "degraded").await;
    let metrics = apps[0].get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("falscope_redis_up 0"), "{metrics}");
    assert!(
        metrics.contains("falscope_redis_degraded_total 1"),
        "{metrics}"
    );

    // Redis is back: the replicas rejoin without a restart and share again.
    redis.restart().await;
    wait_for_readiness(&apps, "ok").await;
    let before = sim.stats().await["analytics"].as_u64().unwrap();
    let answers = round_robin(&apps, &analytics("now-4h"), 30).await;
    assert!(answers.iter().all(|(s, _)| *s == 200), "{answers:?}");
    assert_eq!(fetching(&apps, &answers).len(), 1, "{answers:?}");
    assert!(sim.stats().await["analytics"].as_u64().unwrap() - before <= 2);
    let metrics = apps[0].get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("falscope_redis_up 1"), "{metrics}");
}
