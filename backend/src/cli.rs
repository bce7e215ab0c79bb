//! Command-line interface. Every option has an environment variable; secrets only ever come in
//! through the environment or a flag and are wrapped immediately so `Debug` cannot print them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What `falscope --version` prints: the Cargo version, plus the git commit of a release
/// build made from a checkout (`backend/build.rs`).
pub const VERSION: &str = env!("FALSCOPE_VERSION");

/// falscope: a self-hosted dashboard for fal.ai serverless apps.
#[derive(Debug, Parser)]
#[command(
    name = "falscope",
    version = VERSION,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to run; without a subcommand falscope serves the dashboard.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the dashboard server.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Log output format.
    #[arg(long, env = "FALSCOPE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
}

/// Subcommands besides serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the fal Platform API simulator (same paths, auth, errors and data shapes as fal).
    Simulate(SimulateArgs),
    /// Print an argon2 hash for the auth file: of a password read from standard input, or of a
    /// new random API token (`--new-token`, printed once with its hash).
    HashPassword(HashPasswordArgs),
    /// Day-one check against your fal account (FAL_KEY, FAL_ADMIN_KEY, --fal-base-url,
    /// --workspaces): calls every operation falscope reads once, read-only, and prints what fal
    /// answered and whether falscope understood it. Exits 0 only when everything works.
    Check(CheckArgs),
    /// Copy the SQLite database of --data-dir (FALSCOPE_DATA_DIR) to a file, consistently, while
    /// falscope runs (SQLite's online backup). With Postgres (--database-url) use pg_dump.
    Backup(BackupArgs),
}

/// Options of `falscope backup`.
#[derive(Debug, Clone, clap::Args)]
pub struct BackupArgs {
    /// The copy to write (replaced only once it is complete).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// The data directory to copy from (as for serving; FALSCOPE_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Postgres is backed up with pg_dump, not this command (as for serving;
    /// FALSCOPE_DATABASE_URL).
    #[arg(long, value_name = "URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
}

/// Options of `falscope check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Save each raw answer (keys redacted) in this directory, to attach to a bug report.
    #[arg(long, value_name = "DIR")]
    pub record: Option<std::path::PathBuf>,
    /// Base URL of fal's Platform API (as for serving; FAL_BASE_URL).
    #[arg(long, value_name = "URL", value_parser = base_url)]
    pub fal_base_url: Option<url::Url>,
    /// Workspaces file to check every account of (as for serving; FALSCOPE_WORKSPACES).
    #[arg(long, value_name = "FILE")]
    pub workspaces: Option<PathBuf>,
}

/// Options of `falscope hash-password`.
#[derive(Debug, Args)]
pub struct HashPasswordArgs {
    /// Generate a random API token instead of reading a password.
    #[arg(long)]
    pub new_token: bool,
}

/// Options of `falscope` (serve).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the dashboard listens on.
    #[arg(long, env = "FALSCOPE_LISTEN", default_value = "127.0.0.1:8080", value_parser = listen_address)]
    pub listen: SocketAddr,
    /// Base URL of fal's Platform API (`/v1` is appended by the client).
    #[arg(long, env = "FAL_BASE_URL", default_value = "https://api.fal.ai", value_parser = base_url)]
    pub fal_base_url: url::Url,
    /// fal API-scoped key. Without it falscope starts in demo mode on its embedded simulator.
    /// Prefer the environment variable: command lines are visible to other local users.
    #[arg(long, env = "FAL_KEY", hide_env_values = true)]
    pub fal_key: Option<SecretString>,
    /// fal ADMIN-scoped key, needed for usage and billing.
    #[arg(long, env = "FAL_ADMIN_KEY", hide_env_values = true)]
    pub fal_admin_key: Option<SecretString>,
    /// TOML file defining several workspaces (fal accounts); replaces FAL_KEY/FAL_ADMIN_KEY.
    /// Each `[[workspace]]` has `id`, `name`, `api_key_env`, optional `admin_key_env` and
    /// `base_url`; keys are read from the named environment variables, never from the file.
    #[arg(long, env = "FALSCOPE_WORKSPACES")]
    pub workspaces: Option<PathBuf>,
    /// Directory for falscope's own data (stored metric history).
    #[arg(long, env = "FALSCOPE_DATA_DIR", default_value = "falscope-data")]
    pub data_dir: PathBuf,
    /// Postgres for what falscope stores (sessions, audit, alert rules and history, budgets,
    /// prices, watched models, samples, cost history), shared by several replicas
    /// (`postgres://user:password@host:5432/falscope`). Without it: SQLite in --data-dir.
    #[arg(long, env = "FALSCOPE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<SecretString>,
    /// Redis (≥ 6, or Valkey) shared by several replicas: the cache, single flight across
    /// replicas, the jobs that run once, and rate limits (`redis://host:6379`). Without it each
    /// replica works alone.
    #[arg(long, env = "FALSCOPE_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<SecretString>,
    /// How users authenticate: `none` (loopback only), `token` or `proxy`.
    #[arg(long, env = "FALSCOPE_AUTH", value_enum, default_value_t = AuthMode::None)]
    pub auth: AuthMode,
    /// Demo mode only (no fal key): let `--auth none` listen on any address, as inside a
    /// container whose port is published on the host's loopback. Requests must still name
    /// localhost and come through no proxy; with a fal key this has no effect.
    #[arg(long, env = "FALSCOPE_DEMO_LISTEN_ANY")]
    pub demo_listen_any: bool,
    /// Comma-separated CIDRs of reverse proxies whose identity and X-Forwarded-For headers are
    /// believed (required with `--auth proxy`; empty trusts nobody).
    #[arg(long, env = "FALSCOPE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// TOML file of users, API tokens, proxy headers, group roles and workspace limits
    /// (required with `--auth token`).
    #[arg(long, env = "FALSCOPE_AUTH_FILE")]
    pub auth_file: Option<PathBuf>,
    /// TOML file of alert rules, webhooks (URLs and HMAC keys from environment variables)
    /// and delivery retries; rules can also be made on the Alerts page.
    #[arg(long, env = "FALSCOPE_ALERTS_FILE")]
    pub alerts_file: Option<PathBuf>,
    /// The URL users reach falscope at. `https://` turns on Secure cookies and HSTS.
    #[arg(long, env = "FALSCOPE_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Requests per second each user (or client address) may make, with bursts of ten times
    /// that; 0 turns rate limiting off.
    #[arg(long, env = "FALSCOPE_RATE_LIMIT", default_value_t = 20)]
    pub rate_limit: u32,
    /// Live streams (SSE) each user may hold open at once.
    #[arg(long, env = "FALSCOPE_MAX_STREAMS", default_value_t = 16)]
    pub max_streams: u32,
    /// Open connections at most; past it new ones wait (and the log says so).
    #[arg(long, env = "FALSCOPE_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Days of stored live samples to keep.
    #[arg(long, env = "FALSCOPE_RETENTION_DAYS", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: u32,
    /// Days of audit trail and alert history to keep (at most 100,000 audit rows either way).
    #[arg(long, env = "FALSCOPE_AUDIT_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_retention_days: u32,
    /// Largest file upload accepted, in MiB (larger uploads get 413).
    #[arg(long, env = "FALSCOPE_MAX_UPLOAD_MB", default_value_t = 512)]
    pub max_upload_mb: u64,
    /// Serve the frontend from this directory instead of the copy built into the binary.
    #[arg(long, env = "FALSCOPE_DIST_DIR")]
    pub dist_dir: Option<PathBuf>,
}

