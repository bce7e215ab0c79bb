//! Flushing an app's queue (REFERENCE §7.2): irreversible, so it happens once per confirmation.
//! The browser makes one `Idempotency-Key` per confirmation; falscope remembers each key's
//! answer for fal's own 10 minutes — in the cluster, so every replica knows it — and a double
//! click, a retry (on any replica) or a second tab with the same key is answered from there
//! (concurrent repeats wait for the first); it also passes the key on to fal, which ignores a
//! repeat too. fal keys its memory by the key alone, so a key reused for another app, or by
//! another person, is refused (fal would answer the first flush's 204 and flush nothing).

use super::Reports;
use crate::cluster::{Claim, Cluster};
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
/// New confirmations one caller may make in [`REMEMBERED`] (a person flushes a few queues;
/// the memory is shared, so one caller must not fill it).
const PER_CALLER: u64 = 100;
/// How long a repeat waits for the first confirmation's flush before giving up.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(60);

/// What a confirmation is remembered as: who made it, for which app, and fal's answer.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    caller: String,
    app: String,
    answer: Flushed,
}

/// Flush confirmations, by `(workspace, key)`: kept in the cluster, and on this replica
/// alone while the cluster cannot be reached.
pub(super) struct FlushMemory {
    cluster: Arc<Cluster>,
    local: Mutex<HashMap<(String, String), Remembered>>,
}

/// When the key was first used, by whom, for which app, and its answer once known.
type Remembered = (Instant, String, String, Arc<OnceCell<Flushed>>);

/// Confirmations remembered at most on one replica alone (10 minutes' worth).
const MAX_REMEMBERED: usize = 10_000;

/// A reused key: which refusal, if any.
fn reuse(caller: &str, app: &str, used_by: &str, used_for: &str) -> Result<(), AppError> {
    if used_by != caller {
        return Err(AppError::Conflict(
            "this Idempotency-Key was used by someone else less than 10 minutes ago; make a new key for each confirmation".into(),
        ));
    }
    if used_for != app {
        return Err(AppError::Conflict(format!(
            "this Idempotency-Key was used to flush {used_for} less than 10 minutes ago; make a new key for each confirmation"
        )));
    }
    Ok(())
}

impl FlushMemory {
    pub(super) fn new(cluster: Arc<Cluster>) -> Self {
        Self {
            cluster,
            local: Mutex::default(),
        }
    }

    /// Runs `flush` once per `(ws, key)` across the replicas: `Ok((answer, flushed here))`.
    /// `None` when the cluster cannot be reached (the caller then uses [`FlushMemory::cell`]).
    async fn once<F, Fut>(
        &self,
        ws: &str,
        key: &str,
        caller: &str,
        app: &str,
        flush: F,
    ) -> Option<Result<(Flushed, bool), AppError>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Flushed, AppError>>,
    {
        let digest = |parts: &[&str]| crate::digest::of_parts(parts.iter().copied(), 16);
        let id = digest(&[ws, key]);
        let (record, lock) = (
            self.cluster.key("flush", &id),
            self.cluster.key("flush-lock", &id),
        );
        let backend = self.cluster.backend();
        let token = self.cluster.token();
        let give_up = Instant::now() + WAIT_FOR_FIRST;
        let mut counted = false;
        loop {
            if let Some((bytes, _)) = backend.get_aged(&record, REMEMBERED).await {
                let Ok(r) = serde_json::from_slice::<Record>(&bytes) else {
                    return Some(Err(AppError::Internal(
                        "a remembered flush confirmation does not decode".into(),
                    )));
                };
                return Some(reuse(caller, app, &r.caller, &r.app).map(|()| (r.answer, false)));
            }
            if !backend.is_up() {
                return None;
            }
            if !counted {
                counted = true;
                let (n, left) = backend
                    .hit(
                        &self.cluster.key("flush-count", &digest(&[ws, caller])),
                        REMEMBERED,
                    )
                    .await?;
                if n > PER_CALLER {
                    return Some(Err(AppError::RateLimited {
                        retry_after: left.as_secs().max(1),
                        message: format!(
                            "you made {PER_CALLER} flush confirmations in the last 10 minutes; wait a little"
                        ),
                    }));
                }
            }
            match backend.acquire(&lock, &token, WAIT_FOR_FIRST, false).await? {
                Claim::Held(_) => {
                    // Looked again under the lock: the first may have finished in between.
                    if let Some((bytes, _)) = backend.get_aged(&record, REMEMBERED).await {
                        backend.release(&lock, &token).await;
                        let r: Record = serde_json::from_slice(&bytes).ok()?;
                        return Some(
                            reuse(caller, app, &r.caller, &r.app).map(|()| (r.answer, false)),
                        );
                    }
                    let result = flush().await;
                    if let Ok(answer) = &result {
                        let r = Record {
                            caller: caller.to_owned(),
                            app: app.to_owned(),
                            answer: answer.clone(),
                        };
                        if let Ok(bytes) = serde_json::to_vec(&r) {
                            backend.set(&record, &bytes, REMEMBERED).await;
                        }
                    }
                    backend.release(&lock, &token).await;
                    return Some(result.map(|a| (a, true)));
                }
                // Another replica (or tab) is flushing with this key: wait for its answer.
                Claim::Taken if Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Claim::Taken => {
                    return Some(Err(AppError::Conflict(
                        "a flush with this Idempotency-Key is still running; look at the queue before trying again".into(),
                    )))
                }
            }
        }
    }

