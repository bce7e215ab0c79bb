//! The audit trail: every state-changing call, who made it and how it ended.

use super::{SqliteStore, StoreError};
use chrono::DateTime;
use rusqlite::params;
use shared::auth::AuditEntry;

/// The audit trail.
impl SqliteStore {
    /// Appends an audit entry.
    pub fn audit_insert(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO audit (at_ms, who, ip, method, route, workspace, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                e.at.timestamp_millis(),
                e.who,
                e.ip,
                e.method,
                e.route,
                e.workspace,
                e.status
            ],
        )?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_list(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT at_ms, who, ip, method, route, workspace, status FROM audit
             ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit], |r| {
            Ok(AuditEntry {
                at: DateTime::from_timestamp_millis(r.get(0)?).unwrap_or_default(),
                who: r.get(1)?,
                ip: r.get(2)?,
                method: r.get(3)?,
                route: r.get(4)?,
                workspace: r.get(5)?,
                status: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
