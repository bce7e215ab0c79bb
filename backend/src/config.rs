//! Validated server configuration, built from the CLI before anything starts.
//! Errors name the flag and variable to fix.

use crate::auth::directory::Directory;
use crate::cli::{AuthMode, ServeArgs};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// One fal account falscope serves.
#[derive(Debug, Clone)]
pub struct Account {
    /// Workspace id (URLs, cache keys).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Base URL without `/v1`.
    pub base_url: Url,
    /// API-scoped key.
    pub api_key: SecretString,
    /// ADMIN-scoped key, for usage and billing.
    pub admin_key: Option<SecretString>,
}

/// Where falscope gets its fal data from.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// Real fal accounts (or fal-compatible servers), one workspace each.
    Fal(Vec<Account>),
    /// No `FAL_KEY`: an embedded simulator on a loopback port, reached over real HTTP.
    Demo,
}

/// The workspaces file (`--workspaces`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspacesFile {
    workspace: Vec<WorkspaceEntry>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkspaceEntry {
    id: String,
    name: Option<String>,
    api_key_env: String,
    admin_key_env: Option<String>,
    base_url: Option<Url>,
}

/// The validated configuration of `falscope` (serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Data source.
    pub upstream: Upstream,
    /// The workspaces file the accounts came from (`--workspaces`), if any.
    pub workspaces_file: Option<PathBuf>,
    /// Directory for falscope's own data.
    pub data_dir: PathBuf,
    /// `--database-url`: Postgres instead of SQLite in `data_dir`.
    pub database_url: Option<secrecy::SecretString>,
    /// `--redis-url`: shared with other replicas.
    pub redis_url: Option<secrecy::SecretString>,
    /// Authentication mode.
    pub auth: AuthMode,
    /// Reverse proxies trusted for identity headers.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Users, tokens, group roles and workspace limits.
    pub directory: Directory,
    /// Served over TLS (Secure cookies, HSTS).
    pub tls: bool,
    /// Requests per second per caller (0: off).
    pub rate_limit: u32,
    /// Open streams per caller.
    pub max_streams: u32,
    /// Serve the frontend from disk instead of the embedded copy.
    pub dist_dir: Option<PathBuf>,
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// Days of stored samples to keep.
    pub retention_days: u32,
    /// `--max-connections`.
    pub max_connections: u32,
    /// How often the cost history and the audit pruning run (hourly; tests shorten it).
    pub history_every: std::time::Duration,
    /// `--audit-retention-days`.
    pub audit_retention_days: u32,
    /// Alert rules, webhooks and delivery settings of `--alerts-file`.
    pub alerts: crate::alerts::AlertsConfig,
}

/// A configuration error, naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--auth none` on a non-loopback address would expose fal data to the network.
    #[error("--auth none (FALSCOPE_AUTH) only allows a loopback --listen address (FALSCOPE_LISTEN), got {0}; listen on 127.0.0.1, or put falscope behind your SSO proxy with --auth proxy and --trusted-proxies, or use --auth token (the demo, without a fal key, may listen anywhere with --demo-listen-any)")]
    OpenWithoutAuth(SocketAddr),
    /// `--redis-url` does not parse.
    #[error(transparent)]
    Redis(#[from] crate::cluster::BadUrl),
    /// `--auth proxy` without trusted proxies would believe identity headers from nobody.
    #[error("--auth proxy needs --trusted-proxies (FALSCOPE_TRUSTED_PROXIES): the CIDRs of the reverse proxy that sets the identity headers, e.g. 127.0.0.1/32")]
    ProxyWithoutTrust,
    /// `--auth token` without anyone to sign in.
    #[error("--auth token needs --auth-file (FALSCOPE_AUTH_FILE) with at least one [[user]] or [[token]]; make hashes with `falscope hash-password`")]
    TokenWithoutUsers,
    /// The auth file is unreadable or invalid.
    #[error("--auth-file (FALSCOPE_AUTH_FILE) {path}: {reason}")]
    AuthFile {
        /// The file.
        path: String,
        /// What to fix.
        reason: String,
    },
    /// The alerts file is unreadable or invalid.
    #[error("--alerts-file (FALSCOPE_ALERTS_FILE) {path}: {reason}")]
    AlertsFile {
        /// The file.
        path: String,
        /// What to fix.
        reason: String,
    },
    /// The fal base URL must be http(s).
    #[error("--fal-base-url (FAL_BASE_URL) must be an http or https URL, got scheme {0:?}")]
    BaseUrlScheme(String),
    /// The workspaces file is unreadable or invalid.
    #[error("--workspaces (FALSCOPE_WORKSPACES) {path}: {reason}")]
    WorkspacesFile {
        /// The file.
        path: String,
        /// What to fix.
        reason: String,
    },
    /// Both ways of configuring accounts were used.
    #[error("use either FAL_KEY/FAL_ADMIN_KEY or --workspaces (FALSCOPE_WORKSPACES), not both")]
    KeysAndWorkspaces,
    /// An admin key without an API key is almost certainly a mistake.
    #[error("FAL_ADMIN_KEY is set but FAL_KEY is not; set FAL_KEY too (an ADMIN key alone would silently start demo mode)")]
    AdminKeyWithoutKey,
}

