//! Samples of fal's live metrics, so the overview can chart the last days (fal's metrics are
//! point-in-time gauges). Behind [`SampleStore`] so a server database can replace SQLite.

use super::{SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;
use shared::live::LiveSample;

/// Where samples live.
pub trait SampleStore: Send + Sync {
    /// Appends samples of `workspace`.
    fn insert(&self, workspace: &str, samples: &[LiveSample]) -> Result<(), StoreError>;
    /// Samples in `[from, to)`, averaged into buckets of `step_seconds`, oldest first.
    fn query(
        &self,
        workspace: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step_seconds: i64,
    ) -> Result<Vec<LiveSample>, StoreError>;
    /// Deletes samples older than `before`; returns how many.
    fn prune(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;
}

impl SampleStore for SqliteStore {
    fn insert(&self, workspace: &str, samples: &[LiveSample]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR REPLACE INTO live_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for s in samples {
                stmt.execute(params![
                    workspace,
                    s.t.timestamp(),
                    s.application,
                    s.running,
                    s.idle,
                    s.pending,
                    s.queue_size as i64,
                    s.concurrent_requests as i64,
                    s.received_per_min as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn query(
        &self,
        workspace: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: i64,
    ) -> Result<Vec<LiveSample>, StoreError> {
        let step = step.max(1);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT (t / ?4) * ?4 AS b, app, ROUND(AVG(running)), ROUND(AVG(idle)), ROUND(AVG(pending)),
                    ROUND(AVG(queue_size)), ROUND(AVG(concurrent)), ROUND(AVG(received))
             FROM live_samples WHERE workspace = ?1 AND t >= ?2 AND t < ?3
             GROUP BY b, app ORDER BY b, app",
        )?;
        let rows = stmt.query_map(
            params![workspace, from.timestamp(), to.timestamp(), step],
            |r| {
                let n = |i: usize| r.get::<_, f64>(i).map(|v| v.max(0.0));
                Ok(LiveSample {
                    t: DateTime::from_timestamp(r.get(0)?, 0).unwrap_or_default(),
                    application: r.get(1)?,
                    running: n(2)? as u32,
                    idle: n(3)? as u32,
                    pending: n(4)? as u32,
                    queue_size: n(5)? as u64,
                    concurrent_requests: n(6)? as u64,
                    received_per_min: n(7)? as u64,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn prune(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM live_samples WHERE t < ?1",
            params![before.timestamp()],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: i64, app: &str, running: u32) -> LiveSample {
        LiveSample {
            t: DateTime::from_timestamp(t, 0).unwrap(),
            application: app.into(),
            running,
            idle: 1,
            pending: 0,
            queue_size: 2,
            concurrent_requests: u64::from(running),
            received_per_min: 10,
        }
    }

    #[test]
    fn survives_reopen_downsamples_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path()).unwrap();
            store
                .insert(
                    "w",
                    &[
                        sample(1000, "a/x", 2),
                        sample(1010, "a/x", 4),
                        sample(1000, "a/y", 1),
                    ],
                )
                .unwrap();
            store.insert("other", &[sample(1000, "a/x", 9)]).unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let from = DateTime::from_timestamp(0, 0).unwrap();
        let to = DateTime::from_timestamp(5000, 0).unwrap();
        let raw = store.query("w", from, to, 1).unwrap();
        assert_eq!(raw.len(), 3, "workspace-scoped");
        let coarse = store.query("w", from, to, 60).unwrap();
        let x = coarse.iter().find(|s| s.application == "a/x").unwrap();
        assert_eq!(x.running, 3, "averaged within the step");
        assert_eq!(
            store
                .prune(DateTime::from_timestamp(1005, 0).unwrap())
                .unwrap(),
            3
        );
        assert_eq!(store.query("w", from, to, 1).unwrap().len(), 1);
    }
}
