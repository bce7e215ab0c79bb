//! The daily cost history job: keeps the complete days of usage in the data directory, so the
//! forecast still has them once fal's usage no longer reaches that far back. It reads the same
//! cached daily usage the forecast does (`reports::complete_days`), so it costs at most one
//! usage call per workspace per hour, and views never write.

use crate::cluster::{Lease, LEASE_RENEW};
use crate::reports::Reports;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Most audit rows kept, however young.
pub const MAX_AUDIT_ROWS: i64 = 100_000;

/// Runs until `shutdown`: every `every`, deletes audit rows and alert events older
/// than `retention` (and audit rows beyond [`MAX_AUDIT_ROWS`]), so the data directory stays
/// bounded whatever reaches falscope.
pub async fn prune(
    reports: Reports,
    db: Arc<Store>,
    retention: chrono::Duration,
    every: std::time::Duration,
    lease: Arc<Lease>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if !lease.held() {
            tick.reset_after(LEASE_RENEW);
            continue;
        }
        let before = reports.now() - retention;
        match db.prune_records(before, MAX_AUDIT_ROWS).await {
            Ok(n) if n > 0 => {
                tracing::info!(rows = n, "pruned the audit trail and alert history")
            }
            Err(err) => tracing::warn!(%err, "cannot prune the audit trail"),
            Ok(_) => {}
        }
    }
}

/// How often the history is brought up to date.
pub const HISTORY_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs the job until `shutdown`: once at start, then `every` ([`HISTORY_EVERY`] outside
/// tests), for each workspace with an ADMIN key.
pub async fn keep(
    reports: Reports,
    db: Arc<Store>,
    every: std::time::Duration,
    lease: Arc<Lease>,
    shutdown: CancellationToken,
) {
    use crate::upstream::FalApi as _;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The `as_of` of the usage last written per workspace: each copy is written once.
    let mut written: HashMap<String, DateTime<Utc>> = HashMap::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        if !lease.held() {
            // Another replica keeps the history; look again soon, in case it dies.
            tick.reset_after(LEASE_RENEW);
            continue;
        }
        for w in reports
            .workspaces()
            .iter()
            .filter(|w| w.fal.has_admin_key())
        {
            match reports.complete_days(&w.id).await {
                Ok((_, as_of)) if written.get(&w.id) == Some(&as_of) => {}
                Ok((rows, as_of)) => match db.upsert_daily_cost(&w.id, &rows).await {
                    Ok(()) => {
                        written.insert(w.id.clone(), as_of);
                    }
                    Err(err) => {
                        tracing::warn!(workspace = %w.id, %err, "cannot store daily cost history")
                    }
                },
                Err(err) => {
                    tracing::debug!(workspace = %w.id, error = %err, "daily cost history not updated this hour");
                }
            }
        }
    }
}
