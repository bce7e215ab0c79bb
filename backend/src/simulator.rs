//! A faithful fal Platform API simulator (REFERENCE.md): same paths, auth scopes, error bodies,
//! validation, pagination, SSE and Prometheus text, over a seeded, deterministic world whose
//! clock moves. Demo mode and every test run falscope's real HTTP client against it.
//!
//! Simulator-only control routes: `GET /_sim/stats`, `DELETE /_sim/stats`, `GET|POST /_sim/faults`.

mod analytics;
mod apps;
mod billing;
mod control;
mod errors;
mod faults;
mod files;
mod gate;
mod logs;
mod metrics;
mod outbound;
mod paging;
mod query;
mod queue;
mod requests;
pub mod rng;
pub mod shape;
mod timeframe;
pub mod usage;
pub mod wire;
pub mod world;

pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use faults::{CostSpike, FaultRule, FaultSet};

use crate::cli::SimulateArgs;
use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use world::World;

/// How to run a simulator.
#[derive(Clone)]
pub struct SimConfig {
    /// Address to bind (`127.0.0.1:0` for an ephemeral port).
    pub listen: SocketAddr,
    /// The API-scoped key it accepts.
    pub api_key: SecretString,
    /// The ADMIN-scoped key it accepts.
    pub admin_key: SecretString,
    /// World seed.
    pub seed: u64,
    /// Its clock.
    pub clock: Arc<dyn Clock>,
    /// Vary the shape of answers within fal's contract (`--shape-variation`).
    pub shape_variation: bool,
    /// Largest source upload-from-URL fetches, bytes.
    pub max_fetch_bytes: u64,
    /// Upload-from-URL may fetch loopback sources (tests); other non-public addresses stay
    /// refused.
    pub fetch_loopback: bool,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("seed", &self.seed)
            .field("shape_variation", &self.shape_variation)
            .finish_non_exhaustive()
    }
}

impl SimConfig {
    /// Demo mode: a loopback ephemeral port and fresh random keys nobody else knows.
    pub fn demo() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: SecretString::from(format!("demo-api-{}", uuid::Uuid::new_v4())),
            admin_key: SecretString::from(format!("demo-admin-{}", uuid::Uuid::new_v4())),
            seed: 42,
            clock: Arc::new(SystemClock),
            shape_variation: false,
            max_fetch_bytes: MAX_UPLOAD as u64,
            fetch_loopback: false,
        }
    }
}

impl TryFrom<SimulateArgs> for SimConfig {
    type Error = anyhow::Error;

    fn try_from(args: SimulateArgs) -> anyhow::Result<Self> {
        anyhow::ensure!(
            args.api_key.expose_secret() != args.admin_key.expose_secret(),
            "--api-key (FAL_SIM_API_KEY) and --admin-key (FAL_SIM_ADMIN_KEY) must differ"
        );
        Ok(Self {
            listen: args.listen,
            api_key: args.api_key,
            admin_key: args.admin_key,
            seed: args.seed,
            clock: Arc::new(SystemClock),
            shape_variation: args.shape_variation,
            max_fetch_bytes: MAX_UPLOAD as u64,
            fetch_loopback: false,
        })
    }
}

/// Simulator state shared by its handlers.
pub struct Sim {
    /// The simulated account.
    pub world: World,
    /// Its clock.
    pub clock: Arc<dyn Clock>,
    api_key: SecretString,
    admin_key: SecretString,
    /// Requests received per operation.
    pub stats: Mutex<BTreeMap<&'static str, u64>>,
    /// Active fault rules.
    pub faults: faults::Faults,
    metrics_cache: Mutex<Option<(i64, String)>>,
    /// The undocumented page-size maxima of this world.
    pub max_limits: paging::MaxLimits,
    files: files::Files,
    queue: Mutex<QueueState>,
    /// See [`SimConfig::shape_variation`].
    pub shape_variation: bool,
    /// How upload-from-URL fetches.
    outbound: outbound::Policy,
}

/// Flush bookkeeping.
#[derive(Debug, Default)]
struct QueueState {
    /// Last flush per app index.
    flushed_at: HashMap<usize, i64>,
    /// `(app, Idempotency-Key)` → when it was first used.
    idempotency: HashMap<(usize, String), i64>,
    /// Flushes actually performed (idempotent repeats excluded).
    flushes: u64,
}