/// Options of `falscope simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address the simulator listens on.
    #[arg(long, env = "FAL_SIM_LISTEN", default_value = "127.0.0.1:8090", value_parser = listen_address)]
    pub listen: SocketAddr,
    /// API-scoped key the simulator accepts.
    #[arg(
        long,
        env = "FAL_SIM_API_KEY",
        default_value = "sim-api-key",
        hide_env_values = true
    )]
    pub api_key: SecretString,
    /// ADMIN-scoped key the simulator accepts.
    #[arg(
        long,
        env = "FAL_SIM_ADMIN_KEY",
        default_value = "sim-admin-key",
        hide_env_values = true
    )]
    pub admin_key: SecretString,
    /// Seed of the simulated world; the same seed gives the same apps, traffic and logs.
    #[arg(long, env = "FAL_SIM_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Vary answers within fal's contract: added fields, optional fields left out, numbers
    /// written as floats, log stream keep-alives up to a minute apart.
    #[arg(long, env = "FAL_SIM_SHAPE_VARIATION")]
    pub shape_variation: bool,
}

/// Authentication modes (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// No login; refused unless listening on a loopback address.
    None,
    /// Users and API tokens from a config file.
    Token,
    /// Identity headers from a trusted reverse proxy (SSO).
    Proxy,
}

/// Log output formats (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl From<AuthMode> for shared::auth::AuthMode {
    fn from(m: AuthMode) -> Self {
        match m {
            AuthMode::None => Self::None,
            AuthMode::Token => Self::Token,
            AuthMode::Proxy => Self::Proxy,
        }
    }
}

/// `host:port` with a host name (`localhost:8080`) or an address (`0.0.0.0:8080`,
/// `[::1]:8080`): a name is resolved once, at start, to its first address.
pub fn listen_address(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let hint = "expected host:port, e.g. 127.0.0.1:8080, localhost:8080 or [::]:8080";
    if !s
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
    {
        return Err(hint.to_owned());
    }
    let mut addrs = s
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {s:?} ({e}); {hint}"))?;
    addrs
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address; {hint}"))
}

/// An absolute `http(s)://` URL.
pub fn base_url(s: &str) -> Result<url::Url, String> {
    let hint = "expected an absolute http(s) URL, e.g. https://api.fal.ai";
    let url = url::Url::parse(s).map_err(|e| format!("{e}; {hint}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(hint.to_owned());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn check_takes_the_fal_options_it_documents_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "falscope",
            "check",
            "--fal-base-url",
            "http://127.0.0.1:8090",
            "--workspaces",
            "w.toml",
            "--record",
            "answers",
        ])
        .unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check");
        };
        assert_eq!(
            args.fal_base_url.unwrap().as_str(),
            "http://127.0.0.1:8090/"
        );
        assert_eq!(args.workspaces.unwrap(), PathBuf::from("w.toml"));
    }
}
