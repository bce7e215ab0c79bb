//! Test harness: spawn falscope (demo mode or against a given simulator) on `127.0.0.1:0` and
//! talk to it over real HTTP.

pub mod auth;
pub mod browser;
pub mod cluster;
pub mod services;
pub mod sim;

use backend::cli::Cli;
use backend::config::Config;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// A running falscope for one test; dropping it stops the server and its demo simulator.
pub struct TestApp {
    /// Bound address.
    pub addr: SocketAddr,
    /// A client for calling it.
    pub http: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    /// The embedded simulator (demo mode).
    pub demo: Option<backend::simulator::SimServer>,
    /// The app's state (cache, workspaces).
    pub state: backend::state::AppState,
    /// Its data directory, removed with the app.
    pub data_dir: tempfile::TempDir,
}

impl TestApp {
    /// falscope over `sim` (with its ADMIN key) in `--auth token` with `auth`'s users and
    /// tokens, no per-caller rate limit, and `extra` arguments.
    pub async fn spawn_token_mode(
        sim: &sim::SimHarness,
        auth: &auth::AuthFixture,
        extra: &[&str],
    ) -> Self {
        let file = auth.arg();
        let mut args = vec!["--auth", "token", "--auth-file", &file, "--rate-limit", "0"];
        args.extend_from_slice(extra);
        Self::spawn_with_sim(sim, true, &args).await
    }

    /// falscope in demo mode with the given extra CLI arguments.
    pub async fn spawn_demo(args: &[&str]) -> Self {
        Self::spawn_demo_edited(args, |_| {}).await
    }

    /// [`TestApp::spawn_demo`] with `edit` applied to the parsed config.
    pub async fn spawn_demo_edited(args: &[&str], edit: impl FnOnce(&mut Config)) -> Self {
        let argv = ["falscope", "--listen", "127.0.0.1:0"].iter().chain(args);
        let cli = cli(argv);
        let mut config = Config::try_from(cli.serve).expect("test config is valid");
        edit(&mut config);
        // Tests must never see a developer's real key.
        config.upstream = backend::config::Upstream::Demo;
        Self::spawn(config).await
    }

    /// falscope against an already running simulator, with `args` (e.g. `--max-upload-mb 1`);
    /// `admin` decides whether the ADMIN key is configured.
    pub async fn spawn_with_sim(sim: &sim::SimHarness, admin: bool, args: &[&str]) -> Self {
        Self::spawn_with_sim_keys(sim, sim::API_KEY, admin.then_some(sim::ADMIN_KEY), args).await
    }

    /// [`TestApp::spawn_with_sim`] with explicit fal keys.
    pub async fn spawn_with_sim_keys(
        sim: &sim::SimHarness,
        api_key: &str,
        admin_key: Option<&str>,
        args: &[&str],
    ) -> Self {
        Self::spawn_with_sim_edited(sim, api_key, admin_key, args, |_| {}).await
    }

    /// [`TestApp::spawn_with_sim_keys`], with `edit` applied to the parsed config (settings a
    /// command line cannot carry in a test, such as an alerts file read with a test's own
    /// environment).
    pub async fn spawn_with_sim_edited(
        sim: &sim::SimHarness,
        api_key: &str,
        admin_key: Option<&str>,
        args: &[&str],
        edit: impl FnOnce(&mut Config),
    ) -> Self {
        let argv = ["falscope", "--listen", "127.0.0.1:0"].iter().chain(args);
        let cli = cli(argv);
        let mut config = Config::try_from(cli.serve).expect("test config is valid");
        edit(&mut config);
        config.upstream = backend::config::Upstream::Fal(vec![backend::config::Account {
            id: "default".into(),
            name: "default".into(),
            base_url: sim.server.base_url(),
            api_key: api_key.to_owned().into(),
            admin_key: admin_key.map(|k| k.to_owned().into()),
        }]);
        // falscope reads time from the simulator's clock, so `now-6h` means the same to both.
        Self::spawn_with_clock(config, sim.clock.clone()).await
    }

