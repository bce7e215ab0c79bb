//! The middleware: [`authenticate`] on every request, [`guard`] on every `/api` route (role,
//! workspace, CSRF, audit), per-caller rate limiting, and security headers.

use crate::auth::{proxy, Caller, Via};
use crate::cli::AuthMode;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, Method};
use shared::auth::{AuditEntry, Role, CSRF_HEADER};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (probes, login, the SPA's public config).
    Public,
    /// Signed-in callers with at least this role.
    Role(Role),
}

/// Response extension: the name to record in the audit trail instead of the caller's (a failed
/// login records the name that was tried).
#[derive(Debug, Clone)]
pub struct AuditSubject(pub String);

/// Response extension: what the call did, recorded with its audit entry.
#[derive(Debug, Clone)]
pub struct AuditDetail(pub String);

/// Sets [`Caller`] on every request; rejects bad API tokens and, in `none` mode, requests
/// addressed to a non-loopback host name (DNS rebinding). Inbound credentials (`Authorization`,
/// `Cookie`) are removed here, so no handler can pass them on.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let auth = &state.auth;
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let trusted_peer = proxy::is_trusted(&auth.trusted, peer);
    let ip = proxy::client_ip(&auth.trusted, peer, req.headers());
    if !trusted_peer {
        proxy::strip_identity_headers(&auth.directory, req.headers_mut());
    }
    let mut session = None;
    let identity = match auth.mode {
        AuthMode::None => {
            // A reverse proxy on the same host passes the loopback checks (nginx sends
            // `Host: 127.0.0.1:8080` by default) and would give every visitor admin: in `none`
            // mode anything a proxy adds is refused, as oauth2-proxy-style setups expect the
            // app itself to authenticate.
            if let Some(h) = proxy_header(req.headers()) {
                return AppError::Forbidden(format!(
                    "falscope runs with --auth none, which answers only to this machine, and this request came through a proxy ({h}); behind a proxy use --auth token or --auth proxy"
                ))
                .into_response();
            }
            if !host_is_loopback(req.headers(), req.uri()) {
                return AppError::Forbidden(
                    "falscope runs with --auth none and answers only to localhost; reach it at 127.0.0.1, or use --auth token or --auth proxy".into(),
                )
                .into_response();
            }
            Some(auth.local.clone())
        }
        AuthMode::Token | AuthMode::Proxy => {
            if let Some(token) = bearer(req.headers()) {
                if !auth.failures.allow(ip) {
                    return too_many_failures();
                }
                match auth.verify_token(token).await {
                    Some(i) => Some(i),
                    None => {
                        auth.failures.failed(ip);
                        return AppError::Unauthenticated(
                            "this API token is not valid; check the token or ask an admin for a new one".into(),
                        )
                        .into_response();
                    }
                }
            } else if auth.mode == AuthMode::Token {
                session = cookie(req.headers(), crate::auth::cookie_name(auth.tls))
                    .map(crate::auth::password::sha256);
                match (session, auth.db.as_ref()) {
                    (Some(digest), Some(db)) => match db.session_user(&digest, state.now()).await {
                        Ok(user) => user.and_then(|u| auth.session_identity(&u)),
                        // The database is away: the caller is not signed out, falscope cannot
                        // tell who they are right now (a 503 saying so, not a sign-in page).
                        Err(err) => return AppError::from(err).into_response(),
                    },
                    _ => None,
                }
            } else if trusted_peer {
                match proxy::identity(&auth.directory, req.headers()) {
                    Ok(identity) => identity.map(std::sync::Arc::new),
                    Err(name) => {
                        return AppError::Forbidden(format!(
                            "{name} is signed in but none of their groups has a falscope role; ask an admin to map one in the auth file's [groups]"
                        ))
                        .into_response()
                    }
                }
            } else {
                None
            }
        }
    };
    let headers = req.headers_mut();
    headers.remove(header::AUTHORIZATION);
    headers.remove(header::COOKIE);
    req.extensions_mut().insert(Caller {
        identity,
        ip,
        session,
    });
    next.run(req).await
}

