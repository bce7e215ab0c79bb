//! falscope's server: the fal client (`upstream`), the dashboard API (`api`), the SPA server
//! (`spa`) and the fal simulator (`simulator`) that demo mode and every test run against.
//!
//! # Where does a change go
//!
//! Data flows one way: fal → [`upstream`] (the client: wire types, retries, the breaker) →
//! [`cache`] → [`reports`] (typed queries from `shared` in, `shared` DTOs out) → [`api`]
//! (handlers: glue only; the route table in `api.rs` also gives each route its role and its
//! OpenAPI entry) → the browser. `tests/tests/it/layout.rs` enforces that order.
//!
//! - A new fal call: its wire type and method in `upstream`, the same operation written again
//!   from REFERENCE.md in `simulator` (its own wire types — the two must never share code, so
//!   the contract tests compare two independent readings), then a report in `reports`.
//! - A new view: a report (computation, cache keys, TTLs) and a handler that only parses,
//!   calls the report and answers.
//! - Background work (alerts, the cost history, the live poller, `/metrics`) calls reports,
//!   never a handler; it is started by [`Server::start`], never by [`build`].
//! - Anything several replicas must agree on (single flight, leases, shared counters, shared
//!   streams) goes through [`cluster`]'s primitives, never straight to Redis.
//! - falscope's own data (sessions, audit, rules, budgets, history) goes through [`store`],
//!   written once for SQLite and Postgres.
//! - "Now" comes from [`clock`]: the wall clock is read nowhere else (clippy refuses it).

pub mod alerts;
pub mod api;
pub mod auth;
pub mod backup;
pub mod cache;
pub mod check;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod cost;
pub mod digest;
pub mod error;
pub mod guard;
pub mod history;
pub mod live;
pub mod logs_hub;
pub mod promtext;
pub mod reports;
pub mod router;
pub mod server;
pub mod simulator;
pub mod spa;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod upstream;
pub mod workspace;

use anyhow::Context;
use config::{Config, Upstream};
use shared::alerts::RuleSource;
use std::sync::Arc;
use upstream::{FalApi, FalClient};

pub use router::app;
pub use server::shutdown_signal;

/// A built falscope: its router, plus the embedded simulator when in demo mode (dropping it
/// stops the simulator).
/// Nothing runs in the background until [`Server::start`].
pub struct Server {
    /// The HTTP app.
    pub router: axum::Router,
    /// The demo simulator, if any.
    pub demo: Option<simulator::SimServer>,
    /// The state behind the router (tests inspect its cache).
    pub state: state::AppState,
    /// The background jobs, started by [`Server::start`].
    jobs: Jobs,
}

/// Builds falscope from a validated config, starting the demo simulator when there is no key.
pub async fn build(config: &Config) -> anyhow::Result<Server> {
    build_with_clock(config, Arc::new(clock::SystemClock)).await
}