    /// falscope serving one workspace per `(id, simulator)`, each with both keys.
    pub async fn spawn_with_workspaces(sims: &[(&str, &sim::SimHarness)]) -> Self {
        let cli = cli(["falscope", "--listen", "127.0.0.1:0"].iter());
        let mut config = Config::try_from(cli.serve).expect("test config is valid");
        config.upstream = backend::config::Upstream::Fal(
            sims.iter()
                .map(|(id, s)| backend::config::Account {
                    id: (*id).into(),
                    name: format!("Workspace {id}"),
                    base_url: s.server.base_url(),
                    api_key: sim::API_KEY.to_owned().into(),
                    admin_key: Some(sim::ADMIN_KEY.to_owned().into()),
                })
                .collect(),
        );
        let clock = sims.first().map_or_else(
            || {
                std::sync::Arc::new(backend::clock::SystemClock)
                    as std::sync::Arc<dyn backend::clock::Clock>
            },
            |(_, s)| s.clock.clone() as std::sync::Arc<dyn backend::clock::Clock>,
        );
        Self::spawn_with_clock(config, clock).await
    }

    /// falscope with an explicit config.
    pub async fn spawn(config: Config) -> Self {
        Self::spawn_with_clock(config, std::sync::Arc::new(backend::clock::SystemClock)).await
    }

    /// falscope with an explicit config and clock.
    pub async fn spawn_with_clock(
        mut config: Config,
        clock: std::sync::Arc<dyn backend::clock::Clock>,
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp data dir");
        config.data_dir = data_dir.path().to_owned();
        let built = backend::build_with_clock(&config, clock)
            .await
            .expect("falscope builds");
        built.start();
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let router = built.router;
        let shutdown = built.state.shutdown.clone();
        let options = backend::server::Options {
            max_connections: config.max_connections as usize,
            trusted: config.trusted_proxies.clone(),
            max_age: backend::server::MAX_CONNECTION_AGE,
        };
        let server = tokio::spawn(backend::server::serve(listener, router, shutdown, options));
        Self {
            addr,
            // Idle connections are dropped before the server's header deadline closes them
            // (a reused connection the server just closed fails with IncompleteMessage).
            http: reqwest::Client::builder()
                .pool_idle_timeout(backend::server::HEADER_TIMEOUT / 2)
                .build()
                .expect("an HTTP client"),
            server,
            demo: built.demo,
            state: built.state,
            data_dir,
        }
    }

    /// Stops the server as a restart would (live streams end, the port is freed), and waits
    /// until it has.
    /// A panic of the server task fails the test here, with its message.
    pub async fn stop(&mut self) {
        self.state.shutdown.cancel();
        if let Err(e) = (&mut self.server).await {
            if e.is_panic() {
                let payload = e.into_panic();
                let message = (payload.downcast_ref::<&str>().copied())
                    .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("(not a string)");
                panic!("falscope's server task panicked: {message}");
            }
            panic!("falscope's server task did not finish: {e}");
        }
    }

    /// Waits (20 s at most) until the background job has written the daily cost history of the
    /// `default` workspace once (it reads usage at start, then hourly).
    pub async fn wait_for_cost_history(&self) {
        let db = self.state.db.clone().expect("a usable data directory");
        let since = chrono::NaiveDate::MIN;
        let today = self.state.now().date_naive();
        let written = || async {
            let days = db.daily_cost_totals("default", since, today).await;
            days.is_ok_and(|d| !d.is_empty())
        };
        eventually(Duration::from_secs(20), "the daily cost history", written).await;
    }

    /// `http://addr` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// GET `path`, returning the response.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request reaches falscope")
    }
}

/// The command line `argv`, ignoring the environment: a developer's own `FAL_KEY` or
/// `FALSCOPE_*` must not change what a test runs.
fn cli<'a>(argv: impl Iterator<Item = &'a &'a str>) -> Cli {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command()
        .mut_args(|a| a.env(None::<&'static str>))
        .try_get_matches_from(argv.copied())
        .expect("test arguments parse");
    Cli::from_arg_matches(&matches).expect("test arguments map")
}

/// `/api/ws/default/...` (the workspace of a falscope spawned with a key).
pub fn ws_path(template: &str) -> String {
    shared::routes::ws::path(template, "default")
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stops the pollers and ends open streams.
        self.state.shutdown.cancel();
        self.server.abort();
    }
}