impl TryFrom<ServeArgs> for Config {
    type Error = ConfigError;

    fn try_from(args: ServeArgs) -> Result<Self, Self::Error> {
        // The demo serves only the simulator's invented data, so a container may publish it;
        // with a fal key, `none` stays loopback-only whatever the flag says.
        let demo =
            args.fal_key.is_none() && args.fal_admin_key.is_none() && args.workspaces.is_none();
        let open_demo = demo && args.demo_listen_any;
        match args.auth {
            AuthMode::None if !args.listen.ip().is_loopback() && !open_demo => {
                return Err(ConfigError::OpenWithoutAuth(args.listen))
            }
            AuthMode::None | AuthMode::Token => {}
            AuthMode::Proxy if args.trusted_proxies.is_empty() => {
                return Err(ConfigError::ProxyWithoutTrust)
            }
            AuthMode::Proxy => {}
        }
        if let Some(url) = &args.redis_url {
            crate::cluster::Redis::check_url(url)?;
        }
        let directory = match &args.auth_file {
            Some(path) => Directory::load(path).map_err(|reason| ConfigError::AuthFile {
                path: path.display().to_string(),
                reason,
            })?,
            None => Directory::default(),
        };
        if args.auth == AuthMode::Token && directory.users.is_empty() && directory.tokens.is_empty()
        {
            return Err(ConfigError::TokenWithoutUsers);
        }
        let alerts = match &args.alerts_file {
            Some(path) => crate::alerts::AlertsConfig::load(path, |k| std::env::var(k).ok())
                .map_err(|reason| ConfigError::AlertsFile {
                    path: path.display().to_string(),
                    reason,
                })?,
            None => crate::alerts::AlertsConfig::default(),
        };
        if !matches!(args.fal_base_url.scheme(), "http" | "https") {
            return Err(ConfigError::BaseUrlScheme(
                args.fal_base_url.scheme().into(),
            ));
        }
        let workspaces_file = args.workspaces.clone();
        let upstream = match (args.workspaces, args.fal_key, args.fal_admin_key) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ConfigError::KeysAndWorkspaces)
            }
            (Some(path), None, None) => {
                Upstream::Fal(read_workspaces(&path, &args.fal_base_url, |k| {
                    std::env::var(k).ok()
                })?)
            }
            (None, Some(api_key), admin_key) => Upstream::Fal(vec![Account {
                id: "default".into(),
                name: "default".into(),
                base_url: args.fal_base_url,
                api_key,
                admin_key,
            }]),
            (None, None, Some(_)) => return Err(ConfigError::AdminKeyWithoutKey),
            (None, None, None) => Upstream::Demo,
        };
        Ok(Self {
            listen: args.listen,
            upstream,
            workspaces_file,
            data_dir: args.data_dir,
            redis_url: args.redis_url,
            database_url: args.database_url,
            auth: args.auth,
            trusted_proxies: args.trusted_proxies,
            directory,
            tls: args.public_url.is_some_and(|u| u.scheme() == "https"),
            rate_limit: args.rate_limit,
            max_streams: args.max_streams,
            dist_dir: args.dist_dir,
            max_upload_bytes: args.max_upload_mb.saturating_mul(1024 * 1024),
            retention_days: args.retention_days,
            audit_retention_days: args.audit_retention_days,
            max_connections: args.max_connections,
            history_every: crate::history::HISTORY_EVERY,
            alerts,
        })
    }
}

