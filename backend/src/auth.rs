//! Who is calling and what they may do.
//!
//! Every request passes [`authenticate`](crate::guard::authenticate), which works out the client's
//! address (the peer, or the forwarded client when the peer is a trusted proxy) and its
//! [`Identity`]: the loopback user (`--auth none`), a session cookie or an API token
//! (`--auth token`), or identity headers from a trusted SSO proxy (`--auth proxy`). Routes then
//! check a minimum role from the table in `api` ([`crate::guard::guard`]), CSRF on state-changing calls,
//! and write the audit trail.

pub mod directory;
pub mod password;
pub mod proxy;

use crate::cli::AuthMode;
use crate::store::SqliteStore;
use directory::{Directory, Principal};
use shared::auth::Role;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `--auth none`: whoever can reach the loopback address.
    Local,
    /// A session cookie from the login page.
    Session,
    /// A bearer API token (scripts, Prometheus).
    Token,
    /// Headers from a trusted single-sign-on proxy.
    Proxy,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Identity {
    /// User or token name.
    pub name: String,
    /// Effective role.
    pub role: Role,
    /// Groups (workspace limits).
    pub groups: Vec<String>,
    /// How they authenticated.
    pub via: Via,
}

/// Request extension set on every request by [`crate::guard::authenticate`].
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, when known (shared: cloned per request without copying).
    pub identity: Option<Arc<Identity>>,
    /// The client's address.
    pub ip: IpAddr,
    /// SHA-256 of the session cookie, when one was sent (logout ends it).
    pub session: Option<[u8; 32]>,
}

impl Caller {
    /// Key for per-identity limits: the user, or the address of an anonymous caller.
    pub fn key(&self) -> String {
        match &self.identity {
            Some(i) => format!("user:{}", i.name),
            None => format!("ip:{}", self.ip),
        }
    }

    /// Name for the audit trail.
    pub fn who(&self) -> &str {
        self.identity
            .as_ref()
            .map_or("anonymous", |i| i.name.as_str())
    }

    /// The caller's role, if any.
    pub fn role(&self) -> Option<Role> {
        self.identity.as_ref().map(|i| i.role)
    }
}

/// Name of the session cookie (`__Host-` when served over TLS: Secure, whole site, no domain).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-falscope_session"
    } else {
        "falscope_session"
    }
}

/// The authentication settings and state of a running falscope.
pub struct Auth {
    /// `--auth`.
    pub mode: AuthMode,
    /// The auth file.
    pub directory: Directory,
    /// `--trusted-proxies`.
    pub trusted: Vec<ipnet::IpNet>,
    /// Served over TLS (`--public-url https://...`): Secure cookies and HSTS.
    pub tls: bool,
    /// Where sessions and the audit trail live.
    pub db: Option<Arc<SqliteStore>>,
    /// Tokens already verified: SHA-256 of the token → index in `directory.tokens`.
    verified: moka::sync::Cache<[u8; 32], Option<usize>>,
    /// The caller of `--auth none`.
    pub local: Arc<Identity>,
    /// At most two argon2 verifications at a time: a flood of bad tokens or passwords cannot
    /// take every core.
    verify_slots: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Builds the auth state.
    pub fn new(
        mode: AuthMode,
        directory: Directory,
        trusted: Vec<ipnet::IpNet>,
        tls: bool,
        db: Option<Arc<SqliteStore>>,
    ) -> Self {
        Self {
            mode,
            directory,
            trusted,
            tls,
            db,
            verified: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(600))
                .build(),
            verify_slots: tokio::sync::Semaphore::new(2),
            local: Arc::new(Identity {
                name: "local".into(),
                role: Role::Admin,
                groups: Vec::new(),
                via: Via::Local,
            }),
        }
    }

    /// Session lifetime.
    pub fn session_ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.directory.session_hours))
    }

    /// Whether `identity` may see workspace `ws`.
    pub fn may_see(&self, identity: &Identity, ws: &str) -> bool {
        identity.via == Via::Local || self.directory.may_see(ws, &identity.groups)
    }

    /// The identity of a bearer token: `Ok(None)` for an unknown token.
    pub async fn verify_token(&self, token: &str) -> Option<Arc<Identity>> {
        let digest = password::sha256(token);
        let index = match self.verified.get(&digest) {
            Some(hit) => hit,
            None => {
                let tokens = self.directory.tokens.clone();
                let token = token.to_owned();
                let found = self
                    .verify_blocking(move || {
                        tokens
                            .iter()
                            .position(|t| password::verify(&token, &t.password_hash))
                    })
                    .await
                    .flatten();
                // Misses are cached too: retrying a wrong token costs no argon2 for 10 min.
                self.verified.insert(digest, found);
                found
            }
        };
        let t = self.directory.tokens.get(index?)?;
        Some(Arc::new(identity_of(t, Via::Token)))
    }

    /// The identity of a password login, or `None`.
    pub async fn verify_password(&self, username: &str, password: &str) -> Option<Identity> {
        let user = self
            .directory
            .users
            .iter()
            .find(|u| u.name == username)
            .cloned();
        let password = password.to_owned();
        let ok = self
            .verify_blocking(move || match &user {
                Some(u) if password::verify(&password, &u.password_hash) => Some(u.clone()),
                // Same work for unknown users, so timing does not reveal which names exist.
                _ => {
                    password::verify(&password, &DUMMY_HASH);
                    None
                }
            })
            .await
            .flatten()?;
        Some(identity_of(&ok, Via::Session))
    }

    /// The identity behind a session user name (roles are re-read from the file, so a removed
    /// user's sessions stop working).
    pub fn session_identity(&self, user: &str) -> Option<Arc<Identity>> {
        self.directory
            .users
            .iter()
            .find(|u| u.name == user)
            .map(|u| Arc::new(identity_of(u, Via::Session)))
    }

    async fn verify_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _slot = self.verify_slots.acquire().await.ok()?;
        tokio::task::spawn_blocking(f).await.ok()
    }
}

/// A hash with the default cost, verified against when a user name is unknown.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash("no such user").unwrap_or_default());

fn identity_of(p: &Principal, via: Via) -> Identity {
    Identity {
        name: p.name.clone(),
        role: p.role,
        groups: p.groups.clone(),
        via,
    }
}