/// [`build`] with an injected clock (tests share the simulator's hand-moved clock). Connects to
/// what falscope needs (the database, Redis, the demo simulator) and builds the router, but
/// starts no job: see [`Server::start`].
pub async fn build_with_clock(
    config: &Config,
    clock: Arc<dyn clock::Clock>,
) -> anyhow::Result<Server> {
    let (accounts, demo) = match &config.upstream {
        Upstream::Fal(accounts) => (accounts.clone(), None),
        Upstream::Demo => {
            let sim_config = simulator::SimConfig {
                max_fetch_bytes: config.max_upload_bytes,
                ..simulator::SimConfig::demo()
            };
            let sim = simulator::SimServer::start(sim_config)
                .await
                .context("while starting the demo simulator")?;
            let account = config::Account {
                id: "demo".into(),
                name: "Demo (simulated)".into(),
                base_url: sim.base_url(),
                api_key: sim.api_key(),
                admin_key: Some(sim.admin_key()),
            };
            (vec![account], Some(sim))
        }
    };
    let accounts_seen = accounts.clone();
    // The demo offers the simulator's models for watching.
    let suggested: Vec<String> = match &demo {
        Some(_) => (simulator::world::World::new(0).models.iter())
            .map(|m| m.endpoint_id.to_owned())
            .collect(),
        None => Vec::new(),
    };
    let mut workspaces = Vec::new();
    for a in accounts {
        let client = FalClient::new(a.base_url, a.api_key, a.admin_key)
            .with_context(|| format!("while building the fal client of workspace {}", a.id))?;
        let fal: Arc<dyn FalApi> = Arc::new(client);
        let admin_key_setting = match &config.workspaces_file {
            Some(_) => format!(
                "admin_key_env of workspace {:?} in --workspaces (FALSCOPE_WORKSPACES)",
                a.id
            ),
            None => "FAL_ADMIN_KEY".to_owned(),
        };
        workspaces.push(Arc::new(
            workspace::Workspace::new(a.id, a.name, fal)
                .with_admin_key_setting(admin_key_setting)
                .with_suggested_models(suggested.clone()),
        ));
    }
    let assets = match &config.dist_dir {
        Some(dir) => spa::Assets::Dir(dir.clone()),
        None => spa::Assets::Embedded,
    };
    let db = match &config.database_url {
        Some(url) => Some(
            store::Store::connect(url)
                .await
                .context("--database-url (FALSCOPE_DATABASE_URL): falscope keeps its data there and cannot start without it")?,
        ),
        None => open_data_dir(config)?,
    };
    if let Some(unknown) = config.directory.workspaces.keys().find(|id| {
        !workspaces
            .iter()
            .any(|w: &Arc<workspace::Workspace>| &w.id == *id)
    }) {
        anyhow::bail!("--auth-file (FALSCOPE_AUTH_FILE): [workspaces] names {unknown:?}, which is not a configured workspace");
    }
    let history_db = db.clone();
    for warning in &config.directory.warnings {
        tracing::warn!("--auth-file (FALSCOPE_AUTH_FILE): {warning}");
    }
    let auth = auth::Auth::new(
        config.auth,
        config.directory.clone(),
        config.trusted_proxies.clone(),
        config.tls,
        db,
    );
    let mut alerts = config.alerts.clone();
    let ids: Vec<&str> = workspaces.iter().map(|w| w.id.as_str()).collect();
    alerts
        .assign_workspace(&ids)
        .map_err(|e| anyhow::anyhow!("--alerts-file (FALSCOPE_ALERTS_FILE): {e}"))?;
    let cluster = match &config.redis_url {
        Some(url) => cluster::Cluster::shared(
            cluster::Redis::connect(url).await?,
            namespace(&accounts_seen),
        ),
        None => cluster::Cluster::alone(),
    };
    match (&config.redis_url, &config.database_url) {
        (Some(_), None) => tracing::warn!("--redis-url without --database-url: replicas share fal's data, but each keeps its own sessions, alert rules, budgets, prices and history in its own --data-dir, and each sends its own alert notifications; give the replicas one Postgres with --database-url"),
        (None, Some(_)) => tracing::warn!("--database-url without --redis-url: if several replicas share this database, each reads fal on its own and each sends alert notifications; add --redis-url"),
        _ => {}
    }
    for w in &workspaces {
        w.logs.share_through(cluster.clone(), &w.id);
    }
    let csp = spa::content_security_policy(&assets).await;
    let settings = state::Settings {
        demo: demo.is_some(),
        max_upload: config.max_upload_bytes,
        db: history_db,
        clock,
        auth,
        csp,
        max_streams: config.max_streams,
        alerts,
        cluster,
    };
    let state = state::AppState::new(workspaces, settings);
    state.alerts.load().await;
    if let Some(unknown) = state
        .alerts
        .file_workspaces()
        .find(|id| state.workspace(id).is_err())
    {
        let configured: Vec<&str> = state
            .reports
            .workspaces()
            .iter()
            .map(|w| w.id.as_str())
            .collect();
        anyhow::bail!(
            "--alerts-file (FALSCOPE_ALERTS_FILE): a rule names workspace {unknown:?}, which is not configured; the workspaces are: {}{}",
            configured.join(", "),
            if demo.is_some() { " (demo mode has one workspace, \"demo\")" } else { "" }
        );
    }
    let jobs = Jobs {
        retention: chrono::Duration::days(i64::from(config.retention_days)),
        audit_retention: chrono::Duration::days(i64::from(config.audit_retention_days)),
        history_every: config.history_every,
        started: std::sync::atomic::AtomicBool::new(false),
    };
    let router = app(state.clone(), assets, config.rate_limit);
    Ok(Server {
        router,
        demo,
        state,
        jobs,
    })
}

