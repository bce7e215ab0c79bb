//! Validated server configuration, built from the CLI before anything starts.
//! Errors name the flag and variable to fix.

use crate::cli::{AuthMode, ServeArgs};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

/// Where falscope gets its fal data from.
#[derive(Debug, Clone)]
pub enum Upstream {
    /// A real fal account (or any fal-compatible server at `base_url`).
    Fal {
        /// Base URL without `/v1`.
        base_url: Url,
        /// API-scoped key.
        api_key: SecretString,
        /// ADMIN-scoped key, for usage and billing.
        admin_key: Option<SecretString>,
    },
    /// No `FAL_KEY`: an embedded simulator on a loopback port, reached over real HTTP.
    Demo,
}

/// The validated configuration of `falscope` (serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Data source.
    pub upstream: Upstream,
    /// Directory for falscope's own data.
    pub data_dir: PathBuf,
    /// Authentication mode.
    pub auth: AuthMode,
    /// Reverse proxies trusted for identity headers.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve the frontend from disk instead of the embedded copy.
    pub dist_dir: Option<PathBuf>,
    /// Largest upload in bytes.
    pub max_upload_bytes: u64,
    /// Days of stored samples to keep.
    pub retention_days: u32,
}

/// A configuration error, naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--auth none` on a non-loopback address would expose fal data to the network.
    #[error("--auth none (FALSCOPE_AUTH) only allows a loopback --listen address (FALSCOPE_LISTEN), got {0}; listen on 127.0.0.1, or put falscope behind your SSO proxy with --auth proxy and --trusted-proxies, or use --auth token")]
    OpenWithoutAuth(SocketAddr),
    /// The auth mode exists in the interface but this build does not implement it yet.
    #[error("--auth {0} (FALSCOPE_AUTH) is not available in this build yet; use --auth none on a loopback address")]
    AuthModeUnavailable(&'static str),
    /// The fal base URL must be http(s).
    #[error("--fal-base-url (FAL_BASE_URL) must be an http or https URL, got scheme {0:?}")]
    BaseUrlScheme(String),
    /// An admin key without an API key is almost certainly a mistake.
    #[error("FAL_ADMIN_KEY is set but FAL_KEY is not; set FAL_KEY too (an ADMIN key alone would silently start demo mode)")]
    AdminKeyWithoutKey,
}

impl TryFrom<ServeArgs> for Config {
    type Error = ConfigError;

    fn try_from(args: ServeArgs) -> Result<Self, Self::Error> {
        match args.auth {
            AuthMode::None if !args.listen.ip().is_loopback() => {
                return Err(ConfigError::OpenWithoutAuth(args.listen))
            }
            AuthMode::None => {}
            AuthMode::Token => return Err(ConfigError::AuthModeUnavailable("token")),
            AuthMode::Proxy => return Err(ConfigError::AuthModeUnavailable("proxy")),
        }
        if !matches!(args.fal_base_url.scheme(), "http" | "https") {
            return Err(ConfigError::BaseUrlScheme(
                args.fal_base_url.scheme().into(),
            ));
        }
        let upstream = match (args.fal_key, args.fal_admin_key) {
            (Some(api_key), admin_key) => Upstream::Fal {
                base_url: args.fal_base_url,
                api_key,
                admin_key,
            },
            (None, Some(_)) => return Err(ConfigError::AdminKeyWithoutKey),
            (None, None) => Upstream::Demo,
        };
        Ok(Self {
            listen: args.listen,
            upstream,
            data_dir: args.data_dir,
            auth: args.auth,
            trusted_proxies: args.trusted_proxies,
            dist_dir: args.dist_dir,
            max_upload_bytes: args.max_upload_mb.saturating_mul(1024 * 1024),
            retention_days: args.retention_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("falscope").chain(args.iter().copied()))
            .expect("arguments parse");
        Config::try_from(cli.serve)
    }

    #[test]
    fn no_key_means_demo_and_key_is_redacted_in_debug() {
        assert!(matches!(parse(&[]).unwrap().upstream, Upstream::Demo));
        let config = parse(&["--fal-key", "sentinel-key-123"]).unwrap();
        assert!(matches!(config.upstream, Upstream::Fal { .. }));
        assert!(!format!("{config:?}").contains("sentinel-key-123"));
    }

    #[test]
    fn auth_none_refuses_a_public_address() {
        let err = parse(&["--listen", "0.0.0.0:8080"]).unwrap_err();
        assert!(matches!(err, ConfigError::OpenWithoutAuth(_)));
        assert!(err.to_string().contains("--auth proxy"));
        assert!(parse(&["--listen", "[::1]:8080"]).is_ok());
    }

    #[test]
    fn admin_key_alone_is_rejected() {
        let err = parse(&["--fal-admin-key", "x"]).unwrap_err();
        assert!(matches!(err, ConfigError::AdminKeyWithoutKey));
    }
}