/// Per-route check: role, workspace, CSRF; then the audit trail for state-changing calls.
pub async fn guard(
    State((state, access)): State<(AppState, Access)>,
    params: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    req: Request,
    next: Next,
) -> Response {
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return AppError::Internal("route reached without authentication".into()).into_response();
    };
    let workspace = params.ok().and_then(|p| {
        p.iter()
            .find(|(k, _)| *k == "ws")
            .map(|(_, v)| v.to_owned())
    });
    let method = req.method().clone();
    let changes_state = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    // Only state-changing calls are audited; reads skip the allocation.
    let route = changes_state.then(|| {
        req.extensions()
            .get::<MatchedPath>()
            .map_or_else(|| req.uri().path().to_owned(), |m| m.as_str().to_owned())
    });
    let decision = check(&state, access, &caller, workspace.as_deref()).and_then(|()| {
        let bearer = caller
            .identity
            .as_ref()
            .is_some_and(|i| i.via == Via::Token);
        if changes_state && !bearer && !req.headers().contains_key(CSRF_HEADER) {
            return Err(AppError::CsrfRejected);
        }
        Ok(())
    });
    let response = match decision {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    };
    let subject = response.extensions().get::<AuditSubject>();
    if changes_state && caller.identity.is_none() && subject.is_none() {
        // Nobody to hold to account and nothing changed: a sampled log line, no row, so a
        // flood of anonymous requests cannot grow the audit table.
        anonymous_refusal(
            &caller,
            &method,
            route.as_deref(),
            response.status().as_u16(),
        );
    } else if changes_state {
        let who = subject.map_or_else(|| caller.who().to_owned(), |s| s.0.clone());
        audit(
            &state,
            AuditEntry {
                at: state.now(),
                who,
                ip: caller.ip.to_string(),
                method: method.to_string(),
                route: route.unwrap_or_default(),
                workspace,
                status: response.status().as_u16(),
                detail: response
                    .extensions()
                    .get::<AuditDetail>()
                    .map(|d| d.0.clone()),
            },
        )
        .await;
    }
    response
}

fn check(
    state: &AppState,
    access: Access,
    caller: &Caller,
    workspace: Option<&str>,
) -> Result<(), AppError> {
    let Access::Role(needed) = access else {
        return Ok(());
    };
    let Some(identity) = &caller.identity else {
        return Err(AppError::Unauthenticated(match state.auth.mode {
            AuthMode::Proxy => "not signed in: falscope got no identity from a trusted proxy; sign in through your company's SSO".into(),
            _ => "not signed in: sign in on falscope's login page, or send an API token as `Authorization: Bearer`".into(),
        }));
    };
    if identity.role < needed {
        return Err(AppError::Forbidden(format!(
            "your role ({}) cannot do this; it needs {needed}. Ask a falscope admin",
            identity.role
        )));
    }
    if let Some(ws) = workspace {
        // A workspace limited to other groups answers exactly like one that does not exist:
        // a 403 would confirm that it does.
        if !state.auth.may_see(identity, ws) {
            return Err(AppError::NotFound(format!("workspace {ws:?}")));
        }
        state.workspace(ws)?;
    }
    Ok(())
}

/// Logs the first anonymous refused call and then one in [`ANONYMOUS_SAMPLE`].
fn anonymous_refusal(caller: &Caller, method: &Method, route: Option<&str>, status: u16) {
    static SEEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if n.is_multiple_of(ANONYMOUS_SAMPLE) {
        tracing::info!(
            target: "falscope::audit",
            ip = %caller.ip,
            method = %method,
            route = route.unwrap_or_default(),
            status,
            seen = n + 1,
            "anonymous state-changing call refused (sampled: 1 in {ANONYMOUS_SAMPLE})"
        );
    }
}

/// See [`anonymous_refusal`].
const ANONYMOUS_SAMPLE: u64 = 100;

async fn audit(state: &AppState, e: AuditEntry) {
    log_audit(&e);
    if let Some(db) = &state.auth.db {
        if let Err(err) = db.audit_insert(&e).await {
            tracing::error!(%err, "cannot write the audit trail");
        }
    }
}

fn log_audit(e: &AuditEntry) {
    tracing::info!(
        target: "falscope::audit",
        // `?`: the name may be what a stranger typed at sign-in; escaped, a newline in it
        // cannot forge a second log line.
        who = ?e.who,
        ip = %e.ip,
        method = %e.method,
        route = %e.route,
        workspace = e.workspace.as_deref().unwrap_or("-"),
        status = e.status,
        detail = ?e.detail.as_deref().unwrap_or("-"),
        "audit"
    );
}

/// The bearer token of `Authorization`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The value of cookie `name`.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// The answer to an address over its failed authentications (before any hashing).
pub fn too_many_failures() -> Response {
    AppError::RateLimited {
        retry_after: 1,
        message: "too many failed sign-ins or bad tokens from this address; wait a second".into(),
    }
    .into_response()
}

/// The first header a proxy adds, if the request carries one.
fn proxy_header(headers: &HeaderMap) -> Option<&'static str> {
    [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
        "via",
    ]
    .into_iter()
    .find(|h| headers.contains_key(*h))
    .or_else(|| {
        headers
            .keys()
            .any(|k| k.as_str().starts_with("x-forwarded-"))
            .then_some("x-forwarded-*")
    })
}

