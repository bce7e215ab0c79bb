//! A local cluster of real processes, as a deployment runs it: Postgres and Redis (from the
//! machine's packages), the fal simulator, N falscope replicas sharing both, and nginx
//! round-robin in front. `cargo xtask cluster` runs one for people; `cargo xtask bench`
//! measures one.

use crate::services::{PostgresServer, RedisServer};
use anyhow::Context;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// The simulator's keys in a cluster.
pub const API_KEY: &str = "cluster-api-key";
/// The simulator's ADMIN key in a cluster.
pub const ADMIN_KEY: &str = "cluster-admin-key";

/// A free loopback port.
pub fn port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Polls `url` until it answers 2xx (20 s at most).
pub async fn wait_ready(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let answered = || async {
        let resp = http.get(url).send().await?;
        resp.error_for_status().map(drop)
    };
    crate::poll_until(Duration::from_secs(20), answered)
        .await
        .map_err(|last| anyhow::anyhow!("{url} never answered: {last}"))
}

/// Debian installs nginx in /usr/sbin, which is not on a non-root user's PATH.
pub fn nginx_bin() -> &'static str {
    if Path::new("/usr/sbin/nginx").exists() {
        "/usr/sbin/nginx"
    } else {
        "nginx"
    }
}

/// A running cluster; dropping it stops everything.
pub struct Cluster {
    /// nginx in front: the URL users open.
    pub url: String,
    /// The simulator (`/_sim/stats` counts fal calls).
    pub sim: String,
    /// Each replica's own URL.
    pub replicas: Vec<String>,
    children: Vec<Option<Child>>,
    _nginx: Child,
    nginx_args: [String; 4],
    /// Redis; `None` for replicas that share nothing (the comparison point).
    pub redis: Option<RedisServer>,
    /// Postgres.
    pub postgres: Option<PostgresServer>,
    dir: tempfile::TempDir,
}

/// How the replicas of a [`Cluster`] are set up.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// falscope replicas behind nginx.
    pub replicas: usize,
    /// Share Redis and Postgres (`false`: each replica alone, with its own SQLite).
    pub shared: bool,
    /// nginx's port (0: any free one).
    pub port: u16,
}

impl Cluster {
    /// Starts the simulator, the shared services, the replicas and nginx, and waits until
    /// nginx answers.
    pub async fn start(bin: &Path, layout: Layout) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let (redis, postgres) = if layout.shared {
            (
                Some(RedisServer::start().await),
                Some(PostgresServer::start().await),
            )
        } else {
            (None, None)
        };
        let sp = port()?;
        let sim = format!("http://127.0.0.1:{sp}");
        let quiet = |c: &mut Command| {
            c.env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .kill_on_drop(true);
        };
        let mut simulate = Command::new(bin);
        simulate
            .args(["simulate", "--listen", &format!("127.0.0.1:{sp}")])
            .args(["--api-key", API_KEY, "--admin-key", ADMIN_KEY]);
        quiet(&mut simulate);
        let mut children = vec![Some(simulate.spawn().context("starting the simulator")?)];
        let http = reqwest::Client::new();
        wait_ready(&http, &format!("{sim}/_sim/stats")).await?;
        let mut replicas = Vec::new();
        for i in 0..layout.replicas {
            let p = port()?;
            let mut c = Command::new(bin);
            c.args(["--listen", &format!("127.0.0.1:{p}")])
                .args(["--rate-limit", "0", "--max-streams", "100000"])
                .env("FAL_KEY", API_KEY)
                .env("FAL_ADMIN_KEY", ADMIN_KEY)
                .env("FAL_BASE_URL", &sim)
                .env("FALSCOPE_DATA_DIR", dir.path().join(format!("data-{i}")));
            if let (Some(r), Some(pg)) = (&redis, &postgres) {
                c.env("FALSCOPE_REDIS_URL", r.url())
                    .env("FALSCOPE_DATABASE_URL", pg.url());
            }
            quiet(&mut c);
            children.push(Some(c.spawn().context("starting a falscope replica")?));
            replicas.push(format!("http://127.0.0.1:{p}"));
        }
        for r in &replicas {
            wait_ready(&http, &format!("{r}/healthz")).await?;
        }
        let port = if layout.port == 0 {
            port()?
        } else {
            layout.port
        };
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir.path(), port, &replicas))?;
        let nginx_args = [
            "-p".to_owned(),
            dir.path().display().to_string(),
            "-c".to_owned(),
            conf.display().to_string(),
        ];
        // Not killed on drop: a killed master leaves its workers behind; `Drop` stops it.
        let nginx = Command::new(nginx_bin())
            .args(&nginx_args)
            .spawn()
            .context("starting nginx (Debian package nginx; cargo xtask cluster installs it)")?;
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&http, &format!("{url}/healthz")).await?;
        Ok(Self {
            url,
            sim,
            replicas,
            children,
            _nginx: nginx,
            nginx_args,
            redis,
            postgres,
            dir,
        })
    }

    /// Kills replica `i` (as a crash would).
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children.get_mut(i + 1).and_then(Option::take) {
            let _ = c.kill().await;
        }
    }

    /// The simulator's count of calls to `op`.
    pub async fn fal_calls(&self, op: &str) -> anyhow::Result<u64> {
        fal_calls(&self.sim, op).await
    }

    /// Where the cluster keeps its files (nginx's log, each replica's data directory).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The count of calls to `op` of the simulator at `sim` (`GET /_sim/stats`).
pub async fn fal_calls(sim: &str, op: &str) -> anyhow::Result<u64> {
    let stats: serde_json::Value = reqwest::get(format!("{sim}/_sim/stats"))
        .await?
        .json()
        .await?;
    Ok(stats[op].as_u64().unwrap_or(0))
}

/// Stops the nginx started with `args` (`-p … -c …`): killing its master leaves its workers
/// behind, so the master is asked to stop them.
pub fn stop_nginx(args: &[String]) {
    let _ = std::process::Command::new(nginx_bin())
        .args(args)
        .args(["-s", "stop"])
        .output();
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop_nginx(&self.nginx_args);
    }
}

fn nginx_conf(dir: &Path, port: u16, replicas: &[String]) -> String {
    let d = dir.display();
    let servers: String = replicas
        .iter()
        .map(|r| format!("server {}; ", r.trim_start_matches("http://")))
        .collect();
    format!(
        "daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    upstream falscope {{ {servers}keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://falscope;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            # Live views are Server-Sent Events: pass each event on at once.
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"
    )
}
