//! Servers some tests need beside falscope — Redis (and Postgres) from the machine's
//! packages, each started in its own temporary directory on a Unix socket or a loopback port,
//! and stopped when dropped. `cargo xtask bootstrap` installs them.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long a server may take to start.
const START_WITHIN: Duration = Duration::from_secs(20);

/// Polls `ready` every 10 ms until it is true, failing the test after [`START_WITHIN`].
async fn wait_until<F, Fut>(what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + START_WITHIN;
    while !ready().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} did not start within {START_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn program(name: &str, dirs: &[&str]) -> PathBuf {
    dirs.iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: run `cargo xtask bootstrap` (it installs it from the machine's packages)")
        })
}

/// A `redis-server` on a Unix socket, with no persistence.
pub struct RedisServer {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one and waits until it answers.
    pub async fn start() -> Self {
        let mut this = Self {
            dir: tempfile::tempdir().expect("a temporary directory"),
            child: None,
        };
        this.restart().await;
        this
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }

    /// Its URL, for `--redis-url`.
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Starts it again after [`RedisServer::stop`] (same socket, empty).
    pub async fn restart(&mut self) {
        let bin = program("redis-server", &["/usr/bin", "/usr/local/bin", "/usr/sbin"]);
        let child = Command::new(bin)
            .args(["--port", "0", "--save", "", "--appendonly", "no"])
            .arg("--unixsocket")
            .arg(self.socket())
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let socket = self.socket();
        wait_until("redis-server", || {
            let socket = socket.clone();
            async move { tokio::net::UnixStream::connect(socket).await.is_ok() }
        })
        .await;
    }

    /// Kills it (as a crash would) and waits until it is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_file(self.socket());
    }
}
