//! The model endpoints each workspace watches, with their SLA objectives.

use super::{vals, Store, StoreError};
use shared::models::{SlaObjectives, WatchedModel};

/// Watched model endpoints.
impl Store {
    /// The endpoints `workspace` watches, oldest first.
    pub async fn watched_models(&self, workspace: &str) -> Result<Vec<WatchedModel>, StoreError> {
        let rows = self
            .query(
                "SELECT endpoint, sla_json FROM watched_models WHERE workspace = ?1
                 ORDER BY added_ms, endpoint",
                vals![workspace],
            )
            .await?;
        let mut out = Vec::new();
        for row in rows {
            let (endpoint, json) = (row.text(0)?, row.text(1)?);
            // Written by this module; a row that no longer decodes keeps its endpoint watched
            // with default objectives rather than vanishing.
            let sla: SlaObjectives = serde_json::from_str(&json).unwrap_or_else(|err| {
                tracing::warn!(%err, %endpoint, "stored SLA does not decode; using the defaults");
                SlaObjectives::default()
            });
            out.push(WatchedModel { endpoint, sla });
        }
        Ok(out)
    }

    /// Watches `m` (or updates its SLA, keeping its place) unless `workspace` already watches
    /// `max` others; `Ok(false)` when full. One statement: the count and the insert cannot be
    /// split by another replica's write.
    pub async fn watch_model(
        &self,
        workspace: &str,
        m: &WatchedModel,
        now_ms: i64,
        max: usize,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(&m.sla).map_err(|e| StoreError::Failed(e.to_string()))?;
        let n = self
            .execute(
                "INSERT INTO watched_models (workspace, endpoint, added_ms, sla_json)
                 SELECT ?1, ?2, CAST(?3 AS BIGINT), ?4
                 WHERE (SELECT COUNT(*) FROM watched_models
                        WHERE workspace = ?1 AND endpoint != ?2) < ?5
                 ON CONFLICT (workspace, endpoint) DO UPDATE SET sla_json = excluded.sla_json",
                vals![workspace, &m.endpoint, now_ms, json, max as u64],
            )
            .await?;
        Ok(n > 0)
    }

    /// Stops watching `endpoint`; whether it was watched.
    pub async fn unwatch_model(&self, workspace: &str, endpoint: &str) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "DELETE FROM watched_models WHERE workspace = ?1 AND endpoint = ?2",
                vals![workspace, endpoint],
            )
            .await?;
        Ok(n > 0)
    }
}
