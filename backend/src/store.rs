//! falscope's own stored data: samples of fal's live metrics, so the overview can chart the last
//! days (fal's metrics are point-in-time gauges). Behind [`SampleStore`] so a server database
//! can replace the embedded SQLite later.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use shared::auth::AuditEntry;
use shared::live::LiveSample;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A storage failure (logged by callers; the dashboard keeps working without history).
#[derive(Debug, thiserror::Error)]
#[error("sample store: {0}")]
pub struct StoreError(String);

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self(e.to_string())
    }
}

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

/// Versioned schema: migration `i` brings the database to `user_version = i + 1`.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE live_samples (
        workspace TEXT NOT NULL,
        t INTEGER NOT NULL,            -- unix seconds
        app TEXT NOT NULL,
        running INTEGER NOT NULL,
        idle INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        queue_size INTEGER NOT NULL,
        concurrent INTEGER NOT NULL,
        received INTEGER NOT NULL,
        PRIMARY KEY (workspace, t, app)
    ) WITHOUT ROWID;",
    // Sessions of `--auth token` (the cookie's SHA-256, never the cookie) and the audit trail.
    "CREATE TABLE sessions (
        token_sha256 BLOB PRIMARY KEY,
        user TEXT NOT NULL,
        created INTEGER NOT NULL,      -- unix seconds
        expires INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ms INTEGER NOT NULL,
        who TEXT NOT NULL,
        ip TEXT NOT NULL,
        method TEXT NOT NULL,
        route TEXT NOT NULL,
        workspace TEXT,
        status INTEGER NOT NULL
    );",
    // Daily spend per app, kept beyond fal's query windows for forecasts and trends.
    "CREATE TABLE daily_cost (
        workspace TEXT NOT NULL,
        day TEXT NOT NULL,             -- YYYY-MM-DD, UTC
        app TEXT NOT NULL,
        cost REAL NOT NULL,
        seconds REAL NOT NULL,
        PRIMARY KEY (workspace, day, app)
    ) WITHOUT ROWID;",
    // Alert rules made in the UI, the history of firings, budgets and the admin's prices.
    "CREATE TABLE alert_rules (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        rule_json TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE alert_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        event_json TEXT NOT NULL
    );
    CREATE INDEX alert_events_rule ON alert_events (rule_id, id);
    CREATE INDEX alert_events_ws ON alert_events (workspace, id);
    CREATE TABLE budgets (
        workspace TEXT NOT NULL,
        app TEXT NOT NULL,             -- '' = the whole workspace
        monthly REAL NOT NULL,
        PRIMARY KEY (workspace, app)
    ) WITHOUT ROWID;
    CREATE TABLE prices (
        workspace TEXT NOT NULL,
        app TEXT NOT NULL,
        unit_price REAL NOT NULL,
        PRIMARY KEY (workspace, app)
    ) WITHOUT ROWID;",
];

