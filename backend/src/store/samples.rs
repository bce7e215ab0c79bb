//! Live-metric samples: one row per workspace, poll and app (fal's metrics are
//! point-in-time gauges), kept for the Overview's history charts.

use super::{vals, Store, StoreError};
use chrono::{DateTime, Utc};
use shared::live::LiveSample;

/// Live-metric samples.
impl Store {
    /// Appends samples of `workspace` (a poll stored twice is one row).
    pub async fn insert_samples(
        &self,
        workspace: &str,
        samples: &[LiveSample],
    ) -> Result<(), StoreError> {
        let statements = samples
            .iter()
            .map(|s| {
                (
                    "INSERT INTO live_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                     ON CONFLICT (workspace, t, app) DO UPDATE SET
                       running = excluded.running, idle = excluded.idle,
                       pending = excluded.pending, queue_size = excluded.queue_size,
                       concurrent = excluded.concurrent, received = excluded.received",
                    vals![
                        workspace,
                        s.t.timestamp(),
                        &s.application,
                        s.running,
                        s.idle,
                        s.pending,
                        s.queue_size,
                        s.concurrent_requests,
                        s.received_per_min
                    ],
                )
            })
            .collect();
        self.transaction(statements).await?;
        Ok(())
    }

    /// Samples in `[from, to)`, averaged into buckets of `step` seconds, oldest first.
    pub async fn samples(
        &self,
        workspace: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: i64,
    ) -> Result<Vec<LiveSample>, StoreError> {
        let rows = self
            .query(
                "SELECT (t / ?4) * ?4 AS b, app,
                        CAST(ROUND(AVG(running)) AS DOUBLE PRECISION),
                        CAST(ROUND(AVG(idle)) AS DOUBLE PRECISION),
                        CAST(ROUND(AVG(pending)) AS DOUBLE PRECISION),
                        CAST(ROUND(AVG(queue_size)) AS DOUBLE PRECISION),
                        CAST(ROUND(AVG(concurrent)) AS DOUBLE PRECISION),
                        CAST(ROUND(AVG(received)) AS DOUBLE PRECISION)
                 FROM live_samples WHERE workspace = ?1 AND t >= ?2 AND t < ?3
                 GROUP BY b, app ORDER BY b, app",
                vals![workspace, from.timestamp(), to.timestamp(), step.max(1)],
            )
            .await?;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "rounded averages of non-negative counts"
        )]
        rows.iter()
            .map(|r| {
                let n = |i: usize| r.real(i).map(|v| v.max(0.0));
                Ok(LiveSample {
                    t: DateTime::from_timestamp(r.int(0)?, 0).unwrap_or_default(),
                    application: r.text(1)?,
                    running: n(2)? as u32,
                    idle: n(3)? as u32,
                    pending: n(4)? as u32,
                    queue_size: n(5)? as u64,
                    concurrent_requests: n(6)? as u64,
                    received_per_min: n(7)? as u64,
                })
            })
            .collect()
    }

    /// Deletes samples older than `before`; returns how many.
    pub async fn prune_samples(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM live_samples WHERE t < ?1",
            vals![before.timestamp()],
        )
        .await
    }
}
