//! Alert rules made in the UI and the history of their state changes (stored as JSON).

use super::{SqliteStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::params;

/// Alert rules and their history.
impl SqliteStore {
    /// Every stored rule (as the JSON it was saved as).
    pub fn alert_rules(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT rule_json FROM alert_rules ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores a rule.
    pub fn insert_alert_rule(
        &self,
        id: &str,
        workspace: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO alert_rules VALUES (?1, ?2, ?3)",
            params![id, workspace, json],
        )?;
        Ok(())
    }

    /// Replaces a rule; false when there was none.
    pub fn update_alert_rule(
        &self,
        id: &str,
        workspace: &str,
        json: &str,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE alert_rules SET rule_json = ?3 WHERE id = ?1 AND workspace = ?2",
            params![id, workspace, json],
        )?;
        Ok(n > 0)
    }

    /// Deletes a rule; false when there was none.
    pub fn delete_alert_rule(&self, id: &str, workspace: &str) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM alert_rules WHERE id = ?1 AND workspace = ?2",
            params![id, workspace],
        )?;
        Ok(n > 0)
    }

    /// Appends an alert event.
    pub fn insert_alert_event(
        &self,
        workspace: &str,
        rule_id: &str,
        at: DateTime<Utc>,
        json: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO alert_events (workspace, rule_id, at_ms, event_json) VALUES (?1, ?2, ?3, ?4)",
            params![workspace, rule_id, at.timestamp_millis(), json],
        )?;
        Ok(())
    }

    /// The newest event of every rule (what state each rule was left in).
    pub fn last_alert_events(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT event_json FROM alert_events
             WHERE id IN (SELECT MAX(id) FROM alert_events GROUP BY rule_id)",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The newest `limit` events of `workspace`, newest first.
    pub fn alert_events(&self, workspace: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT event_json FROM alert_events WHERE workspace = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![workspace, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
