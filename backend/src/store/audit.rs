//! The audit trail: every state-changing call, who made it and how it ended.

use super::{vals, Store, StoreError};
use chrono::DateTime;
use shared::auth::AuditEntry;

/// The audit trail.
impl Store {
    /// Appends an audit entry.
    pub async fn audit_insert(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO audit (at_ms, who, ip, method, route, workspace, status, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            vals![
                e.at.timestamp_millis(),
                &e.who,
                &e.ip,
                &e.method,
                &e.route,
                e.workspace.clone(),
                e.status,
                e.detail.clone()
            ],
        )
        .await?;
        Ok(())
    }

    /// Deletes audit rows older than `before` and all but the newest `keep` rows, and alert
    /// events older than `before` except each rule's latest (its state after a restart).
    /// Returns the rows deleted.
    pub async fn prune_records(
        &self,
        before: DateTime<chrono::Utc>,
        keep: i64,
    ) -> Result<u64, StoreError> {
        let cut = before.timestamp_millis();
        let deleted = self
            .transaction(vec![
                ("DELETE FROM audit WHERE at_ms < ?1", vals![cut]),
                (
                    "DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?1",
                    vals![keep],
                ),
                (
                    "DELETE FROM alert_events WHERE at_ms < ?1
                     AND id NOT IN (SELECT MAX(id) FROM alert_events GROUP BY rule_id)",
                    vals![cut],
                ),
            ])
            .await?;
        Ok(deleted.iter().sum())
    }

    /// The newest `limit` audit entries, newest first.
    pub async fn audit_list(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self
            .query(
                "SELECT at_ms, who, ip, method, route, workspace, status, detail FROM audit
                 ORDER BY id DESC LIMIT ?1",
                vals![limit],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: DateTime::from_timestamp_millis(r.int(0)?).unwrap_or_default(),
                    who: r.text(1)?,
                    ip: r.text(2)?,
                    method: r.text(3)?,
                    route: r.text(4)?,
                    workspace: r.opt_text(5)?,
                    status: u16::try_from(r.int(6)?).unwrap_or(0),
                    detail: r.opt_text(7)?,
                })
            })
            .collect()
    }
}