/// What [`Server::start`] runs.
struct Jobs {
    retention: chrono::Duration,
    audit_retention: chrono::Duration,
    history_every: std::time::Duration,
    started: std::sync::atomic::AtomicBool,
}

impl Server {
    /// Starts the background jobs until shutdown: the live poller of each workspace, the
    /// alert evaluator, the cost history and pruning — each writing to a database the
    /// replicas share only while this replica holds its lease. Starting twice does nothing.
    pub fn start(&self) {
        if self
            .jobs
            .started
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        let (state, jobs) = (&self.state, &self.jobs);
        let cluster = state::job_cluster(&state.cluster, state.db.as_deref());
        let lease = |name: &str| {
            let lease = cluster::Lease::new(&cluster, name);
            lease.start(state.shutdown.clone());
            lease
        };
        state.alerts.lease().start(state.shutdown.clone());
        let samples = live::Samples {
            store: state.db.clone(),
            retention: jobs.retention,
            lease: lease("samples"),
        };
        for w in state.reports.workspaces() {
            let poll = live::poll(
                state.reports.clone(),
                samples.clone(),
                state.shutdown.clone(),
                w.clone(),
            );
            tokio::spawn(poll);
        }
        tokio::spawn(state.alerts.clone().run(state.shutdown.clone()));
        if let Some(db) = state.db.clone() {
            tokio::spawn(history::keep(
                state.reports.clone(),
                db.clone(),
                jobs.history_every,
                lease("cost-history"),
                state.shutdown.clone(),
            ));
            tokio::spawn(history::prune(
                state.reports.clone(),
                db,
                jobs.audit_retention,
                jobs.history_every,
                lease("prune"),
                state.shutdown.clone(),
            ));
        }
    }
}

/// SQLite in `--data-dir`; `None` (falscope keeps nothing) when the directory is not usable,
/// unless sessions must be kept there.
fn open_data_dir(config: &Config) -> anyhow::Result<Option<Arc<store::Store>>> {
    match store::Store::open(&config.data_dir) {
        Ok(s) => Ok(Some(s)),
        Err(err) if config.auth == cli::AuthMode::Token => {
            Err(anyhow::anyhow!(err)).with_context(|| {
                format!(
                    "--auth token keeps sessions in --data-dir (FALSCOPE_DATA_DIR) {}",
                    config.data_dir.display()
                )
            })
        }
        Err(err) => {
            // The dashboard works without history; say why the charts will be empty.
            tracing::warn!(error = %err, dir = %config.data_dir.display(), "--data-dir (FALSCOPE_DATA_DIR) is not usable, so falscope keeps nothing: no history charts on the Overview, no cost history beyond fal's query windows, no alert rules made in the UI and no alert history across restarts, no budgets or prices, no audit trail. Fix the directory's permissions or point --data-dir elsewhere; live views and fal's own data still work");
            Ok(None)
        }
    }
}

/// The Redis namespace of a configuration: replicas with the same fal accounts share their
/// keys (whatever their version: a rolling upgrade keeps one cluster; cached values carry the
/// version themselves); another falscope on the same Redis (other accounts) does not.
/// A digest, so no key can be read back from it.
fn namespace(accounts: &[config::Account]) -> String {
    use secrecy::ExposeSecret;
    let parts = accounts.iter().flat_map(|a| {
        [
            a.id.as_str(),
            a.base_url.as_str(),
            a.api_key.expose_secret(),
            a.admin_key.as_ref().map_or("", |k| k.expose_secret()),
        ]
    });
    digest::of_parts(parts, 8)
}

