//! Signing in and out (`--auth token`) and the audit trail.

use super::query::Query;
use crate::auth::{cookie_name, password, Caller};
use crate::cli::AuthMode;
use crate::error::AppError;
use crate::guard::AuditSubject;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use shared::auth::{AuditEntry, LoginRequest, UserInfo};
use shared::query::AuditQuery;

/// `POST /api/auth/login`: checks the password, starts a session, sets its cookie.
pub async fn login(
    State(state): State<AppState>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let caller_ip = caller.ip;
    if state.auth.mode != AuthMode::Token {
        return Err(AppError::NotFound(
            "a login (falscope is not running with --auth token)".into(),
        ));
    }
    let req: LoginRequest = serde_json::from_slice(&body).map_err(|_| {
        AppError::invalid("body", r#"expected {"username": "...", "password": "..."}"#)
    })?;
    if req.username.is_empty() || req.username.len() > 64 || req.password.len() > 1024 {
        return Err(AppError::invalid(
            "username",
            "a user name of 1–64 characters and a password of at most 1024",
        ));
    }
    if !state.auth.failures.allow(caller_ip) {
        return Ok(crate::guard::too_many_failures());
    }
    if !state.auth.failures.allow_account(&req.username, caller_ip) {
        return Err(AppError::RateLimited {
            retry_after: crate::auth::FailedAuth::ACCOUNT_REFILL.as_secs(),
            message: "too many wrong passwords for this user; wait, then try again".into(),
        });
    }
    let Some(identity) = state
        .auth
        .verify_password(&req.username, &req.password)
        .await
    else {
        state.auth.failures.failed(caller_ip);
        state.auth.failures.failed_account(&req.username);
        let mut resp =
            AppError::Unauthenticated("wrong user name or password".into()).into_response();
        // A failed sign-in of a real user is audited (the per-account limit bounds how many);
        // a made-up name is a stranger's, logged by sampling like other anonymous refusals.
        if state.auth.session_identity(&req.username).is_some() {
            resp.extensions_mut().insert(AuditSubject(req.username));
        }
        return Ok(resp);
    };
    state.auth.failures.signed_in(&identity.name, caller_ip);
    let db = state.auth.db.as_ref().ok_or_else(|| {
        AppError::Internal("no session store: the data directory is not usable".into())
    })?;
    let token = password::new_secret("fss_").map_err(AppError::Internal)?;
    let now = state.now();
    let ttl = state.auth.session_ttl();
    db.create_session(&password::sha256(&token), &identity.name, now, now + ttl)
        .await?;
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        cookie_name(state.auth.tls),
        ttl.num_seconds(),
        if state.auth.tls { "; Secure" } else { "" }
    );
    let mut resp = Json(UserInfo {
        name: identity.name.clone(),
        role: identity.role,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp.extensions_mut().insert(AuditSubject(identity.name));
    Ok(resp)
}

/// `POST /api/auth/logout`: ends the session and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    if let (Some(digest), Some(db)) = (caller.session, state.auth.db.as_ref()) {
        db.delete_session(&digest).await?;
        // Its open streams end now (none listening is fine).
        let _ = state.auth.signed_out.send(digest);
    }
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        cookie_name(state.auth.tls),
        if state.auth.tls { "; Secure" } else { "" }
    );
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /api/audit?limit=`: the newest state-changing calls (admin).
pub async fn list_audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let limit = q.limit.map_or(100, |l| l.get());
    let db = state.auth.db.as_ref().ok_or_else(|| {
        AppError::NotFound("the audit trail (the data directory is not usable)".into())
    })?;
    let Some(identity) = caller.identity.as_ref() else {
        return Err(AppError::Internal(
            "the audit trail reached without a caller".into(),
        ));
    };
    // Rows of workspaces the caller may not see are left out (rows without a workspace stay).
    // A caller limited to some workspaces gets the newest `limit` visible rows among the last
    // AUDIT_SCAN, so hidden rows cannot crowd out the visible ones.
    let limited = state
        .public
        .workspaces
        .iter()
        .any(|w| !state.auth.may_see(identity, &w.id));
    let scan = if limited {
        AUDIT_SCAN.max(limit)
    } else {
        limit
    };
    let mut rows = db.audit_list(scan).await?;
    rows.retain(|e| {
        e.workspace
            .as_deref()
            .is_none_or(|ws| state.auth.may_see(identity, ws))
    });
    rows.truncate(limit as usize);
    Ok(Json(rows))
}

/// Rows read for a caller limited to some workspaces (the route's largest `limit`).
const AUDIT_SCAN: u32 = 1000;
