//! `GET /api/ws/{ws}/apps`: the workspace's apps and their endpoint ids (`reports::apps`), and
//! `GET /api/ws/{ws}/endpoints`: the endpoints pages show before anyone picks, and
//! `POST /api/ws/{ws}/queue/flush` (operator): flush an app's queue once per confirmation.

use super::query::json_body;
use super::respond::{audited, derived, fetched};
use crate::error::AppError;
use crate::reports::{check_idempotency_key, Reports};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Json;
use shared::apps::{FlushQueue, IDEMPOTENCY_KEY};

/// `GET /api/ws/{ws}/apps`.
pub async fn list_apps(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    Ok(fetched(&reports.apps(&ws).await?))
}

/// `GET /api/ws/{ws}/endpoints`.
pub async fn default_endpoints(
    State(reports): State<Reports>,
    Path(ws): Path<String>,
) -> Result<Response, AppError> {
    Ok(derived(reports.default_endpoints(&ws).await?))
}

/// `POST /api/ws/{ws}/queue/flush`: the audit entry says which app and how many were waiting.
pub async fn flush_queue(
    State(reports): State<Reports>,
    axum::Extension(caller): axum::Extension<crate::auth::Caller>,
    Path(ws): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let key = check_idempotency_key(
        headers
            .get(IDEMPOTENCY_KEY)
            // Not visible ASCII: refused as empty, with what to send.
            .map(|v| v.to_str().unwrap_or_default()),
    )?;
    let q: FlushQueue = json_body(&body, r#"{"app": "flux-studio"}"#)?;
    // Irreversible: once started it runs to the end even if the caller goes away, and says
    // who asked in the log (the audit row is written when the answer goes out).
    let (key, who, by) = (key.to_owned(), caller.who().to_owned(), caller.key());
    let flushed = tokio::spawn(async move {
        let flushed = reports.flush_queue(&ws, &q.app, &key, &by).await;
        if let Ok(f) = &flushed {
            tracing::info!(target: "falscope::audit", who = ?who, app = %f.app, waiting = ?f.waiting, repeated = f.repeated, "queue flush");
        }
        flushed
    })
    .await
    .map_err(|e| AppError::Internal(format!("the flush task failed: {e}")))??;
    let detail = match (flushed.repeated, flushed.waiting) {
        (true, _) => format!(
            "flush of {} already done for this confirmation",
            flushed.app
        ),
        (false, Some(n)) => format!("flushed {}: {n} waiting", flushed.app),
        (false, None) => format!("flushed {}: waiting unknown", flushed.app),
    };
    Ok(audited(Json(flushed), detail))
}