/// SQLite in the data directory.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating and migrating) `dir/falscope.sqlite3`.
    pub fn open(dir: &Path) -> Result<Arc<Self>, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError(format!("creating {}: {e}", dir.display())))?;
        let conn = Connection::open(dir.join("falscope.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&conn)?;
        Ok(Arc::new(Self {
            conn: Mutex::new(conn),
        }))
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError(format!(
            "the database is at schema version {version}, newer than this falscope ({}); use a newer falscope or another --data-dir",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        conn.execute_batch(&format!(
            "BEGIN; {sql} PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
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

/// One app's spend on one (complete, UTC) day.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyCost {
    /// The day.
    pub day: chrono::NaiveDate,
    /// App name.
    pub app: String,
    /// Spend after discounts.
    pub cost: f64,
    /// Machine-seconds.
    pub seconds: f64,
}

/// Daily spend history.
impl SqliteStore {
    /// Stores (or corrects) days of spend of `workspace`.
    pub fn upsert_daily_cost(&self, workspace: &str, rows: &[DailyCost]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT OR REPLACE INTO daily_cost VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for r in rows {
                stmt.execute(params![
                    workspace,
                    r.day.format("%Y-%m-%d").to_string(),
                    r.app,
                    r.cost,
                    r.seconds
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Total spend per stored day of `workspace` in `[from, to)`, oldest first.
    pub fn daily_cost_totals(
        &self,
        workspace: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, f64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, SUM(cost) FROM daily_cost WHERE workspace = ?1 AND day >= ?2 AND day < ?3
             GROUP BY day ORDER BY day",
        )?;
        let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let rows = stmt.query_map(params![workspace, fmt(from), fmt(to)], |r| {
            let day: String = r.get(0)?;
            Ok((day, r.get::<_, f64>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, total) = row?;
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((d, total));
            }
        }
        Ok(out)
    }
}

/// Alert rules, their history, budgets and price overrides.
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

    /// Budgets of `workspace`: `(app or "", monthly)`.
    pub fn budgets(&self, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        self.pairs(
            "SELECT app, monthly FROM budgets WHERE workspace = ?1 ORDER BY app",
            workspace,
        )
    }

    /// Sets a budget (`app` "" for the workspace); `None` removes it.
    pub fn set_budget(
        &self,
        workspace: &str,
        app: &str,
        monthly: Option<f64>,
    ) -> Result<(), StoreError> {
        self.set_or_clear("budgets", workspace, app, monthly)
    }

    /// Price overrides of `workspace`: `(app, unit price)`.
    pub fn prices(&self, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        self.pairs(
            "SELECT app, unit_price FROM prices WHERE workspace = ?1 ORDER BY app",
            workspace,
        )
    }

    /// Sets an app's price; `None` removes the override.
    pub fn set_price(
        &self,
        workspace: &str,
        app: &str,
        price: Option<f64>,
    ) -> Result<(), StoreError> {
        self.set_or_clear("prices", workspace, app, price)
    }

    fn pairs(&self, sql: &str, workspace: &str) -> Result<Vec<(String, f64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![workspace], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// `table` is one of this module's own names, never input.
    fn set_or_clear(
        &self,
        table: &'static str,
        workspace: &str,
        app: &str,
        value: Option<f64>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        match value {
            Some(v) => conn.execute(
                &format!("INSERT OR REPLACE INTO {table} VALUES (?1, ?2, ?3)"),
                params![workspace, app, v],
            )?,
            None => conn.execute(
                &format!("DELETE FROM {table} WHERE workspace = ?1 AND app = ?2"),
                params![workspace, app],
            )?,
        };
        Ok(())
    }

    /// Spend per stored day and app of `workspace` in `[from, to)`, oldest first.
    pub fn daily_cost_by_app(
        &self,
        workspace: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<(chrono::NaiveDate, String, f64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, app, cost FROM daily_cost WHERE workspace = ?1 AND day >= ?2 AND day < ?3
             ORDER BY day, app",
        )?;
        let fmt = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
        let rows = stmt.query_map(params![workspace, fmt(from), fmt(to)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (day, app, cost) = row?;
            if let Ok(d) = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
                out.push((d, app, cost));
            }
        }
        Ok(out)
    }
}

/// Sessions and the audit trail (`--auth token` and every state-changing call).
impl SqliteStore {
    /// Stores a new session.
    pub fn create_session(
        &self,
        token_sha256: &[u8; 32],
        user: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        // Expired sessions go here, on the rare write, not on every request's lookup.
        conn.execute(
            "DELETE FROM sessions WHERE expires <= ?1",
            params![now.timestamp()],
        )?;
        conn.execute(
            "INSERT INTO sessions VALUES (?1, ?2, ?3, ?4)",
            params![
                token_sha256.as_slice(),
                user,
                now.timestamp(),
                expires.timestamp()
            ],
        )?;
        Ok(())
    }

    /// The user of a live session (a read: every signed-in request asks).
    pub fn session_user(
        &self,
        token_sha256: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT user FROM sessions WHERE token_sha256 = ?1 AND expires > ?2")?;
        let mut rows = stmt.query(params![token_sha256.as_slice(), now.timestamp()])?;
        Ok(match rows.next()? {
            Some(r) => Some(r.get(0)?),
            None => None,
        })
    }

    /// Ends a session.
    pub fn delete_session(&self, token_sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM sessions WHERE token_sha256 = ?1",
            params![token_sha256.as_slice()],
        )?;
        Ok(())
    }

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

    #[test]
    fn sessions_expire_and_audit_lists_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let t = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        store.create_session(&[1; 32], "ann", t(0), t(100)).unwrap();
        assert_eq!(
            store.session_user(&[1; 32], t(99)).unwrap().as_deref(),
            Some("ann")
        );
        assert_eq!(store.session_user(&[2; 32], t(99)).unwrap(), None);
        assert_eq!(
            store.session_user(&[1; 32], t(100)).unwrap(),
            None,
            "expired"
        );
        store.create_session(&[3; 32], "bob", t(0), t(100)).unwrap();
        store.delete_session(&[3; 32]).unwrap();
        assert_eq!(
            store.session_user(&[3; 32], t(1)).unwrap(),
            None,
            "logged out"
        );
        for (i, who) in ["ann", "bob"].into_iter().enumerate() {
            store
                .audit_insert(&AuditEntry {
                    at: t(i as i64),
                    who: who.into(),
                    ip: "127.0.0.1".into(),
                    method: "POST".into(),
                    route: "/api/auth/login".into(),
                    workspace: None,
                    status: 200,
                })
                .unwrap();
        }
        let list = store.audit_list(10).unwrap();
        assert_eq!(
            list.iter().map(|e| e.who.as_str()).collect::<Vec<_>>(),
            ["bob", "ann"]
        );
    }

    #[test]
    fn daily_cost_upserts_and_sums_per_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let d = |n: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let row = |day, app: &str, cost| DailyCost {
            day,
            app: app.into(),
            cost,
            seconds: 10.0,
        };
        store
            .upsert_daily_cost(
                "w",
                &[
                    row(d(1), "a", 1.0),
                    row(d(1), "b", 2.0),
                    row(d(2), "a", 4.0),
                ],
            )
            .unwrap();
        store
            .upsert_daily_cost("w", &[row(d(2), "a", 5.0)])
            .unwrap();
        store
            .upsert_daily_cost("other", &[row(d(1), "a", 100.0)])
            .unwrap();
        assert_eq!(
            store.daily_cost_totals("w", d(1), d(3)).unwrap(),
            [(d(1), 3.0), (d(2), 5.0)],
            "per workspace, summed per day, a corrected day replaced"
        );
        assert_eq!(
            store.daily_cost_totals("w", d(2), d(3)).unwrap(),
            [(d(2), 5.0)]
        );
    }

    #[test]
    fn refuses_a_database_from_the_future() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("falscope.sqlite3")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        let err = SqliteStore::open(dir.path()).err().unwrap();
        assert!(err.to_string().contains("newer than this falscope"));
    }
}
