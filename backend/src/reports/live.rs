//! Live per-app numbers: the latest metrics snapshot (the poller publishes it) and the stored
//! history of samples.

use super::Reports;
use crate::cache::{key, Cached};
use crate::error::AppError;
use crate::upstream::FalApi as _;
use chrono::Duration;
use shared::live::LiveHistory;
use shared::query::{resolve_range, LiveHistoryQuery};
use shared::LiveSnapshot;

/// fal caches metrics for 10 s; asking more often only repeats the same numbers.
pub const METRICS_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// Points per app a history chart needs at most.
const HISTORY_POINTS: i64 = 600;

impl Reports {
    /// The workspace's metrics snapshot.
    pub async fn live(&self, ws: &str) -> Result<Cached<LiveSnapshot>, AppError> {
        let w = self.workspace(ws)?;
        let fal = w.fal.clone();
        let clock = self.0.clock.clone();
        Ok(self
            .cache()
            .get_or_fetch(
                key(&w.id, "metrics", &[], None),
                |_| METRICS_TTL,
                move || async move { Ok(fal.metrics().await?.to_live(clock.now())) },
            )
            .await?)
    }

    /// Stored samples of `q`'s range (default: the last 6 hours), averaged to ≤ 600 points per
    /// app and never finer than the poll interval.
    pub async fn live_history(
        &self,
        ws: &str,
        q: &LiveHistoryQuery,
    ) -> Result<LiveHistory, AppError> {
        let (from, to) = resolve_range(
            q.from.as_ref(),
            q.to.as_ref(),
            self.now(),
            Duration::hours(6),
        )?;
        let w = self.workspace(ws)?;
        let Some(store) = self.0.db.clone() else {
            return Ok(LiveHistory {
                samples: Vec::new(),
            });
        };
        let step = ((to - from).num_seconds() / HISTORY_POINTS).max(METRICS_TTL.as_secs() as i64);
        let samples = store.samples(&w.id, from, to, step).await?;
        Ok(LiveHistory { samples })
    }
}
