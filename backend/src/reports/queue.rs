//! Flushing an app's queue (REFERENCE §7.2): irreversible, so it happens once per confirmation.
//! The browser makes one `Idempotency-Key` per confirmation; falscope remembers each key's
//! answer for fal's own 10 minutes, so a double click, a retry or a second tab with the same
//! key is answered from memory (concurrent repeats wait for the first), and passes the key on to
//! fal, which ignores a repeat too.

use super::Reports;
use crate::error::AppError;
use crate::upstream::FalApi;
use shared::apps::Flushed;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// How long fal remembers an `Idempotency-Key`, and so falscope.
const REMEMBERED: Duration = Duration::from_secs(600);

/// Flushes carried out, by `(workspace, app, key)`: each answer, once it is known.
#[derive(Default)]
pub(super) struct FlushMemory(Mutex<HashMap<(String, String, String), Remembered>>);

type Remembered = (Instant, Arc<OnceCell<Flushed>>);

impl FlushMemory {
    /// The cell of one confirmation, made on first use; entries past [`REMEMBERED`] are dropped.
    fn cell(&self, ws: &str, app: &str, key: &str) -> Arc<OnceCell<Flushed>> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        map.retain(|_, (at, _)| now.duration_since(*at) < REMEMBERED);
        let k = (ws.to_owned(), app.to_owned(), key.to_owned());
        map.entry(k)
            .or_insert_with(|| (now, Arc::new(OnceCell::new())))
            .1
            .clone()
    }
}

/// What a usable `Idempotency-Key` is: 1–128 visible ASCII characters (a UUID fits).
pub fn check_idempotency_key(key: Option<&str>) -> Result<&str, AppError> {
    match key {
        Some(k) if (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(k),
        Some(_) => Err(AppError::invalid(
            "Idempotency-Key",
            "1 to 128 visible ASCII characters, e.g. a UUID made once per confirmation",
        )),
        None => Err(AppError::invalid(
            "Idempotency-Key",
            "send an Idempotency-Key header made once per confirmation, so that a retry flushes once",
        )),
    }
}

impl Reports {
    /// Flushes the queue of the app `given` names (its name or id), once per `key`: fal's
    /// count of waiting requests is read just before (for the answer and the audit trail).
    pub async fn flush_queue(&self, ws: &str, given: &str, key: &str) -> Result<Flushed, AppError> {
        let app = self.app_summary_named(ws, given).await?;
        let w = self.workspace(ws)?;
        let cell = self.0.flushes.cell(&w.id, &app.name, key);
        // Whether this call flushed: a repeat, or a call that waited on another, did not.
        let mut flushed_here = false;
        let answer = cell
            .get_or_try_init(|| async {
                flushed_here = true;
                let waiting = match w.fal.queue_size(&app.owner, &app.name).await {
                    Ok(n) => Some(n),
                    Err(err) => {
                        tracing::warn!(%err, app = %app.name, "queue size before a flush: fal did not say");
                        None
                    }
                };
                w.fal
                    .flush_queue(&app.owner, &app.name, Some(key))
                    .await
                    .map_err(AppError::from)?;
                tracing::info!(app = %app.name, ?waiting, "queue flushed");
                Ok::<_, AppError>(Flushed {
                    app: app.name.clone(),
                    waiting,
                    repeated: false,
                })
            })
            .await?;
        Ok(Flushed {
            repeated: !flushed_here,
            ..answer.clone()
        })
    }
}
