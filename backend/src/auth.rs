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
use crate::store::Store;
use directory::{Directory, Principal, TokenSecret};
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
    pub db: Option<Arc<Store>>,
    /// Tokens already verified: SHA-256 of the token → index in `directory.tokens`.
    verified: moka::sync::Cache<[u8; 32], Option<usize>>,
    /// The caller of `--auth none`.
    pub local: Arc<Identity>,
    /// At most two argon2 verifications at a time: a flood of bad tokens or passwords cannot
    /// take every core. A slot is held by the hashing thread itself, so a client that hangs
    /// up does not free it while its hash still runs.
    verify_slots: Arc<tokio::sync::Semaphore>,
    /// Failed authentications per client address, checked before any expensive work.
    pub failures: FailedAuth,
    /// Sessions ended by sign-out (SHA-256 of the cookie): open streams of that session close.
    pub signed_out: tokio::sync::broadcast::Sender<[u8; 32]>,
    /// argon2 verifications running now, and the most ever at once.
    hashing: Arc<(
        std::sync::atomic::AtomicUsize,
        std::sync::atomic::AtomicUsize,
    )>,
}

/// Failed sign-ins and bad tokens, counted per client address (IPv6 grouped by /64, as one
/// host gets a whole /64) and, for passwords, per account, each as a token bucket: a burst of
/// failures, then one more per refill period; past that, 429 before any hashing (nginx's
/// `limit_req` with a burst, in front of an auth endpoint). A person with a typo never meets
/// it; a script trying tokens does within a second, and one guessing a user's password from
/// many addresses is slowed to one try per [`FailedAuth::ACCOUNT_REFILL`] for that account.
/// The account limit does not apply from an address the user signed in from before (OWASP's
/// "device cookie" idea, by address): a stranger cannot lock a user out of their usual place.
#[derive(Debug, Default)]
pub struct FailedAuth {
    addresses: Buckets<IpAddr>,
    accounts: Buckets<String>,
    /// Address groups each account signed in from, the newest last.
    known: std::sync::Mutex<std::collections::HashMap<String, Vec<IpAddr>>>,
}

#[derive(Debug)]
struct Buckets<K>(std::sync::Mutex<std::collections::HashMap<K, (tokio::time::Instant, f64)>>);

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Self(std::sync::Mutex::default())
    }
}

impl<K: std::hash::Hash + Eq> Buckets<K> {
    /// The allowance left in `entry` at `now`.
    fn left(
        entry: Option<&(tokio::time::Instant, f64)>,
        now: tokio::time::Instant,
        (burst, refill): (f64, Duration),
    ) -> f64 {
        entry.map_or(burst, |(at, left)| {
            let refilled = now.duration_since(*at).as_secs_f64() / refill.as_secs_f64();
            (left + refilled).min(burst)
        })
    }

    fn allow(&self, key: &K, rate: (f64, Duration)) -> bool {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Self::left(map.get(key), tokio::time::Instant::now(), rate) >= 1.0
    }

    fn failed(&self, key: K, rate: (f64, Duration)) {
        let now = tokio::time::Instant::now();
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Forget keys whose allowance is full again.
            map.retain(|_, e| Self::left(Some(e), now, rate) < rate.0);
        }
        let left = Self::left(map.get(&key), now, rate);
        map.insert(key, (now, (left - 1.0).max(0.0)));
    }
}

impl FailedAuth {
    /// Failures allowed at once from one address.
    pub const BURST: f64 = 20.0;
    /// One failure allowance of an address returns after this.
    pub const REFILL: Duration = Duration::from_secs(10);
    /// Failed passwords allowed at once for one account, from anywhere.
    pub const ACCOUNT_BURST: f64 = 10.0;
    /// One failure allowance of an account returns after this.
    pub const ACCOUNT_REFILL: Duration = Duration::from_secs(30);