/// Runs `promtool check metrics` on `text`; returns (success, report).
pub async fn promtool(text: &str) -> (bool, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus; cargo xtask test installs it)");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(text.as_bytes())
        .await
        .expect("write to promtool");
    drop(stdin);
    let out = child.wait_with_output().await.expect("promtool runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// What a check polled by [`eventually`] answers: done with a value, or not yet (and why).
pub trait Outcome {
    /// What the check yields once done.
    type Value;
    /// The value, or why the check is not done yet (said when the wait times out).
    fn outcome(self) -> Result<Self::Value, String>;
}

impl Outcome for bool {
    type Value = ();
    fn outcome(self) -> Result<(), String> {
        self.then_some(()).ok_or_else(|| "false".to_owned())
    }
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn outcome(self) -> Result<T, String> {
        self.ok_or_else(|| "None".to_owned())
    }
}

impl<T, E: std::fmt::Display> Outcome for Result<T, E> {
    type Value = T;
    fn outcome(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// How often a poll checks again.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// Runs `check` every 20 ms until it is done and returns its value; `Err` with the last reason
/// it gave when `within` passes first (a check that hangs counts: the deadline covers it too).
/// The one poll loop of the tests; most want [`eventually`].
pub async fn poll_until<O: Outcome, Fut: Future<Output = O>>(
    within: Duration,
    mut check: impl FnMut() -> Fut,
) -> Result<O::Value, String> {
    let mut last = String::from("the first check did not finish");
    let poll = async {
        loop {
            match check().await.outcome() {
                Ok(v) => return v,
                Err(why) => last = why,
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    };
    match tokio::time::timeout(within, poll).await {
        Ok(v) => Ok(v),
        Err(_) => Err(last),
    }
}

/// Runs `check` every 20 ms until it is done (`true`, `Some(v)`, `Ok(v)`) and returns its
/// value; fails the test, saying `what` it waited for and the check's last answer, when
/// `within` passes first. No test sleeps for a fixed time hoping something happened.
pub async fn eventually<O: Outcome, Fut: Future<Output = O>>(
    within: Duration,
    what: impl std::fmt::Display,
    check: impl FnMut() -> Fut,
) -> O::Value {
    poll_until(within, check)
        .await
        .unwrap_or_else(|last| panic!("{what}: not within {within:?} (last: {last})"))
}

/// Tests that run whole clusters of `falscope` processes (the fail-over tests) hold this for
/// writing, browser tests for reading: on a small machine a browser starved of CPU by a
/// cluster misses its deadlines, so the two kinds never run at once (each kind still runs in
/// parallel with itself and with every other test).
pub static HEAVY: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Pages a listing walk reads at most before the test fails.
pub const MAX_PAGES: usize = 500;

/// How long a listing walk may take before the test fails.
pub const PAGING_DEADLINE: Duration = Duration::from_secs(60);

/// Every item of a cursor-paged listing, in order: `page(cursor)` reads one page (the first
/// with `None`) and returns its items and the next cursor. A listing that never ends fails the
/// test instead of hanging it: after [`MAX_PAGES`] pages, after [`PAGING_DEADLINE`], or as soon
/// as a cursor comes back.
pub async fn all_pages<T, Fut: Future<Output = (Vec<T>, Option<String>)>>(
    mut page: impl FnMut(Option<String>) -> Fut,
) -> Vec<T> {
    let walk = async {
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cursor = None;
        for _ in 0..MAX_PAGES {
            let (more, next) = page(cursor.take()).await;
            items.extend(more);
            let Some(next) = next else {
                return items;
            };
            assert!(
                seen.insert(next.clone()),
                "cursor {next:?} came back on page {}: the listing goes round",
                seen.len() + 1
            );
            cursor = Some(next);
        }
        panic!("more than {MAX_PAGES} pages: the listing does not end");
    };
    tokio::time::timeout(PAGING_DEADLINE, walk)
        .await
        .unwrap_or_else(|_| panic!("a listing walk took more than {PAGING_DEADLINE:?}"))
}
