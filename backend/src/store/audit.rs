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
            "INSERT INTO audit (at_ms, who, ip, method, route, workspace, status, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                e.at.timestamp_millis(),
                e.who,
                e.ip,
                e.method,
                e.route,
                e.workspace,
                e.status,
                e.detail
            ],
        )?;
        Ok(())
    }

    /// Deletes audit rows older than `before` and all but the newest `keep` rows, and alert
    /// events older than `before` except each rule's latest (its state after a restart).
    /// Returns the rows deleted.
    pub fn prune_records(
        &self,
        before: DateTime<chrono::Utc>,
        keep: i64,
    ) -> Result<usize, StoreError> {
        let conn = self.conn();
        let cut = before.timestamp_millis();
        let mut deleted = conn.execute("DELETE FROM audit WHERE at_ms < ?1", params![cut])?;
        deleted += conn.execute(
            "DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?1",
            params![keep],
        )?;
        deleted += conn.execute(
            "DELETE FROM alert_events WHERE at_ms < ?1
             AND id NOT IN (SELECT MAX(id) FROM alert_events GROUP BY rule_id)",
            params![cut],
        )?;
        Ok(deleted)
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit_list(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT at_ms, who, ip, method, route, workspace, status, detail FROM audit
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
                detail: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: i64) -> AuditEntry {
        AuditEntry {
            at: DateTime::from_timestamp_millis(at_ms).unwrap(),
            who: "ana".into(),
            ip: "127.0.0.1".into(),
            method: "POST".into(),
            route: "/api/x".into(),
            workspace: None,
            status: 200,
            detail: None,
        }
    }

    #[test]
    fn pruning_keeps_recent_rows_at_most_keep_and_each_rules_last_event() {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteStore::open(dir.path()).unwrap();
        for i in 0..50 {
            db.audit_insert(&entry(i * 1000)).unwrap();
        }
        for (rule, at) in [("r1", 1_000), ("r1", 2_000), ("r2", 3_000), ("r1", 40_000)] {
            db.conn()
                .execute(
                    "INSERT INTO alert_events (workspace, rule_id, at_ms, event_json) VALUES ('w', ?1, ?2, '{}')",
                    params![rule, at],
                )
                .unwrap();
        }
        let before = DateTime::from_timestamp_millis(10_000).unwrap();
        db.prune_records(before, 30).unwrap();
        let left = db.audit_list(1000).unwrap();
        assert_eq!(left.len(), 30, "at most `keep` rows");
        assert!(left.iter().all(|e| e.at >= before));
        let events: Vec<(String, i64)> = db
            .conn()
            .prepare("SELECT rule_id, at_ms FROM alert_events ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let events: Vec<(&str, i64)> = events.iter().map(|(r, t)| (r.as_str(), *t)).collect();
        assert_eq!(
            events,
            [("r2", 3_000), ("r1", 40_000)],
            "r2's only event stays"
        );
    }
}