/// Whether `Host` (or HTTP/2's authority) names this machine; a request naming no host is not
/// local.
fn host_is_loopback(headers: &HeaderMap, uri: &http::Uri) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str));
    let Some(host) = host else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.to_ascii_lowercase().ends_with(".localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Rate-limit key: the signed-in user, or the client address.
#[derive(Debug, Clone, Copy)]
pub struct CallerKey;

impl tower_governor::key_extractor::KeyExtractor for CallerKey {
    type Key = String;

    fn extract<T>(
        &self,
        req: &http::Request<T>,
    ) -> Result<Self::Key, tower_governor::GovernorError> {
        req.extensions()
            .get::<Caller>()
            .map(Caller::key)
            .ok_or(tower_governor::GovernorError::UnableToExtractKey)
    }
}

/// The JSON 429 (with `Retry-After`) for a caller over its rate.
pub fn rate_limited(err: tower_governor::GovernorError) -> Response {
    match err {
        tower_governor::GovernorError::TooManyRequests { wait_time, .. } => AppError::RateLimited {
            retry_after: wait_time.max(1),
            message: format!(
                "too many requests from you; retry in {} s",
                wait_time.max(1)
            ),
        }
        .into_response(),
        other => AppError::Internal(other.to_string()).into_response(),
    }
}

/// Security headers on every response. `csp` is built from the served `index.html`
/// ([`crate::spa::content_security_policy`]).
pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    // A handler's own, stricter policy (file downloads: `sandbox`) is kept.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::CONTENT_SECURITY_POLICY, state.csp.clone());
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.auth.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if api && !h.contains_key(header::CACHE_CONTROL) {
        // Per-user data: never kept by a shared cache.
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Log output of `f` in falscope's pretty format.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let out = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_target(false)
            .with_ansi(false)
            .with_writer(move || out.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buf.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_user_name_cannot_forge_an_audit_line() {
        let text = logged(|| {
            log_audit(&AuditEntry {
                at: chrono::DateTime::default(),
                who: "x\nINFO audit who=admin".into(),
                ip: "127.0.0.1".into(),
                method: "POST".into(),
                route: "/api/auth/login".into(),
                workspace: None,
                status: 401,
                detail: None,
            })
        });
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.contains(r#"who="x\nINFO audit who=admin""#), "{text}");
    }

    #[test]
    fn parses_bearer_cookies_and_loopback_hosts() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer  abc ".parse().unwrap());
        h.insert(
            header::COOKIE,
            "a=1; falscope_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(bearer(&h), Some("abc"));
        assert_eq!(cookie(&h, "falscope_session"), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        for (host, local) in [
            ("127.0.0.1:8080", true),
            ("localhost", true),
            ("[::1]:8080", true),
            ("app.localhost:80", true),
            ("evil.example:8080", false),
            ("127.0.0.1.evil.example", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, host.parse().unwrap());
            assert_eq!(host_is_loopback(&h, &http::Uri::default()), local, "{host}");
        }
        assert!(
            !host_is_loopback(&HeaderMap::new(), &http::Uri::default()),
            "no host"
        );
        let h2: http::Uri = "http://127.0.0.1:8080/api/config".parse().unwrap();
        assert!(host_is_loopback(&HeaderMap::new(), &h2), "HTTP/2 authority");
        for name in [
            "forwarded",
            "x-forwarded-for",
            "x-forwarded-port",
            "x-real-ip",
            "via",
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, "1.2.3.4".parse().unwrap());
            assert!(proxy_header(&h).is_some(), "{name}");
        }
        assert_eq!(proxy_header(&HeaderMap::new()), None);
    }
}

/// The rate limit shared by replicas (`--redis-url`): each caller's requests counted in the
/// cluster per [`SHARED_WINDOW`] (a window starting at the caller's first request in it), across
/// every replica, so a caller cannot multiply the limit by the replica count. Each replica's own
/// limiter stays in front (and is all there is while the cluster is unreachable).
#[derive(Clone)]
pub struct SharedLimit {
    /// Where the counts are kept.
    pub cluster: std::sync::Arc<crate::cluster::Cluster>,
    /// Requests per second per caller (`--rate-limit`).
    pub per_second: u32,
}

/// The window of [`SharedLimit`]: a caller may make `10 × --rate-limit` requests in it (the
/// burst the per-replica limiter allows too).
pub const SHARED_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// Middleware of [`SharedLimit`].
pub async fn shared_rate_limit(
    State(limit): State<SharedLimit>,
    req: Request,
    next: Next,
) -> Response {
    use sha2::Digest;
    let Some(caller) = req.extensions().get::<Caller>() else {
        return next.run(req).await;
    };
    // A digest: user names and addresses do not sit in Redis as they are.
    let who: String = sha2::Sha256::digest(caller.key().as_bytes())[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = limit.cluster.key("rate", &who);
    let allowed = u64::from(limit.per_second).saturating_mul(SHARED_WINDOW.as_secs());
    match limit.cluster.backend().hit(&key, SHARED_WINDOW).await {
        Some((n, left)) if n > allowed => {
            let retry_after = left.as_secs_f64().ceil().max(1.0) as u64;
            AppError::RateLimited {
                retry_after,
                message: format!("too many requests from you; retry in {retry_after} s"),
            }
            .into_response()
        }
        _ => next.run(req).await,
    }
}
