//! What every simulated operation goes through before its handler: counting (for
//! `/_sim/stats`), injected faults, then fal's key check.

use super::errors::{self, FalError};
use super::{Op, Scope, Sim};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use futures::StreamExt;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

/// Wraps an operation's handler with the gate.
pub fn wrap(sim: &Arc<Sim>, op: Op, route: MethodRouter<Arc<Sim>>) -> MethodRouter<Arc<Sim>> {
    route.route_layer(middleware::from_fn_with_state((sim.clone(), op), gate))
}

async fn gate(State((sim, op)): State<(Arc<Sim>, Op)>, mut req: Request, next: Next) -> Response {
    {
        let mut stats = sim.stats.lock().unwrap_or_else(|e| e.into_inner());
        *stats.entry(op.name).or_insert(0) += 1;
    }
    let fx = sim.faults.draw(op.name);
    if fx.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(fx.latency_ms)).await;
    }
    if fx.timeout {
        // Hold the connection open without answering until the client gives up.
        std::future::pending::<()>().await;
    }
    if let Some(status) = fx.status {
        return fault_response(status, fx.retry_after_s);
    }
    if fx.echo_key {
        let sent = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return FalError::invalid(format!("could not parse the header {sent:?}")).into_response();
    }
    if let Err(err) = authorize(&sim, req.headers(), op.scope) {
        return err.into_response();
    }
    // fal counts per client (key) in one-minute windows (REFERENCE §12, inferred).
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if let Some(reset) = sim.faults.rate_limited(&key, sim.now_ms()) {
        return FalError::RateLimited(reset).into_response();
    }
    if fx.not_done && op.name.starts_with("files_upload") {
        // fal's upload answer is a JSON boolean: `false` means it did not happen.
        return axum::Json(false).into_response();
    }
    let slow = fx.slow_body_ms;
    req.extensions_mut().insert(fx);
    let mut resp = next.run(req).await;
    // A download is the user's file, whatever its type: never rewritten.
    if sim.shape_variation && op.name != "files_download" && is_json(&resp) {
        resp = super::shape::vary_response(op.name, resp).await;
    }
    match slow {
        Some(ms) if !is_event_stream(&resp) => slow_body(resp, ms).await,
        _ => resp,
    }
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// fal's key check: `Authorization: Key <key>`; 401 without a known key, 403 when an API key
/// calls an ADMIN operation.
fn authorize(sim: &Sim, headers: &HeaderMap, scope: Scope) -> Result<(), FalError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Key "))
        .ok_or(FalError::Unauthorized)?;
    let admin = key == sim.admin_key.expose_secret();
    let api = key == sim.api_key.expose_secret();
    match (scope, admin, api) {
        (_, true, _) | (Scope::Api, _, true) => Ok(()),
        (Scope::Admin, false, true) => Err(FalError::Forbidden),
        _ => Err(FalError::Unauthorized),
    }
}

fn fault_response(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = errors::with_status(status);
    if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn is_event_stream(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
}

async fn slow_body(resp: Response, delay_ms: u64) -> Response {
    let (parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return errors::with_status(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let chunks: Vec<bytes::Bytes> = bytes
        .chunks(1024)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let stream = futures::stream::iter(chunks).then(move |chunk| async move {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        Ok::<_, std::convert::Infallible>(chunk)
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
