//! Flushing an app's queue (REFERENCE §7.2): irreversible, so it happens once per confirmation.
//! The browser makes one `Idempotency-Key` per confirmation; falscope remembers each key's
//! answer for fal's own 10 minutes, so a double click, a retry or a second tab with the same
//! key is answered from memory (concurrent repeats wait for the first), and passes the key on to
//! fal, which ignores a repeat too. fal keys its memory by the key alone, so a key reused for
//! another app is refused (fal would answer the first app's 204 and flush nothing).

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

/// Flushes carried out, by `(workspace, key)`: the app each key was used for and its answer,
/// once known. fal remembers a key whatever the app, so a key is for one app only.
#[derive(Default)]
pub(super) struct FlushMemory(Mutex<HashMap<(String, String), Remembered>>);

/// When the key was first used, for which app, and its answer once known.
type Remembered = (Instant, String, Arc<OnceCell<Flushed>>);

/// Confirmations remembered at most (10 minutes' worth): beyond, new keys wait.
const MAX_REMEMBERED: usize = 10_000;

impl FlushMemory {
    /// The cell of one confirmation, made on first use; entries past [`REMEMBERED`] are dropped.
    fn cell(&self, ws: &str, app: &str, key: &str) -> Result<Arc<OnceCell<Flushed>>, AppError> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let k = (ws.to_owned(), key.to_owned());
        if let Some((at, used_for, cell)) = map.get(&k) {
            if now.duration_since(*at) < REMEMBERED {
                if used_for != app {
                    return Err(AppError::Conflict(format!(
                        "this Idempotency-Key was used to flush {used_for} less than 10 minutes ago; make a new key for each confirmation"
                    )));
                }
                return Ok(cell.clone());
            }
        }
        if map.len() >= MAX_REMEMBERED {
            map.retain(|_, (at, _, _)| now.duration_since(*at) < REMEMBERED);
            if map.len() >= MAX_REMEMBERED {
                return Err(AppError::RateLimited {
                    retry_after: 60,
                    message: "too many flush confirmations in the last 10 minutes".into(),
                });
            }
        }
        let cell = Arc::new(OnceCell::new());
        map.insert(k, (now, app.to_owned(), cell.clone()));
        Ok(cell)
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
        let cell = self.0.flushes.cell(&w.id, &app.name, key)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_for_one_app_and_a_repeat_shares_its_answer() {
        let memory = FlushMemory::default();
        let first = memory.cell("w", "chat-llm", "k").unwrap();
        let again = memory.cell("w", "chat-llm", "k").unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "a repeat waits on the same answer"
        );
        // fal remembers the key whatever the app: reused for another, it would flush nothing.
        assert!(matches!(
            memory.cell("w", "video-gen", "k"),
            Err(AppError::Conflict(_))
        ));
        // Another workspace is another fal account.
        assert!(memory.cell("other", "video-gen", "k").is_ok());
    }
}