    /// The cell of one confirmation on this replica alone (the cluster is unreachable), made
    /// on first use; entries past [`REMEMBERED`] are dropped.
    fn cell(
        &self,
        ws: &str,
        caller: &str,
        app: &str,
        key: &str,
    ) -> Result<Arc<OnceCell<Flushed>>, AppError> {
        let mut map = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let k = (ws.to_owned(), key.to_owned());
        if let Some((at, used_by, used_for, cell)) = map.get(&k) {
            if now.duration_since(*at) < REMEMBERED {
                reuse(caller, app, used_by, used_for)?;
                return Ok(cell.clone());
            }
        }
        if map.len() >= MAX_REMEMBERED {
            map.retain(|_, (at, ..)| now.duration_since(*at) < REMEMBERED);
            if map.len() >= MAX_REMEMBERED {
                return Err(AppError::RateLimited {
                    retry_after: 60,
                    message: "too many flush confirmations in the last 10 minutes".into(),
                });
            }
        }
        let cell = Arc::new(OnceCell::new());
        map.insert(k, (now, caller.to_owned(), app.to_owned(), cell.clone()));
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
    /// Flushes the queue of the app `given` names (its name or id), once per `key` (made by
    /// `caller`): fal's count of waiting requests is read just before (for the answer and the
    /// audit trail).
    pub async fn flush_queue(
        &self,
        ws: &str,
        given: &str,
        key: &str,
        caller: &str,
    ) -> Result<Flushed, AppError> {
        let app = self.app_summary_named(ws, given).await?;
        let w = self.workspace(ws)?;
        let flush = || async {
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
        };
        let memory = &self.0.flushes;
        let (answer, flushed_here) = match memory.once(&w.id, key, caller, &app.name, &flush).await
        {
            Some(done) => done?,
            None => {
                // The cluster is unreachable: remembered on this replica alone.
                let cell = memory.cell(&w.id, caller, &app.name, key)?;
                let mut flushed_here = false;
                let answer = cell
                    .get_or_try_init(|| {
                        flushed_here = true;
                        flush()
                    })
                    .await?
                    .clone();
                (answer, flushed_here)
            }
        };
        Ok(Flushed {
            repeated: !flushed_here,
            ..answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flushed(app: &str) -> Flushed {
        Flushed {
            app: app.into(),
            waiting: Some(3),
            repeated: false,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_flush_per_key_across_replicas_and_a_key_is_one_persons_for_one_app() {
        let backend = Arc::new(crate::cluster::Memory::default());
        let replica = || FlushMemory::new(Cluster::shared(backend.clone(), "t".into()));
        let (a, b) = (replica(), replica());
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let flush = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(flushed("chat-llm"))
        };
        // A double click landing on two replicas at once: one flush, both told its answer.
        let (first, second) = tokio::join!(
            a.once("w", "k", "ana", "chat-llm", flush),
            b.once("w", "k", "ana", "chat-llm", flush)
        );
        let (first, second) = (first.unwrap().unwrap(), second.unwrap().unwrap());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(first.0, second.0);
        assert!(first.1 != second.1, "one of them flushed");
        // fal remembers the key whatever the app or the person: reused, it would flush nothing.
        let other_app = b.once("w", "k", "ana", "video-gen", flush).await.unwrap();
        assert!(matches!(other_app, Err(AppError::Conflict(_))));
        let other_person = a.once("w", "k", "bo", "chat-llm", flush).await.unwrap();
        assert!(matches!(other_person, Err(AppError::Conflict(m)) if m.contains("someone else")));
        // Another workspace is another fal account.
        assert!(a
            .once("other", "k", "bo", "chat-llm", flush)
            .await
            .unwrap()
            .is_ok());
        // Forgotten with fal, after 10 minutes.
        tokio::time::advance(REMEMBERED).await;
        let later = a
            .once("w", "k", "bo", "chat-llm", flush)
            .await
            .unwrap()
            .unwrap();
        assert!(later.1, "flushed again");
    }

    #[tokio::test(start_paused = true)]
    async fn one_caller_cannot_fill_the_shared_memory() {
        let memory = FlushMemory::new(Cluster::alone());
        let flush = || async { Ok(flushed("chat-llm")) };
        for i in 0..PER_CALLER {
            let key = format!("k{i}");
            assert!(memory
                .once("w", &key, "ana", "chat-llm", flush)
                .await
                .unwrap()
                .is_ok());
        }
        let refused = memory
            .once("w", "one-more", "ana", "chat-llm", flush)
            .await
            .unwrap();
        assert!(matches!(refused, Err(AppError::RateLimited { .. })));
        assert!(
            memory
                .once("w", "k0", "ana", "chat-llm", flush)
                .await
                .unwrap()
                .is_ok(),
            "a repeat is still answered"
        );
        assert!(
            memory
                .once("w", "b0", "bo", "chat-llm", flush)
                .await
                .unwrap()
                .is_ok(),
            "others are not held back"
        );
    }

    #[tokio::test]
    async fn alone_and_unreachable_a_key_is_still_one_persons_for_one_app() {
        let memory = FlushMemory::new(Cluster::alone());
        let first = memory.cell("w", "ana", "chat-llm", "k").unwrap();
        let again = memory.cell("w", "ana", "chat-llm", "k").unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "a repeat waits on the same answer"
        );
        assert!(matches!(
            memory.cell("w", "ana", "video-gen", "k"),
            Err(AppError::Conflict(_))
        ));
        assert!(matches!(
            memory.cell("w", "bo", "chat-llm", "k"),
            Err(AppError::Conflict(_))
        ));
        assert!(memory.cell("other", "bo", "video-gen", "k").is_ok());
    }
}