/// Reads and validates a workspaces file; `env` looks up key variables.
fn read_workspaces(
    path: &std::path::Path,
    default_base: &Url,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Account>, ConfigError> {
    let err = |reason: String| ConfigError::WorkspacesFile {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let file: WorkspacesFile = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    if file.workspace.is_empty() {
        return Err(err("define at least one [[workspace]]".into()));
    }
    let mut accounts: Vec<Account> = Vec::new();
    for w in file.workspace {
        let valid_id = !w.id.is_empty()
            && w.id.len() <= 32
            && w.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid_id {
            return Err(err(format!(
                "workspace id {:?} must be 1–32 characters of a-z, 0-9 and -",
                w.id
            )));
        }
        if accounts.iter().any(|a| a.id == w.id) {
            return Err(err(format!("workspace id {:?} appears twice", w.id)));
        }
        let key = |var: &str| env(var).filter(|v| !v.is_empty()).map(SecretString::from);
        let api_key = key(&w.api_key_env).ok_or_else(|| {
            err(format!(
                "workspace {:?}: environment variable {} (api_key_env) is not set",
                w.id, w.api_key_env
            ))
        })?;
        let admin_key = match &w.admin_key_env {
            Some(var) => Some(key(var).ok_or_else(|| {
                err(format!(
                    "workspace {:?}: environment variable {var} (admin_key_env) is not set",
                    w.id
                ))
            })?),
            None => None,
        };
        let base_url = w.base_url.unwrap_or_else(|| default_base.clone());
        if !matches!(base_url.scheme(), "http" | "https") {
            return Err(err(format!(
                "workspace {:?}: base_url must be http or https",
                w.id
            )));
        }
        accounts.push(Account {
            name: w.name.unwrap_or_else(|| w.id.clone()),
            id: w.id,
            base_url,
            api_key,
            admin_key,
        });
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;

    /// Parses `args` as the command line, ignoring the environment (a developer's own
    /// FAL_KEY or FALSCOPE_* must not change what these tests see).
    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        use clap::{CommandFactory, FromArgMatches};
        let cmd = Cli::command().mut_args(|a| a.env(None::<&'static str>));
        let matches = cmd
            .try_get_matches_from(std::iter::once("falscope").chain(args.iter().copied()))
            .expect("arguments parse");
        let cli = Cli::from_arg_matches(&matches).expect("arguments map");
        Config::try_from(cli.serve)
    }

    /// The message clap gives for `args`, if it refuses them.
    fn refused(args: &[&str]) -> Option<String> {
        use clap::CommandFactory;
        let cmd = Cli::command().mut_args(|a| a.env(None::<&'static str>));
        cmd.try_get_matches_from(std::iter::once("falscope").chain(args.iter().copied()))
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn flags_take_what_people_type_and_say_what_a_valid_value_looks_like() {
        let listen = parse(&["--listen", "localhost:18107"]).unwrap().listen;
        assert!(
            listen.ip().is_loopback() && listen.port() == 18107,
            "{listen}"
        );
        assert_eq!(parse(&["--listen", "[::1]:80"]).unwrap().listen.port(), 80);
        let bad = refused(&["--listen", "localhost"]).unwrap();
        assert!(bad.contains("e.g. 127.0.0.1:8080"), "{bad}");
        let bad = refused(&["--fal-base-url", "not-a-url"]).unwrap();
        assert!(bad.contains("e.g. https://api.fal.ai"), "{bad}");
        assert!(refused(&["--fal-base-url", "ftp://fal.example"]).is_some());
        assert!(refused(&["--retention-days", "0"]).is_some());
        assert!(refused(&["--audit-retention-days", "0"]).is_some());
        assert!(refused(&["--retention-days", "1"]).is_none());
    }

    #[test]
    fn no_key_means_demo_and_key_is_redacted_in_debug() {
        assert!(matches!(parse(&[]).unwrap().upstream, Upstream::Demo));
        let config = parse(&["--fal-key", "sentinel-key-123"]).unwrap();
        assert!(
            matches!(config.upstream, Upstream::Fal(ref a) if a.len() == 1 && a[0].id == "default")
        );
        assert!(!format!("{config:?}").contains("sentinel-key-123"));
    }

    #[test]
    fn auth_none_refuses_a_public_address() {
        let err = parse(&["--listen", "0.0.0.0:8080"]).unwrap_err();
        assert!(matches!(err, ConfigError::OpenWithoutAuth(_)));
        assert!(err.to_string().contains("--auth proxy"));
        assert!(parse(&["--listen", "[::1]:8080"]).is_ok());
        // The container's demo: any address, but only without a fal key.
        assert!(parse(&["--listen", "0.0.0.0:8080", "--demo-listen-any"]).is_ok());
        let err = parse(&[
            "--listen",
            "0.0.0.0:8080",
            "--demo-listen-any",
            "--fal-key",
            "k",
        ])
        .unwrap_err();
        assert!(matches!(err, ConfigError::OpenWithoutAuth(_)));
    }

    #[test]
    fn workspaces_file_reads_keys_from_the_environment_and_names_problems() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ws.toml");
        let base = Url::parse("https://api.fal.ai").unwrap();
        let env = |k: &str| match k {
            "PROD_KEY" => Some("p".to_owned()),
            "PROD_ADMIN" => Some("pa".to_owned()),
            "STAGE_KEY" => Some("s".to_owned()),
            _ => None,
        };
        std::fs::write(&path, "[[workspace]]\nid = \"prod\"\nname = \"Production\"\napi_key_env = \"PROD_KEY\"\nadmin_key_env = \"PROD_ADMIN\"\n\n[[workspace]]\nid = \"stage\"\napi_key_env = \"STAGE_KEY\"\nbase_url = \"http://127.0.0.1:8090\"\n").unwrap();
        let accounts = read_workspaces(&path, &base, env).unwrap();
        assert_eq!(accounts.len(), 2);
        assert!(accounts[0].admin_key.is_some() && accounts[1].admin_key.is_none());
        assert_eq!(accounts[1].base_url.as_str(), "http://127.0.0.1:8090/");
        assert_eq!(accounts[1].name, "stage");
        for (bad, hint) in [
            (
                "[[workspace]]\nid = \"x\"\napi_key_env = \"MISSING\"\n",
                "MISSING",
            ),
            (
                "[[workspace]]\nid = \"Bad Id\"\napi_key_env = \"PROD_KEY\"\n",
                "a-z",
            ),
            (
                "[[workspace]]\nid = \"x\"\napi_key_env = \"PROD_KEY\"\napi_key = \"inline\"\n",
                "unknown field",
            ),
        ] {
            std::fs::write(&path, bad).unwrap();
            let e = read_workspaces(&path, &base, env).unwrap_err().to_string();
            assert!(e.contains(hint), "{e}");
        }
    }

    #[test]
    fn proxy_and_token_modes_say_what_they_need() {
        let err = parse(&["--auth", "proxy"]).unwrap_err();
        assert!(matches!(err, ConfigError::ProxyWithoutTrust));
        assert!(parse(&[
            "--auth",
            "proxy",
            "--trusted-proxies",
            "10.0.0.0/8,127.0.0.1/32",
            "--listen",
            "0.0.0.0:8080"
        ])
        .is_ok());
        let err = parse(&["--auth", "token"]).unwrap_err();
        assert!(err.to_string().contains("hash-password"), "{err}");
        let err = parse(&["--auth", "token", "--auth-file", "/nonexistent/auth.toml"]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/auth.toml"), "{err}");
    }

    #[test]
    fn admin_key_alone_is_rejected() {
        let err = parse(&["--fal-admin-key", "x"]).unwrap_err();
        assert!(matches!(err, ConfigError::AdminKeyWithoutKey));
    }
}