    fn group(ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(v6) => {
                let mut s = v6.segments();
                s[4..].fill(0);
                IpAddr::V6(std::net::Ipv6Addr::from(s))
            }
            v4 => v4,
        }
    }

    /// Whether `ip` may try again now.
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.addresses
            .allow(&Self::group(ip), (Self::BURST, Self::REFILL))
    }

    /// Counts a failure of `ip`.
    pub fn failed(&self, ip: IpAddr) {
        self.addresses
            .failed(Self::group(ip), (Self::BURST, Self::REFILL));
    }

    /// Whether a password may be tried for `account` from `ip` now.
    pub fn allow_account(&self, account: &str, ip: IpAddr) -> bool {
        let known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known
            .get(account)
            .is_some_and(|ips| ips.contains(&Self::group(ip)))
        {
            return true;
        }
        drop(known);
        self.accounts.allow(
            &account.to_owned(),
            (Self::ACCOUNT_BURST, Self::ACCOUNT_REFILL),
        )
    }

    /// Remembers that `account` signed in from `ip` (the last eight address groups).
    pub fn signed_in(&self, account: &str, ip: IpAddr) {
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() > 100_000 {
            known.clear();
        }
        let ips = known.entry(account.to_owned()).or_default();
        let group = Self::group(ip);
        ips.retain(|g| *g != group);
        ips.push(group);
        if ips.len() > 8 {
            ips.remove(0);
        }
    }

    /// Counts a wrong password for `account` (known or not: the answer must not tell).
    pub fn failed_account(&self, account: &str) {
        self.accounts.failed(
            account.to_owned(),
            (Self::ACCOUNT_BURST, Self::ACCOUNT_REFILL),
        );
    }
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
        db: Option<Arc<Store>>,
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
            verify_slots: Arc::new(tokio::sync::Semaphore::new(2)),
            failures: FailedAuth::default(),
            signed_out: tokio::sync::broadcast::Sender::new(64),
            hashing: Arc::default(),
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
        // `token_sha256`: a constant-time compare per configured token, no hashing to wait for.
        let stored = self.directory.tokens.iter().position(
            |t| matches!(&t.secret, TokenSecret::Sha256(d) if password::same_digest(d, &digest)),
        );
        let legacy = || {
            self.directory
                .tokens
                .iter()
                .any(|t| matches!(t.secret, TokenSecret::Argon2(_)))
        };
        let index = match (stored, self.verified.get(&digest)) {
            (Some(i), _) => Some(i),
            (None, _) if !legacy() => None,
            (None, Some(hit)) => hit,
            (None, None) => {
                let tokens = self.directory.tokens.clone();
                let token = token.to_owned();
                let found = self
                    .verify_blocking(move || {
                        tokens.iter().position(|t| match &t.secret {
                            TokenSecret::Argon2(phc) => password::verify(&token, phc),
                            TokenSecret::Sha256(_) => false,
                        })
                    })
                    .await
                    .flatten();
                // Misses are cached too: retrying a wrong token costs no argon2 for 10 min.
                self.verified.insert(digest, found);
                found
            }
        };
        let t = self.directory.tokens.get(index?)?;
        Some(Arc::new(Identity {
            name: t.name.clone(),
            role: t.role,
            groups: t.groups.clone(),
            via: Via::Token,
        }))
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
        use std::sync::atomic::Ordering::SeqCst;
        let slot = self.verify_slots.clone().acquire_owned().await.ok()?;
        let hashing = self.hashing.clone();
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let now = hashing.0.fetch_add(1, SeqCst) + 1;
            hashing.1.fetch_max(now, SeqCst);
            let out = f();
            hashing.0.fetch_sub(1, SeqCst);
            out
        })
        .await
        .ok()
    }

    /// The most argon2 verifications that ever ran at once (the slots promise two).
    pub fn hashing_peak(&self) -> usize {
        self.hashing.1.load(std::sync::atomic::Ordering::SeqCst)
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
