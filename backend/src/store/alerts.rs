//! Alert rules made in the UI and the history of their state changes.

use super::{vals, Store, StoreError};
use chrono::{DateTime, Utc};

/// Alert rules and their history.
impl Store {
    /// Every stored rule (as the JSON it was saved as).
    pub async fn alert_rules(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query("SELECT rule_json FROM alert_rules ORDER BY id", vals![])
            .await?;
        rows.iter().map(|r| r.text(0)).collect()
    }

    /// Stores a rule.
    pub async fn insert_alert_rule(
        &self,
        id: &str,
        workspace: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO alert_rules VALUES (?1, ?2, ?3)",
            vals![id, workspace, json],
        )
        .await?;
        Ok(())
    }

    /// Replaces a rule; false when there was none.
    pub async fn update_alert_rule(
        &self,
        id: &str,
        workspace: &str,
        json: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "UPDATE alert_rules SET rule_json = ?3 WHERE id = ?1 AND workspace = ?2",
                vals![id, workspace, json],
            )
            .await?;
        Ok(n > 0)
    }

    /// Deletes a rule; false when there was none.
    pub async fn delete_alert_rule(&self, id: &str, workspace: &str) -> Result<bool, StoreError> {
        let n = self
            .execute(
                "DELETE FROM alert_rules WHERE id = ?1 AND workspace = ?2",
                vals![id, workspace],
            )
            .await?;
        Ok(n > 0)
    }

    /// Appends an alert event.
    pub async fn insert_alert_event(
        &self,
        workspace: &str,
        rule_id: &str,
        at: DateTime<Utc>,
        json: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO alert_events (workspace, rule_id, at_ms, event_json) VALUES (?1, ?2, ?3, ?4)",
            vals![workspace, rule_id, at.timestamp_millis(), json],
        )
        .await?;
        Ok(())
    }

    /// Appends an alert event whose notification is still to be sent (the outbox: recorded
    /// before sending, so it is sent even if this replica dies first); its id.
    pub async fn insert_alert_intent(
        &self,
        workspace: &str,
        rule_id: &str,
        at: DateTime<Utc>,
        json: &str,
    ) -> Result<i64, StoreError> {
        let rows = self
            .query(
                "INSERT INTO alert_events (workspace, rule_id, at_ms, event_json, delivered)
                 VALUES (?1, ?2, ?3, ?4, 0) RETURNING id",
                vals![workspace, rule_id, at.timestamp_millis(), json],
            )
            .await?;
        rows.first()
            .ok_or_else(|| StoreError::Failed("no id returned".into()))?
            .int(0)
    }

    /// Events whose notification is still to be sent (or being sent), oldest first:
    /// `(id, event JSON)`.
    pub async fn undelivered_alert_events(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = self
            .query(
                "SELECT id, event_json FROM alert_events WHERE delivered != 1 ORDER BY id",
                vals![],
            )
            .await?;
        rows.iter().map(|r| Ok((r.int(0)?, r.text(1)?))).collect()
    }

    /// Claims an event's notification for sending in the lease term `term`: true for exactly
    /// one caller. A claim of an older term (a leader that died or lost the lease before it
    /// confirmed) can be claimed again at once; one of the same term, once older than
    /// `stale_before` (its webhook refused it).
    pub async fn claim_alert_event(
        &self,
        id: i64,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        term: u64,
    ) -> Result<bool, StoreError> {
        let term = i64::try_from(term).unwrap_or(i64::MAX);
        let n = self
            .execute(
                "UPDATE alert_events SET delivered = 2, claimed_ms = ?2, claim_term = ?4
                 WHERE id = ?1 AND (delivered = 0
                     OR (delivered = 2 AND (claim_term < ?4 OR claimed_ms < ?3)))",
                vals![
                    id,
                    now.timestamp_millis(),
                    stale_before.timestamp_millis(),
                    term
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// Marks an event's notification sent.
    pub async fn mark_alert_delivered(&self, id: i64) -> Result<(), StoreError> {
        self.execute(
            "UPDATE alert_events SET delivered = 1 WHERE id = ?1",
            vals![id],
        )
        .await?;
        Ok(())
    }

    /// The newest event of every rule (what state each rule was left in).
    pub async fn last_alert_events(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT event_json FROM alert_events
                 WHERE id IN (SELECT MAX(id) FROM alert_events GROUP BY rule_id)",
                vals![],
            )
            .await?;
        rows.iter().map(|r| r.text(0)).collect()
    }

    /// The newest `limit` events of `workspace`, newest first.
    pub async fn alert_events(
        &self,
        workspace: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let rows = self
            .query(
                "SELECT event_json FROM alert_events WHERE workspace = ?1 ORDER BY id DESC LIMIT ?2",
                vals![workspace, limit],
            )
            .await?;
        rows.iter().map(|r| r.text(0)).collect()
    }
}