impl Sim {
    /// A simulator over the world of `config.seed`.
    pub fn new(config: &SimConfig) -> Self {
        Self {
            world: World::new(config.seed),
            clock: config.clock.clone(),
            api_key: config.api_key.clone(),
            admin_key: config.admin_key.clone(),
            stats: Mutex::new(Op::ALL.iter().map(|op| (op.name, 0)).collect()),
            faults: faults::Faults::default(),
            metrics_cache: Mutex::new(None),
            max_limits: paging::MaxLimits::of(config.seed),
            files: files::Files::seeded(config.clock.now_ms()),
            queue: Mutex::new(QueueState::default()),
            shape_variation: config.shape_variation,
            outbound: outbound::Policy {
                max_bytes: config.max_fetch_bytes,
                timeout: std::time::Duration::from_secs(60),
                allow_loopback: config.fetch_loopback,
            },
        }
    }

    /// When app `i`'s queue was last flushed.
    pub fn flushed_at(&self, i: usize) -> Option<i64> {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.flushed_at.get(&i).copied()
    }

    /// Queue flushes performed (repeats with a remembered `Idempotency-Key` do not count).
    pub fn flushes(&self) -> u64 {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).flushes
    }

    /// The current simulated time, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// Which key an operation needs (REFERENCE §1.2: fal's `apiKey` and `adminApiKey` schemes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// An API-scoped key; an ADMIN key can do everything an API key can.
    Api,
    /// An ADMIN-scoped key only.
    Admin,
}

/// A fal operation: its stats name and the key scope it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    /// Name used in `/_sim/stats` and fault rules.
    pub name: &'static str,
    /// Key scope.
    pub scope: Scope,
}

impl Op {
    const fn api(name: &'static str) -> Self {
        Self {
            name,
            scope: Scope::Api,
        }
    }

    const fn admin(name: &'static str) -> Self {
        Self {
            name,
            scope: Scope::Admin,
        }
    }

    /// `GET /v1/serverless/metrics`.
    pub const METRICS: Op = Op::api("metrics");
    /// `GET /v1/serverless/apps/{owner}/{name}/queue`.
    pub const QUEUE_SIZE: Op = Op::api("queue_size");
    /// `DELETE /v1/serverless/apps/{owner}/{name}/queue`.
    pub const QUEUE_FLUSH: Op = Op::api("queue_flush");
    /// `GET /v1/serverless/analytics`.
    pub const ANALYTICS: Op = Op::api("analytics");
    /// `GET /v1/models/analytics`.
    pub const MODELS_ANALYTICS: Op = Op::api("models_analytics");
    /// `GET /v1/serverless/requests/by-endpoint`.
    pub const REQUESTS: Op = Op::api("requests_by_endpoint");
    /// `GET /v1/serverless/usage` (ADMIN).
    pub const USAGE: Op = Op::admin("usage");
    /// `POST /v1/serverless/logs/history`.
    pub const LOGS_HISTORY: Op = Op::api("logs_history");
    /// `POST /v1/serverless/logs/stream`.
    pub const LOGS_STREAM: Op = Op::api("logs_stream");
    /// `GET /v1/serverless/files/list`.
    pub const FILES_LIST: Op = Op::api("files_list");
    /// `GET /v1/serverless/files/list/{dir}`.
    pub const FILES_LIST_DIR: Op = Op::api("files_list_dir");
    /// `GET /v1/serverless/files/file/{file}`.
    pub const FILES_DOWNLOAD: Op = Op::api("files_download");
    /// `POST /v1/serverless/files/file/url/{file}`.
    pub const FILES_UPLOAD_URL: Op = Op::api("files_upload_url");
    /// `POST /v1/serverless/files/file/local/{target_path}`.
    pub const FILES_UPLOAD_LOCAL: Op = Op::api("files_upload_local");
    /// `GET /v1/serverless/apps`.
    pub const APPS: Op = Op::api("apps");
    /// `GET /v1/account/billing` (ADMIN).
    pub const BILLING: Op = Op::admin("account_billing");

    /// Every operation, for zero-initialised stats.
    pub const ALL: &'static [Op] = &[
        Self::METRICS,
        Self::QUEUE_SIZE,
        Self::QUEUE_FLUSH,
        Self::ANALYTICS,
        Self::MODELS_ANALYTICS,
        Self::REQUESTS,
        Self::USAGE,
        Self::LOGS_HISTORY,
        Self::LOGS_STREAM,
        Self::FILES_LIST,
        Self::FILES_LIST_DIR,
        Self::FILES_DOWNLOAD,
        Self::FILES_UPLOAD_URL,
        Self::FILES_UPLOAD_LOCAL,
        Self::APPS,
        Self::BILLING,
    ];
}

/// Largest upload the simulator accepts.
const MAX_UPLOAD: usize = 256 * 1024 * 1024;

