//! A simulator on a hand-moved clock plus a real [`FalClient`] pointed at it over HTTP.

use backend::simulator::{ManualClock, SimConfig, SimServer};
use backend::upstream::FalClient;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

/// Wednesday 2026-11-18 15:00:00 UTC: a weekday afternoon with busy traffic.
pub const T0: i64 = 1_795_014_000_000;
/// The API key the test simulator accepts.
pub const API_KEY: &str = "test-api-key-0f3a";
/// The ADMIN key the test simulator accepts.
pub const ADMIN_KEY: &str = "test-admin-key-9c1d";

/// A simulator and clients for it.
pub struct SimHarness {
    /// The running simulator.
    pub server: SimServer,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// falscope's client with both keys.
    pub client: FalClient,
    /// falscope's client with only the API key.
    pub api_only: FalClient,
    /// A raw HTTP client for checking wire shapes.
    pub http: reqwest::Client,
}

impl SimHarness {
    /// Starts a simulator with seed 42 at [`T0`].
    pub async fn start() -> Self {
        Self::start_at(T0).await
    }

    async fn start_at(ms: i64) -> Self {
        Self::start_with_keys(ms, API_KEY, ADMIN_KEY).await
    }

    /// A simulator at `ms` that accepts these keys (the harness's clients keep [`API_KEY`] and
    /// [`ADMIN_KEY`]).
    pub async fn start_with_keys(ms: i64, api_key: &str, admin_key: &str) -> Self {
        let clock = Arc::new(ManualClock::new(ms));
        let server = SimServer::start(SimConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            api_key: SecretString::from(api_key),
            admin_key: SecretString::from(admin_key),
            seed: 42,
            clock: clock.clone(),
            shape_variation: shape_variation(),
            max_fetch_bytes: 1024 * 1024,
            // Sources in tests are served on 127.0.0.1; private and link-local stay refused.
            fetch_loopback: true,
        })
        .await
        .expect("simulator starts");
        let client = |admin: Option<&str>| {
            FalClient::new(
                server.base_url(),
                SecretString::from(API_KEY),
                admin.map(SecretString::from),
            )
            .expect("client builds")
            .with_timeout(Duration::from_secs(20))
        };
        Self {
            client: client(Some(ADMIN_KEY)),
            api_only: client(None),
            http: reqwest::Client::new(),
            clock,
            server,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.server.base_url().as_str().trim_end_matches('/'),
            path
        )
    }

    /// A raw request with `Authorization: Key <key>`.
    pub fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match key {
            Some(k) => req.header("authorization", format!("Key {k}")),
            None => req,
        }
    }

    /// `GET path` with `key`, decoded as JSON (for checking raw wire shapes).
    pub async fn get_json(&self, path: &str, key: &str) -> serde_json::Value {
        self.raw(reqwest::Method::GET, path, Some(key))
            .send()
            .await
            .expect("request reaches the simulator")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Requests received per operation (`GET /_sim/stats`).
    pub async fn stats(&self) -> serde_json::Value {
        self.http
            .get(self.url("/_sim/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    }

    /// Replaces the fault rules (`POST /_sim/faults`).
    pub async fn faults(&self, rules: serde_json::Value) {
        let resp = self
            .http
            .post(self.url("/_sim/faults"))
            .json(&serde_json::json!({ "rules": rules }))
            .send()
            .await
            .expect("faults");
        assert_eq!(
            resp.status(),
            200,
            "{}",
            resp.text().await.unwrap_or_default()
        );
    }

    /// The API key, for assertions that it never leaks.
    pub fn api_key(&self) -> String {
        self.server.api_key().expose_secret().to_owned()
    }
}

/// Unix ms → `DateTime<Utc>`.
pub fn at(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).expect("valid ms")
}

/// `FAL_SIM_SHAPE_VARIATION=true` runs every test against a simulator that varies the shape of
/// its answers within fal's contract (`falscope simulate --shape-variation`).
pub fn shape_variation() -> bool {
    std::env::var("FAL_SIM_SHAPE_VARIATION").is_ok_and(|v| v == "true" || v == "1")
}

/// The keys of a raw fal object, without the field `--shape-variation` adds.
pub fn keys(v: &serde_json::Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .filter(|k| *k != backend::simulator::shape::ADDED)
        .collect()
}
