//! Replicas that die: each test runs the real `falscope` binary as separate processes sharing
//! Redis and Postgres, and kills one with SIGKILL (no clean shutdown: its leases are not
//! released, its in-flight work is cut), then asserts what the survivors do.

use integration_tests::auth::{token, AuthFixture};
use integration_tests::cluster::port;
use integration_tests::eventually;
use integration_tests::services::{PostgresServer, RedisServer};
use shared::auth::{Role, CSRF_HEADER};
use shared::routes::ws;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

const API_KEY: &str = "failover-api-key";
const ADMIN_KEY: &str = "failover-admin-key";
const HOOK_SECRET: &str = "whsec-failover";

/// The `falscope` binary: `FALSCOPE_BIN`, or the one cargo built beside this test.
fn bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("FALSCOPE_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/it-<hash> → target/<profile>/falscope
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("falscope"))
        .expect("a target directory");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build -p backend --bin falscope`; `cargo xtask test` does)",
        bin.display()
    );
    bin
}

/// A `falscope simulate` process.
struct Simulator {
    url: String,
    _child: Child,
}

impl Simulator {
    async fn start() -> Self {
        let p = port().unwrap();
        let child = Command::new(bin())
            .args(["simulate", "--listen", &format!("127.0.0.1:{p}")])
            .args(["--api-key", API_KEY, "--admin-key", ADMIN_KEY])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the simulator starts");
        let url = format!("http://127.0.0.1:{p}");
        let http = reqwest::Client::new();
        eventually(Duration::from_secs(20), "the simulator answers", || {
            let req = http.get(format!("{url}/_sim/stats")).send();
            async move { req.await.is_ok() }
        })
        .await;
        Self { url, _child: child }
    }
}

/// A falscope replica process.
struct Replica {
    url: String,
    child: Option<Child>,
    /// Signed in with API tokens (`--auth token`), or no sign-in at all.
    tokens: bool,
    _data: tempfile::TempDir,
}

impl Replica {
    async fn start(sim: &Simulator, shared: &[String], extra: &[&str]) -> Self {
        let p = port().unwrap();
        let data = tempfile::tempdir().unwrap();
        let child = Command::new(bin())
            .args(["--listen", &format!("127.0.0.1:{p}")])
            .args(shared)
            .args(extra)
            .env("FAL_KEY", API_KEY)
            .env("FAL_ADMIN_KEY", ADMIN_KEY)
            .env("FAL_BASE_URL", &sim.url)
            .env("FALSCOPE_DATA_DIR", data.path())
            .env("HOOK_SECRET", HOOK_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("a replica starts");
        let url = format!("http://127.0.0.1:{p}");
        let http = reqwest::Client::new();
        eventually(Duration::from_secs(30), "the replica answers", || {
            let req = http.get(format!("{url}/healthz")).send();
            async move { req.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        Self {
            url,
            child: Some(child),
            tokens: shared.iter().any(|a| a == "token"),
            _data: data,
        }
    }

    /// SIGKILL: no shutdown, nothing released.
    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL");
        }
    }

    fn alive(&self) -> bool {
        self.child.is_some()
    }

    fn request(&self, method: reqwest::Method, path: &str, role: Role) -> reqwest::RequestBuilder {
        let req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .header(CSRF_HEADER, "1");
        if self.tokens {
            req.header("authorization", format!("Bearer {}", token(role)))
        } else {
            req
        }
    }

    /// This replica's `/metrics` text (empty when it does not answer).
    async fn metrics(&self) -> String {
        match self
            .request(reqwest::Method::GET, "/metrics", Role::Viewer)
            .send()
            .await
        {
            Ok(resp) => resp.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Times this replica read fal's metrics (the live poller's operation).
    async fn metrics_reads(&self) -> u64 {
        self.metrics()
            .await
            .lines()
            .filter(|l| {
                l.starts_with("falscope_upstream_calls_total{")
                    && l.contains("operation=\"metrics\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// Alert evaluations this replica has run.
    async fn evaluations(&self) -> u64 {
        let path = ws::ALERTS.replace("{ws}", "default");
        let view: serde_json::Value = match self
            .request(reqwest::Method::GET, &path, Role::Viewer)
            .send()
            .await
        {
            Ok(resp) => resp.json().await.unwrap_or_default(),
            Err(_) => return 0,
        };
        view["data"]["evaluations"]
            .as_u64()
            .or_else(|| view["evaluations"].as_u64())
            .unwrap_or(0)
    }

    /// Whether `/metrics` says this replica holds the lease of `job`.
    async fn holds(&self, job: &str) -> bool {
        self.metrics()
            .await
            .lines()
            .any(|l| l == format!("falscope_lease_held{{job=\"{job}\"}} 1"))
    }
}

/// Redis, Postgres and the simulator; the flags every replica shares.
struct Shared {
    sim: Simulator,
    _redis: RedisServer,
    _pg: PostgresServer,
    _auth: AuthFixture,
    _alerts: tempfile::TempDir,
    args: Vec<String>,
}

impl Shared {
    async fn start(alerts_toml: &str) -> Self {
        let sim = Simulator::start().await;
        let redis = RedisServer::start().await;
        let pg = PostgresServer::start().await;
        let auth = AuthFixture::write("");
        let alerts = tempfile::tempdir().unwrap();
        let alerts_file = alerts.path().join("alerts.toml");
        std::fs::write(&alerts_file, alerts_toml).unwrap();
        let args = [
            "--auth",
            "token",
            "--auth-file",
            &auth.arg(),
            "--rate-limit",
            "0",
            "--redis-url",
            &redis.url(),
            "--database-url",
            &pg.url(),
            "--alerts-file",
            &alerts_file.display().to_string(),
        ]
        .map(str::to_owned)
        .to_vec();
        Self {
            sim,
            _redis: redis,
            _pg: pg,
            _auth: auth,
            _alerts: alerts,
            args,
        }
    }
}

/// One notification a webhook got.
#[derive(Debug, Clone)]
struct Got {
    id: String,
    state: String,
    at: Instant,
    /// Whether the receiver answered it (the first one it never answers).
    answered: bool,
}

/// A webhook receiver that never answers its first notification (the sender is cut off
/// mid-delivery) and accepts every later one.
async fn receiver() -> (String, Arc<Mutex<Vec<Got>>>) {
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let seen = got.clone();
    let handler = move |headers: http::HeaderMap, body: String| {
        let seen = seen.clone();
        async move {
            let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let first = {
                let mut all = seen.lock().unwrap();
                let answered = !all.is_empty();
                all.push(Got {
                    id: headers
                        .get("x-falscope-notification-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned(),
                    state: json["event"]["state"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    at: Instant::now(),
                    answered,
                });
                all.len() == 1
            };
            if first {
                std::future::pending::<()>().await;
            }
            http::StatusCode::OK
        }
    };
    let router = axum::Router::new().fallback(axum::routing::post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, got)
}

/// The leader is killed while its "firing" notification is in flight: the next leader sends
/// that notification (same id) at once — not minutes later — and the "resolved" after it:
/// exactly one firing and one resolved, in that order.
#[tokio::test]
async fn the_next_leader_sends_what_a_killed_one_left_in_order() {
    let _heavy = integration_tests::HEAVY.write().await;
    let (hook, got) = receiver().await;
    let alerts = format!(
        "evaluate_every_seconds = 1\n[delivery]\nattempts = 1\nbackoff_ms = 10\n[[webhook]]\nname = \"ops\"\nurl = \"{hook}/hook\"\nformat = \"generic\"\nsecret_env = \"HOOK_SECRET\"\n"
    );
    let shared = Shared::start(&alerts).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Replica::start(&shared.sim, &shared.args, &[]).await);
    }
    let rules = ws::ALERT_RULES.replace("{ws}", "default");
    let rule = |above: f64| {
        serde_json::json!({
            "name": "chat-llm failing", "app": "chat-llm",
            "condition": {"kind": "threshold", "metric": "error_rate", "above": above,
                          "window_minutes": 120, "min_requests": 20}
        })
    };
    let made = replicas[0]
        .request(reqwest::Method::POST, &rules, Role::Operator)
        .json(&rule(0.0))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status(), 201, "{}", made.text().await.unwrap());
    let made: shared::alerts::AlertRule = made.json().await.unwrap();
    eventually(
        Duration::from_secs(30),
        "the firing notification is in flight",
        || {
            let n = got.lock().unwrap().len();
            async move { n >= 1 }
        },
    )
    .await;
    // Cut off mid-delivery.
    let mut leader = None;
    for (i, r) in replicas.iter().enumerate() {
        if r.holds("alerts").await {
            leader = Some(i);
        }
    }
    let leader = leader.expect("one replica leads the alerts");
    replicas[leader].kill().await;
    let killed = Instant::now();
    eventually(
        Duration::from_secs(15),
        "another replica sends the firing it left",
        || {
            let answered = got
                .lock()
                .unwrap()
                .iter()
                .any(|g| g.answered && g.state == "firing");
            async move { answered }
        },
    )
    .await;
    let resent = killed.elapsed();
    // The rule is raised out of reach on a survivor: it resolves, notified after the firing.
    let survivor = replicas.iter().find(|r| r.alive()).unwrap();
    let edit = survivor
        .request(
            reqwest::Method::PUT,
            &ws::ALERT_RULE
                .replace("{ws}", "default")
                .replace("{id}", &made.id),
            Role::Operator,
        )
        .json(&rule(0.99))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), 200);
    eventually(Duration::from_secs(15), "the resolved notification", || {
        let resolved = got.lock().unwrap().iter().any(|g| g.state == "resolved");
        async move { resolved }
    })
    .await;
    // Three evaluations later on every survivor: nothing more.
    for r in replicas.iter().filter(|r| r.alive()) {
        let seen = r.evaluations().await;
        eventually(
            Duration::from_secs(15),
            "three more evaluations",
            || async { r.evaluations().await >= seen + 3 },
        )
        .await;
    }
    let got = got.lock().unwrap().clone();
    let ids = |state: &str| {
        let mut ids: Vec<&str> = got
            .iter()
            .filter(|g| g.state == state)
            .map(|g| g.id.as_str())
            .collect();
        ids.dedup();
        ids
    };
    assert_eq!(
        ids("firing").len(),
        1,
        "one firing (a resend has its id): {got:?}"
    );
    assert_eq!(ids("resolved").len(), 1, "one resolved: {got:?}");
    assert!(!ids("firing")[0].is_empty(), "notifications carry an id");
    let last_firing = got
        .iter()
        .filter(|g| g.state == "firing")
        .map(|g| g.at)
        .max();
    let first_resolved = got
        .iter()
        .filter(|g| g.state == "resolved")
        .map(|g| g.at)
        .min();
    assert!(
        last_firing < first_resolved,
        "firing, then resolved: {got:?}"
    );
    assert!(
        resent < Duration::from_secs(15),
        "resent {resent:?} after the kill"
    );
}

/// fal's metrics as the simulator counted them.
async fn fal_metric_reads(sim: &Simulator) -> u64 {
    integration_tests::cluster::fal_calls(&sim.url, "metrics")
        .await
        .unwrap()
}

/// Three pollers share one fal read per interval; the replica that read is killed right after
/// its read, and another reads at the next interval — no gap, no double read.
#[tokio::test]
async fn the_live_poller_goes_on_when_the_replica_that_read_fal_is_killed() {
    let _heavy = integration_tests::HEAVY.write().await;
    let sim = Simulator::start().await;
    let redis = RedisServer::start().await;
    let args = ["--rate-limit", "0", "--redis-url", &redis.url()].map(str::to_owned);
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Replica::start(&sim, &args, &[]).await);
    }
    let reads = |n: u64| {
        let sim = &sim;
        move || async move { fal_metric_reads(sim).await >= n }
    };
    // The first read comes with the first replica's start; from the second on, each is seen
    // as it happens.
    eventually(
        Duration::from_secs(30),
        "fal's metrics read twice",
        reads(2),
    )
    .await;
    let second = Instant::now();
    // Who reads the third time: each replica's own count, before and after.
    let mut before = Vec::new();
    for r in &replicas {
        before.push(r.metrics_reads().await);
    }
    eventually(Duration::from_secs(20), "a third read", reads(3)).await;
    let third = Instant::now();
    let mut reader = None;
    for (i, r) in replicas.iter().enumerate() {
        if r.metrics_reads().await > before[i] {
            reader = Some(i);
        }
    }
    let reader = reader.expect("one replica read fal");
    assert!(
        third - second >= Duration::from_secs(8),
        "one read per interval between three pollers: {:?}",
        third - second
    );
    replicas[reader].kill().await;
    let killed = Instant::now();
    eventually(
        Duration::from_secs(15),
        "another replica reads fal",
        reads(4),
    )
    .await;
    let fourth = Instant::now();
    assert!(fourth - killed <= Duration::from_secs(15));
    assert!(
        fourth - third >= Duration::from_secs(8),
        "no double read: {:?}",
        fourth - third
    );
    assert_eq!(fal_metric_reads(&sim).await, 4);
}