/// The simulator's router over `sim`.
pub fn router(sim: Arc<Sim>) -> Router {
    let op = |op: Op, route: MethodRouter<Arc<Sim>>| gate::wrap(&sim, op, route);
    // The queue path has one route with two operations, each gated separately.
    let queue = op(Op::QUEUE_SIZE, get(queue::get_queue)).merge(op(
        Op::QUEUE_FLUSH,
        axum::routing::delete(queue::flush_queue),
    ));
    Router::new()
        .route(
            "/v1/serverless/metrics",
            op(Op::METRICS, get(metrics::get_metrics)),
        )
        .route("/v1/serverless/apps/{owner}/{name}/queue", queue)
        .route(
            "/v1/serverless/analytics",
            op(Op::ANALYTICS, get(analytics::serverless)),
        )
        .route(
            "/v1/models/analytics",
            op(Op::MODELS_ANALYTICS, get(analytics::models)),
        )
        .route(
            "/v1/serverless/requests/by-endpoint",
            op(Op::REQUESTS, get(requests::by_endpoint)),
        )
        .route("/v1/serverless/usage", op(Op::USAGE, get(usage::usage)))
        .route(
            "/v1/serverless/logs/history",
            op(Op::LOGS_HISTORY, post(logs::history)),
        )
        .route(
            "/v1/serverless/logs/stream",
            op(Op::LOGS_STREAM, post(logs::stream)),
        )
        .route(
            "/v1/serverless/files/list",
            op(Op::FILES_LIST, get(files::list_root)),
        )
        .route(
            "/v1/serverless/files/list/{*dir}",
            op(Op::FILES_LIST_DIR, get(files::list_dir)),
        )
        .route(
            "/v1/serverless/files/file/{*file}",
            op(Op::FILES_DOWNLOAD, get(files::download)),
        )
        .route(
            "/v1/serverless/files/file/url/{*file}",
            op(Op::FILES_UPLOAD_URL, post(files::upload_url)),
        )
        .route(
            "/v1/serverless/files/file/local/{*target_path}",
            op(Op::FILES_UPLOAD_LOCAL, post(files::upload_local))
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/v1/serverless/apps", op(Op::APPS, get(apps::list_apps)))
        .route(
            "/v1/account/billing",
            op(Op::BILLING, get(billing::account_billing)),
        )
        .merge(control::router())
        .fallback(errors::not_found)
        .with_state(sim)
}

/// A running simulator; dropping it stops the server.
pub struct SimServer {
    addr: SocketAddr,
    sim: Arc<Sim>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Binds and serves a simulator in the background.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("while binding the simulator to {}", config.listen))?;
        let addr = listener.local_addr()?;
        let sim = Arc::new(Sim::new(&config));
        let app = router(sim.clone());
        let task = tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!(%err, "simulator stopped");
            }
        });
        Ok(Self { addr, sim, task })
    }

    /// `http://127.0.0.1:PORT` (fal's base, without `/v1`).
    pub fn base_url(&self) -> url::Url {
        url::Url::parse(&format!("http://{}", self.addr))
            .expect("a socket address is a valid URL host")
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The simulator state (stats, faults, world).
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// The API key it accepts.
    pub fn api_key(&self) -> SecretString {
        self.sim.api_key.clone()
    }

    /// The ADMIN key it accepts.
    pub fn admin_key(&self) -> SecretString {
        self.sim.admin_key.clone()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `falscope simulate`: serve until Ctrl-C.
pub async fn run(config: SimConfig) -> anyhow::Result<()> {
    let server = SimServer::start(config).await?;
    tracing::info!(url = %server.base_url(), "fal simulator listening");
    crate::server::shutdown_signal().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// `dir.rs` and every `.rs` file under `dir/`.
    fn sources(dir: &str) -> Vec<PathBuf> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut out = vec![src.join(format!("{dir}.rs"))];
        let mut stack = vec![src.join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        out
    }

    /// The simulator is its own reading of fal's contract (`wire.rs`), so the contract suite
    /// holds two readings against each other: neither side may borrow the other's types.
    #[test]
    fn simulator_and_client_do_not_import_each_other() {
        // Spelled in pieces so this file does not match itself.
        let client_paths = [concat!("crate", "::upstream"), concat!("upstream", "::")];
        let sim = sources("simulator");
        assert!(sim.len() > 10, "{sim:?}");
        for path in sim {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !client_paths.iter().any(|p| text.contains(p)),
                "{} uses the fal client",
                path.display()
            );
        }
        for path in sources("upstream") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("simulator::") && !text.contains("mod simulator"),
                "{} uses the simulator",
                path.display()
            );
        }
    }
}
