//! Servers some tests need beside falscope — Redis (and Postgres) from the machine's
//! packages, each started in its own temporary directory on a Unix socket or a loopback port,
//! and stopped when dropped. `cargo xtask bootstrap` installs them.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long a server may take to start.
const START_WITHIN: Duration = Duration::from_secs(20);

/// Waits until `ready`, failing the test after [`START_WITHIN`].
async fn wait_until<F, Fut>(what: &str, ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    crate::eventually(START_WITHIN, format!("{what} starts"), ready).await;
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

/// A Postgres cluster of its own in a temporary directory, listening on a Unix socket there
/// only (no TCP), with `fsync` off (a test database). Started as the `postgres` user when the
/// tests run as root (Postgres refuses root).
pub struct PostgresServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    running: bool,
}

impl PostgresServer {
    /// Creates and starts one.
    pub async fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .filter_map(Result::ok)
                    .map(|v| v.path().join("bin"))
                    .filter(|b| b.join("initdb").exists())
                    .max()
            })
            .unwrap_or_else(|| {
                panic!("Postgres is not installed: run `cargo xtask bootstrap` (it installs postgresql from the machine's packages)")
            });
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut this = Self {
            dir,
            bin,
            running: false,
        };
        if as_root() {
            let status = Command::new("chown")
                .arg("postgres")
                .arg(this.dir.path())
                .status()
                .await
                .expect("chown runs");
            assert!(status.success(), "chown postgres {:?}", this.dir.path());
        }
        let data = this.data();
        this.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "falscope",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        .await;
        this.restart().await;
        this
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Its URL, for `--database-url`.
    pub fn url(&self) -> String {
        format!(
            "host={} user=falscope dbname=postgres",
            self.dir.path().display()
        )
    }

    async fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        let out = command
            .args(args)
            .output()
            .await
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it (again), waiting until it accepts connections.
    pub async fn restart(&mut self) {
        self.pg_ctl(&["-w", "start"]).await;
    }

    /// Restarts it as an operator does (`pg_ctl restart -m fast`: open connections are
    /// terminated, new ones refused while it shuts down and starts up).
    pub async fn fast_restart(&mut self) {
        self.pg_ctl(&["-m", "fast", "-w", "restart"]).await;
    }

    /// `pg_ctl` with its data directory, the server's options (a Unix socket only, no fsync)
    /// and its log, then `action`; the server runs afterwards.
    async fn pg_ctl(&mut self, action: &[&str]) {
        let data = self.data();
        let options = format!(
            "-k {} -c listen_addresses= -c fsync=off -c full_page_writes=off",
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let mut args = vec!["-D", data.as_str(), "-o", &options, "-l", &log];
        args.extend_from_slice(action);
        self.run("pg_ctl", &args).await;
        self.running = true;
    }

    /// Stops it at once (as a crash would: no checkpoint).
    pub async fn stop(&mut self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"])
            .await;
        self.running = false;
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if self.running {
            let path = self.bin.join("pg_ctl");
            let data = self.data();
            let mut command = if as_root() {
                let mut c = std::process::Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(path);
                c
            } else {
                std::process::Command::new(path)
            };
            let _ = command
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .output();
        }
    }
}

fn as_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1))
                == Some("0")
        })
}
