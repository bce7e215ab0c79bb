//! The model endpoints each workspace watches, with their SLA objectives.

use super::{SqliteStore, StoreError};
use rusqlite::params;
use shared::models::{SlaObjectives, WatchedModel};

/// Watched model endpoints.
impl SqliteStore {
    /// The endpoints `workspace` watches, oldest first.
    pub fn watched_models(&self, workspace: &str) -> Result<Vec<WatchedModel>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT endpoint, sla_json FROM watched_models WHERE workspace = ?1
             ORDER BY added_ms, endpoint",
        )?;
        let rows = stmt.query_map(params![workspace], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (endpoint, json) = row?;
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
    /// `max` others; `Ok(false)` when full.
    pub fn watch_model(
        &self,
        workspace: &str,
        m: &WatchedModel,
        now_ms: i64,
        max: usize,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let others: i64 = tx.query_row(
            "SELECT COUNT(*) FROM watched_models WHERE workspace = ?1 AND endpoint != ?2",
            params![workspace, m.endpoint],
            |r| r.get(0),
        )?;
        if others as usize >= max {
            return Ok(false);
        }
        let json = serde_json::to_string(&m.sla).map_err(|e| StoreError(e.to_string()))?;
        tx.execute(
            "INSERT INTO watched_models (workspace, endpoint, added_ms, sla_json)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (workspace, endpoint) DO UPDATE SET sla_json = excluded.sla_json",
            params![workspace, m.endpoint, now_ms, json],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Stops watching `endpoint`; whether it was watched.
    pub fn unwatch_model(&self, workspace: &str, endpoint: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM watched_models WHERE workspace = ?1 AND endpoint = ?2",
            params![workspace, endpoint],
        )?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watching_keeps_order_updates_in_place_and_stops_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path()).unwrap();
        let m = |e: &str| WatchedModel {
            endpoint: e.into(),
            sla: SlaObjectives::default(),
        };
        assert!(db.watch_model("w", &m("fal-ai/b"), 1, 2).unwrap());
        assert!(db.watch_model("w", &m("fal-ai/a"), 2, 2).unwrap());
        assert!(!db.watch_model("w", &m("fal-ai/c"), 3, 2).unwrap(), "full");
        let mut changed = m("fal-ai/b");
        changed.sla.period_hours = 24;
        assert!(
            db.watch_model("w", &changed, 4, 2).unwrap(),
            "an update is not a new one"
        );
        let watched = db.watched_models("w").unwrap();
        assert_eq!(watched.len(), 2);
        assert_eq!(watched[0], changed, "kept its place");
        assert!(db.watched_models("other").unwrap().is_empty());
        assert!(db.unwatch_model("w", "fal-ai/b").unwrap());
        assert!(!db.unwatch_model("w", "fal-ai/b").unwrap());
    }
}
