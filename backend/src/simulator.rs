//! A faithful fal Platform API simulator (REFERENCE.md): same paths, auth scopes, error bodies,
//! validation, pagination, SSE and Prometheus text, over a seeded, deterministic world whose
//! clock moves. Demo mode and every test run falscope's real HTTP client against it.
//!
//! Simulator-only control routes: `GET /_sim/stats`, `DELETE /_sim/stats`, `GET|POST /_sim/faults`.

mod apps;
mod clock;
mod control;
mod errors;
mod faults;
mod gate;
mod metrics;
pub mod rng;
pub mod world;

pub use clock::{Clock, ManualClock, SystemClock};
pub use faults::{FaultRule, FaultSet};

use crate::cli::SimulateArgs;
use crate::upstream::Scope;
use anyhow::Context;
use axum::routing::{get, MethodRouter};
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
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
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("seed", &self.seed)
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
        }
    }

    /// The current simulated time, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
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

    /// `GET /v1/serverless/metrics`.
    pub const METRICS: Op = Op::api("metrics");
    /// `GET /v1/serverless/apps`.
    pub const APPS: Op = Op::api("apps");

    /// Every operation, for zero-initialised stats.
    pub const ALL: &'static [Op] = &[Self::METRICS, Self::APPS];
}

/// The simulator's router over `sim`.
pub fn router(sim: Arc<Sim>) -> Router {
    let op = |op: Op, route: MethodRouter<Arc<Sim>>| gate::wrap(&sim, op, route);
    Router::new()
        .route(
            "/v1/serverless/metrics",
            op(Op::METRICS, get(metrics::get_metrics)),
        )
        .route("/v1/serverless/apps", op(Op::APPS, get(apps::list_apps)))
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
    crate::shutdown_signal().await;
    Ok(())
}
