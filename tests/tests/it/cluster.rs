//! Several replicas sharing one Redis (`--redis-url`): one fal call for a cluster's cold
//! misses, and each replica alone — never down — while Redis is.

use crate::proxy::alerts::{Receiver, SECRET};
use crate::proxy::live::{assert_tail_is_the_history, sse, Events};
use crate::security::sessions::{login, session_cookie, whoami};
use backend::alerts::AlertsConfig;
use integration_tests::auth::{password, token, user, AuthFixture};
use integration_tests::services::{PostgresServer, RedisServer};
use integration_tests::sim::SimHarness;
use integration_tests::{eventually, ws_path, TestApp};
use shared::auth::{Role, CSRF_HEADER};
use shared::logs::LogLine;
use shared::routes::{self, ws};
use std::collections::BTreeSet;
use std::time::Duration;

/// Replicas of one configuration (same simulator, same keys) on `redis`.
async fn replicas(sim: &SimHarness, redis: &RedisServer, n: usize) -> Vec<TestApp> {
    let url = redis.url();
    let mut apps = Vec::new();
    for _ in 0..n {
        apps.push(
            TestApp::spawn_with_sim(sim, true, &["--rate-limit", "0", "--redis-url", &url]).await,
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
    // One replica after the other: one that has said it is not asked again.
    let next = std::cell::Cell::new(0);
    let all_say = || async {
        while let Some(app) = apps.get(next.get()) {
            let said = readiness(app).await;
            if said != status {
                return Err(format!("replica {} says {said:?}", next.get()));
            }
            next.set(next.get() + 1);
        }
        Ok(())
    };
    let what = format!("/readyz says {status:?}");
    eventually(Duration::from_secs(10), what, all_say).await;
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
    // One read of the report (no page size fal never promised, so nothing refused first).
    assert_eq!(sim.stats().await["analytics"].as_u64().unwrap() - before, 1);

    // Redis dies: warmed views keep answering, cold ones are fetched by each replica alone.
    redis.stop().await;
    for (status, _) in round_robin(&apps, &path, 30).await {
        assert_eq!(status, 200);
    }
    let before = sim.stats().await["analytics"].as_u64().unwrap();
    let cold = analytics("now-5h");
    let answers = round_robin(&apps, &cold, 3).await;
    assert!(
        answers.iter().all(|(s, _)| *s == 200),
        "no 5xx while Redis is down: {answers:?}"
    );
    assert_eq!(
        fetching(&apps, &answers),
        BTreeSet::from([0, 1, 2]),
        "each replica fetched the cold view itself: {answers:?}"
    );
    let reads = sim.stats().await["analytics"].as_u64().unwrap() - before;
    assert!(
        (3..=6).contains(&reads),
        "three replicas, three reads of fal (each one or two calls): {reads}"
    );
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

/// A replica of a cluster on `redis` and `pg` in `--auth token`, notifying `receiver`.
async fn shared_replica(
    sim: &SimHarness,
    redis: &RedisServer,
    pg: &PostgresServer,
    auth: &AuthFixture,
    receiver: &Receiver,
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.toml");
    std::fs::write(
        &path,
        format!(
            "[delivery]\nattempts = 2\nbackoff_ms = 10\n[[webhook]]\nname = \"ops\"\nurl = \"{}/ok\"\nformat = \"generic\"\nsecret_env = \"HOOK_SECRET\"\n",
            receiver.url
        ),
    )
    .unwrap();
    let mut alerts = AlertsConfig::load(&path, |k| (k == "HOOK_SECRET").then(|| SECRET.to_owned()))
        .expect("the alerts file is valid");
    alerts.evaluate_every = Duration::from_millis(200);
    let file = auth.arg();
    let (redis_url, pg_url) = (redis.url(), pg.url());
    let args = [
        "--auth",
        "token",
        "--auth-file",
        &file,
        "--rate-limit",
        "0",
        "--redis-url",
        &redis_url,
        "--database-url",
        &pg_url,
    ];
    TestApp::spawn_with_sim_edited(
        sim,
        integration_tests::sim::API_KEY,
        Some(integration_tests::sim::ADMIN_KEY),
        &args,
        move |c| c.alerts = alerts,
    )
    .await
}

fn bearer(role: Role) -> String {
    format!("Bearer {}", token(role))
}

/// Notifications `receiver` got for a change to `state`.
fn notified(receiver: &Receiver, state: &str) -> usize {
    receiver
        .got("/ok")
        .iter()
        .filter(|r| r.body.contains(&format!("\"state\":\"{state}\"")))
        .count()
}

#[tokio::test]
async fn replicas_on_one_postgres_share_sessions_and_settings_and_notify_once() {
    let sim = SimHarness::start().await;
    let redis = RedisServer::start().await;
    let mut pg = PostgresServer::start().await;
    let receiver = Receiver::start().await;
    let auth = AuthFixture::write("");
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(shared_replica(&sim, &redis, &pg, &auth, &receiver).await);
    }
    let send = |app: &TestApp, method: reqwest::Method, path: &str, role: Role| {
        app.http
            .request(method, app.url(&ws_path(path)))
            .header(CSRF_HEADER, "1")
            .header("authorization", bearer(role))
    };

    // A session made on one replica is known to the others; signing out on one ends it.
    let signed_in = login(&apps[0], &user(Role::Operator), &password(Role::Operator)).await;
    assert_eq!(signed_in.status(), 200);
    let cookie = session_cookie(&signed_in);
    assert_eq!(whoami(&apps[1], &cookie).await, Some(user(Role::Operator)));
    let out = apps[1]
        .http
        .post(apps[1].url(routes::LOGOUT))
        .header(CSRF_HEADER, "1")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    assert_eq!(
        whoami(&apps[0], &cookie).await,
        None,
        "signed out everywhere"
    );

    // A budget and a price saved on one replica are served by another.
    let resp = send(&apps[0], reqwest::Method::PUT, ws::BUDGETS, Role::Billing)
        .json(&serde_json::json!({"monthly": 9000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let forecast: serde_json::Value =
        send(&apps[2], reqwest::Method::GET, ws::FORECAST, Role::Billing)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(forecast["data"]["budget"], 9000.0, "{forecast}");

    // A rule made on one replica fires on the data every replica reads; one notification.
    let resp = send(
        &apps[1],
        reqwest::Method::POST,
        ws::ALERT_RULES,
        Role::Operator,
    )
    .json(&serde_json::json!({
        "name": "chat-llm failing", "app": "chat-llm",
        "condition": {"kind": "threshold", "metric": "error_rate", "above": 0.0,
                      "window_minutes": 120, "min_requests": 20}
    }))
    .send()
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let rule: shared::alerts::AlertRule = resp.json().await.unwrap();
    eventually(
        Duration::from_secs(20),
        "the rule fires and is notified",
        || std::future::ready(notified(&receiver, "firing") >= 1),
    )
    .await;
    // The replica that sent it stops at once; another takes over the alerts.
    let leader = apps
        .iter()
        .position(|a| a.state.alerts.leading())
        .expect("one replica leads the alerts");
    apps[leader].stop().await;
    let rest: Vec<usize> = (0..3).filter(|i| *i != leader).collect();
    eventually(
        Duration::from_secs(15),
        "another replica leads the alerts",
        || std::future::ready(rest.iter().any(|i| apps[*i].state.alerts.leading())),
    )
    .await;
    // It judges the rule firing too and does not notify again; raised out of reach, the rule
    // resolves, notified once.
    let other = &apps[rest[0]];
    let edit = send(
        other,
        reqwest::Method::PUT,
        &ws::ALERT_RULE.replace("{id}", &rule.id),
        Role::Operator,
    )
    .json(&serde_json::json!({
        "name": "chat-llm failing", "app": "chat-llm",
        "condition": {"kind": "threshold", "metric": "error_rate", "above": 0.99,
                      "window_minutes": 120, "min_requests": 20}
    }))
    .send()
    .await
    .unwrap();
    assert_eq!(edit.status(), 200);
    eventually(
        Duration::from_secs(20),
        "the rule resolves and is notified",
        || std::future::ready(notified(&receiver, "resolved") >= 1),
    )
    .await;
    // Several evaluations later, still one of each.
    let evaluations = |a: &TestApp| a.state.alerts.evaluations();
    let seen = evaluations(other);
    eventually(Duration::from_secs(20), "five more evaluations", || {
        std::future::ready(evaluations(other) >= seen + 5)
    })
    .await;
    assert_eq!(
        notified(&receiver, "firing"),
        1,
        "{:?}",
        receiver.got("/ok")
    );
    assert_eq!(notified(&receiver, "resolved"), 1);

    // Postgres stops: cached views still answer, writes say the database is unreachable.
    let warmed = analytics("now-6h");
    let read = |app: &TestApp| {
        app.http
            .get(app.url(&warmed))
            .header("authorization", bearer(Role::Viewer))
            .send()
    };
    assert_eq!(read(other).await.unwrap().status(), 200);
    pg.stop().await;
    assert_eq!(read(other).await.unwrap().status(), 200, "reads go on");
    let resp = send(other, reqwest::Method::PUT, ws::BUDGETS, Role::Billing)
        .json(&serde_json::json!({"monthly": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let err: shared::ApiError = resp.json().await.unwrap();
    assert_eq!(err.code, shared::ErrorCode::StoreUnavailable);
    assert!(err.message.contains("not saved"), "{}", err.message);
    // Back: the write goes through, and nothing saved before was lost.
    pg.restart().await;
    let resp = send(other, reqwest::Method::PUT, ws::BUDGETS, Role::Billing)
        .json(&serde_json::json!({"monthly": 8000}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn a_caller_cannot_multiply_the_rate_limit_by_the_replica_count() {
    let sim = SimHarness::start().await;
    let redis = RedisServer::start().await;
    let url = redis.url();
    let mut apps = Vec::new();
    for _ in 0..3 {
        // One request a second, bursts of ten: alone, each replica would let 10 through.
        apps.push(
            TestApp::spawn_with_sim(&sim, true, &["--rate-limit", "1", "--redis-url", &url]).await,
        );
    }
    let path = ws_path(ws::APPS);
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(apps[i % 3].get(&path).await.status().as_u16());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    // One 10-second window allows 10; a window boundary inside the run, 20 at most. And the
    // limiter does limit, not refuse: the first ten go through.
    assert!(
        (10..=20).contains(&ok),
        "the three replicas counted together: {statuses:?}"
    );
    assert!(
        statuses[..10].iter().all(|s| *s == 200),
        "a fresh caller's burst: {statuses:?}"
    );
    // The refusal says when to come back (looked for on one replica: at most 11 more asks).
    let mut refused = None;
    for _ in 0..11 {
        let resp = apps[2].get(&path).await;
        if resp.status() == 429 {
            refused = Some(resp);
            break;
        }
    }
    let refused = refused.expect("a 429 within one window's allowance");
    assert!(refused.headers().contains_key("retry-after"));
}

/// The next log line of `events` (a status event is skipped), advancing the simulator's
/// clock by a second while waiting: `None` after 30 s of nothing.
async fn next_line(sim: &SimHarness, events: &mut Events) -> Option<LogLine> {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        sim.clock.advance(1_000);
        match tokio::time::timeout(Duration::from_millis(300), events.next()).await {
            Ok(Some(e)) if e.event == shared::events::LOG => {
                return Some(serde_json::from_str(&e.data).unwrap())
            }
            Ok(None) => return None,
            Ok(Some(_)) | Err(_) => {}
        }
    }
    None
}

#[tokio::test]
async fn three_hundred_log_viewers_on_three_replicas_share_one_stream_that_survives_its_owner() {
    let sim = SimHarness::start().await;
    let redis = RedisServer::start().await;
    let url = redis.url();
    let mut apps = Vec::new();
    for _ in 0..3 {
        let args = [
            "--rate-limit",
            "0",
            "--max-streams",
            "1000",
            "--redis-url",
            &url,
        ];
        apps.push(TestApp::spawn_with_sim(&sim, true, &args).await);
    }
    let path = format!(
        "{}?apps=acme/chat-llm,acme/flux-studio",
        ws_path(ws::LOGS_STREAM)
    );
    let mut viewers = Vec::new();
    for i in 0..300 {
        viewers.push(sse(&apps[i % 3], &path).await);
    }
    // One viewer per replica is read; the others stay open.
    let mut probes: Vec<Events> = viewers.drain(..3).collect();
    let mut lines: Vec<Vec<LogLine>> = vec![Vec::new(); 3];
    for _ in 0..10 {
        for (i, probe) in probes.iter_mut().enumerate() {
            lines[i].push(next_line(&sim, probe).await.expect("a line"));
        }
    }
    assert_eq!(sim.stats().await["logs_stream"], 1, "one upstream stream");
    let owners: Vec<usize> = (0..3)
        .filter(|i| apps[*i].state.reports.workspaces()[0].logs.owned_streams() == 1)
        .collect();
    assert_eq!(owners.len(), 1, "one replica reads fal for all");

    // The owner stops: its viewers end, the others' tail goes on from another replica.
    let owner = owners[0];
    apps[owner].stop().await;
    let survivor = (0..3).find(|i| *i != owner).unwrap();
    // Read on: what the owner had put in Redis, then what the new owner reads from fal.
    let mut after_takeover = 0;
    while after_takeover < 10 {
        let line = next_line(&sim, &mut probes[survivor]).await;
        lines[survivor].push(line.expect("the tail goes on"));
        assert!(
            lines[survivor].len() < 300,
            "no other replica took the stream over"
        );
        if sim.stats().await["logs_stream"] == 2 {
            after_takeover += 1;
        }
    }
    assert_eq!(
        sim.stats().await["logs_stream"],
        2,
        "resumed once, elsewhere"
    );
    let seen = &lines[survivor];
    assert_tail_is_the_history(&apps[survivor], seen[0].ts, seen).await;
}

#[tokio::test]
async fn three_pollers_read_fals_metrics_once_per_interval_and_go_on_without_the_one_that_read() {
    let sim = SimHarness::start().await;
    let redis = RedisServer::start().await;
    let mut apps = replicas(&sim, &redis, 3).await;
    let calls = || async { sim.stats().await["metrics"].as_u64().unwrap() };
    // Waits until fal's metrics have been read `n` times (20 s at most); when.
    let until = |n: u64| async move {
        let read = || async {
            let c = calls().await;
            (c >= n).then_some(()).ok_or(format!("read {c} times"))
        };
        let what = format!("fal's metrics read {n} times");
        eventually(Duration::from_secs(20), what, read).await;
        tokio::time::Instant::now()
    };
    // What each replica read from fal itself so far.
    let reads = |apps: &[TestApp]| -> Vec<u64> {
        apps.iter()
            .map(|a| {
                let s = &a.state.reports.cache().stats;
                s.upstream_reads.load(std::sync::atomic::Ordering::Relaxed)
            })
            .collect()
    };
    let first = until(1).await;
    // What each replica had read just before fal's second read (ten seconds on, when nothing
    // else is read), and then who read it.
    let within = Duration::from_secs(20).saturating_sub(first.elapsed());
    let before = std::cell::RefCell::new(reads(&apps));
    eventually(within, "a second read", || async {
        let read = calls().await >= 2;
        if !read {
            *before.borrow_mut() = reads(&apps);
        }
        read
    })
    .await;
    let second = tokio::time::Instant::now();
    let before = before.into_inner();
    let within = Duration::from_secs(20).saturating_sub(first.elapsed());
    eventually(within, "the second read lands", || {
        std::future::ready(reads(&apps).iter().sum::<u64>() != before.iter().sum::<u64>())
    })
    .await;
    // Three pollers, each every 10 s: alone they would read three times per interval.
    assert!(
        second - first >= Duration::from_secs(8),
        "a second read {:?} after the first",
        second - first
    );
    let after = reads(&apps);
    let poller = (0..3).find(|i| after[*i] > before[*i]).unwrap();
    // The replica that read fal stops; another one reads within 15 s.
    apps[poller].stop().await;
    let stopped = tokio::time::Instant::now();
    let third = until(3).await;
    assert!(third - stopped <= Duration::from_secs(15));
    assert!(third - second >= Duration::from_secs(8));
}