/// What falscope found when it first asked fal for a workspace's apps.
#[derive(Debug, Clone, PartialEq)]
pub enum Contact {
    /// fal answered with this many apps.
    Connected(usize),
    /// fal rejected the key (401/403): every page says so until it is fixed.
    KeyRejected,
    /// fal did not answer usefully; falscope serves and keeps trying.
    Unreachable(String),
}

/// How long start-up waits for fal's first answer per workspace.
const FIRST_CONTACT: std::time::Duration = std::time::Duration::from_secs(10);

/// Asks fal for each workspace's apps once, before falscope says it is running: the log says
/// whether the key works, and a rule of the alerts file naming an app fal does not list is
/// refused (as the API refuses it) — when fal could not be asked, the rule says so on
/// `/alerts` instead.
pub async fn first_contact(state: &state::AppState) -> anyhow::Result<Vec<(String, Contact)>> {
    // Every workspace at once: start-up waits for the slowest, not for their sum.
    let contacts = futures::future::join_all(state.reports.workspaces().iter().map(|w| async {
        let contact = match tokio::time::timeout(FIRST_CONTACT, state.reports.apps(&w.id)).await {
            Ok(Ok(apps)) => Contact::Connected(apps.value.len()),
            Ok(Err(error::AppError::Upstream(upstream::UpstreamError::Credentials { .. }))) => {
                Contact::KeyRejected
            }
            Ok(Err(e)) => Contact::Unreachable(e.to_string()),
            Err(_) => {
                Contact::Unreachable(format!("no answer within {} s", FIRST_CONTACT.as_secs()))
            }
        };
        (w.id.clone(), contact)
    }))
    .await;
    // Rules of the file only: one made in the UI was checked when it was made, and an app
    // deleted since must not stop falscope from starting (the rule says so on /alerts).
    for rule in state.alerts.rules() {
        let Some(app) = rule
            .app
            .as_deref()
            .filter(|_| rule.source == RuleSource::File)
        else {
            continue;
        };
        let connected = contacts
            .iter()
            .any(|(ws, c)| *ws == rule.workspace && matches!(c, Contact::Connected(_)));
        if connected {
            if let Err(e) = state.reports.app_named(&rule.workspace, app).await {
                anyhow::bail!(
                    "--alerts-file (FALSCOPE_ALERTS_FILE): rule {:?}: {e}",
                    rule.id
                );
            }
        }
    }
    Ok(contacts)
}

/// Runs falscope until Ctrl-C / SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let server = build(&config).await?;
    server.start();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "while binding {} (--listen / FALSCOPE_LISTEN)",
                config.listen
            )
        })?;
    let url = format!("http://{}", listener.local_addr()?);
    for (ws, contact) in first_contact(&server.state).await? {
        match contact {
            Contact::Connected(apps) => tracing::info!(workspace = %ws, apps, "fal answered"),
            Contact::KeyRejected => {
                tracing::error!(workspace = %ws, "fal rejected the key of this workspace (FAL_KEY, or api_key_env in --workspaces): every page will say so until it is replaced")
            }
            Contact::Unreachable(why) => {
                tracing::warn!(workspace = %ws, %why, "fal is not answering; falscope serves and keeps trying")
            }
        }
    }
    let mode = if server.demo.is_some() {
        "demo mode: simulated fal data"
    } else {
        "fal"
    };
    tracing::info!(%url, mode, "falscope is running at {url}");
    let shutdown = server.state.shutdown.clone();
    tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down: closing live streams");
            shutdown.cancel();
        }
    });
    let options = server::Options {
        max_connections: config.max_connections as usize,
        trusted: config.trusted_proxies.clone(),
        max_age: server::MAX_CONNECTION_AGE,
    };
    server::serve(listener, server.router, shutdown, options).await;
    Ok(())
}
